// Connections (#/connections): the configured connections, creating one
// (#/connections/new?connector=X) and one connection's page
// (#/connections/NAME) with "Test connection", edit and delete.
//
// Credentials are write-only: the API answers which are "set", never their
// values; secret inputs start empty, are uncontrolled (so React never
// mirrors a typed secret into a value attribute of the page) and an empty
// one is left out of the body, which keeps the stored value.
import { useEffect, useRef, useState } from "react";
import { api } from "../api";
import {
  authType,
  authTypes,
  bodyFor,
  emptyForm,
  formFromView,
  httpLike,
  isSet,
  keepsAuthSecrets,
  storedHeaders,
  validate,
  type ConnectionView,
  type ConnectorInfo,
  type FormState,
} from "../lib/connform";
import { durationUS } from "../lib/format";
import type { Schema } from "../lib/schema";
import { href, navigate, type Route } from "../router";
import { Confirm, Empty, ErrorBox, Show, errorText, useLoad } from "./ops-ui";

interface TestResult {
  ok: boolean;
  message: string;
  status: number;
  duration_ms: number;
}

export function ConnectionsView({ route }: { route: Route }) {
  const id = route.parts[1];
  if (id === "new") return <NewConnection connector={route.query.get("connector") ?? ""} />;
  if (id) return <ConnectionPage key={id} name={id} edit={route.query.get("edit") === "1"} />;
  return <ConnectionList />;
}

const credentialList = (v: ConnectionView) => Object.keys(v.credentials ?? {}).sort();

