package engine

// Test runs: a draft flow executed by the same executor as every run, but
// nothing is deployed and nothing is recorded. Each step's input and output
// are kept in memory (secrets redacted) and returned to the caller.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/store"
)

// TestRequest is a test run of a draft flow.
type TestRequest struct {
	File   string // the draft's file name, for positions (default draft.yaml)
	Source []byte // the draft's YAML
	// The trigger event: body, headers and query, or FromRun, a run whose
	// recorded trigger input is used instead.
	Body    any
	Headers map[string]string
	Query   map[string]string
	Params  map[string]string // an api trigger's path parameters (trigger.params)
	FromRun string
	// Divert, when set, may send a call step elsewhere than its
	// connection (a sandbox): it changes the call in place and reports
	// whether it did. connector is the called operation's connector.
	Divert func(connector string, call *connectors.Call) bool
}

// TestResult is what a test run did.
type TestResult struct {
	Status     string        `json:"status"` // succeeded | failed
	DurationMS float64       `json:"duration_ms"`
	Response   *TestResponse `json:"response"`
	Error      *TestError    `json:"error"`
	Steps      []TestStep    `json:"steps"`
}

// TestResponse is what the draft's respond step answered.
type TestResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// TestError is why a run or a step failed.
type TestError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// TestStep is one execution of one step (a step in a foreach body has one
// per iteration; a step that never ran has one, skipped).
type TestStep struct {
	ID         string          `json:"id"`
	Kind       string          `json:"kind"`
	Path       string          `json:"path"`              // steps[2].then[0]; in a subflow: the step's path in that subflow
	Pos        string          `json:"pos"`               // file:line:col
	Key        string          `json:"key"`               // the step key: id, iteration ([3]) and subflow step prefix (call_sub/)
	Subflow    string          `json:"subflow,omitempty"` // the deployed subflow this step belongs to
	Target     string          `json:"target,omitempty"`  // call steps: "connection" or "sandbox"
	Status     string          `json:"status"`            // succeeded | failed | skipped
	Attempts   int             `json:"attempts"`
	DurationMS float64         `json:"duration_ms"`
	Input      json.RawMessage `json:"input"`
	Output     json.RawMessage `json:"output"`
	Error      *TestError      `json:"error"`
}

// Step statuses of a test run.
const (
	TestSucceeded = "succeeded"
	TestFailed    = "failed"
	TestSkipped   = "skipped"
)

// maxTestPayload bounds each input and output a test run returns.
const maxTestPayload = 1 << 20

// testRec is what a test run keeps besides the attempts: which step each
// key is, and where its calls went.
type testRec struct {
	divert func(connector string, call *connectors.Call) bool

	mu     sync.Mutex
	steps  map[string]*flow.Step
	flows  map[string]*flow.Flow // key -> the flow the step is in
	target map[string]string     // call step key -> connection | sandbox
}

func (t *testRec) note(k string, s *flow.Step, f *flow.Flow) {
	t.mu.Lock()
	t.steps[k], t.flows[k] = s, f
	t.mu.Unlock()
}

func (t *testRec) divertCall(connector, k string, c *connectors.Call) {
	target := "connection"
	if t.divert != nil && t.divert(connector, c) {
		target = "sandbox"
	}
	t.mu.Lock()
	t.target[k] = target
	t.mu.Unlock()
}

// skipWait stands in for a wait step in a test run: the time it would
// wait until is computed (later steps may read it), nobody waits.
func (rs *runState) skipWait(s *flow.Step, sc *flow.Scope, k string, start time.Time) error {
	in := map[string]any{}
	var until time.Time
	if s.WaitUntil != nil {
		v, err := s.WaitUntil.Eval(sc)
		if err == nil {
			str, _ := v.(string)
			if until, err = time.Parse(time.RFC3339Nano, str); err != nil {
				err = fmt.Errorf("until: %q is not an RFC 3339 timestamp", str)
			}
		}
		if err != nil {
			sf := &stepFailure{status: store.RunDead, code: "expression_error", message: fmt.Sprintf("step %s: %v", s.ID, err), stepKey: k}
			rs.record(s, k, 1, start, nil, sf, "permanent")
			return sf
		}
	} else {
		until = rs.e.now().Add(s.WaitFor)
		in["for"] = s.WaitFor.String()
	}
	in["until"] = until.UTC().Format(time.RFC3339Nano)
	a := rs.attempt(s, k, 1, start, in, nil, nil, "")
	a.Status = TestSkipped
	rs.mu.Lock()
	*rs.attempts = append(*rs.attempts, a)
	rs.mu.Unlock()
	rs.setOutput(sc, s.ID, map[string]any{"until": in["until"]})
	return nil
}

