package http

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/internal/lazy"
)

// Bulk jobs as one step. Many APIs run bulk work as a job that takes
// several requests: create the job, upload its data, close it, wait while
// it runs, fetch its results (Salesforce Bulk API 2.0, ServiceNow's and
// Dataverse's import jobs, most warehouse loaders). http.request's job
// option runs that sequence as one step: the request itself creates the
// job, and job declares what follows:
//
//	then     requests sent in order after it (upload the data, close the job)
//	wait     poll the job (GET, or POST a status query) until its state is final
//	results  named requests sent once it succeeded (default GET; paginate allowed)
//
// URLs after create name the job through placeholders filled from the
// create answer: {job.PATH} (its body, a dotted path) and {header.NAME}
// (its headers). A placeholder that is the whole URL is used as it is (a
// contentUrl, a Location), one inside a URL is path-escaped.
//
// Durable across retries: the create answer and the phase reached are
// remembered under the call's idempotency key, so the engine's retry of a
// step whose upload failed (or whose wait ran out) continues that same job
// instead of creating a second one. Each request carries its own
// Idempotency-Key (<key>:create, <key>:then:N …), so after a restart the
// repeated create reaches an idempotent server as the same request.
//
// Every request is an http.request of the same connection, so its
// credentials, origin rule, address guard, rate limit and error classes
// apply to each.

// Job bounds.
const (
	maxJobThen    = 20
	maxJobResults = 10
	maxJobs       = 10000
	jobMemory     = 24 * time.Hour
)

var jobRequestProps = map[string]any{
	"method":  map[string]any{"type": "string", "enum": []any{"GET", "POST", "PUT", "PATCH", "DELETE"}},
	"url":     map[string]any{"type": "string", "description": "a path relative to the connection's base_url (or an absolute URL); {job.PATH} and {header.NAME} name the create answer's fields"},
	"headers": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
	"query":   map[string]any{"type": "object", "additionalProperties": true},
	"body":    map[string]any{"description": "sent as JSON"},
	"form":    map[string]any{"type": "object", "description": "sent as application/x-www-form-urlencoded"},
	"raw":     map[string]any{"type": "object", "description": "a non-JSON body (CSV data): {content | content_base64, content_type}"},
}

func jobRequestSchema(desc string, extra map[string]any) map[string]any {
	props := map[string]any{}
	for k, v := range jobRequestProps {
		props[k] = v
	}
	for k, v := range extra {
		props[k] = v
	}
	return map[string]any{"type": "object", "description": desc, "required": []any{"url"}, "properties": props, "additionalProperties": false}
}

var jobWaitSchema = func() map[string]any {
	props := map[string]any{}
	for k, v := range jobRequestProps {
		props[k] = v
	}
	props["method"] = map[string]any{"type": "string", "enum": []any{"GET", "POST"}, "description": "GET (default), or POST for an API whose status is a query (GraphQL)"}
	props["url"] = map[string]any{"type": "string", "description": "the job's own URL, polled (placeholders as above)"}
	for k, v := range lroSchema["properties"].(map[string]any) {
		if k != "poll" {
			props[k] = v
		}
	}
	return map[string]any{"type": "object", "required": []any{"url"}, "properties": props, "additionalProperties": false,
		"description": "poll the job until its state (status_path) is final; a failed or canceled job fails the step"}
}()

// jobSchema is http.request's job option.
var jobSchema = map[string]any{
	"type": "object", "description": "the request creates a job (a bulk upload, an export): send these requests after it, wait for the job and fetch its results, as one step",
	"properties": map[string]any{
		"then": map[string]any{"type": "array", "maxItems": maxJobThen, "description": "requests sent in order once the job exists: upload its data, close it",
			"items": jobRequestSchema("one request (default method POST)", nil)},
		"wait": jobWaitSchema,
		"results": map[string]any{"type": "object", "maxProperties": maxJobResults, "description": "named requests sent once the job succeeded (default method GET)",
			"additionalProperties": jobRequestSchema("one result request", map[string]any{"paginate": pagingSchema})},
	},
	"additionalProperties": false,
}

type jobRunner struct {
	mu   sync.Mutex
	jobs map[string]*jobProgress
}

