package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/jsonenc"
	"github.com/weftio/weft/store"
)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// runState is one execution of one run in this process.
type runState struct {
	e       *Engine
	f       *flow.Flow
	run     *store.Run
	trigger map[string]any
	runVars *flow.RunVars              // the run variable, built when first named
	cps     map[string]json.RawMessage // completed step keys -> output
	// outs: a sync run's completed outputs that nothing needed encoded
	// (their sizes were counted): cpFor encodes one if the run fails.
	outs    map[string]any
	durable bool // async: checkpoint each step as it completes
	capture string
	redact  map[string]bool
	red     *redactor // the flow's redaction paths (nil: none)
	// lazy: a plain sync run whose input is encoded only if it is kept
	// (run.Input is nil until then), from lazyInput, the event's raw
	// body (if any), and trigger.
	lazy      bool
	lazyInput []byte

	prefix   string           // step-key prefix inside subflows ("call_sub/")
	mu       *sync.Mutex      // shared with subflow states
	attempts *[]store.Attempt // sync runs: written with the run at the end
	// own: what mu and attempts point at in a top-level run's state
	// (allocated with it); a subflow's state points at its parent's.
	own struct {
		mu       sync.Mutex
		attempts []store.Attempt
		runVars  flow.RunVars
		scope    flow.Scope // the run's top-level scope (execute)
	}
	response *Response // this flow's respond step (a subflow has its own)
	test     *testRec  // a test run of a draft: nothing is recorded (testrun.go)
	// statusRead: the run's status was read as the worker picked it up
	// and no step that acts on the world (or waits) has run since; the
	// first call then needs no second read to see a cancel (call).
	statusRead atomic.Bool
}

// stepFailure is why a run stopped.
type stepFailure struct {
	status  string // failed | dead | canceled
	code    string
	message string
	stepKey string
}

func (f *stepFailure) Error() string { return f.message }

var defaultRedact = []string{"password", "passwd", "secret", "token", "access_token", "refresh_token", "id_token",
	"authorization", "api_key", "apikey", "x-api-key", "client_secret", "cookie", "set-cookie", "private_key"}

// defaultRedactKeys is defaultRedact as a set.
var defaultRedactKeys = func() map[string]bool {
	m := make(map[string]bool, len(defaultRedact))
	for _, k := range defaultRedact {
		m[k] = true
	}
	return m
}()

func (e *Engine) newRunState(f *flow.Flow, run *store.Run, trigger map[string]any, cps map[string]json.RawMessage, durable bool) *runState {
	capture := f.Capture
	if capture == "" {
		capture = e.cfg.DefaultCapture
	}
	red, own := defaultRedactKeys, false // read only: shared by every run of a flow that names no keys of its own
	for _, k := range f.Redact {
		if strings.HasPrefix(k, "$") { // JSON paths are rs.red's
			continue
		}
		if !own {
			red, own = maps.Clone(defaultRedactKeys), true
		}
		red[strings.ToLower(k)] = true
	}
	if cps == nil {
		cps = map[string]json.RawMessage{}
	}
	rd := newRedactor(f)
	if rd != nil {
		rd.note(trigger["body"]) // so messages quoting these values are scrubbed
	}
	var outs map[string]any
	if !durable {
		outs = map[string]any{}
	}
	rs := &runState{e: e, f: f, run: run, trigger: trigger, cps: cps, outs: outs, durable: durable, capture: capture, redact: red, red: rd}
	rs.own.attempts = make([]store.Attempt, 0, len(f.Steps))
	rs.own.runVars = flow.RunVars{ID: run.ID, Flow: run.Flow, Version: run.Version, StartedAt: run.StartedAt}
	rs.mu, rs.attempts, rs.runVars = &rs.own.mu, &rs.own.attempts, &rs.own.runVars
	return rs
}

