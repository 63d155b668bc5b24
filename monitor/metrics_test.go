package monitor_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/monitor"
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
	e := engine.New(monitor.Observed{Store: st, M: m}, connectors.NewCatalog(), quiet, engine.Config{})
	if _, _, err := e.Deploy(ctx, "f.yaml", []byte("name: greet\ntrigger: {webhook: {}}\nsteps:\n  - id: hello\n    set: {x: =trigger.body.n}\n  - respond: {body: =steps.hello}\n")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := e.Trigger(ctx, engine.Event{Flow: "greet", Kind: "webhook", Body: map[string]any{"n": 2.0}}); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`weft_runs_finished_total{flow="greet",status="succeeded"} 3`,
		`weft_step_attempts_total{error_class="",flow="greet",status="ok",step="hello"} 3`,
		`weft_step_duration_seconds_count{flow="greet",step="hello"} 3`,
	} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("missing %s in\n%s", want, body)
		}
	}
}
