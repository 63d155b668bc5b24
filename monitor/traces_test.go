package monitor

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weftio/weft/store"
)

// A run and its attempts, as written to the transaction log, become one
// trace: the run's span (trace id = the run id) with a child per attempt,
// at the log's own times, errors marked.
func TestTracesFromTheTransactionLog(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := NewTracer(sdktrace.NewSimpleSpanProcessor(exp), "weft-test")
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	runID := "0194f3a2-7c1e-7b3a-9d2e-1f2a3b4c5d6e"
	end := t0.Add(300 * time.Millisecond)
	o := Observed{Store: nopStore{}, M: NewMetrics(), Tracer: tr}
	ctx := context.Background()
	_ = o.AppendAttempts(ctx, []store.Attempt{
		{RunID: runID, Flow: "orders", StepID: "post", StepKey: "post", Kind: "call", Attempt: 1, Status: store.AttemptError,
			ErrorClass: "retryable", ErrorMessage: "503", StartedAt: t0.Add(10 * time.Millisecond), FinishedAt: t0.Add(60 * time.Millisecond)},
		{RunID: runID, Flow: "orders", StepID: "post", StepKey: "post", Kind: "call", Attempt: 2, Status: store.AttemptOK,
			StartedAt: t0.Add(100 * time.Millisecond), FinishedAt: t0.Add(250 * time.Millisecond)},
	})
	_ = o.UpdateRun(ctx, &store.Run{ID: runID, Flow: "orders", Version: 3, Status: store.RunSucceeded, TriggerKind: "webhook",
		CreatedAt: t0, StartedAt: t0, FinishedAt: &end}, nil)
	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans", len(spans))
	}
	run := spans[2]
	if run.Name != "run orders" || run.SpanContext.TraceID() != TraceID(runID) || run.Parent.IsValid() ||
		!run.StartTime.Equal(t0) || !run.EndTime.Equal(end) {
		t.Fatalf("run span %+v", run)
	}
	if TraceID(runID).String() != "0194f3a27c1e7b3a9d2e1f2a3b4c5d6e" {
		t.Fatalf("trace id %s", TraceID(runID))
	}
	for i, sp := range spans[:2] {
		if sp.Parent.SpanID() != run.SpanContext.SpanID() || sp.SpanContext.TraceID() != run.SpanContext.TraceID() || sp.Name != "step post" {
			t.Fatalf("attempt %d: %+v", i, sp)
		}
	}
	if spans[0].Status.Code != codes.Error || spans[1].Status.Code == codes.Error {
		t.Fatalf("status %v %v", spans[0].Status, spans[1].Status)
	}
	if !spans[0].EndTime.Equal(t0.Add(60 * time.Millisecond)) {
		t.Fatalf("attempt times %v", spans[0].EndTime)
	}
}

// nopStore accepts writes.
type nopStore struct{ store.Store }

func (nopStore) AppendAttempts(context.Context, []store.Attempt) error        { return nil }
func (nopStore) UpdateRun(context.Context, *store.Run, []store.Attempt) error { return nil }
func (nopStore) GetFlow(context.Context, string, int) (store.FlowVersion, error) {
	return store.FlowVersion{}, nil
}