// execute runs the flow to the end (or to a failure) and records the run.
func (e *Engine) execute(ctx context.Context, rs *runState) (*Response, error) {
	release, err := e.limiter(rs.f).acquire(ctx)
	if err != nil {
		return nil, weft.Wrap(weft.EUnavailable, err, "flow %s is at its concurrency or rate limit", rs.f.Name)
	}
	defer release()
	if rs.f.Limits.Concurrency > 0 || rs.f.Limits.RatePerSec > 0 {
		rs.statusRead.Store(false) // it may have waited for its turn
	}

	var cancel context.CancelCauseFunc
	if rs.durable || rs.run.IdemKey != "" {
		// A run the store holds while it runs can be canceled (Cancel
		// finds it there first). A plain sync run is recorded only once
		// it has finished (InsertRun below): nothing can name it to
		// Cancel before then, so it needs no cancel of its own.
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		e.mu.Lock()
		e.running[rs.run.ID] = cancel
		e.mu.Unlock()
		defer func() {
			e.mu.Lock()
			delete(e.running, rs.run.ID)
			e.mu.Unlock()
		}()
	}
	if rs.durable {
		go func() {
			select {
			case <-e.shutdown:
				cancel(errShutdown)
			case <-ctx.Done():
			}
		}()
	}

	rs.own.scope = flow.Scope{Trigger: rs.trigger, Steps: map[string]any{}, RunVars: rs.runVars}
	sc := &rs.own.scope
	err = rs.block(ctx, rs.f.Steps, sc, "")
	fin := e.now().UTC()
	run := rs.run
	run.FinishedAt = &fin
	switch _, snoozed := errors.AsType[*waitSnooze](err); {
	case snoozed:
		return nil, err // not finished: the queue brings it back
	case rs.durable && ctx.Err() != nil && !errors.Is(context.Cause(ctx), errCanceledByUser):
		// Shutdown or a lost worker context: release the run; whoever picks
		// it up resumes from the last checkpoint. A call whose checkpoint
		// was to ride with the final write (lastEffect) is committed now,
		// so that it is not repeated.
		if ferr := rs.flush(ctx); ferr != nil {
			e.log.Error("recording a checkpoint at shutdown failed", "run", run.ID, "flow", run.Flow, "err", ferr)
		}
		return nil, errShutdown
	case errors.Is(context.Cause(ctx), errCanceledByUser):
		run.Status, run.ErrorCode, run.ErrorMessage = store.RunCanceled, weft.ECanceled, "canceled by user"
	case err != nil:
		var sf *stepFailure
		if errors.As(err, &sf) {
			run.Status, run.ErrorCode, run.ErrorMessage, run.FailedStep = sf.status, sf.code, connectors.RedactURLs(sf.message), sf.stepKey
		} else {
			run.Status, run.ErrorCode, run.ErrorMessage = store.RunDead, weft.EInternal, connectors.RedactURLs(err.Error())
		}
	default:
		run.Status = store.RunSucceeded
	}
	if rs.response != nil {
		run.Output, _ = rs.response.encode()
	}
	if rs.lazy && (run.Status != store.RunSucceeded || rs.capture == "full") {
		run.Input, _ = encodeInput(rs.lazyInput, rs.trigger) // it encodes: see Trigger
	}
	inputRedacted := false
	if rs.red != nil {
		// What is kept is redacted: the message (it may quote a payload)
		// always; the trigger event's body once no replay can need it
		// (succeeded), or when the flow says redact_dlq. A failed, dead or
		// canceled run keeps it whole, sealed at rest, for replay. The
		// response is kept whole too: a redelivered event is answered with
		// it (readers see it redacted, RedactRun).
		run.ErrorMessage = rs.red.scrub(run.ErrorMessage)
		if run.Status == store.RunSucceeded || rs.red.dlq {
			run.Input, inputRedacted = rs.red.member(run.Input, "body"), true
		}
	}
	attempts := *rs.attempts
	if !rs.durable && run.Status != store.RunSucceeded {
		// Keep checkpoints of a failed sync run so it can be replayed.
		for i := range attempts {
			if attempts[i].Status == store.AttemptOK && attempts[i].Checkpoint == nil {
				attempts[i].Checkpoint = rs.cpFor(attempts[i].StepKey)
			}
		}
	}
	// The final write must land even if the request context is gone.
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer wcancel()
	save, saved := e.st.UpdateRun, run
	if !rs.durable && rs.run.IdemKey == "" {
		save = e.st.InsertRun // the sync fast path: the run is recorded once, finished
		if run.Status == store.RunSucceeded && rs.capture != "full" {
			// The input of a finished sync run is needed only for replay;
			// under none/metadata capture its payload is not kept.
			run.Input = nil
		}
	} else if !inputRedacted {
		// The stored input stays as it is (UpdateRun rewrites it only
		// when given one): a large payload is not written twice.
		cp := *run
		cp.Input = nil
		saved = &cp
	}
	if err := save(wctx, saved, attempts); err != nil {
		e.log.Error("recording run failed", "run", run.ID, "flow", run.Flow, "status", run.Status, "err", err)
		if rs.durable {
			return nil, err // the queue retries the job; it resumes from its checkpoints
		}
		code := weft.Code(err)
		if code == weft.ETimeout || code == weft.ECanceled {
			code = weft.EUnavailable
		}
		return nil, weft.Wrap(code, err, "run %s of flow %s was not recorded (%s); its steps may already have taken effect",
			run.ID, run.Flow, weft.Message(err))
	}
	if run.Status != store.RunSucceeded {
		e.log.Warn("run did not succeed", "run", run.ID, "flow", run.Flow, "version", run.Version, "status", run.Status, "step", run.FailedStep, "error", run.ErrorMessage)
	}
	return rs.response, nil
}

