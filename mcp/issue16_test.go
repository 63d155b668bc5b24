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
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/mcp"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
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
	gw := mcp.New(newEngine(t), slog.New(slog.DiscardHandler), mcp.Config{Conformance: true})
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

// destructiveCatalog registers crm__deleteAccount (destructive), counting
// its runs.
func destructiveCatalog(t testing.TB, e *engine.Engine) *atomic.Int32 {
	var calls atomic.Int32
	e.Catalog().Register(&connectors.Connector{Name: "crm", Title: "CRM", Operations: []*connectors.Operation{{
		Name: "deleteAccount", Description: "Delete an account", Hints: connectors.Hints{Destructive: true},
		Input: map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}}},
		Invoke: func(context.Context, connectors.Call) (any, error) {
			calls.Add(1)
			return map[string]any{"deleted": true}, nil
		}}, {
		Name: "listAccounts", Description: "List accounts", Hints: connectors.Hints{ReadOnly: true},
		Input:  map[string]any{"type": "object"},
		Invoke: func(context.Context, connectors.Call) (any, error) { return map[string]any{"items": []any{}}, nil }}}})
	if err := e.Catalog().AddConnection(&connectors.Connection{Name: "crm", Connector: "crm"}); err != nil {
		t.Fatal(err)
	}
	return &calls
}

const acceptAnswer = `"inputResponses":{"confirm":{"action":"accept","content":{"confirm":true}}}`

