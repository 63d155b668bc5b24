package flow

import (
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
)

// Expressions whose cost cannot depend on their inputs run without the
// run-time cost tracker; every other expression keeps it.
func TestStaticCostBound(t *testing.T) {
	for src, tracked := range map[string]bool{
		"trigger.body.order_id": false,
		"steps.transform":       false,
		"{'a': steps.post.body, 'b': trigger.body.x + 1.0}":  false,
		"trigger.body.n > 3 && run.id != ''":                 false,
		"trigger.body.customer.name.upperAscii()":            true, // the string's length
		"trigger.body.items.map(i, i.qty * i.price)":         true,
		"round(sum(trigger.body.items.map(i, i.qty)), 2)":    true,
		"trigger.body.s + trigger.body.t":                    true,
		"size(trigger.body.rows)":                            false,
		"trigger.body.a in trigger.body.list":                true,
		"[1,2,3].map(x, x * 2)":                              false,
		"string(trigger.body.n)":                             true,
		"trigger.body.rows.exists(r, r.id == index)":         true,
		"has(trigger.body.x) ? trigger.body.x : 'none'":      false,
		"trigger.body.?maybe.orValue('d')":                   false,
		"trigger.body.text.matches('^[a-z]+$')":              true,
		"trigger.body.list.filter(x, x > 1).size() == index": true,
	} {
		e, err := CompileExpr(src, "x")
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if e.tracked != tracked {
			t.Errorf("%s: tracked = %v, want %v", src, e.tracked, tracked)
		}
	}
}

// An untracked expression's actual cost, counted by a tracking program,
// is the same on small and on large inputs, and near the checker's bound.
func TestStaticCostBoundHolds(t *testing.T) {
	env, err := Env()
	if err != nil {
		t.Fatal(err)
	}
	scope := func(n int) *Scope {
		rows := make([]any, n)
		for i := range rows {
			rows[i] = map[string]any{"id": float64(i), "name": "customer-name"}
		}
		body := map[string]any{"order_id": strings.Repeat("A", n), "rows": rows, "x": 1.0, "n": 7.0,
			"customer": map[string]any{"name": strings.Repeat("ada", n)}}
		return &Scope{Trigger: map[string]any{"body": body}, Steps: map[string]any{"transform": body, "post": map[string]any{"body": rows}},
			Run: map[string]any{"id": strings.Repeat("r", n)}}
	}
	small, large := scope(1), scope(100_000)
	for _, src := range []string{"trigger.body.order_id", "steps.transform", "{'a': steps.post.body, 'b': trigger.body.x + 1.0}",
		"trigger.body.n > 3 && run.id != ''", "size(trigger.body.rows)", "has(trigger.body.x) ? trigger.body.x : 'none'"} {
		checked, iss := env.Compile(src)
		if iss.Err() != nil {
			t.Fatal(iss.Err())
		}
		if !staticallyBounded(env, checked) {
			t.Fatalf("%s: not statically bounded", src)
		}
		est, _ := env.EstimateCost(checked, noSizeHints{})
		prg, err := env.Program(checked, cel.EvalOptions(cel.OptTrackCost))
		if err != nil {
			t.Fatal(err)
		}
		var costs []uint64
		for _, sc := range []*Scope{small, large} {
			_, det, err := prg.Eval(sc.activation())
			if err != nil || det.ActualCost() == nil {
				t.Fatalf("%s: %v", src, err)
			}
			costs = append(costs, *det.ActualCost())
		}
		if costs[0] != costs[1] || costs[1] > est.Max+10 {
			t.Errorf("%s: cost %d on small, %d on large inputs; static bound %d", src, costs[0], costs[1], est.Max)
		}
	}
}
