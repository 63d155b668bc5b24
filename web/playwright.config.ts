import { defineConfig } from "@playwright/test";

// Browser tests drive Debian's Chromium (apt-get install chromium), never a
// downloaded browser: this machine's network reaches only package registries.
export default defineConfig({
  testDir: "e2e",
  testMatch: /.*\.spec\.ts/,
  workers: 1,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  retries: 0,
  reporter: [["list"]],
  outputDir: "e2e/artifacts/results",
  use: {
    headless: true,
    viewport: { width: 1440, height: 900 },
    screenshot: "only-on-failure",
    actionTimeout: 15_000,
    launchOptions: {
      executablePath: process.env.WEFT_CHROMIUM || "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
      ],
    },
  },
});
