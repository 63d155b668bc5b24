package mcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/mcpconn"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/mcp"
	"github.com/weftio/weft/store"
)

// passUpstream is an upstream MCP server (Streamable HTTP, SSE answers, as
// server-everything answers) with a read-only tool "echo" and a destructive
// tool "wipe". It keeps the arguments' bytes of each tools/call as they
// arrived, and answers with result(name, args): the result's JSON text,
// written into the response as it is.
type passUpstream struct {
	srv    *httptest.Server
	calls  atomic.Int32
	mu     sync.Mutex
	args   []json.RawMessage
	result func(name string, args json.RawMessage) string
}

func newPassUpstream(tb testing.TB, result func(name string, args json.RawMessage) string) *passUpstream {
	u := &passUpstream{result: result}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				ProtocolVersion string          `json:"protocolVersion"`
				Name            string          `json:"name"`
				Arguments       json.RawMessage `json:"arguments"`
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
		var result string
		switch msg.Method {
		case "initialize":
			w.Header().Set("Mcp-Session-Id", "s-1")
			result = fmt.Sprintf(`{"protocolVersion":%q,"capabilities":{"tools":{}},"serverInfo":{"name":"pass","version":"1"}}`, msg.Params.ProtocolVersion)
		case "tools/list":
			result = `{"tools":[` +
				`{"name":"echo","description":"Echoes","annotations":{"readOnlyHint":true},"inputSchema":{"type":"object","properties":{"message":{"type":"string"},"n":{"type":"number"}},"required":["message"]}},` +
				`{"name":"wipe","description":"Wipes","inputSchema":{"type":"object","properties":{"id":{"type":"string"}}}}]}`
		case "tools/call":
			u.calls.Add(1)
			u.mu.Lock()
			u.args = append(u.args, append(json.RawMessage(nil), msg.Params.Arguments...))
			u.mu.Unlock()
			result = u.result(msg.Params.Name, msg.Params.Arguments)
		default:
			result = `{}`
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":%s}\n\n", msg.ID, result)
	}))
	tb.Cleanup(u.srv.Close)
	return u
}

func (u *passUpstream) lastArgs() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.args) == 0 {
		return ""
	}
	return string(u.args[len(u.args)-1])
}

// passGateway federates u as connector "up" into e and serves it.
func passGateway(tb testing.TB, e *engine.Engine, u *passUpstream, opt mcpconn.Options, cfg mcp.Config) *mcp.Gateway {
	opt.Log = slog.New(slog.DiscardHandler)
	fed := mcpconn.NewFederation(e.Catalog(), opt)
	tb.Cleanup(fed.Close)
	if _, err := fed.Add(context.Background(), "up", mcpconn.Spec{URL: u.srv.URL, AllowPrivate: true}, nil); err != nil {
		tb.Fatal(err)
	}
	if err := e.Catalog().AddConnection(&connectors.Connection{Name: "up", Connector: "up"}); err != nil {
		tb.Fatal(err)
	}
	cfg.Federation = fed
	return mcp.New(e, slog.New(slog.DiscardHandler), cfg)
}

// replyOf is the JSON-RPC answer of r: its id and its result, as written.
func replyOf(t *testing.T, r rpcReply) (id, result json.RawMessage) {
	t.Helper()
	s := r.Raw
	if i := strings.LastIndex(s, "data: "); i >= 0 {
		s = strings.TrimSpace(strings.SplitN(s[i+len("data: "):], "\n", 2)[0])
	}
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal([]byte(s), &msg); err != nil {
		t.Fatalf("not a JSON-RPC answer: %v: %.300s", err, r.Raw)
	}
	return msg.ID, msg.Result
}

