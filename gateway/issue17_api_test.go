package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	sqlconn "github.com/weftio/weft/connectors/sql"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/mcp"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// api sends a request through the handler as the console would (a JSON
// body, a loopback Host) and decodes the answer.
func api(t *testing.T, h http.Handler, method, path, body string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Host = "localhost"
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
		if !strings.HasPrefix(strings.TrimSpace(body), "{") {
			r.Header.Set("Content-Type", "application/yaml")
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: %d %q is not a JSON object", method, path, w.Code, w.Body.String())
	}
	return w.Code, out
}

// The flow list says each flow's trigger, description, newest run and the
// last day's runs and failures; versions list newest first.
func TestIssue17_FlowListAndVersions(t *testing.T) {
	rig := newTestRig(t, gateway.Config{})
	h := rig.h
	const ok = "name: good\ndescription: Always answers.\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - id: r\n    respond: {body: {ok: true}}\n"
	const bad = "name: test\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - id: boom\n    call: http.request\n    connection: up\n    with: {url: /fail}\n    retry: {max_attempts: 1}\n"
	for _, src := range []string{ok, strings.Replace(ok, "ok: true", "ok: 2", 1), bad, "name: quiet\nsteps:\n  - id: a\n    set: {x: 1}\n"} {
		if code, out := api(t, h, "POST", "/api/flows", src); code != 201 {
			t.Fatalf("deploy: %d %v", code, out)
		}
	}
	for i := 0; i < 3; i++ {
		if code, _ := api(t, h, "POST", "/hooks/good", `{}`); code != 200 {
			t.Fatalf("good hook: %d", code)
		}
	}
	if code, _ := api(t, h, "POST", "/hooks/test", `{}`); code != 422 && code != 502 {
		t.Fatalf("failing hook: %d", code)
	}
	code, out := api(t, h, "GET", "/api/flows", "")
	if code != 200 {
		t.Fatalf("list: %d %v", code, out)
	}
	flows := map[string]map[string]any{}
	for _, f := range out["flows"].([]any) {
		m := f.(map[string]any)
		flows[m["name"].(string)] = m
	}
	good, test, quiet := flows["good"], flows["test"], flows["quiet"]
	if good["trigger"] != "webhook" || good["description"] != "Always answers." || good["active_version"] != 2.0 || good["latest_version"] != 2.0 {
		t.Fatalf("good: %v", good)
	}
	st := good["stats"].(map[string]any)
	if st["window"] != "24h" || st["runs"] != 3.0 || st["failed"] != 0.0 {
		t.Fatalf("good stats: %v", st)
	}
	lr := good["last_run"].(map[string]any)
	if lr["status"] != "succeeded" || lr["id"] == "" || lr["created_at"] == "" {
		t.Fatalf("good last run: %v", lr)
	}
	if st := test["stats"].(map[string]any); st["runs"] != 1.0 || st["failed"] != 1.0 || test["last_run"].(map[string]any)["status"] != "dead" {
		t.Fatalf("test: %v", test)
	}
	if quiet["last_run"] != nil || quiet["trigger"] != "manual" && quiet["trigger"] != "" {
		t.Fatalf("quiet: %v", quiet)
	}
	if _, ok := quiet["last_run"]; !ok {
		t.Fatalf("last_run must be present (null) for a flow that never ran: %v", quiet)
	}

	code, out = api(t, h, "GET", "/api/flows/good/versions", "")
	vs, _ := out["versions"].([]any)
	if code != 200 || len(vs) != 2 {
		t.Fatalf("versions: %d %v", code, out)
	}
	v0, v1 := vs[0].(map[string]any), vs[1].(map[string]any)
	if v0["version"] != 2.0 || v0["active"] != true || v1["version"] != 1.0 || v1["active"] != false || v0["file"] == nil || v0["created_at"] == nil {
		t.Fatalf("versions newest first: %v", vs)
	}
	code, out = api(t, h, "GET", "/api/flows/good/versions/1", "")
	if code != 200 || !strings.Contains(out["source"].(string), "ok: true") {
		t.Fatalf("version 1: %d %v", code, out)
	}
	if code, out := api(t, h, "GET", "/api/flows/nope/versions", ""); code != 404 {
		t.Fatalf("versions of no flow: %d %v", code, out)
	}
	// A flow named like a route ("test") is still reachable.
	if code, out := api(t, h, "GET", "/api/flows/test", ""); code != 200 || out["name"] != "test" {
		t.Fatalf("GET /api/flows/test: %d %v", code, out)
	}
}

