package graphql

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
)

const shopSDL = `
"A shop"
schema { query: Query mutation: Mutation }

type Query {
  "Look up a product by id."
  product(id: ID!): Product
  "Products, a page at a time."
  products(first: Int, after: String, status: Status): ProductConnection!
  version: String!
  search(term: String!): [SearchResult!]!
  node(id: ID!): Node
}

type Mutation {
  "Create a product."
  createProduct(input: CreateProductInput!): CreateProductPayload
  updateProduct(input: UpdateProductInput!): UpdateProductPayload
  deleteProduct(id: ID!): DeleteProductPayload
}

interface Node { id: ID! }
union SearchResult = Product | Category
type Category implements Node { id: ID! name: String! }
type Product implements Node {
  id: ID!
  name: String!
  price: Float
  status: Status!
  category: Category
  tags: [String!]!
  related(first: Int, after: String): ProductConnection
  reviews: [Review!]
  priceIn(currency: String!): Float
}
type Review { stars: Int! }
enum Status { ACTIVE ARCHIVED }
input ProductFilter { status: Status nameContains: String and: [ProductFilter!] }
input CreateProductInput { name: String! price: Float = 1.5 status: Status! categoryId: ID filter: ProductFilter clientMutationId: String }
input UpdateProductInput { id: ID! name: String price: Float }
type CreateProductPayload { product: Product clientMutationId: String }
type UpdateProductPayload { product: Product }
type DeleteProductPayload { deletedProductId: ID product: Product }
type ProductConnection { nodes: [Product] pageInfo: PageInfo! totalCount: Int! }
type PageInfo { hasNextPage: Boolean! endCursor: String }
`

func importShop(t testing.TB) (*connectors.Connector, *Report) {
	t.Helper()
	req := httpconn.New(httpconn.Options{}).Operations[0]
	c, rep, err := Import("shop", []byte(shopSDL), req)
	if err != nil {
		t.Fatal(err)
	}
	return c, rep
}

func op(t testing.TB, c *connectors.Connector, name string) *connectors.Operation {
	t.Helper()
	for _, o := range c.Operations {
		if o.Name == name {
			return o
		}
	}
	t.Fatalf("no operation %s", name)
	return nil
}

func TestImportShapes(t *testing.T) {
	c, rep := importShop(t)
	if rep.Found != 8 || rep.Imported != 8 || rep.Queries != 5 || rep.Mutations != 3 || rep.SourceKind != KindSDL {
		t.Fatalf("report %+v", rep)
	}
	create := op(t, c, "createProduct")
	if create.Hints.ReadOnly || create.Hints.Destructive {
		t.Errorf("createProduct hints %+v", create.Hints)
	}
	if h := op(t, c, "deleteProduct").Hints; !h.Destructive || h.ReadOnly {
		t.Errorf("deleteProduct hints %+v", h)
	}
	if h := op(t, c, "product").Hints; !h.ReadOnly || !h.Idempotent {
		t.Errorf("product hints %+v", h)
	}
	in := create.Input
	if req := in["required"].([]any); len(req) != 1 || req[0] != "input" {
		t.Errorf("required %v", req)
	}
	input := in["properties"].(map[string]any)["input"].(map[string]any)
	props := input["properties"].(map[string]any)
	if r := input["required"].([]any); len(r) != 2 {
		t.Errorf("input required %v (name, status: price has a default)", r)
	}
	if props["price"].(map[string]any)["default"] != 1.5 || props["price"].(map[string]any)["type"] != "number" {
		t.Errorf("price %v", props["price"])
	}
	if e := props["status"].(map[string]any)["enum"].([]any); len(e) != 2 {
		t.Errorf("status %v", props["status"])
	}
	// ProductFilter contains itself: expanded once, then left open.
	and := props["filter"].(map[string]any)["properties"].(map[string]any)["and"].(map[string]any)
	if !strings.Contains(and["items"].(map[string]any)["description"].(string), "recursive") {
		t.Errorf("recursive input %v", and)
	}
	// Output: the payload's scalars and the product one level down.
	out := create.Output["properties"].(map[string]any)
	prod := out["product"].(map[string]any)["properties"].(map[string]any)
	for _, f := range []string{"id", "name", "price", "status", "tags", "__typename"} {
		if prod[f] == nil {
			t.Errorf("createProduct output lacks product.%s: %v", f, prod)
		}
	}
	if prod["category"] != nil || prod["related"] != nil || prod["priceIn"] != nil || prod["reviews"] != nil {
		t.Errorf("two levels down, a connection or a field with required args selected: %v", prod)
	}
	// One level down: an unpaged list of objects is selected.
	if p := op(t, c, "product").Output["properties"].(map[string]any); p["reviews"] == nil || p["related"] != nil {
		t.Errorf("product output: %v", p)
	}
	list := op(t, c, "products")
	lp := list.Input["properties"].(map[string]any)
	if lp["fetch_all"] == nil || lp["selection"] == nil || lp["allow_partial"] == nil {
		t.Errorf("products controls %v", lp)
	}
	if op(t, c, "version").Input["properties"].(map[string]any)["selection"] != nil {
		t.Errorf("a scalar result takes no selection")
	}
}

