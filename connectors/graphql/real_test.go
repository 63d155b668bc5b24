package graphql

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	httpconn "github.com/weftio/weft/connectors/http"
)

func readDoc(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

// realDocs are the public schemas under testdata, with what each must
// yield at least.
var realDocs = []struct {
	name, path          string
	minQueries, minMuts int
	connections         int
}{
	{"github_sdl", "testdata/github/schema.graphql.gz", 25, 240, 5},
	{"github_introspection", "testdata/github/schema.json.gz", 25, 240, 5},
	{"swapi", "testdata/swapi/schema.graphql", 10, 0, 6},
	{"shopify_storefront", "testdata/shopify/storefront.schema.json.gz", 20, 20, 5},
	{"shopify_customer_account", "testdata/shopify/customer-account.schema.json.gz", 3, 10, 0},
}

// TestRealSchemas imports each public schema: every root field imported,
// every default document valid against its schema, connections found.
func TestRealSchemas(t *testing.T) {
	req := httpconn.New(httpconn.Options{}).Operations[0]
	for _, d := range realDocs {
		t.Run(d.name, func(t *testing.T) {
			doc := readDoc(t, d.path)
			if !Detect(doc) {
				t.Fatalf("%s is not detected as GraphQL", d.path)
			}
			c, rep, err := Import("x", doc, req)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Queries < d.minQueries || rep.Mutations < d.minMuts || len(rep.Rejected) != 0 || rep.Imported != len(c.Operations) {
				t.Fatalf("report %+v", rep)
			}
			conns := 0
			names := map[string]bool{}
			for _, o := range c.Operations {
				if names[o.Name] || len(o.Name) > MaxNameLen {
					t.Errorf("name %q repeated or too long", o.Name)
				}
				names[o.Name] = true
				if o.Input["properties"].(map[string]any)["fetch_all"] != nil {
					conns++
				}
			}
			if conns < d.connections {
				t.Errorf("%d connection operations, want at least %d", conns, d.connections)
			}
			if n := checkDefaults(t, doc); n != rep.Imported {
				t.Errorf("checked %d documents of %d operations", n, rep.Imported)
			}
			t.Logf("%s: %d types, found %d, imported %d (%d queries, %d mutations), %d warnings, %s", d.path, rep.Types, rep.Found, rep.Imported, rep.Queries, rep.Mutations, len(rep.Warnings), rep.Duration)
		})
	}
}

func TestGitHubShapes(t *testing.T) {
	req := httpconn.New(httpconn.Options{}).Operations[0]
	c, rep, err := Import("github", readDoc(t, "testdata/github/schema.graphql.gz"), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[0], "defined twice") {
		t.Errorf("warnings %v", rep.Warnings)
	}
	ci := op(t, c, "createIssue")
	if ci.Hints.ReadOnly || ci.Hints.Destructive {
		t.Errorf("createIssue %+v", ci.Hints)
	}
	if !op(t, c, "deleteIssue").Hints.Destructive {
		t.Errorf("deleteIssue is not destructive")
	}
	input := ci.Input["properties"].(map[string]any)["input"].(map[string]any)
	req2 := fmt.Sprint(input["required"])
	if !strings.Contains(req2, "repositoryId") || !strings.Contains(req2, "title") {
		t.Errorf("CreateIssueInput required %s", req2)
	}
	issue := ci.Output["properties"].(map[string]any)["issue"].(map[string]any)["properties"].(map[string]any)
	if issue["number"] == nil || issue["title"] == nil || issue["url"] == nil {
		t.Errorf("createIssue output issue %v", issue)
	}
	if op(t, c, "repository").Hints.ReadOnly != true {
		t.Errorf("repository is a query")
	}
}

// synthetic is a schema with n queries and n mutations over n types.
func synthetic(n int) []byte {
	var b strings.Builder
	b.WriteString("type PageInfo { hasNextPage: Boolean! endCursor: String }\ntype Query {\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  thing%d(id: ID!): Thing%d\n  things%d(first: Int, after: String, filter: Filter%d): Thing%dConnection!\n", i, i, i, i, i)
	}
	b.WriteString("}\ntype Mutation {\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  createThing%d(input: Thing%dInput!): Thing%dPayload\n", i, i, i)
	}
	b.WriteString("}\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `type Thing%[1]d { id: ID! name: String! size: Int state: State parent: Thing%[1]d owner: Owner }
type Thing%[1]dConnection { nodes: [Thing%[1]d] pageInfo: PageInfo! totalCount: Int }
type Thing%[1]dPayload { thing: Thing%[1]d clientMutationId: String }
input Thing%[1]dInput { name: String! size: Int = 1 state: State child: Thing%[1]dInput }
input Filter%[1]d { state: State and: [Filter%[1]d!] }
`, i)
	}
	b.WriteString("type Owner { login: String! }\nenum State { OPEN CLOSED }\n")
	return []byte(b.String())
}

func TestSyntheticThousand(t *testing.T) {
	req := httpconn.New(httpconn.Options{}).Operations[0]
	_, rep, err := Import("x", synthetic(500), req)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 1500 {
		t.Fatalf("imported %d", rep.Imported)
	}
	t.Logf("1,500 operations in %s", rep.Duration)
}

// BenchmarkImport: GitHub's schema (SDL and introspection) and a
// synthetic schema of 1,500 operations.
func BenchmarkImport(b *testing.B) {
	req := httpconn.New(httpconn.Options{}).Operations[0]
	docs := map[string][]byte{"github_sdl": readDoc(b, "testdata/github/schema.graphql.gz"),
		"github_introspection": readDoc(b, "testdata/github/schema.json.gz"), "swapi": readDoc(b, "testdata/swapi/schema.graphql"),
		"shopify_storefront": readDoc(b, "testdata/shopify/storefront.schema.json.gz"), "synthetic_1500": synthetic(500)}
	for _, name := range []string{"github_sdl", "github_introspection", "swapi", "shopify_storefront", "synthetic_1500"} {
		doc := docs[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for i := 0; i < b.N; i++ {
				if _, _, err := Import("x", doc, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoad: parsing and validating alone (gqlparser; the baseline of
// BenchmarkImport).
func BenchmarkLoad(b *testing.B) {
	docs := map[string][]byte{"github_sdl": readDoc(b, "testdata/github/schema.graphql.gz"),
		"github_introspection": readDoc(b, "testdata/github/schema.json.gz"), "swapi": readDoc(b, "testdata/swapi/schema.graphql"),
		"synthetic_1500": synthetic(500)}
	for _, name := range []string{"github_sdl", "github_introspection", "swapi", "synthetic_1500"} {
		doc := docs[name]
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, _, err := Load(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
