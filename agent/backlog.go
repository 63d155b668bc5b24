package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// The agent's backlog is the runs that finished and are not shipped
// upstream yet (finished at or after the shipping watermark). It is
// bounded (Link.BacklogMax runs, default DefaultBacklogMax):
//
//   - at BacklogWarnRatio of the bound the agent raises the alert
//     agent-backlog (warning) and says so upstream (health.backlog);
//   - at the bound it refuses new runs (engine admission): a webhook's
//     sender gets 503 with Retry-After and a clear message, pulled triggers
//     (polls, schedules) keep their cursor and fire when the backlog drains,
//     an MCP reach-in call is refused; the alert turns critical. Runs
//     already accepted (queued, in flight) finish, so the backlog may pass
//     the bound by what was in flight.
//   - retention never purges a run that is not shipped (engine purge
//     floor at the watermark), so nothing accepted is lost while the link
//     is down, however long.
//
// When shipping catches up below the bound, new runs are admitted again;
// below the warning level the alert resolves.

// Backlog defaults.
const (
	DefaultBacklogMax = 100000
	BacklogWarnRatio  = 0.8
	// backlogRowBytes estimates one run's shipped metadata (its JSON),
	// for the backlog's size in bytes until a batch has been measured.
	backlogRowBytes = 400
)

// BacklogLevel is the backlog against its bound.
type BacklogLevel string

// Backlog levels.
const (
	BacklogOK   BacklogLevel = "ok"
	BacklogWarn BacklogLevel = "warning"  // at or past BacklogWarnRatio of the bound
	BacklogFull BacklogLevel = "critical" // at the bound: new runs are refused
)

type finishedCounter interface {
	CountFinishedSince(ctx context.Context, since time.Time) (int64, error)
}

func counterOf(st store.Store) finishedCounter {
	var s any = st
	for {
		if c, ok := s.(finishedCounter); ok {
			return c
		}
		u, ok := s.(interface{ Unwrap() store.Store })
		if !ok {
			return nil
		}
		s = u.Unwrap()
	}
}

// CheckBacklog counts the runs not shipped yet, sets the admission of new
// runs by the bound, and calls OnBacklog when the level changes.
func (l *Link) CheckBacklog(ctx context.Context) (int64, BacklogLevel, error) {
	if l.running == nil {
		if err := l.init(); err != nil {
			return 0, BacklogOK, err
		}
	}
	c := counterOf(l.Engine.Store())
	if c == nil {
		return 0, BacklogOK, weft.Errorf(weft.EUnavailable, "this store cannot count the agent's backlog")
	}
	st, err := l.loadShipState()
	if err != nil {
		return 0, BacklogOK, err
	}
	n, err := c.CountFinishedSince(ctx, st.FinishedBefore)
	if err != nil {
		return 0, BacklogOK, err
	}
	level := BacklogOK
	switch {
	case n >= int64(l.BacklogMax):
		level = BacklogFull
	case float64(n) >= BacklogWarnRatio*float64(l.BacklogMax):
		level = BacklogWarn
	}
	l.mu.Lock()
	prev := l.state.BacklogLevel
	l.state.Backlog, l.state.BacklogMax, l.state.BacklogLevel = n, l.BacklogMax, level
	l.state.BacklogBytes = n * l.rowBytes()
	l.watermark = st.FinishedBefore
	l.mu.Unlock()
	l.full.Store(level == BacklogFull)
	if level != prev && prev != "" || (prev == "" && level != BacklogOK) {
		msg := fmt.Sprintf("site %s: %d finished runs not shipped to the control plane (bound %d)", l.Site, n, l.BacklogMax)
		switch level {
		case BacklogFull:
			msg += ": new runs are refused until shipping catches up"
			l.Log.Error("agent: run-log backlog at its bound; new runs refused (nothing accepted is lost)", "backlog", n, "bound", l.BacklogMax)
		case BacklogWarn:
			l.Log.Warn("agent: run-log backlog nears its bound", "backlog", n, "bound", l.BacklogMax)
		default:
			l.Log.Info("agent: run-log backlog back under its bound", "backlog", n, "bound", l.BacklogMax)
		}
		if l.OnBacklog != nil {
			l.OnBacklog(ctx, level, msg)
		}
	}
	return n, level, nil
}

func (l *Link) rowBytes() int64 {
	if l.avgRow > 0 {
		return l.avgRow
	}
	return backlogRowBytes
}

// admit is the engine's admission check on an agent: refused at the
// backlog's bound.
func (l *Link) admit() error {
	if l.full.Load() {
		l.mu.Lock()
		n, max := l.state.Backlog, l.BacklogMax
		l.mu.Unlock()
		return weft.Errorf(weft.EUnavailable, "site %s holds %d finished runs not yet shipped to its control plane (its bound is %d): new runs are refused until the link catches up; retry later", l.Site, n, max)
	}
	return nil
}

// purgeFloor keeps retention off runs not shipped yet.
func (l *Link) purgeFloor() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.watermark
}
