// The Access view against a server that requires authentication (an API
// token in its config; users created with it, then signed in through the
// console's form): personal access tokens shown once and revoked, users and
// service accounts for an admin, and a viewer who sees neither and is told
// why when a link takes them there.
import { test, expect, shot } from "./fixtures";
import { addUser, apiToken, asBearer, signIn } from "./auth";

test.use({ weftOptions: { apiToken } });

test("an admin creates a personal access token, sees it once, and once revoked it gets 401", async ({ page, weft, recorder }) => {
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: weft.url });
  await addUser(weft, "ada", "ada-password-1234", "admin");
  await signIn(page, weft, "ada", "ada-password-1234");
  // Who is signed in is in the nav, linking to the account page.
  await page.getByRole("link", { name: "ada", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Signed in as ada" })).toBeVisible();
  await expect(page.getByRole("table", { name: "Your roles" })).toContainText("admin");
  await expect(page.getByText("No tokens yet.")).toBeVisible();
  await shot(page, "access-account");

  await page.getByRole("button", { name: "Create token" }).click();
  const form = page.getByRole("form", { name: "Create a personal access token" });
  // Bad input is caught with a message before any request.
  await form.getByLabel("Expires in (days, 1 to 366)").fill("400");
  await form.getByLabel("Token name").fill("ci-deploy");
  await form.getByRole("button", { name: "Create token" }).click();
  await expect(form.getByRole("alert")).toContainText("1 to 366");
  await form.getByLabel("Expires in (days, 1 to 366)").fill("30");
  // Scopes offer at most the user's own role; narrow this one to operator.
  await form.getByLabel("Role in namespace default").selectOption("operator");
  await form.getByRole("button", { name: "Create token" }).click();

  const dialog = page.getByRole("dialog", { name: 'Token "ci-deploy" created' });
  await expect(dialog.getByRole("alert")).toContainText("you will not see it again");
  const secret = await dialog.getByLabel("Token", { exact: true }).inputValue();
  expect(secret).toMatch(/^weft_pat_/);
  await shot(page, "access-token-once");
  await dialog.getByRole("button", { name: "Copy token" }).click();
  await expect(dialog.getByRole("button", { name: "Copied" })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

  // The token works, as ada, with the narrowed role.
  const me = await asBearer(weft, secret, "GET", "/api/me");
  expect(me.status).toBe(200);
  expect(me.data.actor).toContain("ada");
  expect(me.data.role).toBe("operator");

  await dialog.getByRole("button", { name: "I have stored it" }).click();
  await expect(dialog).toBeHidden();
  const table = page.getByRole("table", { name: "Personal access tokens" });
  await expect(table).toContainText("ci-deploy");
  await expect(table).toContainText("default: operator");
  await expect(table.getByText("active", { exact: true })).toBeVisible();
  // Shown once: closed, the secret is nowhere on the page, nor after a reload.
  expect(await page.content()).not.toContain(secret);
  await page.reload();
  await expect(table).toContainText("ci-deploy");
  expect(await page.content()).not.toContain(secret);

  await table.getByRole("button", { name: "Revoke ci-deploy" }).click();
  const confirm = page.getByRole("dialog", { name: 'Revoke token "ci-deploy"?' });
  await expect(confirm).toContainText("cannot be undone");
  await confirm.getByRole("button", { name: "Revoke token" }).click();
  await expect(confirm).toBeHidden();
  await expect(table).toContainText("revoked");
  await expect(table.getByRole("button", { name: "Revoke ci-deploy" })).toHaveCount(0);
  expect((await asBearer(weft, secret, "GET", "/api/me")).status).toBe(401);

  // Exactly one answer ever carried the secret: the one that created it.
  const carrying = (await recorder.bodies()).filter((b) => b.includes(secret));
  expect(carrying.length).toBe(1);
  expect(await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }))).not.toContain(secret);
});

