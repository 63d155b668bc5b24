package mcp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftio/weft/ai"
	"github.com/weftio/weft/ai/qdranttest"
	"github.com/weftio/weft/ai/search"
	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/mcp"
	"github.com/weftio/weft/store/sqlite"
)

func newEngine(t testing.TB) *engine.Engine {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return engine.New(st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), slog.New(slog.DiscardHandler), engine.Config{})
}

// Adding a connection changes the tool list live and tells connected clients.
func TestToolListChangesLive(t *testing.T) {
	e := newEngine(t)
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Refresh: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go gw.Run(ctx)
	srv := httptest.NewServer(gw)
	defer srv.Close()
	var changed atomic.Int32
	c := sdk.NewClient(&sdk.Implementation{Name: "t", Version: "1"}, &sdk.ClientOptions{ToolListChangedHandler: func(context.Context, *sdk.ToolListChangedRequest) { changed.Add(1) }})
	s, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list := func() []string {
		var names []string
		for tool, err := range s.Tools(ctx, nil) {
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, tool.Name)
		}
		return names
	}
	if n := list(); len(n) != 0 {
		t.Fatalf("tools before any connection: %v", n)
	}
	if err := e.Catalog().AddConnection(&connectors.Connection{Name: "api", Connector: "http"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for changed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if changed.Load() == 0 {
		t.Fatal("no notifications/tools/list_changed")
	}
	if n := list(); len(n) != 1 || n[0] != "api__request" {
		t.Fatalf("tools after: %v", n)
	}
}

// tools/list pages through a large catalog.
func TestToolsListPaginates(t *testing.T) {
	e := newEngine(t)
	for i := 0; i < 250; i++ {
		e.Catalog().AddConnection(&connectors.Connection{Name: "api" + string(rune('a'+i/26%26)) + string(rune('a'+i%26)) + string(rune('0'+i/676)), Connector: "http"})
	}
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{PageSize: 100})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	ctx := context.Background()
	s, err := sdk.NewClient(&sdk.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	page, err := s.ListTools(ctx, &sdk.ListToolsParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Tools) != 100 || page.NextCursor == "" {
		t.Fatalf("first page: %d tools, cursor %q", len(page.Tools), page.NextCursor)
	}
	total := 0
	for _, err := range s.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		total++
	}
	if total != 250 {
		t.Fatalf("%d tools in all", total)
	}
}

// OAuth resource-server mode: tokens are checked against the issuer's JWKS,
// issuer, audience and expiry; scopes pick toolsets.
func TestOAuthAccessTokens(t *testing.T) {
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &priv.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	}))
	defer jwks.Close()
	mint := func(key *rsa.PrivateKey, iss, aud, scope string, exp time.Time) string {
		sig, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
		tok, _ := jwt.Signed(sig).Claims(jwt.Claims{Issuer: iss, Subject: "agent-7", Audience: jwt.Audience{aud}, Expiry: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(time.Now())}).
			Claims(map[string]any{"scope": scope}).Serialize()
		return tok
	}
	e := newEngine(t)
	auth, err := mcp.NewAuth(e.Store(), mcp.AuthConfig{Mode: mcp.AuthOAuth, Issuer: "https://idp.example.com", Audience: "https://weft.example.com/mcp", JWKSURL: jwks.URL})
	if err != nil {
		t.Fatal(err)
	}
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Auth: auth, Toolsets: []mcp.Toolset{{Name: "sales"}}})
	mux := http.NewServeMux()
	mux.Handle("/mcp", gw)
	mux.Handle("/mcp/", gw)
	mux.HandleFunc("/.well-known/oauth-protected-resource/", auth.Metadata)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	post := func(path, token string) (int, http.Header, string) {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, resp.Header, b.String()
	}
	good := mint(priv, "https://idp.example.com", "https://weft.example.com/mcp", "mcp:sales", time.Now().Add(time.Hour))
	if code, _, body := post("/mcp/sales", good); code != 200 {
		t.Fatalf("good token: %d %s", code, body)
	}
	for name, c := range map[string]struct {
		path, token, want string
		code              int
	}{
		"no token":       {"/mcp/sales", "", "needs a bearer token", 401},
		"wrong audience": {"/mcp/sales", mint(priv, "https://idp.example.com", "https://other.example.com", "mcp", time.Now().Add(time.Hour)), "not for this resource", 401},
		"wrong issuer":   {"/mcp/sales", mint(priv, "https://evil.example.com", "https://weft.example.com/mcp", "mcp", time.Now().Add(time.Hour)), "not issued by", 401},
		"expired":        {"/mcp/sales", mint(priv, "https://idp.example.com", "https://weft.example.com/mcp", "mcp", time.Now().Add(-time.Hour)), "expired", 401},
		"forged":         {"/mcp/sales", mint(other, "https://idp.example.com", "https://weft.example.com/mcp", "mcp", time.Now().Add(time.Hour)), "does not verify", 401},
		"not a jwt":      {"/mcp/sales", "garbage", "not a signed JWT", 401},
		"out of scope":   {"/mcp", good, "may not use toolset all", 403},
	} {
		code, h, body := post(c.path, c.token)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s", name, code, body)
		}
		if code == 401 && !strings.Contains(h.Get("WWW-Authenticate"), `resource_metadata="https://weft.example.com/.well-known/oauth-protected-resource/mcp"`) {
			t.Errorf("%s: WWW-Authenticate %q", name, h.Get("WWW-Authenticate"))
		}
	}
	resp, err := http.Get(srv.URL + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]any
	json.NewDecoder(resp.Body).Decode(&md)
	if md["resource"] != "https://weft.example.com/mcp" || md["authorization_servers"].([]any)[0] != "https://idp.example.com" {
		t.Fatalf("metadata %v", md)
	}
}

