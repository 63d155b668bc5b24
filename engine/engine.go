// Package engine is Weft's deterministic, durable runtime. It executes runs
// of flow versions, checkpoints every step's output in the transaction log,
// resumes after a crash from the first unfinished step, retries with
// exponential backoff and jitter, dead-letters exhausted runs, replays them,
// and enforces per-flow concurrency and rate limits.
//
// It knows flows (flow), connectors (connectors) and the store contract
// (store); it knows nothing about HTTP or MCP.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"golang.org/x/time/rate"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/jsonenc"
	"github.com/weftio/weft/store"
)

// Config tunes the engine.
type Config struct {
	DefaultCapture string        // none | metadata | full (default metadata)
	SyncTimeout    time.Duration // a synchronous run's whole budget (default 30s)
	LongWait       time.Duration // async waits longer than this release the worker (default 2s)
	WorkerID       string        // recorded on every attempt (default host:pid)
	Keys           Sealer        // seals stored connections (nil: connections only from config)
	// Payloads, with Keys, is the envelope encryption of payloads at rest
	// (internal/seal.Envelope, set as the store's payload sealer): key
	// rotation rewraps its data keys. Nil: payloads are not sealed.
	Payloads PayloadKeys
	// Secret looks up a named secret (WEFT_SECRET_<NAME>) so a deploy can
	// refuse a webhook signature whose secret is set but empty.
	Secret func(name string) (string, bool)
	// AuditRetention: audit entries older than this are purged by
	// RunRetention, the chain kept verifiable from its new anchor (0: kept
	// forever).
	AuditRetention time.Duration
	// LoopHops is how many runs in a row a flow may cause itself through
	// its own poll trigger (a run writing a record its trigger then sees)
	// before the engine stops the chain (default 2; negative: no limit).
	LoopHops int
	// OnLoop is told when loop protection stops a chain (the monitor
	// raises an alert).
	OnLoop func(ctx context.Context, l Loop)
	// Site and Labels place this engine in a hybrid deployment: "" is a
	// control plane (or a single install), which keeps placed flows'
	// versions but runs none of them; a runtime agent's site runs the
	// placed flows that match it and refuses to deploy any other.
	Site   string
	Labels map[string]string
	// Dialer, when set, gives the dial function for connections the
	// engine itself opens (a cdc trigger's to its database), named for the
	// egress policy; nil: direct dials.
	Dialer func(who string) func(ctx context.Context, network, addr string) (net.Conn, error)
	// OnCDC is told when a cdc flow's stream has been in trouble for
	// CDCAlertAfter (it cannot start, or its slot lags more than CDCLagAlert
	// bytes), and when it is well again (the monitor raises and resolves
	// an alert).
	OnCDC func(ctx context.Context, t CDCTrouble)
	// OnQueue is told when a nats or amqp trigger has failed to consume
	// (no such stream or queue, no server, refused) for QueueAlertAfter
	// (default 1 minute), and again when it consumes again (Resolved).
	OnQueue         func(ctx context.Context, t QueueTrouble)
	QueueAlertAfter time.Duration
	CDCLagAlert     int64         // default 1 GiB; negative: no lag alert
	CDCAlertAfter   time.Duration // default 1 minute
	// QueueAckWait is how long a NATS JetStream server waits for a nats
	// trigger's acknowledgement before it delivers a message again
	// (default 30s).
	QueueAckWait time.Duration
}

// Engine runs flows.
type Engine struct {
	st  store.Store
	cat *connectors.Catalog
	log *slog.Logger
	cfg Config
	now func() time.Time

	mu      sync.Mutex
	flows   map[flowKey]*flow.Flow // compiled flows by name and version
	limits  map[string]*limiter    // flow name -> limits
	running map[string]context.CancelCauseFunc
	sources map[string]Source // pulled trigger kinds -> source
	wake    chan struct{}     // a queue trigger received a message: pull now
	active  map[string]activeEntry
	conns   connState
	loops   loopGuard

	shutdown chan struct{}
	closing  sync.Once

	withdrawn atomic.Pointer[map[string]bool]  // placed flows withdrawn from this site
	admit     atomic.Pointer[func() error]     // nil: every run is admitted (SetAdmission)
	floor     atomic.Pointer[func() time.Time] // retention never purges runs finished at or after it (SetPurgeFloor)

	toolLogStart sync.Once
	tlogMu       sync.RWMutex
	tlog         *toolLog
	tlogClosed   bool
}

