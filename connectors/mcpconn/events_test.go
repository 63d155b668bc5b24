package mcpconn_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/mcpconn"
	"github.com/weftio/weft/connectors/mcpconn/mcptest"
)

// What an upstream pushes besides its tools reaches the federation: its
// prompts and resources changed, and updates of subscribed resources
// (renewed after the session is lost); its resource templates are listed.
func TestUpstreamEventsSubscriptionsTemplates(t *testing.T) {
	var subMu sync.Mutex
	subs := map[string]int{}
	s := sdk.NewServer(&sdk.Implementation{Name: "evt", Version: "1"}, &sdk.ServerOptions{
		SubscribeHandler: func(_ context.Context, r *sdk.SubscribeRequest) error {
			subMu.Lock()
			subs[r.Params.URI]++
			subMu.Unlock()
			return nil
		},
		UnsubscribeHandler: func(_ context.Context, r *sdk.UnsubscribeRequest) error {
			subMu.Lock()
			subs[r.Params.URI] = -1
			subMu.Unlock()
			return nil
		},
	})
	read := func(_ context.Context, r *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
		return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{URI: r.Params.URI, Text: "doc " + r.Params.URI}}}, nil
	}
	s.AddResource(&sdk.Resource{URI: "mem://a", Name: "a"}, read)
	s.AddResourceTemplate(&sdk.ResourceTemplate{URITemplate: "mem://docs/{id}", Name: "doc", Description: "a doc by id"}, read)
	s.AddPrompt(&sdk.Prompt{Name: "p1"}, func(context.Context, *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
		return &sdk.GetPromptResult{}, nil
	})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil)
	var killMu sync.Mutex
	var lastID string
	killed := map[string]bool{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("Mcp-Session-Id")
		killMu.Lock()
		dead := killed[id]
		if id != "" {
			lastID = id
		}
		killMu.Unlock()
		if dead {
			http.Error(w, "session not found", http.StatusNotFound)
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer hs.Close()

	events := make(chan mcpconn.Event, 16)
	cat := connectors.NewCatalog()
	fed := mcpconn.NewFederation(cat, mcpconn.Options{HealthInterval: -1})
	defer fed.Close()
	fed.OnEvent(func(conn string, e mcpconn.Event) {
		if conn == "ev" {
			events <- e
		}
	})
	ctx := context.Background()
	if _, err := fed.Add(ctx, "ev", mcpconn.Spec{URL: hs.URL, AllowPrivate: true}, nil); err != nil {
		t.Fatal(err)
	}
	up, _ := fed.Upstream("ev")
	tpl, err := up.ListResourceTemplates(ctx)
	if err != nil || len(tpl) != 1 || tpl[0].URITemplate != "mem://docs/{id}" || tpl[0].Description != "a doc by id" {
		t.Fatalf("templates: %v %+v", err, tpl)
	}
	if c, err := up.ReadResource(ctx, "mem://docs/7"); err != nil || len(c) != 1 || c[0].Text != "doc mem://docs/7" {
		t.Fatalf("a templated resource: %v %+v", err, c)
	}
	wait := func(kind, uri string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case e := <-events:
				if e.Kind == kind && e.URI == uri {
					return
				}
			case <-deadline:
				t.Fatalf("no %s %s from the upstream", kind, uri)
			}
		}
	}
	s.AddPrompt(&sdk.Prompt{Name: "p2"}, func(context.Context, *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
		return &sdk.GetPromptResult{}, nil
	})
	wait(mcpconn.EventPromptsChanged, "")
	s.AddResource(&sdk.Resource{URI: "mem://b", Name: "b"}, read)
	wait(mcpconn.EventResourcesChanged, "")

	if err := up.Subscribe(ctx, "mem://a"); err != nil {
		t.Fatal(err)
	}
	if err := s.ResourceUpdated(ctx, &sdk.ResourceUpdatedNotificationParams{URI: "mem://a"}); err != nil {
		t.Fatal(err)
	}
	wait(mcpconn.EventResourceUpdated, "mem://a")
	if err := up.Unsubscribe(ctx, "mem://a"); err != nil {
		t.Fatal(err)
	}
	subMu.Lock()
	if subs["mem://a"] != -1 {
		t.Fatalf("not unsubscribed upstream: %v", subs)
	}
	subMu.Unlock()
	// A lost session: the next one subscribes again.
	if err := up.Subscribe(ctx, "mem://b"); err != nil {
		t.Fatal(err)
	}
	killMu.Lock()
	killed[lastID] = true // the server forgets the session
	killMu.Unlock()
	hs.CloseClientConnections()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, _ = up.ReadResource(ctx, "mem://a") // fails on the lost session, then reconnects
		subMu.Lock()
		n := subs["mem://b"]
		subMu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the subscription was not renewed on a new session (%d subscribes)", n)
		}
	}
	// An upstream without subscriptions says so.
	plain := sdk.NewServer(&sdk.Implementation{Name: "plain", Version: "1"}, nil)
	plain.AddResource(&sdk.Resource{URI: "mem://x", Name: "x"}, read)
	ps := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return plain }, nil))
	defer ps.Close()
	pu := mcpconn.New("plain", mcpconn.Spec{URL: ps.URL, AllowPrivate: true}, mcpconn.Options{})
	defer pu.Close()
	if err := pu.Subscribe(ctx, "mem://x"); err == nil {
		t.Fatal("subscribed to an upstream that offers no subscriptions")
	}
}

