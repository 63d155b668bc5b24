// APIs (#/apis): plans are saved with their limits; a consumer is created,
// subscribed to a product under a plan, given an API key (shown once, and
// in no other response the browser receives), which is rotated and
// revoked; an HMAC credential's secret is shown once; a product version is
// re-pinned and deprecated with a successor. Each change is checked
// against the published routes themselves. Issue 21.
import { test, expect, shot } from "./fixtures";

const getOrder = (v: number) => `name: get-order
trigger:
  api:
    method: GET
    path: /orders/{id}
steps:
  - respond: {status: 200, body: {id: =trigger.params.id, flow_version: ${v}}}
`;

async function callWith(url: string, key: string) {
  const r = await fetch(url + "/apis/shop/v1/orders/7", { headers: { "X-API-Key": key } });
  return { status: r.status, body: await r.text(), headers: r.headers };
}

test("API products, plans, consumers and their credentials", async ({ page, weft, recorder }) => {
  // The two refusals the test provokes (a bad plan, a pin to no flow version).
  recorder.allow(/status of (400 \(Bad Request\)|422 \(Unprocessable Entity\))/);
  for (const v of [1, 2]) {
    const r = await weft.api("POST", "/api/flows?file=get-order.yaml", getOrder(v));
    expect(r.status, JSON.stringify(r.data)).toBe(201);
  }
  const put = await weft.api("PUT", "/api/products/shop", {
    title: "Shop",
    auth: "api_key",
    versions: [
      { name: "v1", flows: [{ flow: "get-order", version: 1 }] },
      { name: "v2", flows: [{ flow: "get-order", version: 2 }] },
    ],
  });
  expect(put.status, JSON.stringify(put.data)).toBe(200);

  // Plans.
  await page.goto(weft.url + "/#/apis/plans");
  await expect(page.getByText("No plans yet.")).toBeVisible();
  const planForm = page.getByRole("form", { name: "Save a plan" });
  await planForm.getByLabel("Plan name").fill("gold");
  await planForm.getByLabel("Calls a second").fill("10");
  await planForm.getByLabel("Burst").fill("5");
  await planForm.getByLabel("Calls a day").fill("100");
  await planForm.getByRole("button", { name: "Save plan" }).click();
  await expect(page.getByRole("table", { name: "Plans" }).getByRole("row", { name: /gold/ })).toContainText("10/s (burst 5), 100 a day");
  // A bad plan is refused with the server's pointer.
  await planForm.getByLabel("Plan name").fill("bad");
  await planForm.getByLabel("Burst").fill("3");
  await planForm.getByRole("button", { name: "Save plan" }).click();
  await expect(page.getByRole("alert")).toContainText("/limits/burst");
  await shot(page, "apis-plans");

  // A consumer, subscribed.
  await page.getByRole("link", { name: "Consumers" }).click();
  await page.getByRole("button", { name: "Create consumer" }).click();
  const create = page.getByRole("dialog", { name: "Create a consumer" });
  await create.getByLabel("Consumer name").fill("acme");
  await create.getByLabel("Description").fill("Acme's shop front");
  await create.getByRole("button", { name: "Create consumer" }).click();
  await page.getByRole("table", { name: "Consumers" }).getByRole("link", { name: "acme" }).click();
  const detail = page.getByRole("region", { name: "Consumer acme" });
  const subscribe = detail.getByRole("form", { name: "Subscribe" });
  await subscribe.getByLabel("Product").selectOption("shop");
  await subscribe.getByLabel("Plan").selectOption("gold");
  await subscribe.getByRole("button", { name: "Subscribe" }).click();
  await expect(detail.getByRole("table", { name: "Subscriptions" }).getByRole("row", { name: /shop/ })).toContainText("gold");

  // An API key, shown once.
  const made = page.waitForResponse((r) => r.url().endsWith("/api/consumers/acme/keys") && r.request().method() === "POST");
  await detail.getByRole("button", { name: "Create API key" }).click();
  expect((await made).status()).toBe(201);
  let shown = page.getByRole("dialog", { name: /API key .* created/ });
  await expect(shown.getByRole("alert")).toContainText("shown only this once");
  const key = await shown.getByLabel("Key").inputValue();
  expect(key).toMatch(/^wk_[0-9a-f]{16}_/);
  const keyID = key.slice(3, 19);
  await shot(page, "apis-key-shown");
  expect((await callWith(weft.url, key)).status).toBe(200);
  await shown.getByRole("button", { name: "I have stored it" }).click();
  await expect(shown).toHaveCount(0);
  const creds = detail.getByRole("table", { name: "Credentials" });
  await expect(creds.getByRole("row", { name: new RegExp(keyID) })).toContainText("active");
  expect(await page.content()).not.toContain(key);

  // Rotated: a new key, shown once; the old one works until the overlap ends.
  await creds.getByRole("button", { name: "Rotate " + keyID }).click();
  shown = page.getByRole("dialog", { name: /API key .* created/ });
  const key2 = await shown.getByLabel("Key").inputValue();
  expect(key2).toMatch(/^wk_/);
  expect(key2).not.toBe(key);
  await shown.getByRole("button", { name: "I have stored it" }).click();
  await expect(creds.getByRole("row", { name: new RegExp(keyID) })).toContainText("until");
  expect((await callWith(weft.url, key)).status).toBe(200);
  expect((await callWith(weft.url, key2)).status).toBe(200);

  // Revoked (after a confirmation): refused on the next call.
  const key2ID = key2.slice(3, 19);
  await creds.getByRole("button", { name: "Revoke " + key2ID }).click();
  await page.getByRole("dialog", { name: `Revoke ${key2ID}?` }).getByRole("button", { name: "Revoke" }).click();
  await expect(creds.getByRole("row", { name: new RegExp(key2ID) })).toContainText("revoked");
  const refused = await callWith(weft.url, key2);
  expect(refused.status).toBe(401);
  expect(refused.body).toContain("was revoked");

  // An HMAC credential: its secret shown once too.
  await detail.getByRole("button", { name: "Create HMAC credential" }).click();
  shown = page.getByRole("dialog", { name: /HMAC credential .* created/ });
  const secret = await shown.getByLabel("Secret").inputValue();
  expect(secret).toMatch(/^whs_/);
  await shown.getByRole("button", { name: "I have stored it" }).click();
  await expect(creds.getByRole("row", { name: /HMAC/ })).toContainText("active");

  const bodies = await recorder.bodies();
  for (const s of [key, key2, secret]) {
    expect(bodies.filter((b) => b.includes(s)), "response bodies holding a credential").toHaveLength(1); // its creation only
  }

  // Products: re-pin v1 and deprecate it in favour of v2.
  await page.getByRole("link", { name: "Products" }).click();
  const product = page.getByRole("region", { name: "Product shop" });
  await expect(product.getByRole("row", { name: /v1/ })).toContainText("get-order@1");
  await product.getByRole("button", { name: "Edit shop v1" }).click();
  const edit = page.getByRole("dialog", { name: "Version v1 of shop" });
  await edit.getByLabel("get-order version").fill("2");
  await edit.getByLabel("State").selectOption("deprecated");
  await edit.getByLabel("Sunset date (optional)").fill("2030-06-30");
  await edit.getByLabel("Successor version (optional)").selectOption("v2");
  await shot(page, "apis-edit-version");
  await edit.getByRole("button", { name: "Save" }).click();
  await expect(edit).toHaveCount(0);
  const v1 = product.getByRole("row", { name: /v1/ }).first();
  await expect(v1).toContainText("get-order@2");
  await expect(v1).toContainText("deprecated");
  await expect(v1).toContainText("→ v2");
  const after = await callWith(weft.url, key);
  expect(after.status).toBe(200);
  expect(JSON.parse(after.body).flow_version).toBe(2);
  expect(after.headers.get("deprecation")).toMatch(/^@\d+$/);
  expect(after.headers.get("sunset")).toContain("2030");
  expect(after.headers.get("link")).toContain("/apis/shop/v2");
  // A pin to a flow version that does not exist is refused with its pointer.
  await product.getByRole("button", { name: "Edit shop v1" }).click();
  await edit.getByLabel("get-order version").fill("9");
  await edit.getByRole("button", { name: "Save" }).click();
  await expect(edit.getByRole("alert")).toContainText("/versions/0/flows/0");

  await edit.getByRole("button", { name: "Cancel" }).click();
  await expect(edit).toHaveCount(0);

  // Usage: the calls above, per consumer and per route.
  await page.getByRole("link", { name: "Usage" }).click();
  const usage = page.getByRole("table", { name: "API usage" });
  const acme = usage.getByRole("row", { name: /acme/ }).first();
  await expect(acme).toContainText("shop");
  // The box shows the URL's state (?by=route), set by the navigation its
  // click starts: click, then wait for the state, rather than check(),
  // which wants the state changed by the time the click returns.
  await page.getByLabel("per route").click();
  await expect(page.getByLabel("per route")).toBeChecked();
  await expect(usage.getByRole("row", { name: /GET \/orders\/\{id\}/ }).first()).toBeVisible();
  // The revoked key's 401: answered before routing, by no authenticated consumer.
  await expect(usage.getByRole("row", { name: /before routing/ }).first()).toContainText("anonymous");
  await shot(page, "apis-usage");
});
