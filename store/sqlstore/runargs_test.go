package sqlstore

import (
	"testing"
	"time"

	"github.com/weftio/weft/store"
)

// A run row's status and trigger kind go to the driver as interface
// values made once (boxed): the arguments of a finished webhook run
// allocate only for its id, its flow name and its three timestamps
// (BENCHMARKS.md §68; seven before).
func TestRunArgsShareBoxedWords(t *testing.T) {
	now := time.Now()
	r := &store.Run{ID: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Flow: "order-flow", Version: 3, Status: store.RunSucceeded,
		TriggerKind: "webhook", CreatedAt: now, StartedAt: now, FinishedAt: &now}
	args := make([]any, 0, 32)
	n := testing.AllocsPerRun(200, func() { args = runArgs(args[:0], r, runPayload{}) })
	if n > 5 {
		t.Errorf("a run row's arguments allocate %v times; want at most 5", n)
	}
	if args[3] != any(store.RunSucceeded) || args[4] != any("webhook") {
		t.Fatalf("status and kind arguments: %v %v", args[3], args[4])
	}
	r.TriggerKind = "a-kind-of-its-own"
	if args = runArgs(args[:0], r, runPayload{}); args[4] != any("a-kind-of-its-own") {
		t.Fatalf("kind argument: %v", args[4])
	}
}
