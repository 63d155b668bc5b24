import { test, expect, shot } from "./fixtures";

test("the console is served at / under a strict CSP and lists the example flows", async ({ page, weft, recorder }) => {
  const res = await page.goto(weft.url + "/");
  const csp = res!.headers()["content-security-policy"];
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain("unsafe-eval");
  await page.goto(weft.url + "/#/flows");
  await expect(page.getByRole("link", { name: "order-flow", exact: true })).toBeVisible();
  await shot(page, "flows");
  expect(recorder.problems).toEqual([]);
});
