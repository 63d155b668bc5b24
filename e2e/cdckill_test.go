package e2e

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// cdcKill9 is one run of the change-capture kill -9 test (issue 24): two
// cdc flows over two tables of a real database, total row changes written
// in transactions of 1 to 5 (mixed inserts, updates and deletes), weft
// killed with kill -9 once some of them have runs, restarted on its data
// directory; afterwards every change has exactly one run and each table's
// runs were created in commit order.
type cdcKill9 struct {
	connector string            // postgres | mysql
	dsn       string            // the connection's DSN
	tables    map[string]string // flow -> the trigger's table
	started   string            // what a started capture's stored cursor contains
	total     int
	killAt    int // kill once the orders flow has this many runs
	// begin starts a transaction of the writer; exec runs one change in it
	// (q uses ? for its one argument).
	begin func() (exec func(q string, arg int) error, commit func() error, err error)
	// key reads a run's idempotency key into its commit position and its
	// place in the transaction.
	key func(t *testing.T, key string) (uint64, int)
}

func (c cdcKill9) run(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "weft.yaml")
	var deploy []string
	for name, table := range c.tables {
		p := filepath.Join(dir, name+".yaml")
		deploy = append(deploy, p)
		src := fmt.Sprintf("name: %s\ntrigger:\n  cdc: {connection: shop, table: %s}\nsteps:\n  - id: seen\n    set: {op: =trigger.op, table: =trigger.table}\n", name, table)
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(cfg, []byte("connections:\n  shop:\n    connector: "+c.connector+"\n    secrets: {dsn: \"${secret:SHOP_DSN}\"}\ndeploy: ["+strings.Join(deploy, ", ")+"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data"), "WEFT_SECRET_SHOP_DSN=" + c.dsn, "WEFT_LOG_LEVEL=warn"}
	srv := startServer(t, "", env, "--config", cfg)
	// Every capture has a position before the first change.
	deadline := time.Now().Add(20 * time.Second)
	for name := range c.tables {
		for {
			var res map[string]any
			srv.do("GET", "/api/flows/"+name, nil, &res)
			if cur, _ := res["trigger_cursor"].(string); strings.Contains(cur, c.started) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("flow %s never started its capture:\n%s", name, srv.logs())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	want := map[string]int{}
	writeErr := make(chan error, 1)
	go func() { writeErr <- c.write(want) }()

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
	for atKill < c.killAt {
		if time.Now().After(deadline) {
			t.Fatalf("too few runs before the kill deadline:\n%s", srv.logs())
		}
		time.Sleep(20 * time.Millisecond)
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
		var prevAt uint64
		prevP := -1
		for i, r := range runs {
			key, _ := r["idempotency_key"].(string)
			if seen[key] {
				t.Fatalf("%s: change %s started two runs", name, key)
			}
			seen[key] = true
			at, p := c.key(t, key)
			if i > 0 && (at < prevAt || at == prevAt && p <= prevP) {
				t.Fatalf("%s: run %d (%s) created after a later change: not commit order", name, i, key)
			}
			prevAt, prevP = at, p
		}
		t.Logf("%s: %d changes, %d runs, each once, in commit order", name, want[table], len(runs))
	}
}

// write makes c.total changes over orders and items (tables with columns
// id, a text, n), counting them per table in want.
func (c cdcKill9) write(want map[string]int) error {
	rng := rand.New(rand.NewSource(24))
	live := map[string][]int{"orders": nil, "items": nil}
	next := 1
	for written := 0; written < c.total; {
		n := min(1+rng.Intn(5), c.total-written)
		exec, commit, err := c.begin()
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			table := "orders"
			if rng.Intn(2) == 0 {
				table = "items"
			}
			ids := live[table]
			var q string
			var arg int
			switch r := rng.Intn(10); {
			case r < 6 || len(ids) < 5:
				q, arg = "INSERT INTO "+table+" VALUES (?, 'x', 0)", next
				live[table] = append(ids, next)
				next++
			case r < 9:
				q, arg = "UPDATE "+table+" SET n = n + 1 WHERE id = ?", ids[rng.Intn(len(ids))]
			default:
				k := rng.Intn(len(ids))
				q, arg = "DELETE FROM "+table+" WHERE id = ?", ids[k]
				live[table] = append(ids[:k], ids[k+1:]...)
			}
			if err := exec(q, arg); err != nil {
				return err
			}
			want[table]++
		}
		if err := commit(); err != nil {
			return err
		}
		written += n
	}
	return nil
}
