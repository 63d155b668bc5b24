// The monitoring page's data: GET /api/metrics series (docs/api.md,
// "Monitoring") turned into chart columns, summaries, and the MCP call log
// aggregated by key and tool. Pure functions: test/monitoring-data.test.ts.

export interface Bucket {
  t: string;
  runs: number;
  finished: number;
  failed: number;
  dead: number;
  error_rate: number;
  p50_ms?: number;
  p95_ms?: number;
  p99_ms?: number;
  errors_by_class?: Record<string, number>;
}

export interface BandPoint {
  t: string;
  expected: number | null;
  low: number | null;
  high: number | null;
  score?: number;
}

export interface FlowSeries {
  flow: string;
  buckets: Bucket[];
  band?: Record<string, BandPoint[]>;
}

export interface MetricsAnswer {
  since: string;
  until: string;
  resolution: string;
  series: FlowSeries[];
  overall?: FlowSeries;
  note?: string;
}

export type RangeKey = "1h" | "24h" | "7d";

export const RANGES: Record<RangeKey, { label: string; since: string; resolution: string; ms: number }> = {
  "1h": { label: "1 hour", since: "1h", resolution: "1m", ms: 3600_000 },
  "24h": { label: "24 hours", since: "24h", resolution: "15m", ms: 86400_000 },
  "7d": { label: "7 days", since: "7d", resolution: "1h", ms: 7 * 86400_000 },
};

/** metricsPath is the GET /api/metrics query for a range and flow ("" = all flows). */
export function metricsPath(range: RangeKey, flow: string): string {
  const r = RANGES[range];
  const q = new URLSearchParams({ since: r.since, resolution: r.resolution, band: "runs,p95_ms" });
  if (flow) q.set("flow", flow);
  else q.set("overall", "true");
  return "/api/metrics?" + q.toString();
}

export type Column = (number | null)[];

/** Columns are uPlot's data: x in Unix seconds, then one column per series. */
export interface ChartColumns {
  x: number[];
  cols: Record<string, Column>;
}

/**
 * columns turns a series into chart columns: runs, failed, p50/p95/p99
 * (null where a bucket has no finished run) and the band's expected, low
 * and high for runs and p95 (null until the detector is warm).
 */
export function columns(s: FlowSeries): ChartColumns {
  const x = s.buckets.map((b) => Math.floor(Date.parse(b.t) / 1000));
  const pick = (f: (b: Bucket) => number | undefined | null): Column => s.buckets.map((b) => (f(b) ?? null) as number | null);
  const cols: Record<string, Column> = {
    runs: pick((b) => b.runs),
    failed: pick((b) => b.failed),
    p50: pick((b) => b.p50_ms),
    p95: pick((b) => b.p95_ms),
    p99: pick((b) => b.p99_ms),
  };
  for (const metric of ["runs", "p95_ms"]) {
    const pts = s.band?.[metric];
    const key = metric === "runs" ? "runs" : "p95";
    const byT = new Map((pts ?? []).map((p) => [p.t, p]));
    cols[key + "_expected"] = s.buckets.map((b) => byT.get(b.t)?.expected ?? null);
    cols[key + "_low"] = s.buckets.map((b) => byT.get(b.t)?.low ?? null);
    cols[key + "_high"] = s.buckets.map((b) => byT.get(b.t)?.high ?? null);
  }
  return { x, cols };
}

/** hasBand says whether any bucket of the column has a band value. */
export function hasBand(c: ChartColumns, key: "runs" | "p95"): boolean {
  return (c.cols[key + "_high"] ?? []).some((v) => v !== null);
}

export interface Summary {
  runs: number;
  failed: number;
  dead: number;
  errorRate: number | null;
  worstP95: number | null;
  worstP99: number | null;
  /** buckets whose value the detector scored as anomalous (score >= 0.55) */
  anomalies: number;
}

