// Package soap turns a WSDL 1.1 document (SOAP 1.1 or 1.2 bindings,
// document/literal or rpc literal/encoded) into a Weft connector: one
// operation per binding operation, its XML Schema input and output
// mapped to JSON Schema, so the catalog, MCP tools, the console's palette
// and NL-to-flow treat it like an imported OpenAPI operation. A call
// builds the SOAP envelope from JSON (elements in the schema's order,
// namespaces as the schema qualifies them), adds a WS-Security
// UsernameToken when the connection has one, and posts it through the
// built-in http connector (its address guard, rate limits and timeouts);
// the response becomes JSON by the output's types, and a SOAP fault
// becomes a classified Weft error (client faults permanent, server faults
// retryable).
//
// Parsing is bounded (size, depth, element count, documents per set),
// refuses DTDs (so no entity can expand), and never fetches: a schema or
// WSDL the document imports is read only from the document set given.
package soap

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/openapi"
	"github.com/weftio/weft/internal/lazy"
)

// Kind is the stored kind of an imported WSDL (store.ConnectorSpec.Kind).
const Kind = "wsdl"

// Rejection is an operation that could not be imported, and why.
type Rejection struct {
	Operation string `json:"operation"`
	Reason    string `json:"reason"`
}

// Report says what an import did.
type Report struct {
	Title      string        `json:"title"`
	Version    string        `json:"version"`
	SourceKind string        `json:"source_kind"` // wsdl-1.1
	Found      int           `json:"found"`       // operations of SOAP-bound port types
	Imported   int           `json:"imported"`
	Rejected   []Rejection   `json:"rejected,omitempty"`
	Warnings   []string      `json:"warnings,omitempty"`
	BaseURL    string        `json:"base_url,omitempty"`
	Bindings   []string      `json:"bindings,omitempty"` // "Name (SOAP 1.1, document)", the ones imported
	Duration   time.Duration `json:"duration"`
	Documents  int           `json:"documents"`
}

// Options configure an import.
type Options struct {
	// Files are the other documents of the set (imported WSDLs and
	// schemas), by file name or location as the document names them.
	Files  map[string][]byte
	Limits Limits
}

// IsWSDL reports whether data looks like an XML document (a WSDL, or a
// WSDL 2.0 the importer will explain it cannot take) rather than JSON or
// YAML: the OpenAPI importer's documents never start with '<'.
func IsWSDL(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	t = bytes.TrimPrefix(t, []byte("\xef\xbb\xbf"))
	return len(t) > 0 && t[0] == '<'
}

// Register imports wsdl as connector name into cat, calling through cat's
// http.request operation.
func Register(cat *connectors.Catalog, name string, wsdl []byte) (*Report, error) {
	return connectors.RegisterImport(cat, name, func(request *connectors.Operation) (*connectors.Connector, *Report, error) {
		return Import(name, wsdl, request, Options{})
	})
}

// Import builds connector name from a WSDL. request is the http
// connector's request operation the calls go through.
func Import(name string, wsdl []byte, request *connectors.Operation, o Options) (*connectors.Connector, *Report, error) {
	start := time.Now()
	svc, rep, err := compile(name, wsdl, o)
	if err != nil {
		return nil, nil, err
	}
	c := &connectors.Connector{Name: name, Title: rep.Title, Version: rep.Version,
		Description: "Imported from WSDL: " + rep.Title, Config: configSchema, Secrets: []string{"wsse_password"}, Check: checkConnection}
	if svc.doc != "" {
		c.Description = svc.doc
	}
	for _, op := range svc.ops {
		c.Operations = append(c.Operations, op.operation(request))
	}
	rep.Imported = len(c.Operations)
	rep.Duration = time.Since(start)
	return c, rep, nil
}

// service is a compiled WSDL: its operations ready to encode and decode.
type service struct {
	doc  string
	defs *definitions
	ops  []*op
}

// op is one imported operation.
type op struct {
	Name       string // the Weft operation name
	wsdlName   string
	doc        string
	version    string // "1.1", "1.2"
	action     string
	rpc        bool
	encoded    bool
	wrapNS     string // rpc: the wrapper's namespace
	address    string
	in, out    []*field // the body's parts
	inFlat     bool     // one document part: its element's fields are the input
	outFlat    bool
	hasOut     bool
	faults     map[string]*field // fault detail elements by local name
	schemas    *schemas
	headers    []*field // soap:header blocks the input may carry
	outHeaders []*field // and the response's
	input      map[string]any
	output     map[string]any
	hints      connectors.Hints
	bindName   string
}

