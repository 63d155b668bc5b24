package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/agent"
	"github.com/weftio/weft/ai/search"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/mcpconn"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/lazy"
	"github.com/weftio/weft/nl2flow"
	"github.com/weftio/weft/store"
)

// MaxTextBytes bounds the text of one tool result; larger results are cut
// with a note (structuredContent is left out then, too).
const MaxTextBytes = 64 << 10

// toolDef is one tool of the catalog.
type toolDef struct {
	tool        mcpgo.Tool
	connection  string // connection tools
	operation   string // connector.operation
	flow        string // flow tools
	async       bool   // a flow whose webhook trigger is async: a task for clients with the tasks extension
	namespace   string // the connection's or flow's namespace ("" for Weft's own tools: every toolset's)
	destructive bool
	doc         search.Doc // what search_tools ranks it by (ID: the tool name, set when indexed)
	output      bool       // has an object output schema
	tags        []string
	// placement: the tool runs on a site's agent (a connection or flow
	// placed there), reached through the agent's link (reach-in).
	placement *flow.Placement
	// local tools are served by Weft itself (compose_flow).
	local func(ctx context.Context, args map[string]any) (any, error)

	schemaOnce sync.Once
	args       argSchema // what checkArgs checks, from the input schema on first use
}

// argSchema is what checkArgs reads of a tool's input schema, taken from
// it once per tool (not on every call): the required names, whether
// unknown arguments are refused, and each property's type and enum.
type argSchema struct {
	required     []string
	requiredText string // the required names, comma-separated
	closed       bool   // additionalProperties: false, with properties
	props        map[string]argProp
	propsText    string // the property names, sorted, comma-separated
}

type argProp struct {
	typ       string // "" when the property has no type (or is no object)
	enum      []any
	enumTexts []string // fmt.Sprint of each enum value, as compared
}

// argsSchema is the tool's argSchema, made on first use.
func (t *toolDef) argsSchema() *argSchema {
	t.schemaOnce.Do(func() {
		var s map[string]any
		_ = json.Unmarshal(t.tool.RawInputSchema, &s)
		t.args = compileArgs(s)
	})
	return &t.args
}

func compileArgs(s map[string]any) argSchema {
	a := argSchema{required: requiredList(s)}
	a.requiredText = strings.Join(a.required, ", ")
	props, _ := s["properties"].(map[string]any)
	if props != nil {
		a.props = make(map[string]argProp, len(props))
		names := make([]string, 0, len(props))
		for n, v := range props {
			names = append(names, n)
			p, _ := v.(map[string]any)
			ap := argProp{}
			ap.typ, _ = p["type"].(string)
			if enum, ok := p["enum"].([]any); ok && len(enum) > 0 {
				ap.enum = enum
				for _, e := range enum {
					ap.enumTexts = append(ap.enumTexts, fmt.Sprint(e))
				}
			}
			a.props[n] = ap
		}
		sort.Strings(names)
		a.propsText = strings.Join(names, ", ")
		a.closed = s["additionalProperties"] == false
	}
	return a
}

var nameClean = lazy.NewRegexp(`[^A-Za-z0-9_-]`)

// toolName is <connection>__<operation>, valid as an MCP tool name (at
// most 64 characters: a longer one is cut and ends in a short hash of the
// whole, so long names sharing a prefix never collide).
func toolName(conn, op string) string {
	n := nameClean.ReplaceAllString(conn, "_") + "__" + nameClean.ReplaceAllString(op, "_")
	return connectors.ShortName(n, conn+"\x00"+op, 64)
}

// addTool adds d under its name; if another tool took the name already
// (two names that clean to one), d gets a hash suffix of its identity.
func addTool(out map[string]*toolDef, d *toolDef, identity string) {
	name := d.tool.Name
	for i := 0; out[name] != nil; i++ {
		key := identity
		if i > 0 {
			key = fmt.Sprintf("%s#%d", identity, i)
		}
		name = connectors.ShortName(d.tool.Name+"_"+connectors.NameHash(key), d.tool.Name+"\x00"+key, 64)
	}
	d.tool.Name = name
	out[name] = d
}

