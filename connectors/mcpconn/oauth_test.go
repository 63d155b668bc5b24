package mcpconn_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/mcpconn"
	"github.com/weftio/weft/connectors/mcpconn/mcptest"
)

// loopbackClient reaches the test servers (the default refuses loopback).
func loopbackClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{}).DialContext}, Timeout: 10 * time.Second}
}

// browser follows the authorization URL as a browser whose user approves.
func browser(opened *int) func(string) error {
	return func(u string) error {
		*opened++
		resp, err := http.Get(u)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The authorization code flow end to end: discovery from the 401, dynamic
// registration, PKCE through the loopback redirect; then the federation
// renews tokens with the refresh token, stores each rotated one, and a
// restart carries on from the stored one. No token is logged.
func TestOAuthAuthorizationCode(t *testing.T) {
	as := mcptest.NewOAuthServer(t, "authorization_code", "refresh_token")
	mcpSrv, seen := mcptest.OAuthMCP(t, as)
	ctx := context.Background()
	opened := 0
	res, err := mcpconn.Authorize(ctx, mcpconn.OAuthParams{URL: mcpSrv.URL + "/mcp", HTTPClient: loopbackClient(), Open: browser(&opened)})
	if err != nil {
		t.Fatalf("%v (AS refused: %v)", err, as.Refused())
	}
	a := res.Auth
	if opened != 1 || a.Type != connectors.AuthRefreshToken || a.TokenURL != as.Srv.URL+"/token" || a.ClientID != "client-1" || a.RefreshToken == "" || a.ClientSecret != "" {
		t.Fatalf("auth %+v (opened %d)", a, opened)
	}
	if !slices.Contains(a.Scopes, "tools") || !slices.Contains(a.Scopes, "offline_access") {
		t.Fatalf("scopes %v: want the resource's and offline_access", a.Scopes)
	}

	// The server side: short-lived tokens, so every request renews (and
	// rotates the refresh token).
	as.SetTTL(5) // under oauth2's 10 s expiry margin: renewed on each use
	logs := &logBuf{}
	cat := connectors.NewCatalog()
	fed := mcpconn.NewFederation(cat, mcpconn.Options{Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	defer fed.Close()
	var savedMu sync.Mutex
	var saved []string
	fed.SaveAuth = func(_ context.Context, c *connectors.Connection) error {
		savedMu.Lock()
		saved = append(saved, c.Auth.RefreshToken)
		savedMu.Unlock()
		return cat.AddConnection(c)
	}
	spec, err := fed.Add(ctx, "up", mcpconn.Spec{URL: mcpSrv.URL + "/mcp", AllowPrivate: true}, a)
	if err != nil {
		t.Fatalf("%v (AS refused: %v)", err, as.Refused())
	}
	// What the gateway does next: save the connection (the rotated refresh
	// token of the add is in a by now).
	if err := cat.AddConnection(&connectors.Connection{Name: "up", Connector: "up", Auth: a}); err != nil {
		t.Fatal(err)
	}
	op, _ := cat.Operation("up.echo")
	for i := range 3 {
		out, err := op.Invoke(ctx, connectors.Call{Input: map[string]any{"text": fmt.Sprint("n", i)}})
		if err != nil {
			t.Fatalf("call %d: %v (AS refused: %v)", i, err, as.Refused())
		}
		if m, _ := out.(map[string]any); m["text"] != fmt.Sprint("n", i) {
			t.Fatalf("echo: %#v", out)
		}
	}
	nRefresh, refused, valid, issued := as.Refreshes(), as.Refused(), as.ValidRefresh(), as.Issued()
	savedMu.Lock()
	nSaved := len(saved)
	savedMu.Unlock()
	if nRefresh < 3 || nSaved == 0 || len(refused) > 0 {
		t.Fatalf("%d refreshes, %d saved, refused %v", nRefresh, nSaved, refused)
	}
	cur, _ := cat.LookupConnection("up")
	if !valid[cur.Auth.RefreshToken] || len(valid) != 1 {
		t.Fatalf("the stored refresh token is not the one the AS honours (valid %v)", valid)
	}
	// A restart: a new federation from the stored spec and connection.
	fed.Close()
	data, _ := spec.Marshal()
	fed2 := mcpconn.NewFederation(cat, mcpconn.Options{})
	defer fed2.Close()
	fed2.SaveAuth = fed.SaveAuth
	if err := fed2.Load("up", data); err != nil {
		t.Fatal(err)
	}
	op, _ = cat.Operation("up.echo")
	if _, err := op.Invoke(ctx, connectors.Call{Input: map[string]any{"text": "after restart"}}); err != nil {
		t.Fatalf("after restart: %v (AS refused: %v)", err, as.Refused())
	}
	// Tokens went to the upstream and nowhere in the logs.
	for _, h := range seen() {
		if h != "" && !strings.HasPrefix(h, "Bearer at-") {
			t.Fatalf("upstream saw %q", h)
		}
	}
	for _, tok := range issued {
		if strings.Contains(logs.String(), tok) {
			t.Fatalf("a token is in the log")
		}
	}
	// A refresh token the AS no longer honours: the call fails clearly,
	// without the token.
	bad := *cur.Auth
	bad.RefreshToken = "rt-revoked-zzzzzzzz"
	fed2.Close()
	cat3 := connectors.NewCatalog() // the closed federations' stragglers save into cat
	fed3 := mcpconn.NewFederation(cat3, mcpconn.Options{MaxRestarts: 1})
	defer fed3.Close()
	if err := fed3.Load("up", data); err != nil {
		t.Fatal(err)
	}
	if err := cat3.AddConnection(&connectors.Connection{Name: "up", Connector: "up", Auth: &bad}); err != nil {
		t.Fatal(err)
	}
	op, _ = cat3.Operation("up.echo")
	_, err = op.Invoke(ctx, connectors.Call{Input: map[string]any{"text": "x"}})
	if err == nil || !strings.Contains(err.Error(), "authorize again") || strings.Contains(err.Error(), "rt-revoked") {
		t.Fatalf("revoked grant: %v", err)
	}
}

// Client credentials where the authorization server allows it: the token
// endpoint is discovered, the client registered dynamically (or given),
// the resource indicator sent.
func TestOAuthClientCredentialsDiscovered(t *testing.T) {
	as := mcptest.NewOAuthServer(t, "authorization_code", "refresh_token", "client_credentials")
	mcpSrv, _ := mcptest.OAuthMCP(t, as)
	ctx := context.Background()
	res, err := mcpconn.Authorize(ctx, mcpconn.OAuthParams{URL: mcpSrv.URL + "/mcp", Grant: mcpconn.GrantClientCredentials, HTTPClient: loopbackClient()})
	if err != nil {
		t.Fatalf("%v (refused %v)", err, as.Refused())
	}
	a := res.Auth
	if a.Type != connectors.AuthClientCredentials || a.TokenURL != as.Srv.URL+"/token" || a.ClientSecret == "" {
		t.Fatalf("auth %+v", a)
	}
	cat := connectors.NewCatalog()
	fed := mcpconn.NewFederation(cat, mcpconn.Options{})
	defer fed.Close()
	if _, err := fed.Add(ctx, "cc", mcpconn.Spec{URL: mcpSrv.URL + "/mcp", AllowPrivate: true}, a); err != nil {
		t.Fatalf("%v (refused %v)", err, as.Refused())
	}
	// A given client that is not registered: refused, without its secret.
	_, err = mcpconn.Authorize(ctx, mcpconn.OAuthParams{URL: mcpSrv.URL + "/mcp", Grant: mcpconn.GrantClientCredentials, ClientID: "nobody", ClientSecret: "given-s3cret", HTTPClient: loopbackClient()})
	if err == nil || strings.Contains(err.Error(), "given-s3cret") {
		t.Fatalf("unknown client: %v", err)
	}
	// A server that does not allow client_credentials says so.
	as2 := mcptest.NewOAuthServer(t, "authorization_code", "refresh_token")
	mcp2, _ := mcptest.OAuthMCP(t, as2)
	_, err = mcpconn.Authorize(ctx, mcpconn.OAuthParams{URL: mcp2.URL + "/mcp", Grant: mcpconn.GrantClientCredentials, HTTPClient: loopbackClient()})
	if err == nil || !strings.Contains(err.Error(), "does not allow client_credentials") {
		t.Fatalf("grant not allowed: %v", err)
	}
	// An upstream that asks for no token needs no OAuth.
	open := httptest.NewServer(mcptest.Handler())
	defer open.Close()
	if _, err := mcpconn.Authorize(ctx, mcpconn.OAuthParams{URL: open.URL, HTTPClient: loopbackClient(), Open: func(string) error { return nil }}); err == nil || !strings.Contains(err.Error(), "needs no OAuth") {
		t.Fatalf("open upstream: %v", err)
	}
	// Refusal on the redirect (the user declined): the error says so.
	as3 := mcptest.NewOAuthServer(t, "authorization_code", "refresh_token")
	mcp3, _ := mcptest.OAuthMCP(t, as3)
	_, err = mcpconn.Authorize(ctx, mcpconn.OAuthParams{URL: mcp3.URL + "/mcp", HTTPClient: loopbackClient(), Open: func(u string) error {
		pu, _ := url.Parse(u)
		go http.Get(pu.Query().Get("redirect_uri") + "?error=access_denied&error_description=the+user+said+no")
		return nil
	}})
	if err == nil || !strings.Contains(err.Error(), "access_denied: the user said no") {
		t.Fatalf("declined: %v", err)
	}
}

// An OAuth access token goes to the upstream's origin only: a redirect to
// another origin is followed without it.
func TestOAuthTokenNotSentOnRedirect(t *testing.T) {
	as := mcptest.NewOAuthServer(t, "client_credentials")
	mcpSrv, _ := mcptest.OAuthMCP(t, as)
	var mu sync.Mutex
	var elsewhere []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		elsewhere = append(elsewhere, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Error(w, "not here", http.StatusUnauthorized)
	}))
	defer other.Close()
	// The upstream's URL answers 307 to the other origin.
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/mcp", http.StatusTemporaryRedirect)
	}))
	defer redir.Close()
	as.AddClient("weft", "cs")
	as.SetResource(redir.URL + "/mcp")
	cat := connectors.NewCatalog()
	fed := mcpconn.NewFederation(cat, mcpconn.Options{MaxRestarts: 1})
	defer fed.Close()
	a := &connectors.Auth{Type: connectors.AuthClientCredentials, TokenURL: as.Srv.URL + "/token", ClientID: "weft", ClientSecret: "cs"}
	_, err := fed.Add(context.Background(), "r", mcpconn.Spec{URL: redir.URL + "/mcp", AllowPrivate: true}, a)
	if err == nil {
		t.Fatal("want the add to fail (the other origin refuses)")
	}
	n := len(as.Issued())
	mu.Lock()
	defer mu.Unlock()
	if n == 0 || len(elsewhere) == 0 {
		t.Fatalf("%d tokens issued, %d requests elsewhere: the redirect was not exercised", n, len(elsewhere))
	}
	for _, h := range elsewhere {
		if h != "" {
			t.Fatalf("the other origin got Authorization %q", h)
		}
	}
	_ = mcpSrv
}

