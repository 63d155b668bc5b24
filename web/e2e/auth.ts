// Helpers for browser tests against a server that requires authentication:
// users are created with the API token (weft.api), then a test signs in
// through the console's form as one of them.
import { expect, type Page } from "@playwright/test";
import type { Weft } from "./fixtures";

export const apiToken = "console-access-token-0123456789";

/** addUser creates a local user with the API token (weft.api); namespace "*" makes an installation-wide role (the audit log needs one). */
export async function addUser(weft: Weft, name: string, password: string, role: string, namespace = "default") {
  const r = await weft.api("POST", "/api/users", { name, password, role, namespace });
  expect(r.status, JSON.stringify(r.data)).toBe(201);
}

/** signIn opens the console and signs in with the form as a local user. */
export async function signIn(page: Page, weft: Weft, user: string, password: string, at = "/#/flows") {
  await page.goto(weft.url + at);
  await expect(page.getByRole("heading", { name: "Sign in to Weft" })).toBeVisible();
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
}

/** asBearer calls the API with a bearer credential (a token), as a script would. */
export async function asBearer(weft: Weft, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; data: any }> {
  const headers: Record<string, string> = { Accept: "application/json", Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(weft.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let data: any = text;
  try {
    data = JSON.parse(text);
  } catch {}
  return { status: r.status, data };
}