// Per-key rate limits answer 429 with Retry-After.
func TestKeyRateLimit(t *testing.T) {
	e := newEngine(t)
	auth, _ := mcp.NewAuth(e.Store(), mcp.AuthConfig{})
	_, secret, err := mcp.CreateKey(context.Background(), e.Store(), "slow agent", []string{"*"}, 6) // 6/min: a burst of 1
	if err != nil {
		t.Fatal(err)
	}
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Auth: auth})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	codes := []int{}
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		resp, _ := http.DefaultClient.Do(req)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if codes[0] == 429 || codes[2] != 429 {
		t.Fatalf("codes %v", codes)
	}
}

// bigCatalog registers a 1,000-operation connector with one connection.
func bigCatalog(b testing.TB, e *engine.Engine) {
	var ops []*connectors.Operation
	verbs := []string{"list", "get", "create", "update", "delete"}
	things := []string{"account", "contact", "deal", "invoice", "order", "ticket", "project", "employee", "shipment", "payment"}
	for i := 0; i < 1000; i++ {
		v, th := verbs[i%5], things[(i/5)%10]
		ops = append(ops, &connectors.Operation{Name: fmt.Sprintf("%s_%s_%d", v, th, i), Title: v + " " + th,
			Description: fmt.Sprintf("%s a %s record in system area %d", v, th, i/50),
			Input:       map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}, "limit": map[string]any{"type": "integer"}}},
			Output:      map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}}},
			Invoke:      func(context.Context, connectors.Call) (any, error) { return map[string]any{"id": "1"}, nil }})
	}
	e.Catalog().Register(&connectors.Connector{Name: "erp", Title: "ERP", Operations: ops})
	if err := e.Catalog().AddConnection(&connectors.Connection{Name: "erp", Connector: "erp"}); err != nil {
		b.Fatal(err)
	}
}

func benchSession(b *testing.B, toolset string) (*sdk.ClientSession, *mcp.Gateway) {
	e := newEngine(b)
	bigCatalog(b, e)
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{PageSize: 100})
	srv := httptest.NewServer(gw)
	b.Cleanup(srv.Close)
	s, err := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil).Connect(context.Background(),
		&sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp/" + toolset, DisableStandaloneSSE: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, gw
}

