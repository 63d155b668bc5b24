package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// A credential stored over the API is sealed at rest, used by flows, never
// shown by the API, CLI or logs, survives a key rotation and a restart.
func TestConnectionCredentialsSealedNeverShown(t *testing.T) {
	const planted = "pl4nted-S3CRET-7f1d9c"
	var good, bad atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+planted {
			bad.Add(1)
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"bad token"}`)
			return
		}
		good.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer api.Close()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	env := []string{"WEFT_DATA_DIR=" + data, "WEFT_LOG_LEVEL=debug"}
	srv := startServer(t, "", env)
	var outputs []string

	connFile := filepath.Join(dir, "crm.yaml")
	os.WriteFile(connFile, []byte("connector: http\nbase_url: "+api.URL+"\nallow_private: true\nauth:\n  type: bearer\n  token: "+planted+"\n"), 0o600)
	out, err := srv.cli("connection", "set", "crm", "--file", connFile)
	outputs = append(outputs, out)
	if err != nil || !strings.Contains(out, "auth.token") {
		t.Fatalf("set: %v %s", err, out)
	}
	flow := filepath.Join(dir, "ping.yaml")
	os.WriteFile(flow, []byte("name: ping\ntrigger: {manual: {}}\nsteps:\n  - id: get\n    call: http.request\n    connection: crm\n    with: {url: /ping}\n  - respond: {body: =steps.get.body}\n"), 0o600)
	if out, err := srv.cli("flow", "deploy", flow); err != nil {
		t.Fatalf("deploy: %v %s", err, out)
	}
	run := func(s *server) {
		t.Helper()
		var resp map[string]any
		if code := s.do("POST", "/api/flows/ping/runs", `{}`, &resp); code != 200 || resp["ok"] != true {
			t.Fatalf("run: %d %v", code, resp)
		}
	}
	run(srv)
	for _, args := range [][]string{{"connection", "list"}, {"connection", "show", "crm"}, {"connection", "list", "--json"}, {"connector", "list", "--json"}} {
		out, err := srv.cli(args...)
		if err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
		outputs = append(outputs, out)
	}
	if !strings.Contains(outputs[len(outputs)-3], `"auth.token": "set"`) {
		t.Fatalf("show should say the token is set: %s", outputs[len(outputs)-3])
	}
	// Update the base URL without repeating the token: it is kept.
	os.WriteFile(connFile, []byte("connector: http\nbase_url: "+api.URL+"/\nallow_private: true\nauth: {type: bearer}\n"), 0o600)
	if out, err := srv.cli("connection", "set", "crm", "--file", connFile); err != nil {
		t.Fatalf("update: %v %s", err, out)
	}
	run(srv)
	// Rotate the master key: every connection resealed, nothing lost.
	keyBefore, _ := os.ReadFile(filepath.Join(data, "master.key"))
	out, err = srv.cli("secrets", "rotate")
	outputs = append(outputs, out)
	if err != nil || !strings.Contains(out, "1 connections resealed") {
		t.Fatalf("rotate: %v %s", err, out)
	}
	keyAfter, _ := os.ReadFile(filepath.Join(data, "master.key"))
	if string(keyBefore) == string(keyAfter) {
		t.Fatal("key file unchanged by rotation")
	}
	run(srv)
	srv.stop(syscall.SIGTERM)
	srv2 := startServer(t, srv.addr, env)
	run(srv2)
	if good.Load() != 4 || bad.Load() != 0 {
		t.Fatalf("upstream saw %d good and %d bad calls", good.Load(), bad.Load())
	}
	// Starting with a different key cannot open the sealed connection: a clear error.
	srv2.stop(syscall.SIGTERM)
	os.WriteFile(filepath.Join(dir, "other.key"), []byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), 0o600)
	code, logs := runServeExpectFail(t, append(env, "WEFT_MASTER_KEY_FILE="+filepath.Join(dir, "other.key")))
	if code == 0 || !strings.Contains(logs, "not in the keyring") {
		t.Fatalf("wrong key: exit %d\n%s", code, logs)
	}
	outputs = append(outputs, srv.logs(), srv2.logs(), logs)

	// The planted secret appears in no output, log or stored file.
	for i, o := range outputs {
		if strings.Contains(o, planted) {
			t.Fatalf("output %d shows the secret:\n%s", i, o)
		}
	}
	filepath.Walk(data, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), planted) {
				t.Errorf("%s holds the secret in the clear", p)
			}
		}
		return nil
	})
}

// runServeExpectFail runs weft serve expecting it to exit at once.
func runServeExpectFail(t *testing.T, env []string) (int, string) {
	cmd := newServeCmd(env, "--addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	out, err := cmd.CombinedOutput()
	if err == nil {
		return 0, string(out)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}
