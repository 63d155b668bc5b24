package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// A connection placed on a site through the API: stored (its credential
// shown only as set), listed with its placement, updatable and deletable,
// but never usable on the control plane (testing it is refused, naming
// the site). A bad placement is refused with a clear error.
func TestPlacedConnectionOverTheAPI(t *testing.T) {
	rig := newAuditRig(t, auditToken)
	const secret = "placed-conn-secret-93ad"
	code, out, _ := rig.do(t, "PUT", "/api/connections/erp",
		`{"connector":"http","base_url":"https://erp.plant-3.internal","placement":{"site":"plant-3"},"auth":{"type":"bearer","token":"`+secret+`"}}`, bearerAuth)
	if code != 200 {
		t.Fatalf("put: %d %v", code, out)
	}
	code, out, _ = rig.do(t, "GET", "/api/connections/erp", "", bearerAuth)
	if code != 200 || jsonText(out["placement"]) != `{"site":"plant-3"}` || jsonText(out["credentials"]) != `{"auth.token":"set"}` || strings.Contains(jsonText(out), secret) {
		t.Fatalf("get: %d %v", code, out)
	}
	code, out, _ = rig.do(t, "GET", "/api/connections", "", bearerAuth)
	if code != 200 || !strings.Contains(jsonText(out), `"name":"erp"`) {
		t.Fatalf("list: %d %v", code, out)
	}
	code, out, _ = rig.do(t, "POST", "/api/connections/erp/test", "", bearerAuth)
	if code != 409 || !strings.Contains(jsonText(out), "site=plant-3") {
		t.Fatalf("testing a placed connection on the control plane: %d %v", code, out)
	}
	// A flow of the control plane cannot use it.
	code, out, _ = rig.do(t, "POST", "/api/flows", "name: uses-erp\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - {id: c, call: http.request, connection: erp, with: {url: /x}}\n", bearerAuth)
	if code == 201 {
		code, out, _ = rig.do(t, "POST", "/hooks/uses-erp", `{}`, bearerAuth)
		if code == 200 {
			t.Fatalf("a control-plane flow used a connection placed on a site: %v", out)
		}
	}
	code, out, _ = rig.do(t, "PUT", "/api/connections/bad", `{"connector":"http","base_url":"https://x.example.com","placement":{"site":"Plant 3!"}}`, bearerAuth)
	if code != 400 || !strings.Contains(jsonText(out), "placement.site") {
		t.Fatalf("a bad placement: %d %v", code, out)
	}
	code, out, _ = rig.do(t, "PUT", "/api/connections/bad", `{"connector":"http","base_url":"https://x.example.com","placement":{}}`, bearerAuth)
	if code != 400 || !strings.Contains(jsonText(out), "placement needs") {
		t.Fatalf("an empty placement: %d %v", code, out)
	}
	if code, out, _ = rig.do(t, "DELETE", "/api/connections/erp", "", bearerAuth); code != 200 {
		t.Fatalf("delete: %d %v", code, out)
	}
	if code, _, _ = rig.do(t, "GET", "/api/connections/erp", "", bearerAuth); code != 404 {
		t.Fatalf("after delete: %d", code)
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
