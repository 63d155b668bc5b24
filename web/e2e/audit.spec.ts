// The Audit view against a server that requires authentication: the log
// shows the console's own sign-in, filters and pages, opens an entry's
// before/after summary, verifies the chain (intact, then tampered after a
// row is edited in the database behind the server's back) and exports JSON
// lines.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test, expect, shot } from "./fixtures";
import { addUser, apiToken, signIn } from "./auth";

test.use({ weftOptions: { apiToken } });

test("the audit log lists the sign-in, filters, pages, shows before and after, verifies and exports", async ({ page, weft }) => {
  await addUser(weft, "ada", "ada-password-1234", "admin", "*");
  // A rollback (before/after versions) and enough deploys for two pages.
  const flow = "name: paged\nsteps:\n  - id: a\n    set: {v: 0}\n";
  for (let i = 0; i < 52; i++) {
    const r = await weft.api("POST", "/api/flows", flow.replace("v: 0", `v: ${i}`));
    expect(r.status, JSON.stringify(r.data)).toBe(201);
  }
  const rb = await weft.api("POST", "/api/flows/paged/rollback", { version: 50 });
  expect(rb.status, JSON.stringify(rb.data)).toBe(200);
  await signIn(page, weft, "ada", "ada-password-1234");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
  const log = page.getByRole("table", { name: "Audit log" });
  // Newest first: the sign-in just made is the first row.
  const first = log.getByRole("row").nth(1);
  await expect(first).toContainText("session.sign_in");
  await expect(first).toContainText("user:ada");
  await expect(first).toContainText("ok");
  await expect(log.getByRole("row", { name: /flow\.rollback/ })).toContainText("version: 52 → 50");
  await shot(page, "audit");

  // The rollback's details: the version before and after.
  await log.getByRole("row", { name: /flow\.rollback/ }).getByRole("button", { name: /show details/ }).click();
  const details = page.getByRole("table", { name: /details$/ });
  await expect(details.getByRole("row", { name: /version/ })).toContainText("52");
  await expect(details.getByRole("row", { name: /version/ })).toContainText("50");
  await shot(page, "audit-details");
  await log.getByRole("row", { name: /flow\.rollback/ }).getByRole("button", { name: /hide details/ }).click();
  await expect(details).toBeHidden();

  // Paging: 50 a page; older entries, then back to the newest.
  await expect(log.getByRole("row")).toHaveCount(51);
  await page.getByRole("link", { name: "Older entries" }).click();
  await expect(page.getByText(/^Entries 1–/)).toBeVisible();
  await expect(log).toContainText("system"); // the config's flows, deployed at start by Weft itself
  await page.getByRole("link", { name: "Newest" }).click();
  await expect(log.getByRole("row").nth(1)).toContainText("session.sign_in");

  // Filters: only sign-ins, only the API token's actions.
  await page.getByLabel("Action").fill("session.sign_in");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(log.getByRole("row")).toHaveCount(2);
  await expect(page).toHaveURL(/#\/audit\?action=session\.sign_in/);
  await page.getByRole("link", { name: "Clear" }).click();
  await page.getByLabel("Actor").fill("api_token");
  await page.getByLabel("Since").selectOption("24h");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(log.getByRole("row").nth(1)).toContainText("flow.rollback");
  await expect(log).not.toContainText("user:ada");
  await page.getByRole("link", { name: "Clear" }).click();
  await page.getByLabel("Actor").fill("user:nobody");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByText("No entries match.")).toBeVisible();
  await page.getByRole("link", { name: "Clear" }).click();

  // Verify: intact.
  await page.getByRole("button", { name: "Verify chain" }).click();
  const status = page.getByRole("status").filter({ hasText: /Intact|Tampered/ });
  await expect(status).toContainText("Intact.");
  await expect(status).toContainText("entries verified");
  await shot(page, "audit-verified");
  // Dark theme, same page.
  if ((await page.evaluate(() => document.documentElement.dataset.theme)) !== "dark") await page.getByRole("button", { name: "Toggle light and dark theme" }).click();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await shot(page, "audit-verified-dark");

  // Export: JSON lines, oldest first, every entry with its hash.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export JSON lines" }).click()]);
  expect(download.suggestedFilename()).toMatch(/^weft-audit-.*\.jsonl$/);
  const lines = readFileSync((await download.path())!, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  expect(lines.length).toBeGreaterThan(55);
  expect(lines[0].seq).toBe(1);
  for (let i = 1; i < lines.length; i++) {
    expect(lines[i].seq).toBe(lines[i - 1].seq + 1);
    expect(lines[i].prev_hash).toBe(lines[i - 1].hash);
  }
  expect(lines.some((e) => e.action === "session.sign_in" && e.actor === "user:ada")).toBe(true);

  // An entry edited in the database behind the server's back: verify names it.
  const db = new DatabaseSync(join(weft.dataDir, "data", "weft.db"));
  try {
    db.exec("PRAGMA busy_timeout = 10000");
    const changed = db.prepare("UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 3").run();
    expect(changed.changes).toBe(1);
  } finally {
    db.close();
  }
  await page.getByRole("button", { name: "Verify chain" }).click();
  await expect(status).toContainText("Tampered.");
  await expect(status).toContainText("the chain breaks at entry 3: hash mismatch");
  await shot(page, "audit-tampered-dark");
});