// authorizeFor runs add-mcp --oauth's flow against as with grant
// (authorization code with this test as the browser, or client
// credentials) and returns a federation holding the upstream as "up".
func authorizeFor(t *testing.T, as *mcptest.OAuthServer, mcpURL, grant string) (*connectors.Catalog, *connectors.Operation) {
	t.Helper()
	ctx := context.Background()
	p := mcpconn.OAuthParams{URL: mcpURL, HTTPClient: loopbackClient()}
	if grant == mcpconn.GrantClientCredentials {
		p.Grant = grant
	} else {
		opened := 0
		p.Open = browser(&opened)
	}
	res, err := mcpconn.Authorize(ctx, p)
	if err != nil {
		t.Fatalf("%v (refused %v)", err, as.Refused())
	}
	cat := connectors.NewCatalog()
	fed := mcpconn.NewFederation(cat, mcpconn.Options{})
	t.Cleanup(fed.Close)
	if _, err := fed.Add(ctx, "up", mcpconn.Spec{URL: mcpURL, AllowPrivate: true}, res.Auth); err != nil {
		t.Fatalf("%v (refused %v)", err, as.Refused())
	}
	if err := cat.AddConnection(&connectors.Connection{Name: "up", Connector: "up", Auth: res.Auth}); err != nil {
		t.Fatal(err)
	}
	op, _ := cat.Operation("up.echo")
	return cat, op
}

