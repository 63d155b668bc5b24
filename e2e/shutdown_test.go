package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGTERM lets an in-flight synchronous request finish, and releases an
// in-flight async run so the next process resumes it.
func TestGracefulShutdown(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"slow":true}`)
	}))
	defer slow.Close()
	dir := t.TempDir()
	cfg := writeConfig(t, "")
	env := []string{"WEFT_DATA_DIR=" + dir}
	srv := startServer(t, "", env, "--config", cfg)
	for _, mode := range []string{"sync", "async"} {
		flow := fmt.Sprintf("name: slow-%s\ntrigger: {webhook: {mode: %s}}\nsteps:\n  - id: call\n    call: http.request\n    connection: sink\n    with: {url: %q}\n  - respond: {body: =steps.call.body}\n", mode, mode, slow.URL)
		if code := srv.do("POST", "/api/flows", flow, nil); code != 201 {
			t.Fatalf("deploy %s: %d", mode, code)
		}
	}
	var asyncRun map[string]any
	srv.do("POST", "/hooks/slow-async", "{}", &asyncRun)
	type result struct {
		code int
		body map[string]any
	}
	done := make(chan result, 1)
	go func() {
		var out map[string]any
		code := srv.do("POST", "/hooks/slow-sync", "{}", &out)
		done <- result{code, out}
	}()
	time.Sleep(300 * time.Millisecond)
	srv.stop(syscall.SIGTERM)
	r := <-done
	if r.code != 200 || r.body["slow"] != true {
		t.Fatalf("in-flight sync request: %d %v\n%s", r.code, r.body, srv.logs())
	}
	if !strings.Contains(srv.logs(), "stopped") {
		t.Fatalf("no clean stop:\n%s", srv.logs())
	}
	srv2 := startServer(t, srv.addr, env, "--config", cfg)
	id := asyncRun["run_id"].(string)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var detail struct {
			Run map[string]any `json:"run"`
		}
		srv2.do("GET", "/api/runs/"+id, nil, &detail)
		if detail.Run["status"] == "succeeded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("released async run is %v (%v)\nfirst server:\n%s", detail.Run["status"], detail.Run, srv.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
