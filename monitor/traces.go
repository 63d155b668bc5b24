package monitor

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/weftio/weft/store"
)

// Tracer turns what is written to the transaction log into OpenTelemetry
// spans: one span per run (its trace id is the run's id, so a trace is
// found from a run and back) and a child span per step attempt, with the
// log's own times. Off unless an OTLP endpoint is configured.
type Tracer struct {
	tp *sdktrace.TracerProvider
	t  trace.Tracer
}

// NewOTLPTracer exports to an OTLP/HTTP endpoint (e.g.
// http://127.0.0.1:4318/v1/traces). hc (nil: the exporter's own client)
// carries the egress policy.
func NewOTLPTracer(ctx context.Context, endpoint, service string, hc *http.Client) (*Tracer, error) {
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(endpoint)}
	if hc != nil {
		opts = append(opts, otlptracehttp.WithHTTPClient(hc))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return NewTracer(sdktrace.NewBatchSpanProcessor(exp), service), nil
}

// NewTracer sends spans to a span processor (tests use a synchronous one).
func NewTracer(sp sdktrace.SpanProcessor, service string) *Tracer {
	if service == "" {
		service = "weft"
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp), sdktrace.WithIDGenerator(runIDs{}),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))))
	return &Tracer{tp: tp, t: tp.Tracer("github.com/weftio/weft")}
}

// Shutdown flushes and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error { return t.tp.Shutdown(ctx) }

type fixedIDs struct {
	t trace.TraceID
	s trace.SpanID
}

type idsKey struct{}

// runIDs gives a run's span the ids derived from the run; other spans
// random ones.
type runIDs struct{}

func (runIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if f, ok := ctx.Value(idsKey{}).(fixedIDs); ok {
		return f.t, f.s
	}
	var t trace.TraceID
	_, _ = rand.Read(t[:])
	return t, runIDs{}.NewSpanID(ctx, t)
}

func (runIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	var s trace.SpanID
	_, _ = rand.Read(s[:])
	return s
}

// TraceID is the trace of a run: its UUID's bytes (or a hash of another id).
func TraceID(runID string) trace.TraceID {
	var t trace.TraceID
	if u, err := uuid.Parse(runID); err == nil {
		copy(t[:], u[:])
		return t
	}
	h := sha256.Sum256([]byte(runID))
	copy(t[:], h[:16])
	return t
}

func runSpanID(runID string) trace.SpanID {
	var s trace.SpanID
	h := sha256.Sum256([]byte("run:" + runID))
	copy(s[:], h[:8])
	return s
}

// Attempts records one span per finished attempt, under its run's span.
func (t *Tracer) Attempts(as []store.Attempt) {
	for _, a := range as {
		if a.FinishedAt.IsZero() || a.Status == store.AttemptWaited {
			continue
		}
		parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: TraceID(a.RunID), SpanID: runSpanID(a.RunID),
			TraceFlags: trace.FlagsSampled, Remote: true})
		ctx := trace.ContextWithRemoteSpanContext(context.Background(), parent)
		_, sp := t.t.Start(ctx, "step "+a.StepKey, trace.WithTimestamp(a.StartedAt), trace.WithSpanKind(kindOf(a)),
			trace.WithAttributes(attribute.String("weft.run.id", a.RunID), attribute.String("weft.flow", a.Flow),
				attribute.String("weft.step", a.StepID), attribute.String("weft.step.kind", a.Kind),
				attribute.Int("weft.attempt", a.Attempt), attribute.String("weft.status", a.Status),
				attribute.Int("weft.input_bytes", a.InputSize), attribute.Int("weft.output_bytes", a.OutputSize)))
		if a.ErrorClass != "" {
			sp.SetAttributes(attribute.String("weft.error_class", a.ErrorClass))
			sp.SetStatus(codes.Error, a.ErrorMessage)
		}
		sp.End(trace.WithTimestamp(a.FinishedAt))
	}
}

func kindOf(a store.Attempt) trace.SpanKind {
	if a.Kind == "call" {
		return trace.SpanKindClient
	}
	return trace.SpanKindInternal
}

// Run records a finished run's span.
func (t *Tracer) Run(r *store.Run) {
	if r == nil || r.FinishedAt == nil {
		return
	}
	ctx := context.WithValue(context.Background(), idsKey{}, fixedIDs{TraceID(r.ID), runSpanID(r.ID)})
	start := r.StartedAt
	if start.IsZero() {
		start = r.CreatedAt
	}
	name := "run " + r.Flow
	kind := trace.SpanKindServer
	if strings.HasPrefix(r.Flow, "mcp:") {
		name = "mcp " + r.Flow
	}
	_, sp := t.t.Start(ctx, name, trace.WithTimestamp(start), trace.WithSpanKind(kind), trace.WithNewRoot(),
		trace.WithAttributes(attribute.String("weft.run.id", r.ID), attribute.String("weft.flow", r.Flow),
			attribute.Int("weft.flow.version", r.Version), attribute.String("weft.trigger", r.TriggerKind),
			attribute.String("weft.status", r.Status)))
	if r.Status == store.RunFailed || r.Status == store.RunDead {
		sp.SetAttributes(attribute.String("weft.error_code", r.ErrorCode), attribute.String("weft.failed_step", r.FailedStep))
		sp.SetStatus(codes.Error, r.ErrorMessage)
	}
	sp.End(trace.WithTimestamp(*r.FinishedAt))
}
