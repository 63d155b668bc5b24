package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/weftio/weft/internal/mariadbtest"
)

// Issue 24: row changes on two tables of a real MariaDB (binlog, ROW
// format), read by two cdc flows on a mysql connection, with a kill -9 of
// weft in the middle: every change starts exactly one run, and each
// table's runs were created in commit order. WEFT_BINLOG_CHANGES sets the
// number of changes (default 2,000).
func TestBinlogCDCKill9ExactlyOneRunPerChange(t *testing.T) {
	total := 2000
	if v := os.Getenv("WEFT_BINLOG_CHANGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 || n > 1000000 {
			t.Fatalf("WEFT_BINLOG_CHANGES=%q: want a number from 100 to 1000000", v)
		}
		total = n
	}
	srv := mariadbtest.StartWith(t, mariadbtest.BinlogArgs...)
	srv.Exec(t, `CREATE DATABASE shop;
		CREATE TABLE shop.orders (id INT PRIMARY KEY, status VARCHAR(10), n INT);
		CREATE TABLE shop.items (id INT PRIMARY KEY, sku VARCHAR(10), n INT);
		CREATE USER 'weft'@'%' IDENTIFIED BY 'cdc-pw';
		GRANT SELECT ON shop.* TO 'weft'@'%';
		GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'weft'@'%'`)
	db, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/shop", srv.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	dsn := fmt.Sprintf("weft:cdc-pw@tcp(127.0.0.1:%d)/shop", srv.Port)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "weft.yaml")
	flows := map[string]string{"orders-cdc": "shop.orders", "items-cdc": "items"}
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
	if err := os.WriteFile(cfg, []byte("connections:\n  shop:\n    connector: mysql\n    secrets: {dsn: \"${secret:SHOP_DSN}\"}\ndeploy: ["+strings.Join(deploy, ", ")+"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data"), "WEFT_SECRET_SHOP_DSN=" + dsn, "WEFT_LOG_LEVEL=warn"}
	srv1 := startServer(t, "", env, "--config", cfg)
	// Both streams have a position before the first change.
	deadline := time.Now().Add(20 * time.Second)
	for name := range flows {
		for {
			var res map[string]any
			srv1.do("GET", "/api/flows/"+name, nil, &res)
			if c, _ := res["trigger_cursor"].(string); strings.Contains(c, `"file"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("flow %s never started its capture:\n%s", name, srv1.logs())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// The writer: changes in transactions of 1 to 5, mixed inserts,
	// updates and deletes over both tables.
	ctx := context.Background()
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
			tx, err := db.BeginTx(ctx, nil)
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
					q, args = "INSERT INTO "+table+" VALUES (?, 'x', 0)", []any{next}
					live[table] = append(ids, next)
					next++
				case r < 9:
					q, args = "UPDATE "+table+" SET n = n + 1 WHERE id = ?", []any{ids[rng.Intn(len(ids))]}
				default:
					k := rng.Intn(len(ids))
					q, args = "DELETE FROM "+table+" WHERE id = ?", []any{ids[k]}
					live[table] = append(ids[:k], ids[k+1:]...)
				}
				if _, err := tx.ExecContext(ctx, q, args...); err != nil {
					writeErr <- err
					return
				}
				want[table]++
			}
			if err := tx.Commit(); err != nil {
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
	for atKill < total/16 {
		if time.Now().After(deadline) {
			t.Fatalf("too few runs before the kill deadline:\n%s", srv1.logs())
		}
		time.Sleep(20 * time.Millisecond)
		atKill = len(count(srv1, "orders-cdc"))
	}
	srv1.kill9()
	t.Logf("killed at %d or more orders runs", atKill)
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	if atKill >= want["orders"] {
		t.Fatalf("the kill came after all %d orders changes had runs", want["orders"])
	}
	srv2 := startServer(t, srv1.addr, env, "--config", cfg)
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
		var prevSeq uint64
		prevP := -1
		for i, r := range runs {
			key, _ := r["idempotency_key"].(string)
			if seen[key] {
				t.Fatalf("%s: change %s started two runs", name, key)
			}
			seen[key] = true
			seq, p := parseBinlogKey(t, key)
			if i > 0 && (seq < prevSeq || seq == prevSeq && p <= prevP) {
				t.Fatalf("%s: run %d (%s) created after a later change: not commit order", name, i, key)
			}
			prevSeq, prevP = seq, p
		}
		t.Logf("%s: %d changes, %d runs, each once, in commit order", name, want[table], len(runs))
	}
}

// parseBinlogKey reads cdc:<domain>-<server>-<seq>#<pos> (a MariaDB GTID).
func parseBinlogKey(t *testing.T, key string) (uint64, int) {
	t.Helper()
	rest, ok := strings.CutPrefix(key, "cdc:")
	gtid, pos, ok2 := strings.Cut(rest, "#")
	parts := strings.Split(gtid, "-")
	p, err := strconv.Atoi(pos)
	if !ok || !ok2 || len(parts) != 3 || err != nil {
		t.Fatalf("idempotency key %q is not cdc:GTID#pos", key)
	}
	seq, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil {
		t.Fatalf("idempotency key %q: %v", key, err)
	}
	return seq, p
}
