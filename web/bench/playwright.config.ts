import { defineConfig } from "@playwright/test";
import base from "../playwright.config";

// make bench-console: the console's measurements (bench/perf.spec.ts) with
// the browser settings of the browser tests.
export default defineConfig({ ...base, testDir: ".", testMatch: /perf\.spec\.ts/, outputDir: "../e2e/artifacts/bench" });
