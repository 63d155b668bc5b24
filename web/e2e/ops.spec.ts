// The operations views, clicked through as a user: flows (versions, diff,
// rollback, run now), runs (filters, the step timeline, cancel), the
// dead-letter queue (replay with an edited input: issue 17's browser test
// 4), connectors (search, docs, OpenAPI import) and connections (a secret
// that never reaches the browser: browser test 6).
import { test, expect, shot, type Weft } from "./fixtures";

const secret = "sk-test-SECRET-value-123";

async function deploy(weft: Weft, file: string, yaml: string) {
  const r = await weft.api("POST", "/api/flows?file=" + file, yaml);
  expect(r.status, JSON.stringify(r.data)).toBe(201);
  return r.data as { name: string; version: number };
}

async function runStatus(weft: Weft, id: string): Promise<string> {
  const r = await weft.api("GET", "/api/runs/" + id);
  return r.data?.run?.status ?? `HTTP ${r.status}`;
}

// A flow whose call fails permanently (a 404) when trigger.body.path names
// no route: its runs go to the dead-letter queue with the failed step's
// input captured (capture: full).
const dlqFlow = `name: dlq-demo
description: Fetches a path on this server; a 404 is permanent, so the run dies.
capture: full
steps:
  - id: fetch
    call: http.request
    connection: local
    with:
      method: GET
      url: =trigger.body.path
    retry: {max_attempts: 1}
`;

async function deadRun(weft: Weft, path = "/api/no-such-route"): Promise<string> {
  const r = await weft.api("POST", "/api/flows/dlq-demo/runs?async=true", { path });
  expect(r.status, JSON.stringify(r.data)).toBe(202);
  const id = r.data.run_id as string;
  await expect.poll(() => runStatus(weft, id), { timeout: 30_000 }).toBe("dead");
  return id;
}

test("flows: list, versions, diff, rollback with confirmation, and run now", async ({ page, weft, recorder }) => {
  const v1 = `name: ops-demo
description: A manual flow for the console's tests.
steps:
  - id: greet
    set:
      greeting: ='hello ' + trigger.body.name
`;
  await deploy(weft, "ops-demo.yaml", v1);
  await deploy(weft, "ops-demo.yaml", v1.replace("'hello '", "'hi there, '") + "  - id: done\n    set: {ok: true}\n");

  await page.goto(weft.url + "/#/flows");
  const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: "ops-demo", exact: true }) });
  await expect(row).toContainText("active v2");
  await expect(row.getByRole("link", { name: "Edit ops-demo in the builder" })).toHaveAttribute("href", "#/builder/ops-demo");
  await expect(row.getByRole("link", { name: "Runs of ops-demo" })).toHaveAttribute("href", "#/runs?flow=ops-demo");
  await expect(page.getByRole("link", { name: "order-flow", exact: true })).toBeVisible();
  await shot(page, "ops-flows");

  await row.getByRole("link", { name: "ops-demo", exact: true }).click();
  await expect(page.getByRole("heading", { name: /ops-demo/ })).toBeVisible();
  await expect(page.getByRole("cell", { name: "v1", exact: true })).toBeVisible();
  // The diff of v1 against the active v2: the changed greeting and the added step.
  const diff = page.getByRole("region", { name: "Diff from v1 to v2" });
  await expect(diff).toContainText("+3 −1 lines");
  await expect(diff.getByRole("row").filter({ hasText: "hi there" })).toHaveClass(/add/);
  await expect(diff.getByRole("row").filter({ hasText: "'hello '" })).toHaveClass(/del/);
  await expect(page.getByLabel("Source of v2", { exact: true })).toContainText("id: done");
  await shot(page, "ops-flow-detail");

  // View v1's source.
  await page.getByRole("button", { name: "View source of v1" }).click();
  await expect(page.getByLabel("Source of v1", { exact: true })).not.toContainText("id: done");

  // Roll back: Escape dismisses the confirmation; confirming rolls back.
  await page.getByRole("button", { name: "Roll back to v1" }).click();
  const dialog = page.getByRole("dialog", { name: "Roll back ops-demo to v1?" });
  await expect(dialog).toBeVisible();
  await shot(page, "ops-flow-rollback");
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  expect((await weft.api("GET", "/api/flows/ops-demo")).data.version).toBe(2);
  await page.getByRole("button", { name: "Roll back to v1" }).click();
  await dialog.getByRole("button", { name: "Roll back to v1" }).click();
  await expect(page.getByRole("status").filter({ hasText: "v1 is now the active version of ops-demo" })).toBeVisible();
  await expect.poll(async () => (await weft.api("GET", "/api/flows/ops-demo")).data.version).toBe(1);
  await expect(page.getByRole("row").filter({ hasText: "v1" }).filter({ hasText: "active" }).first()).toBeVisible();

  // Run now (a manual trigger): a bad JSON input is refused before sending, then the run opens.
  await page.getByRole("button", { name: "Run now…" }).click();
  const input = page.getByLabel("Run input (trigger.body, JSON)");
  await input.fill('{"name": ada}');
  await expect(page.getByText(/Not valid JSON at line 1, column 10/)).toBeVisible();
  await expect(page.getByRole("button", { name: "Start run" })).toBeDisabled();
  await input.fill('{"name": "ada"}');
  await page.getByRole("button", { name: "Start run" }).click();
  await expect(page).toHaveURL(/#\/runs\/[0-9a-f-]{36}$/);
  await expect(page.getByLabel("Run status")).toContainText("succeeded");
  await expect(page.getByRole("table", { name: "Step timeline" })).toContainText("greet");
  await expect(page.getByLabel("Run input")).toContainText('"ada"');
  expect(recorder.problems).toEqual([]);
});