// legacySession opens a 2025-11-25 session (initialize, initialized) with
// the given client capabilities and returns its headers.
func legacySession(t testing.TB, h http.Handler, path, caps, token string) map[string]string {
	t.Helper()
	hdr := map[string]string{}
	if token != "" {
		hdr["Authorization"] = "Bearer " + token
	}
	req := httptest.NewRequest("POST", path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":`+caps+`,"clientInfo":{"name":"x","version":"1"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	sid := w.Header().Get("Mcp-Session-Id")
	if w.Code != 200 || sid == "" {
		t.Fatalf("initialize: %d %s", w.Code, w.Body.String())
	}
	hdr["Mcp-Session-Id"] = sid
	hdr["Mcp-Protocol-Version"] = "2025-11-25"
	post(t, h, path, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, hdr)
	return hdr
}

func toolText(r rpcReply) string {
	var b strings.Builder
	if c, ok := r.Result["content"].([]any); ok {
		for _, x := range c {
			if m, ok := x.(map[string]any); ok {
				s, _ := m["text"].(string)
				b.WriteString(s)
			}
		}
	}
	return b.String()
}

// F06: under the confirm policy a caller cannot confirm its own call. An
// answer (inputResponses) is accepted only with the request state the
// gateway issued for that very call (wire, toolset, key, tool, arguments),
// once, before it expires: unsolicited answers are refused on the
// 2025-11-25 wire (with and without the elicitation capability) and on the
// 2026-07-28 wire, as are replays, answers moved to other arguments or to
// another key, forged and expired states. The real exchange still works.
func TestIssue16_F06_ConfirmOnlyAnswersIssuedRequest(t *testing.T) {
	e := newEngine(t)
	calls := destructiveCatalog(t, e)
	ctx := context.Background()
	auth, err := mcp.NewAuth(e.Store(), mcp.AuthConfig{Mode: mcp.AuthKeys})
	if err != nil {
		t.Fatal(err)
	}
	_, keyA, _ := mcp.CreateKey(ctx, e.Store(), "agent a", []string{"*"}, 0)
	_, keyB, _ := mcp.CreateKey(ctx, e.Store(), "agent b", []string{"*"}, 0)
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Auth: auth, Policy: []mcp.Rule{{Tool: "destructive", Action: mcp.PolicyConfirm}}})
	var now atomic.Int64
	now.Store(time.Now().Unix())
	mcp.SetConfirmClock(gw, func() time.Time { return time.Unix(now.Load(), 0) })
	mustNotRun := func(what string, r rpcReply) {
		t.Helper()
		if calls.Load() != 0 {
			t.Fatalf("%s: the destructive tool ran (%d calls): %s", what, calls.Load(), r.Raw)
		}
		if r.Result["isError"] != true && r.Error == nil {
			t.Fatalf("%s: not refused: %s", what, r.Raw)
		}
	}

	// 2025-11-25, a client without elicitation: an unsolicited answer.
	for _, caps := range []string{`{}`, `{"elicitation":{}}`} {
		hdr := legacySession(t, gw, "/mcp", caps, keyA)
		hdr["Mcp-Method"] = "tools/call"
		for _, extra := range []string{"", `,"requestState":"p.AAAA"`} {
			r := post(t, gw, "/mcp", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"crm__deleteAccount","arguments":{"id":"a1"},`+acceptAnswer+extra+`}}`, hdr)
			mustNotRun("legacy "+caps+extra, r)
		}
	}

	// 2026-07-28: unsolicited, with no state and with a forged one.
	callModern := func(args, extra, token string) rpcReply {
		return modern(t, gw, "/mcp", "tools/call", "crm__deleteAccount", `{"name":"crm__deleteAccount","arguments":`+args+extra+`}`, token)
	}
	for _, extra := range []string{"," + acceptAnswer, "," + acceptAnswer + `,"requestState":"p.AAAA"`, "," + acceptAnswer + `,"requestState":"` + strings.Repeat("x", 10000) + `"`} {
		mustNotRun("modern unsolicited", callModern(`{"id":"a1"}`, extra, keyA))
	}

	// The real exchange: asked, answered once, then replays are refused.
	ask := func(args, token string) string {
		t.Helper()
		r := callModern(args, "", token)
		state, _ := r.Result["requestState"].(string)
		reqs, _ := r.Result["inputRequests"].(map[string]any)
		if r.Result["resultType"] != "input_required" || state == "" || reqs["confirm"] == nil {
			t.Fatalf("not asked for confirmation: %s", r.Raw)
		}
		return state
	}
	state := ask(`{"id":"a1"}`, keyA)
	mustNotRun("state moved to other arguments", callModern(`{"id":"a2"}`, ","+acceptAnswer+`,"requestState":"`+state+`"`, keyA))
	mustNotRun("state moved to another key", callModern(`{"id":"a1"}`, ","+acceptAnswer+`,"requestState":"`+state+`"`, keyB))
	mustNotRun("state without an answer", callModern(`{"id":"a1"}`, `,"requestState":"`+state+`"`, keyA))
	state = ask(`{"id":"a1"}`, keyA)
	if r := callModern(`{"id":"a1"}`, ",\"inputResponses\":{\"confirm\":{\"action\":\"accept\",\"content\":{\"confirm\":false}}},\"requestState\":\""+state+`"`, keyA); !strings.Contains(toolText(r), "declined") || calls.Load() != 0 {
		t.Fatalf("declined answer: %d calls, %s", calls.Load(), r.Raw)
	}
	state = ask(`{"id":"a1"}`, keyA)
	if r := callModern(`{"id":"a1"}`, ","+acceptAnswer+`,"requestState":"`+state+`"`, keyA); r.Result["isError"] == true || calls.Load() != 1 {
		t.Fatalf("confirmed call: %d calls, %s", calls.Load(), r.Raw)
	}
	if r := callModern(`{"id":"a1"}`, ","+acceptAnswer+`,"requestState":"`+state+`"`, keyA); !strings.Contains(toolText(r), "already answered") || calls.Load() != 1 {
		t.Fatalf("replayed confirmation: %d calls, %s", calls.Load(), r.Raw)
	}
	// A modern state is not accepted on the 2025-11-25 wire.
	state = ask(`{"id":"a1"}`, keyA)
	hdr := legacySession(t, gw, "/mcp", `{}`, keyA)
	mustNotRunAgain := calls.Load()
	r := post(t, gw, "/mcp", `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"crm__deleteAccount","arguments":{"id":"a1"},`+acceptAnswer+`,"requestState":"`+state+`"}}`, hdr)
	if calls.Load() != mustNotRunAgain || r.Result["isError"] != true {
		t.Fatalf("modern state on the legacy wire: %s", r.Raw)
	}
	// Expired.
	state = ask(`{"id":"a1"}`, keyA)
	now.Add(int64(10 * time.Minute / time.Second))
	if r := callModern(`{"id":"a1"}`, ","+acceptAnswer+`,"requestState":"`+state+`"`, keyA); !strings.Contains(toolText(r), "expired") || calls.Load() != mustNotRunAgain {
		t.Fatalf("expired confirmation: %s", r.Raw)
	}
}

