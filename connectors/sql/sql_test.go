package sql_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
	sqlconn "github.com/weftio/weft/connectors/sql"
	"github.com/weftio/weft/internal/mariadbtest"
	"github.com/weftio/weft/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	mariadbtest.StopShared()
	os.Exit(code)
}

type dialect struct {
	name string
	dsn  func(t *testing.T) string
	ddl  string
	bad  string // a dsn that reaches no server, holding the password "hunter2-secret"
}

var dialects = []dialect{
	{sqlconn.Postgres, func(t *testing.T) string { return pgtest.Shared(t).NewDatabase(t) },
		`CREATE TABLE orders (id SERIAL PRIMARY KEY, customer TEXT NOT NULL, email TEXT UNIQUE, total NUMERIC(10,2), meta JSONB, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
		"postgres://weft:hunter2-secret@127.0.0.1:1/none?connect_timeout=2"},
	{sqlconn.SQLite, func(t *testing.T) string { return filepath.Join(t.TempDir(), "shop.db") },
		`CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, customer TEXT NOT NULL, email TEXT UNIQUE, total REAL, meta TEXT, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
		"file:/nonexistent-dir/x.db?mode=ro&_pragma=busy_timeout(1)&password=hunter2-secret"},
	{sqlconn.MySQL, func(t *testing.T) string { return mariadbtest.Shared(t).NewDatabase(t) },
		"CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(100) NOT NULL, email VARCHAR(100) UNIQUE, total DECIMAL(10,2), meta JSON, created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
		"weft:hunter2-secret@tcp(127.0.0.1:1)/none?timeout=2s"},
}

func call(t *testing.T, x *connectors.Connector, conn *connectors.Connection, op string, in map[string]any) (map[string]any, error) {
	t.Helper()
	for _, o := range x.Operations {
		if o.Name == op {
			out, err := o.Invoke(context.Background(), connectors.Call{Input: in, Connection: conn})
			m, _ := out.(map[string]any)
			return m, err
		}
	}
	t.Fatalf("no operation %s", op)
	return nil, nil
}

