package agent_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/weftio/weft/agent"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/pgtest"
	"github.com/weftio/weft/internal/seal"
)

// sharedPair is a control plane of two processes on one PostgreSQL
// database, a site's agent polling the second.
type sharedPair struct {
	other, polled *agent.ControlPlane
	pl            *flow.Placement
}

func newSharedPair(tb testing.TB, site, target string, pollOnly bool) *sharedPair {
	ctx := context.Background()
	dsn := pgtest.Shared(tb).NewDatabase(tb)
	keys, err := seal.New(seal.NewKey())
	if err != nil {
		tb.Fatal(err)
	}
	cp1, _, _ := controlPlaneProcess(tb, dsn, keys, pollOnly)
	cp2, e2, srv2 := controlPlaneProcess(tb, dsn, keys, pollOnly)
	_, tok, err := cp2.Create(ctx, site, nil)
	if err != nil {
		tb.Fatal(err)
	}
	pl := &flow.Placement{Site: site}
	if err := e2.SaveConnection(ctx, &connectors.Connection{Name: "erp", Connector: "http", BaseURL: target, AllowPrivate: true, Placement: pl}); err != nil {
		tb.Fatal(err)
	}
	eA, _ := sealedEngine(tb, site, nil)
	lctx, cancel := context.WithCancel(ctx)
	tb.Cleanup(cancel)
	l := &agent.Link{URL: srv2.URL, Token: tok, Site: site, Version: "bench", Engine: eA, Log: quiet, Hold: 2 * time.Second,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, TelemetryEvery: -1}
	go func() { _ = l.Run(lctx) }()
	p := &sharedPair{other: cp1, polled: cp2, pl: pl}
	waitFor(tb, 15*time.Second, "a reach-in call through the other process", func() bool {
		_, err := cp1.CallSite(ctx, pl, benchCall, 5*time.Second)
		return err == nil
	})
	if !pollOnly {
		waitFor(tb, 10*time.Second, "both processes listening", func() bool { return cp1.Listening() && cp2.Listening() })
	}
	return p
}

var benchCall = agent.Call{Connection: "erp", Operation: "http.request", Args: map[string]any{"method": "GET", "url": "/items"}}

// BenchmarkReachInAcrossProcesses: the latency of an MCP reach-in call on
// a control plane of two processes on one PostgreSQL, the site's agent
// polling the second. A call through the first goes through the database;
// with the store's announcements (LISTEN/NOTIFY) against polling only
// (PollCalls: how it was before), and the call through the process the
// agent polls for each. Each iteration makes one call of each kind, in
// turn, so the four figures share the machine's load.
//
//	go test -run '^$' -bench ReachInAcrossProcesses -benchtime 40x ./agent
func BenchmarkReachInAcrossProcesses(b *testing.B) {
	ctx := context.Background()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"item":"from-site"}`)
	}))
	defer target.Close()
	poll := newSharedPair(b, "plant-3", target.URL, true)
	listen := newSharedPair(b, "plant-4", target.URL, false)
	kinds := []struct {
		name string
		cp   *agent.ControlPlane
		pl   *flow.Placement
	}{
		{"poll-other", poll.other, poll.pl},
		{"listen-other", listen.other, listen.pl},
		{"poll-polled", poll.polled, poll.pl},
		{"listen-polled", listen.polled, listen.pl},
	}
	ds := make([][]time.Duration, len(kinds))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k, kind := range kinds {
			start := time.Now()
			if _, err := kind.cp.CallSite(ctx, kind.pl, benchCall, 5*time.Second); err != nil {
				b.Fatalf("%s: %v", kind.name, err)
			}
			ds[k] = append(ds[k], time.Since(start))
		}
	}
	b.StopTimer()
	for k, kind := range kinds {
		sort.Slice(ds[k], func(i, j int) bool { return ds[k][i] < ds[k][j] })
		b.ReportMetric(float64(ds[k][len(ds[k])/2].Microseconds())/1000, "ms-p50/"+kind.name)
		b.ReportMetric(float64(ds[k][len(ds[k])*95/100].Microseconds())/1000, "ms-p95/"+kind.name)
	}
}
