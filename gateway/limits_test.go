package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/internal/bounded/boundedtest"
	"github.com/weftio/weft/nl2flow"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// aliasBomb is issue 16's reproduction: ten levels of ten YAML aliases
// (10^10 nodes once expanded) in under 600 bytes.
func aliasBomb() string { return boundedtest.FlowBomb() }

// newHandler is the gateway without an httptest.Server around it: a
// request that never ends must fail the test, not block its cleanup.
func newHandler(t *testing.T, cfg gateway.Config) http.Handler {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	e := engine.New(st, cat, nil, engine.Config{})
	if err := st.StartQueue(ctx, e.Workers(), store.QueueConfig{Workers: 2, FetchPollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if cfg.NL2Flow == nil {
		cfg.NL2Flow = &nl2flow.Compiler{Catalog: func() *nl2flow.Catalog { return nl2flow.FromConnectors(cat) }}
	}
	t.Cleanup(func() {
		e.BeginShutdown()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.StopQueue(c)
		_ = st.Close()
	})
	return gateway.New(e, nil, cfg)
}

type answer struct {
	status int
	body   map[string]any
}

// serveWithin serves one request in a goroutine and fails the test if no
// answer comes within d.
func serveWithin(t *testing.T, h http.Handler, method, target, ctype, body string, d time.Duration) answer {
	t.Helper()
	done := make(chan answer, 1)
	go func() {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.Host = "localhost" // an API without a token answers only as a loopback name
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		data, _ := io.ReadAll(rec.Result().Body)
		var out map[string]any
		_ = json.Unmarshal(data, &out)
		done <- answer{rec.Code, out}
	}()
	select {
	case a := <-done:
		return a
	case <-time.After(d):
		t.Fatalf("%s %s (%d bytes) did not answer in %v", method, target, len(body), d)
		return answer{}
	}
}

func errMessage(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

func TestIssue16_F01_AliasBombOverHTTP(t *testing.T) {
	h := newHandler(t, gateway.Config{})
	bomb := aliasBomb()
	nl, _ := json.Marshal(map[string]string{"text": "then notify the team by email", "flow": bomb, "backend": "builtin"})
	cases := []struct{ name, target, ctype, body string }{
		{"deploy", "/api/flows?file=bomb.yaml", "application/yaml", bomb},
		{"validate", "/api/flows/validate?file=bomb.yaml", "application/yaml", bomb},
		{"nl2flow", "/api/nl2flow", "application/json", string(nl)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := serveWithin(t, h, "POST", c.target, c.ctype, c.body, 5*time.Second)
			if a.status != 400 || errCode(a.body) != "invalid" || !strings.Contains(errMessage(a.body), ":5:38: YAML aliases expand to more than 10000 nodes") {
				t.Fatalf("got %d %v, want 400 invalid naming the alias limit at line 5", a.status, a.body)
			}
		})
	}
}

// bigSpec is an OpenAPI document of about size bytes: n operations with
// long descriptions.
func bigSpec(size int) string {
	var b strings.Builder
	b.WriteString(`{"openapi": "3.0.3", "info": {"title": "big", "version": "1"}, "servers": [{"url": "https://api.example.com"}], "paths": {`)
	desc := strings.Repeat("A long description of this operation. ", 1000) // few operations: the bytes are the point
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"/things%d/{id}": {"get": {"operationId": "getThing%d", "description": %q, "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {"id": {"type": "string"}}}}}}}}}`, i, i, desc)
	}
	b.WriteString("}}")
	return b.String()
}

func TestIssue16_F20_ImportLargerThanBodyLimit(t *testing.T) {
	spec := bigSpec(11 << 20)
	if len(spec) <= 10<<20 {
		t.Fatalf("spec is only %d bytes", len(spec))
	}
	h := newHandler(t, gateway.Config{}) // default limits: 10 MiB bodies, 64 MiB imports
	a := serveWithin(t, h, "POST", "/api/connectors/import?name=big", "application/json", spec, 120*time.Second)
	rep, _ := a.body["report"].(map[string]any)
	if a.status != 201 || rep["imported"] == nil || rep["imported"].(float64) < 250 {
		t.Fatalf("importing %d bytes: %d %v", len(spec), a.status, errMessage(a.body))
	}
	// Other API bodies keep the 10 MiB limit.
	a = serveWithin(t, h, "POST", "/api/flows/validate", "application/yaml", "name: x\n#"+strings.Repeat("x", 11<<20), 10*time.Second)
	if a.status != 413 || !strings.Contains(errMessage(a.body), "max_body_bytes") {
		t.Fatalf("an 11 MiB flow: %d %v", a.status, a.body)
	}
	// The import limit is configurable, and says what raises it.
	h = newHandler(t, gateway.Config{MaxImportBytes: 1 << 20})
	a = serveWithin(t, h, "POST", "/api/connectors/import?name=big", "application/json", bigSpec(2<<20), 10*time.Second)
	if a.status != 413 || errCode(a.body) != "too_large" || !strings.Contains(errMessage(a.body), "max_import_bytes") {
		t.Fatalf("over max_import_bytes: %d %v", a.status, a.body)
	}
	// A spec that breaks a parsing limit is invalid, not unprocessable.
	a = serveWithin(t, h, "POST", "/api/connectors/import?name=deep", "application/json", `{"openapi": "3.0.0", "x": `+strings.Repeat("[", 1000)+strings.Repeat("]", 1000)+`}`, 10*time.Second)
	if a.status != 400 || errCode(a.body) != "invalid" || !strings.Contains(errMessage(a.body), "nests deeper than") {
		t.Fatalf("deep spec: %d %v", a.status, a.body)
	}
}

func TestIssue16_F30_InvalidUTF8Refused(t *testing.T) {
	h := newHandler(t, gateway.Config{})
	a := serveWithin(t, h, "POST", "/api/flows", "application/yaml", "name: echo\ntrigger: {webhook: {}}\nsteps:\n  - id: r\n    respond: {body: {got: =trigger.body.name}}\n", 10*time.Second)
	if a.status != 201 {
		t.Fatalf("deploy: %d %v", a.status, a.body)
	}
	bad := "{\"name\": \"caf\xe9\"}" // Latin-1 é: not UTF-8
	for _, target := range []string{"/hooks/echo", "/api/flows/echo/runs", "/api/nl2flow", "/api/mcp/keys"} {
		a := serveWithin(t, h, "POST", target, "application/json", bad, 10*time.Second)
		if a.status != 400 || errCode(a.body) != "invalid" || !strings.Contains(errMessage(a.body), "not valid UTF-8 at byte 13") {
			t.Errorf("%s: got %d %v, want 400 invalid naming byte 13", target, a.status, a.body)
		}
	}
	// An escaped lone surrogate would become U+FFFD just the same.
	a = serveWithin(t, h, "POST", "/hooks/echo", "application/json", `{"name": "caf\udce9"}`, 10*time.Second)
	if a.status != 400 || errCode(a.body) != "invalid" || !strings.Contains(errMessage(a.body), "lone UTF-16 surrogate") {
		t.Errorf("lone surrogate: got %d %v", a.status, a.body)
	}
	// Valid UTF-8 (and escaped code points) still pass unchanged.
	a = serveWithin(t, h, "POST", "/hooks/echo", "application/json", `{"name": "café \u00e9"}`, 10*time.Second)
	if a.status != 200 || a.body["got"] != "café é" {
		t.Fatalf("valid body: %d %v", a.status, a.body)
	}
}

func TestIssue16_F01_DeepJSONBodyRefused(t *testing.T) {
	h := newHandler(t, gateway.Config{})
	a := serveWithin(t, h, "POST", "/api/flows", "application/yaml", "name: echo\ntrigger: {webhook: {}}\nsteps:\n  - id: r\n    respond: {body: {ok: true}}\n", 10*time.Second)
	if a.status != 201 {
		t.Fatalf("deploy: %d %v", a.status, a.body)
	}
	deep := `{"a": ` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`
	a = serveWithin(t, h, "POST", "/hooks/echo", "application/json", deep, 10*time.Second)
	if a.status != 400 || errCode(a.body) != "invalid" || !strings.Contains(errMessage(a.body), "nests deeper than 256 levels") {
		t.Fatalf("deep body: %d %v", a.status, a.body)
	}
	// A connection body is YAML: the alias bomb is refused there too.
	a = serveWithin(t, h, "PUT", "/api/connections/x", "application/yaml", "connector: http\n"+strings.SplitN(aliasBomb(), "trigger:", 2)[0]+"headers: {v: *x9}\n", 10*time.Second)
	if a.status != 400 || errCode(a.body) != "invalid" || !strings.Contains(errMessage(a.body), "aliases expand") {
		t.Fatalf("connection bomb: %d %v", a.status, a.body)
	}
}
