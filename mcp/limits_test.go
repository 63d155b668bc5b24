package mcp_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/internal/bounded/boundedtest"
	"github.com/weftio/weft/mcp"
	"github.com/weftio/weft/nl2flow"
)

// The issue's alias bomb reaches the flow parser through compose_flow's
// flow argument; the tool must answer at once with the parser's error.
func TestIssue16_F01_ComposeFlowAliasBomb(t *testing.T) {
	bomb := boundedtest.FlowBomb()
	e := newEngine(t)
	comp := &nl2flow.Compiler{Catalog: func() *nl2flow.Catalog { return nl2flow.FromConnectors(e.Catalog()) }}
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Composer: comp})
	call, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": map[string]any{
		"name": "compose_flow", "arguments": map[string]any{"text": "then notify the team by email", "flow": bomb},
		"_meta": map[string]any{"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": map[string]any{},
			"io.modelcontextprotocol/clientInfo": map[string]any{"name": "t", "version": "1"}}}})
	done := make(chan string, 1)
	go func() {
		req := httptest.NewRequest("POST", "/mcp", strings.NewReader(string(call)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", "compose_flow")
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, req)
		done <- fmt.Sprint(w.Code, " ", w.Body.String())
	}()
	select {
	case got := <-done:
		if !strings.HasPrefix(got, "200 ") || !strings.Contains(got, `"isError":true`) || !strings.Contains(got, "flow.yaml:5:38: YAML aliases expand to more than 10000 nodes") {
			t.Fatalf("got %s", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("compose_flow with the alias bomb did not answer in 5s")
	}
}
