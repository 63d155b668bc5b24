package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/weftio/weft/store"
)

// BenchQueue is the queue's ceiling, the baseline for Weft's async runs:
// b.N runs are recorded and enqueued by 16 concurrent callers (each its own
// write, as webhooks do) and worked by a no-op worker that only marks them
// succeeded. It reports runs/s from the first enqueue to the last finish.
func BenchQueue(b *testing.B, s store.Store, workers int) {
	ctx := context.Background()
	var done atomic.Int64
	all := make(chan struct{})
	w := river.NewWorkers()
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[store.RunArgs]) error {
		fin := time.Now()
		if err := s.UpdateRun(ctx, &store.Run{ID: j.Args.RunID, Status: store.RunSucceeded, FinishedAt: &fin}, nil); err != nil {
			return err
		}
		if done.Add(1) == int64(b.N) {
			close(all)
		}
		return nil
	}))
	if err := s.StartQueue(ctx, w, store.QueueConfig{Workers: workers}); err != nil {
		b.Fatal(err)
	}
	defer s.StopQueue(ctx)
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for c := 0; c < 16; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if _, _, err := s.CreateRun(ctx, &store.Run{Flow: "bench", Version: 1, Status: store.RunQueued, TriggerKind: "webhook"}, true); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d runs worked", done.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
}
