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
			_, det, err := prg.Eval((*vars)(sc))
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

// A tracked expression whose cost the checker bounds once its inputs are
// small runs without the tracker on small inputs only, and the bound
// holds: counted by a tracking program on inputs exactly at the size the
// twin is taken for, the actual cost stays within the checker's worst case
// (itself at most staticCostLimit). On large inputs the tracker still
// stops an expression at CostLimit.
func TestSizedCostBoundHolds(t *testing.T) {
	env, err := Env()
	if err != nil {
		t.Fatal(err)
	}
	scope := func(n int) *Scope {
		items := make([]any, min(n, 256)) // n items of n bytes would pass maxSizeWalk
		for i := range items {
			items[i] = map[string]any{"qty": 2.0, "price": 1.5, "name": strings.Repeat("n", n)}
		}
		body := map[string]any{"items": items, "s": strings.Repeat("s", n), "customer": map[string]any{"name": strings.Repeat("a", n)}}
		return &Scope{Trigger: map[string]any{"body": body, "headers": map[string]any{}},
			Steps: map[string]any{"t": map[string]any{"list": items, "s": strings.Repeat("s", n)}, "other": make([]any, 100_000)},
			Run:   map[string]any{"id": "r"}}
	}
	for _, c := range []struct {
		src string
		max int // the size the twin is taken up to
	}{
		{"round(sum(trigger.body.items.map(i, i.qty * i.price)), 2)", 1024}, // linear since map and filter append in place (@weft_append)
		{"trigger.body.customer.name.upperAscii()", 4096},
		{"trigger.body.s + trigger.body.s", 4096},
		{"steps.t.list.filter(x, x.qty > 1.0).size()", 1024},
		{"steps.t.s.contains('x') && trigger.body.s.startsWith('s')", 4096},
		{"trigger.body.items.map(i, trigger.body.items.map(j, j.qty)).size()", 16},
		{"trigger.body.items.exists(i, i.name.matches('^n+$'))", 256},
		{"trigger.body.items.map(i, trigger.body.items.map(j, trigger.body.items.map(k, k.qty))).size()", 0}, // no size makes it small
	} {
		e, err := CompileExpr(c.src, "x")
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if !e.tracked || e.smallMax != c.max || (e.small != nil) != (c.max > 0) {
			t.Errorf("%s: tracked %v, untracked up to %d; want up to %d", c.src, e.tracked, e.smallMax, c.max)
			continue
		}
		if c.max == 0 {
			continue
		}
		if !e.smallInputs(scope(c.max)) || e.smallInputs(scope(c.max+1)) {
			t.Errorf("%s: untracked twin taken at %d: %v, at %d: %v", c.src, c.max, e.smallInputs(scope(c.max)), c.max+1, e.smallInputs(scope(c.max+1)))
		}
		checked, _ := env.Compile(c.src)
		est, _ := env.EstimateCost(checked, inputSizes(c.max))
		prg, err := env.Program(checked, cel.EvalOptions(cel.OptTrackCost))
		if err != nil {
			t.Fatal(err)
		}
		_, det, err := prg.Eval((*vars)(scope(c.max)))
		if err != nil || det.ActualCost() == nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		// The checker prices a variable read a unit or two below the
		// run-time count (up to ~13% here), hence staticCostLimit's
		// margin of 100 under CostLimit; twice the estimate is far within.
		if got := *det.ActualCost(); got > 2*est.Max || est.Max > staticCostLimit {
			t.Errorf("%s: actual cost %d at size %d, checker's bound %d (limit %d)", c.src, got, c.max, est.Max, staticCostLimit)
		}
	}
	// Past the size, the tracker is back: a quadratic expression over a
	// big list stops at the limit instead of running on.
	e, err := CompileExpr("trigger.body.items.map(i, trigger.body.items.map(j, j.qty)).size()", "x")
	if err != nil {
		t.Fatal(err)
	}
	big := make([]any, 2000)
	for i := range big {
		big[i] = map[string]any{"qty": 1.0}
	}
	if _, err := e.Eval(&Scope{Trigger: map[string]any{"body": map[string]any{"items": big}}}); err == nil || !strings.Contains(err.Error(), "cost") {
		t.Errorf("quadratic expression over 2000 items: %v, want the cost limit's error", err)
	}
}
