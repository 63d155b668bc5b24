package http

import (
	"context"
	_ "embed"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/weftio/weft/connectors"
)

//go:embed lro_states.yaml
var lroStatesYAML []byte

// lroStates maps a normalised monitor status to running, succeeded,
// failed or canceled (lro_states.yaml).
var lroStates = sync.OnceValue(func() map[string]string { return mustStates(lroStatesYAML) }) // parsed on first use

func mustStates(data []byte) map[string]string {
	var groups map[string][]string
	if err := yaml.Unmarshal(data, &groups); err != nil {
		panic("http: lro_states.yaml: " + err.Error())
	}
	out := map[string]string{}
	for g, words := range groups {
		for _, w := range words {
			out[normState(w)] = g
		}
	}
	return out
}

func normState(s string) string {
	return strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(strings.TrimSpace(s)))
}

// Long-running operations: a request answered 202 Accepted with a
// monitor URL (Operation-Location, Azure-AsyncOperation or Location) is
// polled, as one step, until it ends:
//
//   - 202 again, or 200 with a status of a running state: wait
//     (Retry-After, else the interval) and poll again;
//   - 200 with status succeeded: done; the result is the resource at the
//     first response's Location when the monitor was a separate
//     Operation-Location (Azure's pattern), else the monitor's response;
//   - 200/201/204 without a status field (a redirect, 303, is followed
//     first): done, that response is the result;
//   - status failed, canceled or cancelled: a permanent error carrying
//     the monitor's body (its error details);
//   - max_wait passed: a retryable error. The monitor URL is remembered
//     under the call's idempotency key, so the engine's retry resumes
//     polling instead of starting the operation again; after a restart
//     the retry re-sends the request with the same Idempotency-Key, which
//     an idempotent server answers with the same operation.
//
// Polls are GETs through the same connection (credentials go to its
// origin only, as for every request).

var lroSchema = map[string]any{
	"type": "object", "description": "poll a 202 Accepted answer's Operation-Location / Location until the operation ends",
	"properties": map[string]any{
		"poll":             map[string]any{"type": "boolean", "description": "poll (default true when long_running is given)"},
		"max_wait_seconds": map[string]any{"type": "number", "minimum": 0, "description": "give up (retryably) after this long (default 300)"},
		"interval_seconds": map[string]any{"type": "number", "minimum": 0, "description": "wait between polls when the server sends no Retry-After (default 2)"},
		"status_path":      map[string]any{"type": "string", "description": "dotted path to the job's state in an answer's body (default status)"},
		"running":          stateList, "succeeded": stateList, "failed": stateList, "canceled": stateList,
	},
	"additionalProperties": false,
}

var stateList = map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "maxItems": 50,
	"description": "state values of this API meaning this (added to the built-in ones: lro_states.yaml)"}

// LRO bounds.
const (
	defaultLROWait     = 5 * time.Minute
	maxLROWait         = 24 * time.Hour
	defaultLROInterval = 2 * time.Second
	maxLROInterval     = 5 * time.Minute
	minLROInterval     = 100 * time.Millisecond // a Retry-After of 0 does not make a busy loop
	maxLROPolls        = 10000
	lroMemory          = 24 * time.Hour // how long a pending monitor URL is remembered
	maxPending         = 10000
)

type lroOptions struct {
	poll       bool
	maxWait    time.Duration
	interval   time.Duration
	statusPath string
	states     map[string]string // the step's own state values (normalised) -> group
}

// state reads an answer's job state: its group (running, succeeded,
// failed, canceled; "other" for a value in none) and the value as sent.
func (o *lroOptions) state(body any) (group, raw string) {
	v := any(body)
	for _, seg := range strings.Split(o.statusPath, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return "", ""
		}
		v = m[seg]
	}
	raw = str(v)
	if raw == "" {
		return "", ""
	}
	n := normState(raw)
	if g := o.states[n]; g != "" {
		return g, raw
	}
	if g := lroStates()[n]; g != "" {
		return g, raw
	}
	return "other", raw
}

