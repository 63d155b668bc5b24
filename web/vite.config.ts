import { defineConfig } from "vite";

// The console is built into dist/ and embedded in the weft binary (web/embed.go).
// The build must be reproducible: CI rebuilds it and fails when the committed
// dist/ differs (make web-check), so no timestamps or absolute paths go in.
export default defineConfig({
  base: "/",
  esbuild: undefined,
  oxc: { jsx: { runtime: "automatic" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 2000,
    rolldownOptions: {
      // @xyflow/react starts with "use client" (for React Server Components);
      // meaningless in this bundle, and warned about on every build.
      onLog(level, log, handler) {
        if (log.code === "MODULE_LEVEL_DIRECTIVE") return;
        handler(level, log);
      },
    },
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8080", "/hooks": "http://127.0.0.1:8080", "/healthz": "http://127.0.0.1:8080" },
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
  },
});
