package mcpconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/weftio/weft/connectors"
)

// OAuth 2.1 to a Streamable HTTP upstream, as the MCP authorization spec
// has it: the upstream answers 401 with a WWW-Authenticate challenge naming
// its protected-resource metadata (RFC 9728); that names the authorization
// server, whose metadata (RFC 8414) gives the endpoints; a client without
// credentials registers dynamically (RFC 7591) when the server offers it;
// a person authorizes with the authorization code grant and PKCE (S256)
// through a redirect to a loopback address, or a client with credentials
// uses client_credentials where the server allows it. The result is a
// connection auth block (refresh token or client credentials), which the
// server seals like every other credential and renews tokens from.
//
// The authorization code leg is the official SDK's AuthorizationCodeHandler
// (discovery, registration, PKCE, the resource indicator of RFC 8707, the
// issuer check of RFC 9207); the client credentials leg uses its discovery
// functions and golang.org/x/oauth2.

// Grants of OAuthParams.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
)

// OAuthParams configure Authorize.
type OAuthParams struct {
	URL   string // the upstream's Streamable HTTP endpoint
	Grant string // GrantAuthorizationCode (default) or GrantClientCredentials
	// ClientID and ClientSecret of a client registered beforehand; empty:
	// dynamic client registration (the server must offer it).
	ClientID     string
	ClientSecret string
	Scopes       []string // empty: the scopes the challenge or metadata names
	// RedirectPort is the loopback port the authorization server
	// redirects to (0: a free one).
	RedirectPort int
	// Open shows the authorization URL to the person who authorizes
	// (opens a browser, prints it); the code arrives on the redirect.
	Open func(authURL string) error
	// HTTPClient reaches the upstream and the authorization server
	// (nil: one that refuses private and loopback addresses).
	HTTPClient *http.Client
	// Wait bounds the wait for the redirect (default 5 minutes).
	Wait time.Duration
}

// OAuthResult is what Authorize obtained.
type OAuthResult struct {
	Auth     *connectors.Auth // to store as the connection's auth (sealed)
	Issuer   string           // the authorization server
	Resource string           // the protected resource (the upstream)
	Warning  string           // e.g. no refresh token was issued
}

const maxProbeBody = 64 << 10

// Authorize runs the OAuth flow against the upstream at p.URL and returns
// the auth block to store. It is what `weft connector add-mcp --oauth`
// runs on the operator's machine (the browser is there); the server then
// renews tokens alone.
func Authorize(ctx context.Context, p OAuthParams) (*OAuthResult, error) {
	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url %q: want an absolute http(s) URL", p.URL)
	}
	hc := p.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: guardedTransport(false, nil), Timeout: 30 * time.Second}
	}
	if p.Grant == "" {
		p.Grant = GrantAuthorizationCode
	}
	if p.Wait <= 0 {
		p.Wait = 5 * time.Minute
	}
	req, resp, err := probe(ctx, hc, p.URL)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch p.Grant {
	case GrantClientCredentials:
		return clientCredentials(ctx, hc, p, resp)
	case GrantAuthorizationCode:
		return authorizationCode(ctx, hc, p, req, resp)
	}
	return nil, fmt.Errorf("grant %q: want %s or %s", p.Grant, GrantAuthorizationCode, GrantClientCredentials)
}

// probe sends an initialize request without a token: an upstream that
// wants OAuth answers 401 with its challenge.
func probe(ctx context.Context, hc *http.Client, endpoint string) (*http.Request, *http.Response, error) {
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"weft","version":"1"}}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("reaching %s: %v", endpoint, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return req, resp, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody))
	resp.Body.Close()
	if resp.StatusCode < 300 {
		return nil, nil, fmt.Errorf("%s answered without asking for a token (HTTP %d): it needs no OAuth; add it without --oauth", endpoint, resp.StatusCode)
	}
	return nil, nil, fmt.Errorf("%s answered HTTP %d to an initialize request, not 401 with an OAuth challenge", endpoint, resp.StatusCode)
}

