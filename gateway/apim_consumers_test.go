package gateway_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/weftio/weft/apim"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store"
)

// keyedShop is shop with auth: api_key, a plan, a consumer subscribed to
// it and one key; it returns the key.
func keyedShop(f *apimFixture, limits string) string {
	f.t.Helper()
	f.deploy(getOrderV1)
	f.deploy(createOrder)
	f.deploy(whoami)
	f.mustPut("shop", `{"auth": "api_key", "versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}, {"flow": "create-order", "version": 1}, {"flow": "whoami", "version": 1}]},
		{"name": "v2", "flows": [{"flow": "get-order", "version": 1}]}]}`)
	f.must("PUT", "/api/plans/gold", `{"limits": `+limits+`}`, 200)
	f.must("PUT", "/api/consumers/acme", `{"description": "Acme's shop front"}`, 200)
	f.must("PUT", "/api/consumers/acme/subscriptions/shop", `{"plan": "gold"}`, 200)
	return f.newKey("acme")
}

func (f *apimFixture) must(method, path, body string, status int) map[string]any {
	f.t.Helper()
	code, out, _ := call(f.t, method, f.srv.URL+path, body, nil)
	if code != status {
		f.t.Fatalf("%s %s: %d %v (want %d)", method, path, code, out, status)
	}
	return out
}

func (f *apimFixture) newKey(consumer string) string {
	f.t.Helper()
	out := f.must("POST", "/api/consumers/"+consumer+"/keys", "", 201)
	key, _ := out["key"].(string)
	if !strings.HasPrefix(key, "wk_") {
		f.t.Fatalf("new key: %v", out)
	}
	return key
}

func keyID(key string) string { return key[3:19] }

func msgOf(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

const whoami = `
name: whoami
trigger:
  api: {method: GET, path: /me}
steps:
  - respond: {status: 200, body: {consumer: '=trigger.headers["x-weft-consumer"]'}}
`

func (f *apimFixture) get(path, key string) (int, map[string]any, http.Header) {
	f.t.Helper()
	var h map[string]string
	if key != "" {
		h = map[string]string{"X-API-Key": key}
	}
	return call(f.t, "GET", f.srv.URL+path, "", h)
}

// A product with auth: api_key: no key, a malformed one, an unknown one
// are 401 with a clear error and start no run; a subscribed consumer's
// key runs the route, and the run knows the consumer.
func TestAPIKeyAuth(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	key := keyedShop(f, `{"quota_day": 1000}`)
	before := f.runs()
	malformed := map[string]map[string]string{
		"none":                   nil,
		"short":                  {"X-API-Key": "abc"},
		"wrong prefix":           {"X-API-Key": "xx" + key[2:]},
		"bad id":                 {"X-API-Key": "wk_ZZZZ" + key[7:]},
		"bad secret":             {"X-API-Key": key[:len(key)-1] + "!"},
		"too long":               {"X-API-Key": strings.Repeat("a", 5000)},
		"basic":                  {"Authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l"},
		"empty bearer":           {"Authorization": "Bearer"},
		"unknown key":            {"X-API-Key": "wk_0123456789abcdef_" + strings.Repeat("a", 52)},
		"right id, wrong secret": {"X-API-Key": key[:20] + strings.Repeat("b", 52)},
		"non-UTF-8":              {"X-API-Key": "wk_\xff\xfe"},
	}
	for name, h := range malformed {
		code, out, hdr := call(t, "GET", f.srv.URL+"/apis/shop/v1/orders/1", "", h)
		if code != 401 || errCode(out) != "unauthorized" || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: %d %v", name, code, out)
		}
		if msg := msgOf(out); strings.Contains(msg, "aaaa") {
			t.Errorf("%s: the error echoes the key: %s", name, msg)
		}
	}
	// Two keys at once are refused, not chosen between.
	req, _ := http.NewRequest("GET", f.srv.URL+"/apis/shop/v1/orders/1", nil)
	req.Header.Set("X-API-Key", key)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("two keys: %d", resp.StatusCode)
	}
	if n := f.runs(); n != before {
		t.Fatalf("refused calls started %d runs", n-before)
	}
	// Unknown routes are not revealed without a key either.
	if code, _, _ := f.get("/apis/shop/v1/nope", ""); code != 401 {
		t.Errorf("unknown route without a key: %d", code)
	}
	// The contract stays public.
	if code, _, _ := f.get("/apis/shop/v1/openapi.json", ""); code != 200 {
		t.Errorf("openapi.json: %d", code)
	}

	code, out, _ := call(t, "GET", f.srv.URL+"/apis/shop/v1/me", "", map[string]string{"X-API-Key": key, "X-Weft-Consumer": "someone-else"})
	if code != 200 || out["consumer"] != "acme" {
		t.Fatalf("with a key, the run knows its consumer: %d %v", code, out)
	}
	rs, err := f.st.ListRuns(context.Background(), store.RunFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if strings.Contains(string(r.Input), key[20:]) || strings.Contains(string(r.Output), key[20:]) {
			t.Fatalf("a run holds the key: %s", r.Input)
		}
	}
	if code, _, _ := call(t, "GET", f.srv.URL+"/apis/shop/v1/orders/7", "", map[string]string{"Authorization": "Bearer " + key}); code != 200 {
		t.Fatalf("Authorization: Bearer: %d", code)
	}
	// Validation still runs after authentication.
	if code, out, _ := f.get("/apis/shop/v1/orders/abc", key); code != 400 || problemPaths(out)[0] != "/path/id" {
		t.Fatalf("invalid with a key: %d %v", code, out)
	}
	// A product without auth keeps answering everyone.
	f.mustPut("open", `{"versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}]}]}`)
	if code, _, _ := f.get("/apis/open/v1/orders/1", ""); code != 200 {
		t.Fatalf("open product: %d", code)
	}
}

