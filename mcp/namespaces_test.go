package mcp_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/mcp"
	"github.com/weftio/weft/store"
)

// Every /mcp call is authorized with access.Authorize(principal, mcp.use,
// the toolset's namespace): an MCP key is an agent of its own namespace
// only; a user's or service account's token may call where its role has
// mcp.use (agent, admin), and a viewer may not.
func TestMCPByNamespace(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	st := e.Store()
	if err := st.CreateNamespace(ctx, store.Namespace{Name: "team-b"}); err != nil {
		t.Fatal(err)
	}
	dir := access.NewDirectory(st.(store.Identities))
	auth, err := mcp.NewAuth(st, mcp.AuthConfig{Mode: mcp.AuthKeys, Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Auth: auth,
		Toolsets: []mcp.Toolset{{Name: "sales", Tools: []string{"*"}}, {Name: "b-tools", Namespace: "team-b", Tools: []string{"*"}}}}))
	defer srv.Close()
	ping := func(path, token string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
	}
	_, bKey, err := mcp.CreateKeyIn(ctx, st, "team-b", "b-agent", []string{"*"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, dKey, err := mcp.CreateKey(ctx, st, "d-agent", []string{"*"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	pw := "a long password for tests"
	pat := func(name, role, ns string) string {
		if _, err := dir.CreateUser(ctx, name, pw, role, ns); err != nil {
			t.Fatal(err)
		}
		p, err := dir.SignIn(ctx, name, pw)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := dir.CreatePAT(ctx, p, access.NewTokenRequest{Name: "mcp"})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Secret
	}
	bAgent, bViewer, bAdmin := pat("b-agent", access.RoleAgent, "team-b"), pat("b-viewer", access.RoleViewer, "team-b"), pat("b-admin", access.RoleAdmin, "team-b")
	sa, err := dir.CreateServiceAccount(ctx, access.NewTokenRequest{Name: "bot", Scopes: map[string]string{"team-b": access.RoleAgent}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who, path, token string
		want             int
	}{
		{"team-b's key", "/mcp/b-tools", bKey, 200},
		{"team-b's key", "/mcp/sales", bKey, 403}, // scopes "*": still only its namespace's toolsets
		{"team-b's key", "/mcp", bKey, 403},       // the built-in toolsets are the default namespace's
		{"default's key", "/mcp/sales", dKey, 200},
		{"default's key", "/mcp", dKey, 200},
		{"default's key", "/mcp/b-tools", dKey, 403},
		{"team-b agent PAT", "/mcp/b-tools", bAgent, 200},
		{"team-b agent PAT", "/mcp/sales", bAgent, 403},
		{"team-b admin PAT", "/mcp/b-tools", bAdmin, 200},
		{"team-b viewer PAT", "/mcp/b-tools", bViewer, 403},
		{"team-b agent service account", "/mcp/b-tools", sa.Secret, 200},
		{"team-b agent service account", "/mcp/sales", sa.Secret, 403},
		{"a made-up PAT", "/mcp/b-tools", access.PATPrefix + "nope", 401},
		{"an oversized PAT", "/mcp/b-tools", access.PATPrefix + strings.Repeat("A", 4096), 401},
	} {
		if got, chal := ping(c.path, c.token); got != c.want {
			t.Errorf("%s on %s: %d (%s), want %d", c.who, c.path, got, chal, c.want)
		}
	}
	// A disabled user's token stops at once.
	if err := dir.DisableUser(ctx, "b-agent"); err != nil {
		t.Fatal(err)
	}
	if got, _ := ping("/mcp/b-tools", bAgent); got != 401 {
		t.Errorf("disabled user's PAT: %d", got)
	}
}

// A toolset serves only its namespace's flows and connections.
func TestToolsetServesItsNamespace(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	if err := e.Store().CreateNamespace(ctx, store.Namespace{Name: "team-b"}); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"default", "team-b"} {
		src := "name: f-" + ns + "\nnamespace: " + ns + "\ntrigger: {manual: {}}\nsteps:\n  - set: {ok: true}\n"
		if _, _, err := e.Deploy(ctx, "f.yaml", []byte(src)); err != nil {
			t.Fatal(err)
		}
	}
	gw := mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Toolsets: []mcp.Toolset{{Name: "b", Namespace: "team-b", Flows: []string{"*"}}}})
	gw.Refresh(ctx)
	names := func(ts string) string {
		tools, ok := gw.ToolsetTools(ts)
		if !ok {
			t.Fatalf("no toolset %s", ts)
		}
		var out []string
		for _, t := range tools {
			out = append(out, t.Name)
		}
		return strings.Join(out, ",")
	}
	if got := names("b"); !strings.Contains(got, "flow__f-team-b") && !strings.Contains(got, "flow__f_team_b") || strings.Contains(got, "default") {
		t.Errorf("team-b's toolset: %s", got)
	}
	if got := names(mcp.ToolsetAll); strings.Contains(got, "team") || !strings.Contains(got, "default") {
		t.Errorf("the all toolset (default namespace): %s", got)
	}
	if ns, ok := gw.ToolsetNamespace("b"); !ok || ns != "team-b" {
		t.Errorf("namespace of b: %q %v", ns, ok)
	}
}

// In auto mode /mcp is open only while nothing needs credentials: a local
// user closes it, as it closes /api.
func TestMCPClosesWithTheFirstUser(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	dir := access.NewDirectory(e.Store().(store.Identities))
	auth, _ := mcp.NewAuth(e.Store(), mcp.AuthConfig{Directory: dir})
	srv := httptest.NewServer(mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Auth: auth}))
	defer srv.Close()
	ping := func() int {
		req, _ := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := ping(); got != 200 {
		t.Fatalf("fresh install: %d", got)
	}
	if _, err := dir.CreateUser(ctx, "ada", "a long password for tests", access.RoleAdmin, access.AllNamespaces); err != nil {
		t.Fatal(err)
	}
	auth.Forget()
	if got := ping(); got != 401 {
		t.Fatalf("after the first user: %d", got)
	}
}
