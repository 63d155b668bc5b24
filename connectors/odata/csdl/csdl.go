// Package csdl reads OData $metadata documents (CSDL: v2/v3 EDMX XML with
// SAP annotations, v4 XML or JSON) into a model, within limits: size,
// nesting, element count, attribute length; no DOCTYPE or entities.
// It depends on nothing but the error vocabulary, so it can be fuzzed
// on its own.
package csdl

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/weftio/weft"
)

// Limits bound one $metadata document before and while it is read.
type Limits struct {
	MaxBytes    int64 // document size (too_large)
	MaxDepth    int   // element nesting (invalid)
	MaxElements int   // elements in all (too_large)
	MaxAttrLen  int   // one attribute value or text run (invalid)
}

// DefaultLimits: SAP's largest published services are a few MB of
// metadata and nest about 8 levels.
var DefaultLimits = Limits{MaxBytes: 32 << 20, MaxDepth: 64, MaxElements: 1_000_000, MaxAttrLen: 64 << 10}

// node is one element of the document: its local name, attributes by
// (prefixed) local name, and children.
type node struct {
	name  string
	attrs []attr // few per element: a slice costs less than a map
	kids  []*node
	text  string
}

type attr struct{ k, v string }

func (n *node) attr(k string) string {
	for _, a := range n.attrs {
		if a.k == k {
			return a.v
		}
	}
	return ""
}

// set adds or replaces an attribute (the JSON CSDL reader builds nodes too).
func (n *node) set(k, v string) {
	for i := range n.attrs {
		if n.attrs[i].k == k {
			n.attrs[i].v = v
			return
		}
	}
	n.attrs = append(n.attrs, attr{k, v})
}

func (n *node) children(name string) []*node {
	var out []*node
	for _, k := range n.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

// attrKey names an attribute: SAP's annotations as sap:NAME, the v2
// metadata namespace's as m:NAME, everything else by its local name.
func attrKey(a xml.Name) string {
	switch {
	case a.Space == "":
		return a.Local
	case strings.Contains(a.Space, "sap.com/Protocols/SAPData") || a.Space == "sap":
		return "sap:" + a.Local
	case strings.Contains(a.Space, "dataservices/metadata") || a.Space == "m":
		return "m:" + a.Local
	case a.Space == "xmlns" || strings.HasPrefix(a.Space, "http://www.w3.org/"):
		return "xmlns:" + a.Local
	}
	return a.Local
}

// kept are the elements the model is read from; any other element (and
// everything inside it: vocabulary references, annotation values the
// importer does not use, unknown extensions) is skipped unread, so it
// costs no memory.
var kept = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`Edmx DataServices Schema Association End EntityType Key PropertyRef Property
		NavigationProperty ComplexType EnumType Member Action Function Parameter ReturnType EntityContainer
		EntitySet Singleton FunctionImport ActionImport Annotations Annotation Record PropertyValue ReferentialConstraint
		Reference Include`) {
		kept[n] = true
	}
}

