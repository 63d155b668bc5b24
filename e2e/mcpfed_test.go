package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftio/weft/connectors/mcpconn/mcptest"
)

// MCP federation end to end: an MCP server built with the official Go SDK
// (over Streamable HTTP in this process, and over stdio as a child of weft
// serve: this test binary re-executed) added with weft connector add-mcp;
// a flow calling a federated tool deployed, run, failing, dead-lettered and
// replayed; the tools re-exposed by Weft's MCP gateway under its keys and
// policies; schema drift flagged.
func TestMCPFederation(t *testing.T) {
	var auth atomic.Value
	auth.Store("")
	h := mcptest.Handler()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			auth.Store(a)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { up.CloseClientConnections(); up.Close() }) // after weft serve stops (cleanups run last first)

	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	self, _ := filepath.Abs(os.Args[0])
	cfg := filepath.Join(dir, "weft.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`mcp:
  upstreams:
    commands: [%q]
    pass_env: [%s]
    call_timeout: 5s
  toolsets:
    - {name: fed, connections: [up]}
  policy:
    - {tool: "up__fail", action: deny}
    - {tool: "up__add", action: confirm}
`, self, mcptest.HelperEnv)), 0o600)
	env := []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data"), mcptest.HelperEnv + "=1"}
	srv := startServer(t, addr, env, "--config", cfg)
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	cli := func(args ...string) string {
		t.Helper()
		out, err := srv.cli(args...)
		if err != nil {
			t.Fatalf("weft %s: %v\n%s\n%s", strings.Join(args, " "), err, out, srv.logs())
		}
		return out
	}

	// Add both upstreams.
	out := cli("connector", "add-mcp", "up", "--url", up.URL, "--allow-private", "--token-file", file("tok", "up-s3cret\n"))
	if !strings.Contains(out, "added MCP connector up (mcptest 1.0.0, streamable-http): 11 tools") || !strings.Contains(out, "up.reserve") {
		t.Fatalf("add-mcp: %s", out)
	}
	if auth.Load() != "Bearer up-s3cret" {
		t.Fatalf("the upstream saw Authorization %q", auth.Load())
	}
	out = cli("connector", "add-mcp", "local", "--command", self+" -test.run=^$")
	if !strings.Contains(out, "stdio): 11 tools") {
		t.Fatalf("add-mcp stdio: %s", out)
	}
	// A program the operator did not list is refused.
	if out, err := srv.cli("connector", "add-mcp", "sh", "--command", "/bin/sh -c true"); err == nil || !strings.Contains(out, "not in mcp.upstream") {
		t.Fatalf("unlisted program: %v %s", err, out)
	}
	// The token is a sealed credential of connection up: never shown.
	if out := cli("connection", "show", "up"); strings.Contains(out, "up-s3cret") || !strings.Contains(out, `"auth.token": "set"`) {
		t.Fatalf("connection show: %s", out)
	}
	if out := cli("connector", "search", "reserve stock"); !strings.Contains(out, "up.reserve") {
		t.Fatalf("search: %s", out)
	}

	// A flow calling a federated tool: it fails while the warehouse is
	// offline (an upstream tool error: dead-lettered at once), and is
	// replayed from the DLQ once it is back.
	cli("flow", "deploy", file("reserve.yaml", `name: reserve
trigger:
  webhook: {mode: async}
steps:
  - id: reserve
    call: up.reserve
    with: {sku: =trigger.body.sku}
  - id: echo
    call: local.echo
    with: {text: =steps.reserve.sku}
`))
	mcptest.Outage.Store(true)
	var resp map[string]any
	if code := srv.do("POST", "/hooks/reserve", `{"sku":"A-1"}`, &resp); code != 202 {
		t.Fatalf("reserve: %d %v", code, resp)
	}
	var dead struct {
		Runs []struct{ ID, Status, Error string } `json:"runs"`
	}
	for deadline := time.Now().Add(20 * time.Second); len(dead.Runs) == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never dead-lettered\n%s", srv.logs())
		}
		srv.do("GET", "/api/dlq?flow=reserve", nil, &dead)
	}
	var run struct {
		Run struct {
			Status     string
			Message    string `json:"error_message"`
			FailedStep string `json:"failed_step"`
		}
	}
	srv.do("GET", "/api/runs/"+dead.Runs[0].ID, nil, &run)
	if run.Run.FailedStep != "reserve" || !strings.Contains(run.Run.Message, "MCP upstream up: tool reserve failed: warehouse offline") {
		t.Fatalf("the run does not carry the upstream's error: %+v", run)
	}
	mcptest.Outage.Store(false)
	cli("dlq", "replay", dead.Runs[0].ID)
	for deadline := time.Now().Add(20 * time.Second); run.Run.Status != "succeeded"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the replay did not succeed: %+v\n%s", run, srv.logs())
		}
		srv.do("GET", "/api/runs/"+dead.Runs[0].ID, nil, &run)
	}

	// Re-exposed through Weft's gateway under a Weft key, its scopes and
	// policies, as connector tools are.
	key := func(scopes string) string {
		out := cli("mcp", "keys", "create", "agent-"+strings.NewReplacer(",", "-", ":", "-", "*", "x").Replace(scopes), "--scopes", scopes)
		return strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{key("*")}}}, nil)
	var tools map[string]*sdk.Tool
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) { // the gateway follows the catalog every 2 s
		tools = toolNames(t, ctx, s)
		if tools["up__echo"] != nil && tools["up__reserve"] != nil && tools["local__echo"] != nil && tools["local__add"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tools/list lacks the federated tools: %d tools", len(tools))
		}
	}
	if a := tools["up__echo"].Annotations; a == nil || !a.ReadOnlyHint {
		t.Fatalf("echo annotations: %+v", a)
	}
	// Progress of a federated tool reaches the agent, under its own token.
	var progMu sync.Mutex
	var prog []float64
	ps := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{key("all")}}},
		&sdk.ClientOptions{ProgressNotificationHandler: func(_ context.Context, r *sdk.ProgressNotificationClientRequest) {
			progMu.Lock()
			prog = append(prog, r.Params.Progress)
			progMu.Unlock()
		}})
	pp := &sdk.CallToolParams{Name: "local__slow", Arguments: map[string]any{"steps": 3}}
	pp.SetProgressToken("agent-1")
	if res, err := ps.CallTool(ctx, pp); err != nil || res.IsError {
		t.Fatalf("slow: %v %+v", err, res)
	}
	time.Sleep(100 * time.Millisecond)
	progMu.Lock()
	if len(prog) != 3 || prog[2] != 3 {
		t.Fatalf("progress through weft: %v", prog)
	}
	progMu.Unlock()

	// The upstreams' resources, listed and read through Weft.
	rr, err := s.ReadResource(ctx, &sdk.ReadResourceParams{URI: "weft://mcp/up/resources"})
	if err != nil || len(rr.Contents) != 1 || !strings.Contains(rr.Contents[0].Text, `"uri": "weft://mcp/up/resource?uri=mem%3A%2F%2Freadme"`) {
		t.Fatalf("federated resource list: %v %+v", err, rr)
	}
	rr, err = s.ReadResource(ctx, &sdk.ReadResourceParams{URI: "weft://mcp/local/resource?uri=mem%3A%2F%2Freadme"})
	if err != nil || len(rr.Contents) != 1 || rr.Contents[0].Text != "mcptest: a server for federation tests" {
		t.Fatalf("federated resource: %v %+v", err, rr)
	}
	if _, err := s.ReadResource(ctx, &sdk.ReadResourceParams{URI: "weft://mcp/nosuch/resources"}); err == nil {
		t.Fatalf("an unknown upstream's resources were served")
	}

	// The stdio child has none of weft serve's environment but pass_env.
	res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "local__getenv", Arguments: map[string]any{"name": "WEFT_DATA_DIR"}})
	if err != nil || res.IsError || !strings.Contains(textOf(res), `"set":false`) {
		t.Fatalf("the child sees weft's environment: %v %+v", err, res)
	}
	res, err = s.CallTool(ctx, &sdk.CallToolParams{Name: "local__echo", Arguments: map[string]any{"text": "through weft"}})
	if err != nil || res.IsError || !strings.Contains(textOf(res), "through weft") {
		t.Fatalf("local__echo: %v %+v", err, res)
	}
	res, err = s.CallTool(ctx, &sdk.CallToolParams{Name: "up__fail", Arguments: map[string]any{}})
	if err != nil || !res.IsError || !strings.Contains(textOf(res), "denied by the gateway's policy") {
		t.Fatalf("deny: %v %+v", err, res)
	}
	// confirm: the user is asked; declined, the upstream is not called.
	allKey := key("all")
	confirmer := func(yes bool) *sdk.ClientSession {
		return connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{allKey}}},
			&sdk.ClientOptions{ElicitationHandler: func(_ context.Context, r *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
				if !strings.Contains(r.Params.Message, "up__add") {
					t.Errorf("elicitation message %q", r.Params.Message)
				}
				return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"confirm": yes}}, nil
			}})
	}
	count := func() float64 {
		res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "up__count", Arguments: map[string]any{}})
		if err != nil || res.IsError {
			t.Fatalf("count: %v %+v", err, res)
		}
		var m map[string]any // no output schema: the result is JSON text
		if err := json.Unmarshal([]byte(textOf(res)), &m); err != nil {
			t.Fatalf("count: %v in %q", err, textOf(res))
		}
		n, _ := m["calls"].(float64)
		return n
	}
	before := count()
	res, err = confirmer(false).CallTool(ctx, &sdk.CallToolParams{Name: "up__add", Arguments: map[string]any{"a": 1, "b": 2}})
	if err != nil || !res.IsError || count() != before+1 {
		t.Fatalf("declined confirm: %v %+v (upstream calls %v → %v)", err, res, before, count())
	}
	res, err = confirmer(true).CallTool(ctx, &sdk.CallToolParams{Name: "up__add", Arguments: map[string]any{"a": 1, "b": 2}})
	if err != nil || res.IsError || !strings.Contains(textOf(res), `"sum":3`) {
		t.Fatalf("confirmed: %v %+v", err, res)
	}
	// A toolset of one federated connection: its tools only.
	fedSet := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp/fed", HTTPClient: &http.Client{Transport: bearerTransport{key("fed")}}}, nil)
	if ft := toolNames(t, ctx, fedSet); len(ft) != 11 || ft["up__echo"] == nil || ft["local__echo"] != nil {
		t.Fatalf("toolset fed: %d tools", len(ft))
	}
	// A key narrowed to one federated tool sees and calls only that one.
	narrow := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{key("all,tool:up__echo")}}}, nil)
	if nt := toolNames(t, ctx, narrow); len(nt) != 1 || nt["up__echo"] == nil {
		t.Fatalf("narrow key sees %d tools", len(nt))
	}
	if res, err := narrow.CallTool(ctx, &sdk.CallToolParams{Name: "local__echo", Arguments: map[string]any{"text": "x"}}); err == nil && !res.IsError {
		t.Fatalf("a tool outside the key's scope was called")
	}
	if _, err := narrow.ReadResource(ctx, &sdk.ReadResourceParams{URI: "weft://mcp/local/resources"}); err == nil {
		t.Fatalf("a key that sees none of local's tools read its resources")
	}

	// Drift: the upstream changes echo's schema incompatibly and announces
	// it; the connector reports it, a flow calling it no longer deploys.
	cli("flow", "deploy", file("echo.yaml", "name: echoer\ntrigger:\n  webhook: {mode: async}\nsteps:\n  - id: e\n    call: up.echo\n    with: {text: hi}\n"))
	if res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "up__evolve", Arguments: map[string]any{}}); err != nil || res.IsError {
		t.Fatalf("evolve: %v %+v", err, res)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out := cli("connector", "show", "up")
		if strings.Contains(out, "drift: tool echo input: lang: newly required") {
			if !strings.Contains(out, "deployed flows calling a drifted tool: echoer") {
				t.Fatalf("connector show: %s", out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no drift reported: %s\n%s", out, srv.logs())
		}
	}
	out = cli("connector", "refresh", "up")
	if !strings.Contains(out, "deployed flows calling a drifted tool: echoer") {
		t.Fatalf("refresh: %s", out)
	}
	if out, err := srv.cli("flow", "deploy", file("echo2.yaml", "name: echoer2\ntrigger:\n  webhook: {mode: async}\nsteps:\n  - id: e\n    call: up.echo\n    with: {text: hi}\n")); err == nil || !strings.Contains(out, "up.echo changed upstream since it was accepted") {
		t.Fatalf("a flow calling a drifted tool deployed: %v %s", err, out)
	}
	cli("connector", "refresh", "up", "--accept")
	cli("flow", "deploy", file("echo3.yaml", "name: echoer3\ntrigger:\n  webhook: {mode: async}\nsteps:\n  - id: e\n    call: up.echo\n    with: {text: hi, lang: en}\n"))

	// The stored connectors survive a restart (a stdio upstream is started
	// again on first use).
	srv.stop(syscall.SIGTERM)
	srv = startServer(t, fmt.Sprintf("127.0.0.1:%d", freePort(t)), env, "--config", cfg)
	if out := cli("connector", "show", "local"); !strings.Contains(out, "local.echo") {
		t.Fatalf("after a restart: %s", out)
	}
	s2 := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{key("all")}}}, nil)
	res, err = s2.CallTool(ctx, &sdk.CallToolParams{Name: "local__add", Arguments: map[string]any{"a": 1, "b": 2}})
	if err != nil || res.IsError || !strings.Contains(textOf(res), "sum") {
		t.Fatalf("local__add after a restart: %v %+v", err, res)
	}

	// Removal: refused while deployed flows call it; otherwise the
	// connector, its connection and its tools go.
	if out, err := srv.cli("connector", "remove", "up"); err == nil || !strings.Contains(out, "deployed flows call up: echoer, echoer3, reserve") {
		t.Fatalf("remove up: %v %s", err, out)
	}
	cli("connector", "add-mcp", "tmp", "--url", up.URL, "--allow-private")
	cli("connector", "remove", "tmp")
	if out, err := srv.cli("connector", "show", "tmp"); err == nil {
		t.Fatalf("tmp still there: %s", out)
	}
	if out := cli("connection", "list"); strings.Contains(out, "tmp") {
		t.Fatalf("tmp's connection still there: %s", out)
	}
}

// OAuth 2.1 to an upstream through the CLI: weft connector add-mcp --oauth
// discovers the authorization server from the upstream's 401, registers
// dynamically, authorizes with PKCE through a loopback redirect (the
// "browser" is this test binary), and hands the refresh token to weft
// serve, which seals it, renews access tokens from it, stores each
// rotated one, and calls the upstream's tools.
func TestMCPFederationOAuth(t *testing.T) {
	as := mcptest.NewOAuthServer(t, "authorization_code", "refresh_token")
	up, _ := mcptest.OAuthMCP(t, as)
	as.SetTTL(5) // renewed (and the refresh token rotated) on every request
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv := startServer(t, addr, []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data")})
	self, _ := filepath.Abs(os.Args[0])
	cmd := exec.Command(weftBin, "connector", "add-mcp", "up", "--url", up.URL+"/mcp", "--allow-private", "--oauth")
	cmd.Env = append(os.Environ(), "WEFT_SERVER="+srv.URL, "BROWSER="+self+" -test.run=^$", mcptest.BrowserEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "added MCP connector up (mcptest 1.0.0, streamable-http): 11 tools") || !strings.Contains(string(out), "Open this URL to authorize Weft") {
		t.Fatalf("add-mcp --oauth: %v\n%s\nAS refused: %v\n%s", err, out, as.Refused(), srv.logs())
	}
	show, err := srv.cli("connection", "show", "up")
	if err != nil || !strings.Contains(show, `"auth.refresh_token": "set"`) {
		t.Fatalf("connection show: %v %s", err, show)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	key, err := srv.cli("mcp", "keys", "create", "agent", "--scopes", "*")
	if err != nil {
		t.Fatal(err, key)
	}
	key = strings.TrimSpace(key[strings.LastIndex(strings.TrimSpace(key), "\n")+1:])
	s := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{key}}}, nil)
	for deadline := time.Now().Add(10 * time.Second); toolNames(t, ctx, s)["up__echo"] == nil; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("up__echo is not on the gateway")
		}
	}
	for i := range 3 {
		res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "up__echo", Arguments: map[string]any{"text": fmt.Sprint("oauth ", i)}})
		if err != nil || res.IsError {
			t.Fatalf("up__echo %d: %v %+v\nAS refused: %v\n%s", i, err, res, as.Refused(), srv.logs())
		}
	}
	if as.Refreshes() < 3 || len(as.Refused()) > 0 {
		t.Fatalf("%d refreshes, refused %v", as.Refreshes(), as.Refused())
	}
	// A restart carries on from the stored (rotated) refresh token.
	srv.stop(syscall.SIGTERM)
	srv = startServer(t, addr, []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data")})
	s = connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{key}}}, nil)
	if res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "up__echo", Arguments: map[string]any{"text": "after restart"}}); err != nil || res.IsError {
		t.Fatalf("after a restart: %v %+v\nAS refused: %v\n%s", err, res, as.Refused(), srv.logs())
	}
	// No token in weft serve's log.
	logs := srv.logs()
	for _, tok := range as.Issued() {
		if strings.Contains(logs, tok) {
			t.Fatalf("a token is in the server's log")
		}
	}
}
