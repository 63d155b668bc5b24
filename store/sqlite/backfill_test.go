package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weftio/weft/store"
)

func insertRuns(t *testing.T, s store.Store, from, n int) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("%08x-0000-7000-8000-%012x", now.UnixMilli()>>16, i)
		r := &store.Run{ID: id, Flow: "wal", Version: 1, Status: store.RunSucceeded, TriggerKind: "webhook", Sync: true, CreatedAt: now, StartedAt: now, FinishedAt: &now}
		as := []store.Attempt{{RunID: id, Flow: "wal", Version: 1, StepID: "a", StepKey: "a", Kind: "set", Attempt: 1, TriggerKind: "webhook",
			Status: store.AttemptOK, StartedAt: now, FinishedAt: now}}
		if err := s.InsertRun(ctx, r, as); err != nil {
			t.Fatal(err)
		}
	}
}

// The writer does not wait for the backfill: while a backfill is held
// (it has been asked for, after the 128th commit, and has not run), the
// group committer goes on committing and answering; once it has run, the
// writer finishes the checkpoint and the WAL starts over.
func TestCommitsGoOnDuringTheBackfill(t *testing.T) {
	hold := make(chan struct{})
	var cp *checkpointer
	testCheckpointer = func(c *checkpointer) { c.hold = hold; cp = c }
	defer func() { testCheckpointer = nil }()
	dir := t.TempDir()
	s, err := Open(context.Background(), dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Past the 128th commit (the migrations commit outside the committer),
	// then as many again with the backfill held: each InsertRun returns
	// only once its commit has landed.
	insertRuns(t, s, 0, 300)
	if got := cp.backfilledFrames.Load() + cp.finishedFrames.Load(); got != 0 {
		t.Fatalf("%d frames checkpointed while the backfill was held", got)
	}
	close(hold)
	// The backfill runs, then the next commit's checkpoint finishes it.
	deadline := time.Now().Add(10 * time.Second)
	for i := 300; cp.backfilledFrames.Load() == 0 || cp.finishedFrames.Load() == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint after the backfill was released: backfilled %d, finished %d frames", cp.backfilledFrames.Load(), cp.finishedFrames.Load())
		}
		insertRuns(t, s, i, 1)
		time.Sleep(time.Millisecond)
	}
}

// Under a stream of commits the backfill copies most of the WAL; the
// writer's part is the frames committed while a backfill ran, and its
// finish leaves the WAL wholly copied, so that the next commit starts it
// over (TestCommitterCheckpointsTheWAL checks the file's size).
func TestBackfillCopiesMostFrames(t *testing.T) {
	var cp *checkpointer
	testCheckpointer = func(c *checkpointer) { cp = c }
	defer func() { testCheckpointer = nil }()
	s, err := Open(context.Background(), t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	insertRuns(t, s, 0, 1500)
	b, f, r := cp.backfilledFrames.Load(), cp.finishedFrames.Load(), cp.restarts.Load()
	t.Logf("frames copied: backfill %d, writer %d; the WAL started over %d times", b, f, r)
	if b == 0 || b <= f {
		t.Fatalf("the backfill copied %d frames and the writer %d: the writer did most of the copying", b, f)
	}
	if r < 3 {
		t.Fatalf("the WAL started over %d times in 1,500 commits (a checkpoint every 128 commits)", r)
	}
}
