import { test, expect, shot } from "./fixtures";

const token = "console-signin-token-0123456789";

test.use({ weftOptions: { apiToken: token } });

test("with an API token the console asks to sign in, works under a cookie session with CSRF, and signs out", async ({ page, weft, recorder }) => {
  await page.goto(weft.url + "/#/flows");
  await expect(page.getByRole("heading", { name: "Sign in to Weft" })).toBeVisible();
  // A wrong token is refused with the server's message.
  recorder.allow(/status of 40[13]/); // the wrong token, and the CSRF probe below
  await page.getByLabel("API token").fill("wrong-token-wrong-token");
  await page.getByRole("button", { name: "Sign in with the token" }).click();
  await expect(page.getByRole("alert")).toContainText(/token/i);
  await shot(page, "signin");
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in with the token" }).click();
  await expect(page.getByRole("link", { name: "order-flow", exact: true })).toBeVisible();

  // The cookie is HttpOnly: the page's script cannot read it, and the token is not kept anywhere.
  const cookies = await page.context().cookies();
  const sess = cookies.find((c) => c.name === "weft_session");
  expect(sess?.httpOnly).toBe(true);
  expect(sess?.sameSite).toBe("Strict");
  expect(await page.evaluate(() => document.cookie)).not.toContain("weft_session");
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  expect(stored).not.toContain(token);

  // A state-changing request under the cookie without the CSRF token is refused.
  const status = await page.evaluate(async () => (await fetch("/api/flows/order-flow/rollback", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"version":1}' })).status);
  expect(status).toBe(403);

  // A reload keeps the session (no second sign-in).
  await page.reload();
  await expect(page.getByRole("link", { name: "order-flow", exact: true })).toBeVisible();

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to Weft" })).toBeVisible();
  // The session ended on the server: the old cookie no longer opens the API.
  const after = await weft.api("GET", "/api/session");
  expect(after.status).toBe(200);
  const r = await page.evaluate(async () => (await fetch("/api/flows")).status);
  expect(r).toBe(401);
  for (const body of await recorder.bodies()) expect(body).not.toContain(token);
});

test("a local user signs in with name and password and gets only their role's rights", async ({ page, weft, recorder }) => {
  const created = await weft.api("POST", "/api/users", { name: "vera", password: "vera-password-123", role: "viewer" });
  expect(created.status, JSON.stringify(created.data)).toBe(201);
  await page.goto(weft.url + "/#/flows");
  await expect(page.getByRole("heading", { name: "Sign in to Weft" })).toBeVisible();
  recorder.allow(/status of 40[13]/); // the wrong password, and the viewer's refused rollback below
  await page.getByLabel("User name").fill("vera");
  await page.getByLabel("Password").fill("wrong-password-000");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await page.getByLabel("Password").fill("vera-password-123");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("link", { name: "order-flow", exact: true })).toBeVisible();
  const me = await page.evaluate(async () => (await fetch("/api/me")).json());
  expect(JSON.stringify(me)).toContain("vera");
  // a viewer may read but not change: a rollback under the session (with its CSRF token) is 403
  const csrf = await page.evaluate(() => sessionStorage.getItem("weft.csrf") ?? "");
  const status = await page.evaluate(
    async (t) => (await fetch("/api/flows/order-flow/rollback", { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": t }, body: '{"version":1}' })).status,
    csrf,
  );
  expect(status).toBe(403);
  for (const body of await recorder.bodies()) expect(body).not.toContain("vera-password-123");
});
