package graphql

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/openapi"
)

// Sandbox simulates a GraphQL API from its schema, statefully: every
// request is parsed and validated against the schema (gqlparser), its
// variables coerced, and answered from an in-memory store of objects by
// type. Queries read: a field with an ID argument looks the object up
// (not found: null and an error), a connection pages its type's objects
// (first/after), a list returns them. A mutation creates, updates or
// deletes an object of the type its payload carries: an input naming an
// existing object's id updates it (deletes it when the mutation's name
// says so, by the importer's destructive words), otherwise it creates
// one. A stored object with an "__error" field is answered as null with
// that error, so a list containing it is a partial result.
type Sandbox struct {
	Name   string
	schema *ast.Schema

	mu    sync.Mutex
	store map[string][]map[string]any // type -> objects, in creation order
	next  int
}

// Sandbox bounds.
const (
	maxRequestBytes  = 1 << 20
	maxQueryTokens   = 50000
	maxObjectsByType = 10000
)

// NewSandbox builds a sandbox for a schema document.
func NewSandbox(name string, doc []byte) (*Sandbox, error) {
	s, _, err := Load(doc)
	if err != nil {
		return nil, err
	}
	return &Sandbox{Name: name, schema: s, store: map[string][]map[string]any{}}, nil
}

// Seed stores objects of a type (validated by name; ids assigned when
// missing; missing non-null scalars filled).
func (s *Sandbox) Seed(typeName string, objs []map[string]any) error {
	def := s.schema.Types[typeName]
	if def == nil || def.Kind != ast.Object {
		return fmt.Errorf("sandbox %s: %q is not an object type of the schema", s.Name, typeName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range objs {
		rec := map[string]any{}
		for k, v := range o {
			if k != "__error" && def.Fields.ForName(k) == nil {
				return fmt.Errorf("sandbox %s: %s has no field %q", s.Name, typeName, k)
			}
			rec[k] = v
		}
		if _, err := s.add(def, rec); err != nil {
			return err
		}
	}
	return nil
}

// add stores rec as a new object of def (the lock is held).
func (s *Sandbox) add(def *ast.Definition, rec map[string]any) (map[string]any, error) {
	if len(s.store[def.Name]) >= maxObjectsByType {
		return nil, fmt.Errorf("sandbox %s: %d %s objects already; the limit is %d", s.Name, maxObjectsByType, def.Name, maxObjectsByType)
	}
	s.next++
	if rec["id"] == nil && def.Fields.ForName("id") != nil {
		rec["id"] = fmt.Sprintf("%s-%d", def.Name, s.next)
	}
	for _, f := range def.Fields {
		if _, ok := rec[f.Name]; ok || !f.Type.NonNull || f.Type.Elem != nil {
			continue
		}
		if fd := s.schema.Types[f.Type.NamedType]; isLeaf(fd) {
			rec[f.Name] = fake(fd, f.Name, s.next)
		}
	}
	rec["__typename"] = def.Name
	s.store[def.Name] = append(s.store[def.Name], rec)
	return rec, nil
}

// fake is a made-up value of a scalar or enum.
func fake(def *ast.Definition, field string, n int) any {
	if def.Kind == ast.Enum {
		if len(def.EnumValues) > 0 {
			return def.EnumValues[0].Name
		}
		return nil
	}
	switch def.Name {
	case "Int":
		return int64(n)
	case "Float":
		return float64(n)
	case "Boolean":
		return false
	case "ID":
		return fmt.Sprintf("%s-%d", field, n)
	}
	return fmt.Sprintf("%s %d", field, n)
}

type gqlRequest struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(status int, msg string) {
		reply(status, map[string]any{"errors": []any{map[string]any{"message": msg}}})
	}
	var req gqlRequest
	switch r.Method {
	case http.MethodPost:
		data, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
		if err != nil || len(data) > maxRequestBytes {
			fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("the request is larger than %d bytes", maxRequestBytes))
			return
		}
		d := json.NewDecoder(strings.NewReader(string(data)))
		d.UseNumber()
		if err := d.Decode(&req); err != nil {
			fail(http.StatusBadRequest, "the body must be {query, variables?, operationName?}: "+err.Error())
			return
		}
	case http.MethodGet:
		req.Query, req.OperationName = r.URL.Query().Get("query"), r.URL.Query().Get("operationName")
		if v := r.URL.Query().Get("variables"); v != "" {
			if err := json.Unmarshal([]byte(v), &req.Variables); err != nil {
				fail(http.StatusBadRequest, "variables must be a JSON object")
				return
			}
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		fail(http.StatusMethodNotAllowed, "POST a GraphQL request")
		return
	}
	req.Variables = numbers(req.Variables).(map[string]any)
	status, res := s.Execute(req.Query, req.OperationName, req.Variables, r.Method == http.MethodGet)
	reply(status, res)
}

// numbers turns json.Numbers into int64 or float64 (the validator's types).
func numbers(v any) any {
	switch x := v.(type) {
	case nil:
		return map[string]any{}
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			if e != nil {
				x[k] = numbers(e)
			}
		}
		return x
	case []any:
		for i, e := range x {
			if e != nil {
				x[i] = numbers(e)
			}
		}
		return x
	}
	return v
}

