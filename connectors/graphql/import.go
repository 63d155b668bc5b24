// Package graphql turns a GraphQL schema (SDL or an introspection result)
// into a Weft connector: one operation per query and mutation field, its
// arguments as a typed input schema, a default selection set (the return
// type's scalars and enums, one level into single objects) whose shape is
// the output schema, and Relay connection paging in fetch_all. Calls POST
// a query document with variables through the built-in http connector,
// so they get its address guard, credentials, error classes and
// Retry-After; GraphQL errors become Weft errors (see invoke.go).
package graphql

import (
	"fmt"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/openapi"
)

// Kind is the connector spec kind stored for a GraphQL import.
const Kind = "graphql"

// Rejection is a root field that could not be imported, and why.
type Rejection struct {
	Operation string `json:"operation"`
	Reason    string `json:"reason"`
}

// Report says what an import did.
type Report struct {
	Title      string        `json:"title"`
	SourceKind string        `json:"source_kind"` // graphql-sdl, graphql-introspection
	Types      int           `json:"types"`
	Found      int           `json:"found"` // query, mutation and subscription fields
	Imported   int           `json:"imported"`
	Queries    int           `json:"queries"`
	Mutations  int           `json:"mutations"`
	Rejected   []Rejection   `json:"rejected,omitempty"`
	Warnings   []string      `json:"warnings,omitempty"`
	Duration   time.Duration `json:"duration"`
}

// Bounds of what one operation's schemas and selection may hold.
const (
	maxInputDepth   = 8    // input objects nested deeper are left open
	maxInputNodes   = 1500 // schema nodes per operation input
	maxLeavesPerObj = 40   // scalar fields selected per object
	maxNestedObjs   = 12   // single objects selected one level down
	maxUnionMembers = 10   // inline fragments for a union result
	maxSelection    = 16 << 10
	// MaxNameLen bounds operation names (and MCP tool names).
	MaxNameLen = 64
)

// Import builds connector name from a schema document. request is the
// http connector's request operation that calls go through.
func Import(name string, doc []byte, request *connectors.Operation) (*connectors.Connector, *Report, error) {
	start := time.Now()
	over, doc, err := splitAnnotations(doc)
	if err != nil {
		return nil, nil, err
	}
	s, kind, warnings, err := load(doc)
	if err != nil {
		return nil, nil, err
	}
	byKey := map[string]*connectors.Operation{}
	rep := &Report{SourceKind: kind, Warnings: warnings, Title: name}
	for _, d := range s.Types {
		if !d.BuiltIn {
			rep.Types++
		}
	}
	c := &connectors.Connector{Name: name, Title: name, Version: "graphql",
		Description: "Imported from a GraphQL schema (" + kind + ")",
		Config: map[string]any{"type": "object", "properties": map[string]any{
			"path": map[string]any{"type": "string", "description": "the GraphQL endpoint's path under base_url (default /graphql; \"\" posts to base_url itself)"},
		}}}
	b := &builder{schema: s}
	used := map[string]bool{}
	roots := []struct {
		kind string
		def  *ast.Definition
	}{{"query", s.Query}, {"mutation", s.Mutation}}
	clash := map[string]int{}
	for _, r := range roots {
		if r.def == nil {
			continue
		}
		for _, f := range r.def.Fields {
			clash[f.Name]++
		}
	}
	if s.Subscription != nil {
		for _, f := range s.Subscription.Fields {
			rep.Found++
			rep.Rejected = append(rep.Rejected, Rejection{Operation: "subscription " + f.Name, Reason: "subscriptions need a long-lived connection; not imported"})
		}
	}
	for _, r := range roots {
		if r.def == nil {
			continue
		}
		for _, f := range r.def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			rep.Found++
			op, spec, err := b.operation(r.kind, f, request)
			if err != nil {
				rep.Rejected = append(rep.Rejected, Rejection{Operation: r.kind + " " + f.Name, Reason: err.Error()})
				continue
			}
			n := f.Name
			if clash[f.Name] > 1 {
				n = r.kind + "_" + n
			}
			op.Name = uniqueName(connectors.ShortName(n, r.kind+" "+f.Name, MaxNameLen), r.kind+" "+f.Name, used)
			c.Operations = append(c.Operations, op)
			if r.kind == "query" {
				if t := spec.pollTrigger(op.Name); t != nil {
					c.Triggers = append(c.Triggers, *t)
				}
			}
			byKey[r.kind+" "+f.Name] = op
			if clash[f.Name] == 1 {
				byKey[f.Name] = op
			}
			if r.kind == "query" {
				rep.Queries++
			} else {
				rep.Mutations++
			}
		}
	}
	if err := applyAnnotations(c, byKey, over); err != nil {
		return nil, nil, err
	}
	rep.Imported = len(c.Operations)
	rep.Duration = time.Since(start)
	return c, rep, nil
}

