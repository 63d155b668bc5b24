// Command riverceiling measures River's own ceiling on a PostgreSQL
// database: N no-op jobs inserted one per transaction by C concurrent
// inserters into a River client with W workers on the pgx driver
// (LISTEN/NOTIFY), timed from the first insert to the last completion.
// It is the denominator of Weft's async runs per second (BENCHMARKS.md).
//
//	go run ./bench/riverceiling -url postgres://... -n 10000 -c 32 -workers 100
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

type noopArgs struct {
	N int `json:"n"`
}

func (noopArgs) Kind() string { return "noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	done *atomic.Int64
}

func (w *noopWorker) Work(context.Context, *river.Job[noopArgs]) error {
	w.done.Add(1)
	return nil
}

func main() {
	url := flag.String("url", "", "postgres:// URL of an empty database")
	n := flag.Int("n", 10000, "jobs")
	conc := flag.Int("c", 32, "concurrent inserters")
	nw := flag.Int("workers", 100, "River workers")
	flag.Parse()
	if *url == "" || *n < 1 || *n > 10_000_000 || *conc < 1 || *conc > 1024 || *nw < 1 || *nw > 10000 {
		log.Fatal("usage: riverceiling -url postgres://... [-n 1..10000000] [-c 1..1024] [-workers 1..10000]")
	}
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(*url)
	if err != nil {
		log.Fatal(err)
	}
	cfg.MaxConns = int32(*conc + 10)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	driver := riverpgxv5.New(pool)
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		log.Fatal(err)
	}
	var done atomic.Int64
	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{done: &done})
	rc, err := river.NewClient(driver, &river.Config{
		Queues:        map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: *nw}},
		Workers:       workers,
		FetchCooldown: 20 * time.Millisecond, // as Weft sets it
		MaxAttempts:   25,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := rc.Start(ctx); err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(*n) {
					return
				}
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					_, err := rc.InsertTx(ctx, tx, noopArgs{N: int(i)}, nil)
					return err
				})
				if err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	enq := time.Since(start)
	for done.Load()+failed.Load() < int64(*n) {
		time.Sleep(5 * time.Millisecond)
	}
	total := time.Since(start)
	_ = rc.Stop(ctx)
	fmt.Printf("jobs=%d failed=%d enqueue_per_s=%.0f completed_per_s=%.0f total_s=%.2f\n", *n, failed.Load(), float64(*n)/enq.Seconds(), float64(*n)/total.Seconds(), total.Seconds())
}
