package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors/importer"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store/sqlite"
)

// Issue 25: weft connector import takes a WSDL, with the schemas beside it
// bundled in; the server stores it as kind wsdl and a restart loads it
// again.
func TestIssue25_CLIImportWSDL(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cat := builtinCatalog()
	srv := httptest.NewServer(gateway.New(engine.New(st, cat, nil, engine.Config{}), nil, gateway.Config{}))
	t.Cleanup(srv.Close)
	var out, errOut bytes.Buffer
	wsdl := "../../examples/wsdl/onvif/ptz.wsdl"
	if code := run([]string{"connector", "import", wsdl, "--name", "ptz", "--server", srv.URL}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	if s := out.String(); !strings.Contains(s, "imported ptz from wsdl-1.1") || !strings.Contains(s, "27 operations found, bindings: PTZBinding (SOAP 1.2, document)") || strings.Contains(s, "onvif.xsd is not in the document set") {
		t.Fatalf("output: %s", s)
	}
	if _, ok := cat.Operation("ptz.ContinuousMove"); !ok {
		t.Fatal("not registered")
	}
	specs, err := st.ConnectorSpecs(ctx)
	if err != nil || len(specs) != 1 || specs[0].Kind != importer.KindWSDL {
		t.Fatalf("stored: %v %+v", err, specs)
	}
	// The schemas beside it went along: the stored document defines them.
	if !strings.Contains(string(specs[0].Spec), `targetNamespace="http://www.onvif.org/ver10/schema"`) {
		t.Fatal("onvif.xsd was not bundled")
	}
	fresh := builtinCatalog()
	if res, err := importer.Register(fresh, "ptz", specs[0].Spec); err != nil || res.Imported != 27 {
		t.Fatalf("reload: %v %+v", err, res)
	}
	// Annotations are for OpenAPI documents only.
	if _, err := importer.Annotate(specs[0].Spec, map[string]map[string]bool{"ContinuousMove": {"destructive": true}}); err == nil {
		t.Fatal("annotations on a WSDL accepted")
	}
}
