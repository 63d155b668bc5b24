package soap

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// Namespaces the importer understands.
const (
	nsXSD     = "http://www.w3.org/2001/XMLSchema"
	nsXSI     = "http://www.w3.org/2001/XMLSchema-instance"
	nsSoapEnc = "http://schemas.xmlsoap.org/soap/encoding/"
	nsWSDL    = "http://schemas.xmlsoap.org/wsdl/"
	nsSOAP11  = "http://schemas.xmlsoap.org/wsdl/soap/"
	nsSOAP12  = "http://schemas.xmlsoap.org/wsdl/soap12/"
	nsWSDL20  = "http://www.w3.org/ns/wsdl"
	nsWSDL12  = "http://www.w3.org/2003/06/wsdl" // the WSDL 1.2 working draft
	nsEnv11   = "http://schemas.xmlsoap.org/soap/envelope/"
	nsEnv12   = "http://www.w3.org/2003/05/soap-envelope"
	nsXSD2000 = "http://www.w3.org/2000/10/XMLSchema" // old drafts some rpc/encoded WSDLs still use
	nsXSD1999 = "http://www.w3.org/1999/XMLSchema"
)

func isXSD(ns string) bool { return ns == nsXSD || ns == nsXSD2000 || ns == nsXSD1999 }

// xtype is an XML Schema type reduced to what JSON needs: a simple value
// with facets, or ordered element fields, attributes and a text value.
type xtype struct {
	Name    xml.Name // empty: anonymous
	Simple  bool
	Base    string // simple: the built-in XSD type it derives from ("string", "int", ...)
	Enum    []string
	Pattern string
	MinLen  int
	MaxLen  int // -1: none
	Min     string
	Max     string
	ExclMin bool
	ExclMax bool
	List    bool // an xsd:list of Base values (space-separated)

	Fields  []*field
	Attrs   []*field
	Value   *xtype // simpleContent: the type of the text
	Open    bool   // xsd:any or anyType inside: unknown content allowed
	ArrayOf *xtype // soapenc:Array of this item type
	Doc     string
	built   bool

	index   map[string]*field // see lookup
	indexed int
}

// field is an element or attribute of a complex type.
type field struct {
	Name     string // the XML local name
	NS       string // the element's namespace ("": unqualified)
	JSON     string // the property name in JSON
	Type     *xtype
	Min, Max int // occurrences; Max -1: unbounded
	Choice   bool
	Nillable bool
	Attr     bool
	Doc      string
}

func (f *field) many() bool { return f.Max != 1 && f.Max != 0 }

// schemaDoc is one xsd:schema element.
type schemaDoc struct {
	n                     *node
	tns                   string
	qualified, attrQualif bool
}

type decl struct {
	n *node
	s *schemaDoc
}

// schemas is every schema of a document set.
type schemas struct {
	elements, types, groups, attrGroups, attributes map[xml.Name]decl

	named    map[xml.Name]*xtype // built named types
	elemType map[xml.Name]*xtype // global elements' types
	warnings []string
	warned   map[string]bool
	steps    int // model-building budget

	activeGroups map[xml.Name]bool // groups being expanded (a group may not contain itself)
	namespaces   map[string]bool   // target namespaces of the schemas read
}

const maxBuildSteps = 2000000

func newSchemas() *schemas {
	return &schemas{elements: map[xml.Name]decl{}, types: map[xml.Name]decl{}, groups: map[xml.Name]decl{},
		attrGroups: map[xml.Name]decl{}, attributes: map[xml.Name]decl{}, named: map[xml.Name]*xtype{},
		elemType: map[xml.Name]*xtype{}, warned: map[string]bool{}, activeGroups: map[xml.Name]bool{}, namespaces: map[string]bool{}}
}

func (s *schemas) warn(format string, args ...any) {
	w := fmt.Sprintf(format, args...)
	if !s.warned[w] && len(s.warnings) < 200 {
		s.warned[w] = true
		s.warnings = append(s.warnings, w)
	}
}

