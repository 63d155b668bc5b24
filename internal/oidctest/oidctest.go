// Package oidctest starts a real OpenID provider for tests: zitadel's
// maintained OP implementation (github.com/zitadel/oidc/v3/pkg/op) over a
// small in-memory storage of users, auth requests and tokens. It serves
// discovery, the authorization and token endpoints (code with PKCE,
// refresh tokens with rotation), userinfo, JWKS and end_session; its login
// step is a form the test submits.
package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// User is a user of the test provider.
type User struct {
	Subject  string
	Username string
	Email    string
	Groups   []string
}

// Provider is a running test OpenID provider.
type Provider struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	server       *httptest.Server
	op           *op.Provider
	st           *storage
}

// Options configure a test provider.
type Options struct {
	RedirectURIs        []string      // the client's registered redirect URIs
	PostLogoutURIs      []string      // where end_session may send the browser back to
	AccessTokenLifetime time.Duration // default 1h
	IDTokenLifetime     time.Duration // default 1h
	Users               []User
}

// Start starts a provider; it stops with the test.
func Start(t testing.TB, o Options) *Provider {
	t.Helper()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// New starts a provider on a loopback port; Close stops it.
func New(o Options) (*Provider, error) {
	if o.AccessTokenLifetime == 0 {
		o.AccessTokenLifetime = time.Hour
	}
	if o.IDTokenLifetime == 0 {
		o.IDTokenLifetime = time.Hour
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	st := &storage{
		users:    map[string]*User{},
		requests: map[string]*authRequest{},
		codes:    map[string]string{},
		access:   map[string]*token{},
		refresh:  map[string]*token{},
		key:      key,
		keyID:    randomID(),
		atLife:   o.AccessTokenLifetime,
	}
	for _, u := range o.Users {
		u := u
		st.users[u.Subject] = &u
	}
	p := &Provider{ClientID: "weft", ClientSecret: "weft-client-secret-" + randomID(), st: st}
	st.client = &client{id: p.ClientID, secret: p.ClientSecret, redirects: o.RedirectURIs, postLogout: o.PostLogoutURIs, idLife: o.IDTokenLifetime}

	var handler http.Handler = http.NotFoundHandler()
	var mu sync.RWMutex
	p.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.RLock()
		h := handler
		mu.RUnlock()
		h.ServeHTTP(w, r)
	}))
	p.Issuer = p.server.URL
	st.issuer = p.Issuer

	var cryptoKey [32]byte
	_, _ = rand.Read(cryptoKey[:])
	p.op, err = op.NewProvider(&op.Config{CryptoKey: cryptoKey, CodeMethodS256: true, AuthMethodPost: true, GrantTypeRefreshToken: true,
		DefaultLogoutRedirectURI: "/logged-out"}, st, op.StaticIssuer(p.Issuer), op.WithAllowInsecure())
	if err != nil {
		p.server.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", p.login)
	mux.HandleFunc("/logged-out", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("signed out")) })
	mux.Handle("/", p.op)
	mu.Lock()
	handler = mux
	mu.Unlock()
	return p, nil
}

// Close stops the provider.
func (p *Provider) Close() { p.server.Close() }

// SetGroups changes a user's groups (seen at the next token issue).
func (p *Provider) SetGroups(subject string, groups ...string) {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	p.st.users[subject].Groups = groups
}

// RevokeRefreshTokens revokes every refresh token of a user.
func (p *Provider) RevokeRefreshTokens(subject string) {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	for k, t := range p.st.refresh {
		if t.subject == subject {
			delete(p.st.refresh, k)
		}
	}
}

// Refreshes counts the refresh-token grants served.
func (p *Provider) Refreshes() int {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	return p.st.refreshes
}

