package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// apimFixture: an open loopback gateway (no token, no users) over SQLite,
// with the store at hand to count runs and read the audit log.
type apimFixture struct {
	t   *testing.T
	srv *httptest.Server
	st  store.Store
}

func newAPIMFixture(t *testing.T, cfg gateway.Config) *apimFixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := engine.New(st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), nil, engine.Config{})
	srv := httptest.NewServer(gateway.New(e, nil, cfg))
	t.Cleanup(func() {
		srv.Close()
		_ = st.Close()
	})
	return &apimFixture{t: t, srv: srv, st: st}
}

func (f *apimFixture) deploy(src string) {
	f.t.Helper()
	if code, out, _ := call(f.t, "POST", f.srv.URL+"/api/flows", src, nil); code != http.StatusOK && code != http.StatusCreated {
		f.t.Fatalf("deploy: %d %v", code, out)
	}
}

func (f *apimFixture) putProduct(name, body string) (int, map[string]any) {
	f.t.Helper()
	code, out, _ := call(f.t, "PUT", f.srv.URL+"/api/products/"+name, body, nil)
	return code, out
}

func (f *apimFixture) mustPut(name, body string) {
	f.t.Helper()
	if code, out := f.putProduct(name, body); code != http.StatusOK {
		f.t.Fatalf("put product: %d %v", code, out)
	}
}

