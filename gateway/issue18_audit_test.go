package gateway_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/internal/seal"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

const auditToken = "0123456789abcdef-audit-token"

// auditRig is a gateway with an API token, a master key (connections can
// be stored), and an upstream that always fails (runs die).
type auditRig struct {
	h   http.Handler
	st  store.Store
	dir string
}

func newAuditRig(t *testing.T, token string) *auditRig {
	t.Helper()
	ctx := context.Background()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"error":"bad"}`))
	}))
	t.Cleanup(up.Close)
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	if err := cat.AddConnection(&connectors.Connection{Name: "up", Connector: "http", BaseURL: up.URL, AllowPrivate: true}); err != nil {
		t.Fatal(err)
	}
	keys, err := seal.Load("", filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	e := engine.New(st, cat, nil, engine.Config{SyncTimeout: 10 * time.Second, Keys: keys})
	if err := st.StartQueue(ctx, e.Workers(), store.QueueConfig{Workers: 2, FetchPollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.BeginShutdown()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.StopQueue(c)
		_ = st.Close()
	})
	return &auditRig{h: gateway.New(e, nil, gateway.Config{APIToken: token}), st: st, dir: dir}
}

// do sends a request as a client at 192.0.2.1 (httptest's address) that
// claims, in X-Forwarded-For, to be someone else.
func (rig *auditRig) do(t *testing.T, method, path, body string, hdr map[string]string) (int, map[string]any, http.Header) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Host = "localhost"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
		if !strings.HasPrefix(strings.TrimSpace(body), "{") {
			r.Header.Set("Content-Type", "application/yaml")
		}
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	rig.h.ServeHTTP(w, r)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out, w.Header()
}

var bearerAuth = map[string]string{"Authorization": "Bearer " + auditToken}

type auditEntry struct {
	Seq       float64        `json:"seq"`
	Actor     string         `json:"actor"`
	ActorKind string         `json:"actor_kind"`
	Action    string         `json:"action"`
	Resource  string         `json:"resource"`
	Namespace string         `json:"namespace"`
	Source    string         `json:"source"`
	Outcome   string         `json:"outcome"`
	Details   map[string]any `json:"details"`
}

// entries lists the whole audit log, newest first, and its raw JSON.
func (rig *auditRig) entries(t *testing.T) ([]auditEntry, string) {
	t.Helper()
	r := httptest.NewRequest("GET", "/api/audit?limit=1000", nil)
	r.Host = "localhost"
	r.Header.Set("Authorization", "Bearer "+auditToken)
	w := httptest.NewRecorder()
	rig.h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("GET /api/audit: %d %s", w.Code, w.Body.String())
	}
	var out struct {
		Entries []auditEntry `json:"entries"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out.Entries, w.Body.String()
}

