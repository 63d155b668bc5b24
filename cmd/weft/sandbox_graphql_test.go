package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 25: weft sandbox (and sandboxes: in the config) serves a GraphQL
// schema beside OpenAPI documents, seeded by type from NAME.seed.json.
func TestIssue25_SandboxServesGraphQL(t *testing.T) {
	dir := t.TempDir()
	schema := "type Query { products(first: Int, after: String): ProductConnection! }\n" +
		"type Product { id: ID! name: String! }\ntype ProductConnection { nodes: [Product] pageInfo: PageInfo! }\n" +
		"type PageInfo { hasNextPage: Boolean! endCursor: String }\n"
	if err := os.WriteFile(filepath.Join(dir, "shop.graphql"), []byte(schema), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "shop.seed.json"), []byte(`{"Product": [{"name": "Lamp"}, {"name": "Chair"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	boxes, err := loadSandboxes([]string{filepath.Join(dir, "*")}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(boxes) != 1 || boxes[0].Name != "shop" {
		t.Fatalf("boxes %+v", boxes)
	}
	srv := httptest.NewServer(mountSandboxes(boxes))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/sandbox/shop/graphql", "application/json", strings.NewReader(`{"query": "{ products(first: 1) { nodes { name } pageInfo { hasNextPage } } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(b.String(), `"name":"Lamp"`) || !strings.Contains(b.String(), `"hasNextPage":true`) {
		t.Fatalf("%d %s", resp.StatusCode, b.String())
	}
	// A bad seed type is a clear error.
	if err := os.WriteFile(filepath.Join(dir, "shop.seed.json"), []byte(`{"Nope": [{}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSandboxes([]string{filepath.Join(dir, "shop.graphql")}, ""); err == nil || !strings.Contains(err.Error(), "not an object type") {
		t.Fatalf("bad seed: %v", err)
	}
}
