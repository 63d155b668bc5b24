package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Issue 24: a cdc flow's replication slot can be dropped and its position
// cleared through the API and the CLI (a slot that holds the server's WAL
// for ever has a way out): the slot is dropped on the source, the flow
// streams again from then on, and the reset is audited. A flow without a
// cdc trigger and an unknown flow get clear errors.
func TestCDCResetThroughAPIAndCLI(t *testing.T) {
	ctx := context.Background()
	dsn, db := cdcDatabase(t, `CREATE TABLE orders (id int PRIMARY KEY, status text)`, `ALTER TABLE orders REPLICA IDENTITY FULL`)
	dir := t.TempDir()
	files := map[string]string{
		"orders-cdc.yaml": "name: orders-cdc\ntrigger:\n  cdc: {connection: shop, table: orders}\nsteps:\n  - id: seen\n    set: {id: =trigger.new.id}\n",
		"hook.yaml":       "name: hook\ntrigger: {webhook: {}}\nsteps:\n  - id: a\n    set: {x: 1}\n",
	}
	var deploy []string
	for f, src := range files {
		p := filepath.Join(dir, f)
		deploy = append(deploy, p)
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "weft.yaml")
	if err := os.WriteFile(cfg, []byte("connections:\n  shop:\n    connector: postgres\n    secrets: {dsn: \"${secret:SHOP_DSN}\"}\ndeploy: ["+strings.Join(deploy, ", ")+"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "", []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data"), "WEFT_SECRET_SHOP_DSN=" + dsn, "WEFT_LOG_LEVEL=warn"}, "--config", cfg)

	cursor := func() string {
		var res map[string]any
		srv.do("GET", "/api/flows/orders-cdc", nil, &res)
		c, _ := res["trigger_cursor"].(string)
		return c
	}
	slots := func() int {
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'weft_orders_cdc_%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s never happened:\n%s", what, srv.logs())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	runs := func() int {
		var res struct {
			Runs []struct{ ID string } `json:"runs"`
		}
		srv.do("GET", "/api/runs?flow=orders-cdc&limit=100", nil, &res)
		return len(res.Runs)
	}
	waitFor("the capture's start", func() bool { return strings.Contains(cursor(), `"lsn"`) && slots() == 1 })
	if _, err := db.Exec(ctx, `INSERT INTO orders VALUES (1, 'new')`); err != nil {
		t.Fatal(err)
	}
	waitFor("the run of the first insert", func() bool { return runs() == 1 })
	var before string
	if err := db.QueryRow(ctx, `SELECT pid::text FROM pg_stat_replication LIMIT 1`).Scan(&before); err != nil {
		t.Fatalf("no walsender for the flow's stream: %v", err)
	}

	out, err := srv.cli("flow", "cdc-reset", "orders-cdc")
	if err != nil || !strings.Contains(out, "replication slot weft_orders_cdc_") {
		t.Fatalf("weft flow cdc-reset: %v\n%s", err, out)
	}
	// The stream that held the old slot is gone; the flow, still deployed,
	// made a new slot and streams again from now.
	waitFor("a new stream after the reset", func() bool {
		var pid string
		err := db.QueryRow(ctx, `SELECT pid::text FROM pg_stat_replication LIMIT 1`).Scan(&pid)
		return err == nil && pid != before && slots() == 1 && strings.Contains(cursor(), `"lsn"`)
	})
	if _, err := db.Exec(ctx, `INSERT INTO orders VALUES (2, 'new')`); err != nil {
		t.Fatal(err)
	}
	waitFor("the run of the insert after the reset", func() bool { return runs() == 2 })
	time.Sleep(time.Second)
	if n := runs(); n != 2 {
		t.Fatalf("%d runs after the reset, want 2 (the first change must not run again)", n)
	}

	// The API: the same through DELETE, audited; clear errors otherwise.
	var res map[string]any
	if code := srv.do("DELETE", "/api/flows/orders-cdc/cdc", nil, &res); code != 200 || res["dropped"] != true {
		t.Fatalf("DELETE /api/flows/orders-cdc/cdc: %d %v", code, res)
	}
	var errRes struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if code := srv.do("DELETE", "/api/flows/hook/cdc", nil, &errRes); code != 400 || !strings.Contains(errRes.Error.Message, "no cdc trigger") {
		t.Fatalf("a webhook flow: %d %+v", code, errRes)
	}
	if code := srv.do("DELETE", "/api/flows/nope/cdc", nil, &errRes); code != 404 {
		t.Fatalf("an unknown flow: %d %+v", code, errRes)
	}
	var audit struct {
		Entries []struct {
			Action, Resource, Outcome string
		} `json:"entries"`
	}
	srv.do("GET", "/api/audit?action=flow.cdc_reset", nil, &audit)
	ok, failed := 0, 0
	for _, e := range audit.Entries {
		switch {
		case e.Resource == "flow:orders-cdc" && e.Outcome == "ok":
			ok++
		case e.Resource == "flow:hook" && e.Outcome == "failed":
			failed++
		}
	}
	if ok != 2 || failed != 1 {
		t.Fatalf("audit: %+v, want two successful flow.cdc_reset entries for flow:orders-cdc and one failed for flow:hook", audit.Entries)
	}
}