// The pass-through: the upstream gets the client's argument bytes (its
// spellings kept: an escape, 1.50), and the client gets the upstream's
// result as written (content of every kind, annotations, numbers'
// spellings, members Weft does not know), under its own request id. On the
// 2026-07-28 wire the result carries the gateway's _meta and resultType in
// place of the upstream's, and the rest is the upstream's.
func TestFedPassThroughKeepsBytesAndID(t *testing.T) {
	const upResult = `{"content":[{"type":"text","text":"Echo: h\u00e9","annotations":{"audience":["user"],"priority":0.50}},{"type":"image","data":"AAAA","mimeType":"image/png"}],"x-extra":{"n":1.50,"s":"x"}}`
	u := newPassUpstream(t, func(string, json.RawMessage) string { return upResult })
	gw := passGateway(t, newEngine(t), u, mcpconn.Options{}, mcp.Config{})

	// 2025-11-25 (a session): the result is the upstream's, byte for byte.
	hdr := legacySession(t, gw, "/mcp", `{}`, "")
	hdr["Mcp-Method"] = "tools/call"
	r := post(t, gw, "/mcp", `{"jsonrpc":"2.0","id":"call-7","method":"tools/call","params":{"name":"up__echo","arguments":{"message":"h\u00e9", "n":1.50}}}`, hdr)
	id, res := replyOf(t, r)
	if string(id) != `"call-7"` {
		t.Errorf("id %s, want \"call-7\"", id)
	}
	if string(res) != upResult {
		t.Errorf("the result is not the upstream's:\n got %s\nwant %s", res, upResult)
	}
	if got := u.lastArgs(); got != `{"message":"h\u00e9","n":1.50}` {
		t.Errorf("the upstream got arguments %s, not the client's bytes", got)
	}

	// 2026-07-28: a numeric id kept; _meta and resultType are the gateway's.
	r = post(t, gw, "/mcp", `{"jsonrpc":"2.0","id":912,"method":"tools/call","params":{"name":"up__echo","arguments":{"message":"x"},`+modernMeta+`}}`,
		map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "up__echo"})
	id, res = replyOf(t, r)
	var got, want map[string]json.RawMessage
	if err := json.Unmarshal(res, &got); err != nil {
		t.Fatalf("%v: %s", err, r.Raw)
	}
	_ = json.Unmarshal([]byte(upResult), &want)
	if string(id) != "912" || string(got["resultType"]) != `"complete"` || !strings.Contains(string(got["_meta"]), "serverInfo") {
		t.Errorf("modern answer: id %s, result %s", id, res)
	}
	for _, k := range []string{"content", "x-extra"} {
		if !bytes.Equal(got[k], want[k]) {
			t.Errorf("modern %s: got %s, want %s", k, got[k], want[k])
		}
	}
	if len(got) != 4 {
		t.Errorf("modern result members: %s", res)
	}
}

// An upstream that speaks 2026-07-28 itself sends its own _meta and
// resultType: the client gets the gateway's (and none on the older wire),
// never the upstream's identity.
func TestFedPassThroughReplacesUpstreamMeta(t *testing.T) {
	const upResult = `{"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"upstream-secret-name","version":"9"}},"content":[{"type":"text","text":"ok"}],"resultType":"complete"}`
	u := newPassUpstream(t, func(string, json.RawMessage) string { return upResult })
	gw := passGateway(t, newEngine(t), u, mcpconn.Options{}, mcp.Config{})
	r := modern(t, gw, "/mcp", "tools/call", "up__echo", `{"name":"up__echo","arguments":{"message":"x"}}`, "")
	_, res := replyOf(t, r)
	if strings.Contains(string(res), "upstream-secret-name") || !strings.Contains(string(res), `"resultType":"complete"`) || !strings.Contains(string(res), `"text":"ok"`) {
		t.Errorf("modern: %s", res)
	}
	hdr := legacySession(t, gw, "/mcp", `{}`, "")
	hdr["Mcp-Method"] = "tools/call"
	_, res = replyOf(t, post(t, gw, "/mcp", `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"up__echo","arguments":{"message":"x"}}}`, hdr))
	if string(res) != `{"content":[{"type":"text","text":"ok"}]}` {
		t.Errorf("legacy: %s", res)
	}
}

