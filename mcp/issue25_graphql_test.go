package mcp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/importer"
	"github.com/weftio/weft/mcp"
)

// Issue 25: a GraphQL import's operations reach MCP as tools, queries
// read-only and idempotent, mutations not read-only (destructive when
// their name says delete/remove...), one tool per imported operation.
func TestIssue25_GraphQLToolsAndAnnotations(t *testing.T) {
	gz, err := os.ReadFile("../connectors/graphql/testdata/github/schema.graphql.gz")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t)
	res, err := importer.Register(e.Catalog(), "ghgql", spec)
	if err != nil || res.Kind != importer.KindGraphQL {
		t.Fatalf("import: %v %+v", err, res)
	}
	if err := e.Catalog().AddConnection(&connectors.Connection{Name: "gh", Connector: "ghgql", BaseURL: "https://api.github.com"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{}))
	defer srv.Close()
	ctx := context.Background()
	s, err := sdk.NewClient(&sdk.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tools := map[string]*sdk.Tool{}
	for tool, err := range s.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		tools[tool.Name] = tool
	}
	n := 0
	for name := range tools {
		if len(name) > 4 && name[:4] == "gh__" {
			n++
		}
	}
	if n != res.Imported {
		t.Fatalf("%d operations imported, %d tools", res.Imported, n)
	}
	check := func(name string, readOnly, destructive bool) {
		t.Helper()
		tool := tools[name]
		if tool == nil || tool.Annotations == nil {
			t.Fatalf("no tool %s", name)
		}
		a := tool.Annotations
		if a.ReadOnlyHint != readOnly || a.DestructiveHint == nil || *a.DestructiveHint != destructive {
			t.Errorf("%s: read-only %v destructive %v, want %v %v", name, a.ReadOnlyHint, a.DestructiveHint, readOnly, destructive)
		}
		if tool.InputSchema == nil {
			t.Errorf("%s has no input schema", name)
		}
	}
	check("gh__repository", true, false)
	check("gh__createIssue", false, false)
	check("gh__deleteIssue", false, true)
}
