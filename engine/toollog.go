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
const (
	toolLogQueue  = 4096
	toolLogBatch  = 512
	toolLogLinger = 5 * time.Millisecond // wait this long for more records when a batch is small
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
		deadline := time.NewTimer(toolLogLinger)
	collect:
		for len(batch) < toolLogBatch {
			select {
			case lr, ok := <-tl.ch:
				if !ok {
					break collect
				}
				batch = append(batch, lr)
			case <-deadline.C:
				break collect
			}
		}
		deadline.Stop()
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
