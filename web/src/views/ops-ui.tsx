// Building blocks the operations views share: loading a resource with its
// loading and error states, a status badge, a confirmation dialog, a JSON
// editor that checks what is typed, and a JSON viewer.
import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from "react";
import { ApiError } from "../api";
import { parseJSON, pretty } from "../lib/format";
import "./ops.css";

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  /** reload fetches again; quiet keeps the current data on screen meanwhile (polling). */
  reload: (quiet?: boolean) => void;
}

/** useLoad runs load whenever deps change, aborting the previous call. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError | Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const quiet = useRef(false);
  useEffect(() => {
    const ac = new AbortController();
    if (!quiet.current) setState((s) => ({ data: s.data, loading: true }));
    quiet.current = false;
    load(ac.signal).then(
      (data) => !ac.signal.aborted && setState({ data, loading: false }),
      (error) => !ac.signal.aborted && (error as Error).name !== "AbortError" && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback((q?: boolean) => {
    quiet.current = !!q;
    setTick((t) => t + 1);
  }, []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** usePoll calls fn every ms while active. */
export function usePoll(active: boolean, ms: number, fn: () => void) {
  const f = useRef(fn);
  f.current = fn;
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => f.current(), ms);
    return () => clearInterval(t);
  }, [active, ms]);
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 404 && /no route/.test(e.message)) return `${e.message}: this server does not offer it yet (an older Weft).`;
    return e.message || `${e.status} ${e.code}`;
  }
  return e instanceof Error ? e.message : String(e);
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div className="error opserror" role="alert">
      <span>{errorText(error)}</span>
      {retry && (
        <button className="secondary" onClick={() => retry()}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** Show renders a Loaded's loading and error states, then its data. */
export function Show<T>({ l, what, children }: { l: Loaded<T>; what: string; children: (d: T) => ReactNode }) {
  if (l.error && l.data === undefined) return <ErrorBox error={l.error} retry={() => l.reload()} />;
  if (l.data === undefined) return <Loading what={what} />;
  return (
    <>
      {l.error && <ErrorBox error={l.error} retry={() => l.reload()} />}
      {children(l.data)}
    </>
  );
}

export function StatusBadge({ status }: { status?: string }) {
  if (!status) return <span className="muted">—</span>;
  return <span className={"badge " + status}>{status}</span>;
}

/** Confirm is a modal dialog asking to go ahead with an action; Escape or Cancel closes it. */
export function Confirm({
  open,
  title,
  children,
  action,
  danger,
  busy,
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  action: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className="confirm" aria-labelledby={titleId} onClose={onClose} onCancel={onClose}>
      <h2 id={titleId}>{title}</h2>
      <div className="confirmbody">{children}</div>
      <div className="toolbar end">
        <button className="secondary" autoFocus onClick={onClose}>
          Cancel
        </button>
        <button className={danger ? "danger" : ""} disabled={busy} onClick={onConfirm}>
          {busy ? action + "…" : action}
        </button>
      </div>
    </dialog>
  );
}

/** JsonEditor is a textarea for a JSON value that says, as you type, whether and where it is invalid. */
export function JsonEditor({ label, value, onChange, rows = 10 }: { label: string; value: string; onChange: (v: string) => void; rows?: number }) {
  const id = useId();
  const check = parseJSON(value);
  return (
    <div className="jsoneditor">
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        spellCheck={false}
        rows={rows}
        value={value}
        aria-invalid={!check.ok}
        aria-describedby={id + "-check"}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={(e) => {
          // Tab indents inside the editor; Escape then Tab leaves it (keyboard users are not trapped).
          if (e.key === "Tab" && !e.shiftKey && !(e.currentTarget.dataset.leave === "1")) {
            e.preventDefault();
            const t = e.currentTarget;
            const s = t.selectionStart;
            const v = t.value.slice(0, s) + "  " + t.value.slice(t.selectionEnd);
            onChange(v);
            requestAnimationFrame(() => t.setSelectionRange(s + 2, s + 2));
          } else if (e.key === "Escape") {
            e.currentTarget.dataset.leave = "1";
          } else {
            delete e.currentTarget.dataset.leave;
          }
        }}
      />
      <p id={id + "-check"} className={check.ok ? "muted small" : "error small"} aria-live="polite">
        {check.ok ? "Valid JSON. (Tab indents; press Escape, then Tab, to leave the editor.)" : check.message}
      </p>
    </div>
  );
}

/** JsonView shows a JSON value (or raw JSON text) pretty-printed. */
export function JsonView({ value, label }: { value: unknown; label: string }) {
  if (value === undefined || value === null || value === "") return <p className="muted">{label}: none recorded.</p>;
  return (
    <pre className="json" aria-label={label} tabIndex={0}>
      {pretty(value)}
    </pre>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** shortID shortens a run id for a sentence: run ids are UUIDv7, whose leading digits are a timestamp shared by runs started together, so the random tail is kept. */
export function shortID(id: string): string {
  return id.length > 14 ? "…" + id.slice(-12) : id;
}