// Policies apply to a passed-through federated tool as to any: a denied
// tool, one outside the key's tool list, and a destructive one under
// confirm without the user's answer never reach the upstream.
func TestFedPassThroughKeepsPolicies(t *testing.T) {
	u := newPassUpstream(t, func(string, json.RawMessage) string { return `{"content":[{"type":"text","text":"ran"}]}` })
	e := newEngine(t)
	ctx := context.Background()
	auth, err := mcp.NewAuth(e.Store(), mcp.AuthConfig{Mode: mcp.AuthKeys})
	if err != nil {
		t.Fatal(err)
	}
	_, limited, _ := mcp.CreateKey(ctx, e.Store(), "limited", []string{"*", "tool:up__wipe"}, 0)
	_, full, _ := mcp.CreateKey(ctx, e.Store(), "full", []string{"*"}, 0)
	gw := passGateway(t, e, u, mcpconn.Options{}, mcp.Config{Auth: auth,
		Policy: []mcp.Rule{{Tool: "destructive", Action: mcp.PolicyConfirm}, {Tool: "up__ech*", Action: mcp.PolicyDeny}}})

	for _, c := range []struct{ what, tool, args, key, want string }{
		{"denied", "up__echo", `{"message":"x"}`, full, "denied by the gateway's policy"},
		{"not in the key's tools", "up__echo", `{"message":"x"}`, limited, "tool 'up__echo' not found"},
	} {
		r := modern(t, gw, "/mcp", "tools/call", c.tool, `{"name":"`+c.tool+`","arguments":`+c.args+`}`, c.key)
		if !strings.Contains(toolText(r)+r.Raw, c.want) {
			t.Errorf("%s: %.300s", c.what, r.Raw)
		}
	}
	// Confirm: the 2026-07-28 client is asked (input_required); nothing ran.
	r := modern(t, gw, "/mcp", "tools/call", "up__wipe", `{"name":"up__wipe","arguments":{"id":"a"}}`, full)
	if r.Result["resultType"] != "input_required" {
		t.Errorf("confirm: %.300s", r.Raw)
	}
	// A 2025-11-25 client without elicitation cannot confirm: refused.
	hdr := legacySession(t, gw, "/mcp", `{}`, full)
	hdr["Mcp-Method"] = "tools/call"
	r = post(t, gw, "/mcp", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"up__wipe","arguments":{"id":"a"}}}`, hdr)
	if r.Result["isError"] != true || !strings.Contains(toolText(r), "confirmation") {
		t.Errorf("confirm, no elicitation: %.300s", r.Raw)
	}
	if n := u.calls.Load(); n != 0 {
		t.Fatalf("the upstream ran %d refused calls", n)
	}
}

// Arguments that are not an object, that break the tool's schema, or that
// are over the size bound (measured on the client's bytes) are refused with
// a clear message and never sent upstream; null arguments are sent as {}.
func TestFedPassThroughRefusesBadArguments(t *testing.T) {
	u := newPassUpstream(t, func(string, json.RawMessage) string { return `{"content":[{"type":"text","text":"ran"}]}` })
	gw := passGateway(t, newEngine(t), u, mcpconn.Options{}, mcp.Config{MaxArgBytes: 100})
	for _, c := range []struct{ args, want string }{
		{`[1,2]`, "arguments must be a JSON object"},
		{`"message"`, "arguments must be a JSON object"},
		{`{"message":7}`, `argument "message" of up__echo must be string, got a number`},
		{`{"n":1}`, `missing required argument "message"`},
		{`null`, `missing required argument "message"`},
		// 90 bytes of data, 101 with the spaces the client sent.
		{`{"message":"` + strings.Repeat("x", 76) + `"           }`, "arguments are 101 bytes; the limit is 100"},
	} {
		r := modern(t, gw, "/mcp", "tools/call", "up__echo", `{"name":"up__echo","arguments":`+c.args+`}`, "")
		if r.Result["isError"] != true || !strings.Contains(toolText(r), c.want) {
			t.Errorf("arguments %.40s: %.300s", c.args, r.Raw)
		}
	}
	if n := u.calls.Load(); n != 0 {
		t.Fatalf("the upstream got %d refused calls (last arguments %s)", n, u.lastArgs())
	}
	for _, params := range []string{`{"name":"up__wipe","arguments":null}`, `{"name":"up__wipe"}`} {
		u.mu.Lock()
		u.args = nil
		u.mu.Unlock()
		r := modern(t, gw, "/mcp", "tools/call", "up__wipe", params, "")
		if r.Result["isError"] == true || u.lastArgs() != `{}` {
			t.Errorf("%s: upstream got %q: %.300s", params, u.lastArgs(), r.Raw)
		}
	}
}

// The call is in the transaction log (its sizes as sent and received),
// an upstream error result still reaches the client as Weft's error message,
// structured content is still written into the text for a model,
// a result over max_result_bytes is refused with the bound named, and one
// over the text bound is cut as before.
func TestFedPassThroughLogsAndBounds(t *testing.T) {
	const okResult = `{"content":[{"type":"text","text":"fine"}]}`
	big := `{"content":[{"type":"text","text":"` + strings.Repeat("y", 300<<10) + `"}]}`
	mid := `{"content":[{"type":"text","text":"` + strings.Repeat("z", mcp.MaxTextBytes+10) + `"}]}`
	u := newPassUpstream(t, func(_ string, args json.RawMessage) string {
		switch {
		case strings.Contains(string(args), "big"):
			return big
		case strings.Contains(string(args), "mid"):
			return mid
		case strings.Contains(string(args), "structured"):
			return `{"content":[{"type":"text","text":"sum"}],"structuredContent":{"sum":3}}`
		case strings.Contains(string(args), "fail"):
			return `{"content":[{"type":"text","text":"no such thing"}],"isError":true}`
		}
		return okResult
	})
	e := newEngine(t)
	gw := passGateway(t, e, u, mcpconn.Options{MaxResultBytes: 200 << 10}, mcp.Config{})
	if r := modern(t, gw, "/mcp", "tools/call", "up__echo", `{"name":"up__echo","arguments":{"message":"ok"}}`, ""); toolText(r) != "fine" {
		t.Fatalf("ok: %.300s", r.Raw)
	}
	if r := modern(t, gw, "/mcp", "tools/call", "up__echo", `{"name":"up__echo","arguments":{"message":"fail"}}`, ""); r.Result["isError"] != true || !strings.Contains(toolText(r), "tool echo failed: no such thing") {
		t.Errorf("error result: %.300s", r.Raw)
	}
	if r := modern(t, gw, "/mcp", "tools/call", "up__echo", `{"name":"up__echo","arguments":{"message":"structured"}}`, ""); toolText(r) != `{"sum":3}` {
		t.Errorf("structured result: %.300s", r.Raw)
	}
	if r := modern(t, gw, "/mcp", "tools/call", "up__echo", `{"name":"up__echo","arguments":{"message":"big"}}`, ""); r.Result["isError"] != true || !strings.Contains(toolText(r), "over the limit of 204800 bytes") {
		t.Errorf("oversized result: %.300s", r.Raw)
	}
	if r := modern(t, gw, "/mcp", "tools/call", "up__echo", `{"name":"up__echo","arguments":{"message":"mid"}}`, ""); !strings.Contains(toolText(r), "[truncated: the result is") {
		t.Errorf("result over the text bound: not cut: %.200s", r.Raw)
	}
	if err := e.FlushToolLog(context.Background()); err != nil {
		t.Fatal(err)
	}
	runs, err := e.Store().ListRuns(context.Background(), store.RunFilter{Flow: "mcp:all", Limit: 10})
	if err != nil || len(runs) != 5 {
		t.Fatalf("tool-call runs: %v %d", err, len(runs))
	}
	var okRuns, failed int
	for _, run := range runs {
		atts, _ := e.Store().ListAttempts(context.Background(), run.ID)
		if len(atts) != 1 || atts[0].StepKey != "up.echo" {
			t.Fatalf("attempts: %+v", atts)
		}
		switch run.Status {
		case store.RunSucceeded:
			okRuns++
			if n := atts[0].InputSize; n != len(`{"message":"ok"}`) && n != len(`{"message":"mid"}`) && n != len(`{"message":"structured"}`) {
				t.Errorf("input size %d", atts[0].InputSize)
			}
			if n := atts[0].OutputSize; n != len(okResult) && n < mcp.MaxTextBytes && n != len(`{"sum":3}`) {
				t.Errorf("output size %d", atts[0].OutputSize)
			}
		default:
			failed++
		}
	}
	if okRuns != 3 || failed != 2 {
		t.Errorf("runs: %d ok, %d failed", okRuns, failed)
	}
}
