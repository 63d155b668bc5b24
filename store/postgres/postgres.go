// Package postgres opens Weft's scale-out store on PostgreSQL through pgx
// (its database/sql adapter, so the SQL is shared with SQLite), with River's
// database/sql driver on the same pool: many weft processes share the work.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"

	"github.com/weftio/weft/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open connects to url (postgres://...) and migrates the schema.
func Open(ctx context.Context, url string, log *slog.Logger, linger time.Duration) (*sqlstore.Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(40)
	db.SetMaxIdleConns(40)
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	// Serialise concurrent migrations from several processes.
	lockConn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer lockConn.Close()
	if _, err := lockConn.ExecContext(ctx, `SELECT pg_advisory_lock(742017)`); err != nil {
		return nil, err
	}
	defer lockConn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(742017)`) //nolint:errcheck
	sub, _ := fs.Sub(migrations, "migrations")
	return sqlstore.Open(ctx, sqlstore.Options{Dialect: sqlstore.Postgres, Writer: db, Reader: db, Driver: riverdatabasesql.New(db), Logger: log, IsUniqueErr: isUnique, IsUnavailableErr: IsUnavailable, Linger: linger, Committers: 8}, sub)
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// IsUnavailable reports PostgreSQL errors that a retry later may cure: no
// connection (refused, reset, closed, timed out), the server shutting down
// or starting, out of resources (disk full, too many connections), a lock
// or statement timeout, a serialization failure or deadlock.
func IsUnavailable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || errors.Is(err, pgconn.ErrConnClosed) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),  // insufficient resources: disk full, out of memory, too many connections
			strings.HasPrefix(pe.Code, "57P"), // admin or crash shutdown, cannot connect now
			pe.Code == "57014",                // query canceled (statement timeout)
			pe.Code == "55P03",                // lock not available (lock timeout)
			pe.Code == "40001", pe.Code == "40P01":
			return true
		}
	}
	return false
}
