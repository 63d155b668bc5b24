package postgres_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/weftio/weft/internal/pgtest"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/postgres"
)

// finishRun is what the engine's final write does: the run succeeds and
// its job completes in the same transaction.
func finishRun(ctx context.Context, s store.Store, j *river.Job[store.RunArgs]) error {
	fin := time.Now().UTC()
	return s.UpdateRun(store.WithQueueJob(ctx, j.Args.RunID, j.ID), &store.Run{ID: j.Args.RunID, Status: store.RunSucceeded, FinishedAt: &fin}, nil)
}

func enqueueRun(t *testing.T, s store.Store, flow string) string {
	t.Helper()
	r, _, err := s.CreateRun(context.Background(), &store.Run{Flow: flow, Version: 1, Status: store.RunQueued, TriggerKind: "webhook", Input: []byte(`{"n":1}`)}, true)
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

type jobRow struct {
	id          int64
	state       string
	attempt     int
	attemptedBy string
	errors      string
}

func jobOf(t *testing.T, db *sql.DB, run string) jobRow {
	t.Helper()
	var j jobRow
	err := db.QueryRow(`SELECT id, state, attempt, COALESCE(array_to_string(attempted_by, ','), ''), COALESCE(array_to_string(errors, ','), '')
		FROM river_job WHERE args->>'run_id' = $1`, run).Scan(&j.id, &j.state, &j.attempt, &j.attemptedBy, &j.errors)
	if err != nil {
		t.Fatalf("job of run %s: %v", run, err)
	}
	return j
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A process works the runs it enqueues on its local slots, without a
// fetch; with every slot busy, a run's job goes to River's queue.
func TestLocalClaimsWorkWithoutFetch(t *testing.T) {
	pg := pgtest.Shared(t)
	s, _, db := freshDatabase(t, pg)
	ctx := context.Background()
	var fetched, local atomic.Int64
	block := make(chan struct{})
	var blocking atomic.Bool
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[store.RunArgs]) error {
		fetched.Add(1)
		return finishRun(ctx, s, j)
	}))
	var unfresh atomic.Int64
	work := func(ctx context.Context, j *river.Job[store.RunArgs]) error {
		local.Add(1)
		// The run as created comes with the job: no read back.
		if r, ok := store.FreshRun(ctx, j.Args.RunID); !ok || r.Flow != "f" || string(r.Input) != `{"n":1}` || r.Status != store.RunQueued {
			unfresh.Add(1)
		}
		if blocking.Load() {
			<-block
		}
		return finishRun(ctx, s, j)
	}
	if err := s.StartQueue(ctx, workers, store.QueueConfig{Workers: 4, FetchPollInterval: 50 * time.Millisecond, WorkerID: "w-local", Work: work}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.StopQueue(context.Background()) })

	var runs []string
	for i := 0; i < 6; i++ {
		id := enqueueRun(t, s, "f")
		runs = append(runs, id)
		waitFor(t, "run "+id, 10*time.Second, func() bool { return jobOf(t, db, id).state == "completed" })
	}
	if local.Load() != 6 || fetched.Load() != 0 || unfresh.Load() != 0 {
		t.Fatalf("local %d, fetched %d, without the fresh run %d; want 6 local, 0 fetched, 0", local.Load(), fetched.Load(), unfresh.Load())
	}
	for _, id := range runs {
		j := jobOf(t, db, id)
		if j.attempt != 1 || j.attemptedBy != "w-local" {
			t.Fatalf("job of %s: attempt %d by %q; want 1 by w-local", id, j.attempt, j.attemptedBy)
		}
		r, err := s.GetRun(ctx, id)
		if err != nil || r.Status != store.RunSucceeded {
			t.Fatalf("run %s: %v %v", id, r, err)
		}
	}

	// Four slots busy: the next two runs go to River's queue.
	blocking.Store(true)
	local.Store(0)
	for i := 0; i < 4; i++ {
		enqueueRun(t, s, "f")
	}
	waitFor(t, "four local jobs", 10*time.Second, func() bool { return local.Load() == 4 })
	over := []string{enqueueRun(t, s, "f"), enqueueRun(t, s, "f")}
	for _, id := range over {
		waitFor(t, "run "+id+" from River's queue", 10*time.Second, func() bool { return jobOf(t, db, id).state == "completed" })
	}
	close(block)
	if fetched.Load() != 2 || local.Load() != 4 {
		t.Fatalf("fetched %d, local %d; want 2 and 4", fetched.Load(), local.Load())
	}
}

