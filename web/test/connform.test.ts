import { describe, expect, it } from "vitest";
import { bodyFor, emptyForm, formFromView, httpLike, storedHeaders, validate, type ConnectionView, type ConnectorInfo } from "../src/lib/connform";

const crm: ConnectorInfo = { name: "crm" };
const sqlite: ConnectorInfo = {
  name: "sqlite",
  config_schema: { type: "object", required: ["max_open_conns"], properties: { max_open_conns: { type: "integer" }, readonly: { type: "boolean" } } },
  secrets: ["dsn"],
};
const stored: ConnectionView = {
  name: "crm2",
  connector: "crm",
  base_url: "https://crm.example.com",
  auth: { type: "bearer" },
  source: "api",
  credentials: { "auth.token": "set", "headers.X-Tenant": "set" },
};

describe("connection form", () => {
  it("tells HTTP-like connectors from config ones", () => {
    expect(httpLike(crm)).toBe(true);
    expect(httpLike(sqlite)).toBe(false);
  });

  it("never fills a secret field from a stored connection", () => {
    const f = formFromView({ ...stored, auth: { type: "oauth2_client_credentials", token_url: "https://t", client_id: "weft", scopes: ["a", "b"] }, credentials: { "auth.client_secret": "set" } });
    expect(f.auth).toEqual({ token_url: "https://t", client_id: "weft", scopes: "a b" });
    expect(f.auth.client_secret).toBeUndefined();
    expect(storedHeaders(stored)).toEqual(["X-Tenant"]);
  });

  it("requires a new connection's secret, and builds the body with it", () => {
    const f = { ...emptyForm("crm"), name: "crm2", base_url: "https://crm.example.com", authType: "bearer" };
    expect(validate(f, crm)).toEqual({ "auth.token": "Token is required." });
    f.auth = { token: "sk-1" };
    expect(validate(f, crm)).toEqual({});
    expect(bodyFor(f, crm)).toEqual({ connector: "crm", base_url: "https://crm.example.com", auth: { type: "bearer", token: "sk-1" } });
  });

  it("leaves an empty secret out of an edit, so the server keeps the stored one", () => {
    const f = formFromView(stored);
    f.base_url = "https://crm2.example.com";
    expect(validate(f, crm, stored)).toEqual({});
    const b = bodyFor(f, crm);
    expect(b).toEqual({ connector: "crm", base_url: "https://crm2.example.com", auth: { type: "bearer" } });
    expect(JSON.stringify(b)).not.toContain("token\":");
  });

  it("asks for the secrets again when the auth type changes (the server keeps them only for the same type)", () => {
    const f = formFromView(stored);
    f.authType = "api_key";
    expect(validate(f, crm, stored)["auth.value"]).toMatch(/needed again/);
  });

  it("drops auth when None is chosen", () => {
    const f = formFromView(stored);
    f.authType = "";
    expect(bodyFor(f, crm).auth).toBeUndefined();
  });

  it("sends only headers that have a value; a stored header may be left empty", () => {
    const f = formFromView(stored);
    f.headers = [{ name: "X-Tenant", value: "" }, { name: "X-New", value: "v" }, { name: "", value: "" }];
    expect(validate(f, crm, stored)).toEqual({});
    expect(bodyFor(f, crm).headers).toEqual({ "X-New": "v" });
    f.headers = [{ name: "X-Other", value: "" }];
    expect(validate(f, crm, stored)["headers.0"]).toMatch(/value/);
    f.headers = [{ name: "bad name", value: "x" }];
    expect(validate(f, crm, stored)["headers.0"]).toMatch(/header name/);
  });

  it("converts config values by the schema's types and sends only typed secrets", () => {
    const f = { ...emptyForm("sqlite"), name: "db", config: { max_open_conns: "4", readonly: true }, secrets: { dsn: "" } };
    expect(validate(f, sqlite)).toEqual({});
    expect(bodyFor(f, sqlite)).toEqual({ connector: "sqlite", config: { max_open_conns: 4, readonly: true } });
    f.secrets = { dsn: "/tmp/x.db" };
    expect(bodyFor(f, sqlite).secrets).toEqual({ dsn: "/tmp/x.db" });
    expect(validate({ ...f, config: { max_open_conns: "four" } }, sqlite)).toEqual({ "config.max_open_conns": "max_open_conns must be a integer." });
    expect(validate({ ...f, config: {} }, sqlite)).toEqual({ "config.max_open_conns": "max_open_conns is required." });
  });

  it("checks names, durations, rates and URLs", () => {
    const f = { ...emptyForm("crm"), name: "bad name", timeout: "ten", rate_per_sec: "0", burst: "1.5", base_url: "ftp://x" };
    expect(Object.keys(validate(f, crm)).sort()).toEqual(["base_url", "burst", "name", "rate_per_sec", "timeout"]);
    expect(validate({ ...f, name: "ok", timeout: "1m30s", rate_per_sec: "2.5", burst: "3", base_url: "http://x" }, crm)).toEqual({});
  });
});
