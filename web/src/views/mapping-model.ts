// The mapping review's model: the API's mapping (docs/mapper.md) turned
// into review rows, one per target field, with the proposed mapping and
// the other candidates the mapper ranked for it. Pure functions: unit
// tested in test/mapping-model.test.ts.

export interface Field {
  path: string;
  name: string;
  type?: string;
  format?: string;
  description?: string;
  examples?: unknown[];
  enum?: unknown[];
  required?: boolean;
}

export interface Schema {
  name: string;
  fields: Field[];
}

export type Status = "proposed" | "accepted" | "edited" | "rejected";

export interface Item {
  target: string;
  sources: string[] | null;
  expr: string;
  confidence: number;
  reason: string;
  status: Status;
  reviewer?: string;
  note?: string;
  reviewed_at?: string;
}

export interface Mapping {
  id: string;
  name: string;
  source: Schema;
  target: Schema;
  items: Item[] | null;
  candidates?: Record<string, { target: string; score: number }[]>;
  unmatched_required?: string[];
  created_at: string;
  warning?: string;
}

export interface MappingSummary {
  id: string;
  name: string;
  items: number;
  accepted: number;
  rejected: number;
  proposed: number;
  updated_at: string;
}

export interface Alternative {
  source: string;
  score: number;
}

export interface Row {
  target: Field;
  item?: Item;
  /** other sources the mapper ranked for this target, best first */
  alternatives: Alternative[];
}

/** rows lists the target fields in the target schema's order with their review state. */
export function reviewRows(m: Mapping): Row[] {
  const byTarget = new Map<string, Alternative[]>();
  for (const [source, cands] of Object.entries(m.candidates ?? {})) {
    for (const c of cands ?? []) {
      const l = byTarget.get(c.target) ?? [];
      l.push({ source, score: c.score });
      byTarget.set(c.target, l);
    }
  }
  const items = new Map((m.items ?? []).map((it) => [it.target, it]));
  const rows: Row[] = [];
  const seen = new Set<string>();
  const add = (target: Field) => {
    seen.add(target.path);
    const item = items.get(target.path);
    const used = new Set(item?.sources ?? []);
    const alternatives = (byTarget.get(target.path) ?? []).filter((a) => !used.has(a.source)).sort((a, b) => b.score - a.score || a.source.localeCompare(b.source));
    rows.push({ target, item, alternatives });
  };
  for (const f of m.target?.fields ?? []) add(f);
  // Items for fields the target schema does not list (should not happen) still show.
  for (const it of m.items ?? []) if (!seen.has(it.target)) add({ path: it.target, name: it.target.split(".").pop() ?? it.target });
  return rows;
}

export interface Progress {
  reviewed: number;
  total: number;
  accepted: number;
  rejected: number;
}

/** progress counts the suggestions reviewed (accepted, edited or rejected). */
export function progress(m: Mapping): Progress {
  const items = m.items ?? [];
  let reviewed = 0,
    accepted = 0,
    rejected = 0;
  for (const it of items) {
    if (it.status !== "proposed") reviewed++;
    if (it.status === "accepted" || it.status === "edited") accepted++;
    if (it.status === "rejected") rejected++;
  }
  return { reviewed, total: items.length, accepted, rejected };
}

/** nextIndex moves the selection by delta, staying inside [0, n). */
export function nextIndex(i: number, delta: number, n: number): number {
  if (n <= 0) return 0;
  return Math.min(n - 1, Math.max(0, i + delta));
}

/** nextUnreviewed is the first row after i with a proposed item, else i + 1 (clamped). */
export function nextUnreviewed(rows: Row[], i: number): number {
  for (let j = i + 1; j < rows.length; j++) if (rows[j].item?.status === "proposed") return j;
  return nextIndex(i, 1, rows.length);
}

const ident = /^[A-Za-z_][A-Za-z0-9_]*$/;
const celReserved = new Set(["in", "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while", "true", "false", "null"]);

/**
 * celRef is how an expression reads a source field (the mapper's own
 * convention): src.billing.city, src["First Name"], and it.sku inside an
 * array (lines[].sku).
 */
export function celRef(path: string, root = "src"): string {
  let p = path;
  const i = p.lastIndexOf("[].");
  if (i >= 0) {
    root = "it";
    p = p.slice(i + 3);
  }
  p = p.replace(/\[\]$/, "");
  let out = root;
  for (const seg of p.split(".")) out += ident.test(seg) && !celReserved.has(seg) ? "." + seg : "[" + JSON.stringify(seg) + "]";
  return out;
}

/** parseSources reads a comma-separated list of source paths. */
export function parseSources(s: string): string[] {
  return s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
}

/** unknownSources lists the paths the source schema does not have. */
export function unknownSources(m: Mapping, sources: string[]): string[] {
  const known = new Set((m.source?.fields ?? []).map((f) => f.path));
  return sources.filter((s) => !known.has(s));
}

export type SideKind = "json" | "csv" | "table";

export interface SideInput {
  kind: SideKind;
  text: string;
  connection: string;
  table: string;
  name: string;
}

/**
 * sideBody builds one side of POST /api/mappings from the form, or
 * throws an Error that says what is wrong with it.
 */
export function sideBody(label: string, s: SideInput): Record<string, unknown> {
  const name = s.name.trim() || undefined;
  if (s.kind === "table") {
    if (!s.connection.trim() || !s.table.trim()) throw new Error(`${label}: give the database connection and the table`);
    return { name, connection: s.connection.trim(), table: s.table.trim() };
  }
  if (!s.text.trim()) throw new Error(`${label}: paste or upload a document first`);
  if (s.kind === "csv") return { name, csv: s.text };
  let doc: unknown;
  try {
    doc = JSON.parse(s.text);
  } catch (e) {
    throw new Error(`${label} is not valid JSON: ${(e as Error).message}`);
  }
  if (doc === null || typeof doc !== "object") throw new Error(`${label}: give a JSON object (a JSON Schema, a sample payload, or {"fields": [...]})`);
  return { name, doc };
}

/** guessKind picks the input kind from an uploaded file's name and text. */
export function guessKind(fileName: string, text: string): SideKind {
  if (/\.csv$/i.test(fileName)) return "csv";
  const t = text.trimStart();
  if (t.startsWith("{") || t.startsWith("[")) return "json";
  return /,/.test(t.split("\n", 1)[0] ?? "") ? "csv" : "json";
}

/** statusLabel is how a status reads in the review list. */
export function statusLabel(s: Status | undefined): string {
  switch (s) {
    case "accepted":
      return "accepted";
    case "edited":
      return "edited";
    case "rejected":
      return "rejected";
    case "proposed":
      return "to review";
    default:
      return "no suggestion";
  }
}
