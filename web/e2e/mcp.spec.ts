// MCP: an API key's secret is shown once (and never again, in no response
// body the browser receives after the one that created it), keys are
// revoked after a confirmation; toolsets list their tools and policies;
// the tool-call log pages and filters by key and tool.
import { test, expect, shot } from "./fixtures";

test.use({
  weftOptions: { extraConfig: "mcp:\n  policy:\n    - {tool: destructive, action: confirm}\n    - {tool: \"tracker__*\", action: deny}" },
});

/** callTool calls an MCP tool as an agent would (stateless 2026-07-28 wire). */
async function callTool(url: string, secret: string, name: string, args: Record<string, unknown>) {
  const r = await fetch(url + "/mcp", {
    method: "POST",
    headers: {
      Authorization: "Bearer " + secret,
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "Mcp-Protocol-Version": "2026-07-28",
      "Mcp-Method": "tools/call",
      "Mcp-Name": name,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name, arguments: args, _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}, "io.modelcontextprotocol/clientInfo": { name: "e2e", version: "1" } } },
    }),
  });
  expect(r.status, await r.clone().text()).toBe(200);
}

test("an API key's secret is shown once, then the key is revoked", async ({ page, weft, recorder, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: weft.url });
  await page.goto(weft.url + "/#/mcp");
  await expect(page.getByText(/No API keys yet/)).toBeVisible();
  await page.getByRole("button", { name: "Create key" }).click();
  const dialog = page.getByRole("dialog", { name: "Create an API key" });
  await dialog.getByRole("button", { name: "Create key" }).click();
  await expect(dialog.getByRole("alert")).toHaveText(/Give the key a name/);
  await dialog.getByLabel("Key name").fill("e2e-agent");
  await expect(dialog.getByRole("checkbox", { name: /All toolsets/ })).toBeChecked();
  await shot(page, "mcp-create-key");
  const created = page.waitForResponse((r) => r.url().endsWith("/api/mcp/keys") && r.request().method() === "POST");
  await dialog.getByRole("button", { name: "Create key" }).click();
  expect((await created).status()).toBe(201);

  const shown = page.getByRole("dialog", { name: 'API key "e2e-agent" created' });
  await expect(shown.getByRole("alert")).toContainText("shown only this once");
  const secret = await shown.getByLabel("Secret").inputValue();
  expect(secret).toMatch(/^weft_/);
  await shot(page, "mcp-key-secret");
  await shown.getByRole("button", { name: "Copy secret" }).click();
  await expect(shown.getByRole("button", { name: "Copied" })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  await shown.getByRole("button", { name: "I have stored it" }).click();
  await expect(shown).toHaveCount(0);
  await expect(page.getByRole("table", { name: "API keys" }).getByRole("row", { name: /e2e-agent/ })).toBeVisible();
  expect(await page.content()).not.toContain(secret);

  // The key works, and the secret never comes back: not after a reload, not in any response.
  await callTool(weft.url, secret, "chat__listChannels", {});
  await page.reload();
  const row = page.getByRole("table", { name: "API keys" }).getByRole("row", { name: /e2e-agent/ });
  await expect(row).toBeVisible();
  await expect(row).toContainText("active");
  expect(await page.content()).not.toContain(secret);
  await page.getByRole("link", { name: "Toolsets" }).click();
  await expect(page.getByRole("table", { name: "Toolsets" })).toBeVisible();
  await page.getByRole("link", { name: "Keys" }).click();
  await expect(row).toBeVisible();
  const bodies = await recorder.bodies();
  expect(bodies.filter((b) => b.includes(secret)), "response bodies holding the secret").toHaveLength(1); // the creation response only
  expect(bodies.length).toBeGreaterThan(5);

  // Revoke, after a confirmation; Cancel keeps the key.
  await row.getByRole("button", { name: "Revoke key e2e-agent" }).click();
  const confirm = page.getByRole("dialog", { name: 'Revoke key "e2e-agent"?' });
  await expect(confirm.getByRole("button", { name: "Cancel" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(confirm).toHaveCount(0);
  await expect(row).toContainText("active");
  await row.getByRole("button", { name: "Revoke key e2e-agent" }).click();
  await shot(page, "mcp-revoke");
  await confirm.getByRole("button", { name: "Revoke key" }).click();
  await expect(confirm).toHaveCount(0);
  await expect(row).toContainText("revoked");
  await expect(row.getByRole("button", { name: /Revoke/ })).toHaveCount(0);
  const keys = await weft.api("GET", "/api/mcp/keys");
  expect(keys.data.keys[0].revoked_at).toBeTruthy();
  await shot(page, "mcp-keys");
  expect(recorder.problems).toEqual([]);
});

test("toolsets with their tools and policies", async ({ page, weft }) => {
  await page.goto(weft.url + "/#/mcp/toolsets");
  const sets = page.getByRole("table", { name: "Toolsets" });
  await expect(sets.getByRole("row", { name: /^all \/mcp/ })).toBeVisible();
  await sets.getByRole("link", { name: "all" }).click();
  await expect(page).toHaveURL(/#\/mcp\/toolsets\/all$/);
  const tools = page.getByRole("region", { name: "Tools of all" });
  await expect(tools.getByRole("row", { name: /crm__deleteAccount/ })).toContainText("confirm");
  await expect(tools.getByRole("row", { name: /crm__deleteAccount/ })).toContainText("destructive");
  await expect(tools.getByRole("row", { name: /tracker__getIssue/ })).toContainText("deny");
  await expect(tools.getByRole("row", { name: /crm__getAccount/ })).toContainText("read-only");
  await tools.getByLabel("Filter tools").fill("flow__order-flow");
  await expect(tools.getByRole("row")).toHaveCount(2); // the header and flow__order-flow
  await expect(tools.getByRole("row", { name: /flow__order-flow/ })).toContainText("flow order-flow");
  await shot(page, "mcp-toolsets");
});

// Needs GET /api/mcp/policies and GET /api/mcp/calls (API contract items 8 and 7).
test("policies and the tool-call log, filtered by key and tool and paged", async ({ page, weft }) => {
  const a = await weft.api("POST", "/api/mcp/keys", { name: "agent-a", scopes: ["*"] });
  const b = await weft.api("POST", "/api/mcp/keys", { name: "agent-b", scopes: ["*"] });
  // 51 calls by agent-a, then two by agent-b: 53 calls, more than a page (50).
  for (let i = 0; i < 51; i += 17) await Promise.all(Array.from({ length: 17 }, () => callTool(weft.url, a.data.secret, "chat__listChannels", {})));
  await callTool(weft.url, b.data.secret, "crm__listAccounts", {});
  await callTool(weft.url, b.data.secret, "chat__getChannel", { channelId: "no-such-channel" });

  await page.goto(weft.url + "/#/mcp/policies");
  const pols = page.getByRole("table", { name: "Policies" });
  await expect(pols.getByRole("row", { name: /destructive/ })).toContainText("confirm");
  await expect(pols.getByRole("row", { name: /tracker__\*/ })).toContainText("deny");
  await shot(page, "mcp-policies");

  await page.getByRole("link", { name: "Tool calls" }).click();
  const calls = page.getByRole("table", { name: "Tool calls" });
  await expect(calls.getByRole("row")).toHaveCount(51); // the header and a page of 50
  await expect(calls.getByRole("row", { name: /chat__getChannel/ })).toContainText(/no-such-channel|not found|404/i);
  await shot(page, "mcp-calls");
  // Paging: the older page holds the other 3; Newer goes back.
  await page.getByRole("button", { name: "Older" }).click();
  await expect(calls.getByRole("row")).toHaveCount(4);
  await expect(page.getByRole("button", { name: "Older" })).toBeDisabled();
  await page.getByRole("button", { name: "Newer" }).click();
  await expect(calls.getByRole("row")).toHaveCount(51);
  // Filter by key, then by tool.
  await page.getByRole("combobox", { name: /^Key/ }).selectOption({ label: `agent-b (${b.data.key.id})` });
  await expect(page).toHaveURL(new RegExp("key=" + b.data.key.id));
  await expect(calls.getByRole("row")).toHaveCount(3);
  await page.getByRole("button", { name: "Clear filters" }).click();
  await expect(calls.getByRole("row")).toHaveCount(51);
  await page.getByRole("searchbox", { name: "Tool" }).fill("crm__listAccounts");
  await page.getByRole("button", { name: "Filter", exact: true }).click();
  await expect(page).toHaveURL(/tool=crm__listAccounts/);
  await expect(calls.getByRole("row")).toHaveCount(2);
  await expect(calls.getByRole("row", { name: /crm__listAccounts/ })).toContainText("agent-b");
});
