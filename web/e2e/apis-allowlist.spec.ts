// A consumer's IP allow-list, edited in the console (#/apis/consumers/NAME):
// an address that is not the caller's makes its key refused (403) on the
// live route, a malformed entry is refused with its pointer and changes
// nothing, the loopback prefixes let it call again, and an empty list
// lets any address call. Issue 21.
import { test, expect, shot, getOrderFlow as getOrder } from "./fixtures";

test("editing a consumer's allow-list", async ({ page, weft, recorder }) => {
  // The malformed entry's 400.
  recorder.allow(/status of 400 \(Bad Request\)/);
  expect((await weft.api("POST", "/api/flows?file=get-order.yaml", getOrder)).status).toBe(201);
  for (const [m, p, b] of [
    ["PUT", "/api/products/shop", { auth: "api_key", versions: [{ name: "v1", flows: [{ flow: "get-order", version: 1 }] }] }],
    ["PUT", "/api/plans/gold", { limits: { quota_day: 100 } }],
    ["PUT", "/api/consumers/acme", { description: "Acme" }],
    ["PUT", "/api/consumers/acme/subscriptions/shop", { plan: "gold" }],
  ] as const) {
    const res = await weft.api(m, p, b);
    expect(res.status, `${m} ${p}: ${JSON.stringify(res.data)}`).toBe(200);
  }
  const made = await weft.api("POST", "/api/consumers/acme/keys", {});
  expect(made.status).toBe(201);
  const key = (made.data as { key: string }).key;
  const call = async () => (await fetch(weft.url + "/apis/shop/v1/orders/7", { headers: { "X-API-Key": key } })).status;
  const allowIPs = async () => ((await weft.api("GET", "/api/consumers/acme")).data as { consumer: { allow_ips?: string[] } }).consumer.allow_ips ?? [];
  expect(await call()).toBe(200);

  await page.goto(weft.url + "/#/apis/consumers/acme");
  const detail = page.getByRole("region", { name: "Consumer acme" });
  const form = detail.getByRole("form", { name: "Allow-list" });
  const box = form.getByLabel("Client addresses");
  const save = form.getByRole("button", { name: "Save addresses" });
  await expect(box).toHaveValue("");
  await expect(save).toBeDisabled(); // nothing changed yet

  // Only an address that is not the caller's: refused.
  await box.fill("203.0.113.7");
  await save.click();
  await expect(detail.getByLabel("Allowed addresses")).toContainText("203.0.113.7");
  expect(await allowIPs()).toEqual(["203.0.113.7"]);
  expect(await call()).toBe(403);

  // A malformed entry: the server's problem is shown, nothing is saved.
  await box.fill("203.0.113.7\nnot-an-address");
  await save.click();
  await expect(detail.getByRole("alert")).toContainText("allow_ips");
  expect(await allowIPs()).toEqual(["203.0.113.7"]);

  // The loopback prefixes (one a line, or separated by commas): allowed again.
  await box.fill("127.0.0.0/8, ::1");
  await save.click();
  await expect(detail.getByLabel("Allowed addresses")).toContainText("127.0.0.0/8, ::1");
  expect(await allowIPs()).toEqual(["127.0.0.0/8", "::1"]);
  await expect(box).toHaveValue("127.0.0.0/8\n::1");
  expect(await call()).toBe(200);
  await shot(page, "apis-consumer-allowlist");

  // Emptied: any address; the rest of the consumer is kept.
  await box.fill("");
  await save.click();
  await expect(detail.getByLabel("Allowed addresses")).toHaveCount(0);
  expect(await allowIPs()).toEqual([]);
  expect(await call()).toBe(200);
  const c = await weft.api("GET", "/api/consumers/acme");
  expect((c.data as { consumer: { description: string; disabled?: boolean } }).consumer).toMatchObject({ description: "Acme" });
  expect((c.data as { consumer: { disabled?: boolean } }).consumer.disabled ?? false).toBe(false);
});
