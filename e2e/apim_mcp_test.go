package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// keyTransport sends a consumer's API key on every request.
type keyTransport struct{ key string }

func (k keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-API-Key", k.key)
	return http.DefaultTransport.RoundTrip(r)
}

func toolText(r *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// An API product offered over MCP, through two weft serve processes on
// one PostgreSQL: an agent (the official Go SDK's client) lists the
// version's routes as tools with the consumer's key and calls them
// through process A; the plan's quota is shared with HTTP calls through
// process B (429 past it, over MCP and HTTP alike); a key revoked
// through B is refused on A's next request; a retired version is not
// offered.
func TestAPIProductMCPToolset(t *testing.T) {
	p := startAPIMPair(t)
	a, b := p.a, p.b
	if code := a.do("PUT", "/api/products/shop", `{"auth": "api_key", "mcp": true, "versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}]},
		{"name": "v0", "status": "retired", "successor": "v1", "flows": [{"flow": "get-order", "version": 1}]}]}`, nil); code != 200 {
		t.Fatalf("product: %d", code)
	}
	mustCLI(t, a, "plans", "set", "small", "--quota-day", "4")
	key := newConsumerKey(t, a, "agent-app", "small")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := a.URL + "/apis/shop/v1/mcp"
	if _, err := sdk.NewClient(&sdk.Implementation{Name: "anon", Version: "1"}, nil).Connect(ctx, &sdk.StreamableClientTransport{Endpoint: url}, nil); err == nil {
		t.Fatal("an MCP session without a key")
	}
	s := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: keyTransport{key}}}, nil)
	tools, err := s.ListTools(ctx, nil)
	if err != nil || len(tools.Tools) != 1 || tools.Tools[0].Name != "get_order" {
		t.Fatalf("tools: %v %v", err, tools)
	}
	call := func(id string) *sdk.CallToolResult {
		t.Helper()
		r, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "get_order", Arguments: map[string]any{"path": map[string]any{"id": id}}})
		if err != nil {
			t.Fatalf("call %s: %v", id, err)
		}
		return r
	}
	if r := call("7"); r.IsError || !strings.Contains(toolText(r), `"id":"7"`) {
		t.Fatalf("call: %s", toolText(r))
	}
	if r := call("x"); !r.IsError || !strings.Contains(toolText(r), "HTTP 400") || !strings.Contains(toolText(r), "/path/id") {
		t.Fatalf("invalid id: %s", toolText(r))
	}
	// Two calls over MCP, two over HTTP through the other process: the
	// quota of 4 is spent, and the next call is refused on either path.
	for i := range 2 {
		if code, _ := callKey(t, b.URL+"/apis/shop/v1/orders/1", key); code != 200 {
			t.Fatalf("HTTP call %d through B: %d", i, code)
		}
	}
	if r := call("8"); !r.IsError || !strings.Contains(toolText(r), "HTTP 429") || !strings.Contains(toolText(r), "retry after") {
		t.Fatalf("over the quota over MCP: %s", toolText(r))
	}
	if code, h := callKey(t, b.URL+"/apis/shop/v1/orders/1", key); code != 429 || h.Get("Retry-After") == "" {
		t.Fatalf("over the quota over HTTP: %d", code)
	}
	// Every call is in the analytics, whichever process served it.
	var usage struct {
		Groups []struct {
			Consumer    string `json:"consumer"`
			Calls       int    `json:"calls"`
			RateLimited int    `json:"rate_limited"`
		} `json:"groups"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code := b.do("GET", "/api/metrics/api?window=1h&consumer=agent-app", nil, &usage); code != 200 {
			t.Fatalf("usage: %d", code)
		}
		if len(usage.Groups) == 1 && usage.Groups[0].Calls == 6 && usage.Groups[0].RateLimited == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage: %+v, want 6 calls of which 2 rate-limited", usage.Groups)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Revoked through B: A refuses the same session's next request.
	id := key[3:19]
	if code := b.do("DELETE", "/api/consumers/agent-app/keys/"+id, nil, nil); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	if _, err := s.ListTools(ctx, nil); err == nil {
		t.Fatal("a revoked key still lists tools")
	}
	if r, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "get_order", Arguments: map[string]any{"path": map[string]any{"id": "1"}}}); err == nil && !r.IsError {
		t.Fatalf("a revoked key still calls: %s", toolText(r))
	}
	// A retired version is not offered.
	key2 := newConsumerKey(t, b, "other-app", "small")
	req, _ := http.NewRequest("POST", a.URL+"/apis/shop/v0/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set("X-API-Key", key2)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("retired version: %d", resp.StatusCode)
	}
}
