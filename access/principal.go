// Package access is Weft's identity and authorization: who is calling
// (principals: users, personal access tokens, service accounts, MCP keys, the
// bootstrap API token), what they may do (roles per namespace and the one
// Authorize decision), and the tamper-evident audit log of what they did.
// It decides; it never serves HTTP (gateway does, and asks it).
package access

import "context"

// Principal kinds.
const (
	KindUser           = "user"            // a local or single-sign-on user (cookie session)
	KindToken          = "token"           // a user's personal access token
	KindServiceAccount = "service_account" // a service account's token
	KindMCPKey         = "mcp_key"         // an MCP API key
	KindAPIToken       = "api_token"       // the configured bootstrap api_token (admin everywhere)
	KindAnonymous      = "anonymous"       // no credentials (allowed only on an open loopback server)
	KindSystem         = "system"          // Weft itself (schedules, retention, start-up deploys)
	KindClientCert     = "client_cert"     // a client certificate verified by mutual TLS (Name: its subject CN)
)

// Principal is who a request acts as.
type Principal struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`   // user id, token id, key id; "" for api_token and anonymous
	Name string `json:"name,omitempty"` // a human-readable name (user name, token name)
	// Roles per namespace ("*" applies to every namespace).
	Roles map[string]string `json:"roles,omitempty"`
}

// Actor is the principal's short form in the audit log: "user:ada",
// "token:3f2a…", "mcp_key:k1", "api_token", "anonymous", "system".
func (p Principal) Actor() string {
	switch {
	case p.Kind == "":
		return KindAnonymous
	case p.ID == "" && p.Name == "":
		return p.Kind
	case p.Name != "":
		return p.Kind + ":" + p.Name
	}
	return p.Kind + ":" + p.ID
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal ctx carries, or anonymous.
func PrincipalFrom(ctx context.Context) Principal {
	if p, ok := ctx.Value(principalKey{}).(Principal); ok {
		return p
	}
	return Principal{Kind: KindAnonymous}
}
