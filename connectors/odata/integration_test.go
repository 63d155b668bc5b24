package odata_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/connectors/importer"
	"github.com/weftio/weft/nl2flow"
)

// An imported SAP document is an ordinary catalog connector: the import
// dispatcher picks the OData reader, and NL-to-flow compiles over it.
func TestSAPDocumentInCatalogAndNL2Flow(t *testing.T) {
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	sap, err := os.ReadFile("testdata/real/sap_api_business_partner.edmx")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := importer.Register(cat, "sap", sap)
	if err != nil || rep.Kind != importer.KindOData || rep.Imported < 100 {
		t.Fatalf("%+v %v", rep, err)
	}
	crm, err := os.ReadFile("../../examples/connectors/crm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := importer.Register(cat, "crm", crm); err != nil || rep.Kind != importer.KindOpenAPI {
		t.Fatalf("%+v %v", rep, err)
	}
	for _, n := range []string{"sap", "crm"} {
		if err := cat.AddConnection(&connectors.Connection{Name: n, Connector: n, BaseURL: "https://" + n + ".example"}); err != nil {
			t.Fatal(err)
		}
	}
	if !cat.HasOperation("sap.list_A_BusinessPartner") || !cat.HasOperation("sap.create_A_BusinessPartner") {
		t.Fatal("operations missing from the catalog")
	}
	hits := cat.Search("create business partner", 5)
	found := false
	for _, h := range hits {
		found = found || h.Operation == "sap.create_A_BusinessPartner"
	}
	if !found {
		t.Errorf("search: %+v", hits)
	}
	c := &nl2flow.Compiler{Catalog: func() *nl2flow.Catalog { return nl2flow.FromConnectors(cat) }}
	d, err := c.Compile(context.Background(), nl2flow.Request{Text: "when a business partner is created in SAP, create the account in the CRM"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("valid %v confidence %.2f\n%s\nproblems %v questions %v", d.Valid, d.Confidence, d.YAML, d.Problems, d.Questions)
	if !d.Valid || d.Flow.Trigger.Poll == nil || !strings.HasPrefix(d.Flow.Trigger.Poll.Operation, "sap.list_A_BusinessPartner") {
		t.Fatalf("draft: %v\n%s", d.Problems, d.YAML)
	}
	if len(d.Flow.Steps) != 1 || d.Flow.Steps[0].Call != "crm.createAccount" || d.Flow.Steps[0].Connection != "crm" {
		t.Errorf("want one step creating the CRM account:\n%s", d.YAML)
	}
}