func TestOperationsOnRealDatabases(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			x := sqlconn.New(d.name, sqlconn.Options{MaxRows: 2000})
			ok := func(out map[string]any, err error) map[string]any {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			conn := &connectors.Connection{Name: "shop", Connector: d.name, Secrets: map[string]string{"dsn": d.dsn(t)}}
			if err := x.Check(conn); err != nil {
				t.Fatal(err)
			}
			ok(call(t, x, conn, "execute", map[string]any{"sql": d.ddl}))

			out := ok(call(t, x, conn, "insert", map[string]any{"table": "orders", "row": map[string]any{"customer": "Ada", "email": "ada@example.com", "total": 12.5, "meta": map[string]any{"vip": true}}}))
			if out["rows_affected"] != int64(1) {
				t.Fatalf("insert: %v", out)
			}
			var bulk []any
			for i := 0; i < 2500; i++ {
				bulk = append(bulk, map[string]any{"customer": fmt.Sprintf("c%04d", i), "email": fmt.Sprintf("c%d@example.com", i), "total": float64(i), "meta": nil})
			}
			out = ok(call(t, x, conn, "insert", map[string]any{"table": "orders", "rows": bulk}))
			if out["rows_affected"] != int64(2500) {
				t.Fatalf("bulk insert: %v", out)
			}
			ph := "?"
			if d.name == sqlconn.Postgres {
				ph = "$1"
			}
			out = ok(call(t, x, conn, "query", map[string]any{"sql": "SELECT id, customer, total, meta FROM orders WHERE email = " + ph, "args": []any{"ada@example.com"}}))
			rows := out["rows"].([]any)
			if len(rows) != 1 {
				t.Fatalf("query: %v", out)
			}
			ada := rows[0].(map[string]any)
			if ada["customer"] != "Ada" || fmt.Sprint(ada["total"]) != "12.5" && fmt.Sprint(ada["total"]) != "12.50" || !strings.Contains(fmt.Sprint(ada["meta"]), "vip") {
				t.Fatalf("row: %#v", ada)
			}
			// MaxRows bounds what one call returns.
			out = ok(call(t, x, conn, "query", map[string]any{"sql": "SELECT id FROM orders"}))
			if out["count"] != int64(2000) || out["truncated"] != true {
				t.Fatalf("max rows: count %v truncated %v", out["count"], out["truncated"])
			}
			// Select after a cursor (what a "new rows" poll trigger uses), ordered by it.
			out = ok(call(t, x, conn, "select", map[string]any{"table": "orders", "columns": []any{"id", "customer"}, "after_column": "id", "after": int64(2499), "limit": float64(5)}))
			rows = out["rows"].([]any)
			if len(rows) != 3 || fmt.Sprint(rows[0].(map[string]any)["id"]) != "2499" || rows[2].(map[string]any)["customer"] != "c2499" {
				t.Fatalf("select after: %v", rows)
			}
			// Upsert: one existing email updated, one new row.
			ok(call(t, x, conn, "upsert", map[string]any{"table": "orders", "key": []any{"email"}, "rows": []any{
				map[string]any{"email": "ada@example.com", "customer": "Ada Lovelace", "total": 99.0},
				map[string]any{"email": "new@example.com", "customer": "New", "total": 1.0}}}))
			out = ok(call(t, x, conn, "select", map[string]any{"table": "orders", "where": map[string]any{"email": "ada@example.com"}}))
			if r := out["rows"].([]any); len(r) != 1 || r[0].(map[string]any)["customer"] != "Ada Lovelace" {
				t.Fatalf("upsert: %v", out)
			}
			out = ok(call(t, x, conn, "update", map[string]any{"table": "orders", "set": map[string]any{"total": 0}, "where": map[string]any{"customer": "New"}}))
			if out["rows_affected"] != int64(1) {
				t.Fatalf("update: %v", out)
			}
			out = ok(call(t, x, conn, "delete", map[string]any{"table": "orders", "where": map[string]any{"email": "new@example.com"}}))
			if out["rows_affected"] != int64(1) {
				t.Fatalf("delete: %v", out)
			}
			// Bad input gets clear, permanent errors.
			for _, c := range []struct {
				op   string
				in   map[string]any
				want string
			}{
				{"delete", map[string]any{"table": "orders"}, "where is required"},
				{"update", map[string]any{"table": "orders", "set": map[string]any{"total": 1}, "where": map[string]any{}}, "where is required"},
				{"insert", map[string]any{"table": "orders; DROP TABLE orders", "row": map[string]any{"a": 1}}, "not a valid identifier"},
				{"insert", map[string]any{"table": "orders", "rows": []any{map[string]any{"customer": "a"}, map[string]any{"email": "b"}}}, "every row needs the same columns"},
				{"query", map[string]any{"sql": "SELEKT 1"}, "query"},
				{"insert", map[string]any{"table": "orders", "row": map[string]any{"customer": "dup", "email": "ada@example.com"}}, "insert"},
			} {
				_, err := call(t, x, conn, c.op, c.in)
				class, _ := connectors.Classify(err)
				if err == nil || !strings.Contains(err.Error(), c.want) || class != connectors.Permanent {
					t.Errorf("%s %v: %v (%s)", c.op, c.in, err, class)
				}
			}
			// An unreachable server is retryable, and its error holds no password.
			bad := &connectors.Connection{Name: "bad", Connector: d.name, Secrets: map[string]string{"dsn": d.bad}}
			_, err := call(t, x, bad, "query", map[string]any{"sql": "SELECT 1"})
			if err == nil || strings.Contains(err.Error(), "hunter2-secret") {
				t.Fatalf("bad dsn: %v", err)
			}
			if class, _ := connectors.Classify(err); d.name != sqlconn.SQLite && class != connectors.Retryable {
				t.Fatalf("unreachable server should be retryable: %v (%s)", err, class)
			}
		})
	}
}