func (rs *runState) cpFor(stepKey string) json.RawMessage {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if cp, ok := rs.cps[stepKey]; ok {
		return cp
	}
	if out, ok := rs.outs[stepKey]; ok {
		cp, _ := jsonenc.Marshal(out) // it was counted (Size) without error: it encodes
		return cp
	}
	return nil
}

// block runs steps in order. suffix marks foreach iterations ("[2]").
func (rs *runState) block(ctx context.Context, steps []*flow.Step, sc *flow.Scope, suffix string) error {
	for _, s := range steps {
		if err := context.Cause(ctx); err != nil {
			return err
		}
		if err := rs.step(ctx, s, sc, suffix); err != nil {
			return err
		}
	}
	return nil
}

func (rs *runState) step(ctx context.Context, s *flow.Step, sc *flow.Scope, suffix string) error {
	k := rs.prefix + s.ID + suffix
	if cp, ok := rs.checkpoint(k); ok {
		var out any
		if err := json.Unmarshal(cp, &out); err != nil {
			return fmt.Errorf("checkpoint %s: %w", k, err)
		}
		rs.setOutput(sc, s.ID, out)
		if s.Kind == flow.KindRespond {
			rs.setResponse(out)
		}
		return nil
	}
	start := rs.e.now()
	var out any
	var in any // what the step evaluated before acting (a test run shows it)
	var err error
	switch s.Kind {
	case flow.KindSet:
		out, err = s.Set.Eval(sc)
		in = out
	case flow.KindCall:
		return rs.call(ctx, s, sc, k)
	case flow.KindSubflow:
		rs.statusRead.Store(false)
		return rs.subflow(ctx, s, sc, k)
	case flow.KindIf:
		var ok bool
		if ok, err = s.Cond.EvalBool(sc); err == nil {
			in = map[string]any{"condition": ok}
			branch, steps := "then", s.Then
			if !ok {
				branch, steps = "else", s.Else
			}
			if err = rs.block(ctx, steps, sc, suffix); err != nil {
				return err
			}
			out = map[string]any{"branch": branch}
		}
	case flow.KindSwitch:
		out = map[string]any{"case": "default"}
		steps := s.Default
		conds := []any{}
		for i, c := range s.Cases {
			var ok bool
			if ok, err = c.When.EvalBool(sc); err != nil {
				break
			}
			conds = append(conds, ok)
			if ok {
				out, steps = map[string]any{"case": int64(i)}, c.Steps
				break
			}
		}
		in = map[string]any{"conditions": conds}
		if err == nil {
			if err = rs.block(ctx, steps, sc, suffix); err != nil {
				return err
			}
		}
	case flow.KindForeach:
		var items []any
		items, out, err = rs.foreach(ctx, s, sc, suffix)
		if items != nil {
			in = map[string]any{"items": items}
		}
		if err != nil {
			var sf *stepFailure
			if errors.As(err, &sf) || context.Cause(ctx) != nil {
				return err
			}
		}
	case flow.KindWait:
		rs.statusRead.Store(false)
		if rs.test != nil {
			return rs.skipWait(s, sc, k, start)
		}
		out, err = rs.wait(ctx, s, sc, k)
		var ws *waitSnooze
		if errors.As(err, &ws) {
			return err
		}
	case flow.KindRespond:
		var body any
		if body, err = s.Body.Eval(sc); err == nil {
			status := s.Status
			if status == 0 {
				status = 200
			}
			r := &Response{Status: status, Headers: s.Headers, Body: body}
			rs.mu.Lock()
			rs.response = r
			rs.mu.Unlock()
			out = map[string]any{"status": int64(status), "headers": anyMap(s.Headers), "body": body}
			in = out
		}
	case flow.KindFail:
		msg := "the flow failed at step " + s.ID
		if s.FailMessage != nil {
			var m any
			if m, err = s.FailMessage.Eval(sc); err == nil {
				msg = fmt.Sprint(m)
			}
		}
		if err == nil {
			code := s.FailCode
			if code == "" {
				code = "flow_failed"
			}
			rs.record(s, k, 1, start, rs.stepInput(map[string]any{"code": code, "message": msg}), &stepFailure{status: store.RunFailed, code: code, message: msg, stepKey: k}, "permanent")
			return &stepFailure{status: store.RunFailed, code: code, message: msg, stepKey: k}
		}
	default:
		err = fmt.Errorf("unknown step kind %q", s.Kind)
	}
	if err != nil {
		// Expression errors are permanent: the same inputs fail the same way.
		sf := &stepFailure{status: store.RunDead, code: "expression_error", message: fmt.Sprintf("step %s: %v", s.ID, err), stepKey: k}
		rs.record(s, k, 1, start, nil, sf, "permanent")
		return sf
	}
	if err := rs.complete(ctx, s, k, 1, start, rs.stepInput(in), out); err != nil {
		return err
	}
	rs.setOutput(sc, s.ID, out)
	return nil
}

