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

// openHeld opens a store whose backfills wait until hold is closed and
// whose writer finishes a checkpoint once the WAL holds restartAt frames
// (0: after every backfill).
func openHeld(t *testing.T, restartAt int64) (*checkpointer, store.Store, string, chan struct{}) {
	t.Helper()
	hold := make(chan struct{})
	var cp *checkpointer
	testCheckpointer = func(c *checkpointer) { c.hold = hold; c.restartAt = restartAt; cp = c }
	defer func() { testCheckpointer = nil }()
	dir := t.TempDir()
	s, err := Open(context.Background(), dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return cp, s, dir, hold
}

// The writer does not wait for the backfill (the writer here finishes
// after every backfill, whatever the WAL's length): while a backfill is held
// (asked for after the 128th commit, not yet run), the group committer
// goes on committing and answering. Once it has run, it has copied the
// WAL; the writer's finish, after the next commit, copies only that
// commit's frames, and the commit after starts the WAL over.
func TestBackfillCopiesWhileCommitsGoOn(t *testing.T) {
	cp, s, dir, hold := openHeld(t, 0)
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
	cp, s, dir, hold := openHeld(t, 0)
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

// The writer's finish leaves a WAL shorter than restartAt alone: it copies
// nothing (no fsync, no stop), and the next cycle's backfill copies on;
// once a backfill has seen the WAL at restartAt frames, the finish copies
// the rest, and the next commit starts the WAL over.
func TestFinishWaitsForALongWAL(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "weft.db")
	registerDriver()
	// No automatic checkpoint: the WAL keeps every frame until finish.
	db, err := sql.Open(driverName, "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(0)&_pragma=synchronous(NORMAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if _, err := db.Exec("INSERT INTO t (v) VALUES (randomblob(3000))"); err != nil {
			t.Fatal(err)
		}
	}
	cp := &checkpointer{restartAt: 1000}
	cp.walFrames.Store(999) // what the last backfill saw
	cp.finish(db)
	if cp.finishes.Load() != 0 || cp.skipped.Load() != 1 || cp.finishedFrames.Load() != 0 {
		t.Fatalf("finishes %d, skipped %d, frames copied %d: a WAL below restartAt was checkpointed", cp.finishes.Load(), cp.skipped.Load(), cp.finishedFrames.Load())
	}
	cp.walFrames.Store(1000)
	cp.finish(db)
	if cp.finishes.Load() != 1 || cp.finishedFrames.Load() < 50 {
		t.Fatalf("finishes %d, frames copied %d: the WAL at restartAt was not checkpointed", cp.finishes.Load(), cp.finishedFrames.Load())
	}
	if cp.copied.Load() != 0 {
		t.Fatalf("%d frames marked copied after a finish that copied the whole WAL: want 0 (it starts over)", cp.copied.Load())
	}
	if _, err := db.Exec("INSERT INTO t (v) VALUES (1)"); err != nil { // starts the WAL over
		t.Fatal(err)
	}
	if n := walFrames(t, dir); n > 5 {
		t.Fatalf("the WAL holds %d frames after the finish and one commit: it did not start over", n)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil || n != 51 {
		t.Fatalf("rows %d (%v), want 51", n, err)
	}
}
