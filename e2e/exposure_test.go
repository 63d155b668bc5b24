package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// noToken clears an API token the environment running the tests may hold.
var noToken = []string{"WEFT_API_TOKEN=", "WEFT_DEBUG_ADDR="}

// serveOutcome runs weft serve with args until it exits or within passes;
// it reports the exit code (-1: still running, then stopped) and the log.
func serveOutcome(t *testing.T, env []string, within time.Duration, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, weftBin, append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return -1, out.String()
	}
	if err == nil {
		return 0, out.String()
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// startExposed starts weft serve listening on listen and waits until it
// answers at dial.
func startExposed(t *testing.T, listen, dial string, env []string, args ...string) (*server, string) {
	t.Helper()
	s := launch(t, "", listen, "http://"+dial, env, args...)
	s.waitHealthy(http.DefaultClient)
	return s, s.logs()
}

// Listening beyond loopback without authentication is refused, whatever
// the spelling of "every interface": the process exits at once, non-zero,
// saying why and what to do, before it opens its data directory.
func TestIssue16_F02_RefusesNonLoopbackWithoutAuth(t *testing.T) {
	port := freePort(t)
	for _, c := range []struct {
		name string
		env  []string
		args []string
	}{
		{"0.0.0.0", noToken, []string{"--addr", fmt.Sprintf("0.0.0.0:%d", port)}},
		{"empty host", noToken, []string{"--addr", fmt.Sprintf(":%d", port)}},
		{"IPv6 any", noToken, []string{"--addr", fmt.Sprintf("[::]:%d", port)}},
		{"WEFT_ADDR", append([]string{fmt.Sprintf("WEFT_ADDR=0.0.0.0:%d", port)}, noToken...), nil},
		{"a short token", []string{"WEFT_API_TOKEN=hunter2"}, []string{"--addr", fmt.Sprintf("0.0.0.0:%d", port)}},
		{"pprof on every interface", append([]string{fmt.Sprintf("WEFT_DEBUG_ADDR=0.0.0.0:%d", freePort(t))}, noToken[0]), []string{"--addr", fmt.Sprintf("127.0.0.1:%d", port)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			code, out := serveOutcome(t, c.env, 20*time.Second, append(c.args, "--data-dir", data)...)
			if code == -1 {
				t.Fatalf("weft serve kept running (it should refuse):\n%s", out)
			}
			if code == 0 || !strings.Contains(out, "refusing to start") || !strings.Contains(out, "--insecure") || !strings.Contains(out, "api_token") {
				t.Fatalf("exit %d, want a refusal naming api_token and --insecure:\n%s", code, out)
			}
			if _, err := os.Stat(data); err == nil {
				t.Fatalf("the refused server created its data directory")
			}
		})
	}
}

// --insecure starts it open, loudly; a strong token starts it quietly,
// and then nothing answers without the token.
func TestIssue16_F02_InsecureStartsWithLoudWarning(t *testing.T) {
	port := freePort(t)
	s, logs := startExposed(t, fmt.Sprintf("0.0.0.0:%d", port), fmt.Sprintf("127.0.0.1:%d", port), noToken, "--insecure", "--data-dir", t.TempDir())
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "INSECURE") || !strings.Contains(logs, "no api_token") {
		t.Fatalf("no loud warning:\n%s", logs)
	}
	s.stop(syscall.SIGTERM)

	port = freePort(t)
	token := "e2e-0123456789abcdef-token"
	s, logs = startExposed(t, fmt.Sprintf("0.0.0.0:%d", port), fmt.Sprintf("127.0.0.1:%d", port), []string{"WEFT_API_TOKEN=" + token}, "--data-dir", t.TempDir())
	if strings.Contains(logs, "INSECURE") {
		t.Fatalf("a token-protected server warns as insecure:\n%s", logs)
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/mcp/keys", `{"name":"x","scopes":["*"]}`},
		{"PUT", "/api/connections/x", `{"connector":"http","allow_private":true}`},
		{"GET", "/metrics", ""},
		{"POST", "/mcp", `{"jsonrpc":"2.0","id":1,"method":"ping"}`},
	} {
		if code := rawCall(t, c.method, s.URL+c.path, c.body, ""); code != 401 {
			t.Errorf("%s %s without the token: %d, want 401", c.method, c.path, code)
		}
	}
	if code := rawCall(t, "POST", s.URL+"/api/mcp/keys", `{"name":"x","scopes":["*"]}`, token); code != 201 {
		t.Errorf("with the token: %d", code)
	}
}

