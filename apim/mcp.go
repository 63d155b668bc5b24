package apim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/weftio/weft"
)

// MCPPath is where a product version offered over MCP (mcp: true) serves
// its toolset, under the version's URL.
const MCPPath = "/mcp"

// A product version offered to agents is an MCP toolset with one tool
// per route. A tool's arguments are the route's request in four parts,
// each present when the route declares it:
//
//	{"path": {"id": "42"}, "query": {"expand": true}, "headers": {"X-Tenant": "acme"}, "body": {…}}
//
// A call becomes the HTTP request it describes and is served as one (the
// gateway does that): authenticated with the consumer's credential,
// counted against its plan, validated against the route's schemas and
// run, so nothing about a call differs from the same call over HTTP.

// Tool is one route offered as an MCP tool.
type Tool struct {
	Name        string
	Description string
	InputSchema map[string]any
	ReadOnly    bool // GET
	Route       *Route
}

// MaxToolArgBytes bounds a tool call's arguments, as JSON (the body
// among them is bounded again by the server's max_body_bytes).
const MaxToolArgBytes = 4 << 20

// Tools are the version's routes as MCP tools, in route order. Names are
// the routes' operationIds in the OpenAPI document (the flow's name with
// '-' as '_'); a name two routes would share gets the later one's method
// and position appended.
func (rs *Routes) Tools() []Tool {
	out := make([]Tool, 0, len(rs.List))
	seen := map[string]bool{}
	for i, rt := range rs.List {
		name := operationID(rt.Flow)
		if seen[name] {
			name = fmt.Sprintf("%s_%s_%d", name, strings.ToLower(rt.API.Method), i)
		}
		seen[name] = true
		desc := rt.API.Method + " " + rt.API.Path
		if rt.API.Summary != "" {
			desc = rt.API.Summary + " (" + desc + ")"
		}
		desc += " of API product " + rs.Product.Name + " " + rs.Version.Name + ". Arguments: " + argsHelp(rt) +
			" Calls count against your plan's rate limit and quotas like HTTP calls."
		if rs.Version.Deprecated() {
			desc += " This version is deprecated"
			if rs.Version.Successor != "" {
				desc += "; use " + rs.Version.Successor
			}
			desc += "."
		}
		out = append(out, Tool{Name: name, Description: desc, InputSchema: inputSchema(rt), ReadOnly: rt.API.Method == http.MethodGet, Route: rt})
	}
	return out
}

func argsHelp(rt *Route) string {
	var parts []string
	r := rt.API.Request
	if len(rt.API.Params) > 0 {
		parts = append(parts, "path (the path parameters "+strings.Join(rt.API.Params, ", ")+")")
	}
	if r.Query != nil {
		parts = append(parts, "query (the query parameters)")
	}
	if r.Headers != nil {
		parts = append(parts, "headers (the request headers the route takes)")
	}
	if r.Body != nil || rt.API.Method != http.MethodGet && rt.API.Method != http.MethodDelete {
		parts = append(parts, "body (the JSON request body)")
	}
	if len(parts) == 0 {
		return "none."
	}
	return strings.Join(parts, ", ") + "."
}

// inputSchema is a route's request as one JSON Schema object: the
// route's own schemas under path, query, headers and body, their $defs
// moved to the top (references rewritten) so that they still resolve.
func inputSchema(rt *Route) map[string]any {
	props := map[string]any{}
	defs := map[string]any{}
	var required []any
	place := func(name string, doc map[string]any) map[string]any {
		comps := map[string]any{}
		sub := hoist(doc, name, comps)
		toDefs := func(ref string) string {
			if rest, ok := strings.CutPrefix(ref, "#/components/schemas/"); ok {
				return "#/$defs/" + rest
			}
			return ref
		}
		for k, v := range comps {
			defs[k] = rewriteRefs(v, toDefs)
		}
		sub = rewriteRefs(sub, toDefs).(map[string]any)
		if refersTo(sub, "#/$defs/"+name) {
			defs[name] = sub // the schema refers to itself ("#")
		}
		return sub
	}
	r := rt.API.Request
	if len(rt.API.Params) > 0 {
		var doc map[string]any
		if r.Path != nil {
			doc = place("path", r.Path.Doc)
		} else {
			ps := map[string]any{}
			for _, p := range rt.API.Params {
				ps[p] = map[string]any{"type": "string"}
			}
			doc = map[string]any{"type": "object", "properties": ps}
		}
		req := make([]any, 0, len(rt.API.Params))
		for _, p := range rt.API.Params {
			req = append(req, p)
		}
		doc["required"] = req
		props["path"] = doc
		required = append(required, "path")
	}
	if r.Query != nil {
		props["query"] = place("query", r.Query.Doc)
		if hasRequired(r.Query.Doc) {
			required = append(required, "query")
		}
	}
	if r.Headers != nil {
		props["headers"] = place("headers", r.Headers.Doc)
		if hasRequired(r.Headers.Doc) {
			required = append(required, "headers")
		}
	}
	if r.Body != nil {
		props["body"] = place("body", r.Body.Doc)
		required = append(required, "body")
	} else if rt.API.Method != http.MethodGet && rt.API.Method != http.MethodDelete {
		props["body"] = map[string]any{"description": "the JSON request body"}
	}
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		out["required"] = required
	}
	if len(defs) > 0 {
		out["$defs"] = defs
	}
	return out
}

