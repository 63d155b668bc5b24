package postgres_test

import (
	"context"
	"database/sql"
	"log/slog"
	"testing"

	"github.com/weftio/weft/internal/pgtest"
	"github.com/weftio/weft/store/postgres"
	"github.com/weftio/weft/store/sqlstore"
	"github.com/weftio/weft/store/storetest"
)

// A database written before namespaces (schema 009, with data; and 012,
// merged before 010) opens, migrates in place (010 too, though 012 was
// there), and has everything in the default namespace.
func TestMigrateToNamespaces(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Shared(t).NewDatabase(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.Migrate(ctx, db, storetest.MigrationsUpTo(t, postgres.Migrations(), 9, 12), sqlstore.Postgres); err != nil {
		t.Fatal(err)
	}
	for _, q := range storetest.PreNamespaceRows {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s, err := postgres.Open(ctx, url, slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckMigratedToDefault(t, s)
}