// allTools builds every tool: each operation of each connection, each flow.
func (g *Gateway) allTools(ctx context.Context) (map[string]*toolDef, error) {
	cat := g.e.Catalog()
	out := map[string]*toolDef{}
	for _, conn := range cat.Connections() {
		x, ok := cat.Connector(conn.Connector)
		if !ok {
			continue
		}
		for _, op := range x.Operations {
			d := opTool(conn, x, op)
			d.namespace = access.NamespaceOr(conn.Namespace)
			addTool(out, d, conn.Name+"\x00"+op.Name)
		}
	}
	// Connections placed on agents' sites: their operations run there.
	for _, pc := range g.e.PlacedConnections() {
		conn := pc.Conn
		x, ok := cat.Connector(conn.Connector)
		if !ok {
			continue
		}
		for _, op := range x.Operations {
			d := opTool(conn, x, op)
			d.namespace = access.NamespaceOr(conn.Namespace)
			d.placement = conn.Placement
			d.tool.Description += " Runs on the agent of " + conn.Placement.String() + ", through its outbound link."
			addTool(out, d, conn.Name+"\x00"+op.Name)
		}
	}
	flows, err := g.e.Store().ListFlows(ctx)
	if err != nil {
		return nil, err
	}
	for _, fi := range flows {
		f, _, err := g.e.Flow(ctx, fi.Name, 0)
		if err != nil {
			continue
		}
		d := flowTool(f)
		if f.Placement != nil && g.e.Site() == "" {
			d.placement = f.Placement
			d.tool.Description += " Runs on the agent of " + f.Placement.String() + ", through its outbound link."
		}
		d.namespace = access.NamespaceOr(fi.Namespace)
		addTool(out, d, "flow\x00"+f.Name)
	}
	if g.cfg.Composer != nil {
		d := g.composeTool()
		out[d.tool.Name] = d
	}
	return out, nil
}

// composeTool drafts a flow from plain English; it never deploys.
func (g *Gateway) composeTool() *toolDef {
	t := mcpgo.Tool{Name: "compose_flow", Title: "Draft a flow from a request",
		Description: "Draft a Weft integration flow from a plain-English request (e.g. 'When a deal is won in the CRM, create a project in the tracker and post in #delivery'), checked against the connected systems. Returns the draft YAML, whether it is valid, a step-by-step explanation, open questions and what was not understood. Nothing is deployed: show the draft to the user. Pass flow (existing YAML) to edit a flow with the request as the instruction.",
		Annotations: mcpgo.ToolAnnotation{ReadOnlyHint: boolp(true), IdempotentHint: boolp(true), OpenWorldHint: boolp(false)}}
	t.RawInputSchema = json.RawMessage(`{"type":"object","required":["text"],"additionalProperties":false,"properties":{"text":{"type":"string","minLength":1,"maxLength":4000,"description":"the integration request, or the edit instruction"},"flow":{"type":"string","description":"an existing flow (YAML) to edit"}}}`)
	t.RawOutputSchema = json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"},"yaml":{"type":"string"},"valid":{"type":"boolean"},"explanation":{"type":"array","items":{"type":"string"}},"questions":{"type":"array","items":{"type":"string"}},"not_understood":{"type":"array","items":{"type":"string"}},"warnings":{"type":"array","items":{"type":"string"}},"confidence":{"type":"number"},"backend":{"type":"string"}}}`)
	return &toolDef{tool: t, doc: search.Doc{Name: t.Name, Title: t.Title, Description: t.Description}, output: true, local: func(ctx context.Context, args map[string]any) (any, error) {
		text, _ := args["text"].(string)
		existing, _ := args["flow"].(string)
		d, err := g.cfg.Composer.Compile(ctx, nl2flow.Request{Text: text, Flow: existing})
		if err != nil {
			return nil, err
		}
		var out map[string]any
		_ = json.Unmarshal(mustJSON(d), &out)
		return out, nil
	}}
}

func boolp(b bool) *bool { return &b }

