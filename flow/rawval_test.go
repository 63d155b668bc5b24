package flow

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/weftio/weft/internal/jsonenc"
)

// TestRawBodyReadsAsDecoded: every expression gives the same result (or
// fails alike) on a large body kept as jsonenc.Raw as on the body decoded.
func TestRawBodyReadsAsDecoded(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"customer":{"name":"Ada","tags":["a","b"]},"n":3,"dup":1,"dup":2,"s":"x<y","rows":[`)
	for i := 0; i < 3000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":%d,"name":"customer-%d","v":%d.5}`, i, i, i%7)
	}
	sb.WriteString(`]}`)
	doc := []byte(sb.String())
	raw, err := jsonenc.NewRaw(doc)
	if err != nil {
		t.Fatal(err)
	}
	if rows, _, _ := raw.Field("rows"); reflect.TypeOf(rows) != reflect.TypeOf(raw) {
		t.Fatalf("the test needs rows kept raw; got %T", rows)
	}
	var dec any
	if err := json.Unmarshal(doc, &dec); err != nil {
		t.Fatal(err)
	}
	exprs := []string{
		`trigger.body`, `trigger.body.rows`, `size(trigger.body.rows)`, `trigger.body.rows.size()`, `size(trigger.body)`,
		`trigger.body.rows[2999].name`, `trigger.body.rows[3000]`, `trigger.body.rows[-1]`, `trigger.body.rows[1.0]`,
		`trigger.body.customer.name`, `trigger.body.customer.tags[1]`, `trigger.body.dup`, `trigger.body.s`, `trigger.body.n + 1.0`,
		`has(trigger.body.rows)`, `has(trigger.body.nope)`, `trigger.body.nope`, `trigger.body.?nope.orValue("d")`,
		`trigger.body.?rows[?5].name.orValue("d")`, `'rows' in trigger.body`, `'nope' in trigger.body`,
		`trigger.body.rows.map(r, r.id).size()`, `sum(trigger.body.rows.map(r, r.v))`, `trigger.body.rows.exists(r, r.id == 2998)`,
		`trigger.body.rows.filter(r, r.id < 3)`, `trigger.body.rows[0] == {"id": 0.0, "name": "customer-0", "v": 0.5}`,
		`trigger.body == trigger.body`, `trigger.body.rows != []`, `type(trigger.body) == map`, `type(trigger.body.rows) == list`,
		`{"rows": trigger.body.rows, "count": size(trigger.body.rows)}`, `trigger.body.rows + [1]`, `[trigger.body.rows][0][7].id`,
		`steps.shape.rows[10].name`, `size(steps.shape.rows)`, `steps.shape`, `trigger.body.keys`, `trigger.body[1]`,
		`trigger.body.rows.all(r, r.name.startsWith("customer-"))`, `int(trigger.body.rows[5].id)`, `string(trigger.body.n)`,
	}
	for _, src := range exprs {
		e, err := CompileExpr(src, "test")
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		var outs [2]any
		var errs [2]error
		for i, body := range []any{dec, raw} {
			sc := &Scope{Trigger: map[string]any{"body": body}, Steps: map[string]any{}}
			rows := dec.(map[string]any)["rows"]
			if i == 1 {
				rows, _, _ = raw.Field("rows")
			}
			sc.Steps["shape"] = map[string]any{"rows": rows}
			outs[i], errs[i] = e.Eval(sc)
		}
		if (errs[0] != nil) != (errs[1] != nil) {
			t.Fatalf("%s: decoded body: %v; raw body: %v", src, errs[0], errs[1])
		}
		if passes := src == `trigger.body.rows` || src == `trigger.body` || strings.HasPrefix(src, `{"rows"`) || src == `steps.shape`; passes != jsonenc.HasRaw(outs[1]) {
			t.Fatalf("%s: the raw body's result %T holds a Raw: %v, want %v", src, outs[1], !passes, passes)
		}
		got, err := jsonenc.Resolve(outs[1])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(outs[0], got) {
			t.Fatalf("%s: decoded body gives %.200v, raw body %.200v", src, outs[0], got)
		}
	}
}
