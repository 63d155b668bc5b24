// Every call the console makes goes through the public HTTP API (docs/api.md),
// so the console and the CLI never disagree. A cookie session (signed in with
// the API token) authenticates the browser; state-changing requests carry the
// session's CSRF token.

export class ApiError extends Error {
  status: number;
  code: string;
  details?: unknown;
  /** a flow's validation problems (POST /api/flows, /api/flows/validate): pos is file:line:col */
  problems?: { pos?: string; path?: string; message: string }[];
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let csrf = sessionStorage.getItem("weft.csrf") ?? "";
const listeners = new Set<() => void>();

export function setCSRF(tok: string) {
  csrf = tok;
  if (tok) sessionStorage.setItem("weft.csrf", tok);
  else sessionStorage.removeItem("weft.csrf");
}

/** onUnauthorized registers a callback for 401 answers (show the sign-in page). */
export function onUnauthorized(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** raw body sent as is with this content type (an uploaded YAML file). */
  raw?: { data: string | Blob; type: string };
  signal?: AbortSignal;
}

export async function api<T = any>(path: string, opts: RequestOptions = {}): Promise<T> {
  const method = opts.method ?? (opts.body !== undefined || opts.raw ? "POST" : "GET");
  const headers: Record<string, string> = { Accept: "application/json" };
  let body: BodyInit | undefined;
  if (opts.raw) {
    headers["Content-Type"] = opts.raw.type;
    body = opts.raw.data;
  } else if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  if (method !== "GET" && method !== "HEAD" && csrf) headers["X-CSRF-Token"] = csrf;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body, credentials: "same-origin", signal: opts.signal });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "unavailable", "The Weft server cannot be reached. Your edits are kept in this browser; try again when it is back.");
  }
  const text = await res.text();
  let data: any = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    if (res.status === 401) listeners.forEach((fn) => fn());
    const err = data && typeof data === "object" && data.error ? data.error : undefined;
    const ae = new ApiError(res.status, err?.code ?? String(res.status), err?.message ?? (typeof data === "string" && data ? data : res.statusText), err?.details);
    if (Array.isArray(err?.problems)) ae.problems = err.problems;
    throw ae;
  }
  return data as T;
}
