package gateway_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/gateway"
)

const consoleToken = "0123456789abcdef-console"

// cookieOf returns the weft_session cookie a response set.
func cookieOf(t *testing.T, h http.Header) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == gateway.SessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", gateway.SessionCookie, h.Values("Set-Cookie"))
	return nil
}

// The console signs in with the API token once and works under an
// HttpOnly, SameSite=Strict cookie; state changes need the CSRF token;
// signing out ends the session on the server.
func TestIssue17_SessionSignInCookieCSRFAndSignOut(t *testing.T) {
	srv := newServer(t, gateway.Config{APIToken: consoleToken})
	json := map[string]string{"Content-Type": "application/json"}

	code, out, _ := send(t, "GET", srv.URL+"/api/session", "", nil, "")
	if code != 200 || out["authenticated"] != false || out["required"] != true || out["csrf_token"] != nil {
		t.Fatalf("session before sign-in: %d %v", code, out)
	}
	code, out, h := send(t, "POST", srv.URL+"/api/session", `{"token":"`+consoleToken+`"}`, json, "")
	if code != 200 {
		t.Fatalf("sign-in: %d %v", code, out)
	}
	csrf, _ := out["csrf_token"].(string)
	exp, err := time.Parse(time.RFC3339, out["expires_at"].(string))
	if csrf == "" || err != nil || time.Until(exp) < 29*time.Minute || time.Until(exp) > 31*time.Minute {
		t.Fatalf("sign-in answer: %v (%v)", out, err)
	}
	c := cookieOf(t, h)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure || len(c.Value) < 40 {
		t.Fatalf("cookie: %+v", c)
	}
	if strings.Contains(c.Value, consoleToken) || c.Value == csrf {
		t.Fatal("the cookie carries the token or the CSRF token")
	}
	cookie := map[string]string{"Cookie": gateway.SessionCookie + "=" + c.Value}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}

	// The cookie authenticates reads.
	if code, out, _ := send(t, "GET", srv.URL+"/api/flows", "", cookie, ""); code != 200 {
		t.Fatalf("GET /api/flows under the cookie: %d %v", code, out)
	}
	if code, out, _ := send(t, "GET", srv.URL+"/api/session", "", cookie, ""); code != 200 || out["authenticated"] != true || out["csrf_token"] != csrf {
		t.Fatalf("session under the cookie: %d %v", code, out)
	}
	// A state change needs the CSRF token too.
	yaml := with(cookie, "Content-Type", "application/yaml")
	if code, out, _ := send(t, "POST", srv.URL+"/api/flows", tinyFlow, yaml, ""); code != 403 {
		t.Fatalf("POST without X-CSRF-Token under the cookie: %d %v", code, out)
	}
	if code, out, _ := send(t, "POST", srv.URL+"/api/flows", tinyFlow, with(yaml, "X-CSRF-Token", csrf), ""); code != 201 {
		t.Fatalf("POST with X-CSRF-Token under the cookie: %d %v", code, out)
	}
	// Signing out needs the CSRF token as well, then ends the session.
	if code, _, _ := send(t, "DELETE", srv.URL+"/api/session", "", cookie, ""); code != 403 {
		t.Fatalf("sign-out without the CSRF token: %d", code)
	}
	code, out, h = send(t, "DELETE", srv.URL+"/api/session", "", with(cookie, "X-CSRF-Token", csrf), "")
	if code != 200 || out["signed_out"] != true {
		t.Fatalf("sign-out: %d %v", code, out)
	}
	if c := cookieOf(t, h); c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("sign-out does not clear the cookie: %+v", c)
	}
	// The old cookie is dead on the server, whatever the browser kept.
	if code, _, _ := send(t, "GET", srv.URL+"/api/flows", "", cookie, ""); code != 401 {
		t.Fatalf("GET with the signed-out cookie: %d", code)
	}
	if code, out, _ := send(t, "GET", srv.URL+"/api/session", "", cookie, ""); code != 200 || out["authenticated"] != false {
		t.Fatalf("session after sign-out: %d %v", code, out)
	}
}