// add indexes the global declarations of one xsd:schema element.
func (s *schemas) add(n *node) {
	sd := &schemaDoc{n: n, tns: n.get("targetNamespace"), qualified: n.get("elementFormDefault") == "qualified",
		attrQualif: n.get("attributeFormDefault") == "qualified"}
	s.namespaces[sd.tns] = true
	for _, k := range n.Kids {
		if !isXSD(k.Name.Space) {
			continue
		}
		name := xml.Name{Space: sd.tns, Local: k.get("name")}
		var m map[xml.Name]decl
		switch k.Name.Local {
		case "element":
			m = s.elements
		case "complexType", "simpleType":
			m = s.types
		case "group":
			m = s.groups
		case "attributeGroup":
			m = s.attrGroups
		case "attribute":
			m = s.attributes
		case "redefine", "override":
			s.warn("xsd:%s is not supported; the redefined types keep their original definitions", k.Name.Local)
			continue
		default:
			continue
		}
		if name.Local == "" {
			continue
		}
		if _, dup := m[name]; !dup {
			m[name] = decl{n: k, s: sd}
		}
	}
}

func (s *schemas) step() bool {
	s.steps++
	return s.steps <= maxBuildSteps
}

func builtin(local string) *xtype {
	switch local {
	case "anyType":
		return &xtype{Open: true, built: true, Name: xml.Name{Space: nsXSD, Local: local}}
	case "Array": // soapenc:Array with no arrayType: a list of anything
		return &xtype{ArrayOf: &xtype{Open: true, built: true}, built: true}
	}
	return &xtype{Simple: true, Base: local, built: true, MaxLen: -1, Name: xml.Name{Space: nsXSD, Local: local}}
}

// typeOf returns the named type, building it on first use. A type that
// refers to itself gets the same (still filling) *xtype: cycles are
// pointers, never expanded here.
func (s *schemas) typeOf(name xml.Name) *xtype {
	if isXSD(name.Space) || name.Space == nsSoapEnc {
		if name.Space == nsSoapEnc {
			if _, ok := s.types[name]; !ok {
				return builtin(name.Local)
			}
		} else {
			return builtin(name.Local)
		}
	}
	if t, ok := s.named[name]; ok {
		return t
	}
	d, ok := s.types[name]
	if !ok {
		s.warn("type {%s}%s is not defined in the document set (treated as any content)", name.Space, name.Local)
		t := &xtype{Open: true, built: true, Name: name}
		s.named[name] = t
		return t
	}
	t := &xtype{Name: name, MaxLen: -1}
	s.named[name] = t
	s.build(d.n, d.s, t)
	return t
}

// elementType returns a global element's field (its type built).
func (s *schemas) element(name xml.Name) (*field, bool) {
	d, ok := s.elements[name]
	if !ok {
		return nil, false
	}
	f := &field{Name: name.Local, NS: name.Space, Min: 1, Max: 1, Nillable: d.n.get("nillable") == "true", Doc: doc(d.n)}
	if t, ok := s.elemType[name]; ok {
		f.Type = t
		return f, true
	}
	if _, typed := d.n.attr("type"); !typed {
		for _, k := range d.n.Kids {
			if isXSD(k.Name.Space) && (k.Name.Local == "complexType" || k.Name.Local == "simpleType") {
				// Registered before it is built: an element whose type
				// contains the element itself refers back to this one.
				t := &xtype{MaxLen: -1, Name: xml.Name{Space: name.Space, Local: name.Local + " (element)"}}
				s.elemType[name] = t
				s.build(k, d.s, t)
				f.Type = t
				return f, true
			}
		}
	}
	t := s.declType(d.n, d.s)
	s.elemType[name] = t
	f.Type = t
	return f, true
}

// declType is the type of an element or attribute declaration: its type=
// attribute, an inline type, or anyType.
func (s *schemas) declType(n *node, sd *schemaDoc) *xtype {
	if v, ok := n.attr("type"); ok {
		q, err := n.qname(v)
		if err != nil {
			s.warn("%s: %v", n.get("name"), err)
			return builtin("anyType")
		}
		return s.typeOf(q)
	}
	for _, k := range n.Kids {
		if isXSD(k.Name.Space) && (k.Name.Local == "complexType" || k.Name.Local == "simpleType") {
			t := &xtype{MaxLen: -1}
			s.build(k, sd, t)
			return t
		}
	}
	if n.Name.Local == "attribute" {
		return builtin("string")
	}
	return builtin("anyType")
}

func doc(n *node) string {
	for _, a := range n.kids("", "annotation") {
		for _, d := range a.kids("", "documentation") {
			if t := strings.Join(strings.Fields(d.Text), " "); t != "" {
				if len(t) > 300 {
					t = t[:300] + "…"
				}
				return t
			}
		}
	}
	return ""
}

