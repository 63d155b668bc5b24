// Package sso is Weft's single sign-on with OpenID Connect: the
// authorization code flow with PKCE against a configured provider, the
// verification of its ID tokens (go-oidc), the refresh of its tokens, and
// the mapping of the provider's groups to Weft roles. It talks to the
// provider and decides who signed in with which roles; it never serves HTTP
// (gateway does) and never stores anything (access.Directory does).
package sso

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
)

// DefaultGroupsClaim is the ID token claim read for group names.
const DefaultGroupsClaim = "groups"

// DefaultScopes are requested unless scopes is set.
var DefaultScopes = []string{oidc.ScopeOpenID, "profile", "email"}

// Bounds on what a provider's token may carry.
const (
	maxGroups     = 1000
	maxGroupBytes = 256
)

// RoleMapping gives the members of a provider group a role in a namespace.
type RoleMapping struct {
	Group     string `yaml:"group" json:"group"`
	Role      string `yaml:"role" json:"role"`
	Namespace string `yaml:"namespace" json:"namespace"` // default "default"; "*" for every namespace
}

// Config is the oidc section of the config file.
type Config struct {
	Issuer string `yaml:"issuer"` // e.g. https://login.example.com/realms/acme
	// ClientID and the client secret that the provider issued to Weft. The
	// secret is read from an environment variable or a file, never from
	// the config file itself.
	ClientID         string `yaml:"client_id"`
	ClientSecretEnv  string `yaml:"client_secret_env"`
	ClientSecretFile string `yaml:"client_secret_file"`
	// RedirectURL is Weft's callback as the browser reaches it:
	// https://weft.example.com/api/session/oidc/callback.
	RedirectURL string   `yaml:"redirect_url"`
	Scopes      []string `yaml:"scopes"`       // default openid profile email (add offline_access where the provider needs it for refresh tokens)
	GroupsClaim string   `yaml:"groups_claim"` // default "groups"
	// Roles maps groups to roles; a member of several mapped groups gets,
	// per namespace, the most powerful of their roles.
	Roles []RoleMapping `yaml:"roles"`
	// DefaultRole (in namespace "default") for a user none of whose groups
	// is mapped; empty: such a user is refused.
	DefaultRole string `yaml:"default_role"`
	// PostLogoutRedirectURL is where the provider sends the browser after
	// its own sign-out (default: the redirect URL's origin, "/").
	PostLogoutRedirectURL string `yaml:"post_logout_redirect_url"`

	ClientSecret string `yaml:"-"` // resolved from ClientSecretEnv or ClientSecretFile by the loader
}

