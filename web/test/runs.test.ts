import { describe, expect, it } from "vitest";
import { failedStepInput, nameFromFile, replayMarks } from "../src/lib/runs";

const at = (step_key: string, attempt: number, sec: number, input?: unknown) => ({ step_key, attempt, started_at: new Date(Date.UTC(2026, 0, 1, 0, 0, sec)).toISOString(), input });

describe("failedStepInput", () => {
  it("is the failed step's newest captured input", () => {
    const run = { failed_step: "post" };
    const attempts = [at("transform", 1, 0, { a: 1 }), at("post", 1, 1, { url: "/a" }), at("post", 2, 2, { url: "/b" }), at("reply", 1, 3, { c: 1 })];
    expect(failedStepInput(run, attempts)).toEqual({ url: "/b" });
    // A replay's attempts start again at 1 but are newer.
    expect(failedStepInput(run, [...attempts, at("post", 1, 9, { url: "/c" })])).toEqual({ url: "/c" });
  });
  it("is undefined when nothing was captured or no step failed, unless a pending replay input exists", () => {
    expect(failedStepInput({ failed_step: "post" }, [at("post", 1, 1)])).toBeUndefined();
    expect(failedStepInput({}, [at("post", 1, 1, { x: 1 })])).toBeUndefined();
    expect(failedStepInput({ failed_step: "post", override: { step_key: "post", input: { y: 2 } } }, [at("post", 1, 1)])).toEqual({ y: 2 });
  });
});

describe("replayMarks", () => {
  it("marks an attempt whose number does not grow as a new execution (a replay), retries as not", () => {
    const rows = [at("a", 1, 0), at("b", 1, 1), at("b", 2, 2), at("b", 3, 3), at("b", 1, 9), at("c", 1, 10)];
    expect(replayMarks(rows)).toEqual([false, false, false, false, true, false]);
  });
});

describe("nameFromFile", () => {
  it("turns a file name into a connector name", () => {
    expect(nameFromFile("pet-store.yaml")).toBe("pet_store");
    expect(nameFromFile("Pet Store.v2.json")).toBe("pet_store");
    expect(nameFromFile("api.github.com.json")).toBe("api_github_com");
    expect(nameFromFile("3d-printer.yml")).toBe("d_printer");
    expect(nameFromFile("x".repeat(50) + ".yaml")).toHaveLength(32);
    expect(nameFromFile("openapi.yaml")).toMatch(/^[a-z][a-z0-9_]{0,31}$/);
  });
  it("drops the extension of every importable document kind", () => {
    expect(nameFromFile("odatademo_v2.edmx")).toBe("odatademo_v2");
    expect(nameFromFile("metadata.xml")).toBe("metadata");
    expect(nameFromFile("AddNumbers.wsdl")).toBe("addnumbers");
    expect(nameFromFile("schema.graphql")).toBe("schema");
    expect(nameFromFile("shop.graphqls")).toBe("shop");
    expect(nameFromFile("swapi.gql")).toBe("swapi");
  });
});
