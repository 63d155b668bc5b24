// Audit (#/audit?actor=&action=&since=&before=): the tamper-evident audit
// log, newest first, with filters, paging, each entry's before/after
// summary, a check of the hash chain (GET /api/audit/verify) and an export
// as JSON lines (GET /api/audit/export) (docs/security.md "Audit log").
import { Fragment, useEffect, useState, type FormEvent } from "react";
import { api, type ApiError } from "../api";
import { href, navigate, type Route } from "../router";
import { AUDIT_ACTIONS, auditFilters, auditQuery, changes, show, summary, verifyText, type AuditEntry, type Verification } from "../lib/access";
import { Loading, asApiError, fmtTime, useApi } from "./kit";
import { Problem } from "./problem";
import "./access.css";

const PAGE = 50;

const SINCE = [
  ["", "any time"],
  ["1h", "last hour"],
  ["24h", "last 24 hours"],
  ["7d", "last 7 days"],
  ["30d", "last 30 days"],
] as const;

export function AuditView({ route }: { route: Route }) {
  const f = auditFilters(route.query);
  const path = "/api/audit" + auditQuery(f, { limit: PAGE });
  const { data, err, loading, reload } = useApi<{ entries: AuditEntry[]; next_cursor?: string }>(path);
  const [actor, setActor] = useState(f.actor);
  const [action, setAction] = useState(f.action);
  const [since, setSince] = useState(f.since);
  const [open, setOpen] = useState<Set<number>>(new Set());
  useEffect(() => {
    setActor(f.actor);
    setAction(f.action);
    setSince(f.since);
  }, [f.actor, f.action, f.since]);
  const apply = (e: FormEvent) => {
    e.preventDefault();
    navigate("/audit" + auditQuery({ actor, action, since }));
  };
  const filtered = !!(f.actor || f.action || f.since);
  const entries = data?.entries ?? [];
  const toggle = (seq: number) =>
    setOpen((cur) => {
      const n = new Set(cur);
      if (n.has(seq)) n.delete(seq);
      else n.add(seq);
      return n;
    });
  return (
    <section className="audit-page">
      <header className="pagehead">
        <h1>Audit</h1>
        <span className="muted">Who changed what, when and from where. Each entry carries the hash of the one before it, so an edit or a deletion shows.</span>
      </header>
      <form className="audit-filters" onSubmit={apply} aria-label="Filter the audit log">
        <label>
          Actor
          <input value={actor} onChange={(e) => setActor(e.target.value)} placeholder="user:ada, api_token" spellCheck={false} />
        </label>
        <label>
          Action
          <input value={action} onChange={(e) => setAction(e.target.value)} list="audit-actions" placeholder="flow.deploy" spellCheck={false} />
          <datalist id="audit-actions">
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </label>
        <label>
          Since
          <select value={since} onChange={(e) => setSince(e.target.value)}>
            {SINCE.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
            {!SINCE.some(([v]) => v === since) && <option value={since}>{since}</option>}
          </select>
        </label>
        <button type="submit">Apply</button>
        {filtered && (
          <a className="button-link secondary" href={href("/audit")}>
            Clear
          </a>
        )}
        <span className="grow" />
        {err?.status !== 403 && (
          <>
            <a className="button-link secondary" href={"/api/audit/export" + auditQuery(f, { paging: false })} download>
              Export JSON lines
            </a>
            <VerifyButton />
          </>
        )}
      </form>
      {err ? (
        <Problem err={err} what="Could not load the audit log" retry={reload} />
      ) : loading && !data ? (
        <Loading what="the audit log" />
      ) : entries.length === 0 ? (
        <p className="empty">
          {filtered || f.before
            ? "No entries match. Widen the filters or clear them."
            : "The audit log is empty. Deploys, connection changes, sign-ins, replays and key changes are recorded here as they happen."}
        </p>
      ) : (
        <>
          <table className="table audit-table" aria-label="Audit log">
            <thead>
              <tr>
                <th>Seq</th>
                <th>When</th>
                <th>Actor</th>
                <th>Action</th>
                <th>Resource</th>
                <th>Outcome</th>
                <th>From</th>
                <th>Summary</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => {
                const isOpen = open.has(e.seq);
                return (
                  <Fragment key={e.seq}>
                    <tr>
                      <td>
                        <button type="button" className="linkish" aria-expanded={isOpen} aria-label={`Entry ${e.seq}: ${isOpen ? "hide" : "show"} details`} onClick={() => toggle(e.seq)}>
                          {isOpen ? "▾" : "▸"} {e.seq}
                        </button>
                      </td>
                      <td>{fmtTime(e.at)}</td>
                      <td>
                        <a href={href("/audit" + auditQuery({ ...f, actor: e.actor, before: "" }))} title="Only this actor">
                          {e.actor}
                        </a>
                      </td>
                      <td>
                        <code>{e.action}</code>
                      </td>
                      <td>{e.resource}</td>
                      <td>
                        <span className={"badge " + e.outcome}>{e.outcome}</span>
                      </td>
                      <td className="mono">{e.source}</td>
                      <td className="audit-summary">{summary(e.details)}</td>
                    </tr>
                    {isOpen && (
                      <tr className="audit-detail">
                        <td colSpan={8}>
                          <EntryDetail e={e} />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
          <div className="audit-pager">
            {f.before && (
              <a className="button-link secondary" href={href("/audit" + auditQuery({ ...f, before: "" }))}>
                Newest
              </a>
            )}
            {data?.next_cursor && (
              <a className="button-link secondary" href={href("/audit" + auditQuery({ ...f, before: data.next_cursor }))}>
                Older entries
              </a>
            )}
            <span className="muted">
              {entries.length === 1 ? `Entry ${entries[0].seq}` : `Entries ${entries[entries.length - 1].seq}–${entries[0].seq}`}
            </span>
          </div>
        </>
      )}
    </section>
  );
}

function EntryDetail({ e }: { e: AuditEntry }) {
  const rows = changes(e.details);
  return (
    <div>
      {rows.length === 0 ? (
        <p className="muted">No details recorded for this entry.</p>
      ) : (
        <table className="table audit-changes" aria-label={`Entry ${e.seq} details`}>
          <thead>
            <tr>
              <th>Field</th>
              <th>Before</th>
              <th>After</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={c.field}>
                <td>
                  <code>{c.field}</code>
                </td>
                {"value" in c ? (
                  <td colSpan={2}>{show(c.value)}</td>
                ) : (
                  <>
                    <td>{show(c.before)}</td>
                    <td>{show(c.after)}</td>
                  </>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted audit-hash">
        {e.actor_kind} · namespace {e.namespace} · at {e.at} · hash <code>{e.hash}</code> · previous <code>{e.prev_hash}</code>
      </p>
    </div>
  );
}

function VerifyButton() {
  const [v, setV] = useState<Verification | null>(null);
  const [err, setErr] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setErr(null);
    try {
      setV(await api<Verification>("/api/audit/verify"));
    } catch (e) {
      setV(null);
      setErr(asApiError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className="secondary" onClick={run} disabled={busy}>
        {busy ? "Verifying…" : "Verify chain"}
      </button>
      {(v || err) && (
        <div className="audit-result" role="status">
          {err ? (
            <Problem err={err} what="Could not verify the chain" />
          ) : (
            v && (
              <div className={"audit-verify " + (v.intact ? "intact" : "tampered")}>
                <strong>{v.intact ? "Intact." : "Tampered."}</strong> {verifyText(v).replace(/^(Intact|Tampered): /, "")}
                {v.intact && v.head_seq > 0 && (
                  <div className="muted audit-hash">
                    Head: entry {v.head_seq}, hash <code>{v.head_hash}</code>. Keep this elsewhere: a later verify whose entry {v.head_seq} has another hash shows a rewrite.
                  </div>
                )}
              </div>
            )
          )}
        </div>
      )}
    </>
  );
}