// stepInput is what a step evaluated, kept only in a test run: the
// transaction log records the inputs of calls and subflows alone.
func (rs *runState) stepInput(in any) any {
	if rs.test == nil {
		return nil
	}
	return in
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (rs *runState) checkpoint(k string) (json.RawMessage, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if !rs.durable && rs.run.Sync {
		return nil, false
	}
	cp, ok := rs.cps[k]
	return cp, ok
}

func (rs *runState) setOutput(sc *flow.Scope, id string, out any) {
	rs.mu.Lock()
	sc.Steps[id] = out
	rs.mu.Unlock()
}

func (rs *runState) setResponse(out any) {
	m, _ := out.(map[string]any)
	r := &Response{Status: 200, Body: m["body"]}
	if st, ok := m["status"].(float64); ok {
		r.Status = int(st)
	}
	if h, ok := m["headers"].(map[string]any); ok {
		r.Headers = map[string]string{}
		for k, v := range h {
			r.Headers[k] = fmt.Sprint(v)
		}
	}
	rs.mu.Lock()
	rs.response = r
	rs.mu.Unlock()
}

// complete records a successful attempt; for durable runs the checkpoint is
// committed before the run moves on.
func (rs *runState) complete(ctx context.Context, s *flow.Step, k string, attempt int, start time.Time, in, out any) error {
	// A durable run checkpoints the output; full capture and redaction
	// read it encoded. A plain sync run needs only its size, and the
	// output itself only if the run fails (cpFor).
	var cp []byte
	var size int
	var err error
	if rs.durable || rs.outs == nil || rs.capture == "full" || rs.red != nil || rs.test != nil {
		cp, err = jsonenc.Marshal(out)
		size = len(cp)
	} else {
		size, err = jsonenc.Size(out)
	}
	if err != nil {
		return &stepFailure{status: store.RunDead, code: "bad_output", message: fmt.Sprintf("step %s: output is not JSON-encodable: %v", s.ID, err), stepKey: k}
	}
	rs.mu.Lock()
	if cp != nil {
		rs.cps[k] = cp
	} else {
		rs.outs[k] = out
	}
	rs.mu.Unlock()
	a := rs.attempt(s, k, attempt, start, in, cp, nil, "")
	if cp == nil && rs.capture != "none" {
		a.OutputSize = size
	}
	a.Checkpoint = cp
	if !rs.durable {
		a.Checkpoint = nil // a sync run that succeeds needs no resume point
	}
	rs.mu.Lock()
	*rs.attempts = append(*rs.attempts, a)
	rs.mu.Unlock()
	if rs.durable && sideEffects(s.Kind) {
		if rs.prefix == "" && k == s.ID && lastEffect(rs.f, s) {
			// Nothing after this step acts on the world: its checkpoint
			// rides with the run's final write (execute), one commit
			// instead of two. A crash before that commit re-calls it, as a
			// crash between the call's return and its own checkpoint
			// would; the pure steps in between take no effect.
			return nil
		}
		return rs.flush(ctx)
	}
	return nil
}

// lastEffect reports whether s is a call step of f's top level after
// which no step can act on the world: every later top-level step, and
// every step nested in them, is pure (sideEffects is false). Steps
// inside blocks (if, switch, foreach) and subflows always checkpoint.
func lastEffect(f *flow.Flow, s *flow.Step) bool {
	if s.Kind != flow.KindCall {
		return false
	}
	i := slices.Index(f.Steps, s)
	return i >= 0 && pureSteps(f.Steps[i+1:])
}

func pureSteps(steps []*flow.Step) bool {
	for _, s := range steps {
		if sideEffects(s.Kind) || !pureSteps(s.Then) || !pureSteps(s.Else) || !pureSteps(s.Default) || !pureSteps(s.Do) {
			return false
		}
		for _, c := range s.Cases {
			if !pureSteps(c.Steps) {
				return false
			}
		}
	}
	return true
}

// sideEffects reports whether a step acts on the world. Its completion is
// committed before the run moves on, so it is never repeated after a crash.
// Pure steps (set, if, switch, foreach, respond, fail) recompute the same
// result from recorded inputs; their log rows ride along with the next
// checkpoint or the run's final write.
func sideEffects(kind string) bool {
	return kind == flow.KindCall || kind == flow.KindSubflow || kind == flow.KindWait
}

// flush commits the buffered attempts of a durable run as a checkpoint.
func (rs *runState) flush(ctx context.Context) error {
	rs.mu.Lock()
	pending := *rs.attempts
	*rs.attempts = make([]store.Attempt, 0, 4)
	rs.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return rs.e.st.Checkpoint(wctx, rs.run.ID, pending)
}

// record logs a failed attempt.
func (rs *runState) record(s *flow.Step, k string, attempt int, start time.Time, in any, err error, class string) {
	a := rs.attempt(s, k, attempt, start, in, nil, err, class)
	rs.mu.Lock()
	*rs.attempts = append(*rs.attempts, a)
	rs.mu.Unlock()
	if rs.durable {
		// Failed attempts are logged as they happen, retries included.
		if werr := rs.flush(context.Background()); werr != nil {
			rs.e.log.Error("recording attempt failed", "run", rs.run.ID, "step", k, "err", werr)
		}
	}
}

func (rs *runState) attempt(s *flow.Step, k string, n int, start time.Time, in any, outJSON []byte, err error, class string) store.Attempt {
	fin := rs.e.now()
	if rs.test != nil {
		rs.test.note(k, s, rs.f)
	}
	a := store.Attempt{RunID: rs.run.ID, Flow: rs.run.Flow, Version: rs.run.Version, StepID: s.ID, StepKey: k, Kind: s.Kind,
		Attempt: n, TriggerKind: rs.run.TriggerKind, Status: store.AttemptOK, Worker: rs.e.cfg.WorkerID, StartedAt: start.UTC(), FinishedAt: fin.UTC(),
		DurationUS: fin.Sub(start).Microseconds(), OutputSize: len(outJSON)}
	var inJSON []byte
	switch {
	case in == nil:
	case rs.capture == "full":
		inJSON, _ = jsonenc.Marshal(in)
		a.InputSize = len(inJSON)
	default: // the size is all that is kept
		a.InputSize, _ = jsonenc.Size(in)
	}
	if err != nil {
		a.Status, a.ErrorClass, a.ErrorMessage = store.AttemptError, class, truncate(connectors.RedactURLs(err.Error()), 2000)
	}
	switch rs.capture {
	case "none":
		a.InputSize, a.OutputSize = 0, 0
	case "full":
		if inJSON != nil {
			a.Input = rs.red.doc(Redact(inJSON, rs.redact))
		}
		if outJSON != nil {
			a.Output = rs.red.doc(Redact(outJSON, rs.redact))
		}
	}
	if rs.red != nil {
		if rs.capture != "full" {
			rs.red.note(in) // remember the values, for the message
			if outJSON != nil {
				var out any
				if json.Unmarshal(outJSON, &out) == nil {
					rs.red.note(out)
				}
			}
		}
		a.ErrorMessage = rs.red.scrub(a.ErrorMessage)
	}
	return a
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// call executes a connector operation with timeout and retries.
func (rs *runState) call(ctx context.Context, s *flow.Step, sc *flow.Scope, k string) error {
	start := rs.e.now()
	fail := func(status, code, msg string, attempt int, in any, cause error, class string) error {
		sf := &stepFailure{status: status, code: code, message: msg, stepKey: k}
		if cause == nil {
			cause = sf
		}
		rs.record(s, k, attempt, start, in, cause, class)
		return sf
	}
	op, ok := rs.e.cat.Operation(s.Call)
	if !ok {
		return fail(store.RunDead, "unknown_operation", fmt.Sprintf("step %s: operation %q is not installed", s.ID, s.Call), 1, nil, nil, "permanent")
	}
	var conn *connectors.Connection
	if s.Connection != "" {
		c, err := rs.e.connection(ctx, s.Connection, connectorOf(s.Call))
		if err != nil {
			return fail(store.RunDead, "unknown_connection", fmt.Sprintf("step %s: %v", s.ID, err), 1, nil, nil, "permanent")
		}
		// Checked at deploy, and again here: a connection moved to another
		// namespace since is not this flow's to use.
		if ns := rs.f.Namespace; ns != "" && access.NamespaceOr(c.Namespace) != ns {
			return fail(store.RunDead, "connection_namespace", fmt.Sprintf("step %s: connection %q belongs to namespace %q, not the flow's (%q)", s.ID, s.Connection, access.NamespaceOr(c.Namespace), ns), 1, nil, nil, "permanent")
		}
		conn = c
	}
	var input any
	if ov := rs.run.Override; ov != nil && ov.StepKey == k {
		if err := json.Unmarshal(ov.Input, &input); err != nil {
			return fail(store.RunDead, "bad_override", "replay input is not valid JSON", 1, nil, nil, "permanent")
		}
	} else {
		var err error
		if input, err = s.With.Eval(sc); err != nil {
			return fail(store.RunDead, "expression_error", fmt.Sprintf("step %s: %v", s.ID, err), 1, nil, nil, "permanent")
		}
	}
	in, _ := input.(map[string]any)
	if in == nil {
		in = map[string]any{}
	}
	if jsonenc.HasRaw(in) {
		// A large body still as its bytes reaches only the fields the
		// operation encodes as JSON; the rest are decoded for it.
		var err error
		if in, err = resolveExcept(in, op.RawInputs); err != nil {
			return fail(store.RunDead, "bad_input", fmt.Sprintf("step %s: %v", s.ID, err), 1, nil, nil, "permanent")
		}
	}
	policy := flow.DefaultRetry
	if s.Retry != nil {
		policy = *s.Retry
	}
	timeout := s.Timeout
	if timeout == 0 {
		timeout = flow.DefaultTimeout
	}
	idem := rs.run.ID + ":" + k
	cl := connectors.Call{Input: in, IdempotencyKey: idem, Connection: conn}
	if rs.test != nil {
		rs.test.divertCall(connectorOf(s.Call), k, &cl)
	}
	for attempt := 1; ; attempt++ {
		if rs.durable && attempt == 1 && !rs.statusRead.Swap(false) {
			if cur, err := rs.e.st.GetRun(ctx, rs.run.ID); err == nil && cur.Status == store.RunCanceled {
				return &stepFailure{status: store.RunCanceled, code: weft.ECanceled, message: "canceled by user", stepKey: k}
			}
		}
		aStart := rs.e.now()
		cctx, cancel := stepContext(ctx, timeout)
		out, err := op.Invoke(cctx, cl)
		timedOut := cctx.Err() == context.DeadlineExceeded && ctx.Err() == nil
		cancel()
		if err == nil {
			if cerr := rs.complete(ctx, s, k, attempt, aStart, in, out); cerr != nil {
				return cerr
			}
			rs.setOutput(sc, s.ID, out)
			rs.noteWrite(s, in, out)
			return nil
		}
		if cause := context.Cause(ctx); cause != nil {
			rs.record(s, k, attempt, aStart, in, err, "canceled")
			return cause
		}
		class, after := connectors.Classify(err)
		if timedOut {
			class, err = connectors.Retryable, fmt.Errorf("timed out after %s", timeout)
		}
		rs.record(s, k, attempt, aStart, in, err, class)
		if class == connectors.Permanent {
			return &stepFailure{status: store.RunDead, code: "permanent_error", message: fmt.Sprintf("step %s: %v", s.ID, err), stepKey: k}
		}
		if attempt >= policy.MaxAttempts {
			return &stepFailure{status: store.RunDead, code: "retries_exhausted", message: fmt.Sprintf("step %s: %d attempts failed; last: %v", s.ID, attempt, err), stepKey: k}
		}
		d := Backoff(policy, attempt, after)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		}
	}
}

// resolveExcept returns in with every field but those named decoded
// (jsonenc.Resolve); in itself is not changed.
func resolveExcept(in map[string]any, keep []string) (map[string]any, error) {
	out := make(map[string]any, len(in))
	for k, v := range in {
		if !slices.Contains(keep, k) {
			var err error
			if v, err = jsonenc.Resolve(v); err != nil {
				return nil, err
			}
		}
		out[k] = v
	}
	return out, nil
}

// Backoff is exponential with full jitter in [d/2, d], never below retryAfter.
func Backoff(p flow.Retry, attempt int, retryAfter time.Duration) time.Duration {
	d := p.Backoff << (attempt - 1)
	if d <= 0 || d > p.MaxBackoff {
		d = p.MaxBackoff
	}
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	if retryAfter > d {
		d = retryAfter
	}
	return d
}

// foreach runs the body for each item; it returns the items and the
// results (each iteration's last step output).
func (rs *runState) foreach(ctx context.Context, s *flow.Step, sc *flow.Scope, suffix string) ([]any, any, error) {
	v, err := s.Items.Eval(sc)
	if err != nil {
		return nil, nil, err
	}
	if r, ok := v.(*jsonenc.Raw); ok { // a list inside a large body: each item is read
		if v, err = r.Decode(); err != nil {
			return nil, nil, err
		}
	}
	items, ok := v.([]any)
	if !ok {
		if v == nil {
			items = nil
		} else {
			return nil, nil, fmt.Errorf("foreach %s: items gave %T, want a list", s.Items.Source, v)
		}
	}
	conc := s.Concurrency
	if conc <= 0 {
		conc = 1
	}
	results := make([]any, len(items))
	errs := make([]error, len(items))
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	ictx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	for i, item := range items {
		if context.Cause(ictx) != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int, item any) {
			defer func() { <-sem; wg.Done() }()
			rs.mu.Lock()
			steps := make(map[string]any, len(sc.Steps)+len(s.Do))
			for k, v := range sc.Steps {
				steps[k] = v
			}
			rs.mu.Unlock()
			isc := &flow.Scope{Trigger: sc.Trigger, Steps: steps, Run: sc.Run, RunVars: sc.RunVars, Item: item, Index: i, InLoop: true}
			if err := rs.block(ictx, s.Do, isc, fmt.Sprintf("%s[%d]", suffix, i)); err != nil {
				errs[i] = err
				cancel(err)
				return
			}
			if len(s.Do) > 0 {
				rs.mu.Lock()
				results[i] = isc.Steps[s.Do[len(s.Do)-1].ID]
				rs.mu.Unlock()
			}
		}(i, item)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return items, nil, err
		}
	}
	if err := context.Cause(ctx); err != nil {
		return items, nil, err
	}
	return items, results, nil
}

