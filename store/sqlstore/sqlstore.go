// Package sqlstore implements the store contract once, over database/sql,
// for the two SQL dialects Weft supports. store/sqlite and store/postgres
// open the connections, run migrations and hand them to New; the SQL here
// is written with ? placeholders and rebound per dialect.
package sqlstore

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// Dialect names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Store is the shared implementation of store.Store.
type Store struct {
	w, r    *sql.DB // writer (River shares it) and reader pools; equal on Postgres
	dialect string
	driver  riverdriver.Driver[*sql.Tx]
	log     *slog.Logger
	isUniq  func(error) bool
	isDown  func(error) bool

	queueLock func() (unlock func(), ok bool)

	mu    sync.Mutex
	river *river.Client[*sql.Tx] // inserts jobs in our transactions (and works them, without newWorker)
	// worker, when newWorker is set, is the River client that works the
	// queue on a driver of its own (PostgreSQL: pgx, LISTEN/NOTIFY);
	// river then only inserts.
	worker    QueueClient
	newWorker func(*Store, *river.Config) (QueueClient, error)
	onClose   func() error
	live      *liveness
	completed completedJobs              // jobs completed with their runs (jobcomplete.go)
	handoff   handoff                    // enqueued runs for RunForWork (handoff.go)
	local     atomic.Pointer[localQueue] // slots for the runs this process enqueues (localjobs.go)

	batch    chan *writeReq
	done     chan struct{}
	stopped  chan struct{} // closed once every committer has returned (Close)
	gate     chan struct{} // held by the committer that gathers (capacity 1)
	freed    chan struct{} // a commit ended (capacity 1): the gatherer looks again
	inflight atomic.Int32  // group commits running
	maxHeld  time.Duration // the longest a batch waits for commits in flight (maxHeldWait)
	commits  atomic.Uint64 // transactions the group committer ran
	writes   atomic.Uint64 // callers' writes they carried
	retried  atomic.Uint64 // batches that failed and were retried write by write
	wg       sync.WaitGroup
	qs       map[string]string
	stmts    map[string]*sql.Stmt
	linger   time.Duration
	// checkpoint, when set, runs on the writer pool after every
	// checkpointEvery-th commit, once that commit's callers are answered;
	// with backfill set, after each backfill instead (Options).
	checkpoint   func(*sql.DB)
	backfill     func(ctx context.Context)
	backfillGo   chan struct{} // wakes the backfiller (capacity 1)
	backfillIdle chan struct{} // holds a token while no backfill runs (capacity 1)
	backfilled   atomic.Bool   // a backfill ended: the writer finishes the checkpoint

	payload store.PayloadSealer // nil: payloads are stored in the clear
	listen  func(ctx context.Context, channel string, up func(bool), fn func(payload string)) error
}

// Options configure New.
type Options struct {
	Dialect     string
	Writer      *sql.DB
	Reader      *sql.DB
	Driver      riverdriver.Driver[*sql.Tx]
	Logger      *slog.Logger
	IsUniqueErr func(error) bool
	// IsUnavailableErr reports the dialect's errors that a retry later may
	// cure (server down, connection lost, disk full, database busy).
	IsUnavailableErr func(error) bool
	MaxBatch         int
	Linger           time.Duration // how long a commit waits for more writers (0: none)
	Committers       int           // concurrent group commits (default 1)
	// QueueLock, when set, takes a lock that only one process at a time
	// can hold (SQLite: a file lock next to the database); ok is false
	// when another process holds it. The holder may reclaim the running
	// jobs of every earlier holder at once: those processes are dead.
	QueueLock func() (unlock func(), ok bool)
	// NewWorker, when set, makes the River client that works the queue,
	// on a driver other than Driver (which then only inserts jobs, in
	// the transaction that records their run, and notifies the workers).
	// Both must reach the same database and schema. Its driver is to be
	// wrapped with WorkerDriver.
	NewWorker func(*Store, *river.Config) (QueueClient, error)
	// Checkpoint, when set, runs on Writer after every checkpointEvery-th
	// group commit, once that commit's callers have been answered
	// (SQLite: copying the WAL into the database file, which SQLite would
	// otherwise do inside a commit while its callers wait).
	Checkpoint func(*sql.DB)
	// Backfill, when set with Checkpoint, copies the WAL into the database
	// file on a connection of its own while the writer goes on committing
	// (SQLite: a PASSIVE checkpoint). It runs after every checkpointEvery-th
	// commit, in a goroutine of the store; when it returns, Checkpoint runs
	// on Writer after the next commit, to copy the frames committed
	// meanwhile, so that the next commit starts the WAL over. The writer
	// then stops for those few frames, not for the whole copy and its
	// fsyncs (BENCHMARKS.md §49: the whole copy held every reply of the
	// next batch for ~10 ms, 12 % of the time under the sync load).
	Backfill func(ctx context.Context)
	// OnClose runs last in Close (e.g. closing NewWorker's pool).
	OnClose func() error
	// Listen, when set, listens on a notification channel of the
	// database on a connection of its own (PostgreSQL: LISTEN) until ctx
	// ends, reconnecting after a failure; up says when it listens. The
	// store's writes that announce themselves then notify (pg_notify).
	Listen func(ctx context.Context, channel string, up func(bool), fn func(payload string)) error
}

// QueueClient is a River client that works jobs, whatever its driver.
type QueueClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// New wraps migrated databases.
func New(o Options) (*Store, error) {
	if o.Reader == nil {
		o.Reader = o.Writer
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 256
	}
	s := &Store{w: o.Writer, r: o.Reader, dialect: o.Dialect, driver: o.Driver, log: o.Logger, isUniq: o.IsUniqueErr, isDown: o.IsUnavailableErr, queueLock: o.QueueLock,
		newWorker: o.NewWorker, onClose: o.OnClose, listen: o.Listen, checkpoint: o.Checkpoint, backfill: o.Backfill, backfillGo: make(chan struct{}, 1), backfillIdle: make(chan struct{}, 1),
		batch: make(chan *writeReq, 4096), gate: make(chan struct{}, 1), freed: make(chan struct{}, 1), maxHeld: maxHeldWait, done: make(chan struct{}), stopped: make(chan struct{}), qs: map[string]string{}, stmts: map[string]*sql.Stmt{}, linger: o.Linger}
	if err := s.prepareHot(); err != nil {
		return nil, err
	}
	// One committer serialises SQLite's single writer; PostgreSQL takes
	// concurrent transactions, so several committers overlap their fsyncs.
	for i := 0; i < max(o.Committers, 1); i++ {
		s.wg.Add(1)
		go s.batcher(o.MaxBatch)
	}
	if s.checkpoint != nil && s.backfill != nil {
		s.backfillIdle <- struct{}{}
		s.wg.Add(1)
		go s.backfiller()
	}
	return s, nil
}

// backfiller runs Options.Backfill when the committer asks for it, then
// lets the committer finish the checkpoint (afterCommit).
func (s *Store) backfiller() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		select {
		case <-s.done:
			return
		case <-s.backfillGo:
		}
		trace.WithRegion(ctx, "wal backfill", func() { s.backfill(ctx) })
		s.backfilled.Store(true)
		s.backfillIdle <- struct{}{}
	}
}

// afterCommit checkpoints the WAL once a commit's callers are answered:
// with a backfiller, it wakes it after every checkpointEvery-th commit and
// finishes what a backfill leaves (the frames committed while it copied);
// a backfill still copying a whole cycle later is waited for and finished
// at once, so the WAL between two restarts never holds much more than two
// cycles' frames. Without a backfiller, the writer copies it all itself
// after every checkpointEvery-th commit.
func (s *Store) afterCommit() {
	if s.checkpoint == nil {
		return
	}
	if s.backfill == nil {
		if s.commits.Load()%checkpointEvery == 0 {
			s.finishCheckpoint()
		}
		return
	}
	if s.backfilled.Swap(false) {
		s.finishCheckpoint()
	}
	if s.commits.Load()%checkpointEvery != 0 {
		return
	}
	select {
	case <-s.backfillIdle: // the backfiller hands the token back when done
		s.backfillGo <- struct{}{}
	default:
		<-s.backfillIdle
		s.backfillIdle <- struct{}{}
		if s.backfilled.Swap(false) {
			s.finishCheckpoint()
		}
	}
}

// finishCheckpoint runs Options.Checkpoint on the writer, in a trace
// region that bench/tracetail measures the callers' waits against.
func (s *Store) finishCheckpoint() {
	defer trace.StartRegion(context.Background(), "wal checkpoint on the writer").End()
	s.checkpoint(s.w)
}

// Dialect implements store.Store.
func (s *Store) Dialect() string { return s.dialect }

// q rebinds ? placeholders for the dialect (cached).
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if out, ok := s.qs[query]; ok {
		return out
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	s.qs[query] = b.String()
	return b.String()
}

// --- group commit -----------------------------------------------------

type writeReq struct {
	fn   func(tx *sql.Tx) error
	done chan error
	// rows, when set, is what the request inserts (fn is then nil): in a
	// batch of several callers the committer inserts all their rows
	// together.
	rows *runRows
	// jobs are the runs (of rows) whose jobs fn enqueues: in a batch the
	// committer enqueues all of them with one insert of River's.
	jobs []string
	// upd, when set, is the run update fn makes (UpdateRun): in a batch
	// of such writes the committer updates all the runs with one
	// statement and inserts all their attempts together.
	upd *runUpd
	// claim, when set, is a local slot taken for the job of rows' run:
	// the job is inserted running, attempted by this worker, and runs
	// here once the write commits (localjobs.go).
	claim *localClaim
}