func parseLRO(v any) (*lroOptions, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &connectors.Error{Class: connectors.Permanent, Message: "http.request: long_running must be an object"}
	}
	o := &lroOptions{poll: true, maxWait: defaultLROWait, interval: defaultLROInterval, statusPath: "status", states: map[string]string{}}
	for k, x := range m {
		switch k {
		case "poll":
			b, ok := x.(bool)
			if !ok {
				return nil, &connectors.Error{Class: connectors.Permanent, Message: "http.request: long_running.poll must be true or false"}
			}
			o.poll = b
		case "max_wait_seconds", "interval_seconds":
			f, ok := number(x)
			if !ok || f < 0 {
				return nil, &connectors.Error{Class: connectors.Permanent, Message: "http.request: long_running." + k + " must be a non-negative number"}
			}
			d := time.Duration(f * float64(time.Second))
			if k == "max_wait_seconds" {
				o.maxWait = min(d, maxLROWait)
			} else {
				o.interval = min(d, maxLROInterval)
			}
		case "status_path":
			p, ok := x.(string)
			if !ok || p == "" || len(p) > 200 {
				return nil, &connectors.Error{Class: connectors.Permanent, Message: "http.request: long_running.status_path must be a dotted path"}
			}
			o.statusPath = p
		case "running", "succeeded", "failed", "canceled":
			list, ok := x.([]any)
			if !ok || len(list) > 50 {
				return nil, &connectors.Error{Class: connectors.Permanent, Message: "http.request: long_running." + k + " must be a list of at most 50 state values"}
			}
			for _, v := range list {
				w, ok := v.(string)
				if !ok {
					return nil, &connectors.Error{Class: connectors.Permanent, Message: "http.request: long_running." + k + " must list strings"}
				}
				o.states[normState(w)] = k
			}
		default:
			return nil, &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf("http.request: long_running: unknown field %q", k)}
		}
	}
	return o, nil
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

// pendingOp is an operation being polled: where, and where its result is.
type pendingOp struct {
	monitor, result string
	azure           bool // the monitor is a status monitor (Operation-Location, Azure-AsyncOperation)
	since           time.Time
}

// pendingOps remembers monitor URLs by idempotency key (bounded).
type pendingOps struct {
	mu sync.Mutex
	m  map[string]pendingOp
}

func (p *pendingOps) get(key string) (pendingOp, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	op, ok := p.m[key]
	if ok && time.Since(op.since) > lroMemory {
		delete(p.m, key)
		return pendingOp{}, false
	}
	return op, ok
}

func (p *pendingOps) put(key string, op pendingOp) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]pendingOp{}
	}
	if len(p.m) >= maxPending {
		for k, v := range p.m { // drop the expired, else any one
			if time.Since(v.since) > lroMemory || len(p.m) >= maxPending {
				delete(p.m, k)
			}
			if len(p.m) < maxPending {
				break
			}
		}
	}
	p.m[key] = op
}

func (p *pendingOps) done(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, key)
}

// monitorOf returns where to poll a 202 and where the result will be.
func monitorOf(reqURL string, headers map[string]any) (monitor, result string, azure bool) {
	h := func(k string) string {
		s, _ := headers[k].(string)
		return strings.TrimSpace(s)
	}
	loc := h("location")
	monitor = h("operation-location")
	if monitor == "" {
		monitor = h("azure-asyncoperation")
	}
	azure = monitor != ""
	if monitor == "" {
		monitor, loc = loc, ""
	}
	return resolve(reqURL, monitor), resolve(reqURL, loc), azure
}

func resolve(base, ref string) string {
	if ref == "" {
		return ""
	}
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return b.ResolveReference(r).String()
}