// Execute answers one GraphQL request: the HTTP status and the result
// ({data, errors}). readOnly refuses mutations (a GET).
func (s *Sandbox) Execute(query, opName string, vars map[string]any, readOnly bool) (int, map[string]any) {
	errList := func(msgs ...string) map[string]any {
		var l []any
		for _, m := range msgs {
			l = append(l, map[string]any{"message": m})
		}
		return map[string]any{"errors": l}
	}
	q, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, maxQueryTokens)
	if err != nil {
		return http.StatusBadRequest, errList(err.Error())
	}
	if errs := validator.Validate(s.schema, q); len(errs) > 0 {
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.Message)
		}
		return http.StatusBadRequest, errList(msgs...)
	}
	op := q.Operations.ForName(opName)
	if op == nil {
		if opName != "" || len(q.Operations) != 1 {
			return http.StatusBadRequest, errList("name the operation to run (operationName)")
		}
		op = q.Operations[0]
	}
	coerced, err := validator.VariableValues(s.schema, op, vars)
	if err != nil {
		return http.StatusBadRequest, errList(err.Error())
	}
	var root *ast.Definition
	switch op.Operation {
	case ast.Query:
		root = s.schema.Query
	case ast.Mutation:
		if readOnly {
			return http.StatusMethodNotAllowed, errList("mutations must be POSTed")
		}
		root = s.schema.Mutation
	default:
		return http.StatusBadRequest, errList("subscriptions are not simulated")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := &exec{s: s, vars: coerced, frags: q.Fragments}
	data := map[string]any{}
	for _, f := range e.fields(op.SelectionSet, root) {
		key := alias(f)
		if f.Name == "__typename" {
			data[key] = root.Name
			continue
		}
		var v any
		var err error
		if op.Operation == ast.Query {
			v, err = e.query(f)
		} else {
			v, err = e.mutate(f)
		}
		if err != nil {
			e.fail([]any{key}, err.Error())
			data[key] = nil
			continue
		}
		data[key] = e.complete(f.Definition.Type, v, f.SelectionSet, []any{key})
	}
	res := map[string]any{"data": data}
	if len(e.errs) > 0 {
		res["errors"] = e.errs
	}
	return http.StatusOK, res
}

type exec struct {
	s     *Sandbox
	vars  map[string]any
	frags ast.FragmentDefinitionList
	errs  []any
}

func (e *exec) fail(path []any, msg string) {
	e.errs = append(e.errs, map[string]any{"message": msg, "path": append([]any{}, path...)})
}

func alias(f *ast.Field) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}

// fields flattens a selection set for an object type (fragments whose
// type condition applies included).
func (e *exec) fields(ss ast.SelectionSet, def *ast.Definition) []*ast.Field {
	var out []*ast.Field
	applies := func(cond string) bool {
		if cond == "" || cond == def.Name {
			return true
		}
		if c := e.s.schema.Types[cond]; c != nil {
			for _, p := range e.s.schema.GetPossibleTypes(c) {
				if p.Name == def.Name {
					return true
				}
			}
		}
		return false
	}
	for _, x := range ss {
		switch s := x.(type) {
		case *ast.Field:
			out = append(out, s)
		case *ast.InlineFragment:
			if applies(s.TypeCondition) {
				out = append(out, e.fields(s.SelectionSet, def)...)
			}
		case *ast.FragmentSpread:
			if fd := e.frags.ForName(s.Name); fd != nil && applies(fd.TypeCondition) {
				out = append(out, e.fields(fd.SelectionSet, def)...)
			}
		}
	}
	return out
}

