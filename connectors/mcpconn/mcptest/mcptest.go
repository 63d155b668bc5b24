// Package mcptest is a small MCP server built with the official Go SDK,
// for tests of MCP federation: over Streamable HTTP (Handler) and over
// stdio (a test binary re-executing itself: MaybeRunStdio in TestMain).
//
// Tools: echo {text} (structured {text}), add {a, b}, fail (an isError
// result), crash (the process exits: stdio), hang (blocks until the call
// is cancelled), big {bytes} (a text result of that size), evolve (echo
// then requires lang: schema drift, announced with list_changed), and
// count (how many calls this process has served), reserve {sku} (fails
// with a tool error while Outage is set), getenv {name} (whether the
// server's environment has it), slow {steps} (progress notifications);
// one resource, mem://readme.
package mcptest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// HelperEnv, set in a test binary's environment, makes MaybeRunStdio serve
// MCP over stdin/stdout and exit.
const HelperEnv = "WEFT_MCPTEST_STDIO"

// StartDelayEnv, a duration set beside HelperEnv, makes the stdio server
// wait that long before it reads its input (a slow starter: npx fetching
// a package, a JVM).
const StartDelayEnv = "WEFT_MCPTEST_START_DELAY"

// BrowserEnv, set in a test binary's environment, makes MaybeRunStdio act
// as a browser whose user approves an OAuth authorization: it follows the
// URL given as its last argument (for $BROWSER of weft connector add-mcp
// --oauth) and exits.
const BrowserEnv = "WEFT_MCPTEST_BROWSER"

// MaybeRunStdio serves over stdio and exits when HelperEnv is set (or acts
// as a browser when BrowserEnv is); call it first in TestMain.
func MaybeRunStdio() {
	if os.Getenv(BrowserEnv) != "" && len(os.Args) > 1 {
		// A browser whose user approves: follow the authorization URL
		// (the last argument) through its redirects.
		resp, err := http.Get(os.Args[len(os.Args)-1])
		if err != nil {
			os.Exit(3)
		}
		resp.Body.Close()
		os.Exit(0)
	}
	if os.Getenv(HelperEnv) == "" {
		return
	}
	if d, err := time.ParseDuration(os.Getenv(StartDelayEnv)); err == nil && d > 0 {
		time.Sleep(min(d, time.Minute))
	}
	err := NewServer().Run(context.Background(), &sdk.StdioTransport{})
	if err != nil && !strings.Contains(err.Error(), "EOF") {
		os.Exit(2)
	}
	os.Exit(0)
}

// Command is the argv that starts this test binary as a stdio MCP server
// (with HelperEnv in its environment: see Env).
func Command() []string { return []string{os.Args[0], "-test.run=^$"} }

// Env is the environment entry that makes the test binary a server.
func Env() []string { return []string{HelperEnv + "=1"} }

// Outage makes reserve fail (in the process serving it).
var Outage atomic.Bool

// Handler serves a fresh server over Streamable HTTP.
func Handler() http.Handler {
	s := NewServer()
	return sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil)
}

func obj(required []string, props map[string]any) map[string]any {
	return map[string]any{"type": "object", "required": required, "properties": props}
}

func text(s string) *sdk.CallToolResult {
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: s}}}
}

