package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
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
	base := "http://" + addr + "/sandbox/"
	cfg := filepath.Join(dir, "weft.yaml")
	spec := func(n string) string { return filepath.Join(root, "examples/connectors", n+".yaml") }
	os.WriteFile(cfg, []byte(fmt.Sprintf(`sandboxes: [%s]
imports: {crm: %s, tracker: %s, chat: %s}
deploy: [%s]
connections:
  crm: {connector: crm, base_url: %scrm, allow_private: true, auth: {type: bearer, token: any}}
  tracker: {connector: tracker, base_url: %stracker, allow_private: true}
  chat: {connector: chat, base_url: %schat, allow_private: true}
`, filepath.Join(root, "examples/connectors/*.yaml"), spec("crm"), spec("tracker"), spec("chat"),
		filepath.Join(root, "examples/flows/closed-won.yaml"), base, base, base)), 0o600)
	env := []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data")}
	srv := startServer(t, addr, env, "--config", cfg)

	api := func(method, path, body string) map[string]any {
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
