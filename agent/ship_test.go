package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/weftio/weft/agent"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/store"
)

// Run metadata goes upstream in batches, oldest first; while the link is
// down nothing is lost (the runs wait in the agent's store); a batch sent
// again (the watermark lost in a crash) is recorded once.
func TestRunLogShipping(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, tok, err := f.cp.Create(ctx, "plant-3", nil)
	if err != nil {
		t.Fatal(err)
	}
	f.deploy(t, placed("orders", "{site: plant-3}", "1"))
	f.deploy(t, []byte("name: broken\nplacement: {site: plant-3}\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - {id: boom, fail: {message: no, code: nope}}\n"))
	var down atomic.Bool
	var mu sync.Mutex
	var order []time.Time // finish times as they arrive upstream
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "cut", http.StatusBadGateway)
			return
		}
		switch r.URL.Path {
		case agent.SyncPath:
			f.cp.ServeSync(w, r)
		case agent.RunsPath:
			body, _ := io.ReadAll(r.Body)
			var req agent.ShipRequest
			_ = json.Unmarshal(body, &req)
			mu.Lock()
			for _, run := range req.Runs {
				order = append(order, *run.FinishedAt)
			}
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
			f.cp.ServeRuns(w, r)
		}
	}))
	defer proxy.Close()
	e, _ := newEngine(t, "plant-3", nil)
	dir := t.TempDir()
	l := &agent.Link{URL: proxy.URL, Token: tok, Site: "plant-3", Engine: e, Log: quiet, Hold: time.Second,
		StateDir: dir, ShipBatch: 7, Settle: time.Millisecond}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	fire := func(n int) {
		for i := 0; i < n; i++ {
			name := "orders"
			if i%5 == 4 {
				name = "broken"
			}
			res, err := e.Trigger(ctx, engine.Event{Flow: name, Kind: flow.TriggerWebhook, Body: map[string]any{}})
			if err != nil {
				t.Fatal(err)
			}
			want[res.Run.ID] = res.Run.Status
		}
	}
	fire(20)
	time.Sleep(5 * time.Millisecond)
	down.Store(true)
	if _, err := l.ShipOnce(ctx); err == nil {
		t.Fatal("shipping through a cut link succeeded")
	}
	fire(11)
	time.Sleep(5 * time.Millisecond)
	down.Store(false)
	n, err := l.ShipOnce(ctx)
	if err != nil || n != 31 {
		t.Fatalf("catch-up: shipped %d, %v", n, err)
	}
	check := func() {
		t.Helper()
		runs, counts, err := f.cp.Runs(ctx, "plant-3", "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != len(want) {
			t.Fatalf("control plane has %d runs, the agent %d", len(runs), len(want))
		}
		for _, r := range runs {
			if want[r.ID] != r.Status {
				t.Fatalf("run %s: %s upstream, %s on the agent", r.ID, r.Status, want[r.ID])
			}
			if r.Version != 1 || r.LocalVersion != 1 {
				t.Fatalf("run %s: versions %d/%d", r.ID, r.Version, r.LocalVersion)
			}
			if r.Flow == "broken" && (r.ErrorCode != "nope" || r.FailedStep != "boom") {
				t.Fatalf("failed run: %+v", r)
			}
		}
		if counts[store.RunFailed] != 6 || counts[store.RunSucceeded] != 25 {
			t.Fatalf("counts %v", counts)
		}
	}
	check()
	mu.Lock()
	for i := 1; i < len(order); i++ {
		if order[i].Before(order[i-1]) {
			t.Fatalf("shipped out of order at %d: %v after %v", i, order[i], order[i-1])
		}
	}
	if len(order) != 31 {
		t.Fatalf("%d runs arrived, want 31 (no duplicates in a catch-up)", len(order))
	}
	mu.Unlock()
	if n, err := l.ShipOnce(ctx); err != nil || n != 0 {
		t.Fatalf("nothing new: shipped %d, %v", n, err)
	}
	// The watermark lost (a crash before it was written): everything is
	// sent again and recorded once.
	if err := os.Remove(filepath.Join(dir, "agent-ship.json")); err != nil {
		t.Fatal(err)
	}
	if n, err := l.ShipOnce(ctx); err != nil || n != 31 {
		t.Fatalf("resend: %d, %v", n, err)
	}
	check()
	if n := testutil.CollectAndCount(l.Collector()); n != 7 { // link up, failures, shipped, lag, backlog runs, bytes, bound
		t.Fatalf("link metrics: %d series, want 7", n)
	}
	if err := testutil.CollectAndCompare(l.Collector(), strings.NewReader("# HELP weft_agent_shipped_runs_total Runs whose metadata this process shipped upstream.\n# TYPE weft_agent_shipped_runs_total counter\nweft_agent_shipped_runs_total 62\n"), "weft_agent_shipped_runs_total"); err != nil {
		t.Fatal(err)
	}
	// Order: each batch is oldest finished first, batches in order.
	st := l.State()
	if st.ShippedRuns != 62 || st.ShippedUntil.IsZero() {
		t.Fatalf("state %+v", st)
	}
	runs, _ := e.Store().ListRuns(ctx, store.RunFilter{Limit: 1000})
	sort.Slice(runs, func(i, j int) bool { return runs[i].FinishedAt.Before(*runs[j].FinishedAt) })
	if !st.ShippedUntil.After(*runs[len(runs)-1].FinishedAt) {
		t.Fatalf("watermark %v is not past the last run %v", st.ShippedUntil, runs[len(runs)-1].FinishedAt)
	}
}