// objects lists the stored objects of def (of each possible type for an
// interface or union).
func (e *exec) objects(def *ast.Definition) []map[string]any {
	if def.Kind == ast.Object {
		return e.s.store[def.Name]
	}
	var out []map[string]any
	for _, p := range e.s.schema.GetPossibleTypes(def) {
		out = append(out, e.s.store[p.Name]...)
	}
	return out
}

// byID finds a stored object by id, in def's types (any type when def is nil).
func (e *exec) byID(def *ast.Definition, id any) (map[string]any, string, int) {
	want := fmt.Sprint(id)
	var types []string
	if def == nil {
		types = sortedKeys(e.s.store)
	} else if def.Kind == ast.Object {
		types = []string{def.Name}
	} else {
		for _, p := range e.s.schema.GetPossibleTypes(def) {
			types = append(types, p.Name)
		}
	}
	for _, t := range types {
		for i, o := range e.s.store[t] {
			if fmt.Sprint(o["id"]) == want {
				return o, t, i
			}
		}
	}
	return nil, "", -1
}

func (e *exec) query(f *ast.Field) (any, error) {
	args := f.ArgumentMap(e.vars)
	name, list := unwrap(f.Definition.Type)
	def := e.s.schema.Types[name]
	if isLeaf(def) {
		return nil, nil // complete makes one up
	}
	b := &builder{schema: e.s.schema}
	if !list {
		if c := b.connection(def, f.Definition.Arguments); c != nil {
			return e.page(def, c, f.Definition.Arguments, args)
		}
		for _, a := range f.Definition.Arguments {
			if a.Type.Name() == "ID" && args[a.Name] != nil {
				o, _, _ := e.byID(def, args[a.Name])
				if o == nil {
					return nil, fmt.Errorf("no %s with id %v", def.Name, args[a.Name])
				}
				return o, nil
			}
		}
		if objs := e.objects(def); len(objs) > 0 {
			return objs[0], nil
		}
		return map[string]any{}, nil
	}
	out := []any{}
	for _, o := range e.filter(e.objects(def), def, f.Definition.Arguments, args) {
		out = append(out, o)
	}
	return out, nil
}

// filter keeps the objects whose fields equal the scalar arguments named
// like them.
func (e *exec) filter(objs []map[string]any, def *ast.Definition, defs ast.ArgumentDefinitionList, args map[string]any) []map[string]any {
	var out []map[string]any
	for _, o := range objs {
		ok := true
		for _, a := range defs {
			v, given := args[a.Name]
			if !given || v == nil || a.Name == "first" || a.Name == "after" || a.Name == "last" || a.Name == "before" {
				continue
			}
			if ad := e.s.schema.Types[a.Type.Name()]; !isLeaf(ad) || a.Type.Elem != nil {
				continue
			}
			if def.Kind == ast.Object && def.Fields.ForName(a.Name) != nil && fmt.Sprint(o[a.Name]) != fmt.Sprint(v) {
				ok = false
			}
		}
		if ok {
			out = append(out, o)
		}
	}
	return out
}

