package soap

import (
	"encoding/xml"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/weftio/weft"
)

type part struct {
	name    string
	element xml.Name // document style: the element
	typ     xml.Name // rpc style: the type
	byElem  bool
}

type message struct {
	name  xml.Name
	parts []part
}

type ptOp struct {
	name          string
	doc           string
	input, output xml.Name // messages ({} : none)
	hasIn, hasOut bool
	faults        []xml.Name
}

type portType struct {
	name xml.Name
	ops  []*ptOp
	top  bool
}

// bodyUse is a binding operation's soap:body for one direction.
type bodyUse struct {
	use       string // literal, encoded
	namespace string // rpc: the wrapper's namespace
	parts     []string
	headers   []headerRef // soap:header parts
	mime      bool
}

// headerRef is one soap:header of a binding operation's input or output.
type headerRef struct {
	message xml.Name
	part    string
}

type bindOp struct {
	name     string
	action   string
	style    string // document, rpc
	in, out  bodyUse
	hasOut   bool
	inputNm  string
	outputNm string
}

type binding struct {
	name      xml.Name
	portType  xml.Name
	version   string // "1.1", "1.2"
	style     string
	transport string
	ops       []*bindOp
	http      bool // an HTTP (not SOAP) binding
	top       bool // declared in the document imported (not one it imports)
}

type port struct {
	top           bool
	service, name string
	binding       xml.Name
	address       string
}

// definitions is a WSDL document set, merged.
type definitions struct {
	name      string
	tns       string
	doc       string
	messages  map[xml.Name]*message
	portTypes map[xml.Name]*portType
	bindings  []*binding
	ports     []*port
	schemas   *schemas
	warnings  []string
	docs      int
	included  map[string]bool

	unresolved []unresolvedImport // schema imports not in the set (warned unless the namespace is defined anyway)

	// The documents of the set that were read, by kind (for Bundle).
	schemaDocs, chameleon, wsdlDocs []string
}

// maxDocuments bounds a document set (imports included).
const maxDocuments = 64

// parseDefinitions reads the main document and, through wsdl:import and
// xsd:import/include, the others it names from files (never the network).
func parseDefinitions(mainName string, main []byte, files map[string][]byte, l Limits) (*definitions, error) {
	d := &definitions{messages: map[xml.Name]*message{}, portTypes: map[xml.Name]*portType{}, schemas: newSchemas(), included: map[string]bool{}}
	seen := map[string]bool{}
	var total int64
	var load func(name string, data []byte, top bool) error
	load = func(name string, data []byte, top bool) error {
		if seen[name] {
			return nil
		}
		seen[name] = true
		d.docs++
		if d.docs > maxDocuments {
			return weft.Errorf(weft.ETooLarge, "the document set imports more than %d documents", maxDocuments)
		}
		total += int64(len(data))
		if total > l.MaxBytes*2 {
			return weft.Errorf(weft.ETooLarge, "the document set is larger than %d bytes", l.MaxBytes*2)
		}
		root, err := parseXML(name, data, l)
		if err != nil {
			return err
		}
		switch {
		case root.Name.Space == nsWSDL && root.Name.Local == "definitions":
			if !top {
				d.wsdlDocs = append(d.wsdlDocs, name)
			}
			if top {
				d.name, d.tns, d.doc = root.get("name"), root.get("targetNamespace"), doc2(root)
			}
			return d.definitions(root, name, files, load, top)
		case isXSD(root.Name.Space) && root.Name.Local == "schema":
			if top {
				return weft.Errorf(weft.EInvalid, "%s is an XML Schema, not a WSDL: import the WSDL that uses it (give the schema beside it)", name)
			}
			d.schemaDocs = append(d.schemaDocs, name)
			d.schema(root, name, files, load)
			return nil
		case root.Name.Space == nsWSDL20 || root.Name.Space == nsWSDL12:
			return weft.Errorf(weft.EUnprocessable, "%s is WSDL 2.0 (namespace %s): only WSDL 1.1 is supported (SOAP 1.1 and 1.2 bindings); ask the service for its WSDL 1.1 description (often ?wsdl rather than ?wsdl2)", name, root.Name.Space)
		}
		if top {
			return weft.Errorf(weft.EInvalid, "%s is not a WSDL: its root element is {%s}%s, not {%s}definitions", name, root.Name.Space, root.Name.Local, nsWSDL)
		}
		d.warn("%s: root element {%s}%s ignored", name, root.Name.Space, root.Name.Local)
		return nil
	}
	if err := load(mainName, main, true); err != nil {
		return nil, err
	}
	for _, u := range d.unresolved {
		if u.kind == "import" && u.ns != "" && d.schemas.namespaces[u.ns] {
			continue // defined by a schema of the document (a bundled one)
		}
		d.warn("xsd:%s of %s is not in the document set: not fetched (its types are taken as any content); give it beside the WSDL", u.kind, u.loc)
	}
	return d, nil
}

