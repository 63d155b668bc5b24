// Pure logic behind the side panels: reading the draft's steps, building the
// test-run request, turning a mapping's accepted items into a step patch,
// folding answers into an NL-to-flow request, and patching a step in the
// YAML text (comments kept). No React, no fetch: unit-tested in
// web/test/panels.test.ts.
import { parse, parseDocument, isMap, isScalar, isSeq, type YAMLMap } from "yaml";
import type { MappingItem, Problem, StepResult, TestRequest, TestResult } from "./types";

// ---------------------------------------------------------------- the draft

export const stepKinds = ["call", "set", "if", "switch", "foreach", "wait", "respond", "fail", "subflow"] as const;

/** A step of the draft, flattened in the order the flow validator walks it. */
export interface FlatStep {
  id: string;
  kind: string;
  /** where it is: steps[1], steps[2].then[0], steps[3].switch[0].steps[1] */
  path: string;
  /** ids of the steps that contain it (if, switch, foreach) */
  ancestors: string[];
  /** the step's YAML value as a plain object */
  raw: Record<string, unknown>;
}

export interface FlowInfo {
  name?: string;
  trigger?: { kind: string; value: Record<string, unknown> };
  steps: FlatStep[];
  /** the YAML does not parse, or is not a flow */
  error?: string;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function kindOf(s: Record<string, unknown>): string {
  for (const k of stepKinds) if (k in s) return k;
  return "unknown";
}

/** flowInfo reads the draft's name, trigger and steps (read only). */
export function flowInfo(source: string): FlowInfo {
  let doc: unknown;
  try {
    doc = parse(source, { maxAliasCount: 1000 });
  } catch (e) {
    return { steps: [], error: "The YAML does not parse: " + (e as Error).message };
  }
  const f = obj(doc);
  if (!f) return { steps: [], error: source.trim() ? "The draft is not a flow (a YAML mapping with name, trigger and steps)." : "The draft is empty." };
  const info: FlowInfo = { steps: [] };
  if (typeof f.name === "string") info.name = f.name;
  const t = obj(f.trigger);
  if (t) {
    const kind = Object.keys(t)[0];
    if (kind) info.trigger = { kind, value: obj(t[kind]) ?? {} };
  }
  let n = 0;
  const walk = (list: unknown, path: string, ancestors: string[]) => {
    if (!Array.isArray(list)) return;
    list.forEach((item, i) => {
      const s = obj(item);
      if (!s) return;
      n++;
      const kind = kindOf(s);
      const id = typeof s.id === "string" && s.id ? s.id : `${kind}_${n}`;
      const p = `${path}[${i}]`;
      info.steps.push({ id, kind, path: p, ancestors, raw: s });
      const inner = [...ancestors, id];
      walk(s.then, p + ".then", inner);
      walk(s.else, p + ".else", inner);
      if (Array.isArray(s.switch)) s.switch.forEach((c, j) => walk(obj(c)?.steps, `${p}.switch[${j}].steps`, inner));
      walk(s.default, p + ".default", inner);
      walk(s.do, p + ".do", inner);
    });
  };
  walk(f.steps, "steps", []);
  return info;
}

/** upstream lists the steps that run before stepId (earlier in the walk, not its own containers). */
export function upstream(info: FlowInfo, stepId: string): FlatStep[] {
  const i = info.steps.findIndex((s) => s.id === stepId);
  if (i < 0) return [];
  const me = info.steps[i];
  return info.steps.slice(0, i).filter((s) => !me.ancestors.includes(s.id));
}

/** splitCall turns "crm.createContact" into ["crm", "createContact"]. */
export function splitCall(call: unknown): [string, string] | undefined {
  if (typeof call !== "string") return undefined;
  const i = call.indexOf(".");
  if (i <= 0 || i === call.length - 1) return undefined;
  return [call.slice(0, i), call.slice(i + 1)];
}

/** Connectors built into Weft whose output_schema is the step's whole output;
 * an imported (OpenAPI) operation's output is {status, headers, body} and its
 * output_schema describes the body. */
const builtinConnectors = new Set(["http", "smtp", "files", "postgres", "mysql", "sqlite"]);

/** outputRoot is the CEL path to what a call step's output_schema describes. */
export function outputRoot(connector: string, stepId: string): string {
  return builtinConnectors.has(connector) ? `steps.${stepId}` : `steps.${stepId}.body`;
}

/** itemSchema descends an operation's output schema to one record at items
 * (a dotted path below the output, "body.data"; empty: the body is the list). */
export function itemSchema(output: unknown, items?: string): Record<string, unknown> | undefined {
  let s = obj(output);
  for (const seg of (items ?? "").replace(/^body\.?/, "").split(".")) {
    if (!seg || !s) continue;
    s = obj(obj(s.properties)?.[seg]);
  }
  return obj(s?.items) ?? s;
}

// ------------------------------------------------------------------ problems

/** lineCol turns "draft.yaml:4:14" into "4:14" (what the editor shows). */
export function lineCol(pos?: string): string {
  if (!pos) return "";
  const m = /:(\d+):(\d+)$/.exec(pos);
  return m ? `${m[1]}:${m[2]}` : pos;
}

/** problemsOf reads validation problems from an API error: its problems list,
 * or a parse error's "file:line:col: message". */
export function problemsOf(err: { message: string; problems?: Problem[] }): Problem[] {
  if (err.problems && err.problems.length) return err.problems;
  const m = /^([^\s:]+:\d+:\d+): ([\s\S]*)$/.exec(err.message);
  if (m) return [{ pos: m[1], message: m[2] }];
  return [];
}

// ------------------------------------------------------------------ test run

export interface TestForm {
  /** typed or pasted input, or a past run's captured trigger payload */
  mode: "typed" | "run";
  body: string;
  headers: string;
  query: string;
  runId: string;
  sandbox: boolean;
  file?: string;
}

export type Built<T> = { ok: true; value: T } | { ok: false; error: string };

function jsonOf(what: string, text: string): Built<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: `${what} is not valid JSON: ${(e as Error).message}` };
  }
}