// page answers a connection field: first/after over the stored objects
// of the node type (cursors are positions).
func (e *exec) page(def *ast.Definition, c *connInfo, defs ast.ArgumentDefinitionList, args map[string]any) (any, error) {
	var nodeDef *ast.Definition
	if c.items == "nodes" {
		nodeDef = e.s.schema.Types[def.Fields.ForName("nodes").Type.Name()]
	} else {
		ed := e.s.schema.Types[def.Fields.ForName("edges").Type.Name()]
		nodeDef = e.s.schema.Types[ed.Fields.ForName("node").Type.Name()]
	}
	all := e.filter(e.objects(nodeDef), nodeDef, defs, args)
	start := 0
	if a, ok := args["after"].(string); ok && a != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(a, "cursor:"))
		if err != nil || !strings.HasPrefix(a, "cursor:") || n < 0 {
			return nil, fmt.Errorf("after: %q is not a cursor of this connection", a)
		}
		start = n + 1
	}
	end := len(all)
	if fv, ok := args["first"]; ok && fv != nil {
		n, _ := toInt(fv)
		if n < 0 {
			return nil, fmt.Errorf("first must not be negative")
		}
		if start+n < end {
			end = start + n
		}
	}
	if start > end {
		start = end
	}
	nodes, edges := []any{}, []any{}
	for i := start; i < end; i++ {
		nodes = append(nodes, all[i])
		edges = append(edges, map[string]any{"cursor": fmt.Sprintf("cursor:%d", i), "node": all[i]})
	}
	var endCursor any
	if end > start {
		endCursor = fmt.Sprintf("cursor:%d", end-1)
	}
	out := map[string]any{"nodes": nodes, "edges": edges, "totalCount": int64(len(all)),
		"pageInfo": map[string]any{"hasNextPage": end < len(all), "hasPreviousPage": start > 0, "endCursor": endCursor, "startCursor": nil}}
	// Other lists of the node type (SWAPI's films beside edges) hold the nodes too.
	for _, f := range def.Fields {
		if f.Type.Elem != nil && f.Type.Name() == nodeDef.Name && out[f.Name] == nil {
			out[f.Name] = nodes
		}
	}
	return out, nil
}

// target is the object type a mutation works on: its result type when
// that has an id, else the first single object field of its payload
// that has one (payload: that field's name).
func (e *exec) target(f *ast.FieldDefinition) (def *ast.Definition, payload string) {
	rd := e.s.schema.Types[f.Type.Name()]
	if rd == nil || isLeaf(rd) {
		return nil, ""
	}
	if rd.Kind == ast.Object && rd.Fields.ForName("id") != nil {
		return rd, ""
	}
	for _, pf := range rd.Fields {
		if pf.Type.Elem != nil {
			continue
		}
		if d := e.s.schema.Types[pf.Type.Name()]; d != nil && d.Kind == ast.Object && d.Fields.ForName("id") != nil {
			return d, pf.Name
		}
	}
	return nil, ""
}

func (e *exec) mutate(f *ast.Field) (any, error) {
	args := f.ArgumentMap(e.vars)
	def, payload := e.target(f.Definition)
	if def == nil {
		return map[string]any{}, nil // nothing to keep: complete answers the shape
	}
	// The inputs: the arguments, with input objects' fields lifted.
	in := map[string]any{}
	for k, v := range args {
		if m, ok := v.(map[string]any); ok {
			for k2, v2 := range m {
				in[k2] = v2
			}
			// Its fields' defaults, where the caller gave none.
			if a := f.Definition.Arguments.ForName(k); a != nil {
				if idef := e.s.schema.Types[a.Type.Name()]; idef != nil {
					for _, fd := range idef.Fields {
						if _, given := m[fd.Name]; !given && fd.DefaultValue != nil {
							if dv, err := fd.DefaultValue.Value(nil); err == nil {
								in[fd.Name] = dv
							}
						}
					}
				}
			}
			continue
		}
		in[k] = v
	}
	var rec map[string]any
	var at int
	for _, k := range sortedKeys(in) {
		if k == "id" || strings.HasSuffix(k, "Id") || strings.HasSuffix(k, "ID") {
			if o, t, i := e.byID(def, in[k]); o != nil && t == def.Name {
				rec, at = o, i
				delete(in, k)
				break
			}
		}
	}
	destructive := false
	for _, w := range connectors.Words(f.Name) {
		if openapi.WordGroup(w) == "destructive" {
			destructive = true
		}
	}
	wrap := func(o map[string]any) map[string]any {
		if payload == "" {
			return o
		}
		out := map[string]any{payload: o}
		if cm, ok := args["input"].(map[string]any); ok && cm["clientMutationId"] != nil {
			out["clientMutationId"] = cm["clientMutationId"]
		}
		// An ID field of the payload (deletedId) carries the object's id.
		if rd := e.s.schema.Types[f.Definition.Type.Name()]; rd != nil {
			for _, pf := range rd.Fields {
				if pf.Type.Name() == "ID" && pf.Type.Elem == nil {
					out[pf.Name] = o["id"]
				}
			}
		}
		return out
	}
	switch {
	case rec != nil && destructive:
		list := e.s.store[def.Name]
		e.s.store[def.Name] = append(list[:at:at], list[at+1:]...)
		return wrap(rec), nil
	case destructive:
		return nil, fmt.Errorf("no %s with the id given", def.Name)
	case rec != nil:
		e.set(def, rec, in)
		return wrap(rec), nil
	}
	rec = map[string]any{}
	e.set(def, rec, in)
	rec, err := e.s.add(def, rec)
	if err != nil {
		return nil, err
	}
	return wrap(rec), nil
}

