package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftio/weft/store/sqlite"
)

// TestIssue16_F22_SQLiteErrorsClassified: a full database, a busy one and
// a constraint violation, each produced for real by SQLite; the first two
// are "try again later" (503), the last is not.
func TestIssue16_F22_SQLiteErrorsClassified(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	open := func(pragmas string) *sql.DB {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)"+pragmas)
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { db.Close() })
		return db
	}
	ctx := context.Background()
	db := open("&_pragma=busy_timeout(0)")
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)`); err != nil {
		t.Fatal(err)
	}

	// Unique violation: the caller's problem, not the database's health.
	if _, err := db.Exec(`INSERT INTO t (id) VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	_, err := db.Exec(`INSERT INTO t (id) VALUES (1)`)
	if err == nil || sqlite.IsUnavailable(err) {
		t.Fatalf("constraint violation %v classified as unavailable", err)
	}

	// Busy: another connection holds the write lock.
	other := open("&_pragma=busy_timeout(0)")
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`INSERT INTO t (id) VALUES (2)`)
	if err == nil || !sqlite.IsUnavailable(err) {
		t.Fatalf("busy database: %v not classified as unavailable", err)
	}
	_, _ = conn.ExecContext(ctx, `ROLLBACK`)
	conn.Close()

	// Full: the database may not grow past its current pages.
	if _, err := db.Exec(`PRAGMA max_page_count = 8`); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if _, err = db.Exec(`INSERT INTO t (v) VALUES (?)`, strings.Repeat("x", 4000)); err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "full") || !sqlite.IsUnavailable(err) {
		t.Fatalf("full database: %v not classified as unavailable", err)
	}
}
