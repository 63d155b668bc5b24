package flow

import (
	"reflect"
	"testing"
)

// A scope is CEL's activation itself: every variable reads as it did
// from the map the scope used to build (trigger, steps and run default to
// empty maps, item is null and index -1 outside a loop), step outputs added
// after the first expression are visible, and evaluating a path builds
// nothing for the variables.
func TestScopeVariables(t *testing.T) {
	in := func() *Scope {
		return &Scope{Trigger: map[string]any{"body": map[string]any{"n": 2.0}}, Steps: map[string]any{},
			Run: map[string]any{"id": "r1", "version": int64(3)}, Item: map[string]any{"x": "a"}, Index: 4, InLoop: true}
	}
	cases := []struct {
		src   string
		scope func() *Scope
		want  any
	}{
		{"index", in, int64(4)},
		{"index + 1", in, int64(5)},
		{"item.x", in, "a"},
		{"item.x + 'b'", in, "ab"},
		{"run.id + ''", in, "r1"},
		{"run.version", in, int64(3)},
		{"trigger.body.n * 2.0", in, 4.0},
		{"index", func() *Scope { return &Scope{} }, int64(-1)},
		{"index + 1", func() *Scope { return &Scope{} }, int64(0)},
		{"item == null", func() *Scope { return &Scope{Item: "ignored"} }, true},
		{"size(trigger) + size(steps) + size(run)", func() *Scope { return &Scope{} }, int64(0)},
		{"trigger", func() *Scope { return &Scope{} }, map[string]any{}},
		{"has(run.id)", func() *Scope { return &Scope{} }, false},
		{"run.id + run.flow", func() *Scope { return &Scope{RunVars: &RunVars{ID: "r2", Flow: "f"}} }, "r2f"},
		{"run.version + 1", func() *Scope { return &Scope{RunVars: &RunVars{Version: 6}} }, int64(7)},
		{"run.id", func() *Scope { return &Scope{Run: map[string]any{"id": "own"}, RunVars: &RunVars{ID: "lazy"}} }, "own"},
	}
	for _, c := range cases {
		e, err := CompileExpr(c.src, "test")
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		got, err := e.Eval(c.scope())
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.src, got, c.want)
		}
	}

	s := in()
	first, _ := CompileExpr("size(steps)", "test")
	if v, err := first.Eval(s); err != nil || v != int64(0) {
		t.Fatalf("size(steps) = %v, %v", v, err)
	}
	s.Steps["a"] = map[string]any{"out": "later"}
	later, _ := CompileExpr("steps.a.out + '!'", "test")
	if v, err := later.Eval(s); err != nil || v != "later!" {
		t.Errorf("a step output added after the first expression: %v, %v", v, err)
	}

	// A fresh scope each time (as every run and loop iteration has): a
	// path read on it allocates nothing.
	path, _ := CompileExpr("trigger.body.n", "test")
	scopes := make([]*Scope, 101)
	for i := range scopes {
		scopes[i] = in()
	}
	i := 0
	if n := testing.AllocsPerRun(100, func() { _, _ = path.Eval(scopes[i]); i++ }); n != 0 {
		t.Errorf("a path read on a fresh scope allocates %.0f times, want 0", n)
	}

	// The run variable is built once, and only when named.
	rv := &RunVars{ID: "r3"}
	if v, err := path.Eval(&Scope{Trigger: map[string]any{"body": map[string]any{"n": 1.0}}, RunVars: rv}); err != nil || v != 1.0 || rv.m != nil {
		t.Errorf("a scope that never names run built it: %v, %v, %v", v, err, rv.m)
	}
	id, _ := CompileExpr("run.id + ''", "test")
	for i := 0; i < 2; i++ {
		if v, err := id.Eval(&Scope{RunVars: rv}); err != nil || v != "r3" {
			t.Fatalf("run.id = %v, %v", v, err)
		}
	}
	if rv.m == nil || rv.Map()["id"] != "r3" {
		t.Errorf("run built: %v", rv.m)
	}
}
