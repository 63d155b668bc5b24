// Edits the canvas and forms make, applied to the YAML Document so that
// comments and styles elsewhere survive: insert, delete, move, set a field,
// rename a step, set the trigger. Each returns what the caller needs to keep
// the selection (the new path).
import { Document, Scalar, YAMLMap, YAMLSeq, isMap, isScalar, isSeq, visit, type Node as YNode } from "yaml";
import { parseFlowCached, stringify, styleOf, type Graph, type Path, type Style } from "./model";
import { keepFormatting } from "./merge";

export const ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

function seqAt(doc: Document, path: Path, create: boolean): YAMLSeq | undefined {
  const n = doc.getIn(path, true);
  if (isSeq(n)) return n;
  if (!create) return undefined;
  if (!isMap(doc.contents)) doc.contents = doc.createNode({}) as YAMLMap;
  const seq = new YAMLSeq();
  doc.setIn(path, seq);
  return seq;
}

/** insertStep inserts a step (a plain object) at index of the sequence at seqPath. */
export function insertStep(doc: Document, seqPath: Path, index: number, step: Record<string, unknown>): Path {
  const seq = seqAt(doc, seqPath, true)!;
  if (seq.flow) seq.flow = false; // `steps: []` becomes a block list
  const i = Math.max(0, Math.min(index, seq.items.length));
  seq.items.splice(i, 0, doc.createNode(step) as YNode);
  return [...seqPath, i];
}

/** deleteStep removes the step at path (its own comments go with it). */
export function deleteStep(doc: Document, path: Path): void {
  const seq = seqAt(doc, path.slice(0, -1), false);
  const i = path[path.length - 1] as number;
  if (!seq || i < 0 || i >= seq.items.length) throw new Error(`no step at ${path.join(".")}`);
  seq.items.splice(i, 1);
}

/**
 * moveStep moves the step at from to index toIndex of the sequence toSeq
 * (the index as seen before the move) and returns its new path. Moving a
 * step into its own branches is refused.
 */
export function moveStep(doc: Document, from: Path, toSeq: Path, toIndex: number): Path {
  const fromSeqPath = from.slice(0, -1);
  const i = from[from.length - 1] as number;
  if (toSeq.length > from.length && from.every((p, k) => toSeq[k] === p)) throw new Error("a step cannot move into its own branches");
  const src = seqAt(doc, fromSeqPath, false);
  if (!src || i >= src.items.length) throw new Error(`no step at ${from.join(".")}`);
  const same = fromSeqPath.join(".") === toSeq.join(".");
  // The target path may run through the source sequence after index i: shift it.
  const target = [...toSeq];
  if (!same && target.length > fromSeqPath.length && fromSeqPath.every((p, k) => target[k] === p)) {
    const at = fromSeqPath.length;
    if ((target[at] as number) > i) target[at] = (target[at] as number) - 1;
  }
  const [node] = src.items.splice(i, 1);
  let j = toIndex;
  if (same && toIndex > i) j--;
  const dst = seqAt(doc, target, true)!;
  if (dst.flow) dst.flow = false;
  j = Math.max(0, Math.min(j, dst.items.length));
  dst.items.splice(j, 0, node);
  return [...target, j];
}

/**
 * setField sets (or, with undefined, removes) the value at path. A scalar
 * replaced by a scalar keeps its node, so a comment on it stays.
 */
export function setField(doc: Document, path: Path, value: unknown): void {
  if (value === undefined) {
    if (doc.hasIn(path)) doc.deleteIn(path);
    return;
  }
  const cur = doc.getIn(path, true);
  if (isScalar(cur) && (value === null || typeof value !== "object")) {
    const s = cur as Scalar;
    // The writer picks the quoting for the new value (a block scalar stays one
    // while the text has lines).
    const block = s.type === "BLOCK_LITERAL" || s.type === "BLOCK_FOLDED";
    if (!(block && typeof value === "string" && value.includes("\n"))) s.type = undefined;
    s.value = value;
    return;
  }
  if (!isMap(doc.contents)) doc.contents = doc.createNode({}) as YAMLMap;
  // The first entry of an empty `{}` or `[]` makes it a block collection.
  const parent = doc.getIn(path.slice(0, -1), true);
  if ((isMap(parent) || isSeq(parent)) && parent.flow && parent.items.length === 0) parent.flow = false;
  doc.setIn(path, doc.createNode(value));
}