/** stringMap reads headers or a query as a JSON object of strings, or as
 * pasted text: "Name: value" lines (headers) or "a=1&b=2" (a query). */
export function stringMap(what: "headers" | "query", text: string): Built<Record<string, string> | undefined> {
  const t = text.trim();
  if (!t) return { ok: true, value: undefined };
  const out: Record<string, string> = {};
  if (t.startsWith("{")) {
    const j = jsonOf(what === "headers" ? "Headers" : "The query", t);
    if (!j.ok) return j;
    const o = obj(j.value);
    if (!o) return { ok: false, error: `${what === "headers" ? "Headers" : "The query"} must be a JSON object of strings.` };
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === "object" && v !== null) return { ok: false, error: `${what === "headers" ? "Header" : "Query parameter"} ${k}: give a string, not ${Array.isArray(v) ? "a list" : "an object"}.` };
      out[what === "headers" ? k.toLowerCase() : k] = String(v);
    }
    return { ok: true, value: out };
  }
  if (what === "headers") {
    for (const [i, line] of t.split(/\r?\n/).entries()) {
      if (!line.trim()) continue;
      const c = line.indexOf(":");
      if (c <= 0) return { ok: false, error: `Headers line ${i + 1}: write "Name: value" (or a JSON object).` };
      out[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
    }
    return { ok: true, value: out };
  }
  const q = new URLSearchParams(t.replace(/^\?/, ""));
  q.forEach((v, k) => (out[k] = v));
  return { ok: true, value: out };
}

/** buildTestRequest turns the form into POST /api/flows/test's body. */
export function buildTestRequest(source: string, f: TestForm): Built<TestRequest> {
  if (!source.trim()) return { ok: false, error: "The draft is empty: write or describe a flow first." };
  const req: TestRequest = { source, sandbox: f.sandbox };
  if (f.file) req.file = f.file;
  if (f.mode === "run") {
    if (!f.runId) return { ok: false, error: "Pick a past run whose trigger payload to use." };
    req.from_run = f.runId;
    return { ok: true, value: req };
  }
  let body: unknown = {};
  if (f.body.trim()) {
    const j = jsonOf("The body", f.body);
    if (!j.ok) return j;
    body = j.value;
  }
  const h = stringMap("headers", f.headers);
  if (!h.ok) return h;
  const q = stringMap("query", f.query);
  if (!q.ok) return q;
  req.input = { body };
  if (h.value) req.input.headers = h.value;
  if (q.value) req.input.query = q.value;
  return { ok: true, value: req };
}