// BenchmarkToolsList1000Full: every page of tools/list for a 1,000-operation
// catalog (10 pages of 100), over Streamable HTTP with the official Go SDK.
//
//	go test -run '^$' -bench 'ToolsList|SearchTools' -benchtime 3s ./mcp
func BenchmarkToolsList1000Full(b *testing.B) {
	s, _ := benchSession(b, "all")
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		for _, err := range s.Tools(ctx, nil) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 1000 {
			b.Fatalf("%d tools", n)
		}
	}
}

// BenchmarkToolsList1000Page: the first page (100 tools).
func BenchmarkToolsList1000Page(b *testing.B) {
	s, _ := benchSession(b, "all")
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := s.ListTools(ctx, &sdk.ListToolsParams{})
		if err != nil || len(p.Tools) != 100 {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearchTools1000: a search_tools call over the 1,000 operations
// (discovery toolset, the shared search: ai/search, builtin embedder).
func BenchmarkSearchTools1000(b *testing.B) {
	s, _ := benchSession(b, "discovery")
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "search_tools", Arguments: map[string]any{"query": "create an invoice"}})
		if err != nil || res.IsError {
			b.Fatal(err)
		}
	}
}

// A confirm policy asks the user (elicitation) before a destructive call;
// a client that cannot ask is refused with a clear message.
func TestConfirmPolicy(t *testing.T) {
	e := newEngine(t)
	var calls atomic.Int32
	e.Catalog().Register(&connectors.Connector{Name: "crm", Title: "CRM", Operations: []*connectors.Operation{{
		Name: "deleteAccount", Description: "Delete an account", Hints: connectors.Hints{Destructive: true},
		Input: map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}}},
		Invoke: func(context.Context, connectors.Call) (any, error) {
			calls.Add(1)
			return map[string]any{"deleted": true}, nil
		}}}})
	e.Catalog().AddConnection(&connectors.Connection{Name: "crm", Connector: "crm"})
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Policy: []mcp.Rule{{Tool: "destructive", Action: mcp.PolicyConfirm}}})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	ctx := context.Background()
	call := func(opts *sdk.ClientOptions) *sdk.CallToolResult {
		s, err := sdk.NewClient(&sdk.Implementation{Name: "t", Version: "1"}, opts).Connect(ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "crm__deleteAccount", Arguments: map[string]any{"id": "a1"}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	answer := func(confirm bool) *sdk.ClientOptions {
		return &sdk.ClientOptions{ElicitationHandler: func(_ context.Context, r *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			if !strings.Contains(r.Params.Message, "crm__deleteAccount") {
				t.Errorf("elicitation message %q", r.Params.Message)
			}
			return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"confirm": confirm}}, nil
		}}
	}
	if res := call(answer(true)); res.IsError || calls.Load() != 1 {
		t.Fatalf("confirmed call: %+v, %d calls", res, calls.Load())
	}
	if res := call(answer(false)); !res.IsError || calls.Load() != 1 {
		t.Fatalf("declined call ran: %d calls", calls.Load())
	}
}

// Toolsets by tag; binary upstream bodies come back as resources; big
// results are cut with a note.
func TestTagsBinaryAndTruncation(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/logo":
			w.Header().Set("Content-Type", "image/png")
			w.Write([]byte{0x89, 'P', 'N', 'G', 0, 1, 2})
		case "/big":
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(strings.Repeat("x", 100<<10)))
		}
	}))
	defer api.Close()
	e := newEngine(t)
	e.Catalog().Register(&connectors.Connector{Name: "crm", Operations: []*connectors.Operation{
		{Name: "listDeals", Tags: []string{"Deals"}, Input: map[string]any{"type": "object"}, Invoke: func(context.Context, connectors.Call) (any, error) { return map[string]any{}, nil }},
		{Name: "listUsers", Tags: []string{"Admin"}, Input: map[string]any{"type": "object"}, Invoke: func(context.Context, connectors.Call) (any, error) { return map[string]any{}, nil }},
	}})
	e.Catalog().AddConnection(&connectors.Connection{Name: "crm", Connector: "crm"})
	e.Catalog().AddConnection(&connectors.Connection{Name: "web", Connector: "http", BaseURL: api.URL, AllowPrivate: true})
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Toolsets: []mcp.Toolset{{Name: "deals", Tags: []string{"deals"}}}})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	ctx := context.Background()
	connect := func(path string) *sdk.ClientSession {
		s, err := sdk.NewClient(&sdk.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + path}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	var names []string
	for tool, err := range connect("/mcp/deals").Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tool.Name)
	}
	if len(names) != 1 || names[0] != "crm__listDeals" {
		t.Fatalf("deals toolset: %v", names)
	}
	s := connect("/mcp")
	res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "web__request", Arguments: map[string]any{"url": "/logo"}})
	if err != nil || res.IsError || len(res.Content) != 2 {
		t.Fatalf("binary: %v %+v", err, res)
	}
	er, ok := res.Content[1].(*sdk.EmbeddedResource)
	if !ok || er.Resource.MIMEType != "image/png" || string(er.Resource.Blob) != "\x89PNG\x00\x01\x02" {
		t.Fatalf("binary body as resource: %#v", res.Content[1])
	}
	res, err = s.CallTool(ctx, &sdk.CallToolParams{Name: "web__request", Arguments: map[string]any{"url": "/big"}})
	if err != nil || res.IsError || !strings.Contains(textOf(res), "[truncated: the result is") || len(textOf(res)) > 70<<10 {
		t.Fatalf("truncation: %v %d", err, len(textOf(res)))
	}
}

