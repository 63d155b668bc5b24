package apim

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/weftio/weft"
	"github.com/weftio/weft/flow"
)

// MaxProblems is the most problems one refusal lists.
const MaxProblems = 50

// maxMessage bounds one problem's message (it may quote the value).
const maxMessage = 300

// Request is what request validation reads.
type Request struct {
	Params  map[string]string
	Query   url.Values
	Header  http.Header
	RawBody []byte // the body as sent; empty: none
	// Body is RawBody already decoded by DecodeBody (Parsed true): the
	// validator then does not parse it again.
	Body   any
	Parsed bool
}

// DecodeBody decodes a JSON body as the validator reads it: numbers as
// json.Number (exact), nothing after the value. The run's copy is then
// made by Float64s, without a second parse.
func DecodeBody(raw []byte) (any, error) {
	return jsonschema.UnmarshalJSON(bytes.NewReader(raw))
}

// Float64s turns every json.Number in v into the float64 encoding/json
// would have decoded (what a run sees, as for webhooks), in place, and
// returns the new value (v itself unless v is a number). A number out of
// float64's range is an error, as it is for encoding/json.
func Float64s(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return nil, weft.Errorf(weft.EInvalid, "body: the number %s does not fit a 64-bit float", clip(string(x), 40))
		}
		return f, nil
	case map[string]any:
		for k, e := range x {
			f, err := Float64s(e)
			if err != nil {
				return nil, err
			}
			x[k] = f
		}
	case []any:
		for i, e := range x {
			f, err := Float64s(e)
			if err != nil {
				return nil, err
			}
			x[i] = f
		}
	}
	return v, nil
}

// ValidateRequest checks a request against the route's schemas and
// returns its problems, each with the JSON pointer of the offending value
// in {"path", "query", "headers", "body"} (/query/limit, /body/items/0/sku).
// Parameter values arrive as strings and are read as their property's
// type first (integer, number, boolean; arrays from repeated query
// parameters).
func (rt *Route) ValidateRequest(req Request) []weft.Problem {
	var out []weft.Problem
	a := rt.API
	if s := a.Request.Path; s != nil {
		obj := map[string]any{}
		for k, v := range req.Params {
			obj[k] = coerce([]string{v}, prop(s, k))
		}
		out = append(out, problems("/path", s.Validate(obj))...)
	}
	if s := a.Request.Query; s != nil {
		obj := map[string]any{}
		for k, vs := range req.Query {
			obj[k] = coerce(vs, prop(s, k))
		}
		out = append(out, problems("/query", s.Validate(obj))...)
	}
	if s := a.Request.Headers; s != nil {
		// Only the headers the schema names are shown to it (by its own
		// spelling; header names are case-insensitive).
		obj := map[string]any{}
		props, _ := s.Doc["properties"].(map[string]any)
		for name := range props {
			if vs := req.Header.Values(name); len(vs) > 0 {
				obj[name] = coerce(vs, prop(s, name))
			}
		}
		out = append(out, problems("/headers", s.Validate(obj))...)
	}
	if s := a.Request.Body; s != nil {
		if req.Parsed {
			out = append(out, problems("/body", s.Validate(req.Body))...)
		} else if len(bytes.TrimSpace(req.RawBody)) == 0 {
			out = append(out, weft.Problem{Path: "/body", Message: "a JSON body is required"})
		} else if v, err := jsonschema.UnmarshalJSON(bytes.NewReader(req.RawBody)); err != nil {
			out = append(out, weft.Problem{Path: "/body", Message: "the body is not JSON: " + clip(err.Error(), maxMessage)})
		} else {
			out = append(out, problems("/body", s.Validate(v))...)
		}
	}
	return capProblems(out)
}

// ValidateResponse checks a response body against the route's schema for
// its status (else "default"). A route that declares responses but not
// this status is a problem too; one that declares none accepts anything.
func (rt *Route) ValidateResponse(status int, body any) []weft.Problem {
	rs := rt.API.Responses
	if len(rs) == 0 {
		return nil
	}
	s, ok := rs[strconv.Itoa(status)]
	if !ok {
		if s, ok = rs["default"]; !ok {
			return []weft.Problem{{Path: "/status", Message: "status " + strconv.Itoa(status) + " is not among the route's declared responses"}}
		}
	}
	// Round-trip through JSON: a run's values are Go values (int64, maps).
	b, err := json.Marshal(body)
	if err != nil {
		return []weft.Problem{{Path: "/body", Message: "the response body is not JSON-encodable"}}
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return []weft.Problem{{Path: "/body", Message: "the response body is not JSON"}}
	}
	return capProblems(problems("/body", s.Validate(v)))
}

func capProblems(ps []weft.Problem) []weft.Problem {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Path < ps[j].Path })
	if len(ps) > MaxProblems {
		ps = append(ps[:MaxProblems-1], weft.Problem{Path: "", Message: strconv.Itoa(len(ps)-MaxProblems+1) + " more problem(s) not listed"})
	}
	return ps
}

// prop returns the schema of an object schema's property name, or nil.
func prop(s *flow.JSONSchema, name string) map[string]any {
	props, _ := s.Doc["properties"].(map[string]any)
	p, _ := props[name].(map[string]any)
	return p
}

func types(s map[string]any) []string {
	switch t := s["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if str, ok := x.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return nil
}

// coerce reads parameter values as the property's type: one value as a
// scalar, repeated values (or an array property) as a list.
func coerce(vs []string, s map[string]any) any {
	ts := types(s)
	if contains(ts, "array") {
		items, _ := s["items"].(map[string]any)
		out := make([]any, 0, len(vs))
		for _, v := range vs {
			out = append(out, scalar(v, types(items)))
		}
		return out
	}
	if len(vs) == 1 {
		return scalar(vs[0], ts)
	}
	out := make([]any, 0, len(vs))
	for _, v := range vs {
		out = append(out, scalar(v, ts))
	}
	return out
}

func scalar(v string, ts []string) any {
	if contains(ts, "string") {
		return v
	}
	if contains(ts, "integer") || contains(ts, "number") {
		if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return json.Number(v)
		}
	}
	if contains(ts, "boolean") && (v == "true" || v == "false") {
		return v == "true"
	}
	if contains(ts, "null") && v == "" {
		return nil
	}
	return v
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var printer = message.NewPrinter(language.English)

// problems flattens a validation error into its leaves, each with the JSON
// pointer of the value (prefix + the instance location); a missing
// required property is reported at the property's own pointer.
func problems(prefix string, err error) []weft.Problem {
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []weft.Problem{{Path: prefix, Message: err.Error()}}
	}
	var out []weft.Problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(out) > MaxProblems {
			return
		}
		if len(e.Causes) == 0 {
			ptr := prefix + pointer(e.InstanceLocation)
			if req, ok := e.ErrorKind.(*kind.Required); ok {
				for _, m := range req.Missing {
					out = append(out, weft.Problem{Path: ptr + "/" + escape(m), Message: "is required"})
				}
				return
			}
			// Messages quote the offending value: keep them short.
			out = append(out, weft.Problem{Path: ptr, Message: clip(e.ErrorKind.LocalizedString(printer), maxMessage)})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}

func pointer(loc []string) string {
	var b strings.Builder
	for _, t := range loc {
		b.WriteByte('/')
		b.WriteString(escape(t))
	}
	return b.String()
}

// escape is a JSON pointer token (RFC 6901).
func escape(t string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(t)
}

func sortStrings(s []string) { sort.Strings(s) }
