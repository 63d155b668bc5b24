package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/store"
)

func TestDueTicksMissedPolicies(t *testing.T) {
	sched, err := flow.ParseCron("0 * * * *", "Europe/Paris") // hourly
	if err != nil {
		t.Fatal(err)
	}
	last := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	onTime := time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC) // 12:00 tick is on time; 9, 10, 11 were missed
	late := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)  // every tick is a missed one
	cases := []struct {
		policy string
		now    time.Time
		want   []int // hours
	}{
		{"skip", onTime, []int{12}},
		{"run_once", onTime, []int{11, 12}},
		{"run_all", onTime, []int{9, 10, 11, 12}},
		{"skip", late, nil},
		{"run_once", late, []int{12}},
		{"run_all", late, []int{9, 10, 11, 12}},
		{"skip", last.Add(30 * time.Minute), nil},
	}
	for _, c := range cases {
		got := engine.DueTicks(sched, last, c.now, c.policy)
		var hours []int
		for _, g := range got {
			hours = append(hours, g.UTC().Hour())
		}
		if len(hours) != len(c.want) {
			t.Fatalf("%s at %v: got %v want %v", c.policy, c.now, hours, c.want)
		}
		for i := range hours {
			if hours[i] != c.want[i] {
				t.Fatalf("%s at %v: got %v want %v", c.policy, c.now, hours, c.want)
			}
		}
	}
	// Time zones and seconds: "30 0 9 * * *" in New York is 13:00:30 or 14:00:30 UTC.
	ny, err := flow.ParseCron("30 0 9 * * *", "America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	next := ny.Next(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC))
	if next.UTC() != time.Date(2026, 7, 1, 13, 0, 30, 0, time.UTC) {
		t.Fatalf("next %v", next.UTC())
	}
}

func TestSchedulerFiresEachTickOnce(t *testing.T) {
	e := newEngine(t)
	deploy(t, e, "name: ticker\ntrigger: {schedule: {cron: '@every 1s'}}\nsteps:\n  - id: s\n    set: {at: =trigger.scheduled_at}\n")
	ctx, cancel := context.WithCancel(context.Background())
	// Two schedulers on one database (as two processes would be) must not double-fire.
	go e.RunTriggers(ctx, 100*time.Millisecond)
	go e.RunTriggers(ctx, 130*time.Millisecond)
	time.Sleep(3500 * time.Millisecond)
	cancel()
	runs, err := e.Store().ListRuns(context.Background(), store.RunFilter{Flow: "ticker"})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) < 2 || len(runs) > 4 {
		t.Fatalf("%d runs in 3.5s of a 1s schedule", len(runs))
	}
	seen := map[string]bool{}
	for _, r := range runs {
		if seen[r.IdemKey] {
			t.Fatalf("tick %s fired twice", r.IdemKey)
		}
		seen[r.IdemKey] = true
	}
}

func TestDueTicksAfterALongOutageIsBounded(t *testing.T) {
	sched, err := flow.ParseCron("@every 1s", "")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	got := engine.DueTicks(sched, now.Add(-24*time.Hour), now, "run_all")
	// 1,000 missed ticks (the cap) plus the on-time one.
	if len(got) != 1001 || !got[len(got)-1].Equal(now) || !got[0].Equal(now.Add(-1000*time.Second)) {
		t.Fatalf("%d ticks, %v .. %v", len(got), got[0], got[len(got)-1])
	}
}
