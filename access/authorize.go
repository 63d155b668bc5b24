package access

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/lazy"
)

// Permissions: what a route or a command needs. Each is "area.verb".
const (
	FlowsRead        = "flows.read"        // list and read flows, versions, the flow schema, validate
	FlowsWrite       = "flows.write"       // deploy, roll back, test-run a draft, nl2flow drafts
	RunsRead         = "runs.read"         // runs, the transaction log, the DLQ, run counts
	RunsOperate      = "runs.operate"      // start a run by hand, replay, cancel
	ConnectionsRead  = "connections.read"  // connectors and connections (credentials are write-only anyway)
	ConnectionsWrite = "connections.write" // create, change, delete and test connections; import connectors
	SecretsManage    = "secrets.manage"    // rotate the master key
	MembersManage    = "members.manage"    // users, role bindings, service accounts
	MCPRead          = "mcp.read"          // toolsets, tools, policies, tool-call log, the list of MCP keys
	MCPKeysManage    = "mcp.keys.manage"   // create and revoke MCP keys
	MCPUse           = "mcp.use"           // call MCP tools
	MappingsRead     = "mappings.read"     // schema mappings and their reviews
	MappingsWrite    = "mappings.write"    // create and review mappings
	MonitorRead      = "monitor.read"      // metrics and alerts
	AlertsAck        = "alerts.ack"        // acknowledge an alert
	AuditRead        = "audit.read"        // the audit log
	ProductsRead     = "products.read"     // API products, their versions and pins
	ProductsWrite    = "products.write"    // create, change (pin, deprecate, retire) and delete API products
	ConsumersRead    = "consumers.read"    // API consumers, their subscriptions and key ids, plans
	ConsumersWrite   = "consumers.write"   // create, change and delete consumers, plans and subscriptions; create, rotate and revoke consumers' API keys
	AgentsRead       = "agents.read"       // runtime agents of a hybrid deployment: sites, status, running flow versions
	AgentsManage     = "agents.manage"     // create agents (issue their credentials), rotate and revoke them
	Self             = "self"              // the caller's own principal and personal access tokens
)

// Roles.
const (
	RoleAdmin    = "admin"
	RoleEditor   = "editor"
	RoleOperator = "operator"
	RoleViewer   = "viewer"
	RoleAgent    = "agent"
)

// DefaultNamespace is where everything lives until namespaces are assigned.
const DefaultNamespace = "default"

// AllNamespaces in a role binding applies the role to every namespace.
const AllNamespaces = "*"

var (
	readPerms = []string{FlowsRead, RunsRead, ConnectionsRead, MCPRead, MappingsRead, MonitorRead, ProductsRead, ConsumersRead, AgentsRead, Self}
	// rolePerms is the one table of what each role may do.
	rolePerms = map[string][]string{
		RoleViewer:   readPerms,
		RoleOperator: append(slices.Clone(readPerms), RunsOperate, AlertsAck),
		RoleEditor:   append(slices.Clone(readPerms), RunsOperate, AlertsAck, FlowsWrite, ConnectionsWrite, MappingsWrite, ProductsWrite, ConsumersWrite),
		RoleAdmin: append(slices.Clone(readPerms), RunsOperate, AlertsAck, FlowsWrite, ConnectionsWrite, MappingsWrite, ProductsWrite, ConsumersWrite,
			SecretsManage, MembersManage, MCPKeysManage, MCPUse, AuditRead, AgentsManage),
		RoleAgent: {MCPUse, Self},
	}
)

// Roles lists the role names, most powerful first.
func Roles() []string {
	return []string{RoleAdmin, RoleEditor, RoleOperator, RoleViewer, RoleAgent}
}

// Permissions lists every permission, sorted.
func Permissions() []string {
	return []string{AgentsManage, AgentsRead, AlertsAck, AuditRead, ConnectionsRead, ConnectionsWrite, ConsumersRead, ConsumersWrite, FlowsRead, FlowsWrite, MappingsRead, MappingsWrite,
		MCPKeysManage, MCPRead, MCPUse, MembersManage, MonitorRead, ProductsRead, ProductsWrite, RunsOperate, RunsRead, SecretsManage, Self}
}

