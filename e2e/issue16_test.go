package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/internal/pgtest"
)

const inFlight = `name: inflight
trigger:
  webhook: {mode: async}
steps:
  - id: first
    call: http.request
    connection: sink
    with: {method: POST, url: "%[1]s/first", body: {n: =trigger.body.n}}
  - id: second
    call: http.request
    connection: sink
    with: {method: POST, url: "%[1]s/second", body: {n: =trigger.body.n}}
`

// stallingSink answers /first at once; the first call to /second hangs
// until its caller goes away (the worker is killed mid-step), later calls
// answer at once. It counts calls per path and idempotency key.
type stallingSink struct {
	*httptest.Server
	mu      sync.Mutex
	calls   map[string]int // path -> calls
	keys    map[string]int // path + " " + Idempotency-Key -> calls
	stalled chan struct{}
}

func newStallingSink(t *testing.T) *stallingSink {
	s := &stallingSink{calls: map[string]int{}, keys: map[string]int{}, stalled: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.calls[r.URL.Path]++
		n := s.calls[r.URL.Path]
		s.keys[r.URL.Path+" "+r.Header.Get("Idempotency-Key")]++
		s.mu.Unlock()
		if r.URL.Path == "/second" && n == 1 {
			close(s.stalled)
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *stallingSink) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// startInFlight deploys the two-step flow on srv, triggers one run and
// waits until its second step is in flight.
func startInFlight(t *testing.T, srv *server, sink *stallingSink) string {
	t.Helper()
	if code := srv.do("POST", "/api/flows", fmt.Sprintf(inFlight, sink.URL), nil); code != 201 {
		t.Fatalf("deploy: %d", code)
	}
	var out map[string]any
	if code := srv.do("POST", "/hooks/inflight", `{"n": 1}`, &out); code != 202 {
		t.Fatalf("trigger: %d %v", code, out)
	}
	select {
	case <-sink.stalled:
	case <-time.After(20 * time.Second):
		t.Fatalf("the second step never started\n%s", srv.logs())
	}
	return out["run_id"].(string)
}

// waitResumed waits at most within for the run to succeed, then checks
// that the completed step was not run again and the step in flight at the
// crash ran again with the same idempotency key.
func waitResumed(t *testing.T, srv *server, sink *stallingSink, id string, since time.Time, within time.Duration) {
	t.Helper()
	for {
		var detail struct {
			Run   map[string]any   `json:"run"`
			Steps []map[string]any `json:"steps"`
		}
		srv.do("GET", "/api/runs/"+id, nil, &detail)
		if detail.Run["status"] == "succeeded" {
			took := time.Since(since)
			t.Logf("the run resumed and finished %s after the restart or kill", took.Round(time.Millisecond))
			ok := map[string]int{}
			for _, s := range detail.Steps {
				if s["status"] == "ok" {
					ok[s["step_key"].(string)]++
				}
			}
			if ok["first"] != 1 || ok["second"] != 1 {
				t.Fatalf("steps completed %v", ok)
			}
			sink.mu.Lock()
			defer sink.mu.Unlock()
			if sink.calls["/first"] != 1 {
				t.Fatalf("the completed first step ran %d times", sink.calls["/first"])
			}
			if sink.calls["/second"] != 2 || sink.keys["/second "+id+":second"] != 2 {
				t.Fatalf("the step in flight ran %d times, keys %v", sink.calls["/second"], sink.keys)
			}
			return
		}
		if time.Since(since) > within {
			t.Fatalf("run %s is still %v %s after the crash (want it resumed within %s)\n%s", id, detail.Run["status"], time.Since(since).Round(time.Second), within, srv.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestIssue16_F23_RestartReclaimsDeadPredecessorAtOnceSQLite: weft serve is
// killed (-9) while a step is in flight; the process started next on the
// same SQLite file takes the dead one's run back at once, not after
// rescue_after (3 minutes by default).
func TestIssue16_F23_RestartReclaimsDeadPredecessorAtOnceSQLite(t *testing.T) {
	sink := newStallingSink(t)
	env := []string{"WEFT_DATA_DIR=" + t.TempDir(), "WEFT_LOG_LEVEL=warn"}
	cfg := writeConfig(t, "")
	a := startServer(t, "", env, "--config", cfg)
	id := startInFlight(t, a, sink)
	a.kill9()
	restart := time.Now()
	b := startServer(t, a.addr, env, "--config", cfg)
	waitResumed(t, b, sink, id, restart, 8*time.Second)
}

// TestIssue16_F23_PeerNoticesDeadWorkerPostgres: two weft serve processes
// share PostgreSQL; the one running a step is killed (-9); the other takes
// its run back within seconds (dead_after, 5s by default), not minutes.
func TestIssue16_F23_PeerNoticesDeadWorkerPostgres(t *testing.T) {
	pg := pgtest.Shared(t)
	sink := newStallingSink(t)
	env := []string{"WEFT_DATABASE_URL=" + pg.NewDatabase(t), "WEFT_LOG_LEVEL=warn", "WEFT_DATA_DIR=" + t.TempDir(),
		"WEFT_MASTER_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	cfg := writeConfig(t, "")
	a := startServer(t, "", env, "--config", cfg)
	id := startInFlight(t, a, sink) // a runs it: b is not started yet
	b := startServer(t, "", env, "--config", cfg)
	a.kill9()
	killed := time.Now()
	waitResumed(t, b, sink, id, killed, 15*time.Second)
}
