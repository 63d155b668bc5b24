// Package sandbox serves a stateful simulator of any OpenAPI document, so
// flows can be built and tested offline: POST to a collection creates a
// record (validated against the request schema, with ids, timestamps and
// defaults filled in), GET lists (filters, paging as the spec declares it)
// or reads one, PATCH merges, PUT replaces, DELETE removes. Records live in
// memory. Every response is checked against the spec's response schema
// before it is sent; a mismatch is answered 500, never sent as valid.
package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors/openapi"
	"github.com/weftio/weft/internal/bounded"
)

// Sandbox simulates one API.
type Sandbox struct {
	Name   string
	doc    *openapi3.T
	routes []*route
	now    func() time.Time

	mu    sync.Mutex
	colls map[string]*collection // concrete collection path -> records
	seq   map[string]int         // id prefix -> last number
}

type collection struct {
	ids     []string
	records map[string]map[string]any
}

type route struct {
	method, template string
	segs             []string
	op               *openapi3.Operation
	item             bool // the template ends in a {param}: one record
	literals         int
}

// New loads spec and returns its simulator.
func New(name string, spec []byte) (*Sandbox, error) {
	doc, err := openapi.Load(spec)
	if err != nil {
		return nil, err
	}
	s := &Sandbox{Name: name, doc: doc, now: time.Now, colls: map[string]*collection{}, seq: map[string]int{}}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			r := &route{method: method, template: path, segs: split(path), op: op}
			if n := len(r.segs); n > 0 && isParam(r.segs[n-1]) {
				r.item = true
			}
			for _, sg := range r.segs {
				if !isParam(sg) {
					r.literals++
				}
			}
			s.routes = append(s.routes, r)
		}
	}
	// Literal segments win over parameters (/projects/archived before /projects/{id}).
	sort.Slice(s.routes, func(i, j int) bool {
		if s.routes[i].literals != s.routes[j].literals {
			return s.routes[i].literals > s.routes[j].literals
		}
		return s.routes[i].template < s.routes[j].template
	})
	return s, nil
}

