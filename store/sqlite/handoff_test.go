package sqlite_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlstore"
)

// handoffQueue starts s's queue with a worker that, for each job, waits
// for a run id on release (or takes the job at once when release is nil),
// then reads its run with RunForWork twice: the first read is what a
// worker gets, the second is the database's (the hand-off is taken once).
type handoffRead struct {
	first, second *store.Run
	cps1, cps2    map[string]json.RawMessage
	err           error
}

func handoffQueue(t *testing.T, s *sqlstore.Store, release chan struct{}) chan handoffRead {
	t.Helper()
	ctx := context.Background()
	out := make(chan handoffRead, 16)
	w := river.NewWorkers()
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[store.RunArgs]) error {
		if release != nil {
			<-release
		}
		var r handoffRead
		r.first, r.cps1, r.err = s.RunForWork(ctx, j.Args.RunID)
		if r.err == nil {
			r.second, r.cps2, r.err = s.RunForWork(ctx, j.Args.RunID)
		}
		out <- r
		fin := time.Now().UTC()
		return s.UpdateRun(store.WithQueueJob(ctx, j.Args.RunID, j.ID), &store.Run{ID: j.Args.RunID, Status: store.RunSucceeded, FinishedAt: &fin}, nil)
	}))
	if err := s.StartQueue(ctx, w, store.QueueConfig{Workers: 2, FetchPollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.StopQueue(context.Background()) })
	return out
}

func waitRead(t *testing.T, out chan handoffRead) handoffRead {
	t.Helper()
	select {
	case r := <-out:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("the job was not worked")
	}
	return handoffRead{}
}

// TestHandOffReadsAsTheDatabase: an enqueued run's first RunForWork
// comes from the copy CreateRun kept (no read), and equals what the
// database returns for it afterwards, field by field.
func TestHandOffReadsAsTheDatabase(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	out := handoffQueue(t, s, nil)
	at := time.Date(2026, 12, 5, 4, 5, 6, 789123456, time.FixedZone("x", 3600)) // nanoseconds and a zone: stored to the µs, in UTC
	r := &store.Run{Flow: "f", Version: 3, Status: store.RunQueued, TriggerKind: "webhook", IdemKey: "k1",
		Input: json.RawMessage(`{"body":{"n":1,"s":"é"},"headers":{"a":"b"}}`), CreatedAt: at, StartedAt: at.Add(time.Microsecond)}
	if _, created, err := s.CreateRun(ctx, r, true); err != nil || !created {
		t.Fatal(created, err)
	}
	r.Input[2] = 'X' // the caller may reuse its buffers once answered
	got := waitRead(t, out)
	if _, taken := s.HandOffStats(); taken != 1 {
		t.Fatalf("the first RunForWork did not take the hand-off (taken %d)", taken)
	}
	if !reflect.DeepEqual(got.first, got.second) || !reflect.DeepEqual(got.cps1, got.cps2) {
		t.Fatalf("hand-off %+v %v\ndatabase %+v %v", *got.first, got.cps1, *got.second, got.cps2)
	}
	if got.first.Status != store.RunQueued || string(got.first.Input) != `{"body":{"n":1,"s":"é"},"headers":{"a":"b"}}` || got.cps1 == nil {
		t.Fatalf("hand-off %+v %v", *got.first, got.cps1)
	}
	// A run without input and without key, the same way.
	r2 := &store.Run{Flow: "f", Version: 1, Status: store.RunQueued, TriggerKind: "manual"}
	if _, _, err := s.CreateRun(ctx, r2, true); err != nil {
		t.Fatal(err)
	}
	got = waitRead(t, out)
	if _, taken := s.HandOffStats(); taken != 2 || !reflect.DeepEqual(got.first, got.second) || !reflect.DeepEqual(got.cps1, got.cps2) {
		t.Fatalf("taken %d; hand-off %+v %v\ndatabase %+v %v", taken, *got.first, got.cps1, *got.second, got.cps2)
	}
}

