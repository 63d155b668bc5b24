package client

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Weft patch 20: CallToolRaw answers the result's JSON undecoded, the same
// result CallTool decodes, and a server's RawResult reaches the client as
// written.
func TestCallToolRaw(t *testing.T) {
	s := server.NewMCPServer("raw", "1")
	s.AddTool(mcp.NewTool("typed"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("hello"), nil
	})
	const raw = `{"content":[{"type":"text","text":"as written","annotations":{"priority":0.50}}],"x-extra":[1.50]}`
	s.AddTool(mcp.NewTool("raw"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{RawResult: json.RawMessage(raw)}, nil
	})
	c, err := NewInProcessClient(s)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var init mcp.InitializeRequest
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "t", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	var req mcp.CallToolRequest
	req.Params.Name = "typed"
	got, err := c.CallToolRaw(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := mcp.ParseCallToolResult(&got)
	if err != nil || len(decoded.Content) != 1 || decoded.Content[0].(mcp.TextContent).Text != "hello" {
		t.Fatalf("typed: %s: %v", got, err)
	}
	req.Params.Name = "raw"
	got, err = c.CallToolRaw(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	if string(m["content"]) != `[{"type":"text","text":"as written","annotations":{"priority":0.50}}]` || string(m["x-extra"]) != `[1.50]` {
		t.Fatalf("raw: %s", got)
	}
	req.Params.Name = "nosuch"
	if _, err := c.CallToolRaw(ctx, req); err == nil {
		t.Fatal("an unknown tool: no error")
	}
}