test("runs: filters, paging, the step timeline, and cancel", async ({ page, weft, recorder }) => {
  const order = {
    order_id: "A-1001",
    customer: { name: "ada lovelace", email: "ada@example.com" },
    currency: "eur",
    items: [
      { sku: "sku-1", qty: 2, price: 9.99 },
      { sku: "sku-2", qty: 1, price: 24.5 },
    ],
  };
  for (let i = 0; i < 3; i++) {
    const r = await weft.api("POST", "/hooks/order-flow", { ...order, order_id: "A-" + i });
    expect(r.status, JSON.stringify(r.data)).toBe(200);
  }
  await deploy(weft, "waiter.yaml", "name: waiter\nsteps:\n  - id: pause\n    wait: 1h\n");
  const w = await weft.api("POST", "/api/flows/waiter/runs?async=true", {});
  expect(w.status).toBe(202);
  const waiting = w.data.run_id as string;

  await page.goto(weft.url + "/#/runs");
  await expect(page.getByRole("link", { name: "Run " + waiting })).toBeVisible();
  await expect(page.getByRole("cell", { name: /orders-api/ }).first()).toBeVisible();
  await page.getByLabel("Flow").selectOption("order-flow");
  await expect(page).toHaveURL(/flow=order-flow/);
  await expect(page.getByRole("link", { name: /^Run / })).toHaveCount(3);
  await expect(page.getByRole("cell", { name: /orders-api/ })).toHaveCount(0);
  await page.getByLabel("Status").selectOption("dead");
  await expect(page.getByText("No runs match these filters")).toBeVisible();
  await page.getByLabel("Status").selectOption("succeeded");
  await page.getByLabel("Time range").selectOption("1h");
  await expect(page.getByRole("link", { name: /^Run / })).toHaveCount(3);
  await shot(page, "ops-runs");

  // Paging: one run a page is not offered by the UI, so page through the API's
  // cursor with a deep link and follow "Older" and "Newer".
  const all = (await weft.api("GET", "/api/runs?flow=order-flow")).data.runs as { id: string }[];
  await page.goto(weft.url + `/#/runs?flow=order-flow&before=${all[0].id}`);
  await expect(page.getByRole("link", { name: /^Run / })).toHaveCount(2);
  await page.getByRole("button", { name: "Newest" }).click();
  await expect(page.getByRole("link", { name: /^Run / })).toHaveCount(3);

  // The step timeline of an order-flow run.
  await page.getByRole("link", { name: "Run " + all[0].id }).click();
  const tl = page.getByRole("table", { name: "Step timeline" });
  for (const step of ["transform", "post", "reply"]) await expect(tl).toContainText(step);
  await expect(tl.getByRole("row")).toHaveCount(4);
  await expect(page.getByText("Payloads are not captured for this run")).toBeVisible();
  await shot(page, "ops-run-timeline");
  await page.getByRole("button", { name: "Toggle light and dark theme" }).click();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await shot(page, "ops-run-timeline-dark");

  // Cancel the waiting run.
  await page.goto(weft.url + "/#/runs/" + waiting);
  await page.getByRole("button", { name: "Cancel run" }).click();
  await page.getByRole("dialog", { name: "Cancel this run?" }).getByRole("button", { name: "Cancel run" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Run canceled." })).toBeVisible();
  await expect.poll(() => runStatus(weft, waiting)).toBe("canceled");
  await expect(page.getByRole("button", { name: "Replay…" })).toBeVisible();
  expect(recorder.problems).toEqual([]);
});

// Issue 17, browser test 4.
test("dlq: replay a dead run with an edited input that makes it succeed", async ({ page, weft, recorder }) => {
  await deploy(weft, "dlq-demo.yaml", dlqFlow);
  const id = await deadRun(weft);

  await page.goto(weft.url + "/#/dlq");
  const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: "Run " + id }) });
  await expect(row).toContainText("fetch");
  await expect(row).toContainText("404");
  await shot(page, "ops-dlq");

  await row.getByRole("button", { name: `Replay run ${id} with an edited input` }).click();
  const form = page.getByRole("group", { name: `Replay run ${id}` });
  await form.getByLabel("Give step fetch a new input").check();
  const editor = form.getByLabel("Input for step fetch (JSON)");
  // Prefilled with the failed step's captured input.
  await expect(editor).toHaveValue(/"url": "\/api\/no-such-route"/);
  // Bad JSON is caught before it is sent.
  await editor.fill('{"method": "GET", "url": "/healthz",}');
  await expect(form.getByText(/Not valid JSON at line 1, column \d+: a comma before \}/)).toBeVisible();
  await expect(form.getByRole("button", { name: "Replay with this input" })).toBeDisabled();
  await editor.fill('{"method": "GET", "url": "/healthz"}');
  await shot(page, "ops-dlq-replay-form");
  await form.getByRole("button", { name: "Replay with this input" }).click();

  const notice = page.getByRole("status").filter({ hasText: "replayed" });
  await expect(notice).toBeVisible();
  await notice.getByRole("link", { name: "Open the run" }).click();
  await expect(page).toHaveURL(new RegExp("#/runs/" + id));
  await expect(page.getByLabel("Run status")).toContainText("succeeded", { timeout: 30_000 });
  // The timeline keeps both: the attempt that died and the replayed one, which got the edited input.
  const fetches = page.getByRole("table", { name: "Step timeline" }).getByRole("row").filter({ hasText: "fetch" });
  await expect(fetches).toHaveCount(2);
  await expect(fetches.first()).toContainText("error");
  await expect(fetches.last()).toContainText("ok");
  await expect(fetches.last()).toContainText("replay");
  await fetches.last().getByText("Captured payloads").click();
  await expect(fetches.last().getByLabel(/^Input of fetch/)).toContainText('"/healthz"');
  await shot(page, "ops-dlq-replayed");
  await expect.poll(() => runStatus(weft, id)).toBe("succeeded");
  await expect.poll(async () => (await weft.api("GET", "/api/dlq")).data.runs ?? []).toEqual([]);
  expect(recorder.problems).toEqual([]);
});

