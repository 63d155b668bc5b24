// Suggest mapping: for the selected call step's `with` (or a set step), run
// the schema mapper (POST /api/mappings) from an upstream output (an earlier
// step's output schema, the trigger's schema, a test run's sample, or a
// pasted document) to the operation's input schema (or a target the user
// gives), review the candidates per target field, and apply the accepted
// ones into the step as CEL expressions over steps.X / trigger.body.
import { useEffect, useId, useMemo, useState } from "react";
import { api, ApiError } from "../../api";
import { acceptedToPatch, alternatives, celRef, fieldList, flowInfo, itemSchema, outputRoot, rooted, splitCall, unrooted, upstream, type FlatStep } from "./logic";
import type { Mapping, PanelProps } from "./types";
import "./panels.css";

interface Operation {
  name: string;
  input_schema?: Record<string, unknown>;
  output_schema?: Record<string, unknown>;
}
interface ConnectorDoc {
  name: string;
  operations: Operation[];
  triggers?: { operation: string; items?: string }[];
}

const connectors = new Map<string, Promise<ConnectorDoc>>();

function connector(name: string): Promise<ConnectorDoc> {
  let p = connectors.get(name);
  if (!p) {
    p = api<ConnectorDoc>(`/api/connectors/${encodeURIComponent(name)}`);
    p.catch(() => connectors.delete(name));
    connectors.set(name, p);
  }
  return p;
}

async function operation(call: unknown): Promise<{ conn: ConnectorDoc; op: Operation }> {
  const parts = splitCall(call);
  if (!parts) throw new Error(`"${String(call)}" is not connector.operation`);
  const conn = await connector(parts[0]);
  const op = conn.operations.find((o) => o.name === parts[1]);
  if (!op) throw new Error(`The ${parts[0]} connector has no operation ${parts[1]}.`);
  return { conn, op };
}

/** A side of the mapping: how to get its document, and (for a source) the
 * CEL root its fields are read from. */
interface Side {
  key: string;
  label: string;
  root: string;
  load?: () => Promise<{ doc?: unknown; csv?: string }>;
  paste?: boolean;
}

function parsePasted(text: string, what: string): { doc?: unknown; csv?: string } {
  const t = text.trim();
  if (!t) throw new Error(`Paste the ${what} first: a JSON sample, a JSON Schema, a field list or CSV header.`);
  try {
    return { doc: JSON.parse(t) };
  } catch (e) {
    if (!/[{}[\]]/.test(t.split("\n")[0]) && t.includes(",")) return { csv: t };
    throw new Error(`The ${what} is not JSON (nor a CSV header): ${(e as Error).message}`);
  }
}

function sourcesFor(info: ReturnType<typeof flowInfo>, step: FlatStep, results: PanelProps["stepResults"]): Side[] {
  const out: Side[] = [];
  const t = info.trigger;
  if (t?.kind === "webhook" && t.value.schema) {
    out.push({ key: "trigger", label: "trigger.body (the webhook's schema)", root: "trigger.body", load: async () => ({ doc: t.value.schema }) });
  } else if (t?.kind === "poll" && typeof t.value.operation === "string") {
    const call = t.value.operation;
    out.push({
      key: "trigger",
      label: `trigger.body (a record of ${call})`,
      root: "trigger.body",
      load: async () => {
        const { conn, op } = await operation(call);
        const items = conn.triggers?.find((x) => x.operation === op.name)?.items;
        const doc = itemSchema(op.output_schema, items);
        if (!doc) throw new Error(`${call} declares no output schema.`);
        return { doc };
      },
    });
  }
  for (const s of upstream(info, step.id)) {
    const sample = results?.[s.id]?.output;
    if (sample !== undefined && sample !== null && typeof sample === "object") {
      out.push({ key: "sample:" + s.id, label: `steps.${s.id} (its output in the last test run)`, root: `steps.${s.id}`, load: async () => ({ doc: sample }) });
    }
    if (s.kind === "call") {
      const parts = splitCall(s.raw.call);
      if (!parts) continue;
      out.push({
        key: "step:" + s.id,
        label: `steps.${s.id} (output of ${s.raw.call as string})`,
        root: outputRoot(parts[0], s.id),
        load: async () => {
          const { op } = await operation(s.raw.call);
          if (!op.output_schema) throw new Error(`${s.raw.call as string} declares no output schema: run a test and use its output as a sample, or paste one.`);
          return { doc: op.output_schema };
        },
      });
    } else if (s.kind === "set" && s.raw.set && typeof s.raw.set === "object") {
      const keys = Object.keys(s.raw.set as object);
      out.push({ key: "step:" + s.id, label: `steps.${s.id} (fields ${keys.join(", ")})`, root: `steps.${s.id}`, load: async () => ({ doc: fieldList(s.id, keys) }) });
    }
  }
  out.push({ key: "paste", label: "Paste a sample or schema…", root: "trigger.body", paste: true });
  return out;
}

