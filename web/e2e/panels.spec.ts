// The builder's side panels, hosted on the "Try a draft" page (#/try): test-run
// order-flow and read each step's output; describe a flow in English, answer
// its questions, put it in the editor and deploy it; suggest a mapping for a
// CRM call and apply it into the step.
import { test, expect, shot } from "./fixtures";
import type { Page } from "@playwright/test";

async function openTry(page: Page, url: string) {
  await page.goto(url + "/#/try");
  await expect(page.getByRole("heading", { name: "Try a draft" })).toBeVisible();
  const yaml = page.getByRole("textbox", { name: "Draft YAML" });
  await expect(yaml).toHaveValue(/name: order-flow/);
  return yaml;
}

const order = { order_id: "A-42", customer: { name: "Ada Lovelace", email: "ada@example.com" }, currency: "eur", items: [{ qty: 2, price: 3.5 }, { qty: 1, price: 10 }] };

test("test-run order-flow with a sample input and read each step's output; a broken expression shows line:col", async ({ page, weft, recorder }) => {
  const yaml = await openTry(page, weft.url);
  await page.getByLabel("Body (JSON)").fill(JSON.stringify(order));
  await page.getByRole("button", { name: "Run test" }).click();
  const result = page.getByLabel("Test run result");
  await expect(result.getByRole("status").first()).toContainText("succeeded");
  await expect(result.getByLabel("Response body")).toContainText('"status": "accepted"');

  const transform = result.getByLabel("Step transform");
  await expect(transform).toContainText("succeeded");
  await transform.getByText("Output of transform").click();
  await expect(transform.getByLabel("Output of transform")).toContainText('"customer_name": "ADA LOVELACE"');
  await expect(transform.getByLabel("Output of transform")).toContainText('"total": 17');

  const post = result.getByLabel("Step post");
  await expect(post).toContainText("succeeded");
  await post.getByText("Input of post").click();
  await expect(post.getByLabel("Input of post")).toContainText("/hooks/orders-api");
  await post.getByText("Output of post").click();
  await expect(post.getByLabel("Output of post")).toContainText('"ok": true');

  const reply = result.getByLabel("Step reply");
  await expect(reply).toContainText("succeeded");
  // The page shows the results on the steps (what the canvas does with onStepResults).
  await expect(page.getByLabel("Last test run on the steps")).toContainText("post: succeeded");
  await shot(page, "try-testrun");

  // Nothing was deployed or recorded.
  const runs = await weft.api("GET", "/api/runs?flow=order-flow");
  expect(runs.data.runs).toEqual([]);

  // Break an expression: the run is refused (an expected 4xx the browser logs)
  // with the problem at line:col.
  recorder.allow(/Failed to load resource: the server responded with a status of 4(00|22)/);
  const src = await yaml.inputValue();
  await yaml.fill(src.replace("body: =steps.transform", "body: =steps.nope"));
  await page.getByRole("button", { name: "Run test" }).click();
  const problems = page.getByRole("alert").filter({ hasText: "does not validate" });
  await expect(problems).toContainText(/\d+:\d+/);
  await expect(problems).toContainText("nope");
  await shot(page, "try-testrun-problem");
});

test("test-run from a past run's captured payload", async ({ page, weft }) => {
  // A run that dies keeps its trigger payload (capture: metadata keeps it for replay).
  const fired = await weft.api("POST", "/hooks/order-flow", { order_id: "A-7" });
  expect(fired.status).toBeGreaterThanOrEqual(400);
  await openTry(page, weft.url);
  await page.getByLabel("From a past run").check();
  const pick = page.getByLabel("Past run of order-flow");
  await expect(pick.locator("option")).toHaveCount(2);
  await pick.selectOption({ index: 1 });
  await page.getByText("Its trigger payload").click();
  await expect(page.getByLabel("Its trigger payload")).toContainText("A-7");
  await page.getByRole("button", { name: "Run test" }).click();
  const result = page.getByLabel("Test run result");
  await expect(result.getByRole("status").first()).toContainText("failed");
  await expect(result.getByLabel("Step transform")).toContainText("no such key");
  await shot(page, "try-testrun-from-run");
});

