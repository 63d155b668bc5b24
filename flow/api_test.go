package flow

import (
	"errors"
	"strings"
	"testing"

	"github.com/weftio/weft"
)

const apiFlowSrc = `name: get-order
trigger:
  api:
    method: get
    path: /orders/{id}
    summary: one order
    request:
      path:
        type: object
        properties:
          id: {type: string, pattern: "^[0-9]+$"}
      query:
        type: object
        properties:
          expand: {type: boolean}
    responses:
      "200":
        type: object
        required: [id]
      "404": {type: object}
steps:
  - respond:
      status: 200
      body: {id: =trigger.params.id}
`

func TestAPITriggerParses(t *testing.T) {
	f, err := Parse("get-order.yaml", []byte(apiFlowSrc))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(f, nil); err != nil {
		t.Fatal(err)
	}
	a := f.Trigger.API
	if f.Trigger.Kind != TriggerAPI || a == nil || a.Method != "GET" || a.Path != "/orders/{id}" || len(a.Params) != 1 || a.Params[0] != "id" {
		t.Fatalf("%+v", f.Trigger)
	}
	if a.Request.Path == nil || a.Request.Query == nil || len(a.Responses) != 2 || a.Pos != "get-order.yaml:4:5" {
		t.Fatalf("%+v", a)
	}
	if err := a.Request.Path.Validate(map[string]any{"id": "12"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Request.Path.Validate(map[string]any{"id": "x"}); err == nil {
		t.Fatal("the compiled path schema accepted id x")
	}
	// The published schema accepts it too.
	if err := compiledSchema(t).Validate(yamlToJSONValue(t, []byte(apiFlowSrc))); err != nil {
		t.Fatal(err)
	}
}

func TestAPITriggerProblems(t *testing.T) {
	cases := []struct {
		name, trigger, want string
	}{
		{"no method", "api: {path: /x}", "t.yaml:3:8: api trigger needs method"},
		{"bad method", "api: {method: TRACE, path: /x}", "t.yaml:3:17: api.method must be one of GET, POST, PUT, PATCH, DELETE"},
		{"no path", "api: {method: GET}", "needs path"},
		{"relative path", "api: {method: GET, path: orders}", "t.yaml:3:28: api.path: path \"orders\" must start with /"},
		{"partial param", `api: {method: GET, path: "/o/x{id}"}`, "a parameter is a whole segment"},
		{"twice", `api: {method: GET, path: "/o/{id}/{id}"}`, "names parameter {id} twice"},
		{"trailing slash", "api: {method: GET, path: /o/}", "empty segment"},
		{"bad chars", "api: {method: GET, path: /o/a b}", "may hold only letters"},
		{"path schema names no param", `api: {method: GET, path: "/o/{id}", request: {path: {type: object, properties: {oid: {type: string}}}}}`, `describes "oid", which is not a parameter`},
		{"query not object", "api: {method: GET, path: /o, request: {query: {type: string}}}", "must describe an object"},
		{"bad schema", "api: {method: POST, path: /o, request: {body: {type: 12}}}", "api.request.body:"},
		{"get body", "api: {method: GET, path: /o, request: {body: {type: object}}}", "a GET request has no body"},
		{"bad status", "api: {method: GET, path: /o, responses: {\"700\": {type: object}}}", "not a status"},
		{"unknown field", "api: {method: GET, path: /o, rout: 1}", `unknown field "rout" in api trigger`},
		{"remote ref", "api: {method: POST, path: /o, request: {body: {$ref: \"https://example.com/s.json\"}}}", "api.request.body:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := "name: t\ntrigger:\n  " + c.trigger + "\nsteps:\n  - respond: {status: 200}\n"
			_, err := Parse("t.yaml", []byte(src))
			var we *weft.Error
			if !errors.As(err, &we) {
				t.Fatalf("no problems: %v", err)
			}
			if !strings.Contains(we.Error(), c.want) {
				t.Fatalf("want %q in:\n%v", c.want, we)
			}
			if we.Problems[0].Pos == "" {
				t.Fatalf("a problem without a position: %+v", we.Problems[0])
			}
		})
	}
}

func TestAPITriggerParamsAreChecked(t *testing.T) {
	src := strings.Replace(apiFlowSrc, "trigger.params.id", "trigger.params.idd", 1)
	f, err := Parse("get-order.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(f, nil); err == nil || !strings.Contains(err.Error(), `trigger.params has no "idd" (did you mean "id"?)`) {
		t.Fatalf("%v", err)
	}
	// Another trigger has no params.
	g, err := Parse("m.yaml", []byte("name: m\nsteps:\n  - respond: {status: 200, body: =trigger.params.id}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(g, nil); err == nil || !strings.Contains(err.Error(), "api trigger's path parameters") {
		t.Fatalf("%v", err)
	}
}