func opTool(conn *connectors.Connection, x *connectors.Connector, op *connectors.Operation) *toolDef {
	name := toolName(conn.Name, op.Name)
	var effects string
	switch {
	case op.Hints.ReadOnly:
		effects = "Read-only: changes nothing."
	case op.Hints.Destructive:
		effects = "Destructive: deletes or overwrites data in " + x.Title + "."
	default:
		effects = "Writes to " + x.Title + "."
	}
	if op.Hints.Idempotent {
		effects += " Safe to repeat with the same arguments."
	}
	desc := fmt.Sprintf("%s (%s via connection %q). %s", strings.TrimSuffix(op.Description, "."), x.Title, conn.Name, effects)
	if req := requiredList(op.Input); len(req) > 0 {
		desc += " Required: " + strings.Join(req, ", ") + "."
	}
	if props, _ := op.Input["properties"].(map[string]any); props != nil && props["fetch_all"] != nil {
		desc += " Lists one page; set fetch_all for every page (bounded by max_items)."
	}
	t := mcpgo.Tool{Name: name, Title: op.Title, Description: desc,
		Annotations: mcpgo.ToolAnnotation{Title: op.Title, ReadOnlyHint: boolp(op.Hints.ReadOnly), DestructiveHint: boolp(op.Hints.Destructive),
			IdempotentHint: boolp(op.Hints.Idempotent), OpenWorldHint: boolp(op.Hints.OpenWorld)}}
	t.RawInputSchema = schemaJSON(op.Input)
	d := &toolDef{tool: t, connection: conn.Name, operation: x.Name + "." + op.Name, destructive: op.Hints.Destructive, tags: op.Tags,
		doc: search.Doc{Name: conn.Name + " " + op.Name, Title: op.Title, Description: op.Description + " " + x.Title + " " + strings.Join(op.Tags, " ")}}
	if objectSchema(op.Output) {
		t.RawOutputSchema = schemaJSON(op.Output)
		d.tool, d.output = t, true
	}
	return d
}

// flowToolName is the tool that runs a flow.
func flowToolName(flowName string) string {
	return connectors.ShortName("flow__"+nameClean.ReplaceAllString(flowName, "_"), "flow\x00"+flowName, 64)
}

func flowTool(f *flow.Flow) *toolDef {
	schema := map[string]any{"type": "object"}
	switch {
	case f.Trigger.Webhook != nil && f.Trigger.Webhook.Schema != nil:
		schema = f.Trigger.Webhook.Schema
	case f.Trigger.Manual != nil && f.Trigger.Manual.Schema != nil:
		schema = f.Trigger.Manual.Schema
	}
	name := flowToolName(f.Name)
	desc := f.Description
	if desc == "" {
		desc = "Run the integration flow " + f.Name + "."
	}
	desc = strings.TrimSpace(desc) + " Runs the deployed flow " + f.Name + " with the arguments as its trigger body and returns what the flow responds; the run is in Weft's transaction log."
	async := f.Trigger.Webhook != nil && f.Trigger.Webhook.Mode == "async"
	if async {
		desc += " The flow is asynchronous: a client with the MCP tasks extension gets a task at once (poll tasks/get for the run's progress and result, tasks/cancel cancels the run); others wait for the run to end."
	}
	t := mcpgo.Tool{Name: name, Title: "Flow " + f.Name, Description: desc,
		Annotations: mcpgo.ToolAnnotation{Title: "Flow " + f.Name, ReadOnlyHint: boolp(false), DestructiveHint: boolp(false), OpenWorldHint: boolp(true)}}
	t.RawInputSchema = schemaJSON(schema)
	return &toolDef{tool: t, flow: f.Name, async: async, doc: search.Doc{Name: f.Name, Title: "flow", Description: desc}}
}

// objectSchema: an output schema usable as MCP outputSchema (an object,
// possibly as an allOf of objects).
func objectSchema(s map[string]any) bool {
	if s == nil {
		return false
	}
	if t, ok := s["type"]; ok {
		return t == "object"
	}
	if _, ok := s["properties"]; ok {
		return true
	}
	all, ok := s["allOf"].([]any)
	if !ok || len(all) == 0 {
		return false
	}
	for _, x := range all {
		m, _ := x.(map[string]any)
		if !objectSchema(m) {
			return false
		}
	}
	return true
}

