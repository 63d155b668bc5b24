package mcp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The conformance toolset serves the fixture profile the official MCP
// conformance suite (@modelcontextprotocol/conformance) expects, at
// /mcp/conformance. It is built in and separate: production toolsets never
// include these tools.

// A 1x1 PNG and a tiny WAV, base64.
const (
	fixturePNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
	fixtureWAV = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA="
)

func (g *Gateway) newConformance() *served {
	d := Toolset{Name: ToolsetConformance, Description: "MCP conformance suite fixtures (testing only)"}
	s := &served{def: d, tools: map[string]*toolDef{}, fixture: true}
	s.srv = server.NewMCPServer("weft-conformance", g.cfg.Version,
		server.WithToolCapabilities(true),
		server.WithResourceCapabilities(true, true),
		server.WithPromptCapabilities(true),
		server.WithCompletions(),
		server.WithLogging(),
		server.WithRecovery(),
		server.WithExtensions(map[string]any{TasksExtension: map[string]any{}}),
	)
	s.srv.EnableSampling()
	fx := &fixture{srv: s.srv, key: make([]byte, 32), tasks: newMemTasks(1000, time.Hour)}
	_, _ = rand.Read(fx.key)
	fx.tools()
	fx.taskTools()
	fx.resources()
	fx.prompts()
	// An event store makes legacy-era streams resumable, and with it the
	// last notifications before a result are never dropped (without one,
	// mcp-go v1.2.1 can lose a notification sent just before the result).
	s.http = server.NewStreamableHTTPServer(s.srv, server.WithEndpointPath(endpoint(d.Name)), server.WithStreamableHTTPLogger(g.log),
		server.WithEventStore(server.NewInMemoryEventStore()), server.WithSessionIdManager(newSessionIDs()))
	s.handler = capabilityGate(tasksHandler(func(*http.Request) taskSource { return fx.tasks }, 4<<20, s.http))
	return s
}

// capabilityGate answers the suite's test_missing_capability probe: a
// 2026-07-28 tools/call of it without the sampling capability declared in
// _meta gets MissingRequiredClientCapabilityError (-32021, HTTP 400) naming
// the capability. mcp-go maps handler errors to -32603, so the fixture
// answers at the transport.
func capabilityGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var msg struct {
			ID     any    `json:"id"`
			Method string `json:"method"`
			Params struct {
				Name string         `json:"name"`
				Meta map[string]any `json:"_meta"`
			} `json:"params"`
		}
		if json.Unmarshal(body, &msg) == nil && msg.Method == "tools/call" && taskRequired[msg.Params.Name] && msg.Params.Meta != nil {
			if _, modern := msg.Params.Meta[mcpgo.MetaKeyProtocolVersion]; modern {
				caps, _ := msg.Params.Meta["io.modelcontextprotocol/clientCapabilities"].(map[string]any)
				ext, _ := caps["extensions"].(map[string]any)
				if ext[TasksExtension] == nil {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": msg.ID, "error": missingTasksCapability()})
					return
				}
			}
		}
		if msg.Method == "tools/call" && msg.Params.Name == "test_missing_capability" && msg.Params.Meta != nil {
			if _, modern := msg.Params.Meta[mcpgo.MetaKeyProtocolVersion]; modern {
				caps, _ := msg.Params.Meta["io.modelcontextprotocol/clientCapabilities"].(map[string]any)
				if caps["sampling"] == nil {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": msg.ID, "error": map[string]any{
						"code": -32021, "message": "missing required client capability: sampling",
						"data": map[string]any{"requiredCapabilities": map[string]any{"sampling": map[string]any{}}}}})
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

type fixture struct {
	srv   *server.MCPServer
	key   []byte // signs requestState
	tasks *memTasks
}

// settle gives mcp-go's per-request notification forwarder time to write
// what was just queued: in v1.2.1 a notification taken off the queue after
// the handler returned is dropped from the live stream.
func settle() { time.Sleep(30 * time.Millisecond) }

func text(s string) *mcpgo.CallToolResult { return mcpgo.NewToolResultText(s) }