// TestRun runs a draft flow without deploying it and without recording a
// run: the draft is validated like a deploy (against the catalog, its
// subflows deployed), then executed to its end within the sync timeout.
// Wait steps do not wait; subflow steps run the deployed subflow inline,
// as part of the test. Calls go to their connections, or where Divert
// sends them.
func (e *Engine) TestRun(ctx context.Context, req TestRequest) (*TestResult, error) {
	file := req.File
	if file == "" {
		file = "draft.yaml"
	}
	f, err := e.Validate(file, req.Source)
	if err != nil {
		return nil, err
	}
	if err := e.checkSubflows(ctx, f); err != nil {
		return nil, err
	}
	if err := e.checkNamespace(ctx, f); err != nil {
		return nil, err
	}
	kind := f.Trigger.Kind
	if kind == "" {
		kind = flow.TriggerManual
	}
	var in map[string]any
	if req.FromRun != "" {
		run, err := e.st.GetRun(ctx, req.FromRun)
		if err != nil {
			return nil, err
		}
		if len(run.Input) == 0 {
			return nil, weft.Errorf(weft.EConflict, "run %s kept no trigger input (its flow's capture policy drops the input of runs that succeed): give an input instead", run.ID)
		}
		if err := json.Unmarshal(run.Input, &in); err != nil || in == nil {
			return nil, weft.Errorf(weft.EUnprocessable, "run %s: its recorded trigger input is not a JSON object", run.ID)
		}
		for _, k := range []string{"headers", "query"} {
			if _, ok := in[k].(map[string]any); !ok {
				in[k] = map[string]any{}
			}
		}
	} else {
		ev := Event{Kind: kind, Body: req.Body, Headers: req.Headers, Query: req.Query, Params: req.Params}
		if kind == flow.TriggerAPI && ev.Params == nil {
			ev.Params = map[string]string{}
		}
		if kind == flow.TriggerSchedule {
			ev.ScheduledAt = e.now()
		}
		in = ev.input()
	}
	if in["body"] == nil {
		in["body"] = map[string]any{}
	}

	start := e.now()
	run := &store.Run{ID: newID(), Flow: f.Name, TriggerKind: kind, CreatedAt: start.UTC(), StartedAt: start.UTC(), Sync: true, Status: store.RunRunning}
	rs := e.newRunState(f, run, in, nil, false)
	rs.capture = "full" // in memory only, redacted
	rs.test = &testRec{divert: req.Divert, steps: map[string]*flow.Step{}, flows: map[string]*flow.Flow{}, target: map[string]string{}}
	tctx, cancel := context.WithTimeout(ctx, e.cfg.SyncTimeout)
	defer cancel()
	sc := &flow.Scope{Trigger: rs.trigger, Steps: map[string]any{}, RunVars: rs.runVars}
	err = rs.block(tctx, f.Steps, sc, "")

	secrets := e.secretValues()
	res := &TestResult{Status: TestSucceeded, DurationMS: ms(e.now().Sub(start))}
	failedKey := ""
	var sf *stepFailure
	switch {
	case err == nil:
	case errors.As(err, &sf):
		res.Status, failedKey = TestFailed, sf.stepKey
		res.Error = &TestError{Code: sf.code, Message: cleanText(sf.message, secrets)}
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		res.Status = TestFailed
		res.Error = &TestError{Code: weft.ETimeout, Message: fmt.Sprintf("the test run did not finish within the server's sync timeout (%s)", e.cfg.SyncTimeout)}
	case ctx.Err() != nil:
		return nil, weft.Wrap(weft.ECanceled, err, "the test run was canceled")
	default:
		res.Status = TestFailed
		res.Error = &TestError{Code: weft.EInternal, Message: cleanText(err.Error(), secrets)}
	}
	if r := rs.response; r != nil {
		h := r.Headers
		if h == nil {
			h = map[string]string{}
		}
		res.Response = &TestResponse{Status: r.Status, Headers: h, Body: testPayload(r.Body, rs.redact, secrets)}
	}
	res.Steps = rs.test.steps2(f, *rs.attempts, failedKey, res.Error, rs.redact, secrets)
	return res, nil
}

