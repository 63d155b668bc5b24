package engine

import (
	"context"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/flow"
)

// maxCatchUp bounds run_all catch-up after a long outage.
const maxCatchUp = 1000

// Source pulls trigger events for the flows whose trigger kind it serves.
// Schedules are one source; connector polling triggers ("new or updated
// records") are another, keeping their high-water mark in the cursor.
// Each event's IdemKey must identify the underlying event, so that several
// processes, or a restart, never start it twice.
type Source interface {
	Kind() string
	// Pull returns the events due for f after cursor, and the new cursor.
	Pull(ctx context.Context, f *flow.Flow, cursor string, now time.Time) (events []Event, next string, err error)
}

// AddSource registers a pulled trigger source.
func (e *Engine) AddSource(s Source) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sources[s.Kind()] = s
}

// RunTriggers pulls every registered source for every active flow until ctx
// ends, firing each event as an async run.
func (e *Engine) RunTriggers(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	defer e.closeCDC()
	defer e.sweepQueues(nil)
	for {
		// A pull that started runs goes again at once: a backlog (a queue,
		// a cdc stream) drains at the speed runs are created, not one
		// batch per tick.
		if e.pullOnce(ctx) > 0 && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.wake:
		}
	}
}

// poke makes RunTriggers pull at once (a queue message arrived).
func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// pullOnce pulls every flow's trigger once and returns how many events
// it fired.
func (e *Engine) pullOnce(ctx context.Context) (n int) {
	// Pick up connections other processes created, changed or deleted.
	if err := e.FreshConnections(ctx, 5*time.Second); err != nil && ctx.Err() == nil {
		e.log.Warn("reloading connections", "err", err)
	}
	flows, err := e.st.ListFlows(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("triggers: list flows", "err", err)
		}
		return
	}
	cdcFlows, queueFlows := map[string]bool{}, map[string]bool{}
	defer func() { e.sweepCDC(cdcFlows); e.sweepQueues(queueFlows) }()
	for _, fi := range flows {
		f, _, err := e.Flow(ctx, fi.Name, 0)
		if err != nil {
			cdcFlows[fi.Name] = true // unknown now: keep a stream it may have
			queueFlows[fi.Name] = true
			continue
		}
		if !e.RunsHere(f) {
			continue // placed on another site: its agent pulls it
		}
		if e.Admit() != nil && f.Trigger.CDC == nil {
			continue // new runs refused for now: the source keeps its records and the cursor stays
		}
		if f.Trigger.CDC != nil {
			cdcFlows[f.Name] = true
		}
		if f.Trigger.Queue() != nil {
			queueFlows[f.Name] = true
		}
		e.mu.Lock()
		src := e.sources[f.Trigger.Kind]
		e.mu.Unlock()
		if src == nil {
			continue
		}
		cursor, err := e.st.TriggerCursor(ctx, f.Name)
		if err != nil {
			continue
		}
		events, next, err := src.Pull(ctx, f, cursor, e.now())
		if err != nil {
			e.log.Error("triggers: pull", "flow", f.Name, "kind", f.Trigger.Kind, "err", err)
			continue
		}
		fired := true
		for _, ev := range events {
			if !fired {
				if ev.done != nil {
					ev.done(false) // back to its queue, for later
				}
				continue
			}
			ev.Flow, ev.Async = f.Name, true
			if _, err := e.Trigger(ctx, ev); err != nil {
				e.log.Error("triggers: fire", "flow", f.Name, "key", ev.IdemKey, "err", err)
				fired = false
			} else {
				n++
			}
			if ev.done != nil {
				// The run is committed (or was already): only now is its
				// message acknowledged.
				ev.done(fired)
			}
		}
		if fired && next != cursor {
			if err := e.st.SetTriggerCursor(ctx, f.Name, next); err != nil {
				e.log.Error("triggers: save cursor", "flow", f.Name, "err", err)
			}
		}
	}
	return n
}

// ScheduleSource fires cron schedules; its cursor is the last tick fired.
type ScheduleSource struct{}

// Kind implements Source.
func (ScheduleSource) Kind() string { return flow.TriggerSchedule }

