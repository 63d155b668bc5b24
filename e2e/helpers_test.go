// Package e2e holds end-to-end tests: they build the weft binary, start it
// as a user would, and talk to it over HTTP and the CLI.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weftio/weft/connectors/mcpconn/mcptest"
	"github.com/weftio/weft/internal/pgtest"
)

var weftBin string

func TestMain(m *testing.M) {
	mcptest.MaybeRunStdio() // a stdio MCP server for weft serve to federate (mcpfed_test)
	if bin := os.Getenv("WEFT_E2E_BIN"); bin != "" {
		// A re-executed test binary (the air-gapped test inside its
		// network namespace) uses the binary its parent built: building
		// needs no network, but nothing should be done twice.
		weftBin = bin
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "weft-e2e-")
	if err != nil {
		panic(err)
	}
	weftBin = filepath.Join(dir, "weft")
	out, err := exec.Command("go", "build", "-o", weftBin, "../cmd/weft").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build weft: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	pgtest.StopShared()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// server is a running weft serve process.
type server struct {
	t    testing.TB
	cmd  *exec.Cmd
	URL  string
	addr string
	log  *bytes.Buffer
	mu   *sync.Mutex
	done chan struct{}
}

type lockedBuf struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (l lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// startServer starts weft serve with args and env on addr ("" = a free port).
func startServer(t testing.TB, addr string, env []string, args ...string) *server {
	t.Helper()
	return startServerIn(t, "", addr, env, args...)
}

// startServerIn is startServer in working directory dir ("" = this one).
func startServerIn(t testing.TB, dir, addr string, env []string, args ...string) *server {
	t.Helper()
	if addr == "" {
		addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	}
	s := launch(t, dir, addr, "http://"+addr, env, args...)
	s.waitHealthy(http.DefaultClient)
	return s
}

// startServerTLS starts weft serve listening on listen with a tls config
// (in args) and waits until https://dial/healthz answers through hc (a
// client that trusts the test CA and, under mutual TLS, presents a client
// certificate).
func startServerTLS(t testing.TB, listen, dial string, hc *http.Client, env []string, args ...string) *server {
	t.Helper()
	s := launch(t, "", listen, "https://"+dial, env, args...)
	s.waitHealthy(hc)
	return s
}

// launch starts weft serve on listen in dir; url is how tests reach it.
func launch(t testing.TB, dir, listen, url string, env []string, args ...string) *server {
	t.Helper()
	s := &server{t: t, URL: url, addr: listen, log: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	s.cmd = exec.Command(weftBin, append([]string{"serve", "--addr", listen}, args...)...)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Dir = dir
	s.cmd.Stdout = lockedBuf{s.mu, s.log}
	s.cmd.Stderr = lockedBuf{s.mu, s.log}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.stop(syscall.SIGTERM) })
	return s
}

// waitHealthy polls /healthz through hc until it answers 200 (30 s at most).
func (s *server) waitHealthy(hc *http.Client) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := hc.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-s.done:
			s.t.Fatalf("weft serve exited early:\n%s", s.logs())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("weft serve did not become healthy at %s (%v):\n%s", s.URL, err, s.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

func (s *server) stop(sig syscall.Signal) {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// kill9 kills the server without any chance to clean up.
func (s *server) kill9() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

func (s *server) do(method, path string, body any, out any) int {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode
}

// newServeCmd is a weft serve command with env added.
func newServeCmd(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(weftBin, append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// cli runs the weft CLI against s.
func (s *server) cli(args ...string) (string, error) {
	cmd := exec.Command(weftBin, args...)
	cmd.Env = append(os.Environ(), "WEFT_SERVER="+s.URL)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// sandboxConfig writes a config that serves the example APIs as sandboxes
// inside weft serve, imports the CRM, tracker and chat and connects them;
// extra is appended (deploy: …). It returns the file and the sandboxes'
// base URL.
func sandboxConfig(t *testing.T, dir, addr, extra string) (string, string) {
	t.Helper()
	root, _ := filepath.Abs("..")
	base := "http://" + addr + "/sandbox/"
	spec := func(n string) string { return filepath.Join(root, "examples/connectors", n+".yaml") }
	cfg := filepath.Join(dir, "weft.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`sandboxes: [%s]
imports: {crm: %s, tracker: %s, chat: %s}
connections:
  crm: {connector: crm, base_url: %scrm, allow_private: true, auth: {type: bearer, token: any}}
  tracker: {connector: tracker, base_url: %stracker, allow_private: true}
  chat: {connector: chat, base_url: %schat, allow_private: true}
%s`, filepath.Join(root, "examples/connectors/*.yaml"), spec("crm"), spec("tracker"), spec("chat"), base, base, base, extra)), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, base
}

// sandboxAPI calls a sandbox API as a client would, failing the test on
// an error answer.
func sandboxAPI(t *testing.T, base string) func(method, path, body string) map[string]any {
	return func(method, path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(data, &out)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
		}
		return out
	}
}
