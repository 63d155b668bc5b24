// The connection form's model: which fields a connector's connection has
// (its auth type's fields, or its config schema and secret names), the
// form state, its checks, and the PUT /api/connections/NAME body built
// from it.
//
// Credentials are write-only. The API never returns them, only which are
// "set" (credentials: {"auth.token": "set"}); the form starts every secret
// field empty and leaves an empty one out of the body, and the server then
// keeps the stored value (connectors.Connection.KeepSecrets). It keeps a
// stored auth secret only while the auth type stays the same, so a changed
// type needs its secrets typed again, and the form says so.

import type { Schema } from "./schema";

export interface AuthView {
  type: string;
  header?: string;
  query?: string;
  username?: string;
  token_url?: string;
  client_id?: string;
  scopes?: string[];
}

/** A connection as GET /api/connections/NAME returns it. */
export interface ConnectionView {
  name: string;
  connector: string;
  base_url?: string;
  allow_private?: boolean;
  auth?: AuthView;
  rate_per_sec?: number;
  burst?: number;
  timeout?: string;
  config?: Record<string, unknown>;
  source?: string; // "config" (read-only) or "api"
  credentials?: Record<string, string>;
}

/** A connector as GET /api/connectors/NAME returns it (the parts the form needs). */
export interface ConnectorInfo {
  name: string;
  title?: string;
  description?: string;
  config_schema?: Schema;
  secrets?: string[];
}

export interface AuthField {
  key: string;
  label: string;
  secret: boolean;
  required: boolean;
  help?: string;
}

export interface AuthType {
  type: string;
  label: string;
  fields: AuthField[];
}

export const authTypes: AuthType[] = [
  { type: "", label: "None", fields: [] },
  { type: "bearer", label: "Bearer token", fields: [{ key: "token", label: "Token", secret: true, required: true }] },
  {
    type: "basic",
    label: "Basic (username and password)",
    fields: [
      { key: "username", label: "Username", secret: false, required: true },
      { key: "password", label: "Password", secret: true, required: false },
    ],
  },
  {
    type: "api_key",
    label: "API key",
    fields: [
      { key: "header", label: "Header name", secret: false, required: false, help: "Default X-API-Key" },
      { key: "query", label: "Query parameter", secret: false, required: false, help: "Send the key as this query parameter instead of a header" },
      { key: "value", label: "API key", secret: true, required: true },
    ],
  },
  {
    type: "oauth2_client_credentials",
    label: "OAuth2 client credentials",
    fields: [
      { key: "token_url", label: "Token URL", secret: false, required: true },
      { key: "client_id", label: "Client ID", secret: false, required: true },
      { key: "client_secret", label: "Client secret", secret: true, required: false },
      { key: "scopes", label: "Scopes", secret: false, required: false, help: "Separated by spaces or commas" },
    ],
  },
  {
    type: "oauth2_refresh_token",
    label: "OAuth2 refresh token",
    fields: [
      { key: "token_url", label: "Token URL", secret: false, required: true },
      { key: "client_id", label: "Client ID", secret: false, required: false },
      { key: "client_secret", label: "Client secret", secret: true, required: false },
      { key: "refresh_token", label: "Refresh token", secret: true, required: true },
      { key: "scopes", label: "Scopes", secret: false, required: false, help: "Separated by spaces or commas" },
    ],
  },
];

export function authType(t: string): AuthType {
  return authTypes.find((a) => a.type === t) ?? authTypes[0];
}

export interface FormState {
  name: string;
  connector: string;
  base_url: string;
  allow_private: boolean;
  timeout: string;
  rate_per_sec: string;
  burst: string;
  authType: string;
  /** auth fields by key; secret ones start empty */
  auth: Record<string, string>;
  /** config values as typed (converted by the schema's types when sent) */
  config: Record<string, string | boolean>;
  /** connector secrets by name; start empty */
  secrets: Record<string, string>;
  /** headers to add or replace (their values may be secrets: stored ones are never shown) */
  headers: { name: string; value: string }[];
}

/** httpLike says whether a connector's connections take a base URL, auth and headers (http and imported OpenAPI connectors) rather than a config block. */
export function httpLike(c: ConnectorInfo | undefined): boolean {
  return !c?.config_schema && !(c?.secrets && c.secrets.length);
}

export function emptyForm(connector = ""): FormState {
  return { name: "", connector, base_url: "", allow_private: false, timeout: "", rate_per_sec: "", burst: "", authType: "", auth: {}, config: {}, secrets: {}, headers: [] };
}

/** formFromView fills the form from a stored connection; every secret field stays empty. */
export function formFromView(v: ConnectionView): FormState {
  const f = emptyForm(v.connector);
  f.name = v.name;
  f.base_url = v.base_url ?? "";
  f.allow_private = !!v.allow_private;
  f.timeout = v.timeout ?? "";
  f.rate_per_sec = v.rate_per_sec ? String(v.rate_per_sec) : "";
  f.burst = v.burst ? String(v.burst) : "";
  if (v.auth) {
    f.authType = v.auth.type;
    for (const fd of authType(v.auth.type).fields) {
      if (fd.secret) continue;
      const val = (v.auth as unknown as Record<string, unknown>)[fd.key];
      if (Array.isArray(val)) f.auth[fd.key] = val.join(" ");
      else if (typeof val === "string") f.auth[fd.key] = val;
    }
  }
  for (const [k, val] of Object.entries(v.config ?? {})) {
    f.config[k] = typeof val === "boolean" ? val : typeof val === "string" ? val : JSON.stringify(val);
  }
  return f;
}

