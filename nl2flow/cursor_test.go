package nl2flow_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/graphql"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/connectors/odata"
	"github.com/weftio/weft/internal/examplecat"
	"github.com/weftio/weft/nl2flow"
)

// A poll trigger for new records orders them by a field the schema says is
// a point in time. SAP's business partner has CreatedByUser (free text),
// CreationDate (Edm.DateTime) and CreationTime (Edm.Time, a time of day):
// the cursor is CreationDate, never the user's name.
func TestPollCursorFromSchema(t *testing.T) {
	cc := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	doc, err := os.ReadFile("../connectors/odata/testdata/real/sap_api_business_partner.edmx")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := odata.Register(cc, "sap", doc); err != nil {
		t.Fatal(err)
	}
	if err := cc.AddConnection(&connectors.Connection{Name: "sap", Connector: "sap", BaseURL: "https://sap.example.com/odata"}); err != nil {
		t.Fatal(err)
	}
	cat := nl2flow.FromConnectors(cc)
	op, ok := cat.Op("sap.list_A_BusinessPartner")
	if !ok || op.Verb != "list" || op.Object != "business partner" {
		t.Fatalf("list_A_BusinessPartner: %+v", op)
	}
	c := &nl2flow.Compiler{Catalog: func() *nl2flow.Catalog { return cat }}
	d, err := c.Compile(context.Background(), nl2flow.Request{Text: "When a new business partner is created in SAP, list its addresses", Backend: "builtin"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.YAML, "operation: sap.list_A_BusinessPartner") || !strings.Contains(d.YAML, "cursor: CreationDate") {
		t.Fatalf("want a poll of business partners ordered by CreationDate:\n%s", d.YAML)
	}
}

// A GraphQL connector's queries are named by the record they return
// (`repository`, `issues`): NL-to-flow reads them as get and list of that
// record kind, and drafts them when a request asks for those records.
func TestGraphQLNounQueries(t *testing.T) {
	cc, err := examplecat.Load("..")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../examples/graphql/code-host.graphql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := graphql.Register(cc, "github", doc); err != nil {
		t.Fatal(err)
	}
	if err := cc.AddConnection(&connectors.Connection{Name: "github", Connector: "github", BaseURL: "https://code.example.com/graphql"}); err != nil {
		t.Fatal(err)
	}
	cat := nl2flow.FromConnectors(cc)
	for ref, want := range map[string][2]string{
		"github.repository":  {"get", "repository"},
		"github.issues":      {"list", "issue"},
		"github.viewer":      {"get", "viewer"},
		"github.createIssue": {"create", "issue"},
	} {
		op, ok := cat.Op(ref)
		if !ok {
			t.Fatalf("%s not in the catalog: %v", ref, cat.OperationNames())
		}
		if op.Verb != want[0] || op.Object != want[1] {
			t.Errorf("%s: verb %q object %q, want %v", ref, op.Verb, op.Object, want)
		}
	}
	c := &nl2flow.Compiler{Catalog: func() *nl2flow.Catalog { return cat }}
	for text, want := range map[string]string{
		"Every Monday at 9am, list the issues in GitHub and post a summary to #dev in chat": "call: github.issues",
		"Get the weft repository from GitHub":                                               "call: github.repository",
	} {
		d, err := c.Compile(context.Background(), nl2flow.Request{Text: text, Backend: "builtin"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(d.YAML, want) {
			t.Errorf("%q: want %s\n%s\nnot understood: %v", text, want, d.YAML, d.NotUnderstood)
		}
		if strings.Contains(d.YAML, "call: tracker.") {
			t.Errorf("%q: drafted the tracker, not GitHub:\n%s", text, d.YAML)
		}
	}
}
