package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/openapi"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store/sqlite"
	"github.com/weftio/weft/store/storetest"
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
		"serve":            nil,
		"flow":             {"validate", "deploy", "list", "show", "run", "rollback", "schema"},
		"runs":             {"list", "show", "replay", "cancel"},
		"dlq":              {"list", "replay"},
		"connector":        {"import", "list", "show", "search"},
		"connection":       {"list", "show", "set", "delete"},
		"secrets":          {"rotate"},
		"sandbox":          nil,
		"mcp":              {"--stdio", "toolsets", "keys create", "keys list", "keys revoke"},
		"map":              {"suggest", "list", "show", "accept", "reject", "edit", "export"},
		"nl2flow":          nil,
		"anomaly":          {"replay"},
		"alerts":           {"list", "ack"},
		"metrics":          nil,
		"version":          nil,
		"users":            {"create", "list", "disable", "reset-password", "role"},
		"service-accounts": {"create", "list", "revoke"},
		"audit":            {"list", "verify"},
		"agent":            {"connection set"},
	}
	// flags each command's help must list (its own flag set was consulted)
	wantFlag := map[string]string{"serve": "--addr", "flow validate": "--server", "runs list": "--limit", "mcp --stdio": "--toolset",
		"mcp keys create": "--scopes", "sandbox": "--addr", "nl2flow": "--deploy", "anomaly replay": "--input", "metrics": "--since", "map suggest": "--source",
		"audit list": "--actor", "agent connection set": "--secret", "audit verify": "--data-dir"}
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

