package gateway_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// Managing users, roles, personal access tokens and service accounts
// leaves one audit entry per action, naming who did it to whom; a role
// change carries the role before and after; no entry holds a password or a
// token.
func TestAuditMemberActions(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng := engine.New(st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), nil, engine.Config{})
	srv := gateway.New(eng, slog.New(slog.DiscardHandler), gateway.Config{APIToken: auditToken, Directory: access.NewDirectory(st)})
	log := access.NewLog(st)
	last := func(t *testing.T) access.Entry {
		t.Helper()
		es, err := log.List(ctx, store.AuditFilter{Limit: 1})
		if err != nil || len(es) != 1 {
			t.Fatalf("audit list: %v %v", es, err)
		}
		return es[0]
	}
	count := func() int {
		es, _ := log.List(ctx, store.AuditFilter{Limit: 1000})
		return len(es)
	}
	bearer := map[string]string{"Authorization": "Bearer " + auditToken}
	const pw, pw2 = "otto password 12345", "otto new password 678"
	// step runs one request and checks the single entry it left.
	step := func(method, path, body string, hdr map[string]string, want int, action, actor, resource, outcome string) access.Entry {
		t.Helper()
		n := count()
		code, out := apiCall(t, srv, method, path, body, hdr)
		if code != want {
			t.Fatalf("%s %s: %d %v", method, path, code, out)
		}
		if got := count(); got != n+1 {
			t.Fatalf("%s %s: %d new entries, want 1", method, path, got-n)
		}
		e := last(t)
		if e.Action != action || e.Actor != actor || (resource != "" && e.Resource != resource) || e.Outcome != outcome || e.Source != "192.0.2.7" {
			t.Fatalf("%s %s: entry %+v, want %s by %s on %s (%s)", method, path, e, action, actor, resource, outcome)
		}
		return e
	}

	e := step("POST", "/api/users", `{"name": "otto", "password": "`+pw+`", "role": "operator"}`, bearer, 201, "user.create", "api_token", "user:otto", "ok")
	if e.Details["role"] != "operator" || e.Details["namespace"] != "default" {
		t.Fatalf("user.create details %v", e.Details)
	}
	step("POST", "/api/users", `{"name": "otto", "password": "`+pw+`"}`, bearer, 409, "user.create", "api_token", "user:otto", "failed")
	e = step("PUT", "/api/users/otto/roles/default", `{"role": "editor"}`, bearer, 200, "role.change", "api_token", "user:otto", "ok")
	if b, _ := json.Marshal(e.Details); string(b) != `{"after":{"role":"editor"},"before":{"role":"operator"},"namespace":"default"}` {
		t.Fatalf("role.change details %s", b)
	}
	e = step("PUT", "/api/users/otto/roles/ops", `{"role": "viewer"}`, bearer, 200, "role.change", "api_token", "user:otto", "ok")
	if b, _ := json.Marshal(e.Details); string(b) != `{"after":{"role":"viewer"},"before":{"role":""},"namespace":"ops"}` {
		t.Fatalf("role.change in a new namespace: %s", b)
	}
	step("POST", "/api/users/otto/password", `{"password": "`+pw2+`"}`, bearer, 200, "user.password_reset", "api_token", "user:otto", "ok")
	step("POST", "/api/users/nobody/password", `{"password": "`+pw2+`"}`, bearer, 404, "user.password_reset", "api_token", "user:nobody", "failed")

	// Otto signs in and makes a token of his own; it is his entry.
	req := httptest.NewRequest("POST", "/api/session", strings.NewReader(`{"user": "otto", "password": "`+pw2+`"}`))
	req.Host = "localhost"
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("sign in: %d %s", rec.Code, rec.Body)
	}
	var sess struct {
		CSRF string `json:"csrf_token"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &sess)
	c := rec.Result().Cookies()[0]
	otto := map[string]string{"Cookie": c.Name + "=" + c.Value, gateway.CSRFHeader: sess.CSRF}
	n := count()
	code, out := apiCall(t, srv, "POST", "/api/tokens", `{"name": "laptop", "scopes": {"default": "viewer"}, "expires_in_days": 7}`, otto)
	if code != 201 || count() != n+1 {
		t.Fatalf("token create: %d %v", code, out)
	}
	pat, id := out["token"].(string), out["id"].(string)
	if e := last(t); e.Action != "token.create" || e.Actor != "user:otto" || e.Resource != "token:"+id || e.Details["name"] != "laptop" || e.Details["expires_in_days"] != float64(7) {
		t.Fatalf("token.create entry %+v", e)
	}
	step("POST", "/api/tokens", `{"name": "too-much", "scopes": {"default": "admin"}}`, otto, 403, "token.create", "user:otto", "token:", "denied")
	step("DELETE", "/api/tokens/"+id, "", otto, 200, "token.revoke", "user:otto", "token:"+id, "ok")

	n = count()
	code, out = apiCall(t, srv, "POST", "/api/service-accounts", `{"name": "nightly", "scopes": {"default": "operator"}}`, bearer)
	if code != 201 || count() != n+1 {
		t.Fatalf("service account create: %d %v", code, out)
	}
	sa, said := out["token"].(string), out["id"].(string)
	if e := last(t); e.Action != "service_account.create" || e.Resource != "service_account:"+said || e.Details["name"] != "nightly" {
		t.Fatalf("service_account.create entry %+v", e)
	}
	step("DELETE", "/api/service-accounts/"+said, "", bearer, 200, "service_account.revoke", "api_token", "service_account:"+said, "ok")
	step("POST", "/api/users/otto/disable", "", bearer, 200, "user.disable", "api_token", "user:otto", "ok")

	es, err := log.List(ctx, store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	all, _ := json.Marshal(es)
	for _, secret := range []string{pw, pw2, pat, sa, auditToken} {
		if strings.Contains(string(all), secret) {
			t.Fatalf("the audit log holds a secret: %.12s…", secret)
		}
	}
	if v, err := log.Verify(ctx); err != nil || !v.Intact {
		t.Fatalf("verify: %+v %v", v, err)
	}
}
