package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/connectors/openapi"
	"github.com/weftio/weft/connectors/sandbox"
)

func examples(t *testing.T) map[string][]byte {
	files, _ := filepath.Glob("../../examples/connectors/*.yaml")
	if len(files) != 5 {
		t.Fatalf("%d example specs", len(files))
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".yaml")] = b
	}
	return out
}

func serve(t *testing.T) *httptest.Server {
	var boxes []*sandbox.Sandbox
	for name, spec := range examples(t) {
		b, err := sandbox.New(name, spec)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		boxes = append(boxes, b)
	}
	srv := httptest.NewServer(sandbox.Mount(boxes...))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	if resp.StatusCode == 500 {
		t.Fatalf("%s %s: %s", method, url, data)
	}
	return resp.StatusCode, out
}

// Every example API's records are created, read, listed, updated and
// deleted, and every response matched the spec (the sandbox answers 500
// otherwise, which do() fails on).
func TestExampleAPIsCRUD(t *testing.T) {
	srv := serve(t)
	u := srv.URL
	code, acct := do(t, "POST", u+"/sandbox/crm/accounts", map[string]any{"name": "Acme", "industry": "manufacturing", "country": "DE"})
	if code != 201 || acct["id"] != "acc_1" || acct["created_at"] == nil {
		t.Fatalf("%d %v", code, acct)
	}
	code, opp := do(t, "POST", u+"/sandbox/crm/opportunities", map[string]any{"account_id": "acc_1", "name": "Acme rollout", "amount": 50000, "currency": "EUR", "stage": "proposal"})
	if code != 201 || opp["stage"] != "proposal" {
		t.Fatalf("%d %v", code, opp)
	}
	code, upd := do(t, "PATCH", u+"/sandbox/crm/opportunities/"+opp["id"].(string), map[string]any{"stage": "closed_won"})
	if code != 200 || upd["stage"] != "closed_won" || upd["name"] != "Acme rollout" || upd["updated_at"] == opp["updated_at"] {
		t.Fatalf("%d %v", code, upd)
	}
	// Validation against the request schema: 422 with the reason.
	if code, e := do(t, "PATCH", u+"/sandbox/crm/opportunities/"+opp["id"].(string), map[string]any{"stage": "won-ish"}); code != 422 || !strings.Contains(fmt.Sprint(e["message"]), "stage") {
		t.Fatalf("bad enum: %d %v", code, e)
	}
	if code, o := do(t, "POST", u+"/sandbox/crm/opportunities", map[string]any{"id": "mine", "name": "x"}); code != 201 || o["id"] == "mine" {
		t.Fatalf("the sandbox assigns ids: %d %v", code, o)
	}
	if code, _ := do(t, "GET", u+"/sandbox/crm/opportunities/opp_99", nil); code != 404 {
		t.Fatalf("missing: %d", code)
	}
	// Filters.
	_, list := do(t, "GET", u+"/sandbox/crm/opportunities?stage=closed_won", nil)
	if len(list["data"].([]any)) != 1 {
		t.Fatalf("filter: %v", list)
	}
	_, list = do(t, "GET", u+"/sandbox/crm/opportunities?stage=negotiation", nil)
	if len(list["data"].([]any)) != 0 {
		t.Fatalf("filter: %v", list)
	}
	// Nested collections: the parent must exist; the parent id is filled in.
	code, prj := do(t, "POST", u+"/sandbox/tracker/projects", map[string]any{"name": "Acme rollout", "source_ref": "opp_1"})
	if code != 201 || prj["status"] != "active" || prj["key"] == nil {
		t.Fatalf("%d %v", code, prj)
	}
	code, iss := do(t, "POST", u+"/sandbox/tracker/projects/"+prj["id"].(string)+"/issues", map[string]any{"title": "Kick-off"})
	if code != 201 || iss["project_id"] != prj["id"] || iss["status"] != "todo" {
		t.Fatalf("%d %v", code, iss)
	}
	if code, _ := do(t, "POST", u+"/sandbox/tracker/projects/prj_404/issues", map[string]any{"title": "x"}); code != 404 {
		t.Fatalf("orphan issue: %d", code)
	}
	code, ch := do(t, "POST", u+"/sandbox/chat/channels", map[string]any{"name": "delivery"})
	if code != 201 {
		t.Fatalf("%d %v", code, ch)
	}
	if code, m := do(t, "POST", u+"/sandbox/chat/channels/"+ch["id"].(string)+"/messages", map[string]any{"text": "hello"}); code != 201 || m["channel_id"] != ch["id"] {
		t.Fatalf("%d %v", code, m)
	}
	code, cust := do(t, "POST", u+"/sandbox/erp/customers", map[string]any{"name": "Acme GmbH", "vat_number": "DE123"})
	if code != 201 || cust["payment_terms_days"] != 30.0 || cust["number"] == nil {
		t.Fatalf("%d %v", code, cust)
	}
	code, so := do(t, "POST", u+"/sandbox/erp/sales-orders", map[string]any{"customer_id": cust["id"], "lines": []any{map[string]any{"sku": "A1", "quantity": 2, "unit_price": 10}}})
	if code != 201 || so["status"] != "draft" || so["currency"] != "EUR" {
		t.Fatalf("%d %v", code, so)
	}
	if code, _ := do(t, "POST", u+"/sandbox/erp/sales-orders", map[string]any{"customer_id": "x", "lines": []any{}}); code != 422 {
		t.Fatalf("empty lines accepted: %d", code)
	}
	code, inv := do(t, "POST", u+"/sandbox/erp/invoices", map[string]any{"sales_order_id": so["id"], "customer_id": cust["id"], "amount": 20})
	if code != 201 || inv["status"] != "draft" {
		t.Fatalf("%d %v", code, inv)
	}
	if code, r := do(t, "PUT", u+"/sandbox/erp/customers/"+cust["id"].(string), map[string]any{"name": "Acme AG"}); code != 200 || r["name"] != "Acme AG" || r["vat_number"] != nil || r["id"] != cust["id"] {
		t.Fatalf("put: %d %v", code, r)
	}
	code, emp := do(t, "POST", u+"/sandbox/hr/employees", map[string]any{"first_name": "Ada", "last_name": "L", "work_email": "ada@example.com", "start_date": "2026-12-01"})
	if code != 201 || emp["status"] != "active" || emp["employee_number"] == nil {
		t.Fatalf("%d %v", code, emp)
	}
	if code, _ := do(t, "DELETE", u+"/sandbox/crm/opportunities/"+opp["id"].(string), nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := do(t, "GET", u+"/sandbox/crm/opportunities/"+opp["id"].(string), nil); code != 404 {
		t.Fatalf("after delete: %d", code)
	}
	if code, _ := do(t, "DELETE", u+"/sandbox/chat/channels", nil); code != 405 {
		t.Fatalf("undefined method: %d", code)
	}
}

// Imported example connectors page through the sandbox with fetch_all:
// cursor (CRM), offset (tracker) and page (ERP, chat) styles.
func TestFetchAllAgainstSandboxPaging(t *testing.T) {
	srv := serve(t)
	specs := examples(t)
	for i := 0; i < 60; i++ {
		do(t, "POST", srv.URL+"/sandbox/crm/accounts", map[string]any{"name": fmt.Sprintf("a%d", i)})
		do(t, "POST", srv.URL+"/sandbox/tracker/projects", map[string]any{"name": fmt.Sprintf("p%d", i)})
		do(t, "POST", srv.URL+"/sandbox/erp/customers", map[string]any{"name": fmt.Sprintf("c%d", i)})
	}
	req := httpconn.New(httpconn.Options{}).Operations[0]
	for _, c := range []struct{ connector, op, items string }{{"crm", "listAccounts", "data"}, {"tracker", "listProjects", "items"}, {"erp", "listCustomers", "results"}} {
		x, _, err := openapi.Import(c.connector, specs[c.connector], req)
		if err != nil {
			t.Fatal(err)
		}
		conn := &connectors.Connection{Name: c.connector, Connector: c.connector, BaseURL: srv.URL + "/sandbox/" + c.connector, AllowPrivate: true}
		var op *connectors.Operation
		for _, o := range x.Operations {
			if o.Name == c.op {
				op = o
			}
		}
		out, err := op.Invoke(context.Background(), connectors.Call{Input: map[string]any{"fetch_all": true}, Connection: conn})
		if err != nil {
			t.Fatalf("%s: %v", c.op, err)
		}
		m := out.(map[string]any)
		if got := len(m["body"].(map[string]any)[c.items].([]any)); got != 60 || m["pages"].(int64) < 2 {
			t.Fatalf("%s: %d items in %v pages", c.op, got, m["pages"])
		}
	}
}

// A channel's name stands for its id in a path, as chat APIs allow; an
// unknown name is still 404.
func TestPathIDByName(t *testing.T) {
	srv := serve(t)
	u := srv.URL + "/sandbox/chat"
	st, ch := do(t, "POST", u+"/channels", map[string]any{"name": "delivery"})
	if st != 201 {
		t.Fatalf("create channel: %d", st)
	}
	if st, m := do(t, "POST", u+"/channels/delivery/messages", map[string]any{"text": "hi"}); st != 201 || m["channel_id"] != ch["id"] {
		t.Fatalf("post by name: %d %v (channel %v)", st, m, ch["id"])
	}
	if st, _ := do(t, "POST", u+"/channels/nosuch/messages", map[string]any{"text": "hi"}); st != 404 {
		t.Fatalf("unknown name: %d", st)
	}
	if st, m := do(t, "GET", u+"/channels/"+ch["id"].(string)+"/messages", nil); st != 200 || len(m["messages"].([]any)) != 1 {
		t.Fatalf("list by id: %d %v", st, m)
	}
}
