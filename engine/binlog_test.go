package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	sqlconn "github.com/weftio/weft/connectors/sql"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/internal/mariadbtest"
	"github.com/weftio/weft/store"
)

// binlogEngine is an engine with the mysql connector and a connection
// "src" to the database shop of a MariaDB with its binlog on.
func binlogEngine(t testing.TB) (*engine.Engine, *mariadbtest.Server) {
	t.Helper()
	srv := mariadbtest.StartWith(t, mariadbtest.BinlogArgs...)
	srv.Exec(t, "CREATE DATABASE shop")
	e := newEngine(t)
	e.Catalog().Register(sqlconn.New(sqlconn.MySQL, sqlconn.Options{}))
	dsn := fmt.Sprintf("root@tcp(127.0.0.1:%d)/shop", srv.Port)
	if err := e.Catalog().AddConnection(&connectors.Connection{Name: "src", Connector: "mysql", Secrets: map[string]string{"dsn": dsn}}); err != nil {
		t.Fatal(err)
	}
	return e, srv
}

// binlogRun is a run's trigger as the binlog source fills it.
type binlogRun struct {
	cdcRun
	gtid   string
	file   string
	offset int64
}

func binlogRuns(t *testing.T, e *engine.Engine, flowName string) []binlogRun {
	t.Helper()
	var out []binlogRun
	runs := cdcRuns(t, e.Store(), flowName)
	for _, r := range runs {
		out = append(out, binlogRun{cdcRun: r})
	}
	// The binlog fields, from the same runs (cdcRuns reads the common ones).
	all, err := e.Store().ListRuns(context.Background(), storeFilter(flowName))
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]map[string]any{}
	for _, r := range all {
		var in map[string]any
		_ = json.Unmarshal(r.Input, &in)
		byKey[r.IdemKey] = in
	}
	for i := range out {
		in := byKey[out[i].key]
		out[i].gtid, _ = in["gtid"].(string)
		out[i].file, _ = in["binlog_file"].(string)
		off, _ := in["binlog_offset"].(float64)
		out[i].offset = int64(off)
	}
	return out
}

