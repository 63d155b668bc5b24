package agent_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/agent"
	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/pgtest"
	"github.com/weftio/weft/internal/seal"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/postgres"
)

// A control plane of two processes on one PostgreSQL: the site's agent
// polls process 2 only; an MCP reach-in call received by process 1 runs
// through the database (queued by 1, taken by 2's held calls poll, the
// result posted to 2 and read by 1). Its progress notifications reach the
// caller on process 1 as on process 2; a caller on 1 that gives up has the
// call cancelled on the site; with the agent away, process 1 refuses at
// once.
func TestReachInAcrossControlPlaneProcesses(t *testing.T) {
	ctx := context.Background()
	var slowCancelled atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			select {
			case <-r.Context().Done():
				slowCancelled.Store(true)
			case <-time.After(10 * time.Second):
			}
			return
		case "/wait":
			time.Sleep(1300 * time.Millisecond)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"item":"from-site"}`)
	}))
	defer target.Close()

	dsn := pgtest.Shared(t).NewDatabase(t)
	keys, err := seal.New(seal.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	cp1, _, srv1 := controlPlaneProcess(t, dsn, keys, false)
	cp2, e2, srv2 := controlPlaneProcess(t, dsn, keys, false)
	_, tok, err := cp2.Create(ctx, "plant-3", nil)
	if err != nil {
		t.Fatal(err)
	}
	pl := &flow.Placement{Site: "plant-3"}
	if err := e2.SaveConnection(ctx, &connectors.Connection{Name: "erp", Connector: "http", BaseURL: target.URL, AllowPrivate: true, Placement: pl}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e2.Deploy(ctx, "slow.yaml", []byte("name: slow\nplacement: {site: plant-3}\ntrigger: {webhook: {mode: sync}}\nsteps:\n"+
		"  - {id: get, call: http.request, connection: erp, with: {method: GET, url: /wait}}\n"+
		"  - {id: answer, respond: {status: 200, body: {got: =steps.get.body.item}}}\n")); err != nil {
		t.Fatal(err)
	}
	call := agent.Call{Connection: "erp", Operation: "http.request", Args: map[string]any{"method": "GET", "url": "/items"}}

	eA, _ := sealedEngine(t, "plant-3", nil)
	linkURL := srv2.URL
	startLink := func() context.CancelFunc {
		lctx, cancel := context.WithCancel(ctx)
		l := &agent.Link{URL: linkURL, Token: tok, Site: "plant-3", Version: "test", Engine: eA, Log: quiet, Hold: 2 * time.Second,
			MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, TelemetryEvery: -1}
		go func() { _ = l.Run(lctx) }()
		return cancel
	}
	stop := startLink()
	waitFor(t, 10*time.Second, "the placed flow on the agent", func() bool { _, _, err := eA.Flow(ctx, "slow", 0); return err == nil })

	// Through process 1, whose process the agent does not poll.
	var out any
	waitFor(t, 10*time.Second, "a reach-in call through process 1", func() bool {
		out, err = cp1.CallSite(ctx, pl, call, 5*time.Second)
		return err == nil
	})
	if !strings.Contains(jsonOf(out), "from-site") {
		t.Fatalf("output through process 1: %s", jsonOf(out))
	}
	// The added cost of the hop through the database, against process 2.
	const n = 20
	var d1, d2 []time.Duration
	for i := 0; i < n; i++ {
		for _, c := range []struct {
			cp *agent.ControlPlane
			d  *[]time.Duration
		}{{cp1, &d1}, {cp2, &d2}} {
			start := time.Now()
			if _, err := c.cp.CallSite(ctx, pl, call, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			*c.d = append(*c.d, time.Since(start))
		}
	}
	med := func(ds []time.Duration) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	t.Logf("reach-in call p50 over %d calls: through the process the agent polls %v; through the other process (the database) %v", n, med(d2), med(d1))

	// Progress notifications pass through, on either process.
	for i, cp := range []*agent.ControlPlane{cp1, cp2} {
		var mu sync.Mutex
		var msgs []string
		pctx := connectors.WithProgress(ctx, func(progress, total float64, message string) {
			mu.Lock()
			msgs = append(msgs, message)
			mu.Unlock()
		})
		out, err := cp.CallSite(pctx, pl, agent.Call{Flow: "slow", Args: map[string]any{}}, 10*time.Second)
		if err != nil || !strings.Contains(jsonOf(out), "from-site") {
			t.Fatalf("process %d: the slow flow: %v %s", i+1, err, jsonOf(out))
		}
		mu.Lock()
		if len(msgs) == 0 || !strings.Contains(msgs[0], "flow slow running on site plant-3") {
			t.Fatalf("process %d: progress notifications: %q", i+1, msgs)
		}
		mu.Unlock()
	}

	// A caller on process 1 gives up: the site's call is cancelled.
	cctx, ccancel := context.WithTimeout(ctx, 700*time.Millisecond)
	_, err = cp1.CallSite(cctx, pl, agent.Call{Connection: "erp", Operation: "http.request", Args: map[string]any{"method": "GET", "url": "/slow"}}, 30*time.Second)
	ccancel()
	if weft.Code(err) != weft.ECanceled {
		t.Fatalf("a cancelled call: %v", err)
	}
	waitFor(t, 5*time.Second, "the site's call cancelled", slowCancelled.Load)

	// The agent goes away: process 1 refuses at once; back: works again.
	stop()
	time.Sleep(4 * time.Second)
	start := time.Now()
	_, err = cp1.CallSite(ctx, pl, call, 5*time.Second)
	if weft.Code(err) != weft.EUnavailable || !strings.Contains(weft.Message(err), "offline") || time.Since(start) > time.Second {
		t.Fatalf("a call through process 1 while the agent is away: %v after %v", err, time.Since(start))
	}
	stop = startLink()
	defer func() { stop() }()
	waitFor(t, 10*time.Second, "reach-in through process 1 after the agent returned", func() bool {
		out, err = cp1.CallSite(ctx, pl, call, 5*time.Second)
		return err == nil && strings.Contains(jsonOf(out), "from-site")
	})
	// Behind a load balancer that alternates the agent's requests between
	// the two processes: every call through either process is answered.
	stop()
	var next atomic.Int64
	u1, _ := url.Parse(srv1.URL)
	u2, _ := url.Parse(srv2.URL)
	rr := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		if next.Add(1)%2 == 0 {
			r.SetURL(u1)
		} else {
			r.SetURL(u2)
		}
	}})
	defer rr.Close()
	linkURL = rr.URL
	stop = startLink()
	waitFor(t, 10*time.Second, "reach-in behind the load balancer", func() bool {
		_, err = cp1.CallSite(ctx, pl, call, 5*time.Second)
		return err == nil
	})
	for i := 0; i < 20; i++ {
		cp := []*agent.ControlPlane{cp1, cp2}[i%2]
		if out, err := cp.CallSite(ctx, pl, call, 5*time.Second); err != nil || !strings.Contains(jsonOf(out), "from-site") {
			t.Fatalf("call %d behind the load balancer: %v %s", i, err, jsonOf(out))
		}
	}
	// No row is left behind.
	if n, err := cp1.Engine().Store().(store.AgentCalls).PurgeAgentCalls(ctx, time.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("calls left in the database: %d %v", n, err)
	}
}

// controlPlaneProcess starts one control-plane process on the PostgreSQL
// database dsn: its engine sealing with keys, its shared call routing
// running, its agent endpoints served. pollOnly turns the store's
// announcements off (PollCalls), as it was before LISTEN/NOTIFY.
func controlPlaneProcess(tb testing.TB, dsn string, keys *seal.Keyring, pollOnly bool) (*agent.ControlPlane, *engine.Engine, *httptest.Server) {
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn, quiet, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	e := engine.New(st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), quiet, engine.Config{Keys: keys})
	cp := agent.NewControlPlane(st, e, quiet)
	cp.PollCalls = pollOnly
	if !cp.ShareCalls() {
		tb.Fatal("a PostgreSQL store cannot route calls")
	}
	rctx, cancel := context.WithCancel(ctx)
	tb.Cleanup(cancel)
	go cp.RunShared(rctx)
	mux := http.NewServeMux()
	mux.HandleFunc(agent.SyncPath, cp.ServeSync)
	mux.HandleFunc(agent.CallsPath, cp.ServeCalls)
	mux.HandleFunc(agent.ResultsPath, cp.ServeResults)
	mux.HandleFunc(agent.ProgressPath, cp.ServeProgress)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return cp, e, srv
}
