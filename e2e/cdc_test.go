package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/weftio/weft/internal/pgtest"
)

// Issue 24: 10,000 row changes on two tables of a real PostgreSQL, read by
// two cdc flows, with a kill -9 of weft in the middle: every change starts
// exactly one run, and each table's runs were created in commit order.
func TestCDCKill9ExactlyOneRunPerChange(t *testing.T) {
	ctx := context.Background()
	dsn, db := cdcDatabase(t,
		`CREATE TABLE orders (id int PRIMARY KEY, status text, n int)`,
		`CREATE TABLE items (id int PRIMARY KEY, sku text, n int)`,
		`ALTER TABLE orders REPLICA IDENTITY FULL`,
		`ALTER TABLE items REPLICA IDENTITY FULL`)
	cdcKill9{connector: "postgres", dsn: dsn, tables: map[string]string{"orders-cdc": "public.orders", "items-cdc": "items"},
		started: `"lsn"`, total: 10000, killAt: 10000 / 8, key: parseCDCKey,
		begin: func() (func(string, int) error, func() error, error) {
			tx, err := db.Begin(ctx)
			if err != nil {
				return nil, nil, err
			}
			exec := func(q string, arg int) error {
				_, err := tx.Exec(ctx, strings.Replace(q, "?", "$1", 1), arg)
				return err
			}
			return exec, func() error { return tx.Commit(ctx) }, nil
		}}.run(t)
}

// cdcDatabase starts a PostgreSQL with wal_level=logical, makes a
// database, runs setup in it and returns its DSN and a connection (closed
// at the end of the test).
func cdcDatabase(t *testing.T, setup ...string) (string, *pgx.Conn) {
	t.Helper()
	if pgtest.BinDir() == "" {
		t.Fatal("PostgreSQL server binaries (initdb, pg_ctl) not found: install them with `sudo apt-get install -y postgresql` (or set WEFT_PG_BIN)")
	}
	dsn := pgtest.StartWith(t, "wal_level=logical").NewDatabase(t)
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	for _, q := range setup {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	return dsn, db
}

func parseCDCKey(t *testing.T, key string) (uint64, int) {
	t.Helper()
	rest, ok := strings.CutPrefix(key, "cdc:")
	lsn, pos, ok2 := strings.Cut(rest, "#")
	hi, lo, ok3 := strings.Cut(lsn, "/")
	h, err1 := strconv.ParseUint(hi, 16, 64)
	l, err2 := strconv.ParseUint(lo, 16, 64)
	p, err3 := strconv.Atoi(pos)
	if !ok || !ok2 || !ok3 || err1 != nil || err2 != nil || err3 != nil {
		t.Fatalf("idempotency key %q is not cdc:LSN#pos", key)
	}
	return h<<32 | l, p
}
