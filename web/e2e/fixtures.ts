// Fixtures for the console's browser tests: a fresh `weft serve` per test
// (the binary `make web-e2e` builds, on the shipped examples/weft.yaml with a
// throwaway data folder), and a page that records everything the browser
// received (response bodies, console errors, CSP violations) so a test can
// prove a secret never reached it and the strict CSP held.
import { test as base, expect, type Page } from "@playwright/test";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, "..", "..");
export const artifacts = resolve(here, "artifacts");

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => ok(p));
    });
  });
}

export interface Weft {
  url: string;
  dataDir: string;
  logs(): string;
  /** api calls the public HTTP API directly (as the CLI would). */
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T }>;
  /** stop ends the server (a test of a server that goes away); the fixture's cleanup still runs. */
  stop(): Promise<void>;
}

export interface WeftOptions {
  /** extra YAML appended to a copy of examples/weft.yaml */
  extraConfig?: string;
  /** the API token (the console then asks to sign in) */
  apiToken?: string;
  /** the port to listen on (default: a free one) */
  port?: number;
}

export async function startWeft(opts: WeftOptions): Promise<{ weft: Weft; stop: () => Promise<void> }> {
  const port = opts.port ?? (await freePort());
  const dataDir = mkdtempSync(join(tmpdir(), "weft-console-"));
  let config = readFileSync(join(root, "examples", "weft.yaml"), "utf8");
  if (opts.apiToken) config += `\napi_token: ${opts.apiToken}\n`;
  if (opts.extraConfig) config += "\n" + opts.extraConfig + "\n";
  const cfgFile = join(dataDir, "weft.yaml");
  writeFileSync(cfgFile, config);
  const bin = process.env.WEFT_BIN || join(root, "bin", "weft");
  let out = "";
  const child: ChildProcess = spawn(bin, ["serve", "--config", cfgFile, "--addr", `127.0.0.1:${port}`], {
    cwd: root,
    env: { ...process.env, WEFT_DATA_DIR: join(dataDir, "data") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`weft serve exited early:\n${out}`);
    try {
      const r = await fetch(url + "/healthz");
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`weft serve did not become healthy:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const halt = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => {
        const t = setTimeout(() => {
          child.kill("SIGKILL");
          r(null);
        }, 10_000);
        child.once("exit", () => {
          clearTimeout(t);
          r(null);
        });
      });
    }
  };
  const weft: Weft = {
    url,
    dataDir,
    logs: () => out,
    stop: halt,
    async api(method, path, body) {
      const headers: Record<string, string> = { Accept: "application/json" };
      if (opts.apiToken) headers.Authorization = `Bearer ${opts.apiToken}`;
      if (body !== undefined) headers["Content-Type"] = typeof body === "string" ? "application/yaml" : "application/json";
      const r = await fetch(url + path, { method, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
      const text = await r.text();
      let data: any = text;
      try {
        data = JSON.parse(text);
      } catch {}
      return { status: r.status, data };
    },
  };
  const stop = async () => {
    await halt();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { weft, stop };
}

export interface Recorder {
  /** every response body the browser received, as text */
  bodies(): Promise<string[]>;
  /** console errors, uncaught exceptions, CSP violations */
  problems: string[];
  /** allow a test to expect some console errors (a server that went away) */
  allow(re: RegExp): void;
}

export const test = base.extend<{ weftOptions: WeftOptions; weft: Weft; recorder: Recorder }>({
  weftOptions: [{}, { option: true }],
  weft: async ({ weftOptions }, use) => {
    const { weft, stop } = await startWeft(weftOptions);
    await use(weft);
    await stop();
  },
  recorder: async ({ page }, use) => {
    const bodies: Promise<string>[] = [];
    const problems: string[] = [];
    const allowed: RegExp[] = [];
    page.on("response", (r) => bodies.push(r.text().catch(() => "")));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push("console.error: " + m.text());
    });
    page.on("pageerror", (e) => problems.push("uncaught: " + e.message));
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
    });
    const rec: Recorder = { bodies: () => Promise.all(bodies), problems, allow: (re) => allowed.push(re) };
    await use(rec);
    const unexpected = problems.filter((p) => !allowed.some((re) => re.test(p)));
    expect(unexpected, "the console logged errors or CSP violations").toEqual([]);
  },
});

/** shot saves a screenshot of the page under e2e/artifacts/screenshots/NAME.png. */
export async function shot(page: Page, name: string) {
  const dir = join(artifacts, "screenshots");
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, name + ".png"), fullPage: false });
}

// A one-step API flow, GET /orders/{id} answering the id: what the API
// management specs publish as a product's first version.
export const getOrderFlow = `name: get-order
trigger:
  api:
    method: GET
    path: /orders/{id}
steps:
  - respond: {status: 200, body: {id: =trigger.params.id}}
`;

export { expect };
