// Describe it: plain English to a draft flow (POST /api/nl2flow), with the
// draft's explanation, open questions (answer them and ask again), what it
// did not understand, its validity and confidence; "Put on canvas" replaces
// the draft with it. Nothing is deployed here.
import { useEffect, useId, useRef, useState } from "react";
import { api, ApiError } from "../../api";
import { Busy, Problems, isAbort, useElapsed } from "./common";
import { keepAnswers, mergeAnswers, type Answer } from "./logic";
import type { Draft, PanelProps } from "./types";
import "./panels.css";

/** Below this confidence a draft is flagged as a rough guess. */
const lowConfidence = 0.7;

export function DescribePanel({ source, onReplaceSource }: PanelProps) {
  const uid = useId();
  const [text, setText] = useState("");
  const [edit, setEdit] = useState(false);
  // The request as first asked, the flow it edits, and answers given so far:
  // each round re-asks with the answers folded into the original request.
  const [asked, setAsked] = useState<{ base: string; flow?: string; answers: Answer[]; sent: string } | null>(null);
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const [draft, setDraft] = useState<Draft | null>(null);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState("");
  const [placed, setPlaced] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const elapsed = useElapsed(busy);
  useEffect(() => () => abort.current?.abort(), []);

  const ask = async (base: string, flow: string | undefined, kept: Answer[]) => {
    const sent = mergeAnswers(base, kept);
    setErr("");
    setPlaced(false);
    const ac = new AbortController();
    abort.current = ac;
    setBusy(true);
    try {
      const body: { text: string; flow?: string } = { text: sent };
      if (flow) body.flow = flow;
      const d = await api<Draft>("/api/nl2flow", { body, signal: ac.signal });
      setDraft(d);
      setAsked({ base, flow, answers: kept, sent });
      // Keep answers typed for questions asked again.
      const next: Record<string, string> = {};
      for (const q of d.questions ?? []) next[q] = kept.find((a) => a.question === q)?.answer ?? "";
      setAnswers(next);
    } catch (e) {
      if (isAbort(e)) setErr("Cancelled.");
      else if (e instanceof ApiError && (e.status === 404 || e.status === 405)) setErr("NL-to-flow is not enabled on this server.");
      else setErr(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
      abort.current = null;
    }
  };

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (!text.trim()) {
      setErr("Describe the integration first, for example: when a webhook receives an order, post a message to the chat channel #sales.");
      return;
    }
    ask(text, edit && source.trim() ? source : undefined, []);
  };

  const applyAnswers = () => {
    if (!asked) return;
    const now = Object.entries(answers).map(([question, answer]) => ({ question, answer }));
    if (!now.some((a) => a.answer.trim())) {
      setErr("Type an answer to at least one question first.");
      return;
    }
    ask(asked.base, asked.flow, keepAnswers(asked.answers, now));
  };

  const put = () => {
    if (!draft) return;
    onReplaceSource(draft.yaml);
    setPlaced(true);
  };

  const qs = draft?.questions ?? [];
  return (
    <section className="pn" aria-labelledby={uid + "h"}>
      <h2 id={uid + "h"}>Describe it</h2>
      <form onSubmit={submit}>
        <label>
          What should the flow do?
          <textarea
            rows={4}
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder="When a webhook receives an order, post a message to the chat channel #sales"
            onKeyDown={(e) => {
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) submit(e);
            }}
          />
        </label>
        <label className="pn-inline">
          <input type="checkbox" checked={edit} onChange={(e) => setEdit(e.target.checked)} disabled={!source.trim()} /> Add to the current draft instead of starting a new one
        </label>
        <div className="toolbar">
          <button type="submit" disabled={busy}>
            Draft it
          </button>
          <span className="muted">Ctrl+Enter</span>
        </div>
      </form>
      {busy && <Busy label="Drafting…" elapsed={elapsed} onCancel={() => abort.current?.abort()} />}
      {err && (
        <p className="error" role="alert">
          {err}
        </p>
      )}
      {draft && asked && (
        <div className="pn-result" aria-label="Draft">
          <p role="status">
            Draft <strong>{draft.name}</strong> · <span className={"badge " + (draft.valid ? "ok" : "error")}>{draft.valid ? "valid" : "not valid"}</span> · confidence{" "}
            <strong className={draft.confidence < lowConfidence ? "pn-low" : undefined}>{Math.round(draft.confidence * 100)}%</strong> · {draft.backend}
            {draft.attempts > 1 ? ` · ${draft.attempts} attempts` : ""}
          </p>
          {draft.confidence < lowConfidence && draft.valid && <p className="pn-warn">Low confidence: read the draft closely, answer its questions, or say more in the request.</p>}
          {!draft.valid && <Problems problems={draft.problems ?? []} title="This draft does not pass the deploy checks. You can still put it on the canvas and fix it there:" />}
          {asked.answers.length > 0 && (
            <p className="muted pn-help">
              Asked as: <q>{asked.sent}</q> (answers are appended to the request in parentheses; the NL-to-flow API takes no separate answers).
            </p>
          )}
          {(draft.explanation ?? []).length > 0 && (
            <>
              <h3>How it works</h3>
              <ul className="pn-list">
                {(draft.explanation ?? []).map((x, i) => (
                  <li key={i}>{x}</li>
                ))}
              </ul>
            </>
          )}
          {qs.length > 0 && (
            <div className="pn-questions">
              <h3>Open questions</h3>
              {qs.map((q, i) => (
                <label key={q}>
                  <span>{q}</span>
                  <input
                    type="text"
                    value={answers[q] ?? ""}
                    aria-label={`Answer to: ${q}`}
                    placeholder="Your answer"
                    onChange={(e) => setAnswers((a) => ({ ...a, [q]: e.target.value }))}
                    onKeyDown={(e) => {
                      if (e.key === "Enter") {
                        e.preventDefault();
                        applyAnswers();
                      }
                    }}
                    autoFocus={i === 0}
                  />
                </label>
              ))}
              <button type="button" onClick={applyAnswers} disabled={busy}>
                Apply answers
              </button>
            </div>
          )}
          {qs.length === 0 && <p className="muted">No open questions.</p>}
          <Notes title="Not understood" items={draft.not_understood} />
          <Notes title="Warnings" items={draft.warnings} />
          <Notes title="Read as typos" items={draft.corrections} />
          <details className="pn-json" open>
            <summary>Drafted YAML</summary>
            <pre tabIndex={0} aria-label="Drafted YAML">
              {draft.yaml}
            </pre>
          </details>
          <div className="toolbar">
            <button type="button" onClick={put}>
              {draft.valid ? "Put on canvas" : "Put on canvas (not valid)"}
            </button>
            {placed && (
              <span className="ok" role="status">
                The draft replaced the canvas.
              </span>
            )}
          </div>
        </div>
      )}
    </section>
  );
}

function Notes({ title, items }: { title: string; items?: string[] | null }) {
  if (!items || !items.length) return null;
  return (
    <>
      <h3>{title}</h3>
      <ul className="pn-list pn-warn-list">
        {items.map((x, i) => (
          <li key={i}>{x}</li>
        ))}
      </ul>
    </>
  );
}
