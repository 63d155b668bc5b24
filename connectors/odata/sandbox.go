package odata

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftio/weft/connectors/odata/csdl"
)

// Sandbox is a stateful simulator of one OData service, built from its
// $metadata: entity sets hold entities in memory, checked against their
// types; lists take $filter, $select, $expand, $orderby, $top, $skip,
// $count and $search and are paged by the server (next links); writes
// respect the document's creatable / updatable / deletable flags and
// ETags (a stale If-Match is a 412); v2 services want SAP's
// x-csrf-token on changing requests; $batch change sets are atomic; v4
// writes that prefer respond-async are accepted (202) and collected from
// a status monitor. Functions and actions are simulated without side
// effects: their method and parameters are checked against the document,
// and they answer a value of their return type (invoke).
type Sandbox struct {
	Name     string
	PageSize int // server-driven page size (default 20)
	MaxRows  int // entities per set (default 10000)

	m    *Model
	meta []byte

	mu    sync.Mutex
	sets  map[string]*table
	links map[string][]ref // set|key|nav -> related entities
	token string
	jobs  map[string]*asyncJob // v4 requests accepted with respond-async, by monitor id
	jobN  int
	// annotations are the instance annotations the request being served
	// asked for (Prefer: odata.include-annotations), set under mu.
	annotations []string
}

// asyncJob is a request accepted with Prefer: respond-async: it runs when
// its status monitor is polled the second time (the first answers that it
// is still running), so the simulator shows the whole 202 protocol.
type asyncJob struct {
	method, path string
	query        url.Values
	header       http.Header
	body         []byte
	polls        int
}

// maxJobs bounds the accepted asynchronous requests not yet collected.
const maxJobs = 1000

type table struct {
	set   *EntitySet
	t     *EntityType
	rows  []*row
	byKey map[string]*row
	next  int
}

type row struct {
	key     string
	data    map[string]any
	version int
	media   *mediaStream // a media entity's stream, once PUT
}

// mediaStream is a media entity's bytes and their type.
type mediaStream struct {
	data        []byte
	contentType string
}

type ref struct{ set, key string }

// sandboxError is an answer with an OData error body.
type sandboxError struct {
	status  int
	code    string
	message string
}

// maxSandboxBody bounds a request body.
const maxSandboxBody = 4 << 20

// NewSandbox builds the simulator of a $metadata document.
func NewSandbox(name string, metadata []byte) (*Sandbox, error) {
	m, err := Parse(metadata, DefaultLimits)
	if err != nil {
		return nil, err
	}
	s := &Sandbox{Name: name, PageSize: 20, MaxRows: 10000, m: m, meta: metadata, sets: map[string]*table{}, links: map[string][]ref{}}
	for _, es := range m.EntitySets {
		if t, ok := m.EntityTypes[es.Type]; ok && len(t.Key) > 0 {
			s.sets[es.Name] = &table{set: es, t: t, byKey: map[string]*row{}}
		}
	}
	// Contained entities (and any navigation target no set holds) live
	// in hidden tables, reachable through their navigation properties.
	for _, t := range m.EntityTypes {
		for _, nv := range t.Navs {
			if tt, ok := m.EntityTypes[nv.Target]; ok && len(tt.Key) > 0 && s.tableOf(nv.Target) == nil {
				n := "~" + tt.Name
				s.sets[n] = &table{set: &EntitySet{Name: n, Type: nv.Target, Creatable: true, Updatable: true, Deletable: true, Pageable: true}, t: tt, byKey: map[string]*row{}}
			}
		}
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	s.token = hex.EncodeToString(b)
	return s, nil
}

// Seed creates entities as if each were POSTed to its entity set
// ({"People": [{...}]}); nested related entities are a deep insert.
func (s *Sandbox) Seed(data map[string][]map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(data))
	for n := range data {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		tb, ok := s.sets[n]
		if !ok {
			return fmt.Errorf("seed: %q is not an entity set of the document", n)
		}
		for i, rec := range data[n] {
			if _, e := s.insert(tb, rec, 0); e != nil {
				return fmt.Errorf("seed %s[%d]: %s", n, i, e.message)
			}
		}
	}
	return nil
}

func (s *Sandbox) fail(w http.ResponseWriter, e *sandboxError) {
	var body any
	if s.m.V2() {
		body = map[string]any{"error": map[string]any{"code": e.code, "message": map[string]any{"lang": "en", "value": e.message}}}
	} else {
		body = map[string]any{"error": map[string]any{"code": e.code, "message": e.message}}
	}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func errf(status int, code, f string, a ...any) *sandboxError {
	return &sandboxError{status: status, code: code, message: fmt.Sprintf(f, a...)}
}

func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := r.Method
	if method == "POST" {
		if x := r.Header.Get("X-HTTP-Method"); x != "" {
			method = strings.ToUpper(x)
		}
	}
	if method == "MERGE" {
		method = "PATCH"
	}
	if strings.EqualFold(r.Header.Get("x-csrf-token"), "Fetch") {
		w.Header().Set("x-csrf-token", s.token)
		http.SetCookie(w, &http.Cookie{Name: "SAP_SESSIONID_SANDBOX", Value: s.token[:8], Path: "/"})
	}
	if method != "GET" && method != "HEAD" && s.m.V2() && r.Header.Get("x-csrf-token") != s.token {
		w.Header().Set("x-csrf-token", "Required")
		s.fail(w, errf(403, "CSRF", "CSRF token validation failed"))
		return
	}
	path := strings.Trim(r.URL.Path, "/")
	switch path {
	case "":
		s.serviceDoc(w)
		return
	case "$metadata":
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write(s.meta)
		return
	case "$batch":
		if method != "POST" {
			s.fail(w, errf(405, "MethodNotAllowed", "$batch takes POST"))
			return
		}
		s.batch(w, r)
		return
	}
	if id, ok := strings.CutPrefix(path, "$async/"); ok {
		s.monitor(w, method, id)
		return
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, maxSandboxBody+1))
		if err != nil || len(body) > maxSandboxBody {
			s.fail(w, errf(413, "TooLarge", "request body over %d bytes", maxSandboxBody))
			return
		}
	}
	if !s.m.V2() && method != "GET" && method != "HEAD" && strings.Contains(r.Header.Get("Prefer"), "respond-async") {
		s.accept(w, r, method, path, body)
		return
	}
	s.mu.Lock()
	s.annotations = preferredAnnotations(r.Header.Values("Prefer"))
	status, hdr, out, e := s.handle(method, path, r.URL.Query(), r.Header, body)
	s.annotations = nil
	s.mu.Unlock()
	if e != nil {
		s.fail(w, e)
		return
	}
	for k, v := range hdr {
		w.Header().Set(k, v)
	}
	if out == nil {
		w.WriteHeader(status)
		return
	}
	if ms, ok := out.(*mediaStream); ok {
		w.Header().Set("Content-Type", ms.contentType)
		w.WriteHeader(status)
		_, _ = w.Write(ms.data)
		return
	}
	if str, ok := out.(string); ok {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, str)
		return
	}
	writeJSON(w, status, out)
}

