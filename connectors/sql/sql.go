// Package sql is the built-in database connectors: postgres (pgx), sqlite
// (modernc.org/sqlite) and mysql (MySQL and MariaDB), all through
// database/sql with the same operations: query with parameters, select with
// a cursor (for "new rows" poll triggers), insert (one row or bulk),
// upsert, update, delete and execute.
//
// A connection gives the data source name as the secret "dsn". Generated
// statements quote identifiers and pass every value as a parameter; only
// query and execute take SQL text, and they take values as parameters too.
package sql

import (
	"context"
	dbsql "database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	_ "modernc.org/sqlite"           // the "sqlite" driver

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/internal/egress"
	"github.com/weftio/weft/internal/lazy"
)

// Dialects.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
	MySQL    = "mysql"
)

// Options bound what one call may do.
type Options struct {
	MaxRows     int // rows one query or select returns at most (default 10,000); more set truncated
	MaxBulkRows int // rows one insert or upsert takes at most (default 10,000)
	// Egress is the global egress policy PostgreSQL and MySQL dials go
	// through (nil: none configured). SQLite is a local file.
	Egress *egress.Policy
}

// New returns the connector for a dialect.
func New(dialect string, o Options) *connectors.Connector {
	if o.MaxRows <= 0 {
		o.MaxRows = 10000
	}
	if o.MaxBulkRows <= 0 {
		o.MaxBulkRows = 10000
	}
	d := &db{dialect: dialect, opts: o, pools: map[*connectors.Connection]*dbsql.DB{}}
	title := map[string]string{Postgres: "PostgreSQL", SQLite: "SQLite", MySQL: "MySQL / MariaDB"}[dialect]
	ph := map[string]string{Postgres: "$1, $2, ...", SQLite: "?", MySQL: "?"}[dialect]
	table := map[string]any{"type": "string", "description": "table name, optionally schema.table"}
	row := map[string]any{"type": "object", "description": "column -> value"}
	rows := map[string]any{"type": "array", "items": row, "description": "several rows, written in one statement per chunk"}
	where := map[string]any{"type": "object", "description": "column -> value; all must match (required: no unbounded update or delete)"}
	args := map[string]any{"type": "array", "description": "parameter values, in order (" + ph + " in the SQL)"}
	affected := map[string]any{"type": "object", "properties": map[string]any{"rows_affected": map[string]any{"type": "integer"}}}
	rowsOut := map[string]any{"type": "object", "properties": map[string]any{
		"rows": map[string]any{"type": "array", "items": map[string]any{"type": "object"}}, "count": map[string]any{"type": "integer"},
		"truncated": map[string]any{"type": "boolean"}}}
	obj := connectors.ObjectSchema
	return &connectors.Connector{
		Name: dialect, Title: title, Version: "1.0.0",
		Description: title + " database: query with parameters, select new rows after a cursor, insert (bulk), upsert, update, delete.",
		Config: map[string]any{"type": "object", "properties": map[string]any{
			"max_open_conns": map[string]any{"type": "integer", "description": "pool size (default 10)"}}},
		Secrets: []string{"dsn"},
		Check: func(c *connectors.Connection) error {
			if c.Secrets["dsn"] == "" {
				return fmt.Errorf("a %s connection needs secrets.dsn (the data source name)", dialect)
			}
			return nil
		},
		Triggers: []connectors.Trigger{{Name: "new_rows", Operation: "select", Items: "rows", Cursor: "id", Key: "id",
			Description: "New rows: poll select with after_column set to an increasing column (an id or an updated_at timestamp)."}},
		Operations: []*connectors.Operation{
			{Name: "query", Title: "Query", Description: "Run a SELECT with parameters and return the rows (read-only transaction).",
				Input:  obj([]string{"sql"}, map[string]any{"sql": map[string]any{"type": "string"}, "args": args}),
				Output: rowsOut, Hints: connectors.Hints{ReadOnly: true, Idempotent: true}, Invoke: d.query},
			{Name: "select", Title: "Select rows", Description: "Select rows of a table matching where, optionally only those after a cursor value of an increasing column, ordered by it.",
				Input: obj([]string{"table"}, map[string]any{"table": table, "columns": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
					"where": map[string]any{"type": "object"}, "after_column": map[string]any{"type": "string"}, "after": map[string]any{"description": "rows with after_column greater than or equal to this (null: all)"},
					"order_by": map[string]any{"type": "string"}, "limit": map[string]any{"type": "integer", "minimum": 1}}),
				Output: rowsOut, Hints: connectors.Hints{ReadOnly: true, Idempotent: true}, Invoke: d.selectRows},
			{Name: "insert", Title: "Insert rows", Description: "Insert one row or many (bulk, chunked multi-row statements in one transaction).",
				Input:  obj([]string{"table"}, map[string]any{"table": table, "row": row, "rows": rows}),
				Output: affected, Invoke: d.insert},
			{Name: "upsert", Title: "Upsert rows", Description: "Insert rows, updating those whose key columns already exist.",
				Input: obj([]string{"table", "key"}, map[string]any{"table": table, "row": row, "rows": rows,
					"key":    map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "columns of a unique constraint"},
					"update": map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "columns to update on conflict (default: all but the key)"}}),
				Output: affected, Hints: connectors.Hints{Idempotent: true}, Invoke: d.upsert},
			{Name: "update", Title: "Update rows", Description: "Set columns on the rows matching where.",
				Input:  obj([]string{"table", "set", "where"}, map[string]any{"table": table, "set": row, "where": where}),
				Output: affected, Hints: connectors.Hints{Idempotent: true}, Invoke: d.update},
			{Name: "delete", Title: "Delete rows", Description: "Delete the rows matching where.",
				Input:  obj([]string{"table", "where"}, map[string]any{"table": table, "where": where}),
				Output: affected, Hints: connectors.Hints{Destructive: true, Idempotent: true}, Invoke: d.delete},
			{Name: "execute", Title: "Execute SQL", Description: "Run one statement (DDL, INSERT ... SELECT, a procedure) with parameters; returns rows affected.",
				Input:  obj([]string{"sql"}, map[string]any{"sql": map[string]any{"type": "string"}, "args": args}),
				Output: affected, Hints: connectors.Hints{Destructive: true}, Invoke: d.execute},
		},
	}
}