// runUpd is one UpdateRun, ready to write.
type runUpd struct {
	r  *store.Run
	p  runPayload
	as []store.Attempt
	ap []attemptPayload
	// job, when not 0, is the River job the write completes with the
	// run; completed says it did (set before the caller is answered).
	job       int64
	completed bool
}

// apply returns what r writes in tx.
func (s *Store) apply(ctx context.Context, r *writeReq) func(tx *sql.Tx) error {
	if r.fn != nil {
		return r.fn
	}
	return func(tx *sql.Tx) error { return s.insertRunRows(ctx, tx, r.rows) }
}

// write runs fn in a transaction shared with other concurrent writers
// (group commit): one fsync serves many callers. It returns once committed.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.writeReq(ctx, &writeReq{fn: fn})
}

func (s *Store) writeReq(ctx context.Context, req *writeReq) error {
	req.done = make(chan error, 1)
	// A closed store takes no write. Checked first: select picks at random
	// among ready cases, and the queue has room after Close, where nothing
	// would ever take the write from it.
	select {
	case <-s.done:
		req.claim.release()
		return errClosed()
	default:
	}
	select {
	case s.batch <- req:
	case <-s.done:
		req.claim.release()
		return errClosed()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		// The write may still commit; callers treat this like a crash.
		return s.wrap(ctx.Err(), "write not confirmed before the deadline")
	case <-s.stopped:
		// Queued while Close ran, after the committers had drained the
		// queue: either one took it before returning, or it was not written.
		select {
		case err := <-req.done:
			return err
		default:
			req.claim.release()
			return errClosed()
		}
	}
}

func errClosed() error { return weft.Errorf(weft.EUnavailable, "store is closed; nothing was written") }

// inTx: the hot writes run their statements under their caller's context
// without its cancellation. They run inside the committer's transaction,
// begun without one; and the SQLite driver starts a watcher goroutine for
// every statement whose context can be canceled. A caller that gives up
// stops waiting (write), as before: its write may still commit.

// The group committer yields at most maxYields times, for at most
// yieldFor, while writers keep arriving (batcher).
const (
	// Group commits between two checkpoints (Options.Checkpoint, Backfill;
	// SQLite's Checkpoint may leave the WAL to grow over a few of them,
	// store/sqlite's walRestartFrames). BENCHMARKS.md §50 measured 512
	// too: a larger WAL, no better.
	checkpointEvery = 128
	maxYields       = 32
	yieldFor        = time.Millisecond
	// A committer opens a transaction beside k others in flight only when
	// at least concurrentAt·k writes wait for it, or when it has waited
	// maxHeldWait for a commit in flight to end (gather).
	concurrentAt = 4
	maxHeldWait  = 20 * time.Millisecond
)

func (s *Store) batcher(max int) {
	defer s.wg.Done()
	for {
		// One committer gathers at a time (the gate); the others are
		// committing, or waiting for the gate.
		select {
		case s.gate <- struct{}{}:
		case <-s.done:
			s.drain()
			return
		}
		reqs, closed := s.gather(max)
		<-s.gate
		if len(reqs) > 0 {
			s.inflight.Add(1)
			write := trace.StartRegion(context.Background(), "group commit: write")
			s.commit(reqs)
			write.End()
			// Decremented before the wake-up, so a gatherer that takes the
			// wake-up sees the count without this commit.
			s.inflight.Add(-1)
			select {
			case s.freed <- struct{}{}:
			default:
			}
			// The callers of this batch have their answers; writers that
			// arrive during a checkpoint queue for the next one.
			s.afterCommit()
		}
		if closed {
			s.drain()
			return
		}
	}
}

// drain commits, one by one, what is still queued once the store closes,
// so that nothing accepted is dropped.
func (s *Store) drain() {
	for {
		select {
		case r := <-s.batch:
			s.commit([]*writeReq{r})
		default:
			return
		}
	}
}

// gather takes the writes of the next group commit: the first writer to
// arrive and every writer queued behind it. closed says that the store
// closed meanwhile (reqs, if any, are still to be committed).
//
// While other commits are in flight, a new transaction opens only when
// enough writers wait for it: at least concurrentAt for each commit in
// flight. Until then the batch grows, and it closes as soon as a commit
// in flight ends: a commit's own duration is the wait, with no linger;
// maxHeldWait only bounds how long writers wait behind a commit that is
// stuck (on a lock, say) before they commit on their own. A lone writer on an idle store commits at once; under load the
// writers ride in fewer, fuller transactions instead of one committer
// each, which is what lets several processes share one database
// (BENCHMARKS.md §59, §64: eight committers a process left ~1.6 writes a
// commit with four processes). With one committer (SQLite) nothing is
// ever in flight while it gathers.
func (s *Store) gather(max int) (reqs []*writeReq, closed bool) {
	var first *writeReq
	select {
	case first = <-s.batch:
	case <-s.done:
		return nil, true
	}
	reqs = []*writeReq{first}
	// Trace regions (bench/tracetail): how long a batch gathers
	// writers, and how long its commit takes; without a trace running
	// each costs an atomic load.
	gather := trace.StartRegion(context.Background(), "group commit: gather")
	defer gather.End()
collect:
	for len(reqs) < max {
		select {
		case r := <-s.batch:
			reqs = append(reqs, r)
		default:
			break collect
		}
	}
	// Yield the processor while writers keep arriving: the callers
	// that are runnable now reach the log before this batch closes,
	// and one commit carries all their runs (a commit writes about the
	// same pages for ten runs as for one). Nothing waits on a clock:
	// when no other goroutine is runnable, Gosched returns at once and
	// the batch commits; it closes as soon as a yield brings no new
	// writer, and after yieldFor in all.
	if len(reqs) < max {
		start := time.Now()
		for y := 0; y < maxYields; y++ {
			n := len(reqs)
			runtime.Gosched()
		more:
			for len(reqs) < max {
				select {
				case r := <-s.batch:
					reqs = append(reqs, r)
				default:
					break more
				}
			}
			if len(reqs) == n || len(reqs) >= max || time.Since(start) > yieldFor {
				break
			}
		}
	}
	if s.linger > 0 && len(reqs) < max {
		// Wait a moment for writers that are about to arrive: one commit
		// writes the same pages for ten runs as for one.
		t := time.NewTimer(s.linger)
	linger:
		for len(reqs) < max {
			select {
			case r := <-s.batch:
				reqs = append(reqs, r)
			case <-t.C:
				break linger
			}
		}
		t.Stop()
	}
	var held <-chan time.Time
	for len(reqs) < max {
		k := int(s.inflight.Load())
		if k == 0 || len(reqs) >= concurrentAt*k {
			break
		}
		if held == nil {
			t := time.NewTimer(s.maxHeld)
			defer t.Stop()
			held = t.C
		}
		select {
		case r := <-s.batch:
			reqs = append(reqs, r)
		case <-s.freed:
		case <-held:
			// A commit in flight this long is stuck (a lock, a slow
			// statement): the writers behind it go on their own.
			return reqs, false
		case <-s.done:
			return reqs, true
		}
	}
	return reqs, false
}

// commit writes reqs in one transaction and answers each caller once it
// has committed. Finished runs (InsertRuns) of all callers go into the
// same multi-row INSERTs; the other writes run one after the other.
func (s *Store) commit(reqs []*writeReq) {
	ctx := context.Background()
	s.commits.Add(1)
	s.writes.Add(uint64(len(reqs)))
	if len(reqs) > 1 {
		tx, err := s.w.BeginTx(ctx, nil)
		if err == nil {
			ok := true
			var merged runRows
			var jobs []river.InsertManyParams
			var claims []*localClaim
			var upds []*runUpd
			// Run updates are merged only in a batch of nothing but run
			// writes, so that none moves past another write of the batch
			// (a cancel, say) on the same run.
			mergeUpd := true
			for _, r := range reqs {
				mergeUpd = mergeUpd && (r.rows != nil || r.upd != nil)
			}
			for _, r := range reqs {
				if r.upd != nil && mergeUpd {
					upds = append(upds, r.upd)
					merged.attempts = append(merged.attempts, r.upd.as...)
					merged.aps = append(merged.aps, r.upd.ap...)
					continue
				}
				if r.rows != nil {
					merged.runs = append(merged.runs, r.rows.runs...)
					merged.ps = append(merged.ps, r.rows.ps...)
					merged.attempts = append(merged.attempts, r.rows.attempts...)
					merged.aps = append(merged.aps, r.rows.aps...)
					if r.claim != nil {
						claims = append(claims, r.claim)
						continue
					}
					for _, id := range r.jobs {
						jobs = append(jobs, river.InsertManyParams{Args: store.RunArgs{RunID: id}})
					}
					continue
				}
				if err = s.apply(ctx, r)(tx); err != nil {
					ok = false
					break
				}
			}
			if ok && len(upds) > 0 {
				ok = s.updateRuns(ctx, tx, upds) == nil
			}
			if ok && len(upds) > 0 {
				ok = s.completeWith(ctx, tx, upds) == nil
			}
			if ok && len(merged.runs) > 0 {
				ok = s.insertRunRows(ctx, tx, &merged) == nil
			} else if ok && len(merged.attempts) > 0 {
				ok = s.insertAttempts(ctx, tx, merged.attempts, merged.aps) == nil
			}
			if ok && len(claims) > 0 {
				ok = s.insertClaimed(ctx, tx, claims) == nil
			}
			if ok && len(jobs) > 0 {
				// The jobs of every run of the batch in one insert, in the
				// transaction that records the runs.
				rc := s.riverClient()
				ok = rc != nil
				if ok {
					_, err = rc.InsertManyFastTx(ctx, tx, jobs)
					ok = err == nil
				}
			}
			if ok {
				if err = tx.Commit(); err == nil {
					for _, r := range reqs {
						s.startClaim(r.claim)
						r.done <- nil
					}
					return
				}
			} else {
				_ = tx.Rollback()
			}
		}
		// One request failed (or the batch did): run each on its own so
		// one bad write does not fail its neighbours.
		s.retried.Add(1)
	}
	for _, r := range reqs {
		err := s.tx(ctx, s.apply(ctx, r))
		if err == nil {
			s.startClaim(r.claim)
		} else {
			r.claim.release()
		}
		r.done <- err
	}
}

