// The developer portal of a published API product version
// ({base}/{product}/{version}/docs, served by Weft itself, not the console):
// the page lists the version's routes from its OpenAPI document, and its
// try-it form sends a real request to the route and shows the answer, under
// the page's nonce-only CSP (the fixture fails the test on any CSP
// violation or console error). Issue 21.
import { test, expect, shot } from "./fixtures";

const getOrder = `name: get-order
trigger:
  api:
    method: GET
    path: /orders/{id}
    summary: one order by id
    request:
      path: {type: object, properties: {id: {type: string, pattern: "^[0-9]+$"}}}
      query: {type: object, properties: {expand: {type: boolean}}}
steps:
  - respond: {status: 200, body: {id: =trigger.params.id, expand: '=has(trigger.query.expand) ? trigger.query.expand : "no"'}}
`;

const createOrder = `name: create-order
trigger:
  api:
    method: POST
    path: /orders
    summary: place an order
    request:
      body: {type: object, required: [sku], properties: {sku: {type: string}}}
steps:
  - respond: {status: 201, body: {placed: =trigger.body.sku}}
`;

test("a product version's developer page: routes and try-it", async ({ page, weft }) => {
  for (const [file, yaml] of [["get-order.yaml", getOrder], ["create-order.yaml", createOrder]]) {
    const r = await weft.api("POST", "/api/flows?file=" + file, yaml);
    expect(r.status, JSON.stringify(r.data)).toBe(201);
  }
  const put = await weft.api("PUT", "/api/products/shop", {
    title: "Shop",
    versions: [{ name: "v1", flows: [{ flow: "get-order", version: 1 }, { flow: "create-order", version: 1 }] }],
  });
  expect(put.status, JSON.stringify(put.data)).toBe(200);

  await page.goto(weft.url + "/apis/shop/v1/docs");
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Shop");
  const get = page.locator("section.op", { hasText: "/orders/{id}" });
  await expect(get).toContainText("one order by id");

  await get.getByText("Try it").click();
  await get.locator('input[data-name="id"]').fill("42");
  await get.locator('input[data-name="expand"]').fill("true");
  await get.getByRole("button", { name: "Send" }).click();
  const out = get.locator("pre.out");
  await expect(out).toContainText("200");
  await expect(out).toContainText('"id": "42"');
  await expect(out).toContainText('"expand": "true"');

  // A bad id: the route's 400 with the problem's pointer, shown as answered.
  await get.locator('input[data-name="id"]').fill("abc");
  await get.getByRole("button", { name: "Send" }).click();
  await expect(out).toContainText("400");
  await expect(out).toContainText("/path/id");

  const post = page.locator("section.op", { hasText: "place an order" });
  await post.getByText("Try it").click();
  await post.locator('textarea[data-in="body"]').fill('{"sku": "A-1"}');
  await post.getByRole("button", { name: "Send" }).click();
  await expect(post.locator("pre.out")).toContainText("201");
  await expect(post.locator("pre.out")).toContainText('"placed": "A-1"');
  await shot(page, "portal");

  // Two runs were made through the page (the 400 started none).
  const runs = await weft.api("GET", "/api/runs?limit=100");
  expect(runs.data.runs.filter((r: { trigger_kind: string }) => r.trigger_kind === "api").length).toBe(2);
});