// Needs the API helper's new GET /api/flows fields (contract item 2).
test("flows: the list shows each flow's trigger, last run and error rate over 24 hours", async ({ page, weft, recorder }) => {
  await deploy(weft, "dlq-demo.yaml", dlqFlow);
  await deadRun(weft);
  const ok = await weft.api("POST", "/api/flows/dlq-demo/runs", { path: "/healthz" });
  expect(ok.status, JSON.stringify(ok.data)).toBe(200);
  await page.goto(weft.url + "/#/flows");
  const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: "dlq-demo", exact: true }) });
  await expect(row).toContainText("Fetches a path on this server");
  await expect(row.getByText("manual", { exact: true })).toBeVisible();
  await expect(row.getByText("succeeded", { exact: true })).toBeVisible();
  await expect(row).toContainText("50 % (1/2)");
  const order = page.getByRole("row").filter({ has: page.getByRole("link", { name: "order-flow", exact: true }) });
  await expect(order.getByText("webhook", { exact: true })).toBeVisible();
  await expect(order).toContainText("never run");
  await expect(order).toContainText("no runs");
  await shot(page, "ops-flows-stats");
  expect(recorder.problems).toEqual([]);
});

// Needs the API helper's POST /api/dlq/replay (contract item 5).
test("dlq: bulk replay of the selected dead runs", async ({ page, weft, recorder }) => {
  await deploy(weft, "dlq-demo.yaml", dlqFlow);
  const a = await deadRun(weft);
  const b = await deadRun(weft);
  await page.goto(weft.url + "/#/dlq?flow=dlq-demo");
  await expect(page.getByRole("link", { name: /^Run / })).toHaveCount(2);
  await page.getByLabel("Select run " + a).check();
  await page.getByLabel("Select run " + b).check();
  await page.getByRole("button", { name: "Replay selected (2)" }).click();
  await expect(page.getByRole("status").filter({ hasText: "2 replayed" })).toBeVisible();
  // Replayed with their recorded input, they fail again and come back to the queue.
  await expect.poll(() => runStatus(weft, a), { timeout: 30_000 }).toBe("dead");
  await shot(page, "ops-dlq-bulk");
  expect(recorder.problems).toEqual([]);
});