// TestHandOffDroppedByWrites: a run changed through the store between its
// enqueue and its job (canceled, checkpointed) is read from the
// database; a duplicate, a large input and a failed write keep nothing.
func TestHandOffDroppedByWrites(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	release := make(chan struct{})
	out := handoffQueue(t, s, release)
	held := func(want int) {
		t.Helper()
		if h, _ := s.HandOffStats(); h != want {
			t.Fatalf("held %d copies, want %d", h, want)
		}
	}
	canceled := &store.Run{Flow: "f", Version: 1, Status: store.RunQueued, TriggerKind: "manual", IdemKey: "c", Input: json.RawMessage(`{"n":1}`)}
	if _, _, err := s.CreateRun(ctx, canceled, true); err != nil {
		t.Fatal(err)
	}
	held(1)
	if err := s.SetRunStatus(ctx, canceled.ID, []string{store.RunQueued}, store.RunCanceled); err != nil {
		t.Fatal(err)
	}
	held(0)
	release <- struct{}{}
	if got := waitRead(t, out); got.first.Status != store.RunCanceled || !reflect.DeepEqual(got.first, got.second) {
		t.Fatalf("a canceled run read as %+v", *got.first)
	}

	cp := &store.Run{Flow: "f", Version: 1, Status: store.RunQueued, TriggerKind: "manual", Input: json.RawMessage(`{"n":2}`)}
	if _, _, err := s.CreateRun(ctx, cp, true); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := s.Checkpoint(ctx, cp.ID, []store.Attempt{{RunID: cp.ID, Flow: "f", Version: 1, StepID: "a", StepKey: "a", Kind: "set", Attempt: 1,
		TriggerKind: "manual", Status: store.AttemptOK, StartedAt: now, FinishedAt: now, Checkpoint: json.RawMessage(`{"x":1}`)}}); err != nil {
		t.Fatal(err)
	}
	held(0)
	release <- struct{}{}
	if got := waitRead(t, out); got.first.Status != store.RunRunning || string(got.cps1["a"]) != `{"x":1}` {
		t.Fatalf("a checkpointed run read as %+v %s", *got.first, got.cps1)
	}

	// The same key again: no second run, no copy of it.
	dup := &store.Run{Flow: "f", Version: 1, Status: store.RunQueued, TriggerKind: "manual", IdemKey: "c"}
	if got, created, err := s.CreateRun(ctx, dup, true); err != nil || created || got.ID != canceled.ID {
		t.Fatal(got, created, err)
	}
	held(0)
	// A large input is read back from the database.
	big := &store.Run{Flow: "f", Version: 1, Status: store.RunQueued, TriggerKind: "manual",
		Input: json.RawMessage(`{"s":"` + strings.Repeat("a", 70<<10) + `"}`)}
	if _, _, err := s.CreateRun(ctx, big, true); err != nil {
		t.Fatal(err)
	}
	held(0)
	release <- struct{}{}
	if got := waitRead(t, out); len(got.first.Input) != len(big.Input) {
		t.Fatalf("the large input read back as %d bytes", len(got.first.Input))
	}
	// A write that fails (its id is taken) keeps nothing.
	again := &store.Run{ID: big.ID, Flow: "f", Version: 1, Status: store.RunQueued, TriggerKind: "manual"}
	if _, _, err := s.CreateRun(ctx, again, true); err == nil {
		t.Fatal("a second run with the same id was created")
	}
	held(0)
	if _, taken := s.HandOffStats(); taken != 0 {
		t.Fatalf("taken %d, want 0", taken)
	}
}

// TestHandOffOffWithoutWorkers: a process that only enqueues (another
// works the queue) keeps no copies.
func TestHandOffOffWithoutWorkers(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	if err := s.StartQueue(ctx, nil, store.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	defer s.StopQueue(ctx)
	r := &store.Run{Flow: "f", Version: 1, Status: store.RunQueued, TriggerKind: "manual"}
	if _, _, err := s.CreateRun(ctx, r, true); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.HandOffStats(); h != 0 {
		t.Fatalf("held %d copies without workers", h)
	}
}
