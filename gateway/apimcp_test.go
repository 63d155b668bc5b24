package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftio/weft/apim"
	"github.com/weftio/weft/gateway"
)

// headerTransport sends fixed headers on every request (a consumer's
// credential).
type headerTransport map[string]string

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func mcpSession(t *testing.T, url string, h map[string]string) (*sdk.ClientSession, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return sdk.NewClient(&sdk.Implementation{Name: "agent", Version: "1"}, nil).
		Connect(ctx, &sdk.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: headerTransport(h)}, DisableStandaloneSSE: true}, nil)
}

func callTool(t *testing.T, s *sdk.ClientSession, name string, args map[string]any) (*sdk.CallToolResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
}

func resultText(r *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// An API product with mcp: true is an MCP toolset per version: the
// consumer's key lists the routes as tools and calls them; each call is
// the route's HTTP call (validated, run, counted against the plan, seen
// by analytics), a 429 past the quota, and a revoked key is refused on
// the next request.
func TestAPIProductAsMCPToolset(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	f := newAPIMFixture(t, gateway.Config{APICalls: func(c apim.CallRecord) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, c.Version+"|"+c.Route+"|"+c.Consumer+"|"+http.StatusText(c.Status))
	}})
	key := keyedShop(f, `{"rate_per_second": 100, "burst": 10, "quota_day": 5}`)
	url := f.srv.URL + "/apis/shop/v1/mcp"

	// Not offered until the product says so: the path is a route's (none
	// here: a 404, counted as every keyed call is).
	if code, _, _ := call(t, "POST", url, `{}`, map[string]string{"X-API-Key": key}); code != http.StatusNotFound {
		t.Fatalf("without mcp: true: %d", code)
	}
	f.mustPut("shop", `{"auth": "api_key", "mcp": true, "versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}, {"flow": "create-order", "version": 1}, {"flow": "whoami", "version": 1}]},
		{"name": "v2", "flows": [{"flow": "get-order", "version": 1}], "status": "retired", "successor": "v1"}]}`)

	// No key, an unknown key: refused before any MCP message is read.
	for name, h := range map[string]map[string]string{"none": nil, "unknown": {"X-API-Key": "wk_0123456789abcdef_" + strings.Repeat("a", 52)}} {
		code, out, hdr := call(t, "POST", url, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, h)
		if code != 401 || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("%s: %d %v", name, code, out)
		}
		if _, err := mcpSession(t, url, h); err == nil {
			t.Fatalf("%s: an MCP session without a good key", name)
		}
	}
	// A retired version is not offered.
	if code, out, _ := call(t, "POST", f.srv.URL+"/apis/shop/v2/mcp", `{}`, map[string]string{"X-API-Key": key}); code != http.StatusGone {
		t.Fatalf("retired: %d %v", code, out)
	}

	s, err := mcpSession(t, url, map[string]string{"X-API-Key": key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	tools, err := s.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"create_order", "get_order", "whoami"}) {
		t.Fatalf("tools: %v", names)
	}
	before := f.runs()

	// 1: a call runs the pinned flow version as the consumer.
	r, err := callTool(t, s, "get_order", map[string]any{"path": map[string]any{"id": "42"}, "query": map[string]any{"expand": true}})
	if err != nil || r.IsError {
		t.Fatalf("get_order: %v %v", err, r)
	}
	sc, _ := r.StructuredContent.(map[string]any)
	if sc["id"] != "42" || sc["version"] != float64(1) {
		t.Fatalf("structured: %v (%s)", r.StructuredContent, resultText(r))
	}
	meta, _ := r.Meta["weft/http"].(map[string]any)
	if meta["status"] != float64(200) || !strings.Contains(meta["ratelimit"].(string), `"day";r=3`) || meta["x-weft-run-id"] == nil {
		t.Fatalf("meta: %v", r.Meta)
	}
	// 2: the route's schemas hold: a bad id is the route's 400, with its pointer.
	r, err = callTool(t, s, "get_order", map[string]any{"path": map[string]any{"id": "abc"}})
	if err != nil || !r.IsError || !strings.Contains(resultText(r), "HTTP 400") || !strings.Contains(resultText(r), "/path/id") {
		t.Fatalf("invalid: %v %s", err, resultText(r))
	}
	// Arguments that cannot make a request are refused before it is made (not counted).
	for _, args := range []map[string]any{
		{"path": map[string]any{}},
		{"path": map[string]any{"id": "1"}, "cookies": map[string]any{}},
		{"path": map[string]any{"id": map[string]any{"x": 1}}},
	} {
		if r, err := callTool(t, s, "get_order", args); err == nil && !r.IsError {
			t.Fatalf("%v: %s", args, resultText(r))
		}
	}
	// A route's headers are the only ones a call may set: not the consumer's.
	if r, err := callTool(t, s, "create_order", map[string]any{"headers": map[string]any{"X-Tenant": "acme", "X-Weft-Consumer": "mallory"}, "body": map[string]any{"sku": "a", "qty": 1}}); err == nil && !r.IsError {
		t.Fatalf("an undeclared header was sent: %s", resultText(r))
	}
	// 3: who the consumer is comes from the key.
	r, err = callTool(t, s, "whoami", nil)
	if err != nil || r.IsError || !strings.Contains(resultText(r), `"consumer":"acme"`) {
		t.Fatalf("whoami: %v %s", err, resultText(r))
	}
	// 4: a POST with headers and a body.
	r, err = callTool(t, s, "create_order", map[string]any{"headers": map[string]any{"x-tenant": "acme"}, "body": map[string]any{"sku": "a-1", "qty": 2}})
	if err != nil || r.IsError || !strings.Contains(resultText(r), `"tenant":"acme"`) {
		t.Fatalf("create_order: %v %s", err, resultText(r))
	}
	// 5: past the day's quota of 5 (the 404 above among them), counted with the HTTP calls: 429.
	r, err = callTool(t, s, "get_order", map[string]any{"path": map[string]any{"id": "1"}})
	if err != nil || !r.IsError || !strings.Contains(resultText(r), "HTTP 429") || !strings.Contains(resultText(r), "retry after") {
		t.Fatalf("over the quota: %v %s", err, resultText(r))
	}
	if code, _, _ := f.get("/apis/shop/v1/orders/1", key); code != http.StatusTooManyRequests {
		t.Fatalf("the HTTP route after the MCP calls used the quota: %d", code)
	}
	if n := f.runs() - before; n != 3 {
		t.Fatalf("runs started: %d, want 3", n)
	}
	mu.Lock()
	want := []string{"v1||acme|Not Found", "v1|GET /orders/{id}|acme|OK", "v1|GET /orders/{id}|acme|Bad Request", "v1|GET /me|acme|OK", "v1|POST /orders|acme|Created", "v1||acme|Too Many Requests"}
	var got []string
	for _, x := range seen {
		if strings.HasPrefix(x, "v1|") && strings.Contains(x, "|acme|") {
			got = append(got, x)
		}
	}
	mu.Unlock()
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Fatalf("observed: %v", got)
	}

	// A revoked key is refused on the next request of the same session.
	f.must("DELETE", "/api/consumers/acme/keys/"+keyID(key), "", 200)
	if r, err := callTool(t, s, "whoami", nil); err == nil && !r.IsError {
		t.Fatalf("a revoked key still calls: %s", resultText(r))
	}
	if _, err := s.ListTools(ctx, nil); err == nil {
		t.Fatal("a revoked key still lists tools")
	}
}