func split(p string) []string {
	var out []string
	for _, s := range strings.Split(strings.Trim(p, "/"), "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

// match finds the route for method and path, with its path parameters.
func (s *Sandbox) match(method, path string) (*route, map[string]string, bool) {
	segs := split(path)
	pathKnown := false
	for _, r := range s.routes {
		if len(r.segs) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, sg := range r.segs {
			if isParam(sg) {
				params[sg[1:len(sg)-1]] = segs[i]
			} else if sg != segs[i] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		pathKnown = true
		if r.method == method {
			return r, params, true
		}
	}
	return nil, nil, pathKnown
}

type apiError struct {
	status int
	code   string
	msg    string
}

func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.TrimSuffix(r.URL.Path, "/") == "/oauth/token" {
		// OAuth2 token endpoint: any client is welcome in the sandbox.
		writeJSON(w, 200, map[string]any{"access_token": "sandbox-token", "token_type": "Bearer", "expires_in": 3600})
		return
	}
	rt, params, pathKnown := s.match(r.Method, r.URL.Path)
	if rt == nil {
		if pathKnown {
			s.fail(w, nil, apiError{405, "method_not_allowed", r.Method + " is not defined for " + r.URL.Path})
		} else {
			s.fail(w, nil, apiError{404, "not_found", "no operation matches " + r.URL.Path})
		}
		return
	}
	status, body, aerr := s.handle(r, rt, params)
	if aerr != nil {
		s.fail(w, rt, *aerr)
		return
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	if err := s.check(r.Context(), rt.op, status, body); err != nil {
		writeJSON(w, 500, map[string]any{"code": "sandbox_response_invalid", "message": err.Error()})
		return
	}
	writeJSON(w, status, body)
}

// fail answers an error, shaped like the spec's error schema when it has one.
func (s *Sandbox) fail(w http.ResponseWriter, rt *route, e apiError) {
	body := map[string]any{"code": e.code, "message": e.msg}
	if rt != nil {
		if sch := responseSchema(rt.op, e.status); sch != nil {
			if props := properties(sch); props["error"] != nil && props["code"] == nil {
				body = map[string]any{"error": body}
			}
		}
	}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Sandbox) handle(r *http.Request, rt *route, params map[string]string) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byName(rt.segs, params)
	collPath := "/" + strings.Join(concrete(rt.segs, params), "/")
	var id string
	if rt.item {
		id = params[rt.segs[len(rt.segs)-1][1:len(rt.segs[len(rt.segs)-1])-1]]
		collPath = collPath[:strings.LastIndex(collPath, "/")]
	}
	// A nested collection's parent must exist (POST /projects/p9/issues -> 404).
	if aerr := s.checkParents(rt.segs, params, rt.item); aerr != nil {
		return 0, nil, aerr
	}
	coll := s.colls[collPath]
	if coll == nil {
		coll = &collection{records: map[string]map[string]any{}}
		s.colls[collPath] = coll
	}
	switch {
	case !rt.item && rt.method == http.MethodGet:
		return s.list(r, rt, coll)
	case !rt.item && rt.method == http.MethodPost:
		in, aerr := s.body(r, rt.op)
		if aerr != nil {
			return 0, nil, aerr
		}
		rec := s.create(rt, collPath, params, in)
		coll.ids = append(coll.ids, rec["id"].(string))
		coll.records[rec["id"].(string)] = rec
		return successStatus(rt.op, http.StatusCreated), outOf(rec, rt.op), nil
	case rt.item:
		rec, ok := coll.records[id]
		if !ok {
			return 0, nil, &apiError{404, "not_found", fmt.Sprintf("no record %s in %s", id, collPath)}
		}
		switch rt.method {
		case http.MethodGet:
			return 200, outOf(rec, rt.op), nil
		case http.MethodPatch, http.MethodPut, http.MethodPost:
			in, aerr := s.body(r, rt.op)
			if aerr != nil {
				return 0, nil, aerr
			}
			if rt.method == http.MethodPut {
				keep := map[string]any{}
				for _, k := range []string{"id", "created_at"} {
					if v, ok := rec[k]; ok {
						keep[k] = v
					}
				}
				rec = keep
			}
			for k, v := range in {
				rec[k] = v
			}
			if _, ok := properties(responseSchema(rt.op, 200))["updated_at"]; ok {
				rec["updated_at"] = s.stamp()
			}
			s.fill(rec, responseSchema(rt.op, 200), rt, params)
			coll.records[id] = rec
			return successStatus(rt.op, 200), outOf(rec, rt.op), nil
		case http.MethodDelete:
			delete(coll.records, id)
			for i, x := range coll.ids {
				if x == id {
					coll.ids = append(coll.ids[:i], coll.ids[i+1:]...)
					break
				}
			}
			return http.StatusNoContent, nil, nil
		}
	}
	return 0, nil, &apiError{501, "not_simulated", fmt.Sprintf("the sandbox does not simulate %s on a collection", rt.method)}
}

// concrete fills a template's parameters.
func concrete(segs []string, params map[string]string) []string {
	out := make([]string, len(segs))
	for i, sg := range segs {
		if isParam(sg) {
			out[i] = params[sg[1:len(sg)-1]]
		} else {
			out[i] = sg
		}
	}
	return out
}

// byName resolves a path id that names no record to the one record of
// that collection whose name equals it, as chat APIs accept a channel's
// name where its id is expected (/channels/delivery/messages).
func (s *Sandbox) byName(segs []string, params map[string]string) {
	for i, seg := range segs {
		if !isParam(seg) {
			continue
		}
		key := seg[1 : len(seg)-1]
		c := s.colls["/"+strings.Join(concrete(segs[:i], params), "/")]
		if c == nil || c.records[params[key]] != nil {
			continue
		}
		var found string
		for _, id := range c.ids {
			if n, _ := c.records[id]["name"].(string); n == params[key] {
				if found != "" {
					found = ""
					break
				}
				found = id
			}
		}
		if found != "" {
			params[key] = found
		}
	}
}

func (s *Sandbox) checkParents(segs []string, params map[string]string, item bool) *apiError {
	last := len(segs)
	if item {
		last-- // the record itself is not a parent
	}
	for i := 0; i < last; i++ {
		if !isParam(segs[i]) {
			continue
		}
		parent := "/" + strings.Join(concrete(segs[:i], params), "/")
		id := params[segs[i][1:len(segs[i])-1]]
		if c := s.colls[parent]; c == nil || c.records[id] == nil {
			return &apiError{404, "not_found", fmt.Sprintf("no record %s in %s", id, parent)}
		}
	}
	return nil
}

func (s *Sandbox) stamp() string { return s.now().UTC().Format(time.RFC3339Nano) }

// bodyLimits bound a simulated request's body.
var bodyLimits = bounded.Limits{MaxBytes: 1 << 20}

// body decodes and validates a JSON request body.
func (s *Sandbox) body(r *http.Request, op *openapi3.Operation) (map[string]any, *apiError) {
	in := map[string]any{}
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return in, nil
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if err := bounded.ReadJSON("the body", r.Body, &in, bodyLimits); err != nil {
		status := 422
		if weft.Code(err) == weft.ETooLarge {
			status = 413
		}
		return nil, &apiError{status, "invalid", weft.Message(err)}
	}
	if mt != nil && mt.Schema != nil && mt.Schema.Value != nil {
		if err := mt.Schema.Value.VisitJSON(in, openapi3.VisitAsRequest(), openapi3.MultiErrors()); err != nil {
			return nil, &apiError{422, "invalid", oneLine(err.Error())}
		}
	}
	return in, nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 500 {
		s = s[:500] + "..."
	}
	return s
}

// create makes a record from a validated input.
func (s *Sandbox) create(rt *route, collPath string, params map[string]string, in map[string]any) map[string]any {
	rec := map[string]any{}
	for k, v := range in {
		rec[k] = v
	}
	sch := responseSchema(rt.op, successStatus(rt.op, http.StatusCreated))
	prefix := idPrefix(rt.segs)
	s.seq[prefix]++
	n := s.seq[prefix]
	rec["id"] = fmt.Sprintf("%s_%d", prefix, n)
	now := s.stamp()
	props := properties(sch)
	for _, k := range []string{"created_at", "updated_at"} {
		if _, ok := props[k]; ok {
			rec[k] = now
		}
	}
	s.fill(rec, sch, rt, params)
	return rec
}

// fill sets what a record lacks: parent ids from the path, defaults,
// generated values for required read-only fields, first enum values.
func (s *Sandbox) fill(rec map[string]any, sch *openapi3.Schema, rt *route, params map[string]string) {
	props := properties(sch)
	for name, val := range params {
		field := snake(name)
		if _, ok := props[field]; ok && rec[field] == nil && !(rt.item && rt.segs[len(rt.segs)-1] == "{"+name+"}") {
			rec[field] = val
		}
	}
	req := required(sch)
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		p := props[k]
		if _, ok := rec[k]; ok || p == nil {
			continue
		}
		switch {
		case p.Default != nil:
			rec[k] = p.Default
		case !req[k]:
		case len(p.Enum) > 0:
			rec[k] = p.Enum[0]
		case p.Type.Is("string") && p.Format == "date-time":
			rec[k] = s.stamp()
		case p.Type.Is("string") && p.Format == "date":
			rec[k] = s.now().UTC().Format("2006-01-02")
		case p.Type.Is("string"):
			prefix := strings.ToUpper(idPrefix(rt.segs))
			rec[k] = fmt.Sprintf("%s-%d", prefix, s.seq[idPrefix(rt.segs)])
		case p.Type.Is("integer"), p.Type.Is("number"):
			rec[k] = 0
		case p.Type.Is("boolean"):
			rec[k] = false
		case p.Type.Is("array"):
			rec[k] = []any{}
		case p.Type.Is("object"):
			rec[k] = map[string]any{}
		}
	}
}

// idPrefix names ids after the collection: /opportunities -> "opp".
func idPrefix(segs []string) string {
	for i := len(segs) - 1; i >= 0; i-- {
		if !isParam(segs[i]) {
			p := strings.Map(func(r rune) rune {
				if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
					return r
				}
				if r >= 'A' && r <= 'Z' {
					return r + 32
				}
				return -1
			}, segs[i])
			if len(p) > 3 {
				p = p[:3]
			}
			if p == "" {
				p = "rec"
			}
			return p
		}
	}
	return "rec"
}

