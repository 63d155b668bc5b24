// APIs (#/apis), managed from the console: a product is created with a
// first version pinning a flow (a bad pin refused with its pointer, an
// existing name refused), a consumer is disabled and enabled again (its
// key refused with 403, then accepted, on the live route), and a plan is
// deleted (refused while a subscription uses it). Issue 21.
import { test, expect, shot, getOrderFlow as getOrder } from "./fixtures";

test("creating products, disabling consumers, deleting plans", async ({ page, weft, recorder }) => {
  // The refusals the test provokes: a pin to no flow version (422) and a
  // plan in use (409); the existence check's 404 for a new product.
  recorder.allow(/status of (404 \(Not Found\)|409 \(Conflict\)|422 \(Unprocessable Entity\))/);
  const r = await weft.api("POST", "/api/flows?file=get-order.yaml", getOrder);
  expect(r.status, JSON.stringify(r.data)).toBe(201);

  // A product with keys, created in the console.
  await page.goto(weft.url + "/#/apis/products");
  await expect(page.getByText("No API products yet.")).toBeVisible();
  await page.getByRole("button", { name: "Create product" }).click();
  const create = page.getByRole("dialog", { name: "Create a product" });
  await create.getByLabel("Product name").fill("shop");
  await create.getByLabel("Title").fill("Shop");
  await create.getByLabel("Authentication").selectOption("api_key");
  await create.getByLabel("Pinned flows").fill("get-order@9");
  await create.getByRole("button", { name: "Create product" }).click();
  await expect(create.getByRole("alert")).toContainText("/versions/0/flows/0");
  await create.getByLabel("Pinned flows").fill("get-order 1");
  await create.getByRole("button", { name: "Create product" }).click();
  await expect(create.getByRole("alert")).toContainText("flow@version");
  await create.getByLabel("Pinned flows").fill("get-order@1");
  await shot(page, "apis-create-product");
  await create.getByRole("button", { name: "Create product" }).click();
  await expect(create).toHaveCount(0);
  const product = page.getByRole("region", { name: "Product shop" });
  await expect(product).toContainText("auth: api_key");
  await expect(product.getByRole("row", { name: /v1/ })).toContainText("get-order@1");
  const got = await weft.api("GET", "/api/products/shop");
  expect(got.status).toBe(200);
  expect((got.data as { title: string }).title).toBe("Shop");
  // The same name again is refused, not overwritten.
  await page.getByRole("button", { name: "Create product" }).click();
  await create.getByLabel("Product name").fill("shop");
  await create.getByLabel("Pinned flows").fill("get-order@1");
  await create.getByRole("button", { name: "Create product" }).click();
  await expect(create.getByRole("alert")).toContainText("Product shop exists");
  await create.getByRole("button", { name: "Cancel" }).click();

  // A plan, a consumer subscribed under it, a key (through the API).
  for (const [m, p, b] of [
    ["PUT", "/api/plans/gold", { limits: { quota_day: 100 } }],
    ["PUT", "/api/plans/spare", { limits: { quota_day: 5 } }],
    ["PUT", "/api/consumers/acme", { description: "Acme", allow_ips: ["127.0.0.0/8", "::1"] }],
    ["PUT", "/api/consumers/acme/subscriptions/shop", { plan: "gold" }],
  ] as const) {
    const res = await weft.api(m, p, b);
    expect(res.status, `${m} ${p}: ${JSON.stringify(res.data)}`).toBe(200);
  }
  const made = await weft.api("POST", "/api/consumers/acme/keys", {});
  expect(made.status).toBe(201);
  const key = (made.data as { key: string }).key;
  const call = async () => (await fetch(weft.url + "/apis/shop/v1/orders/7", { headers: { "X-API-Key": key } })).status;
  expect(await call()).toBe(200);

  // Disable, then enable, the consumer in the console.
  await page.goto(weft.url + "/#/apis/consumers/acme");
  const detail = page.getByRole("region", { name: "Consumer acme" });
  await expect(detail.getByLabel("Allowed addresses")).toContainText("127.0.0.0/8, ::1");
  await detail.getByRole("button", { name: "Disable" }).click();
  const confirm = page.getByRole("dialog", { name: "Disable acme?" });
  await confirm.getByRole("button", { name: "Disable" }).click();
  await expect(detail.getByRole("button", { name: "Enable" })).toBeVisible();
  await expect(detail.getByRole("heading", { level: 2 })).toContainText("disabled");
  expect(await call()).toBe(403);
  await shot(page, "apis-consumer-disabled");
  await detail.getByRole("button", { name: "Enable" }).click();
  await expect(detail.getByRole("button", { name: "Disable" })).toBeVisible();
  expect(await call()).toBe(200);
  // Disabling and enabling kept the rest of the consumer.
  const c = await weft.api("GET", "/api/consumers/acme");
  expect((c.data as { consumer: { description: string; allow_ips: string[] } }).consumer).toMatchObject({ description: "Acme", allow_ips: ["127.0.0.0/8", "::1"] });

  // Plans: one in use is refused, an unused one deleted.
  await page.getByRole("link", { name: "Plans" }).click();
  const plans = page.getByRole("table", { name: "Plans" });
  await plans.getByRole("button", { name: "Delete plan gold" }).click();
  await page.getByRole("dialog", { name: "Delete plan gold?" }).getByRole("button", { name: "Delete" }).click();
  await expect(page.getByRole("alert")).toContainText("subscription");
  await expect(plans.getByRole("row", { name: /gold/ })).toBeVisible();
  await plans.getByRole("button", { name: "Delete plan spare" }).click();
  await page.getByRole("dialog", { name: "Delete plan spare?" }).getByRole("button", { name: "Delete" }).click();
  await expect(plans.getByRole("row", { name: /spare/ })).toHaveCount(0);
  expect((await weft.api("GET", "/api/plans/spare")).status).toBe(404);
  await shot(page, "apis-plans-delete");
});
