package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/weftio/weft/internal/pgtest"
)

const orderJSON = `{"order_id":"A-1001","customer":{"name":"ada lovelace","email":"ada@example.com"},"currency":"eur","items":[{"sku":"sku-1","qty":2,"price":9.99},{"sku":"sku-2","qty":1,"price":24.5},{"sku":"sku-3","qty":3,"price":1.25}]}`

func orderFlow(sinkURL string) string {
	return `name: order-flow
trigger:
  webhook: {mode: sync}
capture: full
steps:
  - id: transform
    set:
      id: =trigger.body.order_id
      customer_name: =trigger.body.customer.name.upperAscii()
      customer_email: =trigger.body.customer.email
      currency: =trigger.body.currency.upperAscii()
      item_count: =size(trigger.body.items)
      total: =round(sum(trigger.body.items.map(i, i.qty * i.price)), 2)
  - id: post
    call: http.request
    connection: sink
    with:
      method: POST
      url: ` + sinkURL + `/orders
      headers: {Authorization: "Bearer do-not-log-me"}
      body: =steps.transform
  - id: reply
    respond:
      status: 200
      body:
        status: accepted
        downstream: =steps.post.body
`
}

func writeConfig(t *testing.T, extra string) string {
	p := filepath.Join(t.TempDir(), "weft.yaml")
	cfg := "connections:\n  sink:\n    connector: http\n    allow_private: true\n" + extra
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type recordingSink struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	keys   []string
}

func newRecordingSink(t *testing.T) *recordingSink {
	s := &recordingSink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		s.mu.Lock()
		s.bodies = append(s.bodies, m)
		s.keys = append(s.keys, r.Header.Get("Idempotency-Key"))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestOrderFlowSQLite(t *testing.T) {
	testOrderFlow(t, []string{"WEFT_DATA_DIR=" + t.TempDir()})
}

func TestOrderFlowPostgres(t *testing.T) {
	pg := pgtest.Shared(t)
	testOrderFlow(t, []string{"WEFT_DATABASE_URL=" + pg.NewDatabase(t), "WEFT_DATA_DIR=" + t.TempDir()})
}

func testOrderFlow(t *testing.T, env []string) {
	sink := newRecordingSink(t)
	srv := startServer(t, "", env, "--config", writeConfig(t, ""))
	flowFile := filepath.Join(t.TempDir(), "order-flow.yaml")
	if err := os.WriteFile(flowFile, []byte(orderFlow(sink.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := srv.cli("flow", "validate", flowFile); err != nil || !strings.Contains(out, "ok (flow order-flow") {
		t.Fatalf("validate: %v %s", err, out)
	}
	if out, err := srv.cli("flow", "deploy", flowFile); err != nil || !strings.Contains(out, "deployed order-flow version 1") {
		t.Fatalf("deploy: %v %s", err, out)
	}

	var resp map[string]any
	if code := srv.do("POST", "/hooks/order-flow", orderJSON, &resp); code != 200 {
		t.Fatalf("hook: %d %v", code, resp)
	}
	if resp["status"] != "accepted" || resp["downstream"].(map[string]any)["ok"] != true {
		t.Fatalf("response %v", resp)
	}
	sink.mu.Lock()
	got := sink.bodies[0]
	key := sink.keys[0]
	sink.mu.Unlock()
	want := map[string]any{"id": "A-1001", "customer_name": "ADA LOVELACE", "customer_email": "ada@example.com", "currency": "EUR", "item_count": 3.0, "total": 48.23}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("sink got %s=%v, want %v (body %v)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("sink body has extra fields: %v", got)
	}

	var runs struct {
		Runs []map[string]any `json:"runs"`
	}
	srv.do("GET", "/api/runs?flow=order-flow", nil, &runs)
	if len(runs.Runs) != 1 || runs.Runs[0]["status"] != "succeeded" || runs.Runs[0]["version"] != 1.0 {
		t.Fatalf("runs %v", runs)
	}
	id := runs.Runs[0]["id"].(string)
	if key != id+":post" {
		t.Fatalf("idempotency key %q, want %q", key, id+":post")
	}
	var detail struct {
		Run   map[string]any   `json:"run"`
		Steps []map[string]any `json:"steps"`
	}
	srv.do("GET", "/api/runs/"+id, nil, &detail)
	if len(detail.Steps) != 3 {
		t.Fatalf("want 3 transaction-log rows, got %d: %v", len(detail.Steps), detail.Steps)
	}
	for i, name := range []string{"transform", "post", "reply"} {
		s := detail.Steps[i]
		if s["step"] != name || s["status"] != "ok" || s["attempt"] != 1.0 || s["flow"] != "order-flow" || s["version"] != 1.0 || s["trigger_kind"] != "webhook" {
			t.Fatalf("row %d: %v", i, s)
		}
		if s["started_at"] == nil || s["finished_at"] == nil || s["output_size"].(float64) <= 0 {
			t.Fatalf("row %d lacks times or sizes: %v", i, s)
		}
	}
	post := detail.Steps[1]
	if post["input_size"].(float64) <= 0 || !strings.Contains(fmt.Sprint(post["input"]), "[REDACTED]") || strings.Contains(fmt.Sprint(post["input"]), "do-not-log-me") {
		t.Fatalf("captured input must be present and redacted: %v", post["input"])
	}
	if strings.Contains(srv.logs(), "do-not-log-me") {
		t.Fatal("a secret reached the server log")
	}
	out, err := srv.cli("runs", "show", id)
	if err != nil || !strings.Contains(out, "post") || !strings.Contains(out, "succeeded") {
		t.Fatalf("runs show: %v %s", err, out)
	}
	out, err = srv.cli("runs", "list", "--status", "succeeded", "--since", "1h")
	if err != nil || !strings.Contains(out, id) {
		t.Fatalf("runs list: %v %s", err, out)
	}
	// The health summary reads the same log.
	out, err = srv.cli("metrics", "--flow", "order-flow", "--since", "1h")
	if err != nil || !strings.Contains(out, "order-flow") || !strings.Contains(out, "ERROR%") {
		t.Fatalf("metrics: %v %s", err, out)
	}
}
