package http

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
)

// lroAPI starts jobs: POST /jobs answers 202 with a monitor that reports
// running for `polls` polls, then the final state.
type lroAPI struct {
	mu        sync.Mutex
	started   int
	polls     map[string]int
	srv       *httptest.Server
	running   int    // polls before the end
	final     string // succeeded, failed, canceled, or "" (plain 200 at Location)
	azure     bool   // Operation-Location + Location of the result
	see       bool   // the monitor ends with 303 to the result
	retryAftr string
	auth      []string
}

func newLRO(t *testing.T, a *lroAPI) *lroAPI {
	a.polls = map[string]int{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.auth = append(a.auth, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST" && r.URL.Path == "/jobs":
			a.started++
			id := "j1"
			if a.azure {
				w.Header().Set("Operation-Location", "/operations/"+id)
				w.Header().Set("Location", "/results/"+id)
			} else {
				w.Header().Set("Location", "/operations/"+id)
			}
			if a.retryAftr != "" {
				w.Header().Set("Retry-After", a.retryAftr)
			}
			w.WriteHeader(202)
			_, _ = w.Write([]byte(`{"status":"NotStarted"}`))
		case strings.HasPrefix(r.URL.Path, "/operations/"):
			a.polls[r.URL.Path]++
			n := a.polls[r.URL.Path]
			if a.retryAftr != "" {
				w.Header().Set("Retry-After", a.retryAftr)
			}
			if n <= a.running {
				if a.azure {
					_, _ = w.Write([]byte(`{"status":"Running","percentComplete":50}`))
				} else {
					w.WriteHeader(202)
				}
				return
			}
			switch {
			case a.see:
				w.Header().Set("Location", "/results/j1")
				w.WriteHeader(303)
			case a.final == "":
				_, _ = w.Write([]byte(`{"id":"j1","report":"done"}`))
			case a.final == "failed":
				_, _ = w.Write([]byte(`{"status":"Failed","error":{"code":"Quota","message":"out of quota"}}`))
			default:
				_, _ = w.Write([]byte(`{"status":"` + a.final + `"}`))
			}
		case r.URL.Path == "/results/j1":
			_, _ = w.Write([]byte(`{"id":"j1","rows":3}`))
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func lroCall(a *lroAPI, key string, lro map[string]any) connectors.Call {
	return connectors.Call{IdempotencyKey: key, Connection: &connectors.Connection{Name: "c", BaseURL: a.srv.URL, AllowPrivate: true,
		Auth: &connectors.Auth{Type: connectors.AuthBearer, Token: "tok-secret"}},
		Input: map[string]any{"method": "POST", "url": "/jobs", "body": map[string]any{"n": 1}, "long_running": lro}}
}

func TestLongRunningShapes(t *testing.T) {
	fast := map[string]any{"interval_seconds": 0.001}
	cases := []struct {
		name    string
		api     *lroAPI
		wantErr string
		body    string
	}{
		{"generic Location then 200", &lroAPI{running: 2}, "", `"report":"done"`},
		{"Location then 303 to the result", &lroAPI{running: 1, see: true}, "", `"rows":3`},
		{"Azure Operation-Location, result at Location", &lroAPI{running: 2, azure: true, final: "Succeeded"}, "", `"rows":3`},
		{"generic Location, a resource whose own status is not a job state", &lroAPI{running: 1, final: "Active"}, "", `"status":"Active"`},
		{"Azure failed", &lroAPI{running: 1, azure: true, final: "failed"}, "operation", ""},
		{"Azure canceled", &lroAPI{azure: true, final: "Canceled"}, "canceled", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newLRO(t, c.api)
			op := New(Options{}).Operations[0]
			out, err := op.Invoke(context.Background(), lroCall(a, "k1", fast))
			if c.wantErr != "" {
				class, _ := connectors.Classify(err)
				if err == nil || !strings.Contains(strings.ToLower(err.Error()), c.wantErr) || class != connectors.Permanent {
					t.Fatalf("got %v (%s), want a permanent error with %q", err, class, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := out.(map[string]any)
			if got := jsonString(m["body"]); !strings.Contains(got, c.body) || m["status"] != int64(200) {
				t.Fatalf("result %v", m)
			}
			info := m["long_running"].(map[string]any)
			if info["polls"].(int64) < int64(c.api.running+1) || info["status"] != "succeeded" {
				t.Fatalf("info %v", info)
			}
			for _, h := range a.auth {
				if h != "Bearer tok-secret" {
					t.Fatalf("a poll went without the connection's auth: %q", h)
				}
			}
		})
	}
}

func TestLongRunningRetryAfterAndTimeout(t *testing.T) {
	a := newLRO(t, &lroAPI{running: 1000, retryAftr: "1"})
	op := New(Options{}).Operations[0]
	start := time.Now()
	_, err := op.Invoke(context.Background(), lroCall(a, "k2", map[string]any{"max_wait_seconds": 2.5, "interval_seconds": 0.001}))
	took := time.Since(start)
	class, _ := connectors.Classify(err)
	if err == nil || class != connectors.Retryable || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("got %v (%s)", err, class)
	}
	// Retry-After: 1 s, not the 1 ms interval: about 1 s before the first
	// poll, then 2.5 s of polls a second apart.
	if n := a.polls["/operations/j1"]; n < 2 || n > 5 || took < 3*time.Second || took > 6*time.Second {
		t.Fatalf("%d polls in %s", n, took)
	}
	// The engine's retry (same idempotency key) resumes polling: the job
	// is not started again.
	a.mu.Lock()
	a.running, a.retryAftr = 0, ""
	a.mu.Unlock()
	out, err := op.Invoke(context.Background(), lroCall(a, "k2", map[string]any{"interval_seconds": 0.001}))
	if err != nil {
		t.Fatal(err)
	}
	if a.started != 1 || out.(map[string]any)["long_running"].(map[string]any)["resumed"] != true {
		t.Fatalf("started %d times; %v", a.started, out)
	}
	// A different key starts a new job.
	if _, err := op.Invoke(context.Background(), lroCall(a, "k3", map[string]any{"interval_seconds": 0.001})); err != nil || a.started != 2 {
		t.Fatalf("new key: %v, started %d", err, a.started)
	}
}

func TestLongRunningOff(t *testing.T) {
	a := newLRO(t, &lroAPI{running: 1})
	op := New(Options{}).Operations[0]
	// Without long_running, or with poll false, a 202 is the result.
	for _, lro := range []any{nil, map[string]any{"poll": false}} {
		call := lroCall(a, "k4", nil)
		if lro == nil {
			delete(call.Input, "long_running")
		} else {
			call.Input["long_running"] = lro
		}
		out, err := op.Invoke(context.Background(), call)
		if err != nil || out.(map[string]any)["status"] != int64(202) {
			t.Fatalf("%v: %v %v", lro, out, err)
		}
	}
	if len(a.polls) != 0 {
		t.Fatalf("polled without being asked")
	}
	for _, bad := range []any{"yes", map[string]any{"poll": "yes"}, map[string]any{"max_wait_seconds": -1}, map[string]any{"nope": 1}} {
		call := lroCall(a, "k5", nil)
		call.Input["long_running"] = bad
		if _, err := op.Invoke(context.Background(), call); err == nil {
			t.Fatalf("%v accepted", bad)
		}
	}
	// The step's context bounds the wait.
	b := newLRO(t, &lroAPI{running: 1000})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := op.Invoke(ctx, lroCall(b, "k6", map[string]any{"interval_seconds": 0.05})); err == nil {
		t.Fatal("no error past the step's deadline")
	}
}

// A monitor on another origin never gets the connection's credentials.
func TestLongRunningOtherOrigin(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the other origin was called (auth %q)", r.Header.Get("Authorization"))
	}))
	defer other.Close()
	a := newLRO(t, &lroAPI{})
	a.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Operation-Location", other.URL+"/op/1")
		w.WriteHeader(202)
	})
	op := New(Options{}).Operations[0]
	_, err := op.Invoke(context.Background(), lroCall(a, "k7", map[string]any{"interval_seconds": 0.001}))
	if err == nil || !strings.Contains(err.Error(), "another origin") {
		t.Fatalf("got %v", err)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A vendor's bulk job as one step: GET the job until its own state field
// (state, with the API's own values) is final.
func TestLongRunningBulkJobState(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("Content-Type", "application/json")
		switch {
		case n < 3:
			_, _ = w.Write([]byte(`{"id":"750x","job":{"state":"UploadComplete"}}`))
		case r.URL.Path == "/jobs/750x":
			_, _ = w.Write([]byte(`{"id":"750x","job":{"state":"JobComplete"},"numberRecordsProcessed":1200}`))
		}
	}))
	defer srv.Close()
	op := New(Options{}).Operations[0]
	conn := &connectors.Connection{Name: "c", BaseURL: srv.URL, AllowPrivate: true}
	lro := map[string]any{"interval_seconds": 0.001, "status_path": "job.state", "running": []any{"UploadComplete", "InProgress"}, "succeeded": []any{"JobComplete"}, "failed": []any{"Failed", "Aborted"}}
	out, err := op.Invoke(context.Background(), connectors.Call{Connection: conn, Input: map[string]any{"url": "/jobs/750x", "long_running": lro}})
	if err != nil {
		t.Fatal(err)
	}
	m := out.(map[string]any)
	if m["body"].(map[string]any)["numberRecordsProcessed"] != float64(1200) || n != 3 || m["long_running"].(map[string]any)["polls"] != int64(2) {
		t.Fatalf("%d requests: %v", n, m)
	}
	// A POST answering a running state is not polled (polling would GET
	// what was POSTed): its answer is the result.
	n = 0
	out, err = op.Invoke(context.Background(), connectors.Call{Connection: conn, Input: map[string]any{"method": "POST", "url": "/jobs", "long_running": lro}})
	if err != nil || n != 1 || out.(map[string]any)["long_running"] != nil {
		t.Fatalf("POST: %d requests, %v %v", n, out, err)
	}
	// Without the API's own values, UploadComplete is no known state: the
	// first answer is the result.
	n = 0
	out, err = op.Invoke(context.Background(), connectors.Call{Connection: conn, Input: map[string]any{"url": "/jobs/750x", "long_running": map[string]any{"status_path": "job.state"}}})
	if err != nil || n != 1 {
		t.Fatalf("unknown state: %d requests, %v %v", n, out, err)
	}
}
