package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/weftio/weft/store/sqlite"
	"github.com/weftio/weft/store/sqlstore"
	"github.com/weftio/weft/store/storetest"
)

// Concurrent sync runs share transactions (their rows in the same
// multi-row INSERTs), and each caller still gets its own answer. Another
// connection holds the write lock while the callers start, so they queue
// up and the committer takes them as batches.
func TestGroupCommit(t *testing.T) {
	s, hold := lockedStore(t)
	c0, w0 := s.CommitStats()
	for _, dup := range []int{0, 4, 0} { // a duplicate fails its batch: each write is retried alone
		storetest.ConcurrentInsertRuns(t, s, 64, dup, hold)
	}
	c1, w1 := s.CommitStats()
	t.Logf("%d writes in %d commits", w1-w0, c1-c0)
	if w1-w0 != 3*(1+64)+4 || c1-c0 > (w1-w0)/4 {
		t.Fatalf("%d writes in %d commits: the committer did not batch queued writers", w1-w0, c1-c0)
	}
}

// Runs created with their jobs and finished by concurrent callers queued
// behind a held write lock: the committer inserts them together, enqueues
// their jobs with one insert, and updates them with one statement.
func TestGroupCommitRunWrites(t *testing.T) {
	s, hold := lockedStore(t)
	c0, w0 := s.CommitStats()
	storetest.ConcurrentRunWrites(t, s, 48, 0, 0, hold)
	c1, w1 := s.CommitStats()
	t.Logf("%d writes in %d commits", w1-w0, c1-c0)
	if c1-c0 > (w1-w0)/4 {
		t.Fatalf("%d writes in %d commits: the committer did not batch queued writers", w1-w0, c1-c0)
	}
	if n := s.RetriedBatches(); n != 0 {
		t.Fatalf("%d batches failed and were retried write by write; none should have", n)
	}
	// A duplicate key and a missing run each fail their batch, which is
	// then retried write by write: the others are written all the same.
	storetest.ConcurrentRunWrites(t, s, 48, 3, 2, hold)
	if n := s.RetriedBatches(); n == 0 {
		t.Fatal("no batch was retried: the duplicates and missing runs did not share a batch with the others")
	}
}

// lockedStore opens a store and returns with it hold: hold takes the
// database's write lock on another connection and returns the function
// that, half a second later, releases it, so that concurrent callers
// started in between queue up behind the lock.
func lockedStore(t *testing.T) (*sqlstore.Store, func() func()) {
	t.Helper()
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	blocker, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "weft.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blocker.Close() })
	return s, func() func() {
		conn, err := blocker.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
		return func() {
			time.Sleep(500 * time.Millisecond) // the callers queue behind the lock
			if _, err := conn.ExecContext(context.Background(), "COMMIT"); err != nil {
				t.Error(err)
			}
			conn.Close()
		}
	}
}
