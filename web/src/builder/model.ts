// The builder's model: a flow's YAML Document (eemeli/yaml, comments kept)
// and the graph the canvas draws from it. The Document is the source of
// truth: canvas edits are applied to it (edits.ts) and the text regenerated,
// so comments survive; the graph is rebuilt from the Document after every
// change. Each graph node keeps its YAML path (["steps", 1, "then", 0]) and
// its text range, so validator problems (file:line:col) find their node.
import { Document, LineCounter, YAMLMap, YAMLSeq, isMap, isScalar, isSeq, parseDocument, type Node as YNode } from "yaml";

export const STEP_KINDS = ["call", "set", "if", "switch", "foreach", "wait", "respond", "fail", "subflow"] as const;
export type StepKind = (typeof STEP_KINDS)[number];
export const TRIGGER_KINDS = ["webhook", "schedule", "manual", "poll"] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

export type Path = (string | number)[];

/** Span of a node in the text: offsets and 1-based lines. */
export interface Span {
  start: number;
  end: number;
  line: number;
  endLine: number;
}

export interface StepNode {
  /** the path joined with "." ("steps.1.then.0"): the canvas's node id */
  key: string;
  path: Path;
  kind: StepKind | "unknown";
  /** the id a run uses: the explicit one, or <kind>_<n> as the engine assigns */
  id: string;
  explicitId: boolean;
  /** for unknown steps: why (the keys found) */
  unknown?: string;
  call?: string;
  connection?: string;
  subflow?: string;
  /** one line for the canvas (an operation, a condition, keys set) */
  summary: string;
  span: Span;
  branches: Branch[];
  /** the step's YAML as a plain value */
  value: Record<string, unknown>;
}

/** A nested sequence of steps: if's then/else, a switch case, foreach's do. */
export interface Branch {
  key: string;
  label: string;
  /** path of the sequence (["steps", 2, "then"]) */
  path: Path;
  steps: StepNode[];
}

export interface TriggerNode {
  kind: TriggerKind | "none" | "unknown";
  summary: string;
  config: Record<string, unknown>;
  span?: Span;
}

export interface Graph {
  name: string;
  description: string;
  capture: string;
  trigger: TriggerNode;
  steps: StepNode[];
  /** every step in the engine's walk order (pre-order), for ids and lookups */
  all: StepNode[];
  byKey: Map<string, StepNode>;
}

export interface ParseError {
  message: string;
  line: number;
  col: number;
}

export type Parsed = { ok: true; doc: Document; graph: Graph; lines: LineCounter; text: string } | { ok: false; error: ParseError; text: string };

export const pathKey = (p: Path) => p.join(".");
export const TOP: Path = ["steps"];

/** parseFlow parses a flow's YAML into its Document and graph. */
export function parseFlow(text: string): Parsed {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = lines.linePos(e.pos[0]);
    return { ok: false, text, error: { message: e.message.split("\n")[0], line: pos.line, col: pos.col } };
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    return { ok: false, text, error: { message: "a flow is a mapping with name, trigger and steps", line: 1, col: 1 } };
  }
  return { ok: true, doc, lines, text, graph: buildGraph(doc, lines) };
}

let last: { text: string; parsed: Parsed } | null = null;

/**
 * parseFlowCached is parseFlow remembering its last answer: an edit parses
 * the text it makes (to check it), and the page then gets that parse for
 * free. Its Document must not be changed (clone it to edit).
 */
export function parseFlowCached(text: string): Parsed {
  if (last?.text === text) return last.parsed;
  const parsed = parseFlow(text);
  last = { text, parsed };
  return parsed;
}

/** buildGraph reads the graph from a parsed Document. */
export function buildGraph(doc: Document, lines?: LineCounter): Graph {
  const root = isMap(doc.contents) ? doc.contents : new YAMLMap();
  const g: Graph = {
    name: str(root.get("name")),
    description: str(root.get("description")),
    capture: str(root.get("capture")),
    trigger: readTrigger(root.get("trigger", true) as YNode | undefined, str(root.get("name")), lines),
    steps: [],
    all: [],
    byKey: new Map(),
  };
  const ctx = { lines, n: 0, g };
  g.steps = readSeq(root.get("steps", true) as YNode | undefined, TOP, ctx);
  return g;
}

interface Ctx {
  lines?: LineCounter;
  n: number;
  g: Graph;
}

function readSeq(node: YNode | undefined, path: Path, ctx: Ctx): StepNode[] {
  if (!isSeq(node)) return [];
  return node.items.map((it, i) => readStep(it as YNode, [...path, i], ctx));
}