func uniqueName(n, full string, used map[string]bool) string {
	for i := 0; ; i++ {
		c := n
		if i > 0 {
			c = connectors.ShortName(fmt.Sprintf("%s_%s", n, connectors.NameHash(fmt.Sprintf("%s#%d", full, i))), full, MaxNameLen)
		}
		if !used[c] {
			used[c] = true
			return c
		}
	}
}

// Register imports doc as connector name into cat, calling through cat's
// http.request operation. Built-in connectors cannot be replaced.
func Register(cat *connectors.Catalog, name string, doc []byte) (*Report, error) {
	return connectors.RegisterImport(cat, name, func(request *connectors.Operation) (*connectors.Connector, *Report, error) {
		return Import(name, doc, request)
	})
}

// Detect reports whether doc looks like a GraphQL schema rather than an
// OpenAPI document: an introspection result, or SDL (a type, schema,
// scalar, enum, input, interface, union or directive definition before
// anything else).
func Detect(doc []byte) bool {
	head := doc
	if len(head) > 1<<20 {
		head = head[:1<<20]
	}
	t := strings.TrimSpace(string(head))
	if strings.HasPrefix(t, jsonAnnotations) {
		if _, rest, err := splitAnnotations([]byte(t)); err == nil {
			t = string(rest)
		}
	}
	if strings.HasPrefix(t, "{") {
		i := strings.Index(t, `"__schema"`)
		return i >= 0 && i < 64
	}
	for t != "" {
		switch {
		case strings.HasPrefix(t, "#"):
			if i := strings.IndexByte(t, '\n'); i >= 0 {
				t = strings.TrimSpace(t[i+1:])
				continue
			}
			return false
		case strings.HasPrefix(t, `"""`):
			i := strings.Index(t[3:], `"""`)
			if i < 0 {
				return false
			}
			t = strings.TrimSpace(t[i+6:])
			continue
		case strings.HasPrefix(t, `"`):
			i := strings.IndexByte(t[1:], '"')
			if i < 0 {
				return false
			}
			t = strings.TrimSpace(t[i+2:])
			continue
		}
		w := t
		if i := strings.IndexAny(w, " \t\r\n{"); i >= 0 {
			w = w[:i]
		}
		switch w {
		case "type", "schema", "scalar", "enum", "input", "interface", "union", "directive", "extend":
			return true
		}
		return false
	}
	return false
}

// builder turns root fields into operations.
type builder struct {
	schema *ast.Schema
}

// opSpec is what an operation's calls need.
type opSpec struct {
	kind     string // query, mutation
	field    *ast.FieldDefinition
	schema   *ast.Schema
	sel      []*sel // default selection (nil: a leaf result)
	conn     *connInfo
	ctl      map[string]string // control input -> its key (selection, allow_partial, fetch_all, max_items)
	args     map[string]*ast.ArgumentDefinition
	request  *connectors.Operation
	leafType bool
}

// connInfo says a field returns a Relay connection it can page.
type connInfo struct {
	items string // nodes or edges
}

