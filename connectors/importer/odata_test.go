package importer_test

import (
	"os"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	. "github.com/weftio/weft/connectors/importer"
)

func TestKindAndRegister(t *testing.T) {
	odataDoc, err := os.ReadFile("../odata/testdata/real/trippin_v4.xml")
	if err != nil {
		t.Fatal(err)
	}
	oas := []byte(`{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/x": {"get": {"operationId": "getX", "responses": {"200": {"description": "ok"}}}}}}`)
	if Kind(odataDoc) != KindOData || Kind(oas) != KindOpenAPI {
		t.Fatal("kinds")
	}
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	for name, doc := range map[string][]byte{"trippin": odataDoc, "api": oas} {
		rep, err := Register(cat, name, doc)
		if err != nil || rep.Imported == 0 || rep.Kind != Kind(doc) {
			t.Fatalf("%s: %+v %v", name, rep, err)
		}
	}
	if !cat.HasOperation("trippin.list_People") || !cat.HasOperation("api.getX") {
		t.Fatal(cat.OperationNames())
	}
	if _, err := Annotate(odataDoc, map[string]map[string]bool{"list_People": {"read_only": true}}); err == nil || !strings.Contains(err.Error(), "OData") {
		t.Errorf("overrides on OData: %v", err)
	}
	if out, err := Annotate(odataDoc, nil); err != nil || string(out) != string(odataDoc) {
		t.Errorf("no overrides: %v", err)
	}
	if _, err := Register(cat, "Bad Name", odataDoc); err == nil {
		t.Error("a bad connector name was accepted")
	}
}