// apiWithRuns serves the real API over a store holding n runs of flow bulk.
func apiWithRuns(t *testing.T, n int) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.InsertRuns(ctx, storetest.FinishedRuns("bulk", n)); err != nil {
		t.Fatal(err)
	}
	e := engine.New(st, connectors.NewCatalog(), nil, engine.Config{})
	srv := httptest.NewServer(gateway.New(e, nil, gateway.Config{}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// F27: weft runs list --limit 5000 returns every run up to the limit (paging
// past the API's 1,000 a page), never a silent 100, and says how many.
func TestIssue16_F27_RunsListPagesToLimitWithTotal(t *testing.T) {
	url := apiWithRuns(t, 2345)
	cli := func(args ...string) (string, int) {
		var out, errOut bytes.Buffer
		code := run(append(args, "--server", url), &out, &errOut)
		return out.String() + errOut.String(), code
	}
	rows := func(out string) int { return strings.Count(out, " bulk ") }

	out, code := cli("runs", "list", "--limit", "5000")
	if code != 0 || rows(out) != 2345 || !strings.Contains(out, "\n2345 runs\n") {
		t.Fatalf("--limit 5000: exit %d, %d rows, want 2345 and the total; tail:\n%s", code, rows(out), tail(out))
	}
	out, code = cli("runs", "list", "--limit", "1500", "--flow", "bulk")
	if code != 0 || rows(out) != 1500 || !strings.Contains(out, "1500 of 2345 runs (more: a higher --limit, or --before ") {
		t.Fatalf("--limit 1500: exit %d, %d rows; tail:\n%s", code, rows(out), tail(out))
	}
	// The cursor it prints continues where it stopped.
	i := strings.Index(out, "--before ")
	cursor := strings.TrimSuffix(strings.TrimSpace(out[i+len("--before "):]), ")")
	out, code = cli("runs", "list", "--limit", "5000", "--before", cursor)
	if code != 0 || rows(out) != 845 || !strings.Contains(out, "\n845 runs\n") {
		t.Fatalf("--before %s: exit %d, %d rows; tail:\n%s", cursor, code, rows(out), tail(out))
	}
	// Exactly a page's worth, with more behind it.
	out, _ = cli("runs", "list", "--limit", "1000")
	if rows(out) != 1000 || !strings.Contains(out, "1000 of 2345 runs") {
		t.Fatalf("--limit 1000: %d rows; tail:\n%s", rows(out), tail(out))
	}
	out, _ = cli("runs", "list", "--limit", "2345")
	if rows(out) != 2345 || !strings.Contains(out, "\n2345 runs\n") {
		t.Fatalf("--limit 2345: %d rows; tail:\n%s", rows(out), tail(out))
	}
	// JSON: the runs, their count and the total.
	out, _ = cli("runs", "list", "--limit", "1200", "--json")
	var res struct {
		Runs       []map[string]any `json:"runs"`
		Count      int              `json:"count"`
		Total      int              `json:"total"`
		NextCursor string           `json:"next_cursor"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Runs) != 1200 || res.Count != 1200 || res.Total != 2345 || res.NextCursor == "" {
		t.Fatalf("--json: %v: %d runs, count %d, total %d, cursor %q", err, len(res.Runs), res.Count, res.Total, res.NextCursor)
	}
	for _, bad := range []string{"0", "-1", "1000001"} {
		if _, code := cli("runs", "list", "--limit", bad); code != 2 {
			t.Errorf("--limit %s: exit %d, want 2", bad, code)
		}
	}
}

func tail(s string) string {
	if len(s) > 400 {
		return s[len(s)-400:]
	}
	return s
}

// F25: offline validation knows only the built-in connectors and says so,
// with a hint; --config (its imports), --catalog (OpenAPI files) and
// --server (the live catalog, with WEFT_API_TOKEN) validate flows over
// imported connectors, and the output names the catalog used.
func TestIssue16_F25_ValidateWithImportedConnectors(t *testing.T) {
	t.Chdir("../..") // the repository root: the example config's import paths are relative to it
	flowFile := "examples/flows/closed-won.yaml"
	cli := func(args ...string) (string, int) {
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		return out.String() + errOut.String(), code
	}
	// Offline, built-in only: fails, says which catalog, and hints.
	out, code := cli("flow", "validate", flowFile)
	if code == 0 || !strings.Contains(out, "catalog: built-in connectors only, offline") ||
		!strings.Contains(out, "--server URL") || !strings.Contains(out, "--config weft.yaml") || strings.Count(out, "hint:") != 1 {
		t.Fatalf("offline: exit %d\n%s", code, out)
	}
	// The config's imports.
	out, code = cli("flow", "validate", flowFile, "--config", "examples/weft.yaml")
	if code != 0 || !strings.Contains(out, "closed-won.yaml: ok (flow closed-won-to-project, poll trigger") ||
		!strings.Contains(out, "catalog: built-in connectors and chat, crm, erp, hr, tracker from the imports of examples/weft.yaml") {
		t.Fatalf("--config: exit %d\n%s", code, out)
	}
	// OpenAPI files, by name or NAME=FILE; one missing: still unknown, no hint (a catalog was given).
	out, code = cli("flow", "validate", flowFile, "--catalog", "examples/connectors/crm.yaml", "--catalog", "tracker=examples/connectors/tracker.yaml,examples/connectors/chat.yaml")
	if code != 0 || !strings.Contains(out, "ok (flow closed-won-to-project") || !strings.Contains(out, "chat, crm, tracker from") {
		t.Fatalf("--catalog: exit %d\n%s", code, out)
	}
	out, code = cli("flow", "validate", flowFile, "--catalog", "examples/connectors/crm.yaml")
	if code == 0 || !strings.Contains(out, `unknown operation "tracker.listProjects"`) || strings.Contains(out, "crm.listOpportunities") || strings.Contains(out, "hint:") {
		t.Fatalf("--catalog crm only: exit %d\n%s", code, out)
	}
	if out, code = cli("flow", "validate", flowFile, "--catalog", "nope=/does/not/exist.yaml"); code == 0 || !strings.Contains(out, "connector nope") {
		t.Fatalf("--catalog missing file: exit %d\n%s", code, out)
	}
	// The server's catalog, with the API token from the environment.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cat := builtinCatalog()
	for _, n := range []string{"crm", "tracker", "chat"} {
		spec, err := os.ReadFile("examples/connectors/" + n + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := openapi.Register(cat, n, spec); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(gateway.New(engine.New(st, cat, nil, engine.Config{}), nil, gateway.Config{APIToken: "tok-f25"}))
	t.Cleanup(srv.Close)
	t.Setenv("WEFT_API_TOKEN", "tok-f25")
	out, code = cli("flow", "validate", flowFile, "--server", srv.URL)
	if code != 0 || !strings.Contains(out, "catalog: the server's at "+srv.URL) || !strings.Contains(out, "closed-won.yaml: ok (flow closed-won-to-project, poll trigger, 1 step)") {
		t.Fatalf("--server: exit %d\n%s", code, out)
	}
	// The server's verdict on a broken flow, with its position.
	bad := t.TempDir() + "/bad.yaml"
	src, _ := os.ReadFile(flowFile)
	if err := os.WriteFile(bad, []byte(strings.Replace(string(src), "chat.postMessage", "chat.postMesage", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code = cli("flow", "validate", bad, "--server", srv.URL)
	if code == 0 || !strings.Contains(out, `unknown operation "chat.postMesage" (did you mean "chat.postMessage"?)`) {
		t.Fatalf("--server, broken flow: exit %d\n%s", code, out)
	}
	t.Setenv("WEFT_API_TOKEN", "wrong")
	if out, code = cli("flow", "validate", flowFile, "--server", srv.URL); code == 0 || !strings.Contains(out, "unauthorized") && !strings.Contains(out, "token") {
		t.Fatalf("--server, wrong token: exit %d\n%s", code, out)
	}
}

// F30 (CLI part): human output never shows Go syntax (map[...], [a b],
// %!v), whatever shape the server's JSON fields have.
func TestIssue16_F30_CLIOutputHasNoGoSyntax(t *testing.T) {
	nested := func() any { return map[string]any{"auth.token": "set", "deep": map[string]any{"x": []any{1.0, "y"}}} }
	listy := []string{"runs", "flows", "connections", "connectors", "hits", "items", "keys", "toolsets", "alerts", "mappings", "steps",
		"rejected", "operations", "unmatched_required", "sources", "scopes", "explanation", "questions"}
	obj := func(withLists bool) map[string]any {
		m := map[string]any{}
		for _, k := range []string{"name", "version", "trigger", "active", "file", "source", "active_version", "run_id", "status", "id",
			"flow", "trigger_kind", "error_code", "failed_step", "error_message", "connector", "credentials", "key", "secret", "source_kind",
			"title", "imported", "description", "operation", "reason", "target", "expr", "confidence", "step_key", "kind", "attempt",
			"input_size", "output_size", "created_at", "updated_at", "latest_version", "path", "tools", "rate_per_min", "revoked_at",
			"severity", "started_at", "acked_by", "message", "accepted", "proposed", "report", "run"} {
			m[k] = nested()
		}
		m["score"] = 0.5
		if withLists {
			for _, k := range listy {
				m[k] = []any{obj0(), nested(), "plain", 3.0}
			}
		}
		return m
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(obj(true))
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	file := dir + "/f.yaml"
	if err := os.WriteFile(file, []byte("name: x\nsteps:\n  - set: {a: 1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"flow", "deploy", file}, {"flow", "list"}, {"flow", "show", "x"}, {"flow", "rollback", "x", "1"},
		{"runs", "list"}, {"runs", "show", "x"}, {"runs", "replay", "x"}, {"dlq", "list"},
		{"connector", "list"}, {"connector", "show", "x"}, {"connector", "search", "q"}, {"connector", "import", file, "--name", "n"},
		{"connection", "list"}, {"connection", "show", "x"}, {"connection", "set", "x", "--file", file},
		{"mcp", "toolsets"}, {"mcp", "keys", "list"}, {"mcp", "keys", "create", "n", "--scopes", "a"},
		{"map", "list"}, {"map", "show", "x"}, {"alerts", "list"}, {"nl2flow", "do something"},
	} {
		var out, errOut bytes.Buffer
		run(append(args, "--server", srv.URL), &out, &errOut)
		for _, bad := range []string{"map[", "%!", "interface {}", "[plain", "[1 y]"} {
			if strings.Contains(out.String(), bad) {
				t.Errorf("weft %s prints Go syntax %q:\n%s", strings.Join(args, " "), bad, out.String())
			}
		}
	}
}

func obj0() map[string]any {
	return map[string]any{"name": map[string]any{"a": 1.0}, "id": []any{"p", "q"}, "credentials": map[string]any{"auth.token": "set"},
		"operation": map[string]any{"z": 1.0}, "reason": []any{"r", map[string]any{"s": 1.0}}, "target": "t", "sources": []any{"a", 2.0}}
}
