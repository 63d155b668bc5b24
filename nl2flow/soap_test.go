package nl2flow_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/connectors/soap"
	"github.com/weftio/weft/nl2flow"
)

// Operations imported from a WSDL are in NL-to-flow's catalog like any
// other: a sentence naming them compiles to a valid draft calling them.
func TestIssue25_SOAPOperationsDraftable(t *testing.T) {
	cc := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	wsdl, err := os.ReadFile("../examples/wsdl/cxf/CustomerService.wsdl")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := soap.Register(cc, "crm", wsdl); err != nil {
		t.Fatal(err)
	}
	if err := cc.AddConnection(&connectors.Connection{Name: "crm", Connector: "crm", BaseURL: "https://crm.example.com/soap"}); err != nil {
		t.Fatal(err)
	}
	cat := nl2flow.FromConnectors(cc)
	if _, ok := cat.Op("crm.getCustomersByName"); !ok {
		t.Fatalf("not in the catalog: %v", cat.OperationNames())
	}
	c := &nl2flow.Compiler{Catalog: func() *nl2flow.Catalog { return cat }}
	d, err := c.Compile(context.Background(), nl2flow.Request{Text: "When a webhook arrives, update the customer in the CRM", Backend: "builtin"})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Valid || !strings.Contains(d.YAML, "call: crm.updateCustomer") || !strings.Contains(d.YAML, "connection: crm") {
		t.Fatalf("draft: valid=%v %v\n%s", d.Valid, d.Problems, d.YAML)
	}
}
