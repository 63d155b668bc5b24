package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store/sqlite"
)

// weft namespaces create|list, a user bound in the new namespace, and an
// MCP key created there.
func TestNamespacesCommands(t *testing.T) {
	st, err := sqlite.Open(context.Background(), t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := access.NewDirectory(st)
	srv := httptest.NewServer(gateway.New(engine.New(st, connectors.NewCatalog(), nil, engine.Config{}), nil,
		gateway.Config{APIToken: "tok-ns-0123456789", Directory: dir}))
	t.Cleanup(srv.Close)
	t.Setenv("WEFT_SERVER", srv.URL)
	t.Setenv("WEFT_API_TOKEN", "tok-ns-0123456789")
	cli := func(in string, args ...string) (string, int) {
		t.Helper()
		stdin = strings.NewReader(in)
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		return out.String() + errOut.String(), code
	}
	if out, code := cli("", "namespaces", "create", "team-b", "--description", "Team B"); code != 0 || !strings.Contains(out, "team-b created") {
		t.Fatalf("create: %d %s", code, out)
	}
	if out, code := cli("", "namespaces", "create", "team-b"); code == 0 || !strings.Contains(out, "exists") {
		t.Fatalf("create twice: %d %s", code, out)
	}
	if out, code := cli("", "namespaces", "create", "Team_B"); code != 2 || !strings.Contains(out, "namespace") {
		t.Fatalf("create a bad name: %d %s", code, out)
	}
	if out, code := cli("", "namespaces", "list"); code != 0 || !strings.Contains(out, "team-b") || !strings.Contains(out, "default") || !strings.Contains(out, "Team B") {
		t.Fatalf("list: %d %s", code, out)
	}
	if out, code := cli("a long password 1\n", "users", "create", "bea", "--role", "agent", "--namespace", "team-b"); code != 0 || !strings.Contains(out, "namespace team-b") {
		t.Fatalf("user in team-b: %d %s", code, out)
	}
	if out, code := cli("", "mcp", "keys", "create", "b-agent", "--scopes", "*", "--namespace", "team-b"); code != 0 || !strings.Contains(out, "namespace team-b") {
		t.Fatalf("key in team-b: %d %s", code, out)
	}
	if out, code := cli("", "mcp", "keys", "list"); code != 0 || !strings.Contains(out, "team-b") {
		t.Fatalf("keys list: %d %s", code, out)
	}
	file := t.TempDir() + "/f.yaml"
	if err := os.WriteFile(file, []byte("name: b-flow\ntrigger: {manual: {}}\nsteps:\n  - set: {ok: true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := cli("", "flow", "deploy", file, "--namespace", "team-b"); code != 0 || !strings.Contains(out, "in namespace team-b") {
		t.Fatalf("deploy into team-b: %d %s", code, out)
	}
	if out, code := cli("", "flow", "list"); code != 0 || !strings.Contains(out, "team-b") {
		t.Fatalf("flow list: %d %s", code, out)
	}
	if err := os.WriteFile(file, []byte("name: b-flow\nnamespace: default\ntrigger: {manual: {}}\nsteps:\n  - set: {ok: true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := cli("", "flow", "deploy", file, "--namespace", "team-b"); code == 0 || !strings.Contains(out, "names namespace") {
		t.Fatalf("deploy a flow naming another namespace: %d %s", code, out)
	}
	if out, code := cli("", "help", "namespaces"); code != 0 || !strings.Contains(out, "weft namespaces create") {
		t.Fatalf("help: %d %s", code, out)
	}
}
