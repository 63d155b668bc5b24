package sqlite_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/weftio/weft/store"
)

// cpuNow is the process's user and system CPU time so far.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkToolRunsPerCommit: the CPU a tool-call record of the MCP
// transaction log costs (a run and its one attempt, as engine's
// recordToolCall makes them) by how many records one InsertRuns commit
// carries: what the tool-call log's batching buys (BENCHMARKS.md §54).
//
//	go test -run '^$' -bench ToolRunsPerCommit -benchtime 3000x ./store/sqlite
func BenchmarkToolRunsPerCommit(b *testing.B) {
	for _, batch := range []int{1, 2, 4, 8, 16, 32, 64, 128} {
		b.Run(fmt.Sprintf("records-per-commit=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			s := openStore(b, b.TempDir())
			n := 0
			c0 := cpuNow()
			runs := 0
			for i := 0; i < b.N; i++ {
				var lrs []store.LoggedRun
				for range batch {
					n++
					id := fmt.Sprintf("0193a1b2-0000-7000-8000-%012d", n)
					now := time.Now().UTC()
					r := &store.Run{ID: id, Flow: "mcp:default", TriggerKind: "mcp", Input: []byte(`{"caller":"anonymous","kind":"mcp","tool":"evh__echo"}`), Sync: true, CreatedAt: now, StartedAt: now, FinishedAt: &now, Status: store.RunSucceeded}
					as := []store.Attempt{{RunID: id, Flow: r.Flow, StepID: "evh__echo", StepKey: "evh.echo", Kind: "call", Attempt: 1,
						TriggerKind: "mcp", Status: store.AttemptOK, Worker: "key:anonymous", StartedAt: now, FinishedAt: now, DurationUS: 120, InputSize: 19, OutputSize: 40}}
					lrs = append(lrs, store.LoggedRun{Run: r, Attempts: as})
				}
				if err := s.InsertRuns(ctx, lrs); err != nil {
					b.Fatal(err)
				}
				runs += batch
			}
			b.ReportMetric(float64((cpuNow()-c0).Microseconds())/float64(runs), "cpu-µs/run")
		})
	}
}