// MaxNameLen bounds operation names (MCP tool names).
const MaxNameLen = 64

var nameRe = lazy.NewRegexp(`[^A-Za-z0-9-]+`)

func compile(name string, wsdl []byte, o Options) (*service, *Report, error) {
	l := o.Limits
	if l.MaxBytes == 0 {
		l = DefaultLimits
	}
	defs, err := parseDefinitions(name+".wsdl", wsdl, o.Files, l)
	if err != nil {
		return nil, nil, err
	}
	rep := &Report{Title: defs.name, SourceKind: "wsdl-1.1", Documents: defs.docs}
	if rep.Title == "" {
		rep.Title = name
	}
	svc := &service{doc: defs.doc, defs: defs}

	// Bindings in the order to prefer them: those a service port names
	// (SOAP 1.1 first, then 1.2), then bindings no port names. When the
	// document itself declares services or bindings, those of documents
	// it imports are used only where its ports name them (an imported
	// WSDL lends its definitions, not all its services).
	type cand struct {
		b       *binding
		address string
	}
	var cands []cand
	named := map[*binding]bool{}
	byName := map[xml.Name]*binding{}
	topOnly := false
	for _, b := range defs.bindings {
		byName[b.name] = b
		topOnly = topOnly || b.top
	}
	for _, p := range defs.ports {
		topOnly = topOnly || p.top
	}
	for _, p := range defs.sortedPorts() {
		if topOnly && !p.top {
			continue
		}
		b, ok := byName[p.binding]
		if !ok {
			defs.warn("port %s names binding %s, which is not defined", p.name, p.binding.Local)
			continue
		}
		if named[b] {
			continue
		}
		named[b] = true
		cands = append(cands, cand{b, p.address})
	}
	for _, b := range defs.bindings {
		if !named[b] && (b.top || !topOnly) {
			cands = append(cands, cand{b, ""})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].b.version == "1.1" && cands[j].b.version != "1.1" })

	done := map[string]bool{} // portType NUL operation
	type pending struct {
		key string
		r   Rejection
	}
	var otherTransport []pending // rejected unless another binding imports the operation
	found := map[string]bool{}
	used := map[string]bool{}
	for _, c := range cands {
		b := c.b
		if b.version == "" {
			continue // HTTP GET/POST and other non-SOAP bindings
		}
		pt, ok := defs.portTypes[b.portType]
		if !ok {
			rep.Rejected = append(rep.Rejected, Rejection{Operation: b.name.Local, Reason: fmt.Sprintf("binding %s names port type %s, which is not in the document set", b.name.Local, b.portType.Local)})
			continue
		}
		imported := 0
		if !httpTransport(b.transport) {
			for _, bo := range b.ops {
				key := pt.name.Space + "\x00" + pt.name.Local + "\x00" + bo.name + "\x00" + bo.inputNm
				found[key] = true
				otherTransport = append(otherTransport, pending{key, Rejection{Operation: b.name.Local + "." + bo.name, Reason: "the binding's transport is " + clip(b.transport, 100) + ", not HTTP"}})
			}
			continue
		}
		for _, bo := range b.ops {
			key := pt.name.Space + "\x00" + pt.name.Local + "\x00" + bo.name + "\x00" + bo.inputNm
			found[key] = true
			if done[key] {
				continue // the same operation through another binding (SOAP 1.2 beside 1.1)
			}
			po := findOp(pt, bo)
			label := b.name.Local + "." + bo.name
			if po == nil {
				rep.Rejected = append(rep.Rejected, Rejection{Operation: label, Reason: "the port type has no operation " + bo.name})
				continue
			}
			x, err := svc.compileOp(defs, b, bo, po, c.address)
			if err != nil {
				rep.Rejected = append(rep.Rejected, Rejection{Operation: label, Reason: err.Error()})
				done[key] = true
				continue
			}
			x.Name = unique(cleanName(bo.name), label, used)
			done[key] = true
			svc.ops = append(svc.ops, x)
			imported++
			if rep.BaseURL == "" {
				rep.BaseURL = c.address
			}
		}
		if imported > 0 {
			rep.Bindings = append(rep.Bindings, fmt.Sprintf("%s (SOAP %s, %s)", b.name.Local, b.version, b.style))
		}
	}
	for _, p := range otherTransport {
		if !done[p.key] {
			done[p.key] = true
			rep.Rejected = append(rep.Rejected, p.r)
		}
	}
	// Port types no SOAP binding covers (of the document itself, when
	// it has its own bindings).
	boundTypes := map[xml.Name]bool{}
	for _, c := range cands {
		boundTypes[c.b.portType] = true
	}
	for _, pt := range defs.portTypes {
		if topOnly && !boundTypes[pt.name] && !pt.top {
			continue
		}
		for _, po := range pt.ops {
			key := pt.name.Space + "\x00" + pt.name.Local + "\x00" + po.name
			covered := false
			for k := range found {
				if strings.HasPrefix(k, key+"\x00") {
					covered = true
					break
				}
			}
			if !covered {
				found[key+"\x00"] = true
				rep.Rejected = append(rep.Rejected, Rejection{Operation: pt.name.Local + "." + po.name, Reason: "no SOAP binding (an HTTP, XML or other binding, or none)"})
			}
		}
	}
	sort.SliceStable(rep.Rejected, func(i, j int) bool { return rep.Rejected[i].Operation < rep.Rejected[j].Operation })
	rep.Found = len(found)
	rep.Warnings = append(append(rep.Warnings, defs.warnings...), defs.schemas.warnings...)
	if defs.schemas.steps > maxBuildSteps {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the schemas are larger than the import's budget (%d steps): some types are left open", maxBuildSteps))
	}
	if len(svc.ops) == 0 && rep.Found == 0 {
		return nil, nil, fmt.Errorf("the WSDL declares no operations with a SOAP binding")
	}
	return svc, rep, nil
}

