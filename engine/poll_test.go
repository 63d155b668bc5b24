package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/files"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/store"
)

// fakeCRM is a list operation over records the test changes.
type fakeCRM struct {
	mu      sync.Mutex
	records []map[string]any
	cursors []any // trigger.cursor as each call saw it
}

func (f *fakeCRM) connector() *connectors.Connector {
	return &connectors.Connector{Name: "crm", Title: "CRM", Version: "1",
		Operations: []*connectors.Operation{{Name: "listDeals", Hints: connectors.Hints{ReadOnly: true},
			Invoke: func(ctx context.Context, c connectors.Call) (any, error) {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.cursors = append(f.cursors, c.Input["since"])
				var out []any
				for _, r := range f.records {
					cp := map[string]any{}
					for k, v := range r {
						cp[k] = v
					}
					out = append(out, cp)
				}
				return map[string]any{"data": out}, nil
			}}},
		Triggers: []connectors.Trigger{{Name: "updated_deals", Operation: "listDeals", Items: "data", Cursor: "updated_at", Key: "id"}},
	}
}

func (f *fakeCRM) set(id string, updated string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.records {
		if r["id"] == id {
			r["updated_at"] = updated
			return
		}
	}
	f.records = append(f.records, map[string]any{"id": id, "updated_at": updated})
}