func noArgs(name, desc string) mcpgo.Tool {
	return mcpgo.NewTool(name, mcpgo.WithDescription(desc))
}

func (f *fixture) sign(state string) string {
	m := hmac.New(sha256.New, f.key)
	m.Write([]byte(state))
	return state + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (f *fixture) verify(signed string) (string, bool) {
	i := strings.LastIndexByte(signed, '.')
	if i < 0 {
		return "", false
	}
	state := signed[:i]
	return state, hmac.Equal([]byte(f.sign(state)), []byte(signed))
}

var nameSchema = map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}, "required": []any{"name"}}

func (f *fixture) tools() {
	s := f.srv
	s.AddTool(noArgs("test_simple_text", "Returns a simple text response"), func(context.Context, mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		return text("This is a simple text response for testing."), nil
	})
	s.AddTool(noArgs("test_image_content", "Returns an image"), func(context.Context, mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		return &mcpgo.CallToolResult{Content: []mcpgo.Content{mcpgo.NewImageContent(fixturePNG, "image/png")}}, nil
	})
	s.AddTool(noArgs("test_audio_content", "Returns audio"), func(context.Context, mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		return &mcpgo.CallToolResult{Content: []mcpgo.Content{mcpgo.NewAudioContent(fixtureWAV, "audio/wav")}}, nil
	})
	embedded := mcpgo.NewEmbeddedResource(mcpgo.TextResourceContents{URI: "test://embedded-resource", MIMEType: "text/plain", Text: "This is an embedded resource content."})
	s.AddTool(noArgs("test_embedded_resource", "Returns an embedded resource"), func(context.Context, mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		return &mcpgo.CallToolResult{Content: []mcpgo.Content{embedded}}, nil
	})
	s.AddTool(noArgs("test_multiple_content_types", "Returns text, an image and a resource"), func(context.Context, mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		return &mcpgo.CallToolResult{Content: []mcpgo.Content{mcpgo.NewTextContent("Multiple content types test:"), mcpgo.NewImageContent(fixturePNG, "image/png"),
			mcpgo.NewEmbeddedResource(mcpgo.TextResourceContents{URI: "test://mixed-content-resource", MIMEType: "application/json", Text: `{"test":"data","value":123}`})}}, nil
	})
	s.AddTool(noArgs("test_error_handling", "Always fails"), func(context.Context, mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		return mcpgo.NewToolResultError("This tool intentionally returns an error for testing"), nil
	})
	s.AddTool(noArgs("test_tool_with_logging", "Logs while it runs"), func(ctx context.Context, _ mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		for _, m := range []string{"Tool execution started", "Tool processing data", "Tool execution completed"} {
			time.Sleep(50 * time.Millisecond)
			_ = s.SendNotificationToClient(ctx, string(mcpgo.MethodNotificationMessage), map[string]any{"level": "info", "logger": "weft-conformance", "data": m})
		}
		settle()
		return text("Tool with logging executed successfully"), nil
	})
	s.AddTool(noArgs("test_tool_with_progress", "Reports progress"), func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		if req.Params.Meta != nil && req.Params.Meta.ProgressToken != nil {
			for i, p := range []int{0, 50, 100} {
				time.Sleep(50 * time.Millisecond)
				_ = s.SendNotificationToClient(ctx, string(mcpgo.MethodNotificationProgress), map[string]any{
					"progressToken": req.Params.Meta.ProgressToken, "progress": p, "total": 100, "message": fmt.Sprintf("step %d of 3", i+1)})
			}
			settle()
		}
		return text("Tool with progress executed successfully"), nil
	})
	s.AddTool(mcpgo.NewTool("test_sampling", mcpgo.WithDescription("Asks the client's model"), mcpgo.WithString("prompt", mcpgo.Required())),
		func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
			if r := server.SamplingResponse(req.Params.InputResponses, "sample"); r != nil {
				t := "No response"
				if c, ok := r.Content.(mcpgo.TextContent); ok {
					t = c.Text
				}
				return text("LLM response: " + t), nil
			}
			return server.NewInputRequestBuilder("").Sample("sample", mcpgo.CreateMessageParams{
				Messages:  []mcpgo.SamplingMessage{{Role: mcpgo.RoleUser, Content: mcpgo.NewTextContent(req.GetString("prompt", ""))}},
				MaxTokens: 100}).ToolResult(), nil
		})
	elicit := func(name, desc, id string, params func(mcpgo.CallToolRequest) mcpgo.ElicitationParams, answer func(*mcpgo.ElicitationResult) string, opts ...mcpgo.ToolOption) {
		s.AddTool(mcpgo.NewTool(name, append([]mcpgo.ToolOption{mcpgo.WithDescription(desc)}, opts...)...), func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
			if r := server.ElicitationResponse(req.Params.InputResponses, id); r != nil {
				return text(answer(r)), nil
			}
			return server.NewInputRequestBuilder("").Elicit(id, params(req)).ToolResult(), nil
		})
	}
	elicit("test_elicitation", "Asks the user", "user", func(req mcpgo.CallToolRequest) mcpgo.ElicitationParams {
		return mcpgo.ElicitationParams{Message: req.GetString("message", ""), RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{
			"username": map[string]any{"type": "string", "description": "User's response"},
			"email":    map[string]any{"type": "string", "description": "User's email address"}}, "required": []any{"username", "email"}}}
	}, func(r *mcpgo.ElicitationResult) string {
		return fmt.Sprintf("User response: action=%s, content=%s", r.Action, mustJSON(r.Content))
	}, mcpgo.WithString("message", mcpgo.Required()))
	completed := func(r *mcpgo.ElicitationResult) string {
		return fmt.Sprintf("Elicitation completed: action=%s, content=%s", r.Action, mustJSON(r.Content))
	}
	elicit("test_elicitation_sep1034_defaults", "Asks with defaults", "defaults", func(mcpgo.CallToolRequest) mcpgo.ElicitationParams {
		return mcpgo.ElicitationParams{Message: "Please review and update the form fields with defaults", RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{
			"name":     map[string]any{"type": "string", "description": "User name", "default": "John Doe"},
			"age":      map[string]any{"type": "integer", "description": "User age", "default": 30},
			"score":    map[string]any{"type": "number", "description": "User score", "default": 95.5},
			"status":   map[string]any{"type": "string", "description": "User status", "enum": []any{"active", "inactive", "pending"}, "default": "active"},
			"verified": map[string]any{"type": "boolean", "description": "Verification status", "default": true}}}}
	}, completed)
	elicit("test_elicitation_sep1330_enums", "Asks with every enum style", "enums", func(mcpgo.CallToolRequest) mcpgo.ElicitationParams {
		return mcpgo.ElicitationParams{Message: "Please select options from the enum fields", RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{
			"untitledSingle": map[string]any{"type": "string", "description": "Select one option", "enum": []any{"option1", "option2", "option3"}},
			"titledSingle": map[string]any{"type": "string", "description": "Select one option with titles", "oneOf": []any{
				map[string]any{"const": "value1", "title": "First Option"}, map[string]any{"const": "value2", "title": "Second Option"}, map[string]any{"const": "value3", "title": "Third Option"}}},
			"legacyEnum":    map[string]any{"type": "string", "description": "Select one option (legacy)", "enum": []any{"opt1", "opt2", "opt3"}, "enumNames": []any{"Option One", "Option Two", "Option Three"}},
			"untitledMulti": map[string]any{"type": "array", "description": "Select multiple options", "minItems": 1, "maxItems": 3, "items": map[string]any{"type": "string", "enum": []any{"option1", "option2", "option3"}}},
			"titledMulti": map[string]any{"type": "array", "description": "Select multiple options with titles", "minItems": 1, "maxItems": 3, "items": map[string]any{"anyOf": []any{
				map[string]any{"const": "value1", "title": "First Choice"}, map[string]any{"const": "value2", "title": "Second Choice"}, map[string]any{"const": "value3", "title": "Third Choice"}}}}}}}
	}, completed)

	schema := map[string]any{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
		"$defs": map[string]any{"address": map[string]any{"$anchor": "addressDef", "type": "object", "properties": map[string]any{"street": map[string]any{"type": "string"}, "city": map[string]any{"type": "string"}}}},
		"properties": map[string]any{"name": map[string]any{"type": "string"}, "address": map[string]any{"$ref": "#/$defs/address"},
			"contactMethod": map[string]any{"type": "string", "enum": []any{"phone", "email"}}, "phone": map[string]any{"type": "string"}, "email": map[string]any{"type": "string"}},
		"allOf": []any{map[string]any{"anyOf": []any{map[string]any{"required": []any{"phone"}}, map[string]any{"required": []any{"email"}}}}},
		"if":    map[string]any{"properties": map[string]any{"contactMethod": map[string]any{"const": "phone"}}, "required": []any{"contactMethod"}},
		"then":  map[string]any{"required": []any{"phone"}}, "else": map[string]any{"required": []any{"email"}}, "additionalProperties": false}
	t := mcpgo.Tool{Name: "json_schema_2020_12_tool", Description: "Tool with JSON Schema 2020-12 features"}
	t.RawInputSchema = mustJSON(schema)
	s.AddTool(t, func(_ context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		return text("JSON Schema 2020-12 tool called with " + string(mustJSON(req.GetArguments()))), nil
	})

	// SEP-2243: a parameter that also travels as the Mcp-Param-Region
	// header; mcp-go checks the two agree before the handler runs.
	hdr := mcpgo.Tool{Name: "test_param_header", Description: "Echoes a region that also travels in the Mcp-Param-Region header"}
	hdr.RawInputSchema = json.RawMessage(`{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}},"required":["region"]}`)
	s.AddTool(hdr, func(_ context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		return text("region " + req.GetString("region", "")), nil
	})

	// Stateless-era (SEP-2575) probes.
	s.AddTool(noArgs("test_missing_capability", "Needs the client's sampling capability"), func(_ context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		if r := server.SamplingResponse(req.Params.InputResponses, "sample"); r != nil {
			return text("sampled"), nil
		}
		return server.NewInputRequestBuilder("").Sample("sample", mcpgo.CreateMessageParams{
			Messages: []mcpgo.SamplingMessage{{Role: mcpgo.RoleUser, Content: mcpgo.NewTextContent("Say hi")}}, MaxTokens: 20}).ToolResult(), nil
	})
	s.AddTool(noArgs("test_streaming_elicitation", "Asks the user, as an input-required result"), func(_ context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		if r := server.ElicitationResponse(req.Params.InputResponses, "user_name"); r != nil {
			return text("thanks"), nil
		}
		return server.NewInputRequestBuilder("").Elicit("user_name", mcpgo.ElicitationParams{Message: "What is your name?", RequestedSchema: nameSchema}).ToolResult(), nil
	})
	s.AddTool(noArgs("test_logging_tool", "Logs only when the request asks for a log level"), func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		if req.Params.Meta != nil && req.Params.Meta.AdditionalFields[mcpgo.MetaKeyLogLevel] != nil {
			_ = s.SendNotificationToClient(ctx, string(mcpgo.MethodNotificationMessage), map[string]any{"level": "info", "logger": "weft-conformance", "data": "logging tool ran"})
			settle()
		}
		return text("logging tool ran"), nil
	})

	// Multi round-trip (SEP-2322) fixtures.
	s.AddTool(noArgs("test_input_required_result_elicitation", "Asks for a name, then greets"), func(_ context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		if r := server.ElicitationResponse(req.Params.InputResponses, "user_name"); r != nil {
			if c, ok := r.Content.(map[string]any); ok {
				if n, ok := c["name"].(string); ok {
					return text("Hello, " + n + "!"), nil
				}
			}
		}
		return server.NewInputRequestBuilder("").Elicit("user_name", mcpgo.ElicitationParams{Message: "What is your name?", RequestedSchema: nameSchema}).ToolResult(), nil
	})
	s.AddTool(noArgs("test_input_required_result_sampling", "Asks the client's model"), func(_ context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		if r := server.SamplingResponse(req.Params.InputResponses, "capital_question"); r != nil {
			t := ""
			if c, ok := r.Content.(mcpgo.TextContent); ok {
				t = c.Text
			}
			return text("The model said: " + t), nil
		}
		return server.NewInputRequestBuilder("").Sample("capital_question", mcpgo.CreateMessageParams{
			Messages: []mcpgo.SamplingMessage{{Role: mcpgo.RoleUser, Content: mcpgo.NewTextContent("What is the capital of France?")}}, MaxTokens: 100}).ToolResult(), nil
	})
	s.AddTool(noArgs("test_input_required_result_list_roots", "Asks for the client's roots"), func(_ context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		if r := server.RootsResponse(req.Params.InputResponses, "client_roots"); r != nil {
			var uris []string
			for _, root := range r.Roots {
				uris = append(uris, root.URI)
			}
			return text("Client roots: " + strings.Join(uris, ", ")), nil
		}
		return server.NewInputRequestBuilder("").Roots("client_roots").ToolResult(), nil
	})
	s.AddTool(noArgs("test_input_required_result_request_state", "Round-trips request state"), func(_ context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		if r := server.ElicitationResponse(req.Params.InputResponses, "confirm"); r != nil {
			if st, ok := f.verify(req.Params.RequestState); ok && st == "awaiting-confirm" {
				return text("state-ok: confirmed"), nil
			}
			return nil, fmt.Errorf("%w: requestState failed its integrity check", mcpgo.ErrInvalidParams)
		}
		return server.NewInputRequestBuilder(f.sign("awaiting-confirm")).Elicit("confirm", mcpgo.ElicitationParams{Message: "Please confirm",
			RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"ok": map[string]any{"type": "boolean"}}, "required": []any{"ok"}}}).ToolResult(), nil
	})
	s.AddTool(noArgs("test_input_required_result_multiple_inputs", "Asks for three inputs at once"), func(_ context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		rs := req.Params.InputResponses
		if server.ElicitationResponse(rs, "user_name") != nil && server.SamplingResponse(rs, "greeting") != nil && server.RootsResponse(rs, "client_roots") != nil {
			if _, ok := f.verify(req.Params.RequestState); ok {
				return text("All inputs received: name, greeting and roots"), nil
			}
			return nil, fmt.Errorf("%w: requestState failed its integrity check", mcpgo.ErrInvalidParams)
		}
		return server.NewInputRequestBuilder(f.sign("multi")).
			Elicit("user_name", mcpgo.ElicitationParams{Message: "What is your name?", RequestedSchema: nameSchema}).
			Sample("greeting", mcpgo.CreateMessageParams{Messages: []mcpgo.SamplingMessage{{Role: mcpgo.RoleUser, Content: mcpgo.NewTextContent("Generate a greeting")}}, MaxTokens: 50}).
			Roots("client_roots").ToolResult(), nil
	})
	s.AddTool(noArgs("test_input_required_result_multi_round", "Two rounds of questions"), func(_ context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		rs := req.Params.InputResponses
		st, valid := f.verify(req.Params.RequestState)
		if req.Params.RequestState != "" && !valid {
			return nil, fmt.Errorf("%w: requestState failed its integrity check", mcpgo.ErrInvalidParams)
		}
		if r := server.ElicitationResponse(rs, "step2"); r != nil && strings.HasPrefix(st, "round2:") {
			return text(fmt.Sprintf("Completed: %s likes %v", strings.TrimPrefix(st, "round2:"), r.Content.(map[string]any)["color"])), nil
		}
		if r := server.ElicitationResponse(rs, "step1"); r != nil && st == "round1" {
			name, _ := r.Content.(map[string]any)["name"].(string)
			return server.NewInputRequestBuilder(f.sign("round2:"+name)).Elicit("step2", mcpgo.ElicitationParams{Message: "Step 2: What is your favorite color?",
				RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"color": map[string]any{"type": "string"}}, "required": []any{"color"}}}).ToolResult(), nil
		}
		return server.NewInputRequestBuilder(f.sign("round1")).Elicit("step1", mcpgo.ElicitationParams{Message: "Step 1: What is your name?", RequestedSchema: nameSchema}).ToolResult(), nil
	})
	s.AddTool(noArgs("test_input_required_result_tampered_state", "Rejects a tampered request state"), func(_ context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		if req.Params.RequestState != "" || len(req.Params.InputResponses) > 0 {
			if _, ok := f.verify(req.Params.RequestState); !ok {
				return nil, fmt.Errorf("%w: requestState failed its integrity check", mcpgo.ErrInvalidParams)
			}
			return text("state verified"), nil
		}
		return server.NewInputRequestBuilder(f.sign("untampered")).Elicit("confirm", mcpgo.ElicitationParams{Message: "Please confirm",
			RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"ok": map[string]any{"type": "boolean"}}, "required": []any{"ok"}}}).ToolResult(), nil
	})
	s.AddTool(noArgs("test_input_required_result_capabilities", "Asks only for what the client can answer"), func(_ context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		if len(req.Params.InputResponses) > 0 {
			return text("inputs received"), nil
		}
		caps := map[string]any{}
		if req.Params.Meta != nil {
			if c, ok := req.Params.Meta.AdditionalFields["io.modelcontextprotocol/clientCapabilities"].(map[string]any); ok {
				caps = c
			}
		}
		b := server.NewInputRequestBuilder("")
		n := 0
		if caps["elicitation"] != nil {
			b.Elicit("user_name", mcpgo.ElicitationParams{Message: "What is your name?", RequestedSchema: nameSchema})
			n++
		}
		if caps["sampling"] != nil {
			b.Sample("greeting", mcpgo.CreateMessageParams{Messages: []mcpgo.SamplingMessage{{Role: mcpgo.RoleUser, Content: mcpgo.NewTextContent("Generate a greeting")}}, MaxTokens: 50})
			n++
		}
		if caps["roots"] != nil {
			b.Roots("client_roots")
			n++
		}
		if n == 0 {
			return text("the client declared no capability to ask with"), nil
		}
		return b.ToolResult(), nil
	})
}