/** isSet says whether the stored connection has credential key ("auth.token", "secrets.dsn", "headers.X") set. */
export function isSet(v: ConnectionView | undefined, key: string): boolean {
  return v?.credentials?.[key] === "set";
}

/** keepsAuthSecrets says whether the server will keep the stored auth secrets for an edit with this auth type. */
export function keepsAuthSecrets(existing: ConnectionView | undefined, type: string): boolean {
  return !!existing?.auth && existing.auth.type === type;
}

/** storedHeaders lists the names of the headers a stored connection has set. */
export function storedHeaders(v: ConnectionView | undefined): string[] {
  return Object.keys(v?.credentials ?? {})
    .filter((k) => k.startsWith("headers."))
    .map((k) => k.slice("headers.".length))
    .sort();
}

const nameRe = /^[A-Za-z0-9_-]{1,64}$/;

/** validate returns problems by field ("name", "auth.token", "config.host", ...); empty when the form can be sent. */
export function validate(f: FormState, c: ConnectorInfo | undefined, existing?: ConnectionView): Record<string, string> {
  const p: Record<string, string> = {};
  if (!existing && !nameRe.test(f.name)) p.name = "Use letters, digits, '_' and '-' (1 to 64).";
  if (!f.connector) p.connector = "Choose a connector.";
  if (f.timeout && !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(f.timeout.trim())) p.timeout = "A duration such as 10s, 500ms or 1m.";
  if (f.rate_per_sec && !(Number(f.rate_per_sec) > 0)) p.rate_per_sec = "A number above 0 (calls a second).";
  if (f.burst && !(Number.isInteger(Number(f.burst)) && Number(f.burst) > 0)) p.burst = "A whole number above 0.";
  if (httpLike(c)) {
    if (f.base_url && !/^https?:\/\/[^\s]+$/i.test(f.base_url.trim())) p.base_url = "An http:// or https:// URL.";
    const at = authType(f.authType);
    const keep = keepsAuthSecrets(existing, f.authType);
    for (const fd of at.fields) {
      if (!fd.required) continue;
      const typed = (f.auth[fd.key] ?? "").trim() !== "";
      if (typed) continue;
      if (fd.secret && keep && isSet(existing, "auth." + fd.key)) continue;
      p["auth." + fd.key] = fd.secret && existing?.auth && !keep ? `${fd.label} is needed again: the auth type changed, so the stored credentials are not kept.` : `${fd.label} is required.`;
    }
    f.headers.forEach((h, i) => {
      if (h.name.trim() === "" && h.value.trim() === "") return;
      if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(h.name.trim())) p[`headers.${i}`] = "A header name (letters, digits and -).";
      else if (h.value === "" && !isSet(existing, "headers." + h.name.trim())) p[`headers.${i}`] = `Give ${h.name.trim()} a value.`;
    });
  } else {
    const schema = c?.config_schema;
    const req: string[] = Array.isArray(schema?.required) ? schema!.required : [];
    for (const k of req) {
      const v = f.config[k];
      if (v === undefined || v === "") p["config." + k] = `${k} is required.`;
    }
    for (const [k, ps] of Object.entries((schema?.properties ?? {}) as Record<string, Schema>)) {
      const v = f.config[k];
      if (typeof v !== "string" || v === "") continue;
      if ((ps.type === "integer" && !/^-?\d+$/.test(v.trim())) || (ps.type === "number" && Number.isNaN(Number(v)))) p["config." + k] = `${k} must be a ${ps.type}.`;
      else if (Array.isArray(ps.enum) && !ps.enum.map(String).includes(v)) p["config." + k] = `${k} must be one of ${ps.enum.join(", ")}.`;
    }
  }
  return p;
}

/** bodyFor builds the PUT /api/connections/NAME body. Secret fields left empty are left out, so the server keeps the stored value. */
export function bodyFor(f: FormState, c: ConnectorInfo | undefined): Record<string, unknown> {
  const b: Record<string, unknown> = { connector: f.connector };
  if (f.timeout.trim()) b.timeout = f.timeout.trim();
  if (f.rate_per_sec.trim()) b.rate_per_sec = Number(f.rate_per_sec);
  if (f.burst.trim()) b.burst = Number(f.burst);
  if (httpLike(c)) {
    if (f.base_url.trim()) b.base_url = f.base_url.trim();
    if (f.allow_private) b.allow_private = true;
    if (f.authType) {
      const a: Record<string, unknown> = { type: f.authType };
      for (const fd of authType(f.authType).fields) {
        const v = (f.auth[fd.key] ?? "").trim();
        if (!v) continue;
        a[fd.key] = fd.key === "scopes" ? v.split(/[\s,]+/).filter(Boolean) : fd.secret ? f.auth[fd.key] : v;
      }
      b.auth = a;
    }
    const headers: Record<string, string> = {};
    for (const h of f.headers) {
      if (h.name.trim() && h.value !== "") headers[h.name.trim()] = h.value;
    }
    if (Object.keys(headers).length) b.headers = headers;
  } else {
    const props = (c?.config_schema?.properties ?? {}) as Record<string, Schema>;
    const config: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(f.config)) {
      if (v === "" || v === undefined) continue;
      const t = props[k]?.type;
      if (typeof v === "boolean") config[k] = v;
      else if (t === "integer" || t === "number") config[k] = Number(v);
      else if (t === "object" || t === "array") {
        try {
          config[k] = JSON.parse(v);
        } catch {
          config[k] = v;
        }
      } else config[k] = v;
    }
    if (Object.keys(config).length) b.config = config;
    const secrets: Record<string, string> = {};
    for (const [k, v] of Object.entries(f.secrets)) if (v !== "") secrets[k] = v;
    if (Object.keys(secrets).length) b.secrets = secrets;
  }
  return b;
}
