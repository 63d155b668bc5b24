package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/internal/seal"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// sink is a test HTTP server that records requests and answers per a script.
type sink struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []string
	bodies  []map[string]any
	calls   atomic.Int64
	respond func(n int64, r *http.Request) (int, http.Header, string)
}

func newSink(t *testing.T, respond func(n int64, r *http.Request) (int, http.Header, string)) *sink {
	s := &sink{respond: respond}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.calls.Add(1)
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		s.mu.Lock()
		s.keys = append(s.keys, r.Header.Get("Idempotency-Key"))
		s.bodies = append(s.bodies, body)
		s.mu.Unlock()
		status, h, out := 200, http.Header{}, `{"ok":true}`
		if s.respond != nil {
			status, h, out = s.respond(n, r)
		}
		for k, v := range h {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, out)
	}))
	t.Cleanup(s.Close)
	return s
}

func newEngine(t testing.TB) *engine.Engine { return newEngineOver(t, 8, nil) }

// newEngineOver is newEngine with that many queue workers and, when wrap
// is not nil, the store the engine uses wrapped (the queue stays the
// store's own).
func newEngineOver(t testing.TB, workers int, wrap func(store.Store) store.Store) *engine.Engine {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, t.TempDir(), quiet, 0)
	if err != nil {
		t.Fatal(err)
	}
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	if err := cat.AddConnection(&connectors.Connection{Name: "local", Connector: "http", AllowPrivate: true}); err != nil {
		t.Fatal(err)
	}
	var used store.Store = st
	if wrap != nil {
		used = wrap(st)
	}
	e := engine.New(used, cat, quiet, engine.Config{LongWait: 500 * time.Millisecond})
	if err := st.StartQueue(ctx, e.Workers(), store.QueueConfig{Workers: workers, FetchPollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.BeginShutdown()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.StopQueue(c)
		_ = st.Close()
	})
	return e
}