func findOp(pt *portType, bo *bindOp) *ptOp {
	var first *ptOp
	for _, po := range pt.ops {
		if po.name != bo.name {
			continue
		}
		if first == nil {
			first = po
		}
		if bo.inputNm == "" {
			return po
		}
	}
	return first
}

func cleanName(n string) string {
	n = strings.Trim(nameRe.ReplaceAllString(n, "_"), "_-")
	if n == "" {
		n = "operation"
	}
	return connectors.ShortName(n, n, MaxNameLen)
}

func unique(n, key string, used map[string]bool) string {
	if !used[n] {
		used[n] = true
		return n
	}
	for i := 0; ; i++ {
		k := key
		if i > 0 {
			k = fmt.Sprintf("%s#%d", key, i)
		}
		c := connectors.ShortName(n+"_"+connectors.NameHash(k), n+"\x00"+k, MaxNameLen)
		if !used[c] {
			used[c] = true
			return c
		}
	}
}

// parts resolves a message's parts (those the soap:body lists, when it
// lists them) to body fields: document style, the part's element; rpc
// style, an unqualified element named after the part.
func (svc *service) parts(defs *definitions, msg xml.Name, u bodyUse, rpc bool) ([]*field, error) {
	m, ok := defs.messages[msg]
	if !ok {
		return nil, fmt.Errorf("message %s is not defined", msg.Local)
	}
	want := map[string]bool{}
	for _, p := range u.parts {
		want[p] = true
	}
	var out []*field
	inHeader := map[string]bool{}
	for _, h := range u.headers {
		if h.message == msg {
			inHeader[h.part] = true
		}
	}
	for _, p := range m.parts {
		if (u.parts != nil && !want[p.name]) || (u.parts == nil && inHeader[p.name]) {
			continue // a header or MIME part
		}
		if p.byElem {
			f, ok := defs.schemas.element(p.element)
			if !ok {
				return nil, fmt.Errorf("part %s: element %s is not defined in the document set", p.name, p.element.Local)
			}
			if rpc {
				f = &field{Name: p.name, JSON: p.name, Type: f.Type, Min: 1, Max: 1, Doc: f.Doc}
			} else {
				f = &field{Name: f.Name, NS: f.NS, JSON: p.name, Type: f.Type, Min: 1, Max: 1, Nillable: f.Nillable, Doc: f.Doc}
			}
			out = append(out, f)
			continue
		}
		if p.typ.Local == "" {
			return nil, fmt.Errorf("part %s has neither element nor type", p.name)
		}
		t := defs.schemas.typeOf(p.typ)
		f := &field{Name: p.name, JSON: p.name, Type: t, Min: 1, Max: 1}
		out = append(out, f)
	}
	return out, nil
}

