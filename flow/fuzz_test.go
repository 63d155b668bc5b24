package flow

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/bounded"
)

// FuzzParseFlow: any bytes either parse into a flow or give a weft error
// with a code and a message, quickly: no panic, no unbounded expansion
// (the alias bomb and deep nesting are seeds).
//
//	go test ./flow -run '^$' -fuzz FuzzParseFlow -fuzztime 60s
func FuzzParseFlow(f *testing.F) {
	f.Add([]byte(aliasBomb()))
	f.Add([]byte("name: d\nsteps:\n  - id: s\n    set: {v: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "}\n"))
	f.Add([]byte("name: d\nx: &a [1, *a]\nsteps:\n  - id: s\n    set: {v: *a}\n"))
	f.Add([]byte("name: m\nx: &b {a: 1}\nsteps:\n  - id: s\n    set: {<<: *b, c: =trigger.body.x}\n"))
	f.Add([]byte(`{"name": "j", "trigger": {"webhook": {}}, "steps": [{"id": "r", "respond": {"body": {"ok": "=trigger.body.ok"}}}]}`))
	f.Add([]byte("name: order\ntrigger: {webhook: {mode: async, idempotency: {expr: trigger.body.id}}}\nsteps:\n  - id: each\n    foreach: =trigger.body.items\n    do:\n      - id: c\n        call: http.request\n        with: {url: https://x.example, method: POST, body: =item}\n  - if: =size(steps.each) > 2\n    then: [{respond: {status: 201, body: {n: =size(steps.each)}}}]\n    else: [{fail: {message: few}}]\n"))
	f.Add([]byte("name: a\ntrigger:\n  api: {method: POST, path: \"/o/{id}/x\", request: {path: {type: object, properties: {id: {type: integer}}}, body: {$ref: \"#/$defs/a\", $defs: {a: {type: object}}}}, responses: {\"200\": {type: object}, default: {}}}\nsteps:\n  - respond: {status: 200, body: =trigger.params.id}\n"))
	f.Add([]byte("name: b\ntrigger:\n  api: {method: GET, path: \"/{a}/{a}\", request: {body: {type: [1]}}}\nsteps:\n  - respond: {status: 200}\n"))
	f.Add([]byte("name: x\nsteps: [\n"))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, src []byte) {
		start := time.Now()
		fl, err := Parse("f.yaml", src)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("parsing %d bytes took %v", len(src), d)
		}
		if err != nil {
			var we *weft.Error
			if !errors.As(err, &we) || we.Message == "" {
				t.Fatalf("not a weft error with a message: %#v", err)
			}
			switch we.Code {
			case weft.EInvalid, weft.EUnprocessable, weft.ETooLarge:
			default:
				t.Fatalf("code %q for bad input: %v", we.Code, err)
			}
			return
		}
		if !nameRe.MatchString(fl.Name) || len(fl.Steps) == 0 {
			t.Fatalf("parsed a flow without a valid name or steps: %+v", fl)
		}
	})
}

// FuzzCEL: any expression either fails to compile with a message or
// evaluates within the cost limit, against any JSON body, quickly and
// without a panic.
//
//	go test ./flow -run '^$' -fuzz FuzzCEL -fuzztime 60s
func FuzzCEL(f *testing.F) {
	for _, s := range []string{
		"trigger.body.order_id", "round(sum(trigger.body.items.map(i, i.qty * i.price)), 2)",
		"size(trigger.body.items) + 1", "trigger.body.customer.name.upperAscii()",
		`[1,2,3,4,5,6,7,8,9,10].map(a, [1,2,3,4,5,6,7,8,9,10].map(b, [1,2,3,4,5,6,7,8,9,10].map(c, [1,2,3,4,5,6,7,8,9,10].map(d, a+b+c+d))))`,
		`"x".repeat(1000000)`, strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300),
		"trigger.body.s.matches('(a+)+$')", "1/0", "9223372036854775807 + 1", "has(trigger.body.x) ? trigger.body.x : 'none'",
		"steps.a.b.c", "run.started_at + duration('1h')", "trigger.body.items.exists(i, i.qty > 2)",
	} {
		f.Add(s, []byte(`{"order_id":"A-1","customer":{"name":"ada"},"items":[{"qty":2,"price":9.99}],"s":"aaaaaaaaaaaaaaaaaaaaaaaaaaaa!","x":[[[[1]]]]}`))
	}
	f.Fuzz(func(t *testing.T, src string, body []byte) {
		start := time.Now()
		e, err := CompileExpr(src, "f.yaml:1:1")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("a compile error without a message")
			}
			return
		}
		var b any
		if err := bounded.UnmarshalJSON("body", body, &b, bounded.Limits{}); err != nil {
			b = nil
		}
		sc := &Scope{Trigger: map[string]any{"body": b}, Steps: map[string]any{}, Run: map[string]any{"id": "r", "started_at": time.Unix(0, 0).UTC()}}
		if _, err := e.Eval(sc); err != nil && err.Error() == "" {
			t.Fatal("an evaluation error without a message")
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("%q took %v", src, d)
		}
	})
}