// Every state change of the API leaves exactly one audit entry naming who
// (the request's principal), what, on what, from where (the connection's
// address, not X-Forwarded-For) and how it ended; no entry carries a
// secret; the chain verifies.
func TestIssue18_AuditEveryAction(t *testing.T) {
	rig := newAuditRig(t, auditToken)
	n := 0
	// step runs one action and checks it left exactly one entry.
	step := func(what string, wantStatus int, method, path, body string, hdr map[string]string, action, actor, resource, outcome string) map[string]any {
		t.Helper()
		code, out, _ := rig.do(t, method, path, body, hdr)
		if code != wantStatus {
			t.Fatalf("%s: %d %v", what, code, out)
		}
		es, _ := rig.entries(t)
		if len(es) != n+1 {
			t.Fatalf("%s: %d new entries, want 1: %+v", what, len(es)-n, es[:len(es)-n])
		}
		n++
		e := es[0]
		if e.Action != action || e.Actor != actor || (resource != "" && e.Resource != resource) || e.Outcome != outcome || e.Source != "192.0.2.1" || e.Namespace != "default" {
			t.Fatalf("%s: entry %+v; want %s by %s on %s (%s) from 192.0.2.1", what, e, action, actor, resource, outcome)
		}
		return e.Details
	}
	const dead = "name: dead\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - id: boom\n    call: http.request\n    connection: up\n    with: {url: /fail}\n    retry: {max_attempts: 1}\n"
	const waiter = "name: waiter\nsteps:\n  - id: w\n    wait: 1h\n"

	d := step("deploy", 201, "POST", "/api/flows", tinyFlow, bearerAuth, "flow.deploy", "api_token", "flow:tiny", "ok")
	if d["version"] != float64(1) {
		t.Fatalf("deploy details %v", d)
	}
	step("deploy v2", 201, "POST", "/api/flows", tinyFlow+"# v2\n", bearerAuth, "flow.deploy", "api_token", "flow:tiny", "ok")
	step("deploy invalid", 422, "POST", "/api/flows", "name: bad\nsteps: 3\n", bearerAuth, "flow.deploy", "api_token", "", "failed")
	d = step("rollback", 200, "POST", "/api/flows/tiny/rollback", `{"version":1}`, bearerAuth, "flow.rollback", "api_token", "flow:tiny", "ok")
	if d["from_version"] != float64(2) || d["to_version"] != float64(1) {
		t.Fatalf("rollback details %v", d)
	}
	d = step("connection create", 200, "PUT", "/api/connections/crm",
		`{"connector":"http","base_url":"https://crm.example.com","auth":{"type":"bearer","token":"`+upstreamSecret+`"}}`, bearerAuth,
		"connection.create", "api_token", "connection:crm", "ok")
	if f, _ := json.Marshal(d["fields"]); string(f) != `["auth.token","auth.type","base_url","connector"]` {
		t.Fatalf("connection fields %s", f)
	}
	step("connection update", 200, "PUT", "/api/connections/crm", `{"connector":"http","base_url":"https://crm2.example.com"}`, bearerAuth,
		"connection.update", "api_token", "connection:crm", "ok")
	d = step("secrets rotate", 200, "POST", "/api/secrets/rotate", "", bearerAuth, "secrets.rotate", "api_token", "", "ok")
	if d["resealed"] != float64(1) {
		t.Fatalf("rotate details %v", d)
	}
	code, out, _ := rig.do(t, "POST", "/api/mcp/keys", `{"name":"agent","scopes":["*"]}`, bearerAuth)
	if code != 201 {
		t.Fatalf("key create: %d %v", code, out)
	}
	n++
	keySecret, _ := out["secret"].(string)
	keyID := out["key"].(map[string]any)["id"].(string)
	if es, _ := rig.entries(t); len(es) != n || es[0].Action != "mcp_key.create" || es[0].Resource != "mcp_key:"+keyID || es[0].Details["name"] != "agent" {
		t.Fatalf("key create entry: %+v", es[0])
	}
	step("key revoke", 200, "DELETE", "/api/mcp/keys/"+keyID, "", bearerAuth, "mcp_key.revoke", "api_token", "mcp_key:"+keyID, "ok")
	step("key revoke again", 404, "DELETE", "/api/mcp/keys/"+keyID, "", bearerAuth, "mcp_key.revoke", "api_token", "mcp_key:"+keyID, "failed")

	step("deploy dead", 201, "POST", "/api/flows", dead, bearerAuth, "flow.deploy", "api_token", "flow:dead", "ok")
	var deadRuns []string
	for i := 0; i < 2; i++ {
		_, _, h := rig.do(t, "POST", "/hooks/dead", "{}", nil) // webhooks are not audited: runs have their own log
		deadRuns = append(deadRuns, h.Get("X-Weft-Run-Id"))
	}
	step("replay", 202, "POST", "/api/runs/"+deadRuns[0]+"/replay", "", bearerAuth, "run.replay", "api_token", "run:"+deadRuns[0], "ok")
	d = step("dlq replay", 200, "POST", "/api/dlq/replay", `{"runs":["`+deadRuns[1]+`"]}`, bearerAuth, "dlq.replay", "api_token", "dlq", "ok")
	if r, _ := d["replayed"].([]any); len(r) != 1 || r[0] != deadRuns[1] {
		t.Fatalf("dlq details %v", d)
	}
	step("deploy waiter", 201, "POST", "/api/flows", waiter, bearerAuth, "flow.deploy", "api_token", "flow:waiter", "ok")
	_, out, _ = rig.do(t, "POST", "/api/flows/waiter/runs?async=true", "{}", bearerAuth)
	runID, _ := out["run_id"].(string)
	step("cancel", 200, "POST", "/api/runs/"+runID+"/cancel", "", bearerAuth, "run.cancel", "api_token", "run:"+runID, "ok")
	step("connection delete", 200, "DELETE", "/api/connections/crm", "", bearerAuth, "connection.delete", "api_token", "connection:crm", "ok")

	// Sessions: a failed sign-in (anonymous, denied), a sign-in, an action
	// under the cookie, a sign-out.
	step("sign-in failed", 401, "POST", "/api/session", `{"token":"guess-`+upstreamSecret+`"}`, nil, "session.sign_in_failed", "anonymous", "session", "denied")
	code, out, h := rig.do(t, "POST", "/api/session", `{"token":"`+auditToken+`"}`, nil)
	if code != 200 {
		t.Fatalf("sign-in: %d %v", code, out)
	}
	n++
	if es, _ := rig.entries(t); len(es) != n || es[0].Action != "session.sign_in" || es[0].Actor != "api_token" || es[0].Outcome != "ok" {
		t.Fatalf("sign-in entry: %+v", es[0])
	}
	cookie := cookieOf(t, h)
	session := map[string]string{"Cookie": gateway.SessionCookie + "=" + cookie.Value, "X-CSRF-Token": out["csrf_token"].(string)}
	step("deploy under a session", 201, "POST", "/api/flows", tinyFlow+"# v3\n", session, "flow.deploy", "api_token", "flow:tiny", "ok")
	step("sign-out", 200, "DELETE", "/api/session", "", session, "session.sign_out", "api_token", "session", "ok")

	// Reads and refused requests leave nothing.
	for _, r := range [][2]string{{"GET", "/api/flows"}, {"GET", "/api/runs"}, {"GET", "/api/audit"}, {"GET", "/api/audit/verify"}, {"POST", "/api/flows"}} {
		hdr := bearerAuth
		if r[0] == "POST" {
			hdr = nil // no credentials: 401 before any handler
		}
		rig.do(t, r[0], r[1], "", hdr)
	}
	es, raw := rig.entries(t)
	if len(es) != n {
		t.Fatalf("reads or refused requests were audited: %d entries, want %d", len(es), n)
	}
	for _, secret := range []string{upstreamSecret, auditToken, keySecret, cookie.Value} {
		if secret != "" && strings.Contains(raw, secret) {
			t.Fatalf("a secret is in the audit log: %.12s…", secret)
		}
	}
	if strings.Contains(raw, "203.0.113.9") {
		t.Fatal("X-Forwarded-For was trusted")
	}

	code, out, _ = rig.do(t, "GET", "/api/audit/verify", "", bearerAuth)
	if code != 200 || out["intact"] != true || out["entries"] != float64(n) {
		t.Fatalf("verify: %d %v", code, out)
	}
	// Paging and filters.
	code, out, _ = rig.do(t, "GET", "/api/audit?action=flow.deploy&limit=2", "", bearerAuth)
	if page, _ := out["entries"].([]any); code != 200 || len(page) != 2 || out["next_cursor"] == nil {
		t.Fatalf("page: %d %v", code, out)
	}
	code, out, _ = rig.do(t, "GET", "/api/audit?action=flow.deploy&before="+out["next_cursor"].(string), "", bearerAuth)
	if page, _ := out["entries"].([]any); code != 200 || len(page) != 4 {
		t.Fatalf("next page: %d %v", code, out)
	}
	anon := 0
	for _, e := range es {
		if e.Actor == "anonymous" {
			anon++
		}
	}
	code, out, _ = rig.do(t, "GET", "/api/audit?actor=anonymous", "", bearerAuth)
	if page, _ := out["entries"].([]any); code != 200 || anon == 0 || len(page) != anon {
		t.Fatalf("by actor: %d %v (want %d entries)", code, out, anon)
	}
	for _, bad := range []string{"limit=0", "limit=1001", "before=x", "since=yesterday"} {
		if code, out, _ := rig.do(t, "GET", "/api/audit?"+bad, "", bearerAuth); code != 400 {
			t.Fatalf("%s: %d %v", bad, code, out)
		}
	}
	if code, _, _ := rig.do(t, "GET", "/api/audit", "", nil); code != 401 {
		t.Fatalf("audit without the token: %d", code)
	}

	// Editing a row in the database breaks the chain at that row.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(rig.dir, "weft.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE audit_log SET actor = 'user:someone-else' WHERE seq = 4`); err != nil {
		t.Fatal(err)
	}
	code, out, _ = rig.do(t, "GET", "/api/audit/verify", "", bearerAuth)
	if code != 200 || out["intact"] != false || out["bad_seq"] != float64(4) || out["problem"] != "hash mismatch" {
		t.Fatalf("verify after an edit: %d %v", code, out)
	}
}

