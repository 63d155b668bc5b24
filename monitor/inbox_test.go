package monitor

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/store"
)

// A finished run's ObserveRun (on every sync request's path) does not
// wait for the alerter's lock: an evaluation, or a holder of it that the
// OS took off its CPU, no longer queues every request behind it
// (BENCHMARKS.md §68). The runs reach the windows and the predictor at the
// next evaluation or flush, in order; the inbox stays bounded when nothing
// evaluates, the caller that fills it folding it in.
func TestObserveRunDoesNotWaitForTheAlerterLock(t *testing.T) {
	a := NewAlerter(nil, nil, nil)
	pr := NewPredictor(DefaultPredictParams())
	a.Predict(pr)
	at := time.Now().Add(-time.Minute)
	run := func(i int, status string) *store.Run {
		fin := at.Add(time.Duration(i) * time.Millisecond)
		return &store.Run{ID: fmt.Sprintf("run-%d", i), Flow: "orders", Status: status, StartedAt: at, FinishedAt: &fin}
	}
	a.mu.Lock() // an evaluation in progress
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10 {
			a.ObserveRun(run(i, store.RunSucceeded))
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		a.mu.Unlock()
		t.Fatal("ObserveRun waited for the alerter's lock")
	}
	a.mu.Unlock()
	a.Evaluate(context.Background())
	a.mu.Lock()
	evs := a.events["orders"]
	a.mu.Unlock()
	if len(evs) != 10 {
		t.Fatalf("%d runs in the window after an evaluation, want 10", len(evs))
	}
	for i := range evs {
		if evs[i].id() != fmt.Sprintf("run-%d", i) {
			t.Fatalf("window out of order at %d: %s", i, evs[i].id())
		}
	}
	pr.mu.Lock()
	_, fed := pr.flows["orders"]
	pr.mu.Unlock()
	if !fed {
		t.Fatal("the predictor did not see the runs")
	}

	// Concurrent callers, nothing evaluating: the inbox never holds more
	// than inboxMax, and every run reaches the window.
	b := NewAlerter(nil, nil, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				b.ObserveRun(run(g*500+i, store.RunFailed))
				b.inMu.Lock()
				n := len(b.inbox)
				b.inMu.Unlock()
				if n > inboxMax {
					t.Errorf("inbox holds %d runs, more than %d", n, inboxMax)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.mu.Lock()
	folded := len(b.events["orders"])
	b.mu.Unlock()
	if folded < 4000-inboxMax {
		t.Fatalf("%d of 4000 runs folded in without an evaluation", folded)
	}
	b.Flush()
	if n := len(b.events["orders"]); n != 4000 {
		t.Fatalf("%d of 4000 runs in the window after a flush", n)
	}

	// Shared mode reads runs from the store: observed ones are ignored.
	c := NewAlerter(nil, nil, nil)
	c.Shared(nil, "p1")
	c.ObserveRun(run(1, store.RunFailed))
	c.inMu.Lock()
	n := len(c.inbox)
	c.inMu.Unlock()
	if n != 0 {
		t.Fatalf("shared mode kept %d observed runs", n)
	}
}

// Folding the inbox in reuses its two buffers: once a busy flow's window
// is full, its runs and their flushes allocate less than once a flush
// (the window's own regrowth, every few thousand runs); a new buffer
// a flush failed this.
func TestInboxFlushAllocatesNothing(t *testing.T) {
	a := NewAlerter(nil, nil, nil)
	fin := time.Now()
	r := &store.Run{ID: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Flow: "orders", Status: store.RunSucceeded, StartedAt: fin, FinishedAt: &fin}
	for range 10000 + 2*inboxMax { // fill the window and both buffers
		a.ObserveRun(r)
	}
	a.Flush()
	n := testing.AllocsPerRun(20, func() {
		for range inboxMax {
			a.ObserveRun(r)
		}
		a.Flush()
	})
	if n > 0 {
		t.Errorf("%v allocations for %d runs and a flush", n, inboxMax)
	}
}
