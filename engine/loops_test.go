package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// selfCRM lists accounts and creates them: a flow that polls accounts and
// creates one per account feeds itself.
type selfCRM struct {
	mu      sync.Mutex
	records []map[string]any
	n       int
}

func (c *selfCRM) add(name string) map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	r := map[string]any{"id": fmt.Sprintf("a%d", c.n), "name": name, "updated_at": fmt.Sprintf("2026-01-01T10:%02d:00Z", c.n)}
	c.records = append(c.records, r)
	return r
}

func (c *selfCRM) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.records)
}

func (c *selfCRM) connector() *connectors.Connector {
	return &connectors.Connector{Name: "crm", Title: "CRM", Version: "1",
		Operations: []*connectors.Operation{
			{Name: "listAccounts", Hints: connectors.Hints{ReadOnly: true},
				Invoke: func(ctx context.Context, _ connectors.Call) (any, error) {
					c.mu.Lock()
					defer c.mu.Unlock()
					out := make([]any, 0, len(c.records))
					for _, r := range c.records {
						cp := map[string]any{}
						for k, v := range r {
							cp[k] = v
						}
						out = append(out, cp)
					}
					return map[string]any{"data": out}, nil
				}},
			{Name: "createAccount",
				Invoke: func(ctx context.Context, call connectors.Call) (any, error) {
					name, _ := call.Input["name"].(string)
					return c.add(name + "+"), nil
				}},
		},
		Triggers: []connectors.Trigger{{Name: "accounts", Operation: "listAccounts", Items: "data", Cursor: "updated_at", Key: "id"}},
	}
}

func loopEngine(t *testing.T, cfg engine.Config) *engine.Engine {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, t.TempDir(), quiet, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := engine.New(st, connectors.NewCatalog(), quiet, cfg)
	if err := st.StartQueue(ctx, e.Workers(), store.QueueConfig{Workers: 4, FetchPollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.BeginShutdown()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.StopQueue(c)
		_ = st.Close()
	})
	return e
}

// A flow whose runs create the records its trigger polls is stopped after
// LoopHops self-caused runs, and OnLoop is told once per stopped record.
func TestLoopProtectionStopsSelfCausedChain(t *testing.T) {
	var mu sync.Mutex
	var loops []engine.Loop
	e := loopEngine(t, engine.Config{LongWait: 500 * time.Millisecond, LoopHops: 2, OnLoop: func(_ context.Context, l engine.Loop) {
		mu.Lock()
		loops = append(loops, l)
		mu.Unlock()
	}})
	crm := &selfCRM{}
	e.Catalog().Register(crm.connector())
	deploy(t, e, `name: twin
trigger:
  poll:
    operation: crm.listAccounts
    every: 1s
steps:
  - id: twin
    call: crm.createAccount
    with: {name: =trigger.body.name}
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 50*time.Millisecond)
	time.Sleep(1200 * time.Millisecond) // the first poll marks the start
	crm.add("acme")                     // made by someone else: hop 0
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(loops)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no loop stopped; %d accounts", crm.count())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond) // more polls: nothing new starts
	// acme (hop 0) → acme+ (hop 1) → acme++ (hop 2) → acme+++ is not run.
	if got := crm.count(); got != 4 {
		t.Errorf("%d accounts, want 4 (the original and one per allowed run)", got)
	}
	runs, _ := e.Store().ListRuns(context.Background(), store.RunFilter{Flow: "twin", Limit: 100})
	if len(runs) != 3 {
		t.Errorf("%d runs, want 3 (hops 0, 1, 2)", len(runs))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(loops) != 1 || loops[0].Flow != "twin" || loops[0].Hop != 3 || loops[0].Limit != 2 || loops[0].Step != "twin" || loops[0].Record != "a4" {
		t.Errorf("loops %+v", loops)
	}
}

// Records written by other flows, or by nobody here, run as usual.
func TestLoopProtectionLeavesOtherRecordsAlone(t *testing.T) {
	var mu sync.Mutex
	stopped := 0
	e := loopEngine(t, engine.Config{LongWait: 500 * time.Millisecond, OnLoop: func(context.Context, engine.Loop) { mu.Lock(); stopped++; mu.Unlock() }})
	crm := &selfCRM{}
	e.Catalog().Register(crm.connector())
	deploy(t, e, `name: watch
trigger:
  poll: {operation: crm.listAccounts, every: 1s}
steps:
  - id: s
    set: {seen: =trigger.body.id}
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 50*time.Millisecond)
	time.Sleep(1200 * time.Millisecond)
	for i := 0; i < 5; i++ {
		crm.add(fmt.Sprint("c", i))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runs, _ := e.Store().ListRuns(context.Background(), store.RunFilter{Flow: "watch", Limit: 100})
		if len(runs) == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs, want 5", len(runs))
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if stopped != 0 {
		t.Errorf("%d loops stopped on a flow that writes nothing", stopped)
	}
}
