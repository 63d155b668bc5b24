// Small building blocks the mapping, monitoring and MCP views share: data
// loading with loading/error states, a modal dialog, copy and download.
import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { api, ApiError } from "../api";
import "./kit.css";

export interface Loaded<T> {
  data: T | undefined;
  err: ApiError | null;
  loading: boolean;
  reload: () => void;
}

/** useApi GETs path (null: nothing yet) and reloads when path changes. */
export function useApi<T>(path: string | null): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [err, setErr] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    const ctl = new AbortController();
    setLoading(true);
    api<T>(path, { signal: ctl.signal })
      .then((d) => {
        setData(d);
        setErr(null);
      })
      .catch((e) => {
        if ((e as Error).name === "AbortError") return;
        setErr(asApiError(e));
      })
      .finally(() => {
        if (!ctl.signal.aborted) setLoading(false);
      });
    return () => ctl.abort();
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, err, loading, reload };
}

export function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError(0, "client", e instanceof Error ? e.message : String(e));
}

/** ErrorNote shows an API error with what to do about it. */
export function ErrorNote({ err, what, retry }: { err: ApiError; what: string; retry?: () => void }) {
  return (
    <div className="error vk-error" role="alert">
      <span>
        {what}: {err.message}
        {err.status === 404 && err.code === "not_found" && /no route/.test(err.message) ? " (this server does not have that endpoint yet)" : ""}
      </span>
      {retry && (
        <button className="secondary" onClick={retry}>
          Retry
        </button>
      )}
    </div>
  );
}

/**
 * Dialog is a modal <dialog>: focus moves into it, Tab stays inside it
 * (the browser's modal dialog does that), Esc or the close button call onClose.
 */
export function Dialog({ title, onClose, children, className }: { title: string; onClose: () => void; children: ReactNode; className?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (!d.open) d.showModal();
    const cancel = (e: Event) => {
      e.preventDefault();
      onClose();
    };
    d.addEventListener("cancel", cancel);
    return () => {
      d.removeEventListener("cancel", cancel);
      if (d.open) d.close();
    };
  }, [onClose]);
  return (
    <dialog ref={ref} className={"vk-dialog card " + (className ?? "")} aria-label={title}>
      <h2>{title}</h2>
      {children}
    </dialog>
  );
}

/** copyText puts text on the clipboard; false when the browser refused. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Older or locked-down browsers: copy through a selected text area.
    const ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.className = "vk-offscreen";
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

/** CopyButton copies text and says so for a moment. */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [state, setState] = useState<"" | "copied" | "failed">("");
  useEffect(() => {
    if (!state) return;
    const t = setTimeout(() => setState(""), 2000);
    return () => clearTimeout(t);
  }, [state]);
  return (
    <button type="button" className="secondary" onClick={async () => setState((await copyText(text)) ? "copied" : "failed")}>
      {state === "copied" ? "Copied" : state === "failed" ? "Copy failed: select and copy by hand" : label}
    </button>
  );
}

/** downloadText saves text as a file. */
export function downloadText(name: string, text: string, type = "text/plain") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** fmtTime prints a timestamp in local time, compactly. */
export function fmtTime(s: string | undefined | null): string {
  if (!s) return "";
  const d = new Date(s);
  if (isNaN(d.getTime())) return String(s);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** fmtMS prints a duration in milliseconds with a sensible unit. */
export function fmtMS(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !isFinite(ms)) return "–";
  if (ms < 1) return ms.toFixed(2) + " ms";
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 60_000) return (ms / 1000).toFixed(ms < 10_000 ? 2 : 1) + " s";
  return (ms / 60_000).toFixed(1) + " min";
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}