func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err, "begin")
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		if errors.Is(err, errDuplicate) {
			return err
		}
		return s.wrap(err, "write")
	}
	return s.wrap(tx.Commit(), "commit")
}

// wrap turns a database error into a weft error at the store's boundary.
// Its message never carries the driver's text, which can name the user,
// database, host and port (pgx: "failed to connect to `user=… database=…`:
// host:port"): callers, unauthenticated webhook senders among them, see
// the code and a plain message; the server log keeps the cause.
func (s *Store) wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	var we *weft.Error
	if errors.As(err, &we) {
		return err
	}
	switch code := s.classify(err); code {
	case weft.EUnavailable:
		s.log.Error("store: database unavailable", "op", what, "err", err)
		return weft.Wrap(code, err, "store: %s: the database is unavailable; try again later", what)
	case weft.ECanceled:
		s.log.Debug("store: canceled", "op", what, "err", err)
		return weft.Wrap(code, err, "store: %s: canceled", what)
	default:
		s.log.Error("store: database error", "op", what, "err", err)
		return weft.Wrap(code, err, "store: %s failed (the server log has the cause)", what)
	}
}

// classify names the code of a database error: unavailable for what a retry
// later may cure (the server down or restarting, a lost connection, a full
// disk, a busy database, a deadline that passed), canceled when the caller
// gave up, internal for the rest.
func (s *Store) classify(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return weft.ECanceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EIO):
		return weft.EUnavailable
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return weft.EUnavailable
	}
	if s.isDown != nil && s.isDown(err) {
		return weft.EUnavailable
	}
	return weft.EInternal
}

// CommitStats reports how many transactions the group committer has run
// and how many callers' writes they carried (writes / commits is the mean
// batch). A batch that fails and is retried write by write counts once.
func (s *Store) CommitStats() (commits, writes uint64) { return s.commits.Load(), s.writes.Load() }

// RetriedBatches counts the group commits that failed as a whole and were
// retried write by write (a duplicate key, a missing run, or a fault).
func (s *Store) RetriedBatches() uint64 { return s.retried.Load() }

// Close stops the batcher after draining queued writes, then closes pools.
func (s *Store) Close() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	s.mu.Lock()
	lv, wk := s.live, s.worker
	s.live, s.worker = nil, nil
	s.mu.Unlock()
	if s.local.Load() != nil { // closed without StopQueue: local jobs are canceled
		now, cancel := context.WithCancel(context.Background())
		cancel()
		s.stopLocal(now, 5*time.Second)
	}
	if lv != nil { // closed without StopQueue: stop beating all the same
		s.stopLiveness(lv)
	}
	if wk != nil { // its pool closes below, which waits for its connections
		hard, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = wk.StopAndCancel(hard)
		cancel()
	}
	close(s.done)
	s.wg.Wait()
	close(s.stopped)
	var errs []error
	for _, st := range s.stmts {
		errs = append(errs, st.Close())
	}
	errs = append(errs, s.w.Close())
	if s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	if s.onClose != nil {
		errs = append(errs, s.onClose())
	}
	return errors.Join(errs...)
}

// --- flows ------------------------------------------------------------

func micros(t time.Time) int64 { return t.UnixMicro() }
func fromMicros(v int64) time.Time {
	return time.UnixMicro(v).UTC()
}

// DeployFlow implements store.Store.
func (s *Store) DeployFlow(ctx context.Context, name, namespace, file string, source []byte) (store.FlowVersion, error) {
	fv := store.FlowVersion{Name: name, File: file, Source: source, CreatedAt: time.Now().UTC(), Active: true}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if namespace == "" {
			// Keep the deployed flow's namespace; a new flow goes to default.
			namespace = store.DefaultNamespace
			if err := tx.QueryRowContext(ctx, s.q(`SELECT namespace FROM flows WHERE name = ?`), name).Scan(&namespace); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return s.wrap(err, "deploy")
			}
		} else if err := s.namespaceExists(ctx, tx, namespace); err != nil {
			return err
		}
		fv.Namespace = namespace
		var latest sql.NullInt64
		if err := tx.QueryRowContext(ctx, s.q(`SELECT MAX(version) FROM flow_versions WHERE name = ?`), name).Scan(&latest); err != nil {
			return s.wrap(err, "deploy")
		}
		fv.Version = int(latest.Int64) + 1
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO flow_versions (name, version, file, source, created_at) VALUES (?, ?, ?, ?, ?)`),
			name, fv.Version, file, string(source), micros(fv.CreatedAt)); err != nil {
			if s.isUniq(err) {
				return weft.Errorf(weft.EConflict, "flow %q was deployed concurrently; try again", name)
			}
			return s.wrap(err, "deploy")
		}
		if err := s.upsertActive(ctx, tx, name, fv.Version); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`UPDATE flows SET namespace = ? WHERE name = ?`), namespace, name)
		return s.wrap(err, "deploy")
	})
	return fv, err
}

// namespaceExists reports invalid for a namespace that was never created.
func (s *Store) namespaceExists(ctx context.Context, tx *sql.Tx, name string) error {
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM namespaces WHERE name = ?`), name).Scan(&n); err != nil {
		return s.wrap(err, "namespace")
	}
	if n == 0 {
		return weft.Errorf(weft.EInvalid, "namespace %q does not exist (weft namespaces create %s)", name, name)
	}
	return nil
}

// CreateNamespace implements store.Store.
func (s *Store) CreateNamespace(ctx context.Context, n store.Namespace) error {
	if n.CreatedAt.IsZero() {
		n.CreatedAt = time.Now()
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO namespaces (name, description, created_at) VALUES (?, ?, ?)`), n.Name, n.Description, micros(n.CreatedAt))
		if err != nil && s.isUniq(err) {
			return weft.Errorf(weft.EConflict, "namespace %q exists", n.Name)
		}
		return s.wrap(err, "create namespace")
	})
}

// Namespaces implements store.Store.
func (s *Store) Namespaces(ctx context.Context) ([]store.Namespace, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, description, created_at FROM namespaces ORDER BY name`)
	if err != nil {
		return nil, s.wrap(err, "namespaces")
	}
	defer rows.Close()
	out := []store.Namespace{}
	for rows.Next() {
		var n store.Namespace
		var c int64
		if err := rows.Scan(&n.Name, &n.Description, &c); err != nil {
			return nil, s.wrap(err, "namespaces")
		}
		n.CreatedAt = fromMicros(c)
		out = append(out, n)
	}
	return out, s.wrap(rows.Err(), "namespaces")
}

func (s *Store) upsertActive(ctx context.Context, tx *sql.Tx, name string, version int) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO flows (name, active_version, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET active_version = excluded.active_version, updated_at = excluded.updated_at`),
		name, version, micros(time.Now()))
	return s.wrap(err, "activate")
}

// ActivateFlow implements store.Store.
func (s *Store) ActivateFlow(ctx context.Context, name string, version int) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM flow_versions WHERE name = ? AND version = ?`), name, version).Scan(&n); err != nil {
			return s.wrap(err, "activate")
		}
		if n == 0 {
			return weft.Errorf(weft.ENotFound, "flow %q has no version %d", name, version)
		}
		return s.upsertActive(ctx, tx, name, version)
	})
}

// GetFlow implements store.Store.
func (s *Store) GetFlow(ctx context.Context, name string, version int) (store.FlowVersion, error) {
	var fv store.FlowVersion
	var src string
	var created int64
	var active int
	var err error
	if version == 0 {
		err = s.r.QueryRowContext(ctx, s.q(`SELECT v.name, v.version, v.file, v.source, v.created_at, f.active_version, f.namespace FROM flows f
			JOIN flow_versions v ON v.name = f.name AND v.version = f.active_version WHERE f.name = ?`), name).
			Scan(&fv.Name, &fv.Version, &fv.File, &src, &created, &active, &fv.Namespace)
	} else {
		var ns sql.NullString
		err = s.r.QueryRowContext(ctx, s.q(`SELECT v.name, v.version, v.file, v.source, v.created_at, COALESCE(f.active_version, 0), f.namespace FROM flow_versions v
			LEFT JOIN flows f ON f.name = v.name WHERE v.name = ? AND v.version = ?`), name, version).
			Scan(&fv.Name, &fv.Version, &fv.File, &src, &created, &active, &ns)
		fv.Namespace = ns.String
	}
	if errors.Is(err, sql.ErrNoRows) {
		if version == 0 {
			return fv, weft.Errorf(weft.ENotFound, "no flow named %q", name)
		}
		return fv, weft.Errorf(weft.ENotFound, "flow %q has no version %d", name, version)
	}
	if err != nil {
		return fv, s.wrap(err, "get flow")
	}
	fv.Source, fv.CreatedAt, fv.Active = []byte(src), fromMicros(created), active == fv.Version
	return fv, nil
}

