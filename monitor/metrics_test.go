package monitor_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/apim"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/monitor"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// Runs through the real engine show up in /metrics, derived from the
// transaction-log writes.
func TestMetricsFromTheTransactionLog(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, t.TempDir(), quiet, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := monitor.NewMetrics()
	cat := connectors.NewCatalog(&connectors.Connector{Name: "demo", Title: "Demo", Version: "1", Operations: []*connectors.Operation{{
		Name: "ping", Invoke: func(context.Context, connectors.Call) (any, error) { return map[string]any{"ok": true}, nil }}}})
	if err := cat.AddConnection(&connectors.Connection{Name: "d", Connector: "demo"}); err != nil {
		t.Fatal(err)
	}
	e := engine.New(monitor.Observed{Store: st, M: m}, cat, quiet, engine.Config{})
	if _, _, err := e.Deploy(ctx, "f.yaml", []byte("name: greet\ntrigger: {webhook: {}}\nsteps:\n  - id: hello\n    set: {x: =trigger.body.n}\n  - call: demo.ping\n    connection: d\n  - respond: {body: =steps.hello}\n")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := e.Trigger(ctx, engine.Event{Flow: "greet", Kind: "webhook", Body: map[string]any{"n": 2.0}}); err != nil {
			t.Fatal(err)
		}
	}
	// An agent's tool call counts for its connection and operation too.
	e.RecordToolCall(engine.ToolCall{Toolset: "all", Tool: "d__ping", Caller: "k1", Connection: "d", Operation: "demo.ping"}, time.Now(), map[string]any{"ok": true}, nil)
	var body []byte
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body, _ = io.ReadAll(rec.Body)
		if strings.Contains(string(body), `weft_mcp_tool_calls_total`) {
			break
		}
	}
	for _, want := range []string{
		`weft_runs_finished_total{flow="greet",status="succeeded"} 3`,
		`weft_step_attempts_total{error_class="",flow="greet",status="ok",step="hello"} 3`,
		`weft_step_duration_seconds_count{flow="greet",step="hello"} 3`,
		`weft_operation_duration_seconds_count{connection="d",operation="demo.ping"} 4`,
		`weft_operation_calls_total{connection="d",error_class="",operation="demo.ping",status="ok"} 4`,
		`weft_mcp_tool_calls_total{key="k1",status="ok",toolset="all"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("missing %s in\n%s", want, body)
		}
	}
}

// An API call is counted by its route template; a call counted under a
// plan with quotas sets the quota gauges per product, consumer and window.
func TestAPICallMetrics(t *testing.T) {
	m := monitor.NewMetrics()
	lim := store.Limits{QuotaDay: 100, QuotaMonth: 1000}
	m.ObserveAPICall(apim.CallRecord{Product: "shop", Version: "v1", Route: "GET /orders/{id}", Consumer: "acme", Status: 200, Duration: time.Millisecond,
		Limits: lim, Admission: &store.Admission{Allowed: true, DayRemaining: 93, MonthRemaining: 400}})
	m.ObserveAPICall(apim.CallRecord{Product: "shop", Version: "v1", Status: 401})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	out := rec.Body.String()
	for _, want := range []string{
		`weft_api_calls_total{consumer="acme",product="shop",route="GET /orders/{id}",status="200",version="v1"} 1`,
		`weft_api_calls_total{consumer="",product="shop",route="",status="401",version="v1"} 1`,
		`weft_api_quota_used{consumer="acme",product="shop",window="day"} 7`,
		`weft_api_quota_used{consumer="acme",product="shop",window="month"} 600`,
		`weft_api_quota_limit{consumer="acme",product="shop",window="day"} 100`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
}
