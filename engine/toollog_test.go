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

// A batch of the tool-call log stays open while calls keep coming (one
// commit for a burst of calls a few milliseconds apart, where a fixed 5-ms
// window made one commit every two or three calls), and closes after
// toolLogMaxLinger all the same (a steady stream is written in several
// commits, not held).
func TestToolCallLogBatchStaysOpenWhileCallsCome(t *testing.T) {
	e, st := toolLogEngine(t)
	cs, ok := st.(interface{ CommitStats() (uint64, uint64) })
	if !ok {
		t.Fatalf("%T has no CommitStats", st)
	}
	ctx := context.Background()
	// wait until flow's runs number want, and returns the store's commits
	// meanwhile.
	logged := func(flow string, want int, c0 uint64) uint64 {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			counts, err := st.CountRuns(ctx, flow)
			if err != nil {
				t.Fatal(err)
			}
			if counts[store.RunSucceeded] == int64(want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: logged %v, want %d", flow, counts, want)
			}
		}
		c1, _ := cs.CommitStats()
		return c1 - c0
	}
	// Ten calls 2 ms apart (18 ms in all): one commit, two at most. A
	// loaded machine can oversleep past the idle window; a try with a gap
	// of 4 ms or more between two calls does not count, and up to ten are
	// made. A 5-ms window from the first call takes four commits.
	var burst []uint64
	counted := 0
	for try := 0; try < 10 && counted == 0; try++ {
		flow := fmt.Sprintf("burst%d", try)
		c0, _ := cs.CommitStats()
		gapOK := true
		prev := time.Now()
		for i := 0; i < 10; i++ {
			e.RecordToolCall(ToolCall{Toolset: flow, Tool: "crm__getCustomer", Caller: "k"}, time.Now(), nil, nil)
			time.Sleep(2 * time.Millisecond)
			if now := time.Now(); now.Sub(prev) >= 4*time.Millisecond {
				gapOK = false
			} else {
				prev = now
			}
		}
		c := logged("mcp:"+flow, 10, c0)
		if gapOK {
			counted++
			burst = append(burst, c)
		}
	}
	if counted == 0 {
		t.Fatal("in ten tries the machine never kept ten calls under 4 ms apart; the burst was not tested")
	}
	if n := burst[0]; n > 2 {
		t.Fatalf("ten calls 2 ms apart took %d commits; want one or two", n)
	}
	// A steady stream for 150 ms: the batch closes at its latest closing
	// time, so the records are not held for the whole stream.
	c0, _ := cs.CommitStats()
	n := 0
	for start := time.Now(); time.Since(start) < 150*time.Millisecond; n++ {
		e.RecordToolCall(ToolCall{Toolset: "stream", Tool: "crm__getCustomer", Caller: "k"}, time.Now(), nil, nil)
		time.Sleep(time.Millisecond)
	}
	if c := logged("mcp:stream", n, c0); c < 3 {
		t.Fatalf("a 150-ms stream of %d calls was written in %d commits; want one every %s at least", n, c, toolLogMaxLinger)
	}
}
