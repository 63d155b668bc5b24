package flow

import (
	"reflect"
	"testing"
	"time"

	"github.com/weftio/weft/internal/jsonenc"
)

// TestFieldPathReadsAsCEL: a bare field reference read straight from the
// scope gives exactly what CEL gives (value or error) for every kind of
// value on and at the end of the path, and the read is taken for the
// JSON values it claims (so the fast path is not silently dead).
func TestFieldPathReadsAsCEL(t *testing.T) {
	raw, err := jsonenc.NewRaw([]byte(`{"a":{"b":1},"l":[1,2]}`))
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{
		"s": "x", "f": 2.5, "b": true, "n": nil, "i": int64(7), "goint": 3, "u": uint64(4),
		"m": map[string]any{"k": "v", "deep": map[string]any{"x": 1.0}}, "l": []any{1.0, "two"},
		"t": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "raw": raw, "nilmap": map[string]any(nil),
		"strs": []string{"a"},
	}
	scope := func() *Scope {
		return &Scope{
			Trigger: map[string]any{"body": body, "kind": "webhook"},
			Steps:   map[string]any{"post": map[string]any{"status": int64(200), "body": map[string]any{"ok": true}}},
			Run:     map[string]any{"id": "r1", "started_at": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
			Item:    map[string]any{"qty": 2.0}, InLoop: true,
		}
	}
	cases := []struct {
		src  string
		fast bool // the plain read answers (no CEL)
	}{
		{"trigger.body.s", true}, {"trigger.body.f", true}, {"trigger.body.b", true}, {"trigger.body.n", true},
		{"trigger.body.i", true}, {"trigger.body.m", true}, {"trigger.body.m.deep.x", true}, {"trigger.body.l", true},
		{"trigger.body", true}, {"trigger.kind", true}, {"steps.post.body", true}, {"steps.post.status", true},
		{"steps", true}, {"run.id", true}, {"item.qty", true}, {"item", true}, {"trigger.body.nilmap", true},
		// CEL's own answer: conversions, errors, bytes kept raw
		{"trigger.body.goint", false}, {"trigger.body.u", false}, {"trigger.body.t", false}, {"run.started_at", false},
		{"trigger.body.raw", false}, {"trigger.body.raw.a.b", false}, {"trigger.body.raw.a", false}, {"trigger.body.strs", false},
		{"trigger.body.missing", false}, {"trigger.body.s.x", false}, {"trigger.body.nilmap.x", false},
		{"steps.nope.body", false}, {"trigger.body.n.x", false},
		// not a bare path: CEL only
		{"has(trigger.body.s)", false}, {"trigger.body.l[0]", false}, {"trigger.body.?s.orValue('')", false}, {"index", false},
	}
	for _, c := range cases {
		e, err := CompileExpr(c.src, "test")
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if _, ok := func() (any, bool) {
			if e.path == nil {
				return nil, false
			}
			return e.lookup(scope())
		}(); ok != c.fast {
			t.Errorf("%s: plain read taken = %v, want %v", c.src, ok, c.fast)
		}
		got, gotErr := e.Eval(scope())
		slow := *e
		slow.path = nil
		want, wantErr := slow.Eval(scope())
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Errorf("%s: error %v, CEL's %v", c.src, gotErr, wantErr)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %#v, CEL's %#v", c.src, got, want)
		}
	}
	// Loop-less scope: item is null to CEL; a field of it is CEL's error.
	e, _ := CompileExpr("item.qty", "test")
	if _, err := e.Eval(&Scope{}); err == nil {
		t.Error("item.qty outside a loop: no error")
	}
}