// ListFlows implements store.Store.
func (s *Store) ListFlows(ctx context.Context) ([]store.FlowInfo, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT f.name, f.namespace, f.active_version, f.updated_at, (SELECT MAX(version) FROM flow_versions v WHERE v.name = f.name) FROM flows f ORDER BY f.name`)
	if err != nil {
		return nil, s.wrap(err, "list flows")
	}
	defer rows.Close()
	out := []store.FlowInfo{}
	for rows.Next() {
		var fi store.FlowInfo
		var upd int64
		if err := rows.Scan(&fi.Name, &fi.Namespace, &fi.ActiveVersion, &upd, &fi.LatestVersion); err != nil {
			return nil, s.wrap(err, "list flows")
		}
		fi.UpdatedAt = fromMicros(upd)
		out = append(out, fi)
	}
	return out, s.wrap(rows.Err(), "list flows")
}

// ListFlowVersions implements store.Store.
func (s *Store) ListFlowVersions(ctx context.Context, name string) ([]store.FlowVersion, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT v.version, v.file, v.created_at, COALESCE(f.active_version, 0) FROM flow_versions v
		LEFT JOIN flows f ON f.name = v.name WHERE v.name = ? ORDER BY v.version`), name)
	if err != nil {
		return nil, s.wrap(err, "list versions")
	}
	defer rows.Close()
	var out []store.FlowVersion
	for rows.Next() {
		fv := store.FlowVersion{Name: name}
		var created int64
		var active int
		if err := rows.Scan(&fv.Version, &fv.File, &created, &active); err != nil {
			return nil, s.wrap(err, "list versions")
		}
		fv.CreatedAt, fv.Active = fromMicros(created), active == fv.Version
		out = append(out, fv)
	}
	if len(out) == 0 {
		return nil, weft.Errorf(weft.ENotFound, "no flow named %q", name)
	}
	return out, s.wrap(rows.Err(), "list versions")
}

// --- runs ----------------------------------------------------------------

// NewID returns a time-ordered unique id.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullRaw(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

const runCols = `id, flow, version, status, trigger_kind, idem_key, input, output, error_code, error_message, failed_step, override, sync, created_at, started_at, finished_at`

// runColsNoPayloads is runCols with the payload columns read as NULL.
const runColsNoPayloads = `id, flow, version, status, trigger_kind, idem_key, NULL, NULL, error_code, error_message, failed_step, NULL, sync, created_at, started_at, finished_at`

const (
	runStart  = `UPDATE runs SET status = 'running' WHERE id = ? AND status = 'queued'`
	runUpdate = `UPDATE runs SET status = ?, input = COALESCE(?, input), output = ?, error_code = ?, error_message = ?, failed_step = ?, finished_at = ?, override = NULL WHERE id = ?`
)

func (s *Store) insertRun(ctx context.Context, tx *sql.Tx, r *store.Run, p runPayload) error {
	st, err := s.stmt(ctx, tx, runInserts[1])
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, runArgs(nil, r, p)...)
	return err
}

// runArgs appends r's columns, in runInsertCols order, to args; p holds its
// payload columns as written (sealRun).
func runArgs(args []any, r *store.Run, p runPayload) []any {
	sync := 0
	if r.Sync {
		sync = 1
	}
	return append(args, r.ID, r.Flow, r.Version, store.Boxed(r.Status), store.Boxed(r.TriggerKind), nullStr(r.IdemKey), p.input, p.output,
		nullStr(r.ErrorCode), p.emsg, nullStr(r.FailedStep), p.override, sync,
		micros(r.CreatedAt), micros(r.StartedAt), nullTime(r.FinishedAt), p.attempts)
}

// runInsertCols are the columns runArgs gives: runCols and the packed
// attempts (packed.go).
const runInsertCols = runCols + `, attempts`

// runsPerInsert bounds one multi-row INSERT of runs (17 columns x 16 rows).
const runsPerInsert = 16

var runInserts = multiRowInserts("runs", runInsertCols, runsPerInsert)

// multiRowInserts returns, at index n (1..rows), an INSERT of n rows of
// cols into table.
func multiRowInserts(table, cols string, rows int) []string {
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", strings.Count(cols, ",")+1), ", ") + ")"
	qs := make([]string, rows+1)
	for n := 1; n <= rows; n++ {
		qs[n] = `INSERT INTO ` + table + ` (` + cols + `) VALUES ` + strings.TrimSuffix(strings.Repeat(tuple+", ", n), ", ")
	}
	return qs
}

// CreateRun implements store.Store.
func (s *Store) CreateRun(ctx context.Context, r *store.Run, enqueue bool) (*store.Run, bool, error) {
	if r.ID == "" {
		r.ID = NewID()
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now().UTC()
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = r.CreatedAt
	}
	rc := s.riverClient()
	if enqueue && rc == nil {
		return nil, false, weft.Errorf(weft.EUnavailable, "the run queue is not started")
	}
	p, err := s.sealRun(ctx, r)
	if err != nil {
		return nil, false, err
	}
	var claim *localClaim
	if enqueue && r.Override == nil {
		if claim = s.claimLocal(r.ID); claim != nil {
			// The worker gets the run as created, not read back; the
			// caller keeps r.
			rec := *r
			rec.Input = bytes.Clone(r.Input)
			rec.CreatedAt, rec.StartedAt = fromMicros(micros(r.CreatedAt)), fromMicros(micros(r.StartedAt)) // as stored
			claim.rec = &rec
		}
	}
	fn := func(tx *sql.Tx) error {
		ctx := context.WithoutCancel(ctx) // see inTx
		if err := s.insertRun(ctx, tx, r, p); err != nil {
			if s.isUniq(err) {
				return errDuplicate
			}
			return s.wrap(err, "create run")
		}
		switch {
		case claim != nil:
			return s.insertClaimed(ctx, tx, []*localClaim{claim})
		case enqueue:
			if _, err := rc.InsertTx(ctx, tx, store.RunArgs{RunID: r.ID}, nil); err != nil {
				return s.wrap(err, "enqueue run")
			}
		}
		return nil
	}
	// River's insert is plain SQL in our transaction, so it group-commits
	// with other writers: in a batch, the committer inserts the runs of
	// all its callers together and enqueues their jobs with one insert
	// (commit); a failed batch is rolled back and each write retried
	// alone, with fn.
	req := &writeReq{fn: fn, rows: &runRows{runs: []store.LoggedRun{{Run: r}}, ps: []runPayload{p}}}
	kept := false
	if enqueue {
		req.jobs = []string{r.ID}
		kept = s.handoff.keep(r) // before the commit: its job is seen only after
	}
	req.claim = claim
	err = s.writeReq(ctx, req)
	if err != nil && kept {
		s.handoff.drop(r.ID)
	}
	if errors.Is(err, errDuplicate) {
		existing, gerr := s.runByKey(ctx, r.Flow, r.IdemKey)
		if gerr != nil {
			return nil, false, gerr
		}
		return existing, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return r, true, nil
}

var errDuplicate = errors.New("duplicate idempotency key")

func (s *Store) runByKey(ctx context.Context, flow, key string) (*store.Run, error) {
	runs, err := s.queryRuns(ctx, s.w, `SELECT `+runCols+` FROM runs WHERE flow = ? AND idem_key = ?`, flow, key)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, weft.Errorf(weft.ENotFound, "no run with key %q", key)
	}
	return runs[0], nil
}

// GetRun implements store.Store.
func (s *Store) GetRun(ctx context.Context, id string) (*store.Run, error) {
	runs, err := s.queryRuns(ctx, s.r, `SELECT `+runCols+` FROM runs WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, weft.Errorf(weft.ENotFound, "no run with id %q", id)
	}
	return runs[0], nil
}

// ListRuns implements store.Store.
func (s *Store) ListRuns(ctx context.Context, f store.RunFilter) ([]*store.Run, error) {
	var where []string
	var args []any
	if f.Flow != "" {
		where, args = append(where, "flow = ?"), append(args, f.Flow)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, micros(f.Since))
	}
	if !f.FinishedSince.IsZero() {
		where, args = append(where, "finished_at >= ?"), append(args, micros(f.FinishedSince))
	}
	if !f.FinishedBefore.IsZero() {
		where, args = append(where, "finished_at < ?"), append(args, micros(f.FinishedBefore))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, micros(f.Until))
	}
	if f.Before != "" {
		where, args = append(where, "id < ?"), append(args, f.Before)
	}
	if len(f.Flows) > 0 {
		where = append(where, "flow IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Flows)), ", ")+")")
		for _, fl := range f.Flows {
			args = append(args, fl)
		}
	}
	cols := runCols
	if f.NoPayloads {
		cols = runColsNoPayloads
	}
	q := `SELECT ` + cols + ` FROM runs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	switch {
	case f.Limit <= 0:
		f.Limit = 100
	case f.Limit > store.MaxRunsPage: // clamped, never reset to the default
		f.Limit = store.MaxRunsPage
	}
	q += " ORDER BY id DESC LIMIT " + strconv.Itoa(f.Limit)
	return s.queryRuns(ctx, s.r, q, args...)
}

// CountRuns implements store.Store.
func (s *Store) CountRuns(ctx context.Context, flow string) (map[string]int64, error) {
	q, args := `SELECT status, COUNT(*) FROM runs GROUP BY status`, []any{}
	if flow != "" {
		q, args = `SELECT status, COUNT(*) FROM runs WHERE flow = ? GROUP BY status`, []any{flow}
	}
	rows, err := s.r.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, s.wrap(err, "count runs")
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, s.wrap(err, "count runs")
		}
		out[st] = n
	}
	return out, s.wrap(rows.Err(), "count runs")
}

