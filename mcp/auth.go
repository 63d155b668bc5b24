package mcp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/time/rate"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/store"
)

// Auth modes.
const (
	AuthAuto  = "auto"  // API keys (or the API token) once any exists or an API token is set; open only on a fresh loopback install
	AuthKeys  = "keys"  // API keys always
	AuthOAuth = "oauth" // OAuth 2.1 access tokens (JWT) from a configured issuer; API keys also accepted
	AuthNone  = "none"
)

// AuthConfig configures who may use the gateway.
type AuthConfig struct {
	Mode     string `yaml:"mode"`     // auto (default) | keys | oauth | none
	Issuer   string `yaml:"issuer"`   // oauth: the authorization server (iss)
	Audience string `yaml:"audience"` // oauth: this resource's identifier (aud), e.g. https://weft.example.com/mcp
	JWKSURL  string `yaml:"jwks_url"` // oauth: the issuer's signing keys
	Resource string `yaml:"resource"` // public URL of /mcp, for protected-resource metadata (default: audience)
	Scope    string `yaml:"scope"`    // scope that grants every toolset (default "mcp"); "mcp:<toolset>" grants one

	// AdminToken is the server's API token (never from this file's
	// section: cmd/weft wires api_token here). It is accepted as a bearer
	// with every toolset, and once set a credential is always required.
	AdminToken string `yaml:"-"`
	// HTTPClient fetches the JWKS (nil: a plain client); cmd/weft passes
	// one that dials through the egress policy.
	HTTPClient *http.Client `yaml:"-"`
	// Directory authenticates Weft tokens (weft_pat_, weft_sa_): a user's
	// or service account's bearer may use the toolsets of namespaces where
	// its role allows mcp.use (agent, admin). nil: not accepted.
	Directory TokenAuthenticator `yaml:"-"`
}

// TokenAuthenticator turns a Weft token into its principal (access.Directory).
type TokenAuthenticator interface {
	Authenticate(ctx context.Context, token string) (access.Principal, error)
}

// KeyPrefix starts every API key secret.
const KeyPrefix = "weft_"

// NewKeySecret returns a new key id and secret, and the secret's hash.
func NewKeySecret() (id, secret, hash string) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	id = "k" + hex.EncodeToString(b)
	s := make([]byte, 32)
	_, _ = rand.Read(s)
	secret = KeyPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(s)
	return id, secret, HashSecret(secret)
}

// HashSecret is what the store keeps of a key.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// authError is a refusal with its HTTP answer.
type authError struct {
	status     int
	code, desc string
	retryAfter time.Duration
}

func (e *authError) Error() string { return e.desc }

type cachedKey struct {
	key *Key
	rpm int
	at  time.Time
}

// Auth authenticates agents with API keys and, in oauth mode, JWT access
// tokens.
type Auth struct {
	st  store.Store
	cfg AuthConfig

	mu       sync.Mutex
	keys     map[string]cachedKey // secret hash -> key (30s)
	anyKey   bool
	anyAt    time.Time
	limiters map[string]*rate.Limiter
	jwks     *jose.JSONWebKeySet
	// toolsetNamespace is the gateway's (SetToolsets); nil: no namespace check.
	toolsetNamespace func(toolset string) (string, bool)
	jwksAt           time.Time
	client           *http.Client
}