// Check validates c (with its secret already resolved).
func (c *Config) Check() error {
	bad := func(format string, a ...any) error {
		return weft.Errorf(weft.EInvalid, "oidc."+format, a...)
	}
	u, err := url.Parse(c.Issuer)
	if c.Issuer == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return bad("issuer %q: use the provider's issuer URL, e.g. https://login.example.com/realms/acme", clip(c.Issuer, 200))
	}
	if c.ClientID == "" {
		return bad("client_id is required")
	}
	if c.ClientSecretEnv != "" && c.ClientSecretFile != "" {
		return bad("client_secret_env and client_secret_file: set one")
	}
	ru, err := url.Parse(c.RedirectURL)
	if c.RedirectURL == "" || err != nil || (ru.Scheme != "https" && ru.Scheme != "http") || ru.Host == "" || ru.Fragment != "" {
		return bad("redirect_url %q: use Weft's callback as browsers reach it, e.g. https://weft.example.com/api/session/oidc/callback", clip(c.RedirectURL, 200))
	}
	if c.PostLogoutRedirectURL != "" {
		if pu, err := url.Parse(c.PostLogoutRedirectURL); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return bad("post_logout_redirect_url %q: use an absolute http(s) URL", clip(c.PostLogoutRedirectURL, 200))
		}
	}
	if len(c.Scopes) > 0 && !slices.Contains(c.Scopes, oidc.ScopeOpenID) {
		return bad("scopes must include openid")
	}
	if len(c.Roles) == 0 && c.DefaultRole == "" {
		return bad("roles: map at least one group to a role (or set default_role)")
	}
	for i, m := range c.Roles {
		if m.Group == "" {
			return bad("roles[%d].group is required", i)
		}
		if !access.ValidRole(m.Role) {
			return bad("roles[%d].role %q: use one of %s", i, clip(m.Role, 40), strings.Join(access.Roles(), ", "))
		}
		if m.Namespace != "" && m.Namespace != access.AllNamespaces {
			if err := access.CheckName("namespace", m.Namespace); err != nil {
				return bad("roles[%d]: %v", i, weft.Message(err))
			}
		}
	}
	if c.DefaultRole != "" && !access.ValidRole(c.DefaultRole) {
		return bad("default_role %q: use one of %s", clip(c.DefaultRole, 40), strings.Join(access.Roles(), ", "))
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Identity is who the provider says signed in.
type Identity struct {
	Issuer  string   `json:"issuer"`
	Subject string   `json:"subject"`
	Name    string   `json:"name"` // preferred_username, else email, else ""
	Email   string   `json:"email,omitempty"`
	Groups  []string `json:"groups"`
}

// Tokens are the provider's tokens a Weft session keeps (server-side only).
type Tokens struct {
	RefreshToken string    `json:"refresh_token,omitempty"`
	IDToken      string    `json:"id_token,omitempty"` // the id_token_hint of the provider's sign-out
	Expiry       time.Time `json:"expiry"`             // when they must be refreshed (then re-mapped)
}

// Login is a verified sign-in or refresh: who, with which roles, and the
// tokens to refresh with.
type Login struct {
	Identity Identity
	Roles    map[string]string // namespace -> role
	Tokens   Tokens
}

// Error reasons (the audit log's sign_in_failed reason).
var (
	ErrNoRole = weft.Errorf(weft.EForbidden, "none of your groups is mapped to a Weft role")
)

// Provider is a configured OpenID provider. Discovery happens on first use
// and is retried until it succeeds.
type Provider struct {
	cfg    Config
	client *http.Client
	// Now is the clock of the sessions that keep the tokens (default
	// time.Now): a token's expiry is its remaining lifetime on receipt,
	// counted on this clock.
	Now func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider
	endSess  string
}

// New returns a provider for c (already checked). client carries every
// call to the provider (the egress policy's client); nil: a default one.
func New(c Config, client *http.Client) *Provider {
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	if len(c.Scopes) == 0 {
		c.Scopes = slices.Clone(DefaultScopes)
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = DefaultGroupsClaim
	}
	return &Provider{cfg: c, client: client}
}

// Issuer is the configured issuer URL.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

func (p *Provider) ctx(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.client)
	return oidc.ClientContext(ctx, p.client)
}

// discover returns the provider's metadata, fetching it the first time.
func (p *Provider) discover(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, nil
	}
	// The key set outlives this request: it fetches with a background
	// context and the provider's client.
	op, err := oidc.NewProvider(p.ctx(ctx), p.cfg.Issuer)
	if err != nil {
		return nil, weft.Errorf(weft.EUnavailable, "the single sign-on provider %s cannot be reached or is misconfigured: %v", p.cfg.Issuer, err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = op.Claims(&meta)
	p.provider, p.endSess = op, meta.EndSession
	return op, nil
}

func (p *Provider) oauth(op *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, RedirectURL: p.cfg.RedirectURL,
		Endpoint: op.Endpoint(), Scopes: p.cfg.Scopes}
}