// The tools' input schemas are the routes' request schemas, and a
// product that signs its calls cannot be offered over MCP; a route of
// its own at /mcp clashes with the toolset.
func TestAPIProductMCPSchemasAndRefusals(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	shop(f)
	f.mustPut("shop", `{"mcp": true, "versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}, {"flow": "create-order", "version": 1}]}]}`)
	s, err := mcpSession(t, f.srv.URL+"/apis/shop/v1/mcp", nil) // auth: none, like its routes
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tools, err := s.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*sdk.Tool{}
	for _, tl := range tools.Tools {
		byName[tl.Name] = tl
	}
	raw, _ := json.Marshal(byName["create_order"].InputSchema)
	var in map[string]any
	_ = json.Unmarshal(raw, &in)
	props, _ := in["properties"].(map[string]any)
	body, _ := props["body"].(map[string]any)
	if req, _ := body["required"].([]any); len(req) != 2 || props["headers"] == nil || props["path"] != nil {
		t.Fatalf("create_order's schema: %s", raw)
	}
	if ro := byName["get_order"].Annotations; ro == nil || !ro.ReadOnlyHint {
		t.Fatalf("get_order is read-only: %+v", ro)
	}
	// A product saved again (a new revision, its server rebuilt) keeps
	// serving the sessions open on it.
	f.mustPut("shop", `{"mcp": true, "title": "Shop 2", "versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}, {"flow": "create-order", "version": 1}]}]}`)
	time.Sleep(1100 * time.Millisecond) // past the published product's cache
	if r, err := callTool(t, s, "get_order", map[string]any{"path": map[string]any{"id": "5"}}); err != nil || r.IsError {
		t.Fatalf("after the product was saved again: %v %v", err, r)
	}
	code, out := f.putProduct("signed", `{"auth": "hmac", "mcp": true, "versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}]}]}`)
	if code != http.StatusUnprocessableEntity && code != http.StatusBadRequest || !slices.Contains(problemPaths(out), "/mcp") {
		t.Fatalf("hmac + mcp: %d %v", code, out)
	}
	f.deploy(strings.NewReplacer("name: plain-hook", "name: at-mcp", "webhook: {}", "api: {method: POST, path: /mcp}").Replace(hookFlow))
	if code, out := f.putProduct("clash", `{"mcp": true, "versions": [{"name": "v1", "flows": [{"flow": "at-mcp", "version": 1}]}]}`); code == http.StatusOK {
		t.Fatalf("a route at /mcp with mcp: true: %d %v", code, out)
	}
	// Without mcp: true, /mcp is that route's.
	f.mustPut("clash", `{"versions": [{"name": "v1", "flows": [{"flow": "at-mcp", "version": 1}]}]}`)
	if code, out, _ := call(t, "POST", f.srv.URL+"/apis/clash/v1/mcp", `{}`, nil); code != http.StatusOK {
		t.Fatalf("the route at /mcp: %d %v", code, out)
	}
}

