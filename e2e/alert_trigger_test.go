package e2e

import (
	"encoding/json"
	"fmt"
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

// Issue 24, alerts as triggers, through weft serve: a failure burst fires
// the failure-spike alert, the alert's flow opens an issue in a tracker;
// the recovery resolves the alert and the flow closes the issue. One issue,
// closed once.
func TestAlertTriggeredFlowOpensAndClosesIssue(t *testing.T) {
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
	opened := map[string]string{} // alert id -> title
	closed := map[string]int{}
	tracker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.URL.Path == "/issues":
			opened[fmt.Sprint(in["alert"])] = fmt.Sprint(in["title"])
			w.WriteHeader(201)
			fmt.Fprint(w, `{"number": 1}`)
		case strings.HasSuffix(r.URL.Path, "/close"):
			closed[strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/issues/"), "/close")]++
			fmt.Fprint(w, `{}`)
		default:
			w.WriteHeader(404)
		}
	}))
	defer tracker.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "weft.yaml")
	orders := filepath.Join(dir, "orders.yaml")
	incident := filepath.Join(dir, "incident.yaml")
	os.WriteFile(orders, []byte("name: orders\ntrigger: {webhook: {}}\nsteps:\n  - call: http.request\n    connection: upstream\n    with: {url: /x}\n    retry: {max_attempts: 1}\n  - respond: {body: {ok: true}}\n"), 0o600)
	os.WriteFile(incident, []byte(`name: incident
trigger:
  alert: {rule: failure-spike, on: [fired, resolved]}
steps:
  - if: =trigger.event == 'fired'
    then:
      - call: http.request
        connection: tracker
        with: {method: POST, url: /issues, body: {alert: =trigger.body.id, title: =trigger.body.message}}
    else:
      - call: http.request
        connection: tracker
        with: {method: POST, url: ="/issues/" + trigger.body.id + "/close", body: {}}
`), 0o600)
	os.WriteFile(cfg, []byte(fmt.Sprintf(`connections:
  upstream: {connector: http, base_url: %s, allow_private: true}
  tracker: {connector: http, base_url: %s, allow_private: true}
alerts:
  every: 200ms
  rules:
    - {name: failure-spike, flow: "orders", error_rate: 0.5, min_runs: 4, window: 3s, severity: critical}
deploy: [%s, %s]
`, upstream.URL, tracker.URL, orders, incident)), 0o600)
	srv := startServer(t, "", []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data")}, "--config", cfg)
	fire := func(n int) {
		for i := 0; i < n; i++ {
			srv.do("POST", "/hooks/orders", `{}`, nil)
		}
	}
	time.Sleep(1500 * time.Millisecond) // the alert trigger's first pull marks its start
	failing.Store(true)
	fire(8)
	wait := func(what string, ok func() bool) {
		deadline := time.Now().Add(15 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("%s: opened %v closed %v\n%s", what, opened, closed, srv.logs())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait("issue opened", func() bool { mu.Lock(); defer mu.Unlock(); return len(opened) == 1 })
	fire(4) // still failing: no second issue
	time.Sleep(1500 * time.Millisecond)
	failing.Store(false)
	for i := 0; i < 4; i++ {
		fire(10)
		time.Sleep(500 * time.Millisecond)
	}
	wait("issue closed", func() bool { mu.Lock(); defer mu.Unlock(); return len(closed) == 1 })
	time.Sleep(1500 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(opened) != 1 || len(closed) != 1 {
		t.Fatalf("opened %v closed %v", opened, closed)
	}
	for id, n := range closed {
		if n != 1 || !strings.Contains(opened[id], "orders is failing") {
			t.Fatalf("issue %s closed %d times, title %q", id, n, opened[id])
		}
	}
}
