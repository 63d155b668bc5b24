// MCP (#/mcp/keys, #/mcp/toolsets, #/mcp/policies, #/mcp/calls): the
// agent gateway's API keys (the secret shown once), toolsets and their
// tools, tool policies, and the tool-call log (docs/mcp.md, docs/api.md).
import { useCallback, useEffect, useState } from "react";
import { api, type ApiError } from "../api";
import { href, navigate, type Route } from "../router";
import { CopyButton, Dialog, ErrorNote, Loading, asApiError, fmtMS, fmtTime, useApi } from "./kit";
import { isError, type McpCall } from "./monitoring-data";
import "./mcp.css";

const TABS = [
  ["keys", "Keys"],
  ["toolsets", "Toolsets"],
  ["policies", "Policies"],
  ["calls", "Tool calls"],
] as const;

export function McpView({ route }: { route: Route }) {
  const tab = TABS.some(([t]) => t === route.parts[1]) ? route.parts[1] : "keys";
  return (
    <section className="mcp-page">
      <header className="pagehead">
        <h1>MCP</h1>
        <span className="muted">AI agents call your connections' operations and flows as tools over the Model Context Protocol at <code>/mcp</code>.</span>
      </header>
      <nav className="tabs" aria-label="MCP sections">
        {TABS.map(([t, label]) => (
          <a key={t} href={href("/mcp/" + t)} aria-current={t === tab ? "page" : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {tab === "keys" && <Keys />}
      {tab === "toolsets" && <Toolsets open={route.parts[2]} />}
      {tab === "policies" && <Policies />}
      {tab === "calls" && <Calls route={route} />}
    </section>
  );
}

interface Key {
  id: string;
  name: string;
  scopes: string[] | null;
  rate_per_min?: number;
  created_at: string;
  revoked_at?: string;
}

interface Toolset {
  name: string;
  description?: string;
  path: string;
  tools: number;
  discovery?: boolean;
}

function Keys() {
  const { data, err, loading, reload } = useApi<{ keys: Key[] }>("/api/mcp/keys");
  const toolsets = useApi<{ toolsets: Toolset[] }>("/api/mcp/toolsets");
  const [creating, setCreating] = useState(false);
  // The new key's secret lives only in this state while its dialog is
  // open: it is never stored, and closing the dialog drops it.
  const [created, setCreated] = useState<{ key: Key; secret: string } | null>(null);
  const [revoking, setRevoking] = useState<Key | null>(null);
  const keys = [...(data?.keys ?? [])].sort((a, b) => Number(!!a.revoked_at) - Number(!!b.revoked_at) || b.created_at.localeCompare(a.created_at));
  const closeSecret = useCallback(() => setCreated(null), []);
  const closeRevoke = useCallback(() => setRevoking(null), []);
  return (
    <>
      <div className="toolbar">
        <button type="button" onClick={() => setCreating(true)}>
          Create key
        </button>
        <span className="muted">An agent sends its key as <code>Authorization: Bearer &lt;secret&gt;</code>; a key reaches only the toolsets and tools in its scopes.</span>
      </div>
      {err ? (
        <ErrorNote err={err} what="Could not load the API keys" retry={reload} />
      ) : loading && !data ? (
        <Loading what="API keys" />
      ) : keys.length === 0 ? (
        <p className="empty">No API keys yet. Create one for each agent or client, so you can see its traffic and revoke it on its own.</p>
      ) : (
        <table className="table" aria-label="API keys">
          <thead>
            <tr>
              <th>Name</th>
              <th>ID</th>
              <th>Scopes</th>
              <th>Rate limit</th>
              <th>Created</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id} className={k.revoked_at ? "mcp-revoked" : undefined}>
                <td>{k.name}</td>
                <td>
                  <code>{k.id}</code>
                </td>
                <td>
                  {(k.scopes ?? []).map((s) => (
                    <code key={s} className="mcp-scope">
                      {s}
                    </code>
                  ))}
                </td>
                <td>{k.rate_per_min ? `${k.rate_per_min}/min` : "unlimited"}</td>
                <td>{fmtTime(k.created_at)}</td>
                <td>{k.revoked_at ? <span className="badge revoked">revoked {fmtTime(k.revoked_at)}</span> : <span className="badge ok">active</span>}</td>
                <td>
                  {!k.revoked_at && (
                    <button type="button" className="secondary" onClick={() => setRevoking(k)} aria-label={`Revoke key ${k.name}`}>
                      Revoke
                    </button>
                  )}{" "}
                  <a href={href(`/mcp/calls?key=${encodeURIComponent(k.id)}`)}>calls</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {creating && (
        <CreateKey
          toolsets={toolsets.data?.toolsets ?? []}
          onCancel={() => setCreating(false)}
          onCreated={(c) => {
            setCreating(false);
            setCreated(c);
            reload();
          }}
        />
      )}
      {created && (
        <Dialog title={`API key "${created.key.name}" created`} onClose={closeSecret} className="mcp-secret">
          <p className="mcp-warn" role="alert">
            Copy the secret now. It is shown only this once: Weft keeps only its hash and cannot show it again. If it is lost, revoke the key and create another.
          </p>
          <label>
            Secret
            <input readOnly value={created.secret} className="mono" onFocus={(e) => e.target.select()} spellCheck={false} />
          </label>
          <div className="actions">
            <CopyButton text={created.secret} label="Copy secret" />
            <button type="button" onClick={closeSecret}>
              I have stored it
            </button>
          </div>
        </Dialog>
      )}
      {revoking && <RevokeKey k={revoking} onClose={closeRevoke} onDone={reload} />}
    </>
  );
}

function CreateKey({ toolsets, onCancel, onCreated }: { toolsets: Toolset[]; onCancel: () => void; onCreated: (c: { key: Key; secret: string }) => void }) {
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["*"]);
  const [tools, setTools] = useState("");
  const [rate, setRate] = useState("");
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState(false);
  const toggle = (s: string) => setScopes((cur) => (cur.includes(s) ? cur.filter((x) => x !== s) : [...cur, s]));
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setErr("");
    const all = [
      ...scopes,
      ...tools
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean)
        .map((t) => (t.startsWith("tool:") ? t : "tool:" + t)),
    ];
    if (!name.trim()) return setErr("Give the key a name (the agent or client it is for).");
    if (all.length === 0) return setErr("Pick at least one scope: all toolsets (*), a toolset, or tools.");
    const r = rate.trim() ? Number(rate) : 0;
    if (!Number.isInteger(r) || r < 0) return setErr("The rate limit is a whole number of calls a minute (empty: unlimited).");
    setBusy(true);
    try {
      const res = await api<{ key: Key; secret: string }>("/api/mcp/keys", { body: { name: name.trim(), scopes: all, rate_per_min: r || undefined } });
      onCreated(res);
    } catch (e) {
      setErr(asApiError(e).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title="Create an API key" onClose={onCancel}>
      <form onSubmit={submit} aria-label="Create an API key">
        <label>
          Key name
          <input autoFocus value={name} onChange={(e) => setName(e.target.value)} placeholder="claude-desktop" />
        </label>
        <fieldset className="mcp-scopes">
          <legend>Scopes</legend>
          <label className="check">
            <input type="checkbox" checked={scopes.includes("*")} onChange={() => toggle("*")} /> All toolsets (<code>*</code>)
          </label>
          {toolsets.map((t) => (
            <label className="check" key={t.name}>
              <input type="checkbox" checked={scopes.includes(t.name)} onChange={() => toggle(t.name)} /> <code>{t.name}</code> <span className="muted">{t.tools} tools</span>
            </label>
          ))}
          <label>
            Tools (names or globs, comma-separated)
            <input value={tools} onChange={(e) => setTools(e.target.value)} placeholder="crm__get*, flow__quote" spellCheck={false} />
          </label>
        </fieldset>
        <label>
          Rate limit (calls a minute, optional)
          <input inputMode="numeric" value={rate} onChange={(e) => setRate(e.target.value)} placeholder="unlimited" />
        </label>
        {err && (
          <p className="error" role="alert">
            {err}
          </p>
        )}
        <div className="actions">
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? "Creating…" : "Create key"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function RevokeKey({ k, onClose, onDone }: { k: Key; onClose: () => void; onDone: () => void }) {
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState(false);
  const revoke = async () => {
    setBusy(true);
    setErr("");
    try {
      await api(`/api/mcp/keys/${encodeURIComponent(k.id)}`, { method: "DELETE" });
      onDone();
      onClose();
    } catch (e) {
      setErr(asApiError(e).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Revoke key "${k.name}"?`} onClose={onClose}>
      <p>
        Agents using <code>{k.id}</code> lose access at once. This cannot be undone: a revoked key stays listed, and a new key has a new secret.
      </p>
      {err && (
        <p className="error" role="alert">
          {err}
        </p>
      )}
      <div className="actions">
        <button type="button" className="secondary" onClick={onClose} autoFocus>
          Cancel
        </button>
        <button type="button" className="danger" disabled={busy} onClick={revoke}>
          Revoke key
        </button>
      </div>
    </Dialog>
  );
}

interface ToolInfo {
  name: string;
  description?: string;
  kind: string;
  connection?: string;
  operation?: string;
  flow?: string;
  read_only: boolean;
  destructive: boolean;
  policy: string;
}

function Toolsets({ open }: { open?: string }) {
  const { data, err, loading, reload } = useApi<{ toolsets: Toolset[] }>("/api/mcp/toolsets");
  const sets = data?.toolsets ?? [];
  return (
    <>
      {err ? (
        <ErrorNote err={err} what="Could not load the toolsets" retry={reload} />
      ) : loading && !data ? (
        <Loading what="toolsets" />
      ) : sets.length === 0 ? (
        <p className="empty">
          No toolsets. Define them under <code>mcp.toolsets</code> in the configuration (docs/mcp.md).
        </p>
      ) : (
        <table className="table" aria-label="Toolsets">
          <thead>
            <tr>
              <th>Toolset</th>
              <th>Endpoint</th>
              <th>Tools</th>
              <th>Description</th>
            </tr>
          </thead>
          <tbody>
            {sets.map((t) => (
              <tr key={t.name} className={t.name === open ? "selected" : undefined}>
                <td>
                  <a href={href(t.name === open ? "/mcp/toolsets" : "/mcp/toolsets/" + encodeURIComponent(t.name))} aria-expanded={t.name === open}>
                    {t.name}
                  </a>
                  {t.discovery && <span className="badge"> discovery</span>}
                </td>
                <td>
                  <code>{t.path}</code>
                </td>
                <td>{t.tools}</td>
                <td>{t.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open && <ToolList toolset={open} />}
      {!open && sets.length > 0 && <p className="muted">Pick a toolset to see its tools and the policy that applies to each.</p>}
    </>
  );
}

function ToolList({ toolset }: { toolset: string }) {
  const { data, err, loading, reload } = useApi<{ tools: ToolInfo[] }>(`/api/mcp/toolsets/${encodeURIComponent(toolset)}/tools`);
  const [q, setQ] = useState("");
  const tools = (data?.tools ?? []).filter((t) => !q || (t.name + " " + (t.description ?? "")).toLowerCase().includes(q.toLowerCase()));
  return (
    <section className="mcp-tools" aria-label={"Tools of " + toolset}>
      <div className="toolbar">
        <h2>
          Tools of <code>{toolset}</code>
        </h2>
        <span className="grow" />
        <label className="inline">
          Filter tools
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="name or words" />
        </label>
      </div>
      {err ? (
        <ErrorNote err={err} what="Could not load the tools" retry={reload} />
      ) : loading && !data ? (
        <Loading what="tools" />
      ) : tools.length === 0 ? (
        <p className="empty">{q ? "No tool matches the filter." : "This toolset has no tools yet: add connections or deploy flows that it includes."}</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Tool</th>
              <th>Calls</th>
              <th>Hints</th>
              <th>Policy</th>
              <th>Description</th>
            </tr>
          </thead>
          <tbody>
            {tools.map((t) => (
              <tr key={t.name}>
                <td>
                  <code>{t.name}</code>
                </td>
                <td className="muted">{t.kind === "flow" ? "flow " + t.flow : t.kind === "operation" ? `${t.operation} via ${t.connection}` : "Weft"}</td>
                <td>
                  {t.read_only && <span className="badge ok">read-only</span>} {t.destructive && <span className="badge error">destructive</span>}
                </td>
                <td>
                  <span className={"badge " + t.policy}>{t.policy}</span>
                </td>
                <td className="mcp-desc">{t.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface Policy {
  order?: number;
  tool: string;
  action: string;
  matches?: string;
}

function Policies() {
  const { data, err, loading, reload } = useApi<{ policies: Policy[]; default?: string }>("/api/mcp/policies");
  const pols = data?.policies ?? [];
  const dflt = data?.default ?? "allow";
  return (
    <>
      <p className="muted">
        Policies decide per tool whether an agent's call is allowed, denied, or needs the user's confirmation. They apply in order and the first rule whose tool pattern matches decides; a
        tool no rule matches is <span className={"badge " + dflt}>{dflt}</span>. They are set under <code>mcp.policy</code> in the configuration and are read-only here.
      </p>
      {err ? (
        <ErrorNote err={err} what="Could not load the policies" retry={reload} />
      ) : loading && !data ? (
        <Loading what="policies" />
      ) : pols.length === 0 ? (
        <p className="empty">
          No policies: every tool a key's scopes reach is allowed. To confirm destructive tools, add <code>{"mcp: {policy: [{tool: destructive, action: confirm}]}"}</code> to the
          configuration.
        </p>
      ) : (
        <table className="table" aria-label="Policies">
          <thead>
            <tr>
              <th>Order</th>
              <th>Tools</th>
              <th>Action</th>
              <th>Matches</th>
            </tr>
          </thead>
          <tbody>
            {pols.map((p, i) => (
              <tr key={i}>
                <td>{p.order ?? i + 1}</td>
                <td>
                  <code>{p.tool}</code>
                </td>
                <td>
                  <span className={"badge " + p.action}>{p.action}</span>
                </td>
                <td className="mcp-desc">{p.matches ?? (p.tool === "destructive" ? "every destructive tool" : "")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

const PAGE = 50;

function Calls({ route }: { route: Route }) {
  const key = route.query.get("key") ?? "";
  const tool = route.query.get("tool") ?? "";
  const [toolDraft, setToolDraft] = useState(tool);
  useEffect(() => setToolDraft(tool), [tool]);
  // A stack of cursors: [""] is the newest page; "Older" pushes the answer's next.
  const [cursors, setCursors] = useState<string[]>([""]);
  useEffect(() => setCursors([""]), [key, tool]);
  const before = cursors[cursors.length - 1];
  const q = new URLSearchParams({ limit: String(PAGE) });
  if (before) q.set("before", before);
  if (key) q.set("key", key);
  if (tool) q.set("tool", tool);
  const { data, err, loading, reload } = useApi<{ calls: McpCall[]; next: string | null }>("/api/mcp/calls?" + q.toString());
  const keys = useApi<{ keys: Key[] }>("/api/mcp/keys");
  const setFilter = (p: { key?: string; tool?: string }) => {
    const nq = new URLSearchParams();
    const k = p.key ?? key;
    const t = p.tool ?? tool;
    if (k) nq.set("key", k);
    if (t) nq.set("tool", t);
    const s = nq.toString();
    navigate("/mcp/calls" + (s ? "?" + s : ""));
  };
  const names = Object.fromEntries((keys.data?.keys ?? []).map((k) => [k.id, k.name]));
  const calls = data?.calls ?? [];
  return (
    <>
      <form
        className="toolbar"
        aria-label="Filter tool calls"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter({ tool: toolDraft.trim() });
        }}
      >
        <label className="inline">
          Key
          <select value={key} onChange={(e) => setFilter({ key: e.target.value })}>
            <option value="">All keys</option>
            {(keys.data?.keys ?? []).map((k) => (
              <option key={k.id} value={k.id}>
                {k.name} ({k.id})
              </option>
            ))}
            {key && !names[key] && <option value={key}>{key}</option>}
          </select>
        </label>
        <label className="inline">
          Tool
          <input type="search" value={toolDraft} onChange={(e) => setToolDraft(e.target.value)} placeholder="crm__getAccount" spellCheck={false} />
        </label>
        <button type="submit" className="secondary">
          Filter
        </button>
        {(key || tool) && (
          <button type="button" className="secondary" onClick={() => navigate("/mcp/calls")}>
            Clear filters
          </button>
        )}
        <span className="grow" />
        <button type="button" className="secondary" onClick={reload}>
          Refresh
        </button>
      </form>
      {err ? (
        <ErrorNote err={err as ApiError} what="Could not load the tool-call log" retry={reload} />
      ) : loading && !data ? (
        <Loading what="tool calls" />
      ) : calls.length === 0 ? (
        <p className="empty">
          {key || tool ? "No tool calls match these filters." : "No tool calls yet. Point an MCP client at /mcp with an API key (Keys tab); each call it makes is logged here."}
        </p>
      ) : (
        <table className="table" aria-label="Tool calls">
          <thead>
            <tr>
              <th>When</th>
              <th>Key</th>
              <th>Tool</th>
              <th>Toolset</th>
              <th>Status</th>
              <th>Duration</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {calls.map((c) => (
              <tr key={c.id}>
                <td>{fmtTime(c.at)}</td>
                <td>
                  <button type="button" className="linkish" onClick={() => setFilter({ key: c.key })} title="Show only this key's calls">
                    {names[c.key] ? `${names[c.key]} (${c.key})` : c.key || "(none)"}
                  </button>
                </td>
                <td>
                  <button type="button" className="linkish" onClick={() => setFilter({ tool: c.tool })} title="Show only this tool's calls">
                    <code>{c.tool}</code>
                  </button>
                </td>
                <td className="muted">{c.toolset ?? ""}</td>
                <td>
                  <span className={"badge " + (isError(c) ? "error" : "ok")}>{c.status}</span>
                </td>
                <td>{fmtMS(c.duration_ms)}</td>
                <td className="mcp-desc">{c.error ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="toolbar">
        <button type="button" className="secondary" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Newer
        </button>
        <button type="button" className="secondary" disabled={!data?.next} onClick={() => data?.next && setCursors((c) => [...c, data.next!])}>
          Older
        </button>
        <span className="muted">Page {cursors.length}</span>
      </div>
    </>
  );
}