func pollRuns(t *testing.T, e *engine.Engine, flowName string) []string {
	t.Helper()
	runs, err := e.Store().ListRuns(context.Background(), store.RunFilter{Flow: flowName, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range runs {
		keys = append(keys, r.IdemKey)
	}
	sort.Strings(keys)
	return keys
}

func TestPollTriggerStartsOneRunPerNewOrUpdatedRecord(t *testing.T) {
	e := newEngine(t)
	crm := &fakeCRM{}
	e.Catalog().Register(crm.connector())
	crm.set("d1", "2026-01-01T10:00:00Z")
	crm.set("d2", "2026-01-01T11:00:00Z")
	deploy(t, e, `name: deals
trigger:
  poll:
    operation: crm.listDeals
    input: {since: =trigger.cursor}
    every: 1s
    start: all
steps:
  - id: s
    set: {deal: =trigger.body.id}
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Two pollers on one store, as two processes would be.
	go e.RunTriggers(ctx, 100*time.Millisecond)
	go e.RunTriggers(ctx, 170*time.Millisecond)
	waitKeys := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(8 * time.Second)
		for {
			got := pollRuns(t, e, "deals")
			if len(got) == len(want) {
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("runs %v, want %v", got, want)
					}
				}
				return
			}
			if len(got) > len(want) || time.Now().After(deadline) {
				t.Fatalf("runs %v, want %v", got, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitKeys("poll:d1@2026-01-01T10:00:00Z", "poll:d2@2026-01-01T11:00:00Z")
	crm.set("d3", "2026-01-01T12:00:00Z")
	crm.set("d1", "2026-01-01T12:30:00Z") // updated: a new run
	waitKeys("poll:d1@2026-01-01T10:00:00Z", "poll:d1@2026-01-01T12:30:00Z", "poll:d2@2026-01-01T11:00:00Z", "poll:d3@2026-01-01T12:00:00Z")
	time.Sleep(2500 * time.Millisecond) // more polls, nothing new
	waitKeys("poll:d1@2026-01-01T10:00:00Z", "poll:d1@2026-01-01T12:30:00Z", "poll:d2@2026-01-01T11:00:00Z", "poll:d3@2026-01-01T12:00:00Z")
	cur, _ := e.Store().TriggerCursor(context.Background(), "deals")
	if cur != `{"at":"2026-01-01T12:30:00Z","keys":["d1"]}` {
		t.Fatalf("cursor %s", cur)
	}
	crm.mu.Lock()
	if crm.cursors[0] != nil || crm.cursors[len(crm.cursors)-1] != "2026-01-01T12:30:00Z" {
		t.Fatalf("the operation saw cursors %v", crm.cursors)
	}
	crm.mu.Unlock()
	// The runs got the record as trigger.body.
	runs, _ := e.Store().ListRuns(context.Background(), store.RunFilter{Flow: "deals", Limit: 10})
	for _, r := range runs {
		waitRun(t, e, r.ID, store.RunSucceeded)
	}
}

func TestPollTriggerStartNowSkipsExistingRecords(t *testing.T) {
	e := newEngine(t)
	crm := &fakeCRM{}
	e.Catalog().Register(crm.connector())
	crm.set("1", "5")
	crm.set("2", "9")
	deploy(t, e, "name: fresh\ntrigger: {poll: {operation: crm.listDeals, cursor: updated_at, every: 1s}}\nsteps:\n  - set: {x: 1}\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 100*time.Millisecond)
	time.Sleep(400 * time.Millisecond)
	if got := pollRuns(t, e, "fresh"); len(got) != 0 {
		t.Fatalf("start: now fired existing records: %v", got)
	}
	crm.set("3", "10") // numeric strings compare as numbers: 10 > 9
	deadline := time.Now().Add(5 * time.Second)
	for len(pollRuns(t, e, "fresh")) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := pollRuns(t, e, "fresh"); len(got) != 1 || got[0] != "poll:3@10" {
		t.Fatalf("runs %v", got)
	}
}

// A first poll that finds nothing (here: an empty source; in practice a
// filtered list such as stage=closed_won) marks the start, so the first
// record that appears later starts a run instead of becoming the baseline.
func TestPollTriggerStartNowFromAnEmptyFirstPoll(t *testing.T) {
	e := newEngine(t)
	crm := &fakeCRM{}
	e.Catalog().Register(crm.connector())
	deploy(t, e, "name: empty\ntrigger: {poll: {operation: crm.listDeals, cursor: updated_at, every: 1s}}\nsteps:\n  - set: {x: 1}\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 100*time.Millisecond)
	time.Sleep(400 * time.Millisecond)
	crm.set("1", "5")
	deadline := time.Now().Add(5 * time.Second)
	for len(pollRuns(t, e, "empty")) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := pollRuns(t, e, "empty"); len(got) != 1 || got[0] != "poll:1@5" {
		t.Fatalf("runs %v", got)
	}
}

func TestPollTriggerBadConfigFailsAtDeployOrPoll(t *testing.T) {
	e := newEngine(t)
	crm := &fakeCRM{}
	e.Catalog().Register(crm.connector())
	if _, _, err := e.Deploy(context.Background(), "p.yaml", []byte("name: p\ntrigger: {poll: {operation: crm.listDeal}}\nsteps:\n  - set: {x: 1}\n")); err == nil ||
		!contains(err, `p.yaml:2:29`) || !contains(err, `did you mean "crm.listDeals"`) {
		t.Fatalf("unknown operation: %v", err)
	}
	crm.set("1", "x")
	f := `name: p
trigger: {poll: {operation: crm.listDeals, items: datum, cursor: updated_at}}
steps:
  - set: {x: 1}
`
	deploy(t, e, f)
	fl, _, _ := e.Flow(context.Background(), "p", 0)
	if _, _, _, err := e.PollRecords(context.Background(), fl.Trigger.Poll, ""); err == nil || !contains(err, `has no "datum"`) {
		t.Fatalf("wrong items path: %v", err)
	}
	fl.Trigger.Poll.Items = ""
	if _, _, _, err := e.PollRecords(context.Background(), fl.Trigger.Poll, ""); err != nil {
		t.Fatalf("connector default items path: %v", err)
	}
}

func contains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }

// The files connector's "new file" trigger: each file dropped into the
// directory starts one run that reads it; a rewritten file starts another.
func TestNewFileTrigger(t *testing.T) {
	e := newEngine(t)
	dir := t.TempDir()
	e.Catalog().Register(files.New(files.Options{}))
	if err := e.Catalog().AddConnection(&connectors.Connection{Name: "inbox", Connector: "files", Config: map[string]any{"dir": dir}}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "old.csv"), []byte("id\n0\n"), 0o644)
	deploy(t, e, `name: inbox
trigger:
  poll: {operation: files.list, connection: inbox, input: {pattern: "*.csv"}, every: 1s}
steps:
  - id: read
    call: files.read
    connection: inbox
    with: {path: =trigger.body.path}
  - set: {rows: =steps.read.count}
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 100*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // the first poll notes old.csv (start: now)
	os.WriteFile(filepath.Join(dir, "a.csv"), []byte("id\n1\n2\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "skip.txt"), []byte("x"), 0o644)
	wait := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(6 * time.Second)
		for {
			got := pollRuns(t, e, "inbox")
			if len(got) >= n || time.Now().After(deadline) {
				if len(got) != n {
					t.Fatalf("runs %v, want %d", got, n)
				}
				return got
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	got := wait(1)
	if !strings.HasPrefix(got[0], "poll:a.csv@") {
		t.Fatalf("%v", got)
	}
	time.Sleep(50 * time.Millisecond)
	os.WriteFile(filepath.Join(dir, "a.csv"), []byte("id\n1\n2\n3\n"), 0o644) // rewritten: a new version
	wait(2)
	runs, _ := e.Store().ListRuns(context.Background(), store.RunFilter{Flow: "inbox", Limit: 10})
	for _, r := range runs {
		waitRun(t, e, r.ID, store.RunSucceeded)
	}
}

// when with edge: a record starts a run when the condition becomes true
// for its key, not while it stays true; without edge, every time it holds.
func TestPollTriggerWhenAndEdge(t *testing.T) {
	e := newEngine(t)
	crm := &fakeCRM{}
	e.Catalog().Register(crm.connector())
	put := func(updated string, amount float64) {
		crm.set("d1", updated)
		crm.mu.Lock()
		crm.records[0]["amount"] = amount
		crm.mu.Unlock()
	}
	put("2026-01-01T09:00:00Z", 10)
	for _, name := range []string{"deals-edge", "deals-level"} {
		edge := "true"
		if name == "deals-level" {
			edge = "false"
		}
		deploy(t, e, `name: `+name+`
trigger:
  poll:
    operation: crm.listDeals
    every: 1s
    start: all
    when: =trigger.body.amount > 100
    edge: `+edge+`
steps:
  - set: {deal: =trigger.body.id}
`)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 100*time.Millisecond)
	wait := func(name string, want ...string) {
		t.Helper()
		deadline := time.Now().Add(6 * time.Second)
		for {
			got := pollRuns(t, e, name)
			if strings.Join(got, ",") == strings.Join(want, ",") {
				return
			}
			if len(got) > len(want) || time.Now().After(deadline) {
				t.Fatalf("%s: runs %v, want %v", name, got, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	step := func(updated string, amount float64, edge, level []string) {
		t.Helper()
		put(updated, amount)
		wait("deals-edge", edge...)
		wait("deals-level", level...)
		time.Sleep(1300 * time.Millisecond) // the next poll sees it
		wait("deals-edge", edge...)
		wait("deals-level", level...)
	}
	k := func(at string) string { return "poll:d1@2026-01-01T" + at + ":00Z" }
	time.Sleep(1300 * time.Millisecond)
	wait("deals-edge")
	step("2026-01-01T10:00:00Z", 150, []string{k("10:00")}, []string{k("10:00")})
	step("2026-01-01T11:00:00Z", 200, []string{k("10:00")}, []string{k("10:00"), k("11:00")})
	step("2026-01-01T12:00:00Z", 20, []string{k("10:00")}, []string{k("10:00"), k("11:00")})
	step("2026-01-01T13:00:00Z", 300, []string{k("10:00"), k("13:00")}, []string{k("10:00"), k("11:00"), k("13:00")})
	if _, _, err := e.Deploy(context.Background(), "x.yaml", []byte("name: bad\ntrigger:\n  poll: {operation: crm.listDeals, edge: true}\nsteps:\n  - set: {a: 1}\n")); err == nil || !strings.Contains(fmt.Sprintf("%v %+v", err, err), "poll.edge needs poll.when") {
		t.Fatalf("edge without when: %v", err)
	}
}
