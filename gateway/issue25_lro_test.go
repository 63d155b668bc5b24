package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// Issue 25: a 202 long-running operation is one step, durable across the
// engine's retries: the step times out while the job runs, the retry
// (same idempotency key) resumes polling the same operation, and the job
// is started once.
func TestIssue25_LongRunningAcrossEngineRetries(t *testing.T) {
	var posts, polls atomic.Int32
	var keys []string
	started := time.Time{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/exports":
			posts.Add(1)
			keys = append(keys, r.Header.Get("Idempotency-Key"))
			started = time.Now()
			w.Header().Set("Operation-Location", "/operations/e1")
			w.Header().Set("Location", "/exports/e1")
			w.WriteHeader(202)
		case "/operations/e1":
			polls.Add(1)
			w.Header().Set("Retry-After", "0")
			if time.Since(started) < 1500*time.Millisecond {
				_, _ = w.Write([]byte(`{"status":"Running"}`))
				return
			}
			_, _ = w.Write([]byte(`{"status":"Succeeded"}`))
		case "/exports/e1":
			_, _ = w.Write([]byte(`{"id":"e1","rows":42}`))
		}
	}))
	defer up.Close()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	if err := cat.AddConnection(&connectors.Connection{Name: "reports", Connector: "http", BaseURL: up.URL, AllowPrivate: true}); err != nil {
		t.Fatal(err)
	}
	e := engine.New(st, cat, nil, engine.Config{SyncTimeout: 20 * time.Second})
	if err := st.StartQueue(ctx, e.Workers(), store.QueueConfig{Workers: 2, FetchPollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.BeginShutdown()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.StopQueue(c)
		_ = st.Close()
	})
	h := gateway.New(e, nil, gateway.Config{})
	flow := `name: export
trigger: {webhook: {mode: sync}}
steps:
  - id: export
    call: http.request
    connection: reports
    timeout: 700ms
    retry: {max_attempts: 6, backoff: 50ms}
    with:
      method: POST
      url: /exports
      body: {table: orders}
      long_running: {interval_seconds: 0.1}
  - id: reply
    respond:
      body: {rows: =steps.export.body.rows, resumed: =steps.export.long_running.resumed}
`
	a := serveWithin(t, h, "POST", "/api/flows?file=export.yaml", "application/yaml", flow, 10*time.Second)
	if a.status != 201 {
		t.Fatalf("deploy: %d %v", a.status, a.body)
	}
	a = serveWithin(t, h, "POST", "/hooks/export", "application/json", `{}`, 30*time.Second)
	if a.status != 200 || a.body["rows"] != float64(42) || a.body["resumed"] != true {
		t.Fatalf("run: %d %v", a.status, a.body)
	}
	if posts.Load() != 1 || polls.Load() < 3 {
		t.Fatalf("%d POSTs (want 1: the retries resumed polling), %d polls; keys %v", posts.Load(), polls.Load(), keys)
	}
}