test("describe a flow in English, answer its questions, put it in the editor and deploy it", async ({ page, weft, recorder }) => {
  const yaml = await openTry(page, weft.url);
  await page.getByRole("tab", { name: "Describe it" }).click();
  await page.getByLabel("What should the flow do?").fill("post a message to the chat");
  await page.getByRole("button", { name: "Draft it" }).click();
  const draft = page.getByLabel("Draft", { exact: true });
  await expect(draft.getByRole("heading", { name: "Open questions" })).toBeVisible();
  const channel = draft.getByLabel(/Answer to: Which chat channel/);
  const start = draft.getByLabel(/Answer to: What should start this flow/);
  await expect(channel).toBeVisible();
  await expect(start).toBeVisible();
  await expect(draft.getByLabel("Drafted YAML")).toContainText("manual");
  await shot(page, "try-describe-questions");

  await channel.fill("#sales");
  await start.fill("when a webhook receives an order");
  await draft.getByRole("button", { name: "Apply answers" }).click();
  await expect(draft.getByText("No open questions.")).toBeVisible();
  await expect(draft.getByText("Asked as:")).toContainText("post a message to the chat (#sales) (when a webhook receives an order)");
  await expect(draft.getByLabel("Drafted YAML")).toContainText("channelId: sales");
  await expect(draft.getByLabel("Drafted YAML")).toContainText("webhook:");
  await expect(draft.getByRole("status").first()).toContainText("valid");
  await shot(page, "try-describe-answered");

  await draft.getByRole("button", { name: "Put on canvas" }).click();
  await expect(yaml).toHaveValue(/channelId: sales/);
  const name = /name: ([a-z0-9-]+)/.exec(await yaml.inputValue())![1];
  await page.getByRole("button", { name: "Deploy" }).click();
  await expect(page.getByText(`Deployed ${name} as version 1.`)).toBeVisible();
  const flows = await weft.api("GET", "/api/flows");
  expect(flows.data.flows.map((f: { name: string }) => f.name)).toContain(name);
  await shot(page, "try-describe-deployed");
  expect(recorder.problems).toEqual([]);
});

test("suggest a mapping for a CRM call from the step before it and apply it", async ({ page, weft, recorder }) => {
  const yaml = await openTry(page, weft.url);
  // Add a CRM call after transform with an empty with.
  const src = await yaml.inputValue();
  await yaml.fill(src.replace("  - id: post\n", "  - id: contact\n    call: crm.createContact\n    connection: crm\n    with: {}\n  - id: post\n"));
  await page.getByLabel("Selected step (for Suggest mapping)").selectOption("contact");
  await page.getByRole("tab", { name: "Suggest mapping" }).click();
  await expect(page.getByLabel("Source (the data before this step)")).toHaveValue("step:transform");
  await expect(page.getByRole("combobox", { name: /^Target/ })).toContainText("input of crm.createContact");
  await page.getByRole("button", { name: "Suggest" }).click();
  const sugg = page.getByLabel("Mapping suggestions");
  await expect(sugg.getByLabel("CEL for email")).toHaveValue("steps.transform.customer_email");
  await expect(sugg.getByLabel("CEL for first_name")).toHaveValue(/^steps\.transform\.customer_name/);
  await sugg.getByLabel("Accept email").check();
  await sugg.getByLabel("Accept first_name").check();
  await shot(page, "try-mapping");
  await sugg.getByRole("button", { name: "Apply to contact" }).click();
  await expect(sugg.getByText("Applied 2 fields to contact's with")).toBeVisible();
  await expect(yaml).toHaveValue(/email: =steps\.transform\.customer_email/);
  await expect(yaml).toHaveValue(/first_name: =steps\.transform\.customer_name/);
  // The patched draft still validates, and the comments in it survived.
  await expect(yaml).toHaveValue(/# The downstream "orders API" is another flow/);
  await page.getByRole("button", { name: "Validate" }).click();
  await expect(page.getByText("order-flow is valid")).toBeVisible();
  // The accepted pairs were recorded as reviews (the mapper learns from them).
  const ms = await weft.api("GET", "/api/mappings");
  const m = await weft.api("GET", "/api/mappings/" + ms.data.mappings[0].id);
  const accepted = m.data.items.filter((i: { status: string }) => i.status === "accepted").map((i: { target: string }) => i.target);
  expect(accepted.sort()).toEqual(["email", "first_name"]);
  // Dark theme stays readable.
  await page.getByRole("button", { name: "Toggle light and dark theme" }).click();
  await shot(page, "try-mapping-dark");
  expect(recorder.problems).toEqual([]);
});
