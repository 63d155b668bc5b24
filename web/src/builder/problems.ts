// Validator problems: the server answers file:line:col; the builder shows
// each at its YAML line, on the node whose text holds that line, and on the
// settings field whose value holds it.
import type { Document, LineCounter, Node as YNode } from "yaml";
import { ApiError } from "../api";
import { stepAtLine, type Graph, type Path } from "./model";

export interface Problem {
  line: number;
  col: number;
  message: string;
  /** the node key it belongs to ("trigger", a step key), if any */
  key?: string;
}

const POS = /^(?:[^:\n]*:)?(\d+):(\d+)(?::\s*)?/;

/** parsePos reads "file:line:col" (or a message that starts with it). */
export function parsePos(pos: string | undefined): { line: number; col: number; rest: string } | null {
  if (!pos) return null;
  const m = POS.exec(pos);
  if (!m) return null;
  return { line: Number(m[1]), col: Number(m[2]), rest: pos.slice(m[0].length) };
}

/** problemsFromError turns a validate/deploy error into problems with lines. */
export function problemsFromError(e: ApiError): Problem[] {
  const details = (e.details ?? {}) as { problems?: { pos?: string; path?: string; message: string }[] };
  const raw = e.problems ?? details.problems;
  if (raw && raw.length) {
    return raw.map((p) => {
      const pos = parsePos(p.pos);
      return { line: pos?.line ?? 0, col: pos?.col ?? 0, message: p.message };
    });
  }
  const pos = parsePos(e.message);
  if (pos) return [{ line: pos.line, col: pos.col, message: pos.rest || e.message }];
  return [{ line: 0, col: 0, message: e.message }];
}

/** attach finds each problem's node: the innermost step covering its line, or the trigger. */
export function attach(problems: Problem[], g: Graph): Problem[] {
  return problems.map((p) => {
    if (!p.line) return p;
    const s = stepAtLine(g, p.line);
    if (s) return { ...p, key: s.key };
    const t = g.trigger.span;
    if (t && t.line - 1 <= p.line && p.line <= t.endLine) return { ...p, key: "trigger" };
    return p;
  });
}

export function byKey(problems: Problem[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const p of problems) {
    if (!p.key) continue;
    const l = m.get(p.key) ?? [];
    l.push(`${p.line}:${p.col}: ${p.message}`);
    m.set(p.key, l);
  }
  return m;
}

/** linesOf is the 1-based line range of the YAML node at path, if present. */
export function linesOf(doc: Document, lines: LineCounter, path: Path): [number, number] | null {
  const n = doc.getIn(path, true) as YNode | undefined;
  if (!n || typeof n !== "object" || !("range" in n) || !n.range) return null;
  const [s, e] = n.range;
  return [lines.linePos(s).line, lines.linePos(Math.max(s, e - 1)).line];
}
