// Package sandbox serves a stateful simulator of any OpenAPI document, so
// flows can be built and tested offline: POST to a collection creates a
// record (validated against the request schema, with ids of the id
// field's declared type, timestamps, defaults and required fields filled
// in), GET lists (filters, paging as the spec declares it) or reads one,
// PATCH merges, PUT replaces (or creates), DELETE removes. A path without
// a collection behind it (GET /user) is a singleton: a generated object,
// stable until changed. Every value the sandbox makes satisfies the
// declared schema (types, formats, enums, bounds, oneOf/anyOf/allOf,
// nullable); every response is checked against the spec's response schema
// before it is sent, and a mismatch is answered 500, never sent as valid.
// Records live in memory, bounded per collection.
//
// A record in a collection the spec can POST to exists once POSTed (or
// PUT to its own path); reading it, changing it or nesting under it
// before that is 404, as the API would answer. A record in a collection
// the spec has no POST for (GitHub's /repos/{owner}/{repo}, created
// through POST /user/repos; /users/{username}) exists on first use, as
// a path's target or as the parent of a nested path
// (POST /repos/octo/hello/issues), generated from its schema. A deleted
// record stays deleted (404) until PUT or POST brings it back.
package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors/openapi"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/internal/lazy"
)

// Default bounds on what a sandbox holds.
const (
	defaultMaxRecords     = 10000     // records per collection
	defaultMaxCollections = 10000     // collections and singletons together
	defaultMaxBytes       = 256 << 20 // all records and singletons, as JSON
	maxBody               = 1 << 20
)

// Sandbox simulates one API.
type Sandbox struct {
	Name   string
	doc    *openapi3.T
	routes []*route
	now    func() time.Time
	epoch  time.Time // what generated date-times say: the sandbox's start
	doc31  bool

	creatable map[string]bool             // collection templates ("/projects/{}/issues") a POST creates in
	itemShape map[string]*openapi3.Schema // item templates ("/projects/{}") -> GET response schema
	keyShape  map[string]*openapi3.Schema // item templates -> the schema of the path parameter naming the record

	maxRecords, maxCollections, maxBytes int

	mu      sync.Mutex
	colls   map[string]*collection    // concrete collection path -> records
	singles map[string]map[string]any // concrete path -> singleton object
	gone    map[string]bool           // deleted singletons
	seq     map[string]int            // id prefix -> last number
	sizes   map[string]int            // path NUL key (or a singleton's path) -> its JSON size
	bytes   int                       // the sum of sizes
}

type collection struct {
	ids     []string
	records map[string]map[string]any
	gone    map[string]bool // deleted records: 404 until PUT or POST brings them back
}

// segment is one path segment of a template: a literal, a whole
// parameter ({id}) or a mix ({index}.{diffType}).
type segment struct {
	lit   string
	param string         // a whole-segment parameter's name
	re    *regexp.Regexp // a mixed segment's matcher, named groups per parameter
}

func (g segment) isParam() bool { return g.param != "" || g.re != nil }

type route struct {
	method, template string
	segs             []segment
	op               *openapi3.Operation
	item             bool   // the template ends in a parameter: one record
	norm             string // the template with parameters as {}
	literals, mixed  int
	list             string // GET: "array", "wrapper", or "" (a singleton)
}

// New loads spec and returns its simulator.
func New(name string, spec []byte) (*Sandbox, error) {
	doc, err := openapi.Load(spec)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	s := &Sandbox{
		Name: name, doc: doc, now: time.Now, epoch: now, doc31: doc.IsOpenAPI31OrLater(),
		creatable: map[string]bool{}, itemShape: map[string]*openapi3.Schema{}, keyShape: map[string]*openapi3.Schema{},
		maxRecords: defaultMaxRecords, maxCollections: defaultMaxCollections, maxBytes: defaultMaxBytes, sizes: map[string]int{},
		colls: map[string]*collection{}, singles: map[string]map[string]any{}, gone: map[string]bool{}, seq: map[string]int{},
	}
	if doc.Paths == nil {
		return s, nil
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			r := &route{method: method, template: path, op: op}
			var norm []string
			for _, raw := range split(path) {
				sg := parseSegment(raw)
				r.segs = append(r.segs, sg)
				if sg.re != nil {
					r.mixed++
				}
				if sg.isParam() {
					norm = append(norm, "{}")
				} else {
					norm = append(norm, raw)
					r.literals++
				}
			}
			r.norm = "/" + strings.Join(norm, "/")
			if n := len(r.segs); n > 0 && r.segs[n-1].isParam() {
				r.item = true
				if sch := paramSchema(item, op, r.segs[n-1].param); sch != nil && s.keyShape[r.norm] == nil {
					s.keyShape[r.norm] = sch
				}
			}
			switch {
			case method == http.MethodPost && !r.item:
				// A POST that answers a record creates one; one that
				// answers nothing (POST .../pin: 204) is an action.
				if sch := responseSchema(op, successStatus(op, 201)); sch != nil {
					if k := flatten(sch).kind(nil, false); k == "object" || k == "array" || k == "" {
						s.creatable[r.norm] = true
					}
				}
			case method == http.MethodGet && r.item:
				if sch, _, _ := mediaSchema(op, successStatus(op, 200)); sch != nil {
					s.itemShape[r.norm] = sch
				}
			case method == http.MethodGet:
				r.list = listKind(responseSchema(op, successStatus(op, 200)))
			}
			s.routes = append(s.routes, r)
		}
	}
	// Literal segments win over parameters (/projects/archived before /projects/{id}).
	sort.Slice(s.routes, func(i, j int) bool {
		if s.routes[i].literals != s.routes[j].literals {
			return s.routes[i].literals > s.routes[j].literals
		}
		if s.routes[i].mixed != s.routes[j].mixed {
			return s.routes[i].mixed > s.routes[j].mixed // {sha}.{ext} before {sha}
		}
		if s.routes[i].template != s.routes[j].template {
			return s.routes[i].template < s.routes[j].template
		}
		return s.routes[i].method < s.routes[j].method
	})
	return s, nil
}

