// Monitoring (#/monitoring?range=1h&flow=NAME): runs, failures and latency
// per flow and overall from GET /api/metrics with the anomaly detector's
// expected band, the alerts with acknowledge, and MCP traffic by key and
// tool (GET /api/mcp/calls, aggregated here).
import { useEffect, useMemo, useRef, useState } from "react";
import { api } from "../api";
import { href, navigate, type Route } from "../router";
import type { ApiError } from "../api";
import type { ChartHandle, ChartSpec } from "./chart";
import { ErrorNote, Loading, asApiError, fmtMS, fmtTime, useApi } from "./kit";
import { RANGES, byKey, columns, hasBand, metricsPath, summarize, traffic, type FlowSeries, type McpCall, type MetricsAnswer, type RangeKey, type Summary } from "./monitoring-data";
import "./monitoring.css";

const REFRESH_MS = 30_000;

export function MonitoringView({ route }: { route: Route }) {
  const range = (Object.keys(RANGES).includes(route.query.get("range") ?? "") ? route.query.get("range") : "1h") as RangeKey;
  const flow = route.query.get("flow") ?? "";
  const go = (p: { range?: RangeKey; flow?: string }) => {
    const q = new URLSearchParams();
    const r = p.range ?? range;
    const f = p.flow ?? flow;
    if (r !== "1h") q.set("range", r);
    if (f) q.set("flow", f);
    const qs = q.toString();
    navigate("/monitoring" + (qs ? "?" + qs : ""));
  };
  const metrics = useApi<MetricsAnswer>(metricsPath(range, flow));
  const flows = useApi<{ flows: { name: string }[] }>("/api/flows");
  const [tick, setTick] = useState(0);
  const { reload } = metrics;
  useEffect(() => {
    const t = setInterval(() => {
      if (document.visibilityState === "visible") {
        reload();
        setTick((n) => n + 1);
      }
    }, REFRESH_MS);
    return () => clearInterval(t);
  }, [reload]);
  const names = useMemo(() => {
    const s = new Set<string>((flows.data?.flows ?? []).map((f) => f.name));
    for (const fs of metrics.data?.series ?? []) s.add(fs.flow);
    if (flow) s.add(flow);
    return [...s].sort();
  }, [flows.data, metrics.data, flow]);

  const main: FlowSeries | undefined = flow ? metrics.data?.series.find((s) => s.flow === flow) : metrics.data?.overall;
  const sum = summarize(main);

  return (
    <section className="mon-page">
      <header className="pagehead">
        <h1>Monitoring</h1>
        <span className="grow" />
        <div className="seg" role="group" aria-label="Time range">
          {(Object.keys(RANGES) as RangeKey[]).map((k) => (
            <button key={k} type="button" aria-pressed={k === range} onClick={() => go({ range: k })} title={RANGES[k].label}>
              {k}
            </button>
          ))}
        </div>
        <label className="mon-flowpick">
          Flow
          <select value={flow} onChange={(e) => go({ flow: e.target.value })}>
            <option value="">All flows</option>
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            metrics.reload();
            setTick((n) => n + 1);
          }}
        >
          Refresh
        </button>
      </header>
      {metrics.err ? (
        <ErrorNote err={metrics.err} what="Could not load the metrics" retry={metrics.reload} />
      ) : !metrics.data ? (
        <Loading what="metrics" />
      ) : (
        <>
          {metrics.data.note && <p className="muted">{metrics.data.note}</p>}
          <h2 className="mon-h2">
            {flow ? (
              <>
                Flow <code>{flow}</code> <a href={href("/runs?flow=" + encodeURIComponent(flow))}>runs</a>
              </>
            ) : (
              "All flows"
            )}{" "}
            <span className="muted">
              · last {RANGES[range].label}, {metrics.data.resolution.replace(/m0s$/, "m").replace(/h0m$/, "h")} intervals
            </span>
          </h2>
          <SummaryTiles s={sum} />
          {!main || (sum.runs === 0 && !hasBand(columns(main), "runs")) ? (
            <p className="empty">
              No runs {flow ? <>of <code>{flow}</code> </> : ""}in the last {RANGES[range].label}. Fire a flow (<code>POST /hooks/NAME</code>, or <code>weft flow run NAME</code>) and its runs,
              failures and latency show here; pick a longer range to see older runs.
            </p>
          ) : (
            <FlowCharts s={main} />
          )}
          {!flow && metrics.data.series.length > 0 && <PerFlow series={metrics.data.series} onPick={(f) => go({ flow: f })} />}
        </>
      )}
      <Alerts tick={tick} />
      <McpTraffic range={range} tick={tick} />
    </section>
  );
}

