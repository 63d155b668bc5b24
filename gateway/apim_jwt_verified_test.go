package gateway_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/weftio/weft/apim"
	"github.com/weftio/weft/gateway"
)

// A JWT's consumer, once its grant is read, is counted in one statement
// that re-checks the grants' epoch: a changed plan, a disabled consumer
// and a removed subscription hold from the next call, as for keys.
func TestAPIJWTGrantChangesHoldOnTheNextCall(t *testing.T) {
	iss := newJWTIssuer(t)
	f := newAPIMFixture(t, gateway.Config{JWTIssuers: []apim.JWTIssuer{{Name: "corp", Issuer: "https://idp.example", Audience: "shop-api", JWKSURL: iss.srv.URL, ConsumerClaim: "azp"}}})
	keyedShop(f, `{"quota_day": 100}`)
	f.mustPut("shop", `{"auth": "jwt", "jwt_issuer": "corp", "versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}]}]}`)
	now := time.Now()
	tok := iss.sign(map[string]any{"iss": "https://idp.example", "aud": "shop-api", "azp": "acme", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()})
	get := func() (int, http.Header) {
		t.Helper()
		code, _, h := call(t, "GET", f.srv.URL+"/apis/shop/v1/orders/1", "", map[string]string{"Authorization": "Bearer " + tok})
		return code, h
	}
	for i := range 3 {
		if code, h := get(); code != 200 || h.Get("RateLimit") == "" {
			t.Fatalf("call %d: %d %v", i, code, h)
		}
	}
	// A new plan: its quota from the next call (3 used of 4).
	f.must("PUT", "/api/plans/gold", `{"limits": {"quota_day": 4}}`, 200)
	if code, _ := get(); code != 200 {
		t.Fatalf("the fourth call under a quota of 4: %d", code)
	}
	if code, h := get(); code != 429 || h.Get("Retry-After") == "" {
		t.Fatalf("past the new quota: %d %v", code, h)
	}
	f.must("PUT", "/api/plans/gold", `{"limits": {"quota_day": 100}}`, 200)
	if code, _ := get(); code != 200 {
		t.Fatalf("under the raised quota: %d", code)
	}
	f.must("PUT", "/api/consumers/acme", `{"disabled": true}`, 200)
	if code, _ := get(); code != 403 {
		t.Fatalf("a disabled consumer: %d", code)
	}
	f.must("PUT", "/api/consumers/acme", `{}`, 200)
	if code, _ := get(); code != 200 {
		t.Fatalf("enabled again: %d", code)
	}
	f.must("DELETE", "/api/consumers/acme/subscriptions/shop", "", 200)
	if code, _ := get(); code != 403 {
		t.Fatalf("unsubscribed: %d", code)
	}
}