// paramSchema is the schema of the path parameter name.
func paramSchema(item *openapi3.PathItem, op *openapi3.Operation, name string) *openapi3.Schema {
	for _, ps := range []openapi3.Parameters{op.Parameters, item.Parameters} {
		for _, p := range ps {
			if p != nil && p.Value != nil && p.Value.In == "path" && p.Value.Name == name && p.Value.Schema != nil {
				return p.Value.Schema.Value
			}
		}
	}
	return nil
}

var paramRE = lazy.NewRegexp(`\{([^{}]+)\}`)

func parseSegment(raw string) segment {
	locs := paramRE.FindAllStringSubmatchIndex(raw, -1)
	if len(locs) == 0 {
		return segment{lit: raw}
	}
	if len(locs) == 1 && locs[0][0] == 0 && locs[0][1] == len(raw) {
		return segment{param: raw[1 : len(raw)-1]}
	}
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, l := range locs {
		b.WriteString(regexp.QuoteMeta(raw[last:l[0]]))
		name := raw[l[2]:l[3]]
		fmt.Fprintf(&b, "(?P<%s>.+?)", sanitizeGroup(name))
		last = l[1]
	}
	b.WriteString(regexp.QuoteMeta(raw[last:]) + "$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return segment{param: raw}
	}
	return segment{re: re}
}

func sanitizeGroup(name string) string {
	out := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, name)
	if out == "" || out[0] >= '0' && out[0] <= '9' {
		out = "p" + out
	}
	return out
}

// listKind says whether a GET answers a list: an array, or an object
// with a list of objects in it (data, items, results ...).
func listKind(sch *openapi3.Schema) string {
	if sch == nil {
		return "array" // undeclared: the collection as it is
	}
	f := flatten(sch)
	if f.kind(nil, false) == "array" {
		return "array"
	}
	if listProperty(sch) != "" {
		return "wrapper"
	}
	return ""
}

var listNames = []string{"data", "items", "results", "records", "values", "entries", "elements", "list"}

// listProperty names the property of a list wrapper that holds the
// records: a well-known name, else the only array of objects.
func listProperty(sch *openapi3.Schema) string {
	f := flatten(sch)
	var arrays []string
	for _, k := range slices.Sorted(maps.Keys(f.props)) {
		p := flatten(f.props[k])
		if p.kind(nil, false) != "array" || p.items == nil {
			continue
		}
		if ik := flatten(p.items).kind(nil, false); ik == "object" || ik == "" && len(flatten(p.items).oneOf)+len(flatten(p.items).anyOf) > 0 {
			arrays = append(arrays, k)
		}
	}
	for _, n := range listNames {
		for _, k := range arrays {
			if k == n {
				return k
			}
		}
	}
	if len(arrays) == 1 {
		return arrays[0]
	}
	return ""
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

// match finds the route for method and path, with its path parameters
// and the path's segments.
func (s *Sandbox) match(method, path string) (*route, map[string]string, []string, bool) {
	segs := split(path)
	pathKnown := false
	for _, r := range s.routes {
		if len(r.segs) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, sg := range r.segs {
			switch {
			case sg.param != "":
				params[sg.param] = segs[i]
			case sg.re != nil:
				m := sg.re.FindStringSubmatch(segs[i])
				if m == nil {
					ok = false
					break
				}
				for j, n := range sg.re.SubexpNames() {
					if j > 0 {
						params[n] = m[j]
					}
				}
			case sg.lit != segs[i]:
				ok = false
			}
			if !ok {
				break
			}
		}
		if !ok {
			continue
		}
		pathKnown = true
		if r.method == method {
			// A mixed segment ({index}.{diffType}) names its record by
			// its first parameter: /pulls/1.diff is pull 1.
			keys := append([]string(nil), segs...)
			for i, sg := range r.segs {
				if sg.re != nil {
					if m := sg.re.FindStringSubmatch(segs[i]); len(m) > 1 {
						keys[i] = m[1]
					}
				}
			}
			return r, params, keys, true
		}
	}
	return nil, nil, nil, pathKnown
}

type apiError struct {
	status int
	code   string
	msg    string
}

func (s *Sandbox) gen() *gen { return newGen(s.doc31, s.epoch) }

func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.TrimSuffix(r.URL.Path, "/") == "/oauth/token" {
		// OAuth2 token endpoint: any client is welcome in the sandbox.
		writeJSON(w, 200, "application/json", map[string]any{"access_token": "sandbox-token", "token_type": "Bearer", "expires_in": 3600})
		return
	}
	rt, params, segs, pathKnown := s.match(r.Method, r.URL.Path)
	if rt == nil {
		if pathKnown {
			s.fail(w, nil, apiError{405, "method_not_allowed", r.Method + " is not defined for " + r.URL.Path})
		} else {
			s.fail(w, nil, apiError{404, "not_found", "no operation matches " + r.URL.Path})
		}
		return
	}
	g := s.gen()
	a, aerr := s.handle(r, rt, params, segs, g)
	if aerr != nil {
		s.fail(w, rt, *aerr)
		return
	}
	s.write(w, rt, a, g)
}

// answer is what an operation produced: a status and the value to shape
// into the declared response (nil: generate it).
type answer struct {
	status int
	value  any
	seed   string
	note   string // X-Sandbox-Note: what the sandbox did on its own
}

