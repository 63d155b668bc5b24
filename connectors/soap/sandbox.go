package soap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"mime"
	"net/http"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Sandbox answers a WSDL's operations offline: it reads each request by
// the operation's input types (an envelope that does not fit is a Client
// fault), and answers with a response generated from the output types
// (enumerations, lengths, bounds and patterns respected; every response
// is checked against the output's JSON Schema before it is sent). It is
// stateful: the values a client sends are remembered, and a later
// request that shares a value with an earlier one (an id it was given, a
// name it sent) is answered with that record's values, so created things
// can be read back. It can be told to answer the next call of an
// operation with a fault (FailNext, or POST _weft/fault), so flows over a
// SOAP service can be built and tested offline.
type Sandbox struct {
	Name string
	svc  *service
	wsdl []byte

	mu      sync.Mutex
	records []map[string]any // remembered leaf values, oldest first
	seq     int
	faults  map[string][]sandboxFault
	checks  map[*op][2]*jsonschema.Schema // input, output
}

type sandboxFault struct{ Code, Reason string }

const (
	maxSandboxRecords = 10000
	maxSandboxBody    = 8 << 20
)

// NewSandbox compiles wsdl and returns its simulator.
func NewSandbox(name string, wsdl []byte, o Options) (*Sandbox, error) {
	svc, _, err := compile(name, wsdl, o)
	if err != nil {
		return nil, err
	}
	return &Sandbox{Name: name, svc: svc, wsdl: wsdl, faults: map[string][]sandboxFault{}, checks: map[*op][2]*jsonschema.Schema{}}, nil
}