// NewAuth returns the authenticator.
func NewAuth(st store.Store, cfg AuthConfig) (*Auth, error) {
	if cfg.Mode == "" {
		cfg.Mode = AuthAuto
	}
	switch cfg.Mode {
	case AuthAuto, AuthKeys, AuthNone:
	case AuthOAuth:
		if cfg.Issuer == "" || cfg.Audience == "" || cfg.JWKSURL == "" {
			return nil, errors.New("mcp.auth: oauth needs issuer, audience and jwks_url")
		}
	default:
		return nil, fmt.Errorf("mcp.auth.mode must be auto, keys, oauth or none, got %q", cfg.Mode)
	}
	if cfg.Scope == "" {
		cfg.Scope = "mcp"
	}
	if cfg.Resource == "" {
		cfg.Resource = cfg.Audience
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Auth{st: st, cfg: cfg, keys: map[string]cachedKey{}, limiters: map[string]*rate.Limiter{},
		client: client}, nil
}

// SetToolsets gives the authenticator the toolsets' namespaces (the
// gateway's ToolsetNamespace): every call is then authorized in its
// toolset's namespace.
func (a *Auth) SetToolsets(ns func(toolset string) (string, bool)) {
	a.mu.Lock()
	a.toolsetNamespace = ns
	a.mu.Unlock()
}

// Forget drops cached keys (after a revoke, so it takes effect at once).
func (a *Auth) Forget() {
	a.mu.Lock()
	a.keys = map[string]cachedKey{}
	a.anyAt = time.Time{}
	a.mu.Unlock()
}

func (a *Auth) required(ctx context.Context) bool {
	switch a.cfg.Mode {
	case AuthNone:
		return false
	case AuthKeys, AuthOAuth:
		return true
	}
	if a.cfg.AdminToken != "" {
		return true // auto: an API token protects /mcp as it protects /api
	}
	a.mu.Lock()
	fresh := time.Since(a.anyAt) < 5*time.Second
	any := a.anyKey
	a.mu.Unlock()
	if fresh {
		return any
	}
	ks, err := a.st.APIKeys(ctx)
	if err != nil {
		return true // fail closed
	}
	any = false
	for _, k := range ks {
		if k.RevokedAt == nil {
			any = true
		}
	}
	if u, ok := a.cfg.Directory.(interface {
		HasUsers(context.Context) (bool, error)
	}); ok && !any {
		has, err := u.HasUsers(ctx)
		if err != nil {
			return true // fail closed
		}
		any = has // a user exists: the API needs credentials, and so does /mcp
	}
	a.mu.Lock()
	a.anyKey, a.anyAt = any, time.Now()
	a.mu.Unlock()
	return any
}

// Authenticate implements Authenticator.
func (a *Auth) Authenticate(r *http.Request, toolset string) (*Key, error) {
	ctx := r.Context()
	if !a.required(ctx) {
		return nil, nil
	}
	tok := bearer(r)
	if tok == "" {
		return nil, &authError{http.StatusUnauthorized, "invalid_request", "this MCP endpoint needs a bearer token (an API key from weft mcp keys create, or an OAuth access token)", 0}
	}
	var key *Key
	var rpm int
	if a.cfg.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(a.cfg.AdminToken)) == 1 {
		key = &Key{ID: "api-token", Toolsets: []string{"*"}}
	} else if access.IsWeftToken(tok) && a.cfg.Directory != nil {
		if len(tok) > 1024 {
			return nil, &authError{http.StatusUnauthorized, "invalid_token", "unknown, revoked or expired token", 0}
		}
		p, err := a.cfg.Directory.Authenticate(ctx, tok)
		if err != nil {
			if c := weft.Code(err); c == weft.EUnauthorized || c == weft.ENotFound || c == weft.EInvalid {
				return nil, &authError{http.StatusUnauthorized, "invalid_token", "unknown, revoked or expired token", 0}
			}
			return nil, &authError{http.StatusServiceUnavailable, "temporarily_unavailable", "cannot check the token now", time.Second}
		}
		key = &Key{ID: p.Actor(), Toolsets: []string{"*"}, principal: &p}
	} else if strings.HasPrefix(tok, KeyPrefix) {
		var err error
		if key, rpm, err = a.apiKey(ctx, tok); err != nil {
			return nil, err
		}
	} else if a.cfg.Mode == AuthOAuth {
		var err error
		if key, err = a.jwt(ctx, tok); err != nil {
			return nil, err
		}
	} else {
		return nil, &authError{http.StatusUnauthorized, "invalid_token", "unknown or revoked API key", 0}
	}
	if !key.allowsToolset(toolset) {
		return nil, &authError{http.StatusForbidden, "insufficient_scope", fmt.Sprintf("credential %s may not use toolset %s", key.ID, toolset), 0}
	}
	// The one decision: mcp.use in the toolset's namespace.
	a.mu.Lock()
	nsOf := a.toolsetNamespace
	a.mu.Unlock()
	if nsOf != nil {
		ns, _ := nsOf(toolset)
		if err := access.Authorize(key.Principal(), access.MCPUse, ns); err != nil {
			return nil, &authError{http.StatusForbidden, "insufficient_scope", weft.Message(err), 0}
		}
	}
	if rpm > 0 {
		a.mu.Lock()
		l, ok := a.limiters[key.ID]
		if !ok {
			l = rate.NewLimiter(rate.Limit(float64(rpm)/60), int(math.Max(1, float64(rpm)/6)))
			a.limiters[key.ID] = l
		}
		a.mu.Unlock()
		res := l.Reserve()
		if d := res.Delay(); d > 0 {
			res.Cancel()
			return nil, &authError{http.StatusTooManyRequests, "rate_limited", fmt.Sprintf("API key %s is limited to %d requests a minute", key.ID, rpm), d}
		}
	}
	return key, nil
}