func (b *builder) operation(kind string, f *ast.FieldDefinition, request *connectors.Operation) (*connectors.Operation, *opSpec, error) {
	rt, list := unwrap(f.Type)
	def := b.schema.Types[rt]
	if def == nil {
		return nil, nil, fmt.Errorf("unknown return type %s", rt)
	}
	spec := &opSpec{kind: kind, field: f, schema: b.schema, request: request, args: map[string]*ast.ArgumentDefinition{}, ctl: map[string]string{}}
	props := map[string]any{}
	var required []any
	w := &walk{seen: map[string]bool{}}
	for _, a := range f.Arguments {
		spec.args[a.Name] = a
		s := b.inputSchema(a.Type, w, 0)
		if a.Description != "" {
			s["description"] = firstLine(a.Description)
		}
		if a.DefaultValue != nil {
			if v, err := a.DefaultValue.Value(nil); err == nil {
				s["default"] = v
			}
		}
		props[a.Name] = s
		if a.Type.NonNull && a.DefaultValue == nil {
			required = append(required, a.Name)
		}
	}
	control := func(key string, schema map[string]any) {
		k := key
		for spec.args[k] != nil {
			k = "weft_" + k
		}
		spec.ctl[key] = k
		props[k] = schema
	}
	var output map[string]any
	switch def.Kind {
	case ast.Scalar, ast.Enum:
		spec.leafType = true
		output = b.leafSchema(def)
		if list {
			output = map[string]any{"type": "array", "items": output}
		}
	default:
		if !list {
			spec.conn = b.connection(def, f.Arguments)
		}
		spec.sel = b.selection(def, 0, spec.conn)
		output = selSchema(b.schema, spec.sel)
		if list {
			output = map[string]any{"type": "array", "items": output}
		}
		if spec.conn != nil && spec.conn.items == "edges" {
			// The edges' nodes are also given as nodes (invoke adds them),
			// so every connection's records are at body.nodes.
			props, _ := output["properties"].(map[string]any)
			edges, _ := props["edges"].(map[string]any)
			edge, _ := edges["items"].(map[string]any)
			if ep, _ := edge["properties"].(map[string]any); ep["node"] != nil {
				props["nodes"] = map[string]any{"type": "array", "items": ep["node"], "description": "the edges' nodes"}
			}
		}
		control("selection", map[string]any{"type": "string", "description": "a GraphQL selection set for the result, replacing the default (e.g. \"{ id name owner { login } }\")"})
	}
	control("allow_partial", map[string]any{"type": "boolean", "description": "return partial data when the server also reports errors (they are in the output's errors); default: such a response fails the step"})
	if spec.conn != nil {
		control("fetch_all", map[string]any{"type": "boolean", "description": "fetch every page (Relay connection paging: first/after, pageInfo) and return the items together"})
		control("max_items", map[string]any{"type": "integer", "minimum": 1, "description": "with fetch_all: stop after this many items (default 10000)"})
	}
	input := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		input["required"] = required
	}
	desc := firstLine(f.Description)
	if desc == "" {
		desc = fmt.Sprintf("GraphQL %s %s returning %s", kind, f.Name, f.Type.String())
	}
	if d := f.Directives.ForName("deprecated"); d != nil {
		desc += " (deprecated)"
	}
	h := connectors.Hints{OpenWorld: true}
	tags := []string{kind}
	if kind == "query" {
		h.ReadOnly, h.Idempotent = true, true
	} else {
		for _, w := range connectors.Words(f.Name) {
			if openapi.WordGroup(w) == "destructive" {
				h.Destructive = true
			}
		}
	}
	o := &connectors.Operation{Title: title(f.Name), Description: desc, Input: input, Output: output, Hints: h, Tags: tags}
	o.Invoke = spec.invoke
	return o, spec, nil
}

