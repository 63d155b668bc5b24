// Deploy: the draft against the active version's source as a line diff, then
// POST /api/flows (a new version, made active).
import { useEffect, useRef, useState } from "react";
import { api, ApiError } from "../api";
import { hunks, lineDiff } from "./diff";
import { problemsFromError, type Problem } from "./problems";

export interface Deployed {
  name: string;
  version: number;
}

export function DeployDialog({ name, text, onClose, onDeployed }: { name: string; text: string; onClose(): void; onDeployed(d: Deployed): void }) {
  const [active, setActive] = useState<{ version: number; source: string } | null | undefined>(undefined);
  const [err, setErr] = useState("");
  const [problems, setProblems] = useState<Problem[]>([]);
  const [busy, setBusy] = useState(false);
  const dlg = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    dlg.current?.showModal();
    if (!name) {
      setActive(null);
      return;
    }
    // Ask the list first: a flow not deployed yet is not an error to fetch.
    api<{ flows: { name: string }[] }>("/api/flows")
      .then((l) => ((l.flows ?? []).some((f) => f.name === name) ? api<{ version: number; source: string }>("/api/flows/" + encodeURIComponent(name)) : null))
      .then((f) => setActive(f ? { version: f.version, source: f.source } : null))
      .catch((e: ApiError) => {
        setErr(e.message);
        setActive(null);
      });
  }, [name]);

  const deploy = async () => {
    setBusy(true);
    setErr("");
    setProblems([]);
    try {
      const r = await api<{ name: string; version: number }>(`/api/flows?file=${encodeURIComponent((name || "flow") + ".yaml")}`, { raw: { data: text, type: "application/yaml" } });
      onDeployed({ name: r.name, version: r.version });
    } catch (e) {
      const ae = e as ApiError;
      setErr(ae.message);
      if (ae.status !== 0) setProblems(problemsFromError(ae).filter((p) => p.line));
    } finally {
      setBusy(false);
    }
  };

  const d = active === undefined ? null : lineDiff(active?.source ?? "", text);
  const changed = d ? d.filter((l) => l.op !== " ").length : 0;
  return (
    <dialog ref={dlg} className="deploy-dialog" aria-labelledby="deploy-title" onClose={onClose} onCancel={onClose}>
      <h2 id="deploy-title">Deploy {name || "this flow"}</h2>
      {active === undefined ? (
        <p className="muted">Loading the active version…</p>
      ) : active === null ? (
        <p>
          {name ? (
            <>
              <strong>{name}</strong> is not deployed yet: this will be version 1.
            </>
          ) : (
            "The flow has no name yet: set one in the flow settings."
          )}
        </p>
      ) : (
        <p>
          Changes against the active version <strong>v{active.version}</strong> ({changed} line(s)); this becomes version {active.version + 1}.
        </p>
      )}
      {d && (
        <div className="diff mono" role="region" aria-label="Changes to deploy" tabIndex={0}>
          {changed === 0 && active ? (
            <p className="muted">No changes: deploying makes an identical new version.</p>
          ) : (
            hunks(d, 3).map((l, i) =>
              l === null ? (
                <div key={i} className="diff-gap">
                  ⋯
                </div>
              ) : (
                <div key={i} className={`diff-line ${l.op === "+" ? "add" : l.op === "-" ? "del" : ""}`}>
                  <span className="diff-op" aria-hidden="true">
                    {l.op}
                  </span>
                  <span className="sr-only">{l.op === "+" ? "added: " : l.op === "-" ? "removed: " : ""}</span>
                  {l.text || " "}
                </div>
              ),
            )
          )}
        </div>
      )}
      {err && (
        <div className="error" role="alert">
          {err}
          {problems.length > 0 && (
            <ul>
              {problems.map((p, i) => (
                <li key={i}>
                  line {p.line}:{p.col}: {p.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <div className="toolbar">
        <span className="grow" />
        <button type="button" className="secondary" onClick={() => dlg.current?.close()}>
          Cancel
        </button>
        <button type="button" onClick={deploy} disabled={busy || active === undefined || !name}>
          {busy ? "Deploying…" : "Deploy"}
        </button>
      </div>
    </dialog>
  );
}