func hasRequired(doc map[string]any) bool {
	rs, _ := doc["required"].([]any)
	return len(rs) > 0
}

func refersTo(v any, ref string) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" && (s == ref || strings.HasPrefix(s, ref+"/")) {
				return true
			}
			if refersTo(e, ref) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if refersTo(e, ref) {
				return true
			}
		}
	}
	return false
}

// ToolRequest is the HTTP request a tool call describes: the route's
// method, the path after the version (parameters escaped), the query,
// the headers the route declares, and the body as JSON (nil: none).
type ToolRequest struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Request builds the HTTP request of a tool call from its arguments.
// The arguments' shape is checked here (what the URL needs); their
// values are the route's schemas' to check, as for an HTTP call. Only
// the headers the route's headers schema names may be set: a tool's
// caller never sets the credential, the consumer or a hop's headers.
func (t *Tool) Request(args map[string]any) (*ToolRequest, error) {
	rt := t.Route
	bad := func(format string, a ...any) error {
		return weft.Errorf(weft.EInvalid, "arguments of %s: "+format, append([]any{t.Name}, a...)...)
	}
	for k := range args {
		if !slices.Contains([]string{"path", "query", "headers", "body"}, k) {
			return nil, bad("unknown argument %q (the arguments are path, query, headers and body)", clip(k, 40))
		}
	}
	obj := func(k string) (map[string]any, error) {
		v, ok := args[k]
		if !ok || v == nil {
			return nil, nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, bad("%s must be an object", k)
		}
		return m, nil
	}
	tr := &ToolRequest{Method: rt.API.Method, Query: url.Values{}, Header: http.Header{}}
	path, err := obj("path")
	if err != nil {
		return nil, err
	}
	for k := range path {
		if !slices.Contains(rt.API.Params, k) {
			return nil, bad("path has no parameter %q (it has: %s)", clip(k, 40), strings.Join(rt.API.Params, ", "))
		}
	}
	segs := strings.Split(rt.API.Path, "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
		v, ok := path[name]
		if !ok {
			return nil, bad("path.%s is required", name)
		}
		str, ok := argText(v)
		if !ok || str == "" {
			return nil, bad("path.%s must be a non-empty string, number or boolean", name)
		}
		segs[i] = url.PathEscape(str)
	}
	tr.Path = strings.Join(segs, "/")
	query, err := obj("query")
	if err != nil {
		return nil, err
	}
	for k, v := range query {
		if xs, ok := v.([]any); ok {
			for _, x := range xs {
				s, ok := argText(x)
				if !ok {
					return nil, bad("query.%s: an array of strings, numbers or booleans", clip(k, 40))
				}
				tr.Query.Add(k, s)
			}
			continue
		}
		s, ok := argText(v)
		if !ok {
			return nil, bad("query.%s must be a string, number, boolean or an array of them", clip(k, 40))
		}
		tr.Query.Set(k, s)
	}
	headers, err := obj("headers")
	if err != nil {
		return nil, err
	}
	declared := rt.HeaderNames()
	for k, v := range headers {
		i := slices.IndexFunc(declared, func(d string) bool { return strings.EqualFold(d, k) })
		if i < 0 {
			return nil, bad("headers.%s is not a header this route takes (it takes: %s)", clip(k, 40), strings.Join(declared, ", "))
		}
		s, ok := argText(v)
		if !ok || strings.ContainsAny(s, "\r\n\x00") {
			return nil, bad("headers.%s must be a one-line string, number or boolean", declared[i])
		}
		tr.Header.Set(declared[i], s)
	}
	if b, ok := args["body"]; ok && b != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(b); err != nil {
			return nil, bad("body: %v", err)
		}
		tr.Body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		tr.Header.Set("Content-Type", "application/json")
	}
	return tr, nil
}

// argText is a string, number or boolean argument as its text.
func argText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case json.Number:
		return x.String(), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}
