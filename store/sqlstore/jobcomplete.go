package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/weftio/weft/store"
)

// A run's job completed with its final write.
//
// A queued run used to finish in two transactions: the run's final write
// (the group committer's), then River's completion of its job (River's
// batch completer, on the same single SQLite writer, or on PostgreSQL a
// transaction and an fsync of its own). UpdateRun under a context from
// store.WithQueueJob now completes the job in the final write's
// transaction, with an UPDATE of the two columns that River's own
// completion (the driver's JobSetStateIfRunningMany, as river.JobCompleteTx
// runs it) changes for a completed job, and the working client's
// completer skips the jobs completed that way (skipDriver): what it would
// have run for them finds them no longer running, and on SQLite still
// updates their row (River's JobSetMetadataIfNotRunning).
//
// Crash semantics: the run's final state and its job's completion commit
// together or not at all. Before, a crash between the two left a finished
// run whose job River rescued and handed to a worker again (which found
// the run finished and did nothing); now there is no such window. A
// final write that does not commit leaves the run unfinished and the job
// running, as before: the job is rescued and the run resumes from its
// checkpoints.

// completedJobs is the set of jobs whose completion committed with
// their run's final write, until the completer comes for them.
type completedJobs struct{ m sync.Map } // int64 -> struct{}

func (c *completedJobs) add(id int64) { c.m.Store(id, struct{}{}) }

func (c *completedJobs) clear() { c.m.Clear() }

// take reports whether id was completed with its run (and forgets it).
func (c *completedJobs) take(id int64) bool {
	_, ok := c.m.LoadAndDelete(id)
	return ok
}

// completeJobs completes the running jobs ids in tx and returns those it
// completed (a job no longer running is left as it is).
func (s *Store) completeJobs(ctx context.Context, tx *sql.Tx, ids []int64) (map[int64]bool, error) {
	now := time.Now().UTC()
	if s.dialect == SQLite {
		return s.completeJobsSQLite(ctx, tx, ids, now)
	}
	// River's own statement (the driver's JobSetStateIfRunningMany, what
	// river.JobCompleteTx runs) unnests eight arrays, updates six columns
	// through CASEs and returns every row whole; in the final write's
	// transaction it was the costliest statement of an async run
	// (BENCHMARKS.md §59). For completing running jobs without metadata
	// it changes exactly these two columns, as on SQLite below.
	// TestCompleteJobsAsRiver (both stores) holds it to River's.
	rows, err := tx.QueryContext(ctx, CompleteJobsPG, now, ids)
	if err != nil {
		return nil, s.wrap(err, "complete jobs")
	}
	done, err := scanCompleted(rows, make(map[int64]bool, len(ids)))
	if err != nil {
		return nil, s.wrap(err, "complete jobs")
	}
	return done, nil
}

// CompleteJobsPG is the statement that completes running jobs with their
// runs on PostgreSQL ($1 the finalized time, $2 the ids). The state is
// tested as text so that no plan can reach the rows through River's index
// on state: on a river_job without statistics yet (a young or busy table
// before autovacuum's first analyze) the planner took that index, read
// every running job and filtered them by id, a cost that grows with the
// jobs running (BENCHMARKS.md §64); through the primary key it reads the
// jobs named. Exported for its plan test.
const CompleteJobsPG = `UPDATE river_job SET state = 'completed', finalized_at = $1 WHERE id = ANY($2) AND state::text = 'running' RETURNING id`

// scanCompleted adds the ids rows returns to done and closes rows.
func scanCompleted(rows *sql.Rows, done map[int64]bool) (map[int64]bool, error) {
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		done[id] = true
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return done, rows.Err()
}

// jobsPerComplete bounds one completing UPDATE on SQLite.
const jobsPerComplete = 64

