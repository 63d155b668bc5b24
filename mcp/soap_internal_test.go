package mcp

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/connectors/soap"
)

// Operations imported from a WSDL become MCP tools like OpenAPI ones:
// their hints as annotations, their XML Schema types as the tool schemas.
func TestIssue25_SOAPOperationsAsTools(t *testing.T) {
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	wsdl, err := os.ReadFile("../examples/wsdl/cxf/CustomerService.wsdl")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := soap.Register(cat, "customers", wsdl); err != nil {
		t.Fatal(err)
	}
	x, _ := cat.Connector("customers")
	conn := &connectors.Connection{Name: "crm", Connector: "customers"}
	got := map[string]*toolDef{}
	for _, op := range x.Operations {
		got[op.Name] = opTool(conn, x, op)
	}
	read, write := got["getCustomersByName"], got["updateCustomer"]
	if read == nil || write == nil {
		t.Fatalf("tools %v", got)
	}
	if a := read.tool.Annotations; !*a.ReadOnlyHint || !*a.IdempotentHint || *a.DestructiveHint || !*a.OpenWorldHint {
		t.Fatalf("read annotations %+v", a)
	}
	if a := write.tool.Annotations; *a.ReadOnlyHint || *a.DestructiveHint {
		t.Fatalf("write annotations %+v", a)
	}
	var in struct {
		Properties map[string]struct {
			Properties map[string]map[string]any `json:"properties"`
			Required   []string                  `json:"required"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(write.tool.RawInputSchema, &in); err != nil {
		t.Fatal(err)
	}
	c := in.Properties["customer"]
	if c.Properties["type"]["enum"] == nil || c.Properties["customerId"]["type"] != "integer" || len(c.Required) != 2 {
		t.Fatalf("input schema %s", write.tool.RawInputSchema)
	}
	if !read.output || len(read.tool.RawOutputSchema) == 0 {
		t.Fatal("the read tool has no output schema")
	}
}