// RolePermissions returns what a role may do (nil for an unknown role).
func RolePermissions(role string) []string {
	return slices.Clone(rolePerms[role])
}

// ValidRole reports whether role is one of Roles.
func ValidRole(role string) bool {
	_, ok := rolePerms[role]
	return ok
}

// RoleIn is the principal's role in namespace: the binding for that
// namespace, else the one for every namespace ("*"), else "".
func (p Principal) RoleIn(namespace string) string {
	if r, ok := p.Roles[namespace]; ok {
		return r
	}
	return p.Roles[AllNamespaces]
}

// PermissionsIn lists what p may do in namespace, sorted.
func (p Principal) PermissionsIn(namespace string) []string {
	out := RolePermissions(p.RoleIn(namespace))
	sort.Strings(out)
	return out
}

// Authorize is the one decision: may p do permission in namespace? It
// returns nil, an unauthorized error for a request without a principal
// (anonymous), or a forbidden error naming what is missing.
func Authorize(p Principal, permission, namespace string) error {
	if _, ok := knownPerms[permission]; !ok {
		// A route that names no (or a misspelt) permission is refused to
		// everyone, admins included: fail closed.
		return weft.Errorf(weft.EForbidden, "permission %q is not defined", permission)
	}
	if p.Kind == "" || (p.Kind == KindAnonymous && len(p.Roles) == 0) {
		return weft.Errorf(weft.EUnauthorized, "authentication required")
	}
	role := p.RoleIn(namespace)
	if role == "" {
		return weft.Errorf(weft.EForbidden, "%s has no role in namespace %q", p.Actor(), namespace)
	}
	if !slices.Contains(rolePerms[role], permission) {
		return weft.Errorf(weft.EForbidden, "%s (role %s in namespace %q) may not %s", p.Actor(), role, namespace, permission)
	}
	return nil
}

var knownPerms = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, p := range Permissions() {
		m[p] = struct{}{}
	}
	return m
}()

var namespaceRe = lazy.NewRegexp(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// CheckNamespace refuses a namespace name that is not a DNS label:
// lower-case letters, digits and '-', 1-63, starting and ending with a
// letter or digit.
func CheckNamespace(name string) error {
	if !namespaceRe.MatchString(name) {
		return weft.Errorf(weft.EInvalid, "namespace %q: use 1-63 characters a-z 0-9 - starting and ending with a letter or digit", clip(name, 80))
	}
	return nil
}

// NamespaceOr is ns, or the default namespace when ns is "".
func NamespaceOr(ns string) string {
	if ns == "" {
		return DefaultNamespace
	}
	return ns
}

// AuthorizeAny: may p do permission in at least one namespace? Routes ask
// it first (a cheap refusal for a principal who may do it nowhere), then
// Authorize in the namespace of what they touch.
func AuthorizeAny(p Principal, permission string) error {
	first := Authorize(p, permission, DefaultNamespace)
	if first == nil {
		return nil
	}
	for ns := range p.Roles {
		if Authorize(p, permission, ns) == nil {
			return nil
		}
	}
	if _, ok := knownPerms[permission]; !ok || weft.Code(first) != weft.EForbidden {
		return first
	}
	switch len(p.Roles) {
	case 0:
		return first
	case 1:
		for ns := range p.Roles { // the one binding's own refusal names its role
			return Authorize(p, permission, ns)
		}
	}
	var held []string
	for _, ns := range slices.Sorted(maps.Keys(p.Roles)) {
		held = append(held, fmt.Sprintf("%s in %q", p.Roles[ns], ns))
	}
	return weft.Errorf(weft.EForbidden, "%s (roles: %s) may not %s in any namespace", p.Actor(), strings.Join(held, ", "), permission)
}