test("connectors: search, an operation's docs, and importing an OpenAPI document by upload", async ({ page, weft, recorder }) => {
  await page.goto(weft.url + "/#/connectors");
  await expect(page.getByRole("row").filter({ hasText: "Example CRM" }).getByRole("link", { name: "crm", exact: true }).first()).toBeVisible();
  await shot(page, "ops-connectors");
  await page.getByLabel("Search operations").fill("create contact");
  const hit = page.getByRole("link", { name: "crm.createContact" });
  await expect(hit).toBeVisible();
  await hit.click();
  await expect(page).toHaveURL(/#\/connectors\/crm\?op=createContact/);
  const input = page.getByRole("table", { name: "Input of createContact" });
  await expect(input).toBeVisible();
  await expect(input.getByRole("row").first()).toContainText("Field");
  await shot(page, "ops-connector");

  const spec = `openapi: 3.0.3
info: {title: Pets, version: "1.2"}
servers: [{url: https://pets.example.com/v1}]
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Pets-Key}
paths:
  /pets:
    get:
      operationId: listPets
      summary: List the pets
      parameters:
        - {name: species, in: query, schema: {type: string, enum: [cat, dog]}, description: Only this species}
      responses: {"200": {description: ok}}
  /bad:
    post:
      operationId: badAnnotations
      x-weft-annotations: {read_only: yes please}
      responses: {"200": {description: ok}}
`;
  await page.goto(weft.url + "/#/connectors");
  await page.getByLabel("Document").setInputFiles({ name: "pet-store.yaml", mimeType: "application/yaml", buffer: Buffer.from(spec) });
  await expect(page.getByLabel("Connector name")).toHaveValue("pet_store");
  await page.getByRole("button", { name: "Import" }).click();
  const res = page.getByRole("status", { name: "Import result" });
  await expect(res).toContainText("Imported 1 operation into connector pet_store");
  await expect(res).toContainText("1 rejected");
  await expect(res.getByRole("table", { name: "Rejected operations" })).toContainText("x-weft-annotations");
  await expect(res).toContainText("X-Pets-Key");
  await shot(page, "ops-connectors-import");
  await res.getByRole("link", { name: "pet_store" }).click();
  await page.getByText("pet_store.listPets").click();
  await expect(page.getByRole("table", { name: "Input of listPets" })).toContainText("species");
  await expect(page.getByRole("table", { name: "Input of listPets" })).toContainText('one of: "cat", "dog"');

  // A bad document: a clear message, no blank page.
  await page.goto(weft.url + "/#/connectors");
  await page.getByLabel("Document").setInputFiles({ name: "notes.yaml", mimeType: "application/yaml", buffer: Buffer.from("just: a note\n") });
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("alert")).toContainText("not an OpenAPI 3.x or Swagger 2.0 document");
  expect(recorder.problems.filter((p) => !/422|Unprocessable/.test(p))).toEqual([]);
  recorder.allow(/422|Unprocessable/);
});

