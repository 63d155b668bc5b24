package agent_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/weftio/weft/agent"
	"github.com/weftio/weft/store"
)

// BenchmarkShipCatchUp: the catch-up after a 60 s outage at 100 runs/s
// (6,000 finished runs waiting in the agent's store), shipped to a control
// plane over loopback HTTP, both on SQLite. Reports the catch-up time and
// the throughput.
//
//	go test -run '^$' -bench ShipCatchUp -benchtime 3x ./agent
func BenchmarkShipCatchUp(b *testing.B) {
	const backlog = 6000
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		f := newBenchFixture(b)
		_, tok, err := f.cp.Create(ctx, "plant-3", nil)
		if err != nil {
			b.Fatal(err)
		}
		e, st := newBenchEngine(b, "plant-3")
		start := time.Now().Add(-2 * time.Minute)
		var runs []store.LoggedRun
		for n := 0; n < backlog; n++ {
			at := start.Add(time.Duration(n) * 10 * time.Millisecond)
			fin := at.Add(5 * time.Millisecond)
			runs = append(runs, store.LoggedRun{Run: &store.Run{ID: fmt.Sprintf("run-%06d", n), Flow: "orders", Version: 1, Status: store.RunSucceeded,
				TriggerKind: "webhook", CreatedAt: at, StartedAt: at, FinishedAt: &fin, Sync: true}})
		}
		if err := st.InsertRuns(ctx, runs); err != nil {
			b.Fatal(err)
		}
		l := &agent.Link{URL: f.srv.URL, Token: tok, Site: "plant-3", Engine: e, Log: quiet, StateDir: b.TempDir()}
		b.StartTimer()
		t0 := time.Now()
		n, err := l.ShipOnce(ctx)
		d := time.Since(t0)
		if err != nil || n != backlog {
			b.Fatalf("shipped %d, %v", n, err)
		}
		b.ReportMetric(d.Seconds(), "s/catch-up")
		b.ReportMetric(float64(backlog)/d.Seconds(), "runs/s")
		got, _ := st.CountRuns(ctx, "orders")
		if got[store.RunSucceeded] != backlog {
			b.Fatalf("agent store: %v", got)
		}
		_, counts, err := f.cp.Runs(ctx, "plant-3", "", 1)
		if err != nil || counts[store.RunSucceeded] != backlog {
			b.Fatalf("control plane: %v %v", counts, err)
		}
	}
}

type benchFixture struct {
	cp  *agent.ControlPlane
	srv *httptest.Server
}

func newBenchFixture(b *testing.B) *benchFixture {
	e, st := newBenchEngine(b, "")
	cp := agent.NewControlPlane(st.(store.Agents), e, quiet)
	mux := http.NewServeMux()
	mux.HandleFunc(agent.SyncPath, cp.ServeSync)
	mux.HandleFunc(agent.RunsPath, cp.ServeRuns)
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return &benchFixture{cp: cp, srv: srv}
}

// BenchmarkRollout: from a deploy on the control plane to the agent's
// acknowledgement of the new version, with the agent's poll held (the
// steady state).
//
//	go test -run '^$' -bench Rollout -benchtime 5x ./agent
func BenchmarkRollout(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newBenchFixture(b)
	_, tok, err := f.cp.Create(ctx, "plant-3", nil)
	if err != nil {
		b.Fatal(err)
	}
	e, _ := newBenchEngine(b, "plant-3")
	deploy := func(v int) {
		if _, _, err := f.cp.Engine().Deploy(ctx, "f.yaml", placed("orders", "{site: plant-3}", fmt.Sprint(v))); err != nil {
			b.Fatal(err)
		}
		f.cp.Changed() // as the gateway's deploy does
	}
	deploy(0)
	l := &agent.Link{URL: f.srv.URL, Token: tok, Site: "plant-3", Engine: e, Log: quiet}
	go func() { _ = l.Run(ctx) }()
	wait := func(v int) {
		for {
			if st, err := f.cp.Get(ctx, "plant-3"); err == nil && st.InSync && len(st.Running) == 1 && st.Running[0].Version == v {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait(1)
	time.Sleep(100 * time.Millisecond) // the poll is held now
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		deploy(i + 1)
		wait(i + 2)
	}
}
