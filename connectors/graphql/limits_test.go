package graphql

import (
	"strings"
	"testing"

	"github.com/weftio/weft"
	httpconn "github.com/weftio/weft/connectors/http"
)

const tinyIntrospection = `{"data":{"__schema":{"queryType":{"name":"Q"},"mutationType":null,"subscriptionType":null,"types":[
{"kind":"OBJECT","name":"Q","fields":[{"name":"a","args":[{"name":"x","type":{"kind":"NON_NULL","ofType":{"kind":"SCALAR","name":"Int"}},"defaultValue":"3"}],"type":{"kind":"SCALAR","name":"String"}}],"interfaces":[]},
{"kind":"SCALAR","name":"String"},{"kind":"SCALAR","name":"Int"}]}}}`

func TestBadDocuments(t *testing.T) {
	cases := map[string]struct {
		doc  string
		want string
	}{
		"malformed SDL":         {"type Query { a: }", "graphql schema"},
		"no root":               {"type A { a: Int }", "neither a query nor a mutation"},
		"unknown type":          {"type Query { a: Nope }", "Nope"},
		"introspection no root": {`{"x": 1}`, "no __schema"},
		"bad name":              {`{"__schema":{"queryType":{"name":"Q } type X {"},"types":[]}}`, "not a GraphQL name"},
		"injected default": {strings.Replace(tinyIntrospection, `"defaultValue":"3"`, `"defaultValue":"3) { a } type Evil { b: Int } type Q2 { c(y: Int = 4"`, 1),
			"default value"},
		"deep type ref": {`{"__schema":{"queryType":{"name":"Q"},"types":[{"kind":"OBJECT","name":"Q","fields":[{"name":"a","args":[],"type":` +
			strings.Repeat(`{"kind":"LIST","ofType":`, 20) + `{"kind":"SCALAR","name":"Int"}` + strings.Repeat("}", 20) + `}]}]}}`, "nested more than"},
		"deep SDL nesting": {"type Query { a(x: Int = " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "): Int }", "graphql schema"},
		"too large":        {strings.Repeat(" ", MaxSchemaBytes+1), "limit"},
		"not JSON object":  {`[1,2]`, "graphql schema"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := Load([]byte(c.doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
		})
	}
	if _, _, err := Load([]byte(strings.Repeat(" ", MaxSchemaBytes+1))); weft.Code(err) != weft.ETooLarge {
		t.Errorf("too large: code %s", weft.Code(err))
	}
	s, kind, err := Load([]byte(tinyIntrospection))
	if err != nil || kind != KindIntrospection || s.Query.Fields.ForName("a").Arguments[0].DefaultValue.String() != "3" {
		t.Fatalf("tiny introspection: %v", err)
	}
}

// Recursive output types end: the default selection goes one level down.
func TestRecursiveTypes(t *testing.T) {
	doc := `type Query { node(id: ID!): N  all: [N!]! }
type N { id: ID! parent: N children: [N!]! self: N! }
input I { next: I list: [I!] }
type Mutation { put(i: I): N }`
	req := httpconn.New(httpconn.Options{}).Operations[0]
	c, _, err := Import("r", []byte(doc), req)
	if err != nil {
		t.Fatal(err)
	}
	checkDefaults(t, []byte(doc))
	props := op(t, c, "node").Output["properties"].(map[string]any)
	if props["parent"] == nil || props["children"] == nil {
		t.Errorf("node output %v", props)
	}
	if p := props["parent"].(map[string]any)["properties"].(map[string]any); p["parent"] != nil {
		t.Errorf("two levels: %v", p)
	}
}

// FuzzLoad: any bytes give a schema or an error, never a panic; a schema
// imports, and its default documents validate.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(shopSDL))
	f.Add([]byte(tinyIntrospection))
	f.Add([]byte(`type Query { a(x: [[Int!]]): [String] } union U = Query`))
	f.Add([]byte(`"""d""" schema { query: Q } type Q { a: E } enum E { A B } input In { a: In = {a: null} }`))
	f.Add([]byte(`{"__schema":{"queryType":{"name":"Q"},"types":[{"kind":"OBJECT","name":"Q","fields":[{"name":"a","args":[],"type":{"kind":"SCALAR","name":"Int"}}]}]}}`))
	req := httpconn.New(httpconn.Options{}).Operations[0]
	f.Fuzz(func(t *testing.T, doc []byte) {
		if len(doc) > 1<<16 {
			return
		}
		if _, _, err := Load(doc); err != nil {
			return
		}
		if _, _, err := Import("f", doc, req); err != nil {
			t.Fatalf("loads but does not import: %v", err)
		}
		checkDefaults(t, doc)
	})
}

