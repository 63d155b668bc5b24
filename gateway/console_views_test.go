package gateway_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/mcp"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
	"github.com/weftio/weft/store/storetest"
)

// /api/metrics?band=...&overall=true: the anomaly detector's expected band
// per bucket, learned from history before the range, and every flow's
// runs as one series.
func TestMetricSeriesBandAndOverall(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	// Three hours of about ten runs a minute of "orders" (40-60 ms), and
	// one run of "audit" three hours ago.
	now := time.Now().UTC().Truncate(time.Minute)
	var batch []store.LoggedRun
	for m := 180; m >= 1; m-- {
		for i := 0; i < 9+m%3; i++ {
			at := now.Add(-time.Duration(m)*time.Minute + time.Duration(i)*time.Second)
			fin := at.Add(time.Duration(40+i%3*10) * time.Millisecond)
			r := storetest.FinishedRuns("orders", 1)[0]
			r.Run.CreatedAt, r.Run.StartedAt, r.Run.FinishedAt = at, at, &fin
			batch = append(batch, r)
		}
	}
	audit := storetest.FinishedRuns("audit", 1)[0]
	audit.Run.CreatedAt = now.Add(-170 * time.Minute)
	audit.Run.StartedAt, audit.Run.FinishedAt = audit.Run.CreatedAt, &audit.Run.CreatedAt
	batch = append(batch, audit)
	if err := st.InsertRuns(ctx, batch); err != nil {
		t.Fatal(err)
	}
	e := engine.New(st, connectors.NewCatalog(), nil, engine.Config{})
	srv := httptest.NewServer(gateway.New(e, nil, gateway.Config{}))
	t.Cleanup(srv.Close)

	code, out, _ := call(t, "GET", srv.URL+"/api/metrics?since=30m&resolution=1m&band=runs,p95_ms&overall=true", "", nil)
	if code != 200 {
		t.Fatalf("%d %v", code, out)
	}
	series := out["series"].([]any)
	var orders map[string]any
	for _, s := range series {
		if m := s.(map[string]any); m["flow"] == "orders" {
			orders = m
		}
	}
	if orders == nil {
		t.Fatalf("no orders series: %v", out)
	}
	buckets := orders["buckets"].([]any)
	if n := len(buckets); n < 30 || n > 31 {
		t.Fatalf("%d buckets for 30m at 1m", n)
	}
	band := orders["band"].(map[string]any)
	runs := band["runs"].([]any)
	if len(runs) != len(buckets) {
		t.Fatalf("%d band points for %d buckets", len(runs), len(buckets))
	}
	p := runs[5].(map[string]any)
	if p["t"] != buckets[5].(map[string]any)["t"] {
		t.Fatalf("band point %v is not bucket %v", p["t"], buckets[5])
	}
	exp, lo, hi := p["expected"].(float64), p["low"].(float64), p["high"].(float64)
	if exp < 8.5 || exp > 11.5 || lo > 9 || hi < 11 {
		t.Fatalf("runs band: expected %v range %v..%v", exp, lo, hi)
	}
	if lat := band["p95_ms"].([]any)[5].(map[string]any); lat["expected"] == nil || lat["high"].(float64) < 50 {
		t.Fatalf("latency band %v", lat)
	}
	overall := out["overall"].(map[string]any)
	if overall["flow"] != "*" || len(overall["buckets"].([]any)) != len(buckets) || overall["band"] == nil {
		t.Fatalf("overall: %v", overall)
	}
	ob := overall["buckets"].([]any)[5].(map[string]any)
	if ob["runs"] != buckets[5].(map[string]any)["runs"] {
		t.Fatalf("overall bucket %v, orders bucket %v", ob, buckets[5])
	}

	// Without band the answer is as before: only flows with runs in range.
	_, out, _ = call(t, "GET", srv.URL+"/api/metrics?since=30m&resolution=1m", "", nil)
	if s := out["series"].([]any); len(s) != 1 || s[0].(map[string]any)["band"] != nil || out["overall"] != nil {
		t.Fatalf("plain series: %v", out)
	}
	if code, out, _ := call(t, "GET", srv.URL+"/api/metrics?band=latency", "", nil); code != 400 || errCode(out) != "invalid" {
		t.Fatalf("band=latency: %d %v", code, out)
	}
}

// GET /api/mcp/toolsets/{name}/tools lists a toolset's tools and their
// policies; an unknown toolset is 404.
func TestToolsetToolsRoute(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := engine.New(st, connectors.NewCatalog(), nil, engine.Config{})
	e.Catalog().Register(&connectors.Connector{Name: "crm", Operations: []*connectors.Operation{{Name: "deleteAccount", Description: "Delete an account",
		Hints: connectors.Hints{Destructive: true}, Input: map[string]any{"type": "object"},
		Invoke: func(context.Context, connectors.Call) (any, error) { return map[string]any{}, nil }}}})
	e.Catalog().AddConnection(&connectors.Connection{Name: "crm", Connector: "crm"})
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Policy: []mcp.Rule{{Tool: "destructive", Action: mcp.PolicyConfirm}}})
	srv := httptest.NewServer(gateway.New(e, nil, gateway.Config{MCP: gw}))
	t.Cleanup(srv.Close)
	code, out, _ := call(t, "GET", srv.URL+"/api/mcp/toolsets/all/tools", "", nil)
	if code != 200 || out["toolset"] != "all" {
		t.Fatalf("%d %v", code, out)
	}
	tools := out["tools"].([]any)
	if len(tools) != 1 {
		t.Fatalf("%v", tools)
	}
	tool := tools[0].(map[string]any)
	if tool["name"] != "crm__deleteAccount" || tool["policy"] != "confirm" || tool["destructive"] != true || tool["kind"] != "operation" {
		t.Fatalf("%v", tool)
	}
	if code, out, _ := call(t, "GET", srv.URL+"/api/mcp/toolsets/nope/tools", "", nil); code != 404 || errCode(out) != "not_found" {
		t.Fatalf("unknown toolset: %d %v", code, out)
	}
}
