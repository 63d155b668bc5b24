package apim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

func TestNewKeyParsesAndHashes(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		key, id, hash, err := NewKey()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseKey(key)
		if err != nil || got != id || HashKey(key) != hash || len(hash) != 64 || strings.Contains(hash, key) {
			t.Fatalf("%s: id %q %v", key, got, err)
		}
		if seen[id] || seen[key] {
			t.Fatalf("repeated %s", key)
		}
		seen[id], seen[key] = true, true
	}
}

func TestParseKeyRefusesMalformed(t *testing.T) {
	key, _, _, _ := NewKey()
	for _, bad := range []string{"", "wk_", key + "a", key[:len(key)-1], "xx" + key[2:], "wk_0123456789ABCDEF" + key[19:],
		key[:19] + "-" + key[20:], key[:20] + strings.ToUpper(key[20:]), key[:30] + "\xff" + key[31:], strings.Repeat("\x00", len(key))} {
		if _, err := ParseKey(bad); weft.Code(err) != weft.EUnauthorized || strings.Contains(weft.Message(err), bad[min(20, len(bad)):]) && len(bad) > 20 {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestKeyFrom(t *testing.T) {
	h := http.Header{}
	if _, ok, err := KeyFrom(h); ok || err != nil {
		t.Fatal("no key")
	}
	h.Set("Authorization", "Bearer abc")
	if k, ok, err := KeyFrom(h); !ok || err != nil || k != "abc" {
		t.Fatal(k, ok, err)
	}
	h.Set("X-API-Key", "abc")
	if _, _, err := KeyFrom(h); weft.Code(err) != weft.EUnauthorized {
		t.Fatal("two keys", err)
	}
	h = http.Header{"Authorization": {"Basic abc"}}
	if _, _, err := KeyFrom(h); weft.Code(err) != weft.EUnauthorized {
		t.Fatal("basic", err)
	}
	h = http.Header{"X-Api-Key": {strings.Repeat("k", MaxKeyHeader+1)}}
	if _, _, err := KeyFrom(h); weft.Code(err) != weft.EUnauthorized {
		t.Fatal("long", err)
	}
}

func TestCheckPlan(t *testing.T) {
	p := store.Plan{Name: "gold", Limits: store.Limits{RatePerSecond: 10}}
	if err := CheckPlan(&p); err != nil || p.Limits.Burst != 1 {
		t.Fatal(err, p)
	}
	for _, l := range []store.Limits{{RatePerSecond: -1}, {Burst: 3}, {RatePerSecond: 2e6}, {QuotaDay: -1}, {QuotaMonth: 1 << 50}, {RatePerSecond: 1e-9}} {
		p := store.Plan{Name: "x", Limits: l}
		if err := CheckPlan(&p); weft.Code(err) != weft.EInvalid {
			t.Errorf("%+v: %v", l, err)
		}
	}
}

func TestRateLimitHeaders(t *testing.T) {
	h := http.Header{}
	RateLimitHeaders(h, store.Limits{RatePerSecond: 2, Burst: 10, QuotaDay: 1000, QuotaMonth: 5000},
		store.Admission{Allowed: true, RateRemaining: 9, RateReset: 500 * time.Millisecond, DayRemaining: 999, DayReset: 3 * time.Hour, MonthRemaining: 4999, MonthReset: 10 * 24 * time.Hour})
	if got := h.Get("RateLimit-Policy"); got != `"rate";q=10;w=5, "day";q=1000;w=86400, "month";q=5000;w=2592000` {
		t.Fatal(got)
	}
	if got := h.Get("RateLimit"); got != `"rate";r=9;t=1, "day";r=999;t=10800, "month";r=4999;t=864000` {
		t.Fatal(got)
	}
	if h.Get("Retry-After") != "" {
		t.Fatal("Retry-After on an allowed call")
	}
	h = http.Header{}
	RateLimitHeaders(h, store.Limits{QuotaDay: 5}, store.Admission{Limit: "day", RetryAfter: 90 * time.Minute, DayReset: 90 * time.Minute})
	if h.Get("Retry-After") != "5400" || h.Get("RateLimit") != `"day";r=0;t=5400` {
		t.Fatal(h)
	}
	h = http.Header{}
	RateLimitHeaders(h, store.Limits{}, store.Admission{Allowed: true})
	if len(h) != 0 {
		t.Fatal("no limits, no headers", h)
	}
}
