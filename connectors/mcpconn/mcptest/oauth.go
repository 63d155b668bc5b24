package mcptest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// OAuthServer is an OAuth 2.1 authorization server speaking the real shapes:
// RFC 8414 metadata, RFC 7591 registration, authorization code with PKCE
// (S256 only), rotating refresh tokens, client credentials, and the
// resource indicator (RFC 8707) checked on every grant.
type OAuthServer struct {
	Srv      *httptest.Server
	resource string // the MCP endpoint tokens are for
	grants   []string
	ttl      int // expires_in of access tokens

	mu        sync.Mutex
	clients   map[string]oauthClient
	codes     map[string]oauthCode
	refresh   map[string]string    // refresh token → client (valid ones)
	access    map[string]time.Time // access token → expiry
	scopes    map[string]string    // access token → the scope it was issued for
	needed    string               // a scope the MCP endpoint requires (403 insufficient_scope without it)
	refuseAll bool                 // the MCP endpoint refuses every token
	issued    []string             // every token issued (never to be logged)
	refused   []string             // why a request was refused
	nRefresh  int
}

type oauthClient struct {
	secret    string
	redirects []string
}

type oauthCode struct {
	client, challenge, redirect string
}

func NewOAuthServer(t testing.TB, grants ...string) *OAuthServer {
	a := &OAuthServer{ttl: 3600, grants: grants, clients: map[string]oauthClient{}, codes: map[string]oauthCode{}, refresh: map[string]string{}, access: map[string]time.Time{}, scopes: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"issuer": a.Srv.URL, "authorization_endpoint": a.Srv.URL + "/authorize", "token_endpoint": a.Srv.URL + "/token",
			"registration_endpoint": a.Srv.URL + "/register", "code_challenge_methods_supported": []string{"S256"}, "grant_types_supported": a.grants,
			"response_types_supported": []string{"code"}, "scopes_supported": []string{"tools", "offline_access"}, "token_endpoint_auth_methods_supported": []string{"none", "client_secret_basic"}})
	})
	mux.HandleFunc("POST /register", func(w http.ResponseWriter, r *http.Request) {
		var m oauthex.ClientRegistrationMetadata
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			writeJSON(w, 400, map[string]any{"error": "invalid_client_metadata"})
			return
		}
		a.mu.Lock()
		id := fmt.Sprintf("client-%d", len(a.clients)+1)
		c := oauthClient{redirects: m.RedirectURIs}
		if m.TokenEndpointAuthMethod != "none" {
			c.secret = "secret-of-" + id
		}
		a.clients[id] = c
		a.mu.Unlock()
		writeJSON(w, 201, map[string]any{"client_id": id, "client_secret": c.secret, "redirect_uris": m.RedirectURIs, "grant_types": m.GrantTypes, "token_endpoint_auth_method": m.TokenEndpointAuthMethod})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		a.mu.Lock()
		defer a.mu.Unlock()
		c, ok := a.clients[q.Get("client_id")]
		switch {
		case !ok:
			a.refuse(w, "authorize: unknown client")
		case !slices.Contains(c.redirects, q.Get("redirect_uri")):
			a.refuse(w, "authorize: redirect_uri not registered: "+q.Get("redirect_uri"))
		case q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
			a.refuse(w, "authorize: want response_type=code with an S256 code challenge")
		case q.Get("resource") != a.resource:
			a.refuse(w, "authorize: resource "+q.Get("resource"))
		default:
			code := fmt.Sprintf("code-%d", len(a.codes)+1)
			a.codes[code] = oauthCode{client: q.Get("client_id"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
			http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
		}
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f := r.PostForm
		a.mu.Lock()
		defer a.mu.Unlock()
		id, secret, basic := r.BasicAuth()
		if !basic {
			id, secret = f.Get("client_id"), f.Get("client_secret")
		}
		c, ok := a.clients[id]
		if !ok || c.secret != secret {
			a.refuse(w, "token: client authentication failed")
			return
		}
		switch f.Get("grant_type") {
		case "authorization_code":
			code, ok := a.codes[f.Get("code")]
			delete(a.codes, f.Get("code"))
			sum := sha256.Sum256([]byte(f.Get("code_verifier")))
			switch {
			case !ok || code.client != id:
				a.refuse(w, "token: bad code")
			case base64.RawURLEncoding.EncodeToString(sum[:]) != code.challenge:
				a.refuse(w, "token: PKCE verifier does not match")
			case f.Get("redirect_uri") != code.redirect || f.Get("resource") != a.resource:
				a.refuse(w, "token: redirect_uri or resource differs")
			default:
				a.issue(w, id, true, f.Get("scope"))
			}
		case "refresh_token":
			if a.refresh[f.Get("refresh_token")] != id {
				a.refuse(w, "token: refresh token not valid (rotated?)")
				return
			}
			delete(a.refresh, f.Get("refresh_token")) // rotation: a refresh token works once
			a.nRefresh++
			a.issue(w, id, true, f.Get("scope"))
		case "client_credentials":
			if !slices.Contains(a.grants, "client_credentials") || f.Get("resource") != a.resource {
				a.refuse(w, "token: client_credentials not allowed or wrong resource")
				return
			}
			a.issue(w, id, false, f.Get("scope"))
		default:
			a.refuse(w, "token: grant "+f.Get("grant_type"))
		}
	})
	a.Srv = httptest.NewServer(mux)
	t.Cleanup(a.Srv.Close)
	return a
}