// endless yields 'x' for ever, counting what was read.
type endless struct{ n atomic.Int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n.Add(int64(len(p)))
	return len(p), nil
}

func newEngineCapture(t testing.TB, capture string) *engine.Engine {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return engine.New(st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), slog.New(slog.DiscardHandler), engine.Config{DefaultCapture: capture})
}

// F07: /mcp reads no more of a body than its limit (413 with a JSON-RPC
// error naming the limit, with or without Content-Length), and the
// tool-call log keeps what the capture policy allows: never a refused
// oversized payload, only sizes under metadata capture, redacted arguments
// under full capture.
func TestIssue16_F07_BodyLimitAndToolLogCapture(t *testing.T) {
	e := newEngine(t)
	destructiveCatalog(t, e)
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{MaxBodyBytes: 64 << 10})
	big := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"crm__listAccounts","arguments":{"q":"` + strings.Repeat("x", 1<<20) + `"},` + modernMeta + `}}`
	hdr := map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "crm__listAccounts"}
	r := post(t, gw, "/mcp", big, hdr)
	if r.Status != http.StatusRequestEntityTooLarge || r.Error == nil || r.Error.Code != -32600 || !strings.Contains(r.Error.Message, "limit of 65536 bytes") {
		t.Fatalf("oversized body: HTTP %d %.300s", r.Status, r.Raw)
	}
	// No Content-Length (chunked): read up to the limit only, not the whole stream.
	src := &endless{}
	req := httptest.NewRequest("POST", "/mcp", io.MultiReader(strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"`), src))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	gw.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge || src.n.Load() > 256<<10 {
		t.Fatalf("endless body: HTTP %d after reading %d bytes", w.Code, src.n.Load())
	}
	// Under the limit, calls work as before.
	if r := modern(t, gw, "/mcp", "tools/call", "crm__listAccounts", `{"name":"crm__listAccounts","arguments":{}}`, ""); r.Result["isError"] == true || r.Status != 200 {
		t.Fatalf("small call: %s", r.Raw)
	}
	// The default limit is there without configuration.
	if r := post(t, mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{}), "/mcp", strings.Replace(big, `"q":"`, `"q":"`+strings.Repeat("y", 4<<20), 1), hdr); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("default limit: HTTP %d", r.Status)
	}

	for _, capture := range []string{"metadata", "full"} {
		e := newEngineCapture(t, capture)
		destructiveCatalog(t, e)
		gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{MaxArgBytes: 64 << 10})
		huge := strings.Repeat("z", 100<<10)
		if r := modern(t, gw, "/mcp", "tools/call", "crm__listAccounts", `{"name":"crm__listAccounts","arguments":{"q":"`+huge+`"}}`, ""); !strings.Contains(toolText(r), "the limit is 65536") {
			t.Fatalf("%s: oversized arguments: %.300s", capture, r.Raw)
		}
		if r := modern(t, gw, "/mcp", "tools/call", "crm__listAccounts", `{"name":"crm__listAccounts","arguments":{"q":"visible-value","password":"hunter2"}}`, ""); r.Result["isError"] == true {
			t.Fatalf("%s: small call: %s", capture, r.Raw)
		}
		if err := e.FlushToolLog(context.Background()); err != nil {
			t.Fatal(err)
		}
		runs, err := e.Store().ListRuns(context.Background(), store.RunFilter{Flow: "mcp:all", Limit: 10})
		if err != nil || len(runs) != 2 {
			t.Fatalf("%s: tool-call runs: %v %d", capture, err, len(runs))
		}
		for _, run := range runs {
			in := string(run.Input)
			atts, _ := e.Store().ListAttempts(context.Background(), run.ID)
			if len(atts) != 1 || atts[0].InputSize == 0 {
				t.Fatalf("%s: attempt sizes: %+v", capture, atts)
			}
			if strings.Contains(in, "zzzz") || len(in) > 1024 {
				t.Errorf("%s: a refused oversized payload was logged (%d bytes)", capture, len(in))
			}
			if strings.Contains(in, "hunter2") {
				t.Errorf("%s: a secret was logged: %s", capture, in)
			}
			if run.Status == store.RunSucceeded && (capture == "full") != strings.Contains(in, "visible-value") {
				t.Errorf("%s: arguments kept against the capture policy: %s", capture, in)
			}
			if run.Status != store.RunSucceeded && atts[0].InputSize < 100<<10 {
				t.Errorf("%s: refused call's size not recorded: %d", capture, atts[0].InputSize)
			}
		}
	}
}

