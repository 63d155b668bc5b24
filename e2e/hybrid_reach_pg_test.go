package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftio/weft/internal/pgtest"
)

// MCP reach-in on a control plane of two processes over one PostgreSQL:
// the site's agent links to p1 only; an MCP client of p2 calls the site's
// tools, and the calls run through the database to p1 and the agent. A
// placed flow's progress notifications reach the client under its token.
// With the agent killed, p2 refuses the call at once naming the site
// offline; the agent back, it works again.
func TestHybridMCPReachInAcrossProcesses(t *testing.T) {
	const secret = "site-only-pg-token-71d0"
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+secret {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/wait" {
			time.Sleep(1500 * time.Millisecond)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"item":"from-site","path":"`+r.URL.Path+`"}`)
	}))
	defer site.Close()
	env := []string{"WEFT_DATABASE_URL=" + pgtest.Shared(t).NewDatabase(t), "WEFT_DATA_DIR=" + t.TempDir(),
		"WEFT_MASTER_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	p1 := startServer(t, "", env)
	p2 := startServer(t, "", env)
	dir := t.TempDir()
	cli := func(s *server, stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(weftBin, args...)
		cmd.Env = append(os.Environ(), "WEFT_SERVER="+s.URL)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("weft %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
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
	_ = json.Unmarshal([]byte(cli(p1, "", "agents", "create", "plant-3", "--json")), &created)
	cli(p1, "", "connection", "set", "erp", "--file", write("erp.yaml", "connector: http\nbase_url: "+site.URL+"\nallow_private: true\nplacement: {site: plant-3}\n"))
	cli(p1, "", "flow", "deploy", write("site-slow.yaml", "name: site-slow\nplacement: {site: plant-3}\ntrigger: {webhook: {mode: sync}}\nsteps:\n"+
		"  - {id: get, call: http.request, connection: erp, with: {method: GET, url: /wait}}\n"+
		"  - {id: answer, respond: {status: 200, body: {got: =steps.get.body.item}}}\n"))
	agentDir, agentAddr := t.TempDir(), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	a := startAgentAt(t, p1.URL, agentAddr, agentDir, "plant-3", created.Token)
	deadline := time.Now().Add(30 * time.Second)
	for a.do("GET", "/api/connections/erp", nil, nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("the placed connection never reached the agent:\n%s", a.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	cli(a, secret+"\n", "agent", "connection", "set", "erp", "--secret", "auth.token")

	key := cli(p2, "", "mcp", "keys", "create", "reach", "--scopes", "all", "--rate", "100000")
	key = strings.TrimSpace(key[strings.LastIndex(strings.TrimSpace(key), "\n")+1:])
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var mu sync.Mutex
	var notes []string
	s := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: p2.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{key}}},
		&sdk.ClientOptions{ProgressNotificationHandler: func(_ context.Context, r *sdk.ProgressNotificationClientRequest) {
			mu.Lock()
			notes = append(notes, r.Params.Message)
			mu.Unlock()
		}})
	call := func(tool string, args map[string]any, token any) (*sdk.CallToolResult, time.Duration) {
		t.Helper()
		p := &sdk.CallToolParams{Name: tool, Arguments: args}
		if token != nil {
			p.SetProgressToken(token)
		}
		start := time.Now()
		res, err := s.CallTool(ctx, p)
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		return res, time.Since(start)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		tools := toolNames(t, ctx, s)
		if tools["erp__request"] != nil && tools["flow__site-slow"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("p2's tools/list lacks the site's tools: %v", keys(tools))
		}
		time.Sleep(300 * time.Millisecond)
	}
	get := map[string]any{"method": "GET", "url": "/items"}
	deadline = time.Now().Add(30 * time.Second)
	for {
		res, _ := call("erp__request", get, nil)
		if !res.IsError && strings.Contains(textOf(res), "from-site") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reach-in through p2 (the agent polls p1): %s\n%s", textOf(res), a.logs())
		}
		time.Sleep(300 * time.Millisecond)
	}
	var ds []time.Duration
	for i := 0; i < 20; i++ {
		res, d := call("erp__request", get, nil)
		if res.IsError {
			t.Fatalf("reach-in call %d through p2: %s", i, textOf(res))
		}
		ds = append(ds, d)
	}
	// A placed flow with a progress token: the site's progress arrives.
	res, _ := call("flow__site-slow", map[string]any{}, "slow-1")
	if res.IsError || !strings.Contains(textOf(res), "from-site") {
		t.Fatalf("the site's slow flow through p2: %s", textOf(res))
	}
	mu.Lock()
	if len(notes) == 0 || !strings.Contains(notes[0], "running on site plant-3") {
		t.Fatalf("progress notifications through p2: %q", notes)
	}
	got := len(notes)
	mu.Unlock()
	p := pct(ds)
	t.Logf("reach-in through the other process (the database): p50 %v p95 %v over %d calls; %d progress notifications for a 1.5 s site flow", p[0], p[1], len(ds), got)

	// The agent dies: p2 refuses at once; back, it works again.
	a.kill9()
	time.Sleep(4 * time.Second)
	res, d := call("erp__request", get, nil)
	if !res.IsError || !strings.Contains(textOf(res), "offline") || d > 2*time.Second {
		t.Fatalf("a call through p2 with the agent dead (%v): %s", d, textOf(res))
	}
	a = startAgentAt(t, p1.URL, agentAddr, agentDir, "plant-3", created.Token)
	deadline = time.Now().Add(30 * time.Second)
	for {
		res, _ := call("erp__request", get, nil)
		if !res.IsError && strings.Contains(textOf(res), "from-site") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reach-in through p2 after the agent returned: %s\n%s", textOf(res), a.logs())
		}
		time.Sleep(300 * time.Millisecond)
	}
}
