package apim

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/weftio/weft/flow"
)

// BenchmarkRequestChecks is what a published route adds before its run:
// matching the path in the version's tree and validating path, query,
// headers and a ~300-byte body against their schemas.
//
//	go test -run '^$' -bench RequestChecks -benchmem ./apim
func BenchmarkRequestChecks(b *testing.B) {
	flows := fakeFlows{"o@1": apiFlowB(b, "o", "POST", "/tenants/{tenant}/orders", `    request:
      path: {type: object, properties: {tenant: {type: string, pattern: "^[a-z0-9-]+$"}}}
      query: {type: object, properties: {dry_run: {type: boolean}, priority: {type: integer, minimum: 0, maximum: 9}}}
      headers: {type: object, required: [X-Request-Id], properties: {X-Request-Id: {type: string, minLength: 8}}}
      body:
        type: object
        required: [customer, items]
        properties:
          customer: {type: object, required: [id, email], properties: {id: {type: string}, email: {type: string}}}
          items: {type: array, maxItems: 100, items: {type: object, required: [sku, qty, price], properties: {sku: {type: string}, qty: {type: integer, minimum: 1}, price: {type: number}}}}
          note: {type: string, maxLength: 500}
`)}
	for _, n := range []string{"a@1", "b@1", "c@1", "d@1"} { // a few more routes in the tree
		flows[n] = apiFlowB(b, n[:1], "GET", "/"+n[:1]+"/{id}", "")
	}
	p := &Product{Name: "p", Versions: []Version{{Name: "v1", Flows: []Pin{{"o", 1}, {"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}}}}}
	rs, err := Compile(b.Context(), flows, p, &p.Versions[0])
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"customer": {"id": "c-1", "email": "a@example.com"}, "items": [{"sku": "A-1", "qty": 2, "price": 9.5}, {"sku": "B-2", "qty": 1, "price": 120}, {"sku": "C-3", "qty": 4, "price": 0.99}], "note": "leave at the door"}`)
	q := url.Values{"dry_run": {"false"}, "priority": {"3"}}
	h := http.Header{"X-Request-Id": {"req-12345678"}}
	b.ReportAllocs()
	for b.Loop() {
		rt, params, _ := rs.Match("POST", "/tenants/acme/orders")
		if ps := rt.ValidateRequest(Request{Params: params, Query: q, Header: h, RawBody: body}); len(ps) != 0 {
			b.Fatal(ps)
		}
	}
}

func apiFlowB(b *testing.B, name, method, path, request string) *flow.Flow {
	b.Helper()
	f, err := parseAPIFlow(method, path, request)
	if err != nil {
		b.Fatal(err)
	}
	f.Name = name
	return f
}

func parseAPIFlow(method, path, request string) (*flow.Flow, error) {
	return flow.Parse("t.yaml", []byte("name: f\ntrigger:\n  api:\n    method: "+method+"\n    path: \""+path+"\"\n"+request+"steps:\n  - respond: {status: 200}\n"))
}
