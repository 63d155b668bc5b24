// A line diff for flow versions: the longest common subsequence of the
// two texts' lines (after trimming their common head and tail), and hunks
// that fold long unchanged stretches away, as `diff -u` does.

export type Op = "eq" | "del" | "add";

export interface DiffLine {
  op: Op;
  text: string;
  /** 1-based line number in the old text (eq, del) */
  a?: number;
  /** 1-based line number in the new text (eq, add) */
  b?: number;
}

export interface Diff {
  lines: DiffLine[];
  added: number;
  removed: number;
  /** true when the changed middle was too large for the LCS table: it is
   * shown as all removed then all added (still a correct diff, not a minimal one). */
  approximate: boolean;
}

/** The most cells the LCS table may have (rows × columns of the changed middle). */
export const maxCells = 4_000_000;

export function splitLines(s: string): string[] {
  if (s === "") return [];
  const lines = s.replace(/\r\n?/g, "\n").split("\n");
  if (lines[lines.length - 1] === "") lines.pop(); // a final newline ends the last line
  return lines;
}

/** diffLines compares two texts line by line. */
export function diffLines(oldText: string, newText: string): Diff {
  return diffArrays(splitLines(oldText), splitLines(newText));
}

export function diffArrays(a: string[], b: string[]): Diff {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  const out: DiffLine[] = [];
  for (let i = 0; i < pre; i++) out.push({ op: "eq", text: a[i], a: i + 1, b: i + 1 });
  let approximate = false;
  const n = am.length;
  const m = bm.length;
  if (n * m > maxCells) {
    approximate = true;
    for (let i = 0; i < n; i++) out.push({ op: "del", text: am[i], a: pre + i + 1 });
    for (let j = 0; j < m; j++) out.push({ op: "add", text: bm[j], b: pre + j + 1 });
  } else if (n > 0 || m > 0) {
    // len[i*(m+1)+j]: the LCS length of am[i:] and bm[j:].
    const w = m + 1;
    const len = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        len[i * w + j] = am[i] === bm[j] ? len[(i + 1) * w + j + 1] + 1 : Math.max(len[(i + 1) * w + j], len[i * w + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        out.push({ op: "eq", text: am[i], a: pre + i + 1, b: pre + j + 1 });
        i++;
        j++;
      } else if (j < m && (i === n || len[i * w + j + 1] >= len[(i + 1) * w + j])) {
        out.push({ op: "add", text: bm[j], b: pre + j + 1 });
        j++;
      } else {
        out.push({ op: "del", text: am[i], a: pre + i + 1 });
        i++;
      }
    }
  }
  for (let k = 0; k < suf; k++) {
    const ai = a.length - suf + k;
    const bi = b.length - suf + k;
    out.push({ op: "eq", text: a[ai], a: ai + 1, b: bi + 1 });
  }
  // Removals first within each changed block reads better (- then +).
  const lines = reorderBlocks(out);
  let added = 0;
  let removed = 0;
  for (const l of lines) {
    if (l.op === "add") added++;
    else if (l.op === "del") removed++;
  }
  return { lines, added, removed, approximate };
}

function reorderBlocks(lines: DiffLine[]): DiffLine[] {
  const out: DiffLine[] = [];
  let dels: DiffLine[] = [];
  let adds: DiffLine[] = [];
  const flush = () => {
    out.push(...dels, ...adds);
    dels = [];
    adds = [];
  };
  for (const l of lines) {
    if (l.op === "eq") {
      flush();
      out.push(l);
    } else if (l.op === "del") dels.push(l);
    else adds.push(l);
  }
  flush();
  return out;
}

/** A hunk: changed lines with up to `context` unchanged lines around them. */
export interface Hunk {
  /** the first old and new line numbers the hunk covers (1-based) */
  aStart: number;
  bStart: number;
  lines: DiffLine[];
}

/** hunks groups a diff's lines, folding unchanged runs longer than 2×context. */
export function hunks(lines: DiffLine[], context = 3): Hunk[] {
  const changed: number[] = [];
  lines.forEach((l, i) => l.op !== "eq" && changed.push(i));
  if (changed.length === 0) return [];
  const out: Hunk[] = [];
  let start = Math.max(0, changed[0] - context);
  let end = Math.min(lines.length, changed[0] + context + 1);
  const emit = () => {
    const ls = lines.slice(start, end);
    const first = ls[0];
    out.push({ aStart: first.a ?? startOf(lines, start, "a"), bStart: first.b ?? startOf(lines, start, "b"), lines: ls });
  };
  for (let k = 1; k < changed.length; k++) {
    const c = changed[k];
    if (c - context <= end) {
      end = Math.min(lines.length, c + context + 1);
    } else {
      emit();
      start = c - context;
      end = Math.min(lines.length, c + context + 1);
    }
  }
  emit();
  return out;
}

// startOf finds the line number a hunk starting at index i begins at on one
// side, when its first line exists only on the other side.
function startOf(lines: DiffLine[], i: number, side: "a" | "b"): number {
  for (let k = i; k < lines.length; k++) {
    const n = lines[k][side];
    if (n !== undefined) return n;
  }
  for (let k = i - 1; k >= 0; k--) {
    const n = lines[k][side];
    if (n !== undefined) return n + 1;
  }
  return 1;
}
