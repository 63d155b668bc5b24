package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The example CRM, tracker and chat APIs run as sandboxes inside weft
// serve; the shipped closed-won flow polls the CRM, creates a project for a
// won opportunity and announces it in chat, once per opportunity.
func TestClosedWonFlowAgainstSandboxes(t *testing.T) {
	root, _ := filepath.Abs("..")
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg, _ := sandboxConfig(t, dir, addr, "deploy: ["+filepath.Join(root, "examples/flows/closed-won.yaml")+"]\n")
	env := []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data")}
	srv := startServer(t, addr, env, "--config", cfg)
	api := sandboxAPI(t, "http://"+addr+"/sandbox/")
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				out, _ := srv.cli("runs", "list", "--flow", "closed-won-to-project")
				t.Fatalf("timed out waiting for %s\n%s\n%s", what, out, srv.logs())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	projects := func() []any { return api("GET", "tracker/projects", "")["items"].([]any) }
	messages := func() []any { return api("GET", "chat/channels/cha_1/messages", "")["messages"].([]any) }

	// The seeded opportunity (negotiation) is not won: nothing happens.
	time.Sleep(2500 * time.Millisecond)
	if len(projects()) != 0 {
		t.Fatal("a project for an open opportunity")
	}
	api("PATCH", "crm/opportunities/opp_1", `{"stage":"closed_won"}`)
	waitFor("the project and the message", func() bool { return len(projects()) == 1 && len(messages()) == 1 })
	p := projects()[0].(map[string]any)
	m := messages()[0].(map[string]any)
	if p["source_ref"] != "opp_1" || p["budget"] != 120000.0 || p["name"] != "Acme ERP rollout" ||
		m["text"] != "Won: Acme ERP rollout → project "+p["key"].(string)+" ("+p["id"].(string)+")" {
		t.Fatalf("project %v message %v", p, m)
	}
	// A won deal edited later polls again but gets no second project.
	api("PATCH", "crm/opportunities/opp_1", `{"amount":125000}`)
	waitFor("the second run", func() bool {
		out, _ := srv.cli("runs", "list", "--flow", "closed-won-to-project")
		return strings.Count(out, "succeeded") == 2
	})
	// A new opportunity created as won gets its own project.
	api("POST", "crm/opportunities", `{"name":"Beta pilot","stage":"closed_won","amount":5000}`)
	waitFor("the second project", func() bool { return len(projects()) == 2 && len(messages()) == 2 })
	time.Sleep(2500 * time.Millisecond)
	if len(projects()) != 2 || len(messages()) != 2 {
		t.Fatalf("%d projects, %d messages", len(projects()), len(messages()))
	}
}
