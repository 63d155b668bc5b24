package mcp_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftio/weft/mcp"
)

// How a POST is told apart as a 2026-07-28 (stateless) or a 2025-11-25
// (session) message, and how a malformed _meta is answered. The vendored
// mcp-go decodes a message's _meta once per request where upstream decoded
// the whole message three times (third_party/mcp-go/PATCHES.md, patch 2);
// these answers are upstream's, pinned.
func TestRequestEraAndMeta(t *testing.T) {
	gw := mcp.New(newEngine(t), slog.New(slog.DiscardHandler), mcp.Config{})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	const meta = `"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}`
	cases := []struct {
		name, header, body string
		status, code       int // HTTP status; JSON-RPC error code (0: a result)
	}{
		{"modern, well formed", "2026-07-28",
			`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{` + meta + `}}}`, 200, 0},
		{"modern, no client capabilities", "2026-07-28",
			`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`, 400, -32602},
		{"modern body, no version header", "",
			`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{` + meta + `}}}`, 400, -32020},
		{"modern header, no _meta", "2026-07-28",
			`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, 400, -32602},
		{"modern header, _meta not an object", "2026-07-28",
			`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":5}}`, 400, -32602},
		{"modern header, version not a string", "2026-07-28",
			`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":20260728,"io.modelcontextprotocol/clientCapabilities":{}}}}`, 400, -32602},
		{"modern header, params an array", "2026-07-28",
			`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[1]}`, 400, -32602},
		{"legacy, no session", "",
			`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"progressToken":1}}}`, 404, 0},
		{"legacy version in _meta, no session", "",
			`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25"}}}`, 404, 0},
	}
	for _, c := range cases {
		req, _ := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Method", "tools/list")
		if c.header != "" {
			req.Header.Set("Mcp-Protocol-Version", c.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var msg struct {
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Code int `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(b, &msg)
		code := 0
		if msg.Error != nil {
			code = msg.Error.Code
		}
		if resp.StatusCode != c.status || code != c.code {
			t.Errorf("%s: HTTP %d, JSON-RPC error %d; want %d, %d (%s)", c.name, resp.StatusCode, code, c.status, c.code, b)
		}
		if c.code == 0 && c.status == 200 && len(msg.Result) == 0 {
			t.Errorf("%s: no result: %s", c.name, b)
		}
	}
}

// A 2026-07-28 notification carries no _meta (the triple is defined for
// requests only): notifications/cancelled, as the official SDK sends it to
// end a subscriptions/listen stream, is accepted (202), not refused with
// 400 (mcp-go patch 6). A request without it is still refused.
func TestModernNotificationWithoutMeta(t *testing.T) {
	gw := mcp.New(newEngine(t), slog.New(slog.DiscardHandler), mcp.Config{})
	hdr := map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "notifications/cancelled"}
	r := post(t, gw, "/mcp", `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3,"reason":"context canceled"}}`, hdr)
	if r.Status != http.StatusAccepted {
		t.Fatalf("notifications/cancelled without _meta: HTTP %d %s", r.Status, r.Raw)
	}
	r = post(t, gw, "/mcp", `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3,"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25"}}}`, hdr)
	if r.Status != http.StatusBadRequest {
		t.Fatalf("a notification whose _meta contradicts the header: HTTP %d %s", r.Status, r.Raw)
	}
	r = post(t, gw, "/mcp", `{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{}}`, map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list"})
	if r.Status != http.StatusBadRequest || r.Error == nil || !strings.Contains(r.Error.Message, "missing or invalid _meta") {
		t.Fatalf("a request without _meta: HTTP %d %s", r.Status, r.Raw)
	}
}
