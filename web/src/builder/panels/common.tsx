// Small pieces the panels share: a collapsible JSON view, a problem list with
// line:col, and a running-time counter for long requests.
import { useEffect, useState } from "react";
import { lineCol } from "./logic";
import type { Problem } from "./types";

/** JsonView shows a value as indented JSON inside a <details> the user opens. */
export function JsonView({ label, value, open }: { label: string; value: unknown; open?: boolean }) {
  let text: string;
  try {
    text = value === undefined ? "(none)" : JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    text = String(value);
  }
  return (
    <details className="pn-json" open={open}>
      <summary>{label}</summary>
      <pre tabIndex={0} aria-label={label}>{text}</pre>
    </details>
  );
}

/** Problems lists validation problems as "line:col message". */
export function Problems({ problems, title }: { problems: Problem[]; title: string }) {
  if (!problems.length) return null;
  return (
    <div className="pn-problems" role="alert">
      <p className="error">{title}</p>
      <ul>
        {problems.map((p, i) => (
          <li key={i}>
            {p.pos && <code className="pn-pos">{lineCol(p.pos)}</code>} {p.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** useElapsed counts seconds since start while running (for progress). */
export function useElapsed(running: boolean): number {
  const [t, setT] = useState(0);
  useEffect(() => {
    if (!running) return;
    const start = performance.now();
    setT(0);
    const h = setInterval(() => setT((performance.now() - start) / 1000), 100);
    return () => clearInterval(h);
  }, [running]);
  return t;
}

/** Busy is a spinner with the elapsed time and a Cancel button. */
export function Busy({ label, elapsed, onCancel }: { label: string; elapsed: number; onCancel: () => void }) {
  return (
    <div className="pn-busy" role="status">
      <span className="pn-spinner" aria-hidden="true" />
      <span>
        {label} {elapsed.toFixed(1)} s
      </span>
      <button type="button" className="secondary" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

export function fmtMs(ms?: number): string {
  if (ms === undefined || ms === null) return "";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function isAbort(e: unknown): boolean {
  return (e as Error)?.name === "AbortError";
}