// A product saved again changes its toolsets in place: a session that is
// open keeps working, lists the new routes, and is told
// (notifications/tools/list_changed) that the list changed.
func TestAPIProductMCPToolsChangeInPlace(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	key := keyedShop(f, `{"rate_per_second": 100, "burst": 10}`)
	pin := func(flows string) {
		f.mustPut("shop", `{"auth": "api_key", "mcp": true, "versions": [{"name": "v1", "flows": [`+flows+`]}]}`)
	}
	pin(`{"flow": "get-order", "version": 1}, {"flow": "whoami", "version": 1}`)
	changed := make(chan struct{}, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := sdk.NewClient(&sdk.Implementation{Name: "agent", Version: "1"}, &sdk.ClientOptions{
		ToolListChangedHandler: func(context.Context, *sdk.ToolListChangedRequest) { changed <- struct{}{} },
	})
	s, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: f.srv.URL + "/apis/shop/v1/mcp",
		HTTPClient: &http.Client{Transport: headerTransport{"X-API-Key": key}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names := func() []string {
		t.Helper()
		tools, err := s.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tl := range tools.Tools {
			out = append(out, tl.Name)
		}
		slices.Sort(out)
		return out
	}
	if got := names(); !slices.Equal(got, []string{"get_order", "whoami"}) {
		t.Fatalf("tools: %v", got)
	}
	if r, err := callTool(t, s, "whoami", nil); err != nil || r.IsError {
		t.Fatalf("whoami: %v %v", err, r)
	}
	// Give the client's standing stream a moment to be open.
	time.Sleep(200 * time.Millisecond)
	pin(`{"flow": "get-order", "version": 1}, {"flow": "create-order", "version": 1}`)
	if got := names(); !slices.Equal(got, []string{"create_order", "get_order"}) {
		t.Fatalf("tools after the product changed: %v", got)
	}
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("no notifications/tools/list_changed after the product changed")
	}
	r, err := callTool(t, s, "create_order", map[string]any{"headers": map[string]any{"x-tenant": "acme"}, "body": map[string]any{"sku": "a-1", "qty": 2}})
	if err != nil || r.IsError {
		t.Fatalf("create_order in the same session: %v %s", err, resultText(r))
	}
	if r, err := callTool(t, s, "whoami", nil); err == nil && !r.IsError {
		t.Fatalf("a route no longer in the version still called: %s", resultText(r))
	}
}
