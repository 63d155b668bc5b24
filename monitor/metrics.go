package monitor

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/weftio/weft/store"
)

// Metrics are derived from the transaction log only: every step attempt
// and every finished run as it is written (flows, and MCP tool calls,
// whose runs are the pseudo-flows mcp:<toolset> with the key as worker).
type Metrics struct {
	reg      *prometheus.Registry
	attempts *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inBytes  *prometheus.HistogramVec
	outBytes *prometheus.HistogramVec
	runs     *prometheus.CounterVec
	retries  *prometheus.CounterVec
	keyCalls *prometheus.CounterVec
}

// NewMetrics registers Weft's series on a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weft_step_attempts_total",
		Help: "Step attempts by flow, step, status and error class (transaction log)."}, []string{"flow", "step", "status", "error_class"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "weft_step_duration_seconds",
		Help: "Step attempt durations.", Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14)}, []string{"flow", "step"})
	m.inBytes = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "weft_step_input_bytes",
		Help: "Step input payload sizes.", Buckets: prometheus.ExponentialBuckets(64, 4, 10)}, []string{"flow", "step"})
	m.outBytes = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "weft_step_output_bytes",
		Help: "Step output payload sizes.", Buckets: prometheus.ExponentialBuckets(64, 4, 10)}, []string{"flow", "step"})
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weft_runs_finished_total",
		Help: "Finished runs by flow and status (dead = in the dead-letter queue)."}, []string{"flow", "status"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weft_step_retries_total",
		Help: "Attempts after the first, by flow and step."}, []string{"flow", "step"})
	m.keyCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weft_mcp_tool_calls_total",
		Help: "MCP tool calls by toolset, API key and outcome."}, []string{"toolset", "key", "status"})
	m.reg.MustRegister(m.attempts, m.duration, m.inBytes, m.outBytes, m.runs, m.retries, m.keyCalls)
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// Gatherer exposes the registry (tests, /api/metrics).
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// ObserveAttempts records transaction-log rows.
func (m *Metrics) ObserveAttempts(as []store.Attempt) {
	for _, a := range as {
		m.attempts.WithLabelValues(a.Flow, a.StepID, a.Status, a.ErrorClass).Inc()
		if a.Status == store.AttemptWaited {
			continue
		}
		d := time.Duration(a.DurationUS) * time.Microsecond
		if d == 0 && !a.FinishedAt.IsZero() {
			d = a.FinishedAt.Sub(a.StartedAt)
		}
		m.duration.WithLabelValues(a.Flow, a.StepID).Observe(d.Seconds())
		m.inBytes.WithLabelValues(a.Flow, a.StepID).Observe(float64(a.InputSize))
		m.outBytes.WithLabelValues(a.Flow, a.StepID).Observe(float64(a.OutputSize))
		if a.Attempt > 1 {
			m.retries.WithLabelValues(a.Flow, a.StepID).Inc()
		}
		if strings.HasPrefix(a.Flow, "mcp:") {
			m.keyCalls.WithLabelValues(strings.TrimPrefix(a.Flow, "mcp:"), strings.TrimPrefix(a.Worker, "key:"), a.Status).Inc()
		}
	}
}

// ObserveRun records a run when it finishes.
func (m *Metrics) ObserveRun(r *store.Run) {
	if r == nil || r.FinishedAt == nil {
		return
	}
	m.runs.WithLabelValues(r.Flow, r.Status).Inc()
}

// Observed wraps a store so that everything written to the transaction
// log also updates the metrics. Reads pass through.
type Observed struct {
	store.Store
	M       *Metrics
	Alerter *Alerter // optional: alert rules over finished runs
	Tracer  *Tracer  // optional: OpenTelemetry spans of runs and attempts
}

func (o Observed) run(r *store.Run) {
	o.M.ObserveRun(r)
	if o.Alerter != nil {
		o.Alerter.ObserveRun(r)
	}
	if o.Tracer != nil {
		o.Tracer.Run(r)
	}
}

func (o Observed) attempts(as []store.Attempt) {
	o.M.ObserveAttempts(as)
	if o.Tracer != nil {
		o.Tracer.Attempts(as)
	}
}

// UpdateRun implements store.Store.
func (o Observed) UpdateRun(ctx context.Context, r *store.Run, attempts []store.Attempt) error {
	err := o.Store.UpdateRun(ctx, r, attempts)
	if err == nil {
		o.attempts(attempts)
		o.run(r)
	}
	return err
}

// InsertRun implements store.Store.
func (o Observed) InsertRun(ctx context.Context, r *store.Run, attempts []store.Attempt) error {
	err := o.Store.InsertRun(ctx, r, attempts)
	if err == nil {
		o.attempts(attempts)
		o.run(r)
	}
	return err
}

// AppendAttempts implements store.Store.
func (o Observed) AppendAttempts(ctx context.Context, attempts []store.Attempt) error {
	err := o.Store.AppendAttempts(ctx, attempts)
	if err == nil {
		o.attempts(attempts)
	}
	return err
}

// Checkpoint implements store.Store.
func (o Observed) Checkpoint(ctx context.Context, runID string, attempts []store.Attempt) error {
	err := o.Store.Checkpoint(ctx, runID, attempts)
	if err == nil {
		o.attempts(attempts)
	}
	return err
}
