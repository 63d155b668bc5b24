package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/apim"
	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/internal/seal"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// hmacFixture is an API fixture whose store seals (as weft serve's does,
// with a master key): HMAC secrets are refused by a store that cannot.
type hmacFixture struct {
	*apimFixture
	dir  string
	env  *seal.Envelope
	seq  atomic.Int64
	cred string
	sec  string
}

func newHMACFixture(t *testing.T) *hmacFixture {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := seal.New(seal.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	env := seal.NewEnvelope(keys, st)
	st.SetPayloadSealer(env)
	e := engine.New(st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), nil, engine.Config{Payloads: env})
	srv := httptest.NewServer(gateway.New(e, nil, gateway.Config{}))
	t.Cleanup(func() {
		srv.Close()
		_ = st.Close()
	})
	f := &hmacFixture{apimFixture: &apimFixture{t: t, srv: srv, st: st}, dir: dir, env: env}
	f.deploy(getOrderV1)
	f.deploy(createOrder)
	f.deploy(whoami)
	f.mustPut("shop", `{"auth": "hmac", "versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}, {"flow": "create-order", "version": 1}, {"flow": "whoami", "version": 1}]}]}`)
	f.must("PUT", "/api/plans/gold", `{"limits": {"rate_per_second": 100, "burst": 100, "quota_day": 1000}}`, 200)
	f.must("PUT", "/api/consumers/acme", `{}`, 200)
	f.must("PUT", "/api/consumers/acme/subscriptions/shop", `{"plan": "gold"}`, 200)
	f.cred, f.sec = f.newHMAC("acme")
	return f
}

// newHMAC makes an HMAC credential: its id and its secret (shown once).
func (f *hmacFixture) newHMAC(consumer string) (string, string) {
	f.t.Helper()
	out := f.must("POST", "/api/consumers/"+consumer+"/keys", `{"kind": "hmac"}`, 201)
	info, _ := out["info"].(map[string]any)
	id, _ := info["id"].(string)
	secret, _ := out["secret"].(string)
	if !strings.HasPrefix(secret, "whs_") || len(id) != 16 || out["key"] != nil || info["kind"] != "hmac" {
		f.t.Fatalf("new HMAC credential: %v", out)
	}
	return id, secret
}

func (f *hmacFixture) nonce() string {
	return "nonce-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatInt(f.seq.Add(1), 10)
}

// signedReq builds a call signed over (method, target, ts, nonce, signBody)
// that sends sendBody.
func (f *hmacFixture) signedReq(method, target, cred, secret string, ts time.Time, nonce, signBody, sendBody string) *http.Request {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+target, strings.NewReader(sendBody))
	if err != nil {
		f.t.Fatal(err)
	}
	if sendBody != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Tenant", "acme")
	req.Header.Set("Authorization", apim.HMACAuthorization(cred, secret, method, target, ts, nonce, []byte(signBody)))
	return req
}