// accept answers a changing v4 request that prefers respond-async: 202
// Accepted with its status monitor in Location.
func (s *Sandbox) accept(w http.ResponseWriter, r *http.Request, method, path string, body []byte) {
	s.mu.Lock()
	if s.jobs == nil {
		s.jobs = map[string]*asyncJob{}
	}
	if len(s.jobs) >= maxJobs {
		s.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		s.fail(w, errf(503, "TooManyAsync", "%d asynchronous requests wait to be collected", maxJobs))
		return
	}
	s.jobN++
	id := strconv.Itoa(s.jobN)
	s.jobs[id] = &asyncJob{method: method, path: path, query: r.URL.Query(), header: r.Header.Clone(), body: body}
	s.mu.Unlock()
	// The monitor's URL, on the path the request came in on (the
	// sandbox may be mounted under a prefix).
	base := "/"
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && strings.HasSuffix(u.Path, r.URL.Path) {
		base = strings.TrimSuffix(u.Path, r.URL.Path) + "/"
	}
	w.Header().Set("Location", base+"$async/"+id)
	w.Header().Set("Preference-Applied", "respond-async")
	w.Header().Set("Retry-After", "0")
	w.WriteHeader(http.StatusAccepted)
}

// monitor answers a status monitor: 202 on the first poll, then the
// request's own response as application/http (once; the monitor is gone
// after that, 404).
func (s *Sandbox) monitor(w http.ResponseWriter, method, id string) {
	if method != "GET" {
		s.fail(w, errf(405, "MethodNotAllowed", "a status monitor takes GET"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil {
		s.fail(w, errf(404, "NotFound", "no asynchronous request %q (it was collected, or never accepted)", id))
		return
	}
	j.polls++
	if j.polls == 1 {
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusAccepted)
		return
	}
	delete(s.jobs, id)
	status, hdr, out, e := s.handle(j.method, j.path, j.query, j.header, j.body)
	var buf bytes.Buffer
	writeResponse(&buf, s, status, hdr, out, e)
	w.Header().Set("Content-Type", "application/http")
	w.Header().Set("Content-Transfer-Encoding", "binary")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func (s *Sandbox) serviceDoc(w http.ResponseWriter) {
	var names []any
	for _, es := range s.m.EntitySets {
		names = append(names, es.Name)
	}
	if s.m.V2() {
		writeJSON(w, 200, map[string]any{"d": map[string]any{"EntitySets": names}})
		return
	}
	var vals []any
	for _, n := range names {
		vals = append(vals, map[string]any{"name": n, "url": n})
	}
	writeJSON(w, 200, map[string]any{"value": vals})
}

// handle serves one request under s.mu; it changes nothing when it fails.
func (s *Sandbox) handle(method, path string, q url.Values, h http.Header, body []byte) (int, map[string]string, any, *sandboxError) {
	segs := strings.Split(path, "/")
	if len(segs) > 3 {
		return 0, nil, nil, errf(404, "NotFound", "no resource %s", path)
	}
	name, pred := segs[0], ""
	if i := strings.IndexByte(name, '('); i > 0 && strings.HasSuffix(name, ")") {
		name, pred = name[:i], name[i+1:len(name)-1]
	}
	tb, ok := s.sets[name]
	if strings.HasPrefix(name, "~") {
		ok = false
	}
	if !ok {
		if len(segs) == 1 {
			if st, hdr, out, e, found := s.invoke(method, name, pred, q, body, nil, nil, false); found {
				return st, hdr, out, e
			}
		}
		for _, c := range s.m.Callables {
			if c.Name == name || c.Short == name {
				return 0, nil, nil, errf(404, "NotFound", "%s %s is bound: call it on its binding entity or collection", c.Kind, c.Name)
			}
		}
		return 0, nil, nil, errf(404, "NotFound", "%q is not an entity set of the service", name)
	}
	if pred == "" && strings.Contains(segs[0], "(") {
		return 0, nil, nil, errf(400, "BadKey", "empty key predicate")
	}
	if pred == "" {
		if len(segs) == 2 && segs[1] == "$count" && method == "GET" {
			rows, e := s.query(tb.t, s.rowsOf(tb), q)
			if e != nil {
				return 0, nil, nil, e
			}
			return 200, nil, strconv.Itoa(len(rows)), nil
		}
		if len(segs) == 2 {
			fn, args := splitCall(segs[1])
			if st, hdr, out, e, found := s.invoke(method, fn, args, q, body, tb, nil, true); found {
				return st, hdr, out, e
			}
		}
		if len(segs) > 1 {
			return 0, nil, nil, errf(404, "NotFound", "no resource %s", path)
		}
		switch method {
		case "GET":
			out, e := s.list(tb.t, name, s.rowsOf(tb), q)
			return 200, nil, out, e
		case "POST":
			if !tb.set.Creatable {
				return 0, nil, nil, errf(405, "NotCreatable", "%s is not creatable", name)
			}
			rec, e := decodeBody(body)
			if e != nil {
				return 0, nil, nil, e
			}
			rw, e := s.insert(tb, rec, 0)
			if e != nil {
				return 0, nil, nil, e
			}
			return 201, map[string]string{"ETag": etag(rw)}, s.wrap(s.entity(tb, rw, nil, 0)), nil
		}
		return 0, nil, nil, errf(405, "MethodNotAllowed", "%s on an entity set", method)
	}
	key, e := s.parseKey(tb.t, pred)
	if e != nil {
		return 0, nil, nil, e
	}
	rw, ok := tb.byKey[key]
	if !ok {
		return 0, nil, nil, errf(404, "NotFound", "no %s with key %s", name, pred)
	}
	if len(segs) == 3 {
		// A function or action bound to an entity reached by navigation
		// (a contained one): judged by its name, answered from the sets.
		fn, args := splitCall(segs[2])
		if st, hdr, out, e, found := s.invoke(method, fn, args, q, body, nil, nil, true); found {
			return st, hdr, out, e
		}
		return 0, nil, nil, errf(404, "NotFound", "the sandbox does not address %s", path)
	}
	if len(segs) == 2 && segs[1] == "$value" && tb.t.HasStream {
		return s.stream(method, tb, rw, h, body)
	}
	if len(segs) == 2 {
		return s.navigate(method, tb, rw, segs[1], q, h, body)
	}
	return s.entityOp(method, tb, rw, q, h, body)
}

// entityOp reads, changes or removes one entity (of an entity set, or a
// contained one addressed through its parent).
func (s *Sandbox) entityOp(method string, tb *table, rw *row, q url.Values, h http.Header, body []byte) (int, map[string]string, any, *sandboxError) {
	name := tb.set.Name
	switch method {
	case "GET":
		exp, e := s.expandList(tb.t, q.Get("$expand"))
		if e != nil {
			return 0, nil, nil, e
		}
		return 200, map[string]string{"ETag": etag(rw)}, s.wrap(s.entity(tb, rw, exp, 0)), nil
	case "PATCH", "PUT":
		if !tb.set.Updatable {
			return 0, nil, nil, errf(405, "NotUpdatable", "%s is not updatable", name)
		}
		if e := s.precondition(tb, rw, h); e != nil {
			return 0, nil, nil, e
		}
		rec, e := decodeBody(body)
		if e != nil {
			return 0, nil, nil, e
		}
		if e := s.check(tb.t, rec, false); e != nil {
			return 0, nil, nil, e
		}
		for _, k := range tb.t.Key {
			if v, ok := rec[k]; ok && compare(v, rw.data[k]) != 0 {
				return 0, nil, nil, errf(400, "KeyChange", "the key property %s cannot change", k)
			}
		}
		binds, e := s.resolveBinds(tb, rec)
		if e != nil {
			return 0, nil, nil, e
		}
		for k := range rec {
			if strings.HasSuffix(k, "@odata.bind") {
				delete(rec, k)
			}
		}
		s.link(tb, rw, binds)
		if method == "PUT" {
			keep := map[string]any{}
			for _, k := range tb.t.Key {
				keep[k] = rw.data[k]
			}
			rw.data = keep
		}
		for k, v := range rec {
			rw.data[k] = v
		}
		rw.version++
		return 204, map[string]string{"ETag": etag(rw)}, nil, nil
	case "DELETE":
		if !tb.set.Deletable {
			return 0, nil, nil, errf(405, "NotDeletable", "%s is not deletable", name)
		}
		if e := s.precondition(tb, rw, h); e != nil {
			return 0, nil, nil, e
		}
		s.remove(tb, rw)
		return 204, nil, nil, nil
	}
	return 0, nil, nil, errf(405, "MethodNotAllowed", "%s on an entity", method)
}

func (s *Sandbox) precondition(tb *table, rw *row, h http.Header) *sandboxError {
	im := h.Get("If-Match")
	if im == "" {
		if tb.t.ETag {
			return errf(428, "PreconditionRequired", "%s needs If-Match (its type has a concurrency token)", tb.set.Name)
		}
		return nil
	}
	if im != "*" && im != etag(rw) {
		return errf(412, "PreconditionFailed", "the ETag %s does not match the entity's current ETag", im)
	}
	return nil
}

func etag(rw *row) string { return fmt.Sprintf(`W/"%d"`, rw.version) }

func decodeBody(body []byte) (map[string]any, *sandboxError) {
	var rec map[string]any
	d := json.NewDecoder(strings.NewReader(string(body)))
	if err := d.Decode(&rec); err != nil || rec == nil {
		return nil, errf(400, "BadRequest", "the body is not a JSON object")
	}
	return rec, nil
}

// wrap puts a single entity in the version's envelope.
func (s *Sandbox) wrap(e map[string]any) any {
	if s.m.V2() {
		return map[string]any{"d": e}
	}
	return e
}

func (s *Sandbox) rowsOf(tb *table) []*row { return tb.rows }

// check validates rec against t: known properties, JSON types.
func (s *Sandbox) check(t *EntityType, rec map[string]any, create bool) *sandboxError {
	for k, v := range rec {
		if strings.HasPrefix(k, "@") || k == "__metadata" {
			continue
		}
		if nav, ok := strings.CutSuffix(k, "@odata.bind"); ok {
			if t.Nav(nav) == nil {
				return errf(400, "BadRequest", "%s: %q is not a navigation property of %s", k, nav, t.Name)
			}
			continue
		}
		if t.Nav(k) != nil {
			if !create {
				return errf(400, "BadRequest", "navigation property %s cannot be set in an update", k)
			}
			continue
		}
		p := t.Prop(k)
		if p == nil {
			return errf(400, "BadRequest", "%q is not a property of %s", k, t.Name)
		}
		if v == nil {
			if !p.Nullable {
				return errf(400, "BadRequest", "%s may not be null", k)
			}
			continue
		}
		if err := typeOK(s.m, p.Type, v); err != "" {
			return errf(400, "BadRequest", "%s: %s", k, err)
		}
	}
	return nil
}

func typeOK(m *Model, t string, v any) string {
	if _, coll := collectionOf(t); coll {
		if _, ok := v.([]any); !ok {
			return "want a list"
		}
		return ""
	}
	switch t {
	case "Edm.String", "Edm.Guid", "Edm.DateTime", "Edm.DateTimeOffset", "Edm.Date", "Edm.Time", "Edm.TimeOfDay", "Edm.Duration", "Edm.Binary":
		if _, ok := v.(string); !ok {
			return "want a string"
		}
		if t == "Edm.Guid" && !guidRe.MatchString(v.(string)) {
			return "want a GUID"
		}
	case "Edm.Boolean":
		if _, ok := v.(bool); !ok {
			return "want true or false"
		}
	case "Edm.Byte", "Edm.SByte", "Edm.Int16", "Edm.Int32":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return "want an integer"
		}
	case "Edm.Int64", "Edm.Decimal", "Edm.Double", "Edm.Single":
		if _, ok := number(v); !ok {
			return "want a number"
		}
	default:
		if _, ok := m.ComplexTypes[t]; ok {
			if _, ok := v.(map[string]any); !ok {
				return "want an object"
			}
		}
	}
	return ""
}

// insert creates an entity (and, deep, its nested related entities).
func (s *Sandbox) insert(tb *table, rec map[string]any, depth int) (*row, *sandboxError) {
	if depth > 5 {
		return nil, errf(400, "BadRequest", "deep insert nests deeper than 5 levels")
	}
	if len(tb.rows) >= s.MaxRows {
		return nil, errf(507, "Full", "%s holds %d entities, the sandbox's limit", tb.set.Name, s.MaxRows)
	}
	if e := s.check(tb.t, rec, true); e != nil {
		return nil, e
	}
	binds, e := s.resolveBinds(tb, rec)
	if e != nil {
		return nil, e
	}
	data := map[string]any{}
	nested := map[string]any{}
	for k, v := range rec {
		if strings.HasPrefix(k, "@") || k == "__metadata" || strings.HasSuffix(k, "@odata.bind") {
			continue
		}
		if tb.t.Nav(k) != nil {
			nested[k] = v
			continue
		}
		data[k] = v
	}
	for _, k := range tb.t.Key {
		if _, ok := data[k]; ok {
			continue
		}
		p := tb.t.Prop(k)
		tb.next++
		switch {
		case p != nil && p.Type == "Edm.Guid":
			b := make([]byte, 16)
			_, _ = rand.Read(b)
			h := hex.EncodeToString(b)
			data[k] = h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
		case p != nil && (p.Type == "Edm.String"):
			data[k] = strconv.Itoa(tb.next)
		default:
			data[k] = float64(tb.next)
		}
	}
	key := s.keyOf(tb.t, data)
	if _, dup := tb.byKey[key]; dup {
		return nil, errf(409, "Conflict", "%s with key %s exists", tb.set.Name, key)
	}
	rw := &row{key: key, data: data, version: 1}
	// Children first, so a failing child leaves nothing behind.
	type child struct {
		nav string
		tb  *table
		rec map[string]any
	}
	var kids []child
	for _, nv := range tb.t.Navs {
		v, ok := nested[nv.Name]
		if !ok {
			continue
		}
		ctb := s.tableOf(nv.Target)
		if ctb == nil {
			return nil, errf(400, "BadRequest", "deep insert into %s: no entity set holds %s", nv.Name, nv.Target)
		}
		if res, ok := v.(map[string]any); ok {
			if list, ok := res["results"].([]any); ok { // v2 {"results": [...]}
				v = list
			}
		}
		switch x := v.(type) {
		case []any:
			for _, c := range x {
				cm, ok := c.(map[string]any)
				if !ok {
					return nil, errf(400, "BadRequest", "deep insert %s: want objects", nv.Name)
				}
				kids = append(kids, child{nv.Name, ctb, cm})
			}
		case map[string]any:
			kids = append(kids, child{nv.Name, ctb, x})
		default:
			return nil, errf(400, "BadRequest", "deep insert %s: want an object or a list", nv.Name)
		}
	}
	var made []struct {
		tb *table
		rw *row
	}
	for _, k := range kids {
		crw, e := s.insert(k.tb, k.rec, depth+1)
		if e != nil {
			for _, m := range made {
				s.remove(m.tb, m.rw)
			}
			return nil, e
		}
		made = append(made, struct {
			tb *table
			rw *row
		}{k.tb, crw})
		lk := tb.set.Name + "|" + key + "|" + k.nav
		s.links[lk] = append(s.links[lk], ref{k.tb.set.Name, crw.key})
	}
	tb.rows = append(tb.rows, rw)
	tb.byKey[key] = rw
	s.link(tb, rw, binds)
	return rw, nil
}

type bind struct {
	nav  string
	coll bool
	to   []ref
}

// resolveBinds reads Nav@odata.bind members ("Set(key)" or a list of
// them); every entity named must exist.
func (s *Sandbox) resolveBinds(tb *table, rec map[string]any) ([]bind, *sandboxError) {
	var out []bind
	for k, v := range rec {
		nav, ok := strings.CutSuffix(k, "@odata.bind")
		if !ok {
			continue
		}
		n := tb.t.Nav(nav)
		if n == nil {
			return nil, errf(400, "BadRequest", "%q is not a navigation property of %s", nav, tb.t.Name)
		}
		var urls []any
		if list, ok := v.([]any); ok && n.Collection {
			urls = list
		} else {
			urls = []any{v}
		}
		b := bind{nav: nav, coll: n.Collection}
		for _, u := range urls {
			str, _ := u.(string)
			str = strings.TrimPrefix(str, "/")
			i := strings.IndexByte(str, '(')
			if i <= 0 || !strings.HasSuffix(str, ")") {
				return nil, errf(400, "BadRequest", "%s: %q is not Set(key)", k, cut(str, 60))
			}
			ct, ok := s.sets[str[:i]]
			if !ok || strings.HasPrefix(str, "~") {
				return nil, errf(400, "BadRequest", "%s: %q is not an entity set", k, str[:i])
			}
			key, e := s.parseKey(ct.t, str[i+1:len(str)-1])
			if e != nil {
				return nil, e
			}
			if _, ok := ct.byKey[key]; !ok {
				return nil, errf(400, "BadRequest", "%s: no entity %s", k, cut(str, 80))
			}
			b.to = append(b.to, ref{ct.set.Name, key})
		}
		out = append(out, b)
	}
	return out, nil
}

// link records binds of rw: a single-valued navigation is replaced, a
// collection is added to.
func (s *Sandbox) link(tb *table, rw *row, binds []bind) {
	for _, b := range binds {
		lk := tb.set.Name + "|" + rw.key + "|" + b.nav
		if b.coll {
			s.links[lk] = append(s.links[lk], b.to...)
		} else {
			s.links[lk] = b.to
		}
	}
}

func (s *Sandbox) remove(tb *table, rw *row) {
	delete(tb.byKey, rw.key)
	for i, x := range tb.rows {
		if x == rw {
			tb.rows = append(tb.rows[:i:i], tb.rows[i+1:]...)
			break
		}
	}
	for _, nv := range tb.t.Navs {
		delete(s.links, tb.set.Name+"|"+rw.key+"|"+nv.Name)
	}
}

func (s *Sandbox) tableOf(typ string) *table {
	for _, es := range s.m.EntitySets {
		if es.Type == typ {
			if tb, ok := s.sets[es.Name]; ok {
				return tb
			}
		}
	}
	if t, ok := s.m.EntityTypes[typ]; ok {
		return s.sets["~"+t.Name]
	}
	return nil
}

func (s *Sandbox) keyOf(t *EntityType, data map[string]any) string {
	parts := make([]string, len(t.Key))
	for i, k := range t.Key {
		parts[i] = canon(data[k])
	}
	return strings.Join(parts, "\x00")
}

func canon(v any) string {
	if f, ok := number(v); ok {
		if _, isStr := v.(string); !isStr {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
	}
	return fmt.Sprint(v)
}

// parseKey reads "lit" or "K=lit,K2=lit" into the canonical key.
func (s *Sandbox) parseKey(t *EntityType, pred string) (string, *sandboxError) {
	parts, err := splitTop(pred)
	if err != nil {
		return "", errf(400, "BadKey", "%v", err)
	}
	vals := map[string]any{}
	for i, p := range parts {
		name, lit := "", p
		if eq := strings.IndexByte(p, '='); eq > 0 && !strings.HasPrefix(p, "'") {
			name, lit = p[:eq], p[eq+1:]
		} else if len(t.Key) == 1 && i == 0 {
			name = t.Key[0]
		}
		if name == "" {
			return "", errf(400, "BadKey", "key predicate (%s) needs names", pred)
		}
		var v any
		if strings.HasPrefix(lit, "'") && strings.HasSuffix(lit, "'") && len(lit) >= 2 {
			v = strings.ReplaceAll(lit[1:len(lit)-1], "''", "'")
		} else {
			var err error
			if v, err = readLiteral(lit); err != nil {
				return "", errf(400, "BadKey", "%v", err)
			}
		}
		if p := t.Prop(name); p != nil && p.Type == "Edm.String" {
			if _, ok := v.(string); !ok {
				return "", errf(400, "BadKey", "key %s is text: quote it", name)
			}
		}
		vals[name] = v
	}
	for _, k := range t.Key {
		if _, ok := vals[k]; !ok {
			return "", errf(400, "BadKey", "key predicate lacks %s", k)
		}
	}
	return s.keyOf(t, vals), nil
}

// splitTop splits on commas outside quotes.
func splitTop(s string) ([]string, error) {
	var out []string
	in := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			in = !in
		case ',':
			if !in {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if in {
		return nil, fmt.Errorf("unterminated quote in key predicate")
	}
	return append(out, s[start:]), nil
}

// entity renders a row: properties, ETag, expanded navigations.
func (s *Sandbox) entity(tb *table, rw *row, expand []string, depth int) map[string]any {
	out := make(map[string]any, len(rw.data)+2)
	for k, v := range rw.data {
		out[k] = v
	}
	for _, nv := range expand {
		n := tb.t.Nav(nv)
		if n == nil || depth > 2 {
			continue
		}
		var rel []any
		for _, r := range s.links[tb.set.Name+"|"+rw.key+"|"+nv] {
			if ct, ok := s.sets[r.set]; ok {
				if crw, ok := ct.byKey[r.key]; ok {
					rel = append(rel, s.entity(ct, crw, nil, depth+1))
				}
			}
		}
		switch {
		case n.Collection && s.m.V2():
			if rel == nil {
				rel = []any{}
			}
			out[nv] = map[string]any{"results": rel}
		case n.Collection:
			if rel == nil {
				rel = []any{}
			}
			out[nv] = rel
		case len(rel) > 0:
			out[nv] = rel[0]
		default:
			out[nv] = nil
		}
	}
	if s.m.V2() {
		out["__metadata"] = map[string]any{"type": tb.t.Namespace + "." + tb.t.Name, "etag": etag(rw)}
	} else {
		out["@odata.etag"] = etag(rw)
		s.annotate(tb.t, out)
	}
	return out
}

// preferredAnnotations reads odata.include-annotations="a,b" from Prefer
// (the quoted list may itself hold commas).
func preferredAnnotations(prefer []string) []string {
	const key = "odata.include-annotations="
	for _, p := range prefer {
		i := strings.Index(strings.ToLower(p), key)
		if i < 0 {
			continue
		}
		v := p[i+len(key):]
		if strings.HasPrefix(v, `"`) {
			v = v[1:]
			if j := strings.IndexByte(v, '"'); j >= 0 {
				v = v[:j]
			}
		} else if j := strings.IndexAny(v, ", ;"); j >= 0 {
			v = v[:j]
		}
		var out []string
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" && len(out) < 50 {
				out = append(out, x)
			}
		}
		return out
	}
	return nil
}

// annotate adds the instance annotations the request asked for (a term,
// Namespace.*, or *; a -term excludes) to an entity, as a service that
// declares them would: the value as text, a lookup's target type or its
// navigation (annotations.yaml says which).
func (s *Sandbox) annotate(t *EntityType, e map[string]any) {
	if len(s.annotations) == 0 {
		return
	}
	wants := func(term string) bool {
		in := false
		for _, p := range s.annotations {
			switch {
			case p == "-"+term || (strings.HasPrefix(p, "-") && strings.HasSuffix(p, ".*") && strings.HasPrefix(term, p[1:len(p)-1])):
				return false
			case p == "*" || p == term || (strings.HasSuffix(p, ".*") && strings.HasPrefix(term, p[:len(p)-1])):
				in = true
			}
		}
		return in
	}
	for _, ap := range s.m.annotatedProps(t) {
		v, ok := e[ap.prop]
		if !ok || v == nil || !wants(ap.a.Term) {
			continue
		}
		var text string
		switch ap.a.Sandbox {
		case "display":
			switch x := v.(type) {
			case bool:
				text = map[bool]string{true: "Yes", false: "No"}[x]
			case float64:
				text = strconv.FormatFloat(x, 'f', -1, 64)
			default:
				text = fmt.Sprint(x)
			}
		case "target":
			if ap.nav != nil {
				if tt, ok := s.m.EntityTypes[ap.nav.Target]; ok {
					text = tt.Name
				}
			}
		case "navigation":
			if ap.nav != nil {
				text = ap.nav.Name
			}
		}
		if text != "" {
			e[ap.prop+"@"+ap.a.Term] = text
		}
	}
}

func (s *Sandbox) expandList(t *EntityType, v string) ([]string, *sandboxError) {
	if v == "" {
		return nil, nil
	}
	var out []string
	for _, n := range strings.Split(v, ",") {
		n = strings.TrimSpace(n)
		if t.Nav(n) == nil {
			return nil, errf(400, "BadRequest", "$expand: %q is not a navigation property of %s", n, t.Name)
		}
		out = append(out, n)
	}
	return out, nil
}

// query applies $filter, $search and $orderby.
func (s *Sandbox) query(t *EntityType, rows []*row, q url.Values) ([]*row, *sandboxError) {
	out := rows
	if f := q.Get("$filter"); f != "" {
		ex, err := parseFilter(f, t)
		if err != nil {
			return nil, errf(400, "BadFilter", "%v", err)
		}
		var keep []*row
		for _, r := range out {
			if ex.eval(r.data) {
				keep = append(keep, r)
			}
		}
		out = keep
	}
	search := q.Get("$search")
	if search == "" {
		search = q.Get("search")
	}
	if search = strings.Trim(search, `"`); search != "" {
		var keep []*row
		for _, r := range out {
			for _, v := range r.data {
				if str, ok := v.(string); ok && strings.Contains(strings.ToLower(str), strings.ToLower(search)) {
					keep = append(keep, r)
					break
				}
			}
		}
		out = keep
	}
	if ob := q.Get("$orderby"); ob != "" {
		type key struct {
			name string
			desc bool
		}
		var keys []key
		for _, part := range strings.Split(ob, ",") {
			n, d, _ := strings.Cut(strings.TrimSpace(part), " ")
			if t.Prop(n) == nil {
				return nil, errf(400, "BadRequest", "$orderby: %q is not a property of %s", n, t.Name)
			}
			keys = append(keys, key{n, strings.TrimSpace(d) == "desc"})
		}
		out = append([]*row(nil), out...)
		sort.SliceStable(out, func(i, j int) bool {
			for _, k := range keys {
				c := compare(out[i].data[k.name], out[j].data[k.name])
				if c != 0 {
					return (c < 0) != k.desc
				}
			}
			return false
		})
	}
	return out, nil
}

func intParam(q url.Values, k string) (int, bool, *sandboxError) {
	v := q.Get(k)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false, errf(400, "BadRequest", "%s must be a non-negative integer", k)
	}
	return n, true, nil
}

// list serves a collection: the query, then $skip and $top, then the
// server's page from $skiptoken, with a next link when more remain.
func (s *Sandbox) list(t *EntityType, path string, rows []*row, q url.Values) (any, *sandboxError) {
	rows, e := s.query(t, rows, q)
	if e != nil {
		return nil, e
	}
	total := len(rows)
	skip, _, e := intParam(q, "$skip")
	if e != nil {
		return nil, e
	}
	top, hasTop, e := intParam(q, "$top")
	if e != nil {
		return nil, e
	}
	tok, _, e := intParam(q, "$skiptoken")
	if e != nil {
		return nil, e
	}
	if skip > len(rows) {
		skip = len(rows)
	}
	rows = rows[skip:]
	if hasTop && top < len(rows) {
		rows = rows[:top]
	}
	if tok > len(rows) {
		tok = len(rows)
	}
	rows = rows[tok:]
	next := ""
	if len(rows) > s.PageSize {
		rows = rows[:s.PageSize]
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("$skiptoken", strconv.Itoa(tok+s.PageSize))
		next = path + "?" + nq.Encode()
	}
	exp, e := s.expandList(t, q.Get("$expand"))
	if e != nil {
		return nil, e
	}
	tb := s.tableOf(t.Namespace + "." + t.Name)
	var sel map[string]bool
	if v := q.Get("$select"); v != "" {
		sel = map[string]bool{}
		for _, n := range strings.Split(v, ",") {
			sel[strings.TrimSpace(n)] = true
		}
	}
	vals := make([]any, 0, len(rows))
	for _, r := range rows {
		ent := s.entity(tb, r, exp, 0)
		if sel != nil {
			for k := range ent {
				if !sel[k] && !strings.HasPrefix(k, "@") && k != "__metadata" && t.Nav(k) == nil {
					isKey := false
					for _, kk := range t.Key {
						isKey = isKey || kk == k
					}
					if !isKey {
						delete(ent, k)
					}
				}
			}
		}
		vals = append(vals, ent)
	}
	if s.m.V2() {
		d := map[string]any{"results": vals}
		if q.Get("$inlinecount") == "allpages" {
			d["__count"] = strconv.Itoa(total)
		}
		if next != "" {
			d["__next"] = next
		}
		return map[string]any{"d": d}, nil
	}
	out := map[string]any{"value": vals}
	if q.Get("$count") == "true" {
		out["@odata.count"] = total
	}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	return out, nil
}

// navigate serves /Set(key)/Nav: the related entities (GET), or a new
// related entity (POST).
func (s *Sandbox) navigate(method string, tb *table, rw *row, nav string, q url.Values, h http.Header, body []byte) (int, map[string]string, any, *sandboxError) {
	pred := ""
	if i := strings.IndexByte(nav, '('); i > 0 && strings.HasSuffix(nav, ")") {
		nav, pred = nav[:i], nav[i+1:len(nav)-1]
	}
	n := tb.t.Nav(nav)
	if n == nil {
		if st, hdr, out, e, found := s.invoke(method, nav, pred, q, body, tb, rw, true); found {
			return st, hdr, out, e
		}
		return 0, nil, nil, errf(404, "NotFound", "%q is not a navigation property of %s", nav, tb.t.Name)
	}
	ct := s.tableOf(n.Target)
	if ct == nil {
		return 0, nil, nil, errf(404, "NotFound", "no entity set holds %s", n.Target)
	}
	lk := tb.set.Name + "|" + rw.key + "|" + nav
	if pred != "" { // one related entity by its key: /People('x')/Trips(1)
		if !n.Collection {
			return 0, nil, nil, errf(400, "BadKey", "%s is single-valued: it takes no key", nav)
		}
		key, e := s.parseKey(ct.t, pred)
		if e != nil {
			return 0, nil, nil, e
		}
		for _, r := range s.links[lk] {
			if crw, ok := s.sets[r.set].byKey[r.key]; ok && r.key == key {
				return s.entityOp(method, ct, crw, q, h, body) // a removed row's link is skipped on read
			}
		}
		return 0, nil, nil, errf(404, "NotFound", "no %s with key %s among the %s of %s%s", n.Target, pred, nav, tb.set.Name, s.keyPred(tb.t, rw.data))
	}
	switch method {
	case "GET":
		var rows []*row
		for _, r := range s.links[lk] {
			if crw, ok := s.sets[r.set].byKey[r.key]; ok {
				rows = append(rows, crw)
			}
		}
		if !n.Collection {
			if len(rows) == 0 {
				return 204, nil, nil, nil
			}
			return 200, nil, s.wrap(s.entity(ct, rows[0], nil, 0)), nil
		}
		out, e := s.list(ct.t, tb.set.Name+s.keyPred(tb.t, rw.data)+"/"+nav, rows, q)
		return 200, nil, out, e
	case "POST":
		rec, e := decodeBody(body)
		if e != nil {
			return 0, nil, nil, e
		}
		crw, e := s.insert(ct, rec, 0)
		if e != nil {
			return 0, nil, nil, e
		}
		s.links[lk] = append(s.links[lk], ref{ct.set.Name, crw.key})
		return 201, map[string]string{"ETag": etag(crw)}, s.wrap(s.entity(ct, crw, nil, 0)), nil
	}
	return 0, nil, nil, errf(405, "MethodNotAllowed", "%s on a navigation property", method)
}

// keyPred writes a row's key predicate for a link.
func (s *Sandbox) keyPred(t *EntityType, data map[string]any) string {
	var parts []string
	for _, k := range t.Key {
		typ := "Edm.String"
		if p := t.Prop(k); p != nil {
			typ = p.Type
		}
		lit, err := s.m.Literal(typ, data[k])
		if err != nil {
			lit = "'" + strings.ReplaceAll(fmt.Sprint(data[k]), "'", "''") + "'"
		}
		if len(t.Key) == 1 {
			return "(" + url.PathEscape(lit) + ")"
		}
		parts = append(parts, k+"="+url.PathEscape(lit))
	}
	return "(" + strings.Join(parts, ",") + ")"
}

// splitCall parts a path segment into a name and its inline arguments:
// Ns.Fn(a=1,b='x') -> Ns.Fn, a=1,b='x'.
func splitCall(seg string) (name, args string) {
	if i := strings.IndexByte(seg, '('); i > 0 && strings.HasSuffix(seg, ")") {
		return seg[:i], seg[i+1 : len(seg)-1]
	}
	return seg, ""
}

// invoke simulates the function or action name (found is false when the
// document has none of that name; bound says which kind to look for),
// changing nothing: the method must be the callable's, each parameter
// must be one of its own and of its type, and each non-nullable one must
// be given (400 otherwise). It answers a value of the return type: the
// entities of the set it returns from (its first page; the binding
// entity itself when it returns the binding type), the zero value of a
// primitive or complex type, or 204 when it returns nothing.
func (s *Sandbox) invoke(method, name, args string, q url.Values, body []byte, tb *table, rw *row, bound bool) (int, map[string]string, any, *sandboxError, bool) {
	var fn *Callable
	for _, c := range s.m.Callables {
		if (c.Name == name || c.Short == name) && (c.BoundTo != "") == bound {
			fn = c
			break
		}
	}
	if fn == nil {
		return 0, nil, nil, nil, false
	}
	fail := func(e *sandboxError) (int, map[string]string, any, *sandboxError, bool) { return 0, nil, nil, e, true }
	want := fn.Method
	if want == "" {
		want = map[string]string{"function": "GET", "action": "POST"}[fn.Kind]
	}
	if method != want {
		return fail(errf(405, "MethodNotAllowed", "%s %s takes %s", fn.Kind, fn.Short, want))
	}
	given, e := s.callArgs(fn, args, q, body)
	if e != nil {
		return fail(e)
	}
	types := map[string]csdl.Param{}
	for _, p := range fn.Params {
		types[p.Name] = p
	}
	for k, v := range given {
		p, ok := types[k]
		if !ok {
			return fail(errf(400, "BadParameter", "%s %s has no parameter %q", fn.Kind, fn.Short, k))
		}
		if v == nil {
			if !p.Nullable {
				return fail(errf(400, "BadParameter", "parameter %s of %s may not be null", k, fn.Short))
			}
			continue
		}
		if msg := typeOK(s.m, p.Type, v); msg != "" {
			return fail(errf(400, "BadParameter", "parameter %s of %s: %s", k, fn.Short, msg))
		}
	}
	for _, p := range fn.Params {
		if _, ok := given[p.Name]; !ok && !p.Nullable {
			return fail(errf(400, "BadParameter", "%s %s needs parameter %s", fn.Kind, fn.Short, p.Name))
		}
	}
	if fn.Returns == "" {
		return 204, nil, nil, nil, true
	}
	in, coll := collectionOf(fn.Returns)
	if et, ok := s.m.EntityTypes[in]; ok {
		src := s.sets[fn.EntitySet]
		if src == nil || src.t != et {
			src = s.tableOf(in)
		}
		if src == nil {
			return fail(errf(404, "NotFound", "no entity set holds %s, which %s returns", in, fn.Short))
		}
		if coll {
			opts := url.Values{}
			for k, v := range q {
				if strings.HasPrefix(k, "$") {
					opts[k] = v
				}
			}
			out, e := s.list(et, src.set.Name, s.rowsOf(src), opts)
			return 200, nil, out, e, true
		}
		from, one := src, rw
		if rw == nil || tb == nil || tb.t != et {
			if len(src.rows) == 0 {
				return fail(errf(404, "NotFound", "%s has no entity to return: the %s set is empty", fn.Short, src.set.Name))
			}
			one = src.rows[0]
		} else {
			from = tb
		}
		return 200, nil, s.wrap(s.entity(from, one, nil, 0)), nil, true
	}
	var v any = []any{}
	if !coll {
		v = s.zero(in, 0)
	}
	switch {
	case !s.m.V2():
		return 200, nil, map[string]any{"value": v}, nil, true
	case coll:
		return 200, nil, map[string]any{"d": map[string]any{"results": v}}, nil, true
	default:
		return 200, nil, map[string]any{"d": map[string]any{fn.Short: v}}, nil, true
	}
}

// callArgs reads a call's parameters: v2 from the query string, a v4
// function from its inline arguments (parameter aliases from the query
// string), a v4 action from its JSON body. Values are JSON values.
func (s *Sandbox) callArgs(fn *Callable, args string, q url.Values, body []byte) (map[string]any, *sandboxError) {
	out := map[string]any{}
	lit := func(k, raw string) *sandboxError {
		v, err := literalValue(raw)
		if err != nil {
			return errf(400, "BadParameter", "parameter %s of %s: %v", k, fn.Short, err)
		}
		out[k] = v
		return nil
	}
	switch {
	case s.m.V2():
		for k, vs := range q {
			if strings.HasPrefix(k, "$") || k == "sap-client" || len(vs) == 0 {
				continue
			}
			if e := lit(k, vs[0]); e != nil {
				return nil, e
			}
		}
	case fn.Kind == "function":
		if strings.TrimSpace(args) == "" {
			return out, nil
		}
		parts, err := splitTop(args)
		if err != nil {
			return nil, errf(400, "BadParameter", "the arguments of %s: %v", fn.Short, err)
		}
		for _, part := range parts {
			k, raw, ok := strings.Cut(part, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, errf(400, "BadParameter", "the arguments of %s: %q is not name=value", fn.Short, part)
			}
			if strings.HasPrefix(raw, "@") { // a parameter alias: JSON in the query string
				var v any
				if err := json.Unmarshal([]byte(q.Get(raw)), &v); err != nil {
					return nil, errf(400, "BadParameter", "parameter %s of %s: alias %s is not JSON", k, fn.Short, raw)
				}
				out[k] = v
				continue
			}
			if e := lit(k, raw); e != nil {
				return nil, e
			}
		}
	default:
		if len(bytes.TrimSpace(body)) == 0 {
			return out, nil
		}
		m, e := decodeBody(body)
		if e != nil {
			return nil, e
		}
		out = m
	}
	return out, nil
}

// literalValue reads a URL literal as a JSON value: 'text' (quotes
// doubled inside), true / false / null, a number, or a typed literal such
// as datetime'…' or guid'…' (its text).
func literalValue(raw string) (any, error) {
	raw, err := url.PathUnescape(strings.TrimSpace(raw))
	if err != nil {
		return nil, err
	}
	switch raw {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	if i := strings.IndexByte(raw, '\''); i >= 0 && strings.HasSuffix(raw, "'") && len(raw) >= i+2 {
		return strings.ReplaceAll(raw[i+1:len(raw)-1], "''", "'"), nil
	}
	if f, err := strconv.ParseFloat(strings.TrimRight(raw, "mMdDfFlL"), 64); err == nil {
		return f, nil
	}
	if guidRe.MatchString(raw) {
		return raw, nil // a v4 GUID or date is written bare
	}
	if _, err := time.Parse("2006-01-02", raw); err == nil {
		return raw, nil
	}
	if _, err := time.Parse(time.RFC3339Nano, raw); err == nil {
		return raw, nil
	}
	return nil, fmt.Errorf("%q is not a literal", raw)
}

// zero is a type's zero value as JSON: "" for text, 0, false, an object of
// its properties' zero values for a complex type, [] for a collection.
func (s *Sandbox) zero(t string, depth int) any {
	if _, coll := collectionOf(t); coll {
		return []any{}
	}
	switch t {
	case "Edm.Boolean":
		return false
	case "Edm.Byte", "Edm.SByte", "Edm.Int16", "Edm.Int32", "Edm.Double", "Edm.Single":
		return 0.0
	case "Edm.Int64", "Edm.Decimal":
		if s.m.V2() {
			return "0" // v2 writes them as strings
		}
		return 0.0
	case "Edm.Guid":
		return "00000000-0000-0000-0000-000000000000"
	case "Edm.DateTime", "Edm.DateTimeOffset":
		if s.m.V2() {
			return "/Date(0)/"
		}
		return "1970-01-01T00:00:00Z"
	case "Edm.Date":
		return "1970-01-01"
	case "Edm.Time", "Edm.TimeOfDay":
		return "00:00:00"
	case "Edm.Duration":
		return "PT0S"
	}
	if ct, ok := s.m.ComplexTypes[t]; ok {
		out := map[string]any{}
		if depth >= 4 {
			return out
		}
		for _, p := range ct.Props {
			if !p.Nullable {
				out[p.Name] = s.zero(p.Type, depth+1)
			} else {
				out[p.Name] = nil
			}
		}
		return out
	}
	if et, ok := s.m.EnumTypes[t]; ok && len(et.Members) > 0 {
		return et.Members[0]
	}
	if strings.HasPrefix(t, "Edm.") {
		return ""
	}
	return nil
}

// stream reads or replaces a media entity's stream (/S(key)/$value).
func (s *Sandbox) stream(method string, tb *table, rw *row, h http.Header, body []byte) (int, map[string]string, any, *sandboxError) {
	switch method {
	case "GET":
		if rw.media == nil {
			return 0, nil, nil, errf(404, "NotFound", "%s%s has no stream yet", tb.set.Name, s.keyPred(tb.t, rw.data))
		}
		return 200, map[string]string{"ETag": etag(rw)}, rw.media, nil
	case "PUT":
		if !tb.set.Updatable {
			return 0, nil, nil, errf(405, "NotUpdatable", "%s is not updatable", tb.set.Name)
		}
		if e := s.precondition(tb, rw, h); e != nil {
			return 0, nil, nil, e
		}
		ct := h.Get("Content-Type")
		if ct == "" {
			ct = "application/octet-stream"
		}
		rw.media = &mediaStream{data: append([]byte(nil), body...), contentType: ct}
		rw.version++
		return 204, map[string]string{"ETag": etag(rw)}, nil, nil
	}
	return 0, nil, nil, errf(405, "MethodNotAllowed", "%s on a media stream", method)
}
