package gateway_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/apim"
	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/internal/pgtest"
	"github.com/weftio/weft/internal/seal"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/postgres"
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

// BenchmarkIngress: one synchronous run through the plain webhook path,
// through a published route (routing, request validation against path,
// query, header and body schemas, the pinned version), and through the
// same route in a product that needs a key (key lookup, GCRA rate limit
// and day/month quotas counted in the store), in-process on
// SQLite with the full transaction log, and through it in a product whose
// calls are HMAC-signed (the signature, the nonce, the count); payloads are
// sealed as weft serve seals them; interleaved so all see the same
// machine; and through it in a product that takes JWTs (an ES256 token
// verified, the consumer it names counted). Reports p50 and p99 per path
// in microseconds.
//
//	go test -run '^$' -bench Ingress -benchtime 3000x -count 2 ./gateway
//
//	go test -run '^$' -bench Ingress -benchtime 4000x ./gateway
func BenchmarkIngress(b *testing.B) {
	st, err := sqlite.Open(context.Background(), b.TempDir(), nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchIngress(b, st)
}

// BenchmarkIngressPostgres is BenchmarkIngress on PostgreSQL (the test
// cluster: fsync off), where the rate limit is one upsert round trip.
//
//	go test -run '^$' -bench IngressPostgres -benchtime 3000x ./gateway
func BenchmarkIngressPostgres(b *testing.B) {
	pg := pgtest.Start(b)
	st, err := postgres.Open(context.Background(), pg.NewDatabase(b), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchIngress(b, st)
}

func benchIngress(b *testing.B, st store.Store) {
	// Payloads and HMAC secrets sealed under a master key, as weft serve does.
	keys, err := seal.New(seal.NewKey())
	if err != nil {
		b.Fatal(err)
	}
	env := seal.NewEnvelope(keys, st)
	st.(interface{ SetPayloadSealer(store.PayloadSealer) }).SetPayloadSealer(env)
	e := engine.New(st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), nil, engine.Config{Payloads: env})
	iss := newJWTIssuer(b)
	srv := gateway.New(e, nil, gateway.Config{JWTIssuers: []apim.JWTIssuer{{Name: "corp", Issuer: "https://idp.example", Audience: "shop-api", JWKSURL: iss.srv.URL, ConsumerClaim: "azp"}}})
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
	// The same route in a product with auth: api_key, a consumer and a
	// plan whose limits are never reached: every call reads the key and
	// counts against the rate and both quotas in the store.
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/api/products/keyed", `{"auth": "api_key", "versions": [{"name": "v1", "flows": [{"flow": "api-order", "version": 1}]}]}`},
		{"PUT", "/api/plans/big", `{"limits": {"rate_per_second": 100000, "burst": 100000, "quota_day": 1000000000, "quota_month": 1000000000}}`},
		{"PUT", "/api/consumers/bench", `{}`},
		{"PUT", "/api/consumers/bench/subscriptions/keyed", `{"plan": "big"}`},
		{"PUT", "/api/products/signed", `{"auth": "hmac", "versions": [{"name": "v1", "flows": [{"flow": "api-order", "version": 1}]}]}`},
		{"PUT", "/api/consumers/bench/subscriptions/signed", `{"plan": "big"}`},
		{"PUT", "/api/products/tokened", `{"auth": "jwt", "jwt_issuer": "corp", "versions": [{"name": "v1", "flows": [{"flow": "api-order", "version": 1}]}]}`},
		{"PUT", "/api/consumers/bench/subscriptions/tokened", `{"plan": "big"}`},
	} {
		if rec := serve(c.method, c.path, c.body, nil); rec.Code != 200 {
			b.Fatalf("%s %s: %d %s", c.method, c.path, rec.Code, rec.Body)
		}
	}
	rec := serve("POST", "/api/consumers/bench/keys", "", nil)
	var nk struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &nk); err != nil || nk.Key == "" {
		b.Fatalf("key: %d %s", rec.Code, rec.Body)
	}
	rec = serve("POST", "/api/consumers/bench/keys", `{"kind": "hmac"}`, nil)
	var hk struct {
		Secret string `json:"secret"`
		Info   struct {
			ID string `json:"id"`
		} `json:"info"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &hk); err != nil || hk.Secret == "" {
		b.Fatalf("HMAC credential: %d %s", rec.Code, rec.Body)
	}
	var nonce int
	signedRec := func() *httptest.ResponseRecorder {
		nonce++
		target := "/apis/signed/v1/tenants/acme/orders?priority=3"
		auth := apim.HMACAuthorization(hk.Info.ID, hk.Secret, "POST", target, time.Now(), "bench-nonce-"+strconv.Itoa(1e8+nonce), []byte(benchBody))
		return serve("POST", target, benchBody, map[string]string{"X-Request-Id": "req-12345678", "Authorization": auth})
	}
	signed := func() { signedRec() }
	tok := iss.sign(map[string]any{"iss": "https://idp.example", "aud": "shop-api", "azp": "bench", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
	tokenRec := func() *httptest.ResponseRecorder {
		return serve("POST", "/apis/tokened/v1/tenants/acme/orders?priority=3", benchBody, map[string]string{"X-Request-Id": "req-12345678", "Authorization": "Bearer " + tok})
	}
	tokened := func() { tokenRec() }
	hook := func() {
		serve("POST", "/hooks/hook-order?tenant=acme&priority=3", benchBody, map[string]string{"X-Request-Id": "req-12345678"})
	}
	route := func() {
		serve("POST", "/apis/shop/v1/tenants/acme/orders?priority=3", benchBody, map[string]string{"X-Request-Id": "req-12345678"})
	}
	keyed := func() {
		serve("POST", "/apis/keyed/v1/tenants/acme/orders?priority=3", benchBody, map[string]string{"X-Request-Id": "req-12345678", "X-API-Key": nk.Key})
	}
	if rec := signedRec(); rec.Code != 200 {
		b.Fatalf("signed route: %d %s", rec.Code, rec.Body)
	}
	if rec := tokenRec(); rec.Code != 200 || rec.Header().Get("RateLimit") == "" {
		b.Fatalf("JWT route: %d %s", rec.Code, rec.Body)
	}
	for _, f := range []func(){hook, route, keyed} { // all answer 200 before timing
		f()
	}
	if rec := serve("POST", "/apis/shop/v1/tenants/acme/orders?priority=3", benchBody, map[string]string{"X-Request-Id": "req-12345678"}); rec.Code != 200 {
		b.Fatalf("route: %d %s", rec.Code, rec.Body)
	}
	if rec := serve("POST", "/apis/keyed/v1/tenants/acme/orders?priority=3", benchBody, map[string]string{"X-Request-Id": "req-12345678", "X-API-Key": nk.Key}); rec.Code != 200 || rec.Header().Get("RateLimit") == "" {
		b.Fatalf("keyed route: %d %s", rec.Code, rec.Body)
	}
	// Each iteration runs the three paths in a rotating order, so none is
	// always first (or last) after the others' writes.
	paths := []func(){hook, route, keyed, signed, tokened}
	times := make([][]time.Duration, len(paths))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for j := range paths {
			k := (i + j) % len(paths)
			t0 := time.Now()
			paths[k]()
			times[k] = append(times[k], time.Since(t0))
		}
	}
	hookT, routeT, keyedT, signedT, tokenT := times[0], times[1], times[2], times[3], times[4]
	pct := func(ds []time.Duration, p float64) float64 {
		slices.Sort(ds)
		return float64(ds[int(float64(len(ds)-1)*p)].Microseconds())
	}
	b.ReportMetric(pct(hookT, 0.5), "webhook-p50-µs")
	b.ReportMetric(pct(hookT, 0.99), "webhook-p99-µs")
	b.ReportMetric(pct(routeT, 0.5), "route-p50-µs")
	b.ReportMetric(pct(routeT, 0.99), "route-p99-µs")
	b.ReportMetric(pct(keyedT, 0.5), "keyed-p50-µs")
	b.ReportMetric(pct(keyedT, 0.99), "keyed-p99-µs")
	b.ReportMetric(pct(signedT, 0.5), "hmac-p50-µs")
	b.ReportMetric(pct(signedT, 0.99), "hmac-p99-µs")
	b.ReportMetric(pct(tokenT, 0.5), "jwt-p50-µs")
	b.ReportMetric(pct(tokenT, 0.99), "jwt-p99-µs")
}
