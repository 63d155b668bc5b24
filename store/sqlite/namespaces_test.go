package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/weftio/weft/store/sqlite"
	"github.com/weftio/weft/store/sqlstore"
	"github.com/weftio/weft/store/storetest"
)

// A database written before namespaces (schema 009, with data; and 012,
// merged before 010) opens, migrates in place (010 too, though 012 was
// there), and has everything in the default namespace.
func TestMigrateToNamespaces(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "weft.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.Migrate(ctx, db, storetest.MigrationsUpTo(t, sqlite.Migrations(), 9, 12), sqlstore.SQLite); err != nil {
		t.Fatal(err)
	}
	for _, q := range storetest.PreNamespaceRows {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s := openStore(t, dir)
	storetest.CheckMigratedToDefault(t, s)
}