// jobProgress is how far a job got: the create answer and the number of
// requests of then already sent.
type jobProgress struct {
	created map[string]any
	sent    int
	since   time.Time
}

func (j *jobRunner) progress(key string) (*jobProgress, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	p, ok := j.jobs[key]
	if ok && time.Since(p.since) > jobMemory {
		delete(j.jobs, key)
		return nil, false
	}
	if !ok {
		return nil, false
	}
	cp := *p
	return &cp, true
}

func (j *jobRunner) remember(key string, p *jobProgress) {
	if key == "" {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.jobs == nil {
		j.jobs = map[string]*jobProgress{}
	}
	if _, ok := j.jobs[key]; !ok && len(j.jobs) >= maxJobs {
		for k, v := range j.jobs { // the expired, else the oldest
			if time.Since(v.since) > jobMemory {
				delete(j.jobs, k)
			}
		}
		if len(j.jobs) >= maxJobs {
			oldest := ""
			for k, v := range j.jobs {
				if oldest == "" || v.since.Before(j.jobs[oldest].since) {
					oldest = k
				}
			}
			delete(j.jobs, oldest)
		}
	}
	cp := *p
	j.jobs[key] = &cp
}

func (j *jobRunner) forget(key string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.jobs, key)
}

const jobName = "http.request: job"

func (j *jobRunner) fail(f string, a ...any) error {
	return &connectors.Error{Class: connectors.Permanent, Message: jobName + ": " + fmt.Sprintf(f, a...)}
}

// jobRequest is one request of a job, checked.
type jobRequest struct {
	in   map[string]any
	desc string // "then[1]", for messages
}

func (j *jobRunner) parseRequest(v any, desc, method string, paginate bool) (*jobRequest, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, j.fail("%s must be an object", desc)
	}
	in := map[string]any{"method": method}
	for k, x := range m {
		switch k {
		case "method":
			s, ok := x.(string)
			if !ok || s == "" {
				return nil, j.fail("%s.method must be a string", desc)
			}
			in[k] = strings.ToUpper(s)
		case "url":
			s, ok := x.(string)
			if !ok || s == "" || len(s) > 8192 {
				return nil, j.fail("%s.url must be a non-empty string of at most 8 KB", desc)
			}
			in[k] = s
		case "headers", "query", "body", "form", "raw":
			in[k] = x
		case "paginate":
			if !paginate {
				return nil, j.fail("%s: paginate is allowed in results only", desc)
			}
			in[k] = x
		default:
			return nil, j.fail("%s: unknown field %q", desc, k)
		}
	}
	if in["url"] == nil {
		return nil, j.fail("%s.url is required", desc)
	}
	return &jobRequest{in: in, desc: desc}, nil
}

var placeholderRe = lazy.NewRegexp(`\{(job|header|final)\.([A-Za-z0-9_.\-]{1,200})\}`)

// fill replaces the placeholders of a URL with the create answer's values
// ({job.…}, {header.…}) and the wait's last answer's ({final.…}, for
// results).
func (j *jobRunner) fill(u, desc string, created, final map[string]any) (string, error) {
	var bad error
	lookup := func(kind, path string) string {
		var v any
		switch kind {
		case "header":
			h, _ := created["headers"].(map[string]any)
			v = h[strings.ToLower(path)]
		case "final":
			if final == nil {
				if bad == nil {
					bad = j.fail("%s.url: {final.%s} names the wait's last answer: only results, after a wait, may use it", desc, path)
				}
				return ""
			}
			v = dig(final["body"], path)
		default:
			v = dig(created["body"], path)
		}
		s := scalar(v)
		if v == nil || s == "" {
			if bad == nil {
				what := "the create answer"
				if kind == "final" {
					what = "the wait's last answer"
				}
				bad = j.fail("%s.url: %s has no %s.%s", desc, what, kind, path)
			}
			return ""
		}
		if _, ok := v.(map[string]any); ok {
			bad = j.fail("%s.url: %s.%s is an object, not a value", desc, kind, path)
		}
		return s
	}
	if m := placeholderRe.FindStringSubmatch(u); m != nil && m[0] == u {
		s := lookup(m[1], m[2])
		return s, bad
	}
	out := placeholderRe.ReplaceAllStringFunc(u, func(p string) string {
		m := placeholderRe.FindStringSubmatch(p)
		return url.PathEscape(lookup(m[1], m[2]))
	})
	return out, bad
}