type db struct {
	dialect string
	opts    Options
	mu      sync.Mutex
	pools   map[*connectors.Connection]*dbsql.DB
}

func permanent(format string, args ...any) error {
	return &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf(format, args...)}
}

func (d *db) pool(conn *connectors.Connection) (*dbsql.DB, error) {
	if conn == nil {
		return nil, permanent("%s: name a connection (its secrets.dsn says which database)", d.dialect)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, ok := d.pools[conn]; ok {
		return p, nil
	}
	dsn := conn.Secrets["dsn"]
	driver := map[string]string{Postgres: "pgx", SQLite: "sqlite", MySQL: "mysql"}[d.dialect]
	if d.dialect == MySQL {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, permanent("mysql: connection %s: bad dsn (user:password@tcp(host:port)/db)", conn.Name)
		}
		cfg.ParseTime = true // DATETIME and TIMESTAMP come back as times, which order cursors
		dsn = cfg.FormatDSN()
	}
	var p *dbsql.DB
	var err error
	who := "connection " + conn.Name
	switch {
	case d.opts.Egress != nil && d.dialect == Postgres:
		cfg, perr := pgx.ParseConfig(dsn)
		if perr != nil {
			return nil, permanent("postgres: connection %s: %v", conn.Name, redact(perr, conn))
		}
		// pgx resolves host names itself and dials addresses: hand the
		// name through so the policy judges both name and resolved address.
		dial := d.opts.Egress.Dialer(who, &net.Dialer{KeepAlive: 5 * time.Minute})
		keep := func(_ context.Context, host string) ([]string, error) { return []string{host}, nil }
		cfg.DialFunc, cfg.LookupFunc = pgconn.DialFunc(dial), keep
		p = stdlib.OpenDB(*cfg)
	case d.opts.Egress != nil && d.dialect == MySQL:
		cfg, _ := mysql.ParseDSN(dsn)
		cfg.DialFunc = d.opts.Egress.Dialer(who, nil)
		c, cerr := mysql.NewConnector(cfg)
		if cerr != nil {
			return nil, permanent("mysql: connection %s: %v", conn.Name, redact(cerr, conn))
		}
		p = dbsql.OpenDB(c)
	default:
		if p, err = dbsql.Open(driver, dsn); err != nil {
			return nil, permanent("%s: connection %s: %v", d.dialect, conn.Name, redact(err, conn))
		}
	}
	n := 10
	if v, ok := conn.Config["max_open_conns"].(int); ok && v > 0 {
		n = v
	} else if v, ok := conn.Config["max_open_conns"].(float64); ok && v > 0 {
		n = int(v)
	}
	if d.dialect == SQLite {
		n = 1 // one writer; readers queue behind it rather than fail busy
	}
	p.SetMaxOpenConns(n)
	p.SetMaxIdleConns(n)
	p.SetConnMaxIdleTime(5 * time.Minute)
	d.pools[conn] = p
	return p, nil
}

