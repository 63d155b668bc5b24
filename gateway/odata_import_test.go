package gateway_test

import (
	"os"
	"testing"
	"time"

	"github.com/weftio/weft/gateway"
)

// POST /api/connectors/import takes an OData $metadata document too: the
// report is the OData importer's, and the operations, with their hints
// (the MCP annotations), are in the catalog. (The API takes the document
// with a JSON or YAML Content-Type, as weft connector import sends it.)
func TestImportODataMetadataOverAPI(t *testing.T) {
	doc, err := os.ReadFile("../connectors/odata/testdata/real/sap_api_business_partner.edmx")
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, gateway.Config{})
	a := serveWithin(t, h, "POST", "/api/connectors/import?name=sap", "application/json", string(doc), 60*time.Second)
	rep, _ := a.body["report"].(map[string]any)
	if a.status != 201 || rep["source_kind"] != "odata-v2" || rep["imported"].(float64) < 200 {
		t.Fatalf("%d %v", a.status, a.body)
	}
	a = serveWithin(t, h, "GET", "/api/connectors/sap", "", "", 10*time.Second)
	ops, _ := a.body["operations"].([]any)
	hints := map[string]map[string]any{}
	for _, o := range ops {
		m := o.(map[string]any)
		hints[m["name"].(string)], _ = m["hints"].(map[string]any)
	}
	if h := hints["list_A_BusinessPartner"]; h["read_only"] != true {
		t.Errorf("list hints %v", h)
	}
	if h := hints["delete_A_BusinessPartnerAddress"]; h["destructive"] != true {
		t.Errorf("delete hints %v (%d operations)", h, len(ops))
	}
	if _, ok := hints["create_A_BPContactToAddress"]; ok {
		t.Error("a set marked sap:creatable=false got a create operation")
	}
	bad := `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">&b;</edmx:Edmx>`
	a = serveWithin(t, h, "POST", "/api/connectors/import?name=bomb", "application/json", bad, 10*time.Second)
	if a.status != 400 || errCode(a.body) != "invalid" {
		t.Fatalf("entity expansion: %d %v", a.status, a.body)
	}
}