// Dead runs are replayed in bulk, by id or by flow; what cannot be
// replayed is listed with the reason.
func TestIssue17_DLQBulkReplay(t *testing.T) {
	rig := newTestRig(t, gateway.Config{})
	h := rig.h
	const dead = "name: %s\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - id: boom\n    call: http.request\n    connection: up\n    with: {url: /fail}\n    retry: {max_attempts: 1}\n"
	for _, n := range []string{"d1", "d2"} {
		if code, out := api(t, h, "POST", "/api/flows", strings.Replace(dead, "%s", n, 1)); code != 201 {
			t.Fatalf("deploy: %d %v", code, out)
		}
	}
	if code, out := api(t, h, "POST", "/api/flows", tinyFlow); code != 201 {
		t.Fatalf("deploy tiny: %d %v", code, out)
	}
	fire := func(path string) string {
		r := httptest.NewRequest("POST", path, strings.NewReader("{}"))
		r.Host = "localhost"
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Header().Get("X-Weft-Run-Id")
	}
	a, b := fire("/hooks/d1"), fire("/hooks/d1")
	c1, c2, c3 := fire("/hooks/d2"), fire("/hooks/d2"), fire("/hooks/d2")
	okRun := fire("/api/flows/tiny/runs")
	for _, id := range []string{a, b, c1, c2, c3, okRun} {
		if id == "" {
			t.Fatal("a run id is missing")
		}
	}
	code, out := api(t, h, "POST", "/api/dlq/replay", `{"runs":["`+a+`","`+b+`","`+okRun+`","nope"]}`)
	if code != 200 {
		t.Fatalf("replay by id: %d %v", code, out)
	}
	rep, fail := out["replayed"].([]any), out["failed"].([]any)
	if len(rep) != 2 || len(fail) != 2 {
		t.Fatalf("replay by id: %v", out)
	}
	r0 := rep[0].(map[string]any)
	if r0["run"] != a || r0["new_run"] != a || r0["status"] != "queued" {
		t.Fatalf("replayed entry: %v", r0)
	}
	f0, f1 := fail[0].(map[string]any), fail[1].(map[string]any)
	if f0["run"] != okRun || !strings.Contains(f0["error"].(string), "not dead") || f1["run"] != "nope" || f1["error"] == "" {
		t.Fatalf("failed entries: %v", fail)
	}

	code, out = api(t, h, "POST", "/api/dlq/replay", `{"flow":"d2"}`)
	if rep := out["replayed"].([]any); code != 200 || len(rep) != 3 || len(out["failed"].([]any)) != 0 {
		t.Fatalf("replay by flow: %d %v", code, out)
	}
	// The replayed runs run again (and die again: the upstream still fails).
	deadline := time.Now().Add(20 * time.Second)
	for {
		runs, err := rig.st.ListRuns(context.Background(), store.RunFilter{Flow: "d2", Status: store.RunDead})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replayed runs did not run again: %d dead", len(runs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, body := range []string{`{}`, `{"runs":["x"],"flow":"d1"}`, `{"runs":` + strings.Repeat(`"x",`, 500) + `"x"]}`, `not json`} {
		if code, out := api(t, h, "POST", "/api/dlq/replay", body); code != 400 {
			t.Fatalf("bad request %.40s: %d %v", body, code, out)
		}
	}
}