// On a server without a token (loopback), the actor is anonymous.
func TestIssue18_AuditAnonymousOnOpenServer(t *testing.T) {
	rig := newAuditRig(t, "")
	if code, out, _ := rig.do(t, "POST", "/api/flows", tinyFlow, nil); code != 201 {
		t.Fatalf("deploy: %d %v", code, out)
	}
	es, _ := rig.entries(t)
	if len(es) != 1 || es[0].Actor != "anonymous" || es[0].ActorKind != "anonymous" {
		t.Fatalf("entries %+v", es)
	}
}

// failingAudit is a store whose audit appends fail.
type failingAudit struct{ store.Store }

func (failingAudit) AppendAudit(context.Context, func(store.AuditLink) (store.AuditRecord, error)) (store.AuditRecord, error) {
	return store.AuditRecord{}, errors.New("disk full")
}

// A change that is committed stays answered as done when its audit entry
// cannot be written; the failure is logged with the entry and counted.
func TestIssue18_AuditWriteFailureIsLoggedAndCounted(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs strings.Builder
	var failed []string
	e := engine.New(st, connectors.NewCatalog(), nil, engine.Config{})
	h := gateway.New(e, slog.New(slog.NewTextHandler(&logs, nil)), gateway.Config{Audit: access.NewLog(failingAudit{st}), AuditFailed: func(a string) { failed = append(failed, a) }})
	if code, out := api(t, h, "POST", "/api/flows", tinyFlow); code != 201 {
		t.Fatalf("deploy: %d %v", code, out)
	}
	if len(failed) != 1 || failed[0] != "flow.deploy" {
		t.Fatalf("counted: %v", failed)
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "audit log write failed") || !strings.Contains(l, "action=flow.deploy") || !strings.Contains(l, "resource=flow:tiny") {
		t.Fatalf("log: %s", l)
	}
}