/** resultsById keys a test run's steps by step id (for the canvas's nodes);
 * a step that ran more than once (foreach) keeps its last run; the steps of a
 * subflow the draft calls are not the draft's nodes and are left out. */
export function resultsById(r: TestResult): Record<string, StepResult> {
  const out: Record<string, StepResult> = {};
  for (const s of r.steps ?? []) {
    if (s.subflow) continue;
    out[s.id] = { status: s.status, input: s.input, output: s.output, error: s.error ?? null, duration_ms: s.duration_ms, attempts: s.attempts };
  }
  return out;
}

// ------------------------------------------------------------------ nl2flow

export interface Answer {
  question: string;
  answer: string;
}

/** mergeAnswers folds answers into the request text. POST /api/nl2flow takes
 * no clarifications (only text and an optional flow to edit), so each answer
 * is appended to the original request in parentheses: the builtin compiler
 * reads "post a message to the chat (#sales) (when a webhook receives an
 * order)" as one request, where separate "Answer: ..." sentences were read as
 * new actions (a second chat step). Empty answers are left out; parentheses
 * inside an answer become commas so they cannot close the aside early. */
export function mergeAnswers(request: string, answers: Answer[]): string {
  let text = request.trim();
  for (const a of answers) {
    const v = a.answer
      .replace(/\s*[()]+\s*/g, ", ")
      .replace(/\s+/g, " ")
      .replace(/(, )+/g, ", ")
      .replace(/^[\s,]+|[\s,]+$/g, "");
    if (v) text += ` (${v})`;
  }
  return text;
}

/** keepAnswers merges this round's answers into the earlier ones: a question
 * answered again takes its newest answer; empty answers do not count. */
export function keepAnswers(earlier: Answer[], now: Answer[]): Answer[] {
  const out = earlier.slice();
  for (const a of now) {
    if (!a.answer.trim()) continue;
    const i = out.findIndex((x) => x.question === a.question);
    if (i >= 0) out[i] = a;
    else out.push(a);
  }
  return out;
}

// ------------------------------------------------------------------ mapping

const identRe = /^[A-Za-z_][A-Za-z0-9_]*$/;
const celReserved = new Set(["in", "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while", "true", "false", "null"]);

/** celRef is the CEL reading path from root; inside an array (a "[]." in the
 * path) it reads from the item variable "it" (as the mapper's export does). */
export function celRef(root: string, path: string): string {
  const i = path.lastIndexOf("[].");
  if (i >= 0) {
    root = "it";
    path = path.slice(i + 3);
  }
  path = path.replace(/\[\]$/, "");
  let out = root;
  for (const seg of path.split(".")) out += identRe.test(seg) && !celReserved.has(seg) ? "." + seg : `[${JSON.stringify(seg)}]`;
  return out;
}

/** rooted rewrites a mapper expression over the source record "src" to read
 * from root (steps.transform, trigger.body, steps.get.body). */
export function rooted(expr: string, root: string): string {
  return expr.replace(/(^|[^A-Za-z0-9_.])src\b/g, (_, pre: string) => pre + root);
}

/** unrooted is the inverse, for sending an edited expression back to the mapper. */
export function unrooted(expr: string, root: string): string {
  const esc = root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return expr.replace(new RegExp(`(^|[^A-Za-z0-9_.])${esc}(?![A-Za-z0-9_])`, "g"), (_, pre: string) => pre + "src");
}

interface TreeNode {
  leaf?: string;
  children: Map<string, TreeNode>;
  array?: string;
}

function sourceArray(srcs: string[]): string {
  const i = srcs[0]?.lastIndexOf("[]") ?? -1;
  return i >= 0 ? srcs[0].slice(0, i) : "";
}

/** An accepted mapping row: the target field, the source fields and the
 * expression over "src" (the mapper's, or the reviewer's edit). */
export type AcceptedRow = Pick<MappingItem, "target" | "sources" | "expr">;

/** acceptedToPatch turns accepted rows into the step's with/set entries:
 * {field: "=<CEL over root>"}. Nested targets (billing.city) become one CEL
 * map per top-level field; array targets (lines[].sku) a map() over the
 * source array, as `weft map export` writes them. */
