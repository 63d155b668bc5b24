// The Agents view: runtime agents of a hybrid deployment, one row per
// site. An agent that has polled (the test makes its poll as `weft agent`
// would, with its own credential) shows linked or rolling out, its build,
// what runs of what is placed, its backlog against its bound, and the
// alerts firing on its site and its key figures (shipped as telemetry); one
// never linked says so; a revoked one shows revoked at the next refresh.
import { test, expect, shot } from "./fixtures";

test("the agents view shows each site's link, rollout and backlog", async ({ page, weft }) => {
  const created = await weft.api("POST", "/api/agents", { site: "plant-3", labels: { region: "eu" } });
  expect(created.status, JSON.stringify(created.data)).toBe(201);
  const token: string = created.data.token;
  expect((await weft.api("POST", "/api/agents", { site: "plant-4" })).status).toBe(201);
  const flow = "name: orders-site\nplacement: {site: plant-3}\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - {id: a, respond: {status: 200, body: {ok: true}}}\n";
  expect((await weft.api("POST", "/api/flows", flow)).status).toBe(201);

  // plant-3's agent polls: it runs nothing yet, and its backlog nears the bound.
  const poll = await fetch(weft.url + "/agent/v1/sync", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
    body: JSON.stringify({
      site: "plant-3",
      version: "v-e2e",
      running: [],
      wait: 0,
      health: { connections: [], backlog: 90, backlog_bytes: 36000, backlog_max: 100, backlog_level: "warning" },
    }),
  });
  expect(poll.status).toBe(200);
  expect(JSON.stringify(await poll.json())).toContain("orders-site");

  // Its site's monitoring, shipped as the agent does: an alert firing there and its key figures.
  const tele = await fetch(weft.url + "/agent/v1/telemetry", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
    body: JSON.stringify({
      site: "plant-3",
      at: new Date().toISOString(),
      alerts: [
        { id: "a1", rule: "errors", flow: "orders-site", severity: "critical", status: "firing", message: "orders-site is failing: 4 of the last 5 runs failed", started_at: new Date().toISOString() },
        { id: "a0", rule: "silence", flow: "sync", severity: "warning", status: "resolved", message: "sync is running again", started_at: new Date().toISOString() },
      ],
      figures: { runs_running: 2, runs_queued: 5, runs_succeeded: 120, runs_failed: 4, runs_dead: 0, step_attempts_total: 130, step_attempts_errors_total: 6 },
    }),
  });
  expect(tele.status).toBe(200);

  await page.goto(weft.url + "/");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Agents" }).click();
  const table = page.getByRole("table", { name: "Agents" });
  const p3 = table.getByRole("row", { name: /plant-3/ });
  await expect(p3).toContainText("rolling out");
  await expect(p3).toContainText("v-e2e");
  await expect(p3).toContainText("0 / 1");
  await expect(p3).toContainText("orders-site v1");
  await expect(p3).toContainText("90 of 100 (90%) — nearing the bound");
  await expect(p3).toContainText("region=eu");
  await expect(p3).toContainText("critical errors");
  await expect(p3).toContainText("orders-site is failing");
  await expect(p3).not.toContainText("sync is running again");
  await expect(p3).toContainText("2 running, 5 queued");
  await expect(p3).toContainText("step errors 6 of 130");
  const p4 = table.getByRole("row", { name: /plant-4/ });
  await expect(p4).toContainText("never linked");
  await shot(page, "agents");

  // Revoked: shown at the next refresh, without a reload.
  expect((await weft.api("DELETE", "/api/agents/plant-4")).status).toBe(200);
  await expect(p4).toContainText("revoked", { timeout: 10_000 });
});