// pollTrigger declares a "new or changed records" poll trigger for a
// query returning a Relay connection whose nodes have a date or time
// field (a scalar whose name says Date, Time or Timestamp: DateTime,
// ISO8601DateTime, GitTimestamp…): records at body.nodes, ordered by that
// field (the last one the type declares when there are several: types
// declare created before updated), keyed by the node's ID field. Opaque
// IDs do not order records, so a connection without such a field gets no
// trigger (a flow can still poll it, naming poll.cursor).
func (o *opSpec) pollTrigger(opName string) *connectors.Trigger {
	if o.conn == nil {
		return nil
	}
	var node []*sel
	for _, x := range o.sel {
		switch {
		case o.conn.items == "nodes" && x.name == "nodes":
			node = x.children
		case o.conn.items == "edges" && x.name == "edges":
			for _, y := range x.children {
				if y.name == "node" {
					node = y.children
				}
			}
		}
	}
	var key, cursor string
	best, bestNonNull := -1, false
	for _, x := range node {
		if x.on != "" || x.typ == nil || x.typ.Elem != nil {
			continue
		}
		switch t := strings.ToLower(x.typ.NamedType); {
		case t == "id" && (key == "" || x.name == "id"):
			key = x.name
		case strings.Contains(t, "date") || strings.Contains(t, "time"):
			// Every record must have its cursor: a non-null field before a
			// nullable one (withdrawnAt, deletedAt), then one that moves
			// when the record changes, then the last declared.
			r := changeRank(x.name)
			if bestNonNull && !x.typ.NonNull {
				continue
			}
			if x.typ.NonNull && !bestNonNull || r >= best {
				cursor, best, bestNonNull = x.name, r, x.typ.NonNull
			}
		}
	}
	if cursor == "" || key == "" {
		return nil // no order, or no identity (the cursor alone would merge records of one instant)
	}
	what := "New or changed "
	if best < 2 {
		what = "New "
	}
	return &connectors.Trigger{Name: opName, Operation: opName, Items: "body.nodes", Key: key, Cursor: cursor,
		Description: what + o.field.Name + " (by " + cursor + "; poll with fetch_all: true to see every page)"}
}

// changeRank ranks a time field's name as a poll cursor: 2 when it moves
// whenever the record changes (updated, modified, changed, edited), 1 when
// it is set once on creation (created, published, inserted), 0 otherwise.
func changeRank(name string) int {
	for _, w := range connectors.Words(name) {
		for _, stem := range []string{"updat", "modif", "chang", "edit"} {
			if strings.HasPrefix(w, stem) {
				return 2
			}
		}
	}
	for _, w := range connectors.Words(name) {
		for _, stem := range []string{"creat", "publish", "insert"} {
			if strings.HasPrefix(w, stem) {
				return 1
			}
		}
	}
	return 0
}