// rawCall sends a JSON request with an optional bearer token.
func rawCall(t *testing.T, method, url, body, token string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

const mcpInit = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`

// With an API token set and no MCP key yet (auth.mode auto), /mcp is not
// open: it takes the API token (or a key) like the API does.
func TestIssue16_F03_APITokenProtectsMCP(t *testing.T) {
	token := "e2e-0123456789abcdef-token"
	srv := startServer(t, "", []string{"WEFT_API_TOKEN=" + token}, "--data-dir", t.TempDir())
	for _, path := range []string{"/mcp", "/mcp/discovery"} {
		if code := rawCall(t, "POST", srv.URL+path, mcpInit, ""); code != 401 {
			t.Errorf("%s without a credential: %d, want 401", path, code)
		}
		if code := rawCall(t, "POST", srv.URL+path, mcpInit, "wrong-"+token); code != 401 {
			t.Errorf("%s with a wrong token: %d, want 401", path, code)
		}
		if code := rawCall(t, "POST", srv.URL+path, mcpInit, token); code != 200 {
			t.Errorf("%s with the API token: %d, want 200", path, code)
		}
	}
	// Without a token, on loopback, a fresh install stays open for local
	// development.
	open := startServer(t, "", noToken, "--data-dir", t.TempDir())
	if code := rawCall(t, "POST", open.URL+"/mcp", mcpInit, ""); code != 200 {
		t.Fatalf("loopback without a token: %d", code)
	}
}

// The conformance fixture answers without a key: it is mounted only when
// asked for.
func TestIssue16_F13_ConformanceFixtureOnlyWhenAsked(t *testing.T) {
	srv := startServer(t, "", noToken, "--data-dir", t.TempDir())
	if code := rawCall(t, "POST", srv.URL+"/mcp/conformance", mcpInit, ""); code != 404 {
		t.Fatalf("/mcp/conformance on a production server: %d, want 404", code)
	}
	var sets struct {
		Toolsets []struct{ Name string } `json:"toolsets"`
	}
	srv.do("GET", "/api/mcp/toolsets", nil, &sets)
	for _, s := range sets.Toolsets {
		if s.Name == "conformance" {
			t.Fatal("the conformance toolset is listed")
		}
	}
	fx := startServer(t, "", noToken, "--data-dir", t.TempDir(), "--conformance-fixture")
	if code := rawCall(t, "POST", fx.URL+"/mcp/conformance", mcpInit, ""); code != 200 {
		t.Fatalf("/mcp/conformance with --conformance-fixture: %d", code)
	}
}

// A client that sends its headers or its body too slowly is disconnected
// within the configured bound, on the real server.
func TestIssue16_F29_SlowClientsAreDisconnected(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "weft.yaml")
	if err := os.WriteFile(cfg, []byte("http: {read_header_timeout: 1s, body_timeout: 1s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "", noToken, "--data-dir", filepath.Join(dir, "data"), "--config", cfg)
	for name, raw := range map[string]string{
		"body of 7 of 100 bytes":  "POST /api/flows HTTP/1.1\r\nHost: " + srv.addr + "\r\nContent-Type: application/yaml\r\nContent-Length: 100\r\n\r\nname: x",
		"webhook body never sent": "POST /hooks/x HTTP/1.1\r\nHost: " + srv.addr + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
		"headers never completed": "GET /healthz HTTP/1.1\r\nHost: " + srv.addr + "\r\nX-Slow: 1\r\n",
	} {
		c, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, _ = io.WriteString(c, raw)
		_ = c.SetReadDeadline(start.Add(15 * time.Second))
		_, err = io.Copy(io.Discard, c)
		took := time.Since(start)
		c.Close()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: still connected after 15s", name)
		} else if took > 5*time.Second {
			t.Errorf("%s: disconnected after %v, want about 2s", name, took)
		}
	}
}

// Local users close the API as an api_token does, so a server whose store
// holds a user may listen beyond loopback without an api_token: sign-in
// (or a token) is then needed everywhere, /mcp included. A store without
// users is still refused, after it is opened; a store that does not exist
// yet is refused before it is created (TestIssue16_F02_…).
func TestIssue18_LocalUsersMayListenBeyondLoopback(t *testing.T) {
	withUser, noUser := t.TempDir(), t.TempDir()
	const pw = "correct horse battery staple 42"
	for _, dir := range []string{withUser, noUser} {
		port := freePort(t)
		s := startServer(t, fmt.Sprintf("127.0.0.1:%d", port), noToken, "--data-dir", dir)
		if dir == withUser {
			cmd := exec.Command(weftBin, "users", "create", "root", "--role", "admin", "--namespace", "*")
			cmd.Env = append(os.Environ(), "WEFT_SERVER="+s.URL)
			cmd.Stdin = strings.NewReader(pw + "\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("users create: %v\n%s", err, out)
			}
		}
		s.stop(syscall.SIGTERM)
	}

	port := freePort(t)
	code, out := serveOutcome(t, noToken, 30*time.Second, "--addr", fmt.Sprintf("0.0.0.0:%d", port), "--data-dir", noUser)
	if code <= 0 || !strings.Contains(out, "refusing to start") || !strings.Contains(out, "weft users create") {
		t.Fatalf("a store without users beyond loopback: exit %d, want a refusal naming weft users create:\n%s", code, out)
	}

	port = freePort(t)
	s, logs := startExposed(t, fmt.Sprintf("0.0.0.0:%d", port), fmt.Sprintf("127.0.0.1:%d", port), noToken, "--data-dir", withUser)
	if strings.Contains(logs, "INSECURE") {
		t.Fatalf("a server with users warns as insecure:\n%s", logs)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/flows", ""},
		{"POST", "/api/mcp/keys", `{"name":"x","scopes":["*"]}`},
		{"GET", "/metrics", ""},
		{"POST", "/mcp", `{"jsonrpc":"2.0","id":1,"method":"ping"}`},
	} {
		if code := rawCall(t, c.method, s.URL+c.path, c.body, ""); code != 401 {
			t.Errorf("%s %s without credentials: %d, want 401", c.method, c.path, code)
		}
	}
	if code := rawCall(t, "POST", s.URL+"/api/session", `{"user":"root","password":"`+pw+`"}`, ""); code != 200 && code != 201 {
		t.Errorf("sign-in as the local user: %d", code)
	}
}
