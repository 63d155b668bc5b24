package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/store"
)

// BenchmarkCDCVersusPoll (issue 24, BENCHMARKS.md §14): the same inserts
// into one table of a real PostgreSQL start runs of a cdc flow and of a
// poll flow (postgres.select after the id, every 1s) in one engine, pulled
// every 500 ms as weft serve does. Reported: the time from the first commit
// of a burst until every row has its run (rows/s into runs), and, for
// paced single-row inserts, commit-to-run-created latency (p50, p99).
func BenchmarkCDCVersusPoll(b *testing.B) {
	const burst, paced = 5000, 200
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		res := cdcVersusPoll(b, burst, paced)
		for _, k := range []string{"cdc", "poll"} {
			r := res[k]
			b.ReportMetric(r.rate, k+"_rows/s")
			b.ReportMetric(r.p50, k+"_p50_ms")
			b.ReportMetric(r.p99, k+"_p99_ms")
			fmt.Printf("%s: burst of %d rows into runs at %.0f rows/s; paced commit-to-run latency p50 %.0f ms, p99 %.0f ms\n", k, burst, r.rate, r.p50, r.p99)
		}
	}
}

type benchResult struct{ rate, p50, p99 float64 }

func cdcVersusPoll(b *testing.B, burst, paced int) map[string]benchResult {
	_, url := logicalPG(b, "wal_level=logical")
	ctx := context.Background()
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close(ctx)
	exec := func(q string, args ...any) {
		if _, err := db.Exec(ctx, q, args...); err != nil {
			b.Fatal(err)
		}
	}
	exec(`CREATE TABLE events (id bigserial PRIMARY KEY, at bigint NOT NULL, phase text NOT NULL)`)
	e := cdcEngine(b, url)
	return triggerRace(b, e, "postgres.select", exec, burst, paced,
		`INSERT INTO events (at, phase) VALUES ($1, 'paced')`,
		`INSERT INTO events (at, phase) SELECT $1, 'burst' FROM generate_series(1, 100)`)
}

// triggerRace deploys a cdc flow and a poll flow (selectOp every second)
// over the table events (id, at, phase) and races them: paced single-row
// inserts (pacedSQL, its argument the commit time in µs) for latency, then
// a burst of 100-row inserts (burstSQL) for throughput.
func triggerRace(b *testing.B, e *engine.Engine, selectOp string, exec func(q string, args ...any), burst, paced int, pacedSQL, burstSQL string) map[string]benchResult {
	ctx := context.Background()
	deploy(b, e, `name: ev-cdc
trigger:
  cdc: {connection: src, table: events, on: [insert]}
steps:
  - set: {id: =trigger.new.id}
`)
	deploy(b, e, `name: ev-poll
trigger:
  poll:
    operation: `+selectOp+`
    connection: src
    input: {table: events, after_column: id, after: =trigger.cursor, limit: 1000}
    cursor: id
    every: 1s
    start: all
steps:
  - set: {id: =trigger.body.id}
`)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go e.RunTriggers(rctx, 500*time.Millisecond)
	waitCursor(b, e.Store(), "ev-cdc")

	// Paced: single-row inserts, 20 a second.
	for i := 0; i < paced; i++ {
		exec(pacedSQL, time.Now().UnixMicro())
		time.Sleep(50 * time.Millisecond)
	}
	lat := map[string][]float64{}
	for _, name := range []string{"ev-cdc", "ev-poll"} {
		for _, r := range waitRunsB(b, e.Store(), name, paced, time.Minute) {
			var in struct {
				Body struct {
					At any `json:"at"`
				} `json:"body"`
			}
			_ = json.Unmarshal(r.Input, &in)
			at := toInt64(in.Body.At)
			lat[name] = append(lat[name], float64(r.CreatedAt.UnixMicro()-at)/1000)
		}
	}
	// Burst: 50 transactions of 100 rows as fast as they commit.
	start := time.Now()
	for i := 0; i < burst/100; i++ {
		exec(burstSQL, time.Now().UnixMicro())
	}
	out := map[string]benchResult{}
	done := map[string]time.Duration{}
	for deadline := time.Now().Add(3 * time.Minute); len(done) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, name := range []string{"ev-cdc", "ev-poll"} {
			if _, ok := done[name]; ok {
				continue
			}
			if n := countRuns(b, e.Store(), name); n >= burst+paced {
				done[name] = time.Since(start)
			}
		}
	}
	if len(done) < 2 {
		b.Fatalf("burst not done: %v", done)
	}
	for k, name := range map[string]string{"cdc": "ev-cdc", "poll": "ev-poll"} {
		l := lat[name]
		sort.Float64s(l)
		out[k] = benchResult{rate: float64(burst) / done[name].Seconds(), p50: l[len(l)/2], p99: l[len(l)*99/100]}
	}
	return out
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case string:
		var n int64
		fmt.Sscan(x, &n)
		return n
	}
	return 0
}

func countRuns(b testing.TB, st store.Store, name string) int {
	by, err := st.CountRuns(context.Background(), name)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, c := range by {
		n += int(c)
	}
	return n
}

func waitRunsB(b testing.TB, st store.Store, name string, n int, within time.Duration) []*store.Run {
	deadline := time.Now().Add(within)
	for {
		runs, err := st.ListRuns(context.Background(), store.RunFilter{Flow: name, Limit: 100000})
		if err != nil {
			b.Fatal(err)
		}
		if len(runs) >= n {
			return runs
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: %d runs, want %d", name, len(runs), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
