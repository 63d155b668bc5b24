import { describe, expect, it } from "vitest";
import {
  auditFilters,
  auditQuery,
  can,
  mayInstallation,
  changes,
  checkTokenForm,
  checkUserForm,
  explainForbidden,
  rolesWithin,
  scopeText,
  summary,
  tokenState,
  verifyText,
  type Me,
} from "../src/lib/access";

describe("rolesWithin", () => {
  it("offers the roles whose permissions are all the bound's", () => {
    expect(rolesWithin("admin")).toEqual(["admin", "editor", "operator", "viewer", "agent"]);
    expect(rolesWithin("editor")).toEqual(["editor", "operator", "viewer"]);
    expect(rolesWithin("operator")).toEqual(["operator", "viewer"]);
    expect(rolesWithin("viewer")).toEqual(["viewer"]);
    // agent (mcp.use, self) is not within editor's permissions, and an agent can only hand on agent
    expect(rolesWithin("editor")).not.toContain("agent");
    expect(rolesWithin("agent")).toEqual(["agent"]);
    expect(rolesWithin(undefined)).toEqual([]);
    expect(rolesWithin("root")).toEqual([]);
  });
});

describe("can", () => {
  const me: Me = { principal: { kind: "user", name: "vera", roles: { default: "viewer" } }, actor: "user:vera", namespace: "default", role: "viewer", permissions: ["flows.read", "self"] };
  it("reads /api/me's permissions", () => {
    expect(can(me, "flows.read")).toBe(true);
    expect(can(me, "members.manage")).toBe(false);
    expect(can(undefined, "self")).toBe(false);
    expect(can({ ...me, permissions: null }, "self")).toBe(false);
  });
});

describe("explainForbidden", () => {
  it("turns the server's refusal into what is missing and whom to ask", () => {
    const s = explainForbidden('user:vera (role viewer in namespace "default") may not audit.read');
    expect(s).toContain("user:vera");
    expect(s).toContain("role viewer");
    expect(s).toContain("read the audit log");
    expect(s).toContain("admin role");
    expect(explainForbidden('user:ed (role viewer in namespace "default") may not flows.write')).toContain("editor role");
    expect(explainForbidden('token:t1 (role viewer in namespace "ops") may not runs.operate')).toContain("operator role");
  });
  it("explains a missing binding", () => {
    expect(explainForbidden('user:x has no role in namespace "default"')).toBe('You are signed in as user:x, which has no role in namespace "default". Ask an administrator to give you one.');
  });
  it("passes other messages on unchanged", () => {
    expect(explainForbidden('scope admin in namespace "default" exceeds your role there ("viewer")')).toBe('scope admin in namespace "default" exceeds your role there ("viewer")');
    expect(explainForbidden("")).toBe("");
  });
});

describe("tokenState", () => {
  const now = Date.parse("2026-06-01T00:00:00Z");
  it("is revoked before expired before active", () => {
    expect(tokenState({ expires_at: "2026-07-01T00:00:00Z" }, now)).toBe("active");
    expect(tokenState({ expires_at: null }, now)).toBe("active");
    expect(tokenState({ expires_at: "2026-05-01T00:00:00Z" }, now)).toBe("expired");
    expect(tokenState({ expires_at: "2026-06-01T00:00:00Z" }, now)).toBe("expired");
    expect(tokenState({ expires_at: "2026-05-01T00:00:00Z", revoked_at: "2026-04-01T00:00:00Z" }, now)).toBe("revoked");
  });
});

describe("scopeText", () => {
  it("prints roles per namespace, sorted", () => {
    expect(scopeText({ ops: "operator", default: "viewer" })).toBe("default: viewer, ops: operator");
    expect(scopeText({ "*": "admin" })).toBe("every namespace: admin");
    expect(scopeText(null)).toBe("none");
    expect(scopeText({})).toBe("none");
  });
});

describe("form checks", () => {
  it("checks token forms", () => {
    expect(checkTokenForm("ci", "90")).toBe("");
    expect(checkTokenForm("  ", "90")).toMatch(/name/);
    expect(checkTokenForm("x".repeat(65), "90")).toMatch(/64/);
    for (const d of ["0", "367", "1.5", "", "abc", "-3"]) expect(checkTokenForm("ci", d), d).toMatch(/1 to 366/);
    expect(checkTokenForm("ci", "366")).toBe("");
  });
  it("checks user forms as the server does", () => {
    expect(checkUserForm("ada", "a-long-password")).toBe("");
    expect(checkUserForm("ada.l_x@corp-1", "a-long-password")).toBe("");
    expect(checkUserForm("Ada", "a-long-password")).toMatch(/a–z/);
    expect(checkUserForm("", "a-long-password")).toMatch(/1 to 64/);
    expect(checkUserForm("a b", "a-long-password")).toMatch(/a–z/);
    expect(checkUserForm("ada", "short")).toMatch(/12 characters/);
  });
});