type limiter struct {
	sem  chan struct{}
	rate *rate.Limiter
	conf flow.Limits
}

// New returns an engine over st and cat.
func New(st store.Store, cat *connectors.Catalog, log *slog.Logger, cfg Config) *Engine {
	if log == nil {
		log = slog.Default()
	}
	if cfg.DefaultCapture == "" {
		cfg.DefaultCapture = "metadata"
	}
	if cfg.SyncTimeout == 0 {
		cfg.SyncTimeout = 30 * time.Second
	}
	if cfg.LongWait == 0 {
		cfg.LongWait = 2 * time.Second
	}
	if cfg.WorkerID == "" {
		host, _ := os.Hostname()
		cfg.WorkerID = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	e := &Engine{st: st, cat: cat, log: log, cfg: cfg, now: time.Now,
		flows: map[flowKey]*flow.Flow{}, limits: map[string]*limiter{}, running: map[string]context.CancelCauseFunc{},
		sources:  map[string]Source{flow.TriggerSchedule: ScheduleSource{}},
		wake:     make(chan struct{}, 1),
		active:   map[string]activeEntry{},
		conns:    connState{loaded: map[string]time.Time{}, placed: map[string]PlacedConnection{}},
		shutdown: make(chan struct{})}
	e.sources[flow.TriggerPoll] = newPollSource(e)
	e.sources[flow.TriggerCDC] = newCDCSource(e)
	e.sources[flow.TriggerNATS] = newQueueSource(e, flow.TriggerNATS)
	e.sources[flow.TriggerAMQP] = newQueueSource(e, flow.TriggerAMQP)
	e.sources[flow.TriggerAlert] = newAlertSource(e)
	return e
}

// Store returns the engine's store.
func (e *Engine) Store() store.Store { return e.st }

// Catalog returns the engine's catalog.
func (e *Engine) Catalog() *connectors.Catalog { return e.cat }

// Workers returns the River workers to start the queue with.
func (e *Engine) Workers() *river.Workers {
	w := river.NewWorkers()
	river.AddWorker(w, &worker{e: e})
	return w
}

// BeginShutdown makes running async work snooze back to the queue.
func (e *Engine) BeginShutdown() {
	e.closing.Do(func() { close(e.shutdown) })
}

// --- flows -------------------------------------------------------------

// Validate parses and validates a flow file against the catalog.
func (e *Engine) Validate(file string, src []byte) (*flow.Flow, error) {
	f, err := flow.Load(file, src, e.cat)
	if err != nil {
		return nil, err
	}
	if err := e.checkDrift(f); err != nil {
		return nil, err
	}
	return f, nil
}

// checkDrift refuses a flow that calls an operation whose schema changed
// incompatibly upstream since it was accepted (a federated MCP tool): the
// step was written against a schema the upstream no longer honours.
func (e *Engine) checkDrift(f *flow.Flow) error {
	var problems []string
	flow.Walk(f.Steps, func(s *flow.Step) {
		if s.Call == "" {
			return
		}
		op, ok := e.cat.Operation(s.Call)
		if !ok || op.Drift == nil {
			return
		}
		if d := op.Drift(); d != "" {
			conn, _, _ := strings.Cut(s.Call, ".")
			problems = append(problems, fmt.Sprintf("step %s: %s changed upstream since it was accepted: %s (check the step, then accept the new schema: weft connector refresh %s --accept)", s.ID, s.Call, d, conn))
		}
	})
	if len(problems) > 0 {
		return weft.Errorf(weft.EInvalid, "%s: %s", f.Name, strings.Join(problems, "; "))
	}
	return nil
}

// Deploy validates src and stores it as the next version of its flow.
func (e *Engine) Deploy(ctx context.Context, file string, src []byte) (store.FlowVersion, *flow.Flow, error) {
	return e.DeployIn(ctx, "", file, src)
}

// DeployIn is Deploy into namespace when the flow names none ("": the
// deployed flow's, else default); a flow that names another is invalid.
func (e *Engine) DeployIn(ctx context.Context, namespace, file string, src []byte) (store.FlowVersion, *flow.Flow, error) {
	f, err := e.Validate(file, src)
	if err != nil {
		return store.FlowVersion{}, nil, err
	}
	if namespace != "" {
		if f.Namespace != "" && f.Namespace != namespace {
			return store.FlowVersion{}, nil, weft.Errorf(weft.EInvalid, "flow %s names namespace %q, the request %q", f.Name, f.Namespace, namespace)
		}
		f.Namespace = namespace
	}
	if f.Placement != nil && e.cfg.Site != "" && !f.Placement.Matches(e.cfg.Site, e.cfg.Labels) {
		return store.FlowVersion{}, nil, weft.Errorf(weft.EForbidden, "flow %s is placed on %s: this agent is site %q and refuses it", f.Name, f.Placement, e.cfg.Site)
	}
	if err := e.checkSubflows(ctx, f); err != nil {
		return store.FlowVersion{}, nil, err
	}
	if err := e.checkSignatureSecret(f); err != nil {
		return store.FlowVersion{}, nil, err
	}
	if err := e.checkNamespace(ctx, f); err != nil {
		return store.FlowVersion{}, nil, err
	}
	fv, err := e.st.DeployFlow(ctx, f.Name, f.Namespace, file, src)
	if err != nil {
		return fv, nil, err
	}
	f.Namespace = fv.Namespace
	e.mu.Lock()
	e.flows[flowKey{f.Name, fv.Version}] = f
	e.forgetLookups(f.Name)
	e.mu.Unlock()
	return fv, f, nil
}

// checkSignatureSecret refuses a webhook signature whose secret is set on
// this server but empty: an HMAC keyed with nothing is one anybody can
// compute. (A secret not set here may be set where the flow runs; requests
// to a server without it are refused.)
func (e *Engine) checkSignatureSecret(f *flow.Flow) error {
	if e.cfg.Secret == nil || f.Trigger.Webhook == nil || f.Trigger.Webhook.Signature == nil {
		return nil
	}
	name := f.Trigger.Webhook.Signature.Secret
	if v, ok := e.cfg.Secret(name); ok && v == "" {
		return weft.Errorf(weft.EUnprocessable, "flow %s: webhook signature secret %q is set but empty (WEFT_SECRET_%s=): set it to a random value of at least 16 bytes", f.Name, name, strings.ToUpper(name))
	}
	return nil
}

// FlowNamespace is the namespace a deploy of f puts it in: the one it
// names, else the deployed flow's, else default.
func (e *Engine) FlowNamespace(ctx context.Context, f *flow.Flow) (string, error) {
	if f.Namespace != "" {
		return f.Namespace, nil
	}
	cur, err := e.st.GetFlow(ctx, f.Name, 0)
	switch {
	case err == nil:
		return access.NamespaceOr(cur.Namespace), nil
	case weft.Code(err) == weft.ENotFound:
		return access.DefaultNamespace, nil
	}
	return "", err
}

// checkNamespace keeps a flow to its own namespace: the connections it
// names and the subflows it calls must belong to the namespace it is
// deployed in (a flow of one team never uses another team's credentials).
func (e *Engine) checkNamespace(ctx context.Context, f *flow.Flow) error {
	ns, err := e.FlowNamespace(ctx, f)
	if err != nil {
		return err
	}
	var probs []weft.Problem
	conn := func(pos, name string) {
		if name == "" {
			return
		}
		if c, ok := e.cat.LookupConnection(name); ok && access.NamespaceOr(c.Namespace) != ns {
			probs = append(probs, weft.Problem{Pos: pos, Message: fmt.Sprintf("connection %q belongs to namespace %q: a flow in namespace %q may use only its own namespace's connections", name, access.NamespaceOr(c.Namespace), ns)})
		}
	}
	if pt := f.Trigger.Poll; pt != nil {
		conn(pt.Pos, pt.Connection)
	}
	if ct := f.Trigger.CDC; ct != nil {
		conn(ct.Pos, ct.Connection)
	}
	if qt := f.Trigger.Queue(); qt != nil {
		conn(qt.Pos, qt.Connection)
	}
	flow.Walk(f.Steps, func(s *flow.Step) {
		conn(s.Pos, s.Connection)
		if s.Kind == flow.KindSubflow && s.Subflow != "" && s.Subflow != f.Name {
			if sub, err := e.st.GetFlow(ctx, s.Subflow, 0); err == nil && access.NamespaceOr(sub.Namespace) != ns {
				probs = append(probs, weft.Problem{Pos: s.Pos, Message: fmt.Sprintf("subflow %q belongs to namespace %q: a flow in namespace %q may call only its own namespace's flows", s.Subflow, access.NamespaceOr(sub.Namespace), ns)})
			}
		}
	})
	if len(probs) > 0 {
		return &weft.Error{Code: weft.EUnprocessable, Message: fmt.Sprintf("flow %q reaches outside namespace %q", f.Name, ns), Problems: probs}
	}
	return nil
}

// checkSubflows rejects subflows that do not exist or that form a cycle.
func (e *Engine) checkSubflows(ctx context.Context, f *flow.Flow) error {
	var probs []weft.Problem
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		for _, p := range path {
			if p == name {
				probs = append(probs, weft.Problem{Message: "subflow cycle: " + strings.Join(append(path, name), " -> ")})
				return nil
			}
		}
		var subs []string
		if name == f.Name {
			subs = f.Subflows()
		} else {
			sf, _, err := e.Flow(ctx, name, 0)
			if err != nil {
				if weft.Code(err) == weft.ENotFound {
					probs = append(probs, weft.Problem{Message: fmt.Sprintf("subflow %q is not deployed", name)})
					return nil
				}
				return err
			}
			subs = sf.Subflows()
		}
		for _, s := range subs {
			if err := visit(s, append(path, name)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(f.Name, nil); err != nil {
		return err
	}
	if len(probs) > 0 {
		return &weft.Error{Code: weft.EUnprocessable, Message: fmt.Sprintf("flow %q has %d problem(s)", f.Name, len(probs)), Problems: probs}
	}
	return nil
}

func key(name string, v int) string { return fmt.Sprintf("%s@%d", name, v) }

// flowKey is a compiled flow's key: a struct, so that looking one up per
// run formats nothing.
type flowKey struct {
	name    string
	version int
}

// activeTTL bounds how long a process may keep serving a flow version after
// another process deployed or rolled back (this process invalidates at once).
const activeTTL = time.Second

type activeEntry struct {
	fv store.FlowVersion
	at time.Time
}

// Rollback re-activates an older version.
func (e *Engine) Rollback(ctx context.Context, name string, version int) error {
	if err := e.st.ActivateFlow(ctx, name, version); err != nil {
		return err
	}
	e.mu.Lock()
	e.forgetLookups(name)
	e.mu.Unlock()
	return nil
}

// forgetLookups drops the cached lookups of a flow: its active version
// and its pinned versions (a deploy may move the flow to another
// namespace). e.mu is held.
func (e *Engine) forgetLookups(name string) {
	delete(e.active, name)
	for k := range e.active {
		if n, _, ok := strings.Cut(k, "@"); ok && n == name {
			delete(e.active, k)
		}
	}
}

// Flow returns a compiled flow version (0 = active).
func (e *Engine) Flow(ctx context.Context, name string, version int) (*flow.Flow, store.FlowVersion, error) {
	var fv store.FlowVersion
	var err error
	if version == 0 {
		e.mu.Lock()
		ae, ok := e.active[name]
		e.mu.Unlock()
		if ok && time.Since(ae.at) < activeTTL {
			fv = ae.fv
		} else {
			if fv, err = e.st.GetFlow(ctx, name, 0); err != nil {
				return nil, fv, err
			}
			e.mu.Lock()
			e.active[name] = activeEntry{fv: fv, at: time.Now()}
			e.mu.Unlock()
		}
	} else {
		// A pinned version (API products): its source never changes, but
		// its namespace may move with a deploy, so the lookup is kept as
		// long as an active one (keyed name@version; names have no '@').
		pk := key(name, version)
		e.mu.Lock()
		ae, ok := e.active[pk]
		e.mu.Unlock()
		if ok && time.Since(ae.at) < activeTTL {
			fv = ae.fv
		} else {
			if fv, err = e.st.GetFlow(ctx, name, version); err != nil {
				return nil, fv, err
			}
			e.mu.Lock()
			e.active[pk] = activeEntry{fv: fv, at: time.Now()}
			e.mu.Unlock()
		}
	}
	k := flowKey{name, fv.Version}
	e.mu.Lock()
	f, ok := e.flows[k]
	e.mu.Unlock()
	if ok {
		return f, fv, nil
	}
	// Versions are immutable; validate without the catalog check so an old
	// version stays runnable for replay even if the catalog changed.
	f, err = flow.Parse(fv.File, fv.Source)
	if err == nil {
		err = flow.Validate(f, nil)
	}
	if err != nil {
		return nil, fv, weft.Wrap(weft.EInternal, err, "stored flow %s v%d no longer compiles: %v", name, fv.Version, err)
	}
	if fv.Namespace != "" {
		f.Namespace = fv.Namespace // the store's is authoritative
	}
	e.mu.Lock()
	e.flows[k] = f
	e.mu.Unlock()
	return f, fv, nil
}

func (e *Engine) limiter(f *flow.Flow) *limiter {
	e.mu.Lock()
	defer e.mu.Unlock()
	l, ok := e.limits[f.Name]
	if ok && l.conf == f.Limits {
		return l
	}
	l = &limiter{conf: f.Limits}
	if f.Limits.Concurrency > 0 {
		l.sem = make(chan struct{}, f.Limits.Concurrency)
	}
	if f.Limits.RatePerSec > 0 {
		b := f.Limits.Burst
		if b <= 0 {
			b = 1
		}
		l.rate = rate.NewLimiter(rate.Limit(f.Limits.RatePerSec), b)
	}
	e.limits[f.Name] = l
	return l
}

func (l *limiter) acquire(ctx context.Context) (func(), error) {
	if l.rate != nil {
		if err := l.rate.Wait(ctx); err != nil {
			return nil, err
		}
	}
	if l.sem == nil {
		return func() {}, nil
	}
	select {
	case l.sem <- struct{}{}:
		return func() { <-l.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// --- triggering ----------------------------------------------------------

// Event is one trigger event.
type Event struct {
	Flow    string
	Version int // 0 = active
	Kind    string
	Body    any
	Headers map[string]string
	Query   map[string]string
	// Params are an api trigger's path parameters (trigger.params); nil
	// for other triggers, whose recorded input then has no params.
	Params  map[string]string
	IdemKey string
	Async   bool
	// ScheduledAt is the tick a schedule trigger fired for.
	ScheduledAt time.Time
	// RawBody, when set, is Body as the JSON it was parsed from; the run
	// records it as is instead of encoding Body again.
	RawBody []byte
	// RawBodyParsed says that Body was parsed from RawBody by a JSON
	// decoder that accepts only what json.Unmarshal accepts (the webhook
	// gateway's): RawBody is then valid JSON, and Trigger does not
	// validate it again.
	RawBodyParsed bool
	// Fields are more top-level trigger fields (a cdc change's op, table,
	// new, old, lsn); they do not replace kind, body, headers or query.
	Fields map[string]any
	// done, when set, is told whether the event's run was created (a queue
	// message is acknowledged then, or returned to its server).
	done func(fired bool)
}

// encode is the run's recorded input: {"kind", "body", "headers", "query"}.
func (ev *Event) encode(in map[string]any) (json.RawMessage, error) {
	return encodeInput(ev.RawBody, in)
}

// encodeInput is Event.encode of an event whose RawBody is raw.
func encodeInput(raw []byte, in map[string]any) (json.RawMessage, error) {
	if len(raw) == 0 || !json.Valid(raw) {
		return jsonenc.Marshal(in)
	}
	body := in["body"]
	delete(in, "body")
	rest, err := jsonenc.Marshal(in)
	in["body"] = body
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(rest)+len(raw)+8)
	out = append(out, `{"body":`...)
	out = append(out, raw...)
	out = append(out, ',')
	out = append(out, rest[1:]...)
	return out, nil
}

// Response is what a respond step produced.
type Response struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body"`

	bodyJSON []byte // Body as encode wrote it into the run's output
}

// BodyJSON is Body encoded as json.Marshal encodes it, as the run's
// recorded output holds it (shared with it: do not modify), or nil when
// the response was not encoded (a duplicate's, read back). A reply can
// send these bytes instead of encoding the body a second time.
func (r *Response) BodyJSON() []byte { return r.bodyJSON }

// encode is json.Marshal(r), without reflection over the body.
func (r *Response) encode() ([]byte, error) {
	b := make([]byte, 0, 128)
	b = append(b, `{"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	if len(r.Headers) > 0 {
		h := make(map[string]any, len(r.Headers))
		for k, v := range r.Headers {
			h[k] = v
		}
		b = append(b, `,"headers":`...)
		b, _ = jsonenc.Append(b, h) // strings only: cannot fail
	}
	b = append(b, `,"body":`...)
	start := len(b)
	b, err := jsonenc.Append(b, r.Body)
	if err != nil {
		return nil, err
	}
	b = append(b, '}')
	r.bodyJSON = b[start : len(b)-1 : len(b)-1]
	return b, nil
}

// Result is the outcome of Trigger.
type Result struct {
	Run       *store.Run
	Response  *Response // sync runs that responded
	Duplicate bool      // the idempotency key matched an earlier run
}

func (ev *Event) input() map[string]any {
	in := map[string]any{"kind": store.Boxed(ev.Kind), "body": ev.Body}
	if ev.Headers != nil {
		h := make(map[string]any, len(ev.Headers))
		for k, v := range ev.Headers {
			h[k] = v
		}
		in["headers"] = h
	} else {
		in["headers"] = map[string]any{}
	}
	q := make(map[string]any, len(ev.Query))
	for k, v := range ev.Query {
		q[k] = v
	}
	in["query"] = q
	if ev.Params != nil {
		p := make(map[string]any, len(ev.Params))
		for k, v := range ev.Params {
			p[k] = v
		}
		in["params"] = p
	}
	for k, v := range ev.Fields {
		if _, taken := in[k]; !taken {
			in[k] = v
		}
	}
	if !ev.ScheduledAt.IsZero() {
		in["scheduled_at"] = ev.ScheduledAt.UTC().Format(time.RFC3339Nano)
	}
	return in
}

// Site is this engine's site in a hybrid deployment ("" on a control plane
// or a single install).
func (e *Engine) Site() string { return e.cfg.Site }

// RunsHere reports whether this engine runs f: a flow without a placement
// runs anywhere; a placed one only on an agent whose site and labels match.
func (e *Engine) RunsHere(f *flow.Flow) bool {
	if f.Placement == nil {
		return true
	}
	if w := e.withdrawn.Load(); w != nil && (*w)[f.Name] {
		return false
	}
	return f.Placement.Matches(e.cfg.Site, e.cfg.Labels)
}

// PlacedHere reports whether f's placement matches this engine's site and
// labels (withdrawn or not).
func (e *Engine) PlacedHere(f *flow.Flow) bool {
	return f.Placement != nil && f.Placement.Matches(e.cfg.Site, e.cfg.Labels)
}

// SetWithdrawn names the placed flows the control plane no longer places
// on this site: they stay deployed here but run no more (until placed
// again). It replaces the previous set.
func (e *Engine) SetWithdrawn(names map[string]bool) {
	m := make(map[string]bool, len(names))
	for k, v := range names {
		if v {
			m[k] = true
		}
	}
	e.withdrawn.Store(&m)
}

// SetAdmission sets a check every new run must pass (nil: none). A runtime
// agent refuses new runs while its unshipped run log is at its bound: a
// webhook's sender gets 503 and retries, pulled triggers keep their cursor
// and fire later, so nothing accepted is lost.
func (e *Engine) SetAdmission(fn func() error) {
	if fn == nil {
		e.admit.Store(nil)
		return
	}
	e.admit.Store(&fn)
}

// Admit reports whether a new run may start now.
func (e *Engine) Admit() error {
	if fn := e.admit.Load(); fn != nil {
		return (*fn)()
	}
	return nil
}

// SetPurgeFloor sets a time retention never purges past: runs that
// finished at or after it stay whatever their age (a runtime agent's runs
// not yet shipped upstream). nil: none.
func (e *Engine) SetPurgeFloor(fn func() time.Time) {
	if fn == nil {
		e.floor.Store(nil)
		return
	}
	e.floor.Store(&fn)
}

// notHere is the refusal of a run of a flow placed elsewhere.
func (e *Engine) notHere(f *flow.Flow) error {
	if e.cfg.Site == "" {
		return weft.Errorf(weft.EConflict, "flow %s is placed on %s: it runs on that site's agent, not on the control plane", f.Name, f.Placement)
	}
	if w := e.withdrawn.Load(); w != nil && (*w)[f.Name] {
		return weft.Errorf(weft.EConflict, "flow %s was withdrawn from this site (%q) by the control plane", f.Name, e.cfg.Site)
	}
	return weft.Errorf(weft.EConflict, "flow %s is placed on %s, not on this agent (site %q)", f.Name, f.Placement, e.cfg.Site)
}

// Trigger starts a run. Async runs are committed with their queue job and
// return at once; sync runs execute inline and are committed (with their
// whole step log) before Trigger returns.
func (e *Engine) Trigger(ctx context.Context, ev Event) (*Result, error) {
	f, fv, err := e.Flow(ctx, ev.Flow, ev.Version)
	if err != nil {
		return nil, err
	}
	if !e.RunsHere(f) {
		return nil, e.notHere(f)
	}
	if err := e.Admit(); err != nil {
		return nil, err
	}
	in := ev.input()
	var raw json.RawMessage
	// A plain sync run records its input only if it does not succeed (for
	// replay) or keeps every payload (capture: full): it is encoded then,
	// so that a large body is not copied for nothing. That it encodes is
	// checked now, by counting (Size fails where Marshal would).
	lazy := !ev.Async && ev.IdemKey == ""
	if lazy {
		if len(ev.RawBody) == 0 || (!ev.RawBodyParsed && !json.Valid(ev.RawBody)) { // else: valid JSON and maps of strings
			_, err = jsonenc.Size(in)
		}
	} else {
		raw, err = ev.encode(in)
	}
	if err != nil {
		return nil, weft.Errorf(weft.EInvalid, "trigger input is not JSON-encodable: %v", err)
	}
	now := e.now().UTC()
	run := &store.Run{ID: newID(), Flow: f.Name, Version: fv.Version, TriggerKind: ev.Kind, IdemKey: ev.IdemKey,
		Input: raw, CreatedAt: now, StartedAt: now, Sync: !ev.Async}
	if ev.Async {
		run.Status = store.RunQueued
		got, created, err := e.st.CreateRun(ctx, run, true)
		if err != nil {
			return nil, err
		}
		return &Result{Run: got, Duplicate: !created}, nil
	}
	if ev.IdemKey != "" {
		// Claim the key before doing any work so a redelivery cannot run twice.
		run.Status = store.RunRunning
		got, created, err := e.st.CreateRun(ctx, run, false)
		if err != nil {
			return nil, err
		}
		if !created {
			if !e.takeOver(ctx, got) {
				res := &Result{Run: got, Duplicate: true}
				if got.Output != nil {
					var resp Response
					if json.Unmarshal(got.Output, &resp) == nil && resp.Status != 0 {
						res.Response = &resp
					}
				}
				return res, nil
			}
			// The process that claimed this event died before answering, so
			// the event was never acknowledged: run it now, as recorded.
			run = got
			if got.Version != fv.Version {
				if f, _, err = e.Flow(ctx, got.Flow, got.Version); err != nil {
					return nil, err
				}
			}
			if got.Input != nil {
				var rec map[string]any
				if json.Unmarshal(got.Input, &rec) == nil {
					in = rec
				}
			}
		}
	}
	run.Status = store.RunRunning
	ctx, cancel := context.WithTimeout(ctx, e.cfg.SyncTimeout)
	defer cancel()
	rs := e.newRunState(f, run, in, nil, false)
	rs.lazyInput, rs.lazy = ev.RawBody, lazy
	resp, err := e.execute(ctx, rs)
	if err != nil {
		// Never answer for a run that was not recorded: a caller told
		// "succeeded" could not find, replay or audit it.
		return nil, err
	}
	return &Result{Run: rs.run, Response: resp}, nil
}

// staleAfter is how long past its deadline a claimed synchronous run may
// stay "running" before a redelivery of its event takes it over.
const staleAfter = 30 * time.Second

// takeOver claims a synchronous run whose process died mid-run (it is still
// "running" long after any sync run could last). Only one caller wins.
func (e *Engine) takeOver(ctx context.Context, r *store.Run) bool {
	if !r.Sync || r.Status != store.RunRunning || e.now().Sub(r.CreatedAt) < e.cfg.SyncTimeout+staleAfter {
		return false
	}
	if err := e.st.SetRunStatus(ctx, r.ID, []string{store.RunRunning}, store.RunQueued); err != nil {
		return false
	}
	if err := e.st.SetRunStatus(ctx, r.ID, []string{store.RunQueued}, store.RunRunning); err != nil {
		return false
	}
	e.log.Warn("took over a synchronous run abandoned by a dead process", "run", r.ID, "flow", r.Flow)
	return true
}

// --- cancel and replay ------------------------------------------------------

// Cancel stops a queued or running run.
func (e *Engine) Cancel(ctx context.Context, id string) error {
	if err := e.st.SetRunStatus(ctx, id, []string{store.RunQueued, store.RunRunning}, store.RunCanceled); err != nil {
		return err
	}
	e.mu.Lock()
	c := e.running[id]
	e.mu.Unlock()
	if c != nil {
		c(errCanceledByUser)
	}
	return nil
}

var errCanceledByUser = errors.New("canceled by user")

// Replay requeues a dead, failed or canceled run; it resumes from the first
// unfinished step, optionally with input replacing that step's input.
func (e *Engine) Replay(ctx context.Context, id string, input json.RawMessage) (*store.Run, error) {
	run, err := e.st.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	var ov *store.Override
	if len(input) > 0 {
		if !json.Valid(input) {
			return nil, weft.Errorf(weft.EInvalid, "replay input is not valid JSON")
		}
		if run.FailedStep == "" {
			return nil, weft.Errorf(weft.EConflict, "run %s has no failed step to give an input to", id)
		}
		ov = &store.Override{StepKey: run.FailedStep, Input: input}
	}
	if err := e.st.Requeue(ctx, id, []string{store.RunDead, store.RunFailed, store.RunCanceled}, ov); err != nil {
		return nil, err
	}
	got, err := e.st.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	e.RedactRun(ctx, got) // what the caller sees; the queued run keeps its input
	return got, nil
}

// --- the River worker -----------------------------------------------------

type worker struct {
	river.WorkerDefaults[store.RunArgs]
	e *Engine
}

// WorkJob works a run's queue job as the worker of Workers does: for a
// store that works the runs its process enqueues without a fetch
// (store.QueueConfig.Work).
func (e *Engine) WorkJob(ctx context.Context, job *river.Job[store.RunArgs]) error {
	return (&worker{e: e}).Work(ctx, job)
}

func (w *worker) Work(ctx context.Context, job *river.Job[store.RunArgs]) error {
	// The run's final write completes its job in the same transaction
	// (store.WithQueueJob): one commit fewer per run, and no window in
	// which the run is finished but its job still running.
	return w.e.work(store.WithQueueJob(ctx, job.Args.RunID, job.ID), job.Args.RunID)
}

// decodeInput is a stored run input decoded, its body kept as a
// jsonenc.Raw when it is jsonenc.RawDocMin bytes or more: a queued run
// reads a large body as a sync webhook run does (gateway.WebhookBody).
func decodeInput(b []byte) (map[string]any, error) {
	var in map[string]any
	if len(b) < jsonenc.RawDocMin {
		err := json.Unmarshal(b, &in)
		return in, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil || top == nil {
		return nil, err
	}
	in = make(map[string]any, len(top))
	for k, v := range top {
		if k == "body" && len(v) >= jsonenc.RawDocMin {
			if r, err := jsonenc.NewRaw(v); err == nil {
				in[k] = r
				continue
			}
		}
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return nil, err
		}
		in[k] = x
	}
	return in, nil
}

func (e *Engine) work(ctx context.Context, id string) error {
	var (
		run *store.Run
		cps map[string]json.RawMessage
		err error
	)
	if fresh, ok := store.FreshRun(ctx, id); ok {
		// Created and committed by this process a moment ago, its job
		// claimed here: queued, with no checkpoint yet (BENCHMARKS.md §66).
		run, cps = fresh, map[string]json.RawMessage{}
	} else {
		run, cps, err = e.st.RunForWork(ctx, id)
	}
	if err != nil {
		if weft.Code(err) == weft.ENotFound {
			return nil // purged
		}
		return err
	}
	switch run.Status {
	case store.RunSucceeded, store.RunFailed, store.RunDead, store.RunCanceled:
		return nil // finished already: a redelivered job does nothing
	}
	// The run turns "running" with its first durable checkpoint (one write
	// instead of two).
	run.Status = store.RunRunning
	f, _, err := e.Flow(ctx, run.Flow, run.Version)
	if err != nil {
		return err
	}
	in, err := decodeInput(run.Input)
	if err != nil {
		return fmt.Errorf("run %s: bad stored input: %w", id, err)
	}
	rs := e.newRunState(f, run, in, cps, true)
	rs.statusRead.Store(true) // not canceled as of the read above
	_, err = e.execute(ctx, rs)
	var ws *waitSnooze
	if errors.As(err, &ws) {
		return river.JobSnooze(ws.d)
	}
	if errors.Is(err, errShutdown) {
		return river.JobSnooze(0)
	}
	return err
}

var errShutdown = errors.New("shutting down")

type waitSnooze struct{ d time.Duration }

func (w *waitSnooze) Error() string { return "waiting " + w.d.String() }