func doc2(n *node) string {
	if dn := n.kid(nsWSDL, "documentation"); dn != nil {
		t := strings.Join(strings.Fields(dn.Text), " ")
		if len(t) > 300 {
			t = t[:300] + "…"
		}
		return t
	}
	return ""
}

func (d *definitions) warn(format string, args ...any) {
	if len(d.warnings) < 200 {
		d.warnings = append(d.warnings, fmt.Sprintf(format, args...))
	}
}

// lookup finds an imported document by its location among files: by the
// location as written, relative to the importing document, or its base name.
func lookup(files map[string][]byte, from, loc string) (string, []byte, bool) {
	if loc == "" {
		return "", nil, false
	}
	cands := []string{loc, path.Join(path.Dir(from), loc), path.Base(loc)}
	if i := strings.IndexAny(loc, "?#"); i >= 0 {
		cands = append(cands, path.Base(loc[:i]))
	}
	for _, c := range cands {
		if b, ok := files[c]; ok {
			return c, b, true
		}
	}
	return "", nil, false
}

type loader func(name string, data []byte, top bool) error

func (d *definitions) definitions(root *node, name string, files map[string][]byte, load loader, top bool) error {
	tns := root.get("targetNamespace")
	for _, k := range root.Kids {
		if k.Name.Space != nsWSDL {
			continue
		}
		switch k.Name.Local {
		case "import", "include":
			loc := k.get("location")
			if n, data, ok := lookup(files, name, loc); ok {
				if err := load(n, data, false); err != nil {
					return err
				}
			} else {
				d.warn("wsdl:import of %s (%s) is not in the document set: not fetched; give it beside the WSDL", loc, k.get("namespace"))
			}
		case "types":
			for _, s := range k.Kids {
				if isXSD(s.Name.Space) && s.Name.Local == "schema" {
					d.schema(s, name, files, load)
				}
			}
		case "message":
			m := &message{name: xml.Name{Space: tns, Local: k.get("name")}}
			for _, p := range k.kids(nsWSDL, "part") {
				pt := part{name: p.get("name")}
				if v, ok := p.attr("element"); ok {
					q, err := p.qname(v)
					if err != nil {
						d.warn("message %s part %s: %v", m.name.Local, pt.name, err)
					}
					pt.element, pt.byElem = q, true
				} else if v, ok := p.attr("type"); ok {
					q, err := p.qname(v)
					if err != nil {
						d.warn("message %s part %s: %v", m.name.Local, pt.name, err)
					}
					pt.typ = q
				}
				m.parts = append(m.parts, pt)
			}
			d.messages[m.name] = m
		case "portType", "interface":
			pt := &portType{name: xml.Name{Space: tns, Local: k.get("name")}, top: top}
			for _, o := range k.kids(nsWSDL, "operation") {
				op := &ptOp{name: o.get("name"), doc: doc2(o)}
				if in := o.kid(nsWSDL, "input"); in != nil {
					op.input, _ = in.qname(in.get("message"))
					op.hasIn = true
				}
				if out := o.kid(nsWSDL, "output"); out != nil {
					op.output, _ = out.qname(out.get("message"))
					op.hasOut = true
				}
				for _, f := range o.kids(nsWSDL, "fault") {
					if q, err := f.qname(f.get("message")); err == nil {
						op.faults = append(op.faults, q)
					}
				}
				pt.ops = append(pt.ops, op)
			}
			d.portTypes[pt.name] = pt
		case "binding":
			d.binding(k, tns, top)
		case "service":
			for _, p := range k.kids(nsWSDL, "port") {
				pr := &port{service: k.get("name"), name: p.get("name"), top: top}
				pr.binding, _ = p.qname(p.get("binding"))
				for _, a := range p.Kids {
					if a.Name.Local == "address" {
						pr.address = strings.TrimSpace(a.get("location"))
					}
				}
				d.ports = append(d.ports, pr)
			}
		}
	}
	return nil
}

