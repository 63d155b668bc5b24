package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// weft agent connection set, end to end: a connection placed on plant-3
// from the control plane without its credential; the credential is set
// with `weft agent connection set erp --secret auth.token` (its value on
// standard input) against the agent only. The same command pointed at the
// control plane is refused before anything is sent. The site's flow then
// reaches the site's system with the credential; the control plane sees
// only that auth.token is set. The secret is found in none of the control
// plane's database files, its log, its API answers or the bytes that
// crossed the link, nor in clear in the agent's own files (sealed with its
// key), and the set survives a kill -9 of the agent.
func TestHybridAgentConnectionSetStaysOnSite(t *testing.T) {
	const secret = "agent-only-ERP-secret-3f6d21"
	got := make(chan string, 100)
	erp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+secret {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		got <- string(body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"stored": true}`))
	}))
	defer erp.Close()

	cpDir, dir := t.TempDir(), t.TempDir()
	cp := startServer(t, "", nil, "--data-dir", cpDir)
	cli := func(s *server, stdin string, args ...string) (string, error) {
		cmd := exec.Command(weftBin, args...)
		cmd.Env = append(os.Environ(), "WEFT_SERVER="+s.URL)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(out string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return out
	}
	write := func(name, body string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	var created struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal([]byte(must(cli(cp, "", "agents", "create", "plant-3", "--json"))), &created)
	must(cli(cp, "", "connection", "set", "erp", "--file", write("erp.yaml", "connector: http\nbase_url: "+erp.URL+"\nallow_private: true\nplacement: {site: plant-3}\n")))
	must(cli(cp, "", "flow", "deploy", write("to-erp.yaml", "name: to-erp\nplacement: {site: plant-3}\ntrigger: {webhook: {mode: sync}}\nsteps:\n"+
		"  - {id: post, call: http.request, connection: erp, with: {method: POST, url: /orders, body: =trigger.body}}\n"+
		"  - {id: answer, respond: {status: 200, body: {ok: true}}}\n")))

	// Pointed at the control plane, the command refuses and sends nothing.
	out, err := cli(cp, secret+"\n", "agent", "connection", "set", "erp", "--secret", "auth.token")
	if err == nil || !strings.Contains(out, "not a runtime agent") {
		t.Fatalf("agent connection set against the control plane: %v %s", err, out)
	}

	proxy := newFaultProxy(t, cp.addr)
	agentDir, agentAddr := t.TempDir(), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	a := startAgentAt(t, proxy.URL(), agentAddr, agentDir, "plant-3", created.Token)
	deadline := time.Now().Add(30 * time.Second)
	for a.do("GET", "/api/connections/erp", nil, nil) != http.StatusOK || a.do("GET", "/api/flows/to-erp", nil, nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("the placed connection and flow never reached the agent:\n%s", a.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	out = must(cli(a, secret+"\n", "agent", "connection", "set", "erp", "--secret", "auth.token"))
	if !strings.Contains(out, "site plant-3") || !strings.Contains(out, "auth.token") || strings.Contains(out, secret) {
		t.Fatalf("agent connection set: %s", out)
	}
	var conn map[string]any
	a.do("GET", "/api/connections/erp", nil, &conn)
	if b, _ := json.Marshal(conn["placement"]); string(b) != `{"site":"plant-3"}` {
		t.Fatalf("the placed connection lost its placement on the agent: %v", conn)
	}
	fire := func(s *server, n int) {
		t.Helper()
		resp, err := http.Post(s.URL+"/hooks/to-erp", "application/json", strings.NewReader(fmt.Sprintf(`{"n": %d}`, n)))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("run %d on the agent: %d %s", n, resp.StatusCode, data)
		}
		select {
		case b := <-got:
			if !strings.Contains(b, fmt.Sprintf(`"n":%d`, n)) {
				t.Fatalf("the ERP got %s, want n=%d", b, n)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the ERP never got run %d", n)
		}
	}
	fire(a, 1)
	// Sealed at rest: a restart after kill -9 keeps it, and the agent's
	// own files do not hold it in clear.
	a.kill9()
	a = startAgentAt(t, proxy.URL(), agentAddr, agentDir, "plant-3", created.Token)
	fire(a, 2)
	agentFiles, _ := filepath.Glob(filepath.Join(agentDir, "*"))
	for _, f := range agentFiles {
		if data, err := os.ReadFile(f); err == nil && bytes.Contains(data, []byte(secret)) {
			t.Errorf("the credential is in clear in the agent's %s", f)
		}
	}

	// The control plane sees that auth.token is set on the site, no more.
	deadline = time.Now().Add(45 * time.Second)
	for {
		var st struct {
			Health struct {
				Connections []struct {
					Name        string   `json:"name"`
					Credentials []string `json:"credentials"`
				} `json:"connections"`
			} `json:"health"`
		}
		cp.do("GET", "/api/agents/plant-3", nil, &st)
		seen := false
		for _, c := range st.Health.Connections {
			seen = seen || (c.Name == "erp" && strings.Join(c.Credentials, ",") == "auth.token")
		}
		if seen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the control plane never saw auth.token set on the site: %+v", st)
		}
		time.Sleep(300 * time.Millisecond)
	}
	var answers bytes.Buffer
	for _, path := range []string{"/api/agents", "/api/agents/plant-3", "/api/agents/plant-3/runs?limit=100", "/api/connections", "/api/connections/erp", "/api/flows/to-erp", "/api/audit?limit=200"} {
		var v any
		cp.do("GET", path, nil, &v)
		b, _ := json.Marshal(v)
		answers.Write(b)
	}
	if !strings.Contains(answers.String(), `"auth.token"`) || !bytes.Contains(proxy.Seen(), []byte("plant-3")) {
		t.Fatal("the answers or the link's recording do not name what they should: the grep proves nothing")
	}
	haystacks := map[string][]byte{"control plane log": []byte(cp.logs()), "API answers": answers.Bytes(), "link traffic": proxy.Seen()}
	files, _ := filepath.Glob(filepath.Join(cpDir, "*"))
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			haystacks[f] = data
		}
	}
	for where, data := range haystacks {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("the site's credential is in the control plane's %s", where)
		}
	}
}