func (a *Auth) apiKey(ctx context.Context, secret string) (*Key, int, error) {
	h := HashSecret(secret)
	a.mu.Lock()
	c, ok := a.keys[h]
	a.mu.Unlock()
	if ok && time.Since(c.at) < 30*time.Second {
		return c.key, c.rpm, nil
	}
	k, err := a.st.APIKeyByHash(ctx, h)
	if err != nil {
		if weft.Code(err) == weft.ENotFound {
			return nil, 0, &authError{http.StatusUnauthorized, "invalid_token", "unknown or revoked API key", 0}
		}
		return nil, 0, &authError{http.StatusServiceUnavailable, "temporarily_unavailable", "cannot check the API key now", time.Second}
	}
	key := &Key{ID: k.ID, Namespace: access.NamespaceOr(k.Namespace)}
	for _, s := range k.Scopes {
		if strings.HasPrefix(s, "tool:") {
			key.Tools = append(key.Tools, strings.TrimPrefix(s, "tool:"))
		} else {
			key.Toolsets = append(key.Toolsets, s)
		}
	}
	a.mu.Lock()
	a.keys[h] = cachedKey{key: key, rpm: k.RatePerMin, at: time.Now()}
	a.mu.Unlock()
	return key, k.RatePerMin, nil
}

// jwt validates an OAuth access token: signature (issuer's JWKS), issuer,
// audience, expiry; scopes map to toolsets.
func (a *Auth) jwt(ctx context.Context, raw string) (*Key, error) {
	bad := func(desc string) error { return &authError{http.StatusUnauthorized, "invalid_token", desc, 0} }
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.PS256, jose.EdDSA})
	if err != nil {
		return nil, bad("the access token is not a signed JWT")
	}
	var kid string
	if len(tok.Headers) > 0 {
		kid = tok.Headers[0].KeyID
	}
	keys, err := a.keySet(ctx, kid)
	if err != nil {
		return nil, &authError{http.StatusServiceUnavailable, "temporarily_unavailable", "cannot fetch the issuer's signing keys", 5 * time.Second}
	}
	var claims jwt.Claims
	var extra struct {
		Scope string   `json:"scope"`
		Scp   []string `json:"scp"`
	}
	verified := false
	for _, k := range keys.Keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if tok.Claims(k.Key, &claims, &extra) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, bad("the access token's signature does not verify against the issuer's keys")
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: a.cfg.Issuer, AnyAudience: jwt.Audience{a.cfg.Audience}, Time: time.Now()}, 30*time.Second); err != nil {
		switch {
		case errors.Is(err, jwt.ErrInvalidAudience):
			return nil, bad("the access token is not for this resource (audience " + a.cfg.Audience + ")")
		case errors.Is(err, jwt.ErrInvalidIssuer):
			return nil, bad("the access token was not issued by " + a.cfg.Issuer)
		case errors.Is(err, jwt.ErrExpired):
			return nil, bad("the access token has expired")
		}
		return nil, bad("the access token is not valid now: " + err.Error())
	}
	key := &Key{ID: "oauth:" + claims.Subject}
	for _, s := range append(strings.Fields(extra.Scope), extra.Scp...) {
		switch {
		case s == a.cfg.Scope || s == a.cfg.Scope+":*":
			key.Toolsets = append(key.Toolsets, "*")
		case strings.HasPrefix(s, a.cfg.Scope+":"):
			key.Toolsets = append(key.Toolsets, strings.TrimPrefix(s, a.cfg.Scope+":"))
		}
	}
	return key, nil
}