// accessTokens counts the access tokens among issued ones.
func accessTokens(issued []string) int {
	n := 0
	for _, s := range issued {
		if strings.HasPrefix(s, "at-") {
			n++
		}
	}
	return n
}

// An access token the upstream refuses before its stated expiry (401) is
// renewed once from the grant and the call sent again; an upstream that
// refuses every token fails the call after that one renewal (no loop),
// saying so, and the connection works again once the upstream does.
func TestOAuthTokenRefusedEarlyIsRenewedOnce(t *testing.T) {
	for _, grant := range []string{mcpconn.GrantClientCredentials, "authorization_code"} {
		t.Run(grant, func(t *testing.T) {
			as := mcptest.NewOAuthServer(t, "authorization_code", "refresh_token", "client_credentials")
			mcpSrv, seen := mcptest.OAuthMCP(t, as)
			_, op := authorizeFor(t, as, mcpSrv.URL+"/mcp", grant)
			ctx := context.Background()
			call := func(text string) error {
				out, err := op.Invoke(ctx, connectors.Call{Input: map[string]any{"text": text}})
				if err == nil {
					if m, _ := out.(map[string]any); m["text"] != text {
						t.Fatalf("echo: %#v", out)
					}
				}
				return err
			}
			if err := call("first"); err != nil {
				t.Fatal(err)
			}
			before := accessTokens(as.Issued())
			as.RevokeAccess() // the cached token (an hour left) is refused from now
			if err := call("after revocation"); err != nil {
				t.Fatalf("after an early 401: %v (refused %v)", err, as.Refused())
			}
			if got := accessTokens(as.Issued()) - before; got != 1 {
				t.Fatalf("%d access tokens fetched for one early 401, want 1", got)
			}

			as.RefuseAll(true)
			before, sent := accessTokens(as.Issued()), len(seen())
			err := call("refused")
			if err == nil || !strings.Contains(err.Error(), "refused the connection's access token (401) even after it was renewed") {
				t.Fatalf("every token refused: %v", err)
			}
			if got := accessTokens(as.Issued()) - before; got != 1 {
				t.Fatalf("%d access tokens fetched for a call the upstream refuses, want 1 (one renewal, no loop)", got)
			}
			posts := 0
			for _, h := range seen()[sent:] {
				if strings.HasPrefix(h, "Bearer at-") {
					posts++
				}
			}
			if posts > 3 { // the call, its one resend, and the session's DELETE
				t.Fatalf("%d requests for one refused call", posts)
			}
			as.RefuseAll(false)
			if err := call("again"); err != nil {
				t.Fatalf("after the upstream takes tokens again: %v", err)
			}
		})
	}
}

