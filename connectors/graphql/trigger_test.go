package graphql

import (
	"testing"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
)

const pollSDL = `
scalar DateTime
type Query {
  orders(first: Int, after: String): OrderConnection!
  notes(first: Int, after: String): NoteConnection!
  events(first: Int, after: String): EventConnection!
  articles(first: Int, after: String): ArticleConnection!
}
type PageInfo { hasNextPage: Boolean! endCursor: String }
type Order { id: ID! name: String createdAt: DateTime! updatedAt: DateTime! deletedAt: DateTime }
type OrderEdge { node: Order! cursor: String! }
type OrderConnection { edges: [OrderEdge!]! pageInfo: PageInfo! }
type Note { id: ID! text: String }
type NoteConnection { nodes: [Note!]! pageInfo: PageInfo! }
type Event { at: DateTime! kind: String }
type EventConnection { nodes: [Event!]! pageInfo: PageInfo! }
type Article { id: ID! title: String withdrawnAt: DateTime publishedAt: DateTime! }
type ArticleConnection { nodes: [Article!]! pageInfo: PageInfo! }
`

func triggersOf(c *connectors.Connector) map[string]connectors.Trigger {
	out := map[string]connectors.Trigger{}
	for _, t := range c.Triggers {
		out[t.Operation] = t
	}
	return out
}

// A query returning a connection whose nodes carry an ID and a date/time
// field is a poll trigger: records at body.nodes (edges included), keyed
// by the ID, ordered by a non-null time field that moves on change.
func TestPollTriggersFromConnections(t *testing.T) {
	req := httpconn.New(httpconn.Options{}).Operations[0]
	c, _, err := Import("shop", []byte(pollSDL), req)
	if err != nil {
		t.Fatal(err)
	}
	tr := triggersOf(c)
	if got := tr["orders"]; got.Items != "body.nodes" || got.Key != "id" || got.Cursor != "updatedAt" {
		t.Errorf("orders: %+v", got)
	}
	if _, ok := tr["notes"]; ok {
		t.Error("notes have no time field: no order, no trigger")
	}
	if _, ok := tr["events"]; ok {
		t.Error("events have no ID: no identity, no trigger")
	}
	if got := tr["articles"]; got.Cursor != "publishedAt" || got.Description[:4] != "New " {
		t.Errorf("articles: %+v (a nullable withdrawnAt is no cursor; publishedAt is set once)", got)
	}
	// The edges' nodes are in the output schema as nodes.
	var orders *connectors.Operation
	for _, o := range c.Operations {
		if o.Name == "orders" {
			orders = o
		}
	}
	if props, _ := orders.Output["properties"].(map[string]any); props["nodes"] == nil || props["edges"] == nil {
		t.Fatalf("orders output %v", orders.Output)
	}
}

func TestPollTriggersOfRealSchemas(t *testing.T) {
	req := httpconn.New(httpconn.Options{}).Operations[0]
	for _, d := range []struct {
		path, op, cursor string
		none             bool
	}{
		{"testdata/shopify/storefront.schema.json.gz", "products", "updatedAt", false},
		{"testdata/github/schema.graphql.gz", "securityAdvisories", "updatedAt", false},
		{"testdata/swapi/schema.graphql", "allFilms", "", true}, // created/edited are Strings
	} {
		c, _, err := Import("x", readDoc(t, d.path), req)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := triggersOf(c)[d.op]
		if d.none {
			if len(c.Triggers) != 0 {
				t.Errorf("%s: triggers %+v", d.path, c.Triggers)
			}
			continue
		}
		if !ok || got.Cursor != d.cursor || got.Key != "id" || got.Items != "body.nodes" {
			t.Errorf("%s %s: %+v", d.path, d.op, got)
		}
	}
}
