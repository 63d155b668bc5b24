// Flows: the deployed flows with their state, last run and error rate
// (#/flows), and one flow's versions, source, diff, rollback and "Run now"
// (#/flows/NAME?v=3&from=2&to=3).
import { useMemo, useState } from "react";
import { api } from "../api";
import { diffLines, hunks, splitLines, type DiffLine } from "../lib/diff";
import { ago, parseJSON, percent, when } from "../lib/format";
import { href, navigate, type Route } from "../router";
import { Confirm, Empty, ErrorBox, JsonEditor, Show, StatusBadge, errorText, useLoad } from "./ops-ui";

export interface FlowRow {
  name: string;
  active_version: number;
  latest_version?: number;
  updated_at?: string;
  // Added by the API for the console (may be absent on an older server):
  trigger?: string;
  description?: string;
  last_run?: { id: string; status: string; created_at: string } | null;
  stats?: { window: string; runs: number; failed: number };
}

interface Version {
  version: number;
  active: boolean;
  file: string;
  created_at: string;
}

interface FlowDetail {
  name: string;
  version: number;
  active: boolean;
  file: string;
  created_at: string;
  source: string;
  versions: Version[];
  trigger_cursor?: string;
  trigger?: string;
}

export function FlowsView({ route }: { route: Route }) {
  if (route.parts[1]) return <FlowPage key={route.parts[1]} name={route.parts[1]} route={route} />;
  return <FlowList />;
}

const dash = <span className="muted" title="Not reported by this server">—</span>;

