package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftio/weft/ai/qdranttest"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/internal/egress"
	"github.com/weftio/weft/mcp"
	"github.com/weftio/weft/store/sqlite"
)

// WEFT_QDRANT_URL puts the shared search's vectors in Qdrant (here the
// in-process one, speaking Qdrant's gRPC API): weft connector search
// (GET /api/connectors/search) and search_tools upsert the operations there
// and query it; the dial obeys the egress policy.
func TestQdrantURLWiresSharedSearch(t *testing.T) {
	srv := qdranttest.Start(t)
	cfg, err := loadConfig("", []string{"WEFT_QDRANT_URL=" + srv.URL()})
	if err != nil || cfg.AI.QdrantURL != srv.URL() {
		t.Fatalf("%v %+v", err, cfg.AI)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	noop := func(context.Context, connectors.Call) (any, error) { return map[string]any{}, nil }
	cat := connectors.NewCatalog(&connectors.Connector{Name: "crm", Title: "CRM", Operations: []*connectors.Operation{
		{Name: "closeDeal", Title: "Close a deal", Description: "Mark a deal as won or lost", Invoke: noop},
		{Name: "createContact", Title: "Create contact", Description: "Create a contact in the CRM", Invoke: noop},
		{Name: "lookupPostalArea", Description: "Find the region of a zip code", Invoke: noop},
	}})
	if err := cat.AddConnection(&connectors.Connection{Name: "crm", Connector: "crm"}); err != nil {
		t.Fatal(err)
	}
	e := engine.New(st, cat, nil, engine.Config{})
	emb, composer, err := aiBackends(e, cfg.AI, nil)
	if err != nil || composer.Vectors == nil {
		t.Fatalf("%v %v", err, composer.Vectors)
	}
	api := httptest.NewServer(gateway.New(e, nil, gateway.Config{}))
	t.Cleanup(api.Close)
	var out, errOut bytes.Buffer
	if code := run([]string{"connector", "search", "postcode", "--server", api.URL}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "crm.lookupPostalArea") {
		t.Fatalf("exit %d: %s%s", code, out.String(), errOut.String())
	}
	if srv.Calls("/qdrant.Points/Upsert") == 0 || srv.Calls("/qdrant.Points/Query") == 0 || srv.Len("weft_operations_builtin-v4") != 3 {
		t.Fatalf("connector search did not go through Qdrant: %d upserts, %d queries, %d points",
			srv.Calls("/qdrant.Points/Upsert"), srv.Calls("/qdrant.Points/Query"), srv.Len("weft_operations_builtin-v4"))
	}
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Search: mcpSearch(emb, composer)})
	queries := srv.Calls("/qdrant.Points/Query")
	if got, err := gw.SearchTools(ctx, "discovery", "zip code region", 1); err != nil || len(got) != 1 || got[0] != "crm__lookupPostalArea" {
		t.Fatalf("search_tools: %v %v", got, err)
	}
	if srv.Calls("/qdrant.Points/Query") != queries+1 || srv.Len("weft_tools_discovery_builtin-v4") != 3 {
		t.Fatalf("search_tools did not go through Qdrant: %d points", srv.Len("weft_tools_discovery_builtin-v4"))
	}

	// Under an egress policy that does not list Qdrant, the dial is refused.
	deny := egress.MustNew("localhost:1")
	vec, err := vectorIndex(cfg.AI, deny)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vec.Search(ctx, "weft_operations_builtin-v4", make([]float32, 1024), 1); err == nil || !strings.Contains(err.Error(), "refused by the egress policy") {
		t.Fatalf("egress: %v", err)
	}
}
