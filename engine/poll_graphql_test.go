package engine_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/graphql"
)

// A poll trigger over an imported GraphQL connection query: the
// connector's declared trigger (records at body.nodes, key id, cursor
// updatedAt) polls the GraphQL sandbox with fetch_all, one run per record
// across pages, and one more per record added later.
func TestPollTriggerOverGraphQLConnection(t *testing.T) {
	const sdl = `
scalar DateTime
type Query { orders(first: Int, after: String): OrderConnection! }
type PageInfo { hasNextPage: Boolean! endCursor: String }
type Order { id: ID! name: String createdAt: DateTime! updatedAt: DateTime! }
type OrderEdge { node: Order! cursor: String! }
type OrderConnection { edges: [OrderEdge!]! pageInfo: PageInfo! }
`
	e := newEngine(t)
	if _, err := graphql.Register(e.Catalog(), "shop", []byte(sdl)); err != nil {
		t.Fatal(err)
	}
	box, err := graphql.NewSandbox("shop", []byte(sdl))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(box)
	defer srv.Close()
	if err := e.Catalog().AddConnection(&connectors.Connection{Name: "shop", Connector: "shop", BaseURL: srv.URL, AllowPrivate: true, Config: map[string]any{"path": ""}}); err != nil {
		t.Fatal(err)
	}
	seed := func(from, to int) {
		t.Helper()
		var objs []map[string]any
		for i := from; i <= to; i++ {
			ts := time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC).Format(time.RFC3339)
			objs = append(objs, map[string]any{"id": "o" + string(rune('a'+i)), "name": "order", "createdAt": ts, "updatedAt": ts})
		}
		if err := box.Seed("Order", objs); err != nil {
			t.Fatal(err)
		}
	}
	seed(0, 24) // over the default page size of the connection's paging
	deploy(t, e, `name: orders
trigger:
  poll:
    operation: shop.orders
    connection: shop
    input: {fetch_all: true, first: 10}
    every: 1s
    start: all
steps:
  - id: s
    set: {order: =trigger.body.id}
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 100*time.Millisecond)
	wait := func(n int) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			got := pollRuns(t, e, "orders")
			if len(got) == n {
				return
			}
			if len(got) > n || time.Now().After(deadline) {
				t.Fatalf("%d runs, want %d: %v", len(got), n, got)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	wait(25)
	seed(25, 26)
	wait(27)
	time.Sleep(2 * time.Second) // more polls, nothing new
	wait(27)
	cur, _ := e.Store().TriggerCursor(context.Background(), "orders")
	if cur == "" || cur[:26] != `{"at":"2026-01-01T00:00:26` {
		t.Fatalf("cursor %s", cur)
	}
}
