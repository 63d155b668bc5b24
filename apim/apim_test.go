package apim

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/weftio/weft"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/store"
)

// fakeFlows serves parsed flow versions by name@version.
type fakeFlows map[string]*flow.Flow

func (f fakeFlows) Flow(_ context.Context, name string, version int) (*flow.Flow, store.FlowVersion, error) {
	fl, ok := f[name+"@"+strconv.Itoa(version)]
	if !ok {
		return nil, store.FlowVersion{}, weft.Errorf(weft.ENotFound, "no flow %s version %d", name, version)
	}
	return fl, store.FlowVersion{Name: name, Version: version, Namespace: fl.Namespace}, nil
}

func mustFlow(t *testing.T, src string) *flow.Flow {
	t.Helper()
	f, err := flow.Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func apiFlow(t *testing.T, name, method, path, request string) *flow.Flow {
	return mustFlow(t, "name: "+name+"\ntrigger:\n  api:\n    method: "+method+"\n    path: \""+path+"\"\n"+request+"steps:\n  - respond: {status: 200}\n")
}

func compile(t *testing.T, flows fakeFlows, pins ...Pin) (*Routes, error) {
	t.Helper()
	p := &Product{Name: "p", Versions: []Version{{Name: "v1", Flows: pins}}}
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	return Compile(context.Background(), flows, p, &p.Versions[0])
}

func TestMatch(t *testing.T) {
	flows := fakeFlows{
		"list@1":   apiFlow(t, "list", "GET", "/orders", ""),
		"create@1": apiFlow(t, "create", "POST", "/orders", ""),
		"get@1":    apiFlow(t, "get", "GET", "/orders/{id}", ""),
		"del@1":    apiFlow(t, "del", "DELETE", "/orders/{id}", ""),
		"line@1":   apiFlow(t, "line", "GET", "/orders/{id}/lines/{n}", ""),
		"root@1":   apiFlow(t, "root", "GET", "/", ""),
	}
	rs, err := compile(t, flows, Pin{"list", 1}, Pin{"create", 1}, Pin{"get", 1}, Pin{"del", 1}, Pin{"line", 1}, Pin{"root", 1})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, path, flow string
		params             map[string]string
		allow              []string
	}{
		{"GET", "/orders", "list", map[string]string{}, nil},
		{"POST", "/orders", "create", map[string]string{}, nil},
		{"GET", "/orders/7", "get", map[string]string{"id": "7"}, nil},
		{"DELETE", "/orders/7", "del", map[string]string{"id": "7"}, nil},
		{"GET", "/orders/7/lines/2", "line", map[string]string{"id": "7", "n": "2"}, nil},
		{"GET", "/orders/a%2Fb%20c", "get", map[string]string{"id": "a/b c"}, nil},
		{"GET", "/", "root", map[string]string{}, nil},
		{"PUT", "/orders/7", "", nil, []string{"GET", "DELETE"}},
		{"DELETE", "/orders", "", nil, []string{"GET", "POST"}},
		{"GET", "/customers", "", nil, nil},
		{"GET", "/orders/7/lines", "", nil, nil},
		{"TRACE", "/orders", "", nil, []string{"GET", "POST"}},
	}
	for _, c := range cases {
		rt, params, allow := rs.Match(c.method, c.path)
		got := ""
		if rt != nil {
			got = rt.Flow
		}
		slices.Sort(allow)
		slices.Sort(c.allow)
		if got != c.flow || (c.params != nil && !equalMaps(params, c.params)) || !slices.Equal(allow, c.allow) {
			t.Errorf("%s %s: %q %v %v, want %q %v %v", c.method, c.path, got, params, allow, c.flow, c.params, c.allow)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestCompileRefusals(t *testing.T) {
	flows := fakeFlows{
		"a@1":     apiFlow(t, "a", "GET", "/o/{id}", ""),
		"b@1":     apiFlow(t, "b", "GET", "/o/{oid}", ""),
		"c@1":     apiFlow(t, "c", "POST", "/o/{x}", ""),
		"doc@1":   apiFlow(t, "doc", "GET", "/openapi.json", ""),
		"plain@1": mustFlow(t, "name: plain\nsteps:\n  - respond: {status: 200}\n"),
	}
	other := apiFlow(t, "other", "GET", "/z", "")
	other.Namespace = "team-b"
	flows["other@1"] = other
	cases := []struct {
		pins []Pin
		want string
	}{
		{[]Pin{{"a", 1}, {"b", 1}}, "clashes with flow a's route"},
		{[]Pin{{"a", 2}}, "has no version 2"},
		{[]Pin{{"plain", 1}}, "not an api trigger"},
		{[]Pin{{"doc", 1}}, "OpenAPI document"},
		{[]Pin{{"other", 1}}, `is in namespace "team-b"`},
	}
	for _, c := range cases {
		_, err := compile(t, flows, c.pins...)
		if err == nil || !strings.Contains(weft.Message(err)+problemsText(err), c.want) {
			t.Errorf("%v: %v, want %q", c.pins, err, c.want)
		}
	}
	// Same path, other methods: no clash.
	if _, err := compile(t, flows, Pin{"a", 1}, Pin{"c", 1}); err != nil {
		t.Fatal(err)
	}
}

func problemsText(err error) string {
	var b strings.Builder
	if we, ok := err.(*weft.Error); ok {
		for _, p := range we.Problems {
			b.WriteString(p.Path + " " + p.Message + "\n")
		}
	}
	return b.String()
}

func TestValidateRequest(t *testing.T) {
	f := apiFlow(t, "s", "POST", "/s/{n}", `    request:
      path: {type: object, properties: {n: {type: integer, minimum: 1}}}
      query:
        type: object
        additionalProperties: false
        properties:
          tag: {type: array, items: {type: string, maxLength: 3}}
          flag: {type: boolean}
          ratio: {type: [number, "null"]}
      headers: {type: object, required: [x-a~b], properties: {x-a~b: {type: string}}}
      body: {type: object, properties: {"a/b": {type: integer}}}
`)
	rt := &Route{Flow: "s", Version: 1, API: f.Trigger.API}
	req := func(n, q, body string, h http.Header) []string {
		qv, _ := url.ParseQuery(q)
		if h == nil {
			h = http.Header{}
		}
		var out []string
		for _, p := range rt.ValidateRequest(Request{Params: map[string]string{"n": n}, Query: qv, Header: h, RawBody: []byte(body)}) {
			out = append(out, p.Path)
		}
		return out
	}
	ok := http.Header{"X-A~b": {"v"}}
	if got := req("3", "tag=a&tag=b&flag=true&ratio=0.5", `{"a/b": 1}`, ok); len(got) != 0 {
		t.Fatalf("valid request: %v", got)
	}
	for _, c := range []struct {
		n, q, body string
		h          http.Header
		want       []string
	}{
		{"0", "", `{}`, ok, []string{"/path/n"}},
		{"x", "", `{}`, ok, []string{"/path/n"}},
		{"1", "tag=abcd", `{}`, ok, []string{"/query/tag/0"}},
		{"1", "flag=yes&other=1", `{}`, ok, []string{"/query", "/query/flag"}},
		{"1", "ratio=abc", `{}`, ok, []string{"/query/ratio"}},
		{"1", "", `{"a/b": "x"}`, nil, []string{"/body/a~1b", "/headers/x-a~0b"}},
		{"1", "", ``, ok, []string{"/body"}},
		{"1", "", `[1,`, ok, []string{"/body"}},
	} {
		if got := req(c.n, c.q, c.body, c.h); !slices.Equal(got, c.want) {
			t.Errorf("n=%s q=%s body=%s: %v, want %v", c.n, c.q, c.body, got, c.want)
		}
	}
	// A flood of problems is capped.
	g := apiFlow(t, "g", "POST", "/g", "    request:\n      body: {type: array, items: {type: string}}\n")
	big := "[" + strings.TrimSuffix(strings.Repeat("1,", 500), ",") + "]"
	if ps := (&Route{API: g.Trigger.API}).ValidateRequest(Request{RawBody: []byte(big)}); len(ps) != MaxProblems || !strings.Contains(ps[len(ps)-1].Message, "more problem") {
		t.Fatalf("%d problems", len(ps))
	}
}

func TestValidateResponse(t *testing.T) {
	f := apiFlow(t, "r", "GET", "/r", "    responses:\n      \"200\": {type: object, required: [id], properties: {id: {type: integer}}}\n      default: {type: object, required: [error]}\n")
	rt := &Route{API: f.Trigger.API}
	if ps := rt.ValidateResponse(200, map[string]any{"id": int64(3)}); len(ps) != 0 {
		t.Fatal(ps)
	}
	if ps := rt.ValidateResponse(200, map[string]any{"id": "3"}); len(ps) != 1 || ps[0].Path != "/body/id" {
		t.Fatal(ps)
	}
	if ps := rt.ValidateResponse(500, map[string]any{}); len(ps) != 1 || ps[0].Path != "/body/error" {
		t.Fatal(ps)
	}
	g := apiFlow(t, "g", "GET", "/g", "    responses:\n      \"200\": {type: object}\n")
	if ps := (&Route{API: g.Trigger.API}).ValidateResponse(201, nil); len(ps) != 1 || ps[0].Path != "/status" {
		t.Fatal(ps)
	}
}

func TestCheck(t *testing.T) {
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	before := at.Add(-time.Hour)
	for _, c := range []struct {
		doc, pointer string
	}{
		{`{"name": "P", "versions": []}`, "/name"},
		{`{"name": "p", "versions": [{"name": "-v", "flows": []}]}`, "/versions/0/name"},
		{`{"name": "p", "versions": [{"name": "v1", "flows": [{"flow": "a", "version": 1}, {"flow": "a", "version": 2}]}]}`, "/versions/0/flows/1/flow"},
		{`{"name": "p", "versions": [{"name": "v1", "flows": [], "deprecated_at": "` + at.Format(time.RFC3339) + `", "sunset": "` + before.Format(time.RFC3339) + `"}]}`, "/versions/0/sunset"},
	} {
		_, err := Decode([]byte(c.doc))
		if !strings.Contains(problemsText(err), c.pointer+" ") {
			t.Errorf("%s: %v (want %s)", c.doc, problemsText(err), c.pointer)
		}
	}
	if _, err := Decode([]byte(`{"name": "p", "versions": [], "sunet": 1}`)); weft.Code(err) != weft.EInvalid {
		t.Fatalf("unknown field: %v", err)
	}
	if _, err := Decode([]byte(`{"name": "p", "description": "` + strings.Repeat("x", MaxProductSize) + `"}`)); weft.Code(err) != weft.ETooLarge {
		t.Fatalf("oversized: %v", err)
	}
}

// The OpenAPI document of a version with every kind of parameter is a
// valid OpenAPI 3.1 document (kin-openapi).
func TestOpenAPIDocumentIsValid(t *testing.T) {
	flows := fakeFlows{
		"s@1": apiFlow(t, "search-orders", "GET", "/orders/{tenant}/search", `    summary: search
    request:
      path: {type: object, properties: {tenant: {type: string, enum: [a, b]}}}
      query: {type: object, required: [q], properties: {q: {type: string}, tag: {type: array, items: {type: string}}, n: {type: [integer, "null"]}}}
      headers: {type: object, properties: {X-Trace: {type: string}}}
    responses:
      "200": {type: object, properties: {hits: {type: array, items: {$ref: "#/$defs/hit"}}}, $defs: {hit: {type: object}}}
      default: {type: object}
`),
		"u@1": apiFlow(t, "u", "PUT", "/orders/{tenant}/search", "    request:\n      body: {type: object, properties: {x: {const: 1}}}\n"),
	}
	flows["s@1"].Name = "search-orders"
	p := &Product{Name: "p", Title: "P", Description: "d", Versions: []Version{{Name: "v1", Status: StatusDeprecated, Flows: []Pin{{"s", 1}, {"u", 1}}}}}
	rs, err := Compile(context.Background(), flows, p, &p.Versions[0])
	if err != nil {
		t.Fatal(err)
	}
	data, err := rs.OpenAPI("https://api.example.com/apis/p/v1")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	item := doc.Paths.Find("/orders/{tenant}/search")
	if item.Get == nil || item.Put == nil || !item.Get.Deprecated || item.Get.Parameters.GetByInAndName("query", "q") == nil ||
		!item.Get.Parameters.GetByInAndName("query", "q").Required || item.Get.Parameters.GetByInAndName("header", "X-Trace") == nil {
		t.Fatalf("%s", data)
	}
}

// A problem quoting a huge value is clipped.
func TestProblemMessagesAreBounded(t *testing.T) {
	f := apiFlow(t, "m", "POST", "/m", "    request:\n      body: {type: object, properties: {s: {type: string, pattern: \"^a$\"}}}\n")
	ps := (&Route{API: f.Trigger.API}).ValidateRequest(Request{RawBody: []byte(`{"s": "` + strings.Repeat("b", 100000) + `"}`)})
	if len(ps) != 1 || ps[0].Path != "/body/s" || len(ps[0].Message) > maxMessage+10 {
		t.Fatalf("%d problems, message of %d bytes", len(ps), len(ps[0].Message))
	}
}
