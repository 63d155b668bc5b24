package flow

import (
	"strings"
	"testing"

	"github.com/weftio/weft"
)

type opsList []string

func (o opsList) HasOperation(n string) bool {
	for _, x := range o {
		if x == n {
			return true
		}
	}
	return false
}
func (o opsList) OperationNames() []string { return o }

var testOps = opsList{"http.request"}

func TestOrderFlowEvaluates(t *testing.T) {
	f, err := Load("order.yaml", []byte(`
name: order
trigger: {webhook: {}}
steps:
  - id: transform
    set:
      id: =trigger.body.order_id
      customer_name: =trigger.body.customer.name.upperAscii()
      total: =round(sum(trigger.body.items.map(i, i.qty * i.price)), 2)
      n: =size(trigger.body.items) + 1
      lit: "==not an expression"
  - id: reply
    respond: {status: 200, body: {total: =steps.transform.total}}
`), testOps)
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"order_id": "A-1", "customer": map[string]any{"name": "ada"},
		"items": []any{map[string]any{"qty": 2.0, "price": 9.99}, map[string]any{"qty": 1.0, "price": 24.5}, map[string]any{"qty": 3.0, "price": 1.25}}}
	sc := &Scope{Trigger: map[string]any{"body": body}}
	out, err := f.Steps[0].Set.Eval(sc)
	if err != nil {
		t.Fatal(err)
	}
	m := out.(map[string]any)
	if m["total"] != 48.23 || m["customer_name"] != "ADA" || m["id"] != "A-1" || m["n"] != int64(4) || m["lit"] != "=not an expression" {
		t.Fatalf("got %#v", m)
	}
}

func TestBadFlows(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"yaml syntax", "name: x\nsteps: [\n", "x.yaml:"},
		{"unknown kind", "name: x\nsteps:\n  - id: a\n    cal: http.request\n", `x.yaml:3:5: unknown step kind "cal" (did you mean "call"?)`},
		{"unknown field", "name: x\nsteps:\n  - id: a\n    set: {a: 1}\n    wiht: {}\n", `x.yaml:5:5: unknown field "wiht"`},
		{"cel type error", "name: x\nsteps:\n  - id: a\n    set: {a: '=1 + \"s\"'}\n", "x.yaml:4:14: "},
		{"cel syntax", "name: x\nsteps:\n  - id: a\n    if: 'trigger.body.x >'\n    then: []\n", "x.yaml:4:9: if: expression"},
		{"unknown step ref", "name: x\nsteps:\n  - id: transform\n    set: {a: 1}\n  - id: b\n    set: {b: =steps.transfrom.a}\n", `unknown step "transfrom" in steps.transfrom (did you mean "transform"?)`},
		{"later step ref", "name: x\nsteps:\n  - id: a\n    set: {b: =steps.b.x}\n  - id: b\n    set: {x: 1}\n", `steps.b is not available here`},
		{"unknown output field", "name: x\nsteps:\n  - id: a\n    set: {total: 1}\n  - id: b\n    set: {b: =steps.a.totl}\n", `step "a" has no output field "totl" (did you mean "total"?)`},
		{"unknown op", "name: x\nsteps:\n  - id: a\n    call: http.requets\n", `unknown operation "http.requets" (did you mean "http.request"?)`},
		{"dup id", "name: x\nsteps:\n  - id: a\n    set: {x: 1}\n  - id: a\n    set: {x: 1}\n", `step id "a" is already used`},
		{"self subflow", "name: x\nsteps:\n  - subflow: x\n", "calls itself"},
		{"bad cron", "name: x\ntrigger: {schedule: {cron: 'every day'}}\nsteps:\n  - set: {a: 1}\n", "x.yaml:2:28: cron"},
		{"bad tz", "name: x\ntrigger: {schedule: {cron: '0 9 * * 1-5', timezone: Mars/Base}}\nsteps:\n  - set: {a: 1}\n", `unknown time zone "Mars/Base"`},
		{"no name", "steps:\n  - set: {a: 1}\n", "flow has no name"},
		{"bad mode", "name: x\ntrigger: {webhook: {mode: later}}\nsteps:\n  - set: {a: 1}\n", "webhook mode must be sync or async"},
		{"closed schema", "name: x\ntrigger: {webhook: {schema: {type: object, additionalProperties: false, properties: {amount: {type: number}}}}}\nsteps:\n  - set: {a: =trigger.body.amout}\n", `trigger.body has no field "amout" in the trigger schema (did you mean "amount"?)`},
		{"json", `{"name": "x", "steps": [{"id": "a", "set": {"a": "=trigger.bdy"}}]}`, `trigger has no field "bdy"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load("x.yaml", []byte(c.src), testOps)
			if err == nil {
				t.Fatalf("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q\nwant it to contain %q", err.Error(), c.want)
			}
			if strings.Count(err.Error(), c.want) != 1 {
				t.Fatalf("error %q reports %q more than once", err.Error(), c.want)
			}
			if code := weft.Code(err); code != weft.EInvalid && code != weft.EUnprocessable {
				t.Fatalf("code %q", code)
			}
		})
	}
}

func TestCostLimit(t *testing.T) {
	e, err := CompileExpr("[1,2,3,4,5,6,7,8,9,10].map(a, [1,2,3,4,5,6,7,8,9,10].map(b, [1,2,3,4,5,6,7,8,9,10].map(c, [1,2,3,4,5,6,7,8,9,10].map(d, [1,2,3,4,5,6,7,8,9,10].map(e, [1,2,3,4,5,6,7,8,9,10].map(f, a+b+c+d+e+f))))))", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Eval(&Scope{}); err == nil || !strings.Contains(err.Error(), "cost") {
		t.Fatalf("want cost limit error, got %v", err)
	}
}