// secretValues are the credentials of every connection: none of them may
// appear in what a test run returns, wherever an upstream echoed one.
func (e *Engine) secretValues() []string {
	var out []string
	for _, c := range e.cat.Connections() {
		out = append(out, c.SecretValues()...)
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func cleanText(s string, secrets []string) string {
	return connectors.RedactSecrets(connectors.RedactURLs(s), secrets...)
}

// testPayload is v as JSON with secrets redacted, bounded.
func testPayload(v any, keys map[string]bool, secrets []string) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`"[not JSON-encodable]"`)
	}
	return cleanPayload(Redact(b, keys), secrets)
}

// cleanPayload redacts every secret value inside a captured JSON document
// and bounds its size.
func cleanPayload(doc json.RawMessage, secrets []string) json.RawMessage {
	if len(doc) == 0 {
		return nil
	}
	if len(secrets) > 0 {
		var v any
		if err := json.Unmarshal(doc, &v); err != nil {
			return json.RawMessage(`"[unparseable payload withheld]"`)
		}
		doc, _ = json.Marshal(redactStrings(v, secrets))
	}
	if len(doc) > maxTestPayload {
		return json.RawMessage(strconv.Quote(fmt.Sprintf("[%d bytes: larger than a test run shows (%d)]", len(doc), maxTestPayload)))
	}
	return doc
}

func redactStrings(v any, secrets []string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[connectors.RedactSecrets(k, secrets...)] = redactStrings(val, secrets)
		}
		return out
	case []any:
		for i := range x {
			x[i] = redactStrings(x[i], secrets)
		}
		return x
	case string:
		return connectors.RedactSecrets(x, secrets...)
	}
	return v
}

