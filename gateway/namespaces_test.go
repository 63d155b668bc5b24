package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store"
)

// nsCreds are credentials bound to one namespace each: team-b's viewer and
// admin (service accounts), and the default namespace's admin (a PAT).
func nsCreds(t *testing.T, f *authzFixture) (bViewer, bAdmin, dAdmin cred) {
	t.Helper()
	ctx := context.Background()
	v, err := f.dir.CreateServiceAccount(ctx, access.NewTokenRequest{Name: "b-viewer", Scopes: map[string]string{"team-b": access.RoleViewer}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.dir.CreateServiceAccount(ctx, access.NewTokenRequest{Name: "b-admin", Scopes: map[string]string{"team-b": access.RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	return cred{bearer: v.Secret, role: access.RoleViewer}, cred{bearer: a.Secret, role: access.RoleAdmin}, f.creds["admin (personal access token)"]
}

// A token for namespace A used on a resource of namespace B, for every
// route about one resource (generated from the route table): 404 where the
// token may not read B (the same answer as for a resource that does not
// exist), 403 where it may read but not act, past authorization where its
// role allows.
func TestNamespaceMatrix(t *testing.T) {
	f := newAuthzFixture(t)
	bViewer, bAdmin, dAdmin := nsCreds(t, f)
	n := 0
	for _, rt := range f.srv.Routes() {
		if rt.Scope != gateway.ScopeResource {
			continue
		}
		n++
		hidden := !strings.Contains(rt.Pattern, "{namespace}") // a role binding names its namespace in the path: nothing to hide
		inB, inD := f.path(rt.Pattern, "team-b"), f.path(rt.Pattern, access.DefaultNamespace)
		if strings.HasPrefix(rt.Pattern, "/api/alerts/") {
			continue // no alert is raised in this fixture
		}
		if inB == inD || strings.Contains(inB, "matrix-x") && !strings.Contains(rt.Pattern, "/users/") {
			t.Errorf("%s %s: the fixture has no resource for it in each namespace (%s, %s)", rt.Method, rt.Pattern, inB, inD)
			continue
		}
		// Team B's admin on B's resource: past authorization.
		if rec := f.doPath(rt.Method, inB, bAdmin); rec.Code == 401 || rec.Code == 403 || isHidden(rec, inB, rt.Pattern) || rec.Code >= 500 && rec.Code != 503 {
			t.Errorf("%s %s as team-b admin: %d %s, want past authorization", rt.Method, inB, rec.Code, clipS(rec.Body.String()))
		}
		// Team B's viewer on B's resource: reads pass; anything else is 403.
		rec := f.doPath(rt.Method, inB, bViewer)
		if slices.Contains(access.RolePermissions(access.RoleViewer), rt.Permission) {
			if rec.Code == 401 || rec.Code == 403 || isHidden(rec, inB, rt.Pattern) || rec.Code >= 500 && rec.Code != 503 {
				t.Errorf("%s %s as team-b viewer: %d %s, want past authorization", rt.Method, inB, rec.Code, clipS(rec.Body.String()))
			}
		} else if rec.Code != 403 || !authzDenial.MatchString(rec.Body.String()) {
			t.Errorf("%s %s (%s) as team-b viewer: %d %s, want 403", rt.Method, inB, rt.Permission, rec.Code, clipS(rec.Body.String()))
		}
		// Across namespaces: B's admin on the default namespace's resource,
		// the default namespace's admin on B's.
		for _, c := range []struct {
			name, path string
			cred       cred
		}{{"team-b admin on default's", inD, bAdmin}, {"team-b viewer on default's", inD, bViewer}, {"default admin on team-b's", inB, dAdmin}} {
			rec := f.doPath(rt.Method, c.path, c.cred)
			if !hidden {
				if rec.Code != 403 || !authzDenial.MatchString(rec.Body.String()) {
					t.Errorf("%s %s as %s: %d %s, want 403", rt.Method, c.path, c.name, rec.Code, clipS(rec.Body.String()))
				}
				continue
			}
			if rec.Code == 403 && !slices.Contains(access.RolePermissions(c.cred.role), rt.Permission) {
				continue // refused before the resource is looked up: the role may not do this anywhere
			}
			if rec.Code != 404 {
				t.Errorf("%s %s as %s: %d %s, want 404", rt.Method, c.path, c.name, rec.Code, clipS(rec.Body.String()))
				continue
			}
			// The 404 says what a missing resource's does: nothing leaks.
			id := strings.TrimPrefix(c.path, "/api/")
			missing := f.doPath(rt.Method, strings.Replace(c.path, lastSeg(c.path, rt.Pattern), "no-such-thing", 1), f.creds["api_token"])
			if missing.Code != 404 || strings.Replace(missing.Body.String(), "no-such-thing", lastSeg(c.path, rt.Pattern), 1) != rec.Body.String() {
				t.Errorf("%s %s as %s: hidden %q, missing %d %q: they differ (%s)", rt.Method, c.path, c.name, rec.Body.String(), missing.Code, missing.Body.String(), id)
			}
		}
	}
	if n < 15 {
		t.Fatalf("only %d resource routes", n)
	}
}

// isHidden: a 404 naming the resource as not found (not a handler's own
// 404 about something else, such as a mapping's missing suggestion).
func isHidden(rec *httptest.ResponseRecorder, path, pattern string) bool {
	return rec.Code == 404 && strings.Contains(rec.Body.String(), `\"`+lastSeg(path, pattern)+`\""}`)
}

// lastSeg is the value of the path parameter that names the resource (the
// first one of the pattern).
func lastSeg(path, pattern string) string {
	ps, pp := strings.Split(path, "/"), strings.Split(pattern, "/")
	for i := range pp {
		if strings.HasPrefix(pp[i], "{") && i < len(ps) {
			return ps[i]
		}
	}
	return ""
}

// Every route whose path names one resource resolves the resource's
// namespace (Scope resource), unless the resource belongs to no namespace:
// the connector catalog, a user, a token (its owner's).
func TestEveryResourceRouteResolvesItsNamespace(t *testing.T) {
	f := newAuthzFixture(t)
	// The connector catalog is installation-wide (refreshing an MCP
	// connector too). PUT /api/connections/{name} creates or updates: its handler asks in
	// the stored connection's namespace and in the body's (TestMoveNeedsBothNamespaces).
	notNamespaced := []string{"/api/connections/{name}", "/api/connectors/{name}", "/api/connectors/{name}/refresh", "/api/users/{name}/disable", "/api/users/{name}/password", "/api/tokens/{id}", "/api/service-accounts/{id}",
		// A runtime agent is a site of the installation (installation routes).
		"/api/agents/{site}", "/api/agents/{site}/runs", "/api/agents/{site}/rotate"}
	// PUT /api/products/{name} likewise (TestProductMoveNeedsBothNamespaces).
	// So do PUT /api/plans/{name} and PUT /api/consumers/{name} (TestConsumerMoveNeedsBothNamespaces).
	createOrUpdate := []string{"PUT /api/products/{name}", "PUT /api/plans/{name}", "PUT /api/consumers/{name}"}
	for _, rt := range f.srv.Routes() {
		if strings.Contains(rt.Pattern, "{") && rt.Scope != gateway.ScopeResource && !slices.Contains(notNamespaced, rt.Pattern) &&
			!slices.Contains(createOrUpdate, rt.Method+" "+rt.Pattern) {
			t.Errorf("%s %s names a resource but its route does not resolve the resource's namespace (scope %q)", rt.Method, rt.Pattern, rt.Scope)
		}
		if rt.Permission != "" && rt.Scope == "" {
			t.Errorf("%s %s has no scope", rt.Method, rt.Pattern)
		}
	}
}

// Lists hold only what the caller may read, each item with its namespace,
// and ?namespace= narrows them.
func TestListsByNamespace(t *testing.T) {
	f := newAuthzFixture(t)
	bViewer, _, _ := nsCreds(t, f)
	dViewer, api := f.creds["viewer (personal access token)"], f.creds["api_token"]
	lists := []struct{ path, key, field string }{
		{"/api/flows", "flows", "name"},
		{"/api/runs", "runs", "flow"},
		{"/api/connections", "connections", "name"},
		{"/api/mappings", "mappings", "id"},
		{"/api/mcp/keys", "keys", "id"},
		{"/api/mcp/toolsets", "toolsets", "name"},
	}
	for _, l := range lists {
		get := func(path string, c cred) []string {
			t.Helper()
			rec := f.doPath("GET", path, c)
			if rec.Code != 200 {
				t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
			}
			var out map[string]json.RawMessage
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			var items []map[string]any
			if err := json.Unmarshal(out[l.key], &items); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, it := range items {
				if ns, ok := it["namespace"]; !ok && l.key != "runs" {
					t.Errorf("GET %s: item %v has no namespace", path, it)
				} else if ok && ns != "team-b" && ns != access.DefaultNamespace {
					t.Errorf("GET %s: item %v: namespace %v", path, it, ns)
				}
				if s, _ := it[l.field].(string); strings.HasSuffix(s, "team-b") || strings.HasSuffix(s, access.DefaultNamespace) {
					names = append(names, s)
				}
			}
			slices.Sort(names)
			return names
		}
		b := "-team-b"
		d := "-" + access.DefaultNamespace
		only := func(names []string, suffix string) bool {
			return len(names) > 0 && !slices.ContainsFunc(names, func(s string) bool { return !strings.HasSuffix(s, suffix) })
		}
		if got := get(l.path, bViewer); !only(got, b) {
			t.Errorf("GET %s as team-b viewer: %v, want team-b's only", l.path, got)
		}
		if got := get(l.path, dViewer); !only(got, d) {
			t.Errorf("GET %s as default viewer: %v, want default's only", l.path, got)
		}
		if got := get(l.path, api); len(got) < 2 || only(got, b) || only(got, d) {
			t.Errorf("GET %s as api_token: %v, want both namespaces'", l.path, got)
		}
		if got := get(l.path+"?namespace=team-b", api); !only(got, b) {
			t.Errorf("GET %s?namespace=team-b as api_token: %v, want team-b's only", l.path, got)
		}
		if got := get(l.path+"?namespace=team-b", dViewer); len(got) != 0 {
			t.Errorf("GET %s?namespace=team-b as default viewer: %v, want nothing", l.path, got)
		}
	}
	// Run counts follow the runs.
	rec := f.doPath("GET", "/api/stats/runs", bViewer)
	if !strings.Contains(rec.Body.String(), `"succeeded":1`) {
		t.Errorf("stats as team-b viewer: %s", rec.Body)
	}
	// Namespaces: those the caller has a role in; all for a * binding.
	if rec := f.doPath("GET", "/api/namespaces", bViewer); !strings.Contains(rec.Body.String(), `"team-b"`) || strings.Contains(rec.Body.String(), `"default"`) {
		t.Errorf("namespaces as team-b viewer: %s", rec.Body)
	}
	if rec := f.doPath("GET", "/api/namespaces", api); !strings.Contains(rec.Body.String(), `"team-b"`) || !strings.Contains(rec.Body.String(), `"default"`) {
		t.Errorf("namespaces as api_token: %s", rec.Body)
	}
	if rec := f.doPath("GET", "/api/namespaces?x", f.creds["no credentials"]); rec.Code != http.StatusUnauthorized {
		t.Errorf("namespaces without credentials: %d", rec.Code)
	}
}

// Moving a resource to another namespace needs the permission in both;
// creating one needs it where it is created.
func TestMoveNeedsBothNamespaces(t *testing.T) {
	f := newAuthzFixture(t)
	_, bAdmin, dAdmin := nsCreds(t, f)
	put := func(path, body string, c cred) *httptest.ResponseRecorder {
		req := httptest.NewRequest("PUT", path, strings.NewReader(body))
		req.Host = "localhost"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.bearer)
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		return rec
	}
	deploy := func(src string, c cred) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/api/flows", strings.NewReader(src))
		req.Host = "localhost"
		req.Header.Set("Content-Type", "application/yaml")
		req.Header.Set("Authorization", "Bearer "+c.bearer)
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		return rec
	}
	flowIn := func(name, ns string) string {
		return "name: " + name + "\nnamespace: " + ns + "\ntrigger: {manual: {}}\nsteps:\n  - set: {ok: true}\n"
	}
	// Team B's admin deploys into team-b, not into default; moving
	// default's flow to team-b is not found for it (it may not read default).
	if rec := deploy(flowIn("b-new", "team-b"), bAdmin); rec.Code != 201 || !strings.Contains(rec.Body.String(), `"namespace":"team-b"`) {
		t.Errorf("deploy to team-b as team-b admin: %d %s", rec.Code, rec.Body)
	}
	if rec := deploy(flowIn("b-new2", "default"), bAdmin); rec.Code != 403 {
		t.Errorf("deploy to default as team-b admin: %d %s", rec.Code, rec.Body)
	}
	if rec := deploy(flowIn("flow-default", "team-b"), bAdmin); rec.Code != 404 {
		t.Errorf("moving default's flow as team-b admin: %d %s", rec.Code, rec.Body)
	}
	// Default's admin may not move its flow to team-b (no role there).
	if rec := deploy(flowIn("flow-default", "team-b"), dAdmin); rec.Code != 403 {
		t.Errorf("moving default's flow to team-b as default admin: %d %s", rec.Code, rec.Body)
	}
	// A redeploy without namespace: keeps team-b.
	if rec := deploy("name: b-new\ntrigger: {manual: {}}\nsteps:\n  - set: {ok: 2}\n", bAdmin); rec.Code != 201 || !strings.Contains(rec.Body.String(), `"namespace":"team-b"`) {
		t.Errorf("redeploy without namespace: %d %s", rec.Code, rec.Body)
	}
	// The api_token (admin everywhere) moves it.
	if rec := deploy(flowIn("b-new", "default"), f.creds["api_token"]); rec.Code != 201 || !strings.Contains(rec.Body.String(), `"namespace":"default"`) {
		t.Errorf("move as api_token: %d %s", rec.Code, rec.Body)
	}
	if rec := f.doPath("GET", "/api/flows/b-new", bAdmin); rec.Code != 404 {
		t.Errorf("moved flow as team-b admin: %d %s", rec.Code, rec.Body)
	}
	// A flow may use only its namespace's connections.
	src := "name: b-conn\nnamespace: team-b\ntrigger: {manual: {}}\nsteps:\n  - call: http.request\n    connection: conn-default\n    with: {method: GET, url: /x}\n"
	if rec := deploy(src, f.creds["api_token"]); rec.Code != 422 || !strings.Contains(rec.Body.String(), "belongs to namespace") {
		t.Errorf("flow in team-b using default's connection: %d %s", rec.Code, rec.Body)
	}
	// Connections: an update of another namespace's connection is not
	// found; a create in a namespace without the role is 403.
	if rec := put("/api/connections/conn-default", `{"connector": "http", "namespace": "team-b"}`, bAdmin); rec.Code != 404 {
		t.Errorf("moving default's connection as team-b admin: %d %s", rec.Code, rec.Body)
	}
	if rec := put("/api/connections/new-one", `{"connector": "http"}`, bAdmin); rec.Code != 403 {
		t.Errorf("creating a connection in default as team-b admin: %d %s", rec.Code, rec.Body)
	}
	if rec := put("/api/connections/conn-default", `{"connector": "http", "namespace": "team-b"}`, dAdmin); rec.Code != 403 {
		t.Errorf("moving default's connection to team-b as default admin: %d %s", rec.Code, rec.Body)
	}
}

// Bulk DLQ replay, MCP key creation and the audit entry's namespace.
func TestNamespaceBodies(t *testing.T) {
	f := newAuthzFixture(t)
	_, bAdmin, _ := nsCreds(t, f)
	post := func(path, body string, c cred) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Host = "localhost"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.bearer)
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		return rec
	}
	dRun := f.params[access.DefaultNamespace]["/api/runs/"]
	rec := post("/api/dlq/replay", `{"runs": ["`+dRun+`"]}`, bAdmin)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"error":"no run \"`+dRun+`\""`) || strings.Contains(rec.Body.String(), `"new_run"`) {
		t.Errorf("bulk replay of default's run as team-b admin: %d %s", rec.Code, rec.Body)
	}
	if rec := post("/api/dlq/replay", `{"flow": "flow-default"}`, bAdmin); rec.Code != 404 {
		t.Errorf("bulk replay of default's flow as team-b admin: %d %s", rec.Code, rec.Body)
	}
	// MCP keys: in the body's namespace, with that namespace's toolsets.
	if rec := post("/api/mcp/keys", `{"name": "k", "namespace": "team-b", "scopes": ["ts-team-b"]}`, bAdmin); rec.Code != 201 || !strings.Contains(rec.Body.String(), `"namespace":"team-b"`) {
		t.Errorf("key in team-b: %d %s", rec.Code, rec.Body)
	}
	if rec := post("/api/mcp/keys", `{"name": "k", "namespace": "team-b", "scopes": ["ts-default"]}`, bAdmin); rec.Code != 422 {
		t.Errorf("team-b key naming default's toolset: %d %s", rec.Code, rec.Body)
	}
	if rec := post("/api/mcp/keys", `{"name": "k", "scopes": ["*"]}`, bAdmin); rec.Code != 403 {
		t.Errorf("key in default as team-b admin: %d %s", rec.Code, rec.Body)
	}
	if rec := post("/api/mcp/keys", `{"name": "k", "namespace": "Team B", "scopes": ["*"]}`, f.creds["api_token"]); rec.Code != 400 {
		t.Errorf("key in a bad namespace: %d %s", rec.Code, rec.Body)
	}
	if rec := post("/api/mcp/keys", `{"name": "k", "namespace": "nowhere", "scopes": ["*"]}`, f.creds["api_token"]); rec.Code != 400 || !strings.Contains(rec.Body.String(), "does not exist") {
		t.Errorf("key in a namespace that does not exist: %d %s", rec.Code, rec.Body)
	}
	// Namespaces: created with members.manage on * only.
	if rec := post("/api/namespaces", `{"name": "team-c"}`, bAdmin); rec.Code != 403 {
		t.Errorf("create a namespace as team-b admin: %d %s", rec.Code, rec.Body)
	}
	if rec := post("/api/namespaces", `{"name": "team-c", "description": "C"}`, f.creds["api_token"]); rec.Code != 201 {
		t.Errorf("create a namespace: %d %s", rec.Code, rec.Body)
	}
	for _, bad := range []string{`{"name": "Team_C"}`, `{"name": ""}`, `{"name": "team-c"}`, `{"name": "` + strings.Repeat("a", 64) + `"}`} {
		if rec := post("/api/namespaces", bad, f.creds["api_token"]); rec.Code != 400 && rec.Code != 409 {
			t.Errorf("create %s: %d %s", bad, rec.Code, rec.Body)
		}
	}
	// The audit log says where each action happened.
	entries, err := f.st.AuditRecords(context.Background(), store.AuditFilter{Action: access.ActionMCPKeyCreate})
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for _, e := range entries {
		if e.Outcome == access.OutcomeOK {
			ok++
			if e.Namespace != "team-b" {
				t.Errorf("key create audited in %q", e.Namespace)
			}
		}
	}
	if ok != 1 {
		t.Errorf("%d successful key creations audited: %+v", ok, entries)
	}
}

// Products: an update of another namespace's product is not found; a
// create in a namespace without the role is 403; a move needs both; a
// product may pin only its own namespace's flows.
func TestProductMoveNeedsBothNamespaces(t *testing.T) {
	f := newAuthzFixture(t)
	_, bAdmin, dAdmin := nsCreds(t, f)
	put := func(path, body string, c cred) *httptest.ResponseRecorder {
		req := httptest.NewRequest("PUT", path, strings.NewReader(body))
		req.Host = "localhost"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.bearer)
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		return rec
	}
	if rec := put("/api/products/prod-default", `{"namespace": "team-b", "versions": []}`, bAdmin); rec.Code != 404 {
		t.Errorf("moving default's product as team-b admin: %d %s", rec.Code, rec.Body)
	}
	if rec := put("/api/products/new-one", `{"versions": []}`, bAdmin); rec.Code != 403 {
		t.Errorf("creating a product in default as team-b admin: %d %s", rec.Code, rec.Body)
	}
	if rec := put("/api/products/prod-default", `{"namespace": "team-b", "versions": []}`, dAdmin); rec.Code != 403 {
		t.Errorf("moving default's product to team-b as default admin: %d %s", rec.Code, rec.Body)
	}
	if rec := put("/api/products/b-new", `{"namespace": "team-b", "versions": []}`, bAdmin); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"namespace":"team-b"`) {
		t.Errorf("creating a product in team-b as team-b admin: %d %s", rec.Code, rec.Body)
	}
	// The fixture's flow-default is not an api flow; deploy one in default
	// and try to pin it from team-b.
	req := httptest.NewRequest("POST", "/api/flows", strings.NewReader("name: d-api\ntrigger: {api: {method: GET, path: /x}}\nsteps:\n  - respond: {status: 200}\n"))
	req.Host = "localhost"
	req.Header.Set("Authorization", "Bearer "+f.creds["api_token"].bearer)
	req.Header.Set("Content-Type", "application/yaml")
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	if rec.Code != 201 {
		t.Fatalf("deploy: %d %s", rec.Code, rec.Body)
	}
	if rec := put("/api/products/b-new", `{"versions": [{"name": "v1", "flows": [{"flow": "d-api", "version": 1}]}]}`, bAdmin); rec.Code != 422 || !strings.Contains(rec.Body.String(), `is in namespace \"default\"`) {
		t.Errorf("team-b product pinning default's flow: %d %s", rec.Code, rec.Body)
	}
	// API analytics show only the products the caller may read.
	if rec := put("/api/products/d-pub", `{"versions": [{"name": "v1", "flows": [{"flow": "d-api", "version": 1}]}]}`, f.creds["api_token"]); rec.Code != 200 {
		t.Fatalf("publish d-pub: %d %s", rec.Code, rec.Body)
	}
	req = httptest.NewRequest("GET", "/apis/d-pub/v1/x", nil)
	rec = httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("call d-pub: %d %s", rec.Code, rec.Body)
	}
	for _, c := range []struct {
		cred cred
		want bool
	}{{dAdmin, true}, {f.creds["api_token"], true}, {bAdmin, false}} {
		req := httptest.NewRequest("GET", "/api/metrics/api", nil)
		req.Host = "localhost"
		req.Header.Set("Authorization", "Bearer "+c.cred.bearer)
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		if rec.Code != 200 || strings.Contains(rec.Body.String(), `"product":"d-pub"`) != c.want {
			t.Errorf("GET /api/metrics/api (sees d-pub: %v): %d %s", c.want, rec.Code, rec.Body)
		}
	}
}