func (f *fixture) resources() {
	s := f.srv
	s.AddResource(mcpgo.NewResource("test://static-text", "static-text", mcpgo.WithResourceDescription("A static text resource"), mcpgo.WithMIMEType("text/plain")),
		func(context.Context, mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
			return []mcpgo.ResourceContents{mcpgo.TextResourceContents{URI: "test://static-text", MIMEType: "text/plain", Text: "This is the content of the static text resource."}}, nil
		})
	s.AddResource(mcpgo.NewResource("test://static-binary", "static-binary", mcpgo.WithResourceDescription("A static binary resource"), mcpgo.WithMIMEType("image/png")),
		func(context.Context, mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
			return []mcpgo.ResourceContents{mcpgo.BlobResourceContents{URI: "test://static-binary", MIMEType: "image/png", Blob: fixturePNG}}, nil
		})
	s.AddResource(mcpgo.NewResource("test://watched-resource", "watched-resource", mcpgo.WithResourceDescription("A resource to subscribe to"), mcpgo.WithMIMEType("text/plain")),
		func(context.Context, mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
			return []mcpgo.ResourceContents{mcpgo.TextResourceContents{URI: "test://watched-resource", MIMEType: "text/plain", Text: "Watched resource content"}}, nil
		})
	s.AddResourceTemplate(mcpgo.NewResourceTemplate("test://template/{id}/data", "template", mcpgo.WithTemplateDescription("A template with an id"), mcpgo.WithTemplateMIMEType("application/json")),
		func(_ context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
			id := strings.TrimSuffix(strings.TrimPrefix(req.Params.URI, "test://template/"), "/data")
			b, _ := json.Marshal(map[string]any{"id": id, "templateTest": true, "data": "Data for ID: " + id})
			return []mcpgo.ResourceContents{mcpgo.TextResourceContents{URI: req.Params.URI, MIMEType: "application/json", Text: string(b)}}, nil
		})
}

