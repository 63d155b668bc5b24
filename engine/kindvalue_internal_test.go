package engine

import "testing"

// A run's trigger.kind is a shared interface value for the common kinds
// (BENCHMARKS.md §68): the trigger input of a webhook event allocates for
// its map and its two small maps only, not a string header for its kind;
// another kind is still given as it came.
func TestTriggerKindShared(t *testing.T) {
	ev := &Event{Kind: "webhook", Body: map[string]any{"a": 1.0}}
	n := testing.AllocsPerRun(200, func() { _ = ev.input() })
	in := ev.input()
	if in["kind"] != any("webhook") {
		t.Fatalf("kind %v", in["kind"])
	}
	// The input map (its header and its one group of slots) and the
	// headers and query maps: four; a boxed kind made it five.
	if n > 4 {
		t.Errorf("a webhook event's input allocates %v times; want at most 4", n)
	}
	if got := (&Event{Kind: "a-kind-of-its-own"}).input()["kind"]; got != any("a-kind-of-its-own") {
		t.Fatalf("kind %v", got)
	}
}
