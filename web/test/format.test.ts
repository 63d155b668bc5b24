import { describe, expect, it } from "vitest";
import { ago, bytes, durationUS, parseJSON, percent, pretty, lineCol, locateJSONError } from "../src/lib/format";

describe("format", () => {
  it("says how long ago", () => {
    const now = Date.parse("2026-01-02T12:00:00Z");
    expect(ago("2026-01-02T11:59:30Z", now)).toBe("30 s ago");
    expect(ago("2026-01-02T11:55:00Z", now)).toBe("5 min ago");
    expect(ago("2026-01-02T09:00:00Z", now)).toBe("3 h ago");
    expect(ago("2025-12-28T12:00:00Z", now)).toBe("5 d ago");
    expect(ago("2026-01-02T12:00:05Z", now)).toBe("just now");
    expect(ago("not a time", now)).toBe("");
    expect(ago(null, now)).toBe("");
  });
  it("formats durations from microseconds", () => {
    expect(durationUS(850)).toBe("850 µs");
    expect(durationUS(12_345)).toBe("12.3 ms");
    expect(durationUS(420_000)).toBe("420 ms");
    expect(durationUS(4_200_000)).toBe("4.20 s");
    expect(durationUS(185_000_000)).toBe("3 min 5 s");
    expect(durationUS(-1)).toBe("");
  });
  it("formats sizes and rates", () => {
    expect(bytes(512)).toBe("512 B");
    expect(bytes(1536)).toBe("1.5 KB");
    expect(bytes(3 * 1024 * 1024)).toBe("3.0 MB");
    expect(percent(1, 8)).toBe("13 %");
    expect(percent(1, 200)).toBe("0.5 %");
    expect(percent(0, 10)).toBe("0 %");
    expect(percent(0, 0)).toBe("");
  });
  it("checks JSON and says where it breaks", () => {
    expect(parseJSON('{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJSON("null")).toEqual({ ok: true, value: null });
    const bad = parseJSON('{\n  "a": 1,\n  "b": }');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.message).toMatch(/^Not valid JSON at line 3, column \d+/);
    const empty = parseJSON("  ");
    expect(empty.ok).toBe(false);
    expect(lineCol("ab\ncd", 4)).toEqual([2, 2]);
  });
  it("locates the first error as JSON.parse sees it", () => {
    expect(locateJSONError('{"a": [1, 2,]}')).toEqual({ offset: 12, message: "a comma before ] (remove the trailing comma)" });
    expect(locateJSONError('{"a" 1}')?.offset).toBe(5);
    expect(locateJSONError('{"a": "x\ny"}')?.message).toMatch(/line break inside a string/);
    expect(locateJSONError('{"a": 1} x')?.message).toMatch(/after the value/);
    expect(locateJSONError("{'a': 1}")?.message).toMatch(/double quotes/);
    expect(locateJSONError('"abc')?.message).toMatch(/not closed/);
    expect(locateJSONError('[1, 2')?.message).toMatch(/the text ends/);
    const r = (() => {
      let seed = 5;
      return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed / 0x7fffffff);
    })();
    const pieces = ["{", "}", "[", "]", ",", ":", '"k"', "1", "-2.5e3", "true", "null", " ", "\n", '"a\\"b"', "01", "x"];
    for (let k = 0; k < 3000; k++) {
      const t = Array.from({ length: 1 + Math.floor(r() * 8) }, () => pieces[Math.floor(r() * pieces.length)]).join("");
      let valid = true;
      try {
        JSON.parse(t);
      } catch {
        valid = false;
      }
      expect(locateJSONError(t) === null, t).toBe(valid);
    }
  });
  it("pretty prints raw JSON text and values", () => {
    expect(pretty('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(pretty({ a: [1] })).toBe('{\n  "a": [\n    1\n  ]\n}');
    expect(pretty("not json")).toBe("not json");
    expect(pretty(undefined)).toBe("");
  });
});
