package mcp

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/connectors/odata"
)

// Operations imported from an OData $metadata document become MCP tools
// like OpenAPI ones: list/get read-only and idempotent, update idempotent,
// delete destructive, with the entity's schema as the output (instance
// annotations included for a document that uses them).
func TestIssue25_ODataOperationsAsTools(t *testing.T) {
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	for name, file := range map[string]string{"sap": "../connectors/odata/testdata/real/sap_api_business_partner.edmx", "crm": "../connectors/odata/testdata/own/dataverse_shape.xml"} {
		doc, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := odata.Register(cat, name, doc); err != nil {
			t.Fatal(err)
		}
	}
	tools := func(name string) map[string]*toolDef {
		x, _ := cat.Connector(name)
		conn := &connectors.Connection{Name: name, Connector: name}
		got := map[string]*toolDef{}
		for _, op := range x.Operations {
			got[op.Name] = opTool(conn, x, op)
		}
		return got
	}
	sap := tools("sap")
	list, upd, del := sap["list_A_BusinessPartner"], sap["update_A_BusinessPartner"], sap["delete_A_BusinessPartnerAddress"]
	if list == nil || upd == nil || del == nil {
		t.Fatalf("tools %d", len(sap))
	}
	if a := list.tool.Annotations; !*a.ReadOnlyHint || !*a.IdempotentHint || *a.DestructiveHint {
		t.Errorf("list annotations %+v", a)
	}
	if a := upd.tool.Annotations; *a.ReadOnlyHint || !*a.IdempotentHint || *a.DestructiveHint {
		t.Errorf("update annotations %+v", a)
	}
	if a := del.tool.Annotations; *a.ReadOnlyHint || !*a.DestructiveHint {
		t.Errorf("delete annotations %+v", a)
	}
	if _, ok := sap["create_A_BPContactToAddress"]; ok {
		t.Error("a tool for a verb the service marks unsupported (sap:creatable=false)")
	}
	get := tools("crm")["get_contacts"]
	var out struct {
		Properties map[string]any `json:"properties"`
	}
	if get == nil || !get.output || json.Unmarshal(get.tool.RawOutputSchema, &out) != nil ||
		out.Properties["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == nil {
		t.Fatalf("get_contacts output schema: %v", get)
	}
}
