package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/connectors/openapi"
	"github.com/weftio/weft/connectors/sandbox"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// petsSpec is a small API: imported as the "pets" connector and simulated
// by the "pets" sandbox.
const petsSpec = `openapi: 3.0.3
info: {title: Pets, version: 1.0.0}
servers: [{url: "http://pets.example.invalid"}]
paths:
  /pets:
    post:
      operationId: createPet
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/PetInput"}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}}
components:
  schemas:
    PetInput: {type: object, required: [name], properties: {name: {type: string}}}
    Pet: {type: object, required: [id, name], properties: {id: {type: string}, name: {type: string}}}
`

const upstreamSecret = "sekret-bearer-0f9e8d7c6b5a"

// testRig is a gateway over a real engine and SQLite store with an
// upstream that echoes what it got (the Authorization header included), a
// "pets" connector with a sandbox, and connections to the upstream that
// carry a secret.
type testRig struct {
	url      string
	h        http.Handler
	e        *engine.Engine
	st       store.Store
	upstream *httptest.Server
	hits     atomic.Int64
}

func newTestRig(t *testing.T, cfg gateway.Config) *testRig {
	t.Helper()
	ctx := context.Background()
	rig := &testRig{}
	rig.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rig.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		var in any
		_ = json.Unmarshal(body, &in)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/fail" {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"bad"}`)
			return
		}
		status := 200
		if r.Method == "POST" {
			status = 201
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"path": r.URL.Path, "got": in, "auth_seen": r.Header.Get("Authorization"), "id": "up-1", "name": "from-upstream"})
	}))
	t.Cleanup(rig.upstream.Close)
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	rig.st = st
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	if _, err := openapi.Register(cat, "pets", []byte(petsSpec)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*connectors.Connection{
		{Name: "up", Connector: "http", BaseURL: rig.upstream.URL, AllowPrivate: true, Auth: &connectors.Auth{Type: connectors.AuthBearer, Token: upstreamSecret}},
		{Name: "pets", Connector: "pets", BaseURL: rig.upstream.URL, AllowPrivate: true, Auth: &connectors.Auth{Type: connectors.AuthBearer, Token: upstreamSecret}},
	} {
		if err := cat.AddConnection(c); err != nil {
			t.Fatal(err)
		}
	}
	box, err := sandbox.New("pets", []byte(petsSpec))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Sandbox == nil {
		cfg.Sandbox, cfg.Sandboxes = sandbox.Mount(box), []string{"pets"}
	}
	rig.e = engine.New(st, cat, nil, engine.Config{SyncTimeout: 10 * time.Second})
	if err := st.StartQueue(ctx, rig.e.Workers(), store.QueueConfig{Workers: 2, FetchPollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	rig.h = gateway.New(rig.e, nil, cfg)
	srv := httptest.NewServer(rig.h)
	rig.url = srv.URL
	t.Cleanup(func() {
		srv.Close()
		rig.e.BeginShutdown()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.StopQueue(c)
		_ = st.Close()
	})
	return rig
}

// testRun posts a test-run request and returns the status and raw body.
func (rig *testRig) testRun(t *testing.T, req map[string]any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(req)
	r := httptest.NewRequest("POST", "/api/flows/test", strings.NewReader(string(b)))
	r.Host = "localhost"
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	rig.h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

type testStep struct {
	ID         string          `json:"id"`
	Kind       string          `json:"kind"`
	Path       string          `json:"path"`
	Pos        string          `json:"pos"`
	Key        string          `json:"key"`
	Subflow    string          `json:"subflow"`
	Target     string          `json:"target"`
	Status     string          `json:"status"`
	Attempts   int             `json:"attempts"`
	DurationMS *float64        `json:"duration_ms"`
	Input      json.RawMessage `json:"input"`
	Output     json.RawMessage `json:"output"`
	Error      *struct {
		Code, Message string
	} `json:"error"`
}

type testResult struct {
	Status     string   `json:"status"`
	DurationMS *float64 `json:"duration_ms"`
	Response   *struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"response"`
	Error *struct {
		Code, Message string
	} `json:"error"`
	Steps []testStep `json:"steps"`
}

func decodeResult(t *testing.T, body string) testResult {
	t.Helper()
	var res testResult
	dec := json.NewDecoder(strings.NewReader(body))
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("test-run answer %s: %v", body, err)
	}
	return res
}

func (r testResult) step(t *testing.T, key string) testStep {
	t.Helper()
	for _, s := range r.Steps {
		if s.Key == key {
			return s
		}
	}
	t.Fatalf("no step %q in %+v", key, r.Steps)
	return testStep{}
}

func jsonEq(t *testing.T, what string, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %s is not JSON", what, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad want %s", what, want)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Fatalf("%s: got %s, want %s", what, gb, wb)
	}
}

const draftFlow = `name: draft-orders
trigger: {webhook: {mode: sync}}
steps:
  - id: shape
    set:
      n: =size(trigger.body.items)
      who: =trigger.body.name
  - id: post
    call: http.request
    connection: up
    with: {method: POST, url: /echo, body: {who: =steps.shape.who}}
  - id: big
    if: =steps.shape.n > 1
    then:
      - id: each
        foreach: =trigger.body.items
        concurrency: 3
        do:
          - id: double
            set: {v: =item + item}
    else:
      - id: small
        set: {v: 0}
  - id: pause
    wait: 1h
  - id: reply
    respond:
      status: 201
      body: {who: =steps.post.body.got.who, doubled: =steps.each, seen: =steps.post.body.auth_seen}
`

// A draft runs end to end without being deployed or recorded; each step's
// input and output come back, in the order of the draft, positioned.
func TestIssue17_TestRunDraft(t *testing.T) {
	rig := newTestRig(t, gateway.Config{})
	start := time.Now()
	code, body := rig.testRun(t, map[string]any{"source": draftFlow, "file": "draft.yaml",
		"input": map[string]any{"body": map[string]any{"name": "ada", "items": []any{1, 2, 3}}, "headers": map[string]any{"x-test": "yes"}}})
	if code != 200 {
		t.Fatalf("test run: %d %s", code, body)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("the test run took %v: the wait step must not sleep", time.Since(start))
	}
	res := decodeResult(t, body)
	if res.Status != "succeeded" || res.Error != nil || res.DurationMS == nil {
		t.Fatalf("result: %s", body)
	}
	if res.Response == nil || res.Response.Status != 201 {
		t.Fatalf("response: %s", body)
	}
	jsonEq(t, "response body", res.Response.Body, `{"who":"ada","doubled":[{"v":2},{"v":4},{"v":6}],"seen":"Bearer [REDACTED]"}`)

	var keys []string
	for _, s := range res.Steps {
		keys = append(keys, s.Key+"="+s.Status)
	}
	want := "shape=succeeded post=succeeded big=succeeded each=succeeded double[0]=succeeded double[1]=succeeded double[2]=succeeded small=skipped pause=skipped reply=succeeded"
	if got := strings.Join(keys, " "); got != want {
		t.Fatalf("steps:\n got %s\nwant %s", got, want)
	}
	shape := res.step(t, "shape")
	if shape.Path != "steps[0]" || shape.Pos != "draft.yaml:4:5" || shape.Kind != "set" || shape.Attempts != 1 || shape.DurationMS == nil {
		t.Fatalf("shape: %+v", shape)
	}
	jsonEq(t, "shape input", shape.Input, `{"n":3,"who":"ada"}`)
	jsonEq(t, "shape output", shape.Output, `{"n":3,"who":"ada"}`)
	post := res.step(t, "post")
	if post.Target != "connection" || post.Kind != "call" {
		t.Fatalf("post: %+v", post)
	}
	jsonEq(t, "post input", post.Input, `{"method":"POST","url":"/echo","body":{"who":"ada"}}`)
	var out struct {
		Status int `json:"status"`
		Body   struct {
			Path     string `json:"path"`
			AuthSeen string `json:"auth_seen"`
		} `json:"body"`
	}
	if err := json.Unmarshal(post.Output, &out); err != nil || out.Status != 201 || out.Body.Path != "/echo" || out.Body.AuthSeen != "Bearer [REDACTED]" {
		t.Fatalf("post output: %s", post.Output)
	}
	big := res.step(t, "big")
	jsonEq(t, "if input", big.Input, `{"condition":true}`)
	jsonEq(t, "if output", big.Output, `{"branch":"then"}`)
	if big.Path != "steps[2]" {
		t.Fatalf("big path %q", big.Path)
	}
	each := res.step(t, "each")
	if each.Path != "steps[2].then[0]" {
		t.Fatalf("each path %q", each.Path)
	}
	jsonEq(t, "foreach input", each.Input, `{"items":[1,2,3]}`)
	jsonEq(t, "foreach output", each.Output, `[{"v":2},{"v":4},{"v":6}]`)
	d1 := res.step(t, "double[1]")
	if d1.Path != "steps[2].then[0].do[0]" || d1.ID != "double" {
		t.Fatalf("double[1]: %+v", d1)
	}
	jsonEq(t, "double[1] output", d1.Output, `{"v":4}`)
	if small := res.step(t, "small"); small.Path != "steps[2].else[0]" || string(small.Output) != "null" || small.Attempts != 0 {
		t.Fatalf("small: %+v", small)
	}
	pause := res.step(t, "pause")
	if pause.Kind != "wait" || string(pause.Output) != "null" || !strings.Contains(string(pause.Input), `"for":"1h0m0s"`) {
		t.Fatalf("pause: %+v %s", pause, pause.Input)
	}
	if rig.hits.Load() != 1 {
		t.Fatalf("upstream saw %d calls, want 1", rig.hits.Load())
	}

	// The secret never comes back, wherever the upstream echoed it.
	if strings.Contains(body, upstreamSecret) {
		t.Fatalf("the connection's secret is in the answer: %s", body)
	}
	// Nothing was deployed, nothing recorded.
	runs, err := rig.st.ListRuns(context.Background(), store.RunFilter{})
	if err != nil || len(runs) != 0 {
		t.Fatalf("runs recorded by a test run: %v %v", runs, err)
	}
	if fl, _ := rig.st.ListFlows(context.Background()); len(fl) != 0 {
		t.Fatalf("flows deployed by a test run: %v", fl)
	}
	srv := rig.url
	if code, out, _ := send(t, "GET", srv+"/api/runs", "", nil, ""); code != 200 || len(out["runs"].([]any)) != 0 {
		t.Fatalf("GET /api/runs after a test run: %d %v", code, out)
	}
}

// A draft that does not validate is refused with its problems, positioned,
// as validation answers them; a failing step fails the test with its error.
func TestIssue17_TestRunInvalidAndFailing(t *testing.T) {
	rig := newTestRig(t, gateway.Config{})
	bad := strings.Replace(draftFlow, "steps.shape.who}", "steps.shap.who}", 1)
	code, body := rig.testRun(t, map[string]any{"source": bad, "file": "d.yaml"})
	var e struct {
		Error struct {
			Code     string `json:"code"`
			Problems []struct {
				Pos, Path, Message string
			} `json:"problems"`
		} `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	// The same answer as POST /api/flows/validate.
	vr := httptest.NewRequest("POST", "/api/flows/validate?file=d.yaml", strings.NewReader(bad))
	vr.Host = "localhost"
	vr.Header.Set("Content-Type", "application/yaml")
	vw := httptest.NewRecorder()
	rig.h.ServeHTTP(vw, vr)
	if code != vw.Code || code < 400 || code > 499 || len(e.Error.Problems) == 0 || !strings.HasPrefix(e.Error.Problems[0].Pos, "d.yaml:11:") ||
		!strings.Contains(e.Error.Problems[0].Message, "shap") {
		t.Fatalf("invalid draft: %d %s (validate: %d %s)", code, body, vw.Code, vw.Body.String())
	}
	if code, body := rig.testRun(t, map[string]any{"source": "name: [oops"}); code != 400 {
		t.Fatalf("YAML that does not parse: %d %s", code, body)
	}
	if code, body := rig.testRun(t, map[string]any{"source": ""}); code != 400 || !strings.Contains(body, "source") {
		t.Fatalf("empty source: %d %s", code, body)
	}

	failing := `name: failing
steps:
  - id: a
    set: {x: 1}
  - id: boom
    call: http.request
    connection: up
    with: {url: /fail}
    retry: {max_attempts: 1}
  - id: after
    set: {y: 2}
`
	code, body = rig.testRun(t, map[string]any{"source": failing, "input": map[string]any{"body": map[string]any{}}})
	if code != 200 {
		t.Fatalf("failing draft: %d %s", code, body)
	}
	res := decodeResult(t, body)
	boom := res.step(t, "boom")
	if res.Status != "failed" || res.Error == nil || res.Error.Code != "permanent_error" || res.Response != nil {
		t.Fatalf("failing result: %s", body)
	}
	if boom.Status != "failed" || boom.Error == nil || boom.Error.Code != "permanent_error" || !strings.Contains(boom.Error.Message, "400") || string(boom.Output) != "null" {
		t.Fatalf("boom: %+v", boom)
	}
	if after := res.step(t, "after"); after.Status != "skipped" {
		t.Fatalf("after: %+v", after)
	}
	if strings.Contains(body, upstreamSecret) {
		t.Fatal("secret in a failed test run's answer")
	}
}

// from_run takes the trigger input a recorded run kept.
func TestIssue17_TestRunFromRun(t *testing.T) {
	rig := newTestRig(t, gateway.Config{})
	const echo = `name: echo
trigger: {webhook: {mode: sync}}
capture: full
steps:
  - id: r
    respond: {body: {got: =trigger.body.msg}}
`
	if code, out, _ := call(t, "POST", rig.url+"/api/flows?file=echo.yaml", echo, nil); code != 201 {
		t.Fatalf("deploy: %d %v", code, out)
	}
	_, _, h := call(t, "POST", rig.url+"/hooks/echo", `{"msg":"from the past"}`, nil)
	id := h.Get("X-Weft-Run-Id")
	if id == "" {
		t.Fatal("no run id")
	}
	draft := strings.Replace(echo, "got:", "again:", 1)
	code, body := rig.testRun(t, map[string]any{"source": draft, "from_run": id})
	if code != 200 {
		t.Fatalf("from_run: %d %s", code, body)
	}
	res := decodeResult(t, body)
	jsonEq(t, "response", res.Response.Body, `{"again":"from the past"}`)
	if code, body := rig.testRun(t, map[string]any{"source": draft, "from_run": "nope"}); code != 404 {
		t.Fatalf("unknown run: %d %s", code, body)
	}
	if code, body := rig.testRun(t, map[string]any{"source": draft, "from_run": id, "input": map[string]any{"body": 1}}); code != 400 {
		t.Fatalf("input and from_run: %d %s", code, body)
	}
	// Still one run: the test runs added none.
	runs, _ := rig.st.ListRuns(context.Background(), store.RunFilter{})
	if len(runs) != 1 {
		t.Fatalf("%d runs recorded, want 1", len(runs))
	}
}

// In sandbox mode a call of a connector this server simulates goes to the
// sandbox, without credentials; the connection's base URL sees nothing.
func TestIssue17_TestRunSandbox(t *testing.T) {
	rig := newTestRig(t, gateway.Config{})
	const pets = `name: pets-draft
steps:
  - id: create
    call: pets.createPet
    connection: pets
    with: {name: =trigger.body.name}
  - id: out
    set: {id: =steps.create.body.id, name: =steps.create.body.name}
`
	code, body := rig.testRun(t, map[string]any{"source": pets, "sandbox": true, "input": map[string]any{"body": map[string]any{"name": "rex"}}})
	if code != 200 {
		t.Fatalf("sandbox test run: %d %s", code, body)
	}
	res := decodeResult(t, body)
	create := res.step(t, "create")
	if res.Status != "succeeded" || create.Target != "sandbox" {
		t.Fatalf("sandbox run: %s", body)
	}
	var o struct{ ID, Name string }
	if err := json.Unmarshal(res.step(t, "out").Output, &o); err != nil || o.Name != "rex" || o.ID == "" || o.ID == "up-1" {
		t.Fatalf("output from the sandbox: %s", res.step(t, "out").Output)
	}
	if rig.hits.Load() != 0 {
		t.Fatalf("the connection's base URL saw %d calls in sandbox mode", rig.hits.Load())
	}
	// Without sandbox the same draft reaches the connection.
	code, body = rig.testRun(t, map[string]any{"source": pets, "input": map[string]any{"body": map[string]any{"name": "rex"}}})
	res = decodeResult(t, body)
	if code != 200 || res.step(t, "create").Target != "connection" || rig.hits.Load() != 1 {
		t.Fatalf("without sandbox: %d %s (hits %d)", code, body, rig.hits.Load())
	}
	if strings.Contains(body, upstreamSecret) {
		t.Fatal("secret in the answer")
	}
	// A server without sandboxes says so.
	bare := newTestRig(t, gateway.Config{Sandbox: http.NotFoundHandler()})
	if code, body := bare.testRun(t, map[string]any{"source": pets, "sandbox": true}); code != 409 {
		t.Fatalf("sandbox mode without sandboxes: %d %s", code, body)
	}
}

// A subflow step runs the deployed subflow inline as part of the test, its
// steps listed after it; a subflow that is not deployed is refused.
func TestIssue17_TestRunSubflowAndTimeout(t *testing.T) {
	rig := newTestRig(t, gateway.Config{})
	const child = `name: child
steps:
  - id: inner
    set: {twice: =trigger.body.n + trigger.body.n}
  - id: answer
    respond: {body: {twice: =steps.inner.twice}}
`
	if code, out, _ := call(t, "POST", rig.url+"/api/flows?file=child.yaml", child, nil); code != 201 {
		t.Fatalf("deploy child: %d %v", code, out)
	}
	const parent = `name: parent
steps:
  - id: sub
    subflow: child
    with: {n: =trigger.body.n}
  - id: reply
    respond: {body: =steps.sub}
`
	code, body := rig.testRun(t, map[string]any{"source": parent, "input": map[string]any{"body": map[string]any{"n": 21}}})
	if code != 200 {
		t.Fatalf("subflow test run: %d %s", code, body)
	}
	res := decodeResult(t, body)
	if res.Response == nil {
		t.Fatalf("no response: %s", body)
	}
	jsonEq(t, "response", res.Response.Body, `{"twice":42}`)
	var keys []string
	for _, s := range res.Steps {
		keys = append(keys, s.Key)
	}
	if got := strings.Join(keys, " "); got != "sub sub/inner sub/answer reply" {
		t.Fatalf("steps: %s", got)
	}
	inner := res.step(t, "sub/inner")
	if inner.Subflow != "child" || inner.Path != "steps[0]" || !strings.HasPrefix(inner.Pos, "child.yaml:") {
		t.Fatalf("subflow step: %+v", inner)
	}
	jsonEq(t, "subflow input", res.step(t, "sub").Input, `{"n":21}`)
	if runs, _ := rig.st.ListRuns(context.Background(), store.RunFilter{}); len(runs) != 0 {
		t.Fatalf("a test run with a subflow recorded %d runs", len(runs))
	}
	missing := strings.Replace(parent, "subflow: child", "subflow: nowhere", 1)
	if code, body := rig.testRun(t, map[string]any{"source": missing}); code != 422 || !strings.Contains(body, "nowhere") {
		t.Fatalf("missing subflow: %d %s", code, body)
	}
	// A subflow step whose subflow fails shows it failed, with the step
	// that failed inside it.
	code, body = rig.testRun(t, map[string]any{"source": parent, "input": map[string]any{"body": map[string]any{"n": true}}})
	res = decodeResult(t, body)
	if code != 200 || res.Status != "failed" || res.step(t, "sub").Status != "failed" || res.step(t, "sub/inner").Status != "failed" ||
		res.step(t, "reply").Status != "skipped" {
		t.Fatalf("failing subflow: %d %s", code, body)
	}
}

// The server's sync timeout bounds a test run.
func TestIssue17_TestRunTimeout(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(10 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	if err := cat.AddConnection(&connectors.Connection{Name: "slow", Connector: "http", BaseURL: slow.URL, AllowPrivate: true}); err != nil {
		t.Fatal(err)
	}
	e := engine.New(st, cat, nil, engine.Config{SyncTimeout: 300 * time.Millisecond})
	h := gateway.New(e, nil, gateway.Config{})
	src := "name: slowpoke\nsteps:\n  - id: wait_up\n    call: http.request\n    connection: slow\n    with: {url: /}\n"
	b, _ := json.Marshal(map[string]any{"source": src})
	r := httptest.NewRequest("POST", "/api/flows/test", strings.NewReader(string(b)))
	r.Host = "localhost"
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(w, r)
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
	res := decodeResult(t, w.Body.String())
	if w.Code != 200 || res.Status != "failed" || res.Error == nil || res.Error.Code != "timeout" {
		t.Fatalf("timed-out test run: %d %s", w.Code, w.Body.String())
	}
}
