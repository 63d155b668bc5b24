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
	"github.com/weftio/weft/store/sqlite"
)

func apiCall(t *testing.T, srv *gateway.Server, method, path, body string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Host = "localhost"
	req.RemoteAddr = "192.0.2.7:5000"
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

// Without an api_token and without users the server is open (loopback
// only, as before); the first user closes it.
func TestFirstUserEndsTheOpenLoopbackServer(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := engine.New(st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), nil, engine.Config{})
	dir := access.NewDirectory(st)
	srv := gateway.New(e, slog.New(slog.DiscardHandler), gateway.Config{Directory: dir})

	if code, out := apiCall(t, srv, "GET", "/api/me", "", nil); code != 200 || out["role"] != "admin" || out["actor"] != "anonymous" {
		t.Fatalf("open server: %d %v", code, out)
	}
	code, out := apiCall(t, srv, "POST", "/api/users", `{"name": "ada", "password": "a long password 1", "role": "editor"}`, nil)
	if code != 201 || strings.Contains(jsonString(out), "argon2") {
		t.Fatalf("create user: %d %v", code, out)
	}
	if code, _ := apiCall(t, srv, "GET", "/api/flows", "", nil); code != 401 {
		t.Fatalf("after the first user, no credentials: %d", code)
	}
	// A fresh server over the same store is closed from its first request.
	srv2 := gateway.New(e, slog.New(slog.DiscardHandler), gateway.Config{Directory: dir})
	if code, _ := apiCall(t, srv2, "GET", "/api/flows", "", nil); code != 401 {
		t.Fatalf("restarted server with users, no credentials: %d", code)
	}

	// Sign in as the user: /api/me shows the principal and its permissions.
	req := httptest.NewRequest("POST", "/api/session", strings.NewReader(`{"user": "ada", "password": "a long password 1"}`))
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
	cookie := rec.Result().Cookies()[0]
	h := map[string]string{"Cookie": cookie.Name + "=" + cookie.Value, gateway.CSRFHeader: sess.CSRF}
	code, out = apiCall(t, srv, "GET", "/api/me", "", h)
	if code != 200 || out["role"] != "editor" || !strings.Contains(jsonString(out["permissions"]), access.FlowsWrite) ||
		strings.Contains(jsonString(out["permissions"]), access.SecretsManage) {
		t.Fatalf("me: %d %v", code, out)
	}
	// A personal access token is shown once, at creation, never listed.
	code, out = apiCall(t, srv, "POST", "/api/tokens", `{"name": "laptop", "scopes": {"default": "viewer"}, "expires_in_days": 30}`, h)
	secret, _ := out["token"].(string)
	if code != 201 || !strings.HasPrefix(secret, access.PATPrefix) {
		t.Fatalf("create token: %d %v", code, out)
	}
	code, out = apiCall(t, srv, "GET", "/api/tokens", "", h)
	if code != 200 || strings.Contains(jsonString(out), secret) || strings.Contains(jsonString(out), access.HashToken(secret)) {
		t.Fatalf("list tokens shows the secret or its hash: %v", out)
	}
	bh := map[string]string{"Authorization": "Bearer " + secret}
	if code, out := apiCall(t, srv, "GET", "/api/me", "", bh); code != 200 || out["role"] != "viewer" {
		t.Fatalf("the PAT acts with its scope: %d %v", code, out)
	}
	if code, _ := apiCall(t, srv, "POST", "/api/flows", "{}", bh); code != 403 {
		t.Fatalf("viewer-scoped PAT deploys: %d", code)
	}
	// The editor may not manage users; a cookie without the CSRF token may not change anything.
	if code, _ := apiCall(t, srv, "POST", "/api/users", `{"name": "eve", "password": "a long password 1", "role": "admin"}`, h); code != 403 {
		t.Fatalf("editor created a user: %d", code)
	}
	if code, _ := apiCall(t, srv, "POST", "/api/tokens", `{"name": "x"}`, map[string]string{"Cookie": h["Cookie"]}); code != 403 {
		t.Fatalf("cookie without CSRF: %d", code)
	}
	// Sign-out ends the user's session on the server; the PAT lives on.
	if code, _ := apiCall(t, srv, "DELETE", "/api/session", "", h); code != 200 {
		t.Fatalf("sign out: %d", code)
	}
	if code, _ := apiCall(t, srv, "GET", "/api/me", "", h); code != 401 {
		t.Fatalf("signed-out cookie: %d", code)
	}
	if code, _ := apiCall(t, srv, "GET", "/api/me", "", bh); code != 200 {
		t.Fatalf("PAT after sign-out: %d", code)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Wrong passwords count against the client's address like wrong tokens do:
// after the limit even the right password waits (429, Retry-After).
func TestUserSignInIsRateLimited(t *testing.T) {
	f := newAuthzFixture(t)
	for i := 0; i < gateway.DefaultSignInFailures; i++ {
		if code, _ := apiCall(t, f.srv, "POST", "/api/session", `{"user": "admin-user", "password": "wrong password guess"}`, nil); code != 401 {
			t.Fatalf("wrong password %d: %d", i, code)
		}
	}
	if code, _ := apiCall(t, f.srv, "POST", "/api/session", `{"user": "admin-user", "password": "a long password for tests"}`, nil); code != 429 {
		t.Fatalf("after %d failures the right password got %d, want 429", gateway.DefaultSignInFailures, code)
	}
	// The lock-out is audited once (the refused attempts during it are not,
	// so a flood cannot fill the log).
	for i := 0; i < 3; i++ {
		apiCall(t, f.srv, "POST", "/api/session", `{"user": "admin-user", "password": "wrong password guess"}`, nil)
	}
	code, page := apiCall(t, f.srv, "GET", "/api/audit?action=session.sign_in_locked", "", map[string]string{"Authorization": "Bearer " + matrixAPIToken})
	entries, _ := page["entries"].([]any)
	if code != 200 || len(entries) != 1 {
		t.Fatalf("audit of the lock-out: %d %v, want one session.sign_in_locked entry", code, page)
	}
	if e := entries[0].(map[string]any); e["outcome"] != "denied" || e["source"] == "" {
		t.Fatalf("lock-out entry: %v", e)
	}
	// Unknown users and malformed bodies: clear errors, no session.
	if code, _ := apiCall(t, f.srv, "POST", "/api/session", `{"user": 5}`, map[string]string{}); code != 400 && code != 429 {
		t.Fatalf("malformed sign-in: %d", code)
	}
}
