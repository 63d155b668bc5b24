package http

import (
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/time/rate"

	"github.com/weftio/weft/connectors"
)

func TestParseRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		h    map[string]string
		ok   bool
		want RateLimit
	}{
		{"x-ratelimit delta", map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4990", "X-RateLimit-Reset": "60"}, true,
			RateLimit{Limit: 5000, Remaining: 4990, Reset: now.Add(time.Minute)}},
		{"x-ratelimit unix", map[string]string{"X-RateLimit-Remaining": "12", "X-RateLimit-Reset": "1767607200"}, true,
			RateLimit{Remaining: 12, Reset: time.Unix(1767607200, 0).UTC()}},
		{"ietf fields", map[string]string{"RateLimit-Limit": "100", "RateLimit-Remaining": "50", "RateLimit-Reset": "30"}, true,
			RateLimit{Limit: 100, Remaining: 50, Reset: now.Add(30 * time.Second)}},
		{"ietf structured", map[string]string{"RateLimit": `"default";r=50;t=30`, "RateLimit-Policy": `"default";q=100;w=60`}, true,
			RateLimit{Policy: "default", Limit: 100, Remaining: 50, Reset: now.Add(30 * time.Second), Window: time.Minute}},
		{"ietf structured, window out of range", map[string]string{"RateLimit": `"default";r=50;t=30`, "RateLimit-Policy": `"default";q=100;w=99999999999`}, true,
			RateLimit{Policy: "default", Limit: 100, Remaining: 50, Reset: now.Add(30 * time.Second)}},
		{"ietf older draft", map[string]string{"RateLimit": "limit=100, remaining=7, reset=5"}, true,
			RateLimit{Limit: 100, Remaining: 7, Reset: now.Add(5 * time.Second)}},
		{"none", map[string]string{"Content-Type": "application/json"}, false, RateLimit{}},
		{"garbage", map[string]string{"X-RateLimit-Remaining": "lots", "RateLimit": "r=-3"}, false, RateLimit{}},
		{"too long", map[string]string{"X-RateLimit-Remaining": strings.Repeat("9", 2000)}, false, RateLimit{}},
	}
	for _, c := range cases {
		h := http.Header{}
		for k, v := range c.h {
			h.Set(k, v)
		}
		got, ok := ParseRateLimit(h, now)
		if ok != c.ok || got != c.want {
			t.Errorf("%s: got %+v %v, want %+v %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// The connector tells its observer an upstream's headroom and its TLS
// certificate's validity, with the connection's name.
func TestObserverHearsHeadroomAndCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "100")
		w.Header().Set("X-RateLimit-Remaining", "42")
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	var rls []RateLimit
	var certs []time.Time
	obs := &Observer{
		RateLimit: func(conn string, _ time.Time, rl RateLimit) {
			if conn == "crm" {
				rls = append(rls, rl)
			}
		},
		Expiry: func(conn, what string, _, _, notAfter time.Time) {
			if conn == "crm" && strings.HasPrefix(what, "tls certificate") {
				certs = append(certs, notAfter)
			}
		},
	}
	h := &client{opts: Options{MaxResponseBytes: 1 << 20, UserAgent: "weft/1", Observe: obs}, public: newClient(false, nil), private: newClient(true, nil),
		tokens: map[*connectors.Connection]oauth2.TokenSource{}, limiters: map[*connectors.Connection]*rate.Limiter{}}
	// The test server's certificate is self-signed: trust it here.
	h.private.Transport.(*http.Transport).TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
	conn := &connectors.Connection{Name: "crm", AllowPrivate: true}
	if _, err := h.invoke(t.Context(), connectors.Call{Connection: conn, Input: map[string]any{"url": srv.URL}}); err != nil {
		t.Fatal(err)
	}
	if len(rls) != 1 || rls[0].Remaining != 42 || rls[0].Limit != 100 {
		t.Fatalf("%+v", rls)
	}
	if len(certs) != 1 || certs[0].IsZero() {
		t.Fatalf("%+v", certs)
	}
}

func TestRateLimitHeaderNamesAreCanonical(t *testing.T) {
	for _, p := range append(rateLimitHeaders[:], struct{ remaining, reset, limit string }{"Ratelimit", "Ratelimit-Policy", "Ratelimit"}) {
		for _, k := range []string{p.remaining, p.reset, p.limit} {
			if c := textproto.CanonicalMIMEHeaderKey(k); c != k {
				t.Errorf("%q is read as %q: a header sent as %s would be missed", k, c, k)
			}
		}
	}
}