// Every default document is valid against the schema.
func TestDefaultDocumentsValidate(t *testing.T) {
	checkDefaults(t, []byte(shopSDL))
}

// checkDefaults builds every root field's default document and validates
// it against the schema; it returns how many it checked.
func checkDefaults(t testing.TB, doc []byte) int {
	t.Helper()
	s, _, err := Load(doc)
	if err != nil {
		t.Fatal(err)
	}
	b := &builder{schema: s}
	n := 0
	for _, root := range []*ast.Definition{s.Query, s.Mutation} {
		if root == nil {
			continue
		}
		kind := "query"
		if root == s.Mutation {
			kind = "mutation"
		}
		for _, f := range root.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			_, spec, err := b.operation(kind, f, nil)
			if err != nil {
				t.Errorf("%s: %v", f.Name, err)
				continue
			}
			args := map[string]any{}
			for _, a := range f.Arguments {
				args[a.Name] = nil
			}
			sel, err := spec.selectionText("")
			if err != nil {
				t.Fatal(err)
			}
			if err := spec.check(spec.document(args, sel)); err != nil {
				t.Errorf("%s: %v\n%s", f.Name, err, spec.document(args, sel))
			}
			n++
		}
	}
	return n
}

func TestRoundTripSandbox(t *testing.T) {
	c, _ := importShop(t)
	box, err := NewSandbox("shop", []byte(shopSDL))
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		var req gqlRequest
		_ = json.Unmarshal(data, &req)
		docs = append(docs, req.Query)
		r.Body = io.NopCloser(strings.NewReader(string(data)))
		box.ServeHTTP(w, r)
	}))
	defer srv.Close()
	conn := &connectors.Connection{Name: "s", Connector: "shop", BaseURL: srv.URL, AllowPrivate: true}
	call := func(name string, in map[string]any) (map[string]any, error) {
		out, err := op(t, c, name).Invoke(context.Background(), connectors.Call{Input: in, Connection: conn})
		if err != nil {
			return nil, err
		}
		return out.(map[string]any), nil
	}
	// Create three products; values travel as variables, never in the text.
	hostile := `x") { __typename } mutation { deleteProduct(id: "1"`
	var ids []string
	for _, n := range []string{"Lamp", hostile, "Chair"} {
		out, err := call("createProduct", map[string]any{"input": map[string]any{"name": n, "status": "ACTIVE", "clientMutationId": "m1"}})
		if err != nil {
			t.Fatal(err)
		}
		p := out["body"].(map[string]any)["product"].(map[string]any)
		if p["name"] != n || p["price"] != 1.5 {
			t.Fatalf("created %v", p)
		}
		ids = append(ids, p["id"].(string))
	}
	if strings.Contains(strings.Join(docs, "\n"), "Lamp") || strings.Contains(strings.Join(docs, "\n"), "deleteProduct") {
		t.Fatalf("an argument value reached the document:\n%s", strings.Join(docs, "\n"))
	}
	// Read one back; update it.
	out, err := call("product", map[string]any{"id": ids[0]})
	if err != nil || out["body"].(map[string]any)["name"] != "Lamp" {
		t.Fatalf("get: %v %v", out, err)
	}
	if _, err := call("updateProduct", map[string]any{"input": map[string]any{"id": ids[0], "price": 9.5}}); err != nil {
		t.Fatal(err)
	}
	out, _ = call("product", map[string]any{"id": ids[0], "selection": "id price"})
	if out["body"].(map[string]any)["price"] != 9.5 {
		t.Fatalf("updated %v", out)
	}
	// A selection that does not fit the schema fails before any request.
	n := len(docs)
	if _, err := call("product", map[string]any{"id": ids[0], "selection": "{ nope }"}); err == nil || !strings.Contains(err.Error(), "does not fit") || len(docs) != n {
		t.Fatalf("bad selection: %v", err)
	}
	// Not found: errors and no data fail the step, permanently.
	_, err = call("product", map[string]any{"id": "missing"})
	if class, _ := connectors.Classify(err); err == nil || class != connectors.Permanent || !strings.Contains(err.Error(), "no Product with id missing") {
		t.Fatalf("not found: %v", err)
	}
	// fetch_all pages with first/after.
	out, err = call("products", map[string]any{"fetch_all": true, "first": 2})
	if err != nil {
		t.Fatal(err)
	}
	if nodes := out["body"].(map[string]any)["nodes"].([]any); len(nodes) != 3 || out["pages"] != int64(2) || out["truncated"] != false {
		t.Fatalf("fetch_all: %v", out)
	}
	// Without first, one page of the default size (servers like GitHub
	// refuse a connection without a page size).
	out, err = call("products", map[string]any{})
	if err != nil || len(out["body"].(map[string]any)["nodes"].([]any)) != 3 || !strings.Contains(docs[len(docs)-1], "$first: Int") {
		t.Fatalf("default first: %v %v", out, err)
	}
	out, _ = call("products", map[string]any{"fetch_all": true, "first": 1, "max_items": 2})
	if nodes := out["body"].(map[string]any)["nodes"].([]any); len(nodes) != 2 || out["truncated"] != true {
		t.Fatalf("fetch_all max_items: %v", out)
	}
	// Delete one.
	out, err = call("deleteProduct", map[string]any{"id": ids[2]})
	if err != nil || out["body"].(map[string]any)["deletedProductId"] != ids[2] {
		t.Fatalf("delete: %v %v", out, err)
	}
	// A union result: each member with its own fields.
	out, err = call("search", map[string]any{"term": "x"})
	if err != nil || len(out["body"].([]any)) != 2 || out["body"].([]any)[0].(map[string]any)["__typename"] != "Product" || out["body"].([]any)[0].(map[string]any)["name"] != "Lamp" {
		t.Fatalf("search: %v %v", out, err)
	}
	// A partial result: one stored object answers with an error.
	if err := box.Seed("Product", []map[string]any{{"name": "Broken", "__error": "price service unavailable"}}); err != nil {
		t.Fatal(err)
	}
	_, err = call("products", map[string]any{"first": 10})
	if err == nil || !strings.Contains(err.Error(), "partial result with 1 error") || !strings.Contains(err.Error(), "price service unavailable (at products.nodes.2)") {
		t.Fatalf("partial: %v", err)
	}
	out, err = call("products", map[string]any{"first": 10, "allow_partial": true})
	if err != nil || out["partial"] != true || len(out["errors"].([]any)) != 1 || len(out["body"].(map[string]any)["nodes"].([]any)) != 3 {
		t.Fatalf("allow_partial: %v %v", out, err)
	}
}

