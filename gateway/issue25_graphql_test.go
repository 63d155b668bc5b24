package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/graphql"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/connectors/sandbox"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/nl2flow"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

const crmSDL = `
type Query {
  "Look up a customer account by id."
  account(id: ID!): Account
  "List customer accounts, a page at a time."
  accounts(first: Int, after: String): AccountConnection!
}
type Mutation {
  "Create a customer account in the CRM."
  createAccount(input: CreateAccountInput!): CreateAccountPayload
}
type Account { id: ID! name: String! email: String tier: Tier! }
enum Tier { FREE PRO }
input CreateAccountInput { name: String! email: String tier: Tier = FREE }
type CreateAccountPayload { account: Account }
type AccountConnection { nodes: [Account] pageInfo: PageInfo! }
type PageInfo { hasNextPage: Boolean! endCursor: String }
`

// Issue 25: a GraphQL schema goes through the import API (stored with its
// kind), a draft flow over it runs against its GraphQL sandbox (a create,
// then a read of what was created), and NL-to-flow finds its operations.
func TestIssue25_GraphQLImportSandboxAndNL2Flow(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	e := engine.New(st, cat, nil, engine.Config{SyncTimeout: 10 * time.Second})
	if err := st.StartQueue(ctx, e.Workers(), store.QueueConfig{Workers: 2, FetchPollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.BeginShutdown()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.StopQueue(c)
		_ = st.Close()
	})
	box, err := graphql.NewSandbox("crm", []byte(crmSDL))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(sandbox.Prefix("crm")+"/", http.StripPrefix(sandbox.Prefix("crm"), box))
	h := gateway.New(e, nil, gateway.Config{Sandbox: mux, Sandboxes: []string{"crm"},
		NL2Flow: &nl2flow.Compiler{Catalog: func() *nl2flow.Catalog { return nl2flow.FromConnectors(cat) }}})

	// The CLI (weft connector import schema.graphql) sends any document
	// as application/json; the importer reads its content.
	a := serveWithin(t, h, "POST", "/api/connectors/import?name=crm", "application/json", crmSDL, 10*time.Second)
	rep, _ := a.body["report"].(map[string]any)
	if a.status != 201 || a.body["kind"] != "graphql" || rep["imported"] != float64(3) {
		t.Fatalf("import: %d %v", a.status, a.body)
	}
	specs, err := st.ConnectorSpecs(ctx)
	if err != nil || len(specs) != 1 || specs[0].Kind != "graphql" {
		t.Fatalf("stored: %v %+v", err, specs)
	}
	if err := cat.AddConnection(&connectors.Connection{Name: "crm", Connector: "crm", BaseURL: "https://crm.example.invalid"}); err != nil {
		t.Fatal(err)
	}
	flow := `name: gql-draft
trigger: {webhook: {mode: sync}}
steps:
  - id: create
    call: crm.createAccount
    connection: crm
    with: {input: {name: =trigger.body.name, email: =trigger.body.email}}
  - id: read
    call: crm.account
    connection: crm
    with: {id: =steps.create.body.account.id}
  - id: reply
    respond:
      status: 200
      body: {id: =steps.read.body.id, name: =steps.read.body.name, tier: =steps.read.body.tier}
`
	req, _ := json.Marshal(map[string]any{"source": flow, "file": "d.yaml", "sandbox": true, "input": map[string]any{"body": map[string]any{"name": "Ada", "email": "ada@example.com"}}})
	a = serveWithin(t, h, "POST", "/api/flows/test", "application/json", string(req), 20*time.Second)
	resp, _ := a.body["response"].(map[string]any)
	body, _ := resp["body"].(map[string]any)
	if a.status != 200 || a.body["status"] != "succeeded" || body["name"] != "Ada" || body["tier"] != "FREE" || !strings.HasPrefix(body["id"].(string), "Account-") {
		t.Fatalf("test run: %d %v", a.status, a.body)
	}

	nl, _ := json.Marshal(map[string]any{"text": "when a webhook arrives, create an account in the CRM", "backend": "builtin"})
	a = serveWithin(t, h, "POST", "/api/nl2flow", "application/json", string(nl), 20*time.Second)
	out, _ := json.Marshal(a.body)
	if a.status != 200 || !strings.Contains(string(out), "crm.createAccount") || a.body["valid"] != true {
		t.Fatalf("nl2flow: %d %s", a.status, out)
	}
}
