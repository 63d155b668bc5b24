import { useEffect, useState } from "react";
import { api, ApiError } from "../api";
import { href, type Route } from "../router";

interface FlowRow {
  name: string;
  version: number;
  trigger?: string;
  [k: string]: unknown;
}

export function FlowsView(_: { route: Route }) {
  const [flows, setFlows] = useState<FlowRow[] | null>(null);
  const [err, setErr] = useState("");
  useEffect(() => {
    api<{ flows: FlowRow[] }>("/api/flows")
      .then((r) => setFlows(r.flows ?? []))
      .catch((e: ApiError) => setErr(e.message));
  }, []);
  if (err) return <p className="error" role="alert">{err}</p>;
  if (!flows) return <p className="muted">Loading flows…</p>;
  return (
    <section>
      <header className="pagehead">
        <h1>Flows</h1>
      </header>
      {flows.length === 0 ? (
        <p className="empty">No flows yet. Open the builder to make one, or deploy a YAML file with <code>weft flow deploy FILE</code>.</p>
      ) : (
        <table className="table">
          <thead>
            <tr><th>Name</th><th>Version</th><th>Trigger</th></tr>
          </thead>
          <tbody>
            {flows.map((f) => (
              <tr key={f.name}>
                <td><a href={href("/flows/" + encodeURIComponent(f.name))}>{f.name}</a></td>
                <td>v{f.version}</td>
                <td>{String(f.trigger ?? "")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