function targetsFor(step: FlatStep): Side[] {
  const out: Side[] = [];
  if (step.kind === "call") {
    const call = step.raw.call;
    out.push({
      key: "input",
      label: `input of ${String(call)}`,
      root: "",
      load: async () => {
        const { op } = await operation(call);
        if (!op.input_schema) throw new Error(`${String(call)} declares no input schema: paste a target.`);
        return { doc: op.input_schema };
      },
    });
  } else if (step.kind === "set") {
    const keys = step.raw.set && typeof step.raw.set === "object" ? Object.keys(step.raw.set as object) : [];
    if (keys.length) out.push({ key: "keys", label: `its fields (${keys.join(", ")})`, root: "", load: async () => ({ doc: fieldList(step.id, keys) }) });
  }
  out.push({ key: "paste", label: "Paste a target schema…", root: "", paste: true });
  return out;
}

/** One row per target field: the mapper's suggestion, then other ranked sources. */
interface Row {
  target: string;
  options: { sources: string[]; expr: string; score: number; reason: string; suggested: boolean }[];
  pick: number;
  cel: string; // the chosen option's expression over the source root (editable)
  accepted: boolean;
}

function rowsOf(m: Mapping, root: string): Row[] {
  const alts = alternatives(m.candidates);
  const rows: Row[] = [];
  const seen = new Set<string>();
  for (const it of m.items ?? []) {
    seen.add(it.target);
    const options = [{ sources: it.sources, expr: it.expr, score: it.confidence, reason: it.reason, suggested: true }];
    for (const a of alts[it.target] ?? []) {
      if (it.sources.length === 1 && it.sources[0] === a.source) continue;
      options.push({ sources: [a.source], expr: celRef("src", a.source), score: a.score, reason: "another candidate (direct copy)", suggested: false });
    }
    rows.push({ target: it.target, options, pick: 0, cel: rooted(it.expr, root), accepted: false });
  }
  for (const [target, list] of Object.entries(alts)) {
    if (seen.has(target)) continue;
    const options = list.map((a) => ({ sources: [a.source], expr: celRef("src", a.source), score: a.score, reason: "a candidate the 1:1 assignment gave to another field", suggested: false }));
    rows.push({ target, options, pick: 0, cel: rooted(options[0].expr, root), accepted: false });
  }
  return rows.sort((a, b) => (a.target < b.target ? -1 : 1));
}

