package gateway_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/sandbox"
	"github.com/weftio/weft/connectors/soap"
	"github.com/weftio/weft/gateway"
)

// A WSDL imports through the same API as an OpenAPI document, and a flow
// over its operations test-runs against its sandbox: what one step sends
// another reads back, and a SOAP fault fails the step it answers.
func TestIssue25_SOAPImportAndSandboxRun(t *testing.T) {
	wsdl, err := os.ReadFile("../examples/wsdl/cxf/CustomerService.wsdl")
	if err != nil {
		t.Fatal(err)
	}
	box, err := soap.NewSandbox("customers", wsdl, soap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(sandbox.Prefix("customers")+"/", http.StripPrefix(sandbox.Prefix("customers"), box))
	mux.Handle(sandbox.Prefix("customers"), http.StripPrefix(sandbox.Prefix("customers"), box))
	rig := newTestRig(t, gateway.Config{Sandbox: mux, Sandboxes: []string{"customers"}})

	code, out, _ := call(t, "POST", rig.url+"/api/connectors/import?name=customers", string(wsdl), map[string]string{"Content-Type": "text/xml"})
	if code != 201 {
		t.Fatalf("import: %d %v", code, out)
	}
	rep, _ := out["report"].(map[string]any)
	if rep["imported"] != 2.0 || rep["found"] != 2.0 || rep["source_kind"] != "wsdl-1.1" {
		t.Fatalf("report %v", rep)
	}
	// The console's palette lists a connector's operations from here.
	code, out, _ = call(t, "GET", rig.url+"/api/connectors/customers", "", nil)
	if ops, _ := out["operations"].([]any); code != 200 || len(ops) != 2 {
		t.Fatalf("connector: %d %v", code, out)
	}
	if err := rig.e.Catalog().AddConnection(&connectors.Connection{Name: "crm", Connector: "customers", BaseURL: "http://soap.example.invalid/customers"}); err != nil {
		t.Fatal(err)
	}
	if op, ok := rig.e.Catalog().Operation("customers.getCustomersByName"); !ok || !op.Hints.ReadOnly {
		t.Fatalf("catalog: %v", op)
	}

	const draft = `name: soap-draft
steps:
  - id: update
    call: customers.updateCustomer
    connection: crm
    with:
      customer: {customerId: 42, name: Grace, revenue: 10.5, type: BUSINESS}
  - id: find
    call: customers.getCustomersByName
    connection: crm
    with: {name: =trigger.body.name}
  - id: out
    set:
      id: '=steps.find.body["return"][0].customerId'
      type: '=steps.find.body["return"][0].type'
`
	code, body := rig.testRun(t, map[string]any{"source": draft, "sandbox": true, "input": map[string]any{"body": map[string]any{"name": "Grace"}}})
	if code != 200 {
		t.Fatalf("test run: %d %s", code, body)
	}
	res := decodeResult(t, body)
	if res.Status != "succeeded" || res.step(t, "find").Target != "sandbox" {
		t.Fatalf("run: %s", body)
	}
	var o struct {
		ID   int64  `json:"id"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(res.step(t, "out").Output, &o); err != nil || o.ID != 42 || o.Type != "BUSINESS" {
		t.Fatalf("the sandbox did not read back what was sent: %s", res.step(t, "out").Output)
	}

	if err := box.FailNext("getCustomersByName", "Client", "no such customer: Grace"); err != nil {
		t.Fatal(err)
	}
	code, body = rig.testRun(t, map[string]any{"source": draft, "sandbox": true, "input": map[string]any{"body": map[string]any{"name": "Grace"}}})
	res = decodeResult(t, body)
	find := res.step(t, "find")
	if code != 200 || res.Status != "failed" || find.Status != "failed" || find.Error == nil || !strings.Contains(find.Error.Message, "SOAP fault Client: no such customer") || find.Attempts != 1 {
		t.Fatalf("fault: %d %s", code, body)
	}
}
