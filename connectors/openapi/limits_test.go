package openapi

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/internal/bounded/boundedtest"
)

// specBomb is issue 16's alias bomb inside an OpenAPI document.
func specBomb() string {
	return "openapi: 3.0.3\ninfo: {title: bomb, version: '1'}\n" + boundedtest.AliasAnchors() +
		"paths:\n  /a:\n    get:\n      responses: {'200': {description: *x9}}\n"
}

// importWithin imports spec in a goroutine, failing the test past d or
// past maxAlloc bytes allocated.
func importWithin(t *testing.T, spec []byte, d time.Duration, maxAlloc uint64) error {
	t.Helper()
	req := httpconn.New(httpconn.Options{}).Operations[0]
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan error, 1)
	go func() {
		_, _, err := Import("x", spec, req)
		done <- err
	}()
	select {
	case err := <-done:
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if a := after.TotalAlloc - before.TotalAlloc; a > maxAlloc {
			t.Fatalf("importing %d bytes allocated %d MB; want at most %d MB", len(spec), a>>20, maxAlloc>>20)
		}
		return err
	case <-time.After(d):
		t.Fatalf("importing %d bytes did not finish in %v", len(spec), d)
		return nil
	}
}

func TestIssue16_F01_OpenAPIImportBounded(t *testing.T) {
	cases := []struct{ name, spec, code, want string }{
		{"alias bomb", specBomb(), weft.EInvalid, "spec:7:38: YAML aliases expand to more than 100000 nodes"},
		{"deep JSON", `{"openapi": "3.0.3", "info": {"title": "d", "version": "1"}, "paths": {}, "x": ` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`, weft.EInvalid, "nests deeper than 256 levels"},
		{"deep YAML", "openapi: 3.0.3\nx: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n", weft.EInvalid, "nests deeper than 256 levels"},
		{"bad UTF-8 in JSON", "{\"openapi\": \"3.0.3\", \"info\": {\"title\": \"\xff\", \"version\": \"1\"}, \"paths\": {}}", weft.EInvalid, "not valid UTF-8 at byte 40"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := importWithin(t, []byte(c.spec), 10*time.Second, 32<<20)
			if weft.Code(err) != c.code || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v (%s), want %s containing %q", err, weft.Code(err), c.code, c.want)
			}
		})
	}
}

func FuzzImportOpenAPI(f *testing.F) {
	f.Add([]byte(petstore3))
	f.Add([]byte(specBomb()))
	f.Add([]byte(`{"swagger": "2.0", "info": {"title": "s", "version": "1"}, "paths": {"/a/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "required": true, "type": "string"}], "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/A"}}}}}}, "definitions": {"A": {"type": "object", "properties": {"a": {"$ref": "#/definitions/A"}}}}}`))
	f.Add([]byte("openapi: 3.1.0\n" + strings.Repeat("x: [", 300)))
	f.Add([]byte(`{"openapi": "3.0.0", "paths": {"/{a}": {"post": {"requestBody": {"content": {"application/json": {"schema": {"allOf": [{"$ref": "#/components/schemas/B"}]}}}}}}}, "components": {"schemas": {"B": {"anyOf": [{"$ref": "#/components/schemas/B"}]}}}}`))
	f.Add([]byte("a: &a [*a]\nopenapi: 3.0.0\n"))
	req := httpconn.New(httpconn.Options{}).Operations[0]
	f.Fuzz(func(t *testing.T, spec []byte) {
		start := time.Now()
		c, rep, err := Import("fz", spec, req)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("import of %d bytes took %v", len(spec), d)
		}
		if err != nil {
			if c != nil || rep != nil {
				t.Fatalf("an error with results: %v", err)
			}
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if rep.Imported != len(c.Operations) {
			t.Fatalf("report says %d operations, connector has %d", rep.Imported, len(c.Operations))
		}
		for _, o := range c.Operations {
			if o.Name == "" || len(o.Name) > 64 {
				t.Fatalf("bad operation name %q", o.Name)
			}
		}
	})
}
