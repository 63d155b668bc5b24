package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/internal/pgtest"
)

// Two weft serve processes on one PostgreSQL: an upstream's rate limit is
// spent through process a only, and process b forecasts its exhaustion
// too (the headroom headers a saw reach b through the store), so both
// list the same prediction.
func TestPredictionSharedAcrossProcesses(t *testing.T) {
	pg := pgtest.Shared(t)
	var left atomic.Int64
	left.Store(10000)
	resetAt := time.Now().Add(time.Hour).Unix() // a fixed window: the reset as a Unix time
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := left.Add(-10)
		w.Header().Set("X-RateLimit-Limit", "10000")
		w.Header().Set("X-RateLimit-Remaining", strconv.FormatInt(max(n, 0), 10))
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(resetAt, 10))
		w.Write([]byte(`{"ok":true}`))
	}))
	defer upstream.Close()
	dir := t.TempDir()
	params := filepath.Join(dir, "predict.json")
	// Announce at once (the default waits for the forecast to hold).
	os.WriteFile(params, []byte(`{"kinds": {"rate_limit": {"confidence": 2, "persist": "0s"}}}`), 0o600)
	cfg := filepath.Join(dir, "weft.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`connections:
  upstream: {connector: http, base_url: %s, allow_private: true}
alerts:
  predict: {params: %s}
`, upstream.URL, params)), 0o600)
	flow := filepath.Join(dir, "orders.yaml")
	os.WriteFile(flow, []byte("name: orders\ntrigger: {webhook: {}}\nsteps:\n  - call: http.request\n    connection: upstream\n    with: {url: /x}\n  - respond: {body: {ok: true}}\n"), 0o600)
	env := []string{"WEFT_DATABASE_URL=" + pg.NewDatabase(t), "WEFT_LOG_LEVEL=warn", "WEFT_DATA_DIR=" + filepath.Join(dir, "data"),
		"WEFT_MASTER_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	a := startServer(t, "", env, "--config", cfg)
	b := startServer(t, "", env, "--config", cfg)
	if out, err := a.cli("flow", "deploy", flow); err != nil {
		t.Fatalf("deploy: %v %s", err, out)
	}
	predicted := func(s *server) bool {
		var out struct {
			Predictions []struct{ Kind, Subject string } `json:"predictions"`
		}
		s.do("GET", "/api/predictions", nil, &out)
		for _, p := range out.Predictions {
			if p.Kind == "rate_limit" && p.Subject == "connection:upstream" {
				return true
			}
		}
		return false
	}
	// 4 calls a second through a only, for up to 30 s.
	deadline := time.Now().Add(30 * time.Second)
	for !(predicted(a) && predicted(b)) {
		if time.Now().After(deadline) {
			var pa, runs any
			a.do("GET", "/api/predictions", nil, &pa)
			a.do("GET", "/api/runs?limit=2", nil, &runs)
			t.Fatalf("after 30 s: a predicts %v, b %v (calls left %d)\na: %s\n%s\n%s", predicted(a), predicted(b), left.Load(), toJSON(pa), toJSON(runs), a.logs())
		}
		for i := 0; i < 2; i++ {
			a.do("POST", "/hooks/orders", `{}`, nil)
			time.Sleep(250 * time.Millisecond)
		}
	}
}
