package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

func toolLogEngine(t *testing.T) (*Engine, store.Store) {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(context.Background(), t.TempDir(), quiet, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(st, connectors.NewCatalog(), quiet, Config{}), st
}

// Every agent call lands in the log, written behind the calls in batches,
// and FlushToolLog leaves nothing queued.
func TestToolCallLogWritesEveryCallInBatches(t *testing.T) {
	e, st := toolLogEngine(t)
	const callers, each = 16, 120
	var wg sync.WaitGroup
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				var err error
				if i%10 == 0 {
					err = errors.New("upstream said no")
				}
				e.RecordToolCall(ToolCall{Toolset: "all", Tool: "crm__getCustomer", Caller: fmt.Sprintf("k%d", c), Operation: "http.request", Input: map[string]any{"id": i}}, time.Now(), map[string]any{"ok": true}, err)
			}
		}(c)
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.FlushToolLog(ctx); err != nil {
		t.Fatal(err)
	}
	counts, err := st.CountRuns(ctx, "mcp:all")
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.RunSucceeded] != callers*each*9/10 || counts[store.RunFailed] != callers*each/10 {
		t.Fatalf("logged %v, want %d succeeded and %d failed", counts, callers*each*9/10, callers*each/10)
	}
	// A call after the flush (a late answer during shutdown) is written at once.
	e.RecordToolCall(ToolCall{Toolset: "late", Tool: "crm__getCustomer", Caller: "k"}, time.Now(), nil, nil)
	if counts, _ := st.CountRuns(ctx, "mcp:late"); counts[store.RunSucceeded] != 1 {
		t.Fatalf("late call: %v", counts)
	}
}

// A batch holding one record the store refuses (here: a run already
// recorded) is written record by record: the others are not lost.
func TestToolCallLogBadRecordLosesNoOther(t *testing.T) {
	e, st := toolLogEngine(t)
	now := time.Now().UTC()
	mk := func(id string) store.LoggedRun {
		return store.LoggedRun{Run: &store.Run{ID: id, Flow: "mcp:x", Status: store.RunSucceeded, TriggerKind: "mcp", Sync: true, CreatedAt: now, StartedAt: now, FinishedAt: &now}}
	}
	ctx := context.Background()
	if err := st.InsertRun(ctx, mk("dup").Run, nil); err != nil {
		t.Fatal(err)
	}
	e.writeToolRuns([]store.LoggedRun{mk("a"), mk("dup"), mk("b")})
	counts, err := st.CountRuns(ctx, "mcp:x")
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.RunSucceeded] != 3 {
		t.Fatalf("runs %v: want dup, a and b", counts)
	}
}
