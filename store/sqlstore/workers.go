package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// Worker liveness. River rescues a job stuck in "running" only after
// RescueStuckJobsAfter (minutes), because it cannot tell a slow worker from
// a dead one. Weft tells them apart: every process that works the queue
// registers a row in weft_workers under its own identity (also River's
// client id, recorded in each job's attempted_by) and beats it every
// second. A running job whose worker stopped beating (or stopped cleanly
// and left it behind) goes back to the queue at once, and resumes from its
// last checkpoint: completed steps are never run again; a step in flight
// at the crash runs again with the same idempotency key.
//
// On SQLite one process at a time holds the queue's file lock (see
// Options.QueueLock); a process that takes it knows every other holder
// before it is dead, so on start it reclaims their jobs without waiting.
// Heartbeats are read on the database's clock, so clock skew between
// hosts does not matter.

// Liveness defaults.
const (
	DefaultDeadAfter = 5 * time.Second
	minBeat          = 50 * time.Millisecond
)

type liveness struct {
	id        string
	exclusive bool
	deadAfter time.Duration
	beat      time.Duration
	unlock    func()
	stop      chan struct{}
	done      sync.WaitGroup
	conn      *sql.Conn // PostgreSQL: a session of its own, so a busy pool cannot delay the beat
}

// beatExec runs a heartbeat statement: on PostgreSQL on the worker's own
// session (taken again if it broke), on SQLite through the writer.
func (s *Store) beatExec(ctx context.Context, lv *liveness, q string, args ...any) (sql.Result, error) {
	if s.dialect != Postgres {
		return s.w.ExecContext(ctx, q, args...)
	}
	if lv.conn == nil {
		c, err := s.w.Conn(ctx)
		if err != nil {
			return nil, err
		}
		lv.conn = c
	}
	res, err := lv.conn.ExecContext(ctx, q, args...)
	if err != nil {
		lv.conn.Close()
		lv.conn = nil
	}
	return res, err
}

// NewWorkerID returns a worker identity unique to this process start:
// host:pid:random (a container restarted with the same host name and pid 1
// still gets a new one).
func NewWorkerID() string {
	host, _ := os.Hostname()
	if len(host) > 60 {
		host = host[:60]
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// dbNow is the database's clock in microseconds since the epoch.
func (s *Store) dbNow() string {
	if s.dialect == Postgres {
		return `(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT`
	}
	return `CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)`
}

// startLiveness registers this worker, reclaims what dead workers left
// running, and keeps beating until stopLiveness. It runs before River
// starts, so nothing this process runs can be mistaken for a dead one's.
func (s *Store) startLiveness(ctx context.Context, id string, deadAfter time.Duration) (*liveness, error) {
	if deadAfter <= 0 {
		deadAfter = DefaultDeadAfter
	}
	lv := &liveness{id: id, deadAfter: deadAfter, beat: max(deadAfter/5, minBeat), stop: make(chan struct{})}
	if s.queueLock != nil {
		unlock, ok := s.queueLock()
		if ok {
			lv.exclusive, lv.unlock = true, unlock
		} else {
			s.log.Warn("another process works this database's queue; runs of a dead worker are reclaimed once its heartbeat stops", "dead_after", deadAfter)
		}
	}
	host, _ := os.Hostname()
	excl := 0
	if lv.exclusive {
		excl = 1
	}
	if _, err := s.beatExec(ctx, lv, s.q(`INSERT INTO weft_workers (id, host, pid, exclusive, started_at, heartbeat_at) VALUES (?, ?, ?, ?, `+s.dbNow()+`, `+s.dbNow()+`)
		ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`), id, host, os.Getpid(), excl); err != nil {
		lv.release()
		return nil, s.wrap(err, "register worker")
	}
	if n, err := s.reclaim(ctx, lv, true); err != nil {
		s.log.Warn("reclaiming runs of dead workers", "err", err)
	} else if n > 0 {
		s.log.Info("reclaimed runs of dead workers", "jobs", n)
	}
	lv.done.Add(1)
	go s.beat(lv)
	return lv, nil
}

func (lv *liveness) release() {
	if lv.conn != nil {
		lv.conn.Close()
		lv.conn = nil
	}
	if lv.unlock != nil {
		lv.unlock()
		lv.unlock = nil
	}
}

// beat refreshes this worker's heartbeat and reclaims dead workers' jobs,
// every lv.beat.
func (s *Store) beat(lv *liveness) {
	defer lv.done.Done()
	t := time.NewTicker(lv.beat)
	defer t.Stop()
	for {
		select {
		case <-lv.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), lv.deadAfter)
		res, err := s.beatExec(ctx, lv, s.q(`UPDATE weft_workers SET heartbeat_at = `+s.dbNow()+` WHERE id = ?`), lv.id)
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				// Peers judged this process dead (it stalled past dead_after)
				// and reclaimed its jobs; say so, and come back.
				s.log.Warn("this worker was taken for dead by its peers; its running jobs may run again elsewhere", "worker", lv.id)
				host, _ := os.Hostname()
				_, err = s.beatExec(ctx, lv, s.q(`INSERT INTO weft_workers (id, host, pid, exclusive, started_at, heartbeat_at) VALUES (?, ?, ?, 0, `+s.dbNow()+`, `+s.dbNow()+`)`),
					lv.id, host, os.Getpid())
			}
		}
		if err != nil {
			s.log.Warn("worker heartbeat failed", "worker", lv.id, "err", err)
			cancel()
			continue // never judge others while this process cannot beat
		}
		if n, err := s.reclaim(ctx, lv, false); err != nil {
			s.log.Warn("reclaiming runs of dead workers", "err", err)
		} else if n > 0 {
			s.log.Info("reclaimed runs of a dead worker", "jobs", n)
		}
		cancel()
	}
}

