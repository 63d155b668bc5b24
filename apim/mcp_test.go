package apim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// A route's tool: its input schema holds the route's schemas (their
// $defs moved up so references still resolve, and the schema compiles),
// and its arguments make the route's request, escaped, with only the
// declared headers.
func TestRouteTools(t *testing.T) {
	flows := fakeFlows{
		"get-line@1": apiFlow(t, "get-line", "GET", "/orders/{id}/lines/{n}", `    request:
      headers:
        type: object
        properties:
          X-Tenant: {type: string}
`),
		"put-order@1": apiFlow(t, "put-order", "PUT", "/orders/{id}", `    request:
      body:
        $defs:
          item: {type: object, required: [sku], properties: {sku: {type: string}}}
        type: object
        properties:
          items: {type: array, items: {$ref: "#/$defs/item"}}
          next: {$ref: "#"}
`),
	}
	rs, err := compile(t, flows, Pin{Flow: "get-line", Version: 1}, Pin{Flow: "put-order", Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	tools := rs.Tools()
	if len(tools) != 2 || tools[0].Name != "get_line" || tools[1].Name != "put_order" || !tools[0].ReadOnly || tools[1].ReadOnly {
		t.Fatalf("tools: %+v", tools)
	}
	raw, _ := json.Marshal(tools[1].InputSchema)
	if !strings.Contains(string(raw), `"$ref":"#/$defs/body_item"`) || !strings.Contains(string(raw), `"$ref":"#/$defs/body"`) {
		t.Fatalf("refs: %s", raw)
	}
	c := jsonschema.NewCompiler()
	doc, _ := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err := c.AddResource("in.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("in.json")
	if err != nil {
		t.Fatalf("the input schema does not compile: %v\n%s", err, raw)
	}
	good, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"path": {"id": "1"}, "body": {"items": [{"sku": "a"}], "next": {"items": []}}}`))
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"path": {"id": "1"}, "body": {"items": [{}]}}`))
	if sch.Validate(good) != nil || sch.Validate(bad) == nil {
		t.Fatalf("the input schema does not hold the route's: %v / %v", sch.Validate(good), sch.Validate(bad))
	}

	tr, err := tools[0].Request(map[string]any{"path": map[string]any{"id": "a/b c", "n": float64(3)}, "query": map[string]any{"x": []any{"1", true}}, "headers": map[string]any{"x-tenant": "acme"}})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Method != http.MethodGet || tr.Path != "/orders/a%2Fb%20c/lines/3" || tr.Query.Encode() != "x=1&x=true" || tr.Header.Get("X-Tenant") != "acme" || tr.Body != nil {
		t.Fatalf("request: %+v", tr)
	}
	if rt, params, _ := rs.Match(tr.Method, tr.Path); rt == nil || params["id"] != "a/b c" {
		t.Fatalf("the built path does not match its route: %v", params)
	}
	for name, args := range map[string]map[string]any{
		"missing path":      {"path": map[string]any{"id": "1"}},
		"unknown parameter": {"path": map[string]any{"id": "1", "n": "2", "m": "3"}},
		"unknown argument":  {"path": map[string]any{"id": "1", "n": "2"}, "cookie": "x"},
		"path not object":   {"path": "1/2"},
		"object value":      {"path": map[string]any{"id": map[string]any{}, "n": "2"}},
		"undeclared header": {"path": map[string]any{"id": "1", "n": "2"}, "headers": map[string]any{"X-Api-Key": "k"}},
		"header newline":    {"path": map[string]any{"id": "1", "n": "2"}, "headers": map[string]any{"X-Tenant": "a\r\nX-Api-Key: k"}},
		"nested query":      {"path": map[string]any{"id": "1", "n": "2"}, "query": map[string]any{"q": map[string]any{}}},
	} {
		if _, err := tools[0].Request(args); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	tr, err = tools[1].Request(map[string]any{"path": map[string]any{"id": "7"}, "body": map[string]any{"items": []any{map[string]any{"sku": "<a>"}}}})
	if err != nil || string(tr.Body) != `{"items":[{"sku":"<a>"}]}` || tr.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("body: %v %s", err, tr.Body)
	}
}