// set copies the inputs named like def's fields into rec; an input xId
// naming another stored object links field x to it.
func (e *exec) set(def *ast.Definition, rec, in map[string]any) {
	for k, v := range in {
		if fd := def.Fields.ForName(k); fd != nil && k != "id" {
			rec[k] = v
			continue
		}
		for _, suf := range []string{"Id", "ID"} {
			if base := strings.TrimSuffix(k, suf); base != k {
				if fd := def.Fields.ForName(base); fd != nil && !isLeaf(e.s.schema.Types[fd.Type.Name()]) {
					rec[base] = v // an id: complete looks it up
				}
			}
		}
	}
}

// complete shapes a value by its type and selection set.
func (e *exec) complete(t *ast.Type, v any, ss ast.SelectionSet, path []any) any {
	if t.Elem != nil {
		var list []any
		switch x := v.(type) {
		case []any:
			list = x
		case []map[string]any:
			for _, o := range x {
				list = append(list, o)
			}
		}
		if list == nil {
			if t.NonNull {
				return []any{}
			}
			return nil
		}
		out := make([]any, len(list))
		for i, x := range list {
			out[i] = e.complete(t.Elem, x, ss, with(path, int64(i)))
		}
		return out
	}
	def := e.s.schema.Types[t.NamedType]
	if isLeaf(def) {
		if v == nil && t.NonNull {
			return fake(def, fmt.Sprint(path[len(path)-1]), 1)
		}
		return v
	}
	var obj map[string]any
	switch x := v.(type) {
	case map[string]any:
		obj = x
	case string: // a link to a stored object
		o, _, _ := e.byID(def, x)
		if o == nil {
			e.fail(path, fmt.Sprintf("no %s with id %s", def.Name, x))
			return nil
		}
		obj = o
	case nil:
		if !t.NonNull {
			return nil
		}
		obj = map[string]any{}
	default:
		return nil
	}
	if msg, ok := obj["__error"].(string); ok {
		e.fail(path, msg)
		return nil
	}
	concrete := def
	if def.Kind != ast.Object {
		if tn, ok := obj["__typename"].(string); ok && e.s.schema.Types[tn] != nil {
			concrete = e.s.schema.Types[tn]
		} else if ps := e.s.schema.GetPossibleTypes(def); len(ps) > 0 {
			concrete = ps[0]
		}
	}
	out := map[string]any{}
	for _, f := range e.fields(ss, concrete) {
		key := alias(f)
		if f.Name == "__typename" {
			out[key] = concrete.Name
			continue
		}
		if f.Definition == nil {
			continue
		}
		val := obj[f.Name]
		if val == nil {
			// A connection of another type nested here: page it.
			if fd := e.s.schema.Types[f.Definition.Type.Name()]; fd != nil && f.Definition.Type.Elem == nil {
				if c := (&builder{schema: e.s.schema}).connection(fd, f.Definition.Arguments); c != nil {
					val = map[string]any{"nodes": []any{}, "edges": []any{}, "totalCount": int64(0), "pageInfo": map[string]any{"hasNextPage": false, "hasPreviousPage": false}}
				}
			}
		}
		out[key] = e.complete(f.Definition.Type, val, f.SelectionSet, with(path, key))
	}
	return out
}

func with(path []any, x any) []any {
	return append(append(make([]any, 0, len(path)+1), path...), x)
}
