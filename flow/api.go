package flow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/weftio/weft/internal/lazy"
	"gopkg.in/yaml.v3"
)

// APITrigger publishes a flow as one route of an API product: a method and
// a path template (GET /orders/{id}) with JSON Schemas for the request's
// path parameters, query, headers and body, and for the response body per
// status. A request that does not match is refused before a run starts
// (apim validates it); the route is served only through a product version
// that pins this flow version.
type APITrigger struct {
	Method    string                 `json:"method"`           // GET, POST, PUT, PATCH or DELETE
	Path      string                 `json:"path"`             // /orders/{id}: literal segments and whole-segment {params}
	Params    []string               `json:"params,omitempty"` // the path's parameter names, in order
	Summary   string                 `json:"summary,omitempty"`
	Request   APIRequest             `json:"request,omitempty"`
	Responses map[string]*JSONSchema `json:"responses,omitempty"` // status ("200", "404", "default") -> body schema

	Pos string `json:"-"` // file:line:col of the api block
}

// APIRequest holds a route's request schemas; each is optional. Path,
// Query and Headers describe objects whose properties are the parameters
// (values arrive as strings and are read as the property's type first:
// integer, number, boolean).
type APIRequest struct {
	Path    *JSONSchema `json:"path,omitempty"`
	Query   *JSONSchema `json:"query,omitempty"`
	Headers *JSONSchema `json:"headers,omitempty"`
	Body    *JSONSchema `json:"body,omitempty"`
}

// JSONSchema is a JSON Schema (draft 2020-12) as written in a flow, compiled
// once at parse time.
type JSONSchema struct {
	Doc map[string]any

	compiled *jsonschema.Schema
}

// MarshalJSON writes the schema document.
func (s *JSONSchema) MarshalJSON() ([]byte, error) { return json.Marshal(s.Doc) }

// Validate checks v against the schema; the error is a
// *jsonschema.ValidationError, or nil.
func (s *JSONSchema) Validate(v any) error {
	if s == nil || s.compiled == nil {
		return nil
	}
	return s.compiled.Validate(v)
}

