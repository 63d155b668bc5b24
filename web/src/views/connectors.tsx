// Connectors (#/connectors?q=): the catalog, its ranked operation search,
// and importing an OpenAPI document by upload; one connector's page
// (#/connectors/NAME?op=OP) with each operation's docs and its input and
// output schemas as field tables.
import { useEffect, useRef, useState } from "react";
import { api } from "../api";
import { bytes } from "../lib/format";
import { nameFromFile } from "../lib/runs";
import { fieldRows, type Schema } from "../lib/schema";
import { href, navigate, type Route } from "../router";
import type { ConnectionView } from "../lib/connform";
import { Empty, Show, errorText, useLoad } from "./ops-ui";

interface ConnectorSummary {
  name: string;
  title: string;
  description: string;
  version: string;
  operations: number;
}

interface Operation {
  name: string;
  title?: string;
  description?: string;
  input_schema?: Schema;
  output_schema?: Schema;
  hints?: { read_only?: boolean; destructive?: boolean; idempotent?: boolean; open_world?: boolean };
  tags?: string[];
}

interface Connector {
  name: string;
  title?: string;
  description?: string;
  version?: string;
  operations: Operation[] | null;
  config_schema?: Schema;
  secrets?: string[];
  triggers?: { name: string; description: string; operation: string }[];
}

interface Hit {
  operation: string;
  title?: string;
  description: string;
  score: number;
}

interface ImportReport {
  title: string;
  version: string;
  imported: number;
  rejected?: { operation: string; reason: string }[];
  base_url?: string;
  duration: number; // nanoseconds
  source_kind: string;
  auth?: Record<string, { type: string; header?: string; query?: string; token_url?: string; scopes?: string[] }>;
}

export function ConnectorsView({ route }: { route: Route }) {
  if (route.parts[1]) return <ConnectorPage key={route.parts[1]} name={route.parts[1]} op={route.query.get("op") ?? ""} />;
  return <ConnectorList q={route.query.get("q") ?? ""} />;
}

