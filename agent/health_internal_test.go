package agent

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// An agent that stops polling is reported silent once, and back when it
// polls again; its health is in the Prometheus collector.
func TestWatchAndMetrics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlite.Open(ctx, t.TempDir(), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := engine.New(st, connectors.NewCatalog(), nil, engine.Config{})
	c := NewControlPlane(st, e, slog.New(slog.DiscardHandler))
	var mu sync.Mutex
	clock := time.Now()
	c.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	if _, _, err := c.Create(ctx, "plant-3", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Create(ctx, "never", nil); err != nil {
		t.Fatal(err)
	}
	seen := func() {
		now := c.now()
		if err := st.AgentSeen(ctx, "plant-3", store.AgentReport{LastSeen: &now, Version: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	seen()
	events := make(chan string, 10)
	go c.Watch(ctx, 10*time.Millisecond, func(_ context.Context, site string, _ time.Time) { events <- "silent " + site },
		func(_ context.Context, site string) { events <- "back " + site })
	next := func() string {
		select {
		case ev := <-events:
			return ev
		case <-time.After(5 * time.Second):
			return "nothing"
		}
	}
	expect := "weft_agent_connected{site=\"never\"} 0\nweft_agent_connected{site=\"plant-3\"} 1\n"
	if err := testutil.CollectAndCompare(c.Collector(), strings.NewReader("# HELP weft_agent_connected 1 when the site's runtime agent is linked to the control plane.\n# TYPE weft_agent_connected gauge\n"+expect), "weft_agent_connected"); err != nil {
		t.Fatal(err)
	}
	advance(connectedWithin + time.Second)
	if ev := next(); ev != "silent plant-3" {
		t.Fatalf("got %q, want plant-3 silent", ev)
	}
	seen()
	if ev := next(); ev != "back plant-3" {
		t.Fatalf("got %q, want plant-3 back", ev)
	}
	select {
	case ev := <-events:
		t.Fatalf("unexpected %q (a never-linked agent is not silent)", ev)
	case <-time.After(100 * time.Millisecond):
	}
	if err := testutil.CollectAndCompare(c.Collector(), strings.NewReader("# HELP weft_agent_info 1 for each agent that reported its build: its version as a label.\n# TYPE weft_agent_info gauge\n"+
		"weft_agent_info{site=\"plant-3\",version=\"t\"} 1\n"), "weft_agent_info"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(c.Collector(), "weft_agent_last_seen_seconds"); n != 1 {
		t.Fatalf("last_seen series: %d, want 1 (the never-seen agent has none)", n)
	}
	var _ prometheus.Collector = c.Collector()
}