test("an admin creates, changes and disables users, and creates and revokes a service account", async ({ page, weft, recorder }) => {
  await addUser(weft, "ada", "ada-password-1234", "admin", "*");
  await signIn(page, weft, "ada", "ada-password-1234", "/#/access/users");
  const users = page.getByRole("table", { name: "Users" });
  await expect(users).toContainText("ada");
  await expect(users).toContainText("(you)");
  // An admin cannot disable themself from here.
  await expect(users.getByRole("button", { name: "Disable ada" })).toBeDisabled();

  await page.getByRole("button", { name: "Create user" }).click();
  let form = page.getByRole("form", { name: "Create a user" });
  await form.getByLabel("User name", { exact: true }).fill("Otto");
  await form.getByLabel("Password (at least 12 characters)").fill("otto-password-123");
  await form.getByRole("button", { name: "Create user" }).click();
  await expect(form.getByRole("alert")).toContainText("a–z");
  await form.getByLabel("User name", { exact: true }).fill("otto");
  await form.getByLabel("Role", { exact: true }).selectOption("operator");
  await form.getByRole("button", { name: "Create user" }).click();
  await expect(form).toBeHidden();
  await expect(users.getByRole("row", { name: /otto/ })).toContainText("default: operator");
  // A taken name: the server's 409 is shown in the form.
  recorder.allow(/status of 409/);
  await page.getByRole("button", { name: "Create user" }).click();
  form = page.getByRole("form", { name: "Create a user" });
  await form.getByLabel("User name", { exact: true }).fill("otto");
  await form.getByLabel("Password (at least 12 characters)").fill("otto-password-123");
  await form.getByRole("button", { name: "Create user" }).click();
  await expect(form.getByRole("alert")).toBeVisible();
  await form.getByRole("button", { name: "Cancel" }).click();

  await users.getByRole("button", { name: "Change the role of otto" }).click();
  form = page.getByRole("form", { name: "Change role" });
  await form.getByLabel("New role").selectOption("editor");
  await form.getByRole("button", { name: "Save role" }).click();
  await expect(users.getByRole("row", { name: /otto/ })).toContainText("default: editor");

  await users.getByRole("button", { name: "Reset the password of otto" }).click();
  form = page.getByRole("form", { name: "Reset password" });
  await form.getByLabel("New password (at least 12 characters)").fill("otto-new-password-9");
  await form.getByRole("button", { name: "Set password" }).click();
  await expect(form).toBeHidden();
  expect((await weft.api("POST", "/api/session", { user: "otto", password: "otto-new-password-9" })).status).toBe(200);
  await shot(page, "access-users");

  await users.getByRole("button", { name: "Disable otto" }).click();
  await page.getByRole("dialog", { name: 'Disable user "otto"?' }).getByRole("button", { name: "Disable user" }).click();
  await expect(users.getByRole("row", { name: /otto/ })).toContainText("disabled");
  expect((await weft.api("POST", "/api/session", { user: "otto", password: "otto-new-password-9" })).status).toBe(401);

  await page.getByRole("link", { name: "Service accounts" }).click();
  await expect(page.getByText("No service accounts yet.")).toBeVisible();
  await page.getByRole("button", { name: "Create service account" }).click();
  form = page.getByRole("form", { name: "Create a service account" });
  await form.getByLabel("Name", { exact: true }).fill("nightly-sync");
  await form.getByLabel("Role", { exact: true }).selectOption("viewer");
  await form.getByRole("button", { name: "Create service account" }).click();
  const dialog = page.getByRole("dialog", { name: 'Service account "nightly-sync" created' });
  await expect(dialog).toContainText("you will not see it again");
  const sa = await dialog.getByLabel("Token", { exact: true }).inputValue();
  expect(sa).toMatch(/^weft_sa_/);
  await dialog.getByRole("button", { name: "I have stored it" }).click();
  const table = page.getByRole("table", { name: "Service accounts" });
  await expect(table).toContainText("default: viewer");
  await shot(page, "access-service-accounts");
  expect((await asBearer(weft, sa, "GET", "/api/flows")).status).toBe(200);
  // viewer: it may read, not deploy
  expect((await asBearer(weft, sa, "POST", "/api/flows/order-flow/rollback", { version: 1 })).status).toBe(403);
  await table.getByRole("button", { name: "Revoke nightly-sync" }).click();
  await page.getByRole("dialog", { name: 'Revoke service account "nightly-sync"?' }).getByRole("button", { name: "Revoke service account" }).click();
  await expect(table).toContainText("revoked");
  expect((await asBearer(weft, sa, "GET", "/api/flows")).status).toBe(401);

  // Each change is in the audit log; the role change with its before and after.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
  await page.getByLabel("Action").fill("role.change");
  await page.getByRole("button", { name: "Apply" }).click();
  const log = page.getByRole("table", { name: "Audit log" });
  await expect(log.getByRole("row")).toHaveCount(2);
  const row = log.getByRole("row").nth(1);
  await expect(row).toContainText("user:ada");
  await expect(row).toContainText("user:otto");
  await expect(row).toContainText("role: operator → editor");
  await row.getByRole("button", { name: /show details/ }).click();
  const role = page.getByRole("table", { name: /details$/ }).getByRole("row", { name: /^role/ });
  await expect(role.getByRole("cell")).toHaveText(["role", "operator", "editor"]);
  await shot(page, "audit-role-change");
  await page.getByRole("link", { name: "Clear" }).click();
  for (const a of ["user.create", "user.password_reset", "user.disable", "service_account.create", "service_account.revoke"])
    await expect(log.getByRole("row", { name: new RegExp(a.replace(".", "\\.")) }).first()).toBeVisible();
  for (const body of await recorder.bodies()) expect(body).not.toContain("otto-new-password-9");
});

