// Issue 17, browser test 5: review a mapping (accept two, reject one, edit
// one, with the keyboard) and export it into a flow.
import { readFileSync } from "node:fs";
import { test, expect, shot } from "./fixtures";

test("review a mapping with the keyboard and export it into a flow", async ({ page, weft, recorder, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: weft.url });
  // A bad expression is refused by the server (422) and shown; Chromium logs the status.
  recorder.allow(/status of 422/);

  await page.goto(weft.url + "/#/mappings");
  await expect(page.getByText("No mappings yet.")).toBeVisible();
  await shot(page, "mappings-empty");

  // Create one through the UI: a lead export (sample payload) to a contact (JSON Schema).
  await page.getByRole("link", { name: "New mapping" }).click();
  await page.getByRole("button", { name: "Suggest mappings" }).click();
  await expect(page.getByRole("alert")).toHaveText(/The source: paste or upload a document first/);
  await page.getByRole("button", { name: "Fill in an example" }).click();
  await expect(page.getByLabel("Source document")).toHaveValue(/first_name/);
  // The target as an uploaded file instead (a JSON Schema).
  const target = await page.getByLabel("Target document").inputValue();
  await page.getByLabel("Target document").fill("");
  await page.getByLabel("Upload target file").setInputFiles({ name: "contact.schema.json", mimeType: "application/json", buffer: Buffer.from(target) });
  await expect(page.getByLabel("Target document")).toHaveValue(target);
  await shot(page, "mapping-new");
  await page.getByRole("button", { name: "Suggest mappings" }).click();

  const list = page.getByRole("list", { name: "Suggestions by target field" });
  await expect(list).toBeVisible();
  const row = (target: string) => list.getByRole("listitem", { name: new RegExp("^" + target + ":") });
  for (const t of ["company", "email_address", "full_name", "phone", "signed_up"]) await expect(row(t)).toHaveAccessibleName(`${t}: to review`);
  await expect(page.getByText("0 of 5", { exact: true })).toBeVisible();
  await expect(row("full_name")).toContainText('src.first_name + " " + src.last_name');
  await expect(row("full_name")).toContainText("full name from first and last name");
  await expect(page.getByText("j/k or ↓/↑ move")).toBeVisible();
  const id = decodeURIComponent(new URL(page.url()).hash.split("/")[2]);

  // Keyboard: focus the first row, j moves down, a accepts (and moves to the
  // next suggestion to review), r rejects, k moves up, e edits, Enter saves.
  await row("company").click();
  await expect(row("company")).toBeFocused();
  await page.keyboard.press("j");
  await expect(row("email_address")).toBeFocused();
  await page.keyboard.press("a");
  await expect(row("email_address")).toHaveAccessibleName("email_address: accepted");
  await expect(row("full_name")).toBeFocused();
  await page.keyboard.press("a");
  await expect(row("full_name")).toHaveAccessibleName("full_name: accepted");
  await expect(row("phone")).toBeFocused();
  await page.keyboard.press("r");
  await expect(row("phone")).toHaveAccessibleName("phone: rejected");
  await expect(row("signed_up")).toBeFocused();
  for (let i = 0; i < 4; i++) await page.keyboard.press("k");
  await expect(row("company")).toBeFocused();
  await page.keyboard.press("e");
  const expr = row("company").getByLabel("CEL expression");
  await expect(row("company").getByLabel("Source fields")).toBeFocused();
  await expect(row("company").getByLabel("Source fields")).toHaveValue("organisation");
  await expr.fill("src.organisation.(");
  await expr.press("Enter");
  await expect(row("company").getByRole("alert")).toContainText("Syntax error");
  await expr.fill("src.organisation.upperAscii()");
  await shot(page, "mapping-edit");
  await expr.press("Enter");
  await expect(row("company")).toHaveAccessibleName("company: edited");
  await expect(row("company")).toContainText("src.organisation.upperAscii()");
  // Esc cancels an edit without saving it.
  await row("signed_up").click();
  await page.keyboard.press("e");
  await row("signed_up").getByLabel("CEL expression").fill("src.nope");
  await page.keyboard.press("Escape");
  await expect(row("signed_up").getByLabel("CEL expression")).toHaveCount(0);
  await expect(row("signed_up")).toHaveAccessibleName("signed_up: to review");
  await expect(page.getByText("4 of 5", { exact: true })).toBeVisible();
  await shot(page, "mapping-review");

  // The server holds the same review.
  const m = await weft.api("GET", "/api/mappings/" + id);
  const status = Object.fromEntries(m.data.items.map((i: { target: string; status: string }) => [i.target, i.status]));
  expect(status).toEqual({ company: "edited", email_address: "accepted", full_name: "accepted", phone: "rejected", signed_up: "proposed" });

  // Export into a flow: the accepted and edited mappings, not the rejected one.
  await page.getByRole("button", { name: "Export", exact: true }).click();
  const yaml = page.getByLabel("Exported YAML");
  await expect(yaml).toContainText("set:");
  const text = (await yaml.textContent()) ?? "";
  expect(text).toContain("company: =trigger.body.organisation.upperAscii()");
  expect(text).toContain("email_address: =trigger.body.email");
  expect(text).toMatch(/full_name: =trigger\.body\.first_name \+ " " \+ trigger\.body\.last_name/);
  expect(text).not.toContain("phone");
  expect(text).not.toContain("trigger.body.tel");
  expect(text).not.toContain("signed_up");
  await expect(page.getByRole("link", { name: "Open in builder" })).toHaveAttribute("href", "#/builder?from_mapping=" + encodeURIComponent(id));
  await page.getByRole("button", { name: "Copy YAML" }).click();
  await expect(page.getByRole("button", { name: "Copied" })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(text);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download" }).click()]);
  expect(download.suggestedFilename()).toBe("leads-contacts.yaml");
  expect(readFileSync(await download.path(), "utf8")).toBe(text);
  await yaml.scrollIntoViewIfNeeded();
  await shot(page, "mapping-export");

  // The exported step deploys in a flow as is.
  const flowYAML = `name: mapped-leads\ntrigger: {webhook: {}}\nsteps:\n${text.replace(/^/gm, "  ").trimEnd()}\n  - respond: {body: =steps.mapped}\n`;
  const dep = await weft.api("POST", "/api/flows", flowYAML);
  expect(dep.status, JSON.stringify(dep.data)).toBeLessThan(300);

  // The list shows the progress.
  await page.getByRole("link", { name: "Mappings" }).first().click();
  await expect(page.getByRole("link", { name: "leads -> contacts" })).toBeVisible();
  await expect(page.getByRole("progressbar", { name: "4 of 5 reviewed" })).toBeVisible();

  // "Open in builder": a new flow around the exported step, valid, on the canvas.
  await page.goto(weft.url + "/#/builder?from_mapping=" + encodeURIComponent(id));
  await expect(page.getByRole("button", { name: /^step mapped, set/ })).toBeVisible();
  await expect(page.getByTestId("yaml-editor")).toContainText("email_address: =trigger.body.email");
  await expect(page.getByRole("status", { name: "Validation" })).toHaveText("valid");
  await shot(page, "mapping-in-builder");
});
