package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/mapper"
	"github.com/weftio/weft/mcp"
	"github.com/weftio/weft/monitor"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

const matrixAPIToken = "0123456789abcdef-matrix"

// authzFixture: a server with an api_token, a user directory, the mapper
// and alerts (so their routes exist), and a credential of every kind.
type authzFixture struct {
	srv   *gateway.Server
	open  *gateway.Server // the same engine behind an open loopback gateway (no token, no users): the baseline
	dir   *access.Directory
	st    store.Store
	creds map[string]cred
	// params: the value of each path parameter for a resource of each
	// namespace (by pattern prefix), so a route about one resource is
	// asked about a real one.
	params map[string]map[string]string
}

// cred is one column of the matrix: how a request authenticates and what
// it should get on a route that needs perm.
type cred struct {
	bearer, cookie, csrf string
	role                 string // "" for a credential that must not authenticate
	otherNamespace       bool   // authenticated, with a role only in namespace team-b
}

func newAuthzFixture(t testing.TB) *authzFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := engine.New(st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), nil, engine.Config{})
	ms, err := mapper.NewService(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &authzFixture{st: st, creds: map[string]cred{}, params: map[string]map[string]string{}}
	f.seed(t, e)
	mcpGw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Toolsets: []mcp.Toolset{
		{Name: "ts-default", Tools: []string{"*"}}, {Name: "ts-team-b", Namespace: "team-b", Tools: []string{"*"}}}})
	dir := access.NewDirectory(st)
	open := gateway.New(e, slog.New(slog.DiscardHandler), gateway.Config{})
	srv := gateway.New(e, slog.New(slog.DiscardHandler), gateway.Config{APIToken: matrixAPIToken, Directory: dir, Mapper: ms,
		Alerts: monitor.NewAlerter(nil, nil, nil), MCP: mcpGw})
	f.srv, f.open, f.dir = srv, open, dir
	if _, err := dir.CreateUser(ctx, "bystander", "a long password for tests", access.RoleViewer, access.DefaultNamespace); err != nil {
		t.Fatal(err) // the user role-binding routes change
	}
	pw := "a long password for tests"
	for _, role := range access.Roles() {
		u, err := dir.CreateUser(ctx, role+"-user", pw, role, access.DefaultNamespace)
		if err != nil {
			t.Fatal(err)
		}
		p, err := dir.SignIn(ctx, u.Name, pw)
		if err != nil {
			t.Fatal(err)
		}
		pat, err := dir.CreatePAT(ctx, p, access.NewTokenRequest{Name: "matrix"})
		if err != nil {
			t.Fatal(err)
		}
		f.creds[role+" (personal access token)"] = cred{bearer: pat.Secret, role: role}
	}
	for _, role := range access.Roles() {
		sa, err := dir.CreateServiceAccount(ctx, access.NewTokenRequest{Name: "sa-" + role, Scopes: map[string]string{access.DefaultNamespace: role}})
		if err != nil {
			t.Fatal(err)
		}
		f.creds[role+" (service account)"] = cred{bearer: sa.Secret, role: role}
	}
	f.creds["api_token"] = cred{bearer: matrixAPIToken, role: access.RoleAdmin}
	cookie, csrf := f.signIn(t, `{"user": "admin-user", "password": "`+pw+`"}`)
	f.creds["admin (session cookie)"] = cred{cookie: cookie, csrf: csrf, role: access.RoleAdmin}
	cookie, csrf = f.signIn(t, `{"user": "viewer-user", "password": "`+pw+`"}`)
	f.creds["viewer (session cookie)"] = cred{cookie: cookie, csrf: csrf, role: access.RoleViewer}

	// Credentials that must get 401 everywhere.
	f.creds["no credentials"] = cred{}
	f.creds["wrong api_token"] = cred{bearer: matrixAPIToken + "x"}
	f.creds["oversized bearer"] = cred{bearer: access.PATPrefix + strings.Repeat("A", 64<<10)}
	f.creds["malformed bearer"] = cred{bearer: "weft_pat_\x00\xff;"}
	f.creds["oversized cookie"] = cred{cookie: strings.Repeat("c", 3000), csrf: "x"}
	f.creds["malformed cookie"] = cred{cookie: "%%%;;", csrf: "x"}
	admin, _ := dir.SignIn(ctx, "admin-user", pw)
	exp, err := dir.CreatePAT(ctx, admin, access.NewTokenRequest{Name: "expired", TTL: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	f.creds["expired token"] = cred{bearer: exp.Secret}
	rev, _ := dir.CreatePAT(ctx, admin, access.NewTokenRequest{Name: "revoked"})
	if err := dir.RevokePAT(ctx, admin, rev.ID); err != nil {
		t.Fatal(err)
	}
	f.creds["revoked token"] = cred{bearer: rev.Secret}
	if _, err := dir.CreateUser(ctx, "gone", pw, access.RoleAdmin, access.DefaultNamespace); err != nil {
		t.Fatal(err)
	}
	gone, _ := dir.SignIn(ctx, "gone", pw)
	gonePAT, _ := dir.CreatePAT(ctx, gone, access.NewTokenRequest{Name: "before"})
	cookie, csrf = f.signIn(t, `{"user": "gone", "password": "`+pw+`"}`)
	if err := dir.DisableUser(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	f.creds["disabled user (token)"] = cred{bearer: gonePAT.Secret}
	f.creds["disabled user (session cookie)"] = cred{cookie: cookie, csrf: csrf}

	// Another namespace's admin: authenticated, no role here.
	other, err := dir.CreateServiceAccount(ctx, access.NewTokenRequest{Name: "team-b", Scopes: map[string]string{"team-b": access.RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	f.creds["another namespace's admin token"] = cred{bearer: other.Secret, role: access.RoleAdmin, otherNamespace: true}
	return f
}

// seed puts one resource of each kind in the default namespace and one in
// team-b: a flow with a run, a connection, a mapping, an MCP key (the
// toolsets are the MCP gateway's).
func (f *authzFixture) seed(t testing.TB, e *engine.Engine) {
	t.Helper()
	ctx := context.Background()
	if err := f.st.CreateNamespace(ctx, store.Namespace{Name: "team-b"}); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{access.DefaultNamespace, "team-b"} {
		src := "name: flow-" + ns + "\nnamespace: " + ns + "\ntrigger: {manual: {}}\nsteps:\n  - set: {ok: true}\n"
		if _, _, err := e.Deploy(ctx, "flow.yaml", []byte(src)); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		run, _, err := f.st.CreateRun(ctx, &store.Run{Flow: "flow-" + ns, Version: 1, Status: store.RunSucceeded, TriggerKind: "manual", CreatedAt: now, StartedAt: now}, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Catalog().AddConnection(&connectors.Connection{Name: "conn-" + ns, Connector: "http", Namespace: ns, BaseURL: "http://127.0.0.1:1", Source: "config"}); err != nil {
			t.Fatal(err)
		}
		if err := f.st.SaveMapping(ctx, store.MappingDoc{ID: "map-" + ns, Name: "m", Namespace: ns, Doc: []byte(`{"id": "map-` + ns + `", "name": "m"}`)}); err != nil {
			t.Fatal(err)
		}
		if err := f.st.CreateAPIKey(ctx, store.APIKey{ID: "key-" + ns, Name: "k", Namespace: ns, Hash: "hash-" + ns, Scopes: []string{"*"}, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.st.(store.Products).SaveProduct(ctx, store.ProductDoc{Name: "prod-" + ns, Namespace: ns, Doc: []byte(`{"name": "prod-` + ns + `", "versions": []}`)}); err != nil {
			t.Fatal(err)
		}
		cs := f.st.(store.Consumers)
		if _, err := cs.SavePlan(ctx, store.Plan{Name: "plan-" + ns, Namespace: ns}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.SaveConsumer(ctx, store.Consumer{Name: "cons-" + ns, Namespace: ns}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Subscribe(ctx, store.Subscription{Consumer: "cons-" + ns, Product: "prod-" + ns, Plan: "plan-" + ns}); err != nil {
			t.Fatal(err)
		}
		if err := cs.CreateConsumerKey(ctx, store.ConsumerKey{ID: "ckey-" + ns, Consumer: "cons-" + ns, Hash: "chash-" + ns, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		f.params[ns] = map[string]string{"/api/plans/": "plan-" + ns, "/api/consumers/": "cons-" + ns, "/api/consumers/{name}/keys/": "ckey-" + ns,
			"/api/consumers/{name}/subscriptions/": "prod-" + ns, "/api/products/": "prod-" + ns, "/api/flows/": "flow-" + ns, "/api/runs/": run.ID, "/api/connections/": "conn-" + ns,
			"/api/mappings/": "map-" + ns, "/api/mcp/toolsets/": "ts-" + ns, "/api/mcp/keys/": "key-" + ns, "/api/users/": "bystander", "{version}": "1", "{namespace}": ns}
	}
}

// path fills pattern's parameters with the resource of namespace ns
// (matrix-x where the fixture has none).
func (f *authzFixture) path(pattern, ns string) string {
	ps := f.params[ns]
	return paramRe.ReplaceAllStringFunc(pattern, func(p string) string {
		if v, ok := ps[p]; ok {
			return v
		}
		for prefix, v := range ps {
			if strings.HasPrefix(pattern, prefix) && strings.HasPrefix(pattern[len(prefix):], p) {
				return v
			}
		}
		return "matrix-x"
	})
}

func (f *authzFixture) signIn(t testing.TB, body string) (cookie, csrf string) {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/session", strings.NewReader(body))
	req.Host = "localhost"
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("sign in: %d %s", rec.Code, rec.Body)
	}
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	for _, c := range rec.Result().Cookies() {
		if c.Name == gateway.SessionCookie {
			return c.Value, out.CSRF
		}
	}
	t.Fatal("no session cookie")
	return "", ""
}

var paramRe = regexp.MustCompile(`\{[^}]+\}`)

func (f *authzFixture) do(method, pattern string, c cred) *httptest.ResponseRecorder {
	return f.doPath(method, f.path(pattern, access.DefaultNamespace), c)
}

func (f *authzFixture) doPath(method, path string, c cred) *httptest.ResponseRecorder {
	var body io.Reader
	if method != http.MethodGet {
		body = strings.NewReader(`{}`)
	}
	req := httptest.NewRequest(method, path, body)
	req.Host = "localhost"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", gateway.SessionCookie+"="+c.cookie)
		req.Header.Set(gateway.CSRFHeader, c.csrf)
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return rec
}

// authzDenial: what access.Authorize says when it refuses an authenticated
// principal (a handler's own 403, e.g. "only a signed-in user has personal
// access tokens", is not one).
var authzDenial = regexp.MustCompile(`may not |has no role in namespace`)

// The access-control matrix: every route of the route table × every kind
// of credential → 401, 403, 404 or past authorization. A route about one
// resource is asked about a real one in the default namespace. A new route
// is covered the moment it is registered.
func TestAccessMatrix(t *testing.T) {
	f := newAuthzFixture(t)
	routes := f.srv.Routes()
	if len(routes) < 50 {
		t.Fatalf("route table has %d routes: %v", len(routes), routes)
	}
	names := make([]string, 0, len(f.creds))
	for n := range f.creds {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, rt := range routes {
		if rt.Permission == "" {
			continue // /api/session: public (sign-in), tested on its own
		}
		for _, n := range names {
			c := f.creds[n]
			rec := f.do(rt.Method, rt.Pattern, c)
			msg := rec.Body.String()
			// Installation routes need a "*" binding: only the api_token has one here.
			installationDenied := rt.Scope == gateway.ScopeInstallation && n != "api_token"
			switch {
			case c.role == "":
				if rec.Code != 401 {
					t.Errorf("%s %s as %s: %d %s, want 401", rt.Method, rt.Pattern, n, rec.Code, clipS(msg))
				}
			case !slices.Contains(access.RolePermissions(c.role), rt.Permission) || installationDenied:
				if rec.Code != 403 || !authzDenial.MatchString(msg) {
					t.Errorf("%s %s (%s) as %s: %d %s, want 403 from Authorize", rt.Method, rt.Pattern, rt.Permission, n, rec.Code, clipS(msg))
				}
			case c.otherNamespace && rt.Scope == gateway.ScopeResource && !strings.Contains(rt.Pattern, "{namespace}"):
				// Another namespace's resource: not found, as if it did not exist.
				if rec.Code != 404 {
					t.Errorf("%s %s (%s) as %s: %d %s, want 404", rt.Method, rt.Pattern, rt.Permission, n, rec.Code, clipS(msg))
				}
			case c.otherNamespace && rt.Method != http.MethodGet:
				// A create whose body names no namespace creates in default,
				// where this credential has no role: refused, or the body
				// is refused first. Never done.
				if rec.Code < 400 || rec.Code == 401 || rec.Code == 403 && authzDenial.MatchString(msg) && !strings.Contains(msg, `has no role in namespace \"default\"`) {
					t.Errorf("%s %s (%s) as %s: %d %s, want 403 in default or a refused body", rt.Method, rt.Pattern, rt.Permission, n, rec.Code, clipS(msg))
				}
			case c.otherNamespace && rt.Scope == gateway.ScopeResource:
				if rec.Code != 403 || !authzDenial.MatchString(msg) {
					t.Errorf("%s %s (%s) as %s: %d %s, want 403 from Authorize", rt.Method, rt.Pattern, rt.Permission, n, rec.Code, clipS(msg))
				}
			default:
				if rec.Code == 401 || (rec.Code == 403 && authzDenial.MatchString(msg)) || rec.Code >= 500 && rec.Code != 503 {
					t.Errorf("%s %s (%s) as %s: %d %s, want past authorization", rt.Method, rt.Pattern, rt.Permission, n, rec.Code, clipS(msg))
				}
			}
		}
	}
}

func clipS(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// publicRoutes need no credentials: signing in (password, api_token, or
// single sign-on and its callback) is how a caller gets them; each is
// tested on its own (sessions_test, sso_test).
var publicRoutes = map[string]bool{"/api/session": true, "/api/session/oidc": true, "/api/session/oidc/callback": true}

// Every route the router serves under /api is in the route table with a
// defined permission (or is the public sign-in): a route registered without
// one fails the build's tests.
func TestEveryRouteDeclaresAPermission(t *testing.T) {
	f := newAuthzFixture(t)
	declared := map[string]string{}
	for _, rt := range f.srv.Routes() {
		k := rt.Method + " " + rt.Pattern
		if _, dup := declared[k]; dup {
			t.Errorf("%s declared twice", k)
		}
		declared[k] = rt.Permission
		if rt.Permission == "" && !publicRoutes[rt.Pattern] {
			t.Errorf("%s has no permission", k)
		}
		if rt.Permission != "" && !slices.Contains(access.Permissions(), rt.Permission) {
			t.Errorf("%s: permission %q is not defined", k, rt.Permission)
		}
	}
	served := 0
	err := chi.Walk(f.srv.Router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.TrimSuffix(strings.ReplaceAll(route, "/*/", "/"), "/*")
		if !strings.HasPrefix(route, "/api/") {
			return nil
		}
		served++
		if _, ok := declared[method+" "+route]; !ok {
			t.Errorf("%s %s is served but has no entry (and no permission) in the route table", method, route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if served != len(declared) {
		t.Errorf("router serves %d /api routes, table declares %d", served, len(declared))
	}
}

// BenchmarkAuthn: the cost per request of authentication and the Authorize
// decision, by credential, on a cheap route (GET /api/schemas/flow):
// go test -run '^$' -bench Authn ./gateway/
func BenchmarkAuthn(b *testing.B) {
	f := newAuthzFixture(b)
	// Baseline in the same run: the same route on an open loopback gateway
	// (no api_token, no users: an anonymous admin, no lookup).
	b.Run("baseline_open_server", func(b *testing.B) {
		for b.Loop() {
			req := httptest.NewRequest(http.MethodGet, "/api/schemas/flow", nil)
			req.Host = "localhost"
			rec := httptest.NewRecorder()
			f.open.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("baseline: %d %s", rec.Code, rec.Body)
			}
		}
	})
	for _, n := range []string{"api_token", "admin (session cookie)", "editor (personal access token)", "editor (service account)", "no credentials"} {
		c := f.creds[n]
		b.Run(strings.NewReplacer(" ", "_", "(", "", ")", "").Replace(n), func(b *testing.B) {
			for b.Loop() {
				f.do(http.MethodGet, "/api/schemas/flow", c)
			}
		})
	}
	// The same with the credential cache off (credential_cache_ttl: 0s).
	f.dir.CacheTTL = -1
	defer func() { f.dir.CacheTTL = 0 }()
	for _, n := range []string{"admin (session cookie)", "editor (personal access token)", "editor (service account)"} {
		c := f.creds[n]
		b.Run(strings.NewReplacer(" ", "_", "(", "", ")", "").Replace(n)+"_no_cache", func(b *testing.B) {
			for b.Loop() {
				f.do(http.MethodGet, "/api/schemas/flow", c)
			}
		})
	}
}
