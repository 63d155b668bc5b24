package monitor

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// Two processes on one store: what one sees of an upstream (a rate limit
// being spent) and what the other sees (a credential whose refresh keeps
// failing) and the runs either finished reach both predictors, and both
// forecast the same; the alerter of a fed predictor raises from the
// predictions in force without evaluating it a second time.
func TestPredictFeedTwoProcessesAgree(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mk := func() (*Predictor, *PredictFeed) {
		pr := NewPredictor(gatedParams())
		f, ok := NewPredictFeed(pr, st, nil)
		if !ok {
			t.Fatal("the SQLite store keeps no prediction signals")
		}
		return pr, f
	}
	pr1, f1 := mk()
	pr2, f2 := mk()
	now := time.Now().UTC().Truncate(time.Second)
	reset := now.Add(time.Hour)
	// Process 1 calls the CRM: 1,000 calls left an hour before the reset,
	// spent at 100 a minute (a few calls a second: coalesced per second).
	for i := 0; i <= 600; i++ {
		at := now.Add(-10*time.Minute + time.Duration(i)*time.Second)
		f1.RateLimit("crm", at, RateLimit{Limit: 5000, Remaining: 2000 - float64(i)*100/60, Reset: reset})
		f1.RateLimit("crm", at.Add(100*time.Millisecond), RateLimit{Limit: 5000, Remaining: 2000 - float64(i)*100/60 - 1, Reset: reset})
	}
	// Process 2 holds the billing token: it ends in 20 minutes and its
	// refresh fails.
	f2.Expiry("connection:billing", "oauth token", now.Add(-40*time.Minute), time.Time{}, now.Add(20*time.Minute))
	f2.Refresh("connection:billing", "oauth token", errors.New("token endpoint returned 400 invalid_grant"))
	f2.Refresh("connection:billing", "oauth token", errors.New("token endpoint returned 400 invalid_grant"))
	// Runs finished by either process are in the store.
	for i := 0; i < 3; i++ {
		fin := now.Add(-time.Duration(i) * time.Minute)
		r := &store.Run{ID: uuid.Must(uuid.NewV7()).String(), Flow: "orders", Version: 1, Status: store.RunSucceeded, TriggerKind: "webhook", CreatedAt: fin.Add(-time.Second), StartedAt: fin.Add(-time.Second), FinishedAt: &fin}
		if err := st.InsertRun(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f1.buf); n < 590 || n > 602 {
		t.Fatalf("%d rate-limit signals buffered; want one a second", n)
	}
	for _, step := range []time.Duration{0, time.Minute} {
		for _, f := range []*PredictFeed{f1, f2, f1} { // f1 again: it reads what f2 wrote after its own sync
			if err := f.Sync(ctx, now.Add(step)); err != nil {
				t.Fatal(err)
			}
		}
		pr1.Evaluate(now.Add(step))
		pr2.Evaluate(now.Add(step))
	}
	keys := func(pr *Predictor) []string {
		var ks []string
		for _, p := range pr.Active() {
			ks = append(ks, p.Key())
		}
		return ks
	}
	k1, k2 := keys(pr1), keys(pr2)
	want := []string{"rate_limit|connection:crm", "expiry|connection:billing"}
	if len(k1) != 2 || len(k2) != 2 || k1[0] != k2[0] || k1[1] != k2[1] {
		t.Fatalf("process 1 predicts %v, process 2 %v; want both %v", k1, k2, want)
	}
	for _, w := range want {
		if k1[0] != w && k1[1] != w {
			t.Fatalf("process 1 predicts %v; want %v", k1, want)
		}
	}
	pr1.mu.Lock()
	ft := pr1.flows["orders"]
	pr1.mu.Unlock()
	pr2.mu.Lock()
	ft2 := pr2.flows["orders"]
	pr2.mu.Unlock()
	if ft == nil || ft2 == nil {
		t.Fatal("the runs in the store did not reach both predictors")
	}
	// A second sync reads nothing twice.
	before := len(pr1.limits["connection:crm"].samples)
	if err := f1.Sync(ctx, now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if after := len(pr1.limits["connection:crm"].samples); after != before {
		t.Fatalf("re-read: %d samples, then %d", before, after)
	}
	// The alerter of a fed predictor raises from what is in force.
	var sent []Alert
	a := NewAlerter(nil, func(_ context.Context, al Alert) error { sent = append(sent, al); return nil }, nil)
	a.PredictFed(f1)
	a.now = func() time.Time { return now.Add(2 * time.Minute) }
	a.Evaluate(ctx)
	n := 0
	for _, al := range sent {
		if al.Kind == "predicted" {
			n++
		}
	}
	if n != 1 && n != 2 { // grouped notifications may carry both
		t.Fatalf("predicted alerts sent: %+v", sent)
	}
	if got := a.Alerts(); len(got) != 2 {
		t.Fatalf("alerts: %+v", got)
	}
}

// One process on SQLite keeps what it sees of upstreams in the store
// (Flush) and reads it back after a restart (Restore): a rate limit being
// spent, a credential's renewal habit and its failing refresh, and the
// runs a trend is fitted on are all known again, and the same is
// forecast. Without it the restarted predictor knows nothing.
func TestPredictSignalsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	pr := NewPredictor(gatedParams())
	f, ok := NewPredictFeed(pr, st, nil)
	if !ok {
		t.Fatal("the SQLite store keeps no prediction signals")
	}
	// The process tells its predictor and the feed (cmd/weft keptObserver).
	reset := now.Add(time.Hour)
	for i := 0; i <= 600; i += 5 {
		at := now.Add(-10*time.Minute + time.Duration(i)*time.Second)
		rl := RateLimit{Limit: 5000, Remaining: 2000 - float64(i)*100/60, Reset: reset}
		pr.ObserveRateLimit("crm", at, rl)
		f.RateLimit("crm", at, rl)
	}
	// A certificate renewed once with 30 % left; the current one has 4 %
	// left: predicted.
	life := 100 * time.Hour
	nb1 := now.Add(-166 * time.Hour)
	nb2 := nb1.Add(70 * time.Hour)
	for _, o := range []struct{ at, nb time.Time }{{nb1.Add(time.Hour), nb1}, {nb2, nb2}, {now.Add(-time.Minute), nb2}} {
		pr.ObserveExpiry("connection:billing", "tls certificate", o.at, o.nb, o.nb.Add(life))
		f.Expiry("connection:billing", "tls certificate", o.at, o.nb, o.nb.Add(life))
	}
	for i := 0; i < 3; i++ {
		fin := now.Add(-time.Duration(i) * time.Minute)
		r := &store.Run{ID: uuid.Must(uuid.NewV7()).String(), Flow: "orders", Version: 1, Status: store.RunSucceeded, TriggerKind: "webhook", CreatedAt: fin.Add(-time.Second), StartedAt: fin.Add(-time.Second), FinishedAt: &fin}
		if err := st.InsertRun(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	keys := func(pr *Predictor) []string {
		pr.Evaluate(now)
		active, _, _ := pr.Evaluate(now.Add(time.Minute))
		var ks []string
		for _, p := range active {
			ks = append(ks, p.Key())
		}
		return ks
	}
	before := keys(pr)
	if len(before) != 2 {
		t.Fatalf("before the restart: %v (want a rate limit and an expiry)", before)
	}
	if err := f.Flush(ctx, now); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// Restarted.
	st, err = sqlite.Open(ctx, dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fresh := NewPredictor(gatedParams())
	if got := keys(fresh); len(got) != 0 {
		t.Fatalf("a fresh predictor already predicts %v", got)
	}
	pr2 := NewPredictor(gatedParams())
	f2, _ := NewPredictFeed(pr2, st, nil)
	if err := f2.Restore(ctx, now); err != nil {
		t.Fatal(err)
	}
	after := keys(pr2)
	if len(after) != len(before) || after[0] != before[0] || after[1] != before[1] {
		t.Fatalf("after the restart: %v; before: %v", after, before)
	}
	pr2.mu.Lock()
	c := pr2.creds["connection:billing#tls certificate"]
	ft := pr2.flows["orders"]
	pr2.mu.Unlock()
	if c == nil || len(c.renewedAt) != 1 || ft == nil {
		t.Fatalf("renewal habit %+v, runs %v: not read back", c, ft != nil)
	}
	// Flush keeps what the store refused for the next try.
	f2.RateLimit("crm", now, RateLimit{Remaining: 5})
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if err := f2.Flush(gone, now); err == nil {
		t.Fatal("the store took the signals on a cancelled context")
	}
	if len(f2.buf) != 1 {
		t.Fatalf("%d signals kept for the next try, want 1", len(f2.buf))
	}
}

// Sampled sizes (the database, the dead-letter queue) are kept in the
// store like the other signals and read back after a restart: the
// growing size is forecast again without waiting for new samples.
func TestPredictStorageSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	params := DefaultPredictParams()
	params.Storage.MinPoints = 3
	params.Kinds = nil
	now := time.Now().UTC().Truncate(time.Second)
	pr := NewPredictor(params)
	f, _ := NewPredictFeed(pr, st, nil)
	for i := 0; i < 12; i++ {
		at := now.Add(time.Duration(i-12) * 10 * time.Minute)
		size := 1000 + 100*float64(i)
		pr.ObserveStorage("dlq", at, size, 5000)
		f.Storage("dlq", at, size, 5000)
	}
	f.Storage("dlq", now, math.NaN(), 5000) // not kept
	keys := func(pr *Predictor) []string {
		active, _, _ := pr.Evaluate(now)
		var ks []string
		for _, p := range active {
			ks = append(ks, p.Key())
		}
		return ks
	}
	if k := keys(pr); len(k) != 1 || k[0] != "storage|store:dlq" {
		t.Fatalf("before the restart: %v", k)
	}
	if err := f.Flush(ctx, now); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = sqlite.Open(ctx, dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pr2 := NewPredictor(params)
	f2, _ := NewPredictFeed(pr2, st, nil)
	if err := f2.Restore(ctx, now); err != nil {
		t.Fatal(err)
	}
	if k := keys(pr2); len(k) != 1 || k[0] != "storage|store:dlq" {
		t.Fatalf("after the restart: %v", k)
	}
	pr2.mu.Lock()
	n := len(pr2.stores["store:dlq"].samples)
	pr2.mu.Unlock()
	if n != 12 {
		t.Fatalf("%d samples read back, want 12", n)
	}
}