// stopLiveness stops beating and marks this worker gone (heartbeat 0), so
// a job it could not release is reclaimed by the next process at once.
func (s *Store) stopLiveness(lv *liveness) {
	close(lv.stop)
	lv.done.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.beatExec(ctx, lv, s.q(`UPDATE weft_workers SET heartbeat_at = 0 WHERE id = ?`), lv.id); err != nil {
		s.log.Warn("marking worker stopped", "worker", lv.id, "err", err)
	}
	lv.release()
}

// reclaim moves the running jobs of dead workers back to the queue and
// forgets those workers. A worker is dead when its heartbeat is older than
// deadAfter; when this process holds the queue's lock, every other
// process that held it is dead too, and so is (on the first pass) a worker
// with no row at all, a process from before heartbeats.
func (s *Store) reclaim(ctx context.Context, lv *liveness, first bool) (int, error) {
	rows, err := s.w.QueryContext(ctx, s.q(`SELECT id, exclusive, CASE WHEN heartbeat_at < `+s.dbNow()+` - ? THEN 1 ELSE 0 END FROM weft_workers WHERE id <> ?`),
		lv.deadAfter.Microseconds(), lv.id)
	if err != nil {
		return 0, err
	}
	known := map[string]bool{}
	dead := map[string]bool{}
	for rows.Next() {
		var id string
		var excl, stale int
		if err := rows.Scan(&id, &excl, &stale); err != nil {
			rows.Close()
			return 0, err
		}
		known[id] = true
		if stale == 1 || (lv.exclusive && excl == 1) {
			dead[id] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	orphans := first && lv.exclusive
	if len(dead) == 0 && !orphans {
		return 0, nil
	}
	exec := s.driver.GetExecutor()
	now := time.Now().UTC()
	horizon := now.Add(24 * time.Hour) // every running job; the owner decides
	n := 0
	var after int64
	for {
		jobs, err := exec.JobGetStuck(ctx, &riverdriver.JobGetStuckParams{AfterID: after, Max: 500, StuckHorizon: horizon})
		if err != nil {
			return n, err
		}
		p := &riverdriver.JobRescueManyParams{StuckHorizon: horizon}
		for _, j := range jobs {
			after = j.ID
			owner := ""
			if k := len(j.AttemptedBy); k > 0 {
				owner = j.AttemptedBy[k-1]
			}
			if owner == lv.id || !(dead[owner] || (orphans && !known[owner])) {
				continue
			}
			msg, _ := json.Marshal(rivertype.AttemptError{At: now, Attempt: max(j.Attempt, 0),
				Error: fmt.Sprintf("worker %s stopped (no heartbeat for %s); Weft reclaimed the job", owner, lv.deadAfter)})
			state, fin := rivertype.JobStateAvailable, (*time.Time)(nil)
			if j.Attempt >= j.MaxAttempts {
				state, fin = rivertype.JobStateDiscarded, &now // a run that keeps killing its workers
			}
			p.ID = append(p.ID, j.ID)
			p.Error = append(p.Error, msg)
			p.FinalizedAt = append(p.FinalizedAt, fin)
			p.ScheduledAt = append(p.ScheduledAt, now.Add(-time.Second))
			p.State = append(p.State, string(state))
		}
		if len(p.ID) > 0 {
			if _, err := exec.JobRescueMany(ctx, p); err != nil {
				return n, err
			}
			n += len(p.ID)
		}
		if len(jobs) < 500 {
			break
		}
	}
	for id := range dead {
		if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM weft_workers WHERE id = ?`), id); err != nil {
			return n, err
		}
	}
	return n, nil
}