func (d *definitions) binding(k *node, tns string, top bool) {
	b := &binding{name: xml.Name{Space: tns, Local: k.get("name")}, top: top}
	b.portType, _ = k.qname(k.get("type"))
	for _, x := range k.Kids {
		if x.Name.Local == "binding" {
			switch x.Name.Space {
			case nsSOAP11:
				b.version = "1.1"
			case nsSOAP12:
				b.version = "1.2"
			default:
				b.http = true
			}
			b.style = x.get("style")
			b.transport = strings.TrimSpace(x.get("transport"))
		}
	}
	if b.style == "" {
		b.style = "document"
	}
	sn := nsSOAP11
	if b.version == "1.2" {
		sn = nsSOAP12
	}
	for _, o := range k.kids(nsWSDL, "operation") {
		op := &bindOp{name: o.get("name"), style: b.style}
		if so := o.kid(sn, "operation"); so != nil {
			op.action = so.get("soapAction")
			if s := so.get("style"); s != "" {
				op.style = s
			}
		}
		body := func(dir *node) bodyUse {
			u := bodyUse{use: "literal"}
			if dir == nil {
				return u
			}
			sb := dir.kid(sn, "body")
			if sb == nil {
				// MIME multipart: the soap:body sits inside mime:part.
				walk(dir, func(x *node) {
					if sb == nil && x.Name.Space == sn && x.Name.Local == "body" {
						sb = x
					}
				})
				if sb != nil {
					u.mime = true
				}
			}
			if sb != nil {
				if v := sb.get("use"); v != "" {
					u.use = v
				}
				u.namespace = sb.get("namespace")
				if p, ok := sb.attr("parts"); ok {
					u.parts = strings.Fields(p)
					if u.parts == nil {
						u.parts = []string{}
					}
				}
			}
			for _, h := range dir.kids(sn, "header") {
				q, err := h.qname(h.get("message"))
				if err != nil {
					continue
				}
				u.headers = append(u.headers, headerRef{message: q, part: h.get("part")})
			}
			return u
		}
		in := o.kid(nsWSDL, "input")
		op.in = body(in)
		if in != nil {
			op.inputNm = in.get("name")
		}
		if out := o.kid(nsWSDL, "output"); out != nil {
			op.out, op.hasOut, op.outputNm = body(out), true, out.get("name")
		}
		b.ops = append(b.ops, op)
	}
	d.bindings = append(d.bindings, b)
}

// schema indexes an xsd:schema and loads what it imports or includes
// from the document set.
func (d *definitions) schema(s *node, from string, files map[string][]byte, load loader) {
	d.schemas.add(s)
	for _, k := range s.Kids {
		if !isXSD(k.Name.Space) || (k.Name.Local != "import" && k.Name.Local != "include") {
			continue
		}
		loc := k.get("schemaLocation")
		if loc == "" {
			continue // an import of a namespace defined in this document (or a built-in one)
		}
		if n, data, ok := lookup(files, from, loc); ok {
			if k.Name.Local == "include" {
				if d.included[n] || len(d.included) >= maxDocuments {
					continue
				}
				d.included[n] = true
				// An included schema takes on the includer's namespace
				// when it has none of its own (chameleon include).
				root, err := parseXML(n, data, DefaultLimits)
				if err != nil {
					d.warn("schema %s: %v", n, err)
					continue
				}
				if _, ok := root.attr("targetNamespace"); !ok {
					root.Attr = append(root.Attr, xml.Attr{Name: xml.Name{Local: "targetNamespace"}, Value: s.get("targetNamespace")})
					d.chameleon = append(d.chameleon, n)
				} else {
					d.schemaDocs = append(d.schemaDocs, n)
				}
				if isXSD(root.Name.Space) && root.Name.Local == "schema" {
					d.schema(root, n, files, load)
				}
				continue
			}
			if err := load(n, data, false); err != nil {
				d.warn("schema %s: %v", n, err)
			}
			continue
		}
		d.unresolved = append(d.unresolved, unresolvedImport{kind: k.Name.Local, ns: k.get("namespace"), loc: loc})
	}
}

// sortedPorts orders ports by service and name.
func (d *definitions) sortedPorts() []*port {
	ps := append([]*port(nil), d.ports...)
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].service != ps[j].service {
			return ps[i].service < ps[j].service
		}
		return ps[i].name < ps[j].name
	})
	return ps
}

// httpTransport reports whether a SOAP binding's transport is HTTP (the
// SOAP 1.1 and 1.2 URIs, or none given); SOAP over JMS or another
// transport cannot be called over HTTP.
func httpTransport(t string) bool {
	switch strings.TrimRight(t, "/") {
	case "", "http://schemas.xmlsoap.org/soap/http", "http://www.w3.org/2003/05/soap/bindings/HTTP":
		return true
	}
	return false
}

type unresolvedImport struct{ kind, ns, loc string }
