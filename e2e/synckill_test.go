package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const syncFlow = `name: acked
trigger:
  webhook: {mode: sync}
steps:
  - id: prepare
    set: {n: =trigger.body.n}
  - id: reply
    respond: {status: 200, body: {n: =steps.prepare.n}}
`

// A sync reply is sent only once its run is committed: under 16
// concurrent callers (the load under which the group committer batches
// runs and checkpoints the WAL), the process is killed with SIGKILL, three
// times, and after a restart on the same data every run whose 200 a caller
// received is there, succeeded, with both its steps.
func TestSyncRepliesSurviveKill9SQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is long; run without -short")
	}
	env := []string{"WEFT_DATA_DIR=" + t.TempDir(), "WEFT_LOG_LEVEL=warn"}
	cfg := writeConfig(t, "")
	srv := startServer(t, "", env, "--config", cfg)
	if code := srv.do("POST", "/api/flows", syncFlow, nil); code != 201 {
		t.Fatalf("deploy: %d", code)
	}
	var (
		mu    sync.Mutex
		acked []string
		next  atomic.Int64
	)
	hc := &http.Client{Timeout: 10 * time.Second}
	// Three rounds of load, each ended by a kill -9 (a reply sent before
	// its commit is lost only if the kill lands in between: more kills,
	// more chances to catch one).
	for round := 0; round < 3; round++ {
		if round > 0 {
			srv = startServer(t, srv.addr, env, "--config", cfg)
		}
		var stop atomic.Bool
		var wg sync.WaitGroup
		mu.Lock()
		target := len(acked) + 1000
		mu.Unlock()
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					n := next.Add(1)
					resp, err := hc.Post(srv.URL+"/hooks/acked", "application/json", strings.NewReader(fmt.Sprintf(`{"n": %d}`, n)))
					if err != nil {
						continue // killed mid-request: no answer, no promise
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 && strings.Contains(string(body), fmt.Sprintf(`"n":%d`, n)) {
						mu.Lock()
						acked = append(acked, resp.Header.Get("X-Weft-Run-Id"))
						mu.Unlock()
					}
				}
			}()
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			mu.Lock()
			n := len(acked)
			mu.Unlock()
			if n >= target {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d replies before the kill deadline", n)
			}
			time.Sleep(2 * time.Millisecond)
		}
		srv.kill9()
		stop.Store(true)
		wg.Wait()
		t.Logf("round %d: killed with %d acknowledged runs of %d requests so far", round, len(acked), next.Load())
	}

	srv2 := startServer(t, srv.addr, env, "--config", cfg)
	for i, id := range acked {
		if id == "" {
			t.Fatalf("reply %d carried no run id", i)
		}
		var detail struct {
			Run   map[string]any   `json:"run"`
			Steps []map[string]any `json:"steps"`
		}
		if code := srv2.do("GET", "/api/runs/"+id, nil, &detail); code != 200 {
			t.Fatalf("acknowledged run %s (%d of %d) is not in the log after the kill: %d", id, i, len(acked), code)
		}
		if detail.Run["status"] != "succeeded" || len(detail.Steps) != 2 {
			t.Fatalf("acknowledged run %s: %v, steps %v", id, detail.Run["status"], detail.Steps)
		}
	}
}
