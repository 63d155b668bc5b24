package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/weftio/weft/engine"
)

// TestResponseBodyJSON: a sync run's response carries its body encoded
// once, as the run's output records it, so the reply need not encode it
// again.
func TestResponseBodyJSON(t *testing.T) {
	e := newEngine(t)
	src := "name: echo\ntrigger: {webhook: {}}\nsteps:\n  - respond: {body: {got: =trigger.body, x: 1.5}}\n"
	if _, _, err := e.Deploy(context.Background(), "echo.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
	res, err := e.Trigger(context.Background(), engine.Event{Flow: "echo", Kind: "webhook", Body: map[string]any{"a": "<b>", "n": 2.0}})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(res.Response.Body)
	if got := res.Response.BodyJSON(); !bytes.Equal(got, want) {
		t.Fatalf("BodyJSON %q, want %q", got, want)
	}
	if !bytes.Contains(res.Run.Output, want) {
		t.Fatalf("run output %q does not hold the body %q", res.Run.Output, want)
	}
}