func (a *OAuthServer) refuse(w http.ResponseWriter, why string) {
	a.refused = append(a.refused, why)
	writeJSON(w, 400, map[string]any{"error": "invalid_request", "error_description": why})
}

// issue answers a token (mu held).
func (a *OAuthServer) issue(w http.ResponseWriter, client string, withRefresh bool, scope string) {
	n := len(a.issued)
	at := fmt.Sprintf("at-%d-%s", n, strings.Repeat("x", 8))
	a.access[at] = time.Now().Add(time.Duration(a.ttl) * time.Second)
	a.scopes[at] = scope
	a.issued = append(a.issued, at)
	out := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": a.ttl}
	if withRefresh {
		rt := fmt.Sprintf("rt-%d-%s", n, strings.Repeat("y", 8))
		a.refresh[rt] = client
		a.issued = append(a.issued, rt)
		out["refresh_token"] = rt
	}
	writeJSON(w, 200, out)
}

func (a *OAuthServer) verify(_ context.Context, tok string, _ *http.Request) (*auth.TokenInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.access[tok]
	if !ok || time.Now().After(exp) || a.refuseAll {
		return nil, auth.ErrInvalidToken
	}
	return &auth.TokenInfo{Expiration: exp}, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// OAuthMCP is an MCP server behind the AS: 401 with a WWW-Authenticate
// challenge naming its RFC 9728 metadata, which names the AS; seen lists
// the Authorization headers it was sent.
func OAuthMCP(t testing.TB, a *OAuthServer) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var seen []string
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	a.resource = srv.URL + "/mcp"
	mux.Handle("/.well-known/oauth-protected-resource/mcp", auth.ProtectedResourceMetadataHandler(&oauthex.ProtectedResourceMetadata{
		Resource: a.resource, AuthorizationServers: []string{a.Srv.URL}, ScopesSupported: []string{"tools"}}))
	guard := auth.RequireBearerToken(a.verify, &auth.RequireBearerTokenOptions{ResourceMetadataURL: srv.URL + "/.well-known/oauth-protected-resource/mcp"})
	h := guard(Handler())
	mux.Handle("/mcp", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		a.mu.Lock()
		needed, valid, granted := a.needed, a.access[tok], strings.Fields(a.scopes[tok])
		a.mu.Unlock()
		if needed != "" && !valid.IsZero() && !slices.Contains(granted, needed) {
			// Step-up (RFC 6750 §3.1, MCP authorization): the token is
			// valid, its scope is not enough.
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope="tools %s", resource_metadata="%s/.well-known/oauth-protected-resource/mcp", error_description="this tool needs more scope"`, needed, srv.URL))
			http.Error(w, "insufficient scope", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	}))
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// RevokeAccess forgets every access token issued so far: the MCP endpoint
// refuses them (401) before their stated expiry, as after a revocation or
// a key rotation at the authorization server.
func (a *OAuthServer) RevokeAccess() {
	a.mu.Lock()
	a.access = map[string]time.Time{}
	a.mu.Unlock()
}

// RefuseAll makes the MCP endpoint refuse every token (401), new ones too.
func (a *OAuthServer) RefuseAll(on bool) { a.mu.Lock(); a.refuseAll = on; a.mu.Unlock() }

// RequireScope makes the MCP endpoint answer 403 insufficient_scope,
// naming "tools SCOPE", to a valid token not issued with scope ("": none).
func (a *OAuthServer) RequireScope(scope string) { a.mu.Lock(); a.needed = scope; a.mu.Unlock() }

// SetTTL sets expires_in of the access tokens issued from now.
func (a *OAuthServer) SetTTL(s int) { a.mu.Lock(); a.ttl = s; a.mu.Unlock() }

// SetResource sets the resource tokens are for.
func (a *OAuthServer) SetResource(r string) { a.mu.Lock(); a.resource = r; a.mu.Unlock() }

// AddClient registers a client with a secret.
func (a *OAuthServer) AddClient(id, secret string) {
	a.mu.Lock()
	a.clients[id] = oauthClient{secret: secret}
	a.mu.Unlock()
}

// Refused lists why requests were refused.
func (a *OAuthServer) Refused() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.refused...)
}

// Issued lists every token issued (access and refresh).
func (a *OAuthServer) Issued() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.issued...)
}

// Refreshes is how many refresh grants were served.
func (a *OAuthServer) Refreshes() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.nRefresh
}

// ValidRefresh lists the refresh tokens the server honours now.
func (a *OAuthServer) ValidRefresh() map[string]bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]bool{}
	for rt := range a.refresh {
		out[rt] = true
	}
	return out
}