function readStep(node: YNode, path: Path, ctx: Ctx): StepNode {
  ctx.n++;
  const value = (isMap(node) ? node.toJSON() : {}) ?? {};
  const kinds = STEP_KINDS.filter((k) => isMap(node) && node.has(k));
  let kind: StepNode["kind"] = kinds[0] ?? "unknown";
  let unknown: string | undefined;
  if (!isMap(node)) unknown = "a step is a mapping (id and one of " + STEP_KINDS.join(", ") + ")";
  else if (kinds.length === 0) {
    const keys = Object.keys(value).filter((k) => k !== "id");
    unknown = keys.length ? `unknown step kind "${keys[0]}"` : "a step needs one of " + STEP_KINDS.join(", ");
  } else if (kinds.length > 1) {
    unknown = `one step has several kinds (${kinds.join(", ")})`;
  }
  if (unknown && kinds.length > 1) kind = kinds[0];
  const explicit = typeof value.id === "string" && value.id !== "";
  const s: StepNode = {
    key: pathKey(path),
    path,
    kind,
    id: explicit ? (value.id as string) : `${kind}_${ctx.n}`,
    explicitId: explicit,
    unknown,
    summary: "",
    span: span(node, ctx.lines),
    branches: [],
    value,
  };
  if (typeof value.call === "string") s.call = value.call;
  if (typeof value.connection === "string") s.connection = value.connection;
  if (typeof value.subflow === "string") s.subflow = value.subflow;
  s.summary = summarize(s);
  ctx.g.all.push(s);
  ctx.g.byKey.set(s.key, s);
  if (!isMap(node)) return s;
  const m = node as YAMLMap;
  const branch = (key: string, label: string, bpath: Path, seq: YNode | undefined) => {
    s.branches.push({ key: pathKey(bpath), label, path: bpath, steps: readSeq(seq, bpath, ctx) });
  };
  switch (kind) {
    case "if":
      branch("then", "then", [...path, "then"], m.get("then", true) as YNode);
      branch("else", "else", [...path, "else"], m.get("else", true) as YNode);
      break;
    case "switch": {
      const cases = m.get("switch", true);
      if (isSeq(cases)) {
        cases.items.forEach((c, i) => {
          const when = isMap(c) ? str(c.get("when")) : "";
          branch(`case${i}`, `case ${i + 1}: ${when}`, [...path, "switch", i, "steps"], isMap(c) ? (c.get("steps", true) as YNode) : undefined);
        });
      }
      branch("default", "default", [...path, "default"], m.get("default", true) as YNode);
      break;
    }
    case "foreach":
      branch("do", "do", [...path, "do"], m.get("do", true) as YNode);
      break;
  }
  return s;
}

function summarize(s: StepNode): string {
  const v = s.value;
  if (s.unknown && s.kind === "unknown") return s.unknown;
  switch (s.kind) {
    case "call":
      return s.call ?? "";
    case "set":
      return v.set && typeof v.set === "object" ? Object.keys(v.set).join(", ") : "";
    case "if":
      return str(v.if);
    case "switch":
      return Array.isArray(v.switch) ? `${v.switch.length} case(s)` : "";
    case "foreach":
      return str(v.foreach);
    case "wait":
      return v.wait ? str(v.wait) : v.until ? "until " + str(v.until) : "";
    case "respond": {
      const r = v.respond && typeof v.respond === "object" ? (v.respond as Record<string, unknown>) : {};
      return "status " + (r.status ?? v.status ?? 200);
    }
    case "fail":
      return typeof v.fail === "string" ? v.fail : v.fail && typeof v.fail === "object" ? str((v.fail as Record<string, unknown>).message) : str(v.message);
    case "subflow":
      return s.subflow ?? "";
  }
  return "";
}

function readTrigger(node: YNode | undefined, name: string, lines?: LineCounter): TriggerNode {
  if (node === undefined || node === null || (isScalar(node) && node.value === null)) {
    return { kind: "none", summary: "runs by hand: pick a trigger in the palette", config: {} };
  }
  const sp = span(node, lines);
  if (!isMap(node) || node.items.length === 0) return { kind: "unknown", summary: "a trigger is a mapping with one of " + TRIGGER_KINDS.join(", "), config: {}, span: sp };
  const v = (node.toJSON() ?? {}) as Record<string, unknown>;
  const kind = Object.keys(v)[0];
  const config = (v[kind] && typeof v[kind] === "object" ? v[kind] : {}) as Record<string, unknown>;
  if (!(TRIGGER_KINDS as readonly string[]).includes(kind)) return { kind: "unknown", summary: `unknown trigger "${kind}"`, config, span: sp };
  let summary = "";
  switch (kind) {
    case "webhook":
      summary = `POST /hooks/${name || "NAME"} (${config.mode ?? "sync"})`;
      break;
    case "schedule":
      summary = str(config.cron) + (config.timezone ? " " + str(config.timezone) : "");
      break;
    case "poll":
      summary = str(config.operation) + (config.every ? " every " + str(config.every) : "");
      break;
    case "manual":
      summary = "run by hand or API";
  }
  return { kind: kind as TriggerKind, summary, config, span: sp };
}

