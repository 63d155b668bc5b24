package sqlstore

import (
	"testing"
	"time"
)

// gatherStore is a Store with only what gather uses.
func gatherStore() *Store {
	return &Store{batch: make(chan *writeReq, 64), gate: make(chan struct{}, 1), freed: make(chan struct{}, 1), done: make(chan struct{}), maxHeld: time.Hour}
}

type gathered struct {
	reqs   []*writeReq
	closed bool
}

func startGather(s *Store) chan gathered {
	out := make(chan gathered, 1)
	go func() {
		reqs, closed := s.gather(256)
		out <- gathered{reqs, closed}
	}()
	return out
}

func queue(s *Store, n int) {
	for i := 0; i < n; i++ {
		s.batch <- &writeReq{}
	}
}

func expectPending(t *testing.T, out chan gathered, what string) {
	t.Helper()
	select {
	case g := <-out:
		t.Fatalf("%s: the batch closed with %d writes; it should wait", what, len(g.reqs))
	case <-time.After(50 * time.Millisecond):
	}
}

func expectBatch(t *testing.T, out chan gathered, n int, closed bool) {
	t.Helper()
	select {
	case g := <-out:
		if len(g.reqs) != n || g.closed != closed {
			t.Fatalf("batch of %d writes (closed %v), want %d (closed %v)", len(g.reqs), g.closed, n, closed)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no batch; want %d writes", n)
	}
}

// With nothing in flight a batch closes with the writers queued: a lone
// writer is never held.
func TestGatherIdleCommitsAtOnce(t *testing.T) {
	s := gatherStore()
	queue(s, 1)
	expectBatch(t, startGather(s), 1, false)
	queue(s, 3)
	expectBatch(t, startGather(s), 3, false)
}

// While a commit is in flight, fewer than concurrentAt waiting writers do
// not open a second transaction: they wait for the commit in flight to end
// and then go together.
func TestGatherWaitsForCommitInFlight(t *testing.T) {
	s := gatherStore()
	s.inflight.Store(1)
	queue(s, concurrentAt-1)
	out := startGather(s)
	expectPending(t, out, "one commit in flight")
	s.inflight.Store(0)
	s.freed <- struct{}{}
	expectBatch(t, out, concurrentAt-1, false)
}

// Enough waiting writers open a concurrent transaction; the bar rises with
// the commits in flight.
func TestGatherOpensConcurrentCommitWhenWritersWait(t *testing.T) {
	s := gatherStore()
	s.inflight.Store(1)
	queue(s, concurrentAt)
	expectBatch(t, startGather(s), concurrentAt, false)

	s.inflight.Store(2)
	queue(s, concurrentAt)
	out := startGather(s)
	expectPending(t, out, "two commits in flight")
	queue(s, concurrentAt)
	expectBatch(t, out, 2*concurrentAt, false)
}

// A stale wake-up (a commit ended while nobody gathered) does not close a
// batch while another commit is still in flight.
func TestGatherStaleWakeup(t *testing.T) {
	s := gatherStore()
	s.inflight.Store(1)
	s.freed <- struct{}{}
	queue(s, 1)
	out := startGather(s)
	expectPending(t, out, "stale wake-up")
	s.inflight.Store(0)
	s.freed <- struct{}{}
	expectBatch(t, out, 1, false)
}

// Closing the store hands back what was gathered, to be committed.
func TestGatherClosed(t *testing.T) {
	s := gatherStore()
	s.inflight.Store(1)
	queue(s, 2)
	out := startGather(s)
	expectPending(t, out, "before close")
	close(s.done)
	expectBatch(t, out, 2, true)

	s2 := gatherStore()
	close(s2.done)
	expectBatch(t, startGather(s2), 0, true)
}

// Writers behind a commit that does not end wait for it at most maxHeld,
// then commit on their own.
func TestGatherBoundedWait(t *testing.T) {
	s := gatherStore()
	s.maxHeld = 30 * time.Millisecond
	s.inflight.Store(1)
	queue(s, 1)
	start := time.Now()
	expectBatch(t, startGather(s), 1, false)
	if d := time.Since(start); d < s.maxHeld {
		t.Fatalf("the batch closed after %v, before maxHeld (%v) with a commit in flight", d, s.maxHeld)
	}
}
