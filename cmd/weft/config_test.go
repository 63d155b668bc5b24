package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "weft.yaml")
	os.WriteFile(p, []byte("addr: 127.0.0.1:9999\nconnections:\n  crm:\n    connector: http\n    base_url: https://crm.example.com\n    headers: {Authorization: '${secret:crm_token}'}\n"), 0o600)
	c, err := loadConfig(p, []string{"WEFT_DATA_DIR=/tmp/x", "WEFT_SECRET_CRM_TOKEN=Bearer abc", "WEFT_QUEUE_RESCUE_AFTER=5s", "WEFT_SECRET_HOOK=k"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.DataDir != "/tmp/x" || c.Connections["crm"].Headers["Authorization"] != "Bearer abc" || c.Connections["crm"].Name != "crm" {
		t.Fatalf("%+v", c)
	}
	if c.Queue.RescueAfter != 5*time.Second || c.Queue.JobTimeout > c.Queue.RescueAfter {
		t.Fatalf("queue %+v", c.Queue)
	}
	if v, ok := c.secret("hook"); !ok || v != "k" {
		t.Fatal("secret lookup")
	}

	for _, bad := range []struct{ file, env, want string }{
		{"adr: x\n", "", "field adr not found"},
		{"connections:\n  crm: {connector: http, headers: {X: '${secret:missing}'}}\n", "", "WEFT_SECRET_MISSING"},
		{"connections:\n  crm: {base_url: x}\n", "", "needs connector"},
		{"", "WEFT_QUEUE_WORKERS=lots", "WEFT_QUEUE_WORKERS"},
		{"credential_cache_ttl: 2m\n", "", "credential_cache_ttl must be between 0s (off) and 1m"},
		{"credential_cache_ttl: -1s\n", "", "credential_cache_ttl must be between 0s (off) and 1m"},
		{"credential_cache_ttl: soon\n", "", "weft.yaml:1:1: wrong type into time.Duration"},
		{"api_jwt_issuers:\n  - {name: corp, issuer: https://idp.example}\n", "", "issuer, audience and jwks_url are required"},
		{"api_jwt_issuers:\n  - {name: corp, issuer: i, audience: a, jwks_url: file:///etc/passwd}\n", "", "jwks_url must be an http(s) URL"},
		{"api_jwt_issuers:\n  - {name: c, issuer: i, audience: a, jwks_url: https://x}\n  - {name: c, issuer: i, audience: a, jwks_url: https://x}\n", "", "appears twice"},
	} {
		os.WriteFile(p, []byte(bad.file), 0o600)
		_, err := loadConfig(p, []string{bad.env})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want %q", bad.file+bad.env, err, bad.want)
		}
	}
}

func TestCLIUsageErrors(t *testing.T) {
	var out, errb strings.Builder
	if code := run([]string{"nope"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Fatalf("%d %s", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"flow", "validate", "/does/not/exist.yaml"}, &out, &errb); code != 2 {
		t.Fatalf("%d %s", code, errb.String())
	}
	out.Reset()
	if code := run([]string{"flow", "schema"}, &out, &errb); code != 0 || !strings.Contains(out.String(), `"title": "Weft flow"`) {
		t.Fatalf("schema: %d", code)
	}
	errb.Reset()
	if code := run([]string{"runs", "list", "--server", "http://127.0.0.1:1"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "cannot reach the weft server") {
		t.Fatalf("%d %s", code, errb.String())
	}
}

// F28: ${self} in the config is this server's base URL, from the final
// listen address (file, WEFT_ADDR, --addr), loopback for wildcard hosts.
func TestIssue16_F28_SelfFollowsListenAddress(t *testing.T) {
	t.Chdir("../..")
	raw, err := os.ReadFile("examples/weft.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "127.0.0.1:8080/") {
		t.Error("examples/weft.yaml still hard-codes 127.0.0.1:8080 in a URL")
	}
	for _, tc := range []struct{ env, flag, want string }{
		{"", "", "http://127.0.0.1:8080"},
		{"WEFT_ADDR=127.0.0.1:9666", "", "http://127.0.0.1:9666"},
		{"WEFT_ADDR=127.0.0.1:9666", "127.0.0.1:9555", "http://127.0.0.1:9555"},
		{"", "0.0.0.0:7000", "http://127.0.0.1:7000"},
		{"", ":7002", "http://127.0.0.1:7002"},
		{"", "[::]:7001", "http://[::1]:7001"},
		{"", "[::1]:7003", "http://[::1]:7003"},
		{"", "localhost:7004", "http://localhost:7004"},
	} {
		c, err := loadConfig("examples/weft.yaml", []string{tc.env})
		if err != nil {
			t.Fatal(err)
		}
		if tc.flag != "" {
			c.Addr = tc.flag
		}
		if err := c.expandSelf(); err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		if got := c.Connections["crm"].BaseURL; got != tc.want+"/sandbox/crm" {
			t.Errorf("%+v: crm base_url %q", tc, got)
		}
		if got := c.Connections["local"].BaseURL; got != tc.want {
			t.Errorf("%+v: local base_url %q", tc, got)
		}
	}
	// Headers, auth token URL, config values and alert input expand too; a
	// port chosen by the kernel cannot be known in advance: refused.
	p := filepath.Join(t.TempDir(), "w.yaml")
	os.WriteFile(p, []byte("addr: 127.0.0.1:7777\nconnections:\n  a: {connector: http, headers: {X-Back: '${self}/cb'}, auth: {type: oauth2_client_credentials, token_url: '${self}/token'}, config: {hooks: ['${self}/h']}}\n"+
		"alerts: {notify: {connection: a, input: {url: '${self}/alert'}}}\n"), 0o600)
	c, err := loadConfig(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.expandSelf(); err != nil {
		t.Fatal(err)
	}
	a := c.Connections["a"]
	if a.Headers["X-Back"] != "http://127.0.0.1:7777/cb" || a.Auth.TokenURL != "http://127.0.0.1:7777/token" ||
		a.Config["hooks"].([]any)[0] != "http://127.0.0.1:7777/h" || c.Alerts.Notify.Input["url"] != "http://127.0.0.1:7777/alert" {
		t.Fatalf("not expanded: %+v %+v %v", a, a.Auth, c.Alerts.Notify.Input)
	}
	c, _ = loadConfig(p, []string{"WEFT_ADDR=127.0.0.1:0"})
	if err := c.expandSelf(); err == nil || !strings.Contains(err.Error(), "fixed listen port") {
		t.Fatalf("port 0: %v", err)
	}
	// A config without ${self} is fine on port 0.
	c, _ = loadConfig("", []string{"WEFT_ADDR=127.0.0.1:0"})
	if err := c.expandSelf(); err != nil {
		t.Fatal(err)
	}
}