// write shapes a.value into the response declared for a.status and sends it.
func (s *Sandbox) write(w http.ResponseWriter, rt *route, a answer, g *gen) {
	if a.note != "" {
		w.Header().Set("X-Sandbox-Note", a.note)
	}
	resp := responseFor(rt.op, a.status)
	if resp != nil {
		for _, name := range slices.Sorted(maps.Keys(resp.Headers)) {
			h := resp.Headers[name]
			if h == nil || h.Value == nil || !h.Value.Required || strings.EqualFold(name, "Content-Type") {
				continue
			}
			v := "sandbox"
			if h.Value.Schema != nil && h.Value.Schema.Value != nil {
				v = fmt.Sprint(g.value(h.Value.Schema.Value, name))
			}
			w.Header().Set(name, v)
		}
		if h := resp.Headers["Location"]; h != nil && h.Value != nil && h.Value.Schema != nil && h.Value.Schema.Value != nil {
			if v, ok := g.value(h.Value.Schema.Value, a.seed+"/location").(string); ok {
				w.Header().Set("Location", v)
			}
		}
	}
	if a.status >= 300 && a.status < 400 && w.Header().Get("Location") == "" {
		w.Header().Set("Location", "https://example.com/"+slug(a.seed))
	}
	if a.status == http.StatusNoContent || a.status == http.StatusNotModified || resp == nil || len(resp.Content) == 0 {
		w.WriteHeader(a.status)
		return
	}
	ctype, mt := pickMedia(resp.Content)
	var sch *openapi3.Schema
	if mt != nil && mt.Schema != nil {
		sch = mt.Schema.Value
	}
	if !jsonish(ctype) {
		// Text, HTML, files: a string of the schema when it has one.
		body := "sandbox"
		if sch != nil {
			if str, ok := g.conform(sch, a.value, a.value != nil, a.seed, 0).(string); ok {
				body = str
			}
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, body)
		return
	}
	out := a.value
	if sch != nil {
		out = g.conform(sch, a.value, a.value != nil, a.seed, 0)
	}
	if err := s.check(sch, a.status, out); err != nil {
		writeJSON(w, 500, "application/json", map[string]any{"code": "sandbox_response_invalid", "message": err.Error()})
		return
	}
	writeJSON(w, a.status, ctype, out)
}

// pickMedia prefers JSON, then any JSON flavour, then the first type.
func pickMedia(c openapi3.Content) (string, *openapi3.MediaType) {
	if mt := c.Get("application/json"); mt != nil {
		return "application/json", mt
	}
	keys := slices.Sorted(maps.Keys(c))
	for _, k := range keys {
		if jsonish(k) {
			return k, c[k]
		}
	}
	for _, k := range keys {
		if strings.HasPrefix(k, "text/plain") {
			return k, c[k]
		}
	}
	if len(keys) == 0 {
		return "application/json", nil
	}
	k := keys[0]
	if strings.Contains(k, "*") {
		return "application/octet-stream", c[k]
	}
	return k, c[k]
}

func jsonish(ctype string) bool {
	mt := strings.ToLower(strings.TrimSpace(strings.SplitN(ctype, ";", 2)[0]))
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "/json")
}

// fail answers an error, shaped like the spec's error schema when it has one.
func (s *Sandbox) fail(w http.ResponseWriter, rt *route, e apiError) {
	var body any = map[string]any{"code": e.code, "message": e.msg}
	ctype := "application/json"
	if rt != nil {
		if resp := responseFor(rt.op, e.status); resp != nil && len(resp.Content) > 0 {
			c, mt := pickMedia(resp.Content)
			if jsonish(c) {
				ctype = c
				if mt != nil && mt.Schema != nil && mt.Schema.Value != nil {
					sch := mt.Schema.Value
					if props := properties(sch); props["error"] != nil && props["code"] == nil {
						body = map[string]any{"error": body}
					}
					body = s.gen().conform(sch, body, true, "error", 0)
				}
			}
		}
	}
	writeJSON(w, e.status, ctype, body)
}

func writeJSON(w http.ResponseWriter, status int, ctype string, v any) {
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Sandbox) handle(r *http.Request, rt *route, params map[string]string, segs []string, g *gen) (answer, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byName(rt, segs, params)
	note, aerr := s.parents(rt, segs, params, g)
	if aerr != nil {
		return answer{}, aerr
	}
	var a answer
	switch {
	case rt.item:
		a, aerr = s.itemOp(r, rt, segs, params, g)
	case rt.method == http.MethodGet && rt.list != "":
		a, aerr = s.list(r, rt, s.collPath(segs), g)
	case rt.method == http.MethodGet:
		a, aerr = s.singleGet(rt, s.collPath(segs), g)
	case rt.method == http.MethodPost:
		a, aerr = s.create(r, rt, segs, params, g)
	default:
		a, aerr = s.singleWrite(r, rt, s.collPath(segs), params, g)
	}
	if note != "" && aerr == nil {
		a.note = strings.TrimSpace(note + " " + a.note)
	}
	return a, aerr
}

func (s *Sandbox) collPath(segs []string) string { return "/" + strings.Join(segs, "/") }

// coll returns the collection at path, making it when there is room.
func (s *Sandbox) coll(path string) (*collection, *apiError) {
	if c := s.colls[path]; c != nil {
		return c, nil
	}
	if len(s.colls)+len(s.singles) >= s.maxCollections {
		return nil, &apiError{507, "sandbox_full", fmt.Sprintf("the sandbox holds at most %d collections and singletons; restart it to start afresh", s.maxCollections)}
	}
	c := &collection{records: map[string]map[string]any{}, gone: map[string]bool{}}
	s.colls[path] = c
	return c, nil
}

// put stores rec as key of the collection at path, within the bounds on
// records per collection and on bytes in all.
func (s *Sandbox) put(c *collection, path, key string, rec map[string]any) *apiError {
	_, exists := c.records[key]
	if !exists && len(c.records) >= s.maxRecords {
		return &apiError{507, "sandbox_full", fmt.Sprintf("%s holds %d records, the most a sandbox collection may hold; delete some", path, s.maxRecords)}
	}
	if aerr := s.account(path+"\x00"+key, rec); aerr != nil {
		return aerr
	}
	if !exists {
		c.ids = append(c.ids, key)
	}
	c.records[key] = rec
	delete(c.gone, key)
	return nil
}

// del removes key from the collection at path; it stays deleted.
func (s *Sandbox) del(c *collection, path, key string) {
	delete(c.records, key)
	for i, x := range c.ids {
		if x == key {
			c.ids = append(c.ids[:i], c.ids[i+1:]...)
			break
		}
	}
	s.unaccount(path + "\x00" + key)
	if len(c.gone) < s.maxRecords {
		c.gone[key] = true
	}
}

