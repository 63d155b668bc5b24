// Package sqlite opens Weft's default, embedded store: one SQLite file in
// WAL mode (modernc.org/sqlite, no cgo), with River's SQLite driver on the
// same database so runs are enqueued in the transaction that records them.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river/riverdriver/riversqlite"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/weftio/weft/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultCacheBytes bounds the page cache of the store's writer connection
// (SQLite's cache_size; SQLite's own default). The log's inserts touch the
// right edge of each index (run ids are time-ordered), so 2 MiB holds what
// a write needs; the rest of the database is read through the OS page
// cache. A page cache fills to its bound and stays there: at the 64 MiB it
// was, it became most of the process's memory under a sustained load, with
// no throughput to show for it (BENCHMARKS.md).
const DefaultCacheBytes = 2 << 20

// MaxCacheBytes is the largest writer page cache Options accepts.
const MaxCacheBytes = 1 << 30

// Options tune Open.
type Options struct {
	// Linger is how long a group commit waits for more writers (0: none).
	Linger time.Duration
	// CacheBytes bounds the writer connection's page cache: 0 means
	// DefaultCacheBytes; at least 64 KiB, at most MaxCacheBytes.
	CacheBytes int64
}

// Open opens (creating if needed) the store in dir/weft.db.
func Open(ctx context.Context, dir string, log *slog.Logger, linger time.Duration) (*sqlstore.Store, error) {
	return OpenOptions(ctx, dir, log, Options{Linger: linger})
}

// OpenOptions is Open with its settings.
func OpenOptions(ctx context.Context, dir string, log *slog.Logger, o Options) (*sqlstore.Store, error) {
	cache := o.CacheBytes
	if cache == 0 {
		cache = DefaultCacheBytes
	}
	if cache < 64<<10 || cache > MaxCacheBytes {
		return nil, fmt.Errorf("sqlite: a page cache of %d bytes: it is 64 KiB to %d bytes", o.CacheBytes, MaxCacheBytes)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, "weft.db")
	registerDriver()
	w, err := sql.Open(driverName, writerDSN(path, cache))
	if err != nil {
		return nil, err
	}
	// SQLite has one writer; River and our group-commit writer share it.
	w.SetMaxOpenConns(1)
	r, err := sql.Open(driverName, "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		return nil, err
	}
	// Keep every reader open: database/sql keeps 2 idle connections by
	// default, and a reader opened anew reads the whole schema and
	// prepares its statements again (the async workers read each run as
	// they pick it up: under load that churn was 5% of weft serve's CPU).
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	if err := w.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	return sqlstore.Open(ctx, sqlstore.Options{Dialect: sqlstore.SQLite, Writer: w, Reader: r, Driver: riversqlite.New(w), Logger: log, IsUniqueErr: isUnique, IsUnavailableErr: IsUnavailable, Linger: o.Linger,
		QueueLock: queueLock(path + "-queue.lock"), Checkpoint: checkpoint(log)}, sub)
}

// writerDSN opens the writer connection: WAL, a page cache of cacheBytes
// (rounded down to KiB). synchronous=NORMAL in WAL mode survives process
// crashes (kill -9); a power loss may roll back the last transactions.
func writerDSN(path string, cacheBytes int64) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=cache_size(-" +
		strconv.FormatInt(cacheBytes>>10, 10) + ")&_pragma=wal_autocheckpoint(" + strconv.Itoa(walBackstop) + ")&_txlock=immediate"
}

func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// IsUnavailable reports SQLite errors that a retry later may cure: a full
// disk, an I/O error, a database busy or locked by another connection or
// process, a file that cannot be opened, memory exhausted.
func IsUnavailable(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff { // the primary code of an extended one
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED,
		sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PROTOCOL:
		return true
	}
	return false
}

// readers is the size of the read-only pool.
const readers = 8

// walBackstop is the writer's automatic checkpoint threshold, in WAL
// frames (~16 MiB): a backstop only. SQLite's default (1,000) checkpoints
// inside the commit that crosses it, and every caller whose run is in that
// batch waits for the copy and its fsyncs; the group committer checkpoints
// instead after every 128th commit (~900 frames under the sync load, about
// as often as SQLite would), once that commit's callers are answered
// (sqlstore.Options.Checkpoint).
const walBackstop = 4000

// checkpoint copies the committed WAL frames into the database file
// (PASSIVE: nothing waits for readers). On the writer's own connection, so
// no commit lands meanwhile and the next one starts the WAL over. A
// checkpoint that fails is retried 128 commits later, and the backstop
// remains; durability does not depend on it (a commit is in the WAL
// before its callers are answered).
func checkpoint(log *slog.Logger) func(*sql.DB) {
	return func(db *sql.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var busy, frames, done int
		if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done); err != nil && log != nil {
			log.Warn("sqlite: checkpoint", "err", err)
		}
	}
}
