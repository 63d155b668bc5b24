package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/weftio/weft/internal/pgtest"
	"github.com/weftio/weft/store"
)

// The writes of reach-in calls through the database announce themselves
// to every process that listens (LISTEN/NOTIFY), one announcement per
// change that happened and none for a write that changed nothing; a
// listener whose connection is cut says so, connects again and hears
// what follows.
func TestAgentCallsAnnounced(t *testing.T) {
	pg := pgtest.Shared(t)
	s1, open, db := freshDatabase(t, pg)
	s2 := open()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan string, 64)
	upc := make(chan bool, 16)
	done := make(chan error, 1)
	go func() {
		done <- s2.(store.AgentCallEvents).ListenAgentCalls(ctx, func(up bool) { upc <- up }, func(site, id string) { events <- site + "|" + id })
	}()
	waitUp := func(want bool) {
		t.Helper()
		select {
		case got := <-upc:
			if got != want {
				t.Fatalf("listening: got %v, want %v", got, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("listening never became %v", want)
		}
	}
	waitUp(true)
	next := func(want string) {
		t.Helper()
		select {
		case got := <-events:
			if got != want {
				t.Fatalf("announcement: got %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no announcement %q", want)
		}
	}
	none := func() {
		t.Helper()
		select {
		case got := <-events:
			t.Fatalf("unexpected announcement %q", got)
		case <-time.After(300 * time.Millisecond):
		}
	}
	cs := s1.(store.AgentCalls)
	now := time.Now().UTC()
	if err := s1.(store.Agents).CreateAgent(ctx, store.AgentRecord{Site: "plant-3", TokenHash: "h1", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	queue := func(id string) {
		t.Helper()
		if err := cs.QueueAgentCall(ctx, store.AgentCall{ID: id, Site: "plant-3", Call: json.RawMessage(`{}`), CreatedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	queue("c1")
	next("plant-3|")
	if ok, _ := cs.FinishAgentCall(ctx, "plant-3", "c1", json.RawMessage(`{}`)); ok {
		t.Fatal("a queued call finished")
	}
	none() // nothing changed, nothing announced
	if got, err := cs.TakeAgentCalls(ctx, "plant-3", 10, now); err != nil || len(got) != 1 {
		t.Fatalf("take: %v %v", got, err)
	}
	if ok, err := cs.AgentCallProgress(ctx, "plant-3", "c1", json.RawMessage(`{"progress":1}`)); !ok || err != nil {
		t.Fatalf("progress: %v %v", ok, err)
	}
	next("|c1")
	if ok, err := cs.FinishAgentCall(ctx, "plant-3", "c1", json.RawMessage(`{"output":1}`)); !ok || err != nil {
		t.Fatalf("finish: %v %v", ok, err)
	}
	next("|c1")
	queue("c2")
	next("plant-3|")
	if _, err := cs.TakeAgentCalls(ctx, "plant-3", 10, now); err != nil {
		t.Fatal(err)
	}
	if was, _ := cs.CancelAgentCall(ctx, "c2"); was != "taken" {
		t.Fatalf("cancel: was %q", was)
	}
	next("plant-3|") // the poll's process hands the cancellation over
	queue("c3")
	next("plant-3|")
	if was, _ := cs.CancelAgentCall(ctx, "c3"); was != "queued" {
		t.Fatalf("cancel: was %q", was)
	}
	none() // a queued call cancelled is deleted: nothing for a poll to do

	// The listener's connection is cut: it says so, listens again, and
	// hears the next change.
	if _, err := db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'weft listen weft_agent_calls' AND datname = current_database()`); err != nil {
		t.Fatal(err)
	}
	waitUp(false)
	waitUp(true)
	queue("c4")
	next("plant-3|")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("listening ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("listening did not end with its context")
	}
}
