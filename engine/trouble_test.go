package engine

import (
	"strings"
	"testing"
	"time"
)

func TestTroubleRaisesOnceAfterAndResolvesOnce(t *testing.T) {
	var tr trouble
	t0 := time.Unix(1000, 0)
	after := time.Minute
	type want struct{ raise, resolve bool }
	for i, c := range []struct {
		bad bool
		at  time.Duration
		want
	}{
		{false, 0, want{}},                            // well: nothing
		{true, 0, want{}},                             // trouble begins
		{true, 30 * time.Second, want{}},              // not long enough
		{true, time.Minute, want{raise: true}},        // raised once
		{true, 2 * time.Minute, want{}},               // not again
		{false, 3 * time.Minute, want{resolve: true}}, // resolved once
		{false, 4 * time.Minute, want{}},
		{true, 5 * time.Minute, want{}}, // a new trouble starts its own clock
		{true, 5*time.Minute + 59*time.Second, want{}},
		{false, 6 * time.Minute, want{}}, // ended before it was raised: nothing to resolve
	} {
		raise, resolve := tr.observe(c.bad, t0.Add(c.at), after)
		if raise != c.raise || resolve != c.resolve {
			t.Fatalf("step %d (bad=%v at %v): raise=%v resolve=%v, want %+v", i, c.bad, c.at, raise, resolve, c.want)
		}
	}
}

func TestSourceName(t *testing.T) {
	a, b := sourceName("Orders-Sync", ""), sourceName("orders_sync", "")
	if !strings.HasPrefix(a, "weft_orders_sync_") || a == b {
		t.Fatalf("%q %q: want a safe prefix and distinct names for distinct flows", a, b)
	}
	if q := sourceName("Orders-Sync", "-"); !strings.HasPrefix(q, "weft_orders-sync_") {
		t.Fatalf("extra runes kept: %q", q)
	}
	long := sourceName(strings.Repeat("x", 500), "")
	if len(long) > len("weft_")+40+1+8 {
		t.Fatalf("%d bytes: %q", len(long), long)
	}
	// Names already made on servers (slots, durable consumers) must not change.
	if got := CDCSlotName("Orders-Sync"); got != "weft_orders_sync_1c773f64" {
		t.Fatalf("slot name changed: %q", got)
	}
	if got := QueueConsumerName("Orders-Sync"); got != "weft_orders-sync_1c773f64" {
		t.Fatalf("consumer name changed: %q", got)
	}
}
