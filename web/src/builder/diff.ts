// A line diff (longest common subsequence, with the common head and tail
// trimmed first so large files with a small change stay cheap).
export type DiffLine = { op: " " | "+" | "-"; text: string; a?: number; b?: number };

export function lineDiff(a: string, b: string): DiffLine[] {
  const A = a.split("\n");
  const B = b.split("\n");
  if (A[A.length - 1] === "") A.pop();
  if (B[B.length - 1] === "") B.pop();
  let head = 0;
  while (head < A.length && head < B.length && A[head] === B[head]) head++;
  let tail = 0;
  while (tail < A.length - head && tail < B.length - head && A[A.length - 1 - tail] === B[B.length - 1 - tail]) tail++;
  const a1 = A.slice(head, A.length - tail);
  const b1 = B.slice(head, B.length - tail);
  const out: DiffLine[] = [];
  for (let i = 0; i < head; i++) out.push({ op: " ", text: A[i], a: i + 1, b: i + 1 });
  const n = a1.length;
  const m = b1.length;
  if (n * m > 4_000_000) {
    // too big for a table: all removed, then all added
    a1.forEach((t, i) => out.push({ op: "-", text: t, a: head + i + 1 }));
    b1.forEach((t, i) => out.push({ op: "+", text: t, b: head + i + 1 }));
  } else {
    const L: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = a1[i] === b1[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a1[i] === b1[j]) {
        out.push({ op: " ", text: a1[i], a: head + i + 1, b: head + j + 1 });
        i++;
        j++;
      } else if (i < n && (j === m || L[i + 1][j] >= L[i][j + 1])) {
        out.push({ op: "-", text: a1[i], a: head + i + 1 });
        i++;
      } else {
        out.push({ op: "+", text: b1[j], b: head + j + 1 });
        j++;
      }
    }
  }
  for (let k = 0; k < tail; k++) out.push({ op: " ", text: A[A.length - tail + k], a: A.length - tail + k + 1, b: B.length - tail + k + 1 });
  return out;
}

/** hunks keeps changed lines with ctx lines of context around them; null marks a gap. */
export function hunks(d: DiffLine[], ctx = 3): (DiffLine | null)[] {
  const keep = new Array(d.length).fill(false);
  d.forEach((l, i) => {
    if (l.op !== " ") for (let k = Math.max(0, i - ctx); k <= Math.min(d.length - 1, i + ctx); k++) keep[k] = true;
  });
  const out: (DiffLine | null)[] = [];
  let gap = false;
  d.forEach((l, i) => {
    if (keep[i]) {
      if (gap) out.push(null);
      gap = false;
      out.push(l);
    } else gap = true;
  });
  if (gap && out.length) out.push(null);
  return out;
}
