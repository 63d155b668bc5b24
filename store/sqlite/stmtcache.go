package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"sync"
	"sync/atomic"

	msqlite "modernc.org/sqlite"
)

// The driver modernc.org/sqlite registers prepares (parses) every statement
// on every Exec and Query. Under load that parsing was 40% of Weft's CPU,
// most of it for River's queue queries, which are a few dozen fixed
// strings. cachingDriver keeps each connection's prepared statements and
// reuses them; a statement busy with open rows is never shared (a second
// use gets a fresh one).

const driverName = "weft-sqlite"

var registerOnce sync.Once

func registerDriver() {
	registerOnce.Do(func() { sql.Register(driverName, &cachingDriver{inner: &msqlite.Driver{}}) })
}

// maxCached bounds each connection's cache; past it statements are
// prepared and closed per use, as without the cache.
const maxCached = 512

type cachingDriver struct{ inner driver.Driver }

func (d *cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	n := &readerCounts
	if strings.Contains(name, "journal_mode(WAL)") { // writerDSN
		n = &writerCounts
	}
	return &cachingConn{Conn: c, stmts: map[string]*cachedStmt{}, n: n}, nil
}

// Counts are the transactions begun and the statements run on the
// store's connections since the process started (every store the process
// opened), for benchmarks that count a run's database work.
type Counts struct {
	WriterTx, WriterStmts, ReaderStmts uint64
}

type counts struct{ tx, stmts atomic.Uint64 }

var writerCounts, readerCounts counts

// StatementCounts returns the counts so far.
func StatementCounts() Counts {
	return Counts{WriterTx: writerCounts.tx.Load(), WriterStmts: writerCounts.stmts.Load(), ReaderStmts: readerCounts.stmts.Load()}
}

type cachedStmt struct {
	driver.Stmt
	busy bool // rows from it are open
}

type cachingConn struct {
	driver.Conn
	stmts map[string]*cachedStmt // used by one goroutine at a time (database/sql holds the conn)
	n     *counts
}

type innerConn interface {
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

func (c *cachingConn) inner() innerConn { return c.Conn.(innerConn) }

// stmt returns a cached statement for query, or a fresh one to close after
// use (cached=false).
func (c *cachingConn) stmt(ctx context.Context, query string) (s *cachedStmt, cached bool, err error) {
	if s, ok := c.stmts[query]; ok && !s.busy {
		return s, true, nil
	}
	st, err := c.inner().PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	s = &cachedStmt{Stmt: st}
	if _, taken := c.stmts[query]; !taken && len(c.stmts) < maxCached {
		c.stmts[query] = s
		return s, true, nil
	}
	return s, false, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.n.stmts.Add(1)
	if len(args) == 0 {
		return c.inner().ExecContext(ctx, query, args) // scripts, DDL: not worth caching
	}
	s, cached, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if !cached {
		defer s.Close()
	}
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.n.stmts.Add(1)
	if len(args) == 0 {
		return c.inner().QueryContext(ctx, query, args)
	}
	s, cached, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		if !cached {
			s.Close()
		}
		return nil, err
	}
	s.busy = true
	return &releasingRows{Rows: rows, release: func() {
		s.busy = false
		if !cached {
			s.Close()
		}
	}}, nil
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.inner().PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, n: c.n}, nil
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.n.tx.Add(1)
	return c.inner().BeginTx(ctx, opts)
}

// countingStmt is a statement prepared by database/sql (sql.DB.Prepare),
// counted at each use.
type countingStmt struct {
	driver.Stmt
	n *counts
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.n.stmts.Add(1)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.n.stmts.Add(1)
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.inner().Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error { return c.inner().ResetSession(ctx) }

func (c *cachingConn) IsValid() bool { return c.inner().IsValid() }

func (c *cachingConn) Close() error {
	for _, s := range c.stmts {
		_ = s.Close()
	}
	c.stmts = nil
	return c.Conn.Close()
}

type releasingRows struct {
	driver.Rows
	release func()
	done    bool
}

func (r *releasingRows) Close() error {
	err := r.Rows.Close()
	if !r.done {
		r.done = true
		r.release()
	}
	return err
}

func (r *releasingRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}