// A connection test reaches the system with the connection's credentials
// and says what happened, never the secret.
func TestIssue17_ConnectionTest(t *testing.T) {
	const secret = "conn-secret-9a8b7c6d5e"
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+secret {
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"error":"bad token ` + r.Header.Get("Authorization") + `"}`))
			return
		}
		if r.URL.Path != "/v1" {
			w.WriteHeader(404)
			return
		}
		_, _ = w.Write([]byte(`{"hello":"world"}`))
	}))
	defer upstream.Close()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}), sqlconn.New(sqlconn.SQLite, sqlconn.Options{}))
	dir := t.TempDir()
	for _, c := range []*connectors.Connection{
		{Name: "good", Connector: "http", BaseURL: upstream.URL + "/v1", AllowPrivate: true, Auth: &connectors.Auth{Type: connectors.AuthBearer, Token: secret}},
		{Name: "root", Connector: "http", BaseURL: upstream.URL, AllowPrivate: true, Auth: &connectors.Auth{Type: connectors.AuthBearer, Token: secret}},
		{Name: "wrong", Connector: "http", BaseURL: upstream.URL + "/v1", AllowPrivate: true, Auth: &connectors.Auth{Type: connectors.AuthBearer, Token: secret + "-old"}},
		{Name: "private", Connector: "http", BaseURL: upstream.URL + "/v1", Auth: &connectors.Auth{Type: connectors.AuthBearer, Token: secret}},
		{Name: "down", Connector: "http", BaseURL: "http://127.0.0.1:1/", AllowPrivate: true},
		{Name: "db", Connector: "sqlite", Secrets: map[string]string{"dsn": filepath.Join(dir, "app.db")}},
		{Name: "baddb", Connector: "sqlite", Secrets: map[string]string{"dsn": filepath.Join(dir, "missing", "dir", "x.db") + "?mode=ro"}},
		{Name: "anyurl", Connector: "http"},
	} {
		if err := cat.AddConnection(c); err != nil {
			t.Fatal(err)
		}
	}
	h := gateway.New(engine.New(st, cat, nil, engine.Config{}), nil, gateway.Config{})
	for _, c := range []struct {
		name   string
		ok     bool
		status float64
		say    string
	}{
		{"good", true, 200, "reached"},
		{"root", true, 404, "not refused"},
		{"wrong", false, 401, "refused the credentials"},
		{"private", false, 0, "non-public address"},
		{"down", false, 0, "could not reach"},
		{"db", true, 0, "SELECT 1"},
		{"baddb", false, 0, "database"},
		{"anyurl", false, 0, "no base_url"},
	} {
		code, out := api(t, h, "POST", "/api/connections/"+c.name+"/test", "")
		msg, _ := out["message"].(string)
		if code != 200 || out["ok"] != c.ok || out["status"] != c.status || !strings.Contains(msg, c.say) || out["duration_ms"] == nil {
			t.Errorf("%s: %d %v", c.name, code, out)
		}
		if b, _ := json.Marshal(out); strings.Contains(string(b), secret) {
			t.Errorf("%s: the secret is in the answer: %s", c.name, b)
		}
	}
	if code, _ := api(t, h, "POST", "/api/connections/nope/test", ""); code != 404 {
		t.Fatalf("unknown connection: %d", code)
	}
}

// The MCP tool-call log pages newest first and filters by key and tool;
// the policies are the configured rules, in order.
func TestIssue17_MCPCallsAndPolicies(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := engine.New(st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), nil, engine.Config{})
	start := time.Now()
	for i, c := range []engine.ToolCall{
		{Toolset: "all", Tool: "crm__list", Caller: "k1"},
		{Toolset: "all", Tool: "hr__delete", Caller: "k2"},
		{Toolset: "ops", Tool: "crm__list", Caller: "k2"},
	} {
		var cerr error
		if c.Tool == "hr__delete" {
			cerr = errors.New("tool hr__delete is denied by the gateway's policy")
		}
		e.RecordToolCall(c, start.Add(time.Duration(i)*time.Millisecond), map[string]any{"ok": true}, cerr)
		time.Sleep(2 * time.Millisecond) // ids are time-ordered
	}
	if err := e.FlushToolLog(ctx); err != nil {
		t.Fatal(err)
	}
	gw := mcp.New(e, nil, mcp.Config{Policy: []mcp.Rule{{Tool: "hr__*", Action: mcp.PolicyDeny}, {Tool: "destructive", Action: mcp.PolicyConfirm}}})
	h := gateway.New(e, nil, gateway.Config{MCP: gw})

	code, out := api(t, h, "GET", "/api/mcp/calls", "")
	calls, _ := out["calls"].([]any)
	if code != 200 || len(calls) != 3 || out["next"] != nil {
		t.Fatalf("calls: %d %v", code, out)
	}
	newest, refused := calls[0].(map[string]any), calls[1].(map[string]any)
	if newest["tool"] != "crm__list" || newest["key"] != "k2" || newest["status"] != "succeeded" || newest["error"] != nil || newest["at"] == nil || newest["duration_ms"] == nil || newest["id"] == "" {
		t.Fatalf("newest call: %v", newest)
	}
	if refused["status"] != "failed" || !strings.Contains(refused["error"].(string), "denied") {
		t.Fatalf("refused call: %v", refused)
	}
	code, out = api(t, h, "GET", "/api/mcp/calls?limit=2", "")
	if code != 200 || len(out["calls"].([]any)) != 2 || out["next"] != refused["id"] {
		t.Fatalf("page 1: %v", out)
	}
	code, out = api(t, h, "GET", "/api/mcp/calls?limit=2&before="+out["next"].(string), "")
	if rest := out["calls"].([]any); code != 200 || len(rest) != 1 || rest[0].(map[string]any)["key"] != "k1" {
		t.Fatalf("page 2: %v", out)
	}
	if _, out := api(t, h, "GET", "/api/mcp/calls?key=k2&tool=crm__list", ""); len(out["calls"].([]any)) != 1 {
		t.Fatalf("by key and tool: %v", out)
	}
	if code, _ := api(t, h, "GET", "/api/mcp/calls?limit=0", ""); code != 400 {
		t.Fatalf("limit 0: %d", code)
	}

	code, out = api(t, h, "GET", "/api/mcp/policies", "")
	ps, _ := out["policies"].([]any)
	if code != 200 || len(ps) != 2 || out["default"] != "allow" {
		t.Fatalf("policies: %d %v", code, out)
	}
	if p := ps[0].(map[string]any); p["tool"] != "hr__*" || p["action"] != "deny" || p["order"] != 1.0 {
		t.Fatalf("first policy: %v", p)
	}
	off := gateway.New(e, nil, gateway.Config{})
	if code, _ := api(t, off, "GET", "/api/mcp/policies", ""); code != 503 {
		t.Fatalf("policies without MCP: %d", code)
	}
}