func textOf(r *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// search_tools finds a tool by meaning, not only by shared words (the
// shared search: ai/search), in process and through Qdrant (the
// in-process one speaking its gRPC API).
func TestSemanticSearchTools(t *testing.T) {
	srv := qdranttest.Start(t)
	q, err := ai.NewQdrant(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	for name, vectors := range map[string]ai.VectorIndex{"memory": nil, "qdrant": q} {
		e := newEngine(t)
		noop := func(context.Context, connectors.Call) (any, error) { return map[string]any{}, nil }
		e.Catalog().Register(&connectors.Connector{Name: "crm", Operations: []*connectors.Operation{
			{Name: "lookupPostalArea", Description: "Find the region of a zip code", Invoke: noop},
			{Name: "createClient", Description: "Add a new customer record", Invoke: noop},
			{Name: "listInvoices", Description: "List bills", Invoke: noop},
		}})
		e.Catalog().AddConnection(&connectors.Connection{Name: "crm", Connector: "crm"})
		gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Search: search.Options{Embedder: ai.NewCached(ai.Builtin{}, 0), Vectors: vectors}})
		for q, want := range map[string]string{"postcode lookup": "crm__lookupPostalArea", "new buyer": "crm__createClient", "invoices": "crm__listInvoices"} {
			got, err := gw.SearchTools(context.Background(), "discovery", q, 1)
			if err != nil || len(got) == 0 || got[0] != want {
				t.Errorf("%s: %q: %v %v (want %s)", name, q, got, err, want)
			}
		}
		if got, _ := gw.SearchTools(context.Background(), "discovery", "kubernetes cluster", 5); len(got) != 0 {
			t.Errorf("%s: an unrelated query found %v", name, got)
		}
	}
	if srv.Calls("/qdrant.Points/Upsert") == 0 || srv.Calls("/qdrant.Points/Query") < 4 {
		t.Fatalf("search_tools did not go through Qdrant: %d upserts, %d queries", srv.Calls("/qdrant.Points/Upsert"), srv.Calls("/qdrant.Points/Query"))
	}
}

// BenchmarkToolCallServeHTTP: the gateway's own cost of one stateless
// 2026-07-28 tools/call, with no network on either side: the request is
// handed to the gateway's ServeHTTP and the operation answers in-process.
// What is left is mcp-go's message handling, weft's call path and the
// transaction-log record (written by the store's batcher goroutine).
//
//	go test -run '^$' -bench ToolCallServeHTTP -benchmem ./mcp
func BenchmarkToolCallServeHTTP(b *testing.B) {
	e := newEngine(b)
	bigCatalog(b, e)
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{})
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"erp__get_account_1","arguments":{"id":"a-1"},` +
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"}}}}`
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", "erp__get_account_1")
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, req)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"structuredContent":{"id":"1"}`) {
			b.Fatalf("%d %s", w.Code, w.Body.String())
		}
	}
}