// build fills t from a complexType or simpleType node.
func (s *schemas) build(n *node, sd *schemaDoc, t *xtype) {
	if t.built || !s.step() {
		t.built = true
		return
	}
	t.built = true
	t.Doc = doc(n)
	if n.Name.Local == "simpleType" {
		t.Simple = true
		s.simple(n, sd, t)
		return
	}
	if n.get("mixed") == "true" {
		t.Open = true
	}
	s.content(n, sd, t)
	names(t)
}

// content reads a complex type's content model (or an extension's).
func (s *schemas) content(n *node, sd *schemaDoc, t *xtype) {
	for _, k := range n.Kids {
		if !isXSD(k.Name.Space) || !s.step() {
			continue
		}
		switch k.Name.Local {
		case "sequence", "all", "choice", "group":
			s.particle(k, sd, t, 1, 1, false)
		case "attribute":
			s.attribute(k, sd, t)
		case "attributeGroup":
			s.attrGroup(k, sd, t, 0)
		case "anyAttribute":
		case "complexContent":
			if k.get("mixed") == "true" {
				t.Open = true
			}
			for _, d := range k.Kids {
				if !isXSD(d.Name.Space) {
					continue
				}
				base, err := d.qname(d.get("base"))
				if err != nil {
					s.warn("complexContent: %v", err)
					continue
				}
				if base.Space == nsSoapEnc && base.Local == "Array" {
					t.ArrayOf = s.arrayItem(d, sd)
					continue
				}
				if d.Name.Local == "extension" {
					bt := s.typeOf(base)
					t.Fields = append(t.Fields, bt.Fields...)
					t.Attrs = append(t.Attrs, bt.Attrs...)
					t.Open = t.Open || bt.Open
					if bt.Value != nil {
						t.Value = bt.Value
					}
				}
				s.content(d, sd, t) // restriction restates the content; extension adds to it
			}
		case "simpleContent":
			for _, d := range k.Kids {
				if !isXSD(d.Name.Space) {
					continue
				}
				base, err := d.qname(d.get("base"))
				if err != nil {
					s.warn("simpleContent: %v", err)
					continue
				}
				bt := s.typeOf(base)
				if bt.Simple {
					v := &xtype{Simple: true, Base: bt.Base, Enum: bt.Enum, Pattern: bt.Pattern, MinLen: bt.MinLen, MaxLen: bt.MaxLen, Min: bt.Min, Max: bt.Max, List: bt.List, built: true}
					if d.Name.Local == "restriction" {
						facets(d, v)
					}
					t.Value = v
				} else {
					t.Value = bt.Value
					t.Attrs = append(t.Attrs, bt.Attrs...)
				}
				if t.Value == nil {
					t.Value = builtin("string")
				}
				s.content(d, sd, t)
			}
		}
	}
}

// arrayItem reads a soapenc:Array restriction's item type from its
// wsdl:arrayType attribute (or its element declaration).
func (s *schemas) arrayItem(d *node, sd *schemaDoc) *xtype {
	var found *xtype
	walk(d, func(x *node) {
		if found != nil {
			return
		}
		if v, ok := x.attrNS(nsWSDL, "arrayType"); ok {
			v = strings.TrimSpace(v)
			if i := strings.IndexByte(v, '['); i > 0 {
				v = v[:i]
			}
			if q, err := x.qname(v); err == nil {
				found = s.typeOf(q)
			}
		}
	})
	if found == nil {
		for _, k := range d.Kids {
			if k.Name.Local == "sequence" || k.Name.Local == "all" {
				for _, e := range k.kids("", "element") {
					found = s.declType(e, sd)
				}
			}
		}
	}
	if found == nil {
		found = builtin("anyType")
	}
	return found
}

func walk(n *node, f func(*node)) {
	f(n)
	for _, k := range n.Kids {
		walk(k, f)
	}
}

func occurs(n *node) (int, int) {
	min, max := 1, 1
	if v, ok := n.attr("minOccurs"); ok {
		if x, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && x >= 0 {
			min = x
		}
	}
	if v, ok := n.attr("maxOccurs"); ok {
		v = strings.TrimSpace(v)
		if v == "unbounded" {
			max = -1
		} else if x, err := strconv.Atoi(v); err == nil && x >= 0 {
			max = x
		}
	}
	return min, max
}

func mulMax(a, b int) int {
	if a == -1 || b == -1 {
		return -1
	}
	if a*b > 1<<20 {
		return -1
	}
	return a * b
}

