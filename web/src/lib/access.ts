// Identity and audit helpers for the Access and Audit views (docs/api.md:
// /api/me, /api/users, /api/tokens, /api/service-accounts, /api/audit):
// which roles a token may carry, readable refusals, token states and the
// audit entries' summaries. Pure functions, unit-tested in
// web/test/access.test.ts.

export interface Principal {
  kind: "user" | "token" | "service_account" | "api_token" | "anonymous" | string;
  id?: string;
  name?: string;
  /** role per namespace; "*": every namespace */
  roles?: Record<string, string> | null;
}

/** The answer of GET /api/me. */
export interface Me {
  principal: Principal;
  actor: string;
  namespace: string;
  role: string;
  permissions: string[] | null;
  /** what a binding to every namespace ("*") grants: installation-wide routes (the audit log, key rotation) need these */
  installation_permissions?: string[] | null;
}

/** mayInstallation: may the caller do perm across the installation (a "*" binding)? */
export function mayInstallation(me: Pick<Me, "installation_permissions">, perm: string): boolean {
  return (me.installation_permissions ?? []).includes(perm);
}

export interface User {
  id: string;
  name: string;
  disabled: boolean;
  created_at: string;
  roles?: Record<string, string> | null;
}

export interface Token {
  id: string;
  kind: "pat" | "service_account" | string;
  name: string;
  owner?: string;
  scopes: Record<string, string> | null;
  created_at: string;
  expires_at?: string | null;
  revoked_at?: string | null;
}

/** Roles, most powerful first (access.Roles). */
export const ROLES = ["admin", "editor", "operator", "viewer", "agent"] as const;

/** What each role is for, in a few words (docs/security.md). */
export const ROLE_HELP: Record<string, string> = {
  admin: "everything, including users, secrets and the audit log",
  editor: "flows, mappings and connections (without reading secrets)",
  operator: "run, replay, cancel, acknowledge alerts",
  viewer: "read only",
  agent: "MCP tools only",
};

/**
 * The roles whose permissions are all within bound's: what a token of a
 * principal with role bound may carry (access.within on the server: the
 * permission sets of access/authorize.go are nested admin ⊃ editor ⊃
 * operator ⊃ viewer, and agent's (mcp.use, self) only within admin's).
 */
export function rolesWithin(bound: string | undefined): string[] {
  switch (bound) {
    case "admin":
      return ["admin", "editor", "operator", "viewer", "agent"];
    case "editor":
      return ["editor", "operator", "viewer"];
    case "operator":
      return ["operator", "viewer"];
    case "viewer":
      return ["viewer"];
    case "agent":
      return ["agent"];
    default:
      return [];
  }
}

/** can reports whether /api/me grants permission (in the default namespace). */
export function can(me: Me | undefined | null, permission: string): boolean {
  return !!me?.permissions?.includes(permission);
}

/** What a permission lets one do, for messages ("… may not read the audit log"). */
export const PERMISSION_WORDS: Record<string, string> = {
  "flows.read": "read flows",
  "flows.write": "deploy or change flows",
  "runs.read": "read runs",
  "runs.operate": "start, replay or cancel runs",
  "connections.read": "read connections",
  "connections.write": "change connections",
  "secrets.manage": "rotate the master key",
  "members.manage": "manage users and service accounts",
  "mcp.read": "read the MCP gateway's settings",
  "mcp.keys.manage": "create or revoke MCP keys",
  "mcp.use": "call MCP tools",
  "mappings.read": "read schema mappings",
  "mappings.write": "create or review schema mappings",
  "monitor.read": "read metrics and alerts",
  "alerts.ack": "acknowledge alerts",
  "audit.read": "read the audit log",
  self: "see their own account",
};

/** The lowest role that has a permission (for "ask for the … role"). */
export function roleFor(permission: string): string {
  if (["flows.read", "runs.read", "connections.read", "mcp.read", "mappings.read", "monitor.read", "self"].includes(permission)) return "viewer";
  if (["runs.operate", "alerts.ack"].includes(permission)) return "operator";
  if (["flows.write", "connections.write", "mappings.write"].includes(permission)) return "editor";
  return "admin";
}

/**
 * explainForbidden turns the server's 403 message into a sentence a person
 * can act on. The server says `user:vera (role viewer in namespace
 * "default") may not audit.read`, or names a missing role binding, or a
 * scope above the caller's role; anything else is passed on as it came.
 */
