package engine_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

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
	return triggerRace(b, e, "mysql.select", exec, burst, paced,
		`INSERT INTO events (at, phase) VALUES (?, 'paced')`,
		`INSERT INTO events (at, phase) SELECT ?, 'burst' FROM seq_1_to_100`)
}