// putSingle stores a singleton, within the bounds.
func (s *Sandbox) putSingle(path string, rec map[string]any) *apiError {
	if s.singles[path] == nil && len(s.colls)+len(s.singles) >= s.maxCollections {
		return &apiError{507, "sandbox_full", fmt.Sprintf("the sandbox holds at most %d collections and singletons; restart it to start afresh", s.maxCollections)}
	}
	if aerr := s.account(path, rec); aerr != nil {
		return aerr
	}
	s.singles[path] = rec
	delete(s.gone, path)
	return nil
}

// account counts rec's JSON size under id against the byte bound.
func (s *Sandbox) account(id string, rec map[string]any) *apiError {
	data, _ := json.Marshal(rec)
	size := len(data)
	if s.bytes-s.sizes[id]+size > s.maxBytes {
		return &apiError{507, "sandbox_full", fmt.Sprintf("the sandbox holds at most %d bytes of records; delete some or restart it", s.maxBytes)}
	}
	s.bytes += size - s.sizes[id]
	s.sizes[id] = size
	return nil
}

func (s *Sandbox) unaccount(id string) {
	s.bytes -= s.sizes[id]
	delete(s.sizes, id)
}

// byName resolves a path id that names no record to the one record of
// that collection whose name (or login, slug, number ...) equals it, as
// chat APIs accept a channel's name where its id is expected
// (/channels/delivery/messages) and GitHub an issue's number.
func (s *Sandbox) byName(rt *route, segs []string, params map[string]string) {
	for i, sg := range rt.segs {
		if sg.param == "" {
			continue
		}
		c := s.colls["/"+strings.Join(segs[:i], "/")]
		if c == nil || c.records[segs[i]] != nil {
			continue
		}
		fields := aliasFields(sg.param)
		var found string
		for _, id := range c.ids {
			rec := c.records[id]
			hit := false
			for _, f := range fields {
				if v, ok := rec[f]; ok && v != nil && scalarString(v) == segs[i] {
					hit = true
					break
				}
			}
			if hit {
				if found != "" {
					found = ""
					break
				}
				found = id
			}
		}
		if found != "" {
			segs[i] = found
			params[sg.param] = found
		}
	}
}

