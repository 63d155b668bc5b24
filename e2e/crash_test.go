package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/internal/pgtest"
)

const threeStep = `name: crashy
trigger:
  webhook: {mode: async, idempotency: {header: Idempotency-Key}}
steps:
  - id: prepare
    set: {n: =trigger.body.n}
  - id: deliver
    call: http.request
    connection: sink
    with: {method: POST, url: "%s/count", body: =steps.prepare}
    retry: {max_attempts: 10, backoff: 50ms}
  - id: finish
    set: {done: =steps.deliver.status == 200}
`

// countingSink counts requests per idempotency key.
type countingSink struct {
	*httptest.Server
	mu    sync.Mutex
	byKey map[string]int
	total atomic.Int64
	noKey atomic.Int64
	delay time.Duration
}

func newCountingSink(t *testing.T, delay time.Duration) *countingSink {
	s := &countingSink{byKey: map[string]int{}, delay: delay}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		k := r.Header.Get("Idempotency-Key")
		if k == "" {
			s.noKey.Add(1)
		}
		s.mu.Lock()
		s.byKey[k]++
		s.mu.Unlock()
		s.total.Add(1)
		time.Sleep(s.delay)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	t.Cleanup(s.Close)
	return s
}

// enqueueOne starts run i of the crash flow with idempotency key crash-i
// and returns its run id.
func enqueueOne(base string, i int) (string, error) {
	req, _ := http.NewRequest("POST", base+"/hooks/crashy", strings.NewReader(fmt.Sprintf(`{"n": %d}`, i)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", fmt.Sprintf("crash-%d", i))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		RunID string `json:"run_id"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return "", err
	}
	// 202: queued; 200: the key's run already exists (a re-send whose first
	// reply the kill cut off).
	if (resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK) || out.RunID == "" {
		return "", fmt.Errorf("status %d, run %q", resp.StatusCode, out.RunID)
	}
	return out.RunID, nil
}

// enqueueEach starts runs 0..len(ids)-1 of the crash flow through base
// with 16 senders, recording each run's id in ids. A failed call is
// counted; with stop, its sender stops there (the server was killed: the
// rest are for the restarted one).
func enqueueEach(base string, ids []string, stop bool) (failed int64) {
	var wg sync.WaitGroup
	var next, fails atomic.Int64
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				id, err := enqueueOne(base, i)
				if err != nil {
					fails.Add(1)
					if stop {
						return
					}
					continue
				}
				ids[i] = id
			}
		}()
	}
	wg.Wait()
	return fails.Load()
}

func enqueue(t *testing.T, srv *server, n int) []string {
	t.Helper()
	ids := make([]string, n)
	if failed := enqueueEach(srv.URL, ids, false); failed > 0 {
		t.Fatalf("%d enqueues failed", failed)
	}
	return ids
}

func TestCrashRecoverySQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is long; run without -short")
	}
	testCrashRecovery(t, []string{"WEFT_DATA_DIR=" + t.TempDir()})
}

func TestCrashRecoveryPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is long; run without -short")
	}
	pg := pgtest.Shared(t)
	testCrashRecovery(t, []string{"WEFT_DATABASE_URL=" + pg.NewDatabase(t), "WEFT_DATA_DIR=" + t.TempDir()})
}

