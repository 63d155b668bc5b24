package main

import (
	"os"
	"strings"
	"testing"
)

// weft namespaces create|list, a user bound in the new namespace, and an
// MCP key created there.
func TestNamespacesCommands(t *testing.T) {
	_, cli := cliAgainstServer(t, "tok-ns-0123456789")
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
