package monitor

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/weftio/weft/apim"
	"github.com/weftio/weft/flow"
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
	opCalls  *prometheus.CounterVec
	opDur    *prometheus.HistogramVec
	auditErr *prometheus.CounterVec
	apiCalls *prometheus.CounterVec
	apiDur   *prometheus.HistogramVec
	apiQuota *prometheus.GaugeVec
	apiLimit *prometheus.GaugeVec
	steps    sync.Map // "flow@version" -> map[step]opRef, from the stored flow

	// The series of each step and of each attempt outcome, resolved once
	// (WithLabelValues hashes every label on every call; no series is
	// ever deleted, so a resolved one stays the registry's).
	seriesMu sync.RWMutex
	stepSer  map[stepKey]*stepSeries
	countSer map[countKey]prometheus.Counter
}

type stepKey struct{ flow, step string }

type countKey struct{ flow, step, status, class string }

type stepSeries struct{ duration, inBytes, outBytes prometheus.Observer }

// stepSeriesOf returns flow's step's series (resolved once).
func (m *Metrics) stepSeriesOf(flow, step string) *stepSeries {
	k := stepKey{flow, step}
	m.seriesMu.RLock()
	ss := m.stepSer[k]
	m.seriesMu.RUnlock()
	if ss != nil {
		return ss
	}
	ss = &stepSeries{duration: m.duration.WithLabelValues(flow, step), inBytes: m.inBytes.WithLabelValues(flow, step),
		outBytes: m.outBytes.WithLabelValues(flow, step)}
	m.seriesMu.Lock()
	if m.stepSer == nil {
		m.stepSer = map[stepKey]*stepSeries{}
	}
	m.stepSer[k] = ss
	m.seriesMu.Unlock()
	return ss
}

// attemptCounter returns the attempts counter of one outcome (resolved once).
func (m *Metrics) attemptCounter(flow, step, status, class string) prometheus.Counter {
	k := countKey{flow, step, status, class}
	m.seriesMu.RLock()
	c := m.countSer[k]
	m.seriesMu.RUnlock()
	if c != nil {
		return c
	}
	c = m.attempts.WithLabelValues(flow, step, status, class)
	m.seriesMu.Lock()
	if m.countSer == nil {
		m.countSer = map[countKey]prometheus.Counter{}
	}
	m.countSer[k] = c
	m.seriesMu.Unlock()
	return c
}

// opRef is what a call step calls.
type opRef struct{ connection, operation string }

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
	m.opCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weft_operation_calls_total",
		Help: "Connector operation calls (flow call steps and MCP tool calls) by connection, operation, status and error class."},
		[]string{"connection", "operation", "status", "error_class"})
	m.opDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "weft_operation_duration_seconds",
		Help: "Connector operation call durations.", Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14)}, []string{"connection", "operation"})
	m.auditErr = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weft_audit_write_failures_total",
		Help: "Actions done whose audit entry could not be written (the server log has them), by action."}, []string{"action"})
	m.apiCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weft_api_calls_total",
		Help: "Calls of published API product versions by product, version, route (its template, \"\" when answered before one matched), consumer (\"\" when none was authenticated) and HTTP status, refusals (401, 403, 429, 400 …) included."},
		[]string{"product", "version", "route", "consumer", "status"})
	m.apiDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "weft_api_call_duration_seconds",
		Help: "Durations of calls of published API product versions.", Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14)}, []string{"product", "version", "route"})
	m.apiQuota = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "weft_api_quota_used",
		Help: "Calls a consumer has spent of its plan's quota on a product in the current UTC day or month (window), as of the last call this process counted (the count is shared by every process)."},
		[]string{"product", "consumer", "window"})
	m.apiLimit = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "weft_api_quota_limit",
		Help: "The quota of a consumer's plan on a product per UTC day or month (window)."}, []string{"product", "consumer", "window"})
	m.reg.MustRegister(m.attempts, m.duration, m.inBytes, m.outBytes, m.runs, m.retries, m.keyCalls, m.opCalls, m.opDur, m.auditErr, m.apiCalls, m.apiDur, m.apiQuota, m.apiLimit)
	return m
}

// AuditFailed counts an action whose audit entry could not be written.
func (m *Metrics) AuditFailed(action string) { m.auditErr.WithLabelValues(action).Inc() }

