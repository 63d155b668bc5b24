// Agents (#/agents): the runtime agents of a hybrid deployment
// (docs/hybrid.md), one row per site: linked or silent or revoked, last
// seen, build, whether it runs what is placed on it, the flows and
// connections placed there, its run-log backlog against its bound, the
// last shipping error, and the site's own monitoring as its agent ships it
// (alerts firing there, key figures). GET /api/agents, refreshed every 5 s.
import { useEffect } from "react";
import { Loading, fmtTime, useApi } from "./kit";
import { Problem } from "./problem";

interface AgentHealth {
  connections?: { name: string; connector: string; credentials: string[] }[];
  refused?: { flow: string; version: number; error: string }[];
  placed_connections?: { name: string; sha256: string; error?: string }[];
  shipped_until?: string;
  ship_error?: string;
  backlog?: number;
  backlog_bytes?: number;
  backlog_max?: number;
  backlog_level?: string;
}

interface SiteAlert {
  id: string;
  rule: string;
  flow?: string;
  severity: string;
  status: string;
  message: string;
  started_at: string;
}

interface SiteTelemetry {
  at: string;
  alerts: SiteAlert[];
  figures: Record<string, number>;
}

export interface AgentStatus {
  site: string;
  labels: Record<string, string>;
  connected: boolean;
  last_seen?: string;
  revoked_at?: string;
  version: string;
  in_sync: boolean;
  running: { flow: string; version: number; local_version?: number }[];
  placed: { flow: string; version: number }[];
  placed_connections: string[];
  health?: AgentHealth;
  telemetry?: SiteTelemetry;
}

/** agentState is the one-word state of an agent and its badge class. */
export function agentState(a: AgentStatus): [string, string] {
  if (a.revoked_at) return ["revoked", "error"];
  if (!a.last_seen) return ["never linked", ""];
  if (!a.connected) return ["silent", "error"];
  if (!a.in_sync) return ["rolling out", "running"];
  return ["linked", "ok"];
}

function backlogText(h?: AgentHealth): string {
  if (!h || h.backlog_max === undefined) return "—";
  const n = h.backlog ?? 0;
  const pct = h.backlog_max ? Math.round((100 * n) / h.backlog_max) : 0;
  let s = `${n.toLocaleString()} of ${h.backlog_max.toLocaleString()} (${pct}%)`;
  if (h.backlog_level === "critical") s += " — new runs refused";
  else if (h.backlog_level === "warning") s += " — nearing the bound";
  return s;
}

/** siteFigures is the site's key figures in a line (from its telemetry). */
function siteFigures(t?: SiteTelemetry): string {
  if (!t) return "";
  const f = t.figures;
  const parts: string[] = [];
  const n = (k: string) => (f[k] ?? 0).toLocaleString();
  parts.push(`${n("runs_running")} running, ${n("runs_queued")} queued`);
  parts.push(`${n("runs_succeeded")} succeeded, ${n("runs_failed")} failed, ${n("runs_dead")} dead`);
  if (f.step_attempts_total !== undefined) parts.push(`step errors ${n("step_attempts_errors_total")} of ${n("step_attempts_total")}`);
  return parts.join(" · ");
}

export function AgentsView() {
  const { data, err, loading, reload } = useApi<{ agents: AgentStatus[] }>("/api/agents");
  useEffect(() => {
    const t = setInterval(reload, 5000);
    return () => clearInterval(t);
  }, [reload]);
  const agents = data?.agents ?? [];
  return (
    <section className="agents-page">
      <header className="pagehead">
        <h1>Agents</h1>
        <span className="muted">
          Runtime agents run the flows and connections placed on their sites inside those networks and dial out to this control plane; nothing
          dials in. Create one with <code>weft agents create SITE</code>.
        </span>
      </header>
      {err ? (
        <Problem err={err} what="Could not load the agents" retry={reload} />
      ) : loading && !data ? (
        <Loading what="the agents" />
      ) : agents.length === 0 ? (
        <p className="empty">No runtime agents yet. weft agents create SITE issues one's credential; weft agent on the site links it.</p>
      ) : (
        <table className="table" aria-label="Agents">
          <thead>
            <tr>
              <th>Site</th>
              <th>State</th>
              <th>Last seen</th>
              <th>Version</th>
              <th>Flows running / placed</th>
              <th>Connections placed</th>
              <th>Backlog</th>
              <th>Site alerts and figures</th>
              <th>Labels</th>
            </tr>
          </thead>
          <tbody>
            {agents.map((a) => {
              const [state, cls] = agentState(a);
              const h = a.health;
              return (
                <tr key={a.site}>
                  <td>
                    <strong>{a.site}</strong>
                  </td>
                  <td>
                    <span className={"badge " + cls}>{state}</span>
                    {h?.ship_error && <div className="muted">shipping: {h.ship_error}</div>}
                    {(h?.refused ?? []).map((r) => (
                      <div key={r.flow} className="muted">
                        refused {r.flow} v{r.version}: {r.error}
                      </div>
                    ))}
                  </td>
                  <td>{a.last_seen ? fmtTime(a.last_seen) : "—"}</td>
                  <td>{a.version || "—"}</td>
                  <td title={a.running.map((r) => `${r.flow} v${r.version}`).join(", ")}>
                    {a.running.length} / {a.placed.length}
                    {a.placed.length > 0 && <div className="muted">{a.placed.map((p) => `${p.flow} v${p.version}`).join(", ")}</div>}
                  </td>
                  <td>{a.placed_connections.length ? a.placed_connections.join(", ") : "—"}</td>
                  <td>{backlogText(h)}</td>
                  <td>
                    {!a.telemetry ? (
                      "—"
                    ) : (
                      <>
                        {a.telemetry.alerts.filter((al) => al.status === "firing").length === 0 ? (
                          <span className="badge ok">no alerts firing</span>
                        ) : (
                          a.telemetry.alerts
                            .filter((al) => al.status === "firing")
                            .map((al) => (
                              <div key={al.id}>
                                <span className={"badge " + (al.severity === "critical" ? "error" : "running")}>
                                  {al.severity} {al.rule}
                                </span>{" "}
                                <span className="muted">{al.message}</span>
                              </div>
                            ))
                        )}
                        <div className="muted" title={"as shipped " + fmtTime(a.telemetry.at)}>
                          {siteFigures(a.telemetry)}
                        </div>
                      </>
                    )}
                  </td>
                  <td>
                    {Object.entries(a.labels)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(", ") || "—"}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