test("a viewer sees no Users section or Audit page, and a link there says why in words", async ({ page, weft, recorder }) => {
  await addUser(weft, "vera", "vera-password-123", "viewer");
  await signIn(page, weft, "vera", "vera-password-123", "/#/access");
  await expect(page.getByRole("heading", { name: "Signed in as vera" })).toBeVisible();
  const tabs = page.getByRole("navigation", { name: "Access sections" });
  await expect(tabs.getByRole("link", { name: "My account" })).toBeVisible();
  await expect(tabs.getByRole("link", { name: "Users" })).toHaveCount(0);
  await expect(tabs.getByRole("link", { name: "Service accounts" })).toHaveCount(0);
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Access" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Audit" })).toHaveCount(0);

  // A token's scopes offer no more than viewer.
  await page.getByRole("button", { name: "Create token" }).click();
  const form = page.getByRole("form", { name: "Create a personal access token" });
  const options = await form.getByLabel("Role in namespace default").locator("option").allTextContents();
  expect(options).toEqual(["none", "viewer"]);
  await form.getByRole("button", { name: "Cancel" }).click();

  // Links to what a viewer may not use: the server's 403, said in words.
  recorder.allow(/status of 403/);
  await page.goto(weft.url + "/#/access/users");
  const alert = page.getByRole("alert");
  await expect(alert).toContainText("Not allowed.");
  await expect(alert).toContainText("with the role viewer");
  await expect(alert).toContainText("manage users and service accounts");
  await expect(alert).toContainText("admin role");
  await shot(page, "access-viewer-refused");
  await page.goto(weft.url + "/#/audit");
  await expect(page.getByRole("alert")).toContainText("may not read the audit log");
  // and the audit log's actions are not offered either
  await expect(page.getByRole("button", { name: "Verify chain" })).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Export JSON lines" })).toHaveCount(0);
});

test("the account page reads well in the dark theme; signing out and in as someone else shows them", async ({ page, weft }) => {
  await addUser(weft, "ada", "ada-password-1234", "admin");
  await addUser(weft, "vera", "vera-password-123", "viewer");
  await signIn(page, weft, "ada", "ada-password-1234", "/#/access");
  await expect(page.getByRole("heading", { name: "Signed in as ada" })).toBeVisible();
  const toggle = page.getByRole("button", { name: "Toggle light and dark theme" });
  if ((await page.evaluate(() => document.documentElement.dataset.theme)) !== "dark") await toggle.click();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await page.getByRole("button", { name: "Create token" }).click();
  await page.getByLabel("Token name").fill("laptop");
  await page.getByRole("form", { name: "Create a personal access token" }).getByRole("button", { name: "Create token" }).click();
  await expect(page.getByRole("dialog", { name: 'Token "laptop" created' })).toBeVisible();
  await shot(page, "access-token-once-dark");
  await page.getByRole("button", { name: "I have stored it" }).click();

  // Sign out from the header: the session ends on the server; the next user sees themself.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to Weft" })).toBeVisible();
  expect(await page.evaluate(async () => (await fetch("/api/me")).status)).toBe(401);
  await page.getByLabel("User name").fill("vera");
  await page.getByLabel("Password").fill("vera-password-123");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Signed in as vera" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "vera", exact: true })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Access sections" }).getByRole("link", { name: "Users" })).toHaveCount(0);
  await expect(page.getByRole("table", { name: "Personal access tokens" })).toHaveCount(0); // ada's token is not vera's
});

test.describe("on an open loopback server (no API token, no users yet)", () => {
  test.use({ weftOptions: {} });

  test("the anonymous admin has no tokens of its own, creates the first user, and the console then asks to sign in", async ({ page, weft, recorder }) => {
    await page.goto(weft.url + "/#/access");
    await expect(page.getByRole("heading", { name: "Not signed in: this server asks for no credentials" })).toBeVisible();
    await expect(page.getByText("anonymous (this server asks for no credentials)", { exact: true })).toBeVisible();
    await expect(page.getByRole("button", { name: "Sign out" })).toHaveCount(0); // nothing to sign out of
    // Tokens belong to users: the button is disabled, and says why.
    const create = page.getByRole("button", { name: "Create token" });
    await expect(create).toBeDisabled();
    await expect(page.getByText("Only a signed-in user has personal access tokens")).toBeVisible();

    recorder.allow(/status of 401/); // the list's reload once the server requires sign-in
    await page.getByRole("navigation", { name: "Access sections" }).getByRole("link", { name: "Users" }).click();
    await expect(page.getByText("No local users yet.")).toBeVisible();
    await page.getByRole("button", { name: "Create user" }).click();
    const form = page.getByRole("form", { name: "Create a user" });
    await form.getByLabel("User name", { exact: true }).fill("ada");
    await form.getByLabel("Password (at least 12 characters)").fill("ada-password-1234");
    await form.getByLabel("Role", { exact: true }).selectOption("admin");
    await form.getByRole("button", { name: "Create user" }).click();
    // The first user closes the open server: the console asks to sign in, and ada can.
    await expect(page.getByRole("heading", { name: "Sign in to Weft" })).toBeVisible();
    expect((await weft.api("GET", "/api/flows")).status).toBe(401);
    await page.getByLabel("User name").fill("ada");
    await page.getByLabel("Password").fill("ada-password-1234");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByRole("table", { name: "Users" })).toContainText("default: admin");
  });
});