export function explainForbidden(message: string): string {
  const m = /^(.+?) \(role (\S+) in namespace "([^"]*)"\) may not ([a-z._]+)/.exec(message);
  if (m) {
    const [, who, role, ns, perm] = m;
    const words = PERMISSION_WORDS[perm] ?? perm;
    return `You are signed in as ${who} with the role ${role} in namespace "${ns}", which may not ${words} (permission ${perm}). Ask an administrator for the ${roleFor(perm)} role if you need it.`;
  }
  const a = /^(.+?) \(roles: (.+)\) may not ([a-z._]+) in any namespace/.exec(message);
  if (a) {
    const [, who, roles, perm] = a;
    const words = PERMISSION_WORDS[perm] ?? perm;
    return `You are signed in as ${who} with the roles ${roles}, none of which may ${words} (permission ${perm}). Ask an administrator for the ${roleFor(perm)} role if you need it.`;
  }
  const n = /^(.+?) has no role in namespace "([^"]*)"/.exec(message);
  if (n) return `You are signed in as ${n[1]}, which has no role in namespace "${n[2]}". Ask an administrator to give you one.`;
  return message;
}

export type TokenState = "active" | "revoked" | "expired";

/** tokenState: revoked wins over expired; now is injectable for tests. */
export function tokenState(t: Pick<Token, "expires_at" | "revoked_at">, now: number = Date.now()): TokenState {
  if (t.revoked_at) return "revoked";
  if (t.expires_at && new Date(t.expires_at).getTime() <= now) return "expired";
  return "active";
}

/** scopeText prints scopes as "default: viewer, ops: operator" ("*" reads "every namespace"). */
export function scopeText(scopes: Record<string, string> | null | undefined): string {
  const e = Object.entries(scopes ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (e.length === 0) return "none";
  return e.map(([ns, r]) => `${ns === "*" ? "every namespace" : ns}: ${r}`).join(", ");
}

/** Token names: what the server accepts is checked there; this catches the obvious before a round trip. */
export function checkTokenForm(name: string, days: string): string {
  if (!name.trim()) return "Give the token a name (what it is for: a script, a CI job).";
  if (name.trim().length > 64) return "The name is at most 64 characters.";
  const d = Number(days);
  if (!Number.isInteger(d) || d < 1 || d > 366) return "Expiry is a whole number of days from 1 to 366.";
  return "";
}

/** User names: 1–64 of a-z 0-9 . _ @ - (as the server checks them). */
export function checkUserForm(name: string, password: string): string {
  if (!/^[a-z0-9._@-]{1,64}$/.test(name)) return "A user name is 1 to 64 of a–z, 0–9, dot, underscore, @ and hyphen.";
  return checkPassword(password);
}

export function checkPassword(password: string): string {
  if (password.length < 12) return "A password has at least 12 characters.";
  return "";
}

/** One audit-log entry (GET /api/audit). */
export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  actor_kind: string;
  action: string;
  resource: string;
  namespace: string;
  source: string;
  outcome: "ok" | "denied" | "failed" | string;
  details?: Record<string, unknown> | null;
  prev_hash: string;
  hash: string;
}

/** What GET /api/audit/verify answers. */
export interface Verification {
  intact: boolean;
  entries: number;
  anchor_seq: number;
  anchor_hash: string;
  head_seq: number;
  head_hash: string;
  bad_seq?: number;
  problem?: string;
  detail?: string;
}

/** The actions the server records (access/audit.go), for the filter's suggestions. */
export const AUDIT_ACTIONS = [
  "flow.deploy",
  "flow.rollback",
  "flow.cdc_reset",
  "connection.create",
  "connection.update",
  "connection.delete",
  "connector.import",
  "connector.delete",
  "secrets.rotate",
  "mcp_key.create",
  "mcp_key.revoke",
  "run.replay",
  "run.cancel",
  "dlq.replay",
  "alert.ack",
  "session.sign_in",
  "session.sign_in_failed",
  "session.sign_in_locked",
  "session.sign_out",
  "role.change",
  "settings.change",
  "audit.purge",
  "namespace.create",
  "user.create",
  "user.disable",
  "user.password_reset",
  "token.create",
  "token.revoke",
  "service_account.create",
  "service_account.revoke",
  "product.create",
  "product.update",
  "product.delete",
  "plan.create",
  "plan.update",
  "plan.delete",
  "consumer.create",
  "consumer.update",
  "consumer.delete",
  "subscription.save",
  "subscription.delete",
  "consumer_key.create",
  "consumer_key.rotate",
  "consumer_key.revoke",
  "agent.create",
  "agent.rotate",
  "agent.revoke",
];

export interface Change {
  field: string;
  before?: unknown;
  after?: unknown;
  /** a value that is not a before/after pair */
  value?: unknown;
}

