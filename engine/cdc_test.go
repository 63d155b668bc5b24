package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftio/weft/connectors"
	sqlconn "github.com/weftio/weft/connectors/sql"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/pgtest"
	"github.com/weftio/weft/store"
)

// logicalPG starts a PostgreSQL of the test's own with wal_level=logical
// and returns a fresh database's URL.
func logicalPG(t testing.TB, settings ...string) (*pgtest.Server, string) {
	t.Helper()
	if pgtest.BinDir() == "" {
		t.Fatal("PostgreSQL server binaries (initdb, pg_ctl) not found: install them with `sudo apt-get install -y postgresql` (or set WEFT_PG_BIN)")
	}
	pg := pgtest.StartWith(t, settings...)
	return pg, pg.NewDatabase(t)
}

func pgExec(t *testing.T, url string, sqls ...string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for _, q := range sqls {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// dropSlot drops a replication slot once the server has let go of it: a
// closed stream's walsender may hold it a moment longer ("is active for
// PID …"), more so on a loaded machine.
func dropSlot(t *testing.T, url, slot string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := c.Exec(ctx, "SELECT pg_drop_replication_slot($1)", slot)
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "is active for PID") || time.Now().After(deadline) {
			t.Fatalf("dropping slot %s: %v", slot, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cdcEngine is an engine with the postgres connector and a connection
// "src" to url.
func cdcEngine(t testing.TB, url string) *engine.Engine {
	t.Helper()
	e := newEngine(t)
	e.Catalog().Register(sqlconn.New(sqlconn.Postgres, sqlconn.Options{}))
	if err := e.Catalog().AddConnection(&connectors.Connection{Name: "src", Connector: "postgres", Secrets: map[string]string{"dsn": url}}); err != nil {
		t.Fatal(err)
	}
	return e
}

const ordersFlow = `name: orders-cdc
trigger:
  cdc: {connection: src, table: public.orders, on: [insert, update, delete]}
steps:
  - id: s
    set: {op: =trigger.op}
`

type cdcRun struct {
	key, op string
	newRow  map[string]any
	oldRow  map[string]any
	lsn     string
	pos     int64
}

// cdcRuns returns the flow's runs in creation order with their trigger.
func cdcRuns(t *testing.T, st store.Store, flowName string) []cdcRun {
	t.Helper()
	runs, err := st.ListRuns(context.Background(), store.RunFilter{Flow: flowName, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID < runs[j].ID }) // UUIDv7: creation order
	var out []cdcRun
	for _, r := range runs {
		var in struct {
			Op       string         `json:"op"`
			New      map[string]any `json:"new"`
			Old      map[string]any `json:"old"`
			LSN      string         `json:"lsn"`
			Position int64          `json:"position"`
		}
		if err := json.Unmarshal(r.Input, &in); err != nil {
			t.Fatalf("run %s input: %v", r.ID, err)
		}
		out = append(out, cdcRun{key: r.IdemKey, op: in.Op, newRow: in.New, oldRow: in.Old, lsn: in.LSN, pos: in.Position})
	}
	return out
}

func waitCursor(t testing.TB, st store.Store, flowName string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, _ := st.TriggerCursor(context.Background(), flowName); c != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the cdc trigger never stored a position (slot not created)")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitRunCount(t *testing.T, st store.Store, flowName string, n int, within time.Duration) []cdcRun {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := cdcRuns(t, st, flowName)
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("%d runs, want %d", len(got), n)
			}
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestCDCTriggerInsertsUpdatesDeletesInCommitOrder(t *testing.T) {
	_, url := logicalPG(t, "wal_level=logical")
	pgExec(t, url, `CREATE TABLE orders (id int PRIMARY KEY, status text, total numeric, tags jsonb)`,
		`ALTER TABLE orders REPLICA IDENTITY FULL`)
	e := cdcEngine(t, url)
	// The run fails on purpose, with a message made of trigger fields: the
	// run's error shows what the steps saw.
	deploy(t, e, strings.Replace(ordersFlow, "    set: {op: =trigger.op}", `    fail:
      message: "='saw ' + trigger.op + ' on ' + trigger.table + ' id ' + string(trigger.op == 'delete' ? trigger.old.id : trigger.new.id)"
      code: seen`, 1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 100*time.Millisecond)
	waitCursor(t, e.Store(), "orders-cdc")

	pgExec(t, url,
		`INSERT INTO orders VALUES (1, 'new', 10.50, '{"a": 1}')`,
		`INSERT INTO orders VALUES (2, 'new', 20, null)`,
		`UPDATE orders SET status = 'paid' WHERE id = 1`,
		`DELETE FROM orders WHERE id = 2`,
		// one transaction with three changes
		`BEGIN; INSERT INTO orders VALUES (3, 'new', 1, null); UPDATE orders SET total = 2 WHERE id = 3; DELETE FROM orders WHERE id = 1; COMMIT`,
	)
	runs := waitRunCount(t, e.Store(), "orders-cdc", 7, 20*time.Second)
	want := []struct {
		op       string
		newID    any
		newField string
		newVal   any
		oldID    any
		oldField string
		oldVal   any
	}{
		{"insert", float64(1), "status", "new", nil, "", nil},
		{"insert", float64(2), "total", "20", nil, "", nil},
		{"update", float64(1), "status", "paid", float64(1), "status", "new"},
		{"delete", nil, "", nil, float64(2), "status", "new"},
		{"insert", float64(3), "total", "1", nil, "", nil},
		{"update", float64(3), "total", "2", float64(3), "total", "1"},
		{"delete", nil, "", nil, float64(1), "status", "paid"},
	}
	for i, w := range want {
		r := runs[i]
		if r.op != w.op {
			t.Fatalf("run %d: op %q, want %q (runs %+v)", i, r.op, w.op, runs)
		}
		if w.newID != nil && (r.newRow["id"] != w.newID || r.newRow[w.newField] != w.newVal) {
			t.Errorf("run %d (%s): new %v, want id %v %s=%v", i, r.op, r.newRow, w.newID, w.newField, w.newVal)
		}
		if w.newID == nil && r.newRow != nil {
			t.Errorf("run %d (%s): new %v, want none", i, r.op, r.newRow)
		}
		if w.oldID != nil && (r.oldRow["id"] != w.oldID || r.oldRow[w.oldField] != w.oldVal) {
			t.Errorf("run %d (%s): old %v, want id %v %s=%v", i, r.op, r.oldRow, w.oldID, w.oldField, w.oldVal)
		}
		if w.oldID == nil && r.oldRow != nil {
			t.Errorf("run %d (%s): old %v, want none", i, r.op, r.oldRow)
		}
	}
	if tags, _ := runs[0].newRow["tags"].(map[string]any); tags["a"] != float64(1) {
		t.Errorf("jsonb column decoded as %v", runs[0].newRow["tags"])
	}
	// The three changes of one transaction share its LSN, in order.
	if runs[4].lsn != runs[6].lsn || runs[4].pos != 0 || runs[5].pos != 1 || runs[6].pos != 2 {
		t.Errorf("one transaction's changes: %+v", runs[4:])
	}
	// The steps saw trigger.op, trigger.table and the rows.
	for i, r := range runs {
		id := r.newRow["id"]
		if r.op == "delete" {
			id = r.oldRow["id"]
		}
		run, err := e.Store().ListRuns(context.Background(), store.RunFilter{Flow: "orders-cdc", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range run {
			if x.IdemKey != r.key {
				continue
			}
			got := waitRun(t, e, x.ID, store.RunFailed)
			if want := fmt.Sprintf("saw %s on public.orders id %v", r.op, id); got.ErrorMessage != want {
				t.Errorf("run %d: step saw %q, want %q", i, got.ErrorMessage, want)
			}
		}
	}
	// The stream reports its lag for /metrics.
	if sts := e.CDCStatuses(); len(sts) != 1 || sts[0].Flow != "orders-cdc" || sts[0].Slot != engine.CDCSlotName("orders-cdc") || sts[0].Error != "" || sts[0].LagBytes < 0 {
		t.Errorf("statuses %+v", sts)
	}
	// Nothing more comes, and the slot's confirmed position reached the
	// stored cursor (the last transaction).
	time.Sleep(time.Second)
	if n := len(cdcRuns(t, e.Store(), "orders-cdc")); n != 7 {
		t.Fatalf("%d runs after quiet, want 7", n)
	}
	cancel()
	time.Sleep(300 * time.Millisecond)
	cur, _ := e.Store().TriggerCursor(context.Background(), "orders-cdc")
	var c struct{ LSN string }
	_ = json.Unmarshal([]byte(cur), &c)
	var confirmed string
	pc, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(context.Background())
	if err := pc.QueryRow(context.Background(), "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", engine.CDCSlotName("orders-cdc")).Scan(&confirmed); err != nil {
		t.Fatal(err)
	}
	if confirmed != c.LSN {
		t.Errorf("slot confirmed %s, stored cursor %s", confirmed, c.LSN)
	}
	// A redeploy without the cdc trigger lets go of the slot (it is no
	// longer active), and keeps it.
	slotActive := func() bool {
		var active bool
		if err := pc.QueryRow(context.Background(), "SELECT active FROM pg_replication_slots WHERE slot_name = $1", engine.CDCSlotName("orders-cdc")).Scan(&active); err != nil {
			t.Fatal(err)
		}
		return active
	}
	c2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	done2 := make(chan struct{})
	go func() { e.RunTriggers(c2, 100*time.Millisecond); close(done2) }()
	for deadline := time.Now().Add(10 * time.Second); !slotActive(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stream did not reopen")
		}
	}
	deploy(t, e, "name: orders-cdc\nsteps:\n  - set: {a: 1}\n")
	for deadline := time.Now().Add(10 * time.Second); slotActive(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the slot stays active after the cdc trigger went away")
		}
	}
	if sts := e.CDCStatuses(); len(sts) != 0 {
		t.Errorf("statuses after the trigger went away: %+v", sts)
	}
	cancel2()
	<-done2
	deploy(t, e, ordersFlow)
	// Dropping the flow's capture removes the slot and the publication.
	if err := e.DropCDC(context.Background(), "orders-cdc"); err != nil {
		t.Fatal(err)
	}
	var n int
	_ = pc.QueryRow(context.Background(), "SELECT (SELECT count(*) FROM pg_replication_slots) + (SELECT count(*) FROM pg_publication)").Scan(&n)
	if n != 0 {
		t.Errorf("%d slots and publications left after DropCDC", n)
	}
}

// A process that dies after committing runs but before storing the
// position: the next process replays those changes and starts no second
// run; one that stops mid-stream loses nothing.
func TestCDCTriggerRestartLosesAndDuplicatesNothing(t *testing.T) {
	_, url := logicalPG(t, "wal_level=logical")
	pgExec(t, url, `CREATE TABLE orders (id int PRIMARY KEY, status text)`, `ALTER TABLE orders REPLICA IDENTITY FULL`)
	e := cdcEngine(t, url)
	deploy(t, e, ordersFlow)
	ctx := context.Background()
	st := e.Store()
	pull, fire := handDriven(t, e, "orders-cdc")
	src := engine.CDCSource(e)
	_, first := pull(src)
	if err := st.SetTriggerCursor(ctx, "orders-cdc", first); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 20; i++ {
		pgExec(t, url, fmt.Sprintf("INSERT INTO orders VALUES (%d, 'new')", i))
	}
	var evs []engine.Event
	for deadline := time.Now().Add(10 * time.Second); len(evs) < 20 && time.Now().Before(deadline); {
		evs, _ = pull(src)
	}
	if len(evs) != 20 {
		t.Fatalf("%d events, want 20", len(evs))
	}
	// Crash: half the runs committed, the position never stored.
	if d := fire(evs[:10]); d != 0 {
		t.Fatalf("%d duplicates on first fire", d)
	}
	engine.CloseCDCSource(src)

	src2 := engine.CDCSource(e)
	var evs2 []engine.Event
	var next string
	for deadline := time.Now().Add(15 * time.Second); len(evs2) < 20 && time.Now().Before(deadline); {
		evs2, next = pull(src2)
	}
	if len(evs2) != 20 {
		t.Fatalf("after restart %d events, want the 20 unconfirmed ones again", len(evs2))
	}
	if d := fire(evs2); d != 10 {
		t.Fatalf("%d replayed changes recognised as duplicates, want 10", d)
	}
	if err := st.SetTriggerCursor(ctx, "orders-cdc", next); err != nil {
		t.Fatal(err)
	}
	engine.CloseCDCSource(src2)

	// Now a live restart under a stream of writes: two engines in turn
	// over the same store, the first stopped mid-stream.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 21; i <= 300; i++ {
			if i%10 == 0 {
				pgExec(t, url, fmt.Sprintf("BEGIN; INSERT INTO orders VALUES (%d, 'new'); UPDATE orders SET status = 'x' WHERE id = %d; COMMIT", i, i-1))
			} else {
				pgExec(t, url, fmt.Sprintf("INSERT INTO orders VALUES (%d, 'new')", i))
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	c1, stop1 := context.WithCancel(ctx)
	done1 := make(chan struct{})
	go func() { e.RunTriggers(c1, 50*time.Millisecond); close(done1) }()
	for deadline := time.Now().Add(20 * time.Second); len(cdcRuns(t, st, "orders-cdc")) < 60 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	stop1()
	<-done1
	e2 := engine.New(st, e.Catalog(), nil, engine.Config{})
	c2, stop2 := context.WithCancel(ctx)
	defer stop2()
	go e2.RunTriggers(c2, 50*time.Millisecond)
	wg.Wait()
	want := 300 + 28 // 300 inserts, 28 updates (i = 30, 40, ..., 300 update i-1... ten per hundred)
	runs := waitRunCount(t, st, "orders-cdc", want, 30*time.Second)
	seen := map[string]bool{}
	inserted := map[float64]bool{}
	for i, r := range runs {
		if seen[r.key] {
			t.Fatalf("change %s started two runs", r.key)
		}
		seen[r.key] = true
		if r.op == "insert" {
			inserted[r.newRow["id"].(float64)] = true
		}
		if i > 0 {
			p := runs[i-1]
			if lsnLess(r.lsn, p.lsn) || r.lsn == p.lsn && r.pos <= p.pos {
				t.Fatalf("run %d (%s#%d) created after %s#%d: not commit order", i, r.lsn, r.pos, p.lsn, p.pos)
			}
		}
	}
	if len(inserted) != 300 {
		t.Fatalf("%d distinct inserted ids ran, want 300", len(inserted))
	}
}

func lsnLess(a, b string) bool {
	var ah, al, bh, bl uint64
	fmt.Sscanf(a, "%X/%X", &ah, &al)
	fmt.Sscanf(b, "%X/%X", &bh, &bl)
	return ah<<32|al < bh<<32|bl
}

// Set-up problems are errors that say what to do.
func TestCDCTriggerSetUpErrors(t *testing.T) {
	ctx := context.Background()
	pullErr := func(t *testing.T, e *engine.Engine, src string, cursor string) error {
		t.Helper()
		deploy(t, e, src)
		f, _, err := e.Flow(ctx, "orders-cdc", 0)
		if err != nil {
			t.Fatal(err)
		}
		source := engine.CDCSource(e)
		defer engine.CloseCDCSource(source)
		_, _, err = source.Pull(ctx, f, cursor, time.Now())
		return err
	}
	t.Run("wal_level replica", func(t *testing.T) {
		_, url := logicalPG(t, "wal_level=replica")
		pgExec(t, url, `CREATE TABLE orders (id int PRIMARY KEY)`)
		err := pullErr(t, cdcEngine(t, url), ordersFlow, "")
		if err == nil || !strings.Contains(err.Error(), "wal_level=replica") || !strings.Contains(err.Error(), "ALTER SYSTEM SET wal_level = logical") {
			t.Fatalf("err %v", err)
		}
	})
	_, url := logicalPG(t, "wal_level=logical")
	pgExec(t, url, `CREATE TABLE orders (id int PRIMARY KEY, status text)`)
	t.Run("replica identity", func(t *testing.T) {
		err := pullErr(t, cdcEngine(t, url), ordersFlow, "")
		if err == nil || !strings.Contains(err.Error(), "ALTER TABLE \"public\".\"orders\" REPLICA IDENTITY FULL") {
			t.Fatalf("err %v", err)
		}
		// Inserts alone need no old rows.
		err = pullErr(t, cdcEngine(t, url), strings.Replace(ordersFlow, "[insert, update, delete]", "[insert]", 1), "")
		if err != nil {
			t.Fatalf("insert-only: %v", err)
		}
	})
	pgExec(t, url, `ALTER TABLE orders REPLICA IDENTITY FULL`)
	t.Run("missing table", func(t *testing.T) {
		err := pullErr(t, cdcEngine(t, url), strings.Replace(ordersFlow, "public.orders", "public.nope", 1), "")
		if err == nil || !strings.Contains(err.Error(), "table public.nope does not exist") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("no REPLICATION", func(t *testing.T) {
		pgExec(t, url, `CREATE ROLE app LOGIN`, `GRANT ALL ON orders TO app`)
		appURL := strings.Replace(url, "postgres@", "app@", 1)
		err := pullErr(t, cdcEngine(t, appURL), ordersFlow, "")
		if err == nil || !strings.Contains(err.Error(), `ALTER ROLE "app" REPLICATION`) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("egress policy", func(t *testing.T) {
		e := cdcEngine(t, url)
		deploy(t, e, ordersFlow)
		dials := 0
		e2 := engine.New(e.Store(), e.Catalog(), nil, engine.Config{Dialer: func(who string) func(ctx context.Context, network, addr string) (net.Conn, error) {
			return func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials++
				return nil, fmt.Errorf("egress: %s to %s refused", who, addr)
			}
		}})
		f, _, _ := e2.Flow(ctx, "orders-cdc", 0)
		_, _, err := engine.CDCSource(e2).Pull(ctx, f, "", time.Now())
		if err == nil || !strings.Contains(err.Error(), "connection src to 127.0.0.1") || dials == 0 {
			t.Fatalf("err %v (dials %d)", err, dials)
		}
	})
	t.Run("alert while it lasts", func(t *testing.T) {
		e := cdcEngine(t, url)
		deploy(t, e, strings.Replace(ordersFlow, "public.orders", "public.later", 1))
		var got []engine.CDCTrouble
		e2 := engine.New(e.Store(), e.Catalog(), nil, engine.Config{CDCAlertAfter: 10 * time.Second,
			OnCDC: func(_ context.Context, tr engine.CDCTrouble) { got = append(got, tr) }})
		f, _, _ := e2.Flow(ctx, "orders-cdc", 0)
		src := engine.CDCSource(e2)
		defer engine.CloseCDCSource(src)
		t0 := time.Now()
		pull := func(at time.Duration) (string, error) {
			_, next, err := src.Pull(ctx, f, "", t0.Add(at))
			return next, err
		}
		if _, err := pull(0); err == nil || len(got) != 0 {
			t.Fatalf("first failure: %v, alerts %+v (none yet: it must last)", err, got)
		}
		if _, err := pull(6 * time.Second); err == nil || len(got) != 0 {
			t.Fatalf("6 s: %v, alerts %+v", err, got)
		}
		if _, err := pull(12 * time.Second); err == nil || len(got) != 1 || got[0].Resolved || !strings.Contains(got[0].Message, "public.later does not exist") {
			t.Fatalf("12 s: %v, alerts %+v", err, got)
		}
		pull(18 * time.Second) // still failing: no second alert
		pgExec(t, url, `CREATE TABLE later (id int PRIMARY KEY)`, `ALTER TABLE later REPLICA IDENTITY FULL`)
		if next, err := pull(24 * time.Second); err != nil || next == "" || len(got) != 2 || !got[1].Resolved || got[1].Flow != "orders-cdc" {
			t.Fatalf("fixed: %q %v, alerts %+v", next, err, got)
		}
		engine.CloseCDCSource(src)
		dropSlot(t, url, engine.CDCSlotName("orders-cdc"))
	})
	t.Run("second process waits", func(t *testing.T) {
		e := cdcEngine(t, url)
		deploy(t, e, ordersFlow)
		f, _, _ := e.Flow(ctx, "orders-cdc", 0)
		a, b := engine.CDCSource(e), engine.CDCSource(e)
		defer engine.CloseCDCSource(a)
		defer engine.CloseCDCSource(b)
		_, cur, err := a.Pull(ctx, f, "", time.Now())
		if err != nil || cur == "" {
			t.Fatalf("first process: %q %v", cur, err)
		}
		// The slot streams to the first process: the second starts nothing
		// and reports no error.
		evs, next, err := b.Pull(ctx, f, cur, time.Now())
		if err != nil || len(evs) != 0 || next != cur {
			t.Fatalf("second process: %d events, %q, %v", len(evs), next, err)
		}
		engine.CloseCDCSource(a)
		dropSlot(t, url, engine.CDCSlotName("orders-cdc"))
	})
	t.Run("slot dropped", func(t *testing.T) {
		e := cdcEngine(t, url)
		deploy(t, e, ordersFlow)
		f, _, _ := e.Flow(ctx, "orders-cdc", 0)
		src := engine.CDCSource(e)
		_, cur, err := src.Pull(ctx, f, "", time.Now())
		if err != nil || cur == "" {
			t.Fatalf("first pull: %q %v", cur, err)
		}
		engine.CloseCDCSource(src)
		dropSlot(t, url, engine.CDCSlotName("orders-cdc"))
		err = pullErr(t, e, ordersFlow, cur)
		if err == nil || !strings.Contains(err.Error(), "was dropped") {
			t.Fatalf("err %v", err)
		}
	})
}

// The flow parser checks a cdc trigger with positions.
func TestCDCTriggerParse(t *testing.T) {
	_, err := flow.Parse("f.yaml", []byte(`name: x
trigger:
  cdc: {connection: src, table: a.b.c, on: [insert, upsert]}
steps:
  - set: {a: 1}
`))
	if err == nil || !strings.Contains(err.Error(), "f.yaml:3:") {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"cdc.table must be table or schema.table", `"upsert" is not insert, update or delete`} {
		if !strings.Contains(fmt.Sprint(err), want) && !strings.Contains(fmt.Sprintf("%+v", err), want) {
			t.Errorf("no %q in %+v", want, err)
		}
	}
	f, err := flow.Parse("f.yaml", []byte(`name: x
trigger:
  cdc: {connection: src, table: orders, when: "=trigger.new.total > 100"}
steps:
  - set: {a: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	if f.Trigger.Kind != flow.TriggerCDC || f.Trigger.CDC.Compiled() == nil || !f.Trigger.CDC.Watches("delete") {
		t.Fatalf("trigger %+v", f.Trigger.CDC)
	}
}

// on and when choose the changes that start runs; the others still move
// the position on.
func TestCDCTriggerOnAndWhenFilter(t *testing.T) {
	_, url := logicalPG(t, "wal_level=logical")
	pgExec(t, url, `CREATE TABLE orders (id int PRIMARY KEY, total int)`, `ALTER TABLE orders REPLICA IDENTITY FULL`)
	e := cdcEngine(t, url)
	deploy(t, e, `name: orders-cdc
trigger:
  cdc:
    connection: src
    table: orders
    on: [update, delete]
    when: "=trigger.op == 'delete' || trigger.new.total > 100"
steps:
  - set: {a: 1}
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 100*time.Millisecond)
	waitCursor(t, e.Store(), "orders-cdc")
	pgExec(t, url,
		`INSERT INTO orders VALUES (1, 50), (2, 500)`, // inserts: not watched
		`UPDATE orders SET total = 60 WHERE id = 1`,   // not over 100
		`UPDATE orders SET total = 600 WHERE id = 2`,  // run
		`DELETE FROM orders WHERE id = 1`,             // run
	)
	runs := waitRunCount(t, e.Store(), "orders-cdc", 2, 15*time.Second)
	if runs[0].op != "update" || runs[0].newRow["total"] != float64(600) || runs[1].op != "delete" || runs[1].oldRow["id"] != float64(1) {
		t.Fatalf("runs %+v", runs)
	}
	time.Sleep(time.Second)
	if n := len(cdcRuns(t, e.Store(), "orders-cdc")); n != 2 {
		t.Fatalf("%d runs, want 2", n)
	}
	cur, _ := e.Store().TriggerCursor(context.Background(), "orders-cdc")
	if !strings.Contains(cur, `"lsn"`) || strings.Contains(cur, `"tx"`) {
		t.Fatalf("cursor %s: the position must be past the last transaction", cur)
	}
}

// edge: an update starts a run only when the condition crosses (holds for
// the new row, not for the old one); an insert that meets it starts one.
func TestCDCTriggerEdge(t *testing.T) {
	_, url := logicalPG(t, "wal_level=logical")
	pgExec(t, url, `CREATE TABLE orders (id int PRIMARY KEY, total int)`, `ALTER TABLE orders REPLICA IDENTITY FULL`)
	e := cdcEngine(t, url)
	deploy(t, e, `name: orders-cdc
trigger:
  cdc:
    connection: src
    table: orders
    on: [insert, update]
    when: "=trigger.new.total > 100"
    edge: true
steps:
  - set: {a: 1}
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 100*time.Millisecond)
	waitCursor(t, e.Store(), "orders-cdc")
	pgExec(t, url,
		`INSERT INTO orders VALUES (1, 50), (2, 500)`, // 2: run (an insert over 100)
		`UPDATE orders SET total = 150 WHERE id = 1`,  // crossed: run
		`UPDATE orders SET total = 160 WHERE id = 1`,  // still over: none
		`UPDATE orders SET total = 700 WHERE id = 2`,  // still over: none
		`UPDATE orders SET total = 10 WHERE id = 1`,   // under: none
		`UPDATE orders SET total = 900 WHERE id = 1`,  // crossed again: run
	)
	runs := waitRunCount(t, e.Store(), "orders-cdc", 3, 15*time.Second)
	if runs[0].op != "insert" || runs[0].newRow["id"] != float64(2) || runs[1].newRow["total"] != float64(150) || runs[2].newRow["total"] != float64(900) {
		t.Fatalf("runs %+v", runs)
	}
	time.Sleep(time.Second)
	if n := len(cdcRuns(t, e.Store(), "orders-cdc")); n != 3 {
		t.Fatalf("%d runs, want 3", n)
	}
}

// handDriven pulls a trigger flow's source by hand (pull: from the stored
// cursor) and fires what it returned as async runs (fire: how many were
// duplicates of runs already started).
func handDriven(t *testing.T, e *engine.Engine, name string) (pull func(engine.Source) ([]engine.Event, string), fire func([]engine.Event) int) {
	ctx := context.Background()
	f, _, err := e.Flow(ctx, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	pull = func(src engine.Source) ([]engine.Event, string) {
		t.Helper()
		cur, _ := e.Store().TriggerCursor(ctx, name)
		evs, next, err := src.Pull(ctx, f, cur, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return evs, next
	}
	fire = func(evs []engine.Event) (dups int) {
		t.Helper()
		for _, ev := range evs {
			ev.Flow, ev.Async = name, true
			res, err := e.Trigger(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			if res.Duplicate {
				dups++
			}
		}
		return dups
	}
	return pull, fire
}
