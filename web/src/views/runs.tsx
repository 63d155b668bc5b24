// Runs: the run history with filters and paging (#/runs?flow=&status=&since=&until=&before=),
// and one run's page (#/runs/ID): status, input, output, the step timeline
// (attempts, retries, durations, payload sizes, captured payloads, errors),
// Cancel, and Replay from the failed step with an edited input.
import { useMemo, useState } from "react";
import { api } from "../api";
import { ago, bytes, durationUS, parseJSON, pretty, when } from "../lib/format";
import { failedStepInput, replayMarks } from "../lib/runs";
import { href, navigate, type Route } from "../router";
import type { FlowRow } from "./flows";
import { Confirm, Empty, ErrorBox, JsonEditor, JsonView, Show, StatusBadge, errorText, shortID, useLoad, usePoll } from "./ops-ui";

export interface Run {
  id: string;
  flow: string;
  version: number;
  status: string;
  trigger_kind: string;
  idempotency_key?: string;
  input?: unknown;
  output?: unknown;
  error_code?: string;
  error_message?: string;
  failed_step?: string;
  override?: { step_key: string; input: unknown };
  sync: boolean;
  created_at: string;
  started_at: string;
  finished_at?: string;
}

export interface Attempt {
  run_id: string;
  step: string;
  step_key: string;
  kind: string;
  attempt: number;
  status: string; // ok | error | waiting
  worker?: string;
  started_at: string;
  finished_at: string;
  duration_us: number;
  input_size: number;
  output_size: number;
  error_class?: string;
  error_message?: string;
  input?: unknown;
  output?: unknown;
}

export const runStatuses = ["queued", "running", "succeeded", "failed", "dead", "canceled"];
export const unfinished = (s: string) => s === "queued" || s === "running";
const replayable = (s: string) => s === "dead" || s === "failed" || s === "canceled";

/** t parses an RFC 3339 time; the zero time ("0001-01-01...", a run not started) is NaN. */
function t(iso?: string): number {
  if (!iso || iso.startsWith("0001-")) return NaN;
  return Date.parse(iso);
}

function runDuration(r: Run): string {
  const s = t(r.started_at);
  const f = t(r.finished_at);
  if (Number.isNaN(s)) return "";
  if (Number.isNaN(f)) return unfinished(r.status) ? "running " + durationUS((Date.now() - s) * 1000) : "";
  return durationUS((f - s) * 1000);
}

export function RunsView({ route }: { route: Route }) {
  if (route.parts[1]) return <RunPage key={route.parts[1]} id={route.parts[1]} />;
  return <RunList route={route} />;
}

const presets: [string, string][] = [
  ["", "Any time"],
  ["15m", "Last 15 minutes"],
  ["1h", "Last hour"],
  ["24h", "Last 24 hours"],
  ["7d", "Last 7 days"],
  ["30d", "Last 30 days"],
];

