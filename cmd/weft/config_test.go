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