/** summarize totals a series over the range. */
export function summarize(s: FlowSeries | undefined): Summary {
  const out: Summary = { runs: 0, failed: 0, dead: 0, errorRate: null, worstP95: null, worstP99: null, anomalies: 0 };
  if (!s) return out;
  let finished = 0;
  for (const b of s.buckets) {
    out.runs += b.runs;
    out.failed += b.failed;
    out.dead += b.dead;
    finished += b.finished;
    if (b.p95_ms !== undefined && (out.worstP95 === null || b.p95_ms > out.worstP95)) out.worstP95 = b.p95_ms;
    if (b.p99_ms !== undefined && (out.worstP99 === null || b.p99_ms > out.worstP99)) out.worstP99 = b.p99_ms;
  }
  if (finished > 0) out.errorRate = out.failed / finished;
  for (const pts of Object.values(s.band ?? {})) for (const p of pts) if ((p.score ?? 0) >= 0.55) out.anomalies++;
  return out;
}

/** combine sums several flows' series into one (no percentiles: those cannot be added). */
export function combine(series: FlowSeries[], flow = "*"): FlowSeries {
  const byT = new Map<string, Bucket>();
  for (const s of series)
    for (const b of s.buckets) {
      const c = byT.get(b.t) ?? { t: b.t, runs: 0, finished: 0, failed: 0, dead: 0, error_rate: 0 };
      c.runs += b.runs;
      c.finished += b.finished;
      c.failed += b.failed;
      c.dead += b.dead;
      byT.set(b.t, c);
    }
  const buckets = [...byT.values()].sort((a, b) => a.t.localeCompare(b.t));
  for (const b of buckets) b.error_rate = b.finished ? b.failed / b.finished : 0;
  return { flow, buckets };
}

/** A tool call from GET /api/mcp/calls (API contract item 7). */
export interface McpCall {
  id: string;
  at: string;
  toolset?: string;
  /** the API key's id ("anonymous" without one) */
  key: string;
  tool: string;
  status: string;
  duration_ms: number;
  error?: string | null;
}

export interface TrafficRow {
  key: string;
  tool: string;
  calls: number;
  errors: number;
  p95_ms: number | null;
  last: string;
}

const okStatuses = new Set(["ok", "succeeded", "success"]);

/** isError says whether a logged call failed. */
export function isError(c: McpCall): boolean {
  return !!c.error || !okStatuses.has(String(c.status).toLowerCase());
}

/** traffic aggregates tool calls by key and tool, busiest first. */
export function traffic(calls: McpCall[]): TrafficRow[] {
  const groups = new Map<string, { key: string; tool: string; durs: number[]; errors: number; last: string }>();
  for (const c of calls) {
    const key = c.key || "(no key)";
    const id = key + "\u0000" + c.tool;
    const g = groups.get(id) ?? { key, tool: c.tool, durs: [], errors: 0, last: "" };
    g.durs.push(c.duration_ms);
    if (isError(c)) g.errors++;
    if (c.at > g.last) g.last = c.at;
    groups.set(id, g);
  }
  return [...groups.values()]
    .map((g) => ({ key: g.key, tool: g.tool, calls: g.durs.length, errors: g.errors, p95_ms: percentile(g.durs, 0.95), last: g.last }))
    .sort((a, b) => b.calls - a.calls || a.key.localeCompare(b.key) || a.tool.localeCompare(b.tool));
}

/** byKey totals the traffic rows per key. */
export function byKey(rows: TrafficRow[]): { key: string; calls: number; errors: number; tools: number }[] {
  const m = new Map<string, { key: string; calls: number; errors: number; tools: number }>();
  for (const r of rows) {
    const g = m.get(r.key) ?? { key: r.key, calls: 0, errors: 0, tools: 0 };
    g.calls += r.calls;
    g.errors += r.errors;
    g.tools++;
    m.set(r.key, g);
  }
  return [...m.values()].sort((a, b) => b.calls - a.calls || a.key.localeCompare(b.key));
}

/** percentile is the nearest-rank percentile (as the server computes p95). */
export function percentile(vs: number[], q: number): number | null {
  const xs = vs.filter((v) => typeof v === "number" && isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  return xs[Math.max(0, Math.ceil(q * xs.length) - 1)];
}
