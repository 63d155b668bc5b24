// The builder's side panels mounted in the builder itself (the panels alone
// are tested on the Try page in panels.spec.ts): a test run shows each
// step's output on its node; a plain-English request becomes a draft on the
// canvas, its questions answered, and is deployed; a suggested mapping is
// applied to the selected step.
import type { Page } from "@playwright/test";
import { test, expect, shot } from "./fixtures";

const node = (page: Page, id: string) => page.getByRole("button", { name: new RegExp(`^step ${id},`) });
const status = (page: Page) => page.getByRole("status", { name: "Validation" });

const order = {
  order_id: "A-7",
  customer: { name: "ada lovelace", email: "ada@example.com" },
  currency: "eur",
  items: [
    { sku: "a", qty: 2, price: 5 },
    { sku: "b", qty: 1, price: 7 },
  ],
};

test("(2) order-flow: break an expression, fix it, then test-run it with a sample input and read each step's output on its node", async ({ page, weft }) => {
  await page.goto(weft.url + "/#/builder/order-flow");
  await expect(node(page, "post")).toBeVisible();
  await expect(status(page)).toHaveText("valid");
  await node(page, "post").click();
  const body = page.getByRole("region", { name: "Settings of step post" }).getByRole("combobox", { name: "body", exact: true });
  await body.fill("=steps.transfrm");
  await body.blur();
  await expect(node(page, "post")).toHaveAccessibleName(/1 problem/);
  await body.fill("=steps.transform");
  await body.blur();
  await expect(status(page)).toHaveText("valid");

  await page.getByRole("tab", { name: "Test run" }).click();
  await page.getByLabel("Body (JSON)").fill(JSON.stringify(order));
  await page.getByRole("button", { name: "Run test" }).click();
  const result = page.getByLabel("Test run result");
  await expect(result.getByRole("status").first()).toContainText("succeeded");
  // each step's output, on its node
  await expect(node(page, "transform")).toContainText("succeeded");
  const out = (id: string) => page.getByTestId(`output-${id}`);
  await expect(out("transform")).toContainText('"customer_name":"ADA LOVELACE"');
  await expect(out("transform")).toHaveAttribute("title", /"total":17/);
  await expect(out("post")).toHaveAttribute("title", /"ok":true/);
  await expect(node(page, "reply")).toContainText("succeeded");
  // and in full in the panel
  const post = result.getByLabel("Step post");
  await post.getByText("Input of post").click();
  await expect(post.getByLabel("Input of post")).toContainText("/hooks/orders-api");
  await shot(page, "builder-testrun");
  // nothing deployed: still version 1
  const f = await weft.api("GET", "/api/flows/order-flow");
  expect(f.data.version).toBe(1);
});

test("(3) describe a flow in plain English, get a draft on the canvas, answer its questions, deploy it", async ({ page, weft }) => {
  await page.goto(weft.url + "/#/builder");
  await page.getByRole("tab", { name: "Describe it" }).click();
  await page.getByLabel("What should the flow do?").fill("post a message to the chat");
  await page.getByRole("button", { name: "Draft it" }).click();
  const draft = page.getByLabel("Draft", { exact: true });
  await expect(draft.getByRole("heading", { name: "Open questions" })).toBeVisible();
  await shot(page, "builder-describe-questions");
  await draft.getByLabel(/Answer to: Which chat channel/).fill("#sales");
  await draft.getByLabel(/Answer to: What should start this flow/).fill("when a webhook receives an order");
  await draft.getByRole("button", { name: "Apply answers" }).click();
  await expect(draft.getByText("No open questions.")).toBeVisible();
  await draft.getByRole("button", { name: "Put on canvas" }).click();

  // the draft is on the canvas and in the YAML, and it validates
  await expect(page.getByRole("button", { name: /^trigger, webhook/ })).toBeVisible();
  await expect(page.getByRole("button", { name: /^step .*chat\./ })).toBeVisible();
  await expect(page.getByTestId("yaml-editor")).toContainText("channelId: sales");
  await expect(status(page)).toHaveText("valid");
  await shot(page, "builder-describe-canvas");

  const name = /name: ([a-z0-9-]+)/.exec(await page.getByTestId("yaml-editor").locator(".cm-content").innerText())![1];
  await page.getByRole("button", { name: "Deploy…" }).click();
  const dlg = page.getByRole("dialog", { name: `Deploy ${name}` });
  await dlg.getByRole("button", { name: "Deploy", exact: true }).click();
  await expect(page.getByText(`Deployed ${name} version 1.`)).toBeVisible();
  const flows = await weft.api("GET", "/api/flows");
  expect(flows.data.flows.map((x: { name: string }) => x.name)).toContain(name);
});