// A consumer without a subscription, subscribed to another version, or
// disabled is refused 403.
func TestAPIKeySubscription(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	key := keyedShop(f, `{}`)
	f.must("PUT", "/api/consumers/beta", `{}`, 200)
	beta := f.newKey("beta")
	if code, out, _ := f.get("/apis/shop/v1/orders/1", beta); code != 403 || !strings.Contains(msgOf(out), "not subscribed") {
		t.Fatalf("not subscribed: %d %v", code, out)
	}
	f.must("PUT", "/api/consumers/acme/subscriptions/shop", `{"plan": "gold", "version": "v2"}`, 200)
	if code, _, _ := f.get("/apis/shop/v1/orders/1", key); code != 403 {
		t.Fatalf("subscribed to v2, called v1: %d", code)
	}
	if code, _, _ := f.get("/apis/shop/v2/orders/1", key); code != 200 {
		t.Fatalf("subscribed to v2, called v2: %d", code)
	}
	f.must("PUT", "/api/consumers/acme", `{"disabled": true}`, 200)
	if code, _, _ := f.get("/apis/shop/v2/orders/1", key); code != 403 {
		t.Fatalf("disabled: %d", code)
	}
	f.must("PUT", "/api/consumers/acme/subscriptions/shop", `{"plan": "gold", "version": "v9"}`, 404)
	f.must("PUT", "/api/consumers/acme/subscriptions/nope", `{"plan": "gold"}`, 404)
	f.must("PUT", "/api/consumers/acme/subscriptions/shop", `{"plan": "platinum"}`, 404)
	f.must("PUT", "/api/consumers/acme/subscriptions/shop", `{}`, 400)
	f.must("DELETE", "/api/plans/gold", "", 409)
	f.must("DELETE", "/api/consumers/acme/subscriptions/shop", "", 200)
	f.must("DELETE", "/api/plans/gold", "", 200)
}