// FailNext makes the next call of operation (its Weft or WSDL name)
// answer with a fault: code Client/Sender (permanent) or Server/Receiver
// (retryable).
func (s *Sandbox) FailNext(operation, code, reason string) error {
	if s.find(operation) == nil {
		return fmt.Errorf("no operation %q", operation)
	}
	switch code {
	case "Client", "Server", "Sender", "Receiver":
	default:
		return fmt.Errorf("fault code %q: Client, Server, Sender or Receiver", code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults[operation]) < 1000 {
		s.faults[operation] = append(s.faults[operation], sandboxFault{code, reason})
	}
	return nil
}

func (s *Sandbox) find(name string) *op {
	for _, x := range s.svc.ops {
		if x.Name == name || x.wsdlName == name {
			return x
		}
	}
	return nil
}

// ServeHTTP answers SOAP requests (POST), the WSDL (GET ?wsdl) and fault
// instructions (POST _weft/fault {operation, code, reason}).
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write(s.wsdl)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "SOAP requests are POSTed", http.StatusMethodNotAllowed)
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxSandboxBody+1))
	if err != nil || len(data) > maxSandboxBody {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	if strings.HasSuffix(r.URL.Path, "/_weft/fault") {
		var req struct{ Operation, Code, Reason string }
		if err := json.Unmarshal(data, &req); err != nil {
			http.Error(w, `body: {"operation", "code", "reason"}`, http.StatusBadRequest)
			return
		}
		if err := s.FailNext(req.Operation, req.Code, req.Reason); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	version := "1.1"
	ctype := r.Header.Get("Content-Type")
	var attachments map[string][]byte
	if strings.HasPrefix(ctype, "multipart/related") { // MTOM: the envelope and its attachments
		_, params, _ := mime.ParseMediaType(ctype)
		root, parts, err := unpackMTOM(ctype, data)
		if err != nil {
			writeFault(w, version, "Client", err.Error())
			return
		}
		data, attachments = root, parts
		ctype = params["start-info"]
	}
	if strings.HasPrefix(ctype, "application/soap+xml") {
		version = "1.2"
	}
	body, err := bodyOf(data)
	if err != nil {
		writeFault(w, version, "Client", err.Error())
		return
	}
	if attachments != nil {
		if err := inlineXOP(body, attachments); err != nil {
			writeFault(w, version, "Client", err.Error())
			return
		}
	}
	if env := envVersion(body); env != version {
		writeFault(w, env, "Client", fmt.Sprintf("a SOAP %s envelope sent as %s", env, r.Header.Get("Content-Type")))
		return
	}
	x := s.route(body, version, soapAction(r))
	if x == nil {
		writeFault(w, version, "Client", "no operation of this service takes this request")
		return
	}
	in, err := x.decodeParts(body, x.in, x.inFlat, false)
	if err == nil {
		err = s.validate(x, in, true)
	}
	if err != nil {
		writeFault(w, version, "Client", x.wsdlName+": the request does not fit the operation's input: "+err.Error())
		return
	}
	s.mu.Lock()
	if q := s.faults[x.Name]; len(q) > 0 {
		s.faults[x.Name] = q[1:]
		s.mu.Unlock()
		writeFault(w, version, q[0].Code, q[0].Reason)
		return
	}
	if q := s.faults[x.wsdlName]; len(q) > 0 {
		s.faults[x.wsdlName] = q[1:]
		s.mu.Unlock()
		writeFault(w, version, q[0].Code, q[0].Reason)
		return
	}
	out := s.answer(x, in)
	s.mu.Unlock()
	if !x.hasOut {
		w.WriteHeader(http.StatusAccepted) // one-way
		return
	}
	if err := s.validate(x, out, false); err != nil {
		writeFault(w, version, "Server", "sandbox: the generated response does not fit the output schema: "+err.Error())
		return
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="` + envNS(version) + `" xmlns:xsi="` + nsXSI + `" xmlns:xsd="` + nsXSD + `"`)
	if x.encoded {
		b.WriteString(` xmlns:soapenc="` + nsSoapEnc + `"`)
	}
	b.WriteString(`><soapenv:Body>`)
	if err := x.encodeParts(&b, x.out, x.outFlat, out, x.wsdlName+"Response"); err != nil {
		writeFault(w, version, "Server", "sandbox: "+err.Error())
		return
	}
	b.WriteString(`</soapenv:Body></soapenv:Envelope>`)
	w.Header().Set("Content-Type", contentTypeOf(version))
	_, _ = io.WriteString(w, b.String())
}

func soapAction(r *http.Request) string {
	if a := r.Header.Get("SOAPAction"); a != "" {
		return strings.Trim(a, `"`)
	}
	ct := r.Header.Get("Content-Type")
	if i := strings.Index(ct, `action="`); i >= 0 {
		rest := ct[i+8:]
		if j := strings.IndexByte(rest, '"'); j >= 0 {
			return rest[:j]
		}
	}
	return ""
}

func envVersion(body *node) string {
	if body.Name.Space == nsEnv12 {
		return "1.2"
	}
	return "1.1"
}

func envNS(version string) string {
	if version == "1.2" {
		return nsEnv12
	}
	return nsEnv11
}

func contentTypeOf(version string) string {
	if version == "1.2" {
		return "application/soap+xml; charset=utf-8"
	}
	return "text/xml; charset=utf-8"
}

// route finds the operation a request is for: by its body's first
// element (document: the input element; rpc: the wrapper named after the
// operation), then the SOAPAction among those.
func (s *Sandbox) route(body *node, version, action string) *op {
	var first *node
	if len(body.Kids) > 0 {
		first = body.Kids[0]
	}
	var match []*op
	for _, x := range s.svc.ops {
		if x.version != version {
			continue
		}
		switch {
		case first == nil:
			if len(x.in) == 0 {
				match = append(match, x)
			}
		case x.rpc:
			if first.Name.Local == x.wsdlName && first.Name.Space == x.wrapNS {
				match = append(match, x)
			}
		case len(x.in) > 0:
			if first.Name.Local == x.in[0].Name && first.Name.Space == x.in[0].NS {
				match = append(match, x)
			}
		}
	}
	if len(match) == 0 {
		// The service may bind its operations to one SOAP version only.
		for _, x := range s.svc.ops {
			if x.rpc && first != nil && first.Name.Local == x.wsdlName || !x.rpc && first != nil && len(x.in) > 0 && first.Name.Local == x.in[0].Name && first.Name.Space == x.in[0].NS {
				match = append(match, x)
			}
		}
	}
	for _, x := range match {
		if x.action != "" && x.action == action {
			return x
		}
	}
	if len(match) > 0 {
		return match[0]
	}
	return nil
}

func writeFault(w http.ResponseWriter, version, code, reason string) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="` + envNS(version) + `"><soapenv:Body><soapenv:Fault>`)
	status := http.StatusInternalServerError
	if version == "1.2" {
		switch code {
		case "Client":
			code = "Sender"
		case "Server":
			code = "Receiver"
		}
		if code == "Sender" {
			status = http.StatusBadRequest
		}
		b.WriteString(`<soapenv:Code><soapenv:Value>soapenv:` + code + `</soapenv:Value></soapenv:Code><soapenv:Reason><soapenv:Text xml:lang="en">`)
		xmlEscape(&b, reason)
		b.WriteString(`</soapenv:Text></soapenv:Reason>`)
	} else {
		switch code {
		case "Sender":
			code = "Client"
		case "Receiver":
			code = "Server"
		}
		b.WriteString(`<faultcode>soapenv:` + code + `</faultcode><faultstring>`)
		xmlEscape(&b, reason)
		b.WriteString(`</faultstring>`)
	}
	b.WriteString(`</soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
	w.Header().Set("Content-Type", contentTypeOf(version))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, b.String())
}