// steps2 turns the attempts into one entry per step execution, in the
// order of the draft's steps (a subflow's steps after the step that ran
// it), with an entry marked skipped for each step that never ran.
func (t *testRec) steps2(f *flow.Flow, attempts []store.Attempt, failedKey string, runErr *TestError, keys map[string]bool, secrets []string) []TestStep {
	byKey := map[string][]store.Attempt{}
	var order []string // keys by first attempt
	for _, a := range attempts {
		if _, ok := byKey[a.StepKey]; !ok {
			order = append(order, a.StepKey)
		}
		byKey[a.StepKey] = append(byKey[a.StepKey], a)
	}
	// Keys of the draft's own steps, by step id; subflow steps by prefix.
	ownKeys := map[string][]string{}
	seen := map[string]bool{}
	for _, k := range order {
		if i := strings.IndexByte(k, '/'); i >= 0 {
			// A subflow step that did not finish has no attempt of its
			// own, only its steps': it ran all the same.
			k = k[:i]
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		id, _, _ := strings.Cut(k, "[")
		ownKeys[id] = append(ownKeys[id], k)
	}
	for _, ks := range ownKeys {
		// Iterations in their order, however concurrently they ran.
		slices.SortStableFunc(ks, func(a, b string) int { return slices.Compare(iterations(a), iterations(b)) })
	}
	var out []TestStep
	entry := func(k string, s *flow.Step, path string) TestStep {
		as := byKey[k]
		if len(as) == 0 {
			// It started but never finished: something inside it failed.
			e := TestStep{ID: s.ID, Kind: s.Kind, Path: path, Pos: s.Pos, Key: k, Status: TestSkipped}
			if runErr != nil {
				e.Status, e.Error = TestFailed, runErr
			}
			return e
		}
		first, last := as[0], as[len(as)-1]
		e := TestStep{ID: s.ID, Kind: s.Kind, Path: path, Pos: s.Pos, Key: k, Attempts: len(as),
			DurationMS: ms(last.FinishedAt.Sub(first.StartedAt))}
		t.mu.Lock()
		e.Target = t.target[k]
		if fl := t.flows[k]; fl != nil && strings.Contains(k, "/") {
			e.Subflow = fl.Name
		}
		t.mu.Unlock()
		switch last.Status {
		case store.AttemptOK:
			e.Status = TestSucceeded
		case TestSkipped:
			e.Status = TestSkipped
		default:
			e.Status = TestFailed
			code := last.ErrorClass
			if k == failedKey && runErr != nil {
				code = runErr.Code
			}
			e.Error = &TestError{Code: code, Message: cleanText(last.ErrorMessage, secrets)}
		}
		e.Input = cleanPayload(last.Input, secrets)
		if last.Status == store.AttemptOK {
			e.Output = cleanPayload(last.Output, secrets)
		}
		return e
	}
	var walk func(steps []*flow.Step, prefix string)
	walk = func(steps []*flow.Step, prefix string) {
		for i, s := range steps {
			path := fmt.Sprintf("%s[%d]", prefix, i)
			ks := ownKeys[s.ID]
			switch {
			case len(ks) > 0:
				for _, k := range ks {
					out = append(out, entry(k, s, path))
					if s.Kind == flow.KindSubflow {
						out = append(out, t.subflowEntries(k, order, entry)...)
					}
				}
			default:
				e := TestStep{ID: s.ID, Kind: s.Kind, Path: path, Pos: s.Pos, Key: s.ID, Status: TestSkipped}
				if runErr != nil && containsKey(s, ownKeys) {
					// A branch or loop whose body failed ends there.
					e.Status, e.Error = TestFailed, runErr
				}
				out = append(out, e)
			}
			walk(s.Then, path+".then")
			walk(s.Else, path+".else")
			for j, c := range s.Cases {
				walk(c.Steps, fmt.Sprintf("%s.cases[%d].steps", path, j))
			}
			walk(s.Default, path+".default")
			walk(s.Do, path+".do")
		}
	}
	walk(f.Steps, "steps")
	return out
}

// iterations are the foreach positions in a step key: x[2][0] is [2 0].
func iterations(k string) []int {
	var out []int
	for {
		i := strings.IndexByte(k, '[')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(k[i:], ']')
		if j < 0 {
			return out
		}
		n, _ := strconv.Atoi(k[i+1 : i+j])
		out = append(out, n)
		k = k[i+j+1:]
	}
}

// subflowEntries are the entries of the steps a subflow step ran, in the
// order they ran, each with its path in its own flow.
func (t *testRec) subflowEntries(parent string, order []string, entry func(string, *flow.Step, string) TestStep) []TestStep {
	var out []TestStep
	paths := map[*flow.Flow]map[*flow.Step]string{}
	for _, k := range order {
		if !strings.HasPrefix(k, parent+"/") {
			continue
		}
		t.mu.Lock()
		s, f := t.steps[k], t.flows[k]
		t.mu.Unlock()
		if s == nil || f == nil {
			continue
		}
		if paths[f] == nil {
			paths[f] = stepPaths(f)
		}
		out = append(out, entry(k, s, paths[f][s]))
	}
	return out
}

// stepPaths maps every step of f to its path (steps[2].then[0]).
func stepPaths(f *flow.Flow) map[*flow.Step]string {
	out := map[*flow.Step]string{}
	var walk func(steps []*flow.Step, prefix string)
	walk = func(steps []*flow.Step, prefix string) {
		for i, s := range steps {
			path := fmt.Sprintf("%s[%d]", prefix, i)
			out[s] = path
			walk(s.Then, path+".then")
			walk(s.Else, path+".else")
			for j, c := range s.Cases {
				walk(c.Steps, fmt.Sprintf("%s.cases[%d].steps", path, j))
			}
			walk(s.Default, path+".default")
			walk(s.Do, path+".do")
		}
	}
	walk(f.Steps, "steps")
	return out
}

// containsKey reports whether any step nested in s ran.
func containsKey(s *flow.Step, ran map[string][]string) bool {
	found := false
	var visit func([]*flow.Step)
	visit = func(steps []*flow.Step) {
		for _, c := range steps {
			if len(ran[c.ID]) > 0 {
				found = true
			}
			visit(c.Then)
			visit(c.Else)
			for _, cs := range c.Cases {
				visit(cs.Steps)
			}
			visit(c.Default)
			visit(c.Do)
		}
	}
	visit(s.Then)
	visit(s.Else)
	for _, cs := range s.Cases {
		visit(cs.Steps)
	}
	visit(s.Default)
	visit(s.Do)
	return found
}
