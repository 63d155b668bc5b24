package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/connectors/openapi"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// A bulk job (create, upload CSV, close, wait, fetch results) is one step
// of a flow, through the connection of an imported connector whose
// document does not describe the bulk endpoints: http.request takes that
// connection (its token, its origin). The first upload fails with a 503;
// the engine's retry of the step continues the job it created — one job
// on the server, not two.
func TestBulkJobStepOverImportedConnection(t *testing.T) {
	var mu sync.Mutex
	jobs, uploads := 0, 0
	state := map[string]string{}
	data := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer sf-token" {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		p := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // jobs ingest ID ...
		switch {
		case r.Method == "POST" && len(p) == 2:
			jobs++
			id := fmt.Sprintf("750J%d", jobs)
			state[id] = "Open"
			fmt.Fprintf(w, `{"id":%q,"state":"Open"}`, id)
		case r.Method == "PUT" && len(p) == 4:
			uploads++
			if uploads == 1 {
				w.WriteHeader(503)
				return
			}
			b, _ := io.ReadAll(r.Body)
			data[p[2]] = string(b)
			w.WriteHeader(201)
		case r.Method == "PATCH" && len(p) == 3:
			state[p[2]] = "UploadComplete"
			fmt.Fprintf(w, `{"id":%q,"state":"UploadComplete"}`, p[2])
		case r.Method == "GET" && len(p) == 3:
			if state[p[2]] == "UploadComplete" {
				state[p[2]] = "JobComplete"
				fmt.Fprintf(w, `{"id":%q,"state":"InProgress"}`, p[2])
				return
			}
			fmt.Fprintf(w, `{"id":%q,"state":%q}`, p[2], state[p[2]])
		case r.Method == "GET" && len(p) == 4:
			w.Header().Set("Content-Type", "text/csv")
			io.WriteString(w, "sf__Id,sf__Created,"+data[p[2]])
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()

	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, t.TempDir(), quiet, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	doc := `{"openapi":"3.0.3","info":{"title":"SF","version":"1"},"servers":[{"url":"` + srv.URL + `"}],"paths":{"/accounts":{"get":{"operationId":"listAccounts","responses":{"200":{"description":"ok"}}}}}}`
	if _, err := openapi.Register(cat, "sf", []byte(doc)); err != nil {
		t.Fatal(err)
	}
	if err := cat.AddConnection(&connectors.Connection{Name: "sf", Connector: "sf", BaseURL: srv.URL, AllowPrivate: true,
		Auth: &connectors.Auth{Type: connectors.AuthBearer, Token: "sf-token"}}); err != nil {
		t.Fatal(err)
	}
	e := engine.New(st, cat, quiet, engine.Config{LongWait: 5 * time.Second})
	src := `
name: load-accounts
trigger: {webhook: {}}
steps:
  - id: load
    call: http.request
    connection: sf
    retry: {max_attempts: 3, backoff: 10ms}
    with:
      url: /jobs/ingest
      body: {object: Account, operation: insert, contentType: CSV}
      job:
        then:
          - {method: PUT, url: "/jobs/ingest/{job.id}/batches", raw: {content: =trigger.body.csv, content_type: text/csv}}
          - {method: PATCH, url: "/jobs/ingest/{job.id}", body: {state: UploadComplete}}
        wait: {url: "/jobs/ingest/{job.id}", status_path: state, interval_seconds: 0.01, running: [UploadComplete, InProgress], succeeded: [JobComplete], failed: [Failed]}
        results:
          successful: {url: "/jobs/ingest/{job.id}/successfulResults"}
  - respond: {body: {job: =steps.load.body.id, state: =steps.load.job.state, results: =steps.load.job.results.successful, resumed: =steps.load.job.resumed}}
`
	if _, _, err := e.Deploy(ctx, "load.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
	res, err := e.Trigger(ctx, engine.Event{Flow: "load-accounts", Kind: "webhook", Body: map[string]any{"csv": "Name\nAcme\n"}})
	if err != nil || res.Run.Status != store.RunSucceeded {
		t.Fatalf("%v %+v", err, res.Run)
	}
	b, _ := json.Marshal(res.Response)
	got := string(b)
	if !strings.Contains(got, `"job":"750J1"`) || !strings.Contains(got, `"state":"JobComplete"`) || !strings.Contains(got, `"resumed":true`) ||
		!strings.Contains(got, `Name\nAcme`) || jobs != 1 || uploads != 2 {
		t.Fatalf("%d jobs, %d uploads: %s", jobs, uploads, got)
	}
	// A connection of a connector that is not imported stays refused.
	cat.Register(&connectors.Connector{Name: "probe", Version: "1"})
	if err := cat.AddConnection(&connectors.Connection{Name: "db", Connector: "probe"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.Connection("db", "http"); err == nil || !strings.Contains(err.Error(), "is a probe connection, not http") {
		t.Errorf("a connection of a connector not imported was accepted by http.request: %v", err)
	}
}
