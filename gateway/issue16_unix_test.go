//go:build linux || darwin

package gateway_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	_ "modernc.org/sqlite" // a connection of the test's own to the store's file

	"github.com/weftio/weft/store/sqlite"
)

// diskFull makes the SQLite database at path behave as on a full disk, for
// real: it checkpoints the WAL to zero bytes (on a connection of its own)
// and caps the size of every file this process writes at the WAL's size
// (RLIMIT_FSIZE). The kernel then refuses to grow the WAL (EFBIG), so the
// store's next commit fails inside SQLite, as when the disk fills up; reads
// still work. The returned func lifts the cap (also done at cleanup). Go
// ignores SIGXFSZ, so the process is not killed.
func diskFull(t *testing.T, path string) (lift func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	truncated := false
	for i := 0; i < 50 && !truncated; i++ {
		var busy, logFrames, done int
		if err := db.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
			t.Fatal(err)
		}
		truncated = busy == 0
	}
	if !truncated {
		t.Fatal("could not checkpoint the WAL")
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	capped := old
	capped.Cur = uint64(fi.Size())
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &capped); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	lift = func() {
		once.Do(func() {
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
				t.Errorf("lift the file size cap: %v", err)
			}
		})
	}
	t.Cleanup(lift)
	return lift
}

// TestIssue16_F21_SyncRunNotRecordedAnswers503SQLiteDiskFull: the disk
// fills up under three synchronous runs on SQLite; every caller must get
// 503, never a 200 for a run that was not recorded.
func TestIssue16_F21_SyncRunNotRecordedAnswers503SQLiteDiskFull(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), dir, slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	srv := serveStore(t, st)
	var lift func()
	replies := syncCallsWhileStoreFails(t, srv, func() { lift = diskFull(t, filepath.Join(dir, "weft.db")) })
	lift()
	for i, r := range replies {
		if r.status == http.StatusOK || r.status == http.StatusCreated {
			t.Errorf("call %d answered %d for a run that was not recorded: %s", i, r.status, r.body)
		}
		checkUnavailable(t, fmt.Sprintf("call %d", i), r, dir)
	}
	// The disk has room again: the next call is served and recorded.
	if r := post(t, srv.URL+"/hooks/slow", `{"n": 9}`); r.status != http.StatusCreated {
		t.Fatalf("after the disk has room: %d %s", r.status, r.body)
	}
}
