package binlog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/connectors/binlog"
	"github.com/weftio/weft/internal/mariadbtest"
)

func readN(t *testing.T, st *binlog.Stream, n int) []binlog.Change {
	t.Helper()
	var got []binlog.Change
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		chs, _, err := st.Read(context.Background(), 200*time.Millisecond, 1000)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, chs...)
	}
	if len(got) != n {
		t.Fatalf("%d changes, want %d: %+v", len(got), n, got)
	}
	return got
}

// Inserts, updates and deletes come with their rows (a delete with the
// old row, an update with both), in commit order, numbered within their
// transaction; other tables' changes do not come; a stream reopened at a
// change's end position starts after its transaction.
func TestStreamShapesAndResume(t *testing.T) {
	srv := mariadbtest.StartWith(t, mariadbtest.BinlogArgs...)
	srv.Exec(t, `CREATE DATABASE shop;
		CREATE TABLE shop.orders (id INT PRIMARY KEY, status ENUM('new','paid','gone'), total DECIMAL(10,2), qty INT UNSIGNED, doc JSON, note VARCHAR(20), at DATETIME);
		CREATE TABLE shop.other (id INT PRIMARY KEY)`)
	dsn := fmt.Sprintf("root@tcp(127.0.0.1:%d)/shop", srv.Port)
	ctx := context.Background()
	st, err := binlog.Open(ctx, binlog.Config{DSN: dsn, Table: "orders", Name: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv.Exec(t, `INSERT INTO shop.orders VALUES (1, 'new', 10.50, 4000000000, '{"a": [1, 2]}', 'hé', '2026-12-03 01:02:03');
		INSERT INTO shop.other VALUES (1);
		BEGIN; UPDATE shop.orders SET status = 'paid', qty = 2 WHERE id = 1; INSERT INTO shop.orders (id) VALUES (2); COMMIT;
		DELETE FROM shop.orders WHERE id = 1`)
	got := readN(t, st, 4)
	ins, upd, ins2, del := got[0], got[1], got[2], got[3]
	if ins.Op != binlog.Insert || ins.Old != nil || ins.New["id"] != int64(1) || ins.New["status"] != "new" || ins.New["total"] != "10.50" ||
		ins.New["qty"] != int64(4000000000) || ins.New["note"] != "hé" || ins.New["at"] != "2026-12-03 01:02:03" || !ins.Last || ins.Pos != 0 {
		t.Fatalf("insert: %+v", ins)
	}
	// MariaDB's JSON is LONGTEXT: the text comes as it is.
	if d, _ := ins.New["doc"].(string); !strings.Contains(d, `"a"`) {
		t.Fatalf("json column: %#v", ins.New["doc"])
	}
	if upd.Op != binlog.Update || upd.Old["status"] != "new" || upd.New["status"] != "paid" || upd.New["qty"] != int64(2) || upd.Pos != 0 || upd.Last {
		t.Fatalf("update: %+v", upd)
	}
	if ins2.Op != binlog.Insert || ins2.Pos != 1 || !ins2.Last || ins2.TxID() != upd.TxID() || ins2.New["status"] != nil {
		t.Fatalf("second change of the transaction: %+v", ins2)
	}
	if del.Op != binlog.Delete || del.New != nil || del.Old["id"] != int64(1) || del.Old["status"] != "paid" {
		t.Fatalf("delete: %+v", del)
	}
	if ins.GTID == "" || ins.TxID() == upd.TxID() || !binlog.Less(ins.End, upd.End) || !binlog.Less(upd.End, del.End) {
		t.Fatalf("transaction identities and order: %+v %+v %+v", ins, upd, del)
	}
	st.Close()
	// Reopened after the insert's transaction: the update comes first.
	st2, err := binlog.Open(ctx, binlog.Config{DSN: dsn, Table: "shop.orders", Name: "t1", From: ins.End})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	again := readN(t, st2, 3)
	if again[0].TxID() != upd.TxID() || again[0].Op != binlog.Update || again[2].Op != binlog.Delete {
		t.Fatalf("resumed at %+v: %+v", ins.End, again)
	}
	st2.Close()
	// The same by file and offset alone (a server without GTIDs).
	if ins.End.GTID == "" {
		t.Fatalf("MariaDB positions carry the GTID set: %+v", ins.End)
	}
	st3, err := binlog.Open(ctx, binlog.Config{DSN: dsn, Table: "shop.orders", Name: "t1", From: binlog.Position{File: ins.End.File, Offset: ins.End.Offset}})
	if err != nil {
		t.Fatal(err)
	}
	defer st3.Close()
	byFile := readN(t, st3, 3)
	for i := range byFile {
		if byFile[i].TxID() != again[i].TxID() || byFile[i].Pos != again[i].Pos || byFile[i].End.Offset != again[i].End.Offset {
			t.Fatalf("resumed by file at %s:%d: change %d is %+v, by GTID %+v", ins.End.File, ins.End.Offset, i, byFile[i], again[i])
		}
	}
}

// Set-up errors say what to run.
func TestStreamSetUpErrors(t *testing.T) {
	srv := mariadbtest.StartWith(t, mariadbtest.BinlogArgs...)
	srv.Exec(t, `CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY);
		CREATE USER 'plain'@'%' IDENTIFIED BY 'pw'; GRANT SELECT ON shop.* TO 'plain'@'%';
		CREATE USER 'half'@'%' IDENTIFIED BY 'pw'; GRANT SELECT ON shop.* TO 'half'@'%'; GRANT REPLICATION CLIENT ON *.* TO 'half'@'%';
		CREATE ROLE cdc; GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO cdc;
		CREATE USER 'viarole'@'%' IDENTIFIED BY 'pw'; GRANT SELECT ON shop.* TO 'viarole'@'%'; GRANT cdc TO 'viarole'@'%'; SET DEFAULT ROLE cdc FOR 'viarole'@'%'`)
	root := fmt.Sprintf("root@tcp(127.0.0.1:%d)/shop", srv.Port)
	ctx := context.Background()
	open := func(dsn, table, name string) error {
		st, err := binlog.Open(ctx, binlog.Config{DSN: dsn, Table: table, Name: name})
		if err == nil {
			st.Close()
		}
		return err
	}
	expect := func(err error, parts ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("no error, want one with %q", parts)
		}
		for _, p := range parts {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q does not say %q", err, p)
			}
		}
	}
	expect(open(fmt.Sprintf("plain:pw@tcp(127.0.0.1:%d)/shop", srv.Port), "orders", "a"), "lacks REPLICATION SLAVE and REPLICATION CLIENT", "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'plain'@'%'")
	expect(open(fmt.Sprintf("half:pw@tcp(127.0.0.1:%d)/shop", srv.Port), "orders", "a"), "lacks REPLICATION SLAVE ", "GRANT REPLICATION SLAVE ON *.*")
	// The replication grants through a default role count.
	if err := open(fmt.Sprintf("viarole:pw@tcp(127.0.0.1:%d)/shop", srv.Port), "orders", "r"); err != nil {
		t.Fatalf("grants through a role: %v", err)
	}
	expect(open(root, "nope", "a"), "table shop.nope does not exist")
	expect(open(root+"?tls=skip-verify", "orders", "a"), "asks for TLS (tls=skip-verify)", "does not support yet")
	expect(open(fmt.Sprintf("root:secret-pw@tcp(127.0.0.1:%d)/shop", srv.Port), "orders", "a"), "connect to")
	if err := open(fmt.Sprintf("root:secret-pw@tcp(127.0.0.1:%d)/shop", srv.Port), "orders", "a"); strings.Contains(err.Error(), "secret-pw") {
		t.Fatalf("the password is in the error: %v", err)
	}
	for _, c := range []struct{ set, reset string }{
		{"SET GLOBAL binlog_format = 'STATEMENT'", "SET GLOBAL binlog_format = 'ROW'"},
		{"SET GLOBAL binlog_row_image = 'MINIMAL'", "SET GLOBAL binlog_row_image = 'FULL'"},
		{"SET GLOBAL binlog_row_metadata = 'MINIMAL'", "SET GLOBAL binlog_row_metadata = 'FULL'"},
	} {
		srv.Exec(t, c.set)
		err := open(root, "orders", "a")
		srv.Exec(t, c.reset)
		name := strings.Fields(c.set)[2]
		expect(err, name+"="+strings.Trim(strings.Fields(c.set)[4], "'"), "run "+strings.Replace(c.reset, "SET GLOBAL", "SET GLOBAL", 1))
	}
	// One process at a time per stream name.
	st, err := binlog.Open(ctx, binlog.Config{DSN: root, Table: "orders", Name: "held"})
	if err != nil {
		t.Fatal(err)
	}
	if err := open(root, "orders", "held"); err != binlog.ErrBusy {
		t.Fatalf("second open of a held stream: %v, want ErrBusy", err)
	}
	st.Close()
	if err := open(root, "orders", "held"); err != nil {
		t.Fatalf("after the holder closed: %v", err)
	}
	// A purged or foreign position is a clear error.
	gone, err := binlog.Open(ctx, binlog.Config{DSN: root, Table: "orders", Name: "b", From: binlog.Position{File: "mysql-bin.999999", Offset: 4}})
	if err == nil {
		_, _, err = gone.Read(ctx, 5*time.Second, 10)
		gone.Close()
	}
	expect(err, "cannot send the binlog from this flow's stored position")

	// The binary log off.
	off := mariadbtest.StartWith(t)
	off.Exec(t, "CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY)")
	expect(open(fmt.Sprintf("root@tcp(127.0.0.1:%d)/shop", off.Port), "orders", "a"), "binary log off (log_bin=OFF)", "log-bin=mysql-bin")
}