// A text result converted without a JSON round trip has the shape of the
// general path's ({text, content}), and its size is checked against the
// limit even when the message fits the transport's bound.
func TestTextResultShapeAndLimit(t *testing.T) {
	u, _ := httpUp(t, mcptest.Handler(), mcpconn.Options{MaxResultBytes: 1000})
	out, err := u.Call(context.Background(), "big", map[string]any{"bytes": 10})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := out.(map[string]any)
	content, _ := m["content"].([]map[string]any)
	if m["text"] != strings.Repeat("x", 10) || len(content) != 1 || content[0]["type"] != "text" || content[0]["text"] != m["text"] {
		t.Fatalf("text result: %#v", out)
	}
	if _, err := u.Call(context.Background(), "big", map[string]any{"bytes": 2000}); err == nil || !strings.Contains(err.Error(), "over the limit of 1000 bytes") {
		t.Fatalf("a 2000-byte text against a 1000-byte limit: %v", err)
	}
}

// A tool's schemas reach Weft whole: keywords mcp-go's Tool type does not
// keep (a top-level anyOf, description, $schema, an output schema's
// extras) are read from the listing as sent, as are the annotations.
func TestToolSchemasArriveWhole(t *testing.T) {
	s := sdk.NewServer(&sdk.Implementation{Name: "schemas", Version: "1"}, nil)
	in := map[string]any{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "description": "an order",
		"properties": map[string]any{"id": map[string]any{"type": "string"}, "sku": map[string]any{"type": "string"}},
		"anyOf":      []any{map[string]any{"required": []any{"id"}}, map[string]any{"required": []any{"sku"}}}, "additionalProperties": false}
	out := map[string]any{"type": "object", "title": "result", "properties": map[string]any{"ok": map[string]any{"type": "boolean"}}, "minProperties": 1}
	ro := true
	s.AddTool(&sdk.Tool{Name: "order.get", Title: "Get order", InputSchema: in, OutputSchema: out, Annotations: &sdk.ToolAnnotations{ReadOnlyHint: ro}},
		func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			return &sdk.CallToolResult{}, nil
		})
	u, _ := httpUp(t, sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil), mcpconn.Options{HealthInterval: -1})
	tools, err := u.ListTools(context.Background())
	if err != nil || len(tools) != 1 {
		t.Fatalf("%v %+v", err, tools)
	}
	x := tools[0]
	anyOf, _ := x.Input["anyOf"].([]any)
	if x.Name != "order.get" || x.Op != "order_get" || x.Title != "Get order" || x.Input["description"] != "an order" || len(anyOf) != 2 ||
		x.Input["$schema"] == nil || x.Input["additionalProperties"] != false {
		t.Fatalf("input schema not whole: %+v", x)
	}
	if x.Output["title"] != "result" || x.Output["minProperties"] != float64(1) {
		t.Fatalf("output schema not whole: %+v", x.Output)
	}
	if !x.Hints.ReadOnly || x.Hints.Destructive || !x.Hints.OpenWorld {
		t.Fatalf("hints: %+v", x.Hints)
	}
}
