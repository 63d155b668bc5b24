// Completion inside expressions: trigger.*, steps.<id>.* for the steps that
// run before this one, run.*, and item/index inside foreach, with their types
// where known (the trigger's schema, a set step's keys, an operation's
// output schema).
import { callOutput, findOp, type Catalog, type JSONSchema } from "./catalog";
import type { Graph, StepNode } from "./model";
import { TOP } from "./model";

export interface Completion {
  label: string; // the segment to insert
  type: string; // string, object, ...
  detail?: string;
}

type T = JSONSchema;

const obj = (props: Record<string, T>, description?: string): T => ({ type: "object", properties: props, description });
const any: T = {};

function typeName(s: T | undefined): string {
  if (!s) return "any";
  if (s.type) return Array.isArray(s.type) ? s.type.join("|") : s.type;
  if (s.properties) return "object";
  if (s.items) return "array";
  if (s.enum) return "enum";
  return "any";
}

function valueType(v: unknown): T {
  if (typeof v === "string") return v.startsWith("=") && !v.startsWith("==") ? { description: v.slice(1) } : { type: "string" };
  if (typeof v === "number") return { type: "number" };
  if (typeof v === "boolean") return { type: "boolean" };
  if (Array.isArray(v)) return { type: "array" };
  if (v && typeof v === "object") return obj(Object.fromEntries(Object.entries(v).map(([k, x]) => [k, valueType(x)])));
  return any;
}

/** stepOutput is what steps.<id> holds, as far as the builder knows. */
export function stepOutput(s: StepNode, cat: Catalog): T {
  const v = s.value;
  switch (s.kind) {
    case "set":
      return valueType(v.set && typeof v.set === "object" ? v.set : {});
    case "call":
      return callOutput(cat, s.call) ?? any;
    case "if":
      return obj({ branch: { type: "string", enum: ["then", "else"] } });
    case "switch":
      return obj({ case: { description: "the case number, or default" } });
    case "foreach":
      return { type: "array", description: "each iteration's last step output" };
    case "wait":
      return obj({ until: { type: "string" } });
    case "respond":
      return obj({ status: { type: "integer" }, headers: { type: "object" }, body: any });
  }
  return any;
}

/** triggerType is trigger.* for the flow's trigger. */
export function triggerType(g: Graph, cat: Catalog): T {
  const t = g.trigger;
  const base: Record<string, T> = {
    kind: { type: "string", enum: ["webhook", "schedule", "manual", "subflow"] },
    headers: { type: "object", description: "request headers, lower-case names" },
    query: { type: "object" },
  };
  let body: T = any;
  if ((t.kind === "webhook" || t.kind === "manual") && t.config.schema && typeof t.config.schema === "object") body = t.config.schema as T;
  if (t.kind === "schedule") {
    body = obj({ scheduled_at: { type: "string", format: "date-time" } });
    base.scheduled_at = { type: "string", format: "date-time" };
  }
  if (t.kind === "poll") {
    const out = findOp(cat, String(t.config.operation ?? ""))?.op.output_schema;
    const items = typeof t.config.items === "string" ? t.config.items : "";
    let rec: T | undefined = out;
    for (const seg of items.split(".").filter(Boolean)) rec = rec?.properties?.[seg];
    body = rec?.items ?? (out?.type === "array" ? out.items : undefined) ?? any;
    base.cursor = { description: "the last cursor value (poll input only)" };
  }
  return obj({ ...base, body });
}

/** before lists the steps that have run when s runs: earlier siblings, and those of its ancestors. */
export function stepsBefore(g: Graph, s: StepNode | null): { steps: StepNode[]; inForeach: boolean } {
  if (!s) return { steps: g.all, inForeach: false };
  const out: StepNode[] = [];
  let inForeach = false;
  // walk the path: at each sequence, the siblings before the index
  let seq = g.steps;
  let depth = TOP.length;
  const p = s.path;
  let cur: StepNode | undefined;
  for (;;) {
    const i = p[depth] as number;
    for (const x of seq.slice(0, i)) collect(x, out);
    cur = seq[i];
    if (!cur || cur.key === s.key) break;
    // into the branch holding s
    const rest = p.slice(depth + 1);
    const br = cur.branches.find((b) => b.path.length <= p.length && b.path.every((v, k) => p[k] === v));
    if (!br || rest.length === 0) break;
    if (cur.kind === "foreach") inForeach = true;
    seq = br.steps;
    depth = br.path.length;
  }
  return { steps: out, inForeach };
}

function collect(s: StepNode, out: StepNode[]) {
  out.push(s);
  for (const b of s.branches) for (const x of b.steps) collect(x, out);
}

const RUN: T = obj({
  id: { type: "string" },
  flow: { type: "string" },
  version: { type: "integer" },
  started_at: { type: "string", format: "date-time" },
});

/** scope is the expression environment of step s (null: the flow's end). */
export function scope(g: Graph, s: StepNode | null, cat: Catalog): T {
  const { steps, inForeach } = stepsBefore(g, s);
  const st: Record<string, T> = {};
  for (const x of steps) st[x.id] = { ...stepOutput(x, cat), description: `${x.kind}${x.call ? " " + x.call : ""}` };
  const root: Record<string, T> = { trigger: triggerType(g, cat), steps: obj(st), run: RUN };
  if (inForeach) {
    root.item = { description: "the current element" };
    root.index = { type: "integer" };
  }
  return obj(root);
}

/** complete offers the next path segments for the reference ending at the cursor. */
export function complete(env: T, before: string): { from: number; items: Completion[] } | null {
  const m = /([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?(\.)?([A-Za-z_][A-Za-z0-9_]*)?$/.exec(before);
  if (!m) return null;
  // the reference: segments before the last dot, then the partial word
  const text = m[0];
  const parts = text.split(".");
  const partial = parts.pop() ?? "";
  let t: T | undefined = env;
  for (const seg of parts) {
    t = t?.properties?.[seg] ?? (t?.type === "array" ? undefined : undefined);
    if (!t) return null;
  }
  const props = t?.properties ?? {};
  const items = Object.entries(props)
    .filter(([k]) => k.startsWith(partial))
    .map(([k, v]) => ({ label: k, type: typeName(v), detail: v.description }));
  if (!items.length) return null;
  return { from: before.length - partial.length, items };
}
