package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/openapi"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store/sqlite"
)

// A vendor document with a GET that deletes and a POST that only reads.
const annotSpec = `openapi: 3.0.3
info: {title: Vendor, version: "1"}
servers: [{url: "https://api.example.com"}]
paths:
  /items/purge:
    get: {operationId: sweepItems, responses: {"200": {description: ok}}}
  /search:
    post: {operationId: runQuery, responses: {"200": {description: ok}}}
`

func checkAnnotated(t *testing.T, cat *connectors.Catalog, conn string) {
	t.Helper()
	sweep, ok1 := cat.Operation(conn + ".sweepItems")
	query, ok2 := cat.Operation(conn + ".runQuery")
	if !ok1 || !ok2 {
		t.Fatalf("operations not imported: %v %v", ok1, ok2)
	}
	if h := sweep.Hints; h.ReadOnly || !h.Destructive {
		t.Errorf("GET sweepItems: %+v, want destructive", h)
	}
	if h := query.Hints; !h.ReadOnly || h.Destructive {
		t.Errorf("POST /search: %+v, want read_only", h)
	}
}

// F17: weft connector import --annotations FILE overrides hints per
// operation before the spec is posted; the server stores the result.
func TestIssue16_F17_CLIImportAnnotations(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "vendor.yaml")
	ann := filepath.Join(dir, "ann.yaml")
	os.WriteFile(spec, []byte(annotSpec), 0o600)
	os.WriteFile(ann, []byte("sweepItems: {destructive: true}\n\"post /search\": {read_only: true}\n"), 0o600)

	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cat := builtinCatalog()
	srv := httptest.NewServer(gateway.New(engine.New(st, cat, nil, engine.Config{}), nil, gateway.Config{}))
	t.Cleanup(srv.Close)
	cli := func(args ...string) (string, int) {
		var out, errOut bytes.Buffer
		code := run(append(args, "--server", srv.URL), &out, &errOut)
		return out.String() + errOut.String(), code
	}

	if out, code := cli("connector", "import", spec, "--name", "vendor", "--annotations", ann); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	checkAnnotated(t, cat, "vendor")
	// The stored spec carries them: a restart registers the same hints.
	specs, err := st.ConnectorSpecs(ctx)
	if err != nil || len(specs) != 1 {
		t.Fatalf("stored: %v %d", err, len(specs))
	}
	fresh := builtinCatalog()
	if _, err := openapi.Register(fresh, "vendor", specs[0].Spec); err != nil {
		t.Fatal(err)
	}
	checkAnnotated(t, fresh, "vendor")

	// A bad override is refused before anything is posted.
	for body, want := range map[string]string{
		"deleteAll: {destructive: true}\n":        `"deleteAll"`,
		"sweepItems: {risky: true}\n":             `"risky"`,
		"sweepItems: {destructive: yes please}\n": "ann2.yaml",
		"": "no annotations",
	} {
		bad := filepath.Join(dir, "ann2.yaml")
		os.WriteFile(bad, []byte(body), 0o600)
		out, code := cli("connector", "import", spec, "--name", "other", "--annotations", bad)
		if code != 2 || !strings.Contains(out, want) {
			t.Errorf("%q: exit %d, want 2 naming %s: %s", body, code, want, out)
		}
	}
	if _, ok := cat.Connector("other"); ok {
		t.Error("a refused import must not register")
	}
}

// F17: import_annotations in the config applies to the imports: files at
// start, and re-imports when only the annotations change.
func TestIssue16_F17_ConfigImportAnnotations(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "vendor.yaml")
	os.WriteFile(spec, []byte(annotSpec), 0o600)
	cfgPath := filepath.Join(dir, "weft.yaml")
	write := func(ann string) {
		os.WriteFile(cfgPath, []byte("imports:\n  vendor: "+spec+"\nimport_annotations:\n"+ann), 0o600)
	}
	write("  vendor:\n    sweepItems: {destructive: true}\n    POST /search: {read_only: true}\n")
	cfg, err := loadConfig(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cat := builtinCatalog()
	if err := importAtStart(ctx, st, cat, cfg.Imports, cfg.ImportAnnotations, log); err != nil {
		t.Fatal(err)
	}
	checkAnnotated(t, cat, "vendor")

	// Without the annotations the same file imports again, with the
	// method's hints.
	cat = builtinCatalog()
	if err := importAtStart(ctx, st, cat, cfg.Imports, nil, log); err != nil {
		t.Fatal(err)
	}
	if o, _ := cat.Operation("vendor.sweepItems"); o == nil || !o.Hints.ReadOnly {
		t.Errorf("annotations removed, file unchanged: not re-imported: %+v", o)
	}

	// An override naming no operation stops the start, naming it.
	err = importAtStart(ctx, st, builtinCatalog(), cfg.Imports, map[string]map[string]map[string]bool{"vendor": {"purgeAll": {"destructive": true}}}, log)
	if err == nil || !strings.Contains(err.Error(), "import_annotations.vendor") || !strings.Contains(err.Error(), `"purgeAll"`) {
		t.Errorf("unknown operation: %v", err)
	}
	// A connector that is not in imports is a config error.
	write("  crm:\n    listItems: {destructive: true}\n")
	if _, err := loadConfig(cfgPath, nil); err == nil || !strings.Contains(err.Error(), "import_annotations.crm") {
		t.Errorf("annotations for a connector not in imports: %v", err)
	}
}
