package agent_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/agent"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/store"
)

// The agent's backlog (finished runs not shipped) is bounded: it warns at
// 80% of the bound, refuses new runs at it with a clear error (nothing
// accepted is dropped: retention keeps every unshipped run, however old),
// and admits runs again once shipping caught up.
func TestBacklogIsBoundedWithoutLosingRuns(t *testing.T) {
	ctx := context.Background()
	// The control plane is away: its address refuses connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	e, st := newEngine(t, "plant-3", nil)
	if _, _, err := e.Deploy(ctx, "local.yaml", []byte("name: local\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - {id: a, respond: {status: 200, body: {ok: true}}}\n")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var levels []agent.BacklogLevel
	l := &agent.Link{URL: "http://" + addr, Token: agent.TokenPrefix + "x", Site: "plant-3", Version: "test", Engine: e, Log: quiet,
		StateDir: t.TempDir(), BacklogMax: 5, Settle: time.Millisecond,
		OnBacklog: func(_ context.Context, level agent.BacklogLevel, msg string) {
			mu.Lock()
			levels = append(levels, level)
			mu.Unlock()
			if !strings.Contains(msg, "plant-3") {
				t.Errorf("alert message without the site: %s", msg)
			}
		}}
	run := func() error {
		_, err := e.Trigger(ctx, engine.Event{Flow: "local", Kind: flow.TriggerWebhook, Body: map[string]any{}})
		return err
	}
	for i := 0; i < 4; i++ {
		if err := run(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Millisecond) // past Settle
	if _, err := l.ShipOnce(ctx); err == nil {
		t.Fatal("shipping to an absent control plane succeeded")
	}
	n, level, err := l.CheckBacklog(ctx)
	if err != nil || n != 4 || level != agent.BacklogWarn {
		t.Fatalf("backlog of 4 of 5: %d %s %v", n, level, err)
	}
	if err := run(); err != nil {
		t.Fatal(err)
	}
	if n, level, _ = l.CheckBacklog(ctx); n != 5 || level != agent.BacklogFull {
		t.Fatalf("backlog at the bound: %d %s", n, level)
	}
	err = run()
	if weft.Code(err) != weft.EUnavailable || !strings.Contains(weft.Message(err), "not yet shipped") {
		t.Fatalf("a run at the bound: %v", err)
	}
	if s := l.State(); s.Backlog != 5 || s.BacklogMax != 5 || s.BacklogBytes <= 0 || s.BacklogLevel != agent.BacklogFull {
		t.Fatalf("state: %+v", s)
	}
	// Retention does not purge runs that were never shipped.
	if n, err := e.PurgeRuns(ctx, time.Nanosecond); err != nil || n != 0 {
		t.Fatalf("retention purged %d unshipped runs (%v)", n, err)
	}
	if counts, _ := st.CountRuns(ctx, ""); counts[store.RunSucceeded] != 5 {
		t.Fatalf("runs kept: %v", counts)
	}

	// The control plane returns: shipping catches up, runs are admitted,
	// and retention may purge what was shipped.
	cpEng, cpSt := newEngine(t, "", nil)
	cp := agent.NewControlPlane(cpSt.(store.Agents), cpEng, quiet)
	_, tok, err := cp.Create(ctx, "plant-3", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(cp.ServeRuns))
	defer srv.Close()
	l.URL, l.Token = srv.URL, tok
	time.Sleep(5 * time.Millisecond)
	if shipped, err := l.ShipOnce(ctx); err != nil || shipped != 5 {
		t.Fatalf("catching up: %d %v", shipped, err)
	}
	if n, level, _ = l.CheckBacklog(ctx); n != 0 || level != agent.BacklogOK {
		t.Fatalf("backlog after catching up: %d %s", n, level)
	}
	if err := run(); err != nil {
		t.Fatalf("a run after catching up: %v", err)
	}
	if runs, _, err := cp.Runs(ctx, "plant-3", "", 100); err != nil || len(runs) != 5 {
		t.Fatalf("the control plane's log: %d %v", len(runs), err)
	}
	if n, err := e.PurgeRuns(ctx, time.Nanosecond); err != nil || n != 5 {
		t.Fatalf("retention after shipping purged %d (%v), want the 5 shipped", n, err)
	}
	mu.Lock()
	got := levels
	mu.Unlock()
	if len(got) != 3 || got[0] != agent.BacklogWarn || got[1] != agent.BacklogFull || got[2] != agent.BacklogOK {
		t.Fatalf("alert levels: %v", got)
	}
}