function span(node: YNode | undefined, lines?: LineCounter): Span {
  const r = node && "range" in node && node.range ? node.range : [0, 0, 0];
  const start = r[0];
  const end = Math.max(r[1], start);
  const line = lines ? lines.linePos(start).line : 0;
  const endLine = lines ? lines.linePos(Math.max(start, end - 1)).line : 0;
  return { start, end, line, endLine };
}

function str(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (isScalar(v)) return String(v.value ?? "");
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** The writing style of a text: its indentation and how it writes lists and {…}. */
export interface Style {
  indent: number;
  indentSeq: boolean;
  flowCollectionPadding: boolean;
}

/** styleOf reads the style a YAML text is written in (2-space, indented lists, {a: 1} by default). */
export function styleOf(text: string): Style {
  let indent = 0;
  const m = /^[^#\s][^\n]*:[ \t]*(?:#[^\n]*)?\n( +)\S/m.exec(text);
  if (m) indent = m[1].length;
  // a list under a key at the key's own column: "steps:\n- id: a"
  const compact = /^( *)[^\s#-][^\n]*:[ \t]*(?:#[^\n]*)?\n\1- /m.test(text);
  const indented = /^( *)[^\s#-][^\n]*:[ \t]*(?:#[^\n]*)?\n\1 +- /m.test(text);
  const padded = (text.match(/[{\[] \S/g) ?? []).length;
  const tight = (text.match(/[{\[][^\s}\]]/g) ?? []).length;
  return { indent: indent >= 2 && indent <= 8 ? indent : 2, indentSeq: !(compact && !indented), flowCollectionPadding: padded > tight };
}

/** stringify regenerates the text of an edited Document (in the given style). */
export function stringify(doc: Document, style?: Style): string {
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false, ...style });
}

/** stepAt finds the innermost step whose text covers a 1-based line. */
export function stepAtLine(g: Graph, line: number): StepNode | undefined {
  let best: StepNode | undefined;
  for (const s of g.all) {
    if (s.span.line <= line && line <= s.span.endLine) {
      if (!best || s.span.end - s.span.start < best.span.end - best.span.start) best = s;
    }
  }
  return best;
}

/** sequences lists every step sequence of the graph with its steps (top first). */
export function sequences(g: Pick<Graph, "steps">): { path: Path; steps: StepNode[] }[] {
  const out: { path: Path; steps: StepNode[] }[] = [];
  const walk = (path: Path, steps: StepNode[]) => {
    out.push({ path, steps });
    for (const s of steps) for (const b of s.branches) walk(b.path, b.steps);
  };
  walk(TOP, g.steps);
  return out;
}

/**
 * graphToYaml writes a graph back as YAML: each step sequence is rebuilt
 * from the graph's node order, reusing each step's YAML node (its comments,
 * styles and fields), so a graph whose nodes were reordered or moved between
 * sequences comes back as the YAML of that graph. Paths in the graph are
 * those of doc.
 */
export function graphToYaml(g: Pick<Graph, "steps">, doc: Document): string {
  const out = doc.clone();
  const nodeAt = (p: Path) => out.getIn(p, true) as YNode | undefined;
  // Capture every YAML node first: paths refer to the document before any
  // sequence is rebuilt.
  const stepNodes = new Map<string, YNode>();
  const seqList = sequences(g);
  for (const q of seqList)
    for (const s of q.steps) {
      const n = nodeAt(s.path);
      if (n) stepNodes.set(s.key, n);
    }
  const seqs = seqList.map((q) => ({
    ...q,
    seq: nodeAt(q.path),
    parent: q.path.length > 1 ? nodeAt(q.path.slice(0, -1)) : out.contents,
    field: q.path[q.path.length - 1] as string,
  }));
  for (const q of seqs) {
    const items = q.steps.map((s) => stepNodes.get(s.key)).filter((n): n is YNode => n !== undefined);
    if (isSeq(q.seq)) {
      q.seq.items = items;
    } else if (items.length > 0 && isMap(q.parent)) {
      const seq = new YAMLSeq();
      seq.items = items;
      q.parent.set(q.field, seq);
    }
  }
  return stringify(out);
}

/** NEW_FLOW is the text of an empty draft. */
export const NEW_FLOW = "name: new-flow\ntrigger:\n  manual: {}\nsteps: []\n";
