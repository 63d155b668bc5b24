package engine_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// BenchmarkAsyncThreeStep is bench/async in process, on SQLite: 16
// callers enqueue b.N runs of the 3-step flow (set -> POST to a sink ->
// set) with weft serve's queue settings (100 workers), and the benchmark
// waits until every run has succeeded. It reports runs/s (first enqueue
// to last success), the process's CPU per run (user + system, the
// in-process sink included), and the writer's transactions and statements
// and the readers' statements per run: no HTTP in front, no load
// generator beside.
func BenchmarkAsyncThreeStep(b *testing.B) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, b.TempDir(), quiet, 0)
	if err != nil {
		b.Fatal(err)
	}
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer sink.Close()
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	if err := cat.AddConnection(&connectors.Connection{Name: "local", Connector: "http", AllowPrivate: true}); err != nil {
		b.Fatal(err)
	}
	e := engine.New(st, cat, quiet, engine.Config{})
	if err := st.StartQueue(ctx, e.Workers(), store.QueueConfig{Workers: 100, JobTimeout: 2 * time.Minute, RescueAfter: 3 * time.Minute, DeadAfter: 5 * time.Second}); err != nil {
		b.Fatal(err)
	}
	defer func() {
		e.BeginShutdown()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.StopQueue(c)
		_ = st.Close()
	}()
	if _, _, err := e.Deploy(ctx, "async3.yaml", []byte(`
name: async3
trigger:
  webhook: {mode: async}
capture: metadata
steps:
  - id: prepare
    set: {n: =trigger.body.n, doubled: =trigger.body.n * 2.0}
  - id: deliver
    call: http.request
    connection: local
    with: {method: POST, url: "`+sink.URL+`/orders", body: =steps.prepare}
  - id: finish
    set: {ok: =steps.deliver.status == 200}
`)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu, start, n0 := processCPU(), time.Now(), sqlite.StatementCounts()
	var next atomic.Int64
	var wg sync.WaitGroup
	for c := 0; c < 16; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if _, err := e.Trigger(ctx, engine.Event{Flow: "async3", Kind: "webhook", Body: map[string]any{"n": float64(i)}, Async: true}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(time.Since(start).Seconds(), "enqueue-s")
	deadline := time.Now().Add(5 * time.Minute)
	for {
		counts, err := st.CountRuns(ctx, "async3")
		if err != nil {
			b.Fatal(err)
		}
		if counts[store.RunSucceeded] == int64(b.N) {
			break
		}
		if counts[store.RunDead]+counts[store.RunFailed] > 0 || time.Now().After(deadline) {
			b.Fatalf("runs: %v of %d", counts, b.N)
		}
		time.Sleep(20 * time.Millisecond)
	}
	el := time.Since(start)
	b.ReportMetric(float64(b.N)/el.Seconds(), "runs/s")
	b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-us/run")
	reportCounts(b, n0)
}

// reportCounts reports the SQLite transactions and statements per run
// since n0 (every connection of the process; the benchmark's own polling
// of the run counts is a few reads).
func reportCounts(b *testing.B, n0 sqlite.Counts) {
	n := sqlite.StatementCounts()
	per := func(a, b0 uint64) float64 { return float64(a-b0) / float64(b.N) }
	b.ReportMetric(per(n.WriterTx, n0.WriterTx), "wtx/run")
	b.ReportMetric(per(n.WriterStmts, n0.WriterStmts), "wstmt/run")
	b.ReportMetric(per(n.ReaderStmts, n0.ReaderStmts), "rstmt/run")
}