// snake: projectId -> project_id.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r + 32)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func successStatus(op *openapi3.Operation, want int) int {
	if op.Responses == nil {
		return want
	}
	if op.Responses.Value(strconv.Itoa(want)) != nil {
		return want
	}
	for _, c := range []int{200, 201, 202, 204} {
		if op.Responses.Value(strconv.Itoa(c)) != nil {
			return c
		}
	}
	return want
}

func outOf(rec map[string]any, op *openapi3.Operation) any {
	cp := make(map[string]any, len(rec))
	for k, v := range rec {
		cp[k] = v
	}
	return cp
}

// responseSchema is the JSON schema of op's response with status.
func responseSchema(op *openapi3.Operation, status int) *openapi3.Schema {
	if op == nil || op.Responses == nil {
		return nil
	}
	r := op.Responses.Value(strconv.Itoa(status))
	if r == nil || r.Value == nil {
		return nil
	}
	mt := r.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return mt.Schema.Value
}

// properties merges an object schema's properties through allOf.
func properties(s *openapi3.Schema) map[string]*openapi3.Schema {
	out := map[string]*openapi3.Schema{}
	if s == nil {
		return out
	}
	for _, sub := range s.AllOf {
		if sub != nil {
			for k, v := range properties(sub.Value) {
				out[k] = v
			}
		}
	}
	for k, v := range s.Properties {
		if v != nil {
			out[k] = v.Value
		}
	}
	return out
}

