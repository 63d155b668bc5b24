package gateway_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store/sqlite"
)

const benchHook = `
name: hook-order
trigger:
  webhook: {}
steps:
  - respond: {status: 200, body: {tenant: =trigger.query.tenant, n: =size(trigger.body.items)}}
`

const benchRoute = `
name: api-order
trigger:
  api:
    method: POST
    path: /tenants/{tenant}/orders
    request:
      path: {type: object, properties: {tenant: {type: string, pattern: "^[a-z0-9-]+$"}}}
      query: {type: object, properties: {priority: {type: integer, minimum: 0, maximum: 9}}}
      headers: {type: object, required: [X-Request-Id], properties: {X-Request-Id: {type: string, minLength: 8}}}
      body:
        type: object
        required: [customer, items]
        properties:
          customer: {type: object, required: [id, email], properties: {id: {type: string}, email: {type: string}}}
          items: {type: array, maxItems: 100, items: {type: object, required: [sku, qty, price], properties: {sku: {type: string}, qty: {type: integer, minimum: 1}, price: {type: number}}}}
steps:
  - respond: {status: 200, body: {tenant: =trigger.params.tenant, n: =size(trigger.body.items)}}
`

const benchBody = `{"customer": {"id": "c-1", "email": "a@example.com"}, "items": [{"sku": "A-1", "qty": 2, "price": 9.5}, {"sku": "B-2", "qty": 1, "price": 120}, {"sku": "C-3", "qty": 4, "price": 0.99}]}`

// BenchmarkIngress: one synchronous run through the plain webhook path and
// through a published route (routing, request validation against path,
// query, header and body schemas, the pinned version), in-process on
// SQLite with the full transaction log; interleaved so both see the same
// machine. Reports p50 and p99 per path in microseconds.
//
//	go test -run '^$' -bench Ingress -benchtime 4000x ./gateway
func BenchmarkIngress(b *testing.B) {
	st, err := sqlite.Open(context.Background(), b.TempDir(), nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	e := engine.New(st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), nil, engine.Config{})
	srv := gateway.New(e, nil, gateway.Config{})
	serve := func(method, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Host = "localhost"
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec
	}
	for _, src := range []string{benchHook, benchRoute} {
		if rec := serve("POST", "/api/flows", src, nil); rec.Code != 201 {
			b.Fatalf("deploy: %d %s", rec.Code, rec.Body)
		}
	}
	if rec := serve("PUT", "/api/products/shop", `{"versions": [{"name": "v1", "flows": [{"flow": "api-order", "version": 1}]}]}`, nil); rec.Code != 200 {
		b.Fatalf("product: %d %s", rec.Code, rec.Body)
	}
	hook := func() {
		serve("POST", "/hooks/hook-order?tenant=acme&priority=3", benchBody, map[string]string{"X-Request-Id": "req-12345678"})
	}
	route := func() {
		serve("POST", "/apis/shop/v1/tenants/acme/orders?priority=3", benchBody, map[string]string{"X-Request-Id": "req-12345678"})
	}
	for _, f := range []func(){hook, route} { // both answer 200 before timing
		f()
	}
	if rec := serve("POST", "/apis/shop/v1/tenants/acme/orders?priority=3", benchBody, map[string]string{"X-Request-Id": "req-12345678"}); rec.Code != 200 {
		b.Fatalf("route: %d %s", rec.Code, rec.Body)
	}
	var hookT, routeT []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		first, second, ft, stt := hook, route, &hookT, &routeT
		if i%2 == 1 {
			first, second, ft, stt = route, hook, &routeT, &hookT
		}
		t0 := time.Now()
		first()
		t1 := time.Now()
		second()
		*ft, *stt = append(*ft, t1.Sub(t0)), append(*stt, time.Since(t1))
	}
	pct := func(ds []time.Duration, p float64) float64 {
		slices.Sort(ds)
		return float64(ds[int(float64(len(ds)-1)*p)].Microseconds())
	}
	b.ReportMetric(pct(hookT, 0.5), "webhook-p50-µs")
	b.ReportMetric(pct(hookT, 0.99), "webhook-p99-µs")
	b.ReportMetric(pct(routeT, 0.5), "route-p50-µs")
	b.ReportMetric(pct(routeT, 0.99), "route-p99-µs")
}
