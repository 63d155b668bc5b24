package engine_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

// BenchmarkBinlogVersusPoll (issue 24, BENCHMARKS.md): the same inserts
// into one table of a real MariaDB (binlog on, ROW format) start runs of a
// cdc flow (binlog) and of a poll flow (mysql.select after the id, every
// 1s) in one engine, pulled every 500 ms as weft serve does. Reported as
// BenchmarkCDCVersusPoll: rows/s of a burst into runs, and paced
// commit-to-run-created latency (p50, p99).
func BenchmarkBinlogVersusPoll(b *testing.B) {
	const burst, paced = 5000, 200
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		res := binlogVersusPoll(b, burst, paced)
		for _, k := range []string{"cdc", "poll"} {
			r := res[k]
			b.ReportMetric(r.rate, k+"_rows/s")
			b.ReportMetric(r.p50, k+"_p50_ms")
			b.ReportMetric(r.p99, k+"_p99_ms")
			fmt.Printf("%s (mariadb): burst of %d rows into runs at %.0f rows/s; paced commit-to-run latency p50 %.0f ms, p99 %.0f ms\n", k, burst, r.rate, r.p50, r.p99)
		}
	}
}

func binlogVersusPoll(b *testing.B, burst, paced int) map[string]benchResult {
	e, srv := binlogEngine(b)
	srv.Exec(b, "CREATE TABLE shop.events (id BIGINT AUTO_INCREMENT PRIMARY KEY, at BIGINT NOT NULL, phase VARCHAR(10) NOT NULL)")
	db, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/shop", srv.Port))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	exec := func(q string, args ...any) {
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			b.Fatal(err)
		}
	}
	deploy(b, e, `name: ev-cdc
trigger:
  cdc: {connection: src, table: events, on: [insert]}
steps:
  - set: {id: =trigger.new.id}
`)
	deploy(b, e, `name: ev-poll
trigger:
  poll:
    operation: mysql.select
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
		exec(`INSERT INTO events (at, phase) VALUES (?, 'paced')`, time.Now().UnixMicro())
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
			lat[name] = append(lat[name], float64(r.CreatedAt.UnixMicro()-toInt64(in.Body.At))/1000)
		}
	}
	// Burst: 50 transactions of 100 rows as fast as they commit.
	start := time.Now()
	for i := 0; i < burst/100; i++ {
		exec(`INSERT INTO events (at, phase) SELECT ?, 'burst' FROM seq_1_to_100`, time.Now().UnixMicro())
	}
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
	out := map[string]benchResult{}
	for k, name := range map[string]string{"cdc": "ev-cdc", "poll": "ev-poll"} {
		l := lat[name]
		sort.Float64s(l)
		out[k] = benchResult{rate: float64(burst) / done[name].Seconds(), p50: l[len(l)/2], p99: l[len(l)*99/100]}
	}
	return out
}