// CountFinishedSince counts the runs that finished at or after since (a
// runtime agent's backlog of runs not yet shipped).
func (s *Store) CountFinishedSince(ctx context.Context, since time.Time) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM runs WHERE finished_at IS NOT NULL AND finished_at >= ?`), micros(since)).Scan(&n)
	return n, s.wrap(err, "count finished runs")
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (s *Store) queryRuns(ctx context.Context, db querier, q string, args ...any) ([]*store.Run, error) {
	rows, err := db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, s.wrap(err, "query runs")
	}
	defer rows.Close()
	out := []*store.Run{}
	var ovs []string // override columns, opened after the rows are read
	for rows.Next() {
		r, ov, err := s.scanRun(rows)
		if err != nil {
			return nil, err
		}
		ovs = append(ovs, ov)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "query runs")
	}
	rows.Close()
	return out, s.openRuns(ctx, out, ovs)
}

// scanRun reads a row of runCols, then extra columns into extra; ov is
// the override column, still sealed.
func (s *Store) scanRun(rows *sql.Rows, extra ...any) (r *store.Run, ov string, err error) {
	r = &store.Run{}
	var idem, input, output, ecode, emsg, fstep, ovc sql.NullString
	var sync int
	var created, started int64
	var finished sql.NullInt64
	dest := append([]any{&r.ID, &r.Flow, &r.Version, &r.Status, &r.TriggerKind, &idem, &input, &output, &ecode, &emsg, &fstep, &ovc, &sync, &created, &started, &finished}, extra...)
	if err := rows.Scan(dest...); err != nil {
		return nil, "", s.wrap(err, "scan run")
	}
	r.IdemKey, r.ErrorCode, r.ErrorMessage, r.FailedStep = idem.String, ecode.String, emsg.String, fstep.String
	if input.Valid {
		r.Input = json.RawMessage(input.String)
	}
	if output.Valid {
		r.Output = json.RawMessage(output.String)
	}
	r.Sync = sync == 1
	r.CreatedAt, r.StartedAt = fromMicros(created), fromMicros(started)
	if finished.Valid {
		t := fromMicros(finished.Int64)
		r.FinishedAt = &t
	}
	return r, ovc.String, nil
}

// runForWork reads a run with the checkpoints of its completed steps,
// one row per checkpoint (a run without any: one row, the step NULL).
var runForWork = `SELECT ` + prefixed("runs.", runCols) + `, a.step_key, a.checkpoint FROM runs
LEFT JOIN step_attempts a ON a.run_id = runs.id AND a.status = 'ok'
WHERE runs.id = ? ORDER BY a.id`

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

// RunForWork implements store.Store: GetRun and Checkpoints in one query.
func (s *Store) RunForWork(ctx context.Context, id string) (*store.Run, map[string]json.RawMessage, error) {
	if c := s.handoff.take(id); c != nil {
		s.handoff.taken.Add(1)
		run, cps := handoffRun(c)
		return run, cps, nil
	}
	rows, err := s.r.QueryContext(ctx, s.q(runForWork), id)
	if err != nil {
		return nil, nil, s.wrap(err, "read run")
	}
	defer rows.Close()
	var run *store.Run
	var ov string
	cps := map[string]json.RawMessage{}
	for rows.Next() {
		var key, cp sql.NullString
		r, o, err := s.scanRun(rows, &key, &cp)
		if err != nil {
			return nil, nil, err
		}
		if run == nil {
			run, ov = r, o
		}
		if key.Valid {
			cps[key.String] = json.RawMessage(cp.String)
			if !cp.Valid {
				cps[key.String] = json.RawMessage("null")
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, s.wrap(err, "read run")
	}
	rows.Close()
	if run == nil {
		return nil, nil, weft.Errorf(weft.ENotFound, "no run with id %q", id)
	}
	if err := s.openRuns(ctx, []*store.Run{run}, []string{ov}); err != nil {
		return nil, nil, err
	}
	for k, v := range cps {
		o, err := s.open(ctx, "step_attempts.checkpoint", id, string(v))
		if err != nil {
			return nil, nil, err
		}
		cps[k] = json.RawMessage(o)
	}
	return run, cps, nil
}

// UpdateRun implements store.Store.
func (s *Store) UpdateRun(ctx context.Context, r *store.Run, attempts []store.Attempt) error {
	s.handoff.drop(r.ID)
	p, err := s.sealRun(ctx, &store.Run{ID: r.ID, Input: r.Input, Output: r.Output, ErrorMessage: r.ErrorMessage})
	if err != nil {
		return err
	}
	ap, err := s.sealAttempts(ctx, attempts)
	if err != nil {
		return err
	}
	u := *r // the caller may reuse r once answered; the batch reads it before
	upd := &runUpd{r: &u, p: p, as: attempts, ap: ap, job: queueJobOf(ctx, r)}
	fn := func(tx *sql.Tx) error {
		ctx := context.WithoutCancel(ctx) // see inTx
		st, err := s.stmt(ctx, tx, runUpdate)
		if err != nil {
			return err
		}
		res, err := st.ExecContext(ctx, r.Status, p.input, p.output, nullStr(r.ErrorCode), p.emsg, nullStr(r.FailedStep), nullTime(r.FinishedAt), r.ID)
		if err != nil {
			return s.wrap(err, "update run")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return weft.Errorf(weft.ENotFound, "no run with id %q", r.ID)
		}
		if err := s.insertAttempts(ctx, tx, attempts, ap); err != nil {
			return err
		}
		return s.completeWith(ctx, tx, []*runUpd{upd})
	}
	if err := s.writeReq(ctx, &writeReq{fn: fn, upd: upd}); err != nil {
		return err
	}
	if upd.completed {
		// Committed: River's completer need not complete the job again.
		s.completed.add(upd.job)
	}
	return nil
}

// completeWith completes, in tx, the jobs of the run updates us that
// carry one, and records in each whether it did.
func (s *Store) completeWith(ctx context.Context, tx *sql.Tx, us []*runUpd) error {
	var ids []int64
	for _, u := range us {
		u.completed = false
		if u.job != 0 {
			ids = append(ids, u.job)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	done, err := s.completeJobs(ctx, tx, ids)
	if err != nil {
		return err
	}
	for _, u := range us {
		u.completed = u.job != 0 && done[u.job]
	}
	return nil
}

// runsPerUpdate bounds one multi-row UPDATE of runs (8 parameters a row).
const runsPerUpdate = 16

// runUpdates holds, at index n (1..runsPerUpdate), the UPDATE of n runs
// of one group commit (runUpdate for each, as one statement).
var runUpdates = func() [2][]string {
	const cols = "id, status, input, output, error_code, error_message, failed_step, finished_at"
	tuples := [2]string{"(?, ?, ?, ?, ?, ?, ?, ?)", // SQLite
		"(CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT))"} // PostgreSQL
	var out [2][]string
	for d, tuple := range tuples {
		out[d] = make([]string, runsPerUpdate+1)
		for n := 1; n <= runsPerUpdate; n++ {
			out[d][n] = `WITH v (` + cols + `) AS (VALUES ` + strings.TrimSuffix(strings.Repeat(tuple+", ", n), ", ") + `)
UPDATE runs SET status = v.status, input = COALESCE(v.input, runs.input), output = v.output, error_code = v.error_code,
  error_message = v.error_message, failed_step = v.failed_step, finished_at = v.finished_at, override = NULL