// redact removes the connection's credentials from a driver message.
func redact(err error, conn *connectors.Connection) string {
	msg := err.Error()
	for _, s := range conn.SecretValues() {
		msg = strings.ReplaceAll(msg, s, "[REDACTED]")
	}
	// Driver messages may echo a DSN's password part.
	return dsnPassword.Get().ReplaceAllString(msg, "://$1:[REDACTED]@")
}

// dsnPassword matches a DSN's user:password@ part.
var dsnPassword = lazy.NewRegexp(`://([^:/@]+):[^@]*@`)

// classify maps a driver error to retryable (connection trouble, deadlock,
// serialization) or permanent (bad SQL, constraint violations).
func (d *db) classify(err error, conn *connectors.Connection, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := fmt.Sprintf("%s.%s: %s", d.dialect, what, redact(err, conn))
	if egress.IsRefused(err) {
		return &connectors.Error{Class: connectors.Permanent, Message: msg}
	}
	low := strings.ToLower(err.Error())
	retry := false
	for _, s := range []string{"connection refused", "connection reset", "broken pipe", "bad connection", "i/o timeout", "deadlock", "could not serialize",
		"sqlstate 40001", "sqlstate 40p01", "sqlstate 57p03", "sqlstate 53300", "too many connections", "database is locked", "server has gone away", "eof", "no such host", "lock wait timeout"} {
		if strings.Contains(low, s) {
			retry = true
			break
		}
	}
	if retry {
		return &connectors.Error{Class: connectors.Retryable, Message: msg}
	}
	return &connectors.Error{Class: connectors.Permanent, Message: msg}
}

var identRe = lazy.NewRegexp(`^[A-Za-z_][A-Za-z0-9_$]{0,62}$`)

// ident quotes a (possibly schema-qualified) identifier.
func (d *db) ident(name string) (string, error) {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return "", permanent("%s: %q is not a table or column name", d.dialect, name)
	}
	q := `"`
	if d.dialect == MySQL {
		q = "`"
	}
	for i, p := range parts {
		if !identRe.MatchString(p) {
			return "", permanent("%s: %q is not a valid identifier (letters, digits, _)", d.dialect, name)
		}
		parts[i] = q + p + q
	}
	return strings.Join(parts, "."), nil
}

