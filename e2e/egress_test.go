package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The shipped examples run unchanged under an egress policy that allows
// loopback only: the order flow, its downstream flow and the closed-won
// poll all work, nothing is refused, and a flow calling elsewhere is
// refused with the policy's error, counted in /metrics and logged.
func TestEgressLoopbackOnlyRunsTheExamples(t *testing.T) {
	root, _ := filepath.Abs("..")
	base, err := os.ReadFile(filepath.Join(root, "examples/weft.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "weft.yaml")
	// examples/weft.yaml has a connections map: add "outside" to it
	// rather than repeat the key.
	text := strings.Replace(string(base), "connections:\n", "connections:\n  outside:\n    connector: http\n    base_url: http://192.0.2.10:8443\n    allow_private: true\n", 1)
	if text == string(base) {
		t.Fatal("examples/weft.yaml has no connections section")
	}
	text += "\negress:\n  allow: [\"127.0.0.1\", \"::1\", \"localhost\"]\n"
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv := startServerIn(t, root, addr, []string{"WEFT_DATA_DIR=" + t.TempDir()}, "--config", cfg)

	var resp map[string]any
	order := `{"order_id":"A-1001","customer":{"name":"ada lovelace","email":"ada@example.com"},"currency":"eur",
	  "items":[{"sku":"sku-1","qty":2,"price":9.99},{"sku":"sku-2","qty":1,"price":24.5},{"sku":"sku-3","qty":3,"price":1.25}]}`
	if code := srv.do("POST", "/hooks/order-flow", order, &resp); code != 200 {
		t.Fatalf("order flow: %d %v\n%s", code, resp, srv.logs())
	}
	if d, _ := resp["downstream"].(map[string]any); d["ok"] != true || d["total"] != 48.23 {
		t.Fatalf("order flow answer: %v", resp)
	}
	api := sandboxAPI(t, srv.URL+"/sandbox/")
	api("PATCH", "crm/opportunities/opp_1", `{"stage":"closed_won"}`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		projects := api("GET", "tracker/projects", "")["items"].([]any)
		messages := api("GET", "chat/channels/cha_1/messages", "")["messages"].([]any)
		if len(projects) == 1 && len(messages) == 1 {
			break
		}
		if time.Now().After(deadline) {
			out, _ := srv.cli("runs", "list")
			t.Fatalf("no project and message\n%s\n%s", out, srv.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if strings.Contains(srv.logs(), "refused by the egress policy") {
		t.Fatalf("a loopback call was refused:\n%s", srv.logs())
	}

	// A call elsewhere is refused before anything leaves the machine.
	var out map[string]any
	srv.do("POST", "/api/connections/outside/test", nil, &out)
	if msg, _ := out["message"].(string); out["ok"] != false || !strings.Contains(msg, "egress: dial to 192.0.2.10:8443 refused by the egress policy") {
		t.Fatalf("call outside: %v", out)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
	mr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer mr.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := mr.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if !strings.Contains(sb.String(), `weft_egress_refused_total{target="192.0.2.10:8443"} 1`) {
		t.Fatalf("/metrics lacks the refusal:\n%s", sb.String())
	}
	if !strings.Contains(srv.logs(), "egress: dial refused by the egress policy") || !strings.Contains(srv.logs(), "connection outside") {
		t.Fatalf("no log line for the refusal:\n%s", srv.logs())
	}
}