function FlowList() {
  const l = useLoad((signal) => api<{ flows: FlowRow[] }>("/api/flows", { signal }), []);
  return (
    <section>
      <header className="pagehead">
        <h1>Flows</h1>
        <span className="grow" />
        <button className="secondary" onClick={() => l.reload()}>
          Refresh
        </button>
        <a href={href("/builder")}>New flow in the builder</a>
      </header>
      <Show l={l} what="flows">
        {(d) =>
          (d.flows ?? []).length === 0 ? (
            <Empty>
              No flows yet. <a href={href("/builder")}>Open the builder</a> to make one, or deploy a YAML file with <code>weft flow deploy FILE</code>.
            </Empty>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>State</th>
                  <th>Trigger</th>
                  <th className="nowrap">Last run</th>
                  <th className="num nowrap" title="Failed runs of all runs started in the last 24 hours">Errors (24 h)</th>
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {d.flows.map((f) => (
                  <tr key={f.name}>
                    <td>
                      <a href={href("/flows/" + encodeURIComponent(f.name))}>{f.name}</a>
                      {f.description && <div className="sub">{f.description}</div>}
                    </td>
                    <td className="nowrap">
                      active v{f.active_version}
                      {f.latest_version !== undefined && f.latest_version !== f.active_version && (
                        <div className="sub" title="A newer version is deployed but not active (rolled back)">latest v{f.latest_version}</div>
                      )}
                    </td>
                    <td>{f.trigger ? <span className="pill">{f.trigger}</span> : dash}</td>
                    <td className="nowrap">
                      {f.last_run === undefined ? (
                        dash
                      ) : f.last_run === null ? (
                        <span className="muted">never run</span>
                      ) : (
                        <span className="row">
                          <a href={href("/runs/" + f.last_run.id)} title={f.last_run.id}>
                            <StatusBadge status={f.last_run.status} />
                          </a>
                          <span className="sub" title={when(f.last_run.created_at)}>
                            {ago(f.last_run.created_at)}
                          </span>
                        </span>
                      )}
                    </td>
                    <td className="num nowrap">
                      {!f.stats ? (
                        dash
                      ) : f.stats.runs === 0 ? (
                        <span className="muted">no runs</span>
                      ) : (
                        <span title={`${f.stats.failed} of ${f.stats.runs} runs failed or died in the last ${f.stats.window}`} className={f.stats.failed ? "error" : ""}>
                          {percent(f.stats.failed, f.stats.runs)} <span className="sub">({f.stats.failed}/{f.stats.runs})</span>
                        </span>
                      )}
                    </td>
                    <td className="nowrap">
                      <span className="row">
                        <a href={href("/builder/" + encodeURIComponent(f.name))} aria-label={`Edit ${f.name} in the builder`}>
                          Edit in builder
                        </a>
                        <a href={href("/runs?flow=" + encodeURIComponent(f.name))} aria-label={`Runs of ${f.name}`}>
                          Runs
                        </a>
                      </span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
    </section>
  );
}

// triggerOf reads a flow's trigger kind from its YAML: the key under
// trigger (webhook, schedule, manual, poll), manual when there is none.
async function triggerOf(source: string): Promise<string> {
  const { parse } = await import("yaml");
  const doc = parse(source) as { trigger?: unknown } | null;
  const t = doc?.trigger;
  if (t === undefined || t === null) return "manual";
  if (typeof t === "string") return t;
  if (typeof t === "object") return Object.keys(t as object)[0] ?? "manual";
  return "";
}

function FlowPage({ name, route }: { name: string; route: Route }) {
  const base = "/api/flows/" + encodeURIComponent(name);
  const l = useLoad(async (signal) => {
    const d = await api<FlowDetail>(base, { signal });
    let trigger = d.trigger ?? "";
    if (!trigger) trigger = await triggerOf(d.source).catch(() => "");
    return { ...d, trigger, versions: [...(d.versions ?? [])].sort((a, b) => b.version - a.version) };
  }, [name]);
  const q = route.query;
  const setQuery = (changes: Record<string, string | undefined>) => {
    const nq = new URLSearchParams(q);
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) nq.delete(k);
      else nq.set(k, v);
    }
    const s = nq.toString();
    navigate("/flows/" + encodeURIComponent(name) + (s ? "?" + s : ""));
  };
  return (
    <section>
      <header className="pagehead">
        <h1>
          <a href={href("/flows")}>Flows</a> / {name}
        </h1>
        <span className="grow" />
        <a href={href("/builder/" + encodeURIComponent(name))}>Edit in builder</a>
        <a href={href("/runs?flow=" + encodeURIComponent(name))}>Runs</a>
      </header>
      <Show l={l} what={"flow " + name}>
        {(d) => {
          const active = d.versions.find((v) => v.active)?.version ?? d.version;
          const shown = Number(q.get("v")) || active;
          const from = Number(q.get("from")) || d.versions.find((v) => v.version < active)?.version || 0;
          const to = Number(q.get("to")) || active;
          return (
            <>
              <dl className="kv">
                <dt>Active version</dt>
                <dd>v{active}</dd>
                <dt>Trigger</dt>
                <dd>{d.trigger ? <span className="pill">{d.trigger}</span> : "—"}</dd>
                <dt>File</dt>
                <dd className="mono">{d.file}</dd>
                {d.trigger_cursor && (
                  <>
                    <dt>Trigger position</dt>
                    <dd className="mono">{d.trigger_cursor}</dd>
                  </>
                )}
              </dl>
              {d.trigger === "manual" && <RunNow name={name} />}
              <Versions name={name} versions={d.versions} shown={shown} from={from} to={to} onChanged={() => l.reload(true)} setQuery={setQuery} />
              <div className="section">
                <h2>
                  Source of v{shown}
                  {shown === active && <span className="muted small"> (active)</span>}
                </h2>
                <VersionSource name={name} version={shown} />
              </div>
              <div className="section">
                <h2>Compare versions</h2>
                {d.versions.length < 2 ? (
                  <Empty>Only one version is deployed. Deploy a change (in the builder or with <code>weft flow deploy</code>) to compare versions.</Empty>
                ) : (
                  <>
                    <div className="toolbar">
                      <label>
                        From
                        <select aria-label="Compare from version" value={from} onChange={(e) => setQuery({ from: e.target.value })}>
                          {d.versions.map((v) => (
                            <option key={v.version} value={v.version}>
                              v{v.version}
                              {v.active ? " (active)" : ""}
                            </option>
                          ))}
                        </select>
                      </label>
                      <label>
                        To
                        <select aria-label="Compare to version" value={to} onChange={(e) => setQuery({ to: e.target.value })}>
                          {d.versions.map((v) => (
                            <option key={v.version} value={v.version}>
                              v{v.version}
                              {v.active ? " (active)" : ""}
                            </option>
                          ))}
                        </select>
                      </label>
                      <button className="secondary" onClick={() => setQuery({ from: String(to), to: String(from) })}>
                        Swap
                      </button>
                    </div>
                    {from ? <VersionDiff name={name} from={from} to={to} /> : null}
                  </>
                )}
              </div>
            </>
          );
        }}
      </Show>
    </section>
  );
}

function Versions({
  name,
  versions,
  shown,
  from,
  to,
  onChanged,
  setQuery,
}: {
  name: string;
  versions: Version[];
  shown: number;
  from: number;
  to: number;
  onChanged: () => void;
  setQuery: (c: Record<string, string | undefined>) => void;
}) {
  const [target, setTarget] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const [done, setDone] = useState("");
  const active = versions.find((v) => v.active)?.version;
  const rollback = async () => {
    if (target === null) return;
    setBusy(true);
    setErr(null);
    try {
      const r = await api<{ active_version: number }>("/api/flows/" + encodeURIComponent(name) + "/rollback", { body: { version: target } });
      setDone(`v${r.active_version} is now the active version of ${name}.`);
      setTarget(null);
      onChanged();
    } catch (e) {
      setErr(e);
      setTarget(null);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="section">
      <h2>Versions</h2>
      {done && (
        <p className="ok" role="status">
          {done}
        </p>
      )}
      {err !== null && <ErrorBox error={err} />}
      <table className="table">
        <thead>
          <tr>
            <th>Version</th>
            <th>Deployed</th>
            <th>File</th>
            <th>State</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version} className={v.version === shown ? "selected" : ""}>
              <td>v{v.version}</td>
              <td title={when(v.created_at)}>
                {when(v.created_at)} <span className="sub">{ago(v.created_at)}</span>
              </td>
              <td className="mono">{v.file}</td>
              <td>{v.active ? <span className="badge succeeded">active</span> : ""}</td>
              <td>
                <span className="row">
                  <button className="secondary" aria-pressed={v.version === shown} onClick={() => setQuery({ v: String(v.version) })} aria-label={`View source of v${v.version}`}>
                    View
                  </button>
                  {active !== undefined && v.version !== active && (
                    <button
                      className="secondary"
                      onClick={() => setQuery({ from: String(v.version), to: String(active) })}
                      aria-label={`Compare v${v.version} with the active v${active}`}
                      aria-pressed={from === v.version && to === active}
                    >
                      Diff with active
                    </button>
                  )}
                  {!v.active && (
                    <button className="secondary" onClick={() => setTarget(v.version)} aria-label={`Roll back to v${v.version}`}>
                      Roll back to v{v.version}
                    </button>
                  )}
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Confirm open={target !== null} title={`Roll back ${name} to v${target}?`} action={`Roll back to v${target}`} danger busy={busy} onConfirm={rollback} onClose={() => !busy && setTarget(null)}>
        <p>
          New runs will use v{target} instead of v{active}. Runs already started keep the version they started with. You can roll forward again from this list.
        </p>
      </Confirm>
    </div>
  );
}

function useVersionSource(name: string, version: number) {
  return useLoad(
    (signal) => api<{ source: string }>(`/api/flows/${encodeURIComponent(name)}/versions/${version}`, { signal }).then((r) => r.source ?? ""),
    [name, version],
  );
}

function VersionSource({ name, version }: { name: string; version: number }) {
  const l = useVersionSource(name, version);
  return (
    <Show l={l} what={`v${version}`}>
      {(src) => (
        <pre className="source" tabIndex={0} aria-label={`Source of v${version}`}>
          <table>
            <tbody>
              {splitLines(src).map((line, i) => (
                <tr key={i}>
                  <td className="ln">{i + 1}</td>
                  <td>{line}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </pre>
      )}
    </Show>
  );
}

function VersionDiff({ name, from, to }: { name: string; from: number; to: number }) {
  const a = useVersionSource(name, from);
  const b = useVersionSource(name, to);
  const diff = useMemo(() => (a.data !== undefined && b.data !== undefined ? diffLines(a.data, b.data) : null), [a.data, b.data]);
  if (a.error || b.error) return <ErrorBox error={a.error ?? b.error} retry={() => (a.reload(), b.reload())} />;
  if (!diff) return <p className="muted">Loading the diff…</p>;
  if (from === to) return <p className="muted">Choose two different versions.</p>;
  const hs = hunks(diff.lines, 3);
  return (
    <div aria-label={`Diff from v${from} to v${to}`} role="region">
      <p className="diffstat">
        v{from} → v{to}: <span className="add">+{diff.added}</span> <span className="del">−{diff.removed}</span> lines
        {diff.approximate && <span className="muted"> (a large change: shown as a block removed and added)</span>}
      </p>
      {hs.length === 0 ? (
        <Empty>v{from} and v{to} have the same source.</Empty>
      ) : (
        <div className="diff" tabIndex={0}>
          <table>
            <tbody>
              {hs.map((h, k) => (
                <HunkRows key={k} lines={h.lines} aStart={h.aStart} bStart={h.bStart} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function HunkRows({ lines, aStart, bStart }: { lines: DiffLine[]; aStart: number; bStart: number }) {
  return (
    <>
      <tr className="fold">
        <td colSpan={4}>
          @@ −{aStart} +{bStart} @@
        </td>
      </tr>
      {lines.map((l, i) => (
        <tr key={i} className={l.op}>
          <td className="ln">{l.a ?? ""}</td>
          <td className="ln">{l.b ?? ""}</td>
          <td className="mk" aria-label={l.op === "add" ? "added" : l.op === "del" ? "removed" : undefined}>
            {l.op === "add" ? "+" : l.op === "del" ? "−" : " "}
          </td>
          <td className="tx">{l.text}</td>
        </tr>
      ))}
    </>
  );
}

/** RunNow starts a manual run with a JSON body (trigger.body) and opens it. */
function RunNow({ name }: { name: string }) {
  const [open, setOpen] = useState(false);
  const [body, setBody] = useState("{}");
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState("");
  const run = async () => {
    const p = parseJSON(body);
    if (!p.ok) return setErr(p.message);
    setBusy(true);
    setErr("");
    try {
      const r = await api<{ run_id: string }>(`/api/flows/${encodeURIComponent(name)}/runs?async=true`, { body: p.value });
      navigate("/runs/" + r.run_id);
    } catch (e) {
      setErr(errorText(e));
      setBusy(false);
    }
  };
  return (
    <div className="section card">
      {!open ? (
        <div className="row">
          <button onClick={() => setOpen(true)}>Run now…</button>
          <span className="muted">This flow has a manual trigger: start a run with an input of your choice.</span>
        </div>
      ) : (
        <>
          <JsonEditor label="Run input (trigger.body, JSON)" value={body} onChange={setBody} rows={6} />
          {err && (
            <p className="error" role="alert">
              {err}
            </p>
          )}
          <div className="toolbar">
            <button onClick={run} disabled={busy || !parseJSON(body).ok}>
              {busy ? "Starting…" : "Start run"}
            </button>
            <button className="secondary" onClick={() => setOpen(false)}>
              Cancel
            </button>
          </div>
        </>
      )}
    </div>
  );
}