// Past its plan's burst a consumer gets 429 with Retry-After, and every
// answer carries RateLimit-Policy and RateLimit.
func TestAPIRateLimitHeaders(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	key := keyedShop(f, `{"rate_per_second": 0.01, "burst": 3, "quota_day": 100}`)
	before := f.runs()
	for i := range 3 {
		code, _, h := f.get("/apis/shop/v1/orders/1", key)
		if code != 200 {
			t.Fatalf("call %d: %d", i, code)
		}
		if p := h.Get("RateLimit-Policy"); p != `"rate";q=3;w=300, "day";q=100;w=86400` {
			t.Fatalf("RateLimit-Policy: %q", p)
		}
		if rl := h.Get("RateLimit"); !strings.HasPrefix(rl, `"rate";r=`+string(rune('2'-i))+`;t=`) || !strings.Contains(rl, `"day";r=`) {
			t.Fatalf("call %d RateLimit: %q", i, rl)
		}
	}
	code, out, h := f.get("/apis/shop/v1/orders/1", key)
	if code != 429 || errCode(out) != "rate_limited" || h.Get("Retry-After") == "" || h.Get("Retry-After") == "0" {
		t.Fatalf("past the burst: %d %v %v", code, out, h)
	}
	// The consumer's usage, read without counting.
	for range 2 {
		got := f.must("GET", "/api/consumers/acme", "", 200)
		u, _ := got["subscriptions"].([]any)[0].(map[string]any)["usage"].(map[string]any)
		if u["day_used"] != float64(3) || u["day_remaining"] != float64(97) || u["rate_remaining"] != float64(0) {
			t.Fatalf("usage: %v", got)
		}
	}
	if n := f.runs(); n != before+3 {
		t.Fatalf("runs: %d, want %d", n, before+3)
	}
}

