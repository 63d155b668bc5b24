package e2e

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// apiClient calls published routes with a key from many goroutines.
var apiClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}

func callKey(t *testing.T, url, key string) (int, http.Header) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-API-Key", key)
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func mustCLI(t *testing.T, s *server, args ...string) string {
	t.Helper()
	out, err := s.cli(args...)
	if err != nil {
		t.Fatalf("weft %s: %v %s", strings.Join(args, " "), err, out)
	}
	return out
}

// newConsumerKey creates a consumer subscribed to shop under plan and
// returns its key (the first line the CLI prints).
func newConsumerKey(t *testing.T, s *server, consumer, plan string) string {
	t.Helper()
	mustCLI(t, s, "consumers", "create", consumer)
	mustCLI(t, s, "consumers", "subscribe", consumer, "shop", "--plan", plan)
	key := strings.SplitN(mustCLI(t, s, "consumers", "key", consumer), "\n", 2)[0]
	if !strings.HasPrefix(key, "wk_") {
		t.Fatalf("key: %q", key)
	}
	return key
}

// hammer sends n calls (or calls until stop, n = 0) from 16 clients, each
// call to the next of servers in turn, and counts answers by status.
func hammer(t *testing.T, servers []*server, path, key string, n int64, until time.Time) map[int]int64 {
	var sent atomic.Int64
	var mu sync.Mutex
	counts := map[int]int64{}
	var wg sync.WaitGroup
	for c := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; ; i++ {
				if n > 0 && sent.Add(1) > n || n == 0 && time.Now().After(until) {
					return
				}
				code, h := callKey(t, servers[i%len(servers)].URL+path, key)
				if code == 200 && (h.Get("RateLimit-Policy") == "" || h.Get("RateLimit") == "") {
					t.Errorf("an allowed call without RateLimit headers: %v", h)
				}
				if code == 429 && (h.Get("Retry-After") == "" || h.Get("RateLimit") == "") {
					t.Errorf("a 429 without Retry-After or RateLimit: %v", h)
				}
				mu.Lock()
				counts[code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return counts
}

// Two weft serve processes on one PostgreSQL share every consumer's limits:
// under 16 concurrent clients split between them a plan of N calls per
// window allows N ± 1%, a daily quota exactly; the counts survive a restart
// of both; a key revoked through one process is refused by the other on
// the next call.
func TestAPIConsumerLimitsAcrossProcesses(t *testing.T) {
	p := startAPIMPair(t)
	a, b := p.a, p.b
	if code := a.do("PUT", "/api/products/shop", `{"auth": "api_key", "versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}]}]}`, nil); code != 200 {
		t.Fatalf("product: %d", code)
	}
	const path = "/apis/shop/v1/orders/1"
	for _, s := range []*server{a, b} {
		if code, _ := callKey(t, s.URL+path, ""); code != 401 {
			t.Fatalf("no key: %d", code)
		}
	}

	// A rate: 40 calls a second with a burst of 4, for 5 s of 16 clients
	// on both processes. GCRA allows burst + rate × elapsed (a burst of 1
	// would lose the gaps between an interval's end and the next arrival).
	mustCLI(t, a, "plans", "set", "fast", "--rate", "40", "--burst", "4")
	fast := newConsumerKey(t, a, "fast-app", "fast")
	start := time.Now()
	counts := hammer(t, []*server{a, b}, path, fast, 0, start.Add(5*time.Second))
	elapsed := time.Since(start)
	want := 4 + 40*elapsed.Seconds()
	got := float64(counts[200])
	t.Logf("rate 40/s over %.2fs: %v allowed of %d calls (want %.1f)", elapsed.Seconds(), got, counts[200]+counts[429], want)
	if got < want*0.99-1 || got > want*1.01+1 || counts[429] < 100 || len(counts) != 2 {
		t.Fatalf("rate 40/s for %.2fs: %v, want %.0f ± 1%% allowed and the rest 429", elapsed.Seconds(), counts, want)
	}

	// A daily quota of 150, spent by 400 calls from 16 clients on both
	// processes: exactly 150 pass.
	mustCLI(t, a, "plans", "set", "daily", "--quota-day", "150")
	daily := newConsumerKey(t, b, "daily-app", "daily")
	counts = hammer(t, []*server{a, b}, path, daily, 400, time.Time{})
	if counts[200] != 150 || counts[429] != 250 {
		t.Fatalf("quota 150: %v", counts)
	}

	// A burst of 5 (one call more every ~1000 s), 3 spent before a restart.
	mustCLI(t, a, "plans", "set", "slow", "--rate", "0.001", "--burst", "5")
	slow := newConsumerKey(t, a, "slow-app", "slow")
	for i := range 3 {
		if code, _ := callKey(t, b.URL+path, slow); code != 200 {
			t.Fatalf("slow call %d: %d", i, code)
		}
	}

	// Both processes stop; a new one on the same database knows the counts.
	a.stop(syscall.SIGTERM)
	b.stop(syscall.SIGTERM)
	c := p.start()
	if code, h := callKey(t, c.URL+path, daily); code != 429 || !strings.Contains(h.Get("RateLimit"), `"day";r=0`) {
		t.Fatalf("the spent quota after a restart: %d %v", code, h)
	}
	n200 := 0
	for range 4 {
		if code, _ := callKey(t, c.URL+path, slow); code == 200 {
			n200++
		}
	}
	if n200 != 2 {
		t.Fatalf("after a restart, the burst of 5 with 3 spent allowed %d more, want 2", n200)
	}

	// Revocation: a key that works on d is refused by d on the very next
	// call after c revokes it.
	d := p.start()
	mustCLI(t, c, "plans", "set", "open", "--quota-month", "1000000")
	k := newConsumerKey(t, c, "rev-app", "open")
	if code, _ := callKey(t, d.URL+path, k); code != 200 {
		t.Fatalf("before revocation: %d", code)
	}
	mustCLI(t, c, "consumers", "revoke", "rev-app", k[3:19])
	if code, _ := callKey(t, d.URL+path, k); code != 401 {
		t.Fatalf("the next call after revocation in another process: %d", code)
	}
}
