package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/access/sso"
	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/internal/oidctest"
	"github.com/weftio/weft/internal/seal"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
	"github.com/weftio/weft/store/sqlstore"
)

// ssoEnv is a Weft server with single sign-on against a real OpenID
// provider (zitadel's OP, internal/oidctest), both on loopback, and the
// hooks a test needs to tamper with what goes between them.
type ssoEnv struct {
	t        *testing.T
	op       *oidctest.Provider
	weft     *httptest.Server
	srv      *gateway.Server
	st       *sqlstore.Store
	dir      *access.Directory
	keys     *seal.Keyring
	sessions *gateway.MemorySessions
	skew     atomic.Int64 // the session clock's advance, ns
	handler  atomic.Value // http.Handler: the current server (a restart swaps it)

	hookMu sync.Mutex
	// onTokenRequest may change the form Weft posts to the token endpoint;
	// onTokenResponse the JSON that comes back.
	onTokenRequest  func(url.Values)
	onTokenResponse func(map[string]any)
}

type handlerBox struct{ h http.Handler }

type ssoOptions struct {
	accessTokenLifetime time.Duration
	stored              bool // sessions kept in the store
	apiToken            string
}

var ssoUsers = []oidctest.User{
	{Subject: "sub-alice", Username: "alice", Email: "alice@example.com", Groups: []string{"weft-admins"}},
	{Subject: "sub-victor", Username: "victor", Email: "victor@example.com", Groups: []string{"weft-viewers", "staff"}},
	{Subject: "sub-nobody", Username: "nobody", Groups: []string{"staff"}},
}

func newSSOEnv(t *testing.T, o ssoOptions) *ssoEnv {
	t.Helper()
	env := &ssoEnv{t: t}
	env.handler.Store(handlerBox{http.NotFoundHandler()})
	env.weft = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.handler.Load().(handlerBox).h.ServeHTTP(w, r)
	}))
	t.Cleanup(env.weft.Close)
	env.op = oidctest.Start(t, oidctest.Options{RedirectURIs: []string{env.weft.URL + gateway.SSOCallbackPath}, PostLogoutURIs: []string{env.weft.URL + "/"},
		AccessTokenLifetime: o.accessTokenLifetime, Users: ssoUsers})

	st, err := sqlite.Open(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	env.st = st
	env.dir = access.NewDirectory(st)
	if env.keys, err = seal.New(seal.NewKey()); err != nil {
		t.Fatal(err)
	}
	env.start(o)
	return env
}

// start builds (or, again, restarts) the Weft server over the same store.
func (env *ssoEnv) start(o ssoOptions) {
	cfg := sso.Config{Issuer: env.op.Issuer, ClientID: env.op.ClientID, ClientSecret: env.op.ClientSecret, RedirectURL: env.weft.URL + gateway.SSOCallbackPath,
		Scopes: []string{"openid", "profile", "email", "offline_access"},
		Roles:  []sso.RoleMapping{{Group: "weft-viewers", Role: access.RoleViewer}, {Group: "weft-admins", Role: access.RoleAdmin}}}
	if err := cfg.Check(); err != nil {
		env.t.Fatal(err)
	}
	provider := sso.New(cfg, &http.Client{Transport: &tamperer{env: env, next: http.DefaultTransport}, Timeout: 10 * time.Second})
	clock := func() time.Time { return time.Now().Add(time.Duration(env.skew.Load())) }
	provider.Now = clock
	sessions := gateway.NewMemorySessions()
	if o.stored {
		sessions = gateway.NewStoredSessions(env.st, env.keys)
	}
	sessions.Now = clock
	env.sessions = sessions
	e := engine.New(env.st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), nil, engine.Config{})
	env.srv = gateway.New(e, slog.New(slog.DiscardHandler), gateway.Config{Directory: env.dir, SSO: provider, Sessions: sessions, Keys: env.keys, APIToken: o.apiToken})
	env.handler.Store(handlerBox{env.srv})
}

func (env *ssoEnv) advance(d time.Duration) { env.skew.Add(int64(d)) }

func (env *ssoEnv) hooks(req func(url.Values), resp func(map[string]any)) {
	env.hookMu.Lock()
	env.onTokenRequest, env.onTokenResponse = req, resp
	env.hookMu.Unlock()
}

// tamperer sits between Weft and the provider, like an attacker on the
// path (or a compromised proxy) would.
type tamperer struct {
	env  *ssoEnv
	next http.RoundTripper
}

