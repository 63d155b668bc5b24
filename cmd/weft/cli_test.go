package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// noServer points the CLI at a server that fails the test if anything
// reaches it.
func noServer(t *testing.T) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "no", 500)
	}))
	t.Cleanup(func() {
		srv.Close()
		if n := hits.Load(); n > 0 {
			t.Errorf("asking for help sent %d requests to the server", n)
		}
	})
	t.Setenv("WEFT_SERVER", srv.URL)
}

// F26: --help (and -h, -help, the word help) prints usage and exits 0 for
// every command and verb, with no request sent and nothing started.
func TestIssue16_F26_HelpExitsZeroForEverySubcommand(t *testing.T) {
	noServer(t)
	t.Setenv("WEFT_DATA_DIR", t.TempDir())
	verbs := map[string][]string{
		"serve":      nil,
		"flow":       {"validate", "deploy", "list", "show", "run", "rollback", "schema"},
		"runs":       {"list", "show", "replay", "cancel"},
		"dlq":        {"list", "replay"},
		"connector":  {"import", "list", "show", "search"},
		"connection": {"list", "show", "set", "delete"},
		"secrets":    {"rotate"},
		"sandbox":    nil,
		"mcp":        {"--stdio", "toolsets", "keys create", "keys list", "keys revoke"},
		"map":        {"suggest", "list", "show", "accept", "reject", "edit", "export"},
		"nl2flow":    nil,
		"anomaly":    {"replay"},
		"alerts":     {"list", "ack"},
		"metrics":    nil,
		"version":    nil,
	}
	// flags each command's help must list (its own flag set was consulted)
	wantFlag := map[string]string{"serve": "--addr", "flow validate": "--server", "runs list": "--limit", "mcp --stdio": "--toolset",
		"mcp keys create": "--scopes", "sandbox": "--addr", "nl2flow": "--deploy", "anomaly replay": "--input", "metrics": "--since", "map suggest": "--source"}
	check := func(args []string, want string) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		name := "weft " + strings.Join(args, " ")
		if code != 0 {
			t.Errorf("%s: exit %d, want 0; stderr: %s", name, code, errOut.String())
		}
		if errOut.Len() > 0 {
			t.Errorf("%s: stderr %q, want nothing", name, errOut.String())
		}
		if !strings.Contains(out.String(), "Usage:") || !strings.Contains(out.String(), want) {
			t.Errorf("%s: usage does not show %q:\n%s", name, want, out.String())
		}
	}
	for _, h := range []string{"--help", "-h", "-help"} {
		check([]string{h}, "weft serve")
	}
	check([]string{"help"}, "weft flow validate")
	for cmd, vs := range verbs {
		for _, h := range []string{"--help", "-h", "-help"} {
			check([]string{cmd, h}, "weft "+cmd)
		}
		check([]string{"help", cmd}, "weft "+cmd)
		if f, ok := wantFlag[cmd]; ok {
			check([]string{cmd, "--help"}, f)
		}
		for _, v := range vs {
			words := strings.Fields(v)
			for _, h := range []string{"--help", "-h", "-help"} {
				check(append(append([]string{cmd}, words...), h), "weft "+cmd)
			}
			// after a positional argument and other flags, too
			check(append(append([]string{cmd}, words...), "X", "--json", "--help"), "weft "+cmd)
			if f, ok := wantFlag[cmd+" "+v]; ok {
				check(append(append([]string{cmd}, words...), "--help"), f)
			}
		}
	}
	// aliases, and the help word after the command
	check([]string{"flows", "--help"}, "weft flow")
	check([]string{"flow", "help"}, "weft flow validate")
	// after "--" it is an argument, not a request for help
	var out, errOut bytes.Buffer
	if code := run([]string{"flow", "validate", "--", "--help"}, &out, &errOut); code == 0 {
		t.Errorf("flow validate -- --help: exit 0, want a missing-file error")
	}
	// an unknown command is still an error
	if code := run([]string{"bogus", "--help"}, &out, &errOut); code != 2 {
		t.Errorf("bogus --help: exit %d, want 2", code)
	}
}