func (f *apimFixture) runs() int {
	f.t.Helper()
	rs, err := f.st.ListRuns(context.Background(), store.RunFilter{Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	return len(rs)
}

const getOrderV1 = `
name: get-order
trigger:
  api:
    method: GET
    path: /orders/{id}
    summary: one order
    request:
      path:
        type: object
        properties:
          id: {type: string, pattern: "^[0-9]+$"}
      query:
        type: object
        properties:
          expand: {type: boolean}
          limit: {type: integer, minimum: 1, maximum: 100}
    responses:
      "200":
        type: object
        required: [id, version]
        properties:
          id: {type: string}
          version: {type: integer}
steps:
  - respond:
      status: 200
      body: {id: =trigger.params.id, version: 1, expand: =trigger.query}
`

var getOrderV2 = strings.Replace(getOrderV1, "version: 1,", "version: 2,", 1)

const createOrder = `
name: create-order
trigger:
  api:
    method: POST
    path: /orders
    request:
      headers:
        type: object
        required: [X-Tenant]
        properties:
          X-Tenant: {type: string, minLength: 2}
      body:
        type: object
        required: [sku, qty]
        additionalProperties: false
        properties:
          sku: {type: string}
          qty: {type: integer, minimum: 1}
          items: {type: array, items: {type: object, required: [n], properties: {n: {type: integer}}}}
    responses:
      "201":
        type: object
        required: [order_id]
steps:
  - respond:
      status: 201
      body: {sku: =trigger.body.sku, tenant: '=trigger.headers["x-tenant"]'}
`

const hookFlow = `
name: plain-hook
trigger:
  webhook: {}
steps:
  - respond: {status: 200}
`

func shop(f *apimFixture) {
	f.deploy(getOrderV1)
	f.deploy(createOrder)
	f.mustPut("shop", `{"title": "Shop", "versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}, {"flow": "create-order", "version": 1}]}]}`)
}

func problemPaths(m map[string]any) []string {
	e, _ := m["error"].(map[string]any)
	ps, _ := e["problems"].([]any)
	var out []string
	for _, p := range ps {
		pm, _ := p.(map[string]any)
		s, _ := pm["path"].(string)
		out = append(out, s)
	}
	return out
}

// A published route runs its pinned flow version with the path parameters
// as trigger.params, and the run is recorded as an api run.
func TestAPIRouteRunsThePinnedFlow(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	shop(f)
	code, out, h := call(t, "GET", f.srv.URL+"/apis/shop/v1/orders/42?expand=true", "", nil)
	if code != 200 || out["id"] != "42" || out["version"] != float64(1) {
		t.Fatalf("%d %v", code, out)
	}
	run, err := f.st.GetRun(context.Background(), h.Get("X-Weft-Run-Id"))
	if err != nil {
		t.Fatal(err)
	}
	if run.TriggerKind != "api" || run.Flow != "get-order" || run.Version != 1 || !strings.Contains(string(run.Output), `"expand":{"expand":"true"}`) {
		t.Fatalf("%+v %s", run, run.Output)
	}
	code, out, _ = call(t, "POST", f.srv.URL+"/apis/shop/v1/orders", `{"sku": "A-1", "qty": 2}`, map[string]string{"X-Tenant": "acme"})
	if code != 201 || out["sku"] != "A-1" || out["tenant"] != "acme" {
		t.Fatalf("%d %v", code, out)
	}
}

// Every refusal is answered before a run starts: the run count does not
// move.
func TestAPIRefusalsStartNoRun(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{MaxBodyBytes: 1024})
	shop(f)
	before := f.runs()
	cases := []struct {
		name, method, path, body string
		hdr                      map[string]string
		status                   int
		pointers                 []string
		allow                    string
	}{
		{"bad path parameter", "GET", "/apis/shop/v1/orders/abc", "", nil, 400, []string{"/path/id"}, ""},
		{"escaped path parameter", "GET", "/apis/shop/v1/orders/1%2F2", "", nil, 400, []string{"/path/id"}, ""},
		{"bad query types", "GET", "/apis/shop/v1/orders/1?expand=maybe&limit=0", "", nil, 400, []string{"/query/expand", "/query/limit"}, ""},
		{"non-integer query", "GET", "/apis/shop/v1/orders/1?limit=1.5", "", nil, 400, []string{"/query/limit"}, ""},
		{"body and header problems", "POST", "/apis/shop/v1/orders", `{"qty": 0, "extra": 1, "items": [{"n": 1}, {"n": "x"}]}`, nil, 400,
			[]string{"/body", "/body/items/1/n", "/body/qty", "/body/sku", "/headers/X-Tenant"}, ""},
		{"short header", "POST", "/apis/shop/v1/orders", `{"sku": "a", "qty": 1}`, map[string]string{"X-Tenant": "a"}, 400, []string{"/headers/X-Tenant"}, ""},
		{"no body", "POST", "/apis/shop/v1/orders", "", map[string]string{"X-Tenant": "acme"}, 400, []string{"/body"}, ""},
		{"not JSON", "POST", "/apis/shop/v1/orders", `{"sku":`, map[string]string{"X-Tenant": "acme"}, 400, []string{"/body"}, ""},
		{"too deep", "POST", "/apis/shop/v1/orders", strings.Repeat("[", 300) + strings.Repeat("]", 300), map[string]string{"X-Tenant": "acme"}, 400, []string{"/body"}, ""},
		{"not UTF-8", "POST", "/apis/shop/v1/orders", "{\"sku\": \"\xff\", \"qty\": 1}", map[string]string{"X-Tenant": "acme"}, 400, []string{"/body"}, ""},
		{"oversized body", "POST", "/apis/shop/v1/orders", `{"sku": "` + strings.Repeat("x", 2000) + `", "qty": 1}`, map[string]string{"X-Tenant": "acme"}, 413, nil, ""},
		{"unknown route", "GET", "/apis/shop/v1/customers/1", "", nil, 404, nil, ""},
		{"trailing slash", "GET", "/apis/shop/v1/orders/1/", "", nil, 404, nil, ""},
		{"wrong method", "DELETE", "/apis/shop/v1/orders/1", "", nil, 405, nil, "GET"},
		{"wrong method on a collection", "GET", "/apis/shop/v1/orders", "", nil, 405, nil, "POST"},
		{"unknown version", "GET", "/apis/shop/v9/orders/1", "", nil, 404, nil, ""},
		{"unknown product", "GET", "/apis/nope/v1/orders/1", "", nil, 404, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, h := call(t, c.method, f.srv.URL+c.path, c.body, c.hdr)
			if code != c.status {
				t.Fatalf("%d, want %d: %v", code, c.status, out)
			}
			if got := problemPaths(out); c.pointers != nil && !slices.Equal(got, c.pointers) {
				t.Fatalf("pointers %v, want %v (%v)", got, c.pointers, out)
			}
			if h.Get("Allow") != c.allow {
				t.Fatalf("Allow %q, want %q", h.Get("Allow"), c.allow)
			}
			if h.Get("X-Weft-Run-Id") != "" {
				t.Fatalf("a run was started: %s", h.Get("X-Weft-Run-Id"))
			}
		})
	}
	if after := f.runs(); after != before {
		t.Fatalf("refusals started %d run(s)", after-before)
	}
	// The same requests, made valid, do start runs (the count can move).
	if code, out, _ := call(t, "GET", f.srv.URL+"/apis/shop/v1/orders/1?expand=true&limit=5", "", nil); code != 200 {
		t.Fatalf("%d %v", code, out)
	}
	if f.runs() != before+1 {
		t.Fatal("a valid call did not start a run")
	}
}

