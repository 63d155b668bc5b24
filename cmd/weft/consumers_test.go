package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// weft plans and weft consumers: a plan, a consumer subscribed under it,
// a key shown once that calls the product, a rotation and a revocation;
// bad input refused with the server's message.
func TestConsumersCLI(t *testing.T) {
	_, cli := cliAgainstServer(t, "tok-consumers-0123456789")
	dir := t.TempDir()
	flowFile := filepath.Join(dir, "get-order.yaml")
	src := "name: get-order\ntrigger:\n  api: {method: GET, path: \"/orders/{id}\"}\nsteps:\n  - respond: {status: 200, body: {id: =trigger.params.id}}\n"
	if err := os.WriteFile(flowFile, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := cli("", "flow", "deploy", flowFile); code != 0 {
		t.Fatalf("deploy: %d %s", code, out)
	}
	prod := filepath.Join(dir, "shop.yaml")
	if err := os.WriteFile(prod, []byte("name: shop\nauth: api_key\nversions:\n  - name: v1\n    flows: [{flow: get-order, version: 1}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := cli("", "products", "apply", prod); code != 0 {
		t.Fatalf("apply: %d %s", code, out)
	}
	if out, code := cli("", "plans", "set", "gold", "--rate", "5", "--burst", "10", "--quota-day", "1000"); code != 0 || !strings.Contains(out, "plan gold saved: 5 calls/s, burst 10, 1000 per day") {
		t.Fatalf("plans set: %d %s", code, out)
	}
	if out, code := cli("", "plans", "set", "bad", "--burst", "10"); code == 0 || !strings.Contains(out, "a burst needs a rate_per_second") {
		t.Fatalf("plans set without a rate: %d %s", code, out)
	}
	if out, code := cli("", "plans", "list"); code != 0 || !strings.Contains(out, "gold") || !strings.Contains(out, "1000") {
		t.Fatalf("plans list: %d %s", code, out)
	}
	if out, code := cli("", "consumers", "create", "acme", "--description", "Acme's shop"); code != 0 || !strings.Contains(out, "consumer acme saved (namespace default, enabled)") {
		t.Fatalf("consumers create: %d %s", code, out)
	}
	if out, code := cli("", "consumers", "subscribe", "acme", "shop"); code == 0 || !strings.Contains(out, "--plan") {
		t.Fatalf("subscribe without a plan: %d %s", code, out)
	}
	if out, code := cli("", "consumers", "subscribe", "acme", "shop", "--plan", "gold"); code != 0 || !strings.Contains(out, "subscribed to shop (every version) under plan gold") {
		t.Fatalf("subscribe: %d %s", code, out)
	}
	out, code := cli("", "consumers", "key", "acme")
	key := strings.SplitN(out, "\n", 2)[0]
	if code != 0 || !strings.HasPrefix(key, "wk_") || !strings.Contains(out, "shown once") {
		t.Fatalf("key: %d %s", code, out)
	}
	callWith := func(k string) int {
		req, _ := http.NewRequest("GET", os.Getenv("WEFT_SERVER")+"/apis/shop/v1/orders/1", nil)
		req.Header.Set("X-API-Key", k)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := callWith(key); c != 200 {
		t.Fatalf("call with the key: %d", c)
	}
	id := key[3:19]
	// This test server has no master key: an HMAC credential, whose secret
	// must be sealed, is refused.
	if out, code := cli("", "consumers", "key", "acme", "--hmac"); code == 0 || !strings.Contains(out, "no master key") {
		t.Fatalf("key --hmac without a master key: %d %s", code, out)
	}
	if out, code := cli("", "consumers", "keys", "acme"); code != 0 || !strings.Contains(out, id) || strings.Contains(out, key[20:]) || !strings.Contains(out, "active") || !strings.Contains(out, "api_key") {
		t.Fatalf("keys: %d %s", code, out)
	}
	if out, code := cli("", "consumers", "show", "acme"); code != 0 || strings.Contains(out, key[20:]) || !strings.Contains(out, `"plan": "gold"`) {
		t.Fatalf("show: %d %s", code, out)
	}
	out, code = cli("", "consumers", "rotate", "acme", id, "--overlap", "1h")
	key2 := strings.SplitN(out, "\n", 2)[0]
	if code != 0 || !strings.HasPrefix(key2, "wk_") || !strings.Contains(out, "keeps working until") {
		t.Fatalf("rotate: %d %s", code, out)
	}
	if callWith(key) != 200 || callWith(key2) != 200 {
		t.Fatal("both keys work during the overlap")
	}
	if out, code := cli("", "consumers", "revoke", "acme", id); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %d %s", code, out)
	}
	if c := callWith(key); c != 401 {
		t.Fatalf("a revoked key: %d", c)
	}
	if out, code := cli("", "consumers", "disable", "acme"); code != 0 || !strings.Contains(out, "disabled") {
		t.Fatalf("disable: %d %s", code, out)
	}
	// An allow-list is set at creation and kept by disable and enable.
	if out, code := cli("", "consumers", "create", "net-app", "--allow-ips", "10.0.0.0/8,2001:db8::1"); code != 0 {
		t.Fatalf("create with an allow-list: %d %s", code, out)
	}
	if out, code := cli("", "consumers", "disable", "net-app"); code != 0 || !strings.Contains(out, "disabled") {
		t.Fatalf("disable net-app: %d %s", code, out)
	}
	if out, code := cli("", "consumers", "show", "net-app"); code != 0 || !strings.Contains(out, `"10.0.0.0/8"`) || !strings.Contains(out, `"2001:db8::1"`) {
		t.Fatalf("the allow-list after disable: %d %s", code, out)
	}
	if out, code := cli("", "consumers", "create", "bad-app", "--allow-ips", "10.0.0.0/8,nowhere"); code == 0 || !strings.Contains(out, `"nowhere" is neither an address nor a CIDR prefix`) {
		t.Fatalf("a bad entry: %d %s", code, out)
	}
	if c := callWith(key2); c != 403 {
		t.Fatalf("a disabled consumer: %d", c)
	}
	if out, code := cli("", "plans", "delete", "gold"); code == 0 || !strings.Contains(out, "used by 1 subscription") {
		t.Fatalf("delete a plan in use: %d %s", code, out)
	}
	if out, code := cli("", "consumers", "unsubscribe", "acme", "shop"); code != 0 {
		t.Fatalf("unsubscribe: %d %s", code, out)
	}
	if out, code := cli("", "consumers", "delete", "acme"); code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %d %s", code, out)
	}
	if out, code := cli("", "plans", "delete", "gold"); code != 0 {
		t.Fatalf("delete plan: %d %s", code, out)
	}
}