func requiredList(s map[string]any) []string {
	var out []string
	if r, ok := s["required"].([]any); ok {
		for _, x := range r {
			out = append(out, fmt.Sprint(x))
		}
	}
	return out
}

func schemaJSON(s map[string]any) json.RawMessage {
	if s == nil {
		s = map[string]any{"type": "object"}
	}
	if s["type"] == nil {
		cp := map[string]any{"type": "object"}
		for k, v := range s {
			cp[k] = v
		}
		s = cp
	}
	b, _ := json.Marshal(s)
	return b
}

// selected reports whether toolset d includes tool t.
func selected(d Toolset, t *toolDef) bool {
	// A toolset serves only its namespace's connections and flows.
	if t.namespace != "" && t.namespace != access.NamespaceOr(d.Namespace) {
		return false
	}
	if t.flow != "" {
		for _, p := range d.Flows {
			if ok, _ := path.Match(p, t.flow); ok {
				return true
			}
		}
	} else {
		for _, c := range d.Connections {
			if c == t.connection {
				return true
			}
		}
		for _, want := range d.Tags {
			for _, have := range t.tags {
				if strings.EqualFold(want, have) {
					return true
				}
			}
		}
	}
	for _, p := range d.Tools {
		if ok, _ := path.Match(p, t.tool.Name); ok {
			if t.flow != "" && len(d.Flows) == 0 && p == "*" {
				continue
			}
			return true
		}
	}
	return false
}

// apply sets a toolset's tools when they changed.
func (g *Gateway) apply(s *served, all map[string]*toolDef) {
	mine := map[string]*toolDef{}
	for n, t := range all {
		if selected(s.def, t) {
			mine[n] = t
		}
	}
	names := make([]string, 0, len(mine))
	for n := range mine {
		names = append(names, n)
	}
	sort.Strings(names)
	var fp strings.Builder
	for _, n := range names {
		b, _ := json.Marshal(mine[n].tool)
		fp.Write(b)
		fp.Write(mine[n].tool.RawInputSchema)
	}
	s.mu.Lock()
	changed := fp.String() != s.print
	s.print, s.tools = fp.String(), mine
	if changed {
		s.gen++
	}
	s.mu.Unlock()
	if !changed {
		return
	}
	if s.def.Discovery {
		if len(s.srv.ListTools()) == 0 {
			s.srv.SetTools(g.metaTools(s)...)
		}
		return
	}
	st := make([]server.ServerTool, 0, len(names))
	for _, n := range names {
		st = append(st, server.ServerTool{Tool: mine[n].tool, Handler: g.handler(s, mine[n])})
	}
	s.srv.SetTools(st...)
}

// lookup finds a tool of a toolset.
func (s *served) lookup(name string) (*toolDef, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tools[name]
	return t, ok
}

// handler calls a tool: policy, schema check, the call through the engine,
// and a result shaped for a model.
func (g *Gateway) handler(s *served, t *toolDef) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		return g.call(ctx, s, t, req)
	}
}