// longRunning sends the call (or resumes a pending operation of the same
// idempotency key) and polls a 202 until the operation ends.
func (c *client) longRunning(ctx context.Context, call connectors.Call, o *lroOptions) (map[string]any, error) {
	key := call.IdempotencyKey
	var op pendingOp
	resumed := false
	if key != "" {
		op, resumed = c.pending.get(key)
	}
	if !resumed {
		out, err := c.once(ctx, call)
		if err != nil {
			return nil, err
		}
		hdrs, _ := out["headers"].(map[string]any)
		status, _ := out["status"].(int64)
		method, _ := call.Input["method"].(string)
		switch g, _ := o.state(out["body"]); {
		case status == 202:
			op.monitor, op.result, op.azure = monitorOf(requestURL(call), hdrs)
		case status == 200 && g == "running" && (method == "" || strings.EqualFold(method, "GET")):
			// A job's own resource, still running (a bulk job): poll it.
			op.monitor = requestURL(call)
		default:
			return out, nil
		}
		if op.monitor == "" {
			return out, nil // accepted, nothing to poll
		}
		op.since = time.Now()
		if key != "" {
			c.pending.put(key, op)
		}
		if err := sleep(ctx, pollWait(hdrs, o.interval)); err != nil {
			return nil, err
		}
	}
	deadline := time.Now().Add(o.maxWait)
	get := func(u string) (map[string]any, error) {
		return c.once(ctx, connectors.Call{Input: map[string]any{"method": "GET", "url": u}, Connection: call.Connection, BaseURL: call.BaseURL, Transport: call.Transport})
	}
	for polls := 1; ; polls++ {
		out, err := get(op.monitor)
		if err != nil {
			return nil, err // a retry resumes polling (the monitor is remembered)
		}
		status, _ := out["status"].(int64)
		hdrs, _ := out["headers"].(map[string]any)
		state, raw := o.state(out["body"])
		info := map[string]any{"operation_url": op.monitor, "polls": int64(polls), "resumed": resumed}
		switch {
		case status == 202 || (status == 200 && (state == "running" || (op.azure && state == "other"))):
			// still running
		case state == "failed" || state == "canceled":
			c.pending.done(key)
			return nil, &connectors.Error{Class: connectors.Permanent, Body: out["body"],
				Message: fmt.Sprintf("http.request: the long-running operation %s ended %s", c.redact(op.monitor, call.Connection), raw)}
		case state == "succeeded" && op.result != "":
			res, err := get(op.result)
			if err != nil {
				return nil, err
			}
			c.pending.done(key)
			info["status"] = state
			res["long_running"] = info
			return res, nil
		default: // succeeded, or a plain 200/201/204: the monitor's answer is the result
			c.pending.done(key)
			state = "succeeded"
			info["status"] = state
			out["long_running"] = info
			return out, nil
		}
		if polls >= maxLROPolls || time.Now().After(deadline) {
			return nil, &connectors.Error{Class: connectors.Retryable,
				Message: fmt.Sprintf("http.request: the long-running operation %s is still running after %s (%d polls); a retry resumes polling", c.redact(op.monitor, call.Connection), o.maxWait, polls)}
		}
		if err := sleep(ctx, min(pollWait(hdrs, o.interval), time.Until(deadline)+time.Millisecond)); err != nil {
			return nil, err
		}
	}
}

// pollWait is how long to wait before the next poll: the answer's
// Retry-After (at least minLROInterval, at most maxLROInterval), else the
// interval.
func pollWait(hdrs map[string]any, interval time.Duration) time.Duration {
	h := strings.TrimSpace(str(hdrs["retry-after"]))
	if h == "" {
		return interval
	}
	return max(min(retryAfter(h), maxLROInterval), minLROInterval)
}

func requestURL(call connectors.Call) string {
	raw, _ := call.Input["url"].(string)
	base := call.BaseURL
	if call.Connection != nil && call.Connection.BaseURL != "" {
		base = call.Connection.BaseURL
	}
	if base != "" && !absolute(raw) {
		raw = strings.TrimRight(base, "/") + "/" + strings.TrimLeft(raw, "/")
	}
	return raw
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
