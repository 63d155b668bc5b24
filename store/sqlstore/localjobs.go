package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// Local claims: a process works the runs it enqueues itself.
//
// On PostgreSQL every process's River producer fetched on every insert
// notification, so P processes made P fetches (each an UPDATE
// transaction with its own WAL flush) for every batch of runs, and the
// notification's commit held PostgreSQL's one NOTIFY lock through its
// flush (BENCHMARKS.md §64). With store.QueueConfig.Work set, CreateRun
// takes a free local slot when there is one and inserts the run's job
// already running, attempted by this worker (attempt 1, attempted_by its
// identity), in the transaction that records the run, with no
// notification; once that commits, the job runs here on the slot. No
// other process's fetch takes it (River fetches available jobs only).
// Without a free slot the job is inserted by River as before (available,
// notified), for whichever process fetches it first.
//
// What River does for a job it fetched, the local slot does too: a job
// timeout, a panic turned into an error, and the outcome written with
// River's driver statement (JobSetStateIfRunningMany): completed (or
// completed with the run's final write, store.WithQueueJob), snoozed,
// retryable or available with River's default retry policy, discarded
// after its last attempt, cancelled. A job of a process that dies between
// the claim and the end is like any job it fetched: running, attempted by
// a worker whose heartbeat stops, so a peer reclaims it after DeadAfter
// (workers.go) and it resumes from its checkpoints; River's rescuer after
// RescueAfter is the last resort, as for fetched jobs.

// localQueue is the local slots of a started queue.
type localQueue struct {
	work        func(context.Context, *river.Job[store.RunArgs]) error
	id          string // this worker's identity (attempted_by)
	maxAttempts int
	timeout     time.Duration // per attempt; 0: none
	slots       chan struct{}
	ctx         context.Context // canceled on a hard stop
	cancel      context.CancelCauseFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // claims taken and not yet ended
}

// localClaim is one local slot taken for a run's job.
type localClaim struct {
	q     *localQueue
	run   string
	rec   *store.Run // the run as created (store.WithFreshRun)
	job   int64      // set by the insert
	state atomic.Int32
}

const (
	claimPending int32 = iota
	claimStarted
	claimReleased
)

// schedulerInterval is River's (maintenance.JobSchedulerIntervalDefault):
// a retry or snooze due sooner than this is made available at once, as
// River's executor does.
const schedulerInterval = 5 * time.Second

// claimLocal takes a local slot for run, or returns nil (no local
// queue, stopping, or every slot busy).
func (s *Store) claimLocal(run string) *localClaim {
	lq := s.local.Load()
	if lq == nil {
		return nil
	}
	lq.mu.Lock()
	defer lq.mu.Unlock()
	if lq.closed {
		return nil
	}
	select {
	case lq.slots <- struct{}{}:
	default:
		return nil
	}
	lq.wg.Add(1)
	return &localClaim{q: lq, run: run}
}

// release gives the slot back when the claimed job was not committed.
func (c *localClaim) release() {
	if c != nil && c.state.CompareAndSwap(claimPending, claimReleased) {
		c.end()
	}
}

func (c *localClaim) end() {
	<-c.q.slots
	c.q.wg.Done()
}

// started runs the committed claim's job on its slot.
func (s *Store) startClaim(c *localClaim) {
	if c == nil {
		return
	}
	if c.job == 0 {
		c.release()
		return
	}
	if c.state.CompareAndSwap(claimPending, claimStarted) {
		go s.runLocal(c)
	}
}

// insertClaimedPG is the insert of running jobs claimed by worker $2 for
// the runs $1 ($3: max attempts): River's job row as River's insert
// writes it for store.RunArgs, then as its fetch leaves it for attempt 1.
const insertClaimedPG = `INSERT INTO river_job (args, kind, max_attempts, priority, queue, state, scheduled_at, attempt, attempted_at, attempted_by, metadata, tags)
SELECT jsonb_build_object('run_id', r), 'weft_run', $3, 1, 'default', 'running', now(), 1, now(), ARRAY[$2::text], '{}', '{}'
FROM unnest($1::text[]) AS r RETURNING id, args->>'run_id'`