// FuzzSandbox: any request to a sandbox gets an answer, never a panic.
func FuzzSandbox(f *testing.F) {
	box, err := NewSandbox("shop", []byte(shopSDL))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(`mutation { createProduct(input: {name: "a", status: ACTIVE}) { product { id name } } }`)
	f.Add(`{ products(first: 1) { nodes { id related { totalCount } } pageInfo { endCursor } } }`)
	f.Add(`query($id: ID!) { product(id: $id) { ...F } } fragment F on Product { id category { name } }`)
	f.Add(`{ search(term: "x") { ... on Category { name } ... on Product { tags } } node(id: "1") { id } }`)
	f.Fuzz(func(t *testing.T, q string) {
		if len(q) > 1<<14 {
			return
		}
		status, res := box.Execute(q, "", map[string]any{"id": "Product-1"}, false)
		if status == 200 && res["data"] == nil {
			t.Fatalf("200 without data: %v", res)
		}
	})
}

// import_annotations: recorded in the document (SDL and introspection),
// applied on import and on every reload; unknown names fail.
func TestAnnotations(t *testing.T) {
	req := httpconn.New(httpconn.Options{}).Operations[0]
	over := map[string]map[string]bool{"createProduct": {"idempotent": true}, "mutation deleteProduct": {"destructive": false}, "version": {"read_only": false, "destructive": true}}
	for _, doc := range []string{shopSDL, tinyIntrospectionShop()} {
		ann, err := Annotate([]byte(doc), over)
		if err != nil {
			t.Fatal(err)
		}
		if !Detect(ann) {
			t.Fatalf("annotated document not detected: %.80s", ann)
		}
		again, err := Annotate(ann, over) // annotating again replaces, not stacks
		if err != nil || string(again) != string(ann) {
			t.Fatalf("annotate twice: %v\n%.200s\n%.200s", err, ann, again)
		}
		c, _, err := Import("shop", ann, req)
		if err != nil {
			t.Fatal(err)
		}
		if h := op(t, c, "createProduct").Hints; !h.Idempotent || h.ReadOnly {
			t.Errorf("createProduct %+v", h)
		}
		if h := op(t, c, "deleteProduct").Hints; h.Destructive {
			t.Errorf("deleteProduct %+v", h)
		}
		if h := op(t, c, "version").Hints; h.ReadOnly || !h.Destructive {
			t.Errorf("version %+v", h)
		}
		if _, _, err := Load(ann); err != nil {
			t.Fatal(err)
		}
	}
	bad, _ := Annotate([]byte(shopSDL), map[string]map[string]bool{"nope": {"read_only": true}})
	if _, _, err := Import("shop", bad, req); err == nil || !strings.Contains(err.Error(), "no query or mutation") {
		t.Fatalf("unknown name: %v", err)
	}
	for _, o := range []map[string]map[string]bool{{"x": {}}, {"x": {"fast": true}}, {"x": {"read_only": true, "destructive": true}}} {
		if _, err := Annotate([]byte(shopSDL), o); err == nil {
			t.Errorf("%v accepted", o)
		}
	}
}

// tinyIntrospectionShop is the shop schema as an introspection result
// would carry it (built from the SDL through Load, printed back as JSON).
func tinyIntrospectionShop() string {
	return `{"__schema":{"queryType":{"name":"Query"},"mutationType":{"name":"Mutation"},"types":[
{"kind":"OBJECT","name":"Query","fields":[{"name":"version","args":[],"type":{"kind":"SCALAR","name":"String"}}]},
{"kind":"OBJECT","name":"P","fields":[{"name":"id","args":[],"type":{"kind":"SCALAR","name":"ID"}}]},
{"kind":"OBJECT","name":"Mutation","fields":[
 {"name":"createProduct","args":[],"type":{"kind":"OBJECT","name":"P"}},
 {"name":"deleteProduct","args":[],"type":{"kind":"OBJECT","name":"P"}}]}]}}`
}