func (g *Gateway) call(ctx context.Context, s *served, t *toolDef, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
	start := time.Now()
	key := caller(ctx)
	who := "anonymous"
	if key != nil {
		who = key.ID
	}
	args := req.GetArguments()
	if args == nil {
		if req.Params.Arguments != nil {
			if _, ok := req.Params.Arguments.(map[string]any); !ok {
				return mcpgo.NewToolResultError("arguments must be a JSON object"), nil
			}
		}
		args = map[string]any{}
	}
	n := len(mustJSON(args))
	tc := engine.ToolCall{Toolset: s.def.Name, Tool: t.tool.Name, Caller: who, Connection: t.connection, Operation: t.operation, Input: args, InputSize: n}
	refuse := func(msg string) (*mcpgo.CallToolResult, error) {
		g.e.RecordToolCall(tc, start, nil, &connectors.Error{Class: connectors.Permanent, Message: msg})
		return mcpgo.NewToolResultError(msg), nil
	}
	if n > g.cfg.MaxArgBytes {
		tc.Input = nil // a refused oversized payload is never logged, whatever the capture policy
		return refuse(fmt.Sprintf("arguments are %d bytes; the limit is %d (mcp.max_argument_bytes)", n, g.cfg.MaxArgBytes))
	}
	if key != nil && !key.allows(t.tool.Name) {
		return refuse(fmt.Sprintf("tool %s is not allowed for API key %s", t.tool.Name, key.ID))
	}
	switch g.policy(t) {
	case PolicyDeny:
		return refuse(fmt.Sprintf("tool %s is denied by the gateway's policy", t.tool.Name))
	case PolicyConfirm:
		if res, ok := g.confirm(ctx, req, s.def.Name, who, t, args); !ok {
			if res != nil {
				return res, nil
			}
			return refuse(fmt.Sprintf("tool %s changes or deletes data and needs the user's confirmation, but this client cannot ask the user (elicitation); ask the operator to allow it", t.tool.Name))
		} else if res != nil {
			return refuse(textOf(res))
		}
	}
	if msg := checkArgs(t, args); msg != "" {
		return refuse(msg)
	}
	if t.placement != nil {
		// The site's progress notifications reach this caller under its token.
		return g.callSite(withProgressTo(ctx, s, req), s, t, args, tc, start)
	}
	if t.local != nil {
		out, err := t.local(ctx, args)
		g.e.RecordToolCall(tc, start, out, err)
		if err != nil {
			return mcpgo.NewToolResultError(err.Error()), nil
		}
		return g.result(t, out), nil
	}
	if t.flow != "" {
		if t.async && tasksDeclared(ctx) {
			return g.startFlowTask(ctx, s, t, args)
		}
		return g.callFlow(ctx, s, t, req, args, tc, start)
	}
	out, err := g.e.CallOperation(mcpconn.WithToolResult(withProgressTo(ctx, s, req)), tc)
	if err != nil {
		return toolError(t, err), nil
	}
	return g.result(t, out), nil
}

// withProgressTo returns ctx carrying a progress reporter that forwards an
// operation's progress (a federated MCP tool's, or a site's through its
// agent) to the caller under its own token, when it gave one.
func withProgressTo(ctx context.Context, s *served, req mcpgo.CallToolRequest) context.Context {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return ctx
	}
	token := req.Params.Meta.ProgressToken
	return connectors.WithProgress(ctx, func(progress, total float64, message string) {
		n := map[string]any{"progressToken": token, "progress": progress}
		if total > 0 {
			n["total"] = total
		}
		if message != "" {
			n["message"] = message
		}
		_ = s.srv.SendNotificationToClient(ctx, string(mcpgo.MethodNotificationProgress), n)
	})
}

