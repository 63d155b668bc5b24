package engine

import (
	"context"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// The transaction log of agent tool calls is written behind the calls, in
// batches: an agent's answer never waits for the log, one commit serves
// many calls, and memory stays bounded (a call waits only when
// toolLogQueue records are already waiting to be written).
//
// A batch stays open while records keep coming: it closes toolLogIdle
// after its latest record, and toolLogMaxLinger after its first at the
// latest. A lone call is written 5 ms after it ended, as before; under a
// steady stream of calls one commit carries toolLogMaxLinger's worth of
// them. A commit costs about as much for one record as for thirty
// (BENCHMARKS.md §54: SQLite, ~170 µs of CPU a record alone, ~46 at 8 a
// commit, ~28 at 32), which at bench/mcpfed's 700–1,600 calls a second
// made the log a quarter of the gateway process's CPU with a fixed 5 ms.
const (
	toolLogQueue     = 4096
	toolLogBatch     = 512
	toolLogIdle      = 5 * time.Millisecond  // close a batch when no record came for this long
	toolLogMaxLinger = 25 * time.Millisecond // and this long after its first record at the latest
)

type toolLog struct {
	ch   chan store.LoggedRun
	done chan struct{}
}

// toolLog starts the log writer on first use and returns it.
func (e *Engine) toolLog() *toolLog {
	e.toolLogStart.Do(func() {
		e.tlog = &toolLog{ch: make(chan store.LoggedRun, toolLogQueue), done: make(chan struct{})}
		go e.writeToolLog(e.tlog)
	})
	return e.tlog
}

// logToolRun queues a finished tool-call run for the log writer.
func (e *Engine) logToolRun(lr store.LoggedRun) {
	tl := e.toolLog()
	e.tlogMu.RLock()
	defer e.tlogMu.RUnlock()
	if e.tlogClosed {
		// After FlushToolLog: write it now rather than drop it.
		e.writeToolRuns([]store.LoggedRun{lr})
		return
	}
	tl.ch <- lr
}

func (e *Engine) writeToolLog(tl *toolLog) {
	defer close(tl.done)
	for first := range tl.ch {
		batch := []store.LoggedRun{first}
		opened := time.Now()
		last := opened // when the latest record of the batch arrived
		// One timer: when it fires, the batch closes unless a record came
		// meanwhile, and then it is set for the new idle deadline (capped
		// by the batch's latest closing time).
		timer := time.NewTimer(toolLogIdle)
	collect:
		for len(batch) < toolLogBatch {
			select {
			case lr, ok := <-tl.ch:
				if !ok {
					break collect
				}
				batch = append(batch, lr)
				last = time.Now()
			case now := <-timer.C:
				next := last.Add(toolLogIdle)
				if latest := opened.Add(toolLogMaxLinger); latest.Before(next) {
					next = latest
				}
				if !now.Before(next) {
					break collect
				}
				timer.Reset(next.Sub(now))
			}
		}
		timer.Stop()
		e.writeToolRuns(batch)
	}
}

// writeToolRuns writes a batch in one transaction; if that fails, each
// run on its own, so one bad record loses no other.
func (e *Engine) writeToolRuns(batch []store.LoggedRun) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := e.st.InsertRuns(ctx, batch)
	if err == nil {
		return
	}
	if len(batch) > 1 {
		failed := 0
		for _, lr := range batch {
			// A batch that timed out may have committed: a run already
			// recorded is not a loss.
			if werr := e.st.InsertRun(ctx, lr.Run, lr.Attempts); werr != nil && weft.Code(werr) != weft.EConflict {
				failed++
				err = werr
			}
		}
		if failed == 0 {
			return
		}
		e.log.Error("mcp: logging tool calls", "failed", failed, "of", len(batch), "err", err)
		return
	}
	if weft.Code(err) != weft.EConflict {
		e.log.Error("mcp: logging a tool call", "run", batch[0].Run.ID, "err", err)
	}
}

// FlushToolLog writes every queued tool-call record and returns when they
// are written (or ctx ends). Records logged later are written at once.
// Call it at shutdown, before the store closes.
func (e *Engine) FlushToolLog(ctx context.Context) error {
	tl := e.toolLog()
	e.tlogMu.Lock()
	if e.tlogClosed {
		e.tlogMu.Unlock()
		return nil
	}
	e.tlogClosed = true
	close(tl.ch)
	e.tlogMu.Unlock()
	select {
	case <-tl.done:
		return nil
	case <-ctx.Done():
		return weft.Wrap(weft.ETimeout, ctx.Err(), "tool-call log not flushed")
	}
}