// Flow is what a sign-in started with and its callback must check: the
// state (against login CSRF), the nonce (against ID token replay) and the
// PKCE verifier (against a stolen code).
type Flow struct {
	State    string `json:"state"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
}

func random() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewFlow returns fresh random values for one sign-in.
func NewFlow() Flow {
	return Flow{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier()}
}

// AuthURL is where the browser goes to sign in: the provider's
// authorization endpoint with the flow's state, nonce and S256 challenge.
func (p *Provider) AuthURL(ctx context.Context, f Flow) (string, error) {
	op, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	return p.oauth(op).AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier), oidc.Nonce(f.Nonce)), nil
}

// Exchange redeems the callback's code (with the flow's PKCE verifier),
// verifies the ID token (signature, issuer, audience, expiry, nonce) and
// maps the user's groups to roles.
func (p *Provider) Exchange(ctx context.Context, f Flow, code string) (Login, error) {
	op, err := p.discover(ctx)
	if err != nil {
		return Login{}, err
	}
	tok, err := p.oauth(op).Exchange(p.ctx(ctx), code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return Login{}, weft.Errorf(weft.EUnauthorized, "the provider refused the sign-in code: %s", tokenError(err))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Login{}, weft.Errorf(weft.EUnauthorized, "the provider's token response has no ID token (is openid among the scopes?)")
	}
	idt, err := p.verify(ctx, op, raw)
	if err != nil {
		return Login{}, err
	}
	if idt.Nonce == "" || idt.Nonce != f.Nonce {
		return Login{}, weft.Errorf(weft.EUnauthorized, "the ID token's nonce does not match this sign-in")
	}
	id, err := p.identity(idt)
	if err != nil {
		return Login{}, err
	}
	roles, err := p.MapRoles(id.Groups)
	if err != nil {
		return Login{Identity: id}, err
	}
	return Login{Identity: id, Roles: roles, Tokens: p.tokens(tok, raw, idt)}, nil
}

func (p *Provider) verify(ctx context.Context, op *oidc.Provider, raw string) (*oidc.IDToken, error) {
	idt, err := op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID}).Verify(p.ctx(ctx), raw)
	if err != nil {
		return nil, weft.Errorf(weft.EUnauthorized, "the ID token does not verify: %s", clip(err.Error(), 200))
	}
	return idt, nil
}

// tokenError is the OAuth error code and description of a token endpoint's
// refusal, without the response body.
func tokenError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorCode != "" {
			return clip(strings.TrimSpace(re.ErrorCode+" "+re.ErrorDescription), 200)
		}
		if re.Response != nil {
			return re.Response.Status
		}
	}
	return clip(err.Error(), 200)
}

func (p *Provider) tokens(tok *oauth2.Token, raw string, idt *oidc.IDToken) Tokens {
	exp := tok.Expiry
	if exp.IsZero() || (idt != nil && idt.Expiry.Before(exp)) {
		// An ID token is the provider's statement about the user: once it
		// has expired, its groups are checked again.
		if idt != nil {
			exp = idt.Expiry
		}
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	if exp.IsZero() {
		exp = now().Add(5 * time.Minute) // the provider named no lifetime: check again soon
	} else {
		exp = now().Add(time.Until(exp))
	}
	return Tokens{RefreshToken: tok.RefreshToken, IDToken: raw, Expiry: exp}
}

// identity reads who signed in and their groups from verified claims.
func (p *Provider) identity(idt *oidc.IDToken) (Identity, error) {
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, weft.Errorf(weft.EUnauthorized, "the ID token's claims do not decode: %v", err)
	}
	return p.identityFrom(idt.Issuer, idt.Subject, claims)
}

func (p *Provider) identityFrom(issuer, subject string, claims map[string]any) (Identity, error) {
	if subject == "" || len(subject) > 255 {
		return Identity{}, weft.Errorf(weft.EUnauthorized, "the provider's token has no usable subject")
	}
	id := Identity{Issuer: issuer, Subject: subject}
	id.Email, _ = claims["email"].(string)
	id.Name, _ = claims["preferred_username"].(string)
	if id.Name == "" {
		id.Name = id.Email
	}
	groups, err := Groups(claims[p.cfg.GroupsClaim])
	if err != nil {
		return Identity{}, weft.Errorf(weft.EUnauthorized, "claim %s: %v", p.cfg.GroupsClaim, err)
	}
	id.Groups = groups
	return id, nil
}

// Groups reads a groups claim: a list of strings, one string, or an object
// whose keys are the names (Zitadel's project roles claim); absent is no
// groups.
func Groups(v any) ([]string, error) {
	var out []string
	add := func(s string) error {
		if len(s) > maxGroupBytes {
			return fmt.Errorf("a group name is longer than %d bytes", maxGroupBytes)
		}
		if len(out) >= maxGroups {
			return fmt.Errorf("more than %d groups", maxGroups)
		}
		out = append(out, s)
		return nil
	}
	switch x := v.(type) {
	case nil:
	case string:
		if err := add(x); err != nil {
			return nil, err
		}
	case []string:
		for _, s := range x {
			if err := add(s); err != nil {
				return nil, err
			}
		}
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("holds a %T, not a group name", e)
			}
			if err := add(s); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		for _, k := range keys {
			if err := add(k); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("is a %T, not a list of group names", v)
	}
	return out, nil
}

// MapRoles maps groups to roles per namespace; several mapped groups give
// the most powerful role per namespace. No mapped group: default_role in
// "default", or ErrNoRole.
func (p *Provider) MapRoles(groups []string) (map[string]string, error) {
	return MapRoles(p.cfg.Roles, p.cfg.DefaultRole, groups)
}

// MapRoles is Provider.MapRoles over a mapping.
func MapRoles(mapping []RoleMapping, defaultRole string, groups []string) (map[string]string, error) {
	rank := map[string]int{}
	for i, r := range access.Roles() { // most powerful first
		rank[r] = i
	}
	roles := map[string]string{}
	for _, m := range mapping {
		if !slices.Contains(groups, m.Group) {
			continue
		}
		ns := m.Namespace
		if ns == "" {
			ns = access.DefaultNamespace
		}
		if cur, ok := roles[ns]; !ok || rank[m.Role] < rank[cur] {
			roles[ns] = m.Role
		}
	}
	if len(roles) == 0 {
		if defaultRole == "" {
			return nil, ErrNoRole
		}
		roles[access.DefaultNamespace] = defaultRole
	}
	return roles, nil
}

// Refresh redeems the session's refresh token for fresh tokens and reads
// the user's groups again (from the new ID token, else from the userinfo
// endpoint). The subject must not change. No refresh token, a refused
// refresh or no mapped group any more: an error, and the session ends.
func (p *Provider) Refresh(ctx context.Context, subject string, t Tokens) (Login, error) {
	if t.RefreshToken == "" {
		return Login{}, weft.Errorf(weft.EUnauthorized, "the provider's tokens expired and it gave no refresh token (add offline_access to oidc.scopes where the provider needs it): sign in again")
	}
	op, err := p.discover(ctx)
	if err != nil {
		return Login{}, err
	}
	tok, err := p.oauth(op).TokenSource(p.ctx(ctx), &oauth2.Token{RefreshToken: t.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		return Login{}, weft.Errorf(weft.EUnauthorized, "the provider refused to refresh the session: %s", tokenError(err))
	}
	var id Identity
	raw, _ := tok.Extra("id_token").(string)
	var idt *oidc.IDToken
	if raw != "" {
		if idt, err = p.verify(ctx, op, raw); err != nil {
			return Login{}, err
		}
		if id, err = p.identity(idt); err != nil {
			return Login{}, err
		}
	} else {
		raw = t.IDToken // the sign-out hint stays the last one issued
		ui, err := op.UserInfo(p.ctx(ctx), oauth2.StaticTokenSource(tok))
		if err != nil {
			return Login{}, weft.Errorf(weft.EUnauthorized, "the provider's userinfo endpoint failed after a refresh: %s", clip(err.Error(), 200))
		}
		var claims map[string]any
		if err := ui.Claims(&claims); err != nil {
			return Login{}, weft.Errorf(weft.EUnauthorized, "the provider's userinfo does not decode: %v", err)
		}
		if id, err = p.identityFrom(p.cfg.Issuer, ui.Subject, claims); err != nil {
			return Login{}, err
		}
	}
	if id.Subject != subject {
		return Login{}, weft.Errorf(weft.EUnauthorized, "the refreshed tokens name another user")
	}
	roles, err := p.MapRoles(id.Groups)
	if err != nil {
		return Login{Identity: id}, err
	}
	nt := p.tokens(tok, raw, idt)
	if nt.RefreshToken == "" {
		nt.RefreshToken = t.RefreshToken // not rotated: the old one stays valid
	}
	return Login{Identity: id, Roles: roles, Tokens: nt}, nil
}

// EndSessionURL is the provider's sign-out URL for a session whose last ID
// token is idToken, or "" when the provider has no end_session_endpoint.
func (p *Provider) EndSessionURL(ctx context.Context, idToken string) string {
	if _, err := p.discover(ctx); err != nil {
		return ""
	}
	p.mu.Lock()
	end := p.endSess
	p.mu.Unlock()
	if end == "" {
		return ""
	}
	u, err := url.Parse(end)
	if err != nil {
		return ""
	}
	q := u.Query()
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	q.Set("client_id", p.cfg.ClientID)
	post := p.cfg.PostLogoutRedirectURL
	if post == "" {
		if ru, err := url.Parse(p.cfg.RedirectURL); err == nil {
			post = ru.Scheme + "://" + ru.Host + "/"
		}
	}
	q.Set("post_logout_redirect_uri", post)
	u.RawQuery = q.Encode()
	return u.String()
}