func required(s *openapi3.Schema) map[string]bool {
	out := map[string]bool{}
	if s == nil {
		return out
	}
	for _, sub := range s.AllOf {
		if sub != nil {
			for k := range required(sub.Value) {
				out[k] = true
			}
		}
	}
	for _, k := range s.Required {
		out[k] = true
	}
	return out
}

// check validates a response body against the spec.
func (s *Sandbox) check(_ context.Context, op *openapi3.Operation, status int, body any) error {
	sch := responseSchema(op, status)
	if sch == nil {
		return nil
	}
	// Round-trip through JSON so numbers and lists have the types the validator expects.
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	if err := sch.VisitJSON(v, openapi3.VisitAsResponse(), openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("the simulated %d response does not match the spec: %s", status, oneLine(err.Error()))
	}
	return nil
}

// Prefix is where Mount serves a sandbox: /sandbox/{name}/.
func Prefix(name string) string { return "/sandbox/" + name }

// Mount serves several sandboxes, each under Prefix(name).
func Mount(boxes ...*Sandbox) http.Handler {
	mux := http.NewServeMux()
	for _, b := range boxes {
		mux.Handle(Prefix(b.Name)+"/", http.StripPrefix(Prefix(b.Name), b))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var names []string
		for _, b := range boxes {
			names = append(names, Prefix(b.Name)+"/")
		}
		writeJSON(w, 404, map[string]any{"code": "not_found", "message": "sandboxes are served under " + strings.Join(names, ", ")})
	})
	return mux
}

// Seed creates records as if each were POSTed to its collection path
// (e.g. {"/channels": [{"name": "delivery"}]}): validated, ids assigned.
func (s *Sandbox) Seed(data map[string][]map[string]any) error {
	paths := make([]string, 0, len(data))
	for p := range data {
		paths = append(paths, p)
	}
	sort.Strings(paths) // parents before children
	for _, p := range paths {
		for i, rec := range data[p] {
			body, _ := json.Marshal(rec)
			req := httptestRequest(http.MethodPost, p, body)
			rw := &recorder{header: http.Header{}}
			s.ServeHTTP(rw, req)
			if rw.status != http.StatusCreated && rw.status != http.StatusOK {
				return fmt.Errorf("seed %s[%d]: %d %s", p, i, rw.status, strings.TrimSpace(rw.body.String()))
			}
		}
	}
	return nil
}