// Keys: shown once, listed by id only, rotated with an overlap (both keys
// work until it ends; an overlap of 0 stops the old one at once), revoked
// from the next call on; every change audited without the key.
func TestAPIKeyRotationAndRevocation(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	key := keyedShop(f, `{}`)
	got := f.must("GET", "/api/consumers/acme", "", 200)
	data, _ := json.Marshal(got)
	if strings.Contains(string(data), key[20:]) || strings.Contains(string(data), "hash") || len(got["keys"].([]any)) != 1 {
		t.Fatalf("the consumer shows its key: %s", data)
	}
	rot := f.must("POST", "/api/consumers/acme/keys/"+keyID(key)+"/rotate", `{"overlap": "1h"}`, 201)
	key2, _ := rot["key"].(string)
	if key2 == "" || key2 == key || rot["rotated"].(map[string]any)["expires_at"] == nil {
		t.Fatalf("rotate: %v", rot)
	}
	for _, k := range []string{key, key2} {
		if code, _, _ := f.get("/apis/shop/v1/orders/1", k); code != 200 {
			t.Fatalf("during the overlap: %d", code)
		}
	}
	rot = f.must("POST", "/api/consumers/acme/keys/"+keyID(key2)+"/rotate", `{"overlap": "0s"}`, 201)
	key3, _ := rot["key"].(string)
	if code, out, _ := f.get("/apis/shop/v1/orders/1", key2); code != 401 || !strings.Contains(msgOf(out), "expired") {
		t.Fatalf("rotated without overlap: %d %v", code, out)
	}
	if code, _, _ := f.get("/apis/shop/v1/orders/1", key3); code != 200 {
		t.Fatalf("the newest key: %d", code)
	}
	f.must("DELETE", "/api/consumers/acme/keys/"+keyID(key3), "", 200)
	if code, out, _ := f.get("/apis/shop/v1/orders/1", key3); code != 401 || !strings.Contains(msgOf(out), "revoked") {
		t.Fatalf("revoked: %d %v", code, out)
	}
	f.must("DELETE", "/api/consumers/acme/keys/"+keyID(key3), "", 404)
	f.must("POST", "/api/consumers/acme/keys/"+keyID(key3)+"/rotate", `{}`, 404)
	f.must("POST", "/api/consumers/acme/keys/"+keyID(key)+"/rotate", `{"overlap": "9999h"}`, 400)
	f.must("POST", "/api/consumers/acme/keys/"+keyID(key)+"/rotate", `{"overlap": "soon"}`, 400)

	recs, err := f.st.(interface {
		AuditRecords(context.Context, store.AuditFilter) ([]store.AuditRecord, error)
	}).AuditRecords(context.Background(), store.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, r := range recs {
		actions[r.Action]++
		for _, k := range []string{key, key2, key3} {
			if strings.Contains(r.Details, k[20:]) {
				t.Fatalf("audit entry %s holds a key: %s", r.Action, r.Details)
			}
		}
	}
	for _, a := range []string{"plan.create", "consumer.create", "subscription.save", "consumer_key.create", "consumer_key.rotate", "consumer_key.revoke"} {
		if actions[a] == 0 {
			t.Errorf("no %s audit entry: %v", a, actions)
		}
	}
}

// Plans and consumers: bad documents are refused with pointers; unknown
// fields are refused.
func TestAPIPlansAndConsumersRefusals(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	for _, body := range []string{
		`{"limits": {"rate_per_second": -1}}`,
		`{"limits": {"burst": 5}}`,
		`{"limits": {"quota_dya": 5}}`,
		`{"limits": {"quota_day": -5}}`,
		`{"name": "other"}`,
		`{"namespace": "no-such"}`,
		`[1, 2]`,
		`{"limits": {"rate_per_second": 1e400}}`,
	} {
		if code, out, _ := call(t, "PUT", f.srv.URL+"/api/plans/p1", body, nil); code != 400 {
			t.Errorf("plan %s: %d %v", body, code, out)
		}
	}
	if code, _, _ := call(t, "PUT", f.srv.URL+"/api/plans/Bad%20Name", `{}`, nil); code != 400 {
		t.Errorf("bad plan name: %d", code)
	}
	if code, _, _ := call(t, "PUT", f.srv.URL+"/api/consumers/c1", `{"disabled": "yes"}`, nil); code != 400 {
		t.Errorf("consumer with a string for a bool: %d", code)
	}
	out := f.must("PUT", "/api/plans/p1", `{"limits": {"rate_per_second": 2}}`, 200)
	if out["limits"].(map[string]any)["burst"] != float64(1) {
		t.Errorf("a rate without a burst gets a burst of 1: %v", out)
	}
	lst := f.must("GET", "/api/plans", "", 200)
	if len(lst["plans"].([]any)) != 1 {
		t.Errorf("plans: %v", lst)
	}
}

// An allow-list refuses other addresses with 403 before anything else
// (no run); a bad entry is refused at save with its pointer.
func TestAPIAllowIPs(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	shop(f)
	before := f.runs()
	f.mustPut("shop", `{"allow_ips": ["10.0.0.0/8", "2001:db8::1"], "versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}]}]}`)
	if code, out, _ := f.get("/apis/shop/v1/orders/1", ""); code != 403 || !strings.Contains(msgOf(out), "address 127.0.0.1 may not call") {
		t.Fatalf("outside the list: %d %v", code, out)
	}
	if f.runs() != before {
		t.Fatal("a refused address started a run")
	}
	f.mustPut("shop", `{"allow_ips": ["10.0.0.0/8", "127.0.0.1"], "versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}]}]}`)
	if code, _, _ := f.get("/apis/shop/v1/orders/1", ""); code != 200 {
		t.Fatalf("on the list: %d", code)
	}
	code, out := f.putProduct("shop", `{"allow_ips": ["10.0.0.0/8", "localhost"], "versions": []}`)
	if code != 400 || !slices.Contains(problemPaths(out), "/allow_ips/1") {
		t.Fatalf("a bad entry: %d %v", code, out)
	}
}

// A consumer's own allow-list: a call from an address it does not name
// is 403 before anything is counted or run, from the next call after the
// list is saved (the key was verified and remembered before); a bad
// entry is refused with its pointer.
func TestAPIConsumerAllowIPs(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	key := keyedShop(f, `{"quota_day": 100}`)
	for range 2 {
		if code, out, _ := f.get("/apis/shop/v1/orders/1", key); code != 200 {
			t.Fatalf("before a list: %d %v", code, out)
		}
	}
	used := func() float64 {
		out := f.must("GET", "/api/consumers/acme", "", 200)
		subs, _ := out["subscriptions"].([]any)
		u, _ := subs[0].(map[string]any)["usage"].(map[string]any)
		return u["day_used"].(float64)
	}
	before, runs := used(), f.runs()
	f.must("PUT", "/api/consumers/acme", `{"description": "Acme's shop front", "allow_ips": ["10.0.0.0/8", "2001:db8::/32"]}`, 200)
	code, out, _ := f.get("/apis/shop/v1/orders/1", key)
	if code != 403 || !strings.Contains(msgOf(out), "consumer acme may not call from address 127.0.0.1") {
		t.Fatalf("outside the consumer's list: %d %v", code, out)
	}
	if used() != before || f.runs() != runs {
		t.Fatalf("a refused address was counted (%v -> %v) or ran", before, used())
	}
	got := f.must("GET", "/api/consumers/acme", "", 200)
	if c, _ := got["consumer"].(map[string]any); fmt.Sprint(c["allow_ips"]) != "[10.0.0.0/8 2001:db8::/32]" {
		t.Fatalf("the list as read: %v", got)
	}
	f.must("PUT", "/api/consumers/acme", `{"allow_ips": ["127.0.0.0/8"]}`, 200)
	if code, out, _ := f.get("/apis/shop/v1/orders/1", key); code != 200 || used() != before+1 {
		t.Fatalf("on the list: %d %v (used %v)", code, out, used())
	}
	out = f.must("PUT", "/api/consumers/acme", `{"allow_ips": ["127.0.0.0/8", "localhost"]}`, 400)
	if !slices.Contains(problemPaths(out), "/allow_ips/1") {
		t.Fatalf("a bad entry: %v", out)
	}
	many := `"10.0.0.1"` + strings.Repeat(`, "10.0.0.1"`, 100)
	out = f.must("PUT", "/api/consumers/acme", `{"allow_ips": [`+many+`]}`, 400)
	if !slices.Contains(problemPaths(out), "/allow_ips") {
		t.Fatalf("101 entries: %v", out)
	}
	// The product's list and the consumer's both apply.
	f.must("PUT", "/api/consumers/acme", `{}`, 200)
	if code, _, _ := f.get("/apis/shop/v1/orders/1", key); code != 200 {
		t.Fatalf("the list removed: %d", code)
	}
}

// CORS: a preflight from an allowed origin is answered 204 before the key
// is asked for, naming the route's method and headers; another origin's
// preflight is 403; an allowed origin's call carries the CORS headers and
// exposes the RateLimit headers.
func TestAPICORS(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	key := keyedShop(f, `{"quota_day": 100}`)
	f.mustPut("shop", `{"auth": "api_key", "cors": {"allow_origins": ["https://shop.example"], "allow_headers": ["X-Trace"], "max_age": 600},
		"versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}, {"flow": "create-order", "version": 1}]}]}`)
	before := f.runs()
	pre := func(origin, method, path string) (int, http.Header) {
		req, _ := http.NewRequest("OPTIONS", f.srv.URL+path, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", method)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	code, h := pre("https://shop.example", "POST", "/apis/shop/v1/orders")
	if code != 204 || h.Get("Access-Control-Allow-Origin") != "https://shop.example" || h.Get("Access-Control-Allow-Methods") != "POST" ||
		h.Get("Access-Control-Allow-Headers") != "Content-Type, X-API-Key, Authorization, X-Tenant, X-Trace" || h.Get("Access-Control-Max-Age") != "600" {
		t.Fatalf("preflight: %d %v", code, h)
	}
	if code, _ := pre("https://evil.example", "POST", "/apis/shop/v1/orders"); code != 403 {
		t.Fatalf("another origin's preflight: %d", code)
	}
	if code, _ := pre("https://shop.example", "DELETE", "/apis/shop/v1/orders"); code != 403 {
		t.Fatalf("a method no route takes: %d", code)
	}
	if code, _ := pre("https://shop.example", "GET", "/apis/shop/v1/nowhere"); code != 404 {
		t.Fatalf("no route: %d", code)
	}
	code, _, h = call(t, "GET", f.srv.URL+"/apis/shop/v1/orders/3", "", map[string]string{"X-API-Key": key, "Origin": "https://shop.example"})
	if code != 200 || h.Get("Access-Control-Allow-Origin") != "https://shop.example" || !strings.Contains(h.Get("Access-Control-Expose-Headers"), "RateLimit") {
		t.Fatalf("a call from the origin: %d %v", code, h)
	}
	code, _, h = call(t, "GET", f.srv.URL+"/apis/shop/v1/orders/3", "", map[string]string{"X-API-Key": key, "Origin": "https://evil.example"})
	if code != 200 || h.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("a call from another origin carries no CORS headers: %d %v", code, h)
	}
	if n := f.runs(); n != before+2 {
		t.Fatalf("preflights started runs: %d", n-before)
	}
	for _, body := range []string{`{"cors": {"allow_origins": []}, "versions": []}`, `{"cors": {"allow_origins": ["https://a.example/path"]}, "versions": []}`,
		`{"cors": {"allow_origins": ["*"], "max_age": 99999}, "versions": []}`, `{"cors": {"allow_origins": ["*"], "allow_headers": ["bad header"]}, "versions": []}`} {
		if code, out := f.putProduct("shop", body); code != 400 {
			t.Errorf("%s: %d %v", body, code, out)
		}
	}
}

// jwtIssuer serves a JWKS with one ES256 key and signs tokens with it.
type jwtIssuer struct {
	srv  *httptest.Server
	sign func(claims map[string]any) string
}

func newJWTIssuer(t testing.TB) *jwtIssuer {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: &priv.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	}))
	t.Cleanup(srv.Close)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: priv}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	return &jwtIssuer{srv: srv, sign: func(claims map[string]any) string {
		tok, err := josejwt.Signed(signer).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}}
}