// discover finds the protected resource's metadata (from the challenge's
// resource_metadata, else the well-known URLs) and its first authorization
// server's metadata.
func discover(ctx context.Context, hc *http.Client, endpoint string, resp *http.Response) (*oauthex.ProtectedResourceMetadata, *oauthex.AuthServerMeta, []string, error) {
	challenges, err := oauthex.ParseWWWAuthenticate(resp.Header.Values("WWW-Authenticate"))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the upstream's WWW-Authenticate header: %v", err)
	}
	var metaURL string
	var scopes []string
	for _, c := range challenges {
		if c.Scheme != "bearer" {
			continue
		}
		if v := c.Params["resource_metadata"]; v != "" && metaURL == "" {
			metaURL = v
		}
		if v := c.Params["scope"]; v != "" && scopes == nil {
			scopes = strings.Fields(v)
		}
	}
	ru, _ := url.Parse(endpoint)
	cands := []string{}
	if metaURL != "" {
		cands = append(cands, metaURL)
	}
	wk := *ru
	wk.RawQuery, wk.Fragment = "", ""
	wk.Path = "/.well-known/oauth-protected-resource/" + strings.TrimLeft(ru.Path, "/")
	cands = append(cands, wk.String())
	var prm *oauthex.ProtectedResourceMetadata
	var lastErr error
	for _, c := range cands {
		prm, lastErr = oauthex.GetProtectedResourceMetadata(ctx, c, endpoint, hc)
		if lastErr == nil && prm != nil {
			break
		}
		prm = nil
	}
	if prm == nil {
		if lastErr == nil {
			lastErr = errors.New("not found")
		}
		return nil, nil, nil, fmt.Errorf("protected resource metadata (RFC 9728) of %s: %v", endpoint, lastErr)
	}
	if len(prm.AuthorizationServers) == 0 {
		return nil, nil, nil, fmt.Errorf("the protected resource metadata of %s names no authorization server", endpoint)
	}
	asm, err := auth.GetAuthServerMetadata(ctx, prm.AuthorizationServers[0], hc)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("authorization server metadata (RFC 8414) of %s: %v", prm.AuthorizationServers[0], err)
	}
	if asm == nil {
		return nil, nil, nil, fmt.Errorf("authorization server %s publishes no metadata (RFC 8414)", prm.AuthorizationServers[0])
	}
	if scopes == nil {
		scopes = prm.ScopesSupported
	}
	return prm, asm, scopes, nil
}

func clientCredentials(ctx context.Context, hc *http.Client, p OAuthParams, resp *http.Response) (*OAuthResult, error) {
	prm, asm, scopes, err := discover(ctx, hc, p.URL, resp)
	if err != nil {
		return nil, err
	}
	if len(asm.GrantTypesSupported) > 0 && !slices.Contains(asm.GrantTypesSupported, GrantClientCredentials) {
		return nil, fmt.Errorf("authorization server %s does not allow client_credentials (it lists %s); use the authorization code grant", asm.Issuer, strings.Join(asm.GrantTypesSupported, ", "))
	}
	if len(p.Scopes) > 0 {
		scopes = p.Scopes
	}
	id, secret := p.ClientID, p.ClientSecret
	if id == "" {
		if asm.RegistrationEndpoint == "" {
			return nil, fmt.Errorf("authorization server %s offers no dynamic client registration: give --client-id and --client-secret-file", asm.Issuer)
		}
		reg, err := oauthex.RegisterClient(ctx, asm.RegistrationEndpoint, &oauthex.ClientRegistrationMetadata{
			RedirectURIs: []string{}, ClientName: "Weft", GrantTypes: []string{GrantClientCredentials},
			TokenEndpointAuthMethod: "client_secret_basic", Scope: strings.Join(scopes, " ")}, hc)
		if err != nil {
			return nil, fmt.Errorf("dynamic client registration at %s: %v", asm.RegistrationEndpoint, err)
		}
		if reg.ClientSecret == "" {
			return nil, fmt.Errorf("dynamic client registration at %s issued no client secret, which client_credentials needs", asm.RegistrationEndpoint)
		}
		id, secret = reg.ClientID, reg.ClientSecret
	} else if secret == "" {
		return nil, fmt.Errorf("client_credentials needs the client's secret (--client-secret-file)")
	}
	a := &connectors.Auth{Type: connectors.AuthClientCredentials, TokenURL: asm.TokenEndpoint, ClientID: id, ClientSecret: secret, Scopes: scopes}
	// One token now, so a mistake shows here rather than on the server.
	if _, err := ccConfig(a, prm.Resource).Token(context.WithValue(ctx, oauth2.HTTPClient, hc)); err != nil {
		return nil, fmt.Errorf("token from %s: %s", asm.TokenEndpoint, redact(err.Error(), secret))
	}
	return &OAuthResult{Auth: a, Issuer: asm.Issuer, Resource: prm.Resource}, nil
}

// ccConfig is the client credentials grant of a, with the resource
// indicator (RFC 8707) when known.
func ccConfig(a *connectors.Auth, resource string) *clientcredentials.Config {
	c := &clientcredentials.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret, TokenURL: a.TokenURL, Scopes: a.Scopes}
	if resource != "" {
		c.EndpointParams = url.Values{"resource": {resource}}
	}
	return c
}