// Deploying a new flow version changes no published version until it is
// re-pinned; a new product version can pin it meanwhile.
func TestAPIVersionsArePinned(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	shop(f)
	version := func(v string) any {
		t.Helper()
		code, out, _ := call(t, "GET", f.srv.URL+"/apis/shop/"+v+"/orders/7", "", nil)
		if code != 200 {
			t.Fatalf("%s: %d %v", v, code, out)
		}
		return out["version"]
	}
	if version("v1") != float64(1) {
		t.Fatal("v1 does not run get-order 1")
	}
	f.deploy(getOrderV2) // get-order 2 is now the active flow version
	if got := version("v1"); got != float64(1) {
		t.Fatalf("deploying get-order 2 changed published v1: it answers version %v", got)
	}
	f.mustPut("shop", `{"versions": [
		{"name": "v1", "flows": [{"flow": "get-order", "version": 1}, {"flow": "create-order", "version": 1}]},
		{"name": "v2", "flows": [{"flow": "get-order", "version": 2}]}]}`)
	if version("v1") != float64(1) || version("v2") != float64(2) {
		t.Fatal("v1 and v2 do not run their own pins")
	}
	f.mustPut("shop", `{"versions": [
		{"name": "v1", "flows": [{"flow": "get-order", "version": 2}, {"flow": "create-order", "version": 1}]},
		{"name": "v2", "flows": [{"flow": "get-order", "version": 2}]}]}`)
	if got := version("v1"); got != float64(2) {
		t.Fatalf("re-pinned v1 answers version %v", got)
	}
	// v2 pins no create-order: POST /orders is not a route of v2.
	if code, _, _ := call(t, "POST", f.srv.URL+"/apis/shop/v2/orders", `{"sku": "a", "qty": 1}`, map[string]string{"X-Tenant": "acme"}); code != 405 && code != 404 {
		t.Fatalf("v2 serves a flow it does not pin: %d", code)
	}
	// Audit: one create, two updates, each naming the pins.
	recs, err := f.st.AuditRecords(context.Background(), store.AuditFilter{Action: "product.update"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || !strings.Contains(recs[0].Details, "get-order@2") || recs[0].Resource != "product:shop" {
		t.Fatalf("audit: %+v", recs)
	}
}

// A deprecated version answers with Deprecation, Sunset and a successor
// Link; a retired one (or one past its sunset) answers 410 with the link
// and starts no run.
func TestAPIDeprecationAndRetirement(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	f.deploy(getOrderV1)
	f.deploy(getOrderV2)
	sunset := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	f.mustPut("shop", `{"versions": [
		{"name": "v1", "status": "deprecated", "sunset": "`+sunset.Format(time.RFC3339)+`", "successor": "v2", "flows": [{"flow": "get-order", "version": 1}]},
		{"name": "v2", "flows": [{"flow": "get-order", "version": 2}]}]}`)
	code, _, h := call(t, "GET", f.srv.URL+"/apis/shop/v1/orders/1", "", nil)
	if code != 200 || !strings.HasPrefix(h.Get("Deprecation"), "@") || h.Get("Deprecation") == "@0" ||
		h.Get("Sunset") != sunset.Format(http.TimeFormat) || h.Get("Link") != `</apis/shop/v2>; rel="successor-version"` {
		t.Fatalf("%d %v", code, h)
	}
	if _, _, h := call(t, "GET", f.srv.URL+"/apis/shop/v2/orders/1", "", nil); h.Get("Deprecation") != "" || h.Get("Sunset") != "" {
		t.Fatalf("v2 is not deprecated: %v", h)
	}
	// The OpenAPI document marks v1's operations deprecated.
	if doc := loadOpenAPI(t, f.srv.URL+"/apis/shop/v1/openapi.json"); !doc.Paths.Find("/orders/{id}").Get.Deprecated {
		t.Fatal("v1's operation is not deprecated in its document")
	}
	before := f.runs()
	f.mustPut("shop", `{"versions": [
		{"name": "v1", "status": "retired", "successor": "v2", "flows": [{"flow": "get-order", "version": 1}]},
		{"name": "v2", "flows": [{"flow": "get-order", "version": 2}]}]}`)
	code, out, h := call(t, "GET", f.srv.URL+"/apis/shop/v1/orders/1", "", nil)
	e, _ := out["error"].(map[string]any)
	if code != 410 || h.Get("Link") != `</apis/shop/v2>; rel="successor-version"` || e["successor"] != "/apis/shop/v2" || e["code"] != "gone" {
		t.Fatalf("%d %v %v", code, out, h)
	}
	// Past its sunset a version is retired too.
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	f.mustPut("shop", `{"versions": [
		{"name": "v1", "flows": [{"flow": "get-order", "version": 1}]},
		{"name": "v2", "sunset": "`+past+`", "flows": [{"flow": "get-order", "version": 2}]}]}`)
	if code, out, _ := call(t, "GET", f.srv.URL+"/apis/shop/v2/orders/1", "", nil); code != 410 {
		t.Fatalf("past sunset: %d %v", code, out)
	}
	if f.runs() != before {
		t.Fatal("a retired version started a run")
	}
}

func loadOpenAPI(t *testing.T, url string) *openapi3.T {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", url, resp.StatusCode, data)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v\n%s", err, data)
	}
	return doc
}

