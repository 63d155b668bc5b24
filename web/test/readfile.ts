/// <reference types="vite/client" />
// Reads a repository file (relative to the repository root) in a test.
const files = import.meta.glob(["../../flow/schema.json"], { query: "?raw", import: "default", eager: true }) as Record<string, string>;

export function readFileSync(path: string): string {
  const f = files["../../" + path];
  if (f === undefined) throw new Error(`test/readfile.ts: add ${path} to its glob`);
  return f;
}