func (svc *service) compileOp(defs *definitions, b *binding, bo *bindOp, po *ptOp, address string) (*op, error) {
	x := &op{wsdlName: bo.name, doc: po.doc, version: b.version, action: bo.action, rpc: bo.style == "rpc",
		encoded: bo.in.use == "encoded", wrapNS: bo.in.namespace, address: address, hasOut: po.hasOut && bo.hasOut,
		schemas: defs.schemas, faults: map[string]*field{}, bindName: b.name.Local}
	if bo.in.mime {
		return nil, fmt.Errorf("the input is a MIME multipart (SOAP with attachments), which is not supported")
	}
	for _, h := range bo.in.headers {
		f, err := headerField(defs, h)
		if err != nil {
			defs.warn("%s.%s: soap:header %s: %v (not sent)", b.name.Local, bo.name, h.part, err)
			continue
		}
		x.headers = append(x.headers, f)
	}
	for _, h := range bo.out.headers {
		if f, err := headerField(defs, h); err == nil {
			x.outHeaders = append(x.outHeaders, f)
		}
	}
	if x.rpc && x.wrapNS == "" {
		x.wrapNS = defs.tns
	}
	var err error
	if po.hasIn {
		if x.in, err = svc.parts(defs, po.input, bo.in, x.rpc); err != nil {
			return nil, fmt.Errorf("input: %v", err)
		}
	}
	if x.hasOut {
		if x.out, err = svc.parts(defs, po.output, bo.out, x.rpc); err != nil {
			return nil, fmt.Errorf("output: %v", err)
		}
	}
	for _, fm := range po.faults {
		if m, ok := defs.messages[fm]; ok {
			for _, p := range m.parts {
				if p.byElem {
					if f, ok := defs.schemas.element(p.element); ok {
						x.faults[f.Name] = f
					}
				}
			}
		}
	}
	x.inFlat = !x.rpc && len(x.in) == 1 && isObject(x.in[0].Type)
	x.outFlat = !x.rpc && len(x.out) == 1 && isObject(x.out[0].Type)
	x.input = partsSchema(x.in, x.inFlat)
	if len(x.headers) > 0 {
		props := map[string]any{}
		for _, f := range x.headers {
			props[f.JSON] = jsonSchema(f.Type)
		}
		ps, _ := x.input["properties"].(map[string]any)
		if ps == nil {
			ps = map[string]any{}
			x.input["properties"] = ps
		}
		ps[headerKey] = map[string]any{"type": "object", "properties": props, "additionalProperties": false,
			"description": "SOAP header blocks the operation declares (soap:header), by part name"}
	}
	if x.hasOut {
		x.output = partsSchema(x.out, x.outFlat)
	}
	x.hints = openapi.NamedHints("POST", bo.name, po.doc)
	return x, nil
}

// isObject: a complex type with element or attribute fields (flattened
// into the input), as opposed to a simple value or an open one.
func isObject(t *xtype) bool {
	return t != nil && !t.Simple && t.ArrayOf == nil && (len(t.Fields) > 0 || len(t.Attrs) > 0 || (!t.Open && t.Value == nil))
}

func partsSchema(parts []*field, flat bool) map[string]any {
	if flat {
		return jsonSchema(parts[0].Type)
	}
	props := map[string]any{}
	var req []any
	for _, f := range parts {
		s := jsonSchema(f.Type)
		if f.Doc != "" {
			if _, has := s["description"]; !has {
				s["description"] = f.Doc
			}
		}
		props[f.JSON] = s
		if !(f.Type != nil && f.Type.Open && len(f.Type.Fields) == 0) {
			req = append(req, f.JSON)
		}
	}
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(req) > 0 {
		out["required"] = req
	}
	return out
}

// operation is x as a catalog operation.
func (x *op) operation(request *connectors.Operation) *connectors.Operation {
	desc := x.doc
	if desc == "" {
		desc = fmt.Sprintf("SOAP operation %s (%s)", x.wsdlName, x.bindName)
	}
	o := &connectors.Operation{Name: x.Name, Title: x.wsdlName, Description: desc, Input: x.input, Output: x.output, Hints: x.hints,
		Tags: []string{x.bindName}}
	o.Invoke = func(ctx context.Context, call connectors.Call) (any, error) { return x.invoke(ctx, call, request) }
	return o
}