func authorizationCode(ctx context.Context, hc *http.Client, p OAuthParams, req *http.Request, resp *http.Response) (*OAuthResult, error) {
	if p.Open == nil {
		return nil, errors.New("the authorization code grant needs a way to show the authorization URL")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.RedirectPort)))
	if err != nil {
		return nil, fmt.Errorf("listening for the OAuth redirect on 127.0.0.1:%d: %v", p.RedirectPort, err)
	}
	defer ln.Close()
	redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", ln.Addr().(*net.TCPAddr).Port)
	got := make(chan *auth.AuthorizationResult, 1)
	failed := make(chan error, 1)
	var once sync.Once
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if e := q.Get("error"); e != "" {
			msg := e
			if d := q.Get("error_description"); d != "" {
				msg += ": " + d
			}
			msg = bound(msg, 300)
			once.Do(func() { failed <- fmt.Errorf("the authorization server refused: %s", msg) })
			fmt.Fprintf(w, "<p>Weft was not authorized: %s</p>", html.EscapeString(msg))
			return
		}
		if q.Get("code") == "" || q.Get("state") == "" {
			http.Error(w, "missing code or state", http.StatusBadRequest)
			return
		}
		once.Do(func() {
			got <- &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}
		})
		fmt.Fprint(w, "<p>Weft is authorized. You can close this window.</p>")
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	var mu sync.Mutex
	var cfg *oauth2.Config
	var tok *oauth2.Token
	hcfg := &auth.AuthorizationCodeHandlerConfig{
		RedirectURL:         redirect,
		RequestRefreshToken: true,
		Client:              hc,
		AuthorizationCodeFetcher: func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			if err := p.Open(args.URL); err != nil {
				return nil, err
			}
			t := time.NewTimer(p.Wait)
			defer t.Stop()
			select {
			case r := <-got:
				return r, nil
			case err := <-failed:
				return nil, err
			case <-t.C:
				return nil, fmt.Errorf("no authorization arrived on %s within %s", redirect, p.Wait)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
		NewTokenSource: func(ctx context.Context, c *oauth2.Config, t *oauth2.Token) (oauth2.TokenSource, error) {
			mu.Lock()
			cfg, tok = c, t
			mu.Unlock()
			// The handler may renew at once (a short-lived token), which
			// rotates the refresh token: keep the latest.
			return &latest{src: c.TokenSource(ctx, t), keep: func(t *oauth2.Token) { mu.Lock(); tok = t; mu.Unlock() }}, nil
		},
	}
	if len(p.Scopes) > 0 {
		hcfg.ScopeFilter = func([]string) []string { return p.Scopes }
	}
	if p.ClientID != "" {
		pc := &oauthex.ClientCredentials{ClientID: p.ClientID}
		if p.ClientSecret != "" {
			pc.ClientSecretAuth = &oauthex.ClientSecretAuth{ClientSecret: p.ClientSecret}
		}
		hcfg.PreregisteredClient = pc
	} else {
		hcfg.DynamicClientRegistrationConfig = &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			RedirectURIs: []string{redirect}, ClientName: "Weft", TokenEndpointAuthMethod: "none",
			GrantTypes: []string{GrantAuthorizationCode, "refresh_token"}, ResponseTypes: []string{"code"}}}
	}
	h, err := auth.NewAuthorizationCodeHandler(hcfg)
	if err != nil {
		return nil, err
	}
	// The handler reads the challenge from the 401 (and closes its body).
	if err := h.Authorize(ctx, req, resp); err != nil {
		msg := err.Error()
		if strings.Contains(msg, "registration") || strings.Contains(msg, "no client") {
			msg += " (the authorization server offers no dynamic client registration? give --client-id)"
		}
		return nil, fmt.Errorf("OAuth authorization: %s", redact(msg, p.ClientSecret))
	}
	mu.Lock()
	defer mu.Unlock()
	if cfg == nil || tok == nil {
		return nil, errors.New("OAuth authorization returned no token")
	}
	res := &OAuthResult{Issuer: cfg.Endpoint.AuthURL}
	if tok.RefreshToken != "" {
		res.Auth = &connectors.Auth{Type: connectors.AuthRefreshToken, TokenURL: cfg.Endpoint.TokenURL, ClientID: cfg.ClientID,
			ClientSecret: cfg.ClientSecret, RefreshToken: tok.RefreshToken, Scopes: cfg.Scopes}
		return res, nil
	}
	res.Auth = &connectors.Auth{Type: connectors.AuthBearer, Token: tok.AccessToken}
	res.Warning = "the authorization server issued no refresh token: the access token is stored as a bearer token"
	if !tok.Expiry.IsZero() {
		res.Warning += " and stops working at " + tok.Expiry.UTC().Format(time.RFC3339) + " (then run add-mcp --oauth again)"
	}
	return res, nil
}

// latest passes on a token source's tokens, keeping the last.
type latest struct {
	src  oauth2.TokenSource
	keep func(*oauth2.Token)
}

