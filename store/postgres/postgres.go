// Package postgres opens Weft's scale-out store on PostgreSQL through pgx
// (its database/sql adapter, so the SQL is shared with SQLite): many weft
// processes share the work. River inserts a run's job through its
// database/sql driver, in the transaction that records the run, and
// notifies the workers (pg_notify, sent at commit); the client that works
// the queue runs on River's pgx driver, on a small pool of its own, and
// listens for those notifications instead of polling.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open connects to url (postgres://...) and migrates the schema.
func Open(ctx context.Context, url string, log *slog.Logger, linger time.Duration) (*sqlstore.Store, error) {
	if log == nil {
		log = slog.Default()
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(40)
	db.SetMaxIdleConns(40)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	if err := migrate(ctx, url, sub, log); err != nil {
		db.Close()
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	// River's own connections: fetches, completions, leadership and
	// maintenance (its listener holds one more, taken out of the pool).
	pcfg.MaxConns = queueConns
	pcfg.MinConns = 0
	if pcfg.ConnConfig.RuntimeParams == nil {
		pcfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	if pcfg.ConnConfig.RuntimeParams["application_name"] == "" {
		pcfg.ConnConfig.RuntimeParams["application_name"] = "weft queue"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	newWorker := func(s *sqlstore.Store, cfg *river.Config) (sqlstore.QueueClient, error) {
		return river.NewClient(sqlstore.WorkerDriver(s, riverpgxv5.New(pool)), cfg)
	}
	s, err := sqlstore.New(sqlstore.Options{Dialect: sqlstore.Postgres, Writer: db, Reader: db, Driver: riverdatabasesql.New(db), Logger: log, IsUniqueErr: isUnique, IsUnavailableErr: IsUnavailable, Linger: linger, Committers: 8,
		NewWorker: newWorker, OnClose: func() error { pool.Close(); return nil }, Listen: listener(url, log)})
	if err != nil {
		pool.Close()
		db.Close()
	}
	return s, err
}

// listener listens on a notification channel on a connection of its own
// (not from a pool: LISTEN belongs to the session), until ctx ends. After
// a failure it connects again, backing off from listenMinBackoff to
// listenMaxBackoff with jitter; up(false) says that announcements may be
// missed meanwhile, up(true) that it listens again.
func listener(url string, log *slog.Logger) func(ctx context.Context, channel string, up func(bool), fn func(string)) error {
	return func(ctx context.Context, channel string, up func(bool), fn func(string)) error {
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			return fmt.Errorf("connect to PostgreSQL: %w", err)
		}
		if cfg.RuntimeParams == nil {
			cfg.RuntimeParams = map[string]string{}
		}
		cfg.RuntimeParams["application_name"] = "weft listen " + channel
		backoff := listenMinBackoff
		for {
			err := listenOnce(ctx, cfg, channel, func() { backoff = listenMinBackoff; up(true) }, fn)
			if ctx.Err() != nil {
				return nil
			}
			up(false)
			log.Warn("postgres: listening for notifications failed; looking by polling until it listens again", "channel", channel, "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1)))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			backoff = min(2*backoff, listenMaxBackoff)
		}
	}
}

// Bounds of a listener's reconnection.
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 10 * time.Second
	listenDial       = 10 * time.Second // a connection and its LISTEN, a ping
	listenPing       = 30 * time.Second // a quiet connection is pinged this often
)

func listenOnce(ctx context.Context, cfg *pgx.ConnConfig, channel string, listening func(), fn func(string)) error {
	dctx, cancel := context.WithTimeout(ctx, listenDial)
	conn, err := pgx.ConnectConfig(dctx, cfg)
	if err != nil {
		cancel()
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(dctx, "LISTEN "+pgx.Identifier{channel}.Sanitize())
	cancel()
	if err != nil {
		return err
	}
	listening()
	for {
		// A quiet connection is pinged every listenPing: a half-open
		// one is noticed (and dialled again) instead of waited on.
		wctx, cancel := context.WithTimeout(ctx, listenPing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			fn(n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			pctx, cancel := context.WithTimeout(ctx, listenDial)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// queueConns bounds the pool of the client that works the queue.
const queueConns = 8

// Bounds of a schema migration's waits. Several processes starting at once
// take turns through an advisory lock; no session of theirs may hold it
// for long without doing anything.
const (
	migrationLock = 742017
	// migrationLockWait bounds the wait for the advisory lock (or the
	// caller's context deadline, if sooner).
	migrationLockWait = 2 * time.Minute
	// migrationLockTimeout is lock_timeout on migration sessions: a DDL
	// statement waiting this long for a table lock fails instead of
	// holding the advisory lock while it waits.
	migrationLockTimeout = 30 * time.Second
	// migrationIdleTimeout is idle_in_transaction_session_timeout on
	// migration sessions: the server ends one that sits idle in a
	// transaction, which releases the advisory lock it holds.
	migrationIdleTimeout = time.Minute
)

// migrate applies the schema under the advisory lock, on a small pool of
// its own whose sessions carry the timeouts above (and say "weft migrate"
// in pg_stat_activity).
func migrate(ctx context.Context, url string, migrations fs.FS, log *slog.Logger) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = "weft migrate"
	cfg.RuntimeParams["lock_timeout"] = fmt.Sprint(migrationLockTimeout.Milliseconds())
	cfg.RuntimeParams["idle_in_transaction_session_timeout"] = fmt.Sprint(migrationIdleTimeout.Milliseconds())
	mdb := stdlib.OpenDB(*cfg)
	defer mdb.Close()
	mdb.SetMaxOpenConns(4)
	lockConn, err := mdb.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer lockConn.Close()
	if err := lockMigrations(ctx, lockConn, migrationLockWait, log); err != nil {
		return err
	}
	defer lockConn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock) //nolint:errcheck
	if err := sqlstore.MigrateAll(ctx, mdb, riverdatabasesql.New(mdb), migrations, sqlstore.Postgres); err != nil {
		return fmt.Errorf("migrate the schema: %w", err)
	}
	return nil
}

// lockMigrations takes the migration lock on conn, waiting at most wait (or
// until ctx ends). While it waits it logs who holds the lock; past the
// bound it says so in its error.
func lockMigrations(ctx context.Context, conn *sql.Conn, wait time.Duration, log *slog.Logger) error {
	start := time.Now()
	deadline := start.Add(wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	var nextLog time.Time
	holder := "another session (it could not be looked up)"
	for {
		// The try runs to its end even when ctx ends meanwhile: a query cut
		// off by its context can leave conn unusable for the holder lookup.
		var got bool
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err := conn.QueryRowContext(tctx, `SELECT pg_try_advisory_lock($1)`, migrationLock).Scan(&got)
		cancel()
		if err != nil {
			return fmt.Errorf("take the schema migration lock: %w", err)
		}
		if got {
			if waited := time.Since(start); waited > time.Second {
				log.Info("postgres: took the schema migration lock", "waited", waited.Round(time.Millisecond))
			}
			return nil
		}
		if h, ok := describeLockHolder(ctx, conn); ok {
			holder = h // else the last one seen stands
		}
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return weft.Errorf(weft.EUnavailable, "postgres: gave up after %s waiting for the schema migration lock (pg_advisory_lock(%d)), held by %s; "+
				"if that session is stuck, end it (SELECT pg_terminate_backend(pid)) and start again",
				time.Since(start).Round(time.Millisecond), migrationLock, holder)
		}
		if now := time.Now(); now.After(nextLog) {
			log.Warn("postgres: waiting for the schema migration lock", "holder", holder, "waited", now.Sub(start).Round(time.Millisecond), "gives_up_in", time.Until(deadline).Round(time.Second))
			nextLog = now.Add(10 * time.Second)
		}
		t := time.NewTimer(min(250*time.Millisecond, time.Until(deadline)))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// describeLockHolder says which session holds the migration lock: pid,
// application, client, state and for how long, as pg_stat_activity shows
// them (state is hidden from roles without pg_read_all_stats).
func describeLockHolder(ctx context.Context, conn *sql.Conn) (string, bool) {
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	var pid int
	var app, client, state string
	var secs float64
	err := conn.QueryRowContext(qctx, `SELECT a.pid, COALESCE(a.application_name, ''), COALESCE(host(a.client_addr), 'local socket'),
		COALESCE(a.state, 'unknown'), COALESCE(EXTRACT(EPOCH FROM now() - COALESCE(a.state_change, a.backend_start)), 0)::float8
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1 LIMIT 1`, migrationLock).
		Scan(&pid, &app, &client, &state, &secs)
	if err != nil {
		return "", false
	}
	if app == "" {
		app = "no application name"
	}
	return fmt.Sprintf("PostgreSQL session pid %d (%s, from %s), %s for %s", pid, app, client, state, time.Duration(secs*float64(time.Second)).Round(time.Second)), true
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
