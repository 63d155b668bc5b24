package gateway_test

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// F09: an API key sent as a query parameter must not appear in the tool
// error, the run record served by the API, nor anywhere in the database
// files (main file and WAL).
func TestIssue16_F09_QueryAPIKeyNeverRecorded(t *testing.T) {
	const key = "qk-SECRET-7f3a9c"
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	down := "http://" + closedPort(t)
	for _, c := range []*connectors.Connection{
		{Name: "down", Connector: "http", BaseURL: down, AllowPrivate: true, Auth: &connectors.Auth{Type: connectors.AuthAPIKey, Query: "api_key", Value: key}},
		// A parameter name the redaction does not guess: only the connection knows it.
		{Name: "odd", Connector: "http", BaseURL: down, AllowPrivate: true, Auth: &connectors.Auth{Type: connectors.AuthAPIKey, Query: "q9", Value: key}},
	} {
		if err := cat.AddConnection(c); err != nil {
			t.Fatal(err)
		}
	}
	e := engine.New(st, cat, nil, engine.Config{})
	if err := st.StartQueue(ctx, e.Workers(), store.QueueConfig{Workers: 2, FetchPollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gateway.New(e, nil, gateway.Config{}))
	defer func() {
		srv.Close()
		e.BeginShutdown()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.StopQueue(c)
		_ = st.Close()
	}()

	var seen []string // every text a user or agent can read
	for _, conn := range []string{"down", "odd"} {
		f := "name: leak-" + conn + "\ncapture: full\ntrigger: {webhook: {}}\nsteps:\n  - id: get\n    call: http.request\n    connection: " + conn +
			"\n    retry: {max_attempts: 1}\n    with: {url: /down}\n"
		if code, out, _ := call(t, "POST", srv.URL+"/api/flows", f, nil); code != 201 {
			t.Fatalf("deploy: %d %v", code, out)
		}
		_, out, _ := call(t, "POST", srv.URL+"/hooks/leak-"+conn, `{}`, nil)
		seen = append(seen, toJSON(out))
		_, runs, _ := call(t, "GET", srv.URL+"/api/runs?flow=leak-"+conn, "", nil)
		seen = append(seen, toJSON(runs))
		list, _ := runs["runs"].([]any)
		if len(list) != 1 {
			t.Fatalf("%s: runs %v", conn, runs)
		}
		id := list[0].(map[string]any)["id"].(string)
		_, detail, _ := call(t, "GET", srv.URL+"/api/runs/"+id, "", nil)
		rec := toJSON(detail)
		if !strings.Contains(rec, "/down") || !strings.Contains(rec, "[REDACTED]") {
			t.Fatalf("%s: the recorded error should name the URL with the key redacted: %s", conn, rec)
		}
		seen = append(seen, rec)

		// The same call as an MCP tool (conn__request): the error text and its log row.
		_, err := e.CallOperation(ctx, engine.ToolCall{Toolset: "all", Tool: conn + "__request", Connection: conn, Operation: "http.request",
			Input: map[string]any{"url": "/down?token=agent-SECRET-b2"}})
		if err == nil {
			t.Fatalf("%s: a closed port answered", conn)
		}
		seen = append(seen, err.Error())
	}
	time.Sleep(200 * time.Millisecond) // the tool-call log is written in the background
	_, all, _ := call(t, "GET", srv.URL+"/api/runs", "", nil)
	seen = append(seen, toJSON(all))
	for _, s := range seen {
		if strings.Contains(s, key) || strings.Contains(s, "agent-SECRET") {
			t.Fatalf("a credential leaked: %s", s)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		checked++
		if strings.Contains(string(data), key) || strings.Contains(string(data), "agent-SECRET") {
			t.Fatalf("the database file %s holds the credential in plaintext", filepath.Base(f))
		}
	}
	if checked == 0 {
		t.Fatal("no database file found to check")
	}
}