// NewServer returns the test server.
func NewServer() *sdk.Server {
	s := sdk.NewServer(&sdk.Implementation{Name: "mcptest", Version: "1.0.0"}, nil)
	var calls atomic.Int64
	args := func(req *sdk.CallToolRequest) map[string]any {
		calls.Add(1)
		var m map[string]any
		_ = json.Unmarshal(req.Params.Arguments, &m)
		return m
	}
	echoTool := &sdk.Tool{Name: "echo", Description: "Echo the text back.", InputSchema: obj([]string{"text"}, map[string]any{"text": map[string]any{"type": "string"}}),
		OutputSchema: obj([]string{"text"}, map[string]any{"text": map[string]any{"type": "string"}}),
		Annotations:  &sdk.ToolAnnotations{ReadOnlyHint: true}}
	echo := func(_ context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		a := args(req)
		t, _ := a["text"].(string)
		r := text(t)
		r.StructuredContent = map[string]any{"text": t}
		return r, nil
	}
	s.AddTool(echoTool, echo)
	s.AddTool(&sdk.Tool{Name: "add", Description: "Add two numbers.", InputSchema: obj([]string{"a", "b"}, map[string]any{"a": map[string]any{"type": "number"}, "b": map[string]any{"type": "number"}}),
		Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true}},
		func(_ context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			a := args(req)
			x, _ := a["a"].(float64)
			y, _ := a["b"].(float64)
			r := text("sum")
			r.StructuredContent = map[string]any{"sum": x + y}
			return r, nil
		})
	s.AddTool(&sdk.Tool{Name: "fail", Description: "Always fails with a tool error.", InputSchema: obj(nil, map[string]any{"why": map[string]any{"type": "string"}})},
		func(_ context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			a := args(req)
			why, _ := a["why"].(string)
			r := text("refused: " + why)
			r.IsError = true
			return r, nil
		})
	s.AddTool(&sdk.Tool{Name: "crash", Description: "Exit the server process.", InputSchema: obj(nil, nil)},
		func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			os.Stderr.WriteString("mcptest: crashing on request\n")
			os.Exit(3)
			return nil, nil
		})
	s.AddTool(&sdk.Tool{Name: "hang", Description: "Never answer.", InputSchema: obj(nil, nil)},
		func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			args(req)
			<-ctx.Done()
			return nil, ctx.Err()
		})
	s.AddTool(&sdk.Tool{Name: "big", Description: "Return a text of the given size.", InputSchema: obj([]string{"bytes"}, map[string]any{"bytes": map[string]any{"type": "integer"}})},
		func(_ context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			a := args(req)
			n, _ := a["bytes"].(float64)
			return text(strings.Repeat("x", int(n))), nil
		})
	s.AddTool(&sdk.Tool{Name: "count", Description: "How many calls this server process has served.", InputSchema: obj(nil, nil)},
		func(_ context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			n := calls.Add(1)
			r := text("calls")
			r.StructuredContent = map[string]any{"calls": n}
			return r, nil
		})
	s.AddTool(&sdk.Tool{Name: "reserve", Description: "Reserve stock of a SKU.", InputSchema: obj([]string{"sku"}, map[string]any{"sku": map[string]any{"type": "string"}}),
		OutputSchema: obj([]string{"sku", "reserved"}, map[string]any{"sku": map[string]any{"type": "string"}, "reserved": map[string]any{"type": "boolean"}})},
		func(_ context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			a := args(req)
			if Outage.Load() {
				r := text("warehouse offline")
				r.IsError = true
				return r, nil
			}
			sku, _ := a["sku"].(string)
			r := text("reserved " + sku)
			r.StructuredContent = map[string]any{"sku": sku, "reserved": true}
			return r, nil
		})
	s.AddTool(&sdk.Tool{Name: "getenv", Description: "Whether an environment variable is set in the server process.", InputSchema: obj([]string{"name"}, map[string]any{"name": map[string]any{"type": "string"}})},
		func(_ context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			a := args(req)
			name, _ := a["name"].(string)
			_, ok := os.LookupEnv(name)
			r := text("env")
			r.StructuredContent = map[string]any{"set": ok}
			return r, nil
		})
	s.AddTool(&sdk.Tool{Name: "slow", Description: "Report progress in steps, then answer.", InputSchema: obj([]string{"steps"}, map[string]any{"steps": map[string]any{"type": "integer"}})},
		func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			a := args(req)
			n, _ := a["steps"].(float64)
			tok := req.Params.GetProgressToken()
			for i := 1; i <= int(n); i++ {
				if tok != nil {
					_ = req.Session.NotifyProgress(ctx, &sdk.ProgressNotificationParams{ProgressToken: tok, Progress: float64(i), Total: n, Message: "step"})
				}
				time.Sleep(20 * time.Millisecond)
			}
			r := text("done")
			r.StructuredContent = map[string]any{"steps": n}
			return r, nil
		})
	s.AddTool(&sdk.Tool{Name: "evolve", Description: "Change echo's input schema incompatibly (it then requires lang).", InputSchema: obj(nil, nil)},
		func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			t := *echoTool
			t.InputSchema = obj([]string{"text", "lang"}, map[string]any{"text": map[string]any{"type": "string"}, "lang": map[string]any{"type": "string"}})
			s.AddTool(&t, func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				a := args(req)
				if _, ok := a["lang"].(string); !ok {
					r := text("lang is required")
					r.IsError = true
					return r, nil
				}
				return echo(ctx, req)
			})
			return text("evolved"), nil
		})
	s.AddResource(&sdk.Resource{URI: "mem://readme", Name: "readme", Description: "What this server is.", MIMEType: "text/plain"},
		func(_ context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
			return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{URI: req.Params.URI, MIMEType: "text/plain", Text: "mcptest: a server for federation tests"}}}, nil
		})
	return s
}
