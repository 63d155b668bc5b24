package engine

import (
	"context"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/weftio/weft/flow"
)

// maxCatchUp bounds run_all catch-up after a long outage.
const maxCatchUp = 1000

// RunScheduler fires schedule triggers until ctx ends. Each tick becomes an
// async run whose idempotency key is the tick time, so several processes
// sharing one database fire every tick exactly once.
func (e *Engine) RunScheduler(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		e.scheduleOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (e *Engine) scheduleOnce(ctx context.Context) {
	flows, err := e.st.ListFlows(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("scheduler: list flows", "err", err)
		}
		return
	}
	now := e.now()
	for _, fi := range flows {
		f, _, err := e.Flow(ctx, fi.Name, 0)
		if err != nil || f.Trigger.Kind != flow.TriggerSchedule {
			continue
		}
		sched, err := flow.ParseCron(f.Trigger.Schedule.Cron, f.Trigger.Schedule.Timezone)
		if err != nil {
			continue
		}
		last, err := e.st.LastTick(ctx, f.Name)
		if err != nil {
			continue
		}
		if last.IsZero() {
			// First sight of this schedule: start from now, no backfill.
			_ = e.st.SetLastTick(ctx, f.Name, now)
			continue
		}
		due := DueTicks(sched, last, now, f.Trigger.Schedule.Missed)
		fired := true
		for _, tick := range due {
			ev := Event{Flow: f.Name, Kind: flow.TriggerSchedule, Body: map[string]any{"scheduled_at": tick.UTC().Format(time.RFC3339)},
				ScheduledAt: tick, IdemKey: "tick:" + tick.UTC().Format(time.RFC3339Nano), Async: true}
			if _, err := e.Trigger(ctx, ev); err != nil {
				e.log.Error("scheduler: fire", "flow", f.Name, "tick", tick, "err", err)
				fired = false
				break
			}
		}
		if fired && !sched.Next(last).After(now) {
			_ = e.st.SetLastTick(ctx, f.Name, lastDue(sched, last, now))
		}
	}
}

// DueTicks returns the ticks to fire for (last, now] under the missed-ticks
// policy: the on-time tick always fires; older missed ones per policy
// (skip: none; run_once: the latest missed one; run_all: all, bounded).
func DueTicks(s cron.Schedule, last, now time.Time, policy string) []time.Time {
	var ticks []time.Time
	for t := s.Next(last); !t.After(now); t = s.Next(t) {
		ticks = append(ticks, t)
		if len(ticks) > maxCatchUp*10 {
			break
		}
	}
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

func lastDue(s cron.Schedule, last, now time.Time) time.Time {
	out := last
	for t := s.Next(last); !t.After(now); t = s.Next(t) {
		out = t
	}
	return out
}

// RunRetention purges finished runs older than keep, every interval.
func (e *Engine) RunRetention(ctx context.Context, keep, interval time.Duration) {
	if keep <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := e.st.Purge(ctx, e.now().Add(-keep))
		if err != nil && ctx.Err() == nil {
			e.log.Error("retention purge", "err", err)
		} else if n > 0 {
			e.log.Info("retention purge", "runs", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