// A product with auth: jwt admits a bearer token of its configured issuer
// whose azp claim names a subscribed consumer, under the consumer's plan;
// malformed, unsigned, expired, foreign and misaddressed tokens are 401,
// and start no run.
func TestAPIJWT(t *testing.T) {
	iss := newJWTIssuer(t)
	f := newAPIMFixture(t, gateway.Config{JWTIssuers: []apim.JWTIssuer{{Name: "corp", Issuer: "https://idp.example", Audience: "shop-api", JWKSURL: iss.srv.URL, ConsumerClaim: "azp"}}})
	keyedShop(f, `{"rate_per_second": 0.01, "burst": 2}`)
	if code, out := f.putProduct("shop", `{"auth": "jwt", "jwt_issuer": "elsewhere", "versions": []}`); code != 422 {
		t.Fatalf("an unknown issuer: %d %v", code, out)
	}
	if code, out := f.putProduct("shop", `{"auth": "jwt", "versions": []}`); code != 400 {
		t.Fatalf("auth: jwt without an issuer: %d %v", code, out)
	}
	f.mustPut("shop", `{"auth": "jwt", "jwt_issuer": "corp", "versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}, {"flow": "whoami", "version": 1}]}]}`)
	now := time.Now()
	claims := func(mod map[string]any) map[string]any {
		c := map[string]any{"iss": "https://idp.example", "aud": "shop-api", "azp": "acme", "sub": "user-1", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
		for k, v := range mod {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	good := iss.sign(claims(nil))
	before := f.runs()
	unsigned := strings.Join(strings.Split(good, ".")[:2], ".") + "."
	hs := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhenAiOiJhY21lIn0.c2lnbmF0dXJl"
	for name, h := range map[string]map[string]string{
		"none":         nil,
		"garbage":      bearer("abc"),
		"unsigned":     bearer(unsigned),
		"HS256":        bearer(hs),
		"basic":        {"Authorization": "Basic YTpi"},
		"expired":      bearer(iss.sign(claims(map[string]any{"exp": now.Add(-time.Hour).Unix()}))),
		"no expiry":    bearer(iss.sign(claims(map[string]any{"exp": nil}))),
		"other issuer": bearer(iss.sign(claims(map[string]any{"iss": "https://evil.example"}))),
		"other aud":    bearer(iss.sign(claims(map[string]any{"aud": "billing-api"}))),
		"bad consumer": bearer(iss.sign(claims(map[string]any{"azp": "Not A Name"}))),
		"huge":         bearer(strings.Repeat("a", 20000)),
		"tampered":     bearer(good[:len(good)-4] + "AAAA"),
		"an API key":   {"X-API-Key": "wk_0123456789abcdef_" + strings.Repeat("a", 52)},
	} {
		code, out, hdr := call(t, "GET", f.srv.URL+"/apis/shop/v1/orders/1", "", h)
		if code != 401 || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: %d %v", name, code, out)
		}
	}
	if code, out, _ := call(t, "GET", f.srv.URL+"/apis/shop/v1/orders/1", "", bearer(iss.sign(claims(map[string]any{"azp": "nobody"})))); code != 403 {
		t.Errorf("a consumer that does not exist: %d %v", code, out)
	}
	if n := f.runs(); n != before {
		t.Fatalf("refused tokens started %d runs", n-before)
	}
	code, out, h := call(t, "GET", f.srv.URL+"/apis/shop/v1/me", "", bearer(good))
	if code != 200 || out["consumer"] != "acme" || !strings.HasPrefix(h.Get("RateLimit"), `"rate";r=1;`) {
		t.Fatalf("a good token: %d %v %v", code, out, h)
	}
	if code, _, _ := call(t, "GET", f.srv.URL+"/apis/shop/v1/orders/1", "", bearer(good)); code != 200 {
		t.Fatalf("second call: %d", code)
	}
	if code, _, h := call(t, "GET", f.srv.URL+"/apis/shop/v1/orders/1", "", bearer(good)); code != 429 || h.Get("Retry-After") == "" {
		t.Fatalf("past the burst: %d %v", code, h)
	}
}

// The OpenAPI document of a product that needs a key declares the key
// (an apiKey scheme in X-API-Key, required by every operation) and the
// 401, 403 and 429 answers; it still validates.
func TestAPIOpenAPIDeclaresTheKey(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	keyedShop(f, `{}`)
	doc := loadOpenAPI(t, f.srv.URL+"/apis/shop/v1/openapi.json")
	ss := doc.Components.SecuritySchemes["apiKey"]
	if ss == nil || ss.Value.Type != "apiKey" || ss.Value.In != "header" || ss.Value.Name != "X-API-Key" || len(doc.Security) != 1 {
		t.Fatalf("security: %+v %+v", doc.Components.SecuritySchemes, doc.Security)
	}
	get := doc.Paths.Find("/orders/{id}").Get
	for _, st := range []int{401, 403, 429} {
		if get.Responses.Status(st) == nil {
			t.Errorf("no %d response", st)
		}
	}
	// The developer portal stays public too.
	req, _ := http.NewRequest("GET", f.srv.URL+"/apis/shop/v1/docs", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the portal of a keyed product: %d", resp.StatusCode)
	}
}

// Every call of an existing product version is observed with its status,
// route template (never the raw path) and consumer, refusals included;
// calls of unknown products are not (a caller cannot invent labels). A
// call counted under a plan carries what its quota left.
func TestAPICallsObserved(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	var dayLeft []int64
	f := newAPIMFixture(t, gateway.Config{APICalls: func(c apim.CallRecord) {
		mu.Lock()
		defer mu.Unlock()
		seen[c.Product+"|"+c.Version+"|"+c.Route+"|"+c.Consumer+"|"+strconv.Itoa(c.Status)]++
		if c.Admission != nil {
			dayLeft = append(dayLeft, c.Admission.DayRemaining)
		}
	}})
	key := keyedShop(f, `{"rate_per_second": 100, "burst": 10, "quota_day": 3}`)
	f.get("/apis/shop/v1/orders/1", key)
	f.get("/apis/shop/v1/orders/2", key)
	f.get("/apis/shop/v1/nowhere", key)
	f.get("/apis/shop/v1/orders/3", key)
	f.get("/apis/shop/v1/orders/1", "")
	f.get("/apis/nope/v1/orders/1", "")
	f.get("/apis/shop/v9/orders/1", "")
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"shop|v1|GET /orders/{id}|acme|200": 2, "shop|v1||acme|404": 1, "shop|v1||acme|429": 1, "shop|v1|||401": 1}
	if !slices.Equal(dayLeft, []int64{2, 1, 0, 0}) {
		t.Fatalf("quota left per call: %v", dayLeft)
	}
	if len(seen) != len(want) {
		t.Fatalf("observed %v, want %v", seen, want)
	}
	for k, n := range want {
		if seen[k] != n {
			t.Fatalf("observed %v, want %v", seen, want)
		}
	}
}

// TestAPIUsageReport: GET /api/metrics/api sums calls, errors and latency
// per product, version and consumer (and route) over a window; a second
// server on the same store (another process) sees the first one's calls.
func TestAPIUsageReport(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	key := keyedShop(f, `{"rate_per_second": 100, "burst": 100, "quota_day": 5}`)
	for _, p := range []string{"/apis/shop/v1/orders/1", "/apis/shop/v1/orders/2", "/apis/shop/v1/orders/x", "/apis/shop/v1/me", "/apis/shop/v1/orders/3", "/apis/shop/v1/orders/4"} {
		f.get(p, key)
	}
	f.get("/apis/shop/v1/orders/1", "")
	f.get("/apis/shop/v2/orders/1", key) // past the day's quota: 429
	out := f.must("GET", "/api/metrics/api?window=1h", "", 200)
	groups, _ := out["groups"].([]any)
	byConsumer := map[string]map[string]any{}
	for _, g := range groups {
		m := g.(map[string]any)
		byConsumer[m["version"].(string)+"|"+m["consumer"].(string)] = m
	}
	acme, anon, v2 := byConsumer["v1|acme"], byConsumer["v1|"], byConsumer["v2|acme"]
	if len(groups) != 3 || acme == nil || anon == nil || v2 == nil {
		t.Fatalf("groups: %v", groups)
	}
	// acme on v1: 6 calls, a 400 (bad id) and a 429 (the sixth, past 5).
	if acme["calls"] != float64(6) || acme["client_errors"] != float64(2) || acme["rate_limited"] != float64(1) || acme["errors"] != float64(2) {
		t.Fatalf("acme v1: %v", acme)
	}
	lat, _ := acme["latency_ms"].(map[string]any)
	if p50, p99 := lat["p50"].(float64), lat["p99"].(float64); p50 <= 0 || p99 < p50 || lat["mean"].(float64) <= 0 {
		t.Fatalf("latency: %v", lat)
	}
	if anon["calls"] != float64(1) || anon["client_errors"] != float64(1) || v2["rate_limited"] != float64(1) {
		t.Fatalf("anonymous %v, v2 %v", anon, v2)
	}
	// By route: templates, never raw paths.
	out = f.must("GET", "/api/metrics/api?by=route&consumer=acme&version=v1", "", 200)
	routes := map[string]float64{}
	for _, g := range out["groups"].([]any) {
		m := g.(map[string]any)
		r, _ := m["route"].(string) // "": answered before a route matched
		routes[r] = m["calls"].(float64)
	}
	if len(routes) != 3 || routes["GET /orders/{id}"] != 4 || routes["GET /me"] != 1 || routes[""] != 1 {
		t.Fatalf("by route: %v", routes)
	}
	// Another process on the same store sees them.
	e := engine.New(f.st, connectors.NewCatalog(), nil, engine.Config{})
	other := httptest.NewServer(gateway.New(e, nil, gateway.Config{}))
	defer other.Close()
	code, out2, _ := call(t, "GET", other.URL+"/api/metrics/api?product=shop&version=v1&consumer=acme", "", nil)
	if g, _ := out2["groups"].([]any); code != 200 || len(g) != 1 || g[0].(map[string]any)["calls"] != float64(6) {
		t.Fatalf("another process: %d %v", code, out2)
	}
	for _, bad := range []string{"?window=-1h", "?window=forever", "?by=path", "?since=yesterday", "?window=900h"} {
		f.must("GET", "/api/metrics/api"+bad, "", 400)
	}
}
