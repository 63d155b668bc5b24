package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The prompts of a federated MCP server (the reference server-everything,
// over stdio) are served by the gateway as <connector>__<prompt>, render
// as the upstream renders them, and follow the caller's key like the
// connector's tools do.
func TestMCPFederationPromptsEverything(t *testing.T) {
	node, index := everything(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "weft.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("mcp:\n  upstreams:\n    commands: [%q]\n", node)), 0o600)
	srv := startServer(t, fmt.Sprintf("127.0.0.1:%d", freePort(t)), []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data")}, "--config", cfg)
	cli := func(args ...string) string {
		t.Helper()
		out, err := srv.cli(args...)
		if err != nil {
			t.Fatalf("weft %s: %v\n%s\n%s", strings.Join(args, " "), err, out, srv.logs())
		}
		return out
	}
	cli("connector", "add-mcp", "evs", "--command", node+" "+index+" stdio")
	keyOf := func(out string) string {
		return strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	}
	all := keyOf(cli("mcp", "keys", "create", "all", "--scopes", "all"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	viaWeft := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{all}}}, nil)
	direct := connect(t, ctx, &sdk.CommandTransport{Command: exec.Command(node, index, "stdio")}, nil)

	want, err := direct.ListPrompts(ctx, nil)
	if err != nil || len(want.Prompts) == 0 {
		t.Fatalf("server-everything lists no prompts: %v", err)
	}
	var got map[string]*sdk.Prompt
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		got = map[string]*sdk.Prompt{}
		res, err := viaWeft.ListPrompts(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range res.Prompts {
			got[p.Name] = p
		}
		if len(got) >= len(want.Prompts) && got["evs__"+want.Prompts[0].Name] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway lists %d prompts, none of evs's %d\n%s", len(got), len(want.Prompts), srv.logs())
		}
	}
	rendered := 0
	for _, p := range want.Prompts {
		fp := got["evs__"+p.Name]
		if fp == nil || fp.Description != p.Description || len(fp.Arguments) != len(p.Arguments) {
			t.Fatalf("prompt %s through the gateway: %+v (upstream %+v)", p.Name, fp, p)
		}
		args := map[string]string{}
		for _, a := range p.Arguments {
			if a.Required {
				args[a.Name] = "1"
			}
		}
		d, err := direct.GetPrompt(ctx, &sdk.GetPromptParams{Name: p.Name, Arguments: args})
		if err != nil {
			continue // a prompt whose arguments "1" does not satisfy is not compared
		}
		w, err := viaWeft.GetPrompt(ctx, &sdk.GetPromptParams{Name: "evs__" + p.Name, Arguments: args})
		if err != nil {
			t.Fatalf("prompts/get evs__%s: %v", p.Name, err)
		}
		db, _ := json.Marshal(d.Messages)
		wb, _ := json.Marshal(w.Messages)
		if string(db) != string(wb) {
			t.Fatalf("prompt %s renders differently through the gateway:\n%s\n%s", p.Name, wb, db)
		}
		rendered++
	}
	t.Logf("%d prompts listed through the gateway, %d rendered and compared with the upstream's own", len(want.Prompts), rendered)
	if rendered == 0 {
		t.Fatal("no prompt could be rendered to compare")
	}

	// A key limited to other tools sees none of evs's prompts, and cannot get one.
	other := keyOf(cli("mcp", "keys", "create", "other", "--scopes", "all,tool:flow__*"))
	limited := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{other}}}, nil)
	res, err := limited.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Prompts {
		if strings.HasPrefix(p.Name, "evs__") {
			t.Fatalf("a key without evs's tools lists %s", p.Name)
		}
	}
	if _, err := limited.GetPrompt(ctx, &sdk.GetPromptParams{Name: "evs__" + want.Prompts[0].Name}); err == nil {
		t.Fatal("a key without evs's tools got one of its prompts")
	}
}

// The resources of a federated MCP server are in the gateway's
// resources/list, named like its tools, and read as the upstream reads
// them; a key without the connector's tools neither lists nor reads them.
func TestMCPFederationResourcesEverything(t *testing.T) {
	node, index := everything(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "weft.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("mcp:\n  upstreams:\n    commands: [%q]\n", node)), 0o600)
	srv := startServer(t, fmt.Sprintf("127.0.0.1:%d", freePort(t)), []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data")}, "--config", cfg)
	cli := func(args ...string) string {
		t.Helper()
		out, err := srv.cli(args...)
		if err != nil {
			t.Fatalf("weft %s: %v\n%s\n%s", strings.Join(args, " "), err, out, srv.logs())
		}
		return out
	}
	cli("connector", "add-mcp", "evs", "--command", node+" "+index+" stdio")
	keyOf := func(out string) string {
		return strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	}
	all := keyOf(cli("mcp", "keys", "create", "all", "--scopes", "all"))
	other := keyOf(cli("mcp", "keys", "create", "other", "--scopes", "all,tool:flow__*"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	viaWeft := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{all}}}, nil)
	limited := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{other}}}, nil)
	direct := connect(t, ctx, &sdk.CommandTransport{Command: exec.Command(node, index, "stdio")}, nil)

	up, err := direct.ListResources(ctx, nil)
	if err != nil || len(up.Resources) == 0 {
		t.Fatalf("server-everything lists no resources: %v", err)
	}
	first := up.Resources[0]
	var fed *sdk.Resource
	for deadline := time.Now().Add(30 * time.Second); fed == nil; time.Sleep(300 * time.Millisecond) {
		for r, err := range viaWeft.Resources(ctx, nil) {
			if err != nil {
				t.Fatal(err)
			}
			if r.URI == "weft://mcp/evs/resource?uri="+url.QueryEscape(first.URI) {
				fed = r
			}
		}
		if fed == nil && time.Now().After(deadline) {
			t.Fatalf("the gateway does not list %s\n%s", first.URI, srv.logs())
		}
	}
	if !strings.HasPrefix(fed.Name, "evs__") || fed.MIMEType != first.MIMEType {
		t.Fatalf("federated resource %+v (upstream %+v)", fed, first)
	}
	d, err := direct.ReadResource(ctx, &sdk.ReadResourceParams{URI: first.URI})
	if err != nil {
		t.Fatal(err)
	}
	w, err := viaWeft.ReadResource(ctx, &sdk.ReadResourceParams{URI: fed.URI})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Contents) != len(d.Contents) || w.Contents[0].Text != d.Contents[0].Text || string(w.Contents[0].Blob) != string(d.Contents[0].Blob) {
		t.Fatalf("read through the gateway: %+v\nupstream: %+v", w.Contents, d.Contents)
	}
	for r, err := range limited.Resources(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(r.URI, "weft://mcp/evs/") {
			t.Fatalf("a key without evs's tools lists %s", r.URI)
		}
	}
	if _, err := limited.ReadResource(ctx, &sdk.ReadResourceParams{URI: fed.URI}); err == nil {
		t.Fatal("a key without evs's tools read one of its resources")
	}
}
