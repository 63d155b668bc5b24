package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

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

	ctx := context.Background()
	cdcKill9{connector: "mysql", dsn: dsn, tables: map[string]string{"orders-cdc": "shop.orders", "items-cdc": "items"},
		started: `"file"`, total: total, killAt: total / 16, key: parseBinlogKey,
		begin: func() (func(string, int) error, func() error, error) {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return nil, nil, err
			}
			exec := func(q string, arg int) error {
				_, err := tx.ExecContext(ctx, q, arg)
				return err
			}
			return exec, tx.Commit, nil
		}}.run(t)
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