// particle adds a sequence, choice, all, group or element to t's fields,
// with the occurrence of the groups around it.
func (s *schemas) particle(n *node, sd *schemaDoc, t *xtype, pmin, pmax int, choice bool) {
	if !s.step() {
		return
	}
	min, max := occurs(n)
	min, max = min*pmin, mulMax(max, pmax)
	switch n.Name.Local {
	case "sequence", "all", "choice":
		if n.Name.Local == "choice" {
			choice = true
		}
		for _, k := range n.Kids {
			if isXSD(k.Name.Space) {
				s.particle(k, sd, t, min, max, choice)
			}
		}
	case "group":
		ref, err := n.qname(n.get("ref"))
		if err != nil {
			s.warn("group: %v", err)
			return
		}
		g, ok := s.groups[ref]
		if !ok {
			s.warn("group %s is not defined", ref.Local)
			return
		}
		if s.activeGroups[ref] {
			s.warn("group %s contains itself; the inner reference is left out", ref.Local)
			return
		}
		s.activeGroups[ref] = true
		defer delete(s.activeGroups, ref)
		for _, k := range g.n.Kids {
			if isXSD(k.Name.Space) && (k.Name.Local == "sequence" || k.Name.Local == "choice" || k.Name.Local == "all") {
				s.particle(k, g.s, t, min, max, choice)
			}
		}
	case "any":
		t.Open = true
	case "element":
		f := &field{Min: min, Max: max, Choice: choice, Nillable: n.get("nillable") == "true", Doc: doc(n)}
		if choice {
			f.Min = 0
		}
		if ref, ok := n.attr("ref"); ok {
			q, err := n.qname(ref)
			if err != nil {
				s.warn("element ref: %v", err)
				return
			}
			g, ok := s.element(q)
			if !ok {
				s.warn("element %s is not defined in the document set", q.Local)
				f.Name, f.NS, f.Type = q.Local, q.Space, builtin("anyType")
			} else {
				f.Name, f.NS, f.Type = g.Name, g.NS, g.Type
				f.Nillable = f.Nillable || g.Nillable
				if f.Doc == "" {
					f.Doc = g.Doc
				}
			}
		} else {
			f.Name = n.get("name")
			if f.Name == "" {
				return
			}
			form := n.get("form")
			if form == "qualified" || (form == "" && sd.qualified) {
				f.NS = sd.tns
			}
			f.Type = s.declType(n, sd)
		}
		addField(t, f)
	}
}

// addField appends f, or, when an element of that name is already there
// (a name repeated in a sequence, or in two branches of a choice), lets
// the first one repeat.
func addField(t *xtype, f *field) {
	idx := t.lookup()
	if g, ok := idx[f.NS+"\x00"+f.Name]; ok {
		if !(g.Choice && f.Choice) {
			g.Max = -1
		}
		return
	}
	if len(t.Fields) < maxFields {
		t.Fields = append(t.Fields, f)
		idx[f.NS+"\x00"+f.Name] = f
		t.indexed++
	}
}

// maxFields bounds the elements and the attributes of one type.
const maxFields = 10000

// lookup is t's index of fields (NS NUL name) and attributes (@name),
// rebuilt when fields were added without it (an extension's base).
func (t *xtype) lookup() map[string]*field {
	if t.index == nil || t.indexed != len(t.Fields)+len(t.Attrs) {
		t.index = make(map[string]*field, len(t.Fields)+len(t.Attrs))
		for _, g := range t.Fields {
			if _, dup := t.index[g.NS+"\x00"+g.Name]; !dup {
				t.index[g.NS+"\x00"+g.Name] = g
			}
		}
		for _, a := range t.Attrs {
			t.index["@"+a.Name] = a
		}
		t.indexed = len(t.Fields) + len(t.Attrs)
	}
	return t.index
}

