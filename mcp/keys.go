package mcp

import (
	"net/http"
	"path"
	"strings"

	"github.com/weftio/weft/access"
)

// Key is an authenticated caller: an API key (or an OAuth access token's
// subject) with the toolsets and tools it may use.
type Key struct {
	ID       string   // shown in logs and the transaction log; never the secret
	Toolsets []string // toolset names or "*"
	Tools    []string // tool globs; empty: every tool of the allowed toolsets
	// Namespace is an MCP key's namespace: the key is an agent there (""
	// with no principal: every namespace, an OAuth access token's subject,
	// whose scopes name its toolsets).
	Namespace string
	// principal is the user or service account a Weft token (weft_pat_,
	// weft_sa_) names: its roles decide, per toolset namespace.
	principal *access.Principal
}

// Principal is the key as an access.Principal: the api_token (admin
// everywhere), a user's or service account's token (their roles), or an
// MCP key (role agent in its namespace; its toolsets and tool globs still
// narrow it, here in mcp). Every call is authorized with
// access.Authorize(principal, mcp.use, the toolset's namespace).
func (k *Key) Principal() access.Principal {
	if k == nil {
		return access.Principal{Kind: access.KindAnonymous}
	}
	if k.principal != nil {
		return *k.principal
	}
	if k.ID == "api-token" {
		return access.Principal{Kind: access.KindAPIToken, Roles: map[string]string{access.AllNamespaces: access.RoleAdmin}}
	}
	ns := k.Namespace
	if ns == "" {
		ns = access.AllNamespaces
	}
	return access.Principal{Kind: access.KindMCPKey, ID: k.ID, Roles: map[string]string{ns: access.RoleAgent}}
}

func (k *Key) allowsToolset(name string) bool {
	for _, t := range k.Toolsets {
		if t == "*" || t == name {
			return true
		}
	}
	return false
}

func (k *Key) allows(tool string) bool {
	if len(k.Tools) == 0 {
		return true
	}
	for _, p := range k.Tools {
		if ok, _ := path.Match(p, tool); ok {
			return true
		}
	}
	return false
}

// Authenticator checks a request's credentials for a toolset.
type Authenticator interface {
	Authenticate(r *http.Request, toolset string) (*Key, error)
	// Challenge answers a refused request (401 with WWW-Authenticate, 403, 429).
	Challenge(w http.ResponseWriter, r *http.Request, err error)
}

// bearer returns the bearer token of a request.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