func testCrashRecovery(t *testing.T, env []string) {
	const runs = 2000
	sink := newCountingSink(t, 2*time.Millisecond)
	env = append(env, "WEFT_QUEUE_RESCUE_AFTER=3s", "WEFT_QUEUE_WORKERS=20", "WEFT_LOG_LEVEL=warn")
	cfg := writeConfig(t, "")
	srv := startServer(t, "", env, "--config", cfg)
	if code := srv.do("POST", "/api/flows", fmt.Sprintf(threeStep, sink.URL), nil); code != 201 {
		t.Fatalf("deploy: %d", code)
	}
	// Enqueue while the work goes on, and kill -9 once a good part, but not
	// all, of the work is done: a process that works the runs it enqueues
	// at once (store/sqlstore/localjobs.go) would otherwise have finished
	// nearly all of them before an enqueue-then-kill test kills it. Every
	// call carries an idempotency key, so one whose reply the kill cut off is
	// re-sent to the restarted server and counted once.
	ids := make([]string, runs)
	enqueued := make(chan struct{})
	go func() {
		defer close(enqueued)
		enqueueEach(srv.URL, ids, true)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for sink.total.Load() < runs/4 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d deliveries before the kill deadline", sink.total.Load())
		}
		time.Sleep(time.Millisecond)
	}
	srv.kill9()
	atKill := sink.total.Load()
	<-enqueued
	if atKill >= runs {
		t.Fatalf("all %d runs finished before the kill; slow the sink down", runs)
	}
	sent := 0
	for _, id := range ids {
		if id != "" {
			sent++
		}
	}
	t.Logf("killed after %d deliveries, %d of %d runs accepted", atKill, sent, runs)

	srv2 := startServer(t, srv.addr, env, "--config", cfg)
	// What the kill cut off is sent again, with the same keys: a run that
	// was committed before its reply was lost is answered, not made twice.
	for i, id := range ids {
		if id != "" {
			continue
		}
		id, err := enqueueOne(srv2.URL, i)
		if err != nil {
			t.Fatalf("re-send %d: %v", i, err)
		}
		ids[i] = id
	}
	deadline = time.Now().Add(4 * time.Minute)
	for {
		var count struct {
			Runs []map[string]any `json:"runs"`
		}
		done := 0
		before := ""
		for {
			q := "/api/runs?flow=crashy&status=succeeded&limit=1000"
			if before != "" {
				q += "&before=" + before
			}
			srv2.do("GET", q, nil, &count)
			done += len(count.Runs)
			if len(count.Runs) < 1000 {
				break
			}
			before = count.Runs[len(count.Runs)-1]["id"].(string)
		}
		if done == runs {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d runs succeeded after restart\n%s", done, runs, srv2.logs())
		}
		time.Sleep(250 * time.Millisecond)
	}

	// Exactly once at the run level; no completed step re-executed; any
	// re-sent call carried the same key.
	resent := 0
	for i, id := range ids {
		if i%10 != 0 && i > 50 { // the full step log of every 10th run (and the first 50)
			continue
		}
		var detail struct {
			Run   map[string]any   `json:"run"`
			Steps []map[string]any `json:"steps"`
		}
		srv2.do("GET", "/api/runs/"+id, nil, &detail)
		if detail.Run["status"] != "succeeded" {
			t.Fatalf("run %s: %v", id, detail.Run["status"])
		}
		ok := map[string]int{}
		for _, s := range detail.Steps {
			if s["status"] == "ok" {
				ok[s["step_key"].(string)]++
			}
		}
		for _, k := range []string{"prepare", "deliver", "finish"} {
			if ok[k] != 1 {
				t.Fatalf("run %s: step %s completed %d times: %v", id, k, ok[k], detail.Steps)
			}
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.noKey.Load() > 0 {
		t.Fatalf("%d calls without an idempotency key", sink.noKey.Load())
	}
	for _, id := range ids {
		n := sink.byKey[id+":deliver"]
		if n == 0 {
			t.Fatalf("run %s never delivered", id)
		}
		if n > 1 {
			resent++
		}
	}
	for k := range sink.byKey {
		if !strings.HasSuffix(k, ":deliver") {
			t.Fatalf("unexpected key %q", k)
		}
	}
	if len(sink.byKey) != runs {
		t.Fatalf("%d distinct keys for %d runs", len(sink.byKey), runs)
	}
	t.Logf("%d runs, %d deliveries, %d calls re-sent after the crash (same key)", runs, sink.total.Load(), resent)
}