function SummaryTiles({ s }: { s: Summary }) {
  const tiles: [string, string, string?][] = [
    ["Runs", String(s.runs)],
    ["Failed", String(s.failed), s.failed ? "bad" : undefined],
    ["Dead (DLQ)", String(s.dead), s.dead ? "bad" : undefined],
    ["Error rate", s.errorRate === null ? "–" : (s.errorRate * 100).toFixed(1) + " %"],
    ["Worst p95", fmtMS(s.worstP95)],
    ["Worst p99", fmtMS(s.worstP99)],
    ["Anomalous intervals", String(s.anomalies), s.anomalies ? "warn" : undefined],
  ];
  return (
    <dl className="mon-tiles" aria-label="Summary">
      {tiles.map(([k, v, cls]) => (
        <div key={k} className={"mon-tile " + (cls ?? "")}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function FlowCharts({ s }: { s: FlowSeries }) {
  const c = useMemo(() => columns(s), [s]);
  const runsBand = hasBand(c, "runs");
  const latBand = hasBand(c, "p95");
  const runsSpec = useMemo<ChartSpec>(() => {
    const lines: ChartSpec["lines"] = [
      { label: "runs", values: c.cols.runs, color: "--chart-runs", fill: true, width: 2 },
      { label: "failed", values: c.cols.failed, color: "--chart-failed", width: 2 },
    ];
    if (!runsBand) return { x: c.x, lines, height: 220 };
    lines.push(
      { label: "expected runs", values: c.cols.runs_expected, color: "--chart-expected", dash: [4, 4], width: 1 },
      { label: "expected high", values: c.cols.runs_high, color: "--chart-band", edge: true },
      { label: "expected low", values: c.cols.runs_low, color: "--chart-band", edge: true },
    );
    return { x: c.x, lines, band: [3, 4], height: 220 };
  }, [c, runsBand]);
  const latSpec = useMemo<ChartSpec>(() => {
    const lines: ChartSpec["lines"] = [
      { label: "p50", values: c.cols.p50, color: "--chart-p50" },
      { label: "p95", values: c.cols.p95, color: "--chart-p95", width: 2 },
      { label: "p99", values: c.cols.p99, color: "--chart-p99" },
    ];
    const fmt = (v: number) => fmtMS(v);
    if (!latBand) return { x: c.x, lines, height: 220, fmt };
    lines.push(
      { label: "expected p95", values: c.cols.p95_expected, color: "--chart-expected", dash: [4, 4], width: 1 },
      { label: "expected p95 high", values: c.cols.p95_high, color: "--chart-band", edge: true },
      { label: "expected p95 low", values: c.cols.p95_low, color: "--chart-band", edge: true },
    );
    return { x: c.x, lines, band: [4, 5], height: 220, fmt };
  }, [c, latBand]);
  return (
    <div className="mon-charts">
      <Chart title="Runs and failures" spec={runsSpec} note={runsBand ? "Shaded: the range the anomaly detector expected." : "The anomaly detector's expected range shows once it has seen 60 intervals of this flow."} />
      <Chart title="Latency (created to finished)" spec={latSpec} note={latBand ? "Shaded: the p95 range the anomaly detector expected." : undefined} />
    </div>
  );
}

/** useTheme re-renders when the console's theme changes (charts read colours from CSS). */
function useTheme(): string {
  const [t, setT] = useState(() => document.documentElement.dataset.theme ?? "");
  useEffect(() => {
    const mo = new MutationObserver(() => setT(document.documentElement.dataset.theme ?? ""));
    mo.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => mo.disconnect();
  }, []);
  return t;
}

function Chart({ title, spec, note, small }: { title: string; spec: ChartSpec; note?: string; small?: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  const theme = useTheme();
  const [err, setErr] = useState("");
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let handle: ChartHandle | undefined;
    let ro: ResizeObserver | undefined;
    let gone = false;
    import("./chart")
      .then((mod) => {
        if (gone) return;
        el.replaceChildren();
        handle = mod.mount(el, spec, el.clientWidth);
        ro = new ResizeObserver(() => handle?.setSize(el.clientWidth));
        ro.observe(el);
      })
      .catch((e) => setErr("The chart could not be loaded: " + (e as Error).message));
    return () => {
      gone = true;
      ro?.disconnect();
      handle?.destroy();
    };
  }, [spec, theme]);
  return (
    <figure className={"card mon-chart" + (small ? " small" : "")} aria-label={title}>
      <figcaption>{title}</figcaption>
      {err ? (
        <p className="error" role="alert">
          {err}
        </p>
      ) : (
        <div ref={ref} className="mon-plot" />
      )}
      {note && <p className="muted mon-note">{note}</p>}
    </figure>
  );
}

function PerFlow({ series, onPick }: { series: FlowSeries[]; onPick: (f: string) => void }) {
  const rows = series
    .map((s) => ({ s, sum: summarize(s) }))
    .sort((a, b) => b.sum.runs - a.sum.runs || a.s.flow.localeCompare(b.s.flow));
  const shown = rows.slice(0, 12);
  return (
    <section className="mon-perflow" aria-label="Per flow">
      <h2 className="mon-h2">Per flow</h2>
      <div className="mon-flowgrid">
        {shown.map(({ s, sum }) => (
          <FlowCard key={s.flow} s={s} sum={sum} onPick={onPick} />
        ))}
      </div>
      {rows.length > shown.length && <p className="muted">{rows.length - shown.length} quieter flows are not drawn: pick one with the flow picker.</p>}
    </section>
  );
}

function FlowCard({ s, sum, onPick }: { s: FlowSeries; sum: Summary; onPick: (f: string) => void }) {
  const c = useMemo(() => columns(s), [s]);
  const spec = useMemo<ChartSpec>(
    () => ({
      x: c.x,
      lines: [
        { label: "runs", values: c.cols.runs, color: "--chart-runs", fill: true },
        { label: "failed", values: c.cols.failed, color: "--chart-failed" },
      ],
      height: 110,
    }),
    [c],
  );
  return (
    <div className="mon-flowcard">
      <div className="row">
        <button type="button" className="linkish mon-flowname" onClick={() => onPick(s.flow)} aria-label={"Show flow " + s.flow}>
          <code>{s.flow}</code>
        </button>
        <span className="grow" />
        <span className="muted">
          {sum.runs} {sum.runs === 1 ? "run" : "runs"} · <span className={sum.failed ? "error" : undefined}>{sum.failed} failed</span> · p95 {fmtMS(sum.worstP95)}
        </span>
      </div>
      <Chart title={"Runs of " + s.flow} spec={spec} small />
    </div>
  );
}

interface Alert {
  id: string;
  rule: string;
  flow: string;
  severity: string;
  status: string;
  value: number;
  runs: number;
  message: string;
  started_at: string;
  resolved_at?: string;
  acked_by?: string;
  run_ids?: string[];
}

function Alerts({ tick }: { tick: number }) {
  const { data, err, loading, reload } = useApi<{ alerts: Alert[] }>("/api/alerts");
  const [busy, setBusy] = useState("");
  const [ackErr, setAckErr] = useState<ApiError | null>(null);
  useEffect(() => {
    if (tick) reload();
  }, [tick, reload]);
  const ack = async (a: Alert) => {
    setBusy(a.id);
    setAckErr(null);
    try {
      const by = localStorage.getItem("weft.reviewer")?.trim() || "console";
      await api(`/api/alerts/${encodeURIComponent(a.id)}/ack?by=${encodeURIComponent(by)}`, { method: "POST" });
      reload();
    } catch (e) {
      setAckErr(asApiError(e));
    } finally {
      setBusy("");
    }
  };
  const alerts = data?.alerts ?? [];
  const open = alerts.filter((a) => a.status === "firing" && !a.acked_by).length;
  return (
    <section className="mon-alerts" aria-label="Alerts">
      <h2 className="mon-h2">
        Alerts {open > 0 && <span className="badge firing">{open} open</span>}
      </h2>
      {ackErr && <ErrorNote err={ackErr} what="Could not acknowledge the alert" />}
      {err ? (
        <ErrorNote err={err} what="Could not load the alerts" retry={reload} />
      ) : loading && !data ? (
        <Loading what="alerts" />
      ) : alerts.length === 0 ? (
        <p className="empty">
          No alerts. Alert rules (<code>alerts.rules</code> in the configuration: failure rates, bursts, anomalies, flows gone silent; see docs/monitoring.md) raise them here, and{" "}
          <code>alerts.notify</code> delivers them.
        </p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Severity</th>
              <th>Status</th>
              <th>Rule</th>
              <th>Flow</th>
              <th>What</th>
              <th>Started</th>
              <th>Acknowledged</th>
            </tr>
          </thead>
          <tbody>
            {alerts.map((a) => (
              <tr key={a.id}>
                <td>
                  <span className={"badge " + a.severity}>{a.severity || "–"}</span>
                </td>
                <td>
                  <span className={"badge " + a.status}>{a.status}</span>
                  {a.resolved_at && <div className="muted">{fmtTime(a.resolved_at)}</div>}
                </td>
                <td>{a.rule}</td>
                <td>
                  <a href={href("/monitoring?flow=" + encodeURIComponent(a.flow))}>{a.flow}</a>
                </td>
                <td className="mon-msg">{a.message}</td>
                <td>{fmtTime(a.started_at)}</td>
                <td>
                  {a.acked_by ? (
                    <span>by {a.acked_by}</span>
                  ) : (
                    <button type="button" className="secondary" disabled={busy === a.id} onClick={() => ack(a)} aria-label={`Acknowledge alert ${a.rule} on ${a.flow}`}>
                      Acknowledge
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const MAX_CALL_PAGES = 10;

function McpTraffic({ range, tick }: { range: RangeKey; tick: number }) {
  const [calls, setCalls] = useState<McpCall[] | null>(null);
  const [cut, setCut] = useState(false);
  const [err, setErr] = useState<ApiError | null>(null);
  const [keyNames, setKeyNames] = useState<Record<string, string>>({});
  useEffect(() => {
    const ctl = new AbortController();
    const since = Date.now() - RANGES[range].ms;
    (async () => {
      const out: McpCall[] = [];
      let before = "";
      let more = false;
      for (let page = 0; page < MAX_CALL_PAGES; page++) {
        const q = new URLSearchParams({ limit: "500" });
        if (before) q.set("before", before);
        const res = await api<{ calls: McpCall[]; next: string | null }>("/api/mcp/calls?" + q.toString(), { signal: ctl.signal });
        let older = false;
        for (const c of res.calls ?? []) {
          if (Date.parse(c.at) < since) older = true;
          else out.push(c);
        }
        if (older || !res.next) {
          more = false;
          break;
        }
        before = res.next;
        more = true;
      }
      setCalls(out);
      setCut(more);
      setErr(null);
    })().catch((e) => {
      if ((e as Error).name !== "AbortError") setErr(asApiError(e));
    });
    api<{ keys: { id: string; name: string }[] }>("/api/mcp/keys", { signal: ctl.signal })
      .then((r) => setKeyNames(Object.fromEntries((r.keys ?? []).map((k) => [k.id, k.name]))))
      .catch(() => {});
    return () => ctl.abort();
  }, [range, tick]);
  const rows = useMemo(() => traffic(calls ?? []), [calls]);
  const keys = useMemo(() => byKey(rows), [rows]);
  const keyLabel = (k: string) => (keyNames[k] && keyNames[k] !== k ? `${keyNames[k]} (${k})` : k);
  return (
    <section className="mon-mcp" aria-label="MCP traffic">
      <h2 className="mon-h2">
        MCP traffic <span className="muted">· agent tool calls in the last {RANGES[range].label}</span>
      </h2>
      {err ? (
        <ErrorNote err={err} what="Could not load the MCP tool-call log" />
      ) : calls === null ? (
        <Loading what="MCP traffic" />
      ) : calls.length === 0 ? (
        <p className="empty">
          No agent tool calls in this period. Create an API key under <a href={href("/mcp/keys")}>MCP</a> and point an MCP client at <code>/mcp</code>; its calls show here by key and tool.
        </p>
      ) : (
        <div className="mon-mcpgrid">
          <table className="table" aria-label="Calls by key">
            <thead>
              <tr>
                <th>Key</th>
                <th>Calls</th>
                <th>Errors</th>
                <th>Tools</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.key}>
                  <td>{keyLabel(k.key)}</td>
                  <td>{k.calls}</td>
                  <td className={k.errors ? "error" : undefined}>{k.errors}</td>
                  <td>{k.tools}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table className="table" aria-label="Calls by key and tool">
            <thead>
              <tr>
                <th>Key</th>
                <th>Tool</th>
                <th>Calls</th>
                <th>Errors</th>
                <th>p95</th>
                <th>Last</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.key + "\u0000" + r.tool}>
                  <td>{keyLabel(r.key)}</td>
                  <td>
                    <a href={href(`/mcp/calls?tool=${encodeURIComponent(r.tool)}&key=${encodeURIComponent(r.key)}`)}>
                      <code>{r.tool}</code>
                    </a>
                  </td>
                  <td>{r.calls}</td>
                  <td className={r.errors ? "error" : undefined}>{r.errors}</td>
                  <td>{fmtMS(r.p95_ms)}</td>
                  <td>{fmtTime(r.last)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cut && <p className="muted">Only the newest {MAX_CALL_PAGES * 500} calls were read; pick a shorter range for exact figures.</p>}
    </section>
  );
}