// Issue 17, browser test 6.
test("connections: a secret typed into the form never reaches the browser again", async ({ page, weft, recorder }) => {
  await page.goto(weft.url + "/#/connections");
  await expect(page.getByRole("link", { name: "crm", exact: true }).first()).toBeVisible();
  await page.getByRole("link", { name: "New connection" }).click();
  const form = page.getByRole("form", { name: "New connection" });
  await form.getByLabel("Name *").fill("crm-secret");
  await form.getByLabel("Connector *").selectOption("crm");
  await form.getByLabel("Base URL").fill(weft.url + "/sandbox/crm");
  await form.getByLabel(/Allow private/).check();
  await form.getByLabel("Authentication type").selectOption("bearer");
  // The form refuses a bearer connection without its token.
  await form.getByRole("button", { name: "Create connection" }).click();
  await expect(form.getByText("Token is required.")).toBeVisible();
  await form.getByLabel("Token *").fill(secret);
  await shot(page, "ops-connection-new");
  await form.getByRole("button", { name: "Create connection" }).click();

  await expect(page).toHaveURL(/#\/connections\/crm-secret$/);
  await expect(page.getByText("auth.token: set")).toBeVisible();
  await shot(page, "ops-connection");
  expect(await page.content()).not.toContain(secret);

  // Edit: change the base URL and leave the token empty; the stored token is kept.
  await page.getByRole("button", { name: "Edit" }).click();
  const edit = page.getByRole("form", { name: "Edit connection crm-secret" });
  await expect(edit.getByLabel("Token")).toHaveValue("");
  await expect(edit.getByText("Stored. Type a new value to replace it.")).toBeVisible();
  await edit.getByLabel("Base URL").fill(weft.url + "/sandbox/crm/");
  await edit.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  await expect(page.getByText(weft.url + "/sandbox/crm/")).toBeVisible();
  expect(await page.content()).not.toContain(secret);

  await page.goto(weft.url + "/#/connections");
  const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: "crm-secret" }) });
  await expect(row).toContainText("auth.token: set");
  await shot(page, "ops-connections");
  expect(await page.content()).not.toContain(secret);

  const api = await weft.api("GET", "/api/connections/crm-secret");
  expect(api.status).toBe(200);
  expect(JSON.stringify(api.data)).not.toContain(secret);
  expect(api.data.credentials).toEqual({ "auth.token": "set" });
  const bodies = await recorder.bodies();
  expect(bodies.length).toBeGreaterThan(5);
  for (const b of bodies) expect(b).not.toContain(secret);

  // The connection works with the stored token: a flow calls the sandbox through it.
  await deploy(weft, "use-secret.yaml", "name: use-secret\nsteps:\n  - id: list\n    call: crm.listAccounts\n    connection: crm-secret\n");
  const run = await weft.api("POST", "/api/flows/use-secret/runs", {});
  expect(run.status, JSON.stringify(run.data)).toBe(200);
  expect(JSON.stringify(run.data)).not.toContain(secret);

  // Delete with confirmation.
  await page.goto(weft.url + "/#/connections/crm-secret");
  await page.getByRole("button", { name: "Delete…" }).click();
  await page.getByRole("dialog", { name: "Delete connection crm-secret?" }).getByRole("button", { name: "Delete" }).click();
  await expect(page).toHaveURL(/#\/connections$/);
  await expect(page.getByRole("link", { name: "crm-secret" })).toHaveCount(0);
  expect((await weft.api("GET", "/api/connections/crm-secret")).status).toBe(404);
  for (const b of await recorder.bodies()) expect(b).not.toContain(secret);
  expect(recorder.problems).toEqual([]);
});

// Needs the API helper's POST /api/connections/NAME/test (contract item 6).
test("connections: test connection reaches the server with the connection's credentials, and says nothing of them", async ({ page, weft, recorder }) => {
  await page.goto(weft.url + "/#/connections/local");
  await page.getByRole("button", { name: "Test connection local" }).click();
  await expect(page.getByRole("status").filter({ hasText: /OK \(HTTP 200\), [\d.]+ (ms|µs|s): reached http:\/\/127\.0\.0\.1:\d+: 200 OK/ })).toBeVisible();
  await shot(page, "ops-connection-test");

  // A connection with a secret, tested from the list: the answer carries no secret.
  const put = await weft.api("PUT", "/api/connections/crm-secret", { connector: "crm", base_url: weft.url + "/sandbox/crm", allow_private: true, auth: { type: "bearer", token: secret } });
  expect(put.status, JSON.stringify(put.data)).toBe(200);
  await page.goto(weft.url + "/#/connections");
  await page.getByRole("button", { name: "Test connection crm-secret" }).click();
  const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: "crm-secret" }) });
  await expect(row.getByRole("status")).toContainText(/OK|Failed/);
  for (const b of await recorder.bodies()) expect(b).not.toContain(secret);
  expect(await page.content()).not.toContain(secret);
  expect(recorder.problems).toEqual([]);
});