// aliasFields are the fields a path parameter may name a record by.
func aliasFields(param string) []string {
	sn := snake(param)
	out := []string{sn}
	if i := strings.LastIndex(sn, "_"); i > 0 && i < len(sn)-1 {
		out = append(out, sn[i+1:])
	}
	return append(out, "name", "login", "slug", "username", "key")
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// parents makes sure every record a nested path goes through exists. A
// missing one in a collection the spec can POST to is 404, as the API
// would answer; one the spec gives no way to create (GitHub's
// /repos/{owner}/{repo}) is created from its schema, and the answer says
// so in X-Sandbox-Note; a deleted one is 404.
func (s *Sandbox) parents(rt *route, segs []string, params map[string]string, g *gen) (string, *apiError) {
	last := len(rt.segs)
	if rt.item {
		last-- // the record itself is not a parent
	}
	var made []string
	for i := 0; i < last; i++ {
		if !rt.segs[i].isParam() {
			continue
		}
		path := "/" + strings.Join(segs[:i], "/")
		key := segs[i]
		c, aerr := s.coll(path)
		if aerr != nil {
			return "", aerr
		}
		if c.records[key] != nil {
			continue
		}
		if c.gone[key] {
			return "", &apiError{404, "not_found", fmt.Sprintf("record %s in %s was deleted", key, path)}
		}
		if s.creatable[normOf(rt.segs[:i])] {
			return "", &apiError{404, "not_found", fmt.Sprintf("no record %s in %s (create it first: POST %s)", key, path, path)}
		}
		// The parent knows the parameters of its own path only.
		own := map[string]string{}
		for _, sg := range rt.segs[:i+1] {
			if sg.param != "" {
				own[sg.param] = params[sg.param]
			}
		}
		if aerr := s.put(c, path, key, s.vivify(normOf(rt.segs[:i+1]), path, key, rt.segs[:i+1], own, g)); aerr != nil {
			return "", aerr
		}
		made = append(made, path+"/"+key)
	}
	if len(made) == 0 {
		return "", nil
	}
	return "created parent " + strings.Join(made, ", ") + ".", nil
}

func normOf(segs []segment) string {
	var b strings.Builder
	for _, sg := range segs {
		b.WriteString("/")
		if sg.isParam() {
			b.WriteString("{}")
		} else {
			b.WriteString(sg.lit)
		}
	}
	return b.String()
}

// vivify makes the record key of the collection at path, as its item GET
// (template norm) would show it: the key in its id (or name, login ...)
// field, parent ids from the path, generated required fields.
func (s *Sandbox) vivify(norm, path, key string, tmpl []segment, params map[string]string, g *gen) map[string]any {
	sg := tmpl[len(tmpl)-1]
	prefix := literalPrefix(tmpl[:len(tmpl)-1])
	sch := s.itemShape[norm]
	rec := map[string]any{}
	props := properties(sch)
	if p := props["id"]; p != nil || sch == nil {
		switch {
		case p != nil && flatten(p).kind(nil, false) == "integer" || p != nil && flatten(p).kind(nil, false) == "number":
			if n, err := strconv.ParseFloat(key, 64); err == nil && flatten(p).numberOK(n) {
				rec["id"] = n
			} else {
				rec["id"] = float64(s.next(prefix))
			}
		case p == nil || flatten(p).stringOK(key):
			rec["id"] = key
		}
	}
	if _, err := strconv.ParseFloat(key, 64); err != nil && sg.param != "" {
		for _, f := range aliasFields(sg.param) {
			if p := props[f]; p != nil && f != "id" && flatten(p).kind(nil, false) == "string" && flatten(p).stringOK(key) {
				rec[f] = key
			}
		}
	}
	now := s.stamp()
	for _, k := range []string{"created_at", "updated_at"} {
		if _, ok := props[k]; ok {
			rec[k] = now
		}
	}
	s.fill(rec, sch, params, sg.param, s.seq[prefix], prefix, g, path+"/"+key)
	if sch == nil {
		return rec
	}
	if m, ok := g.record(sch, rec, path+"/"+key, nil).(map[string]any); ok {
		return m
	}
	return rec
}

func (s *Sandbox) next(prefix string) int {
	s.seq[prefix]++
	return s.seq[prefix]
}

// itemOp reads, changes or deletes one record.
func (s *Sandbox) itemOp(r *http.Request, rt *route, segs []string, params map[string]string, g *gen) (answer, *apiError) {
	path := s.collPath(segs[:len(segs)-1])
	key := segs[len(segs)-1]
	seed := path + "/" + key
	c, aerr := s.coll(path)
	if aerr != nil {
		return answer{}, aerr
	}
	rec, exists := c.records[key]
	note := ""
	if !exists {
		creatable := s.creatable[normOf(rt.segs[:len(rt.segs)-1])]
		switch {
		case rt.method == http.MethodPut:
		case c.gone[key]:
			return answer{}, &apiError{404, "not_found", fmt.Sprintf("record %s in %s was deleted", key, path)}
		case creatable:
			return answer{}, &apiError{404, "not_found", fmt.Sprintf("no record %s in %s", key, path)}
		}
		if rt.method != http.MethodPut {
			rec = s.vivify(rt.norm, path, key, rt.segs, params, g)
			if aerr := s.put(c, path, key, rec); aerr != nil {
				return answer{}, aerr
			}
			note = "created " + seed + " on first use."
		}
	}
	switch rt.method {
	case http.MethodGet, http.MethodHead:
		return answer{status: successStatus(rt.op, 200), value: copyRec(rec), seed: seed, note: note}, nil
	case http.MethodDelete:
		s.del(c, path, key)
		return answer{status: successStatus(rt.op, 204), value: copyRec(rec), seed: seed, note: note}, nil
	}
	in, aerr := s.body(r, rt.op)
	if aerr != nil {
		return answer{}, aerr
	}
	status := successStatus(rt.op, 200)
	sch, _, _ := mediaSchema(rt.op, status)
	if sch == nil {
		sch = s.itemShape[rt.norm]
	}
	if rt.method == http.MethodPut || rec == nil {
		keep := map[string]any{}
		for _, k := range []string{"id", "created_at"} {
			if v, ok := rec[k]; ok {
				keep[k] = v
			}
		}
		if rec == nil {
			status = successStatus(rt.op, 201)
			if sch2, _, _ := mediaSchema(rt.op, status); sch2 != nil {
				sch = sch2
			}
			base := s.vivify(rt.norm, path, key, rt.segs, params, g)
			for _, k := range []string{"id", "created_at"} {
				if v, ok := base[k]; ok {
					keep[k] = v
				}
			}
		}
		rec = keep
	}
	for k, v := range in {
		rec[k] = v
	}
	if _, ok := properties(sch)["updated_at"]; ok {
		rec["updated_at"] = s.stamp()
	}
	prefix := literalPrefix(rt.segs[:len(rt.segs)-1])
	s.fill(rec, sch, params, lastParam(rt), s.seq[prefix], prefix, g, seed)
	rec = s.store(sch, rec, seed, rt.op, g)
	if aerr := s.put(c, path, key, rec); aerr != nil {
		return answer{}, aerr
	}
	return answer{status: status, value: copyRec(rec), seed: seed, note: note}, nil
}

func lastParam(rt *route) string {
	if n := len(rt.segs); n > 0 {
		return rt.segs[n-1].param
	}
	return ""
}

// store is the record as the schema shows it, so what was generated for
// it once stays, plus what the record holds that this schema does not show.
func (s *Sandbox) store(sch *openapi3.Schema, rec map[string]any, seed string, op *openapi3.Operation, g *gen) map[string]any {
	if sch == nil {
		return rec
	}
	if m, ok := g.record(sch, rec, seed, clientFields(op)).(map[string]any); ok {
		// Fields this answer does not show (an id, a name the record is
		// addressed by) stay in the record for other answers.
		for k, v := range rec {
			if _, kept := m[k]; !kept {
				m[k] = v
			}
		}
		return m
	}
	return rec
}

// clientFields are the fields op's JSON request body may set.
func clientFields(op *openapi3.Operation) map[string]bool {
	out := map[string]bool{}
	if op == nil || op.RequestBody == nil || op.RequestBody.Value == nil {
		return out
	}
	for _, mt := range op.RequestBody.Value.Content {
		if mt != nil && mt.Schema != nil {
			for k := range properties(mt.Schema.Value) {
				out[k] = true
			}
		}
	}
	return out
}

func copyRec(rec map[string]any) map[string]any {
	if rec == nil {
		return nil
	}
	cp := make(map[string]any, len(rec))
	for k, v := range rec {
		cp[k] = v
	}
	return cp
}

// create POSTs a record into a collection.
func (s *Sandbox) create(r *http.Request, rt *route, segs []string, params map[string]string, g *gen) (answer, *apiError) {
	path := s.collPath(segs)
	in, aerr := s.body(r, rt.op)
	if aerr != nil {
		return answer{}, aerr
	}
	c, aerr := s.coll(path)
	if aerr != nil {
		return answer{}, aerr
	}
	if len(c.records) >= s.maxRecords {
		return answer{}, &apiError{507, "sandbox_full", fmt.Sprintf("%s holds %d records, the most a sandbox collection may hold; delete some", path, s.maxRecords)}
	}
	delete(s.gone, path)
	status := successStatus(rt.op, http.StatusCreated)
	sch, _, _ := mediaSchema(rt.op, status)
	rec := map[string]any{}
	for k, v := range in {
		rec[k] = v
	}
	prefix := literalPrefix(rt.segs)
	var key string
	var n int
	for {
		n = s.next(prefix)
		var id any = fmt.Sprintf("%s_%d", prefix, n)
		if p := s.idSchema(rt, sch); p != nil {
			f := flatten(p)
			switch {
			case f.kind(nil, false) == "integer" || f.kind(nil, false) == "number":
				id = float64(n)
			case f.format == "uuid":
				id = g.str(f, fmt.Sprintf("%s/%d", path, n))
			}
		}
		rec["id"] = id
		key = scalarString(id)
		if c.records[key] == nil && !c.gone[key] {
			break
		}
	}
	now := s.stamp()
	props := properties(sch)
	for _, k := range []string{"created_at", "updated_at"} {
		if _, ok := props[k]; ok {
			rec[k] = now
		}
	}
	seed := path + "/" + key
	recSch, asList := sch, false
	if f := flatten(orEmpty(sch)); f.kind(nil, false) == "array" && f.items != nil && flatten(f.items).kind(nil, false) == "object" {
		// POST .../labels answers the labels: the record is one of them.
		recSch, asList = f.items, true
	}
	s.fill(rec, recSch, params, "", n, prefix, g, seed)
	switch {
	case asList:
		rec = s.store(recSch, rec, seed, rt.op, g)
		if aerr := s.put(c, path, key, rec); aerr != nil {
			return answer{}, aerr
		}
		items := []any{}
		for _, k := range c.ids[max(0, len(c.ids)-maxItems):] {
			items = append(items, g.conform(recSch, copyRec(c.records[k]), true, path+"/"+k, 1))
		}
		return answer{status: status, value: items, seed: seed}, nil
	case sch == nil || flatten(sch).kind(nil, false) == "object":
		rec = s.store(sch, rec, seed, rt.op, g)
		if aerr := s.put(c, path, key, rec); aerr != nil {
			return answer{}, aerr
		}
		return answer{status: status, value: copyRec(rec), seed: seed}, nil
	}
	// The answer is not the record (a text, a number): keep the record, shape the answer.
	if aerr := s.put(c, path, key, rec); aerr != nil {
		return answer{}, aerr
	}
	return answer{status: status, seed: seed}, nil
}

func orEmpty(s *openapi3.Schema) *openapi3.Schema {
	if s == nil {
		return &openapi3.Schema{}
	}
	return s
}

// idSchema is the declared schema of the created record's id: in the
// create answer, else in the item GET, else the item path's parameter.
func (s *Sandbox) idSchema(rt *route, sch *openapi3.Schema) *openapi3.Schema {
	if p := properties(sch)["id"]; p != nil {
		return p
	}
	if sch != nil {
		if items := flatten(sch).items; items != nil {
			if p := properties(items)["id"]; p != nil {
				return p
			}
		}
	}
	if p := properties(s.itemShape[rt.norm+"/{}"])["id"]; p != nil {
		return p
	}
	// No id shown anywhere: ids like the path parameter that names a
	// record ({build_id}: integer).
	if p := s.keyShape[rt.norm+"/{}"]; p != nil {
		return p
	}
	return nil
}

// singleGet reads a singleton (GET /user): stored, else the last record
// POSTed to that path, else generated from the schema and kept.
func (s *Sandbox) singleGet(rt *route, path string, g *gen) (answer, *apiError) {
	if s.gone[path] {
		return answer{}, &apiError{404, "not_found", path + " was deleted"}
	}
	if rec := s.singles[path]; rec != nil {
		return answer{status: successStatus(rt.op, 200), value: copyRec(rec), seed: path}, nil
	}
	if c := s.colls[path]; c != nil && len(c.ids) > 0 {
		return answer{status: successStatus(rt.op, 200), value: copyRec(c.records[c.ids[len(c.ids)-1]]), seed: path}, nil
	}
	status := successStatus(rt.op, 200)
	sch, _, _ := mediaSchema(rt.op, status)
	if m, ok := g.record(orEmpty(sch), map[string]any{}, path, nil).(map[string]any); ok && sch != nil {
		_ = s.putSingle(path, m) // past the bounds it is answered, not kept
		return answer{status: status, value: copyRec(m), seed: path}, nil
	}
	return answer{status: status, seed: path}, nil
}

// singleWrite PUTs, PATCHes or DELETEs a path without a record id:
// a singleton (PATCH /user), or a whole collection (DELETE .../labels).
func (s *Sandbox) singleWrite(r *http.Request, rt *route, path string, params map[string]string, g *gen) (answer, *apiError) {
	if rt.method == http.MethodDelete {
		prev := s.singles[path]
		delete(s.singles, path)
		s.unaccount(path)
		if c := s.colls[path]; c != nil {
			for _, k := range append([]string(nil), c.ids...) {
				s.del(c, path, k)
			}
		}
		if len(s.gone) < s.maxCollections {
			s.gone[path] = true
		}
		return answer{status: successStatus(rt.op, 204), value: copyRec(prev), seed: path}, nil
	}
	if rt.method == http.MethodPatch && s.gone[path] {
		return answer{}, &apiError{404, "not_found", path + " was deleted"}
	}
	in, aerr := s.body(r, rt.op)
	if aerr != nil {
		return answer{}, aerr
	}
	status := successStatus(rt.op, 200)
	sch, _, _ := mediaSchema(rt.op, status)
	rec := map[string]any{}
	if rt.method == http.MethodPatch {
		if prev := s.singles[path]; prev != nil {
			rec = copyRec(prev)
		} else if getSch := s.singletonShape(rt); getSch != nil {
			if m, ok := g.record(getSch, map[string]any{}, path, nil).(map[string]any); ok {
				rec = m
			}
		}
	}
	for k, v := range in {
		rec[k] = v
	}
	if _, ok := properties(sch)["updated_at"]; ok {
		rec["updated_at"] = s.stamp()
	}
	s.fill(rec, sch, params, "", 0, "", g, path)
	rec = s.store(sch, rec, path, rt.op, g)
	if aerr := s.putSingle(path, rec); aerr != nil {
		return answer{}, aerr
	}
	return answer{status: status, value: copyRec(rec), seed: path}, nil
}

// singletonShape is the schema GET answers for the path rt serves.
func (s *Sandbox) singletonShape(rt *route) *openapi3.Schema {
	for _, o := range s.routes {
		if o.method == http.MethodGet && o.template == rt.template {
			return responseSchema(o.op, successStatus(o.op, 200))
		}
	}
	return nil
}

func (s *Sandbox) stamp() string { return s.now().UTC().Format(time.RFC3339Nano) }

// bodyLimits bound the JSON of a simulated request's body.
var bodyLimits = bounded.DefaultJSON.With(bounded.Limits{MaxBytes: maxBody})

// body decodes and validates a request body: JSON against the request
// schema (422 with the reason otherwise); a form's fields as strings;
// anything else (files, text) is read and set aside.
func (s *Sandbox) body(r *http.Request, op *openapi3.Operation) (map[string]any, *apiError) {
	in := map[string]any{}
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return in, nil
	}
	rb := op.RequestBody.Value
	ctype := strings.ToLower(strings.TrimSpace(strings.SplitN(r.Header.Get("Content-Type"), ";", 2)[0]))
	var mt *openapi3.MediaType
	if ctype == "" || jsonish(ctype) {
		if m := rb.Content.Get("application/json"); m != nil {
			mt = m
		} else {
			for _, k := range slices.Sorted(maps.Keys(rb.Content)) {
				if jsonish(k) {
					mt = rb.Content[k]
					break
				}
			}
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &apiError{413, "too_large", fmt.Sprintf("the body is over %d bytes, the most the sandbox reads", maxBody)}
		}
		return nil, &apiError{400, "invalid", "reading the body: " + err.Error()}
	}
	if mt == nil {
		if ctype == "application/x-www-form-urlencoded" {
			if vals, err := parseForm(data); err == nil {
				for k, v := range vals {
					in[k] = v
				}
			}
		}
		return in, nil
	}
	var v any
	if len(bytes.TrimSpace(data)) == 0 {
		if !rb.Required {
			return in, nil
		}
		return nil, &apiError{422, "invalid", "the request body is required"}
	}
	if err := bounded.UnmarshalJSON("the body", data, &v, bodyLimits); err != nil {
		return nil, &apiError{422, "invalid", weft.Message(err)}
	}
	if mt.Schema != nil && mt.Schema.Value != nil {
		opts := []openapi3.SchemaValidationOption{openapi3.VisitAsRequest(), openapi3.MultiErrors()}
		if s.doc31 {
			opts = append(opts, openapi3.EnableJSONSchema2020())
		}
		if err := mt.Schema.Value.VisitJSON(v, opts...); err != nil {
			return nil, &apiError{422, "invalid", oneLine(err.Error())}
		}
	}
	if m, ok := v.(map[string]any); ok {
		return m, nil
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

// fill sets what a record lacks: parent ids from the path (where the
// field's type takes them), defaults, a "number" (its sequence), and for
// required fields a readable code ("PRJ-3" for a key or number), the time.
// Everything else required is generated when the record is shaped.
func (s *Sandbox) fill(rec map[string]any, sch *openapi3.Schema, params map[string]string, self string, n int, prefix string, g *gen, seed string) {
	props := properties(sch)
	for name, val := range params {
		field := snake(name)
		p, ok := props[field]
		if !ok || rec[field] != nil || name == self || p == nil {
			continue
		}
		f := flatten(p)
		switch f.kind(nil, false) {
		case "string":
			if f.stringOK(val) && (len(f.enum) == 0 || containsJSON(f.enum, val)) {
				rec[field] = val
			}
		case "integer", "number":
			if x, err := strconv.ParseFloat(val, 64); err == nil && f.numberOK(x) {
				rec[field] = x
			}
		}
	}
	req := required(sch)
	for _, k := range slices.Sorted(maps.Keys(props)) {
		p := props[k]
		if _, ok := rec[k]; ok || p == nil {
			continue
		}
		f := flatten(p)
		switch {
		case p.Default != nil:
			rec[k] = normalize(p.Default)
		case (f.kindIs("integer") || f.kindIs("number")) && (k == "number" || strings.HasSuffix(k, "_number")) && n > 0 && f.numberOK(float64(n)):
			// An issue's number: its place in the sequence, required or not.
			rec[k] = float64(n)
		case !req[k] || p.WriteOnly:
		case len(f.enum) > 0:
			rec[k] = g.conform(p, nil, false, seed+"/"+k, 1)
		case f.kindIs("string") && f.format == "date-time":
			rec[k] = s.stamp()
		case f.kindIs("string") && f.format == "" && f.pattern == "" && n > 0 && codeLike(k):
			if v := fmt.Sprintf("%s-%d", strings.ToUpper(prefix), n); f.stringOK(v) {
				rec[k] = v
			}
		}
	}
}

// codeLike: a field that holds a record's human code (a project key,
// a customer number), which reads best as "PRJ-3".
func codeLike(name string) bool {
	for _, w := range []string{"key", "code", "number", "ref", "reference"} {
		if name == w || strings.HasSuffix(name, "_"+w) {
			return true
		}
	}
	return false
}

// literalPrefix is idPrefix of a template: its last literal segment.
func literalPrefix(tmpl []segment) string {
	var lits []string
	for _, sg := range tmpl {
		if !sg.isParam() {
			lits = append(lits, sg.lit)
		}
	}
	return idPrefix(lits)
}

// idPrefix names ids after the collection: /opportunities -> "opp".
func idPrefix(segs []string) string {
	for i := len(segs) - 1; i >= 0; i-- {
		if strings.Contains(segs[i], "{") {
			continue
		}
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

// successStatus is want when op declares it, else op's first 2xx.
func successStatus(op *openapi3.Operation, want int) int {
	if op.Responses == nil || op.Responses.Len() == 0 {
		return want
	}
	if op.Responses.Value(strconv.Itoa(want)) != nil {
		return want
	}
	var codes []int
	for _, k := range op.Responses.Keys() {
		if c, err := strconv.Atoi(k); err == nil && c >= 200 && c < 300 {
			codes = append(codes, c)
		}
	}
	sort.Ints(codes)
	if len(codes) > 0 {
		return codes[0]
	}
	// No 2xx at all: a redirect (GET .../tarball/{ref}: 302) when declared.
	for _, k := range op.Responses.Keys() {
		if c, err := strconv.Atoi(k); err == nil && c >= 300 && c < 400 && c != http.StatusNotModified {
			codes = append(codes, c)
		}
	}
	sort.Ints(codes)
	if len(codes) > 0 {
		return codes[0]
	}
	return want
}

// responseFor is op's declared response for status (exact, range, default).
func responseFor(op *openapi3.Operation, status int) *openapi3.Response {
	if op == nil || op.Responses == nil {
		return nil
	}
	r := op.Responses.Status(status)
	if r == nil {
		r = op.Responses.Default()
	}
	if r == nil {
		return nil
	}
	return r.Value
}

// mediaSchema is the schema of op's response with status, in the media
// type the sandbox answers with.
func mediaSchema(op *openapi3.Operation, status int) (*openapi3.Schema, string, bool) {
	resp := responseFor(op, status)
	if resp == nil || len(resp.Content) == 0 {
		return nil, "", false
	}
	ctype, mt := pickMedia(resp.Content)
	if mt == nil || mt.Schema == nil {
		return nil, ctype, true
	}
	return mt.Schema.Value, ctype, true
}

// responseSchema is the JSON schema of op's response with status.
func responseSchema(op *openapi3.Operation, status int) *openapi3.Schema {
	sch, ctype, _ := mediaSchema(op, status)
	if !jsonish(ctype) {
		return nil
	}
	return sch
}

// properties merges an object schema's properties through allOf.
func properties(s *openapi3.Schema) map[string]*openapi3.Schema {
	if s == nil {
		return map[string]*openapi3.Schema{}
	}
	return flatten(s).props
}

func required(s *openapi3.Schema) map[string]bool {
	if s == nil {
		return map[string]bool{}
	}
	return flatten(s).required
}

// check validates a response body against the spec.
func (s *Sandbox) check(sch *openapi3.Schema, status int, body any) error {
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
	opts := []openapi3.SchemaValidationOption{openapi3.VisitAsResponse(), openapi3.MultiErrors()}
	if s.doc31 {
		opts = append(opts, openapi3.EnableJSONSchema2020())
	}
	if err := sch.VisitJSON(v, opts...); err != nil {
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
		writeJSON(w, 404, "application/json", map[string]any{"code": "not_found", "message": "sandboxes are served under " + strings.Join(names, ", ")})
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
func (s *Sandbox) list(r *http.Request, rt *route, path string, g *gen) (answer, *apiError) {
	q := r.URL.Query()
	coll := s.colls[path]
	if coll == nil {
		coll = &collection{}
	}
	recs := make([]map[string]any, 0, len(coll.ids))
	keys := make([]string, 0, len(coll.ids))
	for _, id := range coll.ids {
		recs = append(recs, coll.records[id])
		keys = append(keys, id)
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
		kept, keptKeys := recs[:0:0], keys[:0:0]
		for i, rec := range recs {
			if _, has := rec[name]; has && fmt.Sprint(rec[name]) == v {
				kept, keptKeys = append(kept, rec), append(keptKeys, keys[i])
			}
		}
		recs, keys = kept, keptKeys
	}
	if since := q.Get("updated_since"); since != "" && declared["updated_since"] {
		t, err := time.Parse(time.RFC3339Nano, since)
		if err != nil {
			return answer{}, &apiError{400, "invalid", "updated_since must be an RFC 3339 date-time"}
		}
		type kr struct {
			k string
			r map[string]any
		}
		var kept []kr
		for i, rec := range recs {
			if u, err := time.Parse(time.RFC3339Nano, fmt.Sprint(rec["updated_at"])); err == nil && !u.Before(t) {
				kept = append(kept, kr{keys[i], rec})
			}
		}
		sort.SliceStable(kept, func(i, j int) bool {
			return fmt.Sprint(kept[i].r["updated_at"]) < fmt.Sprint(kept[j].r["updated_at"])
		})
		recs, keys = recs[:0:0], keys[:0:0]
		for _, x := range kept {
			recs, keys = append(recs, x.r), append(keys, x.k)
		}
	}
	size := 0
	for _, n := range []string{"limit", "per_page", "page_size"} {
		if declared[n] {
			size = 25
			if v, err := strconv.Atoi(q.Get(n)); err == nil && v > 0 {
				size = min(v, 1000)
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
					return answer{}, &apiError{400, "invalid", "bad cursor " + strconv.Quote(v)}
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
	status := successStatus(rt.op, 200)
	sch := responseSchema(rt.op, status)
	itemSch := (*openapi3.Schema)(nil)
	prop := ""
	if sch != nil {
		if rt.list == "wrapper" {
			prop = listProperty(sch)
			itemSch = flatten(flatten(sch).props[prop]).items
		} else {
			itemSch = flatten(sch).items
		}
	}
	items := make([]any, 0, end-start)
	for i, rec := range recs[start:end] {
		seed := path + "/" + keys[start+i]
		if itemSch != nil {
			items = append(items, g.conform(itemSch, copyRec(rec), true, seed, 1))
		} else {
			items = append(items, copyRec(rec))
		}
	}
	if rt.list != "wrapper" {
		return answer{status: status, value: items, seed: path}, nil
	}
	out := map[string]any{prop: items}
	for name, p := range properties(sch) {
		switch {
		case name == prop || p == nil:
		case name == "total" || name == "total_count" || name == "totalCount" || name == "count":
			out[name] = float64(total)
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
	return answer{status: status, value: out, seed: path}, nil
}

func parseForm(data []byte) (map[string]any, error) {
	r, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(data))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	out := map[string]any{}
	for k, v := range r.PostForm {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out, nil
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
