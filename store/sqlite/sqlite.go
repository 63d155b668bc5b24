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
	"sync/atomic"
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
	// The backfill's own connection: it copies the WAL into the database
	// file while the writer goes on committing (checkpointer). It never
	// waits for a lock: with a busy handler, a checkpoint that finds the
	// WAL's header changing (the writer starting it over) waits for the
	// writer's lock, which back-to-back commits can hold for the whole
	// busy timeout; busy, it gives up and the writer finishes the copy.
	ck, err := sql.Open(driverName, "file:"+path+"?_pragma=busy_timeout(0)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, err
	}
	ck.SetMaxOpenConns(1)
	ck.SetMaxIdleConns(1)
	cp := &checkpointer{log: log}
	if testCheckpointer != nil {
		testCheckpointer(cp)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	st, err := sqlstore.Open(ctx, sqlstore.Options{Dialect: sqlstore.SQLite, Writer: w, Reader: r, Driver: riversqlite.New(w), Logger: log, IsUniqueErr: isUnique, IsUnavailableErr: IsUnavailable, Linger: o.Linger,
		QueueLock: queueLock(path + "-queue.lock"), Checkpoint: cp.finish, Backfill: cp.backfiller(ck), OnClose: ck.Close}, sub)
	if err != nil {
		ck.Close()
		return nil, err
	}
	return st, nil
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
// instead after every 128th commit (~1,300 frames under the sync load),
// mostly while commits go on (checkpointer).
const walBackstop = 4000

// checkpointer copies the committed WAL frames into the database file
// (PASSIVE: nothing waits for readers) in two parts. The backfill, on a
// connection of its own, copies every frame committed when it starts and
// syncs the file while the writer goes on committing. Then finish, on the
// writer's own connection once a commit's callers are answered, copies the
// few frames committed meanwhile; no commit lands during it, so the WAL is
// then wholly in the database file and the next commit starts it over
// (unless a reader still reads an older snapshot; the walBackstop remains).
// A checkpoint that fails is retried 128 commits later; durability does
// not depend on it (a commit is in the WAL before its callers are
// answered).
type checkpointer struct {
	log *slog.Logger
	// Frames copied by each part (tests).
	backfilledFrames, finishedFrames atomic.Int64
	backfills, finishes              atomic.Int64 // calls that ran
	// The WAL's frames already copied when the last call of either part
	// returned (0 after a finish that copied it all: the WAL starts over).
	copied atomic.Int64
	// hold, when set by a test, is received from before each backfill.
	hold chan struct{}
}

// A backfill makes at most backfillPasses passes, and stops after one
// that copied fewer than backfillEnough frames (about two batches' worth
// under the sync load).
const (
	backfillPasses = 2
	backfillEnough = 16
)

// testCheckpointer, when set by a test, sees each store's checkpointer.
var testCheckpointer func(*checkpointer)

func (c *checkpointer) run(ctx context.Context, db *sql.DB) (frames, done int, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var busy int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done); err != nil {
		if c.log != nil && ctx.Err() == nil && !IsUnavailable(err) {
			c.log.Warn("sqlite: checkpoint", "err", err)
		}
		return 0, 0, false
	}
	return frames, done, busy == 0
}

// backfiller is sqlstore.Options.Backfill on ck.
func (c *checkpointer) backfiller(ck *sql.DB) func(context.Context) {
	return func(ctx context.Context) {
		if c.hold != nil {
			select {
			case <-c.hold:
			case <-ctx.Done():
				return
			}
		}
		// Each pass copies what was committed during the one before: a
		// few passes leave the writer a handful of frames.
		prev := int(c.copied.Load())
		for pass := 0; pass < backfillPasses; pass++ {
			frames, done, ok := c.run(ctx, ck)
			if !ok {
				break
			}
			if done < prev { // the WAL has started over since
				prev = 0
			}
			n := done - prev
			c.backfilledFrames.Add(int64(n))
			prev = done
			c.copied.Store(int64(done))
			if n < backfillEnough || done == frames {
				break
			}
		}
		c.backfills.Add(1)
	}
}

// finish is sqlstore.Options.Checkpoint: on the writer, after a backfill.
// No commit lands during it, so what it copies is the rest of the WAL.
func (c *checkpointer) finish(db *sql.DB) {
	frames, done, ok := c.run(context.Background(), db)
	if !ok {
		return
	}
	c.finishes.Add(1)
	base := c.copied.Load()
	if int64(done) < base { // the WAL has started over since the backfill
		base = 0
	}
	c.finishedFrames.Add(int64(done) - base)
	if done == frames {
		c.copied.Store(0) // the next commit starts the WAL over
	} else {
		c.copied.Store(int64(done))
	}
}