// insertClaimed inserts the jobs of claims, running and attempted by this
// worker, in tx, and records each job's id in its claim.
func (s *Store) insertClaimed(ctx context.Context, tx *sql.Tx, claims []*localClaim) error {
	if len(claims) == 0 {
		return nil
	}
	lq := claims[0].q
	runs := make([]string, len(claims))
	by := make(map[string]*localClaim, len(claims))
	for i, c := range claims {
		runs[i] = c.run
		by[c.run] = c
		c.job = 0
	}
	rows, err := tx.QueryContext(ctx, insertClaimedPG, runs, lq.id, lq.maxAttempts)
	if err != nil {
		return s.wrap(err, "enqueue run")
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int64
		var run string
		if err := rows.Scan(&id, &run); err != nil {
			return s.wrap(err, "enqueue run")
		}
		if c := by[run]; c != nil {
			c.job = id
			n++
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap(err, "enqueue run")
	}
	if n != len(claims) {
		return weft.Errorf(weft.EInternal, "enqueued %d of %d claimed runs", n, len(claims))
	}
	return nil
}

// runLocal works a claimed job as River's executor would, then writes
// its outcome.
func (s *Store) runLocal(c *localClaim) {
	defer c.end()
	lq := c.q
	now := time.Now().UTC()
	args, _ := json.Marshal(store.RunArgs{RunID: c.run})
	row := &rivertype.JobRow{ID: c.job, Attempt: 1, AttemptedAt: &now, AttemptedBy: []string{lq.id}, CreatedAt: now, EncodedArgs: args,
		Kind: store.RunArgs{}.Kind(), MaxAttempts: lq.maxAttempts, Metadata: []byte("{}"), Priority: 1, Queue: river.QueueDefault,
		ScheduledAt: now, State: rivertype.JobStateRunning}
	ctx, cancel := lq.ctx, context.CancelFunc(func() {})
	if lq.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, lq.timeout)
	}
	if c.rec != nil {
		ctx = store.WithFreshRun(ctx, c.rec)
	}
	err, trace := callWork(ctx, lq.work, &river.Job[store.RunArgs]{JobRow: row, Args: store.RunArgs{RunID: c.run}})
	cancel()
	if err == nil && s.completed.take(c.job) {
		return // completed with the run's final write
	}
	p := outcome(row, now, err, trace)
	var last error
	for try := 0; try < 4; try++ {
		if try > 0 {
			time.Sleep(time.Duration(try*try) * 250 * time.Millisecond)
		}
		wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, last = s.driver.GetExecutor().JobSetStateIfRunningMany(wctx, manyOf(p))
		wcancel()
		if last == nil {
			return
		}
	}
	// The job stays running, attempted by this worker: River's rescuer
	// (RescueAfter), or a peer once this process stops, takes it back.
	s.log.Error("recording the outcome of a local job failed", "job_id", c.job, "run_id", c.run, "state", p.State, "err", last)
}

// callWork calls work, a panic turned into an error with its stack.
func callWork(ctx context.Context, work func(context.Context, *river.Job[store.RunArgs]) error, job *river.Job[store.RunArgs]) (err error, trace string) {
	defer func() {
		if p := recover(); p != nil {
			err, trace = fmt.Errorf("panic: %v", p), string(debug.Stack())
		}
	}()
	return work(ctx, job), ""
}

// outcome is River's executor's state update for a job's result
// (river's internal/jobexecutor reportResult and reportError).
func outcome(row *rivertype.JobRow, start time.Time, err error, trace string) *riverdriver.JobSetStateIfRunningParams {
	now := time.Now().UTC()
	if err == nil {
		return riverdriver.JobSetStateCompleted(row.ID, now, nil)
	}
	var snooze *rivertype.JobSnoozeError
	if errors.As(err, &snooze) {
		meta := []byte(`{"snoozes":1}`)
		at := now.Add(snooze.Duration)
		if snooze.Duration <= schedulerInterval {
			return riverdriver.JobSetStateSnoozedAvailable(row.ID, at, row.Attempt-1, meta)
		}
		return riverdriver.JobSetStateSnoozed(row.ID, at, row.Attempt-1, meta)
	}
	data, _ := json.Marshal(rivertype.AttemptError{At: start, Attempt: row.Attempt, Error: err.Error(), Trace: trace})
	var cancelled *rivertype.JobCancelError
	switch {
	case errors.As(err, &cancelled):
		return riverdriver.JobSetStateCancelled(row.ID, now, data, nil)
	case row.Attempt >= row.MaxAttempts:
		return riverdriver.JobSetStateDiscarded(row.ID, now, data, nil)
	}
	at := (&river.DefaultClientRetryPolicy{}).NextRetry(row)
	if at.Sub(now) <= schedulerInterval {
		return riverdriver.JobSetStateErrorAvailable(row.ID, at, data, nil)
	}
	return riverdriver.JobSetStateErrorRetryable(row.ID, at, data, nil)
}

// manyOf is p as the driver's many-job statement takes it (what River's
// completer does with one).
func manyOf(p *riverdriver.JobSetStateIfRunningParams) *riverdriver.JobSetStateIfRunningManyParams {
	return &riverdriver.JobSetStateIfRunningManyParams{ID: []int64{p.ID}, Attempt: []*int{p.Attempt}, ErrData: [][]byte{p.ErrData},
		FinalizedAt: []*time.Time{p.FinalizedAt}, MetadataDoMerge: []bool{p.MetadataDoMerge}, MetadataUpdates: [][]byte{p.MetadataUpdates},
		ScheduledAt: []*time.Time{p.ScheduledAt}, State: []rivertype.JobState{p.State}}
}

// errLocalStop is the cause of a local job's context ending on a hard stop.
var errLocalStop = errors.New("the queue is stopping")

// stopLocal stops claiming and waits for the local jobs until ctx ends;
// then it cancels them and waits at most hard more.
func (s *Store) stopLocal(ctx context.Context, hard time.Duration) {
	lq := s.local.Swap(nil)
	if lq == nil {
		return
	}
	lq.mu.Lock()
	lq.closed = true
	lq.mu.Unlock()
	idle := make(chan struct{})
	go func() { lq.wg.Wait(); close(idle) }()
	select {
	case <-idle:
		lq.cancel(errLocalStop)
		return
	case <-ctx.Done():
	}
	lq.cancel(errLocalStop)
	t := time.NewTimer(hard)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
		s.log.Warn("local jobs still running after the queue stopped; a peer reclaims them once this worker stops beating")
	}
}