function ConnectionList() {
  const l = useLoad((signal) => api<{ connections: ConnectionView[] | null }>("/api/connections", { signal }), []);
  return (
    <section>
      <header className="pagehead">
        <h1>Connections</h1>
        <span className="grow" />
        <a className="buttonlink" href={href("/connections/new")}>
          New connection
        </a>
      </header>
      <p className="muted">A connection is a connector configured for one system: its base URL and credentials. Flows name it on a call step (<code>connection: crm</code>).</p>
      <Show l={l} what="connections">
        {(d) =>
          (d.connections ?? []).length === 0 ? (
            <Empty>
              No connections yet. <a href={href("/connections/new")}>Create one</a>, or browse the <a href={href("/connectors")}>connectors</a> to pick the system first.
            </Empty>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Connector</th>
                  <th>Base URL</th>
                  <th>Auth</th>
                  <th>Credentials</th>
                  <th>Defined in</th>
                  <th>
                    <span className="sr-only">Test</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {(d.connections ?? []).map((c) => (
                  <tr key={c.name}>
                    <td>
                      <a href={href("/connections/" + encodeURIComponent(c.name))}>{c.name}</a>
                    </td>
                    <td>
                      <a href={href("/connectors/" + encodeURIComponent(c.connector))}>{c.connector}</a>
                    </td>
                    <td className="mono small">{c.base_url ?? ""}</td>
                    <td>{c.auth ? authType(c.auth.type).label : <span className="muted">none</span>}</td>
                    <td className="small">{credentialList(c).length ? credentialList(c).map((k) => <div key={k}>{k}: set</div>) : <span className="muted">none</span>}</td>
                    <td>{c.source === "config" ? <span className="pill" title="Read-only here: change it in the config file">config file</span> : <span className="pill">API</span>}</td>
                    <td>
                      <TestButton name={c.name} compact />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
    </section>
  );
}

/** TestButton reaches the connection with its credentials (POST /api/connections/NAME/test) and shows the answer. */
function TestButton({ name, compact }: { name: string; compact?: boolean }) {
  const [busy, setBusy] = useState(false);
  const [res, setRes] = useState<TestResult | null>(null);
  const [err, setErr] = useState("");
  const go = async () => {
    setBusy(true);
    setRes(null);
    setErr("");
    try {
      setRes(await api<TestResult>("/api/connections/" + encodeURIComponent(name) + "/test", { method: "POST" }));
    } catch (e) {
      setErr(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="row">
      <button className="secondary" onClick={go} disabled={busy} aria-label={`Test connection ${name}`}>
        {busy ? "Testing…" : compact ? "Test" : "Test connection"}
      </button>
      <span role="status" aria-live="polite" className="testresult small">
        {res && (
          <span className={res.ok ? "ok" : "error"}>
            {res.ok ? "OK" : "Failed"}
            {res.status ? ` (HTTP ${res.status})` : ""}, {durationUS(res.duration_ms * 1000)}
            {res.message ? `: ${res.message}` : ""}
          </span>
        )}
        {err && <span className="error">{err}</span>}
      </span>
    </span>
  );
}

function NewConnection({ connector }: { connector: string }) {
  return (
    <section>
      <header className="pagehead">
        <h1>
          <a href={href("/connections")}>Connections</a> / New
        </h1>
      </header>
      <ConnectionForm initial={emptyForm(connector)} onSaved={(v) => navigate("/connections/" + encodeURIComponent(v.name))} />
    </section>
  );
}

function ConnectionPage({ name, edit }: { name: string; edit: boolean }) {
  const l = useLoad((signal) => api<ConnectionView>("/api/connections/" + encodeURIComponent(name), { signal }), [name]);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const del = async () => {
    setBusy(true);
    setErr(null);
    try {
      await api("/api/connections/" + encodeURIComponent(name), { method: "DELETE" });
      navigate("/connections");
    } catch (e) {
      setErr(e);
      setConfirmDelete(false);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section>
      <header className="pagehead">
        <h1>
          <a href={href("/connections")}>Connections</a> / {name}
        </h1>
      </header>
      {err !== null && <ErrorBox error={err} />}
      <Show l={l} what={"connection " + name}>
        {(c) => {
          const readOnly = c.source === "config";
          return (
            <>
              {saved && (
                <p className="ok" role="status">
                  Saved.
                </p>
              )}
              <div className="card">
                <dl className="kv">
                  <dt>Connector</dt>
                  <dd>
                    <a href={href("/connectors/" + encodeURIComponent(c.connector))}>{c.connector}</a>
                  </dd>
                  {c.base_url && (
                    <>
                      <dt>Base URL</dt>
                      <dd className="mono">{c.base_url}</dd>
                    </>
                  )}
                  {c.allow_private && (
                    <>
                      <dt>Private addresses</dt>
                      <dd>allowed</dd>
                    </>
                  )}
                  <dt>Auth</dt>
                  <dd>
                    {c.auth ? authType(c.auth.type).label : "none"}
                    {c.auth?.username && <> as {c.auth.username}</>}
                    {c.auth?.header && <>, header {c.auth.header}</>}
                    {c.auth?.query && <>, query parameter {c.auth.query}</>}
                    {c.auth?.client_id && <>, client {c.auth.client_id}</>}
                    {c.auth?.token_url && <>, token URL {c.auth.token_url}</>}
                  </dd>
                  <dt>Credentials</dt>
                  <dd>
                    {credentialList(c).length ? credentialList(c).map((k) => <div key={k}>{k}: set</div>) : <span className="muted">none</span>}
                    <div className="muted small">Credentials are never shown: only whether they are set.</div>
                  </dd>
                  {c.timeout && (
                    <>
                      <dt>Timeout</dt>
                      <dd>{c.timeout}</dd>
                    </>
                  )}
                  {c.rate_per_sec ? (
                    <>
                      <dt>Rate</dt>
                      <dd>
                        {c.rate_per_sec}/s{c.burst ? `, burst ${c.burst}` : ""}
                      </dd>
                    </>
                  ) : null}
                  {c.config && Object.keys(c.config).length > 0 && (
                    <>
                      <dt>Config</dt>
                      <dd>
                        <pre className="json">{JSON.stringify(c.config, null, 2)}</pre>
                      </dd>
                    </>
                  )}
                  <dt>Defined in</dt>
                  <dd>{readOnly ? "the config file (read-only here: change it there and restart)" : "the API (stored encrypted)"}</dd>
                </dl>
              </div>
              <div className="toolbar">
                <TestButton name={name} />
                {!readOnly && !edit && (
                  <button className="secondary" onClick={() => navigate(`/connections/${encodeURIComponent(name)}?edit=1`)}>
                    Edit
                  </button>
                )}
                {!readOnly && (
                  <button className="danger" onClick={() => setConfirmDelete(true)}>
                    Delete…
                  </button>
                )}
              </div>
              {edit && !readOnly && (
                <div className="section">
                  <h2>Edit {name}</h2>
                  <ConnectionForm
                    initial={formFromView(c)}
                    existing={c}
                    onCancel={() => navigate("/connections/" + encodeURIComponent(name))}
                    onSaved={() => {
                      setSaved(true);
                      navigate("/connections/" + encodeURIComponent(name));
                      l.reload(true);
                    }}
                  />
                </div>
              )}
            </>
          );
        }}
      </Show>
      <Confirm open={confirmDelete} title={`Delete connection ${name}?`} action="Delete" danger busy={busy} onConfirm={del} onClose={() => !busy && setConfirmDelete(false)}>
        <p>Its stored credentials are erased. Flows that use {name} fail at their call steps until a connection of that name exists again.</p>
      </Confirm>
    </section>
  );
}

function FieldError({ id, msg }: { id: string; msg?: string }) {
  return msg ? (
    <span id={id} className="fielderr" role="alert">
      {msg}
    </span>
  ) : null;
}

/** SecretInput is an uncontrolled password input: what is typed is never written back into the page. */
function SecretInput({ label, set, onValue, problem, errId, help, required }: { label: string; set: boolean; onValue: (v: string) => void; problem?: string; errId: string; help?: string; required?: boolean }) {
  return (
    <label>
      {label}
      {required && !set ? " *" : ""}
      <input
        type="password"
        autoComplete="new-password"
        spellCheck={false}
        placeholder={set ? "set (leave empty to keep it)" : ""}
        onChange={(e) => onValue(e.target.value)}
        aria-invalid={!!problem}
        aria-describedby={problem ? errId : undefined}
      />
      {set && <span className="set">Stored. Type a new value to replace it.</span>}
      {help && <span className="help">{help}</span>}
      <FieldError id={errId} msg={problem} />
    </label>
  );
}

function ConnectionForm({ initial, existing, onSaved, onCancel }: { initial: FormState; existing?: ConnectionView; onSaved: (v: ConnectionView) => void; onCancel?: () => void }) {
  const [f, setF] = useState<FormState>(initial);
  // Fields are checked once a save was tried, then live as they change.
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState("");
  // Secret inputs are uncontrolled; a new key empties them (after a save, a type change).
  const [secretKey, setSecretKey] = useState(0);
  const list = useLoad((signal) => api<{ connectors: { name: string; title: string }[] | null }>("/api/connectors", { signal }), []);
  const conn = useLoad((signal) => (f.connector ? api<ConnectorInfo>("/api/connectors/" + encodeURIComponent(f.connector), { signal }) : Promise.resolve(undefined)), [f.connector]);
  const info = conn.data;
  const http = httpLike(info);
  const problems = tried ? validate(f, info, existing) : {};
  const set = (k: keyof FormState, v: unknown) => setF((s) => ({ ...s, [k]: v }));
  const setIn = (k: "auth" | "config" | "secrets", key: string, v: string | boolean) => setF((s) => ({ ...s, [k]: { ...s[k], [key]: v } }));
  const first = useRef<HTMLInputElement | HTMLSelectElement>(null);
  useEffect(() => first.current?.focus(), []);
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setErr("");
    setTried(true);
    if (Object.keys(validate(f, info, existing)).length) return;
    setBusy(true);
    try {
      const name = existing?.name ?? f.name;
      const v = await api<ConnectionView>("/api/connections/" + encodeURIComponent(name), { method: "PUT", body: bodyFor(f, info) });
      // Forget the typed secrets before anything else renders.
      setF((s) => ({ ...s, auth: Object.fromEntries(Object.entries(s.auth).filter(([k]) => !authType(s.authType).fields.find((x) => x.key === k)?.secret)), secrets: {}, headers: [] }));
      setSecretKey((k) => k + 1);
      onSaved(v);
    } catch (e) {
      setErr(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const at = authType(f.authType);
  const keep = keepsAuthSecrets(existing, f.authType);
  const stored = storedHeaders(existing);
  const configProps = Object.entries(((info?.config_schema?.properties ?? {}) as Record<string, Schema>) || {});
  const required: string[] = Array.isArray(info?.config_schema?.required) ? info!.config_schema!.required : [];
  return (
    <form className="form" onSubmit={save} noValidate aria-label={existing ? `Edit connection ${existing.name}` : "New connection"}>
      {!existing && (
        <label>
          Name *
          <input ref={first as React.RefObject<HTMLInputElement>} value={f.name} onChange={(e) => set("name", e.target.value)} aria-invalid={!!problems.name} aria-describedby="p-name" placeholder="e.g. crm" />
          <span className="help">Flows refer to it by this name. Letters, digits, _ and -.</span>
          <FieldError id="p-name" msg={problems.name} />
        </label>
      )}
      <label>
        Connector *
        <select value={f.connector} disabled={!!existing} onChange={(e) => set("connector", e.target.value)} aria-invalid={!!problems.connector} aria-describedby="p-connector">
          <option value="">Choose a connector…</option>
          {(list.data?.connectors ?? []).map((c) => (
            <option key={c.name} value={c.name}>
              {c.name}
              {c.title && c.title !== c.name ? ` (${c.title})` : ""}
            </option>
          ))}
          {f.connector && !(list.data?.connectors ?? []).some((c) => c.name === f.connector) && <option value={f.connector}>{f.connector}</option>}
        </select>
        <FieldError id="p-connector" msg={problems.connector} />
      </label>
      {list.error && <ErrorBox error={list.error} />}
      {conn.error && <ErrorBox error={conn.error} />}
      {f.connector && !info && !conn.error && <p className="muted">Loading the connector's settings…</p>}
      {info && http && (
        <>
          <fieldset>
            <legend>Endpoint</legend>
            <label>
              Base URL
              <input type="url" value={f.base_url} onChange={(e) => set("base_url", e.target.value)} placeholder="https://api.example.com/v1" aria-invalid={!!problems.base_url} aria-describedby="p-base_url" />
              <span className="help">Relative URLs of calls go here. Credentials are sent to this origin only.{info.name !== "http" ? " Empty: the imported document's server." : ""}</span>
              <FieldError id="p-base_url" msg={problems.base_url} />
            </label>
            <label className="check">
              <input type="checkbox" checked={f.allow_private} onChange={(e) => set("allow_private", e.target.checked)} />
              Allow private and loopback addresses (an API on this machine or network)
            </label>
          </fieldset>
          <fieldset>
            <legend>Authentication</legend>
            <label>
              Type
              <select
                value={f.authType}
                aria-label="Authentication type"
                onChange={(e) => {
                  setSecretKey((k) => k + 1);
                  setF((s) => ({ ...s, authType: e.target.value, auth: Object.fromEntries(Object.entries(s.auth).filter(([k]) => !authType(s.authType).fields.find((x) => x.key === k)?.secret)) }));
                }}
              >
                {authTypes.map((a) => (
                  <option key={a.type} value={a.type}>
                    {a.label}
                  </option>
                ))}
              </select>
              {existing?.auth && f.authType !== existing.auth.type && f.authType && <span className="help">The auth type changes: its credentials must be given again (stored ones are kept only for the same type).</span>}
              {existing?.auth && !f.authType && <span className="help">Saving removes this connection's authentication and its stored credentials.</span>}
            </label>
            {at.fields.map((fd) =>
              fd.secret ? (
                <SecretInput
                  key={fd.key + ":" + secretKey}
                  label={fd.label}
                  required={fd.required}
                  set={keep && isSet(existing, "auth." + fd.key)}
                  onValue={(v) => setIn("auth", fd.key, v)}
                  problem={problems["auth." + fd.key]}
                  errId={"p-auth-" + fd.key}
                  help={fd.help}
                />
              ) : (
                <label key={fd.key}>
                  {fd.label}
                  {fd.required ? " *" : ""}
                  <input value={f.auth[fd.key] ?? ""} onChange={(e) => setIn("auth", fd.key, e.target.value)} aria-invalid={!!problems["auth." + fd.key]} aria-describedby={"p-auth-" + fd.key} />
                  {fd.help && <span className="help">{fd.help}</span>}
                  <FieldError id={"p-auth-" + fd.key} msg={problems["auth." + fd.key]} />
                </label>
              ),
            )}
          </fieldset>
          <fieldset>
            <legend>Headers</legend>
            <p className="help">Sent with every call. Their values may be secrets, so stored values are never shown.</p>
            {stored.length > 0 && (
              <p className="small">
                Stored: {stored.join(", ")} (set). To replace one, add it below with its new value; the API keeps the others as they are.
              </p>
            )}
            {f.headers.map((h, i) => (
              <div className="headersrow" key={i + ":" + secretKey}>
                <label>
                  Header name
                  <input value={h.name} onChange={(e) => set("headers", f.headers.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))} />
                </label>
                <label>
                  Value
                  <input type="password" autoComplete="new-password" onChange={(e) => set("headers", f.headers.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))} />
                </label>
                <button type="button" className="secondary" onClick={() => set("headers", f.headers.filter((_, j) => j !== i))} aria-label={`Remove header row ${i + 1}`}>
                  Remove
                </button>
                <FieldError id={"p-h-" + i} msg={problems["headers." + i]} />
              </div>
            ))}
            <button type="button" className="secondary" onClick={() => set("headers", [...f.headers, { name: "", value: "" }])}>
              Add header
            </button>
          </fieldset>
        </>
      )}
      {info && !http && (
        <>
          {configProps.length > 0 && (
            <fieldset>
              <legend>Settings</legend>
              {configProps.map(([k, ps]) =>
                ps.type === "boolean" ? (
                  <label key={k} className="check">
                    <input type="checkbox" checked={f.config[k] === true} onChange={(e) => setIn("config", k, e.target.checked)} />
                    {k}
                    {ps.description && <span className="help"> {ps.description}</span>}
                  </label>
                ) : Array.isArray(ps.enum) ? (
                  <label key={k}>
                    {k}
                    {required.includes(k) ? " *" : ""}
                    <select value={String(f.config[k] ?? "")} onChange={(e) => setIn("config", k, e.target.value)}>
                      <option value="">{ps.default !== undefined ? `default (${ps.default})` : "—"}</option>
                      {ps.enum.map((v: unknown) => (
                        <option key={String(v)} value={String(v)}>
                          {String(v)}
                        </option>
                      ))}
                    </select>
                    {ps.description && <span className="help">{ps.description}</span>}
                    <FieldError id={"p-config-" + k} msg={problems["config." + k]} />
                  </label>
                ) : (
                  <label key={k}>
                    {k}
                    {required.includes(k) ? " *" : ""}
                    <input
                      value={String(f.config[k] ?? "")}
                      inputMode={ps.type === "integer" || ps.type === "number" ? "numeric" : undefined}
                      placeholder={ps.default !== undefined ? `default ${ps.default}` : ""}
                      onChange={(e) => setIn("config", k, e.target.value)}
                      aria-invalid={!!problems["config." + k]}
                      aria-describedby={"p-config-" + k}
                    />
                    {ps.description && <span className="help">{ps.description}</span>}
                    <FieldError id={"p-config-" + k} msg={problems["config." + k]} />
                  </label>
                ),
              )}
            </fieldset>
          )}
          {(info.secrets ?? []).length > 0 && (
            <fieldset>
              <legend>Secrets</legend>
              {(info.secrets ?? []).map((k) => (
                <SecretInput key={k + ":" + secretKey} label={k} set={isSet(existing, "secrets." + k)} onValue={(v) => setIn("secrets", k, v)} problem={problems["secrets." + k]} errId={"p-secrets-" + k} />
              ))}
            </fieldset>
          )}
        </>
      )}
      {info && (
        <fieldset>
          <legend>Limits</legend>
          <label>
            Timeout
            <input value={f.timeout} onChange={(e) => set("timeout", e.target.value)} placeholder="e.g. 10s" aria-invalid={!!problems.timeout} aria-describedby="p-timeout" />
            <span className="help">Per request; a step's own timeout still applies.</span>
            <FieldError id="p-timeout" msg={problems.timeout} />
          </label>
          <label>
            Rate (calls a second)
            <input value={f.rate_per_sec} onChange={(e) => set("rate_per_sec", e.target.value)} inputMode="decimal" placeholder="no limit" aria-invalid={!!problems.rate_per_sec} aria-describedby="p-rate" />
            <FieldError id="p-rate" msg={problems.rate_per_sec} />
          </label>
          <label>
            Burst
            <input value={f.burst} onChange={(e) => set("burst", e.target.value)} inputMode="numeric" placeholder="1" aria-invalid={!!problems.burst} aria-describedby="p-burst" />
            <FieldError id="p-burst" msg={problems.burst} />
          </label>
        </fieldset>
      )}
      {Object.keys(problems).length > 0 && (
        <p className="error" role="alert">
          Check the fields marked above.
        </p>
      )}
      {err && (
        <p className="error" role="alert">
          {err}
        </p>
      )}
      <div className="toolbar">
        <button type="submit" disabled={busy || !info}>
          {busy ? "Saving…" : existing ? "Save changes" : "Create connection"}
        </button>
        {onCancel && (
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