// login is the provider's sign-in page: GET shows a form, POST (the test
// submits it) signs the named user in and continues the OIDC flow.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := r.Form.Get("authRequestID")
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>Test provider</title><form method="post" action="/login"><input type="hidden" name="authRequestID" value="%s">`+
			`<label>Username <input name="username"></label><button>Sign in</button></form>`, html.EscapeString(id))
		return
	}
	if err := p.st.done(id, r.Form.Get("username")); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	http.Redirect(w, r, op.AuthCallbackURL(p.op)(op.ContextWithIssuer(r.Context(), p.Issuer), id), http.StatusFound)
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// --- storage -------------------------------------------------------------

type authRequest struct {
	id        string
	req       oidc.AuthRequest
	subject   string
	authTime  time.Time
	done      bool
	createdAt time.Time
}

func (a *authRequest) GetID() string                      { return a.id }
func (a *authRequest) GetACR() string                     { return "" }
func (a *authRequest) GetAMR() []string                   { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string              { return []string{a.req.ClientID} }
func (a *authRequest) GetAuthTime() time.Time             { return a.authTime }
func (a *authRequest) GetClientID() string                { return a.req.ClientID }
func (a *authRequest) GetNonce() string                   { return a.req.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.req.RedirectURI }
func (a *authRequest) GetScopes() []string                { return a.req.Scopes }
func (a *authRequest) GetState() string                   { return a.req.State }
func (a *authRequest) GetSubject() string                 { return a.subject }
func (a *authRequest) Done() bool                         { return a.done }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.req.ResponseMode }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.req.ResponseType }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.req.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: a.req.CodeChallengeMethod}
}

// token is an access or refresh token's record.
type token struct {
	id       string
	subject  string
	clientID string
	audience []string
	scopes   []string
	authTime time.Time
	amr      []string
	expires  time.Time
}

// refreshRequest is what a refresh token stands for.
type refreshRequest struct{ t *token }

func (r *refreshRequest) GetAMR() []string                 { return r.t.amr }
func (r *refreshRequest) GetAudience() []string            { return r.t.audience }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.t.authTime }
func (r *refreshRequest) GetClientID() string              { return r.t.clientID }
func (r *refreshRequest) GetScopes() []string              { return r.t.scopes }
func (r *refreshRequest) GetSubject() string               { return r.t.subject }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.t.scopes = scopes }

type storage struct {
	mu        sync.Mutex
	issuer    string
	client    *client
	users     map[string]*User
	requests  map[string]*authRequest
	codes     map[string]string // code -> auth request id
	access    map[string]*token
	refresh   map[string]*token // refresh token -> its grant
	key       *rsa.PrivateKey
	keyID     string
	atLife    time.Duration
	refreshes int
}

var errNotFound = errors.New("not found")

func (s *storage) done(id, username string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok {
		return errors.New("unknown auth request")
	}
	for _, u := range s.users {
		if u.Username == username {
			a.subject, a.done, a.authTime = u.Subject, true, time.Now()
			return nil
		}
	}
	return errors.New("unknown user")
}

func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &authRequest{id: randomID(), req: *req, subject: userID, createdAt: time.Now()}
	s.requests[a.id] = a
	return a, nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.requests[id]; ok {
		return a, nil
	}
	return nil, errNotFound
}

func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.requests[s.codes[code]]; ok {
		return a, nil
	}
	return nil, errNotFound
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for c, rid := range s.codes {
		if rid == id {
			delete(s.codes, c)
		}
	}
	return nil
}

func grantOf(req op.TokenRequest) (clientID string, authTime time.Time, amr []string) {
	switch r := req.(type) {
	case op.AuthRequest:
		return r.GetClientID(), r.GetAuthTime(), r.GetAMR()
	case op.RefreshTokenRequest:
		return r.GetClientID(), r.GetAuthTime(), r.GetAMR()
	}
	return "", time.Time{}, nil
}

func (s *storage) newAccess(req op.TokenRequest) *token {
	clientID, authTime, amr := grantOf(req)
	t := &token{id: randomID(), subject: req.GetSubject(), clientID: clientID, audience: req.GetAudience(), scopes: req.GetScopes(),
		authTime: authTime, amr: amr, expires: time.Now().Add(s.atLife)}
	s.access[t.id] = t
	return t
}

func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.newAccess(req)
	return t.id, t.expires, nil
}

func (s *storage) CreateAccessAndRefreshTokens(_ context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if current != "" {
		if _, ok := s.refresh[current]; !ok {
			return "", "", time.Time{}, oidc.ErrInvalidGrant()
		}
		delete(s.refresh, current) // rotation: a refresh token is good once
		s.refreshes++
	}
	t := s.newAccess(req)
	rt := "rt-" + randomID()
	grant := *t
	s.refresh[rt] = &grant
	return t.id, rt, t.expires, nil
}

func (s *storage) TokenRequestByRefreshToken(_ context.Context, rt string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[rt]
	if !ok {
		return nil, oidc.ErrInvalidGrant().WithDescription("unknown or revoked refresh token")
	}
	cp := *t
	return &refreshRequest{t: &cp}, nil
}

func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.refresh {
		if t.subject == userID && t.clientID == clientID {
			delete(s.refresh, k)
		}
	}
	return nil
}

func (s *storage) RevokeToken(_ context.Context, tok, userID, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.refresh, tok)
	delete(s.access, tok)
	return nil
}

func (s *storage) GetRefreshTokenInfo(_ context.Context, clientID, tok string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.refresh[tok]; ok {
		return t.subject, tok, nil
	}
	return "", "", op.ErrInvalidRefreshToken
}

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

type publicKey struct{ signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.key.PublicKey }

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return signingKey{s.keyID, s.key}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{signingKey{s.keyID, s.key}}}, nil
}

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != s.client.id {
		return nil, errors.New("unknown client")
	}
	return s.client, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	if id != s.client.id || secret != s.client.secret {
		return errors.New("wrong client credentials")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in op; SetUserinfoFromRequest does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) setUserinfo(ui *oidc.UserInfo, subject string, scopes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[subject]
	if !ok {
		return errors.New("unknown user")
	}
	ui.Subject = u.Subject
	if slices.Contains(scopes, oidc.ScopeProfile) {
		ui.PreferredUsername = u.Username
	}
	if slices.Contains(scopes, oidc.ScopeEmail) {
		ui.Email = u.Email
	}
	ui.AppendClaims("groups", slices.Clone(u.Groups))
	return nil
}

func (s *storage) SetUserinfoFromRequest(_ context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.setUserinfo(ui, req.GetSubject(), scopes)
}

func (s *storage) SetUserinfoFromToken(_ context.Context, ui *oidc.UserInfo, tokenID, subject, origin string) error {
	s.mu.Lock()
	t, ok := s.access[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(t.expires) {
		return errors.New("access token expired or unknown")
	}
	return s.setUserinfo(ui, t.subject, t.scopes)
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, in *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	s.mu.Lock()
	t, ok := s.access[tokenID]
	s.mu.Unlock()
	if !ok {
		return errors.New("unknown token")
	}
	in.Active, in.Subject, in.ClientID, in.Scope = true, t.subject, t.clientID, t.scopes
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("no client keys")
}

func (s *storage) ValidateJWTProfileScopes(_ context.Context, _ string, scopes []string) ([]string, error) {
	return scopes, nil
}

func (s *storage) Health(context.Context) error { return nil }

// --- client --------------------------------------------------------------

type client struct {
	id, secret string
	redirects  []string
	postLogout []string
	idLife     time.Duration
}

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.redirects }
func (c *client) PostLogoutRedirectURIs() []string    { return c.postLogout }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (c *client) LoginURL(id string) string            { return "/login?authRequestID=" + id }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return c.idLife }
func (c *client) DevMode() bool                        { return true } // http:// redirect URIs (httptest)
func (c *client) IsScopeAllowed(scope string) bool     { return scope == "groups" }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
