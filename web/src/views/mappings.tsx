// Mapping review (#/mappings, #/mappings/new, #/mappings/ID): the schema
// mapper's suggestions, source and target side by side, reviewed with the
// keyboard, and exported as a flow's set step (docs/mapper.md).
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { api } from "../api";
import { href, navigate, type Route } from "../router";
import { CopyButton, ErrorNote, Loading, asApiError, downloadText, fmtTime, useApi } from "./kit";
import {
  celRef,
  guessKind,
  nextIndex,
  nextUnreviewed,
  parseSources,
  progress,
  reviewRows,
  sideBody,
  statusLabel,
  unknownSources,
  type Field,
  type Mapping,
  type MappingSummary,
  type Row,
  type SideInput,
  type SideKind,
} from "./mapping-model";
import "./mappings.css";

export function MappingsView({ route }: { route: Route }) {
  const id = route.parts[1];
  if (!id) return <MappingList />;
  if (id === "new") return <NewMapping />;
  return <MappingReview key={id} id={id} />;
}

function MappingList() {
  const { data, err, loading, reload } = useApi<{ mappings: MappingSummary[] }>("/api/mappings");
  const list = [...(data?.mappings ?? [])].sort((a, b) => (b.updated_at ?? "").localeCompare(a.updated_at ?? ""));
  return (
    <section className="mapping-page">
      <header className="pagehead">
        <h1>Mappings</h1>
        <span className="grow" />
        <a className="button-link" href={href("/mappings/new")}>
          New mapping
        </a>
      </header>
      <p className="muted">The schema mapper proposes how to fill a target's fields from a source's, with a score, a reason and the CEL conversion. Review the suggestions, then export them as a flow step.</p>
      {err ? (
        <ErrorNote err={err} what="Could not load the mappings" retry={reload} />
      ) : loading && !data ? (
        <Loading what="mappings" />
      ) : list.length === 0 ? (
        <p className="empty">
          No mappings yet. <a href={href("/mappings/new")}>Create one</a> from a source and a target (JSON Schemas, sample payloads, CSV files or database tables), or run{" "}
          <code>weft map suggest --source A --target B</code>.
        </p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Suggestions</th>
              <th>Reviewed</th>
              <th>Accepted</th>
              <th>Rejected</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {list.map((m) => (
              <tr key={m.id}>
                <td>
                  <a href={href("/mappings/" + encodeURIComponent(m.id))}>{m.name}</a>
                </td>
                <td>{m.items}</td>
                <td>
                  <progress max={m.items || 1} value={m.items - m.proposed} aria-label={`${m.items - m.proposed} of ${m.items} reviewed`} /> {m.items - m.proposed} of {m.items}
                </td>
                <td>{m.accepted}</td>
                <td>{m.rejected}</td>
                <td>{fmtTime(m.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const emptySide = (): SideInput => ({ kind: "json", text: "", connection: "", table: "", name: "" });

// An example pair (a lead export and a contact record) to try the mapper with.
const exampleSource = JSON.stringify({ first_name: "Grace", last_name: "Hopper", email: "grace@example.com", tel: "+1 212 555 0100", organisation: "Navy", created: "03/15/2024" }, null, 2);
const exampleTarget = JSON.stringify(
  {
    type: "object",
    required: ["full_name", "email_address"],
    properties: {
      full_name: { type: "string" },
      email_address: { type: "string", format: "email" },
      phone: { type: "string" },
      company: { type: "string" },
      signed_up: { type: "string", format: "date" },
    },
  },
  null,
  2,
);

function NewMapping() {
  const [name, setName] = useState("");
  const [top, setTop] = useState(3);
  const [source, setSource] = useState<SideInput>(emptySide);
  const [target, setTarget] = useState<SideInput>(emptySide);
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState(false);
  const conns = useApi<{ connections: { name: string; connector: string }[] }>("/api/connections");
  const dbConns = (conns.data?.connections ?? []).filter((c) => ["postgres", "mysql", "sqlite"].includes(c.connector));
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setErr("");
    let body: Record<string, unknown>;
    try {
      body = { name: name.trim() || undefined, source: sideBody("The source", source), target: sideBody("The target", target), top };
    } catch (e) {
      setErr((e as Error).message);
      return;
    }
    setBusy(true);
    try {
      const m = await api<Mapping>("/api/mappings", { body });
      navigate("/mappings/" + encodeURIComponent(m.id));
    } catch (e) {
      setErr(asApiError(e).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="mapping-page">
      <header className="pagehead">
        <a href={href("/mappings")}>Mappings</a>
        <span className="muted">/</span>
        <h1>New mapping</h1>
      </header>
      <form onSubmit={submit} className="mapping-new" aria-label="New mapping">
        <div className="toolbar">
          <label>
            Name
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder="leads -> contacts" />
          </label>
          <label>
            Candidates per field
            <input type="number" min={1} max={10} value={top} onChange={(e) => setTop(Math.max(1, Math.min(10, Number(e.target.value) || 1)))} />
          </label>
          <span className="grow" />
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setSource({ ...emptySide(), name: "lead", text: exampleSource });
              setTarget({ ...emptySide(), name: "contact", text: exampleTarget });
              if (!name) setName("leads -> contacts");
            }}
          >
            Fill in an example
          </button>
        </div>
        <div className="mapping-sides">
          <SideEditor label="Source" value={source} onChange={setSource} dbConns={dbConns} />
          <SideEditor label="Target" value={target} onChange={setTarget} dbConns={dbConns} />
        </div>
        {err && (
          <p className="error" role="alert">
            {err}
          </p>
        )}
        <div className="toolbar">
          <button type="submit" disabled={busy}>
            {busy ? "Suggesting…" : "Suggest mappings"}
          </button>
          <a href={href("/mappings")}>Cancel</a>
        </div>
      </form>
    </section>
  );
}

function SideEditor({ label, value, onChange, dbConns }: { label: string; value: SideInput; onChange: (s: SideInput) => void; dbConns: { name: string; connector: string }[] }) {
  const [fileErr, setFileErr] = useState("");
  const set = (p: Partial<SideInput>) => onChange({ ...value, ...p });
  const onFile = async (e: React.ChangeEvent<HTMLInputElement>) => {
    const f = e.target.files?.[0];
    setFileErr("");
    if (!f) return;
    if (f.size > 32 << 20) {
      setFileErr(`${f.name} is ${(f.size / (1 << 20)).toFixed(1)} MiB; the limit is 32 MiB`);
      return;
    }
    const text = await f.text();
    set({ text, kind: guessKind(f.name, text), name: value.name || f.name.replace(/\.[^.]+$/, "") });
    e.target.value = "";
  };
  const lower = label.toLowerCase();
  return (
    <fieldset className="card mapping-side">
      <legend>{label}</legend>
      <div className="toolbar">
        <label>
          {label} name
          <input value={value.name} onChange={(e) => set({ name: e.target.value })} placeholder={lower} />
        </label>
        <label>
          {label} kind
          <select value={value.kind} onChange={(e) => set({ kind: e.target.value as SideKind })}>
            <option value="json">JSON Schema, sample payload or field list</option>
            <option value="csv">CSV (header and sample rows)</option>
            <option value="table">Database table</option>
          </select>
        </label>
      </div>
      {value.kind === "table" ? (
        <div className="toolbar">
          <label>
            {label} connection
            <select value={value.connection} onChange={(e) => set({ connection: e.target.value })}>
              <option value="">Choose a database connection</option>
              {dbConns.map((c) => (
                <option key={c.name} value={c.name}>
                  {c.name} ({c.connector})
                </option>
              ))}
            </select>
          </label>
          <label>
            {label} table
            <input value={value.table} onChange={(e) => set({ table: e.target.value })} placeholder="schema.table" />
          </label>
          {dbConns.length === 0 && <p className="muted">No postgres, mysql or sqlite connection is configured: add one under Connections first.</p>}
        </div>
      ) : (
        <>
          <label>
            {label} document
            <textarea
              rows={14}
              spellCheck={false}
              value={value.text}
              onChange={(e) => set({ text: e.target.value })}
              placeholder={value.kind === "csv" ? "id,name,email\n1,Ada,ada@example.com" : '{"type": "object", "properties": {...}}  or a sample payload'}
            />
          </label>
          <label className="mapping-file">
            Upload {lower} file
            <input type="file" accept=".json,.csv,application/json,text/csv" onChange={onFile} />
          </label>
          {fileErr && (
            <p className="error" role="alert">
              {fileErr}
            </p>
          )}
        </>
      )}
    </fieldset>
  );
}

interface EditState {
  sources: string;
  expr: string;
}

function useReviewer(): [string, (s: string) => void] {
  const [r, setR] = useState(() => localStorage.getItem("weft.reviewer") ?? "");
  return [
    r,
    (s: string) => {
      setR(s);
      localStorage.setItem("weft.reviewer", s);
    },
  ];
}

function MappingReview({ id }: { id: string }) {
  const { data, err, loading, reload } = useApi<Mapping>("/api/mappings/" + encodeURIComponent(id));
  const [m, setM] = useState<Mapping | null>(null);
  useEffect(() => {
    if (data) setM(data);
  }, [data]);
  const [sel, setSel] = useState(0);
  const [edit, setEdit] = useState<EditState | null>(null);
  const [rowErr, setRowErr] = useState<{ target: string; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [reviewer, setReviewer] = useReviewer();
  const rows = useMemo(() => (m ? reviewRows(m) : []), [m]);
  const rowRefs = useRef<(HTMLLIElement | null)[]>([]);
  const listRef = useRef<HTMLOListElement>(null);
  const prog = m ? progress(m) : null;

  // Keep the selected row in view and focused while the list has the focus.
  useEffect(() => {
    const el = rowRefs.current[sel];
    if (!el) return;
    if (listRef.current?.contains(document.activeElement) && !edit) el.focus();
    el.scrollIntoView?.({ block: "nearest" });
  }, [sel, edit, rows.length]);

  const apply = useCallback(
    async (row: Row, action: "accept" | "reject" | "edit", e?: EditState): Promise<boolean> => {
      if (!m) return false;
      if (action !== "edit" && !row.item) {
        setRowErr({ target: row.target.path, message: "No suggestion to " + action + ": press e to map this field yourself." });
        return false;
      }
      const review: Record<string, unknown> = { target: row.target.path, action };
      if (reviewer.trim()) review.reviewer = reviewer.trim();
      if (e) {
        const sources = parseSources(e.sources);
        const unknown = unknownSources(m, sources);
        if (!e.expr.trim()) {
          setRowErr({ target: row.target.path, message: "Give the CEL expression (it reads the source record as src)." });
          return false;
        }
        if (unknown.length) {
          setRowErr({ target: row.target.path, message: `${m.source.name} has no field ${unknown.map((u) => JSON.stringify(u)).join(", ")}` });
          return false;
        }
        review.expr = e.expr.trim();
        if (sources.length) review.sources = sources;
      }
      setBusy(true);
      setRowErr(null);
      try {
        const next = await api<Mapping>(`/api/mappings/${encodeURIComponent(m.id)}/reviews`, { body: [review] });
        setM(next);
        return true;
      } catch (err) {
        setRowErr({ target: row.target.path, message: asApiError(err).message });
        return false;
      } finally {
        setBusy(false);
      }
    },
    [m, reviewer],
  );

  const startEdit = (row: Row) => {
    setRowErr(null);
    setEdit({ sources: (row.item?.sources ?? []).join(", "), expr: row.item?.expr ?? "" });
  };
  const saveEdit = async () => {
    const row = rows[sel];
    if (!row || !edit) return;
    if (await apply(row, "edit", edit)) {
      setEdit(null);
      requestAnimationFrame(() => rowRefs.current[sel]?.focus());
    }
  };
  const cancelEdit = () => {
    setEdit(null);
    setRowErr(null);
    requestAnimationFrame(() => rowRefs.current[sel]?.focus());
  };

  const onListKey = async (e: KeyboardEvent<HTMLOListElement>) => {
    const t = e.target as HTMLElement;
    if (t.closest("input, textarea, select") || e.altKey || e.ctrlKey || e.metaKey) return;
    const row = rows[sel];
    switch (e.key) {
      case "j":
      case "ArrowDown":
        e.preventDefault();
        setSel((i) => nextIndex(i, 1, rows.length));
        break;
      case "k":
      case "ArrowUp":
        e.preventDefault();
        setSel((i) => nextIndex(i, -1, rows.length));
        break;
      case "Home":
        e.preventDefault();
        setSel(0);
        break;
      case "End":
        e.preventDefault();
        setSel(Math.max(0, rows.length - 1));
        break;
      case "a":
      case "r":
        if (!row || busy) return;
        e.preventDefault();
        if (await apply(row, e.key === "a" ? "accept" : "reject")) setSel(nextUnreviewed(rows, sel));
        break;
      case "e":
        if (!row) return;
        e.preventDefault();
        startEdit(row);
        break;
      case "Escape":
        setRowErr(null);
        break;
    }
  };

  if (err) return <ErrorNote err={err} what="Could not load the mapping" retry={reload} />;
  if (loading && !m) return <Loading what="the mapping" />;
  if (!m || !prog) return null;
  const selected = rows[sel];
  const selSources = new Set(edit ? parseSources(edit.sources) : (selected?.item?.sources ?? []));

  return (
    <section className="mapping-page">
      <header className="pagehead">
        <a href={href("/mappings")}>Mappings</a>
        <span className="muted">/</span>
        <h1>{m.name}</h1>
        <span className="grow" />
        <label className="mapping-reviewer">
          Reviewer
          <input value={reviewer} onChange={(e) => setReviewer(e.target.value)} placeholder="your name (optional)" />
        </label>
      </header>
      <div className="mapping-progress" aria-live="polite">
        <progress max={prog.total || 1} value={prog.reviewed} aria-label="Review progress" />
        <span>
          <strong>
            {prog.reviewed} of {prog.total}
          </strong>{" "}
          suggestions reviewed · {prog.accepted} accepted · {prog.rejected} rejected
        </span>
        <span className="grow" />
        <button
          className="secondary"
          disabled={busy || prog.reviewed === prog.total}
          onClick={async () => {
            setBusy(true);
            try {
              setM(await api<Mapping>(`/api/mappings/${encodeURIComponent(m.id)}/reviews`, { body: [{ target: "*", action: "accept", reviewer: reviewer.trim() || undefined }] }));
            } catch (e) {
              setRowErr({ target: "*", message: asApiError(e).message });
            } finally {
              setBusy(false);
            }
          }}
        >
          Accept all remaining
        </button>
      </div>
      {m.warning && <p className="muted">⚠ {m.warning}</p>}
      {(m.unmatched_required?.length ?? 0) > 0 && (
        <p className="mapping-warn" role="note">
          Required target fields without a suggestion: {m.unmatched_required!.join(", ")}. Select one and press <kbd>e</kbd> to map it yourself.
        </p>
      )}
      {rowErr?.target === "*" && (
        <p className="error" role="alert">
          {rowErr.message}
        </p>
      )}
      <p className="mapping-help muted" id="mapping-keys">
        Keys: <kbd>j</kbd>/<kbd>k</kbd> or <kbd>↓</kbd>/<kbd>↑</kbd> move · <kbd>a</kbd> accept · <kbd>r</kbd> reject · <kbd>e</kbd> edit · <kbd>Enter</kbd> save · <kbd>Esc</kbd> cancel
      </p>
      <div className="mapping-grid">
        <aside className="card mapping-fields" aria-label={"Source fields of " + m.source.name}>
          <h2>
            Source <span className="muted">{m.source.name}</span>
          </h2>
          <ul>
            {m.source.fields.map((f) => (
              <li key={f.path} className={selSources.has(f.path) ? "hl" : undefined}>
                {edit ? (
                  <button
                    type="button"
                    className="linkish"
                    title="Use this field in the expression being edited"
                    onClick={() => setEdit({ sources: f.path, expr: celRef(f.path) })}
                  >
                    <FieldLine f={f} />
                  </button>
                ) : (
                  <FieldLine f={f} />
                )}
              </li>
            ))}
          </ul>
        </aside>
        <div className="mapping-review">
          <div className="mapping-colheads" aria-hidden="true">
            <span>Source → conversion</span>
            <span>Target {m.target.name}</span>
          </div>
          <ol ref={listRef} className="mapping-rows" aria-label="Suggestions by target field" aria-describedby="mapping-keys" onKeyDown={onListKey}>
            {rows.map((row, i) => (
              <ReviewRow
                key={row.target.path}
                row={row}
                selected={i === sel}
                busy={busy}
                refCb={(el) => (rowRefs.current[i] = el)}
                onSelect={() => setSel(i)}
                onAccept={async () => {
                  setSel(i);
                  if (await apply(row, "accept")) setSel(nextUnreviewed(rows, i));
                }}
                onReject={async () => {
                  setSel(i);
                  if (await apply(row, "reject")) setSel(nextUnreviewed(rows, i));
                }}
                onEdit={() => {
                  setSel(i);
                  startEdit(row);
                }}
                onUse={(src) => {
                  setSel(i);
                  setRowErr(null);
                  setEdit({ sources: src, expr: celRef(src) });
                }}
                edit={i === sel ? edit : null}
                setEdit={setEdit}
                onSave={saveEdit}
                onCancel={cancelEdit}
                err={rowErr && rowErr.target === row.target.path ? rowErr.message : ""}
              />
            ))}
          </ol>
          {rows.length === 0 && <p className="empty">The target has no fields.</p>}
        </div>
      </div>
      <ExportPanel m={m} />
    </section>
  );
}

function FieldLine({ f }: { f: Field }) {
  const ex = f.examples?.[0];
  return (
    <span className="fieldline">
      <code>{f.path}</code>
      {f.required && (
        <span className="req" title="required">
          *
        </span>
      )}{" "}
      <span className="muted">
        {f.type}
        {f.format ? " · " + f.format : ""}
      </span>
      {ex !== undefined && <span className="muted ex"> e.g. {typeof ex === "string" ? ex : JSON.stringify(ex)}</span>}
    </span>
  );
}

interface RowProps {
  row: Row;
  selected: boolean;
  busy: boolean;
  refCb: (el: HTMLLIElement | null) => void;
  onSelect: () => void;
  onAccept: () => void;
  onReject: () => void;
  onEdit: () => void;
  onUse: (source: string) => void;
  edit: EditState | null;
  setEdit: (e: EditState | null) => void;
  onSave: () => void;
  onCancel: () => void;
  err: string;
}

function ReviewRow({ row, selected, busy, refCb, onSelect, onAccept, onReject, onEdit, onUse, edit, setEdit, onSave, onCancel, err }: RowProps) {
  const it = row.item;
  const status = it?.status;
  const score = it ? Math.round(it.confidence * 100) : 0;
  const editKeys = (e: KeyboardEvent<HTMLElement>) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      onSave();
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      onCancel();
    }
  };
  return (
    <li
      ref={refCb}
      tabIndex={selected ? 0 : -1}
      className={"mapping-row " + (status ?? "none") + (selected ? " selected" : "")}
      aria-label={`${row.target.path}: ${statusLabel(status)}`}
      aria-current={selected ? "true" : undefined}
      onClick={onSelect}
      onFocus={onSelect}
    >
      <div className="mr-source">
        {it ? (
          <>
            <div className="mr-sources">
              {(it.sources ?? []).map((s) => (
                <code key={s}>{s}</code>
              ))}
            </div>
            <code className="mr-expr" title="CEL conversion over the source record src">
              {it.expr}
            </code>
          </>
        ) : (
          <span className="muted">no suggestion{row.target.required ? " (required)" : ""}</span>
        )}
      </div>
      <div className="mr-arrow" aria-hidden="true">
        →
      </div>
      <div className="mr-target">
        <FieldLine f={row.target} />
        {row.target.description && <div className="muted mr-desc">{row.target.description}</div>}
      </div>
      <div className="mr-meta">
        <span className={"badge mr-status " + (status ?? "none")}>{statusLabel(status)}</span>
        {it && (
          <span className="mr-score" title={`confidence ${it.confidence.toFixed(3)}`}>
            <meter min={0} max={1} low={0.4} high={0.7} optimum={1} value={it.confidence} aria-label="score" /> {score}%
          </span>
        )}
        {it?.reason && <span className="mr-reason">{it.reason}</span>}
        {it?.reviewer && <span className="muted">by {it.reviewer}</span>}
      </div>
      <div className="mr-actions">
        <button type="button" className="secondary" tabIndex={selected ? 0 : -1} disabled={busy || !it} onClick={(e) => (e.stopPropagation(), onAccept())} aria-keyshortcuts="a">
          Accept
        </button>
        <button type="button" className="secondary" tabIndex={selected ? 0 : -1} disabled={busy || !it} onClick={(e) => (e.stopPropagation(), onReject())} aria-keyshortcuts="r">
          Reject
        </button>
        <button type="button" className="secondary" tabIndex={selected ? 0 : -1} disabled={busy} onClick={(e) => (e.stopPropagation(), onEdit())} aria-keyshortcuts="e">
          Edit
        </button>
      </div>
      {row.alternatives.length > 0 && (
        <div className="mr-alts">
          <span className="muted">Other candidates:</span>
          {row.alternatives.slice(0, 5).map((a) => (
            <button type="button" key={a.source} className="chip" tabIndex={selected ? 0 : -1} onClick={(e) => (e.stopPropagation(), onUse(a.source))} title="Map this target from this source instead (opens the editor)">
              {a.source} <span className="muted">{Math.round(a.score * 100)}%</span>
            </button>
          ))}
        </div>
      )}
      {edit && (
        <div className="mr-edit" onClick={(e) => e.stopPropagation()}>
          <label>
            Source fields
            <input autoFocus value={edit.sources} onChange={(e) => setEdit({ ...edit, sources: e.target.value })} onKeyDown={editKeys} placeholder="first_name, last_name" spellCheck={false} />
          </label>
          <label>
            CEL expression
            <input className="mono" value={edit.expr} onChange={(e) => setEdit({ ...edit, expr: e.target.value })} onKeyDown={editKeys} placeholder='src.first_name + " " + src.last_name' spellCheck={false} />
          </label>
          <div className="toolbar">
            <button type="button" disabled={busy} onClick={onSave}>
              Save
            </button>
            <button type="button" className="secondary" onClick={onCancel}>
              Cancel
            </button>
            <span className="muted">
              The expression reads the source record as <code>src</code>; click a source field on the left to use it.
            </span>
          </div>
        </div>
      )}
      {err && (
        <p className="error mr-err" role="alert">
          {err}
        </p>
      )}
    </li>
  );
}

function ExportPanel({ m }: { m: Mapping }) {
  const [root, setRoot] = useState("trigger.body");
  const [step, setStep] = useState("mapped");
  const [yaml, setYaml] = useState("");
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState(false);
  const prog = progress(m);
  // A review changes what an export holds: drop a stale one.
  useEffect(() => setYaml(""), [m]);
  const q = new URLSearchParams();
  if (root.trim() && root.trim() !== "trigger.body") q.set("root", root.trim());
  if (step.trim() && step.trim() !== "mapped") q.set("step", step.trim());
  const builder = new URLSearchParams({ from_mapping: m.id });
  q.forEach((v, k) => builder.set(k, v));
  const run = async (e: React.FormEvent) => {
    e.preventDefault();
    setErr("");
    setBusy(true);
    try {
      const qs = q.toString();
      setYaml(await api<string>(`/api/mappings/${encodeURIComponent(m.id)}/export${qs ? "?" + qs : ""}`));
    } catch (e) {
      setYaml("");
      setErr(asApiError(e).message);
    } finally {
      setBusy(false);
    }
  };
  const file = (m.name.replace(/[^A-Za-z0-9_]+/g, "-").replace(/^-+|-+$/g, "") || "mapping") + ".yaml";
  return (
    <section className="card mapping-export" aria-label="Export">
      <h2>Export into a flow</h2>
      <p className="muted">The accepted and edited mappings become one <code>set</code> step that reads the source record at the root and checks like any flow step.</p>
      <form className="toolbar" onSubmit={run}>
        <label>
          Source root
          <input value={root} onChange={(e) => setRoot(e.target.value)} placeholder="trigger.body or steps.get_order.body" spellCheck={false} />
        </label>
        <label>
          Step id
          <input value={step} onChange={(e) => setStep(e.target.value)} spellCheck={false} />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? "Exporting…" : "Export"}
        </button>
        <a className="button-link secondary" href={href("/builder?" + builder.toString())}>
          Open in builder
        </a>
      </form>
      {prog.accepted === 0 && !yaml && <p className="muted">Nothing is accepted yet: accept or edit some suggestions first.</p>}
      {err && (
        <p className="error" role="alert">
          {err}
        </p>
      )}
      {yaml && (
        <>
          <pre aria-label="Exported YAML" tabIndex={0}>
            {yaml}
          </pre>
          <div className="toolbar">
            <CopyButton text={yaml} label="Copy YAML" />
            <button type="button" className="secondary" onClick={() => downloadText(file, yaml, "application/yaml")}>
              Download
            </button>
          </div>
        </>
      )}
    </section>
  );
}
