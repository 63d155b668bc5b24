// Canvas and form edits are made on the YAML Document, whose writer
// normalizes the whole text (folding, indentation of lists, spacing). So
// that an edit changes only the lines it touches, the builder merges: base =
// the Document written before the edit, ours = the user's text, theirs = the
// Document written after the edit; changes of theirs that do not overlap the
// user's formatting go onto the user's text (a line diff3). The result is
// kept only if it parses to the same value and comments as theirs.
import { visit, type Document } from "yaml";
import { lineDiff } from "./diff";
import { parseFlowCached } from "./model";

function split(t: string): string[] {
  return t.split("\n");
}

/** matches maps line indexes of a to the equal lines of b (a longest common subsequence). */
function matches(a: string[], b: string[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const l of lineDiff(a.join("\n") + "\n", b.join("\n") + "\n")) if (l.op === " ") m.set(l.a! - 1, l.b! - 1);
  return m;
}

const same = (x: string[], y: string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
const squash = (l: string) => l.trim().replace(/\s+/g, " ");
/** the user's lines differ from the base only in spacing (say, two spaces before a comment) */
const spacing = (x: string[], y: string[]) => x.length === y.length && x.every((v, i) => squash(v) === squash(y[i]));

/** merge3 merges the changes base->ours and base->theirs, or null when they overlap. */
export function merge3(base: string, ours: string, theirs: string): string | null {
  const O = split(base);
  const A = split(ours);
  const B = split(theirs);
  const ma = matches(O, A);
  const mb = matches(O, B);
  const out: string[] = [];
  let i = 0;
  let ja = 0;
  let jb = 0;
  for (;;) {
    let k = i;
    while (k < O.length && !(ma.has(k) && mb.has(k) && ma.get(k)! >= ja && mb.get(k)! >= jb)) k++;
    const ka = k < O.length ? ma.get(k)! : A.length;
    const kb = k < O.length ? mb.get(k)! : B.length;
    const o = O.slice(i, k);
    const a = A.slice(ja, ka);
    const b = B.slice(jb, kb);
    if (same(o, a)) out.push(...b);
    else if (same(o, b) || same(a, b)) out.push(...a);
    else if (spacing(o, a)) out.push(...b); // the edited lines take the writer's spacing
    else return null;
    if (k >= O.length) break;
    out.push(A[ka]);
    i = k + 1;
    ja = ka + 1;
    jb = kb + 1;
  }
  return out.join("\n");
}

/** comments lists a Document's comments (sorted), read from its nodes. */
function comments(doc: Document): string[] {
  const out: string[] = [];
  const add = (c: string | null | undefined) => c && out.push(c.trim());
  add(doc.commentBefore);
  add(doc.comment);
  visit(doc, {
    Node(_, n) {
      add(n.commentBefore);
      add(n.comment);
    },
  });
  return out.sort();
}

function equal(x: unknown, y: unknown): boolean {
  return JSON.stringify(x) === JSON.stringify(y);
}

/**
 * keepFormatting returns theirs (the Document's text after an edit) carried
 * onto ours (the user's text) where that is safe, else theirs.
 */
export function keepFormatting(base: string, ours: string, theirs: string, theirsDoc: Document): string {
  if (ours === base) return theirs;
  const merged = merge3(base, ours, theirs);
  if (merged === null || merged === theirs) return theirs;
  // (parsed through the cache: the page then gets this parse of its new text)
  const d = parseFlowCached(merged);
  if (!d.ok) return theirs;
  if (!equal(d.doc.toJS(), theirsDoc.toJS())) return theirs;
  if (!same(comments(d.doc), comments(theirsDoc))) return theirs;
  return merged;
}
