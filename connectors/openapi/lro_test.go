package openapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
)

const exportSpec = `openapi: 3.0.3
info: {title: Reports, version: "1"}
paths:
  /exports:
    post:
      operationId: startExport
      requestBody: {content: {application/json: {schema: {type: object, properties: {table: {type: string}}}}}}
      responses:
        "202": {description: accepted}
  /exports/{id}:
    get:
      operationId: getExport
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
`

// An imported operation that declares 202 polls its Location as one step
// (wait: false returns the 202).
func TestImportedLongRunning(t *testing.T) {
	var posts, polls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/exports":
			posts.Add(1)
			w.Header().Set("Location", "/exports/e1")
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(202)
		case "/exports/e1":
			if polls.Add(1) < 3 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(202)
				return
			}
			_, _ = w.Write([]byte(`{"id":"e1","rows":42}`))
		}
	}))
	defer srv.Close()
	c, _, err := Import("reports", []byte(exportSpec), httpconn.New(httpconn.Options{}).Operations[0])
	if err != nil {
		t.Fatal(err)
	}
	var start, get *connectors.Operation
	for _, o := range c.Operations {
		switch o.Name {
		case "startExport":
			start = o
		case "getExport":
			get = o
		}
	}
	if start.Input["properties"].(map[string]any)["wait"] == nil || get.Input["properties"].(map[string]any)["wait"] != nil {
		t.Fatalf("wait input: start %v, get %v", start.Input, get.Input)
	}
	conn := &connectors.Connection{Name: "r", BaseURL: srv.URL, AllowPrivate: true}
	out, err := start.Invoke(context.Background(), connectors.Call{Input: map[string]any{"table": "orders"}, Connection: conn, IdempotencyKey: "run1/step1"})
	if err != nil {
		t.Fatal(err)
	}
	m := out.(map[string]any)
	if m["body"].(map[string]any)["rows"] != float64(42) || polls.Load() != 3 || posts.Load() != 1 {
		t.Fatalf("result %v after %d polls", m, polls.Load())
	}
	out, err = start.Invoke(context.Background(), connectors.Call{Input: map[string]any{"table": "orders", "wait": false}, Connection: conn})
	if err != nil || out.(map[string]any)["status"] != int64(202) {
		t.Fatalf("wait false: %v %v", out, err)
	}
}