// wait sleeps (sync runs, short waits) or releases the worker and asks the
// queue to bring the run back when the wait is over (async, long waits).
// The target time is checkpointed so a resumed run does not wait again.
func (rs *runState) wait(ctx context.Context, s *flow.Step, sc *flow.Scope, k string) (any, error) {
	untilKey := k + "#until"
	var until time.Time
	if cp, ok := rs.checkpoint(untilKey); ok {
		var ts string
		_ = json.Unmarshal(cp, &ts)
		until, _ = time.Parse(time.RFC3339Nano, ts)
	}
	if until.IsZero() {
		if s.WaitUntil != nil {
			v, err := s.WaitUntil.Eval(sc)
			if err != nil {
				return nil, err
			}
			str, _ := v.(string)
			t, err := time.Parse(time.RFC3339Nano, str)
			if err != nil {
				return nil, fmt.Errorf("until: %q is not an RFC 3339 timestamp", str)
			}
			until = t
		} else {
			until = rs.e.now().Add(s.WaitFor)
		}
		if rs.durable {
			cp, _ := json.Marshal(until.UTC().Format(time.RFC3339Nano))
			a := rs.attempt(s, untilKey, 1, rs.e.now(), nil, cp, nil, "")
			a.Checkpoint, a.Kind = cp, "wait_start"
			rs.mu.Lock()
			*rs.attempts = append(*rs.attempts, a)
			rs.mu.Unlock()
			if err := rs.flush(ctx); err != nil {
				return nil, err
			}
			rs.mu.Lock()
			rs.cps[untilKey] = cp
			rs.mu.Unlock()
		}
	}
	d := until.Sub(rs.e.now())
	if d > 0 {
		if rs.durable && d > rs.e.cfg.LongWait {
			return nil, &waitSnooze{d: d}
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, context.Cause(ctx)
		}
	}
	return map[string]any{"until": until.UTC().Format(time.RFC3339Nano)}, nil
}

