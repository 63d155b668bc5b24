package sqlite_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/weftio/weft/store/sqlite"
	"github.com/weftio/weft/store/sqlstore"
)

// openStore opens a store in dir (default settings, logs discarded); it is
// closed when the test ends.
func openStore(tb testing.TB, dir string) *sqlstore.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), dir, slog.New(slog.DiscardHandler), 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// rawDB opens the store's database file in dir directly, beside the store,
// for what a test reads or writes under it; extra are further URI
// parameters (e.g. "&_pragma=query_only(1)"). Closed when the test ends.
func rawDB(tb testing.TB, dir, extra string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "weft.db")+"?_pragma=busy_timeout(10000)"+extra)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
