package e2e

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// F28: the shipped examples/weft.yaml follows the listen address: started
// on another port, the order flow reaches its downstream flow and the
// closed-won flow polls and writes this server's sandboxes, never 8080.
func TestIssue16_F28_ExamplesFollowTheListenAddress(t *testing.T) {
	root, _ := filepath.Abs("..")
	// A decoy on 8080 counts anything that still goes there (if the port is
	// free; otherwise whatever holds it would answer wrongly and fail below).
	var decoyHits atomic.Int32
	if l, err := net.Listen("tcp", "127.0.0.1:8080"); err == nil {
		decoy := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			decoyHits.Add(1)
			http.Error(w, "decoy", http.StatusTeapot)
		})}
		go func() { _ = decoy.Serve(l) }()
		t.Cleanup(func() { _ = decoy.Close() })
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv := startServerIn(t, root, addr, []string{"WEFT_DATA_DIR=" + t.TempDir()}, "--config", "examples/weft.yaml")

	// The order flow POSTs to the orders-api flow on this same server.
	var resp map[string]any
	order := `{"order_id":"A-1001","customer":{"name":"ada lovelace","email":"ada@example.com"},"currency":"eur",
	  "items":[{"sku":"sku-1","qty":2,"price":9.99},{"sku":"sku-2","qty":1,"price":24.5},{"sku":"sku-3","qty":3,"price":1.25}]}`
	if code := srv.do("POST", "/hooks/order-flow", order, &resp); code != 200 {
		t.Fatalf("order flow: %d %v\n%s", code, resp, srv.logs())
	}
	if d, _ := resp["downstream"].(map[string]any); d["ok"] != true || d["total"] != 48.23 {
		t.Fatalf("order flow answer: %v", resp)
	}

	// The closed-won flow polls this server's CRM sandbox and writes its
	// tracker and chat sandboxes.
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
			t.Fatalf("no project and message on %s\n%s\n%s", addr, out, srv.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := decoyHits.Load(); n > 0 {
		t.Fatalf("%d requests went to 127.0.0.1:8080 instead of %s", n, addr)
	}
	if strings.Contains(srv.logs(), "127.0.0.1:8080") {
		t.Fatalf("the server's log mentions 127.0.0.1:8080:\n%s", srv.logs())
	}
}
