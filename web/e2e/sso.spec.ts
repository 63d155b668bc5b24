// Single sign-on in the browser: the console offers "Sign in with SSO" when
// the server has an oidc section; the browser goes to a real OpenID provider
// (internal/oidctest/oidcop: zitadel's OP), signs in there, comes back
// signed in with the role its group maps to, and after signing out is
// offered the provider's sign-out.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, expect, shot, startWeft, freePort, root } from "./fixtures";

async function startProvider(weftURL: string): Promise<{ issuer: string; clientID: string; secret: string; child: ChildProcess }> {
  const bin = join(mkdtempSync(join(tmpdir(), "weft-oidcop-")), "oidcop");
  execFileSync("go", ["build", "-o", bin, "./internal/oidctest/oidcop"], { cwd: root, stdio: "inherit" });
  const child = spawn(bin, ["-redirect", weftURL + "/api/session/oidc/callback", "-post-logout", weftURL + "/", "-user", "ada=weft-viewers", "-user", "bob=staff"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  return new Promise((ok, fail) => {
    const t = setTimeout(() => fail(new Error("the test provider did not start:\n" + err)), 120_000);
    child.stdout!.on("data", (d) => {
      out += d;
      const m = Object.fromEntries(out.split("\n").map((l) => l.split(" ", 2)).filter((kv) => kv.length === 2));
      if (m.issuer && m.client_id && m.client_secret) {
        clearTimeout(t);
        ok({ issuer: m.issuer, clientID: m.client_id, secret: m.client_secret, child });
      }
    });
    child.once("exit", (code) => fail(new Error(`the test provider exited (${code}):\n${err}`)));
  });
}

test("Sign in with SSO: the provider's group gives the role, sign-out offers the provider's sign-out", async ({ page, recorder }) => {
  test.setTimeout(180_000);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const op = await startProvider(url);
  const dir = mkdtempSync(join(tmpdir(), "weft-sso-"));
  const secretFile = join(dir, "client-secret");
  writeFileSync(secretFile, op.secret + "\n");
  const { weft, stop } = await startWeft({
    port,
    extraConfig: `oidc:
  issuer: ${op.issuer}
  client_id: ${op.clientID}
  client_secret_file: ${secretFile}
  redirect_url: ${url}/api/session/oidc/callback
  roles:
    - {group: weft-viewers, role: viewer}
`,
  });
  try {
    await page.goto(weft.url + "/#/flows");
    await expect(page.getByRole("heading", { name: "Sign in to Weft" })).toBeVisible();
    await shot(page, "signin-sso");
    await page.getByRole("link", { name: "Sign in with SSO" }).click();
    // The provider's own sign-in page.
    await page.getByLabel("Username").fill("ada");
    // Back at the console's first page (the builder, whose empty draft
    // does not validate: 422, and is not deployed: 404), signed in.
    recorder.allow(/status of (404|422)/);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
    await page.goto(weft.url + "/#/flows");
    await expect(page.getByRole("link", { name: "order-flow", exact: true })).toBeVisible();
    const me = await page.evaluate(async () => (await fetch("/api/me")).json());
    expect(JSON.stringify(me)).toContain("ada");
    expect(JSON.stringify(me)).toContain("viewer");
    // A viewer may read, not change (with the session's CSRF token: 403 from authorization).
    recorder.allow(/status of 40[13]/); // the refused rollback, and the signed-out probe
    const csrf = await page.evaluate(() => sessionStorage.getItem("weft.csrf") ?? "");
    const status = await page.evaluate(
      async (t) => (await fetch("/api/flows/order-flow/rollback", { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": t }, body: '{"version":1}' })).status,
      csrf,
    );
    expect(status).toBe(403);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page.getByRole("heading", { name: "Sign in to Weft" })).toBeVisible();
    await expect(page.getByRole("link", { name: "Sign out of your identity provider too" })).toBeVisible();
    await shot(page, "signout-sso");
    const r = await page.evaluate(async () => (await fetch("/api/flows")).status);
    expect(r).toBe(401);
    // A user of no mapped group comes back to the sign-in page with the reason.
    await page.getByRole("link", { name: "Sign in with SSO" }).click();
    await page.getByLabel("Username").fill("bob");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toContainText("none of your groups is mapped");
    await expect(page.getByRole("heading", { name: "Sign in to Weft" })).toBeVisible();
    await shot(page, "signin-sso-refused");
    for (const body of await recorder.bodies()) expect(body).not.toContain(op.secret);
  } finally {
    await stop();
    op.child.kill("SIGTERM");
  }
});
