package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// An OpenAPI document imported with the CLI becomes a connector that flows
// call, and it survives a restart.
func TestImportedConnectorEndToEnd(t *testing.T) {
	var gotPath string
	var gotBody map[string]any
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.Method + " " + r.URL.Path
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &gotBody)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		fmt.Fprint(w, `{"id":"p-9","name":"Rex"}`)
	}))
	defer api.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "weft.yaml")
	os.WriteFile(cfg, []byte("connections:\n  petshop:\n    connector: pets\n    base_url: "+api.URL+"/v1\n    allow_private: true\n"), 0o600)
	env := []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data")}
	srv := startServer(t, "", env, "--config", cfg)

	out, err := srv.cli("connector", "import", "testdata/pets.yaml", "--name", "pets")
	if err != nil || !strings.Contains(out, "imported pets from openapi-3.0 (Pets 1.2.0): 5 operations, 0 rejected") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	flow := filepath.Join(dir, "adopt.yaml")
	os.WriteFile(flow, []byte(`name: adopt
trigger: {manual: {}}
steps:
  - id: create
    call: pets.createPet
    connection: petshop
    with: {name: =trigger.body.name, tags: [new]}
  - respond: {body: {pet: =steps.create.body.id}}
`), 0o600)
	if out, err := srv.cli("flow", "deploy", flow); err != nil {
		t.Fatalf("deploy: %v %s", err, out)
	}
	var resp map[string]any
	if code := srv.do("POST", "/api/flows/adopt/runs", `{"name":"Rex"}`, &resp); code != 200 || resp["pet"] != "p-9" {
		t.Fatalf("run: %d %v", code, resp)
	}
	if gotPath != "POST /v1/pets" || gotBody["name"] != "Rex" {
		t.Fatalf("API got %s %v", gotPath, gotBody)
	}
	// A typo in the operation is caught at deploy, against the imported catalog.
	os.WriteFile(flow, []byte("name: adopt\nsteps:\n  - call: pets.createPett\n"), 0o600)
	if out, err := srv.cli("flow", "deploy", flow); err == nil || !strings.Contains(out, `did you mean "pets.createPet"`) {
		t.Fatalf("typo: %v %s", err, out)
	}

	srv.stop(syscall.SIGTERM)
	srv2 := startServer(t, srv.addr, env, "--config", cfg)
	out, err = srv2.cli("connector", "list")
	if err != nil || !strings.Contains(out, "pets") || !strings.Contains(out, "http") {
		t.Fatalf("after restart: %v %s", err, out)
	}
	out, err = srv2.cli("connector", "search", "create", "pet")
	if err != nil || !strings.HasPrefix(out, "pets.createPet") {
		t.Fatalf("search: %v %s", err, out)
	}
	out, err = srv2.cli("connector", "show", "pets")
	if err != nil || !strings.Contains(out, "pets.createPet") {
		t.Fatalf("show: %v %s", err, out)
	}
	if out, err := srv2.cli("connector", "import", "testdata/pets.yaml", "--name", "Bad Name"); err == nil || !strings.Contains(out, "must be lower-case") {
		t.Fatalf("bad name: %v %s", err, out)
	}
}