func (s *schemas) attribute(n *node, sd *schemaDoc, t *xtype) {
	if n.get("use") == "prohibited" {
		return
	}
	f := &field{Attr: true, Min: 0, Max: 1, Doc: doc(n)}
	if n.get("use") == "required" {
		f.Min = 1
	}
	if ref, ok := n.attr("ref"); ok {
		q, err := n.qname(ref)
		if err != nil {
			return
		}
		if q.Space == nsSoapEnc && q.Local == "arrayType" {
			return // handled by arrayItem
		}
		f.Name, f.NS = q.Local, q.Space
		if d, ok := s.attributes[q]; ok {
			f.Type = s.declType(d.n, d.s)
		} else {
			f.Type = builtin("string")
		}
	} else {
		f.Name = n.get("name")
		if n.get("form") == "qualified" || (n.get("form") == "" && sd.attrQualif) {
			f.NS = sd.tns
		}
		f.Type = s.declType(n, sd)
	}
	if f.Name == "" || !f.Type.Simple {
		if f.Name != "" && f.Type.Value != nil {
			f.Type = f.Type.Value
		} else if f.Name != "" {
			f.Type = builtin("string")
		} else {
			return
		}
	}
	idx := t.lookup()
	if _, dup := idx["@"+f.Name]; dup || len(t.Attrs) >= maxFields {
		return
	}
	t.Attrs = append(t.Attrs, f)
	idx["@"+f.Name] = f
	t.indexed++
}

func (s *schemas) attrGroup(n *node, sd *schemaDoc, t *xtype, depth int) {
	if depth > 16 {
		return
	}
	ref, err := n.qname(n.get("ref"))
	if err != nil {
		return
	}
	g, ok := s.attrGroups[ref]
	if !ok {
		s.warn("attributeGroup %s is not defined", ref.Local)
		return
	}
	for _, k := range g.n.Kids {
		switch k.Name.Local {
		case "attribute":
			s.attribute(k, g.s, t)
		case "attributeGroup":
			s.attrGroup(k, g.s, t, depth+1)
		}
	}
}

// simple reads a simpleType's restriction, list or union.
func (s *schemas) simple(n *node, sd *schemaDoc, t *xtype) {
	t.Base = "string"
	for _, k := range n.Kids {
		if !isXSD(k.Name.Space) {
			continue
		}
		switch k.Name.Local {
		case "restriction":
			var bt *xtype
			if b, ok := k.attr("base"); ok {
				q, err := k.qname(b)
				if err != nil {
					s.warn("restriction: %v", err)
				} else {
					bt = s.typeOf(q)
				}
			} else if st := k.kid("", "simpleType"); st != nil {
				bt = &xtype{MaxLen: -1}
				s.build(st, sd, bt)
			}
			if bt != nil && bt.Simple {
				t.Base, t.List, t.Pattern, t.MinLen, t.MaxLen, t.Min, t.Max = bt.Base, bt.List, bt.Pattern, bt.MinLen, bt.MaxLen, bt.Min, bt.Max
				t.ExclMin, t.ExclMax = bt.ExclMin, bt.ExclMax
				t.Enum = append([]string(nil), bt.Enum...)
			}
			facets(k, t)
		case "list":
			t.List = true
			if it, ok := k.attr("itemType"); ok {
				if q, err := k.qname(it); err == nil {
					if bt := s.typeOf(q); bt.Simple {
						t.Base = bt.Base
					}
				}
			}
		case "union":
			t.Base = "string"
		}
	}
}

func facets(k *node, t *xtype) {
	var enum []string
	for _, f := range k.Kids {
		v := f.get("value")
		switch f.Name.Local {
		case "enumeration":
			if len(enum) < 5000 {
				enum = append(enum, v)
			}
		case "pattern":
			t.Pattern = v
		case "length":
			if x, err := strconv.Atoi(v); err == nil {
				t.MinLen, t.MaxLen = x, x
			}
		case "minLength":
			if x, err := strconv.Atoi(v); err == nil {
				t.MinLen = x
			}
		case "maxLength":
			if x, err := strconv.Atoi(v); err == nil {
				t.MaxLen = x
			}
		case "minInclusive":
			t.Min, t.ExclMin = v, false
		case "minExclusive":
			t.Min, t.ExclMin = v, true
		case "maxInclusive":
			t.Max, t.ExclMax = v, false
		case "maxExclusive":
			t.Max, t.ExclMax = v, true
		}
	}
	if len(enum) > 0 {
		t.Enum = enum
	}
}

// names gives t's fields and attributes their JSON property names: the
// local name, or attr_NAME for an attribute named like an element.
func names(t *xtype) {
	used := map[string]bool{}
	for _, f := range t.Fields {
		f.JSON = f.Name
		used[f.Name] = true
	}
	for _, a := range t.Attrs {
		a.JSON = a.Name
		if used[a.Name] || a.Name == valueKey {
			a.JSON = "attr_" + a.Name
		}
		used[a.JSON] = true
	}
}

// valueKey holds the text of an element with simple content and attributes.
const valueKey = "_value"