func (tp *tamperer) RoundTrip(r *http.Request) (*http.Response, error) {
	tp.env.hookMu.Lock()
	onReq, onResp := tp.env.onTokenRequest, tp.env.onTokenResponse
	tp.env.hookMu.Unlock()
	token := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token")
	if token && onReq != nil {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		onReq(form)
		enc := form.Encode()
		r = r.Clone(r.Context())
		r.Body, r.ContentLength = io.NopCloser(strings.NewReader(enc)), int64(len(enc))
	}
	resp, err := tp.next.RoundTrip(r)
	if err != nil || !token || onResp == nil || resp.StatusCode != 200 {
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err == nil {
		onResp(m)
		body, _ = json.Marshal(m)
	}
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// browser is a user agent with its own cookies.
type browser struct {
	env *ssoEnv
	c   *http.Client
}

func (env *ssoEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{env: env, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// toProviderLogin starts "Sign in with SSO" and follows the redirects to
// the provider's login form; it returns the auth request's id.
func (b *browser) toProviderLogin() string {
	b.env.t.Helper()
	resp, err := b.c.Get(b.env.weft.URL + gateway.SSOStartPath)
	if err != nil {
		b.env.t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Request.URL.String(), b.env.op.Issuer+"/login") || id == "" {
		b.env.t.Fatalf("not at the provider's login: %d %s", resp.StatusCode, resp.Request.URL)
	}
	return id
}

// signIn goes through the whole flow as user and returns the last
// response (Weft's callback's, or where its redirect led).
func (b *browser) signIn(user string) (*http.Response, map[string]any) {
	b.env.t.Helper()
	id := b.toProviderLogin()
	resp, err := b.c.PostForm(b.env.op.Issuer+"/login", url.Values{"authRequestID": {id}, "username": {user}})
	if err != nil {
		b.env.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

// toCallback signs in at the provider but stops before Weft's callback:
// it returns the callback URL the provider sent the browser to.
func (b *browser) toCallback(user string) *url.URL {
	b.env.t.Helper()
	id := b.toProviderLogin()
	c := *b.c
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == gateway.SSOCallbackPath {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := c.PostForm(b.env.op.Issuer+"/login", url.Values{"authRequestID": {id}, "username": {user}})
	if err != nil {
		b.env.t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || loc.Path != gateway.SSOCallbackPath {
		b.env.t.Fatalf("the provider did not send the browser back: %d %v", resp.StatusCode, err)
	}
	return loc
}

func (b *browser) get(u string) (int, map[string]any) {
	b.env.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.env.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (b *browser) session() map[string]any {
	_, out := b.get(b.env.weft.URL + "/api/session")
	return out
}

// api calls the API as the console does: the cookie and the CSRF token.
func (b *browser) api(method, path, body string) (int, map[string]any) {
	b.env.t.Helper()
	csrf, _ := b.session()["csrf_token"].(string)
	req, _ := http.NewRequest(method, b.env.weft.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/yaml")
	}
	req.Header.Set(gateway.CSRFHeader, csrf)
	resp, err := b.c.Do(req)
	if err != nil {
		b.env.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (b *browser) cookie() string {
	u, _ := url.Parse(b.env.weft.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == gateway.SessionCookie {
			return c.Value
		}
	}
	return ""
}

func (env *ssoEnv) audit(action string) []access.Entry {
	env.t.Helper()
	recs, err := env.st.AuditRecords(context.Background(), store.AuditFilter{Action: action, Ascending: true})
	if err != nil {
		env.t.Fatal(err)
	}
	var out []access.Entry
	for _, r := range recs {
		e := access.Entry{Actor: r.Actor, Action: r.Action, Outcome: r.Outcome}
		if err := json.Unmarshal([]byte(r.Details), &e.Details); err != nil {
			env.t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// Sign in with a real provider: the admin group may write, the viewer
// group only read; a user of no mapped group is refused; a disabled user
// is refused even though the provider signs them in.
func TestSSOSignInMapsGroupsToRoles(t *testing.T) {
	env := newSSOEnv(t, ssoOptions{})
	anon := env.browser()
	if out := anon.session(); out["authenticated"] != false || out["sso"] == nil {
		t.Fatalf("the sign-in page does not learn about SSO: %v", out)
	}
	if code, _ := anon.get(env.weft.URL + "/api/flows"); code != 401 {
		t.Fatalf("SSO configured, no credentials: %d", code)
	}

	alice := env.browser()
	resp, _ := alice.signIn("alice")
	if resp.Request.URL.Path != "/" || alice.cookie() == "" {
		t.Fatalf("alice did not land on the console signed in: %s", resp.Request.URL)
	}
	out := alice.session()
	p, _ := out["principal"].(map[string]any)
	if out["authenticated"] != true || p["kind"] != "user" || p["name"] != "alice" {
		t.Fatalf("%v", out)
	}
	if code, out := alice.api("POST", "/api/flows", tinyFlow); code != 201 {
		t.Fatalf("admin group cannot deploy: %d %v", code, out)
	}

	victor := env.browser()
	victor.signIn("victor")
	if code, _ := victor.api("GET", "/api/flows", ""); code != 200 {
		t.Fatalf("viewer cannot read: %d", code)
	}
	if code, out := victor.api("POST", "/api/flows", tinyFlow); code != 403 {
		t.Fatalf("viewer group deployed: %d %v", code, out)
	}

	nobody := env.browser()
	resp, body := nobody.signIn("nobody")
	if resp.StatusCode != 403 || nobody.cookie() != "" || !strings.Contains(toJSON(body), "mapped") {
		t.Fatalf("a user of no mapped group: %d %v", resp.StatusCode, body)
	}

	// The user is the directory's: disabling it ends its session now and
	// refuses its next provider sign-in.
	u, err := env.st.UserBySubject(context.Background(), store.UserOIDC, access.SSOSubject(env.op.Issuer, "sub-victor"))
	if err != nil || u.PasswordHash != "" {
		t.Fatalf("%+v %v", u, err)
	}
	if err := env.dir.DisableUser(context.Background(), u.Name); err != nil {
		t.Fatal(err)
	}
	if code, _ := victor.api("GET", "/api/flows", ""); code != 401 {
		t.Fatalf("disabled user's session: %d", code)
	}
	again := env.browser()
	if resp, body := again.signIn("victor"); resp.StatusCode != 403 || again.cookie() != "" {
		t.Fatalf("disabled user signed in with SSO: %d %v", resp.StatusCode, body)
	}

	ok := env.audit(access.ActionSignIn)
	if len(ok) != 2 || ok[0].Actor != "user:alice" || ok[0].Details["method"] != "oidc" {
		t.Fatalf("sign-in audit: %+v", ok)
	}
	failed := env.audit(access.ActionSignInFailed)
	if len(failed) != 2 || !strings.Contains(toJSON(failed[0].Details), "mapped") || !strings.Contains(toJSON(failed[1].Details), "disabled") {
		t.Fatalf("failed sign-in audit: %+v", failed)
	}
}

// When the provider's tokens expire, the session refreshes them and maps
// the groups again: a user moved out of the admin group loses the role at
// that refresh; a refused refresh (revoked at the provider) ends the
// session.
func TestSSORefreshAppliesGroupChanges(t *testing.T) {
	env := newSSOEnv(t, ssoOptions{accessTokenLifetime: time.Minute})
	alice := env.browser()
	alice.signIn("alice")
	if code, _ := alice.api("POST", "/api/flows", tinyFlow); code != 201 {
		t.Fatalf("admin: %d", code)
	}
	env.op.SetGroups("sub-alice", "weft-viewers")
	// Before the tokens expire nothing is asked of the provider.
	if code, _ := alice.api("POST", "/api/flows", tinyFlow); code != 201 || env.op.Refreshes() != 0 {
		t.Fatalf("before expiry: %d, %d refreshes", code, env.op.Refreshes())
	}
	env.advance(2 * time.Minute)
	if code, out := alice.api("POST", "/api/flows", tinyFlow); code != 403 {
		t.Fatalf("after the refresh, the removed admin still deploys: %d %v", code, out)
	}
	if env.op.Refreshes() != 1 {
		t.Fatalf("%d refreshes, want 1", env.op.Refreshes())
	}
	if code, _ := alice.api("GET", "/api/flows", ""); code != 200 {
		t.Fatalf("viewer after refresh cannot read: %d", code)
	}
	if rc := env.audit(access.ActionRoleChange); len(rc) != 1 || !strings.Contains(toJSON(rc[0].Details), "viewer") {
		t.Fatalf("role change not audited: %+v", rc)
	}

	// Moved out of every mapped group: the next refresh ends the session.
	env.op.SetGroups("sub-alice", "staff")
	env.advance(2 * time.Minute)
	if code, _ := alice.api("GET", "/api/flows", ""); code != 401 {
		t.Fatalf("no mapped group after refresh: %d", code)
	}

	// Revoked at the provider: the refresh fails and the session ends.
	bob := env.browser()
	bob.signIn("victor")
	env.op.RevokeRefreshTokens("sub-victor")
	env.advance(2 * time.Minute)
	if code, _ := bob.api("GET", "/api/flows", ""); code != 401 {
		t.Fatalf("refused refresh kept the session: %d", code)
	}
	env.op.SetGroups("sub-victor", "weft-viewers") // even if the provider would now agree
	if code, _ := bob.api("GET", "/api/flows", ""); code != 401 {
		t.Fatalf("an ended session came back: %d", code)
	}
}

// Signing out ends the session on the server (the cookie, replayed, no
// longer works) and offers the provider's sign-out.
func TestSSOSignOut(t *testing.T) {
	env := newSSOEnv(t, ssoOptions{})
	alice := env.browser()
	alice.signIn("alice")
	cookie := alice.cookie()
	code, out := alice.api("DELETE", "/api/session", "")
	end, _ := out["end_session_url"].(string)
	if code != 200 || !strings.HasPrefix(end, env.op.Issuer+"/end_session?") || !strings.Contains(end, "id_token_hint=") {
		t.Fatalf("sign out: %d %v", code, out)
	}
	// The provider accepts it (the hint is a token it issued) and sends
	// the browser back to Weft.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := noFollow.Get(end); err != nil || resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != env.weft.URL+"/" {
		t.Fatalf("provider sign-out: %v %v", resp, err)
	}
	replay := &http.Client{}
	req, _ := http.NewRequest("GET", env.weft.URL+"/api/flows", nil)
	req.AddCookie(&http.Cookie{Name: gateway.SessionCookie, Value: cookie})
	resp, err := replay.Do(req)
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("the signed-out cookie still works: %v %v", resp.StatusCode, err)
	}
}

// What comes back from the provider is checked: an ID token with a flipped
// signature byte, a payload changed to claim the admin group, or another
// sign-in's genuine ID token is refused; so are a callback whose state does not match, one without the
// sign-in cookie, a replayed one, and a code redeemed without its PKCE
// verifier.
func TestSSORefusesTamperedTokensAndForgedCallbacks(t *testing.T) {
	env := newSSOEnv(t, ssoOptions{})
	refused := func(name string, resp *http.Response, body map[string]any, b *browser, want int) {
		t.Helper()
		if resp.StatusCode != want || b.cookie() != "" {
			t.Fatalf("%s: %d %v (session cookie %q)", name, resp.StatusCode, body, b.cookie())
		}
	}

	// A flipped byte in the signature.
	env.hooks(nil, func(m map[string]any) {
		parts := strings.Split(m["id_token"].(string), ".")
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		sig[10] ^= 0x01
		parts[2] = base64.RawURLEncoding.EncodeToString(sig)
		m["id_token"] = strings.Join(parts, ".")
	})
	b := env.browser()
	resp, body := b.signIn("victor")
	refused("flipped signature", resp, body, b, 401)
	if !strings.Contains(toJSON(body), "does not verify") {
		t.Fatalf("%v", body)
	}

	// The payload rewritten to put the viewer in the admin group.
	env.hooks(nil, func(m map[string]any) {
		parts := strings.Split(m["id_token"].(string), ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		forged := strings.Replace(string(payload), "weft-viewers", "weft-admins", 1)
		if forged == string(payload) {
			t.Error("the payload had no group to forge")
		}
		parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
		m["id_token"] = strings.Join(parts, ".")
	})
	b = env.browser()
	resp, body = b.signIn("victor")
	refused("forged payload", resp, body, b, 401)

	// A genuine ID token of an earlier sign-in, replayed into this one: its
	// nonce is another flow's.
	var earlier string
	env.hooks(nil, func(m map[string]any) { earlier = m["id_token"].(string) })
	first := env.browser()
	first.signIn("victor")
	if earlier == "" || first.cookie() == "" {
		t.Fatal("no genuine sign-in to take an ID token from")
	}
	env.hooks(nil, func(m map[string]any) { m["id_token"] = earlier })
	b = env.browser()
	resp, body = b.signIn("victor")
	refused("replayed ID token", resp, body, b, 401)
	if !strings.Contains(toJSON(body), "nonce") {
		t.Fatalf("%v", body)
	}

	// The code redeemed without its PKCE verifier: the provider refuses.
	env.hooks(func(f url.Values) { f.Del("code_verifier") }, nil)
	b = env.browser()
	resp, body = b.signIn("victor")
	refused("no PKCE verifier", resp, body, b, 401)
	// ... or with another flow's verifier.
	env.hooks(func(f url.Values) { f.Set("code_verifier", strings.Repeat("x", 43)) }, nil)
	b = env.browser()
	resp, body = b.signIn("victor")
	refused("wrong PKCE verifier", resp, body, b, 401)
	env.hooks(nil, nil)

	// A state that does not match the browser's sign-in.
	b = env.browser()
	cb := b.toCallback("victor")
	q := cb.Query()
	q.Set("state", "forged-"+q.Get("state"))
	cb.RawQuery = q.Encode()
	code, body := b.get(cb.String())
	if code != 400 || b.cookie() != "" || !strings.Contains(toJSON(body), "state") {
		t.Fatalf("wrong state: %d %v", code, body)
	}

	// A genuine callback in a browser that did not start the sign-in (login
	// CSRF: an attacker's code in the victim's browser).
	cb = env.browser().toCallback("victor")
	other := env.browser()
	if code, body := other.get(cb.String()); code != 400 || other.cookie() != "" {
		t.Fatalf("callback without the sign-in cookie: %d %v", code, body)
	}

	// The same callback twice: the first signs in, the replay is refused.
	b = env.browser()
	cb = b.toCallback("victor")
	if code, _ := b.get(cb.String()); code != 404 && code != 200 { // "/" (no console in this test)
		t.Fatalf("genuine callback: %d", code)
	}
	if b.cookie() == "" {
		t.Fatal("genuine callback did not sign in")
	}
	b2 := env.browser()
	b2.c.Jar = b.c.Jar
	if code, _ := b2.get(cb.String()); code != 400 {
		t.Fatalf("replayed callback: %d", code)
	}

	// A browser's navigation back from the provider is sent to the
	// console's sign-in page with the reason instead of a JSON error.
	nav := env.browser()
	cb = nav.toCallback("victor")
	q = cb.Query()
	q.Set("state", "forged")
	cb.RawQuery = q.Encode()
	noFollow := &http.Client{Jar: nav.c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", cb.String(), nil)
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	navResp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	navResp.Body.Close()
	if loc := navResp.Header.Get("Location"); navResp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/?sso_error=") || !strings.Contains(loc, "state") || nav.cookie() != "" {
		t.Fatalf("navigation: %d %q", navResp.StatusCode, loc)
	}

	// The provider's own refusal.
	if code, _ := env.browser().get(env.weft.URL + gateway.SSOCallbackPath + "?error=access_denied&state=x"); code != 401 {
		t.Fatalf("provider error: %d", code)
	}

	// Every refusal is audited with its reason.
	failed := env.audit(access.ActionSignInFailed)
	if len(failed) != 10 {
		t.Fatalf("%d failed sign-ins audited, want 10: %+v", len(failed), failed)
	}
	for _, e := range failed {
		if e.Details["reason"] == "" || e.Details["method"] != "oidc" {
			t.Fatalf("%+v", e)
		}
	}
}

// Sessions kept in the store survive a restart; only the id's hash and the
// sealed provider tokens are stored; sign-out deletes the row; the idle
// timeout still ends a session, and a session signed in with an api_token
// ends when the api_token changes.
func TestStoredSessionsSurviveRestart(t *testing.T) {
	opts := ssoOptions{stored: true, apiToken: "the-first-api-token-0123456789"}
	env := newSSOEnv(t, opts)
	ctx := context.Background()
	alice := env.browser()
	alice.signIn("alice")
	if code, _ := alice.api("POST", "/api/flows", tinyFlow); code != 201 {
		t.Fatalf("%d", code)
	}
	cookie := alice.cookie()
	h := sha256.Sum256([]byte(cookie))
	row, err := env.st.SessionByHash(ctx, hex.EncodeToString(h[:]))
	if err != nil {
		t.Fatal(err)
	}
	dump, _ := json.Marshal(row)
	if bytes.Contains(dump, []byte(cookie)) || bytes.Contains(dump, []byte("rt-")) || row.Tokens == nil || row.TokensKey != env.keys.CurrentID() {
		t.Fatalf("the stored row leaks the cookie or the refresh token, or has no sealed tokens: %s", dump)
	}

	// Restart: a new server and session manager over the same store.
	env.start(opts)
	if code, _ := alice.api("POST", "/api/flows", tinyFlow); code != 201 {
		t.Fatalf("after a restart: %d", code)
	}

	// Sign-out deletes the row.
	if code, _ := alice.api("DELETE", "/api/session", ""); code != 200 {
		t.Fatal(code)
	}
	if _, err := env.st.SessionByHash(ctx, hex.EncodeToString(h[:])); err == nil {
		t.Fatal("the signed-out session is still stored")
	}

	// Idle timeout: unused for longer than 30m, the session is gone (and
	// its row with it).
	bob := env.browser()
	bob.signIn("victor")
	env.advance(gateway.DefaultSessionIdle + time.Minute)
	if code, _ := bob.api("GET", "/api/flows", ""); code != 401 {
		t.Fatalf("idle session: %d", code)
	}
	bh := sha256.Sum256([]byte(bob.cookie()))
	if _, err := env.st.SessionByHash(ctx, hex.EncodeToString(bh[:])); err == nil {
		t.Fatal("the idle session's row was not removed")
	}

	// Sweep removes what expired without being read again.
	dave := env.browser()
	dave.signIn("alice")
	dh := sha256.Sum256([]byte(dave.cookie()))
	env.advance(gateway.DefaultSessionIdle + time.Minute)
	if n, err := env.sessions.Sweep(ctx); err != nil || n < 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if _, err := env.st.SessionByHash(ctx, hex.EncodeToString(dh[:])); err == nil {
		t.Fatal("the swept session is still stored")
	}

	// An api_token session: it survives a restart with the same token, not
	// with another.
	tokenBrowser := env.browser()
	req, _ := http.NewRequest("POST", env.weft.URL+"/api/session", strings.NewReader(`{"token": "`+opts.apiToken+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := tokenBrowser.c.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("api_token sign-in: %v %v", resp, err)
	}
	env.start(opts)
	if code, _ := tokenBrowser.api("GET", "/api/flows", ""); code != 200 {
		t.Fatalf("api_token session after a restart: %d", code)
	}
	opts.apiToken = "another-api-token-0123456789abcdef"
	env.start(opts)
	if code, _ := tokenBrowser.api("GET", "/api/flows", ""); code != 401 {
		t.Fatalf("session of a replaced api_token: %d", code)
	}

	// A tampered sealed token blob ends the session rather than trusting it.
	carol := env.browser()
	carol.signIn("alice")
	ch := sha256.Sum256([]byte(carol.cookie()))
	crow, _ := env.st.SessionByHash(ctx, hex.EncodeToString(ch[:]))
	crow.Tokens[len(crow.Tokens)-1] ^= 1
	if err := env.st.SetSessionTokens(ctx, crow.IDHash, crow.TokensKey, crow.Tokens, crow.TokensExpiry); err != nil {
		t.Fatal(err)
	}
	if code, _ := carol.api("GET", "/api/flows", ""); code != 401 {
		t.Fatalf("tampered sealed tokens: %d", code)
	}
}

// Without an oidc section the single-sign-on routes answer 404 and GET
// /api/session does not offer SSO.
func TestSSORoutesWithoutSSO(t *testing.T) {
	srv := newServer(t, gateway.Config{APIToken: "tok"})
	for _, p := range []string{gateway.SSOStartPath, gateway.SSOCallbackPath + "?code=x&state=y"} {
		if code, _, _ := call(t, "GET", srv.URL+p, "", nil); code != 404 {
			t.Errorf("%s without SSO: %d", p, code)
		}
	}
	if _, out, _ := call(t, "GET", srv.URL+"/api/session", "", nil); out["sso"] != nil {
		t.Errorf("SSO offered without SSO: %v", out)
	}
}

// Requests that arrive together after the provider's tokens expired share
// one refresh (a rotated refresh token is good once): none of them is
// signed out, with sessions in memory or in the store.
func TestSSOConcurrentRequestsRefreshOnce(t *testing.T) {
	for _, stored := range []bool{false, true} {
		env := newSSOEnv(t, ssoOptions{accessTokenLifetime: time.Minute, stored: stored})
		alice := env.browser()
		alice.signIn("alice")
		env.advance(2 * time.Minute)
		var wg sync.WaitGroup
		codes := make([]int, 8)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("GET", env.weft.URL+"/api/flows", nil)
				resp, err := alice.c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		for i, c := range codes {
			if c != 200 {
				t.Errorf("stored=%v: request %d: %d", stored, i, c)
			}
		}
		if n := env.op.Refreshes(); n != 1 {
			t.Errorf("stored=%v: %d refreshes, want 1", stored, n)
		}
	}
}
