package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An OData $metadata file given to the sandbox is served as an OData
// service (seeded by entity set) beside OpenAPI sandboxes.
func TestSandboxServesODataBesideOpenAPI(t *testing.T) {
	dir := t.TempDir()
	meta, err := os.ReadFile("../../connectors/odata/testdata/real/trippin_v4.xml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "trippin.xml"), meta, 0o600); err != nil {
		t.Fatal(err)
	}
	seed := `{"People": [{"UserName": "ann", "FirstName": "Ann", "LastName": "Lee"}]}`
	if err := os.WriteFile(filepath.Join(dir, "trippin.seed.json"), []byte(seed), 0o600); err != nil {
		t.Fatal(err)
	}
	crm, err := os.ReadFile("../../examples/connectors/crm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "crm.yaml"), crm, 0o600); err != nil {
		t.Fatal(err)
	}
	boxes, err := loadSandboxes([]string{filepath.Join(dir, "*.xml"), filepath.Join(dir, "crm.yaml")}, "")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mountSandboxes(boxes))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/sandbox/trippin/People?$filter=" + "FirstName%20eq%20%27Ann%27")
	var page struct {
		Value []map[string]any `json:"value"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &page) != nil || len(page.Value) != 1 || page.Value[0]["UserName"] != "ann" {
		t.Fatalf("%d %s", code, body)
	}
	if code, body := get("/sandbox/trippin/$metadata"); code != 200 || !strings.Contains(body, "edmx:Edmx") {
		t.Fatalf("$metadata: %d", code)
	}
	if code, _ := get("/sandbox/crm/accounts"); code == 404 {
		t.Fatal("the OpenAPI sandbox is not served beside")
	}
}
