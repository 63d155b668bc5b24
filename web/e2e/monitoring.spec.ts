// Monitoring: runs fired through the API show in the charts (uPlot canvas,
// legend values, summary), a failing flow raises an alert that is
// acknowledged in the page, and agent tool calls show as MCP traffic by
// key and tool.
import { test, expect, shot } from "./fixtures";

const flaky = `name: flaky
trigger: {manual: {}}
steps:
  - if: =trigger.body.fail
    then: [{fail: {message: the upstream said no, code: upstream}}]
  - respond: {body: {ok: true}}
`;

test.use({
  weftOptions: {
    // The alerter evaluates often, and a rule trips on this flow's failures (see e2e/alerts_test.go).
    extraConfig: `alerts:
  every: 200ms
  rules:
    - {name: flaky-failing, flow: flaky, error_rate: 0.5, min_runs: 3, window: 5m, severity: critical}`,
  },
});

test("charts, alerts with acknowledge, and MCP traffic", async ({ page, weft, recorder }) => {
  const dep = await weft.api("POST", "/api/flows", flaky);
  expect(dep.status, JSON.stringify(dep.data)).toBeLessThan(300);
  for (const fail of [false, false, false, true, true, true, true, true]) await weft.api("POST", "/api/flows/flaky/runs", { fail });
  await expect.poll(async () => (await weft.api("GET", "/api/alerts")).data.alerts?.length ?? 0, { timeout: 15_000 }).toBeGreaterThan(0);

  // An agent's tool call with an API key: MCP traffic by key and tool.
  const key = await weft.api("POST", "/api/mcp/keys", { name: "e2e-agent", scopes: ["*"] });
  expect(key.status).toBe(201);
  const mcp = await fetch(weft.url + "/mcp", {
    method: "POST",
    headers: {
      Authorization: "Bearer " + key.data.secret,
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "Mcp-Protocol-Version": "2026-07-28",
      "Mcp-Method": "tools/call",
      "Mcp-Name": "chat__listChannels",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: {
        name: "chat__listChannels",
        arguments: {},
        _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}, "io.modelcontextprotocol/clientInfo": { name: "e2e", version: "1" } },
      },
    }),
  });
  expect(mcp.status, await mcp.clone().text()).toBe(200);

  await page.goto(weft.url + "/#/monitoring");
  const runsChart = page.getByRole("figure", { name: "Runs and failures" });
  await expect(runsChart.locator("canvas")).toBeVisible();
  await expect(page.getByRole("figure", { name: "Latency (created to finished)" }).locator("canvas")).toBeVisible();
  // Per-flow charts, and the flow picker.
  await expect(page.getByRole("button", { name: "Show flow flaky" })).toBeVisible();
  await expect(page.getByRole("heading", { name: /All flows/ })).toBeVisible();
  await shot(page, "monitoring-all-flows");
  await page.getByRole("combobox", { name: /^Flow/ }).selectOption("flaky");
  await expect(page).toHaveURL(/#\/monitoring\?flow=flaky$/);
  await expect(page.getByRole("heading", { name: /Flow flaky/ })).toBeVisible();
  const summary = page.getByLabel("Summary");
  await expect(summary).toContainText(/Runs\s*8/);
  await expect(summary).toContainText(/Failed\s*5/);
  await expect(summary).toContainText(/Error rate\s*62\.5 %/);
  // uPlot's legend: the series and the newest bucket's values.
  const legendValue = (label: string) => runsChart.locator(".u-series", { has: page.locator(".u-label", { hasText: new RegExp("^" + label + "$") }) }).locator(".u-value");
  await expect(legendValue("runs")).toHaveText(/^\d+$/);
  await expect(legendValue("failed")).toHaveText(/^\d+$/);
  await expect(page.getByRole("figure", { name: "Latency (created to finished)" }).locator(".u-label", { hasText: /^p95$/ })).toBeVisible();

  // The alert, acknowledged here.
  const alerts = page.getByRole("region", { name: "Alerts" });
  const ack = alerts.getByRole("button", { name: "Acknowledge alert flaky-failing on flaky" }).first();
  await expect(ack).toBeVisible();
  await expect(alerts).toContainText("critical");
  await shot(page, "monitoring");
  await ack.click();
  await expect(alerts.getByText("by console").first()).toBeVisible();
  const acked = (await weft.api("GET", "/api/alerts")).data.alerts.filter((a: { flow: string; acked_by?: string }) => a.flow === "flaky");
  expect(acked[0].acked_by).toBe("console");

  // MCP traffic by key and tool.
  const traffic = page.getByRole("region", { name: "MCP traffic" });
  const byTool = traffic.getByRole("table", { name: "Calls by key and tool" });
  await expect(byTool.getByRole("row", { name: /e2e-agent.*chat__listChannels/ })).toBeVisible();

  // Time range: 24 hours, then back; the dark theme draws readable charts too.
  await page.getByRole("button", { name: "24h" }).click();
  await expect(page).toHaveURL(/range=24h/);
  await expect(page.getByRole("heading", { name: /^Flow flaky.*last 24 hours/ })).toBeVisible();
  await expect(runsChart.locator("canvas")).toBeVisible();
  const theme = await page.locator("html").getAttribute("data-theme");
  await page.getByRole("button", { name: "Toggle light and dark theme" }).click();
  await expect(page.locator("html")).toHaveAttribute("data-theme", theme === "dark" ? "light" : "dark");
  await expect(runsChart.locator("canvas")).toBeVisible();
  await shot(page, "monitoring-theme-toggled");
  await page.getByRole("button", { name: "Toggle light and dark theme" }).click();
  expect(recorder.problems).toEqual([]);
});

test("an empty range says what to do next", async ({ page, weft }) => {
  await page.goto(weft.url + "/#/monitoring?flow=nothing-here");
  await expect(page.getByText(/No runs of nothing-here in the last 1 hour/)).toBeVisible();
  await expect(page.getByRole("region", { name: "Alerts" }).getByText(/No alerts/)).toBeVisible();
});
