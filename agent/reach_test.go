package agent_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/agent"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/store"
)

// MCP reach-in at the link: the control plane queues a call for a site,
// the site's agent (dialling out only) takes it on its calls poll, runs it
// on its own engine against a system only it reaches, and posts the
// result. While the agent is away a call is refused at once; it works
// again when the agent returns. A caller that gives up has the call
// cancelled on the site. An agent refuses a call on a connection that was
// not placed on its site.
func TestReachInRunsSiteToolsThroughTheLink(t *testing.T) {
	ctx := context.Background()
	var slowCancelled atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-r.Context().Done():
				slowCancelled.Store(true)
			case <-time.After(10 * time.Second):
			}
			return
		}
		if r.Header.Get("Authorization") != "Bearer site-secret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"item":"from-site"}`)
	}))
	defer target.Close()

	cpEng, _ := sealedEngine(t, "", nil)
	cp := agent.NewControlPlane(cpEng.Store().(store.Agents), cpEng, quiet)
	mux := http.NewServeMux()
	mux.HandleFunc(agent.SyncPath, cp.ServeSync)
	mux.HandleFunc(agent.CallsPath, cp.ServeCalls)
	mux.HandleFunc(agent.ResultsPath, cp.ServeResults)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	_, tok, err := cp.Create(ctx, "plant-3", nil)
	if err != nil {
		t.Fatal(err)
	}
	pl := &flow.Placement{Site: "plant-3"}
	if err := cpEng.SaveConnection(ctx, &connectors.Connection{Name: "erp", Connector: "http", BaseURL: target.URL, AllowPrivate: true, Placement: pl}); err != nil {
		t.Fatal(err)
	}
	call := agent.Call{Connection: "erp", Operation: "http.request", Args: map[string]any{"method": "GET", "url": "/items"}}

	// No agent linked yet: refused at once, clearly.
	start := time.Now()
	_, err = cp.CallSite(ctx, pl, call, 5*time.Second)
	if weft.Code(err) != weft.EUnavailable || !strings.Contains(weft.Message(err), "offline") || time.Since(start) > time.Second {
		t.Fatalf("a call to an offline site: %v after %v", err, time.Since(start))
	}

	eA, _ := sealedEngine(t, "plant-3", nil)
	startLink := func() context.CancelFunc {
		lctx, cancel := context.WithCancel(ctx)
		l := &agent.Link{URL: srv.URL, Token: tok, Site: "plant-3", Version: "test", Engine: eA, Log: quiet, Hold: 2 * time.Second,
			MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
		go func() { _ = l.Run(lctx) }()
		return cancel
	}
	stop := startLink()
	waitFor(t, 5*time.Second, "the placed connection on the agent", func() bool { _, ok := eA.Catalog().LookupConnection("erp"); return ok })
	// The credential is the site's own.
	if err := eA.SaveConnection(ctx, &connectors.Connection{Name: "erp", Connector: "http", BaseURL: target.URL, AllowPrivate: true,
		Auth: &connectors.Auth{Type: "bearer", Token: "site-secret"}}); err != nil {
		t.Fatal(err)
	}
	var out any
	waitFor(t, 5*time.Second, "a reach-in call answered", func() bool {
		out, err = cp.CallSite(ctx, pl, call, 5*time.Second)
		return err == nil
	})
	if !strings.Contains(jsonOf(out), "from-site") {
		t.Fatalf("reach-in output: %s", jsonOf(out))
	}
	// The site logged the call too.
	waitFor(t, 5*time.Second, "the call in the site's tool-call log", func() bool {
		calls, err := eA.Store().ToolCalls(ctx, store.ToolCallFilter{Limit: 10})
		return err == nil && len(calls) > 0
	})

	// A caller that gives up: the site's call is cancelled.
	cctx, ccancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = cp.CallSite(cctx, pl, agent.Call{Connection: "erp", Operation: "http.request", Args: map[string]any{"method": "GET", "url": "/slow"}}, 30*time.Second)
	ccancel()
	if weft.Code(err) != weft.ECanceled {
		t.Fatalf("a cancelled call: %v", err)
	}
	waitFor(t, 5*time.Second, "the site's call cancelled", slowCancelled.Load)

	// Only connections placed here: a site's own connection is refused.
	if err := eA.SaveConnection(ctx, &connectors.Connection{Name: "own", Connector: "http", BaseURL: target.URL, AllowPrivate: true}); err != nil {
		t.Fatal(err)
	}
	_, err = cp.CallSite(ctx, pl, agent.Call{Connection: "own", Operation: "http.request", Args: map[string]any{"method": "GET", "url": "/items"}}, 5*time.Second)
	if weft.Code(err) != weft.EForbidden {
		t.Fatalf("a call on the site's own connection: %v", err)
	}

	// The agent goes away: refused at once; back: works again.
	stop()
	time.Sleep(4 * time.Second) // past the grace between two polls
	start = time.Now()
	_, err = cp.CallSite(ctx, pl, call, 5*time.Second)
	if weft.Code(err) != weft.EUnavailable || !strings.Contains(weft.Message(err), "offline") || time.Since(start) > time.Second {
		t.Fatalf("a call while the agent is away: %v after %v", err, time.Since(start))
	}
	stop = startLink()
	defer stop()
	waitFor(t, 5*time.Second, "reach-in after the agent returned", func() bool {
		out, err = cp.CallSite(ctx, pl, call, 5*time.Second)
		return err == nil && strings.Contains(jsonOf(out), "from-site")
	})
	// A revoked agent's calls poll is refused: the site is offline for
	// reach-in.
	if err := cp.Revoke(ctx, "plant-3"); err != nil {
		t.Fatal(err)
	}
	_, err = cp.CallSite(ctx, pl, call, 5*time.Second)
	if weft.Code(err) != weft.EUnavailable || !strings.Contains(weft.Message(err), "revoked") {
		t.Fatalf("a call to a revoked agent's site: %v", err)
	}
}

func waitFor(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
