package mcp_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/mcp"
)

// ToolsetTools lists a toolset's tools with what they call, their hints
// and the policy that applies; an unknown toolset is not found.
func TestToolsetTools(t *testing.T) {
	e := newEngine(t)
	noop := func(context.Context, connectors.Call) (any, error) { return map[string]any{}, nil }
	obj := map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}}}
	e.Catalog().Register(&connectors.Connector{Name: "crm", Title: "CRM", Operations: []*connectors.Operation{
		{Name: "deleteAccount", Description: "Delete an account", Hints: connectors.Hints{Destructive: true}, Input: obj, Invoke: noop},
		{Name: "getAccount", Description: "Get an account", Hints: connectors.Hints{ReadOnly: true}, Input: obj, Invoke: noop},
	}})
	e.Catalog().AddConnection(&connectors.Connection{Name: "crm", Connector: "crm"})
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{
		Toolsets: []mcp.Toolset{{Name: "readers", Tools: []string{"crm__get*"}}},
		Policy:   []mcp.Rule{{Tool: "destructive", Action: mcp.PolicyConfirm}, {Tool: "crm__get*", Action: mcp.PolicyDeny}},
	})
	all, ok := gw.ToolsetTools(mcp.ToolsetAll)
	if !ok {
		t.Fatal("no toolset all")
	}
	byName := map[string]mcp.ToolInfo{}
	for _, ti := range all {
		byName[ti.Name] = ti
	}
	del, get := byName["crm__deleteAccount"], byName["crm__getAccount"]
	if del.Kind != "operation" || del.Connection != "crm" || del.Operation != "crm.deleteAccount" || !del.Destructive || del.ReadOnly || del.Policy != mcp.PolicyConfirm {
		t.Fatalf("delete: %+v", del)
	}
	if !get.ReadOnly || get.Destructive || get.Policy != mcp.PolicyDeny || get.Description == "" {
		t.Fatalf("get: %+v", get)
	}
	readers, ok := gw.ToolsetTools("readers")
	if !ok || len(readers) != 1 || readers[0].Name != "crm__getAccount" {
		t.Fatalf("readers: %v %+v", ok, readers)
	}
	if _, ok := gw.ToolsetTools("nope"); ok {
		t.Fatal("an unknown toolset was found")
	}
}