// ObserveAPICall counts a call of a published API product version and,
// when it was counted under a plan with quotas, sets the quota gauges.
func (m *Metrics) ObserveAPICall(c apim.CallRecord) {
	m.apiCalls.WithLabelValues(c.Product, c.Version, c.Route, c.Consumer, strconv.Itoa(c.Status)).Inc()
	m.apiDur.WithLabelValues(c.Product, c.Version, c.Route).Observe(c.Duration.Seconds())
	if a := c.Admission; a != nil && c.Consumer != "" {
		if q := c.Limits.QuotaDay; q > 0 {
			m.apiQuota.WithLabelValues(c.Product, c.Consumer, "day").Set(float64(q - a.DayRemaining))
			m.apiLimit.WithLabelValues(c.Product, c.Consumer, "day").Set(float64(q))
		}
		if q := c.Limits.QuotaMonth; q > 0 {
			m.apiQuota.WithLabelValues(c.Product, c.Consumer, "month").Set(float64(q - a.MonthRemaining))
			m.apiLimit.WithLabelValues(c.Product, c.Consumer, "month").Set(float64(q))
		}
	}
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// Register adds another series source to /metrics (the egress policy's
// refusal counter); a nil collector is ignored.
func (m *Metrics) Register(c prometheus.Collector) {
	if c != nil {
		m.reg.MustRegister(c)
	}
}

// Gatherer exposes the registry (tests, /api/metrics).
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// ObserveAttempts records transaction-log rows.
func (m *Metrics) ObserveAttempts(as []store.Attempt) {
	for _, a := range as {
		m.attemptCounter(a.Flow, a.StepID, a.Status, a.ErrorClass).Inc()
		if a.Status == store.AttemptWaited {
			continue
		}
		d := time.Duration(a.DurationUS) * time.Microsecond
		if d == 0 && !a.FinishedAt.IsZero() {
			d = a.FinishedAt.Sub(a.StartedAt)
		}
		ss := m.stepSeriesOf(a.Flow, a.StepID)
		ss.duration.Observe(d.Seconds())
		ss.inBytes.Observe(float64(a.InputSize))
		ss.outBytes.Observe(float64(a.OutputSize))
		if a.Attempt > 1 { // rare: its series exists only once a step retried
			m.retries.WithLabelValues(a.Flow, a.StepID).Inc()
		}
		if strings.HasPrefix(a.Flow, "mcp:") {
			m.keyCalls.WithLabelValues(strings.TrimPrefix(a.Flow, "mcp:"), strings.TrimPrefix(a.Worker, "key:"), a.Status).Inc()
		}
	}
}

// observeOperations records call attempts per connection and operation:
// a flow's call steps are looked up in the stored flow version (once per
// version), an MCP tool call's tool name is <connection>__<operation>.
func (m *Metrics) observeOperations(as []store.Attempt, source func(flow string, version int) []byte) {
	for _, a := range as {
		if a.Kind != "call" || a.Status == store.AttemptWaited {
			continue
		}
		var ref opRef
		if strings.HasPrefix(a.Flow, "mcp:") {
			// A tool call: the tool is <connection>__<operation> and the
			// attempt's step key what it called (connector.operation).
			conn, _, ok := strings.Cut(a.StepID, "__")
			if !ok || !strings.Contains(a.StepKey, ".") {
				continue // a Weft tool (compose_flow) or a flow tool, not an operation
			}
			ref = opRef{conn, a.StepKey}
		} else {
			key := a.Flow + "@" + strconv.Itoa(a.Version)
			v, ok := m.steps.Load(key)
			if !ok {
				v = stepOps(a.Flow, source(a.Flow, a.Version))
				m.steps.Store(key, v)
			}
			if ref, ok = v.(map[string]opRef)[a.StepID]; !ok {
				continue
			}
		}
		m.opCalls.WithLabelValues(ref.connection, ref.operation, a.Status, a.ErrorClass).Inc()
		d := time.Duration(a.DurationUS) * time.Microsecond
		if d == 0 && !a.FinishedAt.IsZero() {
			d = a.FinishedAt.Sub(a.StartedAt)
		}
		m.opDur.WithLabelValues(ref.connection, ref.operation).Observe(d.Seconds())
	}
}

// stepOps maps a flow version's call steps to what they call.
func stepOps(name string, src []byte) map[string]opRef {
	out := map[string]opRef{}
	if src == nil {
		return out
	}
	f, err := flow.Parse(name+".yaml", src)
	if err != nil {
		return out
	}
	_ = flow.Validate(f, nil) // names the steps that have no id, as the engine does
	flow.Walk(f.Steps, func(s *flow.Step) {
		if s.Kind == flow.KindCall {
			out[s.ID] = opRef{s.Connection, s.Call}
		}
	})
	return out
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

// Unwrap returns the store Observed wraps, for its optional interfaces
// (store.Identities): embedding the store.Store interface hides them.
func (o Observed) Unwrap() store.Store { return o.Store }

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
	o.M.observeOperations(as, func(name string, version int) []byte {
		fv, err := o.Store.GetFlow(context.Background(), name, version)
		if err != nil {
			return nil
		}
		return fv.Source
	})
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

// InsertRuns implements store.Store (all or none, so a failed batch counts
// none).
func (o Observed) InsertRuns(ctx context.Context, runs []store.LoggedRun) error {
	err := o.Store.InsertRuns(ctx, runs)
	if err == nil {
		for _, lr := range runs {
			o.attempts(lr.Attempts)
			o.run(lr.Run)
		}
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