// validate checks v against the operation's input or output schema.
func (s *Sandbox) validate(x *op, v any, input bool) error {
	schema, idx := x.output, 1
	if input {
		schema, idx = x.input, 0
	}
	if schema == nil {
		return nil
	}
	s.mu.Lock()
	pair := s.checks[x]
	s.mu.Unlock()
	sch := pair[idx]
	if sch == nil {
		var err error
		if sch, err = compileSchema(schema); err != nil {
			return nil // a schema the validator cannot take: nothing to check against
		}
		s.mu.Lock()
		pair = s.checks[x]
		pair[idx] = sch
		s.checks[x] = pair
		s.mu.Unlock()
	}
	return validateWith(sch, v)
}

func compileSchema(schema map[string]any) (*jsonschema.Schema, error) {
	raw, err := json.Marshal(schema)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("op.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("op.json")
}

func validateWith(sch *jsonschema.Schema, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	if err := sch.Validate(doc); err != nil {
		msg := err.Error()
		if ve, ok := err.(*jsonschema.ValidationError); ok {
			msg = leafError(ve)
		}
		return fmt.Errorf("%s", clip(msg, 400))
	}
	return nil
}

func leafError(e *jsonschema.ValidationError) string {
	for len(e.Causes) > 0 {
		e = e.Causes[0]
	}
	return "/" + strings.Join(e.InstanceLocation, "/") + ": " + e.Error()
}

// encodeParts writes the parts of a body from JSON (the request's or the
// response's; wrapper names the rpc wrapper).
func (x *op) encodeParts(b *strings.Builder, parts []*field, flat bool, value any, wrapper string) error {
	e := &encoder{b: b, encoded: x.encoded}
	m, _ := value.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	if flat {
		f := parts[0]
		return e.value(f.Name, f.NS, "", f.Type, m, "output")
	}
	parent := ""
	if x.rpc {
		e.open(wrapper, x.wrapNS, "", encStyle(x.encoded))
		b.WriteByte('>')
		parent = x.wrapNS
	}
	for _, f := range parts {
		v, ok := m[f.JSON]
		if !ok {
			continue
		}
		if err := e.element(f, v, parent, f.JSON); err != nil {
			return err
		}
	}
	if x.rpc {
		b.WriteString("</" + wrapper + ">")
	}
	return nil
}

// --- generation --------------------------------------------------------

// answer makes the response for a request (s.mu held): the request's and
// a matching remembered record's values where names agree, generated
// values elsewhere; the request and response are remembered together.
func (s *Sandbox) answer(x *op, in any) any {
	req := map[string]any{}
	leaves(in, req, 0)
	mem := map[string]any{}
	for i := len(s.records) - 1; i >= 0; i-- {
		if shares(s.records[i], req) {
			for k, v := range s.records[i] {
				mem[k] = v
			}
			break
		}
	}
	for k, v := range req {
		mem[k] = v
	}
	s.seq++
	g := &generator{mem: mem, seq: s.seq, epoch: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var out any
	if x.hasOut {
		if x.outFlat {
			out = g.object(x.out[0].Type, x.out[0].Name, 0)
		} else {
			m := map[string]any{}
			for _, f := range x.out {
				if v, ok := g.field(f, 0); ok {
					m[f.JSON] = v
				}
			}
			out = m
		}
	}
	rec := map[string]any{}
	for k, v := range mem {
		rec[k] = v
	}
	leaves(out, rec, 0)
	if len(rec) > 0 {
		s.records = append(s.records, rec)
		if len(s.records) > maxSandboxRecords {
			s.records = s.records[1:]
		}
	}
	return out
}

// leaves collects an object's scalar values by their property names.
func leaves(v any, into map[string]any, depth int) {
	if depth > 16 || len(into) > 1000 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch e.(type) {
			case map[string]any, []any:
				leaves(e, into, depth+1)
			case nil:
			default:
				into[k] = e
			}
		}
	case []any:
		if len(x) > 0 {
			leaves(x[0], into, depth+1)
		}
	}
}

