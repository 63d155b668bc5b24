// Access (#/access/account, #/access/users, #/access/service-accounts): who
// the console is signed in as and their personal access tokens; for an
// admin (members.manage), the local users and the service accounts. Tokens
// are shown once, in the dialog that follows their creation, and never
// stored by the console (docs/api.md "Users, tokens and service accounts").
import { useCallback, useState, type FormEvent, type ReactNode } from "react";
import { api, type ApiError } from "../api";
import { href, type Route } from "../router";
import { useMe } from "../me";
import {
  ROLES,
  ROLE_HELP,
  can,
  checkPassword,
  checkTokenForm,
  checkUserForm,
  explainForbidden,
  rolesWithin,
  scopeText,
  tokenState,
  type Me,
  type Token,
  type User,
} from "../lib/access";
import { CopyButton, Dialog, Loading, asApiError, fmtTime, useApi } from "./kit";
import { Problem } from "./problem";
import "./access.css";

const TABS = [
  ["account", "My account", ""],
  ["users", "Users", "members.manage"],
  ["service-accounts", "Service accounts", "members.manage"],
] as const;

export function AccessView({ route }: { route: Route }) {
  const { me, err } = useMe();
  const tab = TABS.some(([t]) => t === route.parts[1]) ? route.parts[1] : "account";
  return (
    <section className="access-page">
      <header className="pagehead">
        <h1>Access</h1>
        <span className="muted">Who you are, your tokens, and (for administrators) users and service accounts.</span>
      </header>
      <nav className="tabs" aria-label="Access sections">
        {TABS.filter(([t, , need]) => !need || can(me, need) || t === tab).map(([t, label]) => (
          <a key={t} href={href("/access/" + t)} aria-current={t === tab ? "page" : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {err ? (
        <Problem err={asApiError(err)} what="Could not tell who you are" />
      ) : !me ? (
        <Loading what="your account" />
      ) : tab === "users" ? (
        <Users me={me} />
      ) : tab === "service-accounts" ? (
        <ServiceAccounts me={me} />
      ) : (
        <Account me={me} />
      )}
    </section>
  );
}

const KIND_WORDS: Record<string, string> = {
  user: "a local user",
  token: "a personal access token",
  service_account: "a service account",
  api_token: "the server's API token (the bootstrap administrator)",
  anonymous: "anonymous (this server asks for no credentials)",
  client_cert: "a client certificate",
};

function Account({ me }: { me: Me }) {
  const p = me.principal;
  const roles = Object.entries(p.roles ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <>
      <div className="card access-me">
        <h2>{p.kind === "anonymous" ? "Not signed in: this server asks for no credentials" : `Signed in as ${p.name || me.actor}`}</h2>
        <dl className="access-facts">
          <dt>Kind</dt>
          <dd>{KIND_WORDS[p.kind] ?? p.kind}</dd>
          <dt>Actor</dt>
          <dd>
            <code>{me.actor}</code> <span className="muted">(how the audit log names you)</span>
          </dd>
          <dt>Roles</dt>
          <dd>
            {roles.length === 0 ? (
              <span className="muted">none</span>
            ) : (
              <table className="table access-roles" aria-label="Your roles">
                <thead>
                  <tr>
                    <th>Namespace</th>
                    <th>Role</th>
                  </tr>
                </thead>
                <tbody>
                  {roles.map(([ns, r]) => (
                    <tr key={ns}>
                      <td>{ns === "*" ? "every namespace (*)" : ns}</td>
                      <td>
                        <strong>{r}</strong> <span className="muted">{ROLE_HELP[r] ?? ""}</span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </dd>
          <dt>May</dt>
          <dd>
            {(me.permissions ?? []).map((x) => (
              <code key={x} className="access-perm">
                {x}
              </code>
            ))}{" "}
            <span className="muted">in namespace {me.namespace}</span>
          </dd>
        </dl>
      </div>
      <Tokens me={me} />
    </>
  );
}

function Tokens({ me }: { me: Me }) {
  const isUser = me.principal.kind === "user";
  const { data, err, loading, reload } = useApi<{ tokens: Token[] }>("/api/tokens");
  const [creating, setCreating] = useState(false);
  // The new token lives only in this state while its dialog is open.
  const [created, setCreated] = useState<(Token & { token: string }) | null>(null);
  const [revoking, setRevoking] = useState<Token | null>(null);
  const closeSecret = useCallback(() => setCreated(null), []);
  const closeRevoke = useCallback(() => setRevoking(null), []);
  return (
    <section className="access-section" aria-labelledby="pat-h">
      <div className="toolbar">
        <h2 id="pat-h">Personal access tokens</h2>
        <button type="button" onClick={() => setCreating(true)} disabled={!isUser} aria-describedby={isUser ? undefined : "pat-why"}>
          Create token
        </button>
        {isUser ? (
          <span className="muted">
            A script or the CLI sends a token as <code>Authorization: Bearer weft_pat_…</code>; it acts as you, with at most your roles.
          </span>
        ) : (
          <span className="muted" id="pat-why">
            Only a signed-in user has personal access tokens; you are {KIND_WORDS[me.principal.kind] ?? me.principal.kind}. An administrator creates service accounts for
            automation.
          </span>
        )}
      </div>
      {err ? (
        <Problem err={err} what="Could not load your tokens" retry={reload} />
      ) : loading && !data ? (
        <Loading what="tokens" />
      ) : (
        <TokenTable
          label="Personal access tokens"
          tokens={data?.tokens ?? []}
          empty={isUser ? "No tokens yet. Create one for each script or machine, so you can revoke it on its own." : "No personal access tokens."}
          onRevoke={setRevoking}
        />
      )}
      {creating && (
        <CreateToken
          me={me}
          onCancel={() => setCreating(false)}
          onCreated={(t) => {
            setCreating(false);
            setCreated(t);
            reload();
          }}
        />
      )}
      {created && <SecretDialog title={`Token "${created.name}" created`} secret={created.token} onClose={closeSecret} />}
      {revoking && (
        <Confirm
          title={`Revoke token "${revoking.name}"?`}
          action="Revoke token"
          onClose={closeRevoke}
          run={async () => {
            await api(`/api/tokens/${encodeURIComponent(revoking.id)}`, { method: "DELETE" });
            reload();
          }}
        >
          <p>
            Anything using <code>{revoking.id}</code> is refused from its next request. This cannot be undone: a revoked token stays listed.
          </p>
        </Confirm>
      )}
    </section>
  );
}

function TokenTable({ label, tokens, empty, onRevoke, canRevoke = true }: { label: string; tokens: Token[]; empty: string; onRevoke: (t: Token) => void; canRevoke?: boolean }) {
  const now = Date.now();
  const sorted = [...tokens].sort((a, b) => Number(tokenState(a, now) !== "active") - Number(tokenState(b, now) !== "active") || b.created_at.localeCompare(a.created_at));
  if (sorted.length === 0) return <p className="empty">{empty}</p>;
  return (
    <table className="table" aria-label={label}>
      <thead>
        <tr>
          <th>Name</th>
          <th>ID</th>
          <th>Scopes</th>
          <th>Created</th>
          <th>Expires</th>
          <th>State</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {sorted.map((t) => {
          const st = tokenState(t, now);
          return (
            <tr key={t.id} className={st !== "active" ? "access-inactive" : undefined}>
              <td>{t.name}</td>
              <td>
                <code>{t.id}</code>
              </td>
              <td>{scopeText(t.scopes)}</td>
              <td>{fmtTime(t.created_at)}</td>
              <td>{t.expires_at ? fmtTime(t.expires_at) : "never"}</td>
              <td>
                <span className={"badge " + (st === "active" ? "ok" : "revoked")}>{st === "revoked" ? `revoked ${fmtTime(t.revoked_at)}` : st}</span>
              </td>
              <td>
                {st !== "revoked" && canRevoke && (
                  <button type="button" className="secondary" onClick={() => onRevoke(t)} aria-label={`Revoke ${t.name}`}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** ScopePicker: a role (within the caller's) per namespace the caller has a role in. */
function ScopePicker({ me, scopes, onChange }: { me: Me; scopes: Record<string, string>; onChange: (s: Record<string, string>) => void }) {
  const mine = Object.entries(me.principal.roles ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <fieldset className="access-scopes">
      <legend>Scopes (a role per namespace, at most yours)</legend>
      {mine.map(([ns, role]) => (
        <label key={ns} className="inline">
          <span className="access-ns">{ns === "*" ? "every namespace (*)" : ns}</span>
          <select
            aria-label={`Role in ${ns === "*" ? "every namespace" : "namespace " + ns}`}
            value={scopes[ns] ?? ""}
            onChange={(e) => {
              const next = { ...scopes };
              if (e.target.value) next[ns] = e.target.value;
              else delete next[ns];
              onChange(next);
            }}
          >
            <option value="">none</option>
            {rolesWithin(role).map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
      ))}
    </fieldset>
  );
}

/** useAction runs a form's or a dialog's request: a problem found before
 * sending is shown instead; busy while it runs; its error kept to show. */
function useAction() {
  const [err, setErr] = useState<ApiError | string>("");
  const [busy, setBusy] = useState(false);
  const run = async (problem: string, fn: () => Promise<void>) => {
    if (problem) return setErr(problem);
    setBusy(true);
    setErr("");
    try {
      await fn();
    } catch (e) {
      setErr(asApiError(e));
    } finally {
      setBusy(false);
    }
  };
  return { err, busy, run };
}

function CreateToken({ me, onCancel, onCreated }: { me: Me; onCancel: () => void; onCreated: (t: Token & { token: string }) => void }) {
  const [name, setName] = useState("");
  const [days, setDays] = useState("90");
  const [scopes, setScopes] = useState<Record<string, string>>({ ...(me.principal.roles ?? {}) });
  const { err, busy, run } = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(checkTokenForm(name, days) || (Object.keys(scopes).length === 0 ? "Give the token a role in at least one namespace." : ""), async () => {
      onCreated(await api<Token & { token: string }>("/api/tokens", { body: { name: name.trim(), scopes, expires_in_days: Number(days) } }));
    });
  };
  return (
    <Dialog title="Create a personal access token" onClose={onCancel}>
      <form onSubmit={submit} aria-label="Create a personal access token">
        <label>
          Token name
          <input autoFocus value={name} onChange={(e) => setName(e.target.value)} placeholder="ci-deploy" />
        </label>
        <label>
          Expires in (days, 1 to 366)
          <input inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
        <ScopePicker me={me} scopes={scopes} onChange={setScopes} />
        <FormError err={err} />
        <div className="actions">
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? "Creating…" : "Create token"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function FormError({ err }: { err: ApiError | string }) {
  if (!err) return null;
  return (
    <p className="error" role="alert">
      {typeof err === "string" ? err : err.status === 403 ? explainForbidden(err.message) : err.message}
    </p>
  );
}

/** SecretDialog shows a new token once, with a copy button. */
function SecretDialog({ title, secret, onClose }: { title: string; secret: string; onClose: () => void }) {
  return (
    <Dialog title={title} onClose={onClose} className="access-secret">
      <p className="access-warn" role="alert">
        Copy the token now: you will not see it again. Weft keeps only its hash. If it is lost, revoke it and create another.
      </p>
      <label>
        Token
        <input readOnly value={secret} className="mono" onFocus={(e) => e.target.select()} spellCheck={false} />
      </label>
      <div className="actions">
        <CopyButton text={secret} label="Copy token" />
        <button type="button" onClick={onClose}>
          I have stored it
        </button>
      </div>
    </Dialog>
  );
}

/** Confirm asks before an action that cannot be undone; the action's error stays in the dialog. */
function Confirm({ title, action, onClose, run, children, danger = true }: { title: string; action: string; onClose: () => void; run: () => Promise<void>; children: ReactNode; danger?: boolean }) {
  const { err, busy, run: act } = useAction();
  const go = () =>
    act("", async () => {
      await run();
      onClose();
    });
  return (
    <Dialog title={title} onClose={onClose}>
      {children}
      <FormError err={err} />
      <div className="actions">
        <button type="button" className="secondary" onClick={onClose} autoFocus>
          Cancel
        </button>
        <button type="button" className={danger ? "danger" : undefined} disabled={busy} onClick={go}>
          {action}
        </button>
      </div>
    </Dialog>
  );
}

function Users({ me }: { me: Me }) {
  const { data, err, loading, reload } = useApi<{ users: User[] }>("/api/users");
  const [dialog, setDialog] = useState<{ kind: "create" } | { kind: "disable" | "password" | "role"; user: User } | null>(null);
  const close = useCallback(() => setDialog(null), []);
  const users = [...(data?.users ?? [])].sort((a, b) => Number(a.disabled) - Number(b.disabled) || a.name.localeCompare(b.name));
  return (
    <section className="access-section">
      {err ? (
        <Problem err={err} what="Could not load the users" retry={reload} />
      ) : loading && !data ? (
        <Loading what="users" />
      ) : (
        <>
          <div className="toolbar">
            <button type="button" onClick={() => setDialog({ kind: "create" })}>
              Create user
            </button>
            <span className="muted">Local users sign in with a name and password; their roles decide what they may do in each namespace.</span>
          </div>
          {users.length === 0 ? (
            <p className="empty">No local users yet. Create one for each person, with the least role they need.</p>
          ) : (
            <table className="table" aria-label="Users">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Roles</th>
                  <th>State</th>
                  <th>Created</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {users.map((u) => {
                  const self = me.principal.kind === "user" && me.principal.id === u.id;
                  return (
                    <tr key={u.id} className={u.disabled ? "access-inactive" : undefined}>
                      <td>
                        {u.name}
                        {self && <span className="muted"> (you)</span>}
                      </td>
                      <td>{scopeText(u.roles)}</td>
                      <td>{u.disabled ? <span className="badge revoked">disabled</span> : <span className="badge ok">active</span>}</td>
                      <td>{fmtTime(u.created_at)}</td>
                      <td className="access-actions">
                        <button type="button" className="secondary" onClick={() => setDialog({ kind: "role", user: u })} aria-label={`Change the role of ${u.name}`}>
                          Change role
                        </button>
                        <button type="button" className="secondary" onClick={() => setDialog({ kind: "password", user: u })} aria-label={`Reset the password of ${u.name}`}>
                          Reset password
                        </button>
                        {!u.disabled && (
                          <button
                            type="button"
                            className="secondary"
                            disabled={self}
                            title={self ? "You cannot disable yourself: you would lose access at once" : undefined}
                            onClick={() => setDialog({ kind: "disable", user: u })}
                            aria-label={`Disable ${u.name}`}
                          >
                            Disable
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </>
      )}
      {dialog?.kind === "create" && <CreateUser me={me} onClose={close} onDone={reload} />}
      {dialog?.kind === "role" && <ChangeRole me={me} user={dialog.user} onClose={close} onDone={reload} />}
      {dialog?.kind === "password" && <ResetPassword user={dialog.user} onClose={close} onDone={reload} />}
      {dialog?.kind === "disable" && (
        <Confirm
          title={`Disable user "${dialog.user.name}"?`}
          action="Disable user"
          onClose={close}
          run={async () => {
            await api(`/api/users/${encodeURIComponent(dialog.user.name)}/disable`, { method: "POST" });
            reload();
          }}
        >
          <p>Their sessions and personal access tokens are refused from their next request, and they cannot sign in. Users are never deleted, so the audit log keeps naming them.</p>
        </Confirm>
      )}
    </section>
  );
}

/** The roles an administrator may hand out: within their own role in that namespace (or "*"). */
function grantable(me: Me, ns: string): string[] {
  const r = me.principal.roles ?? {};
  return rolesWithin(r[ns] ?? r["*"]);
}

function RoleSelect({ roles, value, onChange, label, allowNone }: { roles: string[]; value: string; onChange: (r: string) => void; label: string; allowNone?: boolean }) {
  return (
    <label>
      {label}
      <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value)}>
        {allowNone && <option value="">none (remove the binding)</option>}
        {roles.map((r) => (
          <option key={r} value={r}>
            {r}: {ROLE_HELP[r]}
          </option>
        ))}
      </select>
    </label>
  );
}

function CreateUser({ me, onClose, onDone }: { me: Me; onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [ns, setNs] = useState("default");
  const [role, setRole] = useState("viewer");
  const { err, busy, run } = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(checkUserForm(name, password) || (ns.trim() ? "" : "Name a namespace (default: default)."), async () => {
      await api("/api/users", { body: { name, password, role, namespace: ns.trim() } });
      setPassword("");
      onDone();
      onClose();
    });
  };
  return (
    <Dialog title="Create a user" onClose={onClose}>
      <form onSubmit={submit} aria-label="Create a user">
        <label>
          User name
          <input autoFocus autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} placeholder="ada" spellCheck={false} />
        </label>
        <label>
          Password (at least 12 characters)
          <input type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <label>
          Namespace
          <input value={ns} onChange={(e) => setNs(e.target.value)} spellCheck={false} />
        </label>
        <RoleSelect label="Role" roles={grantable(me, ns.trim())} value={role} onChange={setRole} />
        <FormError err={err} />
        <div className="actions">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? "Creating…" : "Create user"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ChangeRole({ me, user, onClose, onDone }: { me: Me; user: User; onClose: () => void; onDone: () => void }) {
  const [ns, setNs] = useState("default");
  const current = (user.roles ?? {})[ns.trim()] ?? "";
  const [role, setRole] = useState(current || "viewer");
  const { err, busy, run } = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(!ns.trim() ? "Name a namespace (* for every namespace)." : "", async () => {
      await api(`/api/users/${encodeURIComponent(user.name)}/roles/${encodeURIComponent(ns.trim())}`, { method: "PUT", body: { role } });
      onDone();
      onClose();
    });
  };
  return (
    <Dialog title={`Change the role of "${user.name}"`} onClose={onClose}>
      <form onSubmit={submit} aria-label="Change role">
        <p className="muted">Now: {scopeText(user.roles)}.</p>
        <label>
          Namespace
          <input value={ns} onChange={(e) => setNs(e.target.value)} spellCheck={false} />
        </label>
        <RoleSelect label="New role" roles={grantable(me, ns.trim())} value={role} onChange={setRole} allowNone />
        <FormError err={err} />
        <div className="actions">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            Save role
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ResetPassword({ user, onClose, onDone }: { user: User; onClose: () => void; onDone: () => void }) {
  const [password, setPassword] = useState("");
  const { err, busy, run } = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(checkPassword(password), async () => {
      await api(`/api/users/${encodeURIComponent(user.name)}/password`, { body: { password } });
      setPassword("");
      onDone();
      onClose();
    });
  };
  return (
    <Dialog title={`Reset the password of "${user.name}"`} onClose={onClose}>
      <form onSubmit={submit} aria-label="Reset password">
        <label>
          New password (at least 12 characters)
          <input type="password" autoComplete="new-password" autoFocus value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <p className="muted">Tell them the new password over a channel you trust; Weft never shows or sends it.</p>
        <FormError err={err} />
        <div className="actions">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            Set password
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ServiceAccounts({ me }: { me: Me }) {
  const { data, err, loading, reload } = useApi<{ tokens: Token[] }>("/api/service-accounts");
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<(Token & { token: string }) | null>(null);
  const [revoking, setRevoking] = useState<Token | null>(null);
  const closeSecret = useCallback(() => setCreated(null), []);
  const closeRevoke = useCallback(() => setRevoking(null), []);
  return (
    <section className="access-section">
      {err ? (
        <Problem err={err} what="Could not load the service accounts" retry={reload} />
      ) : loading && !data ? (
        <Loading what="service accounts" />
      ) : (
        <>
          <div className="toolbar">
            <button type="button" onClick={() => setCreating(true)}>
              Create service account
            </button>
            <span className="muted">
              A service account is a token for automation that belongs to no person: <code>Authorization: Bearer weft_sa_…</code>.
            </span>
          </div>
          <TokenTable
            label="Service accounts"
            tokens={data?.tokens ?? []}
            empty="No service accounts yet. Create one for each pipeline or system that calls Weft, with the least role it needs."
            onRevoke={setRevoking}
          />
        </>
      )}
      {creating && (
        <CreateServiceAccount
          me={me}
          onCancel={() => setCreating(false)}
          onCreated={(t) => {
            setCreating(false);
            setCreated(t);
            reload();
          }}
        />
      )}
      {created && <SecretDialog title={`Service account "${created.name}" created`} secret={created.token} onClose={closeSecret} />}
      {revoking && (
        <Confirm
          title={`Revoke service account "${revoking.name}"?`}
          action="Revoke service account"
          onClose={closeRevoke}
          run={async () => {
            await api(`/api/service-accounts/${encodeURIComponent(revoking.id)}`, { method: "DELETE" });
            reload();
          }}
        >
          <p>
            Whatever uses <code>{revoking.id}</code> is refused from its next request. This cannot be undone.
          </p>
        </Confirm>
      )}
    </section>
  );
}

function CreateServiceAccount({ me, onCancel, onCreated }: { me: Me; onCancel: () => void; onCreated: (t: Token & { token: string }) => void }) {
  const [name, setName] = useState("");
  const [ns, setNs] = useState("default");
  const [role, setRole] = useState("operator");
  const [days, setDays] = useState("90");
  const { err, busy, run } = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(checkTokenForm(name, days) || (ns.trim() ? "" : "Name a namespace (default: default)."), async () => {
      onCreated(await api<Token & { token: string }>("/api/service-accounts", { body: { name: name.trim(), scopes: { [ns.trim()]: role }, expires_in_days: Number(days) } }));
    });
  };
  const roles = grantable(me, ns.trim());
  return (
    <Dialog title="Create a service account" onClose={onCancel}>
      <form onSubmit={submit} aria-label="Create a service account">
        <label>
          Name
          <input autoFocus value={name} onChange={(e) => setName(e.target.value)} placeholder="nightly-sync" />
        </label>
        <label>
          Namespace
          <input value={ns} onChange={(e) => setNs(e.target.value)} spellCheck={false} />
        </label>
        <RoleSelect label="Role" roles={roles.length ? roles : [...ROLES]} value={role} onChange={setRole} />
        <label>
          Expires in (days, 1 to 366)
          <input inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
        <FormError err={err} />
        <div className="actions">
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? "Creating…" : "Create service account"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
