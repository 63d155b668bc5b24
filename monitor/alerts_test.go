package monitor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/store"
)

func finished(flow, status string, at time.Time, id string) *store.Run {
	return &store.Run{ID: id, Flow: flow, Status: status, FinishedAt: &at}
}

// Failure spikes fire once, resolve, then stay quiet for the cooldown; a
// flow that goes silent raises its own alert and resolves when it runs.
func TestAlerterRulesWithAFakeClock(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var sent []Alert
	a := NewAlerter([]Rule{
		{Name: "spike", Flow: "orders", ErrorRate: 0.5, MinRuns: 4, Window: time.Minute, Severity: "critical"},
		{Name: "silent", Flow: "nightly*", MinRuns: 3, Window: 10 * time.Minute, Silent: 5 * time.Minute},
	}, func(_ context.Context, al Alert) error { mu.Lock(); sent = append(sent, al); mu.Unlock(); return nil }, nil)
	a.now = func() time.Time { return now }
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		a.ObserveRun(finished("orders", store.RunSucceeded, now, "ok"))
	}
	a.Evaluate(ctx)
	if len(sent) != 0 {
		t.Fatalf("healthy: %v", sent)
	}
	for i := 0; i < 5; i++ {
		a.ObserveRun(finished("orders", store.RunDead, now, "bad"))
	}
	a.Evaluate(ctx)
	a.Evaluate(ctx) // no repeat while open
	if len(sent) != 1 || sent[0].Status != "firing" || sent[0].Severity != "critical" {
		t.Fatalf("spike: %+v", sent)
	}
	now = now.Add(2 * time.Minute) // the failures age out of the window
	for i := 0; i < 6; i++ {
		a.ObserveRun(finished("orders", store.RunSucceeded, now, "ok"))
	}
	a.Evaluate(ctx)
	if len(sent) != 2 || sent[1].Status != "resolved" || sent[1].ID != sent[0].ID {
		t.Fatalf("resolve: %+v", sent)
	}
	for i := 0; i < 5; i++ {
		a.ObserveRun(finished("orders", store.RunFailed, now, "bad"))
	}
	a.Evaluate(ctx)
	if len(sent) != 2 {
		t.Fatalf("fired inside the cooldown: %+v", sent[2:])
	}
	// A nightly flow that ran steadily, then stopped.
	for i := 0; i < 4; i++ {
		a.ObserveRun(finished("nightly-report", store.RunSucceeded, now.Add(time.Duration(i)*time.Minute), "n"))
	}
	now = now.Add(4 * time.Minute)
	a.Evaluate(ctx)
	n := len(sent)
	now = now.Add(6 * time.Minute)
	a.Evaluate(ctx)
	if len(sent) != n+1 || sent[n].Rule != "silent" || sent[n].Flow != "nightly-report" {
		t.Fatalf("silent: %+v", sent[n:])
	}
	a.ObserveRun(finished("nightly-report", store.RunSucceeded, now, "n"))
	a.Evaluate(ctx)
	if len(sent) != n+2 || sent[n+1].Status != "resolved" {
		t.Fatalf("silent resolve: %+v", sent[n:])
	}
	if len(a.Alerts()) != 2 || !a.Ack(sent[0].ID, "oncall") || a.Ack("nope", "x") {
		t.Fatal("alerts / ack")
	}
}
