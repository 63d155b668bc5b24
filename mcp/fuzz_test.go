package mcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/mcp"
)

var (
	fuzzOnce sync.Once
	fuzzGw   *mcp.Gateway
)

// FuzzMCPDecode feeds arbitrary bytes to the gateway as a POST body, on the
// 2026-07-28 wire (headers derived from the body, so well-formed requests
// reach the handlers) and on the 2025-11-25 wire, and to HandleMessage (the
// stdio path). Invariants: no panic; an answer within a few seconds; every
// JSON-RPC error carries a known code and a message; text that is not JSON
// is -32700, a batch is -32600; a body over the limit is 413.
//
//	go test -run '^$' -fuzz '^FuzzMCPDecode$' -fuzztime 60s -parallel 1 ./mcp
func FuzzMCPDecode(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"ping"}`,
		`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`,
		`[]`, `42`, `"x"`, `null`, `{`, "\xff", ``,
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{` + modernMeta + `}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"crm__deleteAccount","arguments":{"id":"a1"},"inputResponses":{"confirm":{"action":"accept","content":{"confirm":true}}},` + modernMeta + `}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"crm__deleteAccount","arguments":{"id":"a1"},"inputResponses":{"confirm":{"action":"accept","content":{"confirm":true}}},"requestState":"p.AAAA",` + modernMeta + `}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_tools","arguments":{"query":"account"},` + modernMeta + `}}`,
		`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"weft://runs?cursor=zz",` + modernMeta + `}}`,
		`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"weft://runs/x",` + modernMeta + `}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"crm__listAccounts","arguments":[1,2],` + modernMeta + `}}`,
		`{"jsonrpc":"2.0","id":{"a":1},"method":"ping","params":{"_meta":5}}`,
		`{"jsonrpc":"2.0","id":1,"result":{}}`,
		`{"jsonrpc":"1.0","id":1,"method":"ping"}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"crm__listAccounts","arguments":{"q":"` + strings.Repeat("x", 70<<10) + `"},` + modernMeta + `}}`,
		`{"jsonrpc":"2.0","id":1,"method":"x","params":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`,
	} {
		f.Add([]byte(s))
	}
	fuzzOnce.Do(func() {
		e := newEngine(f)
		destructiveCatalog(f, e)
		fuzzGw = mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{MaxBodyBytes: 64 << 10,
			Policy: []mcp.Rule{{Tool: "destructive", Action: mcp.PolicyConfirm}}})
	})
	gw := fuzzGw
	srv, _ := gw.Server(mcp.ToolsetAll)
	f.Fuzz(func(t *testing.T, body []byte) {
		var head struct {
			Method string `json:"method"`
			Params struct {
				Name string `json:"name"`
				URI  string `json:"uri"`
			} `json:"params"`
		}
		_ = json.Unmarshal(body, &head)
		if strings.Contains(head.Method, "listen") || strings.Contains(head.Method, "subscribe") {
			return // streams stay open by design
		}
		trimmed := bytes.TrimLeft(body, " \t\r\n")
		for _, modernWire := range []bool{true, false} {
			req := httptest.NewRequest("POST", "/mcp", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if modernWire {
				req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
				if ok := strings.IndexFunc(head.Method, func(r rune) bool { return r < 0x21 || r > 0x7e }) < 0; ok {
					req.Header.Set("Mcp-Method", head.Method)
				}
				name := head.Params.Name
				if name == "" {
					name = head.Params.URI
				}
				if strings.IndexFunc(name, func(r rune) bool { return r < 0x21 || r > 0x7e }) < 0 {
					req.Header.Set("Mcp-Name", name)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			req = req.WithContext(ctx)
			w := httptest.NewRecorder()
			start := time.Now()
			within(t, 8*time.Second, body, func() { gw.ServeHTTP(w, req) })
			took := time.Since(start)
			cancel()
			if took > 4*time.Second {
				t.Fatalf("took %s (modern %v)", took, modernWire)
			}
			if len(body) > 64<<10 {
				if w.Code != http.StatusRequestEntityTooLarge {
					t.Fatalf("oversized body: HTTP %d", w.Code)
				}
				continue
			}
			b, _ := io.ReadAll(w.Result().Body)
			checkRPCErrors(t, b, body, trimmed, w.Code)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var answer any
		within(t, 8*time.Second, body, func() { answer = srv.HandleMessage(ctx, json.RawMessage(body)) })
		out, err := json.Marshal(answer)
		cancel()
		if err != nil {
			t.Fatalf("HandleMessage answer does not marshal: %v", err)
		}
		checkRPCErrors(t, out, body, trimmed, 400)
	})
}

// within fails the test, with every goroutine's stack, when f does not
// return in d (a hang is a finding too).
func within(t *testing.T, d time.Duration, input []byte, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Fatalf("no answer in %s to %.300q\n%s", d, input, buf[:n])
	}
}

var knownCodes = map[int]bool{-32700: true, -32600: true, -32601: true, -32602: true, -32603: true, -32002: true, -32042: true}

// checkRPCErrors checks the JSON-RPC error in an answer (plain JSON or the
// data lines of an event stream), if any.
func checkRPCErrors(t *testing.T, answer, body, trimmed []byte, status int) {
	t.Helper()
	msgs := [][]byte{answer}
	if bytes.Contains(answer, []byte("\ndata: ")) || bytes.HasPrefix(answer, []byte("event:")) || bytes.HasPrefix(answer, []byte("data:")) {
		msgs = nil
		for _, line := range bytes.Split(answer, []byte("\n")) {
			if d, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
				msgs = append(msgs, d)
			}
		}
	}
	for _, m := range msgs {
		var msg struct {
			Error *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(m, &msg) != nil || msg.Error == nil {
			continue
		}
		if msg.Error.Message == "" || (msg.Error.Code > -32000 || msg.Error.Code < -32768) && !knownCodes[msg.Error.Code] {
			t.Fatalf("error without a proper code or message: %s (input %.200q)", m, body)
		}
		if status == http.StatusBadRequest && !json.Valid(body) && msg.Error.Code != -32700 {
			t.Fatalf("input that is not JSON answered %d, not -32700: %s", msg.Error.Code, m)
		}
		if len(trimmed) > 0 && trimmed[0] == '[' && json.Valid(body) && msg.Error.Code != -32600 {
			t.Fatalf("a batch answered %d, not -32600: %s", msg.Error.Code, m)
		}
	}
}