// Issue 24: a cdc trigger on a mysql connection starts one run per
// insert, update and delete of a MariaDB table, in commit order, with the
// old and new rows (a delete carries the old row); the idempotency key is
// the transaction's GTID and the change's position; when/edge apply; the
// stream's lag is reported; a quiet table's position moves with the
// binlog; DropCDC clears the position.
func TestBinlogCDCTriggerShapesOrderAndPosition(t *testing.T) {
	e, srv := binlogEngine(t)
	srv.Exec(t, `CREATE TABLE shop.orders (id INT PRIMARY KEY, status VARCHAR(10), total DECIMAL(10,2), n INT);
		CREATE TABLE shop.other (id INT PRIMARY KEY)`)
	deploy(t, e, strings.Replace(ordersFlow, "table: public.orders", "table: orders", 1))
	deploy(t, e, `name: big-orders
trigger:
  cdc: {connection: src, table: shop.orders, on: [insert, update], when: "=trigger.new.n > 100", edge: true}
steps:
  - set: {a: 1}
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 100*time.Millisecond)
	waitCursor(t, e.Store(), "orders-cdc")
	waitCursor(t, e.Store(), "big-orders")

	srv.Exec(t, `INSERT INTO shop.orders VALUES (1, 'new', 10.50, 5);
		INSERT INTO shop.orders VALUES (2, 'new', 20, 500);
		UPDATE shop.orders SET status = 'paid', n = 150 WHERE id = 1;
		DELETE FROM shop.orders WHERE id = 2;
		BEGIN; INSERT INTO shop.orders VALUES (3, 'new', 1, 0); UPDATE shop.orders SET n = 160 WHERE id = 1; DELETE FROM shop.orders WHERE id = 3; COMMIT;
		UPDATE shop.orders SET n = 10 WHERE id = 1;
		UPDATE shop.orders SET n = 900 WHERE id = 1`)
	runs := waitRunCount(t, e.Store(), "orders-cdc", 9, 20*time.Second)
	want := []struct {
		op         string
		newID      any
		field      string
		newV, oldV any
	}{
		{"insert", float64(1), "status", "new", nil},
		{"insert", float64(2), "total", "20.00", nil},
		{"update", float64(1), "status", "paid", "new"},
		{"delete", nil, "n", nil, float64(500)},
		{"insert", float64(3), "n", float64(0), nil},
		{"update", float64(1), "n", float64(160), float64(150)},
		{"delete", nil, "id", nil, float64(3)},
		{"update", float64(1), "n", float64(10), float64(160)},
		{"update", float64(1), "n", float64(900), float64(10)},
	}
	for i, w := range want {
		r := runs[i]
		if r.op != w.op {
			t.Fatalf("run %d: op %q, want %q (runs %+v)", i, r.op, w.op, runs)
		}
		switch r.op {
		case "insert":
			if r.oldRow != nil || r.newRow["id"] != w.newID || r.newRow[w.field] != w.newV {
				t.Errorf("run %d: %+v", i, r)
			}
		case "update":
			if r.newRow["id"] != w.newID || r.newRow[w.field] != w.newV || r.oldRow[w.field] != w.oldV {
				t.Errorf("run %d: %+v", i, r)
			}
		case "delete":
			if r.newRow != nil || r.oldRow[w.field] != w.oldV {
				t.Errorf("run %d: a delete carries the old row: %+v", i, r)
			}
		}
	}
	bruns := binlogRuns(t, e, "orders-cdc")
	for i, r := range bruns {
		if r.gtid == "" || r.file == "" || r.offset <= 0 || r.key != fmt.Sprintf("cdc:%s#%d", r.gtid, r.pos) {
			t.Fatalf("run %d: binlog fields and key: %+v", i, r)
		}
		if i > 0 && r.offset < bruns[i-1].offset {
			t.Fatalf("run %d: not in commit order: %+v after %+v", i, r, bruns[i-1])
		}
	}
	if bruns[4].gtid != bruns[6].gtid || bruns[4].pos != 0 || bruns[5].pos != 1 || bruns[6].pos != 2 {
		t.Errorf("one transaction's changes: %+v", bruns[4:7])
	}
	// edge over n > 100: the insert of 2 (500), the update of 1 to 150,
	// and the crossing back up to 900; not 160 (still over).
	edge := waitRunCount(t, e.Store(), "big-orders", 3, 10*time.Second)
	if edge[0].newRow["id"] != float64(2) || edge[1].newRow["n"] != float64(150) || edge[2].newRow["n"] != float64(900) {
		t.Fatalf("edge runs %+v", edge)
	}
	if sts := e.CDCStatuses(); len(sts) != 2 || sts[1].Flow != "orders-cdc" || sts[1].Slot != engine.CDCSlotName("orders-cdc") || sts[1].Error != "" || sts[1].LagBytes < 0 {
		t.Errorf("statuses %+v", sts)
	}
	// Other tables' transactions move a quiet flow's position with the
	// binlog (nothing runs for them).
	cur := func() (c struct {
		File   string
		Offset int64
		Tx     string
	}) {
		s, _ := e.Store().TriggerCursor(context.Background(), "orders-cdc")
		_ = json.Unmarshal([]byte(s), &c)
		return c
	}
	time.Sleep(500 * time.Millisecond)
	before := cur()
	if before.File == "" || before.Tx != "" {
		t.Fatalf("cursor %+v: the position must be past the last transaction", before)
	}
	srv.Exec(t, "INSERT INTO shop.other VALUES (1), (2)")
	for deadline := time.Now().Add(10 * time.Second); cur().Offset <= before.Offset; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the position stayed at %+v after another table's transaction", before)
		}
	}
	if n := len(cdcRuns(t, e.Store(), "orders-cdc")); n != 9 {
		t.Fatalf("%d runs, want 9", n)
	}
	cancel()
	time.Sleep(300 * time.Millisecond)
	if err := e.DropCDC(context.Background(), "orders-cdc"); err != nil {
		t.Fatal(err)
	}
	if c, _ := e.Store().TriggerCursor(context.Background(), "orders-cdc"); c != "" {
		t.Fatalf("cursor after DropCDC: %q", c)
	}
}

// A process that dies after committing runs but before storing the
// position: the next one replays those changes from the stored binlog
// position and starts no second run.
func TestBinlogCDCTriggerReplayStartsNoSecondRun(t *testing.T) {
	e, srv := binlogEngine(t)
	srv.Exec(t, "CREATE TABLE shop.orders (id INT PRIMARY KEY, status VARCHAR(10))")
	deploy(t, e, strings.Replace(ordersFlow, "table: public.orders", "table: orders", 1))
	ctx := context.Background()
	st := e.Store()
	pull, fire := handDriven(t, e, "orders-cdc")
	src := engine.CDCSource(e)
	_, first := pull(src)
	if err := st.SetTriggerCursor(ctx, "orders-cdc", first); err != nil {
		t.Fatal(err)
	}
	var q strings.Builder
	for i := 1; i <= 20; i++ {
		if i%5 == 0 {
			fmt.Fprintf(&q, "BEGIN; INSERT INTO shop.orders VALUES (%d, 'new'); UPDATE shop.orders SET status = 'x' WHERE id = %d; COMMIT;", i, i-1)
		} else {
			fmt.Fprintf(&q, "INSERT INTO shop.orders VALUES (%d, 'new');", i)
		}
	}
	srv.Exec(t, q.String())
	const total = 24
	var evs []engine.Event
	for deadline := time.Now().Add(10 * time.Second); len(evs) < total && time.Now().Before(deadline); {
		got, _ := pull(src)
		evs = append(evs, got...)
	}
	if len(evs) != total {
		t.Fatalf("%d events, want %d", len(evs), total)
	}
	// Crash: half the runs committed, the position never stored.
	if d := fire(evs[:12]); d != 0 {
		t.Fatalf("%d duplicates on first fire", d)
	}
	engine.CloseCDCSource(src)

	src2 := engine.CDCSource(e)
	var evs2 []engine.Event
	var next string
	for deadline := time.Now().Add(15 * time.Second); len(evs2) < total && time.Now().Before(deadline); {
		var got []engine.Event
		got, next = pull(src2)
		evs2 = append(evs2, got...)
	}
	if len(evs2) != total {
		t.Fatalf("after restart %d events, want the %d unstored ones again", len(evs2), total)
	}
	for i := range evs2 {
		if evs2[i].IdemKey != evs[i].IdemKey {
			t.Fatalf("replayed change %d has key %s, first read %s", i, evs2[i].IdemKey, evs[i].IdemKey)
		}
	}
	if d := fire(evs2); d != 12 {
		t.Fatalf("%d replayed changes recognised as duplicates, want 12", d)
	}
	if err := st.SetTriggerCursor(ctx, "orders-cdc", next); err != nil {
		t.Fatal(err)
	}
	// From the stored position nothing comes again.
	evs3, _ := pull(src2)
	if len(evs3) != 0 {
		t.Fatalf("%d events after the stored position", len(evs3))
	}
	engine.CloseCDCSource(src2)
	if n := len(cdcRuns(t, st, "orders-cdc")); n != total {
		t.Fatalf("%d runs, want %d", n, total)
	}
}

// A server whose binlog is off is a trigger error that says what to do,
// reported in the statuses.
func TestBinlogCDCTriggerSetUpError(t *testing.T) {
	srv := mariadbtest.StartWith(t)
	srv.Exec(t, "CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY)")
	e := newEngine(t)
	e.Catalog().Register(sqlconn.New(sqlconn.MySQL, sqlconn.Options{}))
	if err := e.Catalog().AddConnection(&connectors.Connection{Name: "src", Connector: "mysql", Secrets: map[string]string{"dsn": fmt.Sprintf("root@tcp(127.0.0.1:%d)/shop", srv.Port)}}); err != nil {
		t.Fatal(err)
	}
	deploy(t, e, strings.Replace(ordersFlow, "table: public.orders", "table: orders", 1))
	f, _, err := e.Flow(context.Background(), "orders-cdc", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = engine.CDCSource(e).Pull(context.Background(), f, "", time.Now())
	if err == nil || !strings.Contains(err.Error(), "binary log off") || !strings.Contains(err.Error(), "log-bin") {
		t.Fatalf("pull: %v", err)
	}
}

func storeFilter(flowName string) store.RunFilter {
	return store.RunFilter{Flow: flowName, Limit: 100000}
}

// A binlog stream whose stored position falls behind the server's binlog
// by more than CDCLagAlert (1,000 bytes here; 20 rows of 200) raises the
// cdc alert after CDCAlertAfter, and resolves it once the position catches
// up.
func TestBinlogCDCLagAlertRaisesAndResolves(t *testing.T) {
	e, srv := binlogEngine(t)
	srv.Exec(t, "CREATE TABLE shop.orders (id INT PRIMARY KEY, note VARCHAR(200))")
	deploy(t, e, strings.Replace(ordersFlow, "table: public.orders", "table: orders", 1))
	var got []engine.CDCTrouble
	e2 := engine.New(e.Store(), e.Catalog(), nil, engine.Config{CDCLagAlert: 1000, CDCAlertAfter: time.Second,
		OnCDC: func(_ context.Context, tr engine.CDCTrouble) { got = append(got, tr) }})
	ctx := context.Background()
	f, _, err := e2.Flow(ctx, "orders-cdc", 0)
	if err != nil {
		t.Fatal(err)
	}
	src := engine.CDCSource(e2)
	defer engine.CloseCDCSource(src)
	t0 := time.Now()
	_, start, err := src.Pull(ctx, f, "", t0)
	if err != nil || start == "" {
		t.Fatalf("open: %q %v", start, err)
	}
	var q strings.Builder
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&q, "INSERT INTO shop.orders VALUES (%d, REPEAT('x', 200));", i)
	}
	srv.Exec(t, q.String())
	// The runs "do not keep up": the stored position stays at the start.
	var next string
	var n int
	for at := time.Second; n < 20 && at < 20*time.Second; at += time.Second {
		evs, nx, err := src.Pull(ctx, f, start, t0.Add(at))
		if err != nil {
			t.Fatal(err)
		}
		n, next = len(evs), nx
	}
	if n != 20 {
		t.Fatalf("%d events, want 20", n)
	}
	if _, _, err := src.Pull(ctx, f, start, t0.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Resolved || !strings.Contains(got[0].Message, "binlog stream "+engine.CDCSlotName("orders-cdc")) || !strings.Contains(got[0].Message, "behind the server's binlog end") {
		t.Fatalf("alerts %+v", got)
	}
	// The position is stored past them: after the next look at the
	// server (every 5 s), the lag is gone and the alert resolves.
	time.Sleep(5200 * time.Millisecond)
	if _, _, err := src.Pull(ctx, f, next, t0.Add(40*time.Second)); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[1].Resolved {
		t.Fatalf("alerts after catching up %+v", got)
	}
}