// shares reports whether a record and a request agree on a value that
// identifies something: a string or integer (not a flag or a zero).
func shares(rec, req map[string]any) bool {
	for k, v := range req {
		rv, ok := rec[k]
		if !ok || fmt.Sprint(rv) != fmt.Sprint(v) {
			continue
		}
		switch t := v.(type) {
		case string:
			if len(t) >= 2 {
				return true
			}
		case int64:
			if t != 0 {
				return true
			}
		case float64:
			if t != 0 {
				return true
			}
		}
	}
	return false
}

type generator struct {
	mem   map[string]any
	seq   int
	epoch time.Time
	nodes int
}

const maxGenDepth = 8

func (g *generator) field(f *field, depth int) (any, bool) {
	optional := f.Min == 0 || f.Choice
	if optional && depth > 3 {
		return nil, false
	}
	if depth > maxGenDepth || g.nodes > 5000 {
		return nil, false
	}
	var v any
	if f.Type != nil && (f.Type.Simple || (f.Type.Value != nil && len(f.Type.Fields) == 0 && len(f.Type.Attrs) == 0)) {
		t := f.Type
		if !t.Simple {
			t = t.Value
		}
		v = g.simple(t, f.JSON)
	} else {
		v = g.object(f.Type, f.Name, depth+1)
	}
	if f.many() {
		n := 1
		if f.Min > 1 {
			n = f.Min
		}
		if n > 3 {
			n = 3
		}
		list := make([]any, n)
		for i := range list {
			list[i] = v
		}
		return list, true
	}
	return v, true
}

// object generates a value of complex type t.
func (g *generator) object(t *xtype, name string, depth int) any {
	g.nodes++
	switch {
	case t == nil:
		return map[string]any{}
	case t.Simple:
		return g.simple(t, name)
	case t.ArrayOf != nil:
		if depth > maxGenDepth {
			return []any{}
		}
		return []any{g.object(t.ArrayOf, "item", depth+1)}
	}
	if len(t.Fields) == 0 && len(t.Attrs) == 0 {
		if t.Value != nil {
			return g.simple(t.Value, name)
		}
		if t.Open {
			if v, ok := g.mem[name]; ok {
				return v
			}
			return "sample"
		}
	}
	out := map[string]any{}
	chose := false
	for _, f := range t.Fields {
		if f.Choice {
			if chose {
				continue
			}
			chose = true
			f2 := *f
			f2.Min = 1
			f2.Choice = false
			if v, ok := g.field(&f2, depth); ok {
				out[f.JSON] = v
			}
			continue
		}
		if v, ok := g.field(f, depth); ok {
			out[f.JSON] = v
		}
	}
	for _, a := range t.Attrs {
		if a.Min > 0 || depth <= 3 {
			out[a.JSON] = g.simple(a.Type, a.JSON)
		}
	}
	if t.Value != nil {
		out[valueKey] = g.simple(t.Value, name)
	}
	return out
}

// fits reports whether a remembered value satisfies simple type t.
func fits(t *xtype, v any) bool {
	s, err := text(t, v, "")
	if err != nil {
		return false
	}
	if len(t.Enum) > 0 && !contains(t.Enum, s) {
		return false
	}
	typ, _ := kind(t.Base)
	if typ == "string" {
		n := len([]rune(s))
		if n < t.MinLen || (t.MaxLen >= 0 && n > t.MaxLen) {
			return false
		}
		if t.Pattern != "" && !patternOK(t.Pattern, s) {
			return false
		}
	}
	if typ == "integer" || typ == "number" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !inRange(t, f) {
			return false
		}
	}
	switch v.(type) {
	case string:
		return typ == "string"
	case bool:
		return typ == "boolean"
	case int64, float64:
		return typ == "integer" || typ == "number"
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func inRange(t *xtype, f float64) bool {
	lo, hi := implied(t.Base)
	if v, err := strconv.ParseFloat(t.Min, 64); err == nil {
		lo = &v
	}
	if v, err := strconv.ParseFloat(t.Max, 64); err == nil {
		hi = &v
	}
	if lo != nil && (f < *lo || (t.ExclMin && t.Min != "" && f == *lo)) {
		return false
	}
	if hi != nil && (f > *hi || (t.ExclMax && t.Max != "" && f == *hi)) {
		return false
	}
	return true
}

func seedOf(name string, seq int) uint32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return h.Sum32() + uint32(seq)
}

