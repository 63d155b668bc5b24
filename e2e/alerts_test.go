package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A flow whose upstream starts failing raises an alert delivered to a
// webhook through a connection, within a bounded time; when the upstream
// recovers the alert resolves, and the resolution is delivered too.
func TestFailingUpstreamRaisesAndResolvesAlert(t *testing.T) {
	var failing atomic.Bool
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(500)
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer upstream.Close()
	var mu sync.Mutex
	var got []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var a map[string]any
		json.Unmarshal(b, &a)
		mu.Lock()
		got = append(got, a)
		mu.Unlock()
	}))
	defer hook.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "weft.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`connections:
  upstream: {connector: http, base_url: %s, allow_private: true}
  ops: {connector: http, base_url: %s, allow_private: true}
alerts:
  every: 200ms
  rules:
    - {name: failure-spike, flow: "orders", error_rate: 0.5, min_runs: 4, window: 3s, severity: critical}
  notify:
    connection: ops
    input: {url: /alerts, headers: {X-Alert: "{{status}}"}}
`, upstream.URL, hook.URL)), 0o600)
	flow := filepath.Join(dir, "orders.yaml")
	os.WriteFile(flow, []byte("name: orders\ntrigger: {webhook: {}}\nsteps:\n  - call: http.request\n    connection: upstream\n    with: {url: /x}\n    retry: {max_attempts: 1}\n  - respond: {body: {ok: true}}\n"), 0o600)
	srv := startServer(t, "", []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data")}, "--config", cfg)
	if out, err := srv.cli("flow", "deploy", flow); err != nil {
		t.Fatalf("deploy: %v %s", err, out)
	}
	fire := func(n int) {
		for i := 0; i < n; i++ {
			srv.do("POST", "/hooks/orders", `{}`, nil)
		}
	}
	fire(5) // healthy traffic: no alert
	failing.Store(true)
	start := time.Now()
	fire(8)
	waitStatus := func(status string) map[string]any {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			for _, a := range got {
				if a["status"] == status {
					mu.Unlock()
					return a
				}
			}
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("no %s alert delivered; got %v\n%s", status, got, srv.logs())
		return nil
	}
	a := waitStatus("firing")
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("alert took %v", took)
	}
	if a["flow"] != "orders" || a["severity"] != "critical" || !strings.Contains(fmt.Sprint(a["message"]), "failing") || len(a["run_ids"].([]any)) == 0 {
		t.Fatalf("alert %v", a)
	}
	out, err := srv.cli("alerts", "list")
	if err != nil || !strings.Contains(out, "firing") {
		t.Fatalf("alerts list: %v %s", err, out)
	}
	// More failures do not repeat the alert (one open alert per rule and flow).
	fire(4)
	time.Sleep(600 * time.Millisecond)
	mu.Lock()
	n := len(got)
	mu.Unlock()
	if n != 1 {
		t.Fatalf("%d deliveries while still failing", n)
	}
	// Recovery: successes dilute the window, the alert resolves.
	failing.Store(false)
	for i := 0; i < 4; i++ {
		fire(10)
		time.Sleep(500 * time.Millisecond)
	}
	r := waitStatus("resolved")
	if r["id"] != a["id"] {
		t.Fatalf("resolved a different alert: %v vs %v", r["id"], a["id"])
	}
	if out, err := srv.cli("alerts", "ack", fmt.Sprint(a["id"]), "--by", "oncall"); err != nil {
		t.Fatalf("ack: %v %s", err, out)
	}
	// The metrics saw it all.
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `weft_runs_finished_total{flow="orders",status="dead"}`) {
		t.Fatalf("metrics:\n%s", b)
	}
}