/** renameKey renames a key of the mapping at mapPath, keeping its place and comments. */
export function renameKey(doc: Document, mapPath: Path, oldKey: string, newKey: string): string | null {
  const m = doc.getIn(mapPath, true);
  if (!isMap(m)) return "not a mapping";
  if (m.has(newKey)) return `"${newKey}" is already there`;
  const pair = m.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === oldKey);
  if (!pair) return `no key "${oldKey}"`;
  if (isScalar(pair.key)) (pair.key as Scalar).value = newKey;
  else pair.key = doc.createNode(newKey);
  return null;
}

/** setTrigger replaces the trigger with one of kind and its settings. */
export function setTrigger(doc: Document, kind: string, config: Record<string, unknown> | null): void {
  const cur = doc.getIn(["trigger"], true);
  const node = doc.createNode({ [kind]: config ?? {} }) as YAMLMap;
  if (isMap(cur)) {
    node.commentBefore = cur.commentBefore;
    node.comment = cur.comment;
  }
  if (!isMap(doc.contents)) doc.contents = doc.createNode({}) as YAMLMap;
  const root = doc.contents as YAMLMap;
  if (root.has("trigger")) root.set("trigger", node);
  else {
    // keep the usual order: name, description, trigger, ..., steps
    const at = root.items.findIndex((p) => isScalar(p.key) && p.key.value === "steps");
    const pair = doc.createPair("trigger", node);
    if (at >= 0) root.items.splice(at, 0, pair);
    else root.items.push(pair);
  }
}

/** renameStep checks a new id and renames the step and every steps.<old> reference. */
export function renameStep(doc: Document, g: Graph, path: Path, newId: string): string | null {
  const step = g.all.find((s) => s.path.join(".") === path.join("."));
  if (!step) return "no such step";
  if (newId === step.id) return null;
  const err = checkId(g, newId, step.key);
  if (err) return err;
  doc.setIn([...path, "id"], newId);
  const re = new RegExp(`\\bsteps\\.${step.id}\\b`, "g");
  visit(doc, {
    Scalar(key, node) {
      if (key === "key" || typeof node.value !== "string") return;
      const v = node.value.replace(re, `steps.${newId}`);
      if (v !== node.value) node.value = v;
    },
  });
  return null;
}

/** checkId says why an id cannot be used (pattern, taken), or null. */
export function checkId(g: Graph, id: string, exceptKey?: string): string | null {
  if (!ID_PATTERN.test(id)) return "an id is letters, digits and _ (not starting with a digit), at most 64";
  const taken = g.all.find((s) => s.id === id && s.key !== exceptKey);
  if (taken) return `id "${id}" is already used by another step`;
  return null;
}

/** freshId picks an unused id from a base (an operation or a kind). */
export function freshId(g: Graph, base: string): string {
  let b = base.replace(/[^A-Za-z0-9_]/g, "_").replace(/^[^A-Za-z_]+/, "");
  if (!b) b = "step";
  b = b.slice(0, 60);
  const used = new Set(g.all.map((s) => s.id));
  if (!used.has(b)) return b;
  for (let n = 2; ; n++) if (!used.has(`${b}_${n}`)) return `${b}_${n}`;
}

/**
 * edit applies fn to a fresh parse of text and returns the new text (and
 * fn's result). The lines the edit does not touch keep the user's
 * formatting (merge.ts).
 */
export function edit<T>(text: string, fn: (doc: Document, g: Graph) => T): { text: string; result: T } {
  const p = parseFlowCached(text);
  if (!p.ok) throw new Error(`the YAML does not parse (line ${p.error.line}): ${p.error.message}`);
  const style = styleOf(text);
  const before = written(p.doc, style);
  const doc = p.doc.clone();
  const result = fn(doc, p.graph);
  const after = stringify(doc, style);
  return { text: after === before ? text : keepFormatting(before, text, after, doc), result };
}

// The Document's own text of a parse, once per parse and style.
const writtenCache = new WeakMap<Document, { key: string; text: string }>();
function written(doc: Document, style: Style): string {
  const key = JSON.stringify(style);
  const c = writtenCache.get(doc);
  if (c?.key === key) return c.text;
  const text = stringify(doc, style);
  writtenCache.set(doc, { key, text });
  return text;
}
