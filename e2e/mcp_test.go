package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// bearerTransport adds an Authorization header to every request.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// mcpSetup starts weft serve with the sandboxed example APIs, a slow flow,
// and a policy that denies deletes, and returns it with its config.
func mcpSetup(t *testing.T) (*server, string, []string) {
	root, _ := filepath.Abs("..")
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := "http://" + addr + "/sandbox/"
	spec := func(n string) string { return filepath.Join(root, "examples/connectors", n+".yaml") }
	os.WriteFile(filepath.Join(dir, "slow.yaml"), []byte(`name: slow
description: Waits a moment, then answers with the input's name.
trigger:
  manual:
    schema: {type: object, required: [name], properties: {name: {type: string}}}
steps:
  - wait: 1500ms
  - respond: {body: {hello: =trigger.body.name}}
`), 0o600)
	cfg := filepath.Join(dir, "weft.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`sandboxes: [%s]
imports: {crm: %s, tracker: %s}
deploy: [%s]
connections:
  crm: {connector: crm, base_url: %scrm, allow_private: true}
  tracker: {connector: tracker, base_url: %stracker, allow_private: true}
mcp:
  policy:
    - {tool: "*__delete*", action: deny}
  toolsets:
    - {name: sales, connections: [crm]}
`, filepath.Join(root, "examples/connectors/*.yaml"), spec("crm"), spec("tracker"), filepath.Join(dir, "slow.yaml"), base, base)), 0o600)
	env := []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data")}
	return startServer(t, addr, env, "--config", cfg), cfg, env
}

func connect(t *testing.T, ctx context.Context, tr sdk.Transport, opts *sdk.ClientOptions) *sdk.ClientSession {
	t.Helper()
	c := sdk.NewClient(&sdk.Implementation{Name: "weft-e2e", Version: "1"}, opts)
	s, err := c.Connect(ctx, tr, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func toolNames(t *testing.T, ctx context.Context, s *sdk.ClientSession) map[string]*sdk.Tool {
	t.Helper()
	out := map[string]*sdk.Tool{}
	for tool, err := range s.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		out[tool.Name] = tool
	}
	return out
}

func textOf(r *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// The official Go MCP SDK, over Streamable HTTP and stdio, against weft.
func TestMCPInteropWithOfficialGoSDK(t *testing.T) {
	srv, cfg, env := mcpSetup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	out, err := srv.cli("mcp", "keys", "create", "e2e-agent", "--scopes", "all,sales,discovery", "--rate", "600")
	if err != nil {
		t.Fatalf("create key: %v %s", err, out)
	}
	secret := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	if !strings.HasPrefix(secret, "weft_") {
		t.Fatalf("no secret in %q", out)
	}
	var mu sync.Mutex
	var progress []float64
	opts := &sdk.ClientOptions{ProgressNotificationHandler: func(_ context.Context, r *sdk.ProgressNotificationClientRequest) {
		mu.Lock()
		progress = append(progress, r.Params.Progress)
		mu.Unlock()
	}}
	httpTr := &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{secret}}}
	s := connect(t, ctx, httpTr, opts)

	tools := toolNames(t, ctx, s)
	for _, n := range []string{"crm__createAccount", "crm__listOpportunities", "tracker__createProject", "crm__deleteAccount", "flow__slow"} {
		if tools[n] == nil {
			t.Fatalf("tools/list lacks %s (has %d tools)", n, len(tools))
		}
	}
	if a := tools["crm__deleteAccount"].Annotations; a == nil || a.DestructiveHint == nil || !*a.DestructiveHint {
		t.Fatalf("delete annotations: %+v", tools["crm__deleteAccount"].Annotations)
	}
	if a := tools["crm__listOpportunities"].Annotations; a == nil || !a.ReadOnlyHint {
		t.Fatalf("list annotations: %+v", a)
	}
	// A connector tool against the sandbox: structured content from the output schema.
	res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "crm__createAccount", Arguments: map[string]any{"name": "Initech", "industry": "software"}})
	if err != nil || res.IsError {
		t.Fatalf("createAccount: %v %s", err, textOf(res))
	}
	sc, _ := res.StructuredContent.(map[string]any)
	if sc["name"] != "Initech" || !strings.HasPrefix(fmt.Sprint(sc["id"]), "acc_") {
		t.Fatalf("structured content %v", res.StructuredContent)
	}
	// An upstream 404 comes back as a tool error the model can act on.
	res, err = s.CallTool(ctx, &sdk.CallToolParams{Name: "crm__getAccount", Arguments: map[string]any{"accountId": "acc_404"}})
	if err != nil || !res.IsError || !strings.Contains(textOf(res), "not found") {
		t.Fatalf("404: %v %+v", err, textOf(res))
	}
	// Arguments failing the schema: a tool error naming the problem.
	res, err = s.CallTool(ctx, &sdk.CallToolParams{Name: "crm__getAccount", Arguments: map[string]any{}})
	if err != nil || !res.IsError || !strings.Contains(textOf(res), `missing required argument "accountId"`) {
		t.Fatalf("schema: %v %s", err, textOf(res))
	}
	// Oversized arguments are refused.
	res, err = s.CallTool(ctx, &sdk.CallToolParams{Name: "crm__createAccount", Arguments: map[string]any{"name": strings.Repeat("x", 2<<20)}})
	if err != nil || !res.IsError || !strings.Contains(textOf(res), "the limit is") {
		t.Fatalf("oversized: %v %s", err, textOf(res))
	}
	// A denied tool is refused with a clear message.
	res, err = s.CallTool(ctx, &sdk.CallToolParams{Name: "crm__deleteAccount", Arguments: map[string]any{"accountId": "acc_1"}})
	if err != nil || !res.IsError || !strings.Contains(textOf(res), "denied by the gateway's policy") {
		t.Fatalf("deny: %v %s", err, textOf(res))
	}
	// An unknown tool is a protocol error.
	if _, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "crm__nope", Arguments: map[string]any{}}); err == nil {
		t.Fatal("unknown tool accepted")
	}
	// A slow flow reports progress and answers.
	params := &sdk.CallToolParams{Name: "flow__slow", Arguments: map[string]any{"name": "Ada"}}
	params.SetProgressToken("p1")
	res, err = s.CallTool(ctx, params)
	if err != nil || res.IsError || !strings.Contains(textOf(res), `"hello":"Ada"`) {
		t.Fatalf("flow: %v %s", err, textOf(res))
	}
	mu.Lock()
	if len(progress) < 2 {
		t.Fatalf("progress notifications: %v", progress)
	}
	mu.Unlock()
	// The run is a resource; agent calls are in the transaction log.
	out, _ = srv.cli("runs", "list", "--flow", "slow", "--json")
	var runs struct {
		Runs []struct {
			ID          string `json:"id"`
			TriggerKind string `json:"trigger_kind"`
		} `json:"runs"`
	}
	json.Unmarshal([]byte(out), &runs)
	if len(runs.Runs) != 1 || runs.Runs[0].TriggerKind != "mcp" {
		t.Fatalf("flow runs: %s", out)
	}
	rr, err := s.ReadResource(ctx, &sdk.ReadResourceParams{URI: "weft://runs/" + runs.Runs[0].ID})
	if err != nil || len(rr.Contents) != 1 || !strings.Contains(rr.Contents[0].Text, `"status": "succeeded"`) {
		t.Fatalf("run resource: %v %+v", err, rr)
	}
	// Tool-call log rows are written off the call path, in batches: wait
	// for them (up to 10 s) rather than for a fixed time.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, _ = srv.cli("runs", "list", "--flow", "mcp:all", "--json")
		if strings.Contains(out, `"trigger_kind": "mcp"`) && strings.Count(out, `"id"`) >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tool calls in the log: %s", out)
		}
	}
	// The sales toolset holds only the CRM's operations.
	sales := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp/sales", HTTPClient: &http.Client{Transport: bearerTransport{secret}}}, nil)
	st := toolNames(t, ctx, sales)
	if st["crm__createAccount"] == nil || st["tracker__createProject"] != nil || st["flow__slow"] != nil {
		t.Fatalf("sales toolset: %d tools", len(st))
	}
	// The discovery toolset: search_tools finds the right operation.
	disc := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp/discovery", HTTPClient: &http.Client{Transport: bearerTransport{secret}}}, nil)
	if dt := toolNames(t, ctx, disc); len(dt) != 2 || dt["search_tools"] == nil || dt["call_tool"] == nil {
		t.Fatalf("discovery tools: %v", dt)
	}
	res, err = disc.CallTool(ctx, &sdk.CallToolParams{Name: "search_tools", Arguments: map[string]any{"query": "create a project in the tracker"}})
	if err != nil || !strings.Contains(textOf(res), `"name":"tracker__createProject"`) {
		t.Fatalf("search_tools: %v %s", err, textOf(res))
	}
	res, err = disc.CallTool(ctx, &sdk.CallToolParams{Name: "call_tool", Arguments: map[string]any{"name": "tracker__createProject", "arguments": map[string]any{"name": "Initech rollout"}}})
	if err != nil || res.IsError || !strings.Contains(textOf(res), "Initech rollout") {
		t.Fatalf("call_tool: %v %s", err, textOf(res))
	}

	// Over stdio, the same tools (a second process on the same data).
	cmd := exec.Command(weftBin, "mcp", "--stdio", "--config", cfg)
	cmd.Env = append(os.Environ(), env...)
	stdio := connect(t, ctx, &sdk.CommandTransport{Command: cmd}, nil)
	if tools := toolNames(t, ctx, stdio); tools["crm__createAccount"] == nil || tools["flow__slow"] == nil {
		t.Fatalf("stdio tools: %d", len(tools))
	}
	res, err = stdio.CallTool(ctx, &sdk.CallToolParams{Name: "crm__listAccounts", Arguments: map[string]any{}})
	if err != nil || res.IsError || !strings.Contains(textOf(res), "Initech") {
		t.Fatalf("stdio call: %v %s", err, textOf(res))
	}

	// A key limited to the sales toolset is refused elsewhere (403).
	out, _ = srv.cli("mcp", "keys", "create", "sales-only", "--scopes", "sales")
	salesKey := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])

	// Refusals at the door: no key, a bad key, a revoked key, another origin.
	get := func(token, origin string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := get("", ""); c != 401 {
		t.Fatalf("no key: %d", c)
	}
	if c := get("weft_kdeadbeef_nope", ""); c != 401 {
		t.Fatalf("bad key: %d", c)
	}
	if c := get(salesKey, ""); c != 403 {
		t.Fatalf("key outside its toolsets: %d", c)
	}
	if c := get(secret, "http://evil.example.com"); c != 403 {
		t.Fatalf("foreign origin: %d", c)
	}
	id := strings.TrimPrefix(strings.SplitN(secret, "_", 3)[1], "")
	if out, err := srv.cli("mcp", "keys", "revoke", id); err != nil {
		t.Fatalf("revoke: %v %s", err, out)
	}
	if c := get(secret, ""); c != 401 {
		t.Fatalf("revoked key: %d", c)
	}
	if strings.Contains(srv.logs(), secret) {
		t.Fatal("the API key secret was logged")
	}
}