func (l *latest) Token() (*oauth2.Token, error) {
	t, err := l.src.Token()
	if err == nil {
		l.keep(t)
	}
	return t, err
}

// redact removes secrets from a message.
func redact(msg string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[REDACTED]")
		}
	}
	return msg
}

func bound(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// ccSource is a client-credentials token source asking for the auth's
// scopes and those upstreams asked for since (r.mu held).
func (r *rotatingSource) ccSource(ctx context.Context, a *connectors.Auth, resource string) oauth2.TokenSource {
	c := ccConfig(a, resource)
	c.Scopes = slices.Clone(c.Scopes)
	for _, s := range r.extra {
		if !slices.Contains(c.Scopes, s) {
			c.Scopes = append(c.Scopes, s)
		}
	}
	return c.TokenSource(ctx)
}

// rotatingSource renews tokens from a stored auth block and reports a
// refresh token the server rotated, so it can be stored (sealed) in place
// of the old one, which the server no longer honours (OAuth 2.1 rotates a
// public client's refresh tokens).
type rotatingSource struct {
	mu      sync.Mutex
	key     string          // the auth's identity: type, endpoint, client, scopes
	refresh string          // the refresh token the source holds now
	seen    map[string]bool // refresh tokens this source started from or rotated through
	src     oauth2.TokenSource
	last    string   // the access token handed out last
	extra   []string // scopes an upstream asked for (403 insufficient_scope) beyond the auth's
	stale   bool     // the upstream refused last: the next token is a new one
}

// maxExtraScopes bounds the scopes upstreams may add to a grant.
const maxExtraScopes = 16

// renew marks access token stale as refused by the upstream, with the
// scopes it named when it wanted more; true when the next token will be a
// new one. Only the token handed out last is renewed (concurrent refusals
// of one token renew it once), and a scope is added once: an upstream
// that refuses every token cannot make Weft ask the authorization server
// in a loop, because each request is sent at most twice.
func (r *rotatingSource) renew(stale string, scope []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.src == nil {
		return false
	}
	if stale != r.last {
		return true // renewed already since stale was handed out
	}
	for _, s := range scope {
		if !slices.Contains(r.extra, s) {
			if len(r.extra) >= maxExtraScopes {
				return false
			}
			r.extra = append(r.extra, s)
		}
	}
	r.stale = true
	return true
}

func authKey(a *connectors.Auth) string {
	var b bytes.Buffer
	for _, s := range append([]string{a.Type, a.TokenURL, a.ClientID, a.ClientSecret}, a.Scopes...) {
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.String()
}

// token returns an access token of a; rotated is the new refresh token
// when the server issued one ("": unchanged). A stored auth that lags
// behind a rotation not saved yet is not a new credential: only another
// client, endpoint or a refresh token this source never held starts anew.
func (r *rotatingSource) token(hc *http.Client, a *connectors.Auth, resource string) (access, rotated string, err error) {
	r.mu.Lock()
	key := authKey(a)
	tctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	switch {
	case r.src == nil || key != r.key || (a.Type == connectors.AuthRefreshToken && !r.seen[a.RefreshToken]):
		if key != r.key {
			r.extra = nil
		}
		if a.Type == connectors.AuthClientCredentials {
			r.src = r.ccSource(tctx, a, resource)
		} else {
			r.src = (&oauth2.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret, Endpoint: oauth2.Endpoint{TokenURL: a.TokenURL}, Scopes: a.Scopes}).TokenSource(tctx, &oauth2.Token{RefreshToken: a.RefreshToken})
		}
		r.key, r.refresh, r.seen = key, a.RefreshToken, map[string]bool{a.RefreshToken: true}
	case r.stale:
		// The upstream refused the cached token before its expiry: a new
		// one from the grant (the refresh token held now, rotated or not).
		if a.Type == connectors.AuthClientCredentials {
			r.src = r.ccSource(tctx, a, resource)
		} else {
			r.src = (&oauth2.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret, Endpoint: oauth2.Endpoint{TokenURL: a.TokenURL}, Scopes: a.Scopes}).TokenSource(tctx, &oauth2.Token{RefreshToken: r.refresh})
		}
	}
	r.stale = false
	src := r.src
	r.mu.Unlock()
	tok, err := src.Token()
	if err != nil {
		return "", "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if src == r.src {
		r.last = tok.AccessToken
	}
	if a.Type == connectors.AuthRefreshToken && tok.RefreshToken != "" && tok.RefreshToken != r.refresh && src == r.src {
		if len(r.seen) >= 64 {
			r.seen = map[string]bool{a.RefreshToken: true, r.refresh: true}
		}
		r.refresh = tok.RefreshToken
		r.seen[tok.RefreshToken] = true
		rotated = tok.RefreshToken
	}
	return tok.AccessToken, rotated, nil
}
