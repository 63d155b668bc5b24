import { describe, expect, it } from "vitest";
import { fieldRows, typeOf } from "../src/lib/schema";

describe("fieldRows", () => {
  it("flattens nested objects and list items into dotted paths, marking required fields", () => {
    const rows = fieldRows({
      type: "object",
      required: ["email"],
      properties: {
        email: { type: "string", format: "email", description: "Where to write" },
        plan: { type: "string", enum: ["free", "pro"], default: "free" },
        address: { type: "object", required: ["city"], properties: { city: { type: "string" }, zip: { type: "string" } } },
        items: { type: "array", items: { type: "object", properties: { qty: { type: "integer" } } } },
        tags: { type: "array", items: { type: "string" } },
      },
    });
    expect(rows.map((r) => [r.path, r.type, r.required, r.depth])).toEqual([
      ["email", "string", true, 0],
      ["plan", "string", false, 0],
      ["address", "object", false, 0],
      ["address.city", "string", true, 1],
      ["address.zip", "string", false, 1],
      ["items", "object[]", false, 0],
      ["items[].qty", "integer", false, 1],
      ["tags", "string[]", false, 0],
    ]);
    expect(rows[0].description).toBe("Where to write");
    expect(rows[0].format).toBe("email");
    expect(rows[1].enum).toEqual(["free", "pro"]);
    expect(rows[1].default).toBe("free");
  });
  it("merges allOf parts and names unions", () => {
    const rows = fieldRows({ allOf: [{ properties: { a: { type: "string" } }, required: ["a"] }, { properties: { b: { oneOf: [{ type: "string" }, { type: "integer" }] } } }] });
    expect(rows.map((r) => [r.path, r.type, r.required])).toEqual([
      ["a", "string", true],
      ["b", "string | integer", false],
    ]);
  });
  it("gives one row for a schema that is not an object, none for no schema", () => {
    expect(fieldRows({ type: "array", items: { type: "string" } })).toEqual([{ path: "(value)", depth: 0, type: "string[]", required: false }]);
    expect(fieldRows(undefined)).toEqual([]);
  });
  it("names types for readers", () => {
    expect(typeOf({ type: ["string", "null"] })).toBe("string (nullable)");
    expect(typeOf({ const: "x" })).toBe('"x"');
    expect(typeOf({})).toBe("any");
    expect(typeOf({ type: "array", items: { type: "array", items: { type: "number" } } })).toBe("number[][]");
  });
  it("stops at a cycle-like depth instead of running away", () => {
    let s: any = { type: "object", properties: {} };
    const root = s;
    for (let i = 0; i < 30; i++) {
      const next = { type: "object", properties: {} };
      s.properties["n" + i] = next;
      s = next;
    }
    expect(fieldRows(root).length).toBe(8);
  });
});