// CompileSchema compiles a JSON Schema document. References may point only
// inside the document: nothing is loaded from files or the network.
func CompileSchema(doc map[string]any) (*JSONSchema, error) {
	// Round-trip through JSON so YAML-decoded numbers and maps are plain.
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("not a JSON value: %v", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(jsonschema.SchemeURLLoader{}) // no file or network loads
	const url = "weft:///schema.json"
	if err := c.AddResource(url, v); err != nil {
		return nil, err
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, err
	}
	return &JSONSchema{Doc: doc, compiled: sch}, nil
}

// API route limits: a path template and its parameters stay small.
const (
	MaxAPIPathLen   = 512
	MaxAPIParams    = 16
	MaxAPIResponses = 32
)

// APIMethods are the methods a route may take.
var APIMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

var (
	apiLiteralRe = lazy.NewRegexp(`^[A-Za-z0-9._~-]+$`)
	apiParamRe   = lazy.NewRegexp(`^\{([A-Za-z_][A-Za-z0-9_]{0,63})\}$`)
)

// ParseAPIPath checks a path template and returns its parameter names:
// "/" or "/seg/…" where each segment is a literal (letters, digits, . _ ~ -)
// or a whole-segment parameter {name}; no empty segment, no trailing slash.
func ParseAPIPath(path string) ([]string, error) {
	if path == "" || path[0] != '/' {
		return nil, fmt.Errorf("path %q must start with /", clipStr(path, 80))
	}
	if len(path) > MaxAPIPathLen {
		return nil, fmt.Errorf("path is %d characters; the limit is %d", len(path), MaxAPIPathLen)
	}
	if path == "/" {
		return nil, nil
	}
	var params []string
	for _, seg := range strings.Split(path[1:], "/") {
		if m := apiParamRe.FindStringSubmatch(seg); m != nil {
			if slices.Contains(params, m[1]) {
				return nil, fmt.Errorf("path %q names parameter {%s} twice", path, m[1])
			}
			params = append(params, m[1])
			continue
		}
		switch {
		case seg == "":
			return nil, fmt.Errorf("path %q has an empty segment (// or a trailing /)", path)
		case strings.ContainsAny(seg, "{}"):
			return nil, fmt.Errorf("path %q: segment %q: a parameter is a whole segment {name} (a letter or _ then letters, digits, _)", path, clipStr(seg, 80))
		case !apiLiteralRe.MatchString(seg):
			return nil, fmt.Errorf("path %q: segment %q may hold only letters, digits and . _ ~ -", path, clipStr(seg, 80))
		}
	}
	if len(params) > MaxAPIParams {
		return nil, fmt.Errorf("path has %d parameters; the limit is %d", len(params), MaxAPIParams)
	}
	return params, nil
}

func clipStr(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// apiTrigger parses trigger.api.
func (p *parser) apiTrigger(v *yaml.Node) *APITrigger {
	a := &APITrigger{Pos: p.pos(v)}
	m := p.fields(v, "api trigger", "method", "path", "summary", "request", "responses")
	a.Method = strings.ToUpper(p.str(m["method"], "api.method"))
	switch {
	case m["method"] == nil:
		p.errf(v, "api trigger needs method: one of %s", strings.Join(APIMethods, ", "))
	case !slices.Contains(APIMethods, a.Method):
		p.errf(m["method"], "api.method must be one of %s, got %q", strings.Join(APIMethods, ", "), clipStr(m["method"].Value, 40))
	}
	a.Path = p.str(m["path"], "api.path")
	if m["path"] == nil {
		p.errf(v, "api trigger needs path: a path template such as /orders/{id}")
	} else if params, err := ParseAPIPath(a.Path); err != nil {
		p.errf(m["path"], "api.path: %v", err)
	} else {
		a.Params = params
	}
	a.Summary = p.str(m["summary"], "api.summary")
	if n := m["request"]; n != nil {
		rm := p.fields(n, "api.request", "path", "query", "headers", "body")
		a.Request.Path = p.schema(rm["path"], "api.request.path", true)
		a.Request.Query = p.schema(rm["query"], "api.request.query", true)
		a.Request.Headers = p.schema(rm["headers"], "api.request.headers", true)
		a.Request.Body = p.schema(rm["body"], "api.request.body", false)
		if a.Request.Path != nil && m["path"] != nil {
			props, _ := a.Request.Path.Doc["properties"].(map[string]any)
			for name := range props {
				if !slices.Contains(a.Params, name) {
					p.errf(rm["path"], "api.request.path describes %q, which is not a parameter of %s", name, a.Path)
				}
			}
		}
		if a.Request.Body != nil && a.Method == http.MethodGet {
			p.errf(rm["body"], "api.request.body: a GET request has no body")
		}
	}
	if n := m["responses"]; n != nil {
		if n.Kind != yaml.MappingNode {
			p.errf(n, "api.responses must map a status (200, 404, default) to a body schema")
		} else if len(n.Content)/2 > MaxAPIResponses {
			p.errf(n, "api.responses has %d statuses; the limit is %d", len(n.Content)/2, MaxAPIResponses)
		} else {
			a.Responses = map[string]*JSONSchema{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				code, err := strconv.Atoi(k.Value)
				if k.Value != "default" && (err != nil || code < 100 || code > 599) {
					p.errf(k, "api.responses: %q is not a status between 100 and 599 or default", clipStr(k.Value, 40))
					continue
				}
				if _, dup := a.Responses[k.Value]; dup {
					p.errf(k, "api.responses: status %s appears twice", k.Value)
					continue
				}
				if s := p.schema(n.Content[i+1], "api.responses."+k.Value, false); s != nil {
					a.Responses[k.Value] = s
				}
			}
		}
	}
	return a
}

// schema decodes and compiles a JSON Schema node; object requires it to
// describe an object (parameters are an object's properties).
func (p *parser) schema(n *yaml.Node, what string, object bool) *JSONSchema {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errf(n, "%s must be a JSON Schema object, got %s", what, kindName(n))
		return nil
	}
	var doc map[string]any
	if err := n.Decode(&doc); err != nil {
		p.errf(n, "%s must be a JSON Schema object: %v", what, err)
		return nil
	}
	if object {
		if t, ok := doc["type"]; ok && t != "object" {
			p.errf(n, "%s must describe an object (type: object) whose properties are the parameters", what)
			return nil
		}
		if _, ok := doc["properties"].(map[string]any); !ok && doc["properties"] != nil {
			p.errf(n, "%s: properties must be a mapping", what)
			return nil
		}
	}
	s, err := CompileSchema(doc)
	if err != nil {
		p.errf(n, "%s: %v", what, err)
		return nil
	}
	return s
}
