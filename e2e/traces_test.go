package e2e

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// With traces.endpoint set, a run and its steps reach an OTLP/HTTP
// collector as one trace whose id is the run's id.
func TestOTLPTracesOfRuns(t *testing.T) {
	var mu sync.Mutex
	spans := map[string]string{} // span name -> trace id
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		var req coltrace.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(data, &req) != nil {
			http.Error(w, "bad", 400)
			return
		}
		mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					spans[sp.Name] = hex.EncodeToString(sp.TraceId)
				}
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Write(b)
	}))
	defer collector.Close()
	dir := t.TempDir()
	flowFile := filepath.Join(dir, "hello.yaml")
	os.WriteFile(flowFile, []byte("name: hello\ntrigger: {webhook: {}}\nsteps:\n  - id: greet\n    set: {msg: '=\"hi \" + trigger.body.name'}\n  - respond: {body: =steps.greet}\n"), 0o644)
	cfg := filepath.Join(dir, "weft.yaml")
	os.WriteFile(cfg, []byte("deploy: ["+flowFile+"]\ntraces: {endpoint: "+collector.URL+"/v1/traces, service: weft-e2e}\n"), 0o644)
	srv := startServer(t, "", []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data")}, "--config", cfg)
	var out map[string]any
	if code := srv.do("POST", "/hooks/hello", map[string]any{"name": "Ada"}, &out); code != 200 {
		t.Fatalf("%d %v", code, out)
	}
	var runs struct{ Runs []struct{ ID string } }
	srv.do("GET", "/api/runs?flow=hello", nil, &runs)
	if len(runs.Runs) != 1 {
		t.Fatalf("%+v", runs)
	}
	srv.stop(syscall.SIGTERM) // shutdown flushes the batch
	mu.Lock()
	defer mu.Unlock()
	want := strings.ReplaceAll(runs.Runs[0].ID, "-", "")
	if spans["run hello"] != want || spans["step greet"] != want {
		t.Fatalf("spans %v, want trace %s\n%s", spans, want, srv.logs())
	}
}