// textOf is the text of a result.
func textOf(r *mcpgo.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(mcpgo.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// checkArgs checks the arguments against the tool's input schema: unknown
// and missing required fields, and basic types, with a message a model can
// act on.
func checkArgs(t *toolDef, args map[string]any) string {
	s := t.argsSchema()
	for _, r := range s.required {
		if _, ok := args[r]; !ok {
			return fmt.Sprintf("missing required argument %q for %s (required: %s)", r, t.tool.Name, s.requiredText)
		}
	}
	if s.closed {
		for k := range args {
			if _, ok := s.props[k]; !ok {
				return fmt.Sprintf("unknown argument %q for %s (it takes: %s)", k, t.tool.Name, s.propsText)
			}
		}
	}
	for k, v := range args {
		p := s.props[k]
		want := p.typ
		if want == "" || v == nil {
			continue
		}
		ok := true
		switch want {
		case "string":
			_, ok = v.(string)
		case "integer":
			f, isNum := v.(float64)
			ok = isNum && f == float64(int64(f))
		case "number":
			_, ok = v.(float64)
		case "boolean":
			_, ok = v.(bool)
		case "array":
			_, ok = v.([]any)
		case "object":
			_, ok = v.(map[string]any)
		}
		if !ok {
			return fmt.Sprintf("argument %q of %s must be %s, got %s", k, t.tool.Name, want, jsonType(v))
		}
		if len(p.enum) > 0 && !slices.Contains(p.enumTexts, fmt.Sprint(v)) {
			return fmt.Sprintf("argument %q of %s must be one of %v", k, t.tool.Name, p.enum)
		}
	}
	return ""
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "null"
}

// toolError turns a failure into a result the model can act on.
func toolError(t *toolDef, err error) *mcpgo.CallToolResult {
	var ce *connectors.Error
	msg := connectors.RedactURLs(err.Error())
	if errors.As(err, &ce) {
		// The label follows the class the runtime uses (by upstream status
		// when there is one): a model must not retry what cannot succeed.
		class, _ := connectors.Classify(err)
		switch {
		case ce.Status == 404:
			msg += " (not found: check the identifier; retrying will not help)"
		case ce.Status == 401 || ce.Status == 403:
			msg += " (the connection's credentials were refused; the operator must fix the connection; retrying will not help)"
		case ce.Status == 429:
			msg += " (rate limited: temporary, retrying later may work)"
		case class == connectors.Retryable:
			msg += " (temporary: retrying later may work)"
		case ce.Status >= 400 && ce.Status < 500:
			msg += " (the upstream rejected the arguments: permanent, retrying the same call will not help)"
		case class == connectors.Permanent:
			msg += " (permanent: retrying the same call will not help)"
		}
		if ce.Body != nil {
			if b := mustJSON(ce.Body); len(b) < 2000 {
				msg += "; upstream said: " + string(b)
			}
		}
	}
	return mcpgo.NewToolResultError(t.tool.Name + ": " + msg)
}

// result shapes a successful output: structured content when the tool
// declares an object output schema, and text, cut at MaxTextBytes.
func (g *Gateway) result(t *toolDef, out any) *mcpgo.CallToolResult {
	if r, ok := out.(*mcpconn.ToolResult); ok {
		// A federated tool's plain text result: the upstream's texts as
		// they came, within the same bound as any text.
		if r.Size <= MaxTextBytes {
			res := &mcpgo.CallToolResult{Content: make([]mcpgo.Content, len(r.Texts))}
			for i, s := range r.Texts {
				res.Content[i] = mcpgo.NewTextContent(s)
			}
			return res
		}
		out = r.Value()
	}
	if m, ok := out.(map[string]any); ok && m["body_encoding"] == "base64" {
		// Binary upstream bodies (an image, a PDF) become an embedded
		// resource, not text in the model's context.
		ct := "application/octet-stream"
		if h, ok := m["headers"].(map[string]any); ok {
			if v, ok := h["content-type"].(string); ok && v != "" {
				ct = strings.TrimSpace(strings.SplitN(v, ";", 2)[0])
			}
		}
		blob, _ := m["body"].(string)
		note := fmt.Sprintf("%s returned a binary body (%s, %d bytes base64), attached as a resource.", t.tool.Name, ct, len(blob))
		return &mcpgo.CallToolResult{Content: []mcpgo.Content{mcpgo.NewTextContent(note),
			mcpgo.NewEmbeddedResource(mcpgo.BlobResourceContents{URI: "weft://results/" + t.tool.Name, MIMEType: ct, Blob: blob})}}
	}
	structured := out
	if m, ok := out.(map[string]any); ok && t.connection != "" {
		// Imported operations return the HTTP envelope; their schema is the body's.
		if _, hasBody := m["body"]; hasBody && !strings.Contains(string(t.tool.RawOutputSchema), `"headers"`) {
			structured = m["body"]
		}
	}
	text := mustJSON(structured)
	res := &mcpgo.CallToolResult{}
	if len(text) > MaxTextBytes {
		note := fmt.Sprintf("\n[truncated: the result is %d bytes; showing the first %d. Ask for less: filters, a smaller limit, or one page at a time (fetch_all off).]", len(text), MaxTextBytes)
		res.Content = []mcpgo.Content{mcpgo.NewTextContent(string(text[:MaxTextBytes]) + note)}
		return res
	}
	res.Content = []mcpgo.Content{mcpgo.NewTextContent(string(text))}
	if _, isObj := structured.(map[string]any); isObj && t.output {
		res.StructuredContent = structured
	}
	return res
}

// callFlow runs a flow synchronously, reporting progress while it runs.
func (g *Gateway) callFlow(ctx context.Context, s *served, t *toolDef, req mcpgo.CallToolRequest, args map[string]any, tc engine.ToolCall, start time.Time) (*mcpgo.CallToolResult, error) {
	var token mcpgo.ProgressToken
	if req.Params.Meta != nil {
		token = req.Params.Meta.ProgressToken
	}
	done := make(chan struct{})
	if token != nil {
		go func() {
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			n := 0
			for {
				select {
				case <-done:
					return
				case <-ctx.Done():
					return
				case <-tick.C:
					n++
					_ = s.srv.SendNotificationToClient(ctx, string(mcpgo.MethodNotificationProgress), map[string]any{
						"progressToken": token, "progress": n, "message": fmt.Sprintf("flow %s running (%.1fs)", t.flow, time.Since(start).Seconds())})
				}
			}
		}()
	}
	res, err := g.e.Trigger(ctx, engine.Event{Flow: t.flow, Kind: "mcp", Body: args})
	close(done)
	if err != nil {
		if weft.Code(err) == weft.ECanceled || ctx.Err() != nil {
			return mcpgo.NewToolResultError("flow " + t.flow + " was canceled"), nil
		}
		return mcpgo.NewToolResultError(fmt.Sprintf("flow %s: %v", t.flow, err)), nil
	}
	if res.Run != nil && res.Run.Status != store.RunSucceeded {
		return mcpgo.NewToolResultError(fmt.Sprintf("flow %s run %s %s at step %s: %s", t.flow, res.Run.ID, res.Run.Status, res.Run.FailedStep, res.Run.ErrorMessage)), nil
	}
	var body any = map[string]any{"run_id": res.Run.ID, "status": res.Run.Status}
	if res.Response != nil {
		body = res.Response.Body
	}
	out := g.result(&toolDef{tool: t.tool}, body)
	if m, ok := body.(map[string]any); ok {
		out.StructuredContent = m
	}
	return out, nil
}

// Reach runs a tool on the agent of a site (agent.ControlPlane).
type Reach interface {
	CallSite(ctx context.Context, p *flow.Placement, call agent.Call, timeout time.Duration) (any, error)
}

// SetReach lets the gateway run tools placed on sites through their
// agents' links (MCP reach-in).
func (g *Gateway) SetReach(r Reach) { g.reach.Store(&r) }

// callSite runs a tool placed on a site through its agent: the key, policy
// and argument checks were made here, and the call is in this gateway's
// log as well as the site's.
func (g *Gateway) callSite(ctx context.Context, s *served, t *toolDef, args map[string]any, tc engine.ToolCall, start time.Time) (*mcpgo.CallToolResult, error) {
	r := g.reach.Load()
	if r == nil {
		err := weft.Errorf(weft.EUnavailable, "tool %s runs on the agent of %s, and this gateway has no agents' link", t.tool.Name, t.placement)
		g.e.RecordToolCall(tc, start, nil, err)
		return mcpgo.NewToolResultError(err.Error()), nil
	}
	out, err := (*r).CallSite(ctx, t.placement, agent.Call{Flow: t.flow, Connection: t.connection, Operation: t.operation, Args: args,
		Tool: t.tool.Name, Toolset: s.def.Name, Caller: tc.Caller}, 0)
	g.e.RecordToolCall(tc, start, out, err)
	if err != nil {
		if t.flow != "" {
			return mcpgo.NewToolResultError(fmt.Sprintf("flow %s: %s", t.flow, weft.Message(err))), nil
		}
		return mcpgo.NewToolResultError(t.tool.Name + ": " + weft.Message(err)), nil
	}
	res := g.result(t, out)
	if m, ok := out.(map[string]any); ok && t.flow != "" && len(mustJSON(m)) <= MaxTextBytes {
		res.StructuredContent = m
	}
	return res, nil
}