FROM v WHERE runs.id = v.id`
		}
	}
	return out
}()

// updateRuns writes the run updates of a group commit, up to
// runsPerUpdate runs per statement; it fails unless every run was there
// (the committer then retries each write alone, and a missing run gets
// its not-found).
func (s *Store) updateRuns(ctx context.Context, tx *sql.Tx, us []*runUpd) error {
	qs := runUpdates[0]
	if s.dialect == Postgres {
		qs = runUpdates[1]
	}
	args := make([]any, 0, min(len(us), runsPerUpdate)*8)
	for len(us) > 0 {
		n := min(len(us), runsPerUpdate)
		st, err := s.stmt(ctx, tx, qs[n])
		if err != nil {
			return err
		}
		args = args[:0]
		for _, u := range us[:n] {
			r := u.r
			args = append(args, r.ID, r.Status, u.p.input, u.p.output, nullStr(r.ErrorCode), u.p.emsg, nullStr(r.FailedStep), nullTime(r.FinishedAt))
		}
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return s.wrap(err, "update runs")
		}
		if got, _ := res.RowsAffected(); got != int64(n) {
			return weft.Errorf(weft.ENotFound, "%d of %d runs to update were found", got, n)
		}
		us = us[n:]
	}
	return nil
}

// InsertRun implements store.Store.
func (s *Store) InsertRun(ctx context.Context, r *store.Run, attempts []store.Attempt) error {
	return s.InsertRuns(ctx, []store.LoggedRun{{Run: r, Attempts: attempts}})
}

// InsertRuns implements store.Store.
func (s *Store) InsertRuns(ctx context.Context, runs []store.LoggedRun) error {
	if len(runs) == 0 {
		return nil
	}
	// Up to runsPerInsert runs per statement, then all their attempts
	// (attemptsPerInsert per statement): a batch of tool-call records
	// costs a few statements, not two per record.
	// Payloads are sealed before the write: sealing may store a new data
	// key, and a write inside a write would wait on itself.
	// A run whose attempts carry no payloads keeps them in its own row
	// (packed.go): one row per run.
	ps := make([]runPayload, len(runs))
	var attempts []store.Attempt
	for i, lr := range runs {
		var err error
		if ps[i], err = s.sealRun(ctx, lr.Run); err != nil {
			return err
		}
		if packable(lr) {
			ps[i].attempts = packAttempts(lr.Attempts)
			continue
		}
		attempts = append(attempts, lr.Attempts...)
	}
	ap, err := s.sealAttempts(ctx, attempts)
	if err != nil {
		return err
	}
	w := &runsWrite{rows: runRows{runs: runs, ps: ps, attempts: attempts, aps: ap}} // one allocation for both
	w.req.rows = &w.rows
	return s.writeReq(ctx, &w.req)
}

// runsWrite is InsertRuns' write request and its rows.
type runsWrite struct {
	req  writeReq
	rows runRows
}

// runRows are finished runs and their attempts, ready to insert. The
// group committer merges the runRows of every caller in a batch into the
// same multi-row INSERTs.
type runRows struct {
	runs     []store.LoggedRun
	ps       []runPayload
	attempts []store.Attempt
	aps      []attemptPayload
}

func (s *Store) insertRunRows(ctx context.Context, tx *sql.Tx, r *runRows) error {
	args := make([]any, 0, min(len(r.runs), runsPerInsert)*17) // reused for each statement
	for rs, rp := r.runs, r.ps; len(rs) > 0; {
		n := min(len(rs), runsPerInsert)
		st, err := s.stmt(ctx, tx, runInserts[n])
		if err != nil {
			return err
		}
		args = args[:0]
		for i, lr := range rs[:n] {
			args = runArgs(args, lr.Run, rp[i])
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			if s.isUniq(err) {
				if n == 1 {
					return weft.Errorf(weft.EConflict, "run %s is already recorded", rs[0].Run.ID)
				}
				return weft.Errorf(weft.EConflict, "a run of this batch (%s ... %s) is already recorded", rs[0].Run.ID, rs[n-1].Run.ID)
			}
			return s.wrap(err, "insert runs")
		}
		rs, rp = rs[n:], rp[n:]
	}
	return s.insertAttempts(ctx, tx, r.attempts, r.aps)
}

// SetRunStatus implements store.Store.
func (s *Store) SetRunStatus(ctx context.Context, id string, from []string, to string) error {
	s.handoff.drop(id)
	return s.write(ctx, func(tx *sql.Tx) error { return s.setStatus(ctx, tx, id, from, to) })
}

func (s *Store) setStatus(ctx context.Context, tx *sql.Tx, id string, from []string, to string) error {
	args := []any{to, id}
	ph := make([]string, len(from))
	for i, f := range from {
		ph[i] = "?"
		args = append(args, f)
	}
	q := `UPDATE runs SET status = ? WHERE id = ?`
	if len(from) > 0 {
		q += ` AND status IN (` + strings.Join(ph, ", ") + `)`
	}
	res, err := tx.ExecContext(ctx, s.q(q), args...)
	if err != nil {
		return s.wrap(err, "set status")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var cur string
		if err := tx.QueryRowContext(ctx, s.q(`SELECT status FROM runs WHERE id = ?`), id).Scan(&cur); errors.Is(err, sql.ErrNoRows) {
			return weft.Errorf(weft.ENotFound, "no run with id %q", id)
		}
		return weft.Errorf(weft.EConflict, "run %s is %s; it must be %s", id, cur, strings.Join(from, " or "))
	}
	return nil
}

// Requeue implements store.Store.
func (s *Store) Requeue(ctx context.Context, id string, from []string, ov *store.Override) error {
	s.handoff.drop(id)
	rc := s.riverClient()
	if rc == nil {
		return weft.Errorf(weft.EUnavailable, "the run queue is not started")
	}
	var ovs any
	if ov != nil {
		b, _ := json.Marshal(ov)
		var err error
		if ovs, err = s.sealRaw(ctx, "runs.override", id, b); err != nil {
			return err
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.setStatus(ctx, tx, id, from, store.RunQueued); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE runs SET override = ?, finished_at = NULL, error_code = NULL, error_message = NULL WHERE id = ?`), ovs, id); err != nil {
			return s.wrap(err, "requeue")
		}
		_, err := rc.InsertTx(ctx, tx, store.RunArgs{RunID: id}, nil)
		return s.wrap(err, "enqueue")
	})
}

const attemptCols = `run_id, flow, version, step, step_key, kind, attempt, trigger_kind, status, worker, started_at, finished_at, duration_us, input_size, output_size, error_class, error_message, input, output, checkpoint`

// attemptsPerInsert bounds one multi-row INSERT (SQLite allows 32766
// parameters; 20 columns x 16 rows stays far below).
const attemptsPerInsert = 16

// insertAttempts inserts as; ps holds their payload columns as written
// (sealAttempts).
func (s *Store) insertAttempts(ctx context.Context, tx *sql.Tx, as []store.Attempt, ps []attemptPayload) error {
	for len(as) > 0 {
		n := min(len(as), attemptsPerInsert)
		st, err := s.stmt(ctx, tx, attemptInserts[n])
		if err != nil {
			return err
		}
		args := make([]any, 0, n*20)
		var bx boxes // the columns neighbouring attempts share, boxed once
		for i, a := range as[:n] {
			p := ps[i]
			args = append(args, bx.runID.of(a.RunID), bx.flow.of(a.Flow), a.Version, a.StepID, a.StepKey, a.Kind, a.Attempt,
				bx.trigger.of(a.TriggerKind), bx.status.of(a.Status), bx.worker.ofNull(a.Worker),
				micros(a.StartedAt), micros(a.FinishedAt), a.DurationUS, a.InputSize, a.OutputSize,
				nullStr(a.ErrorClass), p.emsg, p.input, p.output, p.checkpoint)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return s.wrap(err, "append attempts")
		}
		as, ps = as[n:], ps[n:]
	}
	return nil
}

// boxes keep the last value of a few string columns as an interface
// value: a statement's attempts mostly belong to one run, so most
// arguments reuse the previous row's box instead of allocating their own.
type boxes struct{ runID, flow, trigger, status, worker box }

type box struct {
	s string
	v any
}

func (b *box) of(s string) any {
	if b.v == nil || b.s != s {
		b.s, b.v = s, s
	}
	return b.v
}

// ofNull is nullStr(s), boxed once.
func (b *box) ofNull(s string) any {
	if s == "" {
		return nil
	}
	return b.of(s)
}

var attemptInserts = multiRowInserts("step_attempts", attemptCols, attemptsPerInsert)

// stmt returns query bound to tx, from the statements prepared at start
// (SQL parsing is the largest cost of a small write, and the hot writes
// are few shapes); other queries are prepared in the transaction. Nothing
// is prepared on the pool while a transaction runs: on SQLite the pool has
// one connection and the transaction holds it.
func (s *Store) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts[s.q(query)]; ok {
		return tx.StmtContext(ctx, st), nil
	}
	st, err := tx.PrepareContext(ctx, s.q(query))
	return st, s.wrap(err, "prepare")
}

func (s *Store) prepareHot() error {
	hot := []string{runUpdate, runStart}
	if s.dialect == Postgres {
		hot = append(hot, runUpdates[1][1:]...)
	} else {
		hot = append(hot, runUpdates[0][1:]...)
	}
	hot = append(hot, runInserts[1:]...)
	hot = append(hot, attemptInserts[1:]...)
	for _, q := range hot {
		st, err := s.w.Prepare(s.q(q))
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		s.stmts[s.q(q)] = st
	}
	return nil
}

// AppendAttempts implements store.Store.
func (s *Store) AppendAttempts(ctx context.Context, as []store.Attempt) error {
	if len(as) == 0 {
		return nil
	}
	s.handoff.dropAttempts(as)
	ps, err := s.sealAttempts(ctx, as)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error { return s.insertAttempts(context.WithoutCancel(ctx), tx, as, ps) })
}

// Checkpoint implements store.Store.
func (s *Store) Checkpoint(ctx context.Context, runID string, as []store.Attempt) error {
	s.handoff.drop(runID)
	s.handoff.dropAttempts(as)
	ps, err := s.sealAttempts(ctx, as)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		ctx := context.WithoutCancel(ctx) // see inTx
		st, err := s.stmt(ctx, tx, runStart)
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, runID); err != nil {
			return s.wrap(err, "checkpoint")
		}
		return s.insertAttempts(ctx, tx, as, ps)
	})
}

