package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// ConcurrentInsertRuns records n finished runs (three attempts each) from
// n concurrent callers while dup more callers each try to record a run
// that already exists. The group committer may put any of them in one
// transaction: every new run must be there with exactly its attempts, in
// order; every duplicate must fail with a conflict and add nothing. hold,
// when not nil, is called before the callers start and its release once
// they have (a test can hold the writer in between so that they queue up).
func ConcurrentInsertRuns(t *testing.T, s store.Store, n, dup int, hold func() (release func())) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	mk := func(id string, steps ...string) store.LoggedRun {
		r := &store.Run{ID: id, Flow: "gc", Version: 1, Status: store.RunSucceeded, TriggerKind: "webhook", Sync: true, CreatedAt: now, StartedAt: now, FinishedAt: &now}
		var as []store.Attempt
		for i, st := range steps {
			as = append(as, store.Attempt{RunID: id, Flow: "gc", Version: 1, StepID: st, StepKey: st, Kind: "set", Attempt: 1, TriggerKind: "webhook",
				Status: store.AttemptOK, StartedAt: now, FinishedAt: now, OutputSize: i})
		}
		return store.LoggedRun{Run: r, Attempts: as}
	}
	existing := IDAt(now, 0)
	must(t, s.InsertRun(ctx, mk(existing, "only").Run, mk(existing, "only").Attempts))

	release := func() {}
	if hold != nil {
		release = hold()
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, n+dup)
	for i := 0; i < n+dup; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			lr := mk(IDAt(now, i+1), "a", "b", "c")
			if i >= n {
				lr = mk(existing, "x", "y")
			}
			errs[i] = s.InsertRun(ctx, lr.Run, lr.Attempts)
		}()
	}
	close(start)
	release()
	wg.Wait()
	for i, err := range errs {
		if i < n && err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if i >= n && weft.Code(err) != weft.EConflict {
			t.Fatalf("duplicate %d: want a conflict, got %v", i-n, err)
		}
	}
	for i := 0; i < n; i++ {
		id := IDAt(now, i+1)
		as, err := s.ListAttempts(ctx, id)
		must(t, err)
		if got := fmt.Sprint(stepKeys(as)); got != "[a b c]" {
			t.Fatalf("run %s: attempts %s", id, got)
		}
	}
	as, err := s.ListAttempts(ctx, existing)
	must(t, err)
	if got := fmt.Sprint(stepKeys(as)); got != "[only]" {
		t.Fatalf("the run recorded first: attempts %s after refused duplicates", got)
	}
}

func stepKeys(as []store.Attempt) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.StepKey
	}
	return out
}
