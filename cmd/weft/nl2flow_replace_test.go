package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// A draft whose name is already deployed is not deployed over it without
// --replace; with --replace it is.
func TestNL2FlowDeployNeverOverwritesWithoutReplace(t *testing.T) {
	var mu sync.Mutex
	deployed := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST" && r.URL.Path == "/api/nl2flow":
			_ = json.NewEncoder(w).Encode(map[string]any{"name": "new-deal-post-sales", "valid": true, "confidence": 1,
				"yaml": "name: new-deal-post-sales\ntrigger: {manual: {}}\nsteps:\n  - set: {x: 1}\n"})
		case r.Method == "GET" && r.URL.Path == "/api/flows/new-deal-post-sales":
			_ = json.NewEncoder(w).Encode(map[string]any{"name": "new-deal-post-sales", "version": 3})
		case r.Method == "POST" && r.URL.Path == "/api/flows":
			mu.Lock()
			deployed++
			mu.Unlock()
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]any{"name": "new-deal-post-sales", "version": 4})
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"no such thing"}}`))
		}
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	if code := run([]string{"nl2flow", "new deal: post in #sales", "--deploy", "--server", srv.URL}, &out, &errb); code == 0 {
		t.Fatalf("deployed over an existing flow without --replace:\n%s", out.String())
	}
	if !strings.Contains(out.String()+errb.String(), "--replace") {
		t.Errorf("the refusal does not say how to replace:\n%s%s", out.String(), errb.String())
	}
	if deployed != 0 {
		t.Fatalf("%d deploys", deployed)
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"nl2flow", "new deal: post in #sales", "--deploy", "--replace", "--server", srv.URL}, &out, &errb); code != 0 {
		t.Fatalf("--replace: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if deployed != 1 {
		t.Errorf("--replace: %d deploys, want 1", deployed)
	}
}
