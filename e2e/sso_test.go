package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weftio/weft/internal/oidctest"
)

// Single sign-on through the real binary: weft serve with an oidc section
// (client secret from a file) against a real OpenID provider, a browser
// that signs in, and a restart that keeps the session (sessions are kept
// in the store). Sign-out then ends it for good.
func TestSSOServeSignInSurvivesRestart(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	weftURL := "http://" + addr
	op := oidctest.Start(t, oidctest.Options{RedirectURIs: []string{weftURL + "/api/session/oidc/callback"}, PostLogoutURIs: []string{weftURL + "/"},
		Users: []oidctest.User{{Subject: "s-1", Username: "alice", Email: "alice@example.com", Groups: []string{"weft-admins"}}}})
	dir := t.TempDir()
	secret := filepath.Join(dir, "client-secret")
	if err := os.WriteFile(secret, []byte(op.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "weft.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`oidc:
  issuer: %s
  client_id: %s
  client_secret_file: %s
  redirect_url: %s/api/session/oidc/callback
  scopes: [openid, profile, email, offline_access]
  roles:
    - {group: weft-admins, role: admin}
`, op.Issuer, op.ClientID, secret, weftURL)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data")}
	srv := startServer(t, addr, env, "--config", cfg)
	if strings.Contains(srv.logs(), op.ClientSecret) {
		t.Fatal("the client secret is in the log")
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := browser.Get(weftURL + "/api/session/oidc")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if id == "" {
		t.Fatalf("not at the provider's login: %d %s", resp.StatusCode, resp.Request.URL)
	}
	resp, err = browser.PostForm(op.Issuer+"/login", url.Values{"authRequestID": {id}, "username": {"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.String() != weftURL+"/" {
		t.Fatalf("sign-in ended at %s (%d)\n%s", resp.Request.URL, resp.StatusCode, srv.logs())
	}
	session := func() map[string]any {
		resp, err := browser.Get(weftURL + "/api/session")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return out
	}
	deploy := func() int {
		csrf, _ := session()["csrf_token"].(string)
		req, _ := http.NewRequest("POST", weftURL+"/api/flows", strings.NewReader("name: tiny\nsteps:\n  - id: a\n    set: {v: 1}\n"))
		req.Header.Set("Content-Type", "application/yaml")
		req.Header.Set("X-CSRF-Token", csrf)
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := deploy(); code != 201 {
		t.Fatalf("signed-in admin deploys: %d\n%s", code, srv.logs())
	}

	srv.stop(syscall.SIGTERM)
	srv = startServer(t, addr, env, "--config", cfg)
	if code := deploy(); code != 201 {
		t.Fatalf("after a restart: %d\n%s", code, srv.logs())
	}

	u, _ := url.Parse(weftURL)
	var cookie string
	for _, c := range jar.Cookies(u) {
		if c.Name == "weft_session" {
			cookie = c.Value
		}
	}
	csrf, _ := session()["csrf_token"].(string)
	req, _ := http.NewRequest("DELETE", weftURL+"/api/session", nil)
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err = browser.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("sign out: %v %v", resp, err)
	}
	resp.Body.Close()
	replay, _ := http.NewRequest("GET", weftURL+"/api/flows", nil)
	replay.AddCookie(&http.Cookie{Name: "weft_session", Value: cookie})
	if resp, err := http.DefaultClient.Do(replay); err != nil || resp.StatusCode != 401 {
		t.Fatalf("the signed-out cookie still works: %v %v", resp, err)
	}
	if strings.Contains(srv.logs(), op.ClientSecret) {
		t.Fatal("the client secret is in the log")
	}
}
