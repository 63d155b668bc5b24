package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weftio/weft/store"
)

// BenchmarkSyncRunWALFrames counts the WAL frames (4 KiB pages) written
// per finished sync run: the order flow's run (three attempts, no
// payloads) recorded by InsertRuns, 1 run per commit and 6 (the group
// commit's batch under 16 callers, BENCHMARKS.md).
//
//	go test -run '^$' -bench SyncRunWALFrames -benchtime 20x ./store/sqlite
func BenchmarkSyncRunWALFrames(b *testing.B) {
	for _, batch := range []int{1, 6} {
		b.Run(fmt.Sprintf("runs-per-commit=%d", batch), func(b *testing.B) { walFrames(b, batch) })
	}
}

func walFrames(b *testing.B, batch int) {
	ctx := context.Background()
	dir := b.TempDir()
	s := openStore(b, dir)
	db := rawDB(b, dir, "")
	const perRound = 50 // commits between two counts; the store checkpoints every 128th
	var frames, runs, n int
	for i := 0; i < b.N; i++ {
		var busy, log, done int
		if err := db.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err != nil {
			b.Fatal(err)
		}
		c0, _ := s.CommitStats()
		for j := 0; j < perRound; j++ {
			var lrs []store.LoggedRun
			for range batch {
				n++
				id := fmt.Sprintf("0193a1b2-0000-7000-8000-%012d", n)
				now := time.Now().UTC()
				r := &store.Run{ID: id, Flow: "order-flow", Version: 1, Status: store.RunSucceeded, TriggerKind: "webhook", Sync: true, CreatedAt: now, StartedAt: now, FinishedAt: &now}
				var as []store.Attempt
				for k, step := range []string{"transform", "post", "reply"} {
					as = append(as, store.Attempt{RunID: id, Flow: r.Flow, Version: 1, StepID: step, StepKey: step, Kind: []string{"set", "call", "respond"}[k], Attempt: 1,
						TriggerKind: "webhook", Status: store.AttemptOK, StartedAt: now, FinishedAt: now, DurationUS: 120, InputSize: 180, OutputSize: 90})
				}
				lrs = append(lrs, store.LoggedRun{Run: r, Attempts: as})
			}
			if err := s.InsertRuns(ctx, lrs); err != nil {
				b.Fatal(err)
			}
		}
		c1, _ := s.CommitStats()
		if err := db.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err != nil {
			b.Fatal(err)
		}
		if c0/128 != c1/128 || c0%128 < 60 { // the store checkpointed meanwhile (or its backfill may be running): the count restarted
			continue
		}
		frames += log
		runs += perRound * batch
	}
	if runs > 0 {
		b.ReportMetric(float64(frames)/float64(runs), "frames/run")
	}
}
