package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// MCP reach-in end to end: a connection and a flow placed on site plant-3
// from the control plane; the site's system answers only the agent (its
// credential is set on the agent only). An MCP client of the control
// plane's gateway calls both tools; the calls run on the site through the
// agent's outbound link (a TCP proxy the test controls). While the link is
// cut the call is refused with a clear error; it works again when the link
// returns. The site's credential never crosses the link or reaches the
// control plane. It also measures the added latency per MCP call against
// a local connection to the same system, in the same run.
func TestHybridMCPReachIn(t *testing.T) {
	const secret, localSecret = "site-only-ERP-token-4b9e", "cp-local-ERP-token-88a1"
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "Bearer "+secret && a != "Bearer "+localSecret {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"item":"from-site","path":"`+r.URL.Path+`"}`)
	}))
	defer site.Close()

	cpDir, dir := t.TempDir(), t.TempDir()
	cp := startServer(t, "", nil, "--data-dir", cpDir)
	cli := func(s *server, args ...string) string {
		t.Helper()
		out, err := s.cli(args...)
		if err != nil {
			t.Fatalf("weft %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	var created struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal([]byte(cli(cp, "agents", "create", "plant-3", "--json")), &created)
	write := func(name, body string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	// Placed on the site, without its credential.
	cli(cp, "connection", "set", "erp", "--file", write("erp.yaml", "connector: http\nbase_url: "+site.URL+"\nallow_private: true\nplacement: {site: plant-3}\n"))
	// The baseline: the same system as a local connection of the control plane.
	cli(cp, "connection", "set", "erp-local", "--file", write("erp-local.yaml", "connector: http\nbase_url: "+site.URL+"\nallow_private: true\nauth: {type: bearer, token: "+localSecret+"}\n"))
	cli(cp, "flow", "deploy", write("site-echo.yaml", "name: site-echo\nplacement: {site: plant-3}\ntrigger: {webhook: {mode: sync}}\nsteps:\n"+
		"  - {id: get, call: http.request, connection: erp, with: {method: GET, url: /from-flow}}\n"+
		"  - {id: answer, respond: {status: 200, body: {site: plant-3, n: =trigger.body.n, got: =steps.get.body.item}}}\n"))
	// For the run-start latency: the same one-step flow, on the site and local.
	answer := "trigger: {webhook: {mode: sync}}\nsteps:\n  - {id: answer, respond: {status: 200, body: {n: =trigger.body.n}}}\n"
	cli(cp, "flow", "deploy", write("site-answer.yaml", "name: site-answer\nplacement: {site: plant-3}\n"+answer))
	cli(cp, "flow", "deploy", write("cp-answer.yaml", "name: cp-answer\n"+answer))
	// The control plane refuses to use the placed connection itself.
	var test map[string]any
	if code := cp.do("POST", "/api/connections/erp/test", nil, &test); code != http.StatusConflict {
		t.Fatalf("testing a placed connection on the control plane: %d %v", code, test)
	}

	proxy := newFaultProxy(t, cp.addr)
	a := startAgentAt(t, proxy.URL(), fmt.Sprintf("127.0.0.1:%d", freePort(t)), t.TempDir(), "plant-3", created.Token)
	// The credential is set on the agent only, through its own API.
	cli(a, "connection", "set", "erp", "--file", write("erp-site.yaml", "connector: http\nbase_url: "+site.URL+"\nallow_private: true\nauth: {type: bearer, token: "+secret+"}\n"))

	key := cli(cp, "mcp", "keys", "create", "reach", "--scopes", "all", "--rate", "100000")
	key = strings.TrimSpace(key[strings.LastIndex(strings.TrimSpace(key), "\n")+1:])
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: cp.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{key}}}, nil)
	deadline := time.Now().Add(20 * time.Second)
	for {
		tools := toolNames(t, ctx, s)
		if tools["erp__request"] != nil && tools["flow__site-echo"] != nil && tools["erp-local__request"] != nil && tools["flow__site-answer"] != nil && tools["flow__cp-answer"] != nil {
			if !strings.Contains(tools["erp__request"].Description, "site=plant-3") {
				t.Fatalf("the site tool does not say where it runs: %s", tools["erp__request"].Description)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tools/list lacks the site's tools: %v", keys(tools))
		}
		time.Sleep(300 * time.Millisecond)
	}
	call := func(tool string, args map[string]any) (*sdk.CallToolResult, time.Duration) {
		t.Helper()
		start := time.Now()
		res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: tool, Arguments: args})
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		return res, time.Since(start)
	}
	get := map[string]any{"method": "GET", "url": "/items"}
	// The agent may still be applying the placement and credential.
	deadline = time.Now().Add(20 * time.Second)
	for {
		res, _ := call("erp__request", get)
		if !res.IsError && strings.Contains(textOf(res), "from-site") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reach-in call: %s", textOf(res))
		}
		time.Sleep(300 * time.Millisecond)
	}
	if res, _ := call("flow__site-echo", map[string]any{"n": 7}); res.IsError || !strings.Contains(textOf(res), `"site":"plant-3"`) || !strings.Contains(textOf(res), "from-site") {
		t.Fatalf("reach-in flow: %s", textOf(res))
	}

	// Latency: the same call, local and through the link, interleaved.
	n := envInt("WEFT_REACH_CALLS", 200)
	var local, remote []time.Duration
	for i := 0; i < n; i++ {
		res, d := call("erp-local__request", get)
		if res.IsError {
			t.Fatalf("local call: %s", textOf(res))
		}
		local = append(local, d)
		res, d = call("erp__request", get)
		if res.IsError {
			t.Fatalf("reach-in call %d: %s", i, textOf(res))
		}
		remote = append(remote, d)
	}
	pl, pr := pct(local), pct(remote)
	t.Logf("MCP call latency over %d calls each: local p50 %v p95 %v; reach-in p50 %v p95 %v; added p50 %v", n, pl[0], pl[1], pr[0], pr[1], pr[0]-pl[0])
	local, remote = nil, nil
	for i := 0; i < n; i++ {
		res, d := call("flow__cp-answer", map[string]any{"n": i})
		if res.IsError {
			t.Fatalf("local flow: %s", textOf(res))
		}
		local = append(local, d)
		res, d = call("flow__site-answer", map[string]any{"n": i})
		if res.IsError || !strings.Contains(textOf(res), fmt.Sprintf(`"n":%d`, i)) {
			t.Fatalf("reach-in flow %d: %s", i, textOf(res))
		}
		remote = append(remote, d)
	}
	pl, pr = pct(local), pct(remote)
	t.Logf("MCP flow-run latency over %d runs each: local p50 %v p95 %v; reach-in p50 %v p95 %v; added p50 %v", n, pl[0], pl[1], pr[0], pr[1], pr[0]-pl[0])

	// The link is cut: refused at once with a clear error; back: works.
	proxy.Cut(true)
	time.Sleep(4 * time.Second)
	res, d := call("erp__request", get)
	if !res.IsError || !strings.Contains(textOf(res), "offline") || d > 2*time.Second {
		t.Fatalf("a call while the site is cut off (%v): %s", d, textOf(res))
	}
	proxy.Cut(false)
	deadline = time.Now().Add(30 * time.Second)
	for {
		res, _ := call("erp__request", get)
		if !res.IsError && strings.Contains(textOf(res), "from-site") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reach-in after the link returned: %s", textOf(res))
		}
		time.Sleep(300 * time.Millisecond)
	}
	// The site's credential never crossed the link nor reached the control plane.
	if strings.Contains(string(proxy.Seen()), secret) {
		t.Fatal("the site's credential crossed the link")
	}
	files, _ := filepath.Glob(filepath.Join(cpDir, "*"))
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil && strings.Contains(string(data), secret) {
			t.Fatalf("the site's credential is in the control plane's %s", f)
		}
	}
	if strings.Contains(cp.logs(), secret) {
		t.Fatal("the credential is in the control plane's log")
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// pct is the 50th and 95th percentiles of ds.
func pct(ds []time.Duration) [2]time.Duration {
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return [2]time.Duration{s[len(s)/2], s[len(s)*95/100]}
}