// completeJobsSQLite is River's completion of ids on SQLite as one
// statement per jobsPerComplete jobs. River's SQLite driver runs its
// JobSetStateIfRunning for each job on its own, an UPDATE that returns
// the whole row decoded from JSON: most of the CPU of River's completer
// under the async load (BENCHMARKS.md). For the completed state without
// metadata it sets exactly these two columns (attempt, errors, metadata
// and scheduled_at stay; no cancel applies to a completed job), the time
// in River's SQLite format (riversqlite's timeString: UTC, milliseconds).
// TestCompleteJobsAsRiver holds it to River's own statement.
func (s *Store) completeJobsSQLite(ctx context.Context, tx *sql.Tx, ids []int64, now time.Time) (map[int64]bool, error) {
	fin := now.UTC().Round(time.Millisecond).Format("2006-01-02 15:04:05.000")
	done := make(map[int64]bool, len(ids))
	args := make([]any, 0, min(len(ids), jobsPerComplete)+1)
	for len(ids) > 0 {
		n := min(len(ids), jobsPerComplete)
		args = append(args[:0], fin)
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		rows, err := tx.QueryContext(ctx, sqliteCompletes[n], args...) // the driver caches its statements
		if err != nil {
			return nil, s.wrap(err, "complete jobs")
		}
		if _, err := scanCompleted(rows, done); err != nil {
			return nil, s.wrap(err, "complete jobs")
		}
		ids = ids[n:]
	}
	return done, nil
}

// sqliteCompletes holds, at index n, the completing UPDATE of n jobs.
var sqliteCompletes = func() []string {
	out := make([]string, jobsPerComplete+1)
	for n := 1; n <= jobsPerComplete; n++ {
		out[n] = `UPDATE river_job SET state = 'completed', finalized_at = ? WHERE state = 'running' AND id IN (` +
			strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + `) RETURNING id`
	}
	return out
}()

// queueJobOf returns the job UpdateRun of r completes with it (0: none).
func queueJobOf(ctx context.Context, r *store.Run) int64 {
	if !store.Finished(r.Status) {
		return 0
	}
	id, _ := store.QueueJob(ctx, r.ID)
	return id
}

// WorkerDriver wraps the driver of the River client that works the queue:
// its completer skips the jobs that s completed with their runs' final
// writes.
func WorkerDriver[TTx any](s *Store, d riverdriver.Driver[TTx]) riverdriver.Driver[TTx] {
	return &skipDriver[TTx]{Driver: d, done: &s.completed}
}

type skipDriver[TTx any] struct {
	riverdriver.Driver[TTx]
	done *completedJobs
}

// GetExecutor implements riverdriver.Driver: River's completer is built
// on it (the client's other services pass through).
func (d *skipDriver[TTx]) GetExecutor() riverdriver.Executor {
	return &skipExecutor{Executor: d.Driver.GetExecutor(), done: d.done}
}

type skipExecutor struct {
	riverdriver.Executor
	done *completedJobs
}

// JobSetStateIfRunningMany implements riverdriver.Executor, leaving out
// the jobs that were completed with their runs.
func (e *skipExecutor) JobSetStateIfRunningMany(ctx context.Context, p *riverdriver.JobSetStateIfRunningManyParams) ([]*rivertype.JobRow, error) {
	var keep []int
	for i, id := range p.ID {
		if !e.done.take(id) {
			keep = append(keep, i)
		}
	}
	switch {
	case len(keep) == len(p.ID):
		return e.Executor.JobSetStateIfRunningMany(ctx, p)
	case len(keep) == 0:
		return nil, nil
	}
	q := &riverdriver.JobSetStateIfRunningManyParams{Now: p.Now, Schema: p.Schema}
	for _, i := range keep {
		q.ID = append(q.ID, p.ID[i])
		q.Attempt = append(q.Attempt, p.Attempt[i])
		q.ErrData = append(q.ErrData, p.ErrData[i])
		q.FinalizedAt = append(q.FinalizedAt, p.FinalizedAt[i])
		q.MetadataDoMerge = append(q.MetadataDoMerge, p.MetadataDoMerge[i])
		q.MetadataUpdates = append(q.MetadataUpdates, p.MetadataUpdates[i])
		q.ScheduledAt = append(q.ScheduledAt, p.ScheduledAt[i])
		q.State = append(q.State, p.State[i])
	}
	return e.Executor.JobSetStateIfRunningMany(ctx, q)
}

// QueueJobState returns the state of River's job id ("" when there is
// none): for tests and diagnostics.
func (s *Store) QueueJobState(ctx context.Context, id int64) (string, error) {
	var state string
	err := s.w.QueryRowContext(ctx, s.q(`SELECT state FROM river_job WHERE id = ?`), id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return state, s.wrap(err, "read job")
}
