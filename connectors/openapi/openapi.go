// Package openapi turns an OpenAPI 3.x (or Swagger 2.0) document into a
// Weft connector: one operation per API operation, its parameters and JSON
// body flattened into one input schema, its 2xx JSON response as the
// output schema, and hints from the HTTP method refined by the operation's
// words (hints.yaml) and its x-weft-annotations. Calls go through the
// built-in http connector, so they get its address guard, error classes,
// Retry-After and idempotency keys.
package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/internal/lazy"
)

// Rejection is an operation that could not be imported, and why.
type Rejection struct {
	Operation string `json:"operation"`
	Reason    string `json:"reason"`
}

// Report says what an import did.
type Report struct {
	Title      string        `json:"title"`
	Version    string        `json:"version"`
	Imported   int           `json:"imported"`
	Rejected   []Rejection   `json:"rejected,omitempty"`
	BaseURL    string        `json:"base_url,omitempty"`
	Duration   time.Duration `json:"duration"`
	SourceKind string        `json:"source_kind"` // openapi-3.0, openapi-3.1, swagger-2.0
	// Auth suggests the connection auth for each security scheme the
	// document declares (configure it on the connection).
	Auth map[string]*connectors.Auth `json:"auth,omitempty"`
}

// Import builds connector name from spec. request is the http connector's
// request operation that imported operations call through.
func Import(name string, spec []byte, request *connectors.Operation) (*connectors.Connector, *Report, error) {
	start := time.Now()
	doc, kind, err := load(spec)
	if err != nil {
		return nil, nil, err
	}
	rep := &Report{SourceKind: kind}
	if doc.Info != nil {
		rep.Title, rep.Version = doc.Info.Title, doc.Info.Version
	}
	if len(doc.Servers) > 0 && doc.Servers[0] != nil {
		rep.BaseURL = serverURL(doc.Servers[0])
	}
	rep.Auth = suggestAuth(doc)
	c := &connectors.Connector{Name: name, Title: rep.Title, Version: rep.Version, Description: "Imported from OpenAPI: " + rep.Title}
	if doc.Info != nil && doc.Info.Description != "" {
		c.Description = firstLine(doc.Info.Description)
	}
	used := map[string]bool{}
	var paths []string
	if doc.Paths != nil {
		for p := range doc.Paths.Map() {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		item := doc.Paths.Value(p)
		if item == nil { // "/x": null
			rep.Rejected = append(rep.Rejected, Rejection{Operation: p, Reason: "the path has no operations (null)"})
			continue
		}
		methods := make([]string, 0, 8)
		for m := range item.Operations() {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		for _, m := range methods {
			op := item.Operations()[m]
			o, pg, err := operation(m, p, item, op, request, rep.BaseURL)
			label := strings.ToUpper(m) + " " + p
			if err != nil {
				rep.Rejected = append(rep.Rejected, Rejection{Operation: label, Reason: err.Error()})
				continue
			}
			o.Name = uniqueName(o.Name, m, p, used)
			c.Operations = append(c.Operations, o)
			if t := listTrigger(o, pg); t != nil {
				c.Triggers = append(c.Triggers, *t)
			}
		}
	}
	rep.Imported = len(c.Operations)
	rep.Duration = time.Since(start)
	return c, rep, nil
}

// limits bound a spec before anything decodes it. Its size is the
// caller's to bound (the API's max_import_bytes, an operator's file), so
// only structure is limited here: GitHub's spec nests about 30 levels,
// and specs rarely use YAML aliases at all.
var limits = bounded.Limits{MaxBytes: 1 << 40, MaxDepth: 256, MaxNodes: 1 << 25, MaxAliasNodes: 100000, MaxAliasBytes: 16 << 20}

var openapi3Version = lazy.NewRegexp(`^3\.[0-9]+(\.[0-9]+)?(-.*)?$`)

func load(spec []byte) (*openapi3.T, string, error) {
	// A YAML spec becomes JSON here, within the limits, so kin-openapi
	// only ever decodes JSON that has passed them (its own YAML path would
	// expand aliases without a budget).
	spec, err := asJSON(spec)
	if err != nil {
		return nil, "", err
	}
	var probe struct {
		Swagger string `json:"swagger"`
		OpenAPI string `json:"openapi"`
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	if err := json.Unmarshal(spec, &probe); err != nil {
		return nil, "", fmt.Errorf("spec is not a JSON or YAML object: %v", err)
	}
	switch {
	case strings.HasPrefix(probe.Swagger, "2"):
		var d2 openapi2.T
		if err := json.Unmarshal(spec, &d2); err != nil {
			return nil, "", fmt.Errorf("swagger 2.0: %v", err)
		}
		d3, err := openapi2conv.ToV3(&d2)
		if err != nil {
			return nil, "", fmt.Errorf("converting swagger 2.0: %v", err)
		}
		if err := loader.ResolveRefsIn(d3, nil); err != nil {
			return nil, "", fmt.Errorf("swagger 2.0 refs: %v", err)
		}
		return d3, "swagger-2.0", nil
	case strings.HasPrefix(probe.OpenAPI, "3"):
		if !openapi3Version.MatchString(probe.OpenAPI) {
			return nil, "", fmt.Errorf("openapi version %q is not 3.<minor>[.<patch>]", probe.OpenAPI)
		}
		// Decode directly (several times faster on large specs than the
		// loader's YAML path), then resolve refs as the loader would.
		doc := &openapi3.T{}
		if err := json.Unmarshal(spec, doc); err != nil {
			return nil, "", fmt.Errorf("openapi %s: %v", probe.OpenAPI, err)
		}
		if err := loader.ResolveRefsIn(doc, nil); err != nil {
			return nil, "", fmt.Errorf("openapi %s: %v", probe.OpenAPI, err)
		}
		return doc, "openapi-" + probe.OpenAPI[:3], nil
	}
	return nil, "", fmt.Errorf("not an OpenAPI 3.x or Swagger 2.0 document (no openapi or swagger version field)")
}

func serverURL(s *openapi3.Server) string {
	u := s.URL
	for name, v := range s.Variables {
		if v != nil {
			u = strings.ReplaceAll(u, "{"+name+"}", v.Default)
		}
	}
	return strings.TrimRight(u, "/")
}

var nameRe = lazy.NewRegexp(`[^A-Za-z0-9-]+`) // runs of anything else (underscores too) become one "_"

// MaxNameLen bounds operation names (and MCP tool names).
const MaxNameLen = 64

// toolName makes a stable, valid MCP tool name (letters, digits, _ and -,
// at most 64 characters) from an operationId or method and path. A longer
// name is cut and given a short hash of the whole name, so two long names
// that share their first 64 characters stay two names.
func toolName(method, path string, op *openapi3.Operation) string {
	n := op.OperationID
	if n == "" {
		n = strings.ToLower(method) + "_" + strings.NewReplacer("{", "by_", "}", "").Replace(path)
	}
	n = strings.Trim(nameRe.ReplaceAllString(n, "_"), "_-")
	if n == "" {
		n = strings.ToLower(method)
	}
	return connectors.ShortName(n, n, MaxNameLen)
}

// uniqueName returns n, or, when an earlier operation took n (a repeated
// operationId, two ids that clean to one name), n with a short hash of
// the operation's method and path: stable whatever the order of the
// document, and never the same for two operations.
func uniqueName(n, method, path string, used map[string]bool) string {
	if !used[n] {
		used[n] = true
		return n
	}
	id := strings.ToUpper(method) + " " + path
	for i := 0; ; i++ {
		key := id
		if i > 0 {
			key = fmt.Sprintf("%s#%d", id, i)
		}
		c := connectors.ShortName(n+"_"+connectors.NameHash(key), n+"\x00"+key, MaxNameLen)
		if !used[c] {
			used[c] = true
			return c
		}
	}
}

// param is where one flattened input property goes in the request.
type param struct {
	in   string // path, query, header, body (a body property), rawbody (the whole body)
	name string // the name in the request
}

func operation(method, path string, item *openapi3.PathItem, op *openapi3.Operation, request *connectors.Operation, base string) (*connectors.Operation, *paging, error) {
	props := map[string]any{}
	var required []any
	where := map[string]param{}
	add := func(key string, p param, schema map[string]any, req bool) {
		if _, taken := where[key]; taken {
			key = p.in + "_" + key
		}
		where[key] = p
		props[key] = schema
		if req {
			required = append(required, key)
		}
	}
	params := map[string]*openapi3.Parameter{}
	for _, list := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, pr := range list {
			if pr == nil || pr.Value == nil {
				return nil, nil, fmt.Errorf("unresolved parameter %s", refName(pr))
			}
			params[pr.Value.In+":"+pr.Value.Name] = pr.Value // operation-level overrides path-level
		}
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := params[k]
		if p.In == "cookie" {
			continue
		}
		s := schemaMap(p.Schema, newWalk(), 0)
		if p.Description != "" {
			s["description"] = p.Description
		}
		add(p.Name, param{in: p.In, name: p.Name}, s, p.Required || p.In == "path")
	}
	if rb := op.RequestBody; rb != nil && rb.Value != nil {
		mt, where := jsonMedia(rb.Value.Content), "body"
		if mt == nil {
			if mt = rb.Value.Content.Get("application/x-www-form-urlencoded"); mt != nil {
				where = "form"
			} else if mt = rb.Value.Content.Get("multipart/form-data"); mt != nil {
				where = "multipart"
			}
		}
		if mt == nil {
			if types := mediaTypes(rb.Value.Content); len(types) > 0 {
				// Anything else (application/octet-stream, text/csv, image/*):
				// the caller gives the bytes.
				add("body", param{in: "raw", name: types[0]}, map[string]any{"type": "object", "description": "the request body (" + strings.Join(types, ", ") + ")",
					"properties": map[string]any{"content": map[string]any{"type": "string"}, "content_base64": map[string]any{"type": "string"},
						"content_type": map[string]any{"type": "string", "default": types[0]}}}, rb.Value.Required)
			}
		} else {
			body := flattenAllOf(schemaMap(mt.Schema, newWalk(), 0))
			bp, _ := body["properties"].(map[string]any)
			if where != "body" && len(bp) == 0 {
				// An empty form (Stripe declares one on every GET): nothing to send.
			} else if (body["type"] == "object" || where != "body") && len(bp) > 0 {
				req := map[string]bool{}
				if r, ok := body["required"].([]any); ok {
					for _, x := range r {
						req[fmt.Sprint(x)] = true
					}
				}
				names := make([]string, 0, len(bp))
				for n := range bp {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					ps := asMap(bp[n])
					if where == "multipart" && (ps["format"] == "binary" || ps["format"] == "byte") {
						ps = fileSchema(ps)
					}
					add(n, param{in: where, name: n}, ps, req[n] && rb.Value.Required)
				}
			} else {
				add("body", param{in: "rawbody"}, body, rb.Value.Required)
			}
		}
	}
	input := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		input["required"] = required
	}
	var output map[string]any
	if op.Responses != nil {
		codes := make([]string, 0)
		for code := range op.Responses.Map() {
			if strings.HasPrefix(code, "2") {
				codes = append(codes, code)
			}
		}
		sort.Strings(codes)
		for _, code := range codes {
			if r := op.Responses.Value(code); r != nil && r.Value != nil {
				if mt := jsonMedia(r.Value.Content); mt != nil {
					output = schemaMap(mt.Schema, newWalk(), 0)
					break
				}
			}
		}
	}
	m := strings.ToUpper(method)
	hints, err := operationHints(method, path, op)
	if err != nil {
		return nil, nil, err
	}
	desc := strings.TrimSpace(op.Summary)
	if op.Description != "" {
		if desc != "" {
			desc += ". "
		}
		desc += firstLine(op.Description)
	}
	if desc == "" {
		desc = m + " " + path
	}
	paging := detectPaging(m, params, output)
	if paging != nil {
		props["fetch_all"] = map[string]any{"type": "boolean", "description": "fetch every page (" + paging.Style + " paging) and return the items together"}
		props["max_items"] = map[string]any{"type": "integer", "minimum": 1, "description": "with fetch_all: stop after this many items (default 10000)"}
	}
	// A declared 202 (or Azure's x-ms-long-running-operation) makes the
	// call a long-running operation: the http connector polls its
	// Operation-Location / Location until it ends, unless wait is false.
	waitKey := ""
	if longRunning(op) {
		waitKey = "wait"
		for where[waitKey].in != "" {
			waitKey = "weft_" + waitKey
		}
		props[waitKey] = map[string]any{"type": "boolean", "default": true,
			"description": "on 202 Accepted, poll the operation (Operation-Location or Location, Retry-After honoured) until it succeeds, fails or is canceled"}
	}
	o := &connectors.Operation{Name: toolName(method, path, op), Title: op.Summary, Description: desc, Input: input, Output: output, Hints: hints, Tags: op.Tags}
	o.Invoke = func(ctx context.Context, call connectors.Call) (any, error) {
		in := map[string]any{"method": m}
		u := path
		query := map[string]any{}
		headers := map[string]any{}
		body := map[string]any{}
		form := map[string]any{}
		parts := map[string]any{}
		var raw any
		var rawBody map[string]any
		fetchAll, _ := call.Input["fetch_all"].(bool)
		for k, v := range call.Input {
			if paging != nil && (k == "fetch_all" || k == "max_items") {
				continue
			}
			if waitKey != "" && k == waitKey {
				continue
			}
			p, ok := where[k]
			if !ok {
				return nil, &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf("%s: unknown input %q", o.Name, k)}
			}
			switch p.in {
			case "path":
				u = strings.ReplaceAll(u, "{"+p.name+"}", url.PathEscape(scalar(v)))
			case "query":
				query[p.name] = v
			case "header":
				headers[p.name] = scalar(v)
			case "body":
				body[p.name] = v
			case "form":
				form[p.name] = v
			case "multipart":
				parts[p.name] = v
			case "rawbody":
				raw = v
			case "raw":
				m, _ := v.(map[string]any)
				rawBody = map[string]any{"content_type": p.name}
				for k, x := range m {
					rawBody[k] = x
				}
			}
		}
		if strings.Contains(u, "{") {
			return nil, &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf("%s: missing path parameter in %s", o.Name, u)}
		}
		in["url"] = u // relative: the connection's base_url, else the document's server (Call.BaseURL)
		if len(query) > 0 {
			in["query"] = query
		}
		if len(headers) > 0 {
			in["headers"] = headers
		}
		switch {
		case raw != nil:
			in["body"] = raw
		case len(body) > 0:
			in["body"] = body
		case len(form) > 0:
			in["form"] = form
		case len(parts) > 0:
			in["multipart"] = parts
		case rawBody != nil:
			in["raw"] = rawBody
		}
		if fetchAll && paging != nil {
			pg := map[string]any{"style": paging.Style, "items": paging.Items}
			if paging.Style == "cursor" {
				pg["cursor_param"], pg["next"] = paging.CursorParam, paging.Next
			}
			if paging.Style == "offset" {
				pg["offset_param"] = paging.OffsetParam
			}
			if paging.Style == "page" {
				pg["page_param"] = paging.PageParam
			}
			if paging.LimitParam != "" {
				pg["limit_param"] = paging.LimitParam
				if n, ok := query[paging.LimitParam]; ok {
					pg["page_size"] = n
				}
			}
			if n, ok := call.Input["max_items"]; ok {
				pg["max_items"] = n
			}
			in["paginate"] = pg
		}
		if waitKey != "" && !fetchAll {
			wait, ok := call.Input[waitKey].(bool)
			in["long_running"] = map[string]any{"poll": wait || !ok}
		}
		return request.Invoke(ctx, connectors.Call{Input: in, IdempotencyKey: call.IdempotencyKey, Connection: call.Connection, BaseURL: base, Transport: call.Transport})
	}
	return o, paging, nil
}

