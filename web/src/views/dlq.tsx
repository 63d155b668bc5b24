// The dead-letter queue (#/dlq?flow=): runs that died (a permanent error or
// retries exhausted), bulk replay of the selected runs or of all dead runs
// of a flow (POST /api/dlq/replay), and per-run replay with an edited input.
import { useState } from "react";
import { api } from "../api";
import { ago, when } from "../lib/format";
import { href, navigate, type Route } from "../router";
import type { FlowRow } from "./flows";
import { Confirm, Empty, ErrorBox, Show, shortID, useLoad } from "./ops-ui";
import { ReplayForm, type Run } from "./runs";

interface BulkResult {
  replayed: { run: string; new_run: string; status: string }[];
  failed: { run: string; error: string | { code?: string; message?: string } }[];
}

const bulkError = (e: BulkResult["failed"][number]["error"]) => (typeof e === "string" ? e : (e?.message ?? e?.code ?? "failed"));

export function DLQView({ route }: { route: Route }) {
  const flow = route.query.get("flow") ?? "";
  const before = route.query.get("before") ?? "";
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<string | null>(null);
  const [confirmAll, setConfirmAll] = useState(false);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const [result, setResult] = useState<BulkResult | null>(null);
  const [notice, setNotice] = useState<{ text: string; run: string } | null>(null);
  const flows = useLoad((signal) => api<{ flows: FlowRow[] }>("/api/flows", { signal }), []);
  const l = useLoad(
    (signal) => {
      const p = new URLSearchParams({ limit: "100" });
      if (flow) p.set("flow", flow);
      if (before) p.set("before", before);
      return api<{ runs: Run[] | null; next_cursor?: string }>("/api/dlq?" + p, { signal });
    },
    [flow, before],
  );
  const runs = l.data?.runs ?? [];
  const setQuery = (c: Record<string, string>) => {
    const nq = new URLSearchParams(route.query);
    for (const [k, v] of Object.entries(c)) v ? nq.set(k, v) : nq.delete(k);
    setSelected(new Set());
    const s = nq.toString();
    navigate("/dlq" + (s ? "?" + s : ""));
  };
  const toggle = (id: string) => {
    const s = new Set(selected);
    s.has(id) ? s.delete(id) : s.add(id);
    setSelected(s);
  };
  const bulk = async (body: { runs: string[] } | { flow: string }) => {
    setBusy(true);
    setErr(null);
    setResult(null);
    setNotice(null);
    try {
      const r = await api<BulkResult>("/api/dlq/replay", { body });
      setResult({ replayed: r.replayed ?? [], failed: r.failed ?? [] });
      setSelected(new Set());
      l.reload(true);
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
      setConfirmAll(false);
    }
  };
  const visible = runs.map((r) => r.id);
  const allChecked = visible.length > 0 && visible.every((id) => selected.has(id));
  return (
    <section>
      <header className="pagehead">
        <h1>Dead-letter queue</h1>
        <span className="grow" />
        <button className="secondary" onClick={() => l.reload()}>
          Refresh
        </button>
      </header>
      <p className="muted">Runs land here when a step fails permanently or runs out of retries. Replaying a run resumes it at its failed step; steps that succeeded are not run again.</p>
      <div className="toolbar">
        <label>
          Flow
          <select aria-label="Flow" value={flow} onChange={(e) => setQuery({ flow: e.target.value, before: "" })}>
            <option value="">All flows</option>
            {(flows.data?.flows ?? []).map((f) => (
              <option key={f.name} value={f.name}>
                {f.name}
              </option>
            ))}
            {flow && !(flows.data?.flows ?? []).some((f) => f.name === flow) && <option value={flow}>{flow}</option>}
          </select>
        </label>
        <button disabled={selected.size === 0 || busy} onClick={() => bulk({ runs: [...selected] })}>
          {busy ? "Replaying…" : `Replay selected (${selected.size})`}
        </button>
        {flow && runs.length > 0 && (
          <button className="secondary" disabled={busy} onClick={() => setConfirmAll(true)}>
            Replay all dead runs of {flow}…
          </button>
        )}
      </div>
      {err !== null && <ErrorBox error={err} />}
      {notice && (
        <p className="ok" role="status">
          {notice.text} <a href={href("/runs/" + notice.run)}>Open the run</a>
        </p>
      )}
      {result && (
        <div className="card result" role="status">
          <p>
            <strong>{result.replayed.length}</strong> replayed{result.failed.length > 0 && <>, <strong className="error">{result.failed.length}</strong> not replayed</>}.
          </p>
          {result.replayed.length > 0 && (
            <ul>
              {result.replayed.map((r) => (
                <li key={r.run}>
                  <a href={href("/runs/" + r.new_run)} className="mono">
                    {shortID(r.new_run)}
                  </a>{" "}
                  {r.new_run !== r.run && <span className="muted">(from {shortID(r.run)})</span>} {r.status}
                </li>
              ))}
            </ul>
          )}
          {result.failed.length > 0 && (
            <ul>
              {result.failed.map((f) => (
                <li key={f.run} className="error">
                  <span className="mono">{shortID(f.run)}</span>: {bulkError(f.error)}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <Show l={l} what="dead runs">
        {(d) =>
          (d.runs ?? []).length === 0 ? (
            <Empty>
              {flow ? (
                <>No dead runs of {flow}. </>
              ) : (
                <>The dead-letter queue is empty: no run has died. </>
              )}
              Failed runs of every kind are in <a href={href("/runs?status=failed")}>Runs</a>.
            </Empty>
          ) : (
            <>
              <table className="table">
                <thead>
                  <tr>
                    <th>
                      <input
                        type="checkbox"
                        aria-label="Select all dead runs on this page"
                        checked={allChecked}
                        onChange={() => setSelected(allChecked ? new Set() : new Set(visible))}
                      />
                    </th>
                    <th>Run</th>
                    <th>Flow</th>
                    <th>Failed step</th>
                    <th>Error</th>
                    <th>Died</th>
                    <th>
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {(d.runs ?? []).map((r) => (
                    <RowAndReplay
                      key={r.id}
                      run={r}
                      checked={selected.has(r.id)}
                      toggle={() => toggle(r.id)}
                      open={open === r.id}
                      setOpen={(o) => setOpen(o ? r.id : null)}
                      onReplayed={(id) => {
                        setOpen(null);
                        setNotice({ text: `Run ${shortID(id)} replayed: it resumes at its failed step.`, run: id });
                        l.reload(true);
                      }}
                    />
                  ))}
                </tbody>
              </table>
              <div className="toolbar" role="navigation" aria-label="Pages of dead runs">
                <button className="secondary" disabled={!before} onClick={() => setQuery({ before: "" })}>
                  Newest
                </button>
                <button className="secondary" disabled={!d.next_cursor} onClick={() => setQuery({ before: d.next_cursor! })}>
                  Older →
                </button>
              </div>
            </>
          )
        }
      </Show>
      <Confirm open={confirmAll} title={`Replay every dead run of ${flow}?`} action="Replay all" busy={busy} onConfirm={() => bulk({ flow })} onClose={() => !busy && setConfirmAll(false)}>
        <p>Each dead run of {flow} (at most 500) resumes at its failed step with its recorded input. Fix the cause first, or they will die again.</p>
      </Confirm>
    </section>
  );
}

function RowAndReplay({
  run,
  checked,
  toggle,
  open,
  setOpen,
  onReplayed,
}: {
  run: Run;
  checked: boolean;
  toggle: () => void;
  open: boolean;
  setOpen: (o: boolean) => void;
  onReplayed: (id: string) => void;
}) {
  return (
    <>
      <tr className={checked ? "selected" : ""}>
        <td>
          <input type="checkbox" aria-label={`Select run ${run.id}`} checked={checked} onChange={toggle} />
        </td>
        <td>
          <a href={href("/runs/" + run.id)} className="mono small" aria-label={`Run ${run.id}`}>
            {run.id}
          </a>
        </td>
        <td>
          <a href={href("/flows/" + encodeURIComponent(run.flow))}>{run.flow}</a> <span className="sub">v{run.version}</span>
        </td>
        <td className="mono">{run.failed_step ?? ""}</td>
        <td className="error small">
          {run.error_message}
          {run.error_code && (
            <>
              {" "}
              <code>{run.error_code}</code>
            </>
          )}
        </td>
        <td title={when(run.finished_at)}>{ago(run.finished_at)}</td>
        <td>
          <button className="secondary" aria-expanded={open} onClick={() => setOpen(!open)} aria-label={`Replay run ${run.id} with an edited input`}>
            {open ? "Close" : "Replay…"}
          </button>
        </td>
      </tr>
      {open && (
        <tr>
          <td colSpan={7} className="replaycell">
            <ReplayForm run={run} onReplayed={(id) => onReplayed(id)} onCancel={() => setOpen(false)} />
          </td>
        </tr>
      )}
    </>
  );
}
