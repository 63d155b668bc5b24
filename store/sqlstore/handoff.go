package sqlstore

import (
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/weftio/weft/store"
)

// The hand-off (issue 20, BENCHMARKS.md §67). An async run is created and
// enqueued by CreateRun and, moments later, read back whole by the worker
// that picks up its job (RunForWork): one read statement a run, with the
// join to its attempts, for what this process wrote itself. While this
// process alone works the queue of an SQLite database (it holds the
// queue's file lock: no other process runs its jobs), CreateRun keeps a
// copy of each enqueued run as RunForWork would read it, and RunForWork
// takes that copy instead of reading, once: a job's first attempt after
// its run was created. Every other write through this store that changes
// a run it may hold (a status change such as a cancel, a requeue, an
// update, attempts appended or checkpointed) drops the copy first, so the
// copy is only used while the database row is still what CreateRun wrote:
// the run queued, its input, no attempts. A redelivered job (a retry, a
// snooze, a rescue, a restart after a crash) finds no copy and reads the
// database, as before. Nothing is kept across a restart and nothing is
// written differently: durability is unchanged.
//
// Bounded: at most handoffMax runs and handoffBytes of their inputs;
// runs with larger inputs, or beyond the bounds, are read as before.
// Copies whose job never reaches this process's worker (the queue is
// stopped first) go with StopQueue.

const (
	handoffMax      = 4096
	handoffBytes    = 16 << 20
	handoffMaxInput = 64 << 10
)

type handoff struct {
	on    atomic.Bool  // this process works the queue alone (StartQueue)
	n     atomic.Int32 // len(runs): the other writes skip the lock when 0
	taken atomic.Uint64
	mu    sync.Mutex
	runs  map[string]*store.Run
	bytes int
}

// keep records a copy of r, about to be created and enqueued, as
// RunForWork reads it back: times to the microsecond in UTC, empty
// payloads nil. It reports whether it kept one (the caller drops it
// again when the write fails).
func (h *handoff) keep(r *store.Run) bool {
	if !h.on.Load() || r.Override != nil || r.FinishedAt != nil || len(r.Input) > handoffMaxInput || r.Status != store.RunQueued {
		return false
	}
	c := &store.Run{ID: r.ID, Flow: r.Flow, Version: r.Version, Status: r.Status, TriggerKind: r.TriggerKind, IdemKey: r.IdemKey,
		ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage, FailedStep: r.FailedStep, Sync: r.Sync,
		CreatedAt: fromMicros(micros(r.CreatedAt)), StartedAt: fromMicros(micros(r.StartedAt))}
	if len(r.Input) > 0 {
		c.Input = json.RawMessage(string(r.Input)) // the caller may reuse r.Input
	}
	if len(r.Output) > 0 {
		c.Output = json.RawMessage(string(r.Output))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.runs) >= handoffMax || h.bytes+len(c.Input)+len(c.Output) > handoffBytes {
		return false
	}
	if h.runs == nil {
		h.runs = map[string]*store.Run{}
	}
	if old := h.runs[c.ID]; old != nil {
		h.bytes -= len(old.Input) + len(old.Output)
	}
	h.runs[c.ID] = c
	h.bytes += len(c.Input) + len(c.Output)
	h.n.Store(int32(len(h.runs)))
	return true
}

// take removes and returns the copy of run id, if there is one.
func (h *handoff) take(id string) *store.Run {
	if h.n.Load() == 0 {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.runs[id]
	if c != nil {
		delete(h.runs, id)
		h.bytes -= len(c.Input) + len(c.Output)
		h.n.Store(int32(len(h.runs)))
	}
	return c
}

// drop forgets the copy of run id (its row is about to change).
func (h *handoff) drop(id string) { h.take(id) }

// HandOffStats reports the runs whose copies the store holds for their
// first job (handoff.go) and how many RunForWork took instead of reading.
func (s *Store) HandOffStats() (held int, taken uint64) {
	return int(s.handoff.n.Load()), s.handoff.taken.Load()
}

// dropAttempts forgets the copies of the runs of as.
func (h *handoff) dropAttempts(as []store.Attempt) {
	if h.n.Load() == 0 {
		return
	}
	last := ""
	for i := range as {
		if id := as[i].RunID; id != last {
			h.drop(id)
			last = id
		}
	}
}

// set turns the hand-off on or off; off forgets every copy.
func (h *handoff) set(on bool) {
	h.on.Store(on)
	if on {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.runs, h.bytes = nil, 0
	h.n.Store(0)
}

// handoffRun is a kept run as RunForWork returns it: the copy itself
// (taken: the caller owns it) and no checkpoints, as for any run that
// has no attempts.
func handoffRun(c *store.Run) (*store.Run, map[string]json.RawMessage) {
	return c, map[string]json.RawMessage{}
}
