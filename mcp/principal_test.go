package mcp

import (
	"testing"

	"github.com/weftio/weft/access"
)

// An MCP key acts as an agent (mcp.use only) in the default namespace; the
// api_token through /mcp is the bootstrap admin.
func TestKeyPrincipal(t *testing.T) {
	p := (&Key{ID: "k1", Toolsets: []string{"crm"}}).Principal()
	if p.Kind != access.KindMCPKey || p.Actor() != "mcp_key:k1" {
		t.Fatalf("%+v", p)
	}
	if err := access.Authorize(p, access.MCPUse, access.DefaultNamespace); err != nil {
		t.Fatal(err)
	}
	if err := access.Authorize(p, access.FlowsRead, access.DefaultNamespace); err == nil {
		t.Fatal("an MCP key may read flows through the API")
	}
	if a := (&Key{ID: "api-token", Toolsets: []string{"*"}}).Principal(); access.Authorize(a, access.MembersManage, "any") != nil {
		t.Fatalf("api_token: %+v", a)
	}
}
