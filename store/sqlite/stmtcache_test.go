package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

func TestStatementCache(t *testing.T) {
	registerDriver()
	db, err := sql.Open(driverName, "file:"+filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	// A script without arguments runs every statement.
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (k INTEGER, v TEXT); CREATE INDEX t_k ON t (k);"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := db.ExecContext(ctx, "INSERT INTO t (k, v) VALUES (?, ?)", i, "v"); err != nil {
			t.Fatal(err)
		}
	}
	// The same query again while its rows are still open gets its own statement.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := tx.QueryContext(ctx, "SELECT k FROM t WHERE k >= ? ORDER BY k", 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for outer.Next() {
		var k int
		if err := outer.Scan(&k); err != nil {
			t.Fatal(err)
		}
		var inner int
		if err := tx.QueryRowContext(ctx, "SELECT k FROM t WHERE k >= ? ORDER BY k", k).Scan(&inner); err != nil || inner != k {
			t.Fatalf("nested query: %d %v", inner, err)
		}
		n++
	}
	outer.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Fatalf("outer rows %d", n)
	}
	// Rolled-back writes through cached statements are rolled back.
	tx, _ = db.BeginTx(ctx, nil)
	if _, err := tx.ExecContext(ctx, "INSERT INTO t (k, v) VALUES (?, ?)", 99, "x"); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback()
	var count int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t WHERE k = ?", 99).Scan(&count); err != nil || count != 0 {
		t.Fatalf("count %d %v", count, err)
	}
	// Errors surface and leave the cache usable.
	if _, err := db.ExecContext(ctx, "INSERT INTO nope (k) VALUES (?)", 1); err == nil {
		t.Fatal("want an error")
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t WHERE k >= ?", 0).Scan(&count); err != nil || count != 5 {
		t.Fatalf("count %d %v", count, err)
	}
}