// Plans and consumers: an update of another namespace's is not found; a
// create without the role there is 403; a move needs both namespaces; a
// consumer subscribes only to its own namespace's products under its own
// namespace's plans.
func TestConsumerMoveNeedsBothNamespaces(t *testing.T) {
	f := newAuthzFixture(t)
	_, bAdmin, dAdmin := nsCreds(t, f)
	put := func(path, body string, c cred) *httptest.ResponseRecorder {
		req := httptest.NewRequest("PUT", path, strings.NewReader(body))
		req.Host = "localhost"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.bearer)
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		return rec
	}
	for _, kind := range []string{"plans/plan", "consumers/cons"} {
		if rec := put("/api/"+kind+"-default", `{"namespace": "team-b"}`, bAdmin); rec.Code != 404 {
			t.Errorf("moving default's %s as team-b admin: %d %s", kind, rec.Code, rec.Body)
		}
		if rec := put("/api/"+kind+"-new", `{}`, bAdmin); rec.Code != 403 {
			t.Errorf("creating %s in default as team-b admin: %d %s", kind, rec.Code, rec.Body)
		}
		if rec := put("/api/"+kind+"-default", `{"namespace": "team-b"}`, dAdmin); rec.Code != 403 {
			t.Errorf("moving default's %s to team-b as default admin: %d %s", kind, rec.Code, rec.Body)
		}
		if rec := put("/api/"+kind+"-b2", `{"namespace": "team-b"}`, bAdmin); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"namespace":"team-b"`) {
			t.Errorf("creating %s in team-b as team-b admin: %d %s", kind, rec.Code, rec.Body)
		}
	}
	if rec := put("/api/consumers/cons-b2/subscriptions/prod-default", `{"plan": "plan-b2"}`, bAdmin); rec.Code != 400 || !strings.Contains(rec.Body.String(), "must share a namespace") {
		t.Errorf("a team-b consumer subscribing to default's product: %d %s", rec.Code, rec.Body)
	}
	if rec := put("/api/consumers/cons-b2/subscriptions/prod-team-b", `{"plan": "plan-default"}`, bAdmin); rec.Code != 400 {
		t.Errorf("a team-b consumer under default's plan: %d %s", rec.Code, rec.Body)
	}
	if rec := put("/api/consumers/cons-b2/subscriptions/prod-team-b", `{"plan": "plan-b2"}`, bAdmin); rec.Code != 200 {
		t.Errorf("a team-b consumer subscribing in team-b: %d %s", rec.Code, rec.Body)
	}
	if rec := put("/api/consumers/cons-b2", `{"namespace": "default"}`, f.creds["api_token"]); rec.Code != 409 {
		t.Errorf("moving a subscribed consumer: %d %s", rec.Code, rec.Body)
	}
}
