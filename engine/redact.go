package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/jsonenc"
	"github.com/weftio/weft/store"
)

// Redact replaces the values of sensitive keys (case-insensitive) anywhere
// in a JSON document with "[REDACTED]", and credentials in URLs inside
// string values (connectors.RedactURLs). Non-JSON input is returned as a
// JSON string marker rather than risk leaking it.
func Redact(doc []byte, keys map[string]bool) json.RawMessage {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return json.RawMessage(`"[unparseable payload withheld]"`)
	}
	v = redactValue(v, keys)
	out, _ := json.Marshal(v)
	return out
}

func redactValue(v any, keys map[string]bool) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if keys[strings.ToLower(k)] {
				x[k] = "[REDACTED]"
				continue
			}
			x[k] = redactValue(val, keys)
		}
		return x
	case []any:
		for i := range x {
			x[i] = redactValue(x[i], keys)
		}
		return x
	case string:
		// A URL in a value (a step's url input) keeps its credentials out.
		return connectors.RedactURLs(x)
	}
	return v
}

// redactor applies a flow's redaction paths (flow.JSONPath) to what a run
// keeps, and remembers the values they named, so that an error message or
// log line that quotes one of them is scrubbed too. Redaction changes only
// what is kept and logged: the run computes with the real values.
type redactor struct {
	paths []flow.JSONPath
	dlq   bool // redact the kept input of failed and dead runs too

	mu     sync.Mutex
	values map[string]bool // string forms of the values the paths named
}

// Bounds on the values a run remembers for scrubbing messages.
const (
	maxScrubValues = 256
	minScrubLen    = 4 // shorter values ("1", "yes") would scrub too much
	maxScrubLen    = 4096
)

func newRedactor(f *flow.Flow) *redactor {
	if len(f.RedactPaths) == 0 {
		return nil
	}
	return &redactor{paths: f.RedactPaths, dlq: f.RedactDLQ, values: map[string]bool{}}
}

// apply redacts v (a decoded JSON value, changed in place), remembering
// the values it replaced.
func (r *redactor) apply(v any) any {
	for _, p := range r.paths {
		p.Visit(v, r.remember)
		v = p.Redact(v)
	}
	return v
}

// note remembers the values the paths name in v without changing it.
func (r *redactor) note(v any) {
	if r == nil {
		return
	}
	if jsonenc.HasRaw(v) { // the paths walk decoded values
		if d, err := jsonenc.Resolve(v); err == nil {
			v = d
		}
	}
	for _, p := range r.paths {
		p.Visit(v, r.remember)
	}
}

func (r *redactor) remember(v any) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case float64, int64, int, json.Number:
		s = fmt.Sprint(x)
	case map[string]any, []any:
		for _, c := range children(x) {
			r.remember(c)
		}
		return
	default:
		return
	}
	if len(s) < minScrubLen || len(s) > maxScrubLen || s == flow.Redacted {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.values) < maxScrubValues {
		r.values[s] = true
	}
}

func children(v any) []any {
	switch x := v.(type) {
	case map[string]any:
		out := make([]any, 0, len(x))
		for _, c := range x {
			out = append(out, c)
		}
		return out
	case []any:
		return x
	}
	return nil
}

// scrub replaces the remembered values in a message.
func (r *redactor) scrub(msg string) string {
	if r == nil || msg == "" {
		return msg
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for v := range r.values {
		if strings.Contains(msg, v) {
			msg = strings.ReplaceAll(msg, v, flow.Redacted)
		}
	}
	return msg
}

// doc redacts a JSON document (a step's input or output).
func (r *redactor) doc(b json.RawMessage) json.RawMessage {
	if r == nil || len(b) == 0 {
		return b
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return json.RawMessage(`"[unparseable payload withheld]"`)
	}
	out, _ := json.Marshal(r.apply(v))
	return out
}

// member redacts the member name (the body of a trigger event or of a
// response) of a JSON object document.
func (r *redactor) member(b json.RawMessage, name string) json.RawMessage {
	if r == nil || len(b) == 0 {
		return b
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return b
	}
	body, ok := m[name]
	if !ok {
		return b
	}
	m[name] = r.apply(body)
	out, _ := json.Marshal(m)
	return out
}

// RedactRun applies the redaction paths of the run's flow version to what
// the API shows of it: the trigger event's body, the response's body and a
// replay override. The store keeps a failed or dead run's input whole
// (sealed) for replay; readers see it redacted. Attempts were redacted
// before they were stored.
func (e *Engine) RedactRun(ctx context.Context, run *store.Run) {
	if run == nil || strings.HasPrefix(run.Flow, "mcp:") {
		return
	}
	f, _, err := e.Flow(ctx, run.Flow, run.Version)
	if err != nil {
		return
	}
	r := newRedactor(f)
	if r == nil {
		return
	}
	run.Input = r.member(run.Input, "body")
	run.Output = r.member(run.Output, "body")
	if run.Override != nil {
		ov := *run.Override
		ov.Input = r.doc(ov.Input)
		run.Override = &ov
	}
}

// ExportPayloads returns what of a finished run's payloads may leave this
// process for a control plane (hybrid deployment): the trigger event and
// the response, only when the flow's capture policy is full (else nil,
// nil), with the flow's redaction paths and its sensitive keys (the
// defaults and the flow's redact keys) applied, as the API shows them and
// more. The run must be read with its payloads.
func (e *Engine) ExportPayloads(ctx context.Context, run *store.Run) (input, output json.RawMessage, ok bool) {
	if run == nil || strings.HasPrefix(run.Flow, "mcp:") {
		return nil, nil, false
	}
	f, _, err := e.Flow(ctx, run.Flow, run.Version)
	if err != nil {
		return nil, nil, false
	}
	capture := f.Capture
	if capture == "" {
		capture = e.cfg.DefaultCapture
	}
	if capture != "full" {
		return nil, nil, false
	}
	keys, own := defaultRedactKeys, false
	for _, k := range f.Redact {
		if strings.HasPrefix(k, "$") {
			continue
		}
		if !own {
			keys, own = maps.Clone(defaultRedactKeys), true
		}
		keys[strings.ToLower(k)] = true
	}
	cp := *run
	cp.Override = nil
	e.RedactRun(ctx, &cp)
	if len(cp.Input) > 0 {
		input = Redact(cp.Input, keys)
	}
	if len(cp.Output) > 0 {
		output = Redact(cp.Output, keys)
	}
	return input, output, true
}
