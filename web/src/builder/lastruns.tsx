// The flow's last runs under the canvas (GET /api/runs?flow=), each with its
// steps on demand (GET /api/runs/{id}), so a deploy-and-fire is seen here.
import { useCallback, useEffect, useState } from "react";
import { api, ApiError } from "../api";
import { href } from "../router";

interface Run {
  id: string;
  status: string;
  version: number;
  created_at: string;
  error_message?: string;
}

interface StepRow {
  step: string;
  step_key: string;
  kind: string;
  attempt: number;
  status: string;
  duration_us?: number;
  error_message?: string;
}

export function LastRuns({ flow, refresh }: { flow: string; refresh: number }) {
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [err, setErr] = useState("");
  const [open, setOpen] = useState<string | null>(null);
  const [steps, setSteps] = useState<StepRow[] | null>(null);

  const load = useCallback(() => {
    api<{ runs: Run[] }>(`/api/runs?flow=${encodeURIComponent(flow)}&limit=5`)
      .then((r) => {
        setRuns(r.runs ?? []);
        setErr("");
      })
      .catch((e: ApiError) => setErr(e.message));
  }, [flow]);

  useEffect(() => {
    load();
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, [load, refresh]);

  useEffect(() => {
    if (!open) return;
    setSteps(null);
    api<{ steps: StepRow[] }>("/api/runs/" + encodeURIComponent(open))
      .then((r) => setSteps(r.steps ?? []))
      .catch((e: ApiError) => setErr(e.message));
  }, [open]);

  return (
    <section className="lastruns" aria-label="Last runs">
      <div className="row">
        <strong>Last runs</strong>
        <button type="button" className="ghost small" onClick={load}>
          Refresh
        </button>
        <a href={href("/runs?flow=" + encodeURIComponent(flow))} className="small">
          All runs of {flow}
        </a>
        {err && <span className="muted small">({err})</span>}
      </div>
      {runs && runs.length === 0 && <p className="muted small">No runs yet. Fire the flow (its webhook, schedule or a manual run) and it shows here.</p>}
      {runs && runs.length > 0 && (
        <ul className="runlist">
          {runs.map((r) => (
            <li key={r.id}>
              <button type="button" className="ghost small" aria-expanded={open === r.id} aria-label={`Run ${r.id} ${r.status}`} onClick={() => setOpen(open === r.id ? null : r.id)}>
                <span className={`badge ${r.status}`}>{r.status}</span> v{r.version} · {new Date(r.created_at).toLocaleTimeString()} · <span className="mono">{r.id.slice(0, 13)}</span>
              </button>
              {open === r.id && (
                <div className="runsteps">
                  {!steps ? (
                    <span className="muted small">Loading steps…</span>
                  ) : steps.length === 0 ? (
                    <span className="muted small">No steps recorded.</span>
                  ) : (
                    <ol aria-label={`Steps of run ${r.id}`}>
                      {steps.map((s, i) => (
                        <li key={i}>
                          <span className="mono">{s.step_key}</span> <span className="muted">{s.kind}</span> <span className={`badge ${s.status === "ok" ? "succeeded" : s.status}`}>{s.status}</span>
                          {s.attempt > 1 && <span className="muted"> attempt {s.attempt}</span>}
                          {s.duration_us !== undefined && <span className="muted"> {(s.duration_us / 1000).toFixed(1)} ms</span>}
                          {s.error_message && <span className="error"> {s.error_message}</span>}
                        </li>
                      ))}
                    </ol>
                  )}
                  <a className="small" href={href("/runs/" + encodeURIComponent(r.id))}>
                    Open the run
                  </a>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