// A local job's outcome is River's: an error retried (by River's fetch,
// attempt 2), a long snooze scheduled, a cancel, a panic, success
// without the run's final write.
func TestLocalClaimOutcomes(t *testing.T) {
	pg := pgtest.Shared(t)
	s, _, db := freshDatabase(t, pg)
	ctx := context.Background()
	var mu sync.Mutex
	do := map[string]string{} // run -> what the local worker does
	retried := make(chan *river.Job[store.RunArgs], 4)
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[store.RunArgs]) error {
		retried <- j
		return finishRun(ctx, s, j)
	}))
	work := func(ctx context.Context, j *river.Job[store.RunArgs]) error {
		mu.Lock()
		what := do[j.Args.RunID]
		mu.Unlock()
		switch what {
		case "error":
			return errors.New("upstream said no")
		case "snooze":
			return river.JobSnooze(time.Hour)
		case "cancel":
			return river.JobCancel(errors.New("not wanted"))
		case "panic":
			panic("boom")
		}
		return nil // success, the run left as it is
	}
	if err := s.StartQueue(ctx, workers, store.QueueConfig{Workers: 4, FetchPollInterval: 50 * time.Millisecond, WorkerID: "w-out", Work: work}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.StopQueue(context.Background()) })
	want := map[string]string{"snooze": "scheduled", "cancel": "cancelled", "ok": "completed"}
	for _, what := range []string{"snooze", "cancel", "ok", "panic", "error"} {
		// The run id is known before the claim; the worker reads it.
		r := &store.Run{ID: "run-" + what, Flow: "f", Version: 1, Status: store.RunQueued, TriggerKind: "webhook", Input: []byte(`{}`)}
		mu.Lock()
		do[r.ID] = what
		mu.Unlock()
		if _, _, err := s.CreateRun(ctx, r, true); err != nil {
			t.Fatal(err)
		}
		if st, ok := want[what]; ok {
			waitFor(t, what, 10*time.Second, func() bool { return jobOf(t, db, r.ID).state == st })
			j := jobOf(t, db, r.ID)
			if what == "snooze" && j.attempt != 0 {
				t.Fatalf("snoozed job: attempt %d, want 0", j.attempt)
			}
			if what == "cancel" && !strings.Contains(j.errors, "not wanted") {
				t.Fatalf("cancelled job errors %q", j.errors)
			}
			continue
		}
		// An error or a panic: retried by River's fetch (1 s backoff) as
		// attempt 2, with attempt 1's error recorded.
		select {
		case j := <-retried:
			if j.Args.RunID != r.ID || j.Attempt != 2 || len(j.Errors) != 1 || j.Errors[0].Attempt != 1 {
				t.Fatalf("%s: retried %s attempt %d errors %+v", what, j.Args.RunID, j.Attempt, j.Errors)
			}
			if what == "panic" && !strings.Contains(j.Errors[0].Error, "boom") {
				t.Fatalf("panic error %q", j.Errors[0].Error)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("%s: not retried; job %+v", what, jobOf(t, db, r.ID))
		}
		waitFor(t, what+" completed", 10*time.Second, func() bool { return jobOf(t, db, r.ID).state == "completed" })
	}
}

// A process killed (SIGKILL) between a local claim and its end: a peer
// takes the job back once the dead worker's heartbeat is stale, and
// works it to the end.
func TestLocalClaimRecoveredAfterKill9(t *testing.T) {
	pg := pgtest.Shared(t)
	url := pg.NewDatabase(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLocalClaimHelperProcess$")
	cmd.Env = append(os.Environ(), "WEFT_LOCAL_CLAIM_HELPER="+url)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var run string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if r, ok := strings.CutPrefix(sc.Text(), "claimed "); ok {
			run = r
			break
		}
	}
	if run == "" {
		t.Fatal("the helper process claimed no run")
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if j := jobOf(t, db, run); j.state != "running" || j.attemptedBy != "w-dies" {
		t.Fatalf("before the kill: %+v; want running, by w-dies", j)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()

	s, err := postgres.Open(context.Background(), url, slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var worked atomic.Int64
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[store.RunArgs]) error {
		worked.Add(1)
		return finishRun(ctx, s, j)
	}))
	work := func(ctx context.Context, j *river.Job[store.RunArgs]) error { return finishRun(ctx, s, j) }
	if err := s.StartQueue(context.Background(), workers, store.QueueConfig{Workers: 4, FetchPollInterval: 50 * time.Millisecond, WorkerID: "w-peer",
		DeadAfter: time.Second, Work: work, RescueAfter: time.Hour}); err != nil {
		t.Fatal(err)
	}
	defer s.StopQueue(context.Background())
	waitFor(t, "the dead worker's run", 20*time.Second, func() bool { return jobOf(t, db, run).state == "completed" })
	j := jobOf(t, db, run)
	if j.attemptedBy != "w-dies,w-peer" || worked.Load() != 1 {
		t.Fatalf("after recovery: %+v, worked %d; want attempted by w-dies then w-peer, once", j, worked.Load())
	}
	r, err := s.GetRun(context.Background(), run)
	if err != nil || r.Status != store.RunSucceeded {
		t.Fatalf("run: %+v %v", r, err)
	}
}

// TestLocalClaimHelperProcess is the process that TestLocalClaimRecoveredAfterKill9
// kills: it claims a run locally, says so, and works it forever.
func TestLocalClaimHelperProcess(t *testing.T) {
	url := os.Getenv("WEFT_LOCAL_CLAIM_HELPER")
	if url == "" {
		return // not the helper: nothing to do
	}
	s, err := postgres.Open(context.Background(), url, slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[store.RunArgs]) error { select {} }))
	claimed := make(chan string, 1)
	work := func(ctx context.Context, j *river.Job[store.RunArgs]) error {
		claimed <- j.Args.RunID
		select {} // killed here
	}
	if err := s.StartQueue(context.Background(), workers, store.QueueConfig{Workers: 4, WorkerID: "w-dies", DeadAfter: time.Second, Work: work}); err != nil {
		t.Fatal(err)
	}
	enqueueRun(t, s, "f")
	select {
	case run := <-claimed:
		fmt.Printf("claimed %s\n", run)
	case <-time.After(10 * time.Second):
		fmt.Println("no local claim")
		os.Exit(1)
	}
	select {}
}