func (f *fixture) prompts() {
	s := f.srv
	msg := func(c mcpgo.Content) mcpgo.PromptMessage { return mcpgo.NewPromptMessage(mcpgo.RoleUser, c) }
	s.AddPrompt(mcpgo.NewPrompt("test_simple_prompt", mcpgo.WithPromptDescription("A simple prompt")), func(context.Context, mcpgo.GetPromptRequest) (*mcpgo.GetPromptResult, error) {
		return mcpgo.NewGetPromptResult("A simple prompt", []mcpgo.PromptMessage{msg(mcpgo.NewTextContent("This is a simple prompt for testing."))}), nil
	})
	s.AddPrompt(mcpgo.NewPrompt("test_prompt_with_arguments", mcpgo.WithPromptDescription("A prompt with arguments"),
		mcpgo.WithArgument("arg1", mcpgo.ArgumentDescription("First test argument"), mcpgo.RequiredArgument()),
		mcpgo.WithArgument("arg2", mcpgo.ArgumentDescription("Second test argument"), mcpgo.RequiredArgument())),
		func(_ context.Context, req mcpgo.GetPromptRequest) (*mcpgo.GetPromptResult, error) {
			a := req.Params.Arguments
			return mcpgo.NewGetPromptResult("A prompt with arguments", []mcpgo.PromptMessage{msg(mcpgo.NewTextContent(fmt.Sprintf("Prompt with arguments: arg1='%s', arg2='%s'", a["arg1"], a["arg2"])))}), nil
		})
	s.AddPrompt(mcpgo.NewPrompt("test_prompt_with_embedded_resource", mcpgo.WithPromptDescription("A prompt with a resource"),
		mcpgo.WithArgument("resourceUri", mcpgo.ArgumentDescription("URI of the resource to embed"), mcpgo.RequiredArgument())),
		func(_ context.Context, req mcpgo.GetPromptRequest) (*mcpgo.GetPromptResult, error) {
			uri := req.Params.Arguments["resourceUri"]
			return mcpgo.NewGetPromptResult("A prompt with a resource", []mcpgo.PromptMessage{
				msg(mcpgo.NewEmbeddedResource(mcpgo.TextResourceContents{URI: uri, MIMEType: "text/plain", Text: "Embedded resource content for testing."})),
				msg(mcpgo.NewTextContent("Please process the embedded resource above."))}), nil
		})
	s.AddPrompt(mcpgo.NewPrompt("test_prompt_with_image", mcpgo.WithPromptDescription("A prompt with an image")), func(context.Context, mcpgo.GetPromptRequest) (*mcpgo.GetPromptResult, error) {
		return mcpgo.NewGetPromptResult("A prompt with an image", []mcpgo.PromptMessage{msg(mcpgo.NewImageContent(fixturePNG, "image/png")), msg(mcpgo.NewTextContent("Please analyze the image above."))}), nil
	})
	s.AddPrompt(mcpgo.NewPrompt("test_input_required_result_prompt", mcpgo.WithPromptDescription("A prompt that asks for context first")),
		func(_ context.Context, req mcpgo.GetPromptRequest) (*mcpgo.GetPromptResult, error) {
			if r := server.ElicitationResponse(req.Params.InputResponses, "user_context"); r != nil {
				c, _ := r.Content.(map[string]any)
				return mcpgo.NewGetPromptResult("A prompt with context", []mcpgo.PromptMessage{msg(mcpgo.NewTextContent(fmt.Sprintf("Use this context: %v", c["context"])))}), nil
			}
			return server.NewInputRequestBuilder("").Elicit("user_context", mcpgo.ElicitationParams{Message: "What context should the prompt use?",
				RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"context": map[string]any{"type": "string"}}, "required": []any{"context"}}}).PromptResult(), nil
		})
}