// toLocalInput turns an RFC 3339 time into a datetime-local input's value.
function toLocalInput(iso: string | null): string {
  const ms = t(iso ?? "");
  if (Number.isNaN(ms)) return "";
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function RunList({ route }: { route: Route }) {
  const q = route.query;
  const flow = q.get("flow") ?? "";
  const status = q.get("status") ?? "";
  const since = q.get("since") ?? "";
  const until = q.get("until") ?? "";
  const before = q.get("before") ?? "";
  const [stack, setStack] = useState<string[]>([]);
  const [custom, setCustom] = useState(() => !!until || (!!since && !presets.some(([v]) => v === since)));
  const setQuery = (changes: Record<string, string>, keepPage = false) => {
    const nq = new URLSearchParams(q);
    for (const [k, v] of Object.entries(changes)) {
      if (v) nq.set(k, v);
      else nq.delete(k);
    }
    if (!keepPage) {
      nq.delete("before");
      setStack([]);
    }
    const s = nq.toString();
    navigate("/runs" + (s ? "?" + s : ""));
  };
  const flows = useLoad((signal) => api<{ flows: FlowRow[] }>("/api/flows", { signal }), []);
  const l = useLoad(
    (signal) => {
      const p = new URLSearchParams({ limit: "50" });
      if (flow) p.set("flow", flow);
      if (status) p.set("status", status);
      if (since) p.set("since", since);
      if (until) p.set("until", until);
      if (before) p.set("before", before);
      return api<{ runs: Run[] | null; next_cursor?: string; note?: string }>("/api/runs?" + p, { signal });
    },
    [flow, status, since, until, before],
  );
  const live = (l.data?.runs ?? []).some((r) => unfinished(r.status));
  usePoll(live, 2000, () => l.reload(true));
  const filtered = !!(flow || status || since || until);
  return (
    <section>
      <header className="pagehead">
        <h1>Runs</h1>
        <span className="grow" />
        <button className="secondary" onClick={() => l.reload()}>
          Refresh
        </button>
      </header>
      <div className="toolbar" role="group" aria-label="Filter runs">
        <label>
          Flow
          <select value={flow} onChange={(e) => setQuery({ flow: e.target.value })} aria-label="Flow">
            <option value="">All flows</option>
            {(flows.data?.flows ?? []).map((f) => (
              <option key={f.name} value={f.name}>
                {f.name}
              </option>
            ))}
            {flow && !(flows.data?.flows ?? []).some((f) => f.name === flow) && <option value={flow}>{flow}</option>}
          </select>
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => setQuery({ status: e.target.value })} aria-label="Status">
            <option value="">Any status</option>
            {runStatuses.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Started
          <select
            aria-label="Time range"
            value={custom ? "custom" : since}
            onChange={(e) => {
              if (e.target.value === "custom") {
                setCustom(true);
                return;
              }
              setCustom(false);
              setQuery({ since: e.target.value, until: "" });
            }}
          >
            {presets.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
            <option value="custom">Between…</option>
          </select>
        </label>
        {custom && (
          <>
            <label>
              From
              <input type="datetime-local" aria-label="Started after" value={toLocalInput(since)} onChange={(e) => setQuery({ since: e.target.value ? new Date(e.target.value).toISOString().replace(/\.\d+Z$/, "Z") : "" })} />
            </label>
            <label>
              To
              <input type="datetime-local" aria-label="Started before" value={toLocalInput(until)} onChange={(e) => setQuery({ until: e.target.value ? new Date(e.target.value).toISOString().replace(/\.\d+Z$/, "Z") : "" })} />
            </label>
          </>
        )}
        {filtered && (
          <button
            className="secondary"
            onClick={() => {
              setCustom(false);
              setQuery({ flow: "", status: "", since: "", until: "" });
            }}
          >
            Clear filters
          </button>
        )}
      </div>
      <Show l={l} what="runs">
        {(d) => {
          const runs = d.runs ?? [];
          return (
            <>
              {d.note && <p className="muted">{d.note}</p>}
              {runs.length === 0 ? (
                <Empty>
                  {before ? (
                    <>No older runs. <button className="linkish" onClick={() => setQuery({})}>Back to the newest</button></>
                  ) : filtered ? (
                    <>No runs match these filters. Widen the time range or clear the filters.</>
                  ) : (
                    <>
                      No runs yet. Fire a flow's webhook (<code>curl -X POST /hooks/NAME</code>), use “Run now” on a flow with a manual trigger in{" "}
                      <a href={href("/flows")}>Flows</a>, or wait for a schedule.
                    </>
                  )}
                </Empty>
              ) : (
                <RunTable runs={runs} />
              )}
              <div className="toolbar" role="navigation" aria-label="Pages of runs">
                <button className="secondary" disabled={!before} onClick={() => setQuery({})}>
                  Newest
                </button>
                <button
                  className="secondary"
                  disabled={stack.length === 0}
                  onClick={() => {
                    const prev = stack[stack.length - 1];
                    setStack(stack.slice(0, -1));
                    setQuery({ before: prev }, true);
                  }}
                >
                  ← Newer
                </button>
                <button
                  className="secondary"
                  disabled={!d.next_cursor}
                  onClick={() => {
                    setStack([...stack, before]);
                    setQuery({ before: d.next_cursor! }, true);
                  }}
                >
                  Older →
                </button>
                {live && <span className="muted small">Refreshing while runs are in progress…</span>}
              </div>
            </>
          );
        }}
      </Show>
    </section>
  );
}

function RunTable({ runs }: { runs: Run[] }) {
  return (
    <table className="table">
      <thead>
        <tr>
          <th>Run</th>
          <th>Flow</th>
          <th>Status</th>
          <th>Trigger</th>
          <th>Created</th>
          <th className="num">Duration</th>
          <th>Error</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id}>
            <td>
              <a href={href("/runs/" + r.id)} className="mono small" aria-label={`Run ${r.id}`}>
                {r.id}
              </a>
            </td>
            <td>
              <a href={href("/flows/" + encodeURIComponent(r.flow))}>{r.flow}</a> <span className="sub">v{r.version}</span>
            </td>
            <td>
              <StatusBadge status={r.status} />
            </td>
            <td>{r.trigger_kind}</td>
            <td title={when(r.created_at)}>
              {when(r.created_at)} <span className="sub">{ago(r.created_at)}</span>
            </td>
            <td className="num">{runDuration(r)}</td>
            <td className="error small">{r.error_message ? (r.failed_step ? `${r.failed_step}: ` : "") + r.error_message : ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RunPage({ id }: { id: string }) {
  const l = useLoad((signal) => api<{ run: Run; steps: Attempt[] | null }>("/api/runs/" + encodeURIComponent(id), { signal }), [id]);
  const status = l.data?.run.status ?? "";
  usePoll(unfinished(status), 1000, () => l.reload(true));
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [busy, setBusy] = useState(false);
  const [actionErr, setActionErr] = useState<unknown>(null);
  const [replaying, setReplaying] = useState(false);
  const [notice, setNotice] = useState("");
  const cancel = async () => {
    setBusy(true);
    setActionErr(null);
    try {
      await api("/api/runs/" + encodeURIComponent(id) + "/cancel", { method: "POST" });
      setNotice("Run canceled.");
      l.reload(true);
    } catch (e) {
      setActionErr(e);
    } finally {
      setBusy(false);
      setConfirmCancel(false);
    }
  };
  return (
    <section>
      <header className="pagehead">
        <h1>
          <a href={href("/runs")}>Runs</a> / <span className="mono">{id}</span>
        </h1>
        <span className="grow" />
        {l.data && unfinished(status) && (
          <button className="danger" onClick={() => setConfirmCancel(true)}>
            Cancel run
          </button>
        )}
        {l.data && replayable(status) && !replaying && <button onClick={() => setReplaying(true)}>Replay…</button>}
      </header>
      {notice && (
        <p className="ok" role="status">
          {notice}
        </p>
      )}
      {actionErr !== null && <ErrorBox error={actionErr} />}
      <Show l={l} what="the run">
        {({ run, steps }) => (
          <>
            <RunSummary run={run} />
            {replaying && (
              <div className="section card">
                <ReplayForm
                  run={run}
                  attempts={steps ?? []}
                  onCancel={() => setReplaying(false)}
                  onReplayed={(newID) => {
                    setReplaying(false);
                    setNotice("Replay queued: the run resumes at its failed step.");
                    if (newID !== id) navigate("/runs/" + newID);
                    else l.reload(true);
                  }}
                />
              </div>
            )}
            <div className="section">
              <h2>Steps</h2>
              <Timeline run={run} attempts={steps ?? []} />
            </div>
            <div className="grid2">
              <div className="section">
                <h2>Input</h2>
                <p className="muted small">The trigger event the run started from (body, headers, query).</p>
                <JsonView value={run.input} label="Run input" />
              </div>
              <div className="section">
                <h2>Output</h2>
                <JsonView value={run.output} label="Run output" />
              </div>
            </div>
            {run.override && (
              <div className="section">
                <h2>Replay input</h2>
                <p className="muted small">This run was replayed with this input for step {run.override.step_key}.</p>
                <JsonView value={run.override.input} label="Replay input" />
              </div>
            )}
          </>
        )}
      </Show>
      <Confirm open={confirmCancel} title="Cancel this run?" action="Cancel run" danger busy={busy} onConfirm={cancel} onClose={() => !busy && setConfirmCancel(false)}>
        <p>The run stops at its current step and is marked canceled. Steps that already ran are not undone. You can replay it later.</p>
      </Confirm>
    </section>
  );
}

function RunSummary({ run }: { run: Run }) {
  return (
    <div className="card">
      <dl className="kv">
        <dt>Status</dt>
        <dd aria-label="Run status">
          <StatusBadge status={run.status} />
          {unfinished(run.status) && <span className="muted small"> (refreshing)</span>}
        </dd>
        <dt>Flow</dt>
        <dd>
          <a href={href("/flows/" + encodeURIComponent(run.flow))}>{run.flow}</a> v{run.version}
        </dd>
        <dt>Trigger</dt>
        <dd>
          {run.trigger_kind}
          {run.sync ? " (synchronous)" : ""}
        </dd>
        <dt>Created</dt>
        <dd>
          {when(run.created_at)} <span className="muted">{ago(run.created_at)}</span>
        </dd>
        {!Number.isNaN(t(run.finished_at)) && (
          <>
            <dt>Finished</dt>
            <dd>{when(run.finished_at)}</dd>
          </>
        )}
        <dt>Duration</dt>
        <dd>{runDuration(run) || "—"}</dd>
        {run.idempotency_key && (
          <>
            <dt>Idempotency key</dt>
            <dd className="mono">{run.idempotency_key}</dd>
          </>
        )}
        {(run.error_code || run.error_message) && (
          <>
            <dt>Error</dt>
            <dd className="error" role="note">
              {run.failed_step && (
                <>
                  step <strong>{run.failed_step}</strong>:{" "}
                </>
              )}
              {run.error_message} {run.error_code && <code>{run.error_code}</code>}
            </dd>
          </>
        )}
      </dl>
    </div>
  );
}

/** Timeline draws each step attempt as a bar on the run's time axis, retries under their step. */
function Timeline({ run, attempts }: { run: Run; attempts: Attempt[] }) {
  const rows = useMemo(() => [...attempts].sort((a, b) => t(a.started_at) - t(b.started_at) || a.attempt - b.attempt), [attempts]);
  if (rows.length === 0) {
    return (
      <Empty>
        {unfinished(run.status) ? "No step has finished yet; this page refreshes on its own." : "No step attempts were recorded for this run (its capture policy may be none)."}
      </Empty>
    );
  }
  const starts = rows.map((a) => t(a.started_at)).filter((x) => !Number.isNaN(x));
  const ends = rows.map((a) => t(a.finished_at)).filter((x) => !Number.isNaN(x));
  const rs = t(run.started_at);
  const t0 = Math.min(...starts, Number.isNaN(rs) ? Infinity : rs);
  let t1 = Math.max(...ends, ...starts);
  if (unfinished(run.status)) t1 = Math.max(t1, Date.now());
  const span = Math.max(t1 - t0, 1);
  const replayed = replayMarks(rows);
  return (
    <div>
      <table className="timeline" aria-label="Step timeline">
        <thead>
          <tr>
            <th>Step</th>
            <th>Attempt</th>
            <th>Status</th>
            <th>
              <div className="axis">
                <span>0</span>
                <span>{durationUS(span * 1000)}</span>
              </div>
            </th>
            <th>Duration</th>
            <th>In / out</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((a, i) => {
            const s = t(a.started_at);
            const left = Number.isNaN(s) ? 0 : ((s - t0) / span) * 100;
            const width = Math.max((a.duration_us / 1000 / span) * 100, 0.4);
            const isRetry = a.attempt > 1;
            const failedHere = (run.status === "dead" || run.status === "failed") && run.failed_step === a.step_key && a.status === "error";
            return (
              <tr key={i} className={isRetry ? "retry" : ""}>
                <td>
                  <span className="mono">{isRetry ? "↻ " : ""}{a.step_key}</span> <span className="sub">{a.kind}</span>
                  {failedHere && <span className="sub error"> (failed step)</span>}
                </td>
                <td>
                  {a.attempt}
                  {a.attempt > 1 && <span className="sub"> (retry)</span>}
                  {replayed[i] && <span className="pill" title="Run again by a replay">replay</span>}
                </td>
                <td>
                  <span className={"badge " + (a.status === "ok" ? "succeeded" : a.status === "error" ? "failed" : "running")}>{a.status}</span>
                  {a.error_class && <div className="sub">{a.error_class}</div>}
                </td>
                <td className="barcell">
                  <div className="track" title={`${when(a.started_at)} + ${durationUS(a.duration_us)}`}>
                    <div className={"bar " + a.status} style={{ left: `${Math.min(left, 99.6)}%`, width: `${Math.min(width, 100 - Math.min(left, 99.6))}%` }} />
                  </div>
                  {a.error_message && <div className="err small">{a.error_message}</div>}
                  {(a.input !== undefined || a.output !== undefined) && (
                    <details>
                      <summary>Captured payloads</summary>
                      {a.input !== undefined && (
                        <>
                          <div className="sub">input</div>
                          <JsonView value={a.input} label={`Input of ${a.step_key} attempt ${a.attempt}`} />
                        </>
                      )}
                      {a.output !== undefined && (
                        <>
                          <div className="sub">output</div>
                          <JsonView value={a.output} label={`Output of ${a.step_key} attempt ${a.attempt}`} />
                        </>
                      )}
                    </details>
                  )}
                </td>
                <td className="num">{durationUS(a.duration_us)}</td>
                <td className="num small">
                  {bytes(a.input_size)} / {bytes(a.output_size)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {rows.every((a) => a.input === undefined && a.output === undefined) && (
        <p className="muted small">
          Payloads are not captured for this run (the flow's <code>capture</code> is not <code>full</code>); sizes are shown.
        </p>
      )}
    </div>
  );
}

/**
 * ReplayForm replays a dead, failed or canceled run as the engine does: the
 * run resumes at its first unfinished step (steps that succeeded are not
 * run again), and an edited input replaces the input of the failed step.
 * Pass attempts when the caller has them; otherwise the form loads the run.
 */
export function ReplayForm({ run, attempts, onReplayed, onCancel }: { run: Run; attempts?: Attempt[]; onReplayed: (runID: string, status: string) => void; onCancel?: () => void }) {
  const l = useLoad(
    async (signal) => (attempts ? { run, steps: attempts } : api<{ run: Run; steps: Attempt[] | null }>("/api/runs/" + encodeURIComponent(run.id), { signal })),
    [run.id, attempts],
  );
  return (
    <Show l={l} what="the run's steps">
      {(d) => <ReplayEditor run={d.run} attempts={d.steps ?? []} onReplayed={onReplayed} onCancel={onCancel} />}
    </Show>
  );
}

function ReplayEditor({ run, attempts, onReplayed, onCancel }: { run: Run; attempts: Attempt[]; onReplayed: (runID: string, status: string) => void; onCancel?: () => void }) {
  const captured = failedStepInput(run, attempts);
  // Replaying from the DLQ is mostly about a new input: start from the captured one when there is one.
  const [edit, setEdit] = useState(captured !== undefined);
  const [text, setText] = useState(() => (captured !== undefined ? pretty(captured) : "{\n  \n}"));
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState("");
  const check = parseJSON(text);
  const go = async () => {
    setErr("");
    let body: { input?: unknown } = {};
    if (edit) {
      if (!check.ok) return setErr(check.message);
      body = { input: check.value };
    }
    setBusy(true);
    try {
      const r = await api<{ run_id: string; status: string }>("/api/runs/" + encodeURIComponent(run.id) + "/replay", { body });
      onReplayed(r.run_id, r.status);
    } catch (e) {
      setErr(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="replay" aria-label={`Replay run ${run.id}`} role="group">
      <h3>Replay run {shortID(run.id)}</h3>
      <p>
        The run resumes at {run.failed_step ? <>its failed step <code>{run.failed_step}</code></> : "its first unfinished step"}; steps that succeeded are not run again.
      </p>
      {run.failed_step ? (
        <label className="check row">
          <input type="checkbox" checked={edit} onChange={(e) => setEdit(e.target.checked)} />
          Give step {run.failed_step} a new input
        </label>
      ) : (
        <p className="muted small">This run has no failed step, so it is replayed as recorded.</p>
      )}
      {edit && (
        <>
          {captured === undefined && (
            <p className="muted small">
              The failed step's input was not captured (the flow's <code>capture</code> is not <code>full</code>). Write the input the step should get: for a call, its <code>with:</code> as
              JSON. The run's trigger event is below for reference.
            </p>
          )}
          <JsonEditor label={`Input for step ${run.failed_step} (JSON)`} value={text} onChange={setText} rows={10} />
          {captured === undefined && run.input !== undefined && (
            <details>
              <summary>The run's trigger event</summary>
              <JsonView value={run.input} label="Trigger event" />
            </details>
          )}
        </>
      )}
      {err && (
        <p className="error" role="alert">
          {err}
        </p>
      )}
      <div className="toolbar">
        <button onClick={go} disabled={busy || (edit && !check.ok)}>
          {busy ? "Replaying…" : edit ? "Replay with this input" : "Replay"}
        </button>
        {onCancel && (
          <button className="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </div>
  );
}
