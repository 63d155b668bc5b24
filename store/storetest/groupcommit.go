package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

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

// ConcurrentRunWrites creates n runs with their jobs from n concurrent
// callers (plus dup callers repeating an idempotency key), then writes
// their final state from n concurrent callers while miss more callers
// update runs that do not exist. The group committer may put any of them
// in one transaction (the runs inserted and their jobs enqueued together,
// the updates in one statement): every run must reach the worker and end
// with exactly its own status, output, error and attempts; a duplicate
// key must return the first run; a missing run must fail with not-found
// and cost the others nothing. hold is as for ConcurrentInsertRuns.
func ConcurrentRunWrites(t *testing.T, s store.Store, n, dup, miss int, hold func() (release func())) {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[string]int{}
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[store.RunArgs]) error {
		mu.Lock()
		seen[j.Args.RunID]++
		mu.Unlock()
		return nil
	}))
	must(t, s.StartQueue(ctx, workers, store.QueueConfig{Workers: 8, FetchPollInterval: 20 * time.Millisecond}))
	defer s.StopQueue(ctx)

	now := time.Now().UTC()
	all := func(k int, fn func(i int) error) []error {
		release := func() {}
		if hold != nil {
			release = hold()
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, k)
		for i := 0; i < k; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = fn(i)
			}()
		}
		close(start)
		release()
		wg.Wait()
		return errs
	}
	create := func(i int) (*store.Run, bool, error) {
		key := fmt.Sprintf("%d-k%d", now.UnixNano(), i)
		if i >= n {
			key = fmt.Sprintf("%d-k0", now.UnixNano())
		}
		return s.CreateRun(ctx, &store.Run{ID: IDAt(now, i+1), Flow: "gcw", Version: 1, Status: store.RunQueued, TriggerKind: "webhook",
			IdemKey: key, Input: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)), CreatedAt: now, StartedAt: now}, true)
	}
	_, _, err := create(0) // the run whose key the duplicates repeat
	must(t, err)
	ids := make([]string, n+dup)
	created := make([]bool, n+dup)
	errs := all(n-1+dup, func(j int) error {
		r, c, err := create(j + 1)
		if err == nil {
			ids[j+1], created[j+1] = r.ID, c
		}
		return err
	})
	for j, err := range errs {
		must(t, err)
		if i := j + 1; i >= n && (ids[i] != IDAt(now, 1) || created[i]) {
			t.Fatalf("a repeated key gave run %s (created %v), not the first one's (%s)", ids[i], created[i], IDAt(now, 1))
		} else if i < n && (ids[i] != IDAt(now, i+1) || !created[i]) {
			t.Fatalf("run %d: got %s (created %v)", i, ids[i], created[i])
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		got := len(seen)
		mu.Unlock()
		if got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d enqueued runs reached the worker", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}

	fin := now.Add(time.Second)
	errs = all(n+miss, func(i int) error {
		id, status := IDAt(now, i+1), store.RunSucceeded
		if i >= n {
			id = IDAt(now, 1000+i)
		}
		r := &store.Run{ID: id, Status: status, Output: json.RawMessage(fmt.Sprintf(`{"out":%d}`, i)), FinishedAt: &fin}
		if i%3 == 1 {
			r.Status, r.ErrorCode, r.ErrorMessage, r.FailedStep = store.RunDead, "boom", fmt.Sprintf("run %d failed", i), "b"
		}
		var as []store.Attempt
		for _, st := range []string{"a", "b", "c"} {
			as = append(as, store.Attempt{RunID: id, Flow: "gcw", Version: 1, StepID: st, StepKey: st, Kind: "set", Attempt: 1, TriggerKind: "webhook",
				Status: store.AttemptOK, StartedAt: now, FinishedAt: fin, Checkpoint: json.RawMessage(fmt.Sprintf(`{"%s":%d}`, st, i))})
		}
		return s.UpdateRun(ctx, r, as)
	})
	for i, err := range errs {
		if i < n && err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		if i >= n && weft.Code(err) != weft.ENotFound {
			t.Fatalf("update of a missing run %d: want not found, got %v", i-n, err)
		}
	}
	for i := 0; i < n; i++ {
		id := IDAt(now, i+1)
		r, err := s.GetRun(ctx, id)
		must(t, err)
		want := store.RunSucceeded
		if i%3 == 1 {
			want = store.RunDead
		}
		if r.Status != want || string(r.Output) != fmt.Sprintf(`{"out":%d}`, i) || string(r.Input) != fmt.Sprintf(`{"n":%d}`, i) ||
			r.FinishedAt == nil || !r.FinishedAt.Equal(fin.Truncate(time.Microsecond)) {
			t.Fatalf("run %d: %s output %s input %s finished %v", i, r.Status, r.Output, r.Input, r.FinishedAt)
		}
		if i%3 == 1 && (r.ErrorCode != "boom" || r.ErrorMessage != fmt.Sprintf("run %d failed", i) || r.FailedStep != "b") {
			t.Fatalf("run %d: error %q %q at %q", i, r.ErrorCode, r.ErrorMessage, r.FailedStep)
		}
		if i%3 != 1 && (r.ErrorCode != "" || r.ErrorMessage != "" || r.FailedStep != "") {
			t.Fatalf("run %d: error %q %q at %q", i, r.ErrorCode, r.ErrorMessage, r.FailedStep)
		}
		as, err := s.ListAttempts(ctx, id)
		must(t, err)
		if got := fmt.Sprint(stepKeys(as)); got != "[a b c]" {
			t.Fatalf("run %s: attempts %s", id, got)
		}
		cps, err := s.Checkpoints(ctx, id)
		must(t, err)
		if string(cps["b"]) != fmt.Sprintf(`{"b":%d}`, i) {
			t.Fatalf("run %s: checkpoint of b %s", id, cps["b"])
		}
	}
}