func (j *jobRunner) send(ctx context.Context, call connectors.Call, do invokeFunc, r *jobRequest, key string, created, final map[string]any) (map[string]any, error) {
	in := make(map[string]any, len(r.in))
	for k, v := range r.in {
		in[k] = v
	}
	if created != nil {
		u, err := j.fill(in["url"].(string), r.desc, created, final)
		if err != nil {
			return nil, err
		}
		in["url"] = u
	}
	out, err := do(ctx, connectors.Call{Input: in, IdempotencyKey: key, Connection: call.Connection, BaseURL: call.BaseURL, Transport: call.Transport})
	if err != nil {
		var ce *connectors.Error
		if errors.As(err, &ce) {
			e := *ce
			e.Message = fmt.Sprintf("%s: %s (%s %s): %s", jobName, r.desc, in["method"], pathOnly(in["url"].(string)), ce.Message)
			return nil, &e
		}
		return nil, fmt.Errorf("%s: %s: %w", jobName, r.desc, err)
	}
	m, ok := out.(map[string]any)
	if !ok {
		return nil, j.fail("%s: unexpected answer", r.desc)
	}
	return m, nil
}

type invokeFunc func(context.Context, connectors.Call) (any, error)

// wait polls the job's URL until its state is final: running (or a 202)
// waits Retry-After, else the interval, and polls again; succeeded is
// done; failed and canceled are permanent errors with the job's answer;
// no state, or one in no list, is an error too. Polls carry no
// Idempotency-Key: a POSTed status query must not be answered from a
// cache of the first one.
func (j *jobRunner) wait(ctx context.Context, call connectors.Call, do invokeFunc, wait *jobRequest, lro *lroOptions, created, res map[string]any) (map[string]any, error) {
	deadline := time.Now().Add(lro.maxWait)
	for polls := int64(1); ; polls++ {
		out, err := j.send(ctx, call, do, wait, "", created, nil)
		if err != nil {
			return nil, err
		}
		status, _ := out["status"].(int64)
		group, raw := lro.state(out["body"])
		switch {
		case group == "running" || (status == 202 && group == ""):
			if polls >= maxLROPolls || time.Now().After(deadline) {
				return nil, &connectors.Error{Class: connectors.Retryable,
					Message: fmt.Sprintf("%s: the job is still %s after %s (%d polls); a retry polls it again", jobName, raw, lro.maxWait, polls)}
			}
			hdrs, _ := out["headers"].(map[string]any)
			if err := sleep(ctx, min(pollWait(hdrs, lro.interval), time.Until(deadline)+time.Millisecond)); err != nil {
				return nil, err
			}
			continue
		case group == "succeeded":
			res["state"], res["final"], res["polls"] = raw, out["body"], polls
			return out, nil
		case group == "failed" || group == "canceled":
			return nil, &connectors.Error{Class: connectors.Permanent, Body: out["body"],
				Message: fmt.Sprintf("%s: the job ended %s", jobName, raw)}
		case group == "":
			return nil, j.fail("wait: the job's answer has no state at %s", lro.statusPath)
		default:
			return nil, j.fail("wait: the job's state %q is not a final one (list it under running, succeeded, failed or canceled)", raw)
		}
	}
}