// The OpenAPI 3.1 document of a version is valid (kin-openapi) and carries
// each route's parameters, body and responses from the flow's schemas.
func TestAPIOpenAPIDocument(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	shop(f)
	doc := loadOpenAPI(t, f.srv.URL+"/apis/shop/v1/openapi.json")
	if doc.OpenAPI != "3.1.0" || doc.Info.Title != "Shop" || doc.Info.Version != "v1" || doc.Servers[0].URL != "/apis/shop/v1" {
		t.Fatalf("%+v %+v", doc.Info, doc.Servers)
	}
	get := doc.Paths.Find("/orders/{id}").Get
	if get == nil || get.OperationID != "get_order" || get.Parameters.GetByInAndName("path", "id") == nil ||
		get.Parameters.GetByInAndName("path", "id").Schema.Value.Pattern != "^[0-9]+$" ||
		get.Parameters.GetByInAndName("query", "limit") == nil || get.Responses.Status(200) == nil || get.Responses.Status(400) == nil {
		t.Fatalf("GET /orders/{id}: %+v", get)
	}
	post := doc.Paths.Find("/orders").Post
	if post == nil || post.RequestBody == nil || post.RequestBody.Value.Content.Get("application/json").Schema.Value.Required[0] != "sku" ||
		post.Parameters.GetByInAndName("header", "X-Tenant") == nil || !post.Parameters.GetByInAndName("header", "X-Tenant").Required {
		t.Fatalf("POST /orders: %+v", post)
	}
	if code, _, _ := call(t, "GET", f.srv.URL+"/apis/shop/v7/openapi.json", "", nil); code != 404 {
		t.Fatalf("the document of a missing version: %d", code)
	}
}

// Test mode: a response outside the route's response schema answers 502
// with the problems; without test mode it passes.
func TestAPITestModeChecksResponses(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	shop(f)
	post := func() (int, map[string]any) {
		code, out, _ := call(t, "POST", f.srv.URL+"/apis/shop/v1/orders", `{"sku": "A", "qty": 1}`, map[string]string{"X-Tenant": "acme"})
		return code, out
	}
	if code, out := post(); code != 201 {
		t.Fatalf("%d %v", code, out)
	}
	f.mustPut("shop", `{"versions": [{"name": "v1", "test": true, "flows": [{"flow": "get-order", "version": 1}, {"flow": "create-order", "version": 1}]}]}`)
	code, out := post()
	e, _ := out["error"].(map[string]any)
	if code != 502 || e["code"] != "response_invalid" || !slices.Equal(problemPaths(out), []string{"/body/order_id"}) {
		t.Fatalf("%d %v", code, out)
	}
	// get-order answers within its schema.
	if code, out, _ := call(t, "GET", f.srv.URL+"/apis/shop/v1/orders/3", "", nil); code != 200 {
		t.Fatalf("%d %v", code, out)
	}
}