// parseXML reads data into a tree within l. A DOCTYPE (the carrier of
// entity-expansion attacks) is refused outright: CSDL never needs one.
func parseXML(data []byte, l Limits) (*node, error) {
	if int64(len(data)) > l.MaxBytes {
		return nil, weft.Errorf(weft.ETooLarge, "$metadata is %d bytes; the limit is %d", len(data), l.MaxBytes)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.Entity = nil // only the five predefined entities
	var stack []*node
	var root *node
	count := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, weft.Errorf(weft.EInvalid, "$metadata is not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			s := strings.TrimSpace(string(t))
			if strings.HasPrefix(strings.ToUpper(s), "DOCTYPE") || strings.Contains(strings.ToUpper(s), "ENTITY") {
				return nil, weft.Errorf(weft.EInvalid, "$metadata declares a DOCTYPE or entities; refused (CSDL needs none, and entity expansion is a known attack)")
			}
			return nil, weft.Errorf(weft.EInvalid, "$metadata has an unexpected XML directive <!%s>", Cut(s, 40))
		case xml.StartElement:
			count++
			if count > l.MaxElements {
				return nil, weft.Errorf(weft.ETooLarge, "$metadata has more than %d elements", l.MaxElements)
			}
			if len(stack) >= l.MaxDepth {
				return nil, weft.Errorf(weft.EInvalid, "$metadata nests deeper than %d elements", l.MaxDepth)
			}
			if len(stack) > 0 && !kept[t.Name.Local] {
				if err := d.Skip(); err != nil {
					return nil, weft.Errorf(weft.EInvalid, "$metadata is not well-formed XML: %v", err)
				}
				continue
			}
			n := &node{name: t.Name.Local}
			for _, a := range t.Attr {
				if len(a.Value) > l.MaxAttrLen {
					return nil, weft.Errorf(weft.EInvalid, "$metadata attribute %s is longer than %d bytes", a.Name.Local, l.MaxAttrLen)
				}
				if k := attrKey(a.Name); !strings.HasPrefix(k, "xmlns:") {
					n.set(k, a.Value)
				}
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, weft.Errorf(weft.EInvalid, "$metadata has more than one root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				if len(top.text)+len(t) > l.MaxAttrLen {
					return nil, weft.Errorf(weft.EInvalid, "$metadata element %s has more than %d bytes of text", top.name, l.MaxAttrLen)
				}
				if s := strings.TrimSpace(string(t)); s != "" {
					top.text += s
				}
			}
		}
	}
	if root == nil {
		return nil, weft.Errorf(weft.EInvalid, "$metadata is empty")
	}
	return root, nil
}

// Cut shortens s to n bytes for a message.
func Cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Model is a parsed service: its entity types, complex and enum types,
// entity sets and singletons, and callable functions and actions.
type Model struct {
	Version    string // "2.0", "3.0" or "4.0" (4.01 reads as 4)
	Namespaces []string
	// References are the namespaces the document includes from other
	// documents (edmx:Reference/edmx:Include): the vocabularies it uses.
	References   []string
	EntityTypes  map[string]*EntityType // by qualified name (and alias-qualified)
	ComplexTypes map[string]*ComplexType
	EnumTypes    map[string]*EnumType
	EntitySets   []*EntitySet
	Singletons   []*EntitySet
	Callables    []*Callable // function imports (v2), action/function imports and bound ones (v4)
	Warnings     []string
	// Container is the entity container's name.
	Container string
	// associations (v2): qualified name -> role -> end.
	assocs map[string]map[string]assocEnd
	// v4: imports waiting for their schema-level action or function.
	imports []importRef
	unbound []*Callable
}

// V2 reports whether the service speaks OData v2 (or v3) JSON
// ({"d": ...}, literals like datetime'...').
func (m *Model) V2() bool { return !strings.HasPrefix(m.Version, "4") }

type assocEnd struct{ typ, mult string }

// Property is one structural property.
type Property struct {
	Name       string
	Type       string // Edm.String, NS.Complex, Collection(...)
	Nullable   bool
	MaxLength  string
	Label      string // sap:label or Core.Description
	Creatable  bool   // sap:creatable (default true)
	Updatable  bool   // sap:updatable
	Filterable bool   // sap:filterable
	Sortable   bool   // sap:sortable
	Computed   bool   // Core.Computed
}

// NavProperty is a navigation property.
type NavProperty struct {
	Name       string
	Target     string // qualified entity type
	Collection bool
	Contains   bool     // v4 ContainsTarget: the targets live inside the entity
	Refs       []string // v4 ReferentialConstraint: this type's properties holding the target's key (a lookup's foreign key)
}

// EntityType is an entity type with its base type's members merged in.
type EntityType struct {
	Name, Namespace string
	Label           string
	Key             []string
	Props           []*Property
	Navs            []*NavProperty
	ETag            bool // some property is a concurrency token (or sap:etag)
	HasStream       bool // a media entity: its stream is at /$value
	base            string
	resolved        bool
}

