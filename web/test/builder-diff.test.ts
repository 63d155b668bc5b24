import { expect, test } from "vitest";
import { hunks, lineDiff } from "../src/builder/diff";

test("lineDiff marks removed and added lines", () => {
  const d = lineDiff("a\nb\nc\nd\n", "a\nB\nc\nd\ne\n");
  expect(d.map((l) => l.op + l.text)).toEqual([" a", "-b", "+B", " c", " d", "+e"]);
  expect(lineDiff("x\n", "x\n").every((l) => l.op === " ")).toBe(true);
  expect(lineDiff("", "a\nb\n").map((l) => l.op + l.text)).toEqual(["+a", "+b"]);
});

test("hunks keep context around changes", () => {
  const a = Array.from({ length: 20 }, (_, i) => `l${i}`).join("\n");
  const b = a.replace("l10", "L10");
  const h = hunks(lineDiff(a, b), 2);
  expect(h.map((l) => (l ? l.op + l.text : "…"))).toEqual(["…", " l8", " l9", "-l10", "+L10", " l11", " l12", "…"]);
});
