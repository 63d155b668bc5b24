package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftio/weft/store"
)

func insertRuns(t *testing.T, s store.Store, from, n int) {
	t.Helper()
	if err := tryInsertRuns(s, from, n); err != nil {
		t.Fatal(err)
	}
}

func tryInsertRuns(s store.Store, from, n int) error {
	ctx := context.Background()
	now := time.Now().UTC()
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("%08x-0000-7000-8000-%012x", now.UnixMilli()>>16, i)
		r := &store.Run{ID: id, Flow: "wal", Version: 1, Status: store.RunSucceeded, TriggerKind: "webhook", Sync: true, CreatedAt: now, StartedAt: now, FinishedAt: &now}
		as := []store.Attempt{{RunID: id, Flow: "wal", Version: 1, StepID: "a", StepKey: "a", Kind: "set", Attempt: 1, TriggerKind: "webhook",
			Status: store.AttemptOK, StartedAt: now, FinishedAt: now}}
		if err := s.InsertRun(ctx, r, as); err != nil {
			return err
		}
	}
	return nil
}

// walFrames is the WAL's length in frames, as a checkpoint reports it.
func walFrames(t *testing.T, dir string) int {
	t.Helper()
	db, err := sql.Open(driverName, "file:"+filepath.Join(dir, "weft.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var busy, frames, done int
	if err := db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done); err != nil {
		t.Fatal(err)
	}
	return frames
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// openHeld opens a store whose backfills wait until hold is closed.
func openHeld(t *testing.T) (*checkpointer, store.Store, string, chan struct{}) {
	t.Helper()
	hold := make(chan struct{})
	var cp *checkpointer
	testCheckpointer = func(c *checkpointer) { c.hold = hold; cp = c }
	defer func() { testCheckpointer = nil }()
	dir := t.TempDir()
	s, err := Open(context.Background(), dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return cp, s, dir, hold
}

// The writer does not wait for the backfill: while a backfill is held
// (asked for after the 128th commit, not yet run), the group committer
// goes on committing and answering. Once it has run, it has copied the
// WAL; the writer's finish, after the next commit, copies only that
// commit's frames, and the commit after starts the WAL over.
func TestBackfillCopiesWhileCommitsGoOn(t *testing.T) {
	cp, s, dir, hold := openHeld(t)
	// Past the 128th commit (the migrations commit outside the committer),
	// short of the 256th, with the backfill held: each InsertRun returns
	// only once its commit has landed.
	insertRuns(t, s, 0, 200)
	if n := cp.backfills.Load() + cp.finishes.Load(); n != 0 {
		t.Fatalf("%d checkpoints ran while the backfill was held", n)
	}
	close(hold)
	waitFor(t, "the backfill", func() bool { return cp.backfills.Load() == 1 })
	copied := cp.backfilledFrames.Load()
	if copied < 200 {
		t.Fatalf("the backfill copied %d frames of ~200 commits' WAL", copied)
	}
	insertRuns(t, s, 200, 1) // its commit's callers answered, the writer finishes
	waitFor(t, "the finish", func() bool { return cp.finishes.Load() == 1 })
	if f := cp.finishedFrames.Load(); f > 40 {
		t.Fatalf("the writer's finish copied %d frames: it should copy only the last commit's (the backfill copied %d)", f, copied)
	}
	insertRuns(t, s, 201, 1) // starts the WAL over
	if n := walFrames(t, dir); n > 40 {
		t.Fatalf("the WAL holds %d frames after the checkpoint: it did not start over", n)
	}
}

// A backfill still running a whole cycle later is waited for: the writer
// finishes it at the next 128th commit, so the WAL never holds much more
// than two cycles' frames, however slow the copy.
func TestSlowBackfillIsWaitedFor(t *testing.T) {
	cp, s, dir, hold := openHeld(t)
	insertRuns(t, s, 0, 200) // the backfill asked for at 128 is held
	done := make(chan error, 1)
	go func() { done <- tryInsertRuns(s, 200, 100) }() // the 256th commit waits for it
	select {
	case <-done:
		t.Fatal("the commits past the second cycle went on while the first backfill was still held")
	case <-time.After(300 * time.Millisecond):
	}
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if cp.backfills.Load() != 1 || cp.finishes.Load() != 1 {
		t.Fatalf("backfills %d, finishes %d: want the held backfill, then the writer's finish", cp.backfills.Load(), cp.finishes.Load())
	}
	if n := walFrames(t, dir); n > 1000 {
		t.Fatalf("the WAL holds %d frames ~40 commits after the checkpoint: it did not start over", n)
	}
}
