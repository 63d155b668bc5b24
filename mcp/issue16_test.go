package mcp_test

// Regression tests for issue 16 (security and robustness of the MCP gateway).

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftio/weft/mcp"
)

const modernMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}}`

// rpcReply is a JSON-RPC answer, decoded loosely.
type rpcReply struct {
	Status int
	Raw    string
	Result map[string]any
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
}

// post sends one raw body to path with the given extra headers.
func post(t testing.TB, h http.Handler, path, body string, hdr map[string]string) rpcReply {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	b, _ := io.ReadAll(w.Result().Body)
	out := rpcReply{Status: w.Code, Raw: string(b)}
	s := string(b)
	if strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream") {
		// The last data: line carries the answer.
		for _, line := range strings.Split(s, "\n") {
			if strings.HasPrefix(line, "data: ") {
				s = strings.TrimPrefix(line, "data: ")
			}
		}
	}
	var msg struct {
		Result map[string]any `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal([]byte(s), &msg)
	out.Result, out.Error = msg.Result, msg.Error
	return out
}

// modern sends a 2026-07-28 request (stateless wire).
func modern(t testing.TB, h http.Handler, path, method, name, params, token string) rpcReply {
	t.Helper()
	hdr := map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": method}
	if name != "" {
		hdr["Mcp-Name"] = name
	}
	if token != "" {
		hdr["Authorization"] = "Bearer " + token
	}
	if params == "" {
		params = "{" + modernMeta + "}"
	} else {
		params = strings.TrimSuffix(params, "}") + "," + modernMeta + "}"
	}
	return post(t, h, path, `{"jsonrpc":"2.0","id":1,"method":"`+method+`","params":`+params+`}`, hdr)
}

// F14: a JSON-RPC batch (and any well-formed JSON that is not a request
// object) is an invalid request, -32600; only text that is not JSON is a
// parse error, -32700. Over HTTP on both wires and through HandleMessage
// (stdio).
func TestIssue16_F14_BatchIsInvalidRequest(t *testing.T) {
	gw := mcp.New(newEngine(t), slog.New(slog.DiscardHandler), mcp.Config{})
	cases := []struct {
		name, body string
		code       int
	}{
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}]`, -32600},
		{"batch with leading space", " \n[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", -32600},
		{"empty batch", `[]`, -32600},
		{"a number", `42`, -32600},
		{"a string", `"ping"`, -32600},
		{"method of the wrong type", `{"jsonrpc":"2.0","id":1,"method":5}`, -32600},
		{"not json", `{"jsonrpc":"2.0",`, -32700},
		{"garbage", "\xff\xfe", -32700},
	}
	for _, c := range cases {
		for _, hdr := range []map[string]string{nil, {"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "ping"}} {
			r := post(t, gw, "/mcp", c.body, hdr)
			if r.Error == nil || r.Error.Code != c.code || r.Status != http.StatusBadRequest {
				t.Errorf("%s (headers %v): HTTP %d %s; want 400 and code %d", c.name, hdr, r.Status, r.Raw, c.code)
			}
		}
		srv, _ := gw.Server(mcp.ToolsetAll)
		b, _ := json.Marshal(srv.HandleMessage(context.Background(), json.RawMessage(c.body)))
		var msg struct {
			Error struct {
				Code int `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(b, &msg)
		if msg.Error.Code != c.code {
			t.Errorf("%s (stdio): %s; want code %d", c.name, b, c.code)
		}
	}
}

// F15: elicitation is a client capability; the server must not claim it
// (nor its conformance fixture), on either wire.
func TestIssue16_F15_NoElicitationServerCapability(t *testing.T) {
	gw := mcp.New(newEngine(t), slog.New(slog.DiscardHandler), mcp.Config{})
	for _, path := range []string{"/mcp", "/mcp/discovery", "/mcp/conformance"} {
		r := post(t, gw, path, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{}},"clientInfo":{"name":"x","version":"1"}}}`, nil)
		caps, ok := r.Result["capabilities"].(map[string]any)
		if !ok {
			t.Fatalf("%s initialize: %s", path, r.Raw)
		}
		if _, has := caps["elicitation"]; has {
			t.Errorf("%s: server capabilities claim elicitation: %v", path, caps)
		}
		d := modern(t, gw, path, "server/discover", "", "", "")
		if strings.Contains(d.Raw, `"elicitation"`) {
			t.Errorf("%s: server/discover claims elicitation: %s", path, d.Raw)
		}
	}
}