function ConnectorList({ q }: { q: string }) {
  const [text, setText] = useState(q);
  const l = useLoad((signal) => api<{ connectors: ConnectorSummary[] | null; connections: ConnectionView[] | null }>("/api/connectors", { signal }), []);
  const search = useLoad(
    (signal) => (q.trim() ? api<{ hits: Hit[] | null }>("/api/connectors/search?" + new URLSearchParams({ q, limit: "50" }), { signal }) : Promise.resolve({ hits: [] as Hit[] })),
    [q],
  );
  // The search runs as you type (the URL keeps the query for the back button).
  useEffect(() => {
    if (text === q) return;
    const tm = setTimeout(() => navigate("/connectors" + (text.trim() ? "?q=" + encodeURIComponent(text) : "")), 250);
    return () => clearTimeout(tm);
  }, [text, q]);
  return (
    <section>
      <header className="pagehead">
        <h1>Connectors</h1>
        <span className="grow" />
        <a href={href("/connections")}>Connections</a>
      </header>
      <div className="toolbar">
        <label>
          Search operations
          <input type="search" value={text} placeholder="e.g. create contact, send email" onChange={(e) => setText(e.target.value)} aria-label="Search operations" size={40} />
        </label>
      </div>
      {q.trim() ? (
        <Show l={search} what="search results">
          {(d) =>
            (d.hits ?? []).length === 0 ? (
              <Empty>No operation matches “{q}”. Try other words, or import the API's OpenAPI document below.</Empty>
            ) : (
              <table className="table" aria-label="Search results">
                <thead>
                  <tr>
                    <th>Operation</th>
                    <th>Description</th>
                    <th className="num">Score</th>
                  </tr>
                </thead>
                <tbody>
                  {(d.hits ?? []).map((h) => {
                    const [conn, ...rest] = h.operation.split(".");
                    return (
                      <tr key={h.operation}>
                        <td>
                          <a href={href(`/connectors/${encodeURIComponent(conn)}?op=${encodeURIComponent(rest.join("."))}`)} className="mono">
                            {h.operation}
                          </a>
                          {h.title && <div className="sub">{h.title}</div>}
                        </td>
                        <td>{h.description}</td>
                        <td className="num">{h.score.toFixed(2)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )
          }
        </Show>
      ) : (
        <Show l={l} what="connectors">
          {(d) =>
            (d.connectors ?? []).length === 0 ? (
              <Empty>No connectors are installed. Import an OpenAPI document below to add one.</Empty>
            ) : (
              <table className="table">
                <thead>
                  <tr>
                    <th>Connector</th>
                    <th>Description</th>
                    <th>Version</th>
                    <th className="num">Operations</th>
                    <th>Connections</th>
                  </tr>
                </thead>
                <tbody>
                  {(d.connectors ?? []).map((c) => {
                    const conns = (d.connections ?? []).filter((x) => x.connector === c.name);
                    return (
                      <tr key={c.name}>
                        <td>
                          <a href={href("/connectors/" + encodeURIComponent(c.name))}>{c.name}</a>
                          {c.title && c.title !== c.name && <div className="sub">{c.title}</div>}
                        </td>
                        <td>{c.description}</td>
                        <td>{c.version}</td>
                        <td className="num">{c.operations}</td>
                        <td>
                          {conns.length === 0 ? (
                            <a href={href("/connections/new?connector=" + encodeURIComponent(c.name))} className="small">
                              Add a connection
                            </a>
                          ) : (
                            conns.map((x) => (
                              <a key={x.name} href={href("/connections/" + encodeURIComponent(x.name))} className="pill">
                                {x.name}
                              </a>
                            ))
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )
          }
        </Show>
      )}
      <ImportCard onImported={() => l.reload(true)} />
    </section>
  );
}

const connectorNameRe = /^[a-z][a-z0-9_]{0,31}$/;

function ImportCard({ onImported }: { onImported: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [elapsed, setElapsed] = useState(0);
  const [err, setErr] = useState("");
  const [res, setRes] = useState<{ name: string; report: ImportReport } | null>(null);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (!busy) return;
    const start = Date.now();
    const tm = setInterval(() => setElapsed(Math.round((Date.now() - start) / 1000)), 500);
    return () => clearInterval(tm);
  }, [busy]);
  const nameOK = connectorNameRe.test(name) && name !== "http";
  const go = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!file || !nameOK) return;
    setBusy(true);
    setElapsed(0);
    setErr("");
    setRes(null);
    try {
      const type = /\.json$/i.test(file.name) ? "application/json" : /\.(xml|edmx|wsdl)$/i.test(file.name) ? "application/xml" : "application/yaml";
      const r = await api<{ name: string; report: ImportReport }>("/api/connectors/import?name=" + encodeURIComponent(name), { raw: { data: file, type } });
      setRes(r);
      onImported();
    } catch (e) {
      setErr(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="section card form">
      <h2>Import an API document: OpenAPI, OData, GraphQL or WSDL</h2>
      <p className="muted">An OpenAPI 3.x or Swagger 2.0 document (YAML or JSON) becomes a connector with one operation per path and method; an OData $metadata document (v2, v3 or v4) list, get, create, update and delete per entity set, with its functions and actions; a GraphQL schema (SDL, or an introspection result as JSON) one operation per query and mutation; a WSDL 1.1 document one per SOAP operation. It is stored and survives restarts.</p>
      <form onSubmit={go}>
        <label>
          Document
          <input
            ref={input}
            type="file"
            accept=".yaml,.yml,.json,.graphql,.graphqls,.gql,.xml,.edmx,.wsdl,application/json,application/yaml,text/yaml,application/xml,text/xml"
            onChange={(e) => {
              const f = e.target.files?.[0] ?? null;
              setFile(f);
              setRes(null);
              setErr("");
              if (f && !name) setName(nameFromFile(f.name));
            }}
          />
          {file && <span className="help">{file.name}, {bytes(file.size)}</span>}
        </label>
        <label>
          Connector name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. petstore" aria-describedby="import-name-help" />
          <span id="import-name-help" className={name && !nameOK ? "fielderr" : "help"}>
            {name === "http" ? "http is a built-in connector: choose another name." : "Lower-case letters, digits and _, starting with a letter (at most 32). Importing under an existing name replaces it."}
          </span>
        </label>
        <div className="toolbar">
          <button type="submit" disabled={!file || !nameOK || busy}>
            {busy ? "Importing…" : "Import"}
          </button>
          {busy && (
            <span role="status" className="row">
              <progress aria-label="Import in progress" />
              <span className="muted small">
                Uploading {file ? bytes(file.size) : ""} and importing… {elapsed} s
              </span>
            </span>
          )}
        </div>
      </form>
      {err && (
        <p className="error" role="alert">
          {err}
        </p>
      )}
      {res && <ImportResult name={res.name} report={res.report} />}
    </div>
  );
}

function ImportResult({ name, report }: { name: string; report: ImportReport }) {
  const rejected = report.rejected ?? [];
  return (
    <div className="result" role="status" aria-label="Import result">
      <p className="ok">
        Imported <strong>{report.imported}</strong> operation{report.imported === 1 ? "" : "s"} into connector <a href={href("/connectors/" + encodeURIComponent(name))}>{name}</a>
        {rejected.length > 0 && (
          <>
            ; <span className="error">{rejected.length} rejected</span>
          </>
        )}
        .
      </p>
      <dl className="kv">
        <dt>Document</dt>
        <dd>
          {report.title} {report.version} <span className="muted">({report.source_kind})</span>
        </dd>
        {report.base_url && (
          <>
            <dt>Server</dt>
            <dd className="mono">{report.base_url}</dd>
          </>
        )}
        <dt>Took</dt>
        <dd>{(report.duration / 1e6).toFixed(0)} ms</dd>
        {report.auth && Object.keys(report.auth).length > 0 && (
          <>
            <dt>Suggested auth</dt>
            <dd>
              {Object.entries(report.auth).map(([k, a]) => (
                <div key={k}>
                  {k}: <code>{a.type}</code> {a.header && <>header {a.header}</>} {a.query && <>query {a.query}</>} {a.token_url && <>token URL {a.token_url}</>}
                </div>
              ))}
            </dd>
          </>
        )}
      </dl>
      {rejected.length > 0 && (
        <>
          <h3>Rejected operations</h3>
          <table className="table" aria-label="Rejected operations">
            <thead>
              <tr>
                <th>Operation</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {rejected.map((r, i) => (
                <tr key={i}>
                  <td className="mono">{r.operation}</td>
                  <td>{r.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <p>
        Next: <a href={href("/connections/new?connector=" + encodeURIComponent(name))}>create a connection</a> for {name} with its base URL and credentials.
      </p>
    </div>
  );
}

function ConnectorPage({ name, op }: { name: string; op: string }) {
  const l = useLoad((signal) => api<Connector>("/api/connectors/" + encodeURIComponent(name), { signal }), [name]);
  const conns = useLoad((signal) => api<{ connections: ConnectionView[] | null }>("/api/connections", { signal }), []);
  const [filter, setFilter] = useState("");
  return (
    <section>
      <header className="pagehead">
        <h1>
          <a href={href("/connectors")}>Connectors</a> / {name}
        </h1>
        <span className="grow" />
        <a href={href("/connections/new?connector=" + encodeURIComponent(name))}>Add a connection</a>
      </header>
      <Show l={l} what={"connector " + name}>
        {(c) => {
          const ops = c.operations ?? [];
          const f = filter.trim().toLowerCase();
          const shown = f ? ops.filter((o) => (o.name + " " + (o.title ?? "") + " " + (o.description ?? "")).toLowerCase().includes(f)) : ops;
          const mine = (conns.data?.connections ?? []).filter((x) => x.connector === name);
          return (
            <>
              {c.title && c.title !== name && <p><strong>{c.title}</strong></p>}
              {c.description && <p>{c.description}</p>}
              <dl className="kv">
                {c.version && (
                  <>
                    <dt>Version</dt>
                    <dd>{c.version}</dd>
                  </>
                )}
                <dt>Operations</dt>
                <dd>{ops.length}</dd>
                <dt>Connections</dt>
                <dd>
                  {mine.length === 0 ? (
                    <span className="muted">none yet</span>
                  ) : (
                    mine.map((x) => (
                      <a key={x.name} className="pill" href={href("/connections/" + encodeURIComponent(x.name))}>
                        {x.name}
                      </a>
                    ))
                  )}
                </dd>
                {c.secrets && c.secrets.length > 0 && (
                  <>
                    <dt>Secrets</dt>
                    <dd>{c.secrets.join(", ")}</dd>
                  </>
                )}
              </dl>
              {c.config_schema && (
                <div className="section">
                  <h2>Connection settings (config)</h2>
                  <FieldTable schema={c.config_schema} label="Connection settings" />
                </div>
              )}
              {(c.triggers ?? []).length > 0 && (
                <div className="section">
                  <h2>Polling triggers</h2>
                  <ul>
                    {c.triggers!.map((t) => (
                      <li key={t.name}>
                        <code>{t.name}</code> (polls <code>{t.operation}</code>): {t.description}
                      </li>
                    ))}
                  </ul>
                </div>
              )}
              <div className="section ops">
                <h2>Operations</h2>
                <div className="toolbar">
                  <label>
                    Filter
                    <input type="search" aria-label="Filter operations" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="name or words" />
                  </label>
                  {f && (
                    <span className="muted small">
                      {shown.length} of {ops.length}
                    </span>
                  )}
                </div>
                {ops.length === 0 ? (
                  <Empty>This connector has no operations.</Empty>
                ) : shown.length === 0 ? (
                  <Empty>No operation matches “{filter}”.</Empty>
                ) : (
                  shown.map((o) => <OperationDocs key={o.name} connector={name} op={o} initiallyOpen={o.name === op} />)
                )}
              </div>
            </>
          );
        }}
      </Show>
    </section>
  );
}

function OperationDocs({ connector, op, initiallyOpen }: { connector: string; op: Operation; initiallyOpen: boolean }) {
  const [open, setOpen] = useState(initiallyOpen);
  const ref = useRef<HTMLDetailsElement>(null);
  useEffect(() => {
    if (initiallyOpen) ref.current?.scrollIntoView({ block: "start" });
  }, [initiallyOpen]);
  const h = op.hints ?? {};
  return (
    <details className="op" ref={ref} open={open} onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
      <summary>
        <code>
          {connector}.{op.name}
        </code>
        {op.title && <span>{op.title}</span>}
        {h.read_only && <span className="hint">read-only</span>}
        {h.destructive && <span className="hint destructive">destructive</span>}
        {h.idempotent && <span className="hint">idempotent</span>}
        {(op.tags ?? []).map((t) => (
          <span key={t} className="pill">
            {t}
          </span>
        ))}
      </summary>
      {open && (
        <div>
          {op.description ? <p className="opdesc">{op.description}</p> : <p className="muted">No description.</p>}
          <h4>Input</h4>
          <FieldTable schema={op.input_schema} label={`Input of ${op.name}`} />
          <h4>Output</h4>
          <FieldTable schema={op.output_schema} label={`Output of ${op.name}`} />
          <details>
            <summary className="small">JSON Schema</summary>
            <pre className="json">{JSON.stringify({ input: op.input_schema, output: op.output_schema }, null, 2)}</pre>
          </details>
        </div>
      )}
    </details>
  );
}

function FieldTable({ schema, label }: { schema?: Schema; label: string }) {
  const rows = fieldRows(schema);
  if (rows.length === 0) return <p className="muted">{schema ? "No fields." : "Not described."}</p>;
  return (
    <table className="table fields" aria-label={label}>
      <thead>
        <tr>
          <th>Field</th>
          <th>Type</th>
          <th>Description</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.path}>
            <td className="path mono" style={{ paddingLeft: 10 + r.depth * 16 }}>
              {r.path}
              {r.required && (
                <span className="req" title="required" aria-label="required">
                  *
                </span>
              )}
            </td>
            <td className="mono">
              {r.type}
              {r.format && <span className="sub"> ({r.format})</span>}
            </td>
            <td>
              {r.description}
              {r.enum && (
                <div className="sub">
                  one of: {r.enum.map((v) => JSON.stringify(v)).join(", ")}
                </div>
              )}
              {r.default !== undefined && <div className="sub">default: {JSON.stringify(r.default)}</div>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