const PAIRS: [RegExp, "before" | "after"][] = [
  [/^(?:from|old|before|prev|previous)_(.+)$/, "before"],
  [/^(?:to|new|after)_(.+)$/, "after"],
  [/^(.+)_(?:before|from|old)$/, "before"],
  [/^(.+)_(?:after|to|new)$/, "after"],
];

/**
 * changes reads an entry's details as a before/after summary: `{before:
 * {...}, after: {...}}` objects, and key pairs like from_version/to_version
 * or role_before/role_after, become one row per field with both sides;
 * every other key is a plain value. Sorted by field.
 */
export function changes(details: Record<string, unknown> | null | undefined): Change[] {
  if (!details) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);
  // field -> its sides, and the key each side came from
  const pairs = new Map<string, { before?: [string, unknown]; after?: [string, unknown]; obj?: boolean }>();
  const plain: Change[] = [];
  const side = (f: string, s: "before" | "after", key: string, v: unknown, obj = false) => {
    const p = pairs.get(f) ?? {};
    p[s] = [key, v];
    p.obj ||= obj;
    pairs.set(f, p);
  };
  for (const [k, v] of Object.entries(details)) {
    if ((k === "before" || k === "after") && isObj(v)) {
      for (const [f, x] of Object.entries(v)) side(f, k, `${k}.${f}`, x, true);
      continue;
    }
    const hit = PAIRS.map(([re, s]) => [re.exec(k), s] as const).find(([m]) => m);
    if (hit) side(hit[0]![1], hit[1], k, v);
    else plain.push({ field: k, value: v });
  }
  const out = [...plain];
  for (const [f, p] of pairs) {
    // a before/after object's field on one side only was added or removed
    if ((p.before && p.after) || p.obj) out.push({ field: f, before: p.before?.[1], after: p.after?.[1] });
    else {
      // one side only (new_input: true): a plain value under its own key
      const [k, v] = (p.before ?? p.after)!;
      out.push({ field: k, value: v });
    }
  }
  return out.sort((a, b) => a.field.localeCompare(b.field));
}

/** show prints a detail value compactly (strings bare, the rest as JSON). */
export function show(v: unknown): string {
  if (v === undefined) return "–";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

/** summary is one line for the entry's row: "version: 2 → 1; file: a.yaml". */
export function summary(details: Record<string, unknown> | null | undefined, max = 120): string {
  const s = changes(details)
    .map((c) => ("value" in c ? `${c.field}: ${show(c.value)}` : `${c.field}: ${show(c.before)} → ${show(c.after)}`))
    .join("; ");
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

/** verifyText says what a verification found, in one sentence. */
export function verifyText(v: Verification): string {
  if (v.intact) {
    const from = v.anchor_seq > 0 ? ` from entry ${v.anchor_seq + 1} (older entries were purged by retention)` : "";
    return v.entries === 0 ? "Intact: the audit log is empty." : `Intact: ${v.entries} ${v.entries === 1 ? "entry" : "entries"} verified${from}, up to entry ${v.head_seq}.`;
  }
  // The server's detail says what it found; without one, say what the problem means.
  const why = v.detail
    ? v.detail
    : v.problem === "hash mismatch"
      ? "it was edited after it was written"
      : v.problem === "missing entry"
        ? "an entry before it was deleted"
        : v.problem === "broken link"
          ? "it does not link to the entry before it"
          : "";
  return `Tampered: the chain breaks at entry ${v.bad_seq}: ${v.problem ?? "problem"}${why ? ` (${why})` : ""}. ${v.entries} ${v.entries === 1 ? "entry" : "entries"} before it verified.`;
}

/** The filters of the Audit view, kept in the route's query. */
export interface AuditFilters {
  actor: string;
  action: string;
  since: string;
  before: string;
}

export function auditFilters(q: URLSearchParams): AuditFilters {
  return { actor: q.get("actor") ?? "", action: q.get("action") ?? "", since: q.get("since") ?? "", before: q.get("before") ?? "" };
}

/** auditQuery builds the query string for /api/audit (or its export, without paging). */
export function auditQuery(f: Partial<AuditFilters>, opts: { limit?: number; paging?: boolean } = {}): string {
  const q = new URLSearchParams();
  if (f.actor?.trim()) q.set("actor", f.actor.trim());
  if (f.action?.trim()) q.set("action", f.action.trim());
  if (f.since?.trim()) q.set("since", f.since.trim());
  if (opts.paging !== false && f.before) q.set("before", f.before);
  if (opts.limit) q.set("limit", String(opts.limit));
  const s = q.toString();
  return s ? "?" + s : "";
}