// Wrong tokens are refused and, past the limit, rate limited per client
// address; the right token is refused too while blocked.
func TestIssue17_SessionWrongTokenIsRateLimited(t *testing.T) {
	srv := newServer(t, gateway.Config{APIToken: consoleToken})
	json := map[string]string{"Content-Type": "application/json"}
	for i := 0; i < gateway.DefaultSignInFailures; i++ {
		code, out, h := send(t, "POST", srv.URL+"/api/session", `{"token":"wrong-token-`+string(rune('a'+i))+`"}`, json, "")
		if code != 401 || errCode(out) != "unauthorized" || h.Get("Set-Cookie") != "" {
			t.Fatalf("wrong token #%d: %d %v", i+1, code, out)
		}
	}
	code, out, h := send(t, "POST", srv.URL+"/api/session", `{"token":"`+consoleToken+`"}`, json, "")
	if code != 429 || h.Get("Retry-After") == "" || h.Get("Set-Cookie") != "" {
		t.Fatalf("after %d failures: %d %v (Retry-After %q)", gateway.DefaultSignInFailures, code, out, h.Get("Retry-After"))
	}
	// Bearer clients are not affected.
	if code, _, _ := send(t, "GET", srv.URL+"/api/flows", "", map[string]string{"Authorization": "Bearer " + consoleToken}, ""); code != 200 {
		t.Fatalf("bearer while sign-in is blocked: %d", code)
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// A session unused for the idle timeout ends; one in use ends at its
// absolute lifetime all the same. Failed sign-ins age out of the window.
func TestIssue17_SessionExpiry(t *testing.T) {
	clock := &fakeClock{t: time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)}
	sessions := &gateway.MemorySessions{Idle: 30 * time.Minute, Lifetime: 2 * time.Hour, Now: clock.Now}
	srv := newServer(t, gateway.Config{APIToken: consoleToken, Sessions: sessions})
	json := map[string]string{"Content-Type": "application/json"}
	signIn := func() map[string]string {
		t.Helper()
		code, out, h := send(t, "POST", srv.URL+"/api/session", `{"token":"`+consoleToken+`"}`, json, "")
		if code != 200 {
			t.Fatalf("sign-in: %d %v", code, out)
		}
		return map[string]string{"Cookie": gateway.SessionCookie + "=" + cookieOf(t, h).Value}
	}
	get := func(cookie map[string]string) int {
		code, _, _ := send(t, "GET", srv.URL+"/api/flows", "", cookie, "")
		return code
	}

	a := signIn()
	clock.Add(29 * time.Minute)
	if code := get(a); code != 200 {
		t.Fatalf("after 29 idle minutes: %d", code)
	}
	clock.Add(29 * time.Minute) // used a moment ago: still alive
	if code := get(a); code != 200 {
		t.Fatalf("29 minutes after the last use: %d", code)
	}
	clock.Add(31 * time.Minute)
	if code := get(a); code != 401 {
		t.Fatalf("31 idle minutes: %d, want 401", code)
	}

	b := signIn()
	for i := 0; i < 4; i++ { // used every 25 minutes: never idle, but 2h is the limit
		clock.Add(25 * time.Minute)
		if code := get(b); code != 200 {
			t.Fatalf("in use at %d min: %d", (i+1)*25, code)
		}
	}
	clock.Add(25 * time.Minute) // 125 minutes after sign-in
	if code := get(b); code != 401 {
		t.Fatalf("past the absolute lifetime: %d, want 401", code)
	}

	for i := 0; i < gateway.DefaultSignInFailures; i++ {
		send(t, "POST", srv.URL+"/api/session", `{"token":"nope"}`, json, "")
	}
	if code, _, _ := send(t, "POST", srv.URL+"/api/session", `{"token":"`+consoleToken+`"}`, json, ""); code != 429 {
		t.Fatalf("blocked sign-in: %d", code)
	}
	clock.Add(gateway.DefaultSignInWindow + time.Second)
	signIn()
}

// Behind an https public URL the cookie is Secure; without an API token
// there is nothing to sign in to.
func TestIssue17_SessionSecureCookieAndOpenServer(t *testing.T) {
	srv := newServer(t, gateway.Config{APIToken: consoleToken, PublicURL: "https://weft.example.com"})
	_, _, h := send(t, "POST", srv.URL+"/api/session", `{"token":"`+consoleToken+`"}`, map[string]string{"Content-Type": "application/json"}, "")
	if c := cookieOf(t, h); !c.Secure {
		t.Fatalf("cookie behind an https public_url is not Secure: %+v", c)
	}
	open := newServer(t, gateway.Config{})
	code, out, _ := send(t, "GET", open.URL+"/api/session", "", nil, "")
	if code != 200 || out["required"] != false || out["authenticated"] != true {
		t.Fatalf("open server session: %d %v", code, out)
	}
	if code, out, _ := send(t, "POST", open.URL+"/api/session", `{"token":"x"}`, map[string]string{"Content-Type": "application/json"}, ""); code != 409 {
		t.Fatalf("sign-in on an open server: %d %v", code, out)
	}
	// The sign-in routes keep the cross-site check.
	if code, out, _ := send(t, "POST", srv.URL+"/api/session", `{"token":"`+consoleToken+`"}`,
		map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, ""); code != 403 {
		t.Fatalf("cross-site sign-in: %d %v", code, out)
	}
}