// ListAttempts implements store.Store.
func (s *Store) ListAttempts(ctx context.Context, runID string) ([]store.Attempt, error) {
	// Attempts packed in the run's row (packed.go) come first: they were
	// written with the run, before any row could be.
	out, err := s.packedAttempts(ctx, runID)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []store.Attempt{}
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+attemptCols+` FROM step_attempts WHERE run_id = ? ORDER BY id`), runID)
	if err != nil {
		return nil, s.wrap(err, "list attempts")
	}
	defer rows.Close()
	for rows.Next() {
		var a store.Attempt
		var started, finished int64
		var worker, eclass, emsg, in, outp, cp sql.NullString
		if err := rows.Scan(&a.RunID, &a.Flow, &a.Version, &a.StepID, &a.StepKey, &a.Kind, &a.Attempt, &a.TriggerKind, &a.Status, &worker,
			&started, &finished, &a.DurationUS, &a.InputSize, &a.OutputSize, &eclass, &emsg, &in, &outp, &cp); err != nil {
			return nil, s.wrap(err, "scan attempt")
		}
		a.StartedAt, a.FinishedAt = fromMicros(started), fromMicros(finished)
		a.ErrorClass, a.ErrorMessage, a.Worker = eclass.String, emsg.String, worker.String
		if in.Valid {
			a.Input = json.RawMessage(in.String)
		}
		if outp.Valid {
			a.Output = json.RawMessage(outp.String)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "list attempts")
	}
	rows.Close()
	for i := range out {
		a := &out[i]
		if a.ErrorMessage, err = s.open(ctx, "step_attempts.error_message", a.RunID, a.ErrorMessage); err != nil {
			return nil, err
		}
		if len(a.Input) > 0 {
			v, err := s.open(ctx, "step_attempts.input", a.RunID, string(a.Input))
			if err != nil {
				return nil, err
			}
			a.Input = json.RawMessage(v)
		}
		if len(a.Output) > 0 {
			v, err := s.open(ctx, "step_attempts.output", a.RunID, string(a.Output))
			if err != nil {
				return nil, err
			}
			a.Output = json.RawMessage(v)
		}
	}
	return out, nil
}

// Checkpoints implements store.Store.
func (s *Store) Checkpoints(ctx context.Context, runID string) (map[string]json.RawMessage, error) {
	// Packed attempts (packed.go) carry no checkpoint: an ok one counts
	// as a step that returned null, as its row would.
	packed, err := s.packedAttempts(ctx, runID)
	if err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	for _, a := range packed {
		if a.Status == store.AttemptOK {
			out[a.StepKey] = json.RawMessage("null")
		}
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT step_key, checkpoint FROM step_attempts WHERE run_id = ? AND status = ? ORDER BY id`), runID, store.AttemptOK)
	if err != nil {
		return nil, s.wrap(err, "checkpoints")
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var cp sql.NullString
		if err := rows.Scan(&key, &cp); err != nil {
			return nil, s.wrap(err, "checkpoints")
		}
		out[key] = json.RawMessage(cp.String)
		if !cp.Valid {
			out[key] = json.RawMessage("null")
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "checkpoints")
	}
	rows.Close()
	for k, v := range out {
		o, err := s.open(ctx, "step_attempts.checkpoint", runID, string(v))
		if err != nil {
			return nil, err
		}
		out[k] = json.RawMessage(o)
	}
	return out, nil
}

// Purge implements store.Store.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		cond := `finished_at IS NOT NULL AND finished_at < ? AND status IN ('succeeded', 'failed', 'canceled')`
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM step_attempts WHERE run_id IN (SELECT id FROM runs WHERE `+cond+`)`), micros(before)); err != nil {
			return s.wrap(err, "purge")
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM runs WHERE `+cond), micros(before))
		if err != nil {
			return s.wrap(err, "purge")
		}
		n, _ = res.RowsAffected()
		// Alert history goes with the runs it was about: resolved alerts
		// last changed before the cutoff (firing ones stay, however old).
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM alerts WHERE status = 'resolved' AND updated_at < ?`), micros(before)); err != nil {
			return s.wrap(err, "purge alerts")
		}
		return nil
	})
	return n, err
}

// TriggerCursor implements store.Store.
func (s *Store) TriggerCursor(ctx context.Context, flow string) (string, error) {
	var v string
	err := s.w.QueryRowContext(ctx, s.q(`SELECT cursor FROM trigger_state WHERE flow = ?`), flow).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, s.wrap(err, "trigger cursor")
}

// SetTriggerCursor implements store.Store.
func (s *Store) SetTriggerCursor(ctx context.Context, flow, cursor string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO trigger_state (flow, cursor, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (flow) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`), flow, cursor, micros(time.Now()))
		return s.wrap(err, "set trigger cursor")
	})
}

// leasePrefix keeps leases apart from flow cursors in trigger_state (flow
// names cannot contain ':').
const leasePrefix = "lease:"

// TryLease implements store.Store: one upsert that takes the row when it is
// missing, expired, or already the holder's.
func (s *Store) TryLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := time.Now()
	var got bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO trigger_state (flow, cursor, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (flow) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
			WHERE trigger_state.cursor = excluded.cursor OR trigger_state.updated_at < ?`),
			leasePrefix+name, holder, micros(now.Add(ttl)), micros(now))
		if err != nil {
			return s.wrap(err, "lease")
		}
		n, err := res.RowsAffected()
		got = n > 0
		return s.wrap(err, "lease")
	})
	return got, err
}

// SaveConnectorSpec implements store.Store.
func (s *Store) SaveConnectorSpec(ctx context.Context, c store.ConnectorSpec) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO imported_connectors (name, kind, spec, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, spec = excluded.spec, updated_at = excluded.updated_at`),
			c.Name, c.Kind, string(c.Spec), micros(time.Now()))
		return s.wrap(err, "save connector")
	})
}

// DeleteConnectorSpec implements store.Store.
func (s *Store) DeleteConnectorSpec(ctx context.Context, name string) (bool, error) {
	var found bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM imported_connectors WHERE name = ?`), name)
		if err != nil {
			return s.wrap(err, "delete connector")
		}
		n, _ := res.RowsAffected()
		found = n > 0
		return nil
	})
	return found, err
}

// ConnectorSpecs implements store.Store.
func (s *Store) ConnectorSpecs(ctx context.Context) ([]store.ConnectorSpec, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, kind, spec, updated_at FROM imported_connectors ORDER BY name`)
	if err != nil {
		return nil, s.wrap(err, "connectors")
	}
	defer rows.Close()
	var out []store.ConnectorSpec
	for rows.Next() {
		var c store.ConnectorSpec
		var spec string
		var upd int64
		if err := rows.Scan(&c.Name, &c.Kind, &spec, &upd); err != nil {
			return nil, s.wrap(err, "connectors")
		}
		c.Spec, c.UpdatedAt = []byte(spec), fromMicros(upd)
		out = append(out, c)
	}
	return out, s.wrap(rows.Err(), "connectors")
}

// SaveConnection implements store.Store.
func (s *Store) SaveConnection(ctx context.Context, c store.SealedConnection) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		return s.saveConnection(ctx, tx, c)
	})
}

func (s *Store) saveConnection(ctx context.Context, tx *sql.Tx, c store.SealedConnection) error {
	if c.Namespace == "" {
		c.Namespace = store.DefaultNamespace
	}
	if err := s.namespaceExists(ctx, tx, c.Namespace); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO connections (name, connector, namespace, key_id, sealed, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET connector = excluded.connector, namespace = excluded.namespace, key_id = excluded.key_id, sealed = excluded.sealed, updated_at = excluded.updated_at`),
		c.Name, c.Connector, c.Namespace, c.KeyID, c.Sealed, micros(time.Now()))
	return s.wrap(err, "save connection")
}

// Connections implements store.Store.
func (s *Store) Connections(ctx context.Context) ([]store.SealedConnection, error) {
	return s.connections(ctx, s.r)
}

func (s *Store) connections(ctx context.Context, q querier) ([]store.SealedConnection, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, connector, namespace, key_id, sealed, updated_at FROM connections ORDER BY name`)
	if err != nil {
		return nil, s.wrap(err, "connections")
	}
	defer rows.Close()
	var out []store.SealedConnection
	for rows.Next() {
		var c store.SealedConnection
		var upd int64
		if err := rows.Scan(&c.Name, &c.Connector, &c.Namespace, &c.KeyID, &c.Sealed, &upd); err != nil {
			return nil, s.wrap(err, "connections")
		}
		c.UpdatedAt = fromMicros(upd)
		out = append(out, c)
	}
	return out, s.wrap(rows.Err(), "connections")
}

// DeleteConnection implements store.Store.
func (s *Store) DeleteConnection(ctx context.Context, name string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM connections WHERE name = ?`), name)
		if err != nil {
			return s.wrap(err, "delete connection")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return weft.Errorf(weft.ENotFound, "no connection named %q", name)
		}
		return nil
	})
}

// Reseal implements store.Store.
func (s *Store) Reseal(ctx context.Context, fn func(store.SealedConnection) (store.SealedConnection, error)) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n = 0
		cs, err := s.connections(ctx, tx)
		if err != nil {
			return err
		}
		for _, c := range cs {
			nc, err := fn(c)
			if err != nil {
				return err
			}
			nc.Name, nc.Connector, nc.Namespace = c.Name, c.Connector, c.Namespace
			if err := s.saveConnection(ctx, tx, nc); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// CreateAPIKey implements store.Store.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	scopes, _ := json.Marshal(k.Scopes)
	if k.Namespace == "" {
		k.Namespace = store.DefaultNamespace
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.namespaceExists(ctx, tx, k.Namespace); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO api_keys (id, name, namespace, hash, scopes, rate_per_min, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			k.ID, k.Name, k.Namespace, k.Hash, string(scopes), k.RatePerMin, micros(k.CreatedAt))
		if err != nil && s.isUniq(err) {
			return weft.Errorf(weft.EConflict, "an API key with id %q exists", k.ID)
		}
		return s.wrap(err, "create api key")
	})
}