// Pull implements Source.
func (ScheduleSource) Pull(_ context.Context, f *flow.Flow, cursor string, now time.Time) ([]Event, string, error) {
	st := f.Trigger.Schedule
	sched, err := flow.ParseCron(st.Cron, st.Timezone)
	if err != nil {
		return nil, cursor, err
	}
	if cursor == "" {
		// First sight of this schedule: start from now, no backfill.
		return nil, now.UTC().Format(time.RFC3339Nano), nil
	}
	last, err := time.Parse(time.RFC3339Nano, cursor)
	if err != nil {
		return nil, cursor, err
	}
	ticks := ticksSince(sched, last, now)
	if len(ticks) == 0 {
		return nil, cursor, nil
	}
	var events []Event
	for _, tick := range dueTicks(ticks, now, st.Missed) {
		at := tick.UTC().Format(time.RFC3339Nano)
		events = append(events, Event{Kind: flow.TriggerSchedule, Body: map[string]any{"scheduled_at": at},
			ScheduledAt: tick, IdemKey: "tick:" + at})
	}
	return events, ticks[len(ticks)-1].UTC().Format(time.RFC3339Nano), nil
}

// ticksSince returns the ticks in (last, now], oldest first, keeping only
// the newest maxCatchUp+1: no policy fires more, and a long outage of a
// frequent schedule must not hold millions of them.
func ticksSince(s cron.Schedule, last, now time.Time) []time.Time {
	var ticks []time.Time
	for t := s.Next(last); !t.After(now); t = s.Next(t) {
		ticks = append(ticks, t)
		if len(ticks) > 2*(maxCatchUp+1) {
			ticks = append(ticks[:0], ticks[len(ticks)-(maxCatchUp+1):]...)
		}
	}
	if len(ticks) > maxCatchUp+1 {
		ticks = ticks[len(ticks)-(maxCatchUp+1):]
	}
	return ticks
}

// DueTicks returns the ticks to fire for (last, now] under the missed-ticks
// policy: the on-time tick always fires; older missed ones per policy
// (skip: none; run_once: the latest missed one; run_all: all, bounded).
func DueTicks(s cron.Schedule, last, now time.Time, policy string) []time.Time {
	return dueTicks(ticksSince(s, last, now), now, policy)
}

func dueTicks(ticks []time.Time, now time.Time, policy string) []time.Time {
	if len(ticks) == 0 {
		return nil
	}
	// A tick within two seconds of now is on time; the rest were missed.
	onTime := now.Sub(ticks[len(ticks)-1]) <= 2*time.Second
	missed := ticks
	var current []time.Time
	if onTime {
		missed, current = ticks[:len(ticks)-1], ticks[len(ticks)-1:]
	}
	switch policy {
	case "run_all":
		if len(missed) > maxCatchUp {
			missed = missed[len(missed)-maxCatchUp:]
		}
	case "run_once":
		if len(missed) > 1 {
			missed = missed[len(missed)-1:]
		}
	default:
		missed = nil
	}
	return append(missed, current...)
}

// PurgeRuns purges the finished runs older than keep once, never past the
// purge floor (SetPurgeFloor).
func (e *Engine) PurgeRuns(ctx context.Context, keep time.Duration) (int64, error) {
	cutoff := e.now().Add(-keep)
	if fn := e.floor.Load(); fn != nil {
		if fl := (*fn)(); fl.Before(cutoff) {
			cutoff = fl // runs not yet shipped upstream stay
		}
	}
	return e.st.Purge(ctx, cutoff)
}

// RunRetention purges finished runs older than keep, and audit entries
// older than Config.AuditRetention, every interval.
func (e *Engine) RunRetention(ctx context.Context, keep, interval time.Duration) {
	if keep <= 0 && e.cfg.AuditRetention <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if keep > 0 {
			n, err := e.PurgeRuns(ctx, keep)
			if err != nil && ctx.Err() == nil {
				e.log.Error("retention purge", "err", err)
			} else if n > 0 {
				e.log.Info("retention purge", "runs", n)
			}
		}
		if e.cfg.AuditRetention > 0 {
			n, err := access.NewLog(e.st).Purge(ctx, e.now().Add(-e.cfg.AuditRetention))
			if err != nil && ctx.Err() == nil {
				e.log.Error("audit retention purge", "err", err)
			} else if n > 0 {
				e.log.Info("audit retention purge", "entries", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