// F11: a key limited to some tools (tool:<glob> scopes) sees only those in
// tools/list (both wires) and in search_tools, and cannot call the others.
func TestIssue16_F11_ToolListFollowsKeyTools(t *testing.T) {
	e := newEngine(t)
	calls := destructiveCatalog(t, e)
	ctx := context.Background()
	auth, _ := mcp.NewAuth(e.Store(), mcp.AuthConfig{Mode: mcp.AuthKeys})
	_, limited, _ := mcp.CreateKey(ctx, e.Store(), "reader", []string{"*", "tool:crm__list*"}, 0)
	_, full, _ := mcp.CreateKey(ctx, e.Store(), "admin", []string{"*"}, 0)
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Auth: auth})
	names := func(r rpcReply) []string {
		var out []string
		tools, _ := r.Result["tools"].([]any)
		for _, x := range tools {
			out = append(out, x.(map[string]any)["name"].(string))
		}
		return out
	}
	if got := names(modern(t, gw, "/mcp", "tools/list", "", "", limited)); len(got) != 1 || got[0] != "crm__listAccounts" {
		t.Errorf("modern tools/list for a limited key: %v", got)
	}
	if got := names(modern(t, gw, "/mcp", "tools/list", "", "", full)); len(got) != 2 {
		t.Errorf("modern tools/list for a full key: %v", got)
	}
	hdr := legacySession(t, gw, "/mcp", `{}`, limited)
	hdr["Mcp-Method"] = "tools/list"
	if got := names(post(t, gw, "/mcp", `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, hdr)); len(got) != 1 || got[0] != "crm__listAccounts" {
		t.Errorf("legacy tools/list for a limited key: %v", got)
	}
	r := modern(t, gw, "/mcp/discovery", "tools/call", "search_tools", `{"name":"search_tools","arguments":{"query":"delete account crm","limit":50}}`, limited)
	if txt := toolText(r); !strings.Contains(txt, "crm__listAccounts") || strings.Contains(txt, "crm__deleteAccount") {
		t.Errorf("search_tools for a limited key: %s", txt)
	}
	// The best match for everyone is a tool the key may not see: with a
	// limit of 1 it still gets its own best tool, never the hidden one.
	r = modern(t, gw, "/mcp/discovery", "tools/call", "search_tools", `{"name":"search_tools","arguments":{"query":"delete the account","limit":1}}`, limited)
	if txt := toolText(r); !strings.Contains(txt, "crm__listAccounts") || strings.Contains(txt, "crm__deleteAccount") {
		t.Errorf("search_tools (limit 1) for a limited key: %s", txt)
	}
	r = modern(t, gw, "/mcp/discovery", "tools/call", "search_tools", `{"name":"search_tools","arguments":{"query":"delete account crm","limit":50}}`, full)
	if txt := toolText(r); !strings.Contains(txt, "crm__deleteAccount") {
		t.Errorf("search_tools for a full key: %s", txt)
	}
	for _, c := range []struct{ path, tool, params string }{
		{"/mcp", "crm__deleteAccount", `{"name":"crm__deleteAccount","arguments":{"id":"a"}}`},
		{"/mcp/discovery", "call_tool", `{"name":"call_tool","arguments":{"name":"crm__deleteAccount","arguments":{"id":"a"}}}`},
	} {
		r := modern(t, gw, c.path, "tools/call", c.tool, c.params, limited)
		if r.Error == nil && r.Result["isError"] != true {
			t.Errorf("%s: a limited key called a tool it may not: %s", c.path, r.Raw)
		}
	}
	if calls.Load() != 0 {
		t.Fatalf("the hidden tool ran %d times", calls.Load())
	}
}

func resourceText(t testing.TB, h http.Handler, uri, token string) (string, rpcReply) {
	t.Helper()
	b, _ := json.Marshal(uri)
	r := modern(t, h, "/mcp", "resources/read", uri, `{"uri":`+string(b)+`}`, token)
	contents, _ := r.Result["contents"].([]any)
	if len(contents) != 1 {
		return "", r
	}
	s, _ := contents[0].(map[string]any)["text"].(string)
	return s, r
}

// F08: resources follow the key: weft://runs lists only runs of flows the
// key may call and the key's own tool calls, without payloads, a bounded
// page at a time (cursor); weft://runs/{id} and weft://flows/{name} answer
// "not found" for what the key may not see; a large run is cut to a bound.
func TestIssue16_F08_ResourcesFollowKeyAndArePaged(t *testing.T) {
	e := newEngineCapture(t, "full")
	destructiveCatalog(t, e)
	ctx := context.Background()
	for _, name := range []string{"public", "secret"} {
		if _, _, err := e.Deploy(ctx, name+".yaml", []byte("name: "+name+"\ntrigger: {manual: {}}\nsteps:\n  - id: out\n    respond: {body: {ok: true}}\n")); err != nil {
			t.Fatal(err)
		}
	}
	auth, _ := mcp.NewAuth(e.Store(), mcp.AuthConfig{Mode: mcp.AuthKeys})
	ka, secretA, _ := mcp.CreateKey(ctx, e.Store(), "a", []string{"*", "tool:flow__public", "tool:crm__list*"}, 0)
	_, secretB, _ := mcp.CreateKey(ctx, e.Store(), "b", []string{"*"}, 0)
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Auth: auth})
	call := func(tool, args, token string) {
		t.Helper()
		if r := modern(t, gw, "/mcp", "tools/call", tool, `{"name":"`+tool+`","arguments":`+args+`}`, token); r.Result["isError"] == true || r.Error != nil {
			t.Fatalf("%s: %s", tool, r.Raw)
		}
	}
	call("flow__secret", `{"card":"4111-b-secret"}`, secretB)
	call("crm__listAccounts", `{"q":"b-private"}`, secretB)
	call("flow__public", `{"x":"a-visible"}`, secretA)
	call("crm__listAccounts", `{"q":"a-own"}`, secretA)
	call("flow__public", `{"x":"`+strings.Repeat("p", 300<<10)+`"}`, secretB) // a large run of a flow a may see
	if err := e.FlushToolLog(ctx); err != nil {
		t.Fatal(err)
	}
	all, _ := e.Store().ListRuns(ctx, store.RunFilter{Limit: 100})
	var secretRun, bCall, bigRun string
	for _, r := range all {
		switch {
		case r.Flow == "secret":
			secretRun = r.ID
		case r.Flow == "mcp:all" && strings.Contains(string(r.Input), "b-private"):
			bCall = r.ID
		case r.Flow == "public" && len(r.Input) > 300<<10:
			bigRun = r.ID
		}
	}
	if secretRun == "" || bCall == "" || bigRun == "" {
		t.Fatalf("setup: runs %d (secret %q, b's call %q, big %q)", len(all), secretRun, bCall, bigRun)
	}

	text, r := resourceText(t, gw, "weft://runs", secretA)
	var page struct {
		Runs []struct {
			ID   string `json:"id"`
			Flow string `json:"flow"`
		} `json:"runs"`
		Next string `json:"next"`
	}
	if err := json.Unmarshal([]byte(text), &page); err != nil && json.Unmarshal([]byte(text), &page.Runs) != nil { // (a bare array before the fix)
		t.Fatalf("weft://runs: %v %s", err, r.Raw)
	}
	flows := map[string]int{}
	for _, x := range page.Runs {
		flows[x.Flow]++
	}
	if flows["secret"] != 0 || flows["public"] != 2 || flows["mcp:all"] != 1 || len(page.Runs) != 3 {
		t.Errorf("weft://runs for key a: %v", flows)
	}
	for _, leak := range []string{"4111", "b-private", "a-visible", secretRun, bCall} {
		if strings.Contains(text, leak) {
			t.Errorf("weft://runs for key a shows %q", leak)
		}
	}
	for _, uri := range []string{"weft://runs/" + secretRun, "weft://runs/" + bCall, "weft://flows/secret", "weft://connectors/nope"} {
		if text, r := resourceText(t, gw, uri, secretA); text != "" || r.Error == nil {
			t.Errorf("%s readable by key a: %.300s", uri, r.Raw)
		}
	}
	if text, _ := resourceText(t, gw, "weft://runs/"+secretRun, secretB); !strings.Contains(text, secretRun) {
		t.Errorf("key b cannot read its own flow's run: %.300s", text)
	}
	if text, _ := resourceText(t, gw, "weft://flows", secretA); !strings.Contains(text, "public") || strings.Contains(text, "secret") {
		t.Errorf("weft://flows for key a: %s", text)
	}
	if text, _ := resourceText(t, gw, "weft://runs/"+bigRun, secretA); text == "" || len(text) > 300<<10 || !strings.Contains(text, "payloads left out") {
		t.Errorf("a large run: %d bytes", len(text))
	}

	// Paging: 120 more tool calls of a's; every page is bounded, the
	// cursor walks them all once.
	for i := 0; i < 120; i++ {
		e.RecordToolCall(engine.ToolCall{Toolset: "all", Tool: "crm__listAccounts", Caller: ka.ID, Input: map[string]any{"i": i}}, time.Now(), nil, nil)
	}
	if err := e.FlushToolLog(ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	uri, pages := "weft://runs", 0
	for uri != "" && pages < 10 {
		text, r := resourceText(t, gw, uri, secretA)
		page.Runs, page.Next = nil, ""
		if err := json.Unmarshal([]byte(text), &page); err != nil || len(page.Runs) > 50 || len(text) > 64<<10 {
			t.Fatalf("page %d (%s): %d runs, %d bytes, %v %.200s", pages, uri, len(page.Runs), len(text), err, r.Raw)
		}
		for _, x := range page.Runs {
			if seen[x.ID] {
				t.Fatalf("run %s on two pages", x.ID)
			}
			seen[x.ID] = true
		}
		uri = page.Next
		pages++
	}
	if len(seen) != 123 || pages != 3 {
		t.Errorf("paged through %d runs in %d pages; want 123 in 3", len(seen), pages)
	}
	if _, r := resourceText(t, gw, "weft://runs?cursor=';drop", secretA); r.Error == nil {
		t.Errorf("a malformed cursor was accepted: %s", r.Raw)
	}
}