// simple generates (or recalls) a value of simple type t for a property.
func (g *generator) simple(t *xtype, name string) any {
	if v, ok := g.mem[name]; ok && fits(t, v) {
		return v
	}
	typ, format := kind(t.Base)
	seed := seedOf(name, g.seq)
	var v any
	switch {
	case len(t.Enum) > 0:
		x, _ := scalarOf(typ, t.Enum[int(seed)%len(t.Enum)])
		v = x
	case typ == "boolean":
		v = seed%2 == 0
	case typ == "integer" || typ == "number":
		n := float64(1 + seed%1000)
		lo, hi := implied(t.Base)
		if x, err := strconv.ParseFloat(t.Min, 64); err == nil {
			lo = &x
		}
		if x, err := strconv.ParseFloat(t.Max, 64); err == nil {
			hi = &x
		}
		if lo != nil && n <= *lo {
			n = *lo + 1
		}
		if hi != nil && n >= *hi {
			n = *hi - 1
			if lo != nil && n < *lo {
				n = *lo
			}
		}
		if typ == "integer" {
			v = int64(n)
		} else {
			v = n
		}
	case format == "date-time":
		v = g.epoch.Add(time.Duration(g.seq) * time.Minute).Format(time.RFC3339)
	case format == "date":
		v = g.epoch.Format("2006-01-02")
	case format == "time":
		v = "12:00:00"
	case format == "byte":
		v = "c2FtcGxl"
	case t.Base == "hexBinary":
		v = "0A0B"
	case t.Base == "duration":
		v = "PT1H"
	case t.Base == "QName":
		v = "sample"
	case t.Base == "anyURI":
		v = "https://example.com/" + strconv.Itoa(g.seq)
	default:
		s := fmt.Sprintf("%s-%d", name, g.seq)
		if t.Pattern != "" {
			if p, ok := fromPattern(t.Pattern); ok {
				s = p
			}
		}
		for len([]rune(s)) < t.MinLen {
			s += "x"
		}
		if t.MaxLen >= 0 && len([]rune(s)) > t.MaxLen {
			s = string([]rune(s)[:t.MaxLen])
		}
		v = s
	}
	if t.List {
		return []any{v}
	}
	return v
}

// patternOK matches an XML Schema pattern (anchored, as XSD patterns are).
func patternOK(pattern, s string) bool {
	re, err := compilePattern(pattern)
	if err != nil {
		return true // a pattern Go cannot read: not checked
	}
	return re.MatchString(s)
}

// fromPattern makes a string matching a pattern: the shortest choice at
// each step.
func fromPattern(pattern string) (string, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	if !emit(&b, re.Simplify(), 0) || b.Len() > 1000 {
		return "", false
	}
	out := b.String()
	return out, patternOK(pattern, out)
}

func emit(b *strings.Builder, re *syntax.Regexp, depth int) bool {
	if depth > 64 || b.Len() > 1000 {
		return false
	}
	switch re.Op {
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return false
		}
		r := re.Rune[0]
		for i := 0; i+1 < len(re.Rune); i += 2 {
			// Prefer a letter or digit within the class.
			for c := re.Rune[i]; c <= re.Rune[i+1] && c < re.Rune[i]+128; c++ {
				if c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
					r = c
					goto found
				}
			}
		}
	found:
		b.WriteRune(r)
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('x')
	case syntax.OpCapture:
		return emit(b, re.Sub[0], depth+1)
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !emit(b, s, depth+1) {
				return false
			}
		}
	case syntax.OpAlternate:
		return emit(b, re.Sub[0], depth+1)
	case syntax.OpPlus:
		return emit(b, re.Sub[0], depth+1)
	case syntax.OpRepeat:
		for i := 0; i < re.Min; i++ {
			if !emit(b, re.Sub[0], depth+1) {
				return false
			}
		}
	case syntax.OpStar, syntax.OpQuest, syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
	default:
		return false
	}
	return true
}

var patternCache sync.Map

// compilePattern compiles an XML Schema pattern as an anchored Go regexp
// (an error for XSD-only escapes such as \i and \c).
func compilePattern(p string) (*regexp.Regexp, error) {
	if v, ok := patternCache.Load(p); ok {
		return v.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(`^(?:` + p + `)$`)
	if err != nil {
		return nil, err
	}
	patternCache.Store(p, re)
	return re, nil
}
