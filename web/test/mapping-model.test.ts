import { describe, expect, it } from "vitest";
import { celRef, guessKind, nextIndex, nextUnreviewed, parseSources, progress, reviewRows, sideBody, unknownSources, type Mapping } from "../src/views/mapping-model";

// The shape GET /api/mappings/{id} answers (mapper.Mapping), trimmed.
const mapping: Mapping = {
  id: "m1",
  name: "leads -> contacts",
  created_at: "2026-01-01T00:00:00Z",
  source: {
    name: "lead",
    fields: [
      { path: "first_name", name: "first_name", type: "string" },
      { path: "last_name", name: "last_name", type: "string" },
      { path: "email", name: "email", type: "string", format: "email" },
      { path: "tel", name: "tel", type: "string" },
      { path: "work_phone", name: "work_phone", type: "string" },
    ],
  },
  target: {
    name: "contact",
    fields: [
      { path: "full_name", name: "full_name", required: true },
      { path: "email_address", name: "email_address" },
      { path: "phone", name: "phone" },
      { path: "fax", name: "fax" },
    ],
  },
  items: [
    { target: "email_address", sources: ["email"], expr: "src.email", confidence: 0.7, reason: "names share words", status: "accepted" },
    { target: "full_name", sources: ["first_name", "last_name"], expr: 'src.first_name + " " + src.last_name', confidence: 0.8, reason: "full name", status: "proposed" },
    { target: "phone", sources: ["tel"], expr: "src.tel", confidence: 0.71, reason: "synonyms", status: "rejected" },
  ],
  candidates: {
    tel: [{ target: "phone", score: 0.71 }],
    work_phone: [
      { target: "phone", score: 0.5 },
      { target: "fax", score: 0.2 },
    ],
    email: [{ target: "email_address", score: 0.7 }],
    first_name: [{ target: "full_name", score: 0.27 }],
  },
};

describe("reviewRows", () => {
  const rows = reviewRows(mapping);
  it("has one row per target field, in the target's order, with its item", () => {
    expect(rows.map((r) => r.target.path)).toEqual(["full_name", "email_address", "phone", "fax"]);
    expect(rows[0].item?.status).toBe("proposed");
    expect(rows[3].item).toBeUndefined();
  });
  it("lists the other ranked sources of a target, not the ones already used, best first", () => {
    expect(rows[2].alternatives).toEqual([{ source: "work_phone", score: 0.5 }]);
    expect(rows[3].alternatives).toEqual([{ source: "work_phone", score: 0.2 }]);
    expect(rows[0].alternatives).toEqual([]); // first_name is one of its sources
  });
  it("keeps an item whose target the schema does not list", () => {
    const m = { ...mapping, items: [...mapping.items!, { target: "extra", sources: [], expr: "1", confidence: 1, reason: "", status: "proposed" as const }] };
    expect(reviewRows(m).map((r) => r.target.path)).toContain("extra");
  });
  it("copes with a mapping without items or candidates", () => {
    expect(reviewRows({ ...mapping, items: null, candidates: undefined }).every((r) => !r.item && r.alternatives.length === 0)).toBe(true);
  });
});

describe("progress and moving", () => {
  it("counts reviewed, accepted and rejected suggestions", () => {
    expect(progress(mapping)).toEqual({ reviewed: 2, total: 3, accepted: 1, rejected: 1 });
    expect(progress({ ...mapping, items: null })).toEqual({ reviewed: 0, total: 0, accepted: 0, rejected: 0 });
  });
  it("clamps the selection and skips to the next suggestion to review", () => {
    expect(nextIndex(0, -1, 4)).toBe(0);
    expect(nextIndex(3, 1, 4)).toBe(3);
    expect(nextIndex(0, 1, 0)).toBe(0);
    const rows = reviewRows(mapping);
    expect(nextUnreviewed(rows, 1)).toBe(2); // none left after email_address: the next row
    const all = reviewRows({ ...mapping, items: mapping.items!.map((i) => ({ ...i, status: "proposed" as const })) });
    expect(nextUnreviewed(all, 0)).toBe(1);
  });
});

describe("expressions and sources", () => {
  it("reads source paths as the mapper writes them", () => {
    expect(celRef("email")).toBe("src.email");
    expect(celRef("billing.address.city")).toBe("src.billing.address.city");
    expect(celRef("First Name")).toBe('src["First Name"]');
    expect(celRef("lines[].sku")).toBe("it.sku");
    expect(celRef("in")).toBe('src["in"]');
  });
  it("parses and checks source lists", () => {
    expect(parseSources(" first_name, last_name ,,")).toEqual(["first_name", "last_name"]);
    expect(unknownSources(mapping, ["email", "nope"])).toEqual(["nope"]);
  });
});

describe("sideBody", () => {
  const side = { kind: "json" as const, text: "", connection: "", table: "", name: "" };
  it("sends a JSON document as doc", () => {
    expect(sideBody("The source", { ...side, text: '{"a": 1}', name: " lead " })).toEqual({ name: "lead", doc: { a: 1 } });
  });
  it("says what is wrong with bad input", () => {
    expect(() => sideBody("The source", side)).toThrow(/paste or upload/);
    expect(() => sideBody("The source", { ...side, text: "{nope" })).toThrow(/not valid JSON/);
    expect(() => sideBody("The target", { ...side, text: "42" })).toThrow(/JSON object/);
    expect(() => sideBody("The target", { ...side, kind: "table", connection: "db" })).toThrow(/connection and the table/);
  });
  it("sends CSV text and tables as they are", () => {
    expect(sideBody("s", { ...side, kind: "csv", text: "a,b\n1,2" })).toEqual({ name: undefined, csv: "a,b\n1,2" });
    expect(sideBody("s", { ...side, kind: "table", connection: "db", table: "public.users" })).toEqual({ name: undefined, connection: "db", table: "public.users" });
  });
  it("guesses an upload's kind", () => {
    expect(guessKind("x.csv", "{}")).toBe("csv");
    expect(guessKind("x.json", ' {"a":1}')).toBe("json");
    expect(guessKind("export.txt", "id,name\n1,a")).toBe("csv");
  });
});