export function acceptedToPatch(rows: AcceptedRow[], root: string): Record<string, string> {
  const top: TreeNode = { children: new Map() };
  const sorted = rows.slice().sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  for (const it of sorted) {
    let cur = top;
    const segs = it.target.split(".");
    segs.forEach((seg, i) => {
      const arr = seg.endsWith("[]");
      const key = arr ? seg.slice(0, -2) : seg;
      let child = cur.children.get(key);
      if (!child) {
        child = { children: new Map() };
        cur.children.set(key, child);
      }
      if (arr && !child.array) child.array = sourceArray(it.sources);
      if (i === segs.length - 1 && !arr) child.leaf = rooted(it.expr, root);
      cur = child;
    });
  }
  const render = (n: TreeNode): string => {
    if (n.leaf && n.children.size === 0) return n.leaf;
    if (n.array) {
      const parts: string[] = [];
      n.children.forEach((c, k) => c.leaf && parts.push(`${JSON.stringify(k)}: ${c.leaf}`));
      return `${celRef(root, n.array)}.map(it, {${parts.join(", ")}})`;
    }
    const parts: string[] = [];
    n.children.forEach((c, k) => parts.push(`${JSON.stringify(k)}: ${render(c)}`));
    return `{${parts.join(", ")}}`;
  };
  const out: Record<string, string> = {};
  top.children.forEach((c, k) => (out[k] = "=" + render(c)));
  return out;
}

/** alternatives lists, per target field, the other sources the mapper ranked
 * for it (its candidates are kept per source: this turns them around). */
export function alternatives(candidates: Record<string, { target: string; score: number }[]> | undefined): Record<string, { source: string; score: number }[]> {
  const out: Record<string, { source: string; score: number }[]> = {};
  for (const [src, list] of Object.entries(candidates ?? {})) {
    for (const c of list) (out[c.target] ??= []).push({ source: src, score: c.score });
  }
  for (const l of Object.values(out)) l.sort((a, b) => b.score - a.score);
  return out;
}

/** fieldList describes an object by its keys (a set step's output) for the mapper. */
export function fieldList(name: string, keys: string[]): { name: string; fields: { name: string }[] } {
  return { name, fields: keys.map((k) => ({ name: k })) };
}

// ------------------------------------------------------------------ patching

/** patchStepYaml sets keys in a step's with or set map in the YAML text,
 * keeping comments and the rest of the document as written. */
export function patchStepYaml(source: string, stepId: string, key: "with" | "set", value: Record<string, string>): string {
  const doc = parseDocument(source);
  if (doc.errors.length) throw new Error("The YAML does not parse: " + doc.errors[0].message);
  let n = 0;
  let found: YAMLMap | undefined;
  const walk = (list: unknown) => {
    if (!isSeq(list) || found) return;
    for (const item of list.items) {
      if (!isMap(item)) continue;
      n++;
      const kind = stepKinds.find((k) => item.has(k)) ?? "unknown";
      const id = item.get("id");
      if ((typeof id === "string" && id ? id : `${kind}_${n}`) === stepId) {
        found = item;
        return;
      }
      walk(item.get("then", true));
      walk(item.get("else", true));
      const sw = item.get("switch", true);
      if (isSeq(sw)) for (const c of sw.items) if (isMap(c)) walk(c.get("steps", true));
      walk(item.get("default", true));
      walk(item.get("do", true));
      if (found) return;
    }
  };
  walk(doc.get("steps", true));
  if (!found) throw new Error(`No step ${stepId} in the draft.`);
  const cur: unknown = found.get(key, true);
  let map: YAMLMap;
  if (isMap(cur)) {
    map = cur;
  } else {
    if (cur !== undefined && !(isScalar(cur) && cur.value === null)) throw new Error(`Step ${stepId}'s ${key} is not a map; edit it by hand.`);
    map = doc.createNode({}) as YAMLMap;
    found.set(key, map);
  }
  if (map.items.length === 0) map.flow = false;
  for (const [k, v] of Object.entries(value)) map.set(k, v);
  // No folding of long expressions, and flow maps written back as they were ({a: 1}).
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