func TestErrorsFromServer(t *testing.T) {
	c, _ := importShop(t)
	var reply func(w http.ResponseWriter)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/gql" {
			w.WriteHeader(404)
			return
		}
		reply(w)
	}))
	defer srv.Close()
	conn := &connectors.Connection{Name: "s", Connector: "shop", BaseURL: srv.URL + "/api/gql", AllowPrivate: true, Config: map[string]any{"path": ""}}
	call := func(in map[string]any) error {
		_, err := op(t, c, "product").Invoke(context.Background(), connectors.Call{Input: in, Connection: conn})
		return err
	}
	reply = func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"errors":[{"message":"Variable $id is invalid"}]}`))
	}
	err := call(map[string]any{"id": "1"})
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Status != 400 || !strings.Contains(err.Error(), "Variable $id is invalid") {
		t.Fatalf("400: %v", err)
	}
	reply = func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(503)
		w.Header().Set("Retry-After", "3")
		_, _ = w.Write([]byte(`{"errors":[{"message":"down"}]}`))
	}
	if class, _ := connectors.Classify(call(map[string]any{"id": "1"})); class != connectors.Retryable {
		t.Fatalf("503 is %s", class)
	}
	reply = func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":null,"errors":[{"message":"a"},{"message":"b"},{"message":"c"},{"message":"d"}]}`))
	}
	if err := call(map[string]any{"id": "1"}); err == nil || !strings.Contains(err.Error(), "a; b; c; and 1 more") {
		t.Fatalf("errors: %v", err)
	}
	reply = func(w http.ResponseWriter) { _, _ = w.Write([]byte(`<html>`)) }
	if err := call(map[string]any{"id": "1"}); err == nil || !strings.Contains(err.Error(), "not a GraphQL result") {
		t.Fatalf("html: %v", err)
	}
	if err := call(map[string]any{"nope": 1, "id": "1"}); err == nil || !strings.Contains(err.Error(), `unknown input "nope"`) {
		t.Fatalf("unknown input: %v", err)
	}
	if err := call(map[string]any{}); err == nil || !strings.Contains(err.Error(), `missing required input "id"`) {
		t.Fatalf("missing: %v", err)
	}
	conn = &connectors.Connection{Name: "s", Connector: "shop"}
	if err := call(map[string]any{"id": "1"}); err == nil || !strings.Contains(err.Error(), "needs base_url") {
		t.Fatalf("no base_url: %v", err)
	}
}
