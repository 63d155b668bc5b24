package engine_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/store"
)

// writeLog wraps a store and notes the checkpoints and final writes of
// runs; failFinal, when set, fails a run's final write (as a crash before
// its commit would leave it) the first time.
type writeLog struct {
	store.Store
	mu          sync.Mutex
	checkpoints map[string][][]string // run -> step keys of each checkpoint
	failFinal   bool
	failed      map[string]bool
}

func (w *writeLog) Checkpoint(ctx context.Context, runID string, as []store.Attempt) error {
	keys := make([]string, len(as))
	for i, a := range as {
		keys[i] = a.StepKey
	}
	w.mu.Lock()
	w.checkpoints[runID] = append(w.checkpoints[runID], keys)
	w.mu.Unlock()
	return w.Store.Checkpoint(ctx, runID, as)
}

func (w *writeLog) UpdateRun(ctx context.Context, r *store.Run, as []store.Attempt) error {
	w.mu.Lock()
	fail := w.failFinal && !w.failed[r.ID]
	w.failed[r.ID] = true
	w.mu.Unlock()
	if fail {
		return errors.New("the final write did not commit (simulated crash)")
	}
	return w.Store.UpdateRun(ctx, r, as)
}

func (w *writeLog) of(id string) [][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.checkpoints[id]
}

func newLoggedEngine(t *testing.T, failFinal bool) (*engine.Engine, *writeLog) {
	t.Helper()
	var wl *writeLog
	e := newEngineOver(t, 4, func(st store.Store) store.Store {
		wl = &writeLog{Store: st, checkpoints: map[string][][]string{}, failFinal: failFinal, failed: map[string]bool{}}
		return wl
	})
	return e, wl
}

func okSteps(t *testing.T, e *engine.Engine, id string) map[string]int {
	ok := map[string]int{}
	for _, a := range attempts(t, e, id) {
		if a.Status == store.AttemptOK {
			ok[a.StepKey]++
		}
	}
	cps, err := e.Store().Checkpoints(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range attempts(t, e, id) {
		if a.Status == store.AttemptOK && a.Kind == "call" && cps[a.StepKey] == nil {
			t.Fatalf("run %s: call %s logged without its checkpoint", id, a.StepKey)
		}
	}
	return ok
}

// A call after which only pure steps run is checkpointed with the run's
// final write (one commit); a call followed by another call, and a call
// inside a block, are checkpointed before the run moves on.
func TestLastCallCheckpointRidesWithFinalWrite(t *testing.T) {
	e, wl := newLoggedEngine(t, false)
	s := newSink(t, nil)
	deploy(t, e, `
name: last
steps:
  - id: prepare
    set: {n: 1}
  - id: first
    call: http.request
    connection: local
    with: {method: POST, url: "`+s.URL+`", body: {n: 1}}
  - id: loop
    foreach: "[1, 2]"
    do:
      - id: inner
        call: http.request
        connection: local
        with: {method: POST, url: "`+s.URL+`", body: {n: =item}}
  - id: deliver
    call: http.request
    connection: local
    with: {method: POST, url: "`+s.URL+`", body: {n: 2}}
  - id: check
    if: steps.deliver.status == 200
    then:
      - id: fine
        set: {ok: true}
  - id: finish
    set: {done: =steps.deliver.status == 200}
`)
	res, err := e.Trigger(context.Background(), engine.Event{Flow: "last", Kind: "manual", Async: true})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, e, res.Run.ID, store.RunSucceeded)
	cps := wl.of(res.Run.ID)
	var flushed []string
	for _, c := range cps {
		flushed = append(flushed, c...)
	}
	has := func(k string) bool {
		for _, f := range flushed {
			if f == k {
				return true
			}
		}
		return false
	}
	for _, k := range []string{"first", "inner[0]", "inner[1]"} {
		if !has(k) {
			t.Fatalf("call %s was not checkpointed before the run moved on: %v", k, cps)
		}
	}
	if has("deliver") || has("finish") {
		t.Fatalf("the last call was checkpointed on its own: %v", cps)
	}
	ok := okSteps(t, e, res.Run.ID)
	for _, k := range []string{"prepare", "first", "inner[0]", "inner[1]", "loop", "deliver", "check", "fine", "finish"} {
		if ok[k] != 1 {
			t.Fatalf("step %s logged ok %d times: %v", k, ok[k], ok)
		}
	}
	if n := s.calls.Load(); n != 4 {
		t.Fatalf("%d calls, want 4", n)
	}

	// A subflow step is never the one deferred; nor a call followed by a wait.
	deploy(t, e, `
name: waits
steps:
  - id: deliver
    call: http.request
    connection: local
    with: {method: POST, url: "`+s.URL+`", body: {n: 3}}
  - id: pause
    wait: 10ms
`)
	res, err = e.Trigger(context.Background(), engine.Event{Flow: "waits", Kind: "manual", Async: true})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, e, res.Run.ID, store.RunSucceeded)
	if cps := wl.of(res.Run.ID); len(cps) == 0 || cps[0][0] != "deliver" {
		t.Fatalf("a call followed by a wait was not checkpointed first: %v", cps)
	}
}