func (d *db) ph(n int) string {
	if d.dialect == Postgres {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

func args(in map[string]any) ([]any, error) {
	raw, ok := in["args"]
	if !ok || raw == nil {
		return nil, nil
	}
	l, ok := raw.([]any)
	if !ok {
		return nil, permanent("args must be a list")
	}
	out := make([]any, len(l))
	for i, v := range l {
		out[i] = param(v)
	}
	return out, nil
}

// param turns a JSON value into a driver value: objects and lists as JSON text.
func param(v any) any {
	switch x := v.(type) {
	case map[string]any, []any:
		return jsonText(x)
	case float64:
		if x == float64(int64(x)) && x < 1<<53 && x > -(1<<53) {
			return int64(x)
		}
	}
	return v
}

func (d *db) query(ctx context.Context, c connectors.Call) (any, error) {
	sqlText, _ := c.Input["sql"].(string)
	if strings.TrimSpace(sqlText) == "" {
		return nil, permanent("%s.query: sql is required", d.dialect)
	}
	a, err := args(c.Input)
	if err != nil {
		return nil, err
	}
	return d.rows(ctx, c.Connection, "query", sqlText, a, true)
}

func (d *db) rows(ctx context.Context, conn *connectors.Connection, what, q string, a []any, readOnly bool) (any, error) {
	p, err := d.pool(conn)
	if err != nil {
		return nil, err
	}
	var rows *dbsql.Rows
	var tx *dbsql.Tx
	if readOnly && d.dialect != SQLite {
		if tx, err = p.BeginTx(ctx, &dbsql.TxOptions{ReadOnly: true}); err != nil {
			return nil, d.classify(err, conn, what)
		}
		defer tx.Rollback()
		rows, err = tx.QueryContext(ctx, q, a...)
	} else {
		rows, err = p.QueryContext(ctx, q, a...)
	}
	if err != nil {
		return nil, d.classify(err, conn, what)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, d.classify(err, conn, what)
	}
	out := []any{}
	truncated := false
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if len(out) >= d.opts.MaxRows {
			truncated = true
			break
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, d.classify(err, conn, what)
		}
		m := make(map[string]any, len(cols))
		for i, col := range cols {
			m[col] = jsonValue(vals[i])
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, d.classify(err, conn, what)
	}
	return map[string]any{"rows": out, "count": int64(len(out)), "truncated": truncated}, nil
}

// jsonValue turns a scanned value into JSON-friendly data.
func jsonValue(v any) any {
	switch x := v.(type) {
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return base64.StdEncoding.EncodeToString(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case int32:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v
}

func (d *db) selectRows(ctx context.Context, c connectors.Call) (any, error) {
	in := c.Input
	table, err := d.ident(str(in["table"]))
	if err != nil {
		return nil, err
	}
	cols := "*"
	if l, ok := in["columns"].([]any); ok && len(l) > 0 {
		var qs []string
		for _, x := range l {
			q, err := d.ident(str(x))
			if err != nil {
				return nil, err
			}
			qs = append(qs, q)
		}
		cols = strings.Join(qs, ", ")
	}
	var conds []string
	var a []any
	if w, ok := in["where"].(map[string]any); ok {
		for _, k := range sortedKeys(w) {
			q, err := d.ident(k)
			if err != nil {
				return nil, err
			}
			if w[k] == nil {
				conds = append(conds, q+" IS NULL")
				continue
			}
			a = append(a, param(w[k]))
			conds = append(conds, q+" = "+d.ph(len(a)))
		}
	}
	order := str(in["order_by"])
	if ac := str(in["after_column"]); ac != "" {
		q, err := d.ident(ac)
		if err != nil {
			return nil, err
		}
		if after := in["after"]; after != nil {
			a = append(a, param(after))
			conds = append(conds, q+" >= "+d.ph(len(a)))
		}
		if order == "" {
			order = ac
		}
	}
	stmt := "SELECT " + cols + " FROM " + table
	if len(conds) > 0 {
		stmt += " WHERE " + strings.Join(conds, " AND ")
	}
	if order != "" {
		q, err := d.ident(order)
		if err != nil {
			return nil, err
		}
		stmt += " ORDER BY " + q
	}
	limit := d.opts.MaxRows
	if n, ok := in["limit"].(float64); ok && n > 0 && int(n) < limit {
		limit = int(n)
	} else if n, ok := in["limit"].(int64); ok && n > 0 && int(n) < limit {
		limit = int(n)
	}
	stmt += fmt.Sprintf(" LIMIT %d", limit)
	return d.rows(ctx, c.Connection, "select", stmt, a, true)
}

// rowsOf reads row or rows from the input, with the columns of the first
// row (every row must have the same columns).
func (d *db) rowsOf(in map[string]any, what string) ([]map[string]any, []string, error) {
	var rs []map[string]any
	if r, ok := in["row"].(map[string]any); ok {
		rs = append(rs, r)
	}
	if l, ok := in["rows"].([]any); ok {
		for i, x := range l {
			r, ok := x.(map[string]any)
			if !ok {
				return nil, nil, permanent("%s.%s: rows[%d] is not an object", d.dialect, what, i)
			}
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return nil, nil, permanent("%s.%s: give row or rows", d.dialect, what)
	}
	if len(rs) > d.opts.MaxBulkRows {
		return nil, nil, permanent("%s.%s: %d rows is more than the limit of %d per call", d.dialect, what, len(rs), d.opts.MaxBulkRows)
	}
	cols := sortedKeys(rs[0])
	if len(cols) == 0 {
		return nil, nil, permanent("%s.%s: a row has no columns", d.dialect, what)
	}
	for i, r := range rs {
		if len(r) != len(cols) {
			return nil, nil, permanent("%s.%s: rows[%d] has columns %v; rows[0] has %v (every row needs the same columns)", d.dialect, what, i, sortedKeys(r), cols)
		}
		for _, c := range cols {
			if _, ok := r[c]; !ok {
				return nil, nil, permanent("%s.%s: rows[%d] lacks column %q (every row needs the same columns)", d.dialect, what, i, c)
			}
		}
	}
	return rs, cols, nil
}

func (d *db) insert(ctx context.Context, c connectors.Call) (any, error) {
	return d.write(ctx, c, "insert", nil, nil)
}

func (d *db) upsert(ctx context.Context, c connectors.Call) (any, error) {
	key := strList(c.Input["key"])
	if len(key) == 0 {
		return nil, permanent("%s.upsert: key (the columns of a unique constraint) is required", d.dialect)
	}
	upd := strList(c.Input["update"])
	return d.write(ctx, c, "upsert", key, upd)
}

// write inserts rows in chunks inside one transaction; with key it upserts.
func (d *db) write(ctx context.Context, c connectors.Call, what string, key, upd []string) (any, error) {
	table, err := d.ident(str(c.Input["table"]))
	if err != nil {
		return nil, err
	}
	rs, cols, err := d.rowsOf(c.Input, what)
	if err != nil {
		return nil, err
	}
	qcols := make([]string, len(cols))
	for i, col := range cols {
		if qcols[i], err = d.ident(col); err != nil {
			return nil, err
		}
	}
	suffix := ""
	if key != nil {
		if len(upd) == 0 {
			for _, col := range cols {
				if !contains(key, col) {
					upd = append(upd, col)
				}
			}
		}
		var qkey, sets []string
		for _, k := range key {
			q, err := d.ident(k)
			if err != nil {
				return nil, err
			}
			qkey = append(qkey, q)
		}
		for _, u := range upd {
			q, err := d.ident(u)
			if err != nil {
				return nil, err
			}
			if d.dialect == MySQL {
				sets = append(sets, q+" = VALUES("+q+")")
			} else {
				sets = append(sets, q+" = excluded."+q)
			}
		}
		switch {
		case d.dialect == MySQL && len(sets) == 0:
			suffix = " ON DUPLICATE KEY UPDATE " + qkey[0] + " = " + qkey[0]
		case d.dialect == MySQL:
			suffix = " ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
		case len(sets) == 0:
			suffix = " ON CONFLICT (" + strings.Join(qkey, ", ") + ") DO NOTHING"
		default:
			suffix = " ON CONFLICT (" + strings.Join(qkey, ", ") + ") DO UPDATE SET " + strings.Join(sets, ", ")
		}
	}
	p, err := d.pool(c.Connection)
	if err != nil {
		return nil, err
	}
	tx, err := p.BeginTx(ctx, nil)
	if err != nil {
		return nil, d.classify(err, c.Connection, what)
	}
	defer tx.Rollback()
	// Stay under every driver's parameter limit (PostgreSQL: 65535; SQLite: 32766).
	chunk := 30000 / len(cols)
	if chunk < 1 {
		chunk = 1
	}
	var total int64
	for start := 0; start < len(rs); start += chunk {
		end := min(start+chunk, len(rs))
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + strings.Join(qcols, ", ") + ") VALUES ")
		a := make([]any, 0, (end-start)*len(cols))
		for i, r := range rs[start:end] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j, col := range cols {
				if j > 0 {
					b.WriteString(", ")
				}
				a = append(a, param(r[col]))
				b.WriteString(d.ph(len(a)))
			}
			b.WriteByte(')')
		}
		b.WriteString(suffix)
		res, err := tx.ExecContext(ctx, b.String(), a...)
		if err != nil {
			return nil, d.classify(err, c.Connection, what)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	if err := tx.Commit(); err != nil {
		return nil, d.classify(err, c.Connection, what)
	}
	return map[string]any{"rows_affected": total}, nil
}

func (d *db) whereClause(in map[string]any, what string, a []any) (string, []any, error) {
	w, ok := in["where"].(map[string]any)
	if !ok || len(w) == 0 {
		return "", nil, permanent("%s.%s: where is required and must name at least one column (use execute for a table-wide statement)", d.dialect, what)
	}
	var conds []string
	for _, k := range sortedKeys(w) {
		q, err := d.ident(k)
		if err != nil {
			return "", nil, err
		}
		if w[k] == nil {
			conds = append(conds, q+" IS NULL")
			continue
		}
		a = append(a, param(w[k]))
		conds = append(conds, q+" = "+d.ph(len(a)))
	}
	return " WHERE " + strings.Join(conds, " AND "), a, nil
}

func (d *db) update(ctx context.Context, c connectors.Call) (any, error) {
	table, err := d.ident(str(c.Input["table"]))
	if err != nil {
		return nil, err
	}
	set, ok := c.Input["set"].(map[string]any)
	if !ok || len(set) == 0 {
		return nil, permanent("%s.update: set (column -> value) is required", d.dialect)
	}
	var sets []string
	var a []any
	for _, k := range sortedKeys(set) {
		q, err := d.ident(k)
		if err != nil {
			return nil, err
		}
		a = append(a, param(set[k]))
		sets = append(sets, q+" = "+d.ph(len(a)))
	}
	where, a, err := d.whereClause(c.Input, "update", a)
	if err != nil {
		return nil, err
	}
	return d.exec(ctx, c.Connection, "update", "UPDATE "+table+" SET "+strings.Join(sets, ", ")+where, a)
}

func (d *db) delete(ctx context.Context, c connectors.Call) (any, error) {
	table, err := d.ident(str(c.Input["table"]))
	if err != nil {
		return nil, err
	}
	where, a, err := d.whereClause(c.Input, "delete", nil)
	if err != nil {
		return nil, err
	}
	return d.exec(ctx, c.Connection, "delete", "DELETE FROM "+table+where, a)
}

func (d *db) execute(ctx context.Context, c connectors.Call) (any, error) {
	sqlText, _ := c.Input["sql"].(string)
	if strings.TrimSpace(sqlText) == "" {
		return nil, permanent("%s.execute: sql is required", d.dialect)
	}
	a, err := args(c.Input)
	if err != nil {
		return nil, err
	}
	return d.exec(ctx, c.Connection, "execute", sqlText, a)
}

func (d *db) exec(ctx context.Context, conn *connectors.Connection, what, q string, a []any) (any, error) {
	p, err := d.pool(conn)
	if err != nil {
		return nil, err
	}
	res, err := p.ExecContext(ctx, q, a...)
	if err != nil {
		return nil, d.classify(err, conn, what)
	}
	n, _ := res.RowsAffected()
	return map[string]any{"rows_affected": n}, nil
}