// Prop looks up a property by name.
func (t *EntityType) Prop(name string) *Property {
	for _, p := range t.Props {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Nav looks up a navigation property by name.
func (t *EntityType) Nav(name string) *NavProperty {
	for _, n := range t.Navs {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// ComplexType is a structured type without identity.
type ComplexType struct {
	Name  string
	Props []*Property
	Base  string // the base type
}

// EnumType is an enumeration.
type EnumType struct {
	Name    string
	Members []string
	Flags   bool
}

// EntitySet is an entity set or a singleton.
type EntitySet struct {
	Name       string
	Type       string // qualified entity type
	Label      string
	Creatable  bool
	Updatable  bool
	Deletable  bool
	Pageable   bool
	Searchable bool
	Countable  bool
	Singleton  bool
}

// Param is a parameter of a function or action.
type Param struct {
	Name     string
	Type     string
	Nullable bool
}

// Callable is something invoked by name: a v2 function import, a v4
// action or function import, or a v4 bound action or function.
type Callable struct {
	Name       string // the name in the URL (qualified for bound ones)
	Short      string // the unqualified name
	Kind       string // "function" or "action"
	Method     string // v2: m:HttpMethod (GET default); v4: GET for functions, POST for actions
	Params     []Param
	Returns    string // return type ("" none)
	EntitySet  string // the entity set returned entities belong to
	BoundTo    string // bound: the binding parameter's type (an entity type or Collection(...))
	Label      string
	Composable bool
}

// Parse reads a $metadata document: CSDL XML (v2, v3, v4) or JSON CSDL (v4).
func Parse(data []byte, l Limits) (*Model, error) {
	if l.MaxBytes <= 0 {
		l = DefaultLimits
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte-order mark
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		return parseJSON(data, l)
	}
	root, err := parseXML(data, l)
	if err != nil {
		return nil, err
	}
	if root.name != "Edmx" {
		return nil, weft.Errorf(weft.EInvalid, "not an OData $metadata document: the root element is <%s>, not <edmx:Edmx>", root.name)
	}
	m := newModel()
	m.Version = root.attr("Version")
	var schemas []*node
	for _, r := range root.children("Reference") {
		for _, in := range r.children("Include") {
			if ns := in.attr("Namespace"); ns != "" && len(m.References) < 100 {
				m.References = append(m.References, ns)
			}
		}
	}
	for _, ds := range root.children("DataServices") {
		if v := ds.attr("m:DataServiceVersion"); v != "" && m.V2() {
			m.Version = v
		}
		if v := ds.attr("m:MaxDataServiceVersion"); v != "" && m.Version == "1.0" {
			m.Version = v
		}
		schemas = append(schemas, ds.children("Schema")...)
	}
	if strings.HasPrefix(m.Version, "1") {
		m.Version = "2.0"
	}
	if len(schemas) == 0 {
		return nil, weft.Errorf(weft.EInvalid, "$metadata has no edmx:DataServices/Schema")
	}
	aliases := map[string]string{}
	for _, s := range schemas {
		ns := s.attr("Namespace")
		m.Namespaces = append(m.Namespaces, ns)
		if a := s.attr("Alias"); a != "" {
			aliases[a] = ns
		}
	}
	q := func(name string) string { return qualify(name, aliases) }
	for _, s := range schemas {
		m.readSchema(s, q)
	}
	// v4 annotations targeting entity sets and properties (Capabilities, Core).
	for _, s := range schemas {
		for _, a := range s.children("Annotations") {
			m.applyAnnotations(a, q)
		}
	}
	if err := m.finish(); err != nil {
		return nil, err
	}
	return m, nil
}

func newModel() *Model {
	return &Model{EntityTypes: map[string]*EntityType{}, ComplexTypes: map[string]*ComplexType{}, EnumTypes: map[string]*EnumType{}, assocs: map[string]map[string]assocEnd{}}
}

// qualify replaces a leading alias (in "Alias.Type" or "Collection(Alias.Type)").
func qualify(name string, aliases map[string]string) string {
	if in, ok := CollectionOf(name); ok {
		return "Collection(" + qualify(in, aliases) + ")"
	}
	if i := strings.LastIndex(name, "."); i > 0 {
		if ns, ok := aliases[name[:i]]; ok {
			return ns + name[i:]
		}
	}
	return name
}

// CollectionOf unwraps "Collection(T)" into T, true.
func CollectionOf(t string) (string, bool) {
	if strings.HasPrefix(t, "Collection(") && strings.HasSuffix(t, ")") {
		return t[len("Collection(") : len(t)-1], true
	}
	return t, false
}

func boolAttr(n *node, k string, def bool) bool {
	switch strings.ToLower(n.attr(k)) {
	case "true":
		return true
	case "false":
		return false
	}
	return def
}

func (m *Model) readProps(n *node, q func(string) string) []*Property {
	var out []*Property
	for _, p := range n.children("Property") {
		pr := &Property{Name: p.attr("Name"), Type: q(p.attr("Type")), Nullable: boolAttr(p, "Nullable", true), MaxLength: p.attr("MaxLength"),
			Label: p.attr("sap:label"), Creatable: boolAttr(p, "sap:creatable", true), Updatable: boolAttr(p, "sap:updatable", true),
			Filterable: boolAttr(p, "sap:filterable", true), Sortable: boolAttr(p, "sap:sortable", true)}
		if pr.Name == "" {
			continue
		}
		for _, a := range p.children("Annotation") {
			applyPropAnnotation(pr, a)
		}
		out = append(out, pr)
	}
	return out
}

func applyPropAnnotation(pr *Property, a *node) {
	term := a.attr("Term")
	switch {
	case strings.HasSuffix(term, "Core.Computed") || strings.HasSuffix(term, "Core.V1.Computed"):
		pr.Computed = boolAttr(a, "Bool", true)
	case strings.HasSuffix(term, "Core.Immutable") || strings.HasSuffix(term, "Core.V1.Immutable"):
		pr.Updatable = !boolAttr(a, "Bool", true)
	case strings.HasSuffix(term, "Core.Description") || strings.HasSuffix(term, "Common.Label"):
		if pr.Label == "" {
			pr.Label = a.attr("String")
		}
	}
}

func (m *Model) readSchema(s *node, q func(string) string) {
	ns := s.attr("Namespace")
	for _, a := range s.children("Association") {
		ends := map[string]assocEnd{}
		for _, e := range a.children("End") {
			ends[e.attr("Role")] = assocEnd{typ: q(e.attr("Type")), mult: e.attr("Multiplicity")}
		}
		m.assocs[ns+"."+a.attr("Name")] = ends
		if al := s.attr("Alias"); al != "" {
			m.assocs[al+"."+a.attr("Name")] = ends
		}
	}
	for _, e := range s.children("EntityType") {
		t := &EntityType{Name: e.attr("Name"), Namespace: ns, Label: e.attr("sap:label"), base: q(e.attr("BaseType"))}
		if t.Name == "" {
			m.Warnings = append(m.Warnings, "an EntityType without a Name was skipped")
			continue
		}
		for _, k := range e.children("Key") {
			for _, pr := range k.children("PropertyRef") {
				t.Key = append(t.Key, pr.attr("Name"))
			}
		}
		t.Props = m.readProps(e, q)
		for _, p := range e.children("Property") {
			if strings.EqualFold(p.attr("ConcurrencyMode"), "Fixed") {
				t.ETag = true
			}
		}
		if e.attr("sap:etag") != "" || e.attr("m:HasStream") == "x" {
			t.ETag = true
		}
		t.HasStream = boolAttr(e, "HasStream", false) || boolAttr(e, "m:HasStream", false)
		for _, n := range e.children("NavigationProperty") {
			nv := &NavProperty{Name: n.attr("Name")}
			if typ := n.attr("Type"); typ != "" { // v4
				in, coll := CollectionOf(q(typ))
				nv.Target, nv.Collection = in, coll
				nv.Contains = boolAttr(n, "ContainsTarget", false)
				for _, rc := range n.children("ReferentialConstraint") {
					if p := rc.attr("Property"); p != "" && len(nv.Refs) < 16 {
						nv.Refs = append(nv.Refs, p)
					}
				}
			} else { // v2: through the association's ToRole end
				nv.Target = "?" + q(n.attr("Relationship")) + "|" + n.attr("ToRole")
			}
			if nv.Name != "" {
				t.Navs = append(t.Navs, nv)
			}
		}
		m.EntityTypes[ns+"."+t.Name] = t
	}
	for _, c := range s.children("ComplexType") {
		ct := &ComplexType{Name: ns + "." + c.attr("Name"), Props: m.readProps(c, q), Base: q(c.attr("BaseType"))}
		m.ComplexTypes[ct.Name] = ct
	}
	for _, e := range s.children("EnumType") {
		et := &EnumType{Name: ns + "." + e.attr("Name"), Flags: boolAttr(e, "IsFlags", false)}
		for _, mb := range e.children("Member") {
			et.Members = append(et.Members, mb.attr("Name"))
		}
		m.EnumTypes[et.Name] = et
	}
	// v4 schema-level actions and functions (bound ones become operations
	// on their binding type; unbound ones are reached through imports).
	for _, kind := range []string{"Action", "Function"} {
		for _, a := range s.children(kind) {
			c := &Callable{Name: ns + "." + a.attr("Name"), Short: a.attr("Name"), Kind: strings.ToLower(kind), Composable: boolAttr(a, "IsComposable", false)}
			c.Method = "GET"
			if kind == "Action" {
				c.Method = "POST"
			}
			for _, p := range a.children("Parameter") {
				c.Params = append(c.Params, Param{Name: p.attr("Name"), Type: q(p.attr("Type")), Nullable: boolAttr(p, "Nullable", true)})
			}
			for _, r := range a.children("ReturnType") {
				c.Returns = q(r.attr("Type"))
			}
			if boolAttr(a, "IsBound", false) {
				if len(c.Params) == 0 {
					m.Warnings = append(m.Warnings, fmt.Sprintf("bound %s %s has no binding parameter; skipped", c.Kind, c.Name))
					continue
				}
				c.BoundTo = c.Params[0].Type
				c.Params = c.Params[1:]
				m.Callables = append(m.Callables, c)
			} else {
				m.unbound = append(m.unbound, c)
			}
		}
	}
	for _, ec := range s.children("EntityContainer") {
		m.Container = ec.attr("Name")
		for _, es := range ec.children("EntitySet") {
			set := &EntitySet{Name: es.attr("Name"), Type: q(es.attr("EntityType")), Label: es.attr("sap:label"),
				Creatable: boolAttr(es, "sap:creatable", true), Updatable: boolAttr(es, "sap:updatable", true), Deletable: boolAttr(es, "sap:deletable", true),
				Pageable: boolAttr(es, "sap:pageable", true), Searchable: boolAttr(es, "sap:searchable", false), Countable: boolAttr(es, "sap:countable", true)}
			for _, a := range es.children("Annotation") {
				applySetAnnotation(set, a)
			}
			m.EntitySets = append(m.EntitySets, set)
		}
		for _, es := range ec.children("Singleton") {
			set := &EntitySet{Name: es.attr("Name"), Type: q(es.attr("Type")), Singleton: true, Updatable: true}
			m.Singletons = append(m.Singletons, set)
		}
		for _, fi := range ec.children("FunctionImport") {
			if fn := fi.attr("Function"); fn != "" { // v4
				m.imports = append(m.imports, importRef{name: fi.attr("Name"), target: q(fn), set: fi.attr("EntitySet")})
				continue
			}
			c := &Callable{Name: fi.attr("Name"), Short: fi.attr("Name"), Kind: "function", Method: strings.ToUpper(fi.attr("m:HttpMethod")),
				Returns: q(fi.attr("ReturnType")), EntitySet: fi.attr("EntitySet"), Label: fi.attr("sap:label")}
			if c.Method == "" {
				c.Method = "GET"
			}
			if c.Method != "GET" {
				c.Kind = "action"
			}
			for _, p := range fi.children("Parameter") {
				c.Params = append(c.Params, Param{Name: p.attr("Name"), Type: q(p.attr("Type")), Nullable: boolAttr(p, "Nullable", true)})
			}
			m.Callables = append(m.Callables, c)
		}
		for _, ai := range ec.children("ActionImport") {
			m.imports = append(m.imports, importRef{name: ai.attr("Name"), target: q(ai.attr("Action")), set: ai.attr("EntitySet"), action: true})
		}
	}
}

type importRef struct {
	name, target, set string
	action            bool
}

func applySetAnnotation(set *EntitySet, a *node) {
	term := a.attr("Term")
	rec := func(prop string) (bool, bool) {
		for _, r := range a.children("Record") {
			for _, pv := range r.children("PropertyValue") {
				if pv.attr("Property") == prop {
					return boolAttr(pv, "Bool", true), true
				}
			}
		}
		return false, false
	}
	switch {
	case strings.HasSuffix(term, "InsertRestrictions"):
		if v, ok := rec("Insertable"); ok {
			set.Creatable = v
		}
	case strings.HasSuffix(term, "UpdateRestrictions"):
		if v, ok := rec("Updatable"); ok {
			set.Updatable = v
		}
	case strings.HasSuffix(term, "DeleteRestrictions"):
		if v, ok := rec("Deletable"); ok {
			set.Deletable = v
		}
	case strings.HasSuffix(term, "SearchRestrictions"):
		if v, ok := rec("Searchable"); ok {
			set.Searchable = v
		}
	case strings.HasSuffix(term, "CountRestrictions"):
		if v, ok := rec("Countable"); ok {
			set.Countable = v
		}
	}
}

// applyAnnotations reads an <Annotations Target="..."> block.
func (m *Model) applyAnnotations(a *node, q func(string) string) {
	target := a.attr("Target")
	// Container/Set targets.
	if i := strings.LastIndex(target, "/"); i > 0 {
		head, tail := target[:i], target[i+1:]
		if strings.HasSuffix(head, m.Container) || strings.HasSuffix(head, "."+m.Container) {
			for _, s := range m.EntitySets {
				if s.Name == tail {
					for _, x := range a.children("Annotation") {
						applySetAnnotation(s, x)
					}
				}
			}
			return
		}
		if t, ok := m.EntityTypes[q(head)]; ok {
			if p := t.Prop(tail); p != nil {
				for _, x := range a.children("Annotation") {
					applyPropAnnotation(p, x)
				}
			}
		}
	}
}

// MaxInherit bounds base-type chains (a cycle ends here, with a warning).
const MaxInherit = 32

// finish resolves base types, v2 navigation targets and v4 imports.
func (m *Model) finish() error {
	for _, t := range m.EntityTypes {
		m.resolve(t)
	}
	for _, t := range m.EntityTypes {
		for _, nv := range t.Navs {
			if strings.HasPrefix(nv.Target, "?") {
				rel, role, _ := strings.Cut(nv.Target[1:], "|")
				end, ok := m.assocs[rel][role]
				if !ok {
					m.Warnings = append(m.Warnings, fmt.Sprintf("%s.%s: association %s has no role %s", t.Name, nv.Name, rel, role))
					nv.Target = ""
					continue
				}
				nv.Target, nv.Collection = end.typ, end.mult == "*"
			}
		}
	}
	for _, im := range m.imports {
		var found *Callable
		for _, c := range m.unbound {
			if c.Name == im.target && (c.Kind == "action") == im.action {
				found = c
				break
			}
		}
		if found == nil {
			m.Warnings = append(m.Warnings, fmt.Sprintf("import %s names %s, which the schema does not define; skipped", im.name, im.target))
			continue
		}
		c := *found
		c.Name, c.Short, c.EntitySet = im.name, im.name, im.set
		m.Callables = append(m.Callables, &c)
	}
	m.imports, m.unbound = nil, nil
	if len(m.EntitySets) == 0 && len(m.Singletons) == 0 && len(m.Callables) == 0 {
		return weft.Errorf(weft.EInvalid, "$metadata declares no entity sets, singletons, functions or actions")
	}
	return nil
}

// resolve merges t's base types' keys, properties and navigations into t.
func (m *Model) resolve(t *EntityType) {
	if t.resolved {
		return
	}
	t.resolved = true
	chain := []*EntityType{}
	seen := map[*EntityType]bool{t: true}
	for b := t.base; b != ""; {
		bt, ok := m.EntityTypes[b]
		if !ok {
			m.Warnings = append(m.Warnings, fmt.Sprintf("%s: base type %s is not defined", t.Name, b))
			break
		}
		if seen[bt] || len(chain) >= MaxInherit {
			m.Warnings = append(m.Warnings, fmt.Sprintf("%s: base types form a cycle or a chain longer than %d; cut", t.Name, MaxInherit))
			break
		}
		seen[bt] = true
		chain = append(chain, bt)
		b = bt.base
	}
	for _, bt := range chain {
		if len(t.Key) == 0 {
			t.Key = bt.Key
		}
		for _, p := range bt.Props {
			if t.Prop(p.Name) == nil {
				t.Props = append(t.Props, p)
			}
		}
		for _, n := range bt.Navs {
			if t.Nav(n.Name) == nil {
				t.Navs = append(t.Navs, n)
			}
		}
		t.ETag = t.ETag || bt.ETag
	}
}