// envelope builds the request envelope for input; sec adds a WS-Security
// header.
func (x *op) envelope(input map[string]any, sec *usernameToken, mtom *[][]byte) ([]byte, error) {
	env := nsEnv11
	if x.version == "1.2" {
		env = nsEnv12
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	b.WriteString(`<soapenv:Envelope xmlns:soapenv="` + env + `" xmlns:xsi="` + nsXSI + `" xmlns:xsd="` + nsXSD + `"`)
	if x.encoded {
		b.WriteString(` xmlns:soapenc="` + nsSoapEnc + `"`)
	}
	b.WriteByte('>')
	hdrs, _ := input[headerKey].(map[string]any)
	if _, has := input[headerKey]; has {
		if len(x.headers) == 0 {
			return nil, fmt.Errorf("input: unknown field %q (the operation declares no soap:header)", headerKey)
		}
		if hdrs == nil {
			return nil, fmt.Errorf("input.%s: want an object", headerKey)
		}
		rest := make(map[string]any, len(input))
		for k, v := range input {
			if k != headerKey {
				rest[k] = v
			}
		}
		input = rest
	}
	if sec != nil || len(hdrs) > 0 {
		b.WriteString("<soapenv:Header>")
		if sec != nil {
			if err := sec.write(&b, x.version); err != nil {
				return nil, err
			}
		}
		e := &encoder{b: &b, encoded: x.encoded}
		known := map[string]bool{}
		for _, f := range x.headers {
			known[f.JSON] = true
			if v, ok := hdrs[f.JSON]; ok {
				if err := e.element(f, v, "", headerKey+"."+f.JSON); err != nil {
					return nil, err
				}
			}
		}
		for k := range hdrs {
			if !known[k] {
				return nil, fmt.Errorf("input.%s: unknown header %q", headerKey, k)
			}
		}
		b.WriteString("</soapenv:Header>")
	}
	b.WriteString("<soapenv:Body>")
	if err := x.body(&b, input, mtom); err != nil {
		return nil, err
	}
	b.WriteString("</soapenv:Body></soapenv:Envelope>")
	return []byte(b.String()), nil
}

func (x *op) body(b *strings.Builder, input map[string]any, mtom *[][]byte) error {
	e := &encoder{b: b, encoded: x.encoded, mtom: mtom}
	if input == nil {
		input = map[string]any{}
	}
	if x.inFlat {
		f := x.in[0]
		return e.value(f.Name, f.NS, "", f.Type, input, "input")
	}
	parent := ""
	if x.rpc {
		e.open(x.wsdlName, x.wrapNS, "", encStyle(x.encoded))
		b.WriteByte('>')
		parent = x.wrapNS
	}
	known := map[string]bool{}
	for _, f := range x.in {
		known[f.JSON] = true
		v, ok := input[f.JSON]
		if !ok {
			if f.Type != nil && (f.Type.Simple || f.Type.Open) {
				continue
			}
			v = map[string]any{}
		}
		if err := e.element(f, v, parent, "input."+f.JSON); err != nil {
			return err
		}
	}
	for k := range input {
		if !known[k] {
			return fmt.Errorf("input: unknown field %q", k)
		}
	}
	if x.rpc {
		b.WriteString("</" + x.wsdlName + ">")
	}
	return nil
}

func encStyle(encoded bool) string {
	if encoded {
		return ` soapenv:encodingStyle="` + nsSoapEnc + `"`
	}
	return ""
}

// contentType and headers of a request.
func (x *op) httpHeaders() (string, map[string]any) {
	if x.version == "1.2" {
		ct := "application/soap+xml; charset=utf-8"
		if x.action != "" {
			ct += `; action="` + x.action + `"`
		}
		return ct, map[string]any{}
	}
	return "text/xml; charset=utf-8", map[string]any{"SOAPAction": `"` + x.action + `"`}
}

func (x *op) invoke(ctx context.Context, call connectors.Call, request *connectors.Operation) (any, error) {
	sec, err := tokenFor(call.Connection)
	if err != nil {
		return nil, &connectors.Error{Class: connectors.Permanent, Message: x.Name + ": " + err.Error()}
	}
	var parts *[][]byte
	if call.Connection != nil && call.Connection.Config["mtom"] == true {
		parts = &[][]byte{}
	}
	envelope, err := x.envelope(call.Input, sec, parts)
	if err != nil {
		return nil, &connectors.Error{Class: connectors.Permanent, Message: x.Name + ": " + err.Error()}
	}
	endpoint := x.address
	if call.Connection != nil && call.Connection.BaseURL != "" {
		endpoint = call.Connection.BaseURL
	} else if call.BaseURL != "" && endpoint == "" {
		endpoint = call.BaseURL
	}
	if endpoint == "" {
		return nil, &connectors.Error{Class: connectors.Permanent, Message: x.Name + ": the WSDL gives no address for this binding: set the connection's base_url to the service endpoint"}
	}
	if sec != nil && (call.Connection.BaseURL == "" || endpoint != call.Connection.BaseURL) {
		return nil, &connectors.Error{Class: connectors.Permanent, Message: x.Name + ": connection " + call.Connection.Name +
			" has WS-Security credentials but no base_url: set base_url to the one endpoint they may be sent to"}
	}
	ct, headers := x.httpHeaders()
	in := map[string]any{"method": "POST", "url": endpoint, "headers": headers,
		"raw": map[string]any{"content": string(envelope), "content_type": ct}}
	if parts != nil && len(*parts) > 0 {
		mct, pkg := packMTOM(envelope, *parts, ct)
		in["raw"] = map[string]any{"content_base64": base64.StdEncoding.EncodeToString(pkg), "content_type": mct}
	}
	res, err := request.Invoke(ctx, connectors.Call{Input: in, IdempotencyKey: call.IdempotencyKey, Connection: call.Connection, BaseURL: endpoint, Transport: call.Transport})
	if err != nil {
		var ce *connectors.Error
		if errors.As(err, &ce) {
			if body, ok := ce.Body.(string); ok {
				if f := x.fault([]byte(body)); f != nil {
					f.Body.(map[string]any)["http_status"] = ce.Status
					return nil, f
				}
			}
		}
		return nil, err
	}
	m, _ := res.(map[string]any)
	text, _ := m["body"].(string)
	var attachments map[string][]byte
	if m["body_encoding"] == "base64" {
		// MTOM: the envelope and its attachments in a multipart/related package.
		hdrs, _ := m["headers"].(map[string]any)
		ctype, _ := hdrs["content-type"].(string)
		raw, err := base64.StdEncoding.DecodeString(text)
		if err == nil {
			var root []byte
			if root, attachments, err = unpackMTOM(ctype, raw); err == nil {
				text = string(root)
			}
		}
		if err != nil {
			return nil, &connectors.Error{Class: connectors.Permanent, Message: x.Name + ": " + err.Error()}
		}
	}
	if f := x.fault([]byte(text)); f != nil {
		return nil, f
	}
	if !x.hasOut || strings.TrimSpace(text) == "" {
		// One-way (or an empty 202): nothing to decode.
		return map[string]any{"status": m["status"], "headers": m["headers"], "body": nil}, nil
	}
	out, hdrs, err := x.decodeResponse([]byte(text), attachments)
	if err != nil {
		return nil, &connectors.Error{Class: connectors.Permanent, Message: x.Name + ": " + err.Error()}
	}
	result := map[string]any{"status": m["status"], "headers": m["headers"], "body": out}
	if len(hdrs) > 0 {
		result[headerKey] = hdrs
	}
	return result, nil
}

// bodyOf parses an envelope and returns its Body element.
func bodyOf(data []byte) (*node, error) {
	root, err := parseXML("the SOAP message", data, messageLimits)
	if err != nil {
		return nil, err
	}
	if root.Name.Local != "Envelope" || (root.Name.Space != nsEnv11 && root.Name.Space != nsEnv12) {
		return nil, fmt.Errorf("the message is not a SOAP envelope (root {%s}%s)", root.Name.Space, root.Name.Local)
	}
	b := root.kid(root.Name.Space, "Body")
	if b == nil {
		return nil, fmt.Errorf("the SOAP envelope has no Body")
	}
	return b, nil
}

func ids(b *node) map[string]*node {
	var m map[string]*node
	walk(b, func(n *node) {
		if id, ok := n.attr("id"); ok && id != "" {
			if m == nil {
				m = map[string]*node{}
			}
			if len(m) < 100000 {
				m[id] = n
			}
		}
	})
	return m
}

// decodeResponse turns a response envelope into the output JSON.
// Its header blocks (soap:header of the output, typed where the binding
// declares them, others loosely) come back by element name.
func (x *op) decodeResponse(data []byte, attachments map[string][]byte) (any, map[string]any, error) {
	body, err := bodyOf(data)
	if err != nil {
		return nil, nil, err
	}
	if attachments != nil {
		if err := inlineXOP(body, attachments); err != nil {
			return nil, nil, err
		}
	}
	var hdrs map[string]any
	if env := body.parent; env != nil {
		if h := env.kid(env.Name.Space, "Header"); h != nil && len(h.Kids) > 0 {
			d := &decoder{s: x.schemas}
			hdrs = map[string]any{}
			for _, k := range h.Kids {
				var f *field
				for _, g := range x.outHeaders {
					if g.Name == k.Name.Local && g.NS == k.Name.Space {
						f = g
					}
				}
				if f != nil {
					addValue(hdrs, k.Name.Local, d.value(k, f.Type), false)
				} else {
					addValue(hdrs, k.Name.Local, d.loose(k), false)
				}
			}
		}
	}
	out, err := x.decodeParts(body, x.out, x.outFlat, true)
	return out, hdrs, err
}

// decodeParts reads the parts of a body (a request's or a response's).
func (x *op) decodeParts(body *node, parts []*field, flat, response bool) (any, error) {
	d := &decoder{s: x.schemas, ids: ids(body)}
	kids := body.Kids
	if x.rpc {
		// The wrapper; in rpc/encoded, multi-ref elements follow it.
		var wrap *node
		for _, k := range kids {
			if _, isRef := k.attr("id"); !isRef || wrap == nil {
				if wrap == nil {
					wrap = k
				}
			}
		}
		if wrap == nil {
			if len(parts) == 0 {
				return map[string]any{}, nil
			}
			return nil, fmt.Errorf("the SOAP body is empty")
		}
		kids = wrap.Kids
	}
	if flat {
		if len(kids) == 0 {
			return nil, fmt.Errorf("the SOAP body is empty")
		}
		v := d.value(kids[0], parts[0].Type)
		if _, ok := v.(map[string]any); !ok && v != nil {
			return map[string]any{parts[0].JSON: v}, nil
		}
		if v == nil {
			return map[string]any{}, nil
		}
		return v, nil
	}
	out := map[string]any{}
	byName := map[string]*field{}
	for _, f := range parts {
		byName[f.Name] = f
	}
	for i, k := range kids {
		f, ok := byName[k.Name.Local]
		if !ok && x.rpc && len(parts) == 1 && i == 0 {
			f, ok = parts[0], true // rpc/encoded servers name the return part freely
		}
		if !ok {
			if _, isRef := k.attr("id"); isRef && x.rpc {
				continue
			}
			addValue(out, k.Name.Local, d.loose(d.deref(k)), false)
			continue
		}
		addValue(out, f.JSON, d.value(k, f.Type), f.many())
	}
	return out, nil
}

// fault returns the Weft error a SOAP fault in data stands for (nil: data
// holds no fault).
func (x *op) fault(data []byte) *connectors.Error {
	if !bytes.Contains(data, []byte("Fault")) {
		return nil
	}
	body, err := bodyOf(data)
	if err != nil {
		return nil
	}
	var fn *node
	for _, k := range body.Kids {
		if k.Name.Local == "Fault" && (k.Name.Space == nsEnv11 || k.Name.Space == nsEnv12) {
			fn = k
		}
	}
	if fn == nil {
		return nil
	}
	f := parseFault(fn)
	var typed map[string]*field
	var sch *schemas
	if x != nil {
		typed, sch = x.faults, x.schemas
	}
	if f.detail != nil && len(f.detail.Kids) > 0 {
		d := &decoder{s: sch}
		det := map[string]any{}
		for _, k := range f.detail.Kids {
			if tf, ok := typed[k.Name.Local]; ok {
				addValue(det, k.Name.Local, d.value(k, tf.Type), false)
			} else {
				addValue(det, k.Name.Local, d.loose(k), false)
			}
		}
		f.body["detail"] = det
	} else if f.detail != nil && strings.TrimSpace(f.detail.Text) != "" {
		f.body["detail"] = strings.TrimSpace(f.detail.Text)
	}
	name := "soap"
	if x != nil {
		name = x.Name
	}
	msg := fmt.Sprintf("%s: SOAP fault %s: %s", name, f.code, clip(f.reason, 500))
	return &connectors.Error{Class: f.class, Message: msg, Body: f.body}
}

type faultInfo struct {
	code, subcode, reason string
	class                 string
	detail                *node
	body                  map[string]any
}

// parseFault reads a SOAP 1.1 or 1.2 Fault element.
func parseFault(fn *node) faultInfo {
	var f faultInfo
	localCode := func(n *node, v string) string {
		v = strings.TrimSpace(v)
		if q, err := n.qname(v); err == nil {
			return q.Local
		}
		if i := strings.LastIndexByte(v, ':'); i >= 0 {
			return v[i+1:]
		}
		return v
	}
	body := map[string]any{}
	if fn.Name.Space == nsEnv12 {
		body["soap_version"] = "1.2"
		if c := fn.kid(nsEnv12, "Code"); c != nil {
			if v := c.kid(nsEnv12, "Value"); v != nil {
				f.code = localCode(v, v.Text)
			}
			if sc := c.kid(nsEnv12, "Subcode"); sc != nil {
				if v := sc.kid(nsEnv12, "Value"); v != nil {
					f.subcode = localCode(v, v.Text)
				}
			}
		}
		if r := fn.kid(nsEnv12, "Reason"); r != nil {
			for _, t := range r.kids(nsEnv12, "Text") {
				f.reason = strings.TrimSpace(t.Text)
				if lang, _ := t.attrNS("http://www.w3.org/XML/1998/namespace", "lang"); strings.HasPrefix(lang, "en") {
					break
				}
			}
		}
		if n := fn.kid(nsEnv12, "Role"); n != nil {
			body["role"] = strings.TrimSpace(n.Text)
		}
		f.detail = fn.kid(nsEnv12, "Detail")
	} else {
		body["soap_version"] = "1.1"
		for _, k := range fn.Kids {
			switch k.Name.Local {
			case "faultcode":
				f.code = localCode(k, k.Text)
			case "faultstring":
				f.reason = strings.TrimSpace(k.Text)
			case "faultactor":
				body["actor"] = strings.TrimSpace(k.Text)
			case "detail":
				f.detail = k
			}
		}
	}
	f.class = faultClass(f.code)
	body["code"] = f.code
	if f.subcode != "" {
		body["subcode"] = f.subcode
	}
	body["reason"] = f.reason
	f.body = body
	if f.code == "" {
		f.code = "(no code)"
	}
	return f
}

// faultClass: the sender's fault (SOAP 1.1 Client, 1.2 Sender), a version
// or mustUnderstand mismatch, or an encoding the receiver does not know
// fails the same way however often it is sent: permanent. The receiver's
// (Server, Receiver) may pass later: retryable. A code outside the
// standard ones is taken as permanent: a SOAP call is often not
// idempotent, and only the standard codes say retrying is safe.
func faultClass(code string) string {
	c := code
	if i := strings.IndexByte(c, '.'); i >= 0 {
		c = c[:i] // Client.Authentication, Server.Busy
	}
	switch c {
	case "Server", "Receiver":
		return connectors.Retryable
	}
	return connectors.Permanent
}

// headerKey is the input property holding soap:header blocks.
const headerKey = "soap_header"

// headerField resolves a soap:header part to the element it sends.
func headerField(defs *definitions, h headerRef) (*field, error) {
	m, ok := defs.messages[h.message]
	if !ok {
		return nil, fmt.Errorf("message %s is not defined", h.message.Local)
	}
	for _, p := range m.parts {
		if p.name != h.part {
			continue
		}
		if !p.byElem {
			return nil, fmt.Errorf("part %s has no element", p.name)
		}
		f, ok := defs.schemas.element(p.element)
		if !ok {
			return nil, fmt.Errorf("element %s is not defined in the document set", p.element.Local)
		}
		return &field{Name: f.Name, NS: f.NS, JSON: p.name, Type: f.Type, Min: 0, Max: 1, Doc: f.Doc}, nil
	}
	return nil, fmt.Errorf("message %s has no part %s", h.message.Local, h.part)
}

// configSchema is the connection config an imported SOAP connector reads
// (the password is a secret: secrets.wsse_password).
var configSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"wsse_username":      map[string]any{"type": "string", "description": "WS-Security UsernameToken user name (the password is secrets.wsse_password)"},
		"wsse_password_type": map[string]any{"type": "string", "enum": []any{"PasswordText", "PasswordDigest"}, "default": "PasswordText"},
		"mtom":               map[string]any{"type": "boolean", "default": false, "description": "send base64Binary values as MTOM attachments (XOP, multipart/related)"},
	},
}

func checkConnection(c *connectors.Connection) error {
	_, err := tokenFor(c)
	if err != nil {
		return err
	}
	if v, ok := c.Config["mtom"]; ok {
		if _, isBool := v.(bool); !isBool {
			return fmt.Errorf("config.mtom must be true or false")
		}
	}
	if u, _ := c.Config["wsse_username"].(string); u != "" {
		if c.BaseURL == "" {
			return fmt.Errorf("a connection with WS-Security credentials needs base_url: the one endpoint they may be sent to")
		}
		if pu, err := url.Parse(c.BaseURL); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return fmt.Errorf("base_url %q is not an http(s) URL", c.BaseURL)
		}
	}
	return nil
}