// A product is refused, with pointers into it, when a pin names a missing
// flow version, a flow without an api trigger, or a clashing route; and
// when the document itself is wrong.
func TestAPIProductRefusals(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	f.deploy(getOrderV1)
	f.deploy(hookFlow)
	f.deploy(strings.NewReplacer("name: get-order", "name: get-order-copy", "{id}", "{oid}", "id: {type: string, pattern", "oid: {type: string, pattern",
		"trigger.params.id", "trigger.params.oid").Replace(getOrderV1))
	cases := []struct{ name, body, pointer, want string }{
		{"missing version", `{"versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 9}]}]}`, "/versions/0/flows/0", "has no version 9"},
		{"missing flow", `{"versions": [{"name": "v1", "flows": [{"flow": "ghost", "version": 1}]}]}`, "/versions/0/flows/0", "has no version 1"},
		{"not an api trigger", `{"versions": [{"name": "v1", "flows": [{"flow": "plain-hook", "version": 1}]}]}`, "/versions/0/flows/0", "not an api trigger"},
		{"clash", `{"versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}, {"flow": "get-order-copy", "version": 1}]}]}`, "/versions/0/flows/1", "clashes"},
		{"unpinned", `{"versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 0}]}]}`, "/versions/0/flows/0/version", "pin a flow version"},
		{"bad successor", `{"versions": [{"name": "v1", "successor": "v3", "flows": []}]}`, "/versions/0/successor", "another version"},
		{"bad status", `{"versions": [{"name": "v1", "status": "gone", "flows": []}]}`, "/versions/0/status", "active, deprecated or retired"},
		{"twice", `{"versions": [{"name": "v1", "flows": []}, {"name": "v1", "flows": []}]}`, "/versions/1/name", "appears twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := f.putProduct("shop", c.body)
			if code != 400 && code != 422 {
				t.Fatalf("%d %v", code, out)
			}
			e, _ := out["error"].(map[string]any)
			if !slices.Contains(problemPaths(out), c.pointer) || !strings.Contains(stringOf(e["problems"]), c.want) {
				t.Fatalf("want %s %q in %v", c.pointer, c.want, out)
			}
		})
	}
	if code, out := f.putProduct("shop", `{"versions": [], "sunet": 1}`); code != 400 {
		t.Fatalf("unknown field: %d %v", code, out)
	}
	if code, out := f.putProduct("Shop!", `{"versions": []}`); code != 400 {
		t.Fatalf("bad name: %d %v", code, out)
	}
	if code, out := f.putProduct("shop", `{"name": "other", "versions": []}`); code != 400 {
		t.Fatalf("name mismatch: %d %v", code, out)
	}
	// A stale revision is a conflict.
	f.mustPut("shop", `{"versions": []}`)
	f.mustPut("shop", `{"versions": []}`)
	if code, out := f.putProduct("shop", `{"revision": 1, "versions": []}`); code != 409 {
		t.Fatalf("stale revision: %d %v", code, out)
	}
	if code, out, _ := call(t, "GET", f.srv.URL+"/api/products", "", nil); code != 200 || len(out["products"].([]any)) != 1 {
		t.Fatalf("list: %d %v", code, out)
	}
	if code, out, _ := call(t, "DELETE", f.srv.URL+"/api/products/shop", "", nil); code != 200 {
		t.Fatalf("delete: %d %v", code, out)
	}
	if code, _, _ := call(t, "GET", f.srv.URL+"/apis/shop/v1/orders/1", "", nil); code != 404 {
		t.Fatalf("a deleted product still answers: %d", code)
	}
}

func stringOf(v any) string {
	var b strings.Builder
	if ps, ok := v.([]any); ok {
		for _, p := range ps {
			if m, ok := p.(map[string]any); ok {
				b.WriteString(m["message"].(string) + "\n")
			}
		}
	}
	return b.String()
}

// A test run of an api flow takes path parameters as input.params.
func TestAPIFlowTestRunTakesParams(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	body, _ := jsonBody(map[string]any{"source": getOrderV1, "input": map[string]any{"params": map[string]any{"id": "77"}}})
	code, out, _ := call(t, "POST", f.srv.URL+"/api/flows/test", body, nil)
	resp, _ := out["response"].(map[string]any)
	rb, _ := resp["body"].(map[string]any)
	if code != 200 || out["status"] != "succeeded" || rb["id"] != "77" {
		t.Fatalf("%d %v", code, out)
	}
}

func jsonBody(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// The base path is configurable; one that would shadow Weft's own routes
// is refused.
func TestAPIBasePath(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{APIBasePath: "/public/apis"})
	shop(f)
	if code, out, _ := call(t, "GET", f.srv.URL+"/public/apis/shop/v1/orders/5", "", nil); code != 200 || out["id"] != "5" {
		t.Fatalf("%d %v", code, out)
	}
	if doc := loadOpenAPI(t, f.srv.URL+"/public/apis/shop/v1/openapi.json"); doc.Servers[0].URL != "/public/apis/shop/v1" {
		t.Fatalf("servers: %v", doc.Servers[0].URL)
	}
	if code, _, _ := call(t, "GET", f.srv.URL+"/apis/shop/v1/orders/5", "", nil); code != 404 {
		t.Fatalf("the default base still answers: %d", code)
	}
	for _, bad := range []string{"/api", "/hooks/x", "apis", "/", "/A", "/a/b/c/d/e"} {
		if gateway.CheckAPIBasePath(bad) == nil {
			t.Errorf("base path %q accepted", bad)
		}
	}
}