// subflow runs another flow's active version inline, as part of this run.
func (rs *runState) subflow(ctx context.Context, s *flow.Step, sc *flow.Scope, k string) error {
	start := rs.e.now()
	depth := strings.Count(k, "/")
	if depth > 16 {
		sf := &stepFailure{status: store.RunDead, code: "subflow_depth", message: "subflows nested deeper than 16", stepKey: k}
		rs.record(s, k, 1, start, nil, sf, "permanent")
		return sf
	}
	sub, _, err := rs.e.Flow(ctx, s.Subflow, 0)
	if err != nil {
		sf := &stepFailure{status: store.RunDead, code: "subflow_missing", message: fmt.Sprintf("step %s: %v", s.ID, weft.Message(err)), stepKey: k}
		rs.record(s, k, 1, start, nil, sf, "permanent")
		return sf
	}
	body, err := s.With.Eval(sc)
	if err != nil {
		sf := &stepFailure{status: store.RunDead, code: "expression_error", message: fmt.Sprintf("step %s: %v", s.ID, err), stepKey: k}
		rs.record(s, k, 1, start, nil, sf, "permanent")
		return sf
	}
	// Child step keys are namespaced under this step so checkpoints and the
	// log keep them apart from the parent's.
	child := &runState{e: rs.e, f: sub, run: rs.run, cps: rs.cps, outs: rs.outs, durable: rs.durable, capture: rs.capture, redact: rs.redact, red: rs.red, runVars: rs.runVars,
		trigger: map[string]any{"kind": "subflow", "body": body, "headers": map[string]any{}, "query": map[string]any{}},
		prefix:  k + "/", mu: rs.mu, attempts: rs.attempts, test: rs.test}
	csc := &flow.Scope{Trigger: child.trigger, Steps: map[string]any{}, RunVars: rs.runVars}
	err = child.block(ctx, sub.Steps, csc, "")
	if err != nil {
		return err
	}
	var out any
	if child.response != nil {
		out = child.response.Body
	} else if n := len(sub.Steps); n > 0 {
		out = csc.Steps[sub.Steps[n-1].ID]
	}
	if err := rs.complete(ctx, s, k, 1, start, body, out); err != nil {
		return err
	}
	rs.setOutput(sc, s.ID, out)
	return nil
}

// connectorOf is the connector of an operation name ("http" of
// "http.request"): the name up to its first dot, or all of it.
func connectorOf(op string) string {
	c, _, _ := strings.Cut(op, ".")
	return c
}

// stepContext is ctx bounded by a step's timeout. When ctx ends first
// anyway (a sync run's deadline at or before the step's), it is ctx
// itself: a context of the step's own would change nothing (its deadline
// would be ctx's, and a call that reaches it is not the step's timeout,
// as ctx has ended too) and costs a timer and a cancel per call.
func stepContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && !d.After(time.Now().Add(timeout)) {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, timeout)
}