// run sends call (without its job option) as the request creating the
// job, then the job's requests, through do (http.request's invoke).
func (j *jobRunner) run(ctx context.Context, call connectors.Call, opt any, do invokeFunc) (any, error) {
	in, ok := opt.(map[string]any)
	if !ok {
		return nil, j.fail("must be an object")
	}
	for k := range in {
		switch k {
		case "then", "wait", "results":
		default:
			return nil, j.fail("unknown field %q (then, wait, results)", k)
		}
	}
	cin := map[string]any{}
	for k, v := range call.Input {
		switch k {
		case "job":
		case "paginate", "long_running":
			if v != nil {
				return nil, j.fail("cannot be combined with %s (give wait to poll the job)", k)
			}
		default:
			cin[k] = v
		}
	}
	if _, ok := cin["method"]; !ok {
		cin["method"] = "POST"
	}
	create := &jobRequest{in: cin, desc: "the request"}
	var then []*jobRequest
	if v, ok := in["then"]; ok && v != nil {
		list, ok := v.([]any)
		if !ok || len(list) > maxJobThen {
			return nil, j.fail("then must be a list of at most %d requests", maxJobThen)
		}
		for i, x := range list {
			r, err := j.parseRequest(x, fmt.Sprintf("then[%d]", i), "POST", false)
			if err != nil {
				return nil, err
			}
			then = append(then, r)
		}
	}
	var wait *jobRequest
	var lro *lroOptions
	if v, ok := in["wait"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, j.fail("wait must be an object")
		}
		req, opts := map[string]any{}, map[string]any{}
		for k, x := range m {
			switch k {
			case "method", "url", "headers", "query", "body":
				req[k] = x
			case "poll":
				return nil, j.fail("wait: unknown field \"poll\"")
			default:
				opts[k] = x
			}
		}
		r, err := j.parseRequest(req, "wait", "GET", false)
		if err != nil {
			return nil, err
		}
		if meth := r.in["method"]; meth != "GET" && meth != "POST" {
			return nil, j.fail("wait.method must be GET or POST")
		}
		if lro, err = parseLRO(opts); err != nil {
			return nil, j.fail("wait: %s", strings.TrimPrefix(err.Error(), "http.request: long_running"))
		}
		wait = r
	}
	var names []string
	results := map[string]*jobRequest{}
	if v, ok := in["results"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok || len(m) > maxJobResults {
			return nil, j.fail("results must be an object of at most %d named requests", maxJobResults)
		}
		for name, x := range m {
			r, err := j.parseRequest(x, "results."+name, "GET", true)
			if err != nil {
				return nil, err
			}
			results[name] = r
			names = append(names, name)
		}
		sort.Strings(names)
	}

	key := call.IdempotencyKey
	sub := func(s string) string {
		if key == "" {
			return ""
		}
		return key + ":" + s
	}
	p, resumed := (*jobProgress)(nil), false
	if key != "" {
		p, resumed = j.progress(key)
	}
	if !resumed {
		out, err := j.send(ctx, call, do, create, sub("create"), nil, nil)
		if err != nil {
			return nil, err
		}
		p = &jobProgress{created: out, since: time.Now()}
		j.remember(key, p)
	}
	for ; p.sent < len(then); p.sent++ {
		if _, err := j.send(ctx, call, do, then[p.sent], sub(fmt.Sprintf("then:%d", p.sent)), p.created, nil); err != nil {
			return nil, err // a retry continues from this request
		}
		next := *p
		next.sent++
		j.remember(key, &next)
	}
	res := map[string]any{"resumed": resumed}
	var final map[string]any
	if wait != nil {
		var err error
		if final, err = j.wait(ctx, call, do, wait, lro, p.created, res); err != nil {
			var ce *connectors.Error
			if errors.As(err, &ce) && ce.Class == connectors.Permanent {
				j.forget(key) // the job ended (or cannot be read): a retry would not change it
			}
			return nil, err // a retryable one: the retry polls the same job again
		}
	}
	if len(names) > 0 {
		got := map[string]any{}
		for _, name := range names {
			out, err := j.send(ctx, call, do, results[name], sub("result:"+name), p.created, final)
			if err != nil {
				return nil, err // the job is done; a retry fetches the results again
			}
			got[name] = out["body"]
		}
		res["results"] = got
	}
	j.forget(key)
	out := map[string]any{"job": res}
	for _, k := range []string{"status", "headers", "body", "body_encoding"} {
		if v, ok := p.created[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

// pathOnly is a URL without its query, fragment and user info, for
// messages: a credential in a query parameter or user info never reaches
// an error (the http connector redacts its own messages the same way).
func pathOnly(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// dig follows a dotted path through nested objects (nil where one is
// missing or not an object).
func dig(v any, path string) any {
	for _, seg := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[seg]
	}
	return v
}
