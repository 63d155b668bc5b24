// Test run: run the draft against a sample input without deploying it
// (POST /api/flows/test) and show each step's status, duration, input and
// output; the results also go to the canvas (onStepResults).
import { useEffect, useId, useMemo, useRef, useState } from "react";
import { api, ApiError } from "../../api";
import { Busy, JsonView, Problems, fmtMs, isAbort, useElapsed } from "./common";
import { buildTestRequest, flowInfo, problemsOf, resultsById, lineCol, type TestForm } from "./logic";
import type { PanelProps, Problem, TestResult } from "./types";
import "./panels.css";

interface RunRow {
  id: string;
  status: string;
  created_at: string;
  trigger_kind?: string;
}

interface RunInput {
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string>;
}

export function TestRunPanel({ source, onStepResults }: PanelProps) {
  const uid = useId();
  const name = useMemo(() => flowInfo(source).name, [source]);
  const [form, setForm] = useState<TestForm>({ mode: "typed", body: "", headers: "", query: "", runId: "", sandbox: false, file: "draft.yaml" });
  const set = (p: Partial<TestForm>) => setForm((f) => ({ ...f, ...p }));
  const [runs, setRuns] = useState<RunRow[] | null>(null);
  const [runsErr, setRunsErr] = useState("");
  const [picked, setPicked] = useState<{ id: string; loading?: boolean; input?: RunInput; err?: string } | null>(null);
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<TestResult | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [err, setErr] = useState("");
  const [note, setNote] = useState("");
  const [ranSource, setRanSource] = useState("");
  const abort = useRef<AbortController | null>(null);
  const elapsed = useElapsed(running);

  // Past runs of this flow (by the draft's name), for their trigger payloads.
  useEffect(() => {
    if (form.mode !== "run") return;
    setRuns(null);
    setRunsErr("");
    if (!name) return;
    let live = true;
    api<{ runs: RunRow[] }>(`/api/runs?flow=${encodeURIComponent(name)}&limit=25`)
      .then((r) => live && setRuns(r.runs ?? []))
      .catch((e: ApiError) => live && setRunsErr(e.message));
    return () => {
      live = false;
    };
  }, [form.mode, name]);

  // The picked run's captured input: it may not have been kept.
  useEffect(() => {
    if (form.mode !== "run" || !form.runId) {
      setPicked(null);
      return;
    }
    let live = true;
    setPicked({ id: form.runId, loading: true });
    api<{ run: { input?: RunInput } }>(`/api/runs/${encodeURIComponent(form.runId)}`)
      .then((r) => live && setPicked({ id: form.runId, input: r.run.input ?? undefined }))
      .catch((e: ApiError) => live && setPicked({ id: form.runId, err: e.message }));
    return () => {
      live = false;
    };
  }, [form.mode, form.runId]);

  useEffect(() => () => abort.current?.abort(), []);

  const run = async () => {
    setErr("");
    setNote("");
    setProblems([]);
    const built = buildTestRequest(source, form);
    if (!built.ok) {
      setErr(built.error);
      return;
    }
    const ac = new AbortController();
    abort.current = ac;
    setRunning(true);
    setResult(null);
    try {
      const r = await api<TestResult>("/api/flows/test", { body: built.value, signal: ac.signal });
      setResult(r);
      setRanSource(source);
      onStepResults?.(resultsById(r));
    } catch (e) {
      if (isAbort(e)) {
        setNote("Cancelled. Nothing was deployed; calls already sent may have taken effect.");
      } else if (e instanceof ApiError) {
        const ps = problemsOf(e);
        if (ps.length) setProblems(ps);
        else setErr(e.status === 404 || e.status === 405 ? "This server has no test runs (POST /api/flows/test): upgrade Weft." : e.message);
        onStepResults?.({});
      } else {
        setErr(String(e));
      }
    } finally {
      setRunning(false);
      abort.current = null;
    }
  };

  const format = () => {
    try {
      set({ body: JSON.stringify(JSON.parse(form.body), null, 2) });
      setErr("");
    } catch (e) {
      setErr("The body is not valid JSON: " + (e as Error).message);
    }
  };

  const paste = async () => {
    try {
      const t = await navigator.clipboard.readText();
      set({ body: t, mode: "typed" });
    } catch {
      setErr("The browser did not allow reading the clipboard: paste into the Body field (Ctrl+V).");
    }
  };

  const copyRunInput = () => {
    const i = picked?.input;
    if (!i) return;
    set({
      mode: "typed",
      body: JSON.stringify(i.body ?? {}, null, 2),
      headers: i.headers && Object.keys(i.headers).length ? JSON.stringify(i.headers, null, 2) : "",
      query: i.query && Object.keys(i.query).length ? JSON.stringify(i.query, null, 2) : "",
    });
  };

  return (
    <section className="pn" aria-labelledby={uid + "h"}>
      <h2 id={uid + "h"}>Test run</h2>
      <p className="muted pn-help">Runs the draft once against a sample input. Nothing is deployed and no run is recorded; call steps do reach their connections (or the sandbox).</p>
      <fieldset className="pn-fs">
        <legend>Sample input</legend>
        <div className="row" role="radiogroup" aria-label="Where the input comes from">
          <label className="pn-inline">
            <input type="radio" name={uid + "mode"} checked={form.mode === "typed"} onChange={() => set({ mode: "typed" })} /> Type or paste
          </label>
          <label className="pn-inline">
            <input type="radio" name={uid + "mode"} checked={form.mode === "run"} onChange={() => set({ mode: "run" })} /> From a past run
          </label>
        </div>
        {form.mode === "typed" ? (
          <>
            <label>
              Body (JSON)
              <textarea rows={8} value={form.body} spellCheck={false} placeholder='{"order_id": "A-1"}   (empty: {})' onChange={(e) => set({ body: e.target.value })} />
            </label>
            <div className="toolbar">
              <button type="button" className="secondary" onClick={format} disabled={!form.body.trim()}>
                Format JSON
              </button>
              <button type="button" className="secondary" onClick={paste}>
                Paste from clipboard
              </button>
            </div>
            <details className="pn-more">
              <summary>Headers and query</summary>
              <label>
                Headers (JSON object, or Name: value lines)
                <textarea rows={3} value={form.headers} spellCheck={false} placeholder="X-Event-Id: 42" onChange={(e) => set({ headers: e.target.value })} />
              </label>
              <label>
                Query (JSON object, or a=1&amp;b=2)
                <textarea rows={2} value={form.query} spellCheck={false} placeholder="source=web" onChange={(e) => set({ query: e.target.value })} />
              </label>
            </details>
          </>
        ) : !name ? (
          <p className="muted">The draft has no name yet: runs are found by the flow's name.</p>
        ) : runsErr ? (
          <p className="error">{runsErr}</p>
        ) : runs === null ? (
          <p className="muted">Loading runs of {name}…</p>
        ) : runs.length === 0 ? (
          <p className="empty">No runs of {name} yet. Deploy it and fire it, or type an input instead.</p>
        ) : (
          <>
            <label>
              Past run of {name}
              <select value={form.runId} onChange={(e) => set({ runId: e.target.value })}>
                <option value="">Pick a run…</option>
                {runs.map((r) => (
                  <option key={r.id} value={r.id}>
                    {new Date(r.created_at).toLocaleString()} · {r.status} · {r.id.slice(-8)}
                  </option>
                ))}
              </select>
            </label>
            {picked?.loading && <p className="muted">Loading the run…</p>}
            {picked?.err && <p className="error">{picked.err}</p>}
            {picked && picked.id === form.runId && !picked.err && picked.input !== undefined && (
              <>
                <JsonView label="Its trigger payload" value={picked.input} />
                <button type="button" className="secondary" onClick={copyRunInput}>
                  Copy into the editor to change it
                </button>
              </>
            )}
            {picked && picked.id === form.runId && !picked.loading && !picked.err && picked.input === undefined && <RunInputMissing runId={picked.id} />}
          </>
        )}
      </fieldset>
      <label className="pn-inline">
        <input type="checkbox" checked={form.sandbox} onChange={(e) => set({ sandbox: e.target.checked })} /> Use sandbox
      </label>
      <p className="muted pn-help">With the sandbox, call steps go to the simulated API of each connection's connector instead of its base URL.</p>
      <div className="toolbar">
        <button type="button" onClick={run} disabled={running || (form.mode === "run" && (!form.runId || !picked || picked.input === undefined))}>
          Run test
        </button>
      </div>
      {running && <Busy label="Running the draft…" elapsed={elapsed} onCancel={() => abort.current?.abort()} />}
      {err && (
        <p className="error" role="alert">
          {err}
        </p>
      )}
      {note && <p className="muted" role="status">{note}</p>}
      <Problems problems={problems} title="The draft does not validate; fix these and run again:" />
      {result && ranSource !== source && <p className="pn-warn">The draft has changed since this test run: run it again to see the current draft's results.</p>}
      {result && <TestResultView r={result} />}
    </section>
  );
}

function RunInputMissing({ runId }: { runId: string }) {
  return (
    <p className="pn-warn" role="note">
      Run {runId.slice(-8)} has no captured trigger payload (under <code>capture: metadata</code> or <code>none</code>, a run that succeeded keeps none). Pick another run, or type an input.
    </p>
  );
}

function TestResultView({ r }: { r: TestResult }) {
  return (
    <div className="pn-result" aria-label="Test run result">
      <p role="status">
        <span className={"badge " + r.status}>{r.status}</span> in {fmtMs(r.duration_ms)} · {r.steps?.length ?? 0} step{r.steps?.length === 1 ? "" : "s"}
      </p>
      {r.error && (
        <p className="error">
          {r.error.code}: {r.error.message}
        </p>
      )}
      {r.response ? (
        <div className="pn-response">
          <p>
            Response <span className="badge">{r.response.status}</span>
          </p>
          <JsonView label="Response body" value={r.response.body} open />
          {r.response.headers && Object.keys(r.response.headers).length > 0 && <JsonView label="Response headers" value={r.response.headers} />}
        </div>
      ) : (
        <p className="muted">No response (the flow has no respond step, or it did not reach one).</p>
      )}
      <ol className="pn-steps">
        {(r.steps ?? []).map((s, i) => (
          <li key={`${i}:${s.key ?? s.path ?? s.id}`} className={"pn-step " + s.status} aria-label={`Step ${s.key && s.key !== s.id ? s.key : s.id}`}>
            <div className="row">
              <strong>{s.key && s.key !== s.id ? s.key : s.id}</strong>
              <span className="muted">{s.kind}</span>
              {s.subflow && <span className="muted">in subflow {s.subflow}</span>}
              {s.target === "sandbox" && <span className="badge">sandbox</span>}
              <span className={"badge " + s.status}>{s.status}</span>
              <span className="muted">{fmtMs(s.duration_ms)}</span>
              {s.attempts !== undefined && s.attempts > 1 && <span className="muted">{s.attempts} attempts</span>}
              {s.pos && <code className="muted" title={s.pos}>{lineCol(s.pos)}</code>}
            </div>
            {s.error && (
              <p className="error">
                {s.error.code}: {s.error.message}
              </p>
            )}
            {s.status !== "skipped" && (
              <>
                <JsonView label={`Input of ${s.id}`} value={s.input} />
                <JsonView label={`Output of ${s.id}`} value={s.output} />
              </>
            )}
          </li>
        ))}
      </ol>
    </div>
  );
}
