package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

const missionRequest = "When a new opportunity closes in the CRM, create a project in the tracker and notify the delivery team in chat"

// The mission's sentence, drafted by `weft nl2flow` (builtin compiler, the
// server's live catalog), deployed after review, runs end to end against
// the sandboxed CRM, tracker and chat: a won opportunity becomes a tracker
// project and a message in #delivery. The same request over MCP
// (compose_flow) drafts the same flow and deploys nothing.
func TestNL2FlowMissionDraftRunsInSandbox(t *testing.T) {
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg, base := sandboxConfig(t, dir, addr, "")
	srv := startServer(t, addr, []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data")}, "--config", cfg)

	// 1. Draft with the CLI; it is printed, not deployed.
	draft := filepath.Join(dir, "draft.yaml")
	out, err := srv.cli("nl2flow", missionRequest, "--out", draft)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"valid)", "call: tracker.createProject", "channelId: delivery", "How it works:", "Not deployed."} {
		if !strings.Contains(out, want) {
			t.Fatalf("CLI output lacks %q:\n%s", want, out)
		}
	}
	var flows struct{ Flows []any }
	srv.do("GET", "/api/flows", nil, &flows)
	if len(flows.Flows) != 0 {
		t.Fatalf("a draft was deployed: %v", flows.Flows)
	}

	// 2. The reviewer shortens the poll interval for the test and deploys.
	src, _ := os.ReadFile(draft)
	if !strings.Contains(string(src), "every: 1m") {
		t.Fatalf("draft:\n%s", src)
	}
	os.WriteFile(draft, []byte(strings.Replace(string(src), "every: 1m", "every: 1s", 1)), 0o644)
	if out, err := srv.cli("flow", "deploy", draft); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	// 3. The seeded opportunity is not won: nothing happens; once it is, one
	// project and one message.
	api := sandboxAPI(t, base)
	projects := func() []any { return api("GET", "tracker/projects", "")["items"].([]any) }
	messages := func() []any { return api("GET", "chat/channels/delivery/messages", "")["messages"].([]any) }
	time.Sleep(1500 * time.Millisecond)
	if len(projects()) != 0 {
		t.Fatal("a project for an open opportunity")
	}
	api("PATCH", "crm/opportunities/opp_1", `{"stage":"closed_won"}`)
	deadline := time.Now().Add(20 * time.Second)
	for len(projects()) != 1 || len(messages()) != 1 {
		if time.Now().After(deadline) {
			out, _ := srv.cli("runs", "list")
			t.Fatalf("no project and message\n%s\n%s", out, srv.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	p := projects()[0].(map[string]any)
	m := messages()[0].(map[string]any)
	if p["name"] != "Acme ERP rollout" || p["source_ref"] != "opp_1" || !strings.Contains(m["text"].(string), "Acme ERP rollout") {
		t.Fatalf("project %v message %v", p, m)
	}

	// 4. The API answers bad input with a clear error.
	var e map[string]any
	if code := srv.do("POST", "/api/nl2flow", map[string]any{"text": ""}, &e); code != 400 {
		t.Fatalf("empty request: %d %v", code, e)
	}

	// 5. Over MCP, compose_flow drafts the same flow and deploys nothing.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: "http://" + addr + "/mcp"}, nil)
	res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "compose_flow", Arguments: map[string]any{"text": missionRequest}})
	if err != nil || res.IsError {
		t.Fatalf("%v %s", err, textOf(res))
	}
	d, _ := res.StructuredContent.(map[string]any)
	if d["valid"] != true || !strings.Contains(fmt.Sprint(d["yaml"]), "tracker.createProject") {
		t.Fatalf("%v", res.StructuredContent)
	}
	srv.do("GET", "/api/flows", nil, &flows)
	if len(flows.Flows) != 1 {
		t.Fatalf("compose_flow deployed something: %v", flows.Flows)
	}
}