var pagingParams = map[string]bool{"cursor": true, "page_token": true, "after": true, "offset": true, "page": true,
	"limit": true, "per_page": true, "page_size": true, "updated_since": true}

// list filters and pages a collection as the operation declares.
func (s *Sandbox) list(r *http.Request, rt *route, coll *collection) (int, any, *apiError) {
	q := r.URL.Query()
	recs := make([]map[string]any, 0, len(coll.ids))
	for _, id := range coll.ids {
		recs = append(recs, coll.records[id])
	}
	declared := map[string]bool{}
	for _, p := range rt.op.Parameters {
		if p.Value != nil && p.Value.In == "query" {
			declared[p.Value.Name] = true
		}
	}
	for name := range declared {
		v := q.Get(name)
		if v == "" || pagingParams[name] {
			continue
		}
		kept := recs[:0:0]
		for _, rec := range recs {
			if fmt.Sprint(rec[name]) == v {
				kept = append(kept, rec)
			}
		}
		recs = kept
	}
	if since := q.Get("updated_since"); since != "" && declared["updated_since"] {
		t, err := time.Parse(time.RFC3339Nano, since)
		if err != nil {
			return 0, nil, &apiError{400, "invalid", "updated_since must be an RFC 3339 date-time"}
		}
		kept := recs[:0:0]
		for _, rec := range recs {
			if u, err := time.Parse(time.RFC3339Nano, fmt.Sprint(rec["updated_at"])); err == nil && !u.Before(t) {
				kept = append(kept, rec)
			}
		}
		sort.SliceStable(kept, func(i, j int) bool { return fmt.Sprint(kept[i]["updated_at"]) < fmt.Sprint(kept[j]["updated_at"]) })
		recs = kept
	}
	size := 0
	for _, n := range []string{"limit", "per_page", "page_size"} {
		if declared[n] {
			size = 25
			if v, err := strconv.Atoi(q.Get(n)); err == nil && v > 0 {
				size = v
			}
			break
		}
	}
	start := 0
	switch {
	case declared["cursor"] || declared["page_token"] || declared["after"]:
		for _, n := range []string{"cursor", "page_token", "after"} {
			if v := q.Get(n); v != "" {
				c, err := strconv.Atoi(v)
				if err != nil || c < 0 {
					return 0, nil, &apiError{400, "invalid", "bad cursor " + strconv.Quote(v)}
				}
				start = c
			}
		}
	case declared["offset"]:
		start, _ = strconv.Atoi(q.Get("offset"))
	case declared["page"]:
		p, _ := strconv.Atoi(q.Get("page"))
		if p < 1 {
			p = 1
		}
		if size == 0 {
			size = 50
		}
		start = (p - 1) * size
	}
	total := len(recs)
	start = min(max(start, 0), total)
	end := total
	if size > 0 {
		end = min(start+size, total)
	}
	items := make([]any, 0, end-start)
	for _, rec := range recs[start:end] {
		items = append(items, outOf(rec, rt.op))
	}
	sch := responseSchema(rt.op, 200)
	if sch == nil || sch.Type.Is("array") {
		return 200, items, nil
	}
	out := map[string]any{}
	for name, p := range properties(sch) {
		switch {
		case p != nil && p.Type.Is("array"):
			out[name] = items
		case name == "total" || name == "total_count":
			out[name] = total
		case name == "next_cursor" || name == "nextCursor" || name == "next_page_token":
			if end < total {
				out[name] = strconv.Itoa(end)
			} else {
				out[name] = nil
			}
		case name == "has_more":
			out[name] = end < total
		}
	}
	return 200, out, nil
}

func httptestRequest(method, path string, body []byte) *http.Request {
	r, _ := http.NewRequest(method, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// recorder captures a response written by ServeHTTP.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(code int)        { r.status = code }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
