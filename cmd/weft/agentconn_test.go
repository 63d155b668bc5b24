package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeWeft answers /healthz (naming site, when set) and the connection
// routes the way the gateway does, and records every PUT body.
func fakeWeft(t *testing.T, site string, have map[string]any) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var puts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/healthz":
			h := map[string]any{"status": "ok"}
			if site != "" {
				h["site"] = site
			}
			_ = json.NewEncoder(w).Encode(h)
		case r.Method == "GET" && r.URL.Path == "/api/connections/erp" && have != nil:
			_ = json.NewEncoder(w).Encode(have)
		case r.Method == "GET":
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"error":{"code":"not_found","message":"no connection named \"erp\""}}`)
		case r.Method == "PUT" && r.URL.Path == "/api/connections/erp":
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			puts = append(puts, string(body))
			mu.Unlock()
			var m map[string]any
			_ = json.Unmarshal(body, &m)
			creds := map[string]string{}
			if a, ok := m["auth"].(map[string]any); ok && a["token"] != nil {
				creds["auth.token"] = "set"
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"connector": m["connector"], "credentials": creds})
		default:
			w.WriteHeader(500)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string{}, puts...) }
}

// weft agent connection set sends a credential to a runtime agent only:
// merged over the agent's definition (a placed connection keeps its
// placement), read from standard input or a file, never from argv; a
// server that is not an agent is refused before anything is sent.
func TestAgentConnectionSetOnTheAgentOnly(t *testing.T) {
	const secret = "site-only-token-91c2"
	placed := map[string]any{"name": "erp", "connector": "http", "namespace": "default", "base_url": "https://erp.plant-3.lan",
		"placement": map[string]any{"site": "plant-3"}, "auth": map[string]any{"type": "bearer"}, "credentials": map[string]any{}, "source": "control-plane"}
	ag, puts := fakeWeft(t, "plant-3", placed)
	var out bytes.Buffer
	if err := agentConnectionCmd([]string{"set", "erp", "--secret", "auth.token", "--server", ag.URL}, &out, strings.NewReader(secret+"\n")); err != nil {
		t.Fatal(err)
	}
	p := puts()
	if len(p) != 1 {
		t.Fatalf("PUTs: %v", p)
	}
	var body map[string]any
	_ = json.Unmarshal([]byte(p[0]), &body)
	auth, _ := body["auth"].(map[string]any)
	if auth["token"] != secret || auth["type"] != "bearer" || body["base_url"] != "https://erp.plant-3.lan" || body["placement"].(map[string]any)["site"] != "plant-3" {
		t.Fatalf("the merged definition: %s", p[0])
	}
	if _, ok := body["credentials"]; ok {
		t.Fatalf("the view's credentials went back: %s", p[0])
	}
	if !strings.Contains(out.String(), "site plant-3") || !strings.Contains(out.String(), "auth.token") || strings.Contains(out.String(), secret) {
		t.Fatalf("output: %s", out.String())
	}

	// From a file: a whole definition for a connection the agent lacks.
	fresh, puts2 := fakeWeft(t, "plant-3", nil)
	f := filepath.Join(t.TempDir(), "mes.yaml")
	if err := os.WriteFile(f, []byte("connector: http\nbase_url: https://mes.lan\nauth: {type: bearer, token: "+secret+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := agentConnectionCmd([]string{"set", "erp", "--file", f, "--server", fresh.URL, "--json"}, &out, strings.NewReader("")); err != nil {
		t.Fatal(err)
	}
	if p := puts2(); len(p) != 1 || !strings.Contains(p[0], `"base_url":"https://mes.lan"`) || !strings.Contains(out.String(), `"site": "plant-3"`) {
		t.Fatalf("PUTs %v, output %s", p, out.String())
	}
	// Only changes for a connection the agent lacks: refused, nothing sent.
	if err := agentConnectionCmd([]string{"set", "erp", "--secret", "auth.token", "--server", fresh.URL}, &out, strings.NewReader(secret+"\n")); err == nil || !strings.Contains(err.Error(), "whole definition") {
		t.Fatalf("want a refusal naming the whole definition, got %v", err)
	}

	// A control plane (no site on /healthz): refused, nothing sent.
	cp, cpPuts := fakeWeft(t, "", placed)
	err := agentConnectionCmd([]string{"set", "erp", "--secret", "auth.token", "--server", cp.URL}, &out, strings.NewReader(secret+"\n"))
	if err == nil || !strings.Contains(err.Error(), "not a runtime agent") || len(cpPuts()) != 0 {
		t.Fatalf("a control plane: err %v, PUTs %v", err, cpPuts())
	}
	// Bad input: clear errors, nothing sent.
	for _, c := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"set", "erp"}, "", "--file"},
		{[]string{"set", "erp", "--secret", "base_url"}, "x\n", "name a credential"},
		{[]string{"set", "erp", "--secret", "auth.token"}, "", "no value"},
		{[]string{"set", "erp", "--secret", "auth.token"}, "\n", "empty value"},
		{[]string{"set", "erp", "--secret", "auth.token"}, strings.Repeat("x", maxSecretLineBytes+10), "at most"},
		{[]string{"set", "erp", "--file", "-", "--secret", "auth.token"}, "x\n", "both read standard input"},
		{[]string{"list"}, "", "want set"},
	} {
		err := agentConnectionCmd(append(c.args, "--server", ag.URL), &out, strings.NewReader(c.stdin))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: want an error with %q, got %v", c.args, c.want, err)
		}
	}
	if len(puts()) != 1 {
		t.Fatalf("a refused command sent something: %v", puts())
	}
}