// The window the deferred checkpoint opens: the last call returned, the
// final write did not commit (here it fails, as a crash would leave it).
// The queue runs the job again; the call is sent again with the same
// idempotency key (at-least-once), and the log holds it once.
func TestLastCallRepeatedWhenFinalWriteLost(t *testing.T) {
	e, wl := newLoggedEngine(t, true)
	s := newSink(t, func(n int64, r *http.Request) (int, http.Header, string) {
		return 200, nil, `{"ok":true,"n":` + map[bool]string{true: "1", false: "2"}[n == 1] + `}`
	})
	deploy(t, e, `
name: lost
trigger:
  webhook: {mode: async}
steps:
  - id: prepare
    set: {n: =trigger.body.n}
  - id: deliver
    call: http.request
    connection: local
    with: {method: POST, url: "`+s.URL+`", body: =steps.prepare}
  - id: finish
    set: {done: =steps.deliver.status == 200, seen: =steps.deliver.body.n}
`)
	res, err := e.Trigger(context.Background(), engine.Event{Flow: "lost", Kind: "webhook", Body: map[string]any{"n": 7}, Async: true})
	if err != nil {
		t.Fatal(err)
	}
	r := waitRun(t, e, res.Run.ID, store.RunSucceeded, store.RunDead, store.RunFailed)
	if r.Status != store.RunSucceeded {
		t.Fatalf("run %s: %s %s", r.ID, r.Status, r.ErrorMessage)
	}
	s.mu.Lock()
	keys := append([]string(nil), s.keys...)
	s.mu.Unlock()
	if len(keys) != 2 || keys[0] != keys[1] || keys[0] != res.Run.ID+":deliver" {
		t.Fatalf("calls after a lost final write: %v (want the same key twice)", keys)
	}
	ok := okSteps(t, e, res.Run.ID)
	for _, k := range []string{"prepare", "deliver", "finish"} {
		if ok[k] != 1 {
			t.Fatalf("step %s logged ok %d times: %v", k, ok[k], ok)
		}
	}
	// The run reads the answer of the call that was recorded.
	cps, err := e.Store().Checkpoints(context.Background(), res.Run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cps["deliver"]), `"n":2`) {
		t.Fatalf("the recorded call is not the one whose run committed: %s", cps["deliver"])
	}
	if len(wl.of(res.Run.ID)) != 0 {
		t.Fatalf("checkpoints written: %v", wl.of(res.Run.ID))
	}
}

// The worker reads a run's status as it picks it up, and the first call
// relies on that read; a later call reads it again, so a cancel recorded
// meanwhile (by another process: only the database says so) stops the run
// before that call.
func TestCancelSeenBeforeALaterCall(t *testing.T) {
	e, _ := newLoggedEngine(t, false)
	release := make(chan struct{})
	a := newSink(t, func(n int64, r *http.Request) (int, http.Header, string) {
		<-release
		return 200, nil, `{"ok":true}`
	})
	b := newSink(t, nil)
	deploy(t, e, `
name: two
steps:
  - id: a
    call: http.request
    connection: local
    with: {method: POST, url: "`+a.URL+`", body: {n: 1}}
  - id: b
    call: http.request
    connection: local
    with: {method: POST, url: "`+b.URL+`", body: {n: 2}}
`)
	res, err := e.Trigger(context.Background(), engine.Event{Flow: "two", Kind: "manual", Async: true})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for a.calls.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("call a was not made")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := e.Store().SetRunStatus(context.Background(), res.Run.ID, []string{store.RunQueued, store.RunRunning}, store.RunCanceled); err != nil {
		t.Fatal(err)
	}
	close(release)
	waitRun(t, e, res.Run.ID, store.RunCanceled)
	if n := b.calls.Load(); n != 0 {
		t.Fatalf("call b made %d times after the run was canceled", n)
	}
}
