package monitor_test

import (
	"testing"
	"time"

	"github.com/weftio/weft/monitor"
	"github.com/weftio/weft/store"
)

// BenchmarkObserveAttempts: the metrics of one order-flow run's three
// attempts, as every sync run records them.
//
//	go test -run '^$' -bench ObserveAttempts ./monitor
func BenchmarkObserveAttempts(b *testing.B) {
	m := monitor.NewMetrics()
	now := time.Now()
	var as []store.Attempt
	for _, step := range []string{"transform", "post", "reply"} {
		as = append(as, store.Attempt{Flow: "order-flow", Version: 1, StepID: step, StepKey: step, Kind: "set", Attempt: 1, Status: store.AttemptOK,
			StartedAt: now, FinishedAt: now, DurationUS: 120, InputSize: 180, OutputSize: 90})
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveAttempts(as)
		}
	})
}