func title(name string) string {
	w := connectors.Words(name)
	if len(w) == 0 {
		return name
	}
	t := strings.Join(w, " ")
	return strings.ToUpper(t[:1]) + t[1:]
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i > 0 {
		s = strings.TrimSpace(s[:i])
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// walk is the state of one input schema expansion.
type walk struct {
	seen  map[string]bool
	nodes int
}

// inputSchema is the JSON Schema of a GraphQL input type: lists as
// arrays, enums as string enums, input objects as closed objects whose
// non-null fields without defaults are required. Recursive input types
// end in an open object.
func (b *builder) inputSchema(t *ast.Type, w *walk, depth int) map[string]any {
	w.nodes++
	if t.Elem != nil {
		return map[string]any{"type": "array", "items": b.inputSchema(t.Elem, w, depth+1)}
	}
	def := b.schema.Types[t.NamedType]
	if def == nil {
		return map[string]any{}
	}
	switch def.Kind {
	case ast.Scalar, ast.Enum:
		return b.leafSchema(def)
	case ast.InputObject:
		if w.seen[def.Name] || depth > maxInputDepth || w.nodes > maxInputNodes {
			why := "recursive"
			if !w.seen[def.Name] {
				why = "too deep or large"
			}
			return map[string]any{"type": "object", "description": "a " + def.Name + " (" + why + ": not expanded)"}
		}
		w.seen[def.Name] = true
		defer delete(w.seen, def.Name)
		props := map[string]any{}
		var req []any
		for _, f := range def.Fields {
			s := b.inputSchema(f.Type, w, depth+1)
			if f.Description != "" {
				s["description"] = firstLine(f.Description)
			}
			if f.DefaultValue != nil {
				if v, err := f.DefaultValue.Value(nil); err == nil {
					s["default"] = v
				}
			}
			props[f.Name] = s
			if f.Type.NonNull && f.DefaultValue == nil {
				req = append(req, f.Name)
			}
		}
		out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(req) > 0 {
			out["required"] = req
		}
		if def.Description != "" {
			out["description"] = firstLine(def.Description)
		}
		return out
	}
	return map[string]any{"description": "a " + def.Name}
}

// leafSchema is the JSON Schema of a scalar or enum.
func (b *builder) leafSchema(def *ast.Definition) map[string]any {
	if def.Kind == ast.Enum {
		vals := make([]any, 0, len(def.EnumValues))
		for _, v := range def.EnumValues {
			vals = append(vals, v.Name)
		}
		return map[string]any{"type": "string", "enum": vals}
	}
	switch def.Name {
	case "Int":
		return map[string]any{"type": "integer"}
	case "Float":
		return map[string]any{"type": "number"}
	case "Boolean":
		return map[string]any{"type": "boolean"}
	case "String":
		return map[string]any{"type": "string"}
	case "ID":
		return map[string]any{"type": "string", "description": "a GraphQL ID"}
	}
	d := "GraphQL scalar " + def.Name
	if def.Description != "" {
		d += ": " + firstLine(def.Description)
	}
	return map[string]any{"description": d}
}

// sel is one field of a selection set (or an inline fragment when on is
// set).
type sel struct {
	name     string
	on       string // inline fragment type condition
	typ      *ast.Type
	children []*sel
}

func isLeaf(def *ast.Definition) bool {
	return def != nil && (def.Kind == ast.Scalar || def.Kind == ast.Enum)
}

// needsArgs reports whether a field has a required argument.
func needsArgs(f *ast.FieldDefinition) bool {
	for _, a := range f.Arguments {
		if a.Type.NonNull && a.DefaultValue == nil {
			return true
		}
	}
	return false
}

// selection is the default selection of def: its scalars and enums and,
// at the top, single objects and unpaged lists of objects (not
// connections) with their own scalars; a connection gets pageInfo and its
// items' scalars.
func (b *builder) selection(def *ast.Definition, depth int, conn *connInfo) []*sel {
	var out []*sel
	if def.Kind == ast.Union {
		out = append(out, &sel{name: "__typename"})
		if depth > 0 {
			return out
		}
		for i, m := range b.schema.GetPossibleTypes(def) {
			if i >= maxUnionMembers {
				break
			}
			if kids := b.selection(m, 1, nil); len(kids) > 1 {
				out = append(out, &sel{on: m.Name, children: kids[1:]}) // without its own __typename
			}
		}
		return out
	}
	if def.Kind == ast.Interface || depth > 0 {
		out = append(out, &sel{name: "__typename"})
	}
	leaves, nested := 0, 0
	for _, f := range def.Fields {
		if strings.HasPrefix(f.Name, "__") || needsArgs(f) {
			continue
		}
		ft, list := unwrap(f.Type)
		fd := b.schema.Types[ft]
		if fd == nil {
			continue
		}
		if isLeaf(fd) {
			if leaves < maxLeavesPerObj {
				out = append(out, &sel{name: f.Name, typ: f.Type})
				leaves++
			}
			continue
		}
		if conn != nil {
			switch {
			case f.Name == "pageInfo":
				out = append(out, &sel{name: f.Name, typ: f.Type, children: []*sel{{name: "hasNextPage", typ: &ast.Type{NamedType: "Boolean", NonNull: true}}, {name: "endCursor", typ: &ast.Type{NamedType: "String"}}}})
			case f.Name == conn.items && conn.items == "nodes":
				out = append(out, &sel{name: f.Name, typ: f.Type, children: b.selection(fd, 1, nil)})
			case f.Name == conn.items && conn.items == "edges":
				nf := fd.Fields.ForName("node")
				nd := b.schema.Types[nf.Type.Name()]
				out = append(out, &sel{name: f.Name, typ: f.Type, children: []*sel{{name: "cursor", typ: &ast.Type{NamedType: "String"}}, {name: "node", typ: nf.Type, children: b.selection(nd, 1, nil)}}})
			}
			continue
		}
		// One level down: single objects, and lists of objects the field
		// takes no arguments for (an unpaged list: a payload's userErrors,
		// tags); never connections or paged lists.
		if depth > 0 || nested >= maxNestedObjs || b.connection(fd, f.Arguments) != nil || (list && len(f.Arguments) > 0) {
			continue
		}
		if kids := b.selection(fd, 1, nil); len(kids) > 1 {
			out = append(out, &sel{name: f.Name, typ: f.Type, children: kids})
			nested++
		}
	}
	if len(out) == 0 {
		out = append(out, &sel{name: "__typename"})
	}
	return out
}

// connection recognises a Relay connection: pageInfo { hasNextPage
// endCursor }, a list of nodes or of edges with a node, and first/after
// arguments.
func (b *builder) connection(def *ast.Definition, args ast.ArgumentDefinitionList) *connInfo {
	if def.Kind != ast.Object || args.ForName("first") == nil || args.ForName("after") == nil {
		return nil
	}
	pi := def.Fields.ForName("pageInfo")
	if pi == nil {
		return nil
	}
	pd := b.schema.Types[pi.Type.Name()]
	if pd == nil || pd.Fields.ForName("hasNextPage") == nil || pd.Fields.ForName("endCursor") == nil {
		return nil
	}
	if n := def.Fields.ForName("nodes"); n != nil && n.Type.Elem != nil {
		if nd := b.schema.Types[n.Type.Name()]; nd != nil && !isLeaf(nd) {
			return &connInfo{items: "nodes"}
		}
	}
	if e := def.Fields.ForName("edges"); e != nil && e.Type.Elem != nil {
		if ed := b.schema.Types[e.Type.Name()]; ed != nil && ed.Fields.ForName("node") != nil {
			if nd := b.schema.Types[ed.Fields.ForName("node").Type.Name()]; nd != nil && !isLeaf(nd) {
				return &connInfo{items: "edges"}
			}
		}
	}
	return nil
}

// print writes a selection set ("{ a b { c } }").
func printSel(b *strings.Builder, ss []*sel) {
	b.WriteString("{")
	for _, s := range ss {
		b.WriteString(" ")
		if s.on != "" {
			b.WriteString("... on " + s.on + " ")
			printSel(b, s.children)
			continue
		}
		b.WriteString(s.name)
		if len(s.children) > 0 {
			b.WriteString(" ")
			printSel(b, s.children)
		}
	}
	b.WriteString(" }")
}

// selSchema is the JSON Schema of a selection's result.
func selSchema(s *ast.Schema, ss []*sel) map[string]any {
	props := map[string]any{}
	for _, x := range ss {
		if x.on != "" {
			for k, v := range selSchema(s, x.children)["properties"].(map[string]any) {
				props[k] = v
			}
			continue
		}
		if x.name == "__typename" {
			props[x.name] = map[string]any{"type": "string"}
			continue
		}
		props[x.name] = typeSchema(s, x.typ, x.children)
	}
	return map[string]any{"type": "object", "properties": props}
}

func typeSchema(s *ast.Schema, t *ast.Type, kids []*sel) map[string]any {
	if t.Elem != nil {
		return map[string]any{"type": "array", "items": typeSchema(s, t.Elem, kids)}
	}
	def := s.Types[t.NamedType]
	if isLeaf(def) {
		return (&builder{schema: s}).leafSchema(def)
	}
	return selSchema(s, kids)
}