func (s *Store) scanKeys(rows *sql.Rows) ([]store.APIKey, error) {
	defer rows.Close()
	var out []store.APIKey
	for rows.Next() {
		var k store.APIKey
		var scopes string
		var created int64
		var revoked sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Name, &k.Namespace, &k.Hash, &scopes, &k.RatePerMin, &created, &revoked); err != nil {
			return nil, s.wrap(err, "api keys")
		}
		_ = json.Unmarshal([]byte(scopes), &k.Scopes)
		k.CreatedAt = fromMicros(created)
		if revoked.Valid {
			t := fromMicros(revoked.Int64)
			k.RevokedAt = &t
		}
		out = append(out, k)
	}
	return out, s.wrap(rows.Err(), "api keys")
}

// APIKeys implements store.Store.
func (s *Store) APIKeys(ctx context.Context) ([]store.APIKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, namespace, hash, scopes, rate_per_min, created_at, revoked_at FROM api_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, s.wrap(err, "api keys")
	}
	return s.scanKeys(rows)
}

// APIKeyByHash implements store.Store.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (*store.APIKey, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, name, namespace, hash, scopes, rate_per_min, created_at, revoked_at FROM api_keys WHERE hash = ? AND revoked_at IS NULL`), hash)
	if err != nil {
		return nil, s.wrap(err, "api key")
	}
	ks, err := s.scanKeys(rows)
	if err != nil {
		return nil, err
	}
	if len(ks) == 0 {
		return nil, weft.Errorf(weft.ENotFound, "no such API key")
	}
	return &ks[0], nil
}

// RevokeAPIKey implements store.Store.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`), micros(time.Now()), id)
		if err != nil {
			return s.wrap(err, "revoke api key")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return weft.Errorf(weft.ENotFound, "no active API key %q", id)
		}
		return nil
	})
}

// SaveAlert implements store.Store.
func (s *Store) SaveAlert(ctx context.Context, a store.AlertDoc) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO alerts (id, key, status, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET status = excluded.status, doc = excluded.doc, updated_at = excluded.updated_at`),
			a.ID, a.Key, a.Status, string(a.Doc), micros(a.CreatedAt), micros(time.Now()))
		return s.wrap(err, "save alert")
	})
}

// AlertDocs implements store.Store.
func (s *Store) AlertDocs(ctx context.Context, limit int) ([]store.AlertDoc, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, key, status, doc, created_at FROM alerts ORDER BY created_at DESC, id DESC LIMIT `+strconv.Itoa(limit)))
	if err != nil {
		return nil, s.wrap(err, "alerts")
	}
	defer rows.Close()
	var out []store.AlertDoc
	for rows.Next() {
		var a store.AlertDoc
		var doc string
		var c int64
		if err := rows.Scan(&a.ID, &a.Key, &a.Status, &doc, &c); err != nil {
			return nil, s.wrap(err, "alerts")
		}
		a.Doc, a.CreatedAt = []byte(doc), fromMicros(c)
		out = append(out, a)
	}
	return out, s.wrap(rows.Err(), "alerts")
}

// SaveMapping implements store.Store.
func (s *Store) SaveMapping(ctx context.Context, m store.MappingDoc) error {
	now := time.Now()
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now
	}
	if m.Namespace == "" {
		m.Namespace = store.DefaultNamespace
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.namespaceExists(ctx, tx, m.Namespace); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO mappings (id, name, namespace, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, namespace = excluded.namespace, doc = excluded.doc, updated_at = excluded.updated_at`),
			m.ID, m.Name, m.Namespace, string(m.Doc), micros(m.CreatedAt), micros(now))
		return s.wrap(err, "save mapping")
	})
}

func (s *Store) scanMappings(rows *sql.Rows) ([]store.MappingDoc, error) {
	defer rows.Close()
	var out []store.MappingDoc
	for rows.Next() {
		var m store.MappingDoc
		var doc string
		var c, u int64
		if err := rows.Scan(&m.ID, &m.Name, &m.Namespace, &doc, &c, &u); err != nil {
			return nil, s.wrap(err, "mappings")
		}
		m.Doc, m.CreatedAt, m.UpdatedAt = []byte(doc), fromMicros(c), fromMicros(u)
		out = append(out, m)
	}
	return out, s.wrap(rows.Err(), "mappings")
}

// Mapping implements store.Store.
func (s *Store) Mapping(ctx context.Context, id string) (*store.MappingDoc, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, name, namespace, doc, created_at, updated_at FROM mappings WHERE id = ?`), id)
	if err != nil {
		return nil, s.wrap(err, "mapping")
	}
	ms, err := s.scanMappings(rows)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, weft.Errorf(weft.ENotFound, "no mapping %q", id)
	}
	return &ms[0], nil
}

// Mappings implements store.Store.
func (s *Store) Mappings(ctx context.Context) ([]store.MappingDoc, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, namespace, doc, created_at, updated_at FROM mappings ORDER BY created_at, id`)
	if err != nil {
		return nil, s.wrap(err, "mappings")
	}
	return s.scanMappings(rows)
}

// --- queue ------------------------------------------------------------------

func (s *Store) riverClient() *river.Client[*sql.Tx] {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.river
}

// StartQueue implements store.Store.
func (s *Store) StartQueue(ctx context.Context, workers *river.Workers, q store.QueueConfig) error {
	cfg := &river.Config{Logger: s.log.With("component", "river"), MaxAttempts: 25}
	if q.JobTimeout > 0 {
		cfg.JobTimeout = q.JobTimeout
	}
	if q.RescueAfter > 0 {
		cfg.RescueStuckJobsAfter = q.RescueAfter
	}
	// River fetches at most once per cooldown (100ms by default), so a
	// queue of N workers finishes at most N*10 short jobs a second; a
	// shorter cooldown lifts that ceiling for Weft's many short runs.
	cfg.FetchCooldown = 20 * time.Millisecond
	if q.FetchPollInterval > 0 {
		cfg.FetchPollInterval = q.FetchPollInterval
		cfg.FetchCooldown = min(q.FetchPollInterval, cfg.FetchCooldown)
	}
	var lv *liveness
	if workers != nil {
		n := q.Workers
		if n <= 0 {
			n = 50
		}
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: n}}
		cfg.ID = q.WorkerID
		if cfg.ID == "" {
			cfg.ID = NewWorkerID()
		}
		var err error
		if lv, err = s.startLiveness(ctx, cfg.ID, q.DeadAfter); err != nil {
			return err
		}
	}
	var (
		rc     *river.Client[*sql.Tx]
		runner QueueClient
		err    error
	)
	if s.newWorker != nil && workers != nil {
		// Inserts go through Driver in our own transactions; an insert-only
		// client needs only what shapes the job rows it writes, and the
		// cooldown that spaces its insert notifications (River skips the
		// notification of an insert that follows another one within it,
		// and a worker then finds that job only at its next poll).
		if rc, err = river.NewClient(s.driver, &river.Config{Logger: cfg.Logger, MaxAttempts: cfg.MaxAttempts, FetchCooldown: cfg.FetchCooldown}); err == nil {
			runner, err = s.newWorker(s, cfg)
		}
	} else {
		driver := s.driver
		if workers != nil {
			driver = WorkerDriver(s, driver)
		}
		rc, err = river.NewClient(driver, cfg)
		runner = rc
	}
	if err != nil {
		if lv != nil {
			s.stopLiveness(lv)
		}
		return s.wrap(err, "river")
	}
	// Only this process works an SQLite queue whose lock it holds, and
	// only it writes the runs it enqueues: the hand-off (handoff.go).
	s.handoff.set(s.dialect == SQLite && lv != nil && lv.exclusive)
	s.mu.Lock()
	s.river, s.live = rc, lv
	if runner != QueueClient(rc) {
		s.worker = runner
	}
	s.mu.Unlock()
	if workers != nil {
		if err := runner.Start(ctx); err != nil {
			s.handoff.set(false)
			return s.wrap(err, "start river")
		}
		if s.newWorker != nil && q.Work != nil && s.dialect == Postgres {
			timeout := cmp.Or(cfg.JobTimeout, river.JobTimeoutDefault)
			lctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
			s.local.Store(&localQueue{work: q.Work, id: cfg.ID, maxAttempts: cfg.MaxAttempts, timeout: max(timeout, 0),
				slots: make(chan struct{}, cfg.Queues[river.QueueDefault].MaxWorkers), ctx: lctx, cancel: cancel})
		}
	}
	return nil
}

// runner is the client that works the queue (nil before StartQueue).
func (s *Store) runner() QueueClient {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.worker != nil {
		return s.worker
	}
	if s.river == nil {
		return nil
	}
	return s.river
}

// StopQueue implements store.Store.
func (s *Store) StopQueue(ctx context.Context) error {
	rc := s.runner()
	if rc == nil {
		return nil
	}
	// Soft stop first; whatever is still running at the deadline is
	// cancelled and snoozes itself back to the queue for another worker.
	// The local jobs stop beside River's (localjobs.go).
	local := make(chan struct{})
	go func() { defer close(local); s.stopLocal(ctx, 5*time.Second) }()
	if err := rc.Stop(ctx); err != nil {
		hard, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err2 := rc.StopAndCancel(hard); err2 != nil {
			<-local
			return fmt.Errorf("stop queue: %w", err2)
		}
	}
	<-local
	s.mu.Lock()
	lv := s.live
	s.live, s.worker = nil, nil
	s.mu.Unlock()
	// The stopped completer came for every job it will: forget the rest
	// (a job id can be used again once River's cleaner deleted the job).
	s.completed.clear()
	s.handoff.set(false)
	if lv != nil {
		s.stopLiveness(lv)
	}
	return nil
}
