import { describe, expect, it } from "vitest";
import { parseHash } from "../src/router";

describe("parseHash", () => {
  it("splits path parts and query", () => {
    const r = parseHash("#/runs/a%2Fb?flow=order-flow&status=dead");
    expect(r.parts).toEqual(["runs", "a/b"]);
    expect(r.query.get("flow")).toBe("order-flow");
    expect(r.query.get("status")).toBe("dead");
  });
  it("treats an empty hash as the root", () => {
    expect(parseHash("").path).toBe("/");
    expect(parseHash("#").parts).toEqual([]);
  });
});
