import { describe, expect, it } from "vitest";
import { byKey, columns, combine, hasBand, metricsPath, percentile, summarize, traffic, type FlowSeries, type McpCall } from "../src/views/monitoring-data";

const series: FlowSeries = {
  flow: "orders",
  buckets: [
    { t: "2026-03-02T08:00:00Z", runs: 10, finished: 10, failed: 1, dead: 0, error_rate: 0.1, p50_ms: 40, p95_ms: 60, p99_ms: 61 },
    { t: "2026-03-02T08:01:00Z", runs: 0, finished: 0, failed: 0, dead: 0, error_rate: 0 },
    { t: "2026-03-02T08:02:00Z", runs: 4, finished: 3, failed: 2, dead: 1, error_rate: 0.667, p50_ms: 30, p95_ms: 90, p99_ms: 95 },
  ],
  band: {
    runs: [
      { t: "2026-03-02T08:00:00Z", expected: null, low: null, high: null },
      { t: "2026-03-02T08:01:00Z", expected: 9, low: 5, high: 13, score: 0.9 },
      { t: "2026-03-02T08:02:00Z", expected: 8, low: 4, high: 12, score: 0.1 },
    ],
  },
};

describe("metrics", () => {
  it("asks for the range's resolution, the bands, and overall without a flow", () => {
    expect(metricsPath("24h", "")).toBe("/api/metrics?since=24h&resolution=15m&band=runs%2Cp95_ms&overall=true");
    expect(metricsPath("1h", "orders")).toBe("/api/metrics?since=1h&resolution=1m&band=runs%2Cp95_ms&flow=orders");
  });
  it("turns buckets into chart columns with gaps where there is no value", () => {
    const c = columns(series);
    expect(c.x).toEqual([1772438400, 1772438460, 1772438520]);
    expect(c.cols.runs).toEqual([10, 0, 4]);
    expect(c.cols.p95).toEqual([60, null, 90]);
    expect(c.cols.runs_high).toEqual([null, 13, 12]);
    expect(c.cols.p95_high).toEqual([null, null, null]);
    expect(hasBand(c, "runs")).toBe(true);
    expect(hasBand(c, "p95")).toBe(false);
  });
  it("summarizes a range", () => {
    expect(summarize(series)).toEqual({ runs: 14, failed: 3, dead: 1, errorRate: 3 / 13, worstP95: 90, worstP99: 95, anomalies: 1 });
    expect(summarize(undefined).runs).toBe(0);
    expect(summarize({ flow: "x", buckets: [] }).errorRate).toBeNull();
  });
  it("adds flows up bucket by bucket", () => {
    const c = combine([series, { flow: "b", buckets: [{ t: "2026-03-02T08:00:00Z", runs: 2, finished: 2, failed: 2, dead: 0, error_rate: 1 }] }]);
    expect(c.buckets[0]).toMatchObject({ runs: 12, failed: 3, finished: 12, error_rate: 0.25 });
    expect(c.buckets).toHaveLength(3);
  });
});

describe("MCP traffic", () => {
  const call = (key: string, tool: string, status: string, ms: number, at = "2026-03-02T08:00:00Z", error?: string): McpCall => ({ id: key + tool + ms, at, key, tool, status, duration_ms: ms, error });
  const calls = [
    call("k1", "crm__get", "succeeded", 10),
    call("k1", "crm__get", "succeeded", 30, "2026-03-02T08:05:00Z"),
    call("k1", "crm__get", "failed", 20, "2026-03-02T08:01:00Z", "upstream 500"),
    call("k2", "crm__get", "ok", 5),
    call("k1", "erp__list", "succeeded", 7),
  ];
  it("aggregates by key and tool, busiest first", () => {
    const rows = traffic(calls);
    expect(rows[0]).toEqual({ key: "k1", tool: "crm__get", calls: 3, errors: 1, p95_ms: 30, last: "2026-03-02T08:05:00Z" });
    expect(rows.map((r) => r.key + "/" + r.tool)).toEqual(["k1/crm__get", "k1/erp__list", "k2/crm__get"]);
    expect(byKey(rows)).toEqual([
      { key: "k1", calls: 4, errors: 1, tools: 2 },
      { key: "k2", calls: 1, errors: 0, tools: 1 },
    ]);
  });
  it("counts calls without a key under one row", () => {
    expect(traffic([call("", "t", "ok", 1)])[0].key).toBe("(no key)");
  });
  it("takes nearest-rank percentiles", () => {
    expect(percentile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(percentile([], 0.95)).toBeNull();
    expect(percentile([1, NaN, 2], 0.99)).toBe(2);
  });
});