describe("changes", () => {
  it("pairs from_/to_ keys into before and after", () => {
    expect(changes({ from_version: 2, to_version: 1 })).toEqual([{ field: "version", before: 2, after: 1 }]);
  });
  it("reads before/after objects, fields added or removed on one side", () => {
    expect(changes({ before: { role: "viewer", x: 1 }, after: { role: "editor" }, namespace: "default" })).toEqual([
      { field: "namespace", value: "default" },
      { field: "role", before: "viewer", after: "editor" },
      { field: "x", before: 1, after: undefined },
    ]);
    expect(changes({ role_before: "", role_after: "admin" })).toEqual([{ field: "role", before: "", after: "admin" }]);
  });
  it("keeps a key with one side only as a plain value under its own name", () => {
    expect(changes({ new_input: true, file: "a.yaml" })).toEqual([
      { field: "file", value: "a.yaml" },
      { field: "new_input", value: true },
    ]);
  });
  it("handles no details", () => {
    expect(changes(undefined)).toEqual([]);
    expect(changes(null)).toEqual([]);
    expect(changes({})).toEqual([]);
  });
  it("summarises in one line, clipped", () => {
    expect(summary({ from_version: 2, to_version: 1, file: "f.yaml" })).toBe("file: f.yaml; version: 2 → 1");
    expect(summary({ fields: ["auth.token", "base_url"] })).toBe('fields: ["auth.token","base_url"]');
    const long = summary({ text: "x".repeat(500) }, 40);
    expect(long.length).toBe(40);
    expect(long.endsWith("…")).toBe(true);
  });
});

describe("verifyText", () => {
  const base = { entries: 12, anchor_seq: 0, anchor_hash: "", head_seq: 12, head_hash: "ab" };
  it("says intact", () => {
    expect(verifyText({ ...base, intact: true })).toBe("Intact: 12 entries verified, up to entry 12.");
    expect(verifyText({ ...base, intact: true, entries: 0, head_seq: 0 })).toBe("Intact: the audit log is empty.");
    expect(verifyText({ ...base, intact: true, anchor_seq: 100, head_seq: 112 })).toContain("from entry 101");
  });
  it("names the first bad entry and why", () => {
    const s = verifyText({ ...base, intact: false, entries: 4, bad_seq: 5, problem: "hash mismatch", detail: "stored abc, computed def" });
    expect(s).toBe("Tampered: the chain breaks at entry 5: hash mismatch (stored abc, computed def). 4 entries before it verified.");
    expect(verifyText({ ...base, intact: false, entries: 4, bad_seq: 5, problem: "hash mismatch" })).toContain("(it was edited after it was written)");
    expect(verifyText({ ...base, intact: false, entries: 1, bad_seq: 3, problem: "missing entry" })).toContain("an entry before it was deleted");
  });
});

describe("audit query", () => {
  it("round-trips the filters through the route's query", () => {
    const f = auditFilters(new URLSearchParams("actor=user:ada&action=flow.deploy&since=24h&before=40"));
    expect(f).toEqual({ actor: "user:ada", action: "flow.deploy", since: "24h", before: "40" });
    expect(auditQuery(f, { limit: 50 })).toBe("?actor=user%3Aada&action=flow.deploy&since=24h&before=40&limit=50");
    expect(auditQuery(f, { paging: false })).toBe("?actor=user%3Aada&action=flow.deploy&since=24h");
    expect(auditQuery({ actor: "  " })).toBe("");
    expect(auditFilters(new URLSearchParams(""))).toEqual({ actor: "", action: "", since: "", before: "" });
  });
});

describe("refusals across namespaces", () => {
  it("explains a refusal in every namespace the caller has a role in", () => {
    const msg = explainForbidden('user:bo (roles: viewer in "default", editor in "team-b") may not members.manage in any namespace');
    expect(msg).toContain("user:bo");
    expect(msg).toContain('viewer in "default", editor in "team-b"');
    expect(msg).toContain("permission members.manage");
    expect(msg).toContain("admin role");
  });
  it("offers installation-wide views only for a binding to every namespace", () => {
    expect(mayInstallation({ installation_permissions: ["audit.read"] }, "audit.read")).toBe(true);
    expect(mayInstallation({ installation_permissions: [] }, "audit.read")).toBe(false);
    expect(mayInstallation({}, "audit.read")).toBe(false);
  });
});
