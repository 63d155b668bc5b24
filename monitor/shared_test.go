package monitor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// Two processes on one store: both read the runs every process finished,
// one (the lease holder) evaluates and notifies, and when it stops the
// other takes over.
func TestSharedAlertersOneLeader(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	sent := map[string][]Alert{}
	mk := func(name string) *Alerter {
		a := NewAlerter([]Rule{{Name: "spike", Flow: "*", ErrorRate: 0.5, MinRuns: 4, Window: time.Minute, Severity: "critical"}},
			func(_ context.Context, al Alert) error {
				mu.Lock()
				sent[name] = append(sent[name], al)
				mu.Unlock()
				return nil
			}, nil)
		a.Shared(st, name)
		if err := a.Persist(ctx, st); err != nil {
			t.Fatal(err)
		}
		return a
	}
	p1, p2 := mk("p1"), mk("p2")
	finish := func(status string) {
		now := time.Now().UTC()
		r := &store.Run{ID: uuid.Must(uuid.NewV7()).String(), Flow: "orders", Version: 1, Status: status, TriggerKind: "webhook", CreatedAt: now, StartedAt: now, FinishedAt: &now}
		if err := st.InsertRun(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
		p1.ObserveRun(r) // in shared mode the in-process feed is ignored
	}
	for i := 0; i < 5; i++ {
		finish(store.RunFailed) // say, finished by either process
	}
	const every = 100 * time.Millisecond
	p1.evaluate(ctx, every)
	p2.evaluate(ctx, every)
	p1.evaluate(ctx, every)
	mu.Lock()
	if len(sent["p1"]) != 1 || len(sent["p2"]) != 0 || sent["p1"][0].Runs != 5 {
		t.Fatalf("p1 %+v p2 %+v", sent["p1"], sent["p2"])
	}
	mu.Unlock()
	// p1 stops; once its lease lapses p2 is in charge: it rebuilds the
	// window from the store and picks up the alert p1 left open (stored),
	// so it neither repeats it nor forgets to resolve it.
	time.Sleep(1500 * time.Millisecond)
	for i := 0; i < 3; i++ {
		finish(store.RunDead)
	}
	p2.evaluate(ctx, every)
	mu.Lock()
	if len(sent["p2"]) != 0 {
		t.Fatalf("p2 repeated the open alert: %+v", sent["p2"])
	}
	mu.Unlock()
	for i := 0; i < 30; i++ {
		finish(store.RunSucceeded)
	}
	p2.evaluate(ctx, every)
	mu.Lock()
	defer mu.Unlock()
	if len(sent["p2"]) != 1 || sent["p2"][0].Status != "resolved" || sent["p2"][0].ID != sent["p1"][0].ID {
		t.Fatalf("after take-over: p2 %+v", sent["p2"])
	}
	// A restarted process lists the history, acks included.
	if !p2.Ack(sent["p1"][0].ID, "ops") {
		t.Fatal("ack")
	}
	p3 := NewAlerter(nil, nil, nil)
	if err := p3.Persist(ctx, st); err != nil {
		t.Fatal(err)
	}
	if got := p3.Alerts(); len(got) != 1 || got[0].Status != "resolved" || got[0].AckedBy != "ops" {
		t.Fatalf("after restart: %+v", got)
	}
}