export function SuggestMappingPanel({ source, selectedStepId, onPatchStep, stepResults }: PanelProps) {
  const uid = useId();
  const info = useMemo(() => flowInfo(source), [source]);
  const step = info.steps.find((s) => s.id === selectedStepId);
  const srcs = useMemo(() => (step ? sourcesFor(info, step, stepResults) : []), [info, step, stepResults]);
  const tgts = useMemo(() => (step ? targetsFor(step) : []), [step]);
  const [srcKey, setSrcKey] = useState("");
  const [tgtKey, setTgtKey] = useState("");
  const [pastedSrc, setPastedSrc] = useState("");
  const [pastedRoot, setPastedRoot] = useState("trigger.body");
  const [pastedTgt, setPastedTgt] = useState("");
  const [mapping, setMapping] = useState<Mapping | null>(null);
  const [root, setRoot] = useState("");
  const [rows, setRows] = useState<Row[]>([]);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState("");
  const [done, setDone] = useState("");

  // A different step starts afresh; a source no longer offered falls back to the first.
  useEffect(() => {
    setMapping(null);
    setRows([]);
    setErr("");
    setDone("");
  }, [selectedStepId]);
  const src = srcs.find((s) => s.key === srcKey) ?? srcs.find((s) => !s.paste) ?? srcs[0];
  const tgt = tgts.find((s) => s.key === tgtKey) ?? tgts[0];

  if (!selectedStepId) return <Shell uid={uid}><p className="empty">Select a call step (to fill its <code>with</code>) or a set step to get mapping suggestions from the data before it.</p></Shell>;
  if (info.error) return <Shell uid={uid}><p className="error">{info.error}</p></Shell>;
  if (!step) return <Shell uid={uid}><p className="empty">There is no step {selectedStepId} in the draft. Select another step.</p></Shell>;
  if (step.kind !== "call" && step.kind !== "set") {
    return <Shell uid={uid}><p className="empty">Step {step.id} is a {step.kind} step. Suggest mapping fills a call step's <code>with</code> or a set step: select one of those.</p></Shell>;
  }
  if (!src || !tgt) return <Shell uid={uid}><p className="empty">Nothing to map from.</p></Shell>;
  const key: "with" | "set" = step.kind === "call" ? "with" : "set";

  const suggest = async () => {
    setErr("");
    setDone("");
    setBusy(true);
    try {
      const s = src.paste ? parsePasted(pastedSrc, "source") : await src.load!();
      const t = tgt.paste ? parsePasted(pastedTgt, "target") : await tgt.load!();
      const r = src.paste ? pastedRoot.trim() || "trigger.body" : src.root;
      const m = await api<Mapping>("/api/mappings", {
        body: {
          name: `${info.name ?? "draft"}.${step.id}.${key}`,
          source: { name: r, ...s },
          target: { name: step.kind === "call" ? String(step.raw.call) : step.id, ...t },
          top: 3,
        },
      });
      setMapping(m);
      setRoot(r);
      setRows(rowsOf(m, r));
    } catch (e) {
      setErr(e instanceof ApiError || e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const upd = (i: number, p: Partial<Row>) => setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...p } : r)));

  const apply = async () => {
    if (!mapping) return;
    const acc = rows.filter((r) => r.accepted && r.cel.trim());
    if (!acc.length) {
      setErr("Accept at least one suggestion first.");
      return;
    }
    setErr("");
    const patch = acceptedToPatch(
      acc.map((r) => ({ target: r.target, sources: r.options[r.pick].sources, expr: unrooted(r.cel.trim(), root) })),
      root,
    );
    // Teach the mapper what was accepted (its memory ranks these pairs higher next time).
    let note = "";
    try {
      await api(`/api/mappings/${encodeURIComponent(mapping.id)}/reviews`, {
        body: acc.map((r) => {
          const o = r.options[r.pick];
          const expr = unrooted(r.cel.trim(), root);
          return o.suggested && expr === o.expr ? { target: r.target, action: "accept" } : { target: r.target, action: "edit", expr, sources: o.sources };
        }),
      });
    } catch (e) {
      note = ` (the reviews were not recorded: ${(e as Error).message})`;
    }
    if (!onPatchStep) {
      setErr("This page cannot change steps.");
      return;
    }
    onPatchStep(step.id, key, patch);
    setDone(`Applied ${Object.keys(patch).length} field${Object.keys(patch).length === 1 ? "" : "s"} to ${step.id}'s ${key}${note}.`);
  };

  return (
    <Shell uid={uid}>
      <p className="muted pn-help">
        Step <strong>{step.id}</strong>: {step.kind === "call" ? <>fill <code>with</code> of <code>{String(step.raw.call)}</code></> : <>fill the set step's fields</>}.
      </p>
      <label>
        Source (the data before this step)
        <select value={src.key} onChange={(e) => setSrcKey(e.target.value)}>
          {srcs.map((s) => (
            <option key={s.key} value={s.key}>
              {s.label}
            </option>
          ))}
        </select>
      </label>
      {src.paste && (
        <>
          <label>
            Source document (JSON sample, JSON Schema, field list, or CSV)
            <textarea rows={5} spellCheck={false} value={pastedSrc} onChange={(e) => setPastedSrc(e.target.value)} placeholder='{"order_id": "A-1", "customer": {"email": "ada@example.com"}}' />
          </label>
          <label>
            Read from (CEL root)
            <input type="text" value={pastedRoot} onChange={(e) => setPastedRoot(e.target.value)} placeholder="trigger.body or steps.ID" />
          </label>
        </>
      )}
      <label>
        Target
        <select value={tgt.key} onChange={(e) => setTgtKey(e.target.value)}>
          {tgts.map((s) => (
            <option key={s.key} value={s.key}>
              {s.label}
            </option>
          ))}
        </select>
      </label>
      {tgt.paste && (
        <label>
          Target document (JSON Schema, field list, sample, or CSV)
          <textarea rows={5} spellCheck={false} value={pastedTgt} onChange={(e) => setPastedTgt(e.target.value)} placeholder='{"type": "object", "properties": {"email": {"type": "string"}}}' />
        </label>
      )}
      <div className="toolbar">
        <button type="button" onClick={suggest} disabled={busy}>
          {busy ? "Suggesting…" : "Suggest"}
        </button>
      </div>
      {err && (
        <p className="error" role="alert">
          {err}
        </p>
      )}
      {mapping && (
        <div className="pn-result" aria-label="Mapping suggestions">
          {mapping.warning && <p className="pn-warn">{mapping.warning}</p>}
          {rows.length === 0 ? (
            <p className="empty">The mapper found nothing to suggest between these two. Try another source, or write the expressions by hand.</p>
          ) : (
            <>
              <div className="toolbar">
                <button type="button" className="secondary" onClick={() => setRows((rs) => rs.map((r) => ({ ...r, accepted: r.options[r.pick].score >= 0.5 })))}>
                  Accept all ≥ 50%
                </button>
                <button type="button" className="secondary" onClick={() => setRows((rs) => rs.map((r) => ({ ...r, accepted: false })))}>
                  Clear
                </button>
              </div>
              <table className="table pn-map">
                <thead>
                  <tr>
                    <th>Accept</th>
                    <th>Target</th>
                    <th>Source · score · reason · CEL</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r, i) => {
                    const o = r.options[r.pick];
                    return (
                      <tr key={r.target} className={r.accepted ? "selected" : undefined}>
                        <td>
                          <input type="checkbox" checked={r.accepted} aria-label={`Accept ${r.target}`} onChange={(e) => upd(i, { accepted: e.target.checked })} />
                        </td>
                        <td>
                          <code>{r.target}</code>
                        </td>
                        <td>
                          {r.options.length > 1 ? (
                            <select
                              aria-label={`Source for ${r.target}`}
                              value={r.pick}
                              onChange={(e) => {
                                const k = Number(e.target.value);
                                upd(i, { pick: k, cel: rooted(r.options[k].expr, root) });
                              }}
                            >
                              {r.options.map((x, k) => (
                                <option key={k} value={k}>
                                  {x.sources.join(" + ")} · {Math.round(x.score * 100)}%
                                </option>
                              ))}
                            </select>
                          ) : (
                            <code>{o.sources.join(" + ")}</code>
                          )}{" "}
                          <span className={"badge " + (o.score >= 0.5 ? "ok" : "running")}>{Math.round(o.score * 100)}%</span>
                          <span className="muted">{o.reason}</span>
                          <input type="text" className="pn-cel" value={r.cel} spellCheck={false} aria-label={`CEL for ${r.target}`} onChange={(e) => upd(i, { cel: e.target.value })} />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </>
          )}
          {(mapping.unmatched_required ?? []).length > 0 && (
            <p className="pn-warn">Required and still unmatched: {(mapping.unmatched_required ?? []).join(", ")}. Fill them by hand.</p>
          )}
          <div className="toolbar">
            <button type="button" onClick={apply} disabled={!rows.some((r) => r.accepted)}>
              Apply to {step.id}
            </button>
            <span className="muted">Reads from <code>{root}</code>; keys already in {key} are replaced.</span>
          </div>
          {done && (
            <p className="ok" role="status">
              {done}
            </p>
          )}
        </div>
      )}
    </Shell>
  );
}

function Shell({ uid, children }: { uid: string; children: React.ReactNode }) {
  return (
    <section className="pn" aria-labelledby={uid + "h"}>
      <h2 id={uid + "h"}>Suggest mapping</h2>
      {children}
    </section>
  );
}
