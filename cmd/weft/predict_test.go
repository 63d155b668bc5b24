package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/monitor"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
	"github.com/weftio/weft/store/sqlstore"
)

// storagePredictor is a SQLite store and a predictor that announces a
// storage forecast from three samples, without the default gates (they
// wait for hours of growth).
func storagePredictor(t *testing.T) (*sqlstore.Store, *monitor.Predictor) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	params := monitor.DefaultPredictParams()
	params.Storage.MinPoints = 3
	params.Kinds = nil
	return st, monitor.NewPredictor(params)
}

// The dead-letter queue's size reaches the predictor, which forecasts it
// against dlq_bound once it grows.
func TestSampleDLQFeedsPredictor(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, pr := storagePredictor(t)
	// Each size the sampler saw, so the test waits for a sample after each
	// insert instead of sleeping (a loaded machine can starve the sampler).
	seen := make(chan float64, 1024)
	observe := storageObserver(pr, nil)
	done := make(chan struct{})
	go func() {
		sampleDLQ(ctx, st, func(name string, at time.Time, size, bound float64) {
			observe(name, at, size, bound)
			select {
			case seen <- size:
			default:
			}
		}, 1000, 5*time.Millisecond, slog.Default())
		close(done)
	}()
	now := time.Now()
	for i := 0; i < 3; i++ {
		fin := now
		r := &store.Run{ID: uuid.Must(uuid.NewV7()).String(), Flow: "f", Version: 1, Status: store.RunDead, TriggerKind: "manual", CreatedAt: now, StartedAt: now, FinishedAt: &fin}
		if err := st.InsertRun(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
		// Several samples at each size, as a sampler every 5 ms gives over
		// the 50 ms an idle machine leaves between inserts: the trend test
		// needs that many points.
		wait := time.After(30 * time.Second)
		for got := 0; got < 8; {
			select {
			case n := <-seen:
				if n == float64(i+1) {
					got++
				}
			case <-wait:
				t.Fatalf("the sampler saw %d dead runs only %d times in 30 s", i+1, got)
			}
		}
	}
	cancel()
	<-done
	// Dead runs grew 0 → 3 over the samples: a forecast against 1000.
	_, fired, _ := pr.Evaluate(time.Now())
	if len(fired) != 1 || fired[0].Kind != monitor.PredictStorage || fired[0].Subject != "store:dlq" || fired[0].Evidence["bound"] != 1000 || fired[0].Evidence["size"] != 3 {
		t.Fatalf("%+v", fired)
	}
}

// The database's size reaches the predictor (store:database), against
// database_bound.
func TestSampleDatabaseFeedsPredictor(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, pr := storagePredictor(t)
	done := make(chan struct{})
	go func() {
		sampleDatabase(ctx, st, storageObserver(pr, nil), 1<<30, 5*time.Millisecond, slog.Default())
		close(done)
	}()
	big := strings.Repeat("x", 8000)
	for i := 0; i < 6; i++ {
		for j := 0; j < 40; j++ {
			now := time.Now()
			r := &store.Run{ID: uuid.Must(uuid.NewV7()).String(), Flow: "f", Version: 1, Status: store.RunSucceeded, TriggerKind: "manual", CreatedAt: now, StartedAt: now, FinishedAt: &now,
				Input: json.RawMessage(`{"pad":"` + big + `"}`)}
			if err := st.InsertRun(ctx, r, nil); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(30 * time.Millisecond)
	}
	cancel()
	<-done
	_, fired, _ := pr.Evaluate(time.Now())
	if len(fired) != 1 || fired[0].Kind != monitor.PredictStorage || fired[0].Subject != "store:database" || fired[0].Evidence["bound"] != 1<<30 || fired[0].Evidence["size"] < 1e6 {
		t.Fatalf("%+v", fired)
	}
}

// On SQLite, serve keeps what the http connector sees of upstreams in the
// store as well as in its predictor (keptObserver), and a second start
// reads it back (openCore): the rate limit being spent is forecast again
// after the restart.
func TestServeKeepsPredictionSignalsOnSQLite(t *testing.T) {
	ctx := context.Background()
	cfg := defaultConfig()
	cfg.DataDir = t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	params := monitor.DefaultPredictParams()
	params.Kinds = nil // announce at once: what is tested is what survives
	start := func() (*monitor.Predictor, *monitor.Alerter, store.Store) {
		pr := monitor.NewPredictor(params)
		a := monitor.NewAlerter(nil, nil, quiet)
		a.Predict(pr)
		cfg.predictKeep = nil
		st, _, err := openCore(ctx, cfg, quiet, nil, a, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.predictKeep == nil {
			t.Fatal("no store kept for the prediction signals on SQLite")
		}
		return pr, a, st
	}
	pr, a, st := start()
	obs := keptObserver(predictionObserver(a), cfg.predictKeep)
	now := time.Now().UTC().Truncate(time.Second)
	for i := 0; i <= 600; i += 10 {
		obs.RateLimit("crm", now.Add(-10*time.Minute+time.Duration(i)*time.Second), httpconn.RateLimit{Limit: 5000, Remaining: 2000 - float64(i)*100/60, Reset: now.Add(time.Hour)})
	}
	want := func(pr *monitor.Predictor, when string) {
		active, _, _ := pr.Evaluate(now)
		if len(active) != 1 || active[0].Key() != "rate_limit|connection:crm" {
			t.Fatalf("%s: %+v", when, active)
		}
	}
	want(pr, "before the restart")
	if err := cfg.predictKeep.Flush(ctx, now); err != nil {
		t.Fatal(err)
	}
	st.Close()
	pr2, _, st2 := start()
	defer st2.Close()
	want(pr2, "after the restart")
}
