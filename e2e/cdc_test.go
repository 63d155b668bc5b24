package e2e

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

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
	dir := t.TempDir()
	cfg := filepath.Join(dir, "weft.yaml")
	flows := map[string]string{"orders-cdc": "public.orders", "items-cdc": "items"}
	var deploy []string
	for name, table := range flows {
		p := filepath.Join(dir, name+".yaml")
		deploy = append(deploy, p)
		src := fmt.Sprintf(`name: %s
trigger:
  cdc: {connection: shop, table: %s}
steps:
  - id: seen
    set: {op: =trigger.op, table: =trigger.table}
`, name, table)
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(cfg, []byte("connections:\n  shop:\n    connector: postgres\n    secrets: {dsn: \"${secret:SHOP_DSN}\"}\ndeploy: ["+strings.Join(deploy, ", ")+"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data"), "WEFT_SECRET_SHOP_DSN=" + dsn, "WEFT_LOG_LEVEL=warn"}
	srv := startServer(t, "", env, "--config", cfg)
	// Both slots exist before the first change.
	deadline := time.Now().Add(20 * time.Second)
	for name := range flows {
		for {
			var res map[string]any
			srv.do("GET", "/api/flows/"+name, nil, &res)
			if c, _ := res["trigger_cursor"].(string); strings.Contains(c, `"lsn"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("flow %s never started its capture:\n%s", name, srv.logs())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// The writer: 10,000 changes in transactions of 1 to 5 changes, mixed
	// inserts, updates and deletes over both tables.
	const total = 10000
	want := map[string]int{}
	writeErr := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewSource(24))
		live := map[string][]int{"orders": nil, "items": nil}
		next := 1
		written := 0
		for written < total {
			n := 1 + rng.Intn(5)
			if n > total-written {
				n = total - written
			}
			tx, err := db.Begin(ctx)
			if err != nil {
				writeErr <- err
				return
			}
			for i := 0; i < n; i++ {
				table := "orders"
				if rng.Intn(2) == 0 {
					table = "items"
				}
				ids := live[table]
				var q string
				var args []any
				switch r := rng.Intn(10); {
				case r < 6 || len(ids) < 5:
					q, args = "INSERT INTO "+table+" VALUES ($1, 'x', 0)", []any{next}
					live[table] = append(ids, next)
					next++
				case r < 9:
					q, args = "UPDATE "+table+" SET n = n + 1 WHERE id = $1", []any{ids[rng.Intn(len(ids))]}
				default:
					k := rng.Intn(len(ids))
					q, args = "DELETE FROM "+table+" WHERE id = $1", []any{ids[k]}
					live[table] = append(ids[:k], ids[k+1:]...)
				}
				if _, err := tx.Exec(ctx, q, args...); err != nil {
					writeErr <- err
					return
				}
				want[table]++
			}
			if err := tx.Commit(ctx); err != nil {
				writeErr <- err
				return
			}
			written += n
		}
		writeErr <- nil
	}()

	count := func(s *server, flow string) []map[string]any {
		var all []map[string]any
		before := ""
		for {
			var page struct {
				Runs []map[string]any `json:"runs"`
			}
			q := "/api/runs?flow=" + flow + "&limit=1000"
			if before != "" {
				q += "&before=" + before
			}
			s.do("GET", q, nil, &page)
			all = append(all, page.Runs...)
			if len(page.Runs) < 1000 {
				return all
			}
			before = page.Runs[len(page.Runs)-1]["id"].(string)
		}
	}
	// Kill -9 once some, not all, of the changes have runs.
	deadline = time.Now().Add(90 * time.Second)
	atKill := 0
	for atKill < total/8 {
		if time.Now().After(deadline) {
			t.Fatalf("too few runs before the kill deadline:\n%s", srv.logs())
		}
		time.Sleep(50 * time.Millisecond)
		atKill = len(count(srv, "orders-cdc"))
	}
	srv.kill9()
	t.Logf("killed at %d or more orders runs", atKill)
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	if atKill >= want["orders"] {
		t.Fatalf("the kill came after all %d orders changes had runs", want["orders"])
	}
	srv2 := startServer(t, srv.addr, env, "--config", cfg)
	for name, table := range map[string]string{"orders-cdc": "orders", "items-cdc": "items"} {
		deadline := time.Now().Add(3 * time.Minute)
		var runs []map[string]any
		for {
			runs = count(srv2, name)
			if len(runs) >= want[table] || time.Now().After(deadline) {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		time.Sleep(1500 * time.Millisecond) // nothing more may come
		runs = count(srv2, name)
		if len(runs) != want[table] {
			t.Fatalf("%s: %d runs for %d changes\n%s", name, len(runs), want[table], srv2.logs())
		}
		// Oldest first by id (UUIDv7, the creation order).
		sort.Slice(runs, func(i, j int) bool { return runs[i]["id"].(string) < runs[j]["id"].(string) })
		seen := map[string]bool{}
		var prevL uint64
		prevP := -1
		for i, r := range runs {
			key, _ := r["idempotency_key"].(string)
			if seen[key] {
				t.Fatalf("%s: change %s started two runs", name, key)
			}
			seen[key] = true
			l, p := parseCDCKey(t, key)
			if i > 0 && (l < prevL || l == prevL && p <= prevP) {
				t.Fatalf("%s: run %d (%s) created after a later change: not commit order", name, i, key)
			}
			prevL, prevP = l, p
		}
		t.Logf("%s: %d changes, %d runs, each once, in commit order", name, want[table], len(runs))
	}
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
