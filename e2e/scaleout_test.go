package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/weftio/weft/internal/pgtest"
)

// Two weft serve processes on one PostgreSQL database share the queue
// (River distributes the jobs) and never run a step twice.
func TestTwoProcessesSharePostgres(t *testing.T) {
	pg := pgtest.Shared(t)
	url := pg.NewDatabase(t)
	sink := newCountingSink(t, time.Millisecond)
	cfg := writeConfig(t, "")
	// Processes sharing one PostgreSQL share the master key (WEFT_MASTER_KEY).
	env := []string{"WEFT_DATABASE_URL=" + url, "WEFT_LOG_LEVEL=warn", "WEFT_QUEUE_WORKERS=10", "WEFT_DATA_DIR=" + t.TempDir(),
		"WEFT_MASTER_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	a := startServer(t, "", env, "--config", cfg)
	b := startServer(t, "", env, "--config", cfg)
	if code := a.do("POST", "/api/flows", fmt.Sprintf(threeStep, sink.URL), nil); code != 201 {
		t.Fatalf("deploy: %d", code)
	}
	const runs = 600
	ids := enqueue(t, a, runs)
	deadline := time.Now().Add(2 * time.Minute)
	workers := map[string]int{}
	for _, id := range ids {
		for {
			var detail struct {
				Run   map[string]any   `json:"run"`
				Steps []map[string]any `json:"steps"`
			}
			b.do("GET", "/api/runs/"+id, nil, &detail)
			if detail.Run["status"] == "succeeded" {
				ok := map[string]int{}
				for _, s := range detail.Steps {
					if s["status"] == "ok" {
						ok[s["step_key"].(string)]++
						if s["step_key"] == "deliver" {
							workers[fmt.Sprint(s["worker"])]++
						}
					}
				}
				if ok["prepare"] != 1 || ok["deliver"] != 1 || ok["finish"] != 1 {
					t.Fatalf("run %s: steps completed %v", id, ok)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s is %v", id, detail.Run["status"])
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for k, n := range sink.byKey {
		if n != 1 {
			t.Fatalf("key %s delivered %d times", k, n)
		}
	}
	if len(sink.byKey) != runs {
		t.Fatalf("%d deliveries for %d runs", len(sink.byKey), runs)
	}
	if len(workers) != 2 {
		t.Fatalf("work was not shared: %v", workers)
	}
	t.Logf("deliveries per process: %v", workers)
}
