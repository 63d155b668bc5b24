package engine_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/store"
)

// A sync run that fails keeps the checkpoints of the steps it completed
// (their outputs are counted, not encoded, while the run goes well), so a
// replay resumes at the failed step and does not call the first sink again.
func TestFailedSyncRunKeepsCheckpoints(t *testing.T) {
	e := newEngine(t)
	first := newSink(t, func(int64, *http.Request) (int, http.Header, string) { return 200, nil, `{"id":"<7>"}` })
	second := newSink(t, func(int64, *http.Request) (int, http.Header, string) { return 400, nil, `{"error":"bad"}` })
	deploy(t, e, `
name: syncfail
trigger: {webhook: {}}
steps:
  - id: shape
    set: {n: =trigger.body.n, tag: "a<b"}
  - id: one
    call: http.request
    connection: local
    with: {method: POST, url: "`+first.URL+`", body: =steps.shape}
  - id: two
    call: http.request
    connection: local
    with: {method: POST, url: "`+second.URL+`", body: {id: =steps.one.body.id}}
`)
	res, err := e.Trigger(context.Background(), engine.Event{Flow: "syncfail", Kind: "webhook", Body: map[string]any{"n": 2.0}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Status != store.RunDead || res.Run.FailedStep != "two" {
		t.Fatalf("%+v", res.Run)
	}
	as, err := e.Store().ListAttempts(context.Background(), res.Run.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.StepKey == "shape" {
			if want := len(`{"n":2,"tag":"a\u003cb"}`); a.OutputSize != want {
				t.Fatalf("shape output size %d, want %d", a.OutputSize, want)
			}
		}
	}
	raw, err := e.Store().Checkpoints(context.Background(), res.Run.ID)
	if err != nil {
		t.Fatal(err)
	}
	cps := map[string]string{}
	for k, v := range raw {
		cps[k] = string(v)
	}
	if cps["shape"] != `{"n":2,"tag":"a\u003cb"}` {
		t.Fatalf("shape checkpoint %q", cps["shape"])
	}
	var one map[string]any
	if err := json.Unmarshal([]byte(cps["one"]), &one); err != nil || one["body"].(map[string]any)["id"] != "<7>" {
		t.Fatalf("one checkpoint %q", cps["one"])
	}
	if _, ok := cps["two"]; ok {
		t.Fatal("the failed step has a checkpoint")
	}
	if _, err := e.Replay(context.Background(), res.Run.ID, nil); err != nil {
		t.Fatal(err)
	}
	waitRun(t, e, res.Run.ID, store.RunDead)
	if first.calls.Load() != 1 || second.calls.Load() != 2 {
		t.Fatalf("replay: first sink %d calls (want 1), second %d (want 2)", first.calls.Load(), second.calls.Load())
	}
}

// A plain sync run delivered as raw JSON (as the gateway delivers webhooks)
// encodes its input only when it keeps it: a failed run keeps it whole
// (the raw body, byte for byte, for replay), so does a succeeded run under
// capture: full; a succeeded run under metadata capture keeps none.
func TestSyncRunInputKeptOnlyWhenNeeded(t *testing.T) {
	e := newEngine(t)
	status := 200
	sink := newSink(t, func(int64, *http.Request) (int, http.Header, string) { return status, nil, `{}` })
	for _, capture := range []string{"metadata", "full"} {
		deploy(t, e, `
name: lazy-`+capture+`
trigger: {webhook: {}}
capture: `+capture+`
steps:
  - id: post
    call: http.request
    connection: local
    with: {method: POST, url: "`+sink.URL+`", body: =trigger.body}
`)
	}
	raw := []byte(`{"b": [1, 2.50, "x<y"], "a": {"z": null}}`)
	var body any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		capture   string
		status    int
		wantInput bool
		raw       []byte // as the gateway delivers it, or decoded values only
	}{{"metadata", 200, false, raw}, {"full", 200, true, raw}, {"metadata", 400, true, raw},
		{"metadata", 200, false, nil}, {"full", 200, true, nil}, {"metadata", 400, true, nil}} {
		status = c.status
		res, err := e.Trigger(context.Background(), engine.Event{Flow: "lazy-" + c.capture, Kind: "webhook", Body: body, RawBody: c.raw,
			Headers: map[string]string{"x-h": "v"}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Store().GetRun(context.Background(), res.Run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !c.wantInput {
			if got.Input != nil || got.Status != store.RunSucceeded {
				t.Fatalf("%s/%d: status %s, input %s; want succeeded and none", c.capture, c.status, got.Status, got.Input)
			}
			continue
		}
		var in map[string]json.RawMessage
		if err := json.Unmarshal(got.Input, &in); err != nil {
			t.Fatalf("%s/%d: input %q: %v", c.capture, c.status, got.Input, err)
		}
		wantBody := c.raw
		if wantBody == nil {
			wantBody, _ = json.Marshal(body)
		}
		if string(in["body"]) != string(wantBody) || string(in["headers"]) != `{"x-h":"v"}` || string(in["kind"]) != `"webhook"` {
			t.Fatalf("%s/%d: input %s", c.capture, c.status, got.Input)
		}
	}
}
