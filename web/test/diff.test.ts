import { describe, expect, it } from "vitest";
import { diffArrays, diffLines, hunks, maxCells, splitLines, type DiffLine } from "../src/lib/diff";

// apply rebuilds both sides from a diff: the old text is every eq and del
// line, the new one every eq and add line, in order.
function sides(lines: DiffLine[]): [string[], string[]] {
  return [lines.filter((l) => l.op !== "add").map((l) => l.text), lines.filter((l) => l.op !== "del").map((l) => l.text)];
}

// lcs is a plain recursive-memo LCS length, the reference the diff must reach.
function lcs(a: string[], b: string[]): number {
  const memo = new Map<string, number>();
  const go = (i: number, j: number): number => {
    if (i === a.length || j === b.length) return 0;
    const k = i + "," + j;
    let v = memo.get(k);
    if (v === undefined) {
      v = a[i] === b[j] ? go(i + 1, j + 1) + 1 : Math.max(go(i + 1, j), go(i, j + 1));
      memo.set(k, v);
    }
    return v;
  };
  return go(0, 0);
}

// A small deterministic PRNG so the property test is reproducible.
function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

describe("splitLines", () => {
  it("treats a final newline as the end of the last line, and CRLF as LF", () => {
    expect(splitLines("a\nb\n")).toEqual(["a", "b"]);
    expect(splitLines("a\r\nb")).toEqual(["a", "b"]);
    expect(splitLines("")).toEqual([]);
    expect(splitLines("\n")).toEqual([""]);
  });
});

describe("diffLines", () => {
  it("finds no change in equal texts", () => {
    const d = diffLines("a\nb\nc\n", "a\nb\nc\n");
    expect(d.added).toBe(0);
    expect(d.removed).toBe(0);
    expect(d.lines.every((l) => l.op === "eq")).toBe(true);
    expect(hunks(d.lines)).toEqual([]);
  });

  it("marks a changed line as removed then added, with line numbers on each side", () => {
    const d = diffLines("name: a\nsteps:\n  - id: x\n", "name: a\nsteps:\n  - id: y\n  - id: z\n");
    expect(d.lines).toEqual([
      { op: "eq", text: "name: a", a: 1, b: 1 },
      { op: "eq", text: "steps:", a: 2, b: 2 },
      { op: "del", text: "  - id: x", a: 3 },
      { op: "add", text: "  - id: y", b: 3 },
      { op: "add", text: "  - id: z", b: 4 },
    ]);
    expect(d.added).toBe(2);
    expect(d.removed).toBe(1);
  });

  it("handles an empty side", () => {
    expect(diffLines("", "a\nb").lines).toEqual([
      { op: "add", text: "a", b: 1 },
      { op: "add", text: "b", b: 2 },
    ]);
    expect(diffLines("a", "").lines).toEqual([{ op: "del", text: "a", a: 1 }]);
  });

  it("keeps a moved block's unchanged neighbours as context", () => {
    const d = diffLines("a\nb\nc\nd\n", "a\nc\nd\nb\n");
    const [o, n] = sides(d.lines);
    expect(o).toEqual(["a", "b", "c", "d"]);
    expect(n).toEqual(["a", "c", "d", "b"]);
    expect(d.lines.filter((l) => l.op === "eq").length).toBe(3);
  });

  it("property: rebuilds both texts and keeps a longest common subsequence", () => {
    const r = rng(17);
    const alphabet = ["a", "b", "c", "d", "- id: x", ""];
    for (let iter = 0; iter < 300; iter++) {
      const mk = () => Array.from({ length: Math.floor(r() * 12) }, () => alphabet[Math.floor(r() * alphabet.length)]);
      const a = mk();
      const b = mk();
      const d = diffArrays(a, b);
      const [o, n] = sides(d.lines);
      expect(o).toEqual(a);
      expect(n).toEqual(b);
      const eq = d.lines.filter((l) => l.op === "eq").length;
      expect(eq).toBe(lcs(a, b));
      expect(d.added).toBe(b.length - eq);
      expect(d.removed).toBe(a.length - eq);
      // line numbers count up on each side
      expect(d.lines.filter((l) => l.a !== undefined).map((l) => l.a)).toEqual(a.map((_, i) => i + 1));
      expect(d.lines.filter((l) => l.b !== undefined).map((l) => l.b)).toEqual(b.map((_, i) => i + 1));
    }
  });

  it("falls back to a correct (not minimal) diff when the changed middle is too large", () => {
    const side = Math.ceil(Math.sqrt(maxCells)) + 1;
    const a = Array.from({ length: side }, (_, i) => "old " + i);
    const b = Array.from({ length: side }, (_, i) => "new " + i);
    a.unshift("head");
    b.unshift("head");
    const d = diffArrays(a, b);
    expect(d.approximate).toBe(true);
    const [o, n] = sides(d.lines);
    expect(o).toEqual(a);
    expect(n).toEqual(b);
    expect(d.lines[0]).toEqual({ op: "eq", text: "head", a: 1, b: 1 });
  });
});

describe("hunks", () => {
  it("folds unchanged runs longer than twice the context", () => {
    const a = Array.from({ length: 30 }, (_, i) => "line " + i);
    const b = a.slice();
    b[2] = "changed 2";
    b[25] = "changed 25";
    const hs = hunks(diffArrays(a, b).lines, 3);
    expect(hs.length).toBe(2);
    expect(hs[0].aStart).toBe(1);
    expect(hs[0].lines.map((l) => l.op)).toEqual(["eq", "eq", "del", "add", "eq", "eq", "eq"]);
    expect(hs[1].aStart).toBe(23);
    expect(hs[1].bStart).toBe(23);
    expect(hs[1].lines.length).toBe(3 + 2 + 3);
  });

  it("merges changes whose contexts touch", () => {
    const a = Array.from({ length: 20 }, (_, i) => "l" + i);
    const b = a.slice();
    b[5] = "x";
    b[10] = "y";
    const hs = hunks(diffArrays(a, b).lines, 3);
    expect(hs.length).toBe(1);
  });

  it("starts a hunk of pure additions at the right new line", () => {
    const hs = hunks(diffLines("a\nb\n", "a\nb\nc\n").lines, 0);
    expect(hs).toEqual([{ aStart: 3, bStart: 3, lines: [{ op: "add", text: "c", b: 3 }] }]);
  });
});
