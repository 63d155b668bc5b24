package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/mcpconn"
	"github.com/weftio/weft/mcp"
)

// sseEcho is an upstream MCP server that answers the way the reference
// TypeScript server (@modelcontextprotocol/server-everything, Streamable
// HTTP) does: every POST with a request is answered as an SSE stream (a
// priming event, then the message, each with an id), a session id on
// initialize. Its echo costs next to nothing, so a benchmark through it
// measures the gateway and its upstream client.
func sseEcho(tb testing.TB) *httptest.Server {
	var ids atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				ProtocolVersion string         `json:"protocolVersion"`
				Arguments       map[string]any `json:"arguments"`
			} `json:"params"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &msg); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if msg.ID == nil {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		var result any
		switch msg.Method {
		case "initialize":
			w.Header().Set("Mcp-Session-Id", "s-1")
			result = map[string]any{"protocolVersion": msg.Params.ProtocolVersion, "capabilities": map[string]any{"tools": map[string]any{"listChanged": true}},
				"serverInfo": map[string]any{"name": "sse-echo", "version": "1"}}
		case "tools/list":
			result = map[string]any{"tools": []any{map[string]any{"name": "echo", "description": "Echoes back the input string",
				"inputSchema": map[string]any{"type": "object", "properties": map[string]any{"message": map[string]any{"type": "string"}}, "required": []string{"message"}}}}}
		case "tools/call":
			result = map[string]any{"content": []any{map[string]any{"type": "text", "text": fmt.Sprintf("Echo: %v", msg.Params.Arguments["message"])}}}
		default:
			result = map[string]any{}
		}
		out, _ := json.Marshal(map[string]any{"result": result, "jsonrpc": "2.0", "id": msg.ID})
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		fmt.Fprintf(w, "id: p%d\ndata: \n\nevent: message\nid: m%d\ndata: %s\n\n", ids.Add(1), ids.Add(1), out)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// fedGateway is a gateway with sseEcho federated as connector "evh".
func fedGateway(tb testing.TB) *mcp.Gateway {
	up := sseEcho(tb)
	e := newEngine(tb)
	fed := mcpconn.NewFederation(e.Catalog(), mcpconn.Options{Log: slog.New(slog.DiscardHandler)})
	tb.Cleanup(fed.Close)
	if _, err := fed.Add(context.Background(), "evh", mcpconn.Spec{URL: up.URL, AllowPrivate: true}, nil); err != nil {
		tb.Fatal(err)
	}
	if err := e.Catalog().AddConnection(&connectors.Connection{Name: "evh", Connector: "evh"}); err != nil {
		tb.Fatal(err)
	}
	return mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Federation: fed})
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFederatedEcho: one federated tools/call through the gateway,
// handed to its ServeHTTP (no client network on the agent's side), to an
// upstream answering like server-everything over SSE. What is measured is
// mcp-go's handling, Weft's call path, the official SDK's client to the
// upstream with its HTTP exchange, and the transaction log. cpu-µs/op is
// the process's CPU a call (the upstream's share is small and the same
// before and after a change), which a loaded machine moves less than ns/op.
//
//	go test -run '^$' -bench FederatedEcho -benchmem -cpu 1 ./mcp
func BenchmarkFederatedEcho(b *testing.B) {
	gw := fedGateway(b)
	call := func() {
		if err := echoCall(gw); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ {
		call()
	}
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		call()
	}
	b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkFederatedEchoParallel: the same call from 16 concurrent
// callers (as bench/mcpfed's load has them; with -cpu 1, 16 goroutines on
// one processor): what the gateway's work a call costs when calls overlap,
// the transaction log's batches included.
//
//	go test -run '^$' -bench FederatedEchoParallel -benchmem -cpu 1 ./mcp
func BenchmarkFederatedEchoParallel(b *testing.B) {
	gw := fedGateway(b)
	call := func() error { return echoCall(gw) }
	for i := 0; i < 20; i++ {
		if err := call(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetParallelism(16 / max(1, runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	c0 := cpuTime()
	var failed atomic.Pointer[error]
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := call(); err != nil {
				failed.CompareAndSwap(nil, &err)
			}
		}
	})
	b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N), "cpu-µs/op")
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
}

// BenchmarkFederatedEchoSDK: the same through an HTTP server with the
// official Go SDK as the agent's client (as e2e's TestMCPFederationEverything
// calls it); cpu-µs/op includes the agent's client.
//
//	go test -run '^$' -bench FederatedEchoSDK -benchmem -cpu 1 ./mcp
func BenchmarkFederatedEchoSDK(b *testing.B) {
	gw := fedGateway(b)
	srv := httptest.NewServer(gw)
	defer srv.Close()
	ctx := context.Background()
	s, err := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil).Connect(ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	call := func() {
		res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "evh__echo", Arguments: map[string]any{"message": "hello"}})
		if err != nil || res.IsError || len(res.Content) == 0 {
			b.Fatalf("%v %+v", err, res)
		}
	}
	for i := 0; i < 20; i++ {
		call()
	}
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		call()
	}
	b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// A federated tool's plain text result reaches the agent as the upstream's
// own text content (not Weft's {text, content} wrapper encoded as JSON);
// one over the gateway's text bound is still cut, with the note.
func TestFederatedTextResultPassesThrough(t *testing.T) {
	gw := fedGateway(t)
	srv := httptest.NewServer(gw)
	defer srv.Close()
	ctx := context.Background()
	s, err := sdk.NewClient(&sdk.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "evh__echo", Arguments: map[string]any{"message": "hi"}})
	if err != nil || res.IsError || len(res.Content) != 1 || res.StructuredContent != nil {
		t.Fatalf("%v %+v", err, res)
	}
	if tc, ok := res.Content[0].(*sdk.TextContent); !ok || tc.Text != "Echo: hi" {
		t.Fatalf("the upstream's text did not pass through: %#v", res.Content[0])
	}
	big := strings.Repeat("x", mcp.MaxTextBytes)
	res, err = s.CallTool(ctx, &sdk.CallToolParams{Name: "evh__echo", Arguments: map[string]any{"message": big}})
	if err != nil || res.IsError || len(res.Content) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	if tc, ok := res.Content[0].(*sdk.TextContent); !ok || !strings.Contains(tc.Text, "[truncated: the result is") || len(tc.Text) > mcp.MaxTextBytes+1024 {
		t.Fatalf("an oversized text was not cut: %d bytes", len(textOf(res)))
	}
}

// echoCall sends one federated tools/call of evh__echo to gw, as an agent
// of the 2026-07-28 protocol does, and checks the answer.
func echoCall(gw http.Handler) error {
	const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"evh__echo","arguments":{"message":"hello"},` +
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"}}}}`
	req := httptest.NewRequest("POST", "/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", "tools/call")
	req.Header.Set("Mcp-Name", "evh__echo")
	w := httptest.NewRecorder()
	gw.ServeHTTP(w, req)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `Echo: hello`) || strings.Contains(w.Body.String(), `"isError":true`) {
		return fmt.Errorf("%d %s", w.Code, w.Body.String())
	}
	return nil
}