func do(t *testing.T, req *http.Request) (int, string, http.Header) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (f *hmacFixture) runs() int {
	f.t.Helper()
	rs, err := f.st.ListRuns(context.Background(), store.RunFilter{Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	return len(rs)
}

// TestAPIHMACSignedCalls: a product with auth: hmac takes calls signed with
// a consumer's secret over the method, the target, the timestamp, the
// nonce and the body's digest, counted under its plan.
func TestAPIHMACSignedCalls(t *testing.T) {
	f := newHMACFixture(t)
	now := time.Now()
	code, body, h := do(t, f.signedReq("GET", "/apis/shop/v1/me", f.cred, f.sec, now, f.nonce(), "", ""))
	if code != 200 || !strings.Contains(body, `"consumer":"acme"`) || !strings.Contains(h.Get("RateLimit"), `"rate";r=99`) {
		t.Fatalf("a signed GET: %d %s %v", code, body, h)
	}
	target := "/apis/shop/v1/orders/42?expand=true&limit=3"
	if code, body, _ := do(t, f.signedReq("GET", target, f.cred, f.sec, now, f.nonce(), "", "")); code != 200 || !strings.Contains(body, `"42"`) {
		t.Fatalf("a signed GET with a query: %d %s", code, body)
	}
	// The target is signed as sent, percent-encoding included.
	if code, body, _ := do(t, f.signedReq("GET", "/apis/shop/v1/orders/%34%32", f.cred, f.sec, now, f.nonce(), "", "")); code != 200 || !strings.Contains(body, `"42"`) {
		t.Fatalf("a signed GET with an encoded path: %d %s", code, body)
	}
	post := `{"sku": "a-1", "qty": 2}`
	if code, body, _ := do(t, f.signedReq("POST", "/apis/shop/v1/orders", f.cred, f.sec, now, f.nonce(), post, post)); code != 201 {
		t.Fatalf("a signed POST: %d %s", code, body)
	}
	// Validation still runs after authentication.
	if code, body, _ := do(t, f.signedReq("POST", "/apis/shop/v1/orders", f.cred, f.sec, now, f.nonce(), `{"sku": 1}`, `{"sku": 1}`)); code != 400 || !strings.Contains(body, "/body/qty") {
		t.Fatalf("a signed invalid POST: %d %s", code, body)
	}
	// The contract says how to sign.
	code, body, _ = do(t, mustReq(t, "GET", f.srv.URL+"/apis/shop/v1/openapi.json"))
	if code != 200 || !strings.Contains(body, `"hmac"`) || !strings.Contains(body, apim.HMACScheme+" Credential=") {
		t.Fatalf("openapi.json: %d %.400s", code, body)
	}
}

func mustReq(t *testing.T, method, url string) *http.Request {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestAPIHMACRefusals is the security-fix regression suite: each way a
// signed call can be wrong is refused with 401 before a run starts and
// before it is counted, and a replay is refused by another server on the
// same store too.
func TestAPIHMACRefusals(t *testing.T) {
	f := newHMACFixture(t)
	now := time.Now()
	post := `{"sku": "a-1", "qty": 2}`
	good := f.signedReq("POST", "/apis/shop/v1/orders", f.cred, f.sec, now, "replay-me-0123456789", post, post)
	replay := good.Clone(context.Background())
	replay.Body = io.NopCloser(strings.NewReader(post))
	if code, body, _ := do(t, good); code != 201 {
		t.Fatalf("the original call: %d %s", code, body)
	}
	before := f.runs()

	// A second server (another process's state: its own caches) on the
	// same store.
	other := httptest.NewServer(gateway.New(engine.New(f.st, connectors.NewCatalog(), nil, engine.Config{Payloads: f.env}), nil, gateway.Config{}))
	defer other.Close()
	replayOther := replay.Clone(context.Background())
	replayOther.Body = io.NopCloser(strings.NewReader(post))
	replayOther.URL.Host = strings.TrimPrefix(other.URL, "http://")
	replayOther.Host = replayOther.URL.Host

	cases := []struct {
		name string
		req  *http.Request
		want string
	}{
		{"replayed", replay, "replayed call"},
		{"replayed through another server", replayOther, "replayed call"},
		{"timestamp 6 minutes old", f.signedReq("POST", "/apis/shop/v1/orders", f.cred, f.sec, now.Add(-6*time.Minute), f.nonce(), post, post), "outside the 5m0s window"},
		{"timestamp 6 minutes ahead", f.signedReq("POST", "/apis/shop/v1/orders", f.cred, f.sec, now.Add(6*time.Minute), f.nonce(), post, post), "outside the 5m0s window"},
		{"another body than signed", f.signedReq("POST", "/apis/shop/v1/orders", f.cred, f.sec, now, f.nonce(), post, `{"sku": "a-1", "qty": 200}`), "bad signature"},
		{"another path than signed", func() *http.Request {
			r := f.signedReq("GET", "/apis/shop/v1/orders/1", f.cred, f.sec, now, f.nonce(), "", "")
			r.URL.Path = "/apis/shop/v1/orders/2"
			return r
		}(), "bad signature"},
		{"another query than signed", func() *http.Request {
			r := f.signedReq("GET", "/apis/shop/v1/orders/1?limit=1", f.cred, f.sec, now, f.nonce(), "", "")
			r.URL.RawQuery = "limit=100"
			return r
		}(), "bad signature"},
		{"another method than signed", func() *http.Request {
			r := f.signedReq("GET", "/apis/shop/v1/orders", f.cred, f.sec, now, f.nonce(), post, post)
			r.Method = "POST"
			return r
		}(), "bad signature"},
		{"a wrong secret", f.signedReq("GET", "/apis/shop/v1/me", f.cred, "whs_not-the-secret", now, f.nonce(), "", ""), "bad signature"},
		{"an unknown credential", f.signedReq("GET", "/apis/shop/v1/me", "00000000000000ff", f.sec, now, f.nonce(), "", ""), "unknown HMAC credential"},
		{"no signature", mustReq(t, "GET", f.srv.URL+"/apis/shop/v1/me"), "needs signed calls"},
		{"an API key instead", withHeader(mustReq(t, "GET", f.srv.URL+"/apis/shop/v1/me"), "Authorization", "Bearer wk_0123456789abcdef_aaaa"), "malformed signature"},
		{"a short nonce", withHeader(mustReq(t, "GET", f.srv.URL+"/apis/shop/v1/me"), "Authorization", apim.HMACAuthorization(f.cred, f.sec, "GET", "/apis/shop/v1/me", now, "short", nil)), "Nonce is 16 to 64"},
		{"a field twice", withHeader(mustReq(t, "GET", f.srv.URL+"/apis/shop/v1/me"), "Authorization", apim.HMACAuthorization(f.cred, f.sec, "GET", "/apis/shop/v1/me", now, f.nonce(), nil)+", Nonce=xxxxxxxxxxxxxxxxxxxx"), "given twice"},
		{"a missing field", withHeader(mustReq(t, "GET", f.srv.URL+"/apis/shop/v1/me"), "Authorization", apim.HMACScheme+" Credential="+f.cred+", Timestamp=1, Nonce=abcdefabcdefabcdef"), "Signature is missing"},
		{"a signed timestamp not in seconds", withHeader(mustReq(t, "GET", f.srv.URL+"/apis/shop/v1/me"), "Authorization", strings.Replace(apim.HMACAuthorization(f.cred, f.sec, "GET", "/apis/shop/v1/me", now, f.nonce(), nil), "Timestamp=", "Timestamp=-", 1)), "Unix seconds"},
		{"an overlong header", withHeader(mustReq(t, "GET", f.srv.URL+"/apis/shop/v1/me"), "Authorization", apim.HMACScheme+" "+strings.Repeat("a", 600)), "longer than"},
	}
	for _, c := range cases {
		code, body, h := do(t, c.req)
		if code != 401 || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s (want 401 %q)", c.name, code, body, c.want)
		}
		if !strings.HasPrefix(h.Get("WWW-Authenticate"), apim.HMACScheme+" realm=") {
			t.Errorf("%s: WWW-Authenticate %q", c.name, h.Get("WWW-Authenticate"))
		}
		if strings.Contains(body, f.sec) {
			t.Fatalf("%s: the answer holds the secret", c.name)
		}
	}
	// Two Authorization headers.
	two := f.signedReq("GET", "/apis/shop/v1/me", f.cred, f.sec, now, f.nonce(), "", "")
	two.Header.Add("Authorization", two.Header.Get("Authorization"))
	if code, body, _ := do(t, two); code != 401 || !strings.Contains(body, "exactly one Authorization") {
		t.Errorf("two Authorization headers: %d %s", code, body)
	}
	if n := f.runs(); n != before {
		t.Fatalf("refused calls started %d run(s)", n-before)
	}
	// Nothing refused was counted: the day's quota has the four good calls
	// of the fixture only.
	out := f.must("GET", "/api/consumers/acme", "", 200)
	subs, _ := out["subscriptions"].([]any)
	usage, _ := subs[0].(map[string]any)["usage"].(map[string]any)
	if usage["day_used"] != float64(1) {
		t.Fatalf("refused calls were counted: %v", usage)
	}
}

func withHeader(r *http.Request, k, v string) *http.Request {
	r.Header.Set(k, v)
	return r
}

// TestAPIHMACSecretLifecycle: the secret is shown once, sealed at rest
// (not in the database files, the listings or the audit log), rotated
// with an overlap, and a revoked credential is refused on the next call;
// a consumer subscribed to another version, or disabled, is 403.
func TestAPIHMACSecretLifecycle(t *testing.T) {
	f := newHMACFixture(t)
	now := time.Now()
	for _, path := range []string{"/api/consumers/acme", "/api/consumers/acme/keys", "/api/audit?limit=100"} {
		code, body, _ := do(t, mustReq(t, "GET", f.srv.URL+path))
		if code != 200 || strings.Contains(body, f.sec) || strings.Contains(body, f.sec[4:]) {
			t.Fatalf("%s: %d, holds the secret? %s", path, code, body)
		}
		if path == "/api/consumers/acme/keys" && !strings.Contains(body, `"kind":"hmac"`) {
			t.Fatalf("keys: %s", body)
		}
	}
	// At rest: in no file of the data directory (the database, its WAL).
	_ = filepath.Walk(f.dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), f.sec[4:]) {
			t.Fatalf("the secret is in the clear in %s", p)
		}
		return nil
	})
	// Rotation: a new secret; the old one keeps working for the overlap.
	out := f.must("POST", "/api/consumers/acme/keys/"+f.cred+"/rotate", `{"overlap": "1h"}`, 201)
	newSec, _ := out["secret"].(string)
	info, _ := out["info"].(map[string]any)
	newID, _ := info["id"].(string)
	if !strings.HasPrefix(newSec, "whs_") || newSec == f.sec || out["key"] != nil {
		t.Fatalf("rotate: %v", out)
	}
	for _, c := range [][2]string{{f.cred, f.sec}, {newID, newSec}} {
		if code, body, _ := do(t, f.signedReq("GET", "/apis/shop/v1/me", c[0], c[1], now, f.nonce(), "", "")); code != 200 {
			t.Fatalf("credential %s after rotation: %d %s", c[0], code, body)
		}
	}
	// Revoked: refused from the next call on.
	f.must("DELETE", "/api/consumers/acme/keys/"+f.cred, "", 200)
	if code, body, _ := do(t, f.signedReq("GET", "/apis/shop/v1/me", f.cred, f.sec, now, f.nonce(), "", "")); code != 401 || !strings.Contains(body, "was revoked") {
		t.Fatalf("revoked: %d %s", code, body)
	}
	// Not subscribed to this version: 403.
	f.must("PUT", "/api/consumers/acme/subscriptions/shop", `{"plan": "gold", "version": "v9"}`, 404)
	f.must("PUT", "/api/consumers/acme", `{"disabled": true}`, 200)
	if code, body, _ := do(t, f.signedReq("GET", "/apis/shop/v1/me", newID, newSec, now, f.nonce(), "", "")); code != 403 {
		t.Fatalf("disabled consumer: %d %s", code, body)
	}
}

// TestAPIHMACNeedsAMasterKey: a server whose store cannot seal refuses to
// make an HMAC credential (it never keeps the secret in the clear).
func TestAPIHMACNeedsAMasterKey(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	f.must("PUT", "/api/consumers/acme", `{}`, 200)
	out := f.must("POST", "/api/consumers/acme/keys", `{"kind": "hmac"}`, 503)
	if !strings.Contains(msgOf(out), "no master key") {
		t.Fatalf("%v", out)
	}
	f.must("POST", "/api/consumers/acme/keys", `{"kind": "rsa"}`, 400)
}