// longRunning reports whether an operation declares a 202 Accepted
// answer or Azure's x-ms-long-running-operation: true.
func longRunning(op *openapi3.Operation) bool {
	if v, ok := op.Extensions["x-ms-long-running-operation"].(bool); ok && v {
		return true
	}
	return op.Responses != nil && op.Responses.Value("202") != nil
}

func jsonMedia(c openapi3.Content) *openapi3.MediaType {
	for _, k := range []string{"application/json", "application/problem+json", "*/*"} {
		if mt := c.Get(k); mt != nil {
			return mt
		}
	}
	for k, mt := range c {
		if strings.Contains(k, "json") {
			return mt
		}
	}
	return nil
}

func mediaTypes(c openapi3.Content) []string {
	var out []string
	for k := range c {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func refName(r *openapi3.ParameterRef) string {
	if r == nil {
		return "(nil)"
	}
	return r.Ref
}

// maxDepth bounds schema expansion: deep and recursive schemas end in an
// open schema with a note instead of blowing up.
const maxDepth = 12

// maxNodes bounds one schema's expansion (see schemaMap).
const maxNodes = 1500

// walk is the state of one schema expansion.
type walk struct {
	seen  map[*openapi3.Schema]bool
	nodes int
}

func newWalk() *walk { return &walk{seen: map[*openapi3.Schema]bool{}} }

// schemaMap converts a resolved schema into plain JSON Schema, keeping
// allOf/oneOf/anyOf, and cutting recursion where a schema contains itself.
func schemaMap(ref *openapi3.SchemaRef, w *walk, depth int) map[string]any {
	if ref == nil || ref.Value == nil {
		return map[string]any{}
	}
	s := ref.Value
	if w.seen[s] || depth > maxDepth {
		note := "recursive"
		if ref.Ref != "" {
			note += ": " + ref.Ref
		}
		return map[string]any{"description": note}
	}
	if w.nodes > maxNodes && ref.Ref != "" {
		// Past the size budget a named schema is referred to, not
		// expanded: densely linked specs (Stripe) would otherwise grow
		// exponentially, and no tool schema should be that big.
		out := map[string]any{"description": "a " + strings.TrimPrefix(ref.Ref, "#/components/schemas/") + " (not expanded: schema too large)"}
		if s.Type != nil && len(*s.Type) == 1 {
			out["type"] = (*s.Type)[0]
		}
		return out
	}
	w.nodes++
	w.seen[s] = true
	defer delete(w.seen, s)
	out := map[string]any{}
	if s.Type != nil && len(*s.Type) > 0 {
		if len(*s.Type) == 1 {
			out["type"] = (*s.Type)[0]
		} else {
			ts := make([]any, len(*s.Type))
			for i, t := range *s.Type {
				ts[i] = t
			}
			out["type"] = ts
		}
	}
	for k, v := range map[string]string{"format": s.Format, "description": s.Description, "title": s.Title, "pattern": s.Pattern} {
		if v != "" {
			out[k] = v
		}
	}
	if len(s.Enum) > 0 {
		out["enum"] = s.Enum
	}
	if s.Default != nil {
		out["default"] = s.Default
	}
	if s.Nullable {
		out["nullable"] = true
	}
	if len(s.Properties) > 0 {
		props := map[string]any{}
		for n, p := range s.Properties {
			props[n] = schemaMap(p, w, depth+1)
		}
		out["properties"] = props
		if out["type"] == nil {
			out["type"] = "object"
		}
	}
	if len(s.Required) > 0 {
		r := make([]any, len(s.Required))
		for i, x := range s.Required {
			r[i] = x
		}
		out["required"] = r
	}
	if s.Items != nil {
		out["items"] = schemaMap(s.Items, w, depth+1)
	}
	for key, list := range map[string]openapi3.SchemaRefs{"allOf": s.AllOf, "oneOf": s.OneOf, "anyOf": s.AnyOf} {
		if len(list) > 0 {
			xs := make([]any, len(list))
			for i, x := range list {
				xs[i] = schemaMap(x, w, depth+1)
			}
			out[key] = xs
		}
	}
	if ap := s.AdditionalProperties; ap.Has != nil && !*ap.Has {
		out["additionalProperties"] = false
	} else if ap.Schema != nil {
		out["additionalProperties"] = schemaMap(ap.Schema, w, depth+1)
	}
	return out
}

func asMap(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{}
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64, int64, int, bool:
		return fmt.Sprint(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\n"); i > 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// asJSON checks a JSON spec against limits, or checks a YAML spec and
// converts it to JSON (the OpenAPI types decode from JSON).
func asJSON(data []byte) ([]byte, error) {
	if t := bytes.TrimSpace(data); len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t) {
		if err := bounded.CheckJSON("spec", data, limits); err != nil {
			return nil, err
		}
		return data, nil
	}
	var y any
	if err := bounded.UnmarshalYAML("spec", data, &y, limits); err != nil {
		return nil, err
	}
	j, err := json.Marshal(jsonable(y))
	if err != nil {
		return nil, fmt.Errorf("spec: %v", err)
	}
	return j, nil
}

func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i := range x {
			x[i] = jsonable(x[i])
		}
		return x
	}
	return v
}

// Register imports spec as connector name into cat, calling through cat's
// http.request operation. Built-in connectors cannot be replaced.
func Register(cat *connectors.Catalog, name string, spec []byte) (*Report, error) {
	return connectors.RegisterImport(cat, name, func(request *connectors.Operation) (*connectors.Connector, *Report, error) {
		return Import(name, spec, request)
	})
}

// suggestAuth maps the document's security schemes to connection auth.
func suggestAuth(doc *openapi3.T) map[string]*connectors.Auth {
	if doc.Components == nil || len(doc.Components.SecuritySchemes) == 0 {
		return nil
	}
	out := map[string]*connectors.Auth{}
	for name, ref := range doc.Components.SecuritySchemes {
		if ref == nil || ref.Value == nil {
			continue
		}
		sc := ref.Value
		switch {
		case sc.Type == "apiKey" && sc.In == "query":
			out[name] = &connectors.Auth{Type: connectors.AuthAPIKey, Query: sc.Name}
		case sc.Type == "apiKey" && sc.In == "header":
			out[name] = &connectors.Auth{Type: connectors.AuthAPIKey, Header: sc.Name}
		case sc.Type == "http" && strings.EqualFold(sc.Scheme, "basic"):
			out[name] = &connectors.Auth{Type: connectors.AuthBasic}
		case sc.Type == "http" && strings.EqualFold(sc.Scheme, "bearer"):
			out[name] = &connectors.Auth{Type: connectors.AuthBearer}
		case sc.Type == "oauth2" && sc.Flows != nil && sc.Flows.ClientCredentials != nil:
			a := &connectors.Auth{Type: connectors.AuthClientCredentials, TokenURL: sc.Flows.ClientCredentials.TokenURL}
			for s := range sc.Flows.ClientCredentials.Scopes {
				a.Scopes = append(a.Scopes, s)
			}
			sort.Strings(a.Scopes)
			out[name] = a
		case sc.Type == "oauth2" && sc.Flows != nil && sc.Flows.AuthorizationCode != nil:
			// The user authorises once (outside Weft) and gives the
			// refresh token; Weft trades it for access tokens.
			f := sc.Flows.AuthorizationCode
			a := &connectors.Auth{Type: connectors.AuthRefreshToken, TokenURL: f.TokenURL}
			if f.RefreshURL != "" {
				a.TokenURL = f.RefreshURL
			}
			for s := range f.Scopes {
				a.Scopes = append(a.Scopes, s)
			}
			sort.Strings(a.Scopes)
			out[name] = a
		}
	}
	return out
}

// fileSchema is the input shape of a binary multipart field.
func fileSchema(orig map[string]any) map[string]any {
	s := map[string]any{"type": "object", "required": []any{"filename"}, "properties": map[string]any{
		"filename": map[string]any{"type": "string"}, "content": map[string]any{"type": "string"},
		"content_base64": map[string]any{"type": "string"}, "content_type": map[string]any{"type": "string"}}}
	if d, ok := orig["description"]; ok {
		s["description"] = d
	}
	return s
}

// paging is how an imported list operation pages, guessed from its
// parameters and response shape.
type paging struct {
	Style, Items, CursorParam, Next, OffsetParam, PageParam, LimitParam string
}

var (
	cursorParams = []string{"cursor", "page_token", "pageToken", "next_token", "nextToken", "starting_after", "after", "continuation", "continuationToken", "next_cursor", "marker"}
	nextFields   = []string{"next_cursor", "nextCursor", "next_page_token", "nextPageToken", "next_token", "nextToken", "cursor", "next", "marker", "next_marker", "nextMarker"}
	offsetParams = []string{"offset", "skip", "start", "$skip"}
	pageParams   = []string{"page", "page_number", "pageNumber"}
	limitParams  = []string{"limit", "per_page", "perPage", "page_size", "pageSize", "size", "count", "max_results", "maxResults", "$top", "top"}
)

// detectPaging returns nil for operations that do not list.
func detectPaging(method string, params map[string]*openapi3.Parameter, output map[string]any) *paging {
	if method != "GET" || output == nil {
		return nil
	}
	p := &paging{}
	if output["type"] != "array" {
		props, _ := output["properties"].(map[string]any)
		var arrays []string
		for k, v := range props {
			if m, ok := v.(map[string]any); ok && m["type"] == "array" {
				arrays = append(arrays, k)
			}
		}
		if len(arrays) != 1 {
			return nil
		}
		p.Items = arrays[0]
		for _, f := range nextFields {
			if _, ok := props[f]; ok {
				p.Next = f
				break
			}
		}
	}
	q := func(names []string) string {
		for _, n := range names {
			if _, ok := params["query:"+n]; ok {
				return n
			}
		}
		return ""
	}
	p.LimitParam = q(limitParams)
	switch {
	case q(cursorParams) != "" && p.Next != "":
		p.Style, p.CursorParam = "cursor", q(cursorParams)
	case q(offsetParams) != "":
		p.Style, p.OffsetParam = "offset", q(offsetParams)
	case q(pageParams) != "":
		p.Style, p.PageParam = "page", q(pageParams)
	case p.Items == "":
		p.Style = "link" // a bare array with no paging parameters: follow Link headers if the API sends them
	default:
		return nil
	}
	return p
}

// Load parses an OpenAPI 3.x or Swagger 2.0 (converted) document with
// every $ref resolved.
func Load(spec []byte) (*openapi3.T, error) {
	doc, _, err := load(spec)
	return doc, err
}

// listTrigger declares a poll trigger for a list operation: records at the
// list in the response body, identified by id, ordered by an updated-at
// field when the item schema has one.
func listTrigger(o *connectors.Operation, pg *paging) *connectors.Trigger {
	if pg == nil || o.Output == nil {
		return nil
	}
	items := "body"
	itemSchema, _ := o.Output["items"].(map[string]any)
	if pg.Items != "" {
		items += "." + pg.Items
		props, _ := o.Output["properties"].(map[string]any)
		list, _ := props[pg.Items].(map[string]any)
		itemSchema, _ = list["items"].(map[string]any)
	}
	fields := map[string]bool{}
	collect(itemSchema, fields, 0)
	t := &connectors.Trigger{Name: o.Name, Operation: o.Name, Items: items,
		Description: "New or updated records of " + o.Name}
	if fields["id"] {
		t.Key = "id"
	}
	for _, f := range []string{"updated_at", "updatedAt", "modified_at", "modifiedAt", "last_modified", "updated", "created_at", "createdAt", "id"} {
		if fields[f] {
			t.Cursor = f
			break
		}
	}
	return t
}

// collect gathers property names of an object schema, through allOf.
func collect(s map[string]any, into map[string]bool, depth int) {
	if s == nil || depth > 5 {
		return
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for k := range props {
			into[k] = true
		}
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			m, _ := sub.(map[string]any)
			collect(m, into, depth+1)
		}
	}
}

// flattenAllOf merges an allOf of object schemas (a common way to say
// "Thing plus required fields") into one object schema, so its fields
// become separate inputs. Anything else is returned as is.
func flattenAllOf(s map[string]any) map[string]any {
	all, ok := s["allOf"].([]any)
	if !ok || len(all) == 0 {
		return s
	}
	props := map[string]any{}
	var req []any
	seen := map[string]bool{}
	for _, sub := range all {
		m, _ := sub.(map[string]any)
		if m == nil {
			return s
		}
		m = flattenAllOf(m)
		if t, ok := m["type"]; ok && t != "object" {
			return s
		}
		if p, ok := m["properties"].(map[string]any); ok {
			for k, v := range p {
				props[k] = v
			}
		}
		if r, ok := m["required"].([]any); ok {
			for _, x := range r {
				if k := fmt.Sprint(x); !seen[k] {
					seen[k] = true
					req = append(req, x)
				}
			}
		}
	}
	if p, ok := s["properties"].(map[string]any); ok {
		for k, v := range p {
			props[k] = v
		}
	}
	out := map[string]any{"type": "object", "properties": props}
	if len(req) > 0 {
		out["required"] = req
	}
	if d, ok := s["description"]; ok {
		out["description"] = d
	}
	return out
}