// Step-up authorization: an upstream's 403 insufficient_scope naming the
// scope it needs. Under client credentials Weft asks for a token with that
// scope added and sends the call again (and keeps asking for it); under a
// user's grant (a refresh token cannot widen it) the call fails naming the
// scope and the command that authorizes again with it.
func TestOAuthInsufficientScope(t *testing.T) {
	ctx := context.Background()
	as := mcptest.NewOAuthServer(t, "authorization_code", "refresh_token", "client_credentials")
	mcpSrv, _ := mcptest.OAuthMCP(t, as)
	_, op := authorizeFor(t, as, mcpSrv.URL+"/mcp", mcpconn.GrantClientCredentials)
	if _, err := op.Invoke(ctx, connectors.Call{Input: map[string]any{"text": "x"}}); err != nil {
		t.Fatal(err)
	}
	as.RequireScope("admin")
	before := accessTokens(as.Issued())
	for i := range 3 {
		if _, err := op.Invoke(ctx, connectors.Call{Input: map[string]any{"text": "x"}}); err != nil {
			t.Fatalf("call %d with the scope required: %v (refused %v)", i, err, as.Refused())
		}
	}
	if got := accessTokens(as.Issued()) - before; got != 1 {
		t.Fatalf("%d tokens fetched: want one, with the scope added, then reused", got)
	}

	as2 := mcptest.NewOAuthServer(t, "authorization_code", "refresh_token")
	mcp2, _ := mcptest.OAuthMCP(t, as2)
	_, op2 := authorizeFor(t, as2, mcp2.URL+"/mcp", "authorization_code")
	as2.RequireScope("admin")
	before = accessTokens(as2.Issued())
	_, err := op2.Invoke(ctx, connectors.Call{Input: map[string]any{"text": "x"}})
	if err == nil || !strings.Contains(err.Error(), `needs OAuth scope "tools admin"`) || !strings.Contains(err.Error(), `--oauth --scopes "tools admin"`) {
		t.Fatalf("step-up under a user's grant: %v", err)
	}
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Class != connectors.Permanent || ce.Status != 403 {
		t.Fatalf("want a permanent 403 error: %#v", err)
	}
	if got := accessTokens(as2.Issued()) - before; got != 0 {
		t.Fatalf("%d tokens fetched for a scope a refresh cannot add", got)
	}
}

// A static bearer token the upstream refuses cannot be renewed: the
// request is not sent again and the error says what to do.
func TestBearerTokenRefused(t *testing.T) {
	as := mcptest.NewOAuthServer(t, "authorization_code", "refresh_token")
	mcpSrv, seen := mcptest.OAuthMCP(t, as)
	fed := mcpconn.NewFederation(connectors.NewCatalog(), mcpconn.Options{})
	defer fed.Close()
	_, err := fed.Add(context.Background(), "up", mcpconn.Spec{URL: mcpSrv.URL + "/mcp", AllowPrivate: true}, &connectors.Auth{Type: connectors.AuthBearer, Token: "at-not-issued"})
	if err == nil || !strings.Contains(err.Error(), "a static token cannot be renewed") || strings.Contains(err.Error(), "at-not-issued") {
		t.Fatalf("refused bearer token: %v", err)
	}
	// The SDK's connect sends server/discover, then initialize (the
	// older era's fallback): each once, none sent again.
	if n := len(seen()); n > 2 {
		t.Fatalf("the upstream got %d requests for one refused token: %q", n, seen())
	}
}