// keySet returns the issuer's JWKS, refetched every 10 minutes or when a
// token names a key id it does not hold (rotation).
func (a *Auth) keySet(ctx context.Context, kid string) (*jose.JSONWebKeySet, error) {
	a.mu.Lock()
	ks, at := a.jwks, a.jwksAt
	a.mu.Unlock()
	if ks != nil && time.Since(at) < 10*time.Minute && (kid == "" || len(ks.Key(kid)) > 0 || time.Since(at) < 10*time.Second) {
		return ks, nil
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.cfg.JWKSURL, nil)
	resp, err := a.client.Do(req)
	if err != nil {
		if ks != nil {
			return ks, nil
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		if ks != nil {
			return ks, nil
		}
		return nil, fmt.Errorf("jwks: %s", resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := bounded.ReadJSON("jwks", resp.Body, &set, bounded.Limits{MaxBytes: 1 << 20}); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.jwks, a.jwksAt = &set, time.Now()
	a.mu.Unlock()
	return &set, nil
}

// Challenge implements Authenticator.
func (a *Auth) Challenge(w http.ResponseWriter, r *http.Request, err error) {
	var ae *authError
	if !errors.As(err, &ae) {
		ae = &authError{http.StatusUnauthorized, "invalid_token", err.Error(), 0}
	}
	if ae.status == http.StatusUnauthorized || ae.status == http.StatusForbidden {
		v := fmt.Sprintf(`Bearer realm="weft", error=%q, error_description=%q`, ae.code, ae.desc)
		if a.cfg.Mode == AuthOAuth {
			v += fmt.Sprintf(`, resource_metadata=%q`, a.metadataURL(r))
		}
		w.Header().Set("WWW-Authenticate", v)
	}
	if ae.retryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(ae.retryAfter.Seconds()))))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ae.status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": ae.code, "message": ae.desc}})
}

func (a *Auth) metadataURL(r *http.Request) string {
	base := a.cfg.Resource
	if base == "" {
		base = "http://" + r.Host + "/mcp"
	}
	if i := strings.Index(base, "://"); i >= 0 {
		if j := strings.Index(base[i+3:], "/"); j >= 0 {
			return base[:i+3+j] + "/.well-known/oauth-protected-resource" + base[i+3+j:]
		}
	}
	return base + "/.well-known/oauth-protected-resource"
}

// Metadata serves RFC 9728 protected resource metadata.
func (a *Auth) Metadata(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Mode != AuthOAuth {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"resource":                 a.cfg.Resource,
		"authorization_servers":    []string{a.cfg.Issuer},
		"bearer_methods_supported": []string{"header"},
		"scopes_supported":         []string{a.cfg.Scope},
		"resource_name":            "Weft MCP gateway",
	})
}

// CreateKey stores a new API key and returns it with its secret (shown
// once; only its hash is kept).
func CreateKey(ctx context.Context, st store.Store, name string, scopes []string, ratePerMin int) (*store.APIKey, string, error) {
	return CreateKeyIn(ctx, st, "", name, scopes, ratePerMin)
}

// CreateKeyIn is CreateKey in a namespace ("": default): the key is an
// agent of that namespace and reaches only its toolsets.
func CreateKeyIn(ctx context.Context, st store.Store, namespace, name string, scopes []string, ratePerMin int) (*store.APIKey, string, error) {
	if namespace == "" {
		namespace = store.DefaultNamespace
	}
	if strings.TrimSpace(name) == "" {
		return nil, "", weft.Errorf(weft.EInvalid, "an API key needs a name (who or what uses it)")
	}
	if len(scopes) == 0 {
		return nil, "", weft.Errorf(weft.EInvalid, "an API key needs scopes: toolset names, \"*\" for all, or tool:<glob>")
	}
	if ratePerMin < 0 {
		return nil, "", weft.Errorf(weft.EInvalid, "rate_per_min must be 0 (unlimited) or more")
	}
	id, secret, hash := NewKeySecret()
	k := &store.APIKey{ID: id, Name: name, Namespace: namespace, Hash: hash, Scopes: scopes, RatePerMin: ratePerMin, CreatedAt: time.Now().UTC()}
	if err := st.CreateAPIKey(ctx, *k); err != nil {
		return nil, "", err
	}
	return k, secret, nil
}
