package monitor

import (
	"testing"
	"time"

	"github.com/weftio/weft/store"
)

func TestSeriesBuckets(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	run := func(flow string, at time.Time, status string, ms int, code string) *store.Run {
		f := at.Add(time.Duration(ms) * time.Millisecond)
		return &store.Run{Flow: flow, CreatedAt: at, FinishedAt: &f, Status: status, ErrorCode: code}
	}
	var runs []*store.Run
	for i := 0; i < 10; i++ {
		runs = append(runs, run("orders", t0.Add(time.Duration(i)*time.Second), store.RunSucceeded, 10*(i+1), ""))
	}
	runs = append(runs, run("orders", t0.Add(90*time.Second), store.RunDead, 500, "retryable"),
		run("orders", t0.Add(95*time.Second), store.RunSucceeded, 20, ""),
		&store.Run{Flow: "orders", CreatedAt: t0.Add(100 * time.Second), Status: store.RunRunning},
		run("other", t0.Add(-time.Hour), store.RunSucceeded, 1, "")) // outside the range
	s := Series(runs, t0, t0.Add(3*time.Minute), time.Minute)
	if len(s) != 1 || s[0].Flow != "orders" || len(s[0].Buckets) != 3 {
		t.Fatalf("%+v", s)
	}
	b0, b1, b2 := s[0].Buckets[0], s[0].Buckets[1], s[0].Buckets[2]
	if b0.Runs != 10 || b0.Failed != 0 || *b0.P50MS != 50 || *b0.P95MS != 100 || *b0.P99MS != 100 {
		t.Fatalf("b0 %+v", b0)
	}
	if b1.Runs != 3 || b1.Finished != 2 || b1.Failed != 1 || b1.Dead != 1 || b1.ErrorRate != 0.5 || b1.ErrorCode["retryable"] != 1 {
		t.Fatalf("b1 %+v", b1)
	}
	if b2.Runs != 0 || b2.P50MS != nil || !b2.Start.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("b2 %+v", b2)
	}
}
