// APIs (#/apis/products, #/apis/consumers, #/apis/plans): API management
// (docs/api-management.md). Products with their versions, pins and
// lifecycle (deprecate, retire, re-pin); consumers with their
// subscriptions and credentials (an API key or an HMAC secret is shown
// once, when it is made or rotated, and never again); plans and their
// limits. Every change goes through the public HTTP API.
import { useCallback, useState } from "react";
import { api } from "../api";
import { href, navigate, type Route } from "../router";
import { CopyButton, Dialog, ErrorNote, Loading, asApiError, fmtMS, fmtTime, useApi } from "./kit";
import "./mcp.css";

const TABS = [
  ["products", "Products"],
  ["consumers", "Consumers"],
  ["plans", "Plans"],
  ["usage", "Usage"],
] as const;

export function ApisView({ route }: { route: Route }) {
  const tab = TABS.some(([t]) => t === route.parts[1]) ? route.parts[1] : "products";
  return (
    <section className="mcp-page">
      <header className="pagehead">
        <h1>APIs</h1>
        <span className="muted">
          Flows published as versioned API products: consumers subscribe under plans and call them with their credentials.
        </span>
      </header>
      <nav className="tabs" aria-label="API sections">
        {TABS.map(([t, label]) => (
          <a key={t} href={href("/apis/" + t)} aria-current={t === tab ? "page" : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {tab === "products" && <Products />}
      {tab === "consumers" && <Consumers open={route.parts[2]} />}
      {tab === "plans" && <Plans />}
      {tab === "usage" && <Usage route={route} />}
    </section>
  );
}

// --- products -----------------------------------------------------------------

interface Pin {
  flow: string;
  version: number;
}

interface Version {
  name: string;
  flows: Pin[];
  status?: string;
  deprecated_at?: string;
  sunset?: string;
  successor?: string;
  test?: boolean;
}

interface Product {
  name: string;
  namespace?: string;
  title?: string;
  auth?: string;
  versions: Version[];
  revision?: number;
  [k: string]: unknown;
}

function Products() {
  const { data, err, loading, reload } = useApi<{ products: Product[]; base_path: string }>("/api/products");
  const [editing, setEditing] = useState<{ p: Product; v: Version } | null>(null);
  const [creating, setCreating] = useState(false);
  const close = useCallback(() => setEditing(null), []);
  const products = data?.products ?? [];
  if (err) return <ErrorNote err={err} what="Could not load the API products" retry={reload} />;
  if (loading && !data) return <Loading what="API products" />;
  const toolbar = (
    <div className="toolbar">
      <button type="button" onClick={() => setCreating(true)}>
        Create product
      </button>
      <span className="muted">
        A product publishes flows with an <code>api</code> trigger as a version (or apply a document: <code>weft products apply shop.yaml</code>).
      </span>
      {creating && <CreateProduct onClose={() => setCreating(false)} onDone={reload} />}
    </div>
  );
  if (products.length === 0)
    return (
      <>
        {toolbar}
        <p className="empty">No API products yet.</p>
      </>
    );
  return (
    <>
      {toolbar}
      {products.map((p) => (
        <div key={p.name} className="card" aria-label={`Product ${p.name}`} role="region">
          <h2>
            {p.title || p.name} <code>{p.name}</code> <span className="badge">{p.auth && p.auth !== "none" ? "auth: " + p.auth : "public"}</span>{" "}
            <span className="muted">namespace {p.namespace || "default"}</span>
          </h2>
          <table className="table" aria-label={`Versions of ${p.name}`}>
            <thead>
              <tr>
                <th>Version</th>
                <th>Pins</th>
                <th>State</th>
                <th>Contract</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {p.versions.map((v) => (
                <tr key={v.name}>
                  <td>
                    <code>{v.name}</code>
                  </td>
                  <td>
                    {v.flows.map((f) => (
                      <code key={f.flow} className="mcp-scope">
                        {f.flow}@{f.version}
                      </code>
                    ))}
                  </td>
                  <td>
                    <span className={"badge " + (v.status === "retired" ? "revoked" : v.status === "deprecated" ? "" : "ok")}>{v.status || "active"}</span>
                    {v.sunset && <span className="muted"> sunset {fmtTime(v.sunset)}</span>}
                    {v.successor && <span className="muted"> → {v.successor}</span>}
                  </td>
                  <td>
                    <a href={`${data!.base_path}/${p.name}/${v.name}/docs`} target="_blank" rel="noreferrer">
                      portal
                    </a>{" "}
                    <a href={`${data!.base_path}/${p.name}/${v.name}/openapi.json`} target="_blank" rel="noreferrer">
                      openapi.json
                    </a>
                  </td>
                  <td>
                    <button type="button" className="secondary" onClick={() => setEditing({ p, v })} aria-label={`Edit ${p.name} ${v.name}`}>
                      Edit
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
      {editing && <EditVersion p={editing.p} v={editing.v} onClose={close} onDone={reload} />}
    </>
  );
}

/** parsePins reads "flow@version, flow@version" (one pin each). */
function parsePins(text: string): Pin[] | string {
  const pins: Pin[] = [];
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const m = /^([^@]+)@([0-9]+)$/.exec(part);
    if (!m) return `"${part}": write each pin as flow@version (get-order@1)`;
    pins.push({ flow: m[1], version: Number(m[2]) });
  }
  if (pins.length === 0) return "Pin at least one flow version (get-order@1).";
  return pins;
}

/** CreateProduct makes a product with a first version pinning flows; the
 * server checks the pins (each flow version must exist and have an api
 * trigger) and answers with pointers. */
function CreateProduct({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  const [f, setF] = useState({ name: "", title: "", auth: "none", version: "v1", pins: "" });
  const [err, setErr] = useState("");
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setErr("");
    const pins = parsePins(f.pins);
    if (typeof pins === "string") return setErr(pins);
    const name = f.name.trim();
    if (!name) return setErr("A product needs a name.");
    try {
      // Refuse to overwrite: an existing product answers 200 to GET.
      const exists = await api(`/api/products/${encodeURIComponent(name)}`).then(
        () => true,
        () => false,
      );
      if (exists) return setErr(`Product ${name} exists: edit its versions instead.`);
      await api(`/api/products/${encodeURIComponent(name)}`, {
        method: "PUT",
        body: { title: f.title.trim() || undefined, auth: f.auth, versions: [{ name: f.version.trim(), flows: pins }] },
      });
      onDone();
      onClose();
    } catch (e) {
      const ae = asApiError(e);
      setErr(ae.message + (ae.problems?.length ? ": " + ae.problems.map((x) => `${x.path ?? ""} ${x.message}`).join("; ") : ""));
    }
  };
  return (
    <Dialog title="Create a product" onClose={onClose}>
      <form onSubmit={submit} aria-label="Create a product">
        <label>
          Product name
          <input autoFocus value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} placeholder="shop" />
        </label>
        <label>
          Title
          <input value={f.title} onChange={(e) => setF({ ...f, title: e.target.value })} placeholder="Shop" />
        </label>
        <label>
          Authentication
          <select value={f.auth} onChange={(e) => setF({ ...f, auth: e.target.value })}>
            <option value="none">none (public)</option>
            <option value="api_key">API key</option>
            <option value="hmac">HMAC-signed calls</option>
          </select>
        </label>
        <label>
          First version
          <input value={f.version} onChange={(e) => setF({ ...f, version: e.target.value })} />
        </label>
        <label>
          Pinned flows
          <input value={f.pins} onChange={(e) => setF({ ...f, pins: e.target.value })} placeholder="get-order@1, create-order@2" />
        </label>
        {err && (
          <p className="error" role="alert">
            {err}
          </p>
        )}
        <div className="actions">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit">Create product</button>
        </div>
      </form>
    </Dialog>
  );
}

/** EditVersion re-pins a version's flows and sets its lifecycle, saving
 * the whole product over the revision it was read at. */
function EditVersion({ p, v, onClose, onDone }: { p: Product; v: Version; onClose: () => void; onDone: () => void }) {
  const [pins, setPins] = useState(() => v.flows.map((f) => ({ ...f, version: String(f.version) })));
  const [status, setStatus] = useState(v.status || "active");
  const [sunset, setSunset] = useState(v.sunset ? v.sunset.slice(0, 10) : "");
  const [successor, setSuccessor] = useState(v.successor ?? "");
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState(false);
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setErr("");
    const flows: Pin[] = [];
    for (const pin of pins) {
      const n = Number(pin.version);
      if (!Number.isInteger(n) || n < 1) return setErr(`The pin of ${pin.flow} is a flow version: a whole number from 1.`);
      flows.push({ flow: pin.flow, version: n });
    }
    const nv: Version = { ...v, flows, status, successor: successor || undefined, sunset: sunset ? sunset + "T00:00:00Z" : undefined };
    if (status === "active") delete nv.deprecated_at;
    const body = { ...p, versions: p.versions.map((x) => (x.name === v.name ? nv : x)) };
    delete (body as Record<string, unknown>).created_at;
    delete (body as Record<string, unknown>).updated_at;
    setBusy(true);
    try {
      await api(`/api/products/${encodeURIComponent(p.name)}`, { method: "PUT", body });
      onDone();
      onClose();
    } catch (e) {
      const ae = asApiError(e);
      setErr(ae.message + (ae.problems?.length ? ": " + ae.problems.map((x) => `${x.path ?? ""} ${x.message}`).join("; ") : ""));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Version ${v.name} of ${p.name}`} onClose={onClose}>
      <form onSubmit={save} aria-label={`Edit version ${v.name}`}>
        <fieldset>
          <legend>Pins (a version runs exactly these flow versions)</legend>
          {pins.map((pin, i) => (
            <label key={pin.flow}>
              {pin.flow} version
              <input
                inputMode="numeric"
                value={pin.version}
                onChange={(e) => setPins((cur) => cur.map((x, j) => (j === i ? { ...x, version: e.target.value } : x)))}
              />
            </label>
          ))}
        </fieldset>
        <label>
          State
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="active">active</option>
            <option value="deprecated">deprecated (Deprecation and Sunset headers)</option>
            <option value="retired">retired (410 with a link to the successor)</option>
          </select>
        </label>
        <label>
          Sunset date (optional)
          <input type="date" value={sunset} onChange={(e) => setSunset(e.target.value)} />
        </label>
        <label>
          Successor version (optional)
          <select value={successor} onChange={(e) => setSuccessor(e.target.value)}>
            <option value="">none</option>
            {p.versions
              .filter((x) => x.name !== v.name)
              .map((x) => (
                <option key={x.name} value={x.name}>
                  {x.name}
                </option>
              ))}
          </select>
        </label>
        {err && (
          <p className="error" role="alert">
            {err}
          </p>
        )}
        <div className="actions">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? "Saving…" : "Save"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// --- consumers --------------------------------------------------------------------

interface Consumer {
  name: string;
  namespace: string;
  description?: string;
  disabled?: boolean;
  allow_ips?: string[];
}

interface Credential {
  id: string;
  kind?: string;
  created_at: string;
  expires_at?: string;
  revoked_at?: string;
}

interface Subscription {
  id: string;
  product: string;
  version?: string;
  plan: string;
  usage?: Record<string, number>;
}

function Consumers({ open }: { open?: string }) {
  const { data, err, loading, reload } = useApi<{ consumers: Consumer[] }>("/api/consumers");
  const [creating, setCreating] = useState(false);
  const consumers = data?.consumers ?? [];
  return (
    <>
      <div className="toolbar">
        <button type="button" onClick={() => setCreating(true)}>
          Create consumer
        </button>
        <span className="muted">A consumer is an application that calls your APIs: it subscribes to products under plans and holds credentials.</span>
      </div>
      {err ? (
        <ErrorNote err={err} what="Could not load the consumers" retry={reload} />
      ) : loading && !data ? (
        <Loading what="consumers" />
      ) : consumers.length === 0 ? (
        <p className="empty">No consumers yet.</p>
      ) : (
        <table className="table" aria-label="Consumers">
          <thead>
            <tr>
              <th>Name</th>
              <th>Namespace</th>
              <th>Description</th>
              <th>State</th>
            </tr>
          </thead>
          <tbody>
            {consumers.map((c) => (
              <tr key={c.name}>
                <td>
                  <a href={href("/apis/consumers/" + encodeURIComponent(c.name))}>{c.name}</a>
                </td>
                <td>{c.namespace}</td>
                <td>{c.description}</td>
                <td>{c.disabled ? <span className="badge revoked">disabled</span> : <span className="badge ok">enabled</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {creating && <CreateConsumer onClose={() => setCreating(false)} onDone={reload} />}
      {open && <ConsumerDetail key={open} name={open} />}
    </>
  );
}

function CreateConsumer({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [err, setErr] = useState("");
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setErr("");
    try {
      await api(`/api/consumers/${encodeURIComponent(name.trim())}`, { method: "PUT", body: { description } });
      onDone();
      onClose();
    } catch (e) {
      setErr(asApiError(e).message);
    }
  };
  return (
    <Dialog title="Create a consumer" onClose={onClose}>
      <form onSubmit={submit} aria-label="Create a consumer">
        <label>
          Consumer name
          <input autoFocus value={name} onChange={(e) => setName(e.target.value)} placeholder="acme-shop" />
        </label>
        <label>
          Description
          <input value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        {err && (
          <p className="error" role="alert">
            {err}
          </p>
        )}
        <div className="actions">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit">Create consumer</button>
        </div>
      </form>
    </Dialog>
  );
}

/** A credential just made: shown once, held only in this state. */
interface Shown {
  id: string;
  kind: string;
  value: string;
}

// parseAddresses reads an allow-list typed one entry a line (commas and
// spaces also separate): addresses and CIDR prefixes, checked by the server.
function parseAddresses(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter((x) => x !== "");
}

// AllowList edits the addresses a consumer's calls may come from (every
// product's routes and MCP toolsets); none: any address the product allows.
function AllowList({ ips, onSave }: { ips: string[]; onSave: (ips: string[]) => Promise<void> }) {
  const [text, setText] = useState(ips.join("\n"));
  const [busy, setBusy] = useState(false);
  const changed = parseAddresses(text).join("\n") !== ips.join("\n");
  return (
    <form
      className="toolbar"
      aria-label="Allow-list"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        void onSave(parseAddresses(text)).finally(() => setBusy(false));
      }}
    >
      <label>
        Client addresses (one address or CIDR prefix a line, at most 100; empty: any address)
        <textarea rows={3} value={text} onChange={(e) => setText(e.target.value)} placeholder="203.0.113.7&#10;10.0.0.0/8" spellCheck={false} />
      </label>
      <div className="toolbar">
        <button type="submit" disabled={busy || !changed}>
          Save addresses
        </button>
      </div>
    </form>
  );
}

function ConsumerDetail({ name }: { name: string }) {
  const path = `/api/consumers/${encodeURIComponent(name)}`;
  const { data, err, loading, reload } = useApi<{ consumer: Consumer; subscriptions: Subscription[]; keys: Credential[] }>(path);
  const products = useApi<{ products: Product[] }>("/api/products");
  const plans = useApi<{ plans: { name: string }[] }>("/api/plans");
  const [shown, setShown] = useState<Shown | null>(null);
  const [revoking, setRevoking] = useState<Credential | null>(null);
  const [disabling, setDisabling] = useState(false);
  const [sub, setSub] = useState({ product: "", plan: "", version: "" });
  const [msg, setMsg] = useState("");
  const closeShown = useCallback(() => setShown(null), []);
  const closeRevoke = useCallback(() => setRevoking(null), []);
  const run = async (fn: () => Promise<void>) => {
    setMsg("");
    try {
      await fn();
      reload();
    } catch (e) {
      const ae = asApiError(e);
      setMsg(ae.message + (ae.problems?.length ? ": " + ae.problems.map((x) => `${x.path ?? ""} ${x.message}`).join("; ") : ""));
    }
  };
  const make = (kind: string) =>
    run(async () => {
      const res = await api<{ key?: string; secret?: string; info: Credential }>(path + "/keys", { body: { kind } });
      setShown({ id: res.info.id, kind, value: res.key ?? res.secret ?? "" });
    });
  const rotate = (k: Credential) =>
    run(async () => {
      const res = await api<{ key?: string; secret?: string; info: Credential }>(`${path}/keys/${k.id}/rotate`, { body: { overlap: "24h" } });
      setShown({ id: res.info.id, kind: k.kind ?? "api_key", value: res.key ?? res.secret ?? "" });
    });
  if (err) return <ErrorNote err={err} what={`Could not load consumer ${name}`} retry={reload} />;
  if (loading && !data) return <Loading what={`consumer ${name}`} />;
  if (!data) return null;
  const state = (k: Credential) => (k.revoked_at ? "revoked" : k.expires_at ? "until " + fmtTime(k.expires_at) : "active");
  const c = data.consumer;
  // The whole consumer is saved (a field left out would be cleared).
  const setDisabled = (disabled: boolean) =>
    run(() => api(path, { method: "PUT", body: { namespace: c.namespace, description: c.description ?? "", disabled, allow_ips: c.allow_ips ?? [] } }));
  return (
    <div className="card" role="region" aria-label={`Consumer ${name}`}>
      <h2>
        Consumer <code>{name}</code>{" "}
        {c.disabled ? <span className="badge revoked">disabled</span> : <span className="badge ok">enabled</span>}{" "}
        {c.disabled ? (
          <button type="button" className="secondary" onClick={() => void setDisabled(false)}>
            Enable
          </button>
        ) : (
          <button type="button" className="secondary" onClick={() => setDisabling(true)}>
            Disable
          </button>
        )}
      </h2>
      {(c.allow_ips ?? []).length > 0 && (
        <p className="muted" aria-label="Allowed addresses">
          Calls only from {(c.allow_ips ?? []).join(", ")}
        </p>
      )}
      <AllowList
        key={(c.allow_ips ?? []).join("\n")}
        ips={c.allow_ips ?? []}
        onSave={(allow_ips) => run(() => api(path, { method: "PUT", body: { namespace: c.namespace, description: c.description ?? "", disabled: !!c.disabled, allow_ips } }))}
      />
      {msg && (
        <p className="error" role="alert">
          {msg}
        </p>
      )}
      <h3>Subscriptions</h3>
      <table className="table" aria-label="Subscriptions">
        <thead>
          <tr>
            <th>Product</th>
            <th>Version</th>
            <th>Plan</th>
            <th>Usage</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data.subscriptions.map((s) => (
            <tr key={s.id}>
              <td>{s.product}</td>
              <td>{s.version || "every version"}</td>
              <td>{s.plan}</td>
              <td>
                {s.usage && s.usage.day_used !== undefined && `${s.usage.day_used} today`}
                {s.usage && s.usage.month_used !== undefined && `, ${s.usage.month_used} this month`}
              </td>
              <td>
                <button
                  type="button"
                  className="secondary"
                  onClick={() => run(() => api(`${path}/subscriptions/${encodeURIComponent(s.product)}`, { method: "DELETE" }))}
                  aria-label={`Unsubscribe from ${s.product}`}
                >
                  Unsubscribe
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="toolbar"
        aria-label="Subscribe"
        onSubmit={(e) => {
          e.preventDefault();
          void run(() => api(`${path}/subscriptions/${encodeURIComponent(sub.product)}`, { method: "PUT", body: { plan: sub.plan, version: sub.version || undefined } }));
        }}
      >
        <label>
          Product
          <select value={sub.product} onChange={(e) => setSub({ ...sub, product: e.target.value })}>
            <option value="">pick one</option>
            {(products.data?.products ?? []).map((p) => (
              <option key={p.name}>{p.name}</option>
            ))}
          </select>
        </label>
        <label>
          Plan
          <select value={sub.plan} onChange={(e) => setSub({ ...sub, plan: e.target.value })}>
            <option value="">pick one</option>
            {(plans.data?.plans ?? []).map((p) => (
              <option key={p.name}>{p.name}</option>
            ))}
          </select>
        </label>
        <label>
          Version (optional)
          <input value={sub.version} onChange={(e) => setSub({ ...sub, version: e.target.value })} placeholder="every version" />
        </label>
        <button type="submit">Subscribe</button>
      </form>
      <h3>Credentials</h3>
      <div className="toolbar">
        <button type="button" onClick={() => make("api_key")}>
          Create API key
        </button>
        <button type="button" className="secondary" onClick={() => make("hmac")}>
          Create HMAC credential
        </button>
      </div>
      <table className="table" aria-label="Credentials">
        <thead>
          <tr>
            <th>ID</th>
            <th>Kind</th>
            <th>Created</th>
            <th>State</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data.keys.map((k) => (
            <tr key={k.id}>
              <td>
                <code>{k.id}</code>
              </td>
              <td>{k.kind === "hmac" ? "HMAC" : "API key"}</td>
              <td>{fmtTime(k.created_at)}</td>
              <td>{k.revoked_at ? <span className="badge revoked">revoked</span> : <span className={"badge " + (k.expires_at ? "" : "ok")}>{state(k)}</span>}</td>
              <td>
                {!k.revoked_at && !k.expires_at && (
                  <button type="button" className="secondary" onClick={() => rotate(k)} aria-label={`Rotate ${k.id}`}>
                    Rotate
                  </button>
                )}{" "}
                {!k.revoked_at && (
                  <button type="button" className="secondary" onClick={() => setRevoking(k)} aria-label={`Revoke ${k.id}`}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown && (
        <Dialog title={shown.kind === "hmac" ? `HMAC credential ${shown.id} created` : `API key ${shown.id} created`} onClose={closeShown} className="mcp-secret">
          <p className="mcp-warn" role="alert">
            Copy it now. It is shown only this once: Weft cannot show it again{shown.kind === "hmac" ? " (it keeps the secret sealed, to verify signatures)" : " (it keeps only its hash)"}.
          </p>
          <label>
            {shown.kind === "hmac" ? "Secret" : "Key"}
            <input readOnly value={shown.value} className="mono" onFocus={(e) => e.target.select()} spellCheck={false} />
          </label>
          {shown.kind === "hmac" ? (
            <p className="muted">
              Sign each call: <code>Authorization: WEFT-HMAC-SHA256 Credential={shown.id}, Timestamp=…, Nonce=…, Signature=…</code>
            </p>
          ) : (
            <p className="muted">
              Send it as <code>X-API-Key</code>.
            </p>
          )}
          <div className="actions">
            <CopyButton text={shown.value} label="Copy" />
            <button type="button" onClick={closeShown}>
              I have stored it
            </button>
          </div>
        </Dialog>
      )}
      {disabling && (
        <Dialog title={`Disable ${name}?`} onClose={() => setDisabling(false)}>
          <p>Its calls are refused (403) from the next one on, in every process, until it is enabled again. Its credentials and subscriptions are kept.</p>
          <div className="actions">
            <button type="button" className="secondary" onClick={() => setDisabling(false)} autoFocus>
              Cancel
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => {
                setDisabling(false);
                void setDisabled(true);
              }}
            >
              Disable
            </button>
          </div>
        </Dialog>
      )}
      {revoking && (
        <Dialog title={`Revoke ${revoking.id}?`} onClose={closeRevoke}>
          <p>Calls with it are refused from the next one on, in every process. This cannot be undone.</p>
          <div className="actions">
            <button type="button" className="secondary" onClick={closeRevoke} autoFocus>
              Cancel
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => {
                const id = revoking.id;
                closeRevoke();
                void run(() => api(`${path}/keys/${id}`, { method: "DELETE" }));
              }}
            >
              Revoke
            </button>
          </div>
        </Dialog>
      )}
    </div>
  );
}

// --- plans ----------------------------------------------------------------------

interface Limits {
  rate_per_second?: number;
  burst?: number;
  quota_day?: number;
  quota_month?: number;
}

interface Plan {
  name: string;
  namespace: string;
  description?: string;
  limits: Limits;
}

function describe(l: Limits): string {
  const parts: string[] = [];
  if (l.rate_per_second) parts.push(`${l.rate_per_second}/s (burst ${l.burst ?? 1})`);
  if (l.quota_day) parts.push(`${l.quota_day} a day`);
  if (l.quota_month) parts.push(`${l.quota_month} a month`);
  return parts.join(", ") || "no limits";
}

function Plans() {
  const { data, err, loading, reload } = useApi<{ plans: Plan[] }>("/api/plans");
  const [form, setForm] = useState({ name: "", rate: "", burst: "", day: "", month: "" });
  const [msg, setMsg] = useState("");
  const [deleting, setDeleting] = useState<string | null>(null);
  const remove = async (name: string) => {
    setDeleting(null);
    setMsg("");
    try {
      await api(`/api/plans/${encodeURIComponent(name)}`, { method: "DELETE" });
      reload();
    } catch (e) {
      setMsg(asApiError(e).message);
    }
  };
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setMsg("");
    const num = (s: string) => (s.trim() ? Number(s) : 0);
    const limits: Limits = { rate_per_second: num(form.rate), burst: num(form.burst), quota_day: num(form.day), quota_month: num(form.month) };
    if (Object.values(limits).some((x) => !Number.isFinite(x) || (x as number) < 0)) return setMsg("Limits are numbers from 0 (0 or empty: no limit).");
    try {
      await api(`/api/plans/${encodeURIComponent(form.name.trim())}`, { method: "PUT", body: { limits } });
      setForm({ name: "", rate: "", burst: "", day: "", month: "" });
      reload();
    } catch (e) {
      const ae = asApiError(e);
      setMsg(ae.message + (ae.problems?.length ? ": " + ae.problems.map((x) => `${x.path ?? ""} ${x.message}`).join("; ") : ""));
    }
  };
  return (
    <>
      <form className="toolbar" aria-label="Save a plan" onSubmit={save}>
        <label>
          Plan name
          <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} placeholder="gold" />
        </label>
        <label>
          Calls a second
          <input inputMode="decimal" value={form.rate} onChange={(e) => setForm({ ...form, rate: e.target.value })} />
        </label>
        <label>
          Burst
          <input inputMode="numeric" value={form.burst} onChange={(e) => setForm({ ...form, burst: e.target.value })} />
        </label>
        <label>
          Calls a day
          <input inputMode="numeric" value={form.day} onChange={(e) => setForm({ ...form, day: e.target.value })} />
        </label>
        <label>
          Calls a month
          <input inputMode="numeric" value={form.month} onChange={(e) => setForm({ ...form, month: e.target.value })} />
        </label>
        <button type="submit">Save plan</button>
      </form>
      {msg && (
        <p className="error" role="alert">
          {msg}
        </p>
      )}
      {err ? (
        <ErrorNote err={err} what="Could not load the plans" retry={reload} />
      ) : loading && !data ? (
        <Loading what="plans" />
      ) : (data?.plans ?? []).length === 0 ? (
        <p className="empty">No plans yet.</p>
      ) : (
        <table className="table" aria-label="Plans">
          <thead>
            <tr>
              <th>Name</th>
              <th>Namespace</th>
              <th>Limits</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {data!.plans.map((p) => (
              <tr key={p.name}>
                <td>{p.name}</td>
                <td>{p.namespace}</td>
                <td>{describe(p.limits)}</td>
                <td>
                  <button type="button" className="secondary" onClick={() => setDeleting(p.name)} aria-label={`Delete plan ${p.name}`}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {deleting && (
        <Dialog title={`Delete plan ${deleting}?`} onClose={() => setDeleting(null)}>
          <p>A plan that a subscription uses cannot be deleted: move those subscriptions to another plan first.</p>
          <div className="actions">
            <button type="button" className="secondary" onClick={() => setDeleting(null)} autoFocus>
              Cancel
            </button>
            <button type="button" className="danger" onClick={() => void remove(deleting)}>
              Delete
            </button>
          </div>
        </Dialog>
      )}
    </>
  );
}

// --- usage ----------------------------------------------------------------------

interface UsageGroup {
  product: string;
  version: string;
  route?: string;
  consumer: string;
  calls: number;
  errors: number;
  rate_limited: number;
  error_rate: number;
  latency_ms: { p50?: number; p95?: number; p99?: number; mean?: number };
}

const WINDOWS = ["15m", "1h", "24h", "168h"];

/** Usage: GET /api/metrics/api over a window, per product, version and
 * consumer (and route), summed over every process. */
function Usage({ route }: { route: Route }) {
  const window = WINDOWS.includes(route.query.get("window") ?? "") ? route.query.get("window")! : "1h";
  const byRoute = route.query.get("by") === "route";
  const { data, err, loading, reload } = useApi<{ groups: UsageGroup[] }>(`/api/metrics/api?window=${window}${byRoute ? "&by=route" : ""}`);
  const go = (w: string, r: boolean) => navigate(`/apis/usage?window=${w}${r ? "&by=route" : ""}`);
  return (
    <>
      <div className="toolbar">
        <label>
          Window
          <select value={window} onChange={(e) => go(e.target.value, byRoute)}>
            {WINDOWS.map((w) => (
              <option key={w} value={w}>
                last {w === "168h" ? "7 days" : w}
              </option>
            ))}
          </select>
        </label>
        <label className="check">
          <input type="checkbox" checked={byRoute} onChange={(e) => go(window, e.target.checked)} /> per route
        </label>
        <button type="button" className="secondary" onClick={reload}>
          Refresh
        </button>
      </div>
      {err ? (
        <ErrorNote err={err} what="Could not load API usage" retry={reload} />
      ) : loading && !data ? (
        <Loading what="API usage" />
      ) : (data?.groups ?? []).length === 0 ? (
        <p className="empty">No calls of published APIs in this window.</p>
      ) : (
        <table className="table" aria-label="API usage">
          <thead>
            <tr>
              <th>Product</th>
              <th>Version</th>
              {byRoute && <th>Route</th>}
              <th>Consumer</th>
              <th>Calls</th>
              <th>Errors</th>
              <th>429</th>
              <th>p50</th>
              <th>p95</th>
              <th>p99</th>
            </tr>
          </thead>
          <tbody>
            {data!.groups.map((g) => (
              <tr key={`${g.product}|${g.version}|${g.route ?? ""}|${g.consumer}`}>
                <td>{g.product}</td>
                <td>{g.version}</td>
                {byRoute && <td>{g.route ? <code>{g.route}</code> : <span className="muted">before routing</span>}</td>}
                <td>{g.consumer || <span className="muted">anonymous</span>}</td>
                <td>{g.calls}</td>
                <td>
                  {g.errors} <span className="muted">({Math.round(g.error_rate * 100)}%)</span>
                </td>
                <td>{g.rate_limited}</td>
                <td>{fmtMS(g.latency_ms.p50)}</td>
                <td>{fmtMS(g.latency_ms.p95)}</td>
                <td>{fmtMS(g.latency_ms.p99)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
