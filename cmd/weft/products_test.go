package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// weft products: apply a file, pin a new flow version into a new version,
// deprecate and retire, read the OpenAPI document; a stale or bad change
// is refused with the server's message.
func TestProductsCLI(t *testing.T) {
	_, cli := cliAgainstServer(t, "tok-products-0123456789")
	dir := t.TempDir()
	flowFile := filepath.Join(dir, "get-order.yaml")
	src := "name: get-order\ntrigger:\n  api: {method: GET, path: \"/orders/{id}\"}\nsteps:\n  - respond: {status: 200, body: {id: =trigger.params.id}}\n"
	for i := 0; i < 2; i++ {
		if err := os.WriteFile(flowFile, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, code := cli("", "flow", "deploy", flowFile); code != 0 {
			t.Fatalf("deploy: %d %s", code, out)
		}
	}
	prod := filepath.Join(dir, "shop.yaml")
	if err := os.WriteFile(prod, []byte("name: shop\ntitle: Shop\nversions:\n  - name: v1\n    flows: [{flow: get-order, version: 1}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := cli("", "products", "apply", prod); code != 0 || !strings.Contains(out, "product shop saved (revision 1)") || !strings.Contains(out, "v1  active  get-order@1") {
		t.Fatalf("apply: %d %s", code, out)
	}
	if out, code := cli("", "products", "pin", "shop", "v2", "get-order@2"); code != 0 || !strings.Contains(out, "v2  active  get-order@2") || !strings.Contains(out, "v1  active  get-order@1") {
		t.Fatalf("pin: %d %s", code, out)
	}
	if out, code := cli("", "products", "deprecate", "shop", "v1", "--sunset", "2030-01-01T00:00:00Z", "--successor", "v2"); code != 0 || !strings.Contains(out, "v1  deprecated") {
		t.Fatalf("deprecate: %d %s", code, out)
	}
	if out, code := cli("", "products", "pin", "shop", "v3", "get-order@9"); code == 0 || !strings.Contains(out, "has no version 9") {
		t.Fatalf("pin a missing flow version: %d %s", code, out)
	}
	if out, code := cli("", "products", "list"); code != 0 || !strings.Contains(out, "v1 (deprecated), v2") {
		t.Fatalf("list: %d %s", code, out)
	}
	out, code := cli("", "products", "openapi", "shop", "v2")
	var doc map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi: %d %s", code, out)
	}
	if out, code := cli("", "products", "retire", "shop", "v1"); code != 0 || !strings.Contains(out, "v1  retired") {
		t.Fatalf("retire: %d %s", code, out)
	}
	if out, code := cli("", "products", "delete", "shop"); code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %d %s", code, out)
	}
}