func deploy(t testing.TB, e *engine.Engine, src string) {
	t.Helper()
	if _, _, err := e.Deploy(context.Background(), "test.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
}

func waitRun(t *testing.T, e *engine.Engine, id string, want ...string) *store.Run {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := e.Store().GetRun(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if r.Status == w {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s is %s, want %v (%s)", id, r.Status, want, r.ErrorMessage)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func attempts(t *testing.T, e *engine.Engine, id string) []store.Attempt {
	t.Helper()
	as, err := e.Store().ListAttempts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func TestRetryThenSucceedKeepsIdempotencyKey(t *testing.T) {
	e := newEngine(t)
	s := newSink(t, func(n int64, r *http.Request) (int, http.Header, string) {
		if n < 3 {
			return 503, nil, `{"error":"busy"}`
		}
		return 200, nil, `{"ok":true}`
	})
	deploy(t, e, `
name: retry
trigger: {webhook: {}}
steps:
  - id: post
    call: http.request
    connection: local
    with: {method: POST, url: "`+s.URL+`", body: {n: 1}}
    retry: {max_attempts: 5, backoff: 10ms}
  - id: reply
    respond: {body: =steps.post.body}
`)
	res, err := e.Trigger(context.Background(), engine.Event{Flow: "retry", Kind: "webhook", Body: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Status != store.RunSucceeded || res.Response == nil || res.Response.Body.(map[string]any)["ok"] != true {
		t.Fatalf("run %+v resp %+v", res.Run, res.Response)
	}
	if s.calls.Load() != 3 {
		t.Fatalf("calls %d", s.calls.Load())
	}
	want := res.Run.ID + ":post"
	for _, k := range s.keys {
		if k != want {
			t.Fatalf("idempotency keys %v, want all %q", s.keys, want)
		}
	}
	as := attempts(t, e, res.Run.ID)
	if len(as) != 4 || as[0].ErrorClass != "retryable" || as[2].Status != store.AttemptOK || as[2].Attempt != 3 {
		t.Fatalf("attempts %+v", as)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	e := newEngine(t)
	s := newSink(t, func(n int64, r *http.Request) (int, http.Header, string) {
		if n == 1 {
			return 429, http.Header{"Retry-After": {"1"}}, `{}`
		}
		return 200, nil, `{}`
	})
	deploy(t, e, `
name: ra
steps:
  - id: post
    call: http.request
    connection: local
    with: {url: "`+s.URL+`"}
    retry: {max_attempts: 2, backoff: 1ms}
`)
	start := time.Now()
	res, err := e.Trigger(context.Background(), engine.Event{Flow: "ra", Kind: "manual"})
	if err != nil || res.Run.Status != store.RunSucceeded {
		t.Fatalf("%v %+v", err, res)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("retried after %v, Retry-After said 1s", d)
	}
}

func TestDeadLetterAndReplayResumesAtFailedStep(t *testing.T) {
	e := newEngine(t)
	first := newSink(t, nil)
	var healthy atomic.Bool
	second := newSink(t, func(n int64, r *http.Request) (int, http.Header, string) {
		if healthy.Load() {
			return 200, nil, `{"done":true}`
		}
		return 500, nil, `{"error":"down"}`
	})
	deploy(t, e, `
name: dlq
trigger: {webhook: {mode: async}}
steps:
  - id: one
    call: http.request
    connection: local
    with: {method: POST, url: "`+first.URL+`", body: =trigger.body}
  - id: two
    call: http.request
    connection: local
    with: {method: POST, url: "`+second.URL+`", body: {x: =trigger.body.x}}
    retry: {max_attempts: 2, backoff: 5ms}
`)
	res, err := e.Trigger(context.Background(), engine.Event{Flow: "dlq", Kind: "webhook", Body: map[string]any{"x": 1.0}, Async: true})
	if err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, e, res.Run.ID, store.RunDead)
	if run.FailedStep != "two" || run.ErrorCode != "retries_exhausted" || second.calls.Load() != 2 {
		t.Fatalf("run %+v calls %d", run, second.calls.Load())
	}
	dead, _ := e.Store().ListRuns(context.Background(), store.RunFilter{Status: store.RunDead})
	if len(dead) != 1 {
		t.Fatalf("dlq has %d", len(dead))
	}
	healthy.Store(true)
	if _, err := e.Replay(context.Background(), run.ID, json.RawMessage(`{"method":"POST","url":"`+second.URL+`","body":{"x":42}}`)); err != nil {
		t.Fatal(err)
	}
	run = waitRun(t, e, run.ID, store.RunSucceeded)
	if first.calls.Load() != 1 {
		t.Fatalf("completed step one re-executed: %d calls", first.calls.Load())
	}
	second.mu.Lock()
	last := second.bodies[len(second.bodies)-1]
	second.mu.Unlock()
	if last["x"] != 42.0 {
		t.Fatalf("replay input not used: %v", last)
	}
	if _, err := e.Replay(context.Background(), run.ID, nil); weft.Code(err) != weft.EConflict {
		t.Fatalf("replaying a succeeded run: %v", err)
	}
}

func TestPermanentErrorFailsAtOnce(t *testing.T) {
	e := newEngine(t)
	s := newSink(t, func(int64, *http.Request) (int, http.Header, string) { return 400, nil, `{"error":"bad"}` })
	deploy(t, e, `
name: perm
steps:
  - call: http.request
    connection: local
    with: {url: "`+s.URL+`"}
    retry: {max_attempts: 5}
`)
	res, _ := e.Trigger(context.Background(), engine.Event{Flow: "perm", Kind: "manual"})
	if res.Run.Status != store.RunDead || s.calls.Load() != 1 || res.Run.ErrorCode != "permanent_error" {
		t.Fatalf("%+v calls %d", res.Run, s.calls.Load())
	}
}

func TestPrivateAddressRefusedWithoutConnection(t *testing.T) {
	e := newEngine(t)
	s := newSink(t, nil)
	deploy(t, e, `
name: ssrf
steps:
  - call: http.request
    with: {url: "`+s.URL+`"}
`)
	res, _ := e.Trigger(context.Background(), engine.Event{Flow: "ssrf", Kind: "manual"})
	if res.Run.Status != store.RunDead || s.calls.Load() != 0 || !strings.Contains(res.Run.ErrorMessage, "non-public address") {
		t.Fatalf("%+v calls %d", res.Run, s.calls.Load())
	}
}

func TestForeachSubflowIfSwitchFail(t *testing.T) {
	e := newEngine(t)
	s := newSink(t, func(n int64, r *http.Request) (int, http.Header, string) { return 200, nil, `{"echo":true}` })
	deploy(t, e, `
name: tax
trigger: {manual: {}}
steps:
  - id: out
    respond: {body: {with_tax: =trigger.body.amount * 1.2}}
`)
	deploy(t, e, `
name: main
trigger: {webhook: {}}
capture: full
steps:
  - id: each
    foreach: trigger.body.items
    concurrency: 4
    do:
      - id: notify
        call: http.request
        connection: local
        with: {method: POST, url: "`+s.URL+`", body: {sku: =item.sku, i: =index}}
      - id: line
        set: {sku: =item.sku, ok: =steps.notify.body.echo}
  - id: tax
    subflow: tax
    with: {amount: 10.0}
  - id: big
    if: size(trigger.body.items) > 2
    then:
      - id: size_note
        set: {size: big}
    else:
      - id: small_note
        set: {size: small}
  - id: route
    switch:
      - when: trigger.body.kind == "a"
        steps: [{id: route_a, set: {route: a}}]
    default: [{id: route_default, set: {route: other}}]
  - id: reply
    respond:
      status: 201
      headers: {X-Flow: main}
      body: {lines: =steps.each, tax: =steps.tax.with_tax, size: =steps.size_note.size, route: =steps.route_default.route}
`)
	items := []any{}
	for i := 0; i < 10; i++ {
		items = append(items, map[string]any{"sku": fmt.Sprintf("s%d", i)})
	}
	res, err := e.Trigger(context.Background(), engine.Event{Flow: "main", Kind: "webhook", Body: map[string]any{"items": items, "kind": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Status != store.RunSucceeded {
		t.Fatalf("%+v", res.Run)
	}
	body := res.Response.Body.(map[string]any)
	lines := body["lines"].([]any)
	if len(lines) != 10 || lines[7].(map[string]any)["sku"] != "s7" || body["tax"] != 12.0 || body["size"] != "big" || body["route"] != "other" || res.Response.Status != 201 || res.Response.Headers["X-Flow"] != "main" {
		t.Fatalf("response %+v", res.Response)
	}
	keys := map[string]bool{}
	for _, k := range s.keys {
		keys[k] = true
	}
	if len(keys) != 10 {
		t.Fatalf("want 10 distinct idempotency keys, got %v", s.keys)
	}
	as := attempts(t, e, res.Run.ID)
	var sawIter, sawSub bool
	for _, a := range as {
		if a.StepKey == "notify[3]" {
			sawIter = true
			if !strings.Contains(string(a.Input), `"sku":"s3"`) {
				t.Fatalf("full capture input %s", a.Input)
			}
		}
		if a.StepKey == "tax/out" {
			sawSub = true
		}
	}
	if !sawIter || !sawSub {
		t.Fatalf("step keys missing in log: %+v", as)
	}

	deploy(t, e, `
name: failing
steps:
  - fail: {message: ="amount " + string(trigger.body.amount) + " is too large", code: too_large}
`)
	res, _ = e.Trigger(context.Background(), engine.Event{Flow: "failing", Kind: "manual", Body: map[string]any{"amount": 5.0}})
	if res.Run.Status != store.RunFailed || res.Run.ErrorCode != "too_large" || res.Run.ErrorMessage != "amount 5 is too large" {
		t.Fatalf("%+v", res.Run)
	}
}

func TestSubflowCycleRejected(t *testing.T) {
	e := newEngine(t)
	deploy(t, e, "name: b\nsteps:\n  - set: {x: 1}\n")
	deploy(t, e, "name: a\nsteps:\n  - subflow: b\n")
	_, _, err := e.Deploy(context.Background(), "b.yaml", []byte("name: b\nsteps:\n  - subflow: a\n"))
	if err == nil || !strings.Contains(err.Error(), "subflow cycle: b -> a -> b") {
		t.Fatalf("%v", err)
	}
	_, _, err = e.Deploy(context.Background(), "c.yaml", []byte("name: c\nsteps:\n  - subflow: missing\n"))
	if err == nil || !strings.Contains(err.Error(), `subflow "missing" is not deployed`) {
		t.Fatalf("%v", err)
	}
}

func TestSyncIdempotencyRunsOnce(t *testing.T) {
	e := newEngine(t)
	s := newSink(t, nil)
	deploy(t, e, `
name: idem
trigger: {webhook: {idempotency: {header: X-Event-Id}}}
steps:
  - id: post
    call: http.request
    connection: local
    with: {method: POST, url: "`+s.URL+`"}
  - respond: {body: {run: =run.id}}
`)
	ev := engine.Event{Flow: "idem", Kind: "webhook", IdemKey: "evt-1"}
	r1, err := e.Trigger(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := e.Trigger(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Duplicate || r2.Run.ID != r1.Run.ID || s.calls.Load() != 1 || r2.Response.Body.(map[string]any)["run"] != r1.Run.ID {
		t.Fatalf("r1 %+v r2 %+v calls %d", r1.Run, r2, s.calls.Load())
	}
}

func TestAsyncLongWaitReleasesWorkerAndCancel(t *testing.T) {
	e := newEngine(t)
	deploy(t, e, `
name: waiter
steps:
  - id: pause
    wait: 1s
  - id: after
    set: {done: true}
`)
	start := time.Now()
	res, err := e.Trigger(context.Background(), engine.Event{Flow: "waiter", Kind: "manual", Async: true})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, e, res.Run.ID, store.RunSucceeded)
	if d := time.Since(start); d < time.Second {
		t.Fatalf("finished after %v; the wait was 1s", d)
	}
	var starts int
	for _, a := range attempts(t, e, res.Run.ID) {
		if a.Kind == "wait_start" {
			starts++
		}
	}
	if starts != 1 {
		t.Fatalf("wait target recorded %d times", starts)
	}

	deploy(t, e, "name: slow\nsteps:\n  - wait: 1h\n")
	res, err = e.Trigger(context.Background(), engine.Event{Flow: "slow", Kind: "manual", Async: true})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := e.Cancel(context.Background(), res.Run.ID); err != nil {
		t.Fatal(err)
	}
	r := waitRun(t, e, res.Run.ID, store.RunCanceled)
	if err := e.Cancel(context.Background(), r.ID); weft.Code(err) != weft.EConflict {
		t.Fatalf("cancel twice: %v", err)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	e := newEngine(t)
	var inflight, peak atomic.Int64
	s := newSink(t, func(int64, *http.Request) (int, http.Header, string) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		inflight.Add(-1)
		return 200, nil, `{}`
	})
	deploy(t, e, `
name: limited
limits: {concurrency: 2}
steps:
  - call: http.request
    connection: local
    with: {url: "`+s.URL+`"}
`)
	var ids []string
	for i := 0; i < 8; i++ {
		res, err := e.Trigger(context.Background(), engine.Event{Flow: "limited", Kind: "manual", Async: true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Run.ID)
	}
	for _, id := range ids {
		waitRun(t, e, id, store.RunSucceeded)
	}
	if peak.Load() > 2 {
		t.Fatalf("peak concurrency %d > 2", peak.Load())
	}
}

func TestResumeSkipsCheckpointedSteps(t *testing.T) {
	e := newEngine(t)
	a := newSink(t, nil)
	b := newSink(t, nil)
	deploy(t, e, `
name: resume
steps:
  - id: a
    call: http.request
    connection: local
    with: {url: "`+a.URL+`"}
  - id: b
    call: http.request
    connection: local
    with: {method: POST, url: "`+b.URL+`", body: {from_a: =steps.a.body.marker}}
`)
	ctx := context.Background()
	// A run whose step a completed before a crash: its checkpoint is in the log.
	now := time.Now().UTC()
	run := &store.Run{Flow: "resume", Version: 1, Status: store.RunRunning, TriggerKind: "manual", Input: json.RawMessage(`{"body":{},"headers":{},"query":{},"kind":"manual"}`), CreatedAt: now, StartedAt: now}
	if _, _, err := e.Store().CreateRun(ctx, run, false); err != nil {
		t.Fatal(err)
	}
	if err := e.Store().AppendAttempts(ctx, []store.Attempt{{RunID: run.ID, Flow: "resume", Version: 1, StepID: "a", StepKey: "a", Kind: "call", Attempt: 1, Status: store.AttemptOK,
		StartedAt: now, FinishedAt: now, Checkpoint: json.RawMessage(`{"status":200,"body":{"marker":"recorded"}}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store().Requeue(ctx, run.ID, []string{store.RunRunning}, nil); err != nil {
		t.Fatal(err)
	}
	waitRun(t, e, run.ID, store.RunSucceeded)
	b.mu.Lock()
	defer b.mu.Unlock()
	if a.calls.Load() != 0 || b.calls.Load() != 1 || b.bodies[0]["from_a"] != "recorded" {
		t.Fatalf("a calls %d, b calls %d, b body %v", a.calls.Load(), b.calls.Load(), b.bodies)
	}
}

func TestRecordedInputKeepsRawBody(t *testing.T) {
	e := newEngine(t)
	deploy(t, e, "name: rec\ntrigger: {webhook: {mode: async}}\nsteps:\n  - id: a\n    set: {x: =trigger.body.x}\n")
	raw := []byte(`{"x": 1.50, "nested": {"k": [1, 2]}}`)
	var body any
	_ = json.Unmarshal(raw, &body)
	res, err := e.Trigger(context.Background(), engine.Event{Flow: "rec", Kind: "webhook", Body: body, RawBody: raw,
		Headers: map[string]string{"x-id": "7"}, Async: true})
	if err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, e, res.Run.ID, store.RunSucceeded)
	var in map[string]any
	if err := json.Unmarshal(run.Input, &in); err != nil {
		t.Fatalf("recorded input %s: %v", run.Input, err)
	}
	if in["kind"] != "webhook" || in["headers"].(map[string]any)["x-id"] != "7" || in["body"].(map[string]any)["nested"].(map[string]any)["k"].([]any)[1] != 2.0 {
		t.Fatalf("recorded input %s", run.Input)
	}
}

func TestRateLimit(t *testing.T) {
	e := newEngine(t)
	deploy(t, e, "name: paced\nlimits: {rate_per_sec: 20, burst: 1}\nsteps:\n  - set: {x: 1}\n")
	start := time.Now()
	for i := 0; i < 6; i++ {
		res, err := e.Trigger(context.Background(), engine.Event{Flow: "paced", Kind: "manual"})
		if err != nil || res.Run.Status != store.RunSucceeded {
			t.Fatalf("%v %+v", err, res)
		}
	}
	// 6 runs at 20/s with a burst of 1 take at least 5 intervals of 50ms.
	if d := time.Since(start); d < 240*time.Millisecond {
		t.Fatalf("6 runs took %v; the limit is 20/s", d)
	}
}

func TestCaptureNoneKeepsNoSizes(t *testing.T) {
	e := newEngine(t)
	deploy(t, e, "name: quiet\ncapture: none\nsteps:\n  - id: a\n    set: {secret_sauce: =trigger.body.x}\n")
	res, err := e.Trigger(context.Background(), engine.Event{Flow: "quiet", Kind: "manual", Body: map[string]any{"x": "classified"}})
	if err != nil {
		t.Fatal(err)
	}
	as := attempts(t, e, res.Run.ID)
	if len(as) != 1 || as[0].OutputSize != 0 || as[0].Output != nil {
		t.Fatalf("%+v", as)
	}
	if run, _ := e.Store().GetRun(context.Background(), res.Run.ID); run.Input != nil {
		t.Fatalf("input kept under capture none: %s", run.Input)
	}
}

func TestStepTimeoutIsRetryableThenDead(t *testing.T) {
	e := newEngine(t)
	s := newSink(t, func(int64, *http.Request) (int, http.Header, string) {
		time.Sleep(400 * time.Millisecond)
		return 200, nil, `{}`
	})
	deploy(t, e, `
name: slowpoke
steps:
  - id: post
    call: http.request
    connection: local
    with: {url: "`+s.URL+`"}
    timeout: 50ms
    retry: {max_attempts: 2, backoff: 1ms}
`)
	start := time.Now()
	res, err := e.Trigger(context.Background(), engine.Event{Flow: "slowpoke", Kind: "manual"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Status != store.RunDead || res.Run.ErrorCode != "retries_exhausted" || !strings.Contains(res.Run.ErrorMessage, "timed out after 50ms") {
		t.Fatalf("%+v", res.Run)
	}
	if d := time.Since(start); d > 350*time.Millisecond {
		t.Fatalf("two 50ms attempts took %v", d)
	}
	as := attempts(t, e, res.Run.ID)
	if len(as) != 2 || as[0].ErrorClass != "retryable" {
		t.Fatalf("%+v", as)
	}
}

func TestStaleSyncRunIsTakenOverByRedelivery(t *testing.T) {
	e := newEngine(t)
	s := newSink(t, nil)
	deploy(t, e, `
name: claimed
trigger: {webhook: {idempotency: {header: X-Event-Id}}}
steps:
  - id: post
    call: http.request
    connection: local
    with: {method: POST, url: "`+s.URL+`", body: {n: =trigger.body.n}}
  - respond: {body: {n: =trigger.body.n}}
`)
	ctx := context.Background()
	// A process claimed event k-1 two minutes ago and died before answering.
	old := time.Now().Add(-2 * time.Minute).UTC()
	dead := &store.Run{Flow: "claimed", Version: 1, Status: store.RunRunning, TriggerKind: "webhook", IdemKey: "k-1", Sync: true,
		Input: json.RawMessage(`{"kind":"webhook","body":{"n":7},"headers":{},"query":{}}`), CreatedAt: old, StartedAt: old}
	if _, _, err := e.Store().CreateRun(ctx, dead, false); err != nil {
		t.Fatal(err)
	}
	res, err := e.Trigger(ctx, engine.Event{Flow: "claimed", Kind: "webhook", IdemKey: "k-1", Body: map[string]any{"n": 7.0}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicate || res.Run.ID != dead.ID || res.Run.Status != store.RunSucceeded || res.Response.Body.(map[string]any)["n"] != 7.0 || s.calls.Load() != 1 {
		t.Fatalf("dup=%v run %+v resp %+v calls %d", res.Duplicate, res.Run, res.Response, s.calls.Load())
	}
	// A claim that is merely in progress is not taken over.
	fresh := &store.Run{Flow: "claimed", Version: 1, Status: store.RunRunning, TriggerKind: "webhook", IdemKey: "k-2", Sync: true, CreatedAt: time.Now().UTC()}
	if _, _, err := e.Store().CreateRun(ctx, fresh, false); err != nil {
		t.Fatal(err)
	}
	res, err = e.Trigger(ctx, engine.Event{Flow: "claimed", Kind: "webhook", IdemKey: "k-2", Body: map[string]any{"n": 8.0}})
	if err != nil || !res.Duplicate || s.calls.Load() != 1 {
		t.Fatalf("%v %+v calls %d", err, res, s.calls.Load())
	}
}

// newSealingEngine is newEngine with, when sealed, payloads sealed at rest
// under a master key (as weft serve has them).
func newSealingEngine(t testing.TB, sealed bool) *engine.Engine {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, t.TempDir(), quiet, 0)
	if err != nil {
		t.Fatal(err)
	}
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	if err := cat.AddConnection(&connectors.Connection{Name: "local", Connector: "http", AllowPrivate: true}); err != nil {
		t.Fatal(err)
	}
	cfg := engine.Config{LongWait: 500 * time.Millisecond}
	if sealed {
		keys, err := seal.New(seal.NewKey())
		if err != nil {
			t.Fatal(err)
		}
		env := seal.NewEnvelope(keys, st)
		st.SetPayloadSealer(env)
		cfg.Keys, cfg.Payloads = keys, env
	}
	e := engine.New(st, cat, quiet, cfg)
	t.Cleanup(func() {
		e.BeginShutdown()
		_ = st.Close()
	})
	return e
}

// The run variable, built only when an expression first names it, reads
// the same in a foreach's concurrent iterations (which may build it), in
// a subflow and in the run's own later steps.
func TestRunVariableBuiltOnFirstUse(t *testing.T) {
	e := newEngine(t)
	deploy(t, e, `
name: runsub
steps:
  - respond: {body: {id: =run.id, flow: =run.flow}}
`)
	deploy(t, e, `
name: runvars
trigger: {webhook: {}}
steps:
  - id: each
    foreach: trigger.body.items
    concurrency: 4
    do:
      - id: line
        set: {id: =run.id, flow: =run.flow, version: =run.version, i: =index}
  - id: sub
    subflow: runsub
  - respond: {body: {id: =run.id, at: =string(run.started_at), lines: =steps.each, sub: =steps.sub}}
`)
	items := make([]any, 12)
	for i := range items {
		items[i] = map[string]any{"n": float64(i)}
	}
	res, err := e.Trigger(context.Background(), engine.Event{Flow: "runvars", Kind: "webhook", Body: map[string]any{"items": items}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Status != store.RunSucceeded {
		t.Fatalf("%+v", res.Run)
	}
	body := res.Response.Body.(map[string]any)
	at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(body["at"]))
	if body["id"] != res.Run.ID || !at.Equal(res.Run.StartedAt) {
		t.Fatalf("run.id %v, run.started_at %v; run %s started %v", body["id"], body["at"], res.Run.ID, res.Run.StartedAt)
	}
	lines := body["lines"].([]any)
	for i, l := range lines {
		m := l.(map[string]any)
		if m["id"] != res.Run.ID || m["flow"] != "runvars" || m["version"] != int64(res.Run.Version) || m["i"] != int64(i) {
			t.Errorf("iteration %d: %v", i, m)
		}
	}
	if len(lines) != 12 {
		t.Errorf("%d iterations", len(lines))
	}
	if sub := fmt.Sprint(body["sub"]); !strings.Contains(sub, res.Run.ID) {
		t.Errorf("subflow's run: %s", sub)
	}
}
