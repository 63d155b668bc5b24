package flow

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"

	"github.com/weftio/weft/internal/jsonenc"
)

// TestMapFilterKeptEncoded: map and filter give the same values, or the
// same failure, as CEL's own macros, on a body decoded and kept raw, for
// lists under and over accumulateRawMin; a long result of plain JSON
// elements is a Raw, and anything else (ints, timestamps, NaN, short
// lists) is CEL's own list.
func TestMapFilterKeptEncoded(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"few":[{"id":1,"v":2.5},{"id":2,"v":3.5}],"rows":[`)
	for i := 0; i < 3000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":%d,"name":"customer-%d","v":%d.5,"at":"2026-12-03T10:00:%02dZ","tags":["a","é"]}`, i, i, i%7, i%60)
	}
	sb.WriteString(`]}`)
	doc := []byte(sb.String())
	raw, err := jsonenc.NewRaw(doc)
	if err != nil {
		t.Fatal(err)
	}
	var dec any
	if err := json.Unmarshal(doc, &dec); err != nil {
		t.Fatal(err)
	}
	base, err := newBaseEnv()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := base.Extend(cel.CustomTypeAdapter(&rawAdapter{base.CELTypeAdapter()})) // CEL's own macros
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		src string
		raw bool // the result is kept encoded
	}{
		{`trigger.body.rows.map(r, {"id": r.id, "name": r.name.upperAscii(), "total": r.v * 2.0})`, true},
		{`trigger.body.rows.map(r, r.tags)`, true},
		{`trigger.body.rows.map(r, r)`, true},
		{`trigger.body.rows.filter(r, r.id >= 1.0)`, true},
		{`trigger.body.rows.map(r, r.id > 5.0, r.name)`, true},
		{`trigger.body.rows.map(r, r.v > 3.0, r.name)`, true},
		{`trigger.body.few.map(r, {"id": r.id})`, false},
		{`trigger.body.rows.filter(r, r.id < 3.0)`, false},
		{`trigger.body.rows.map(r, int(r.id))`, false},
		{`trigger.body.rows.map(r, r.id < 2000.0 ? r.id : int(r.id))`, false},
		{`trigger.body.rows.map(r, timestamp(r.at))`, false},
		{`trigger.body.rows.map(r, r.id < 1500.0 ? r.v : 0.0 / 0.0).size()`, false},
		{`trigger.body.rows.map(r, r.id)[2999] + 1.0`, false},
		{`trigger.body.rows.map(r, int(r.id))[2999] + 1`, false},
		{`size(trigger.body.rows.map(r, r.name))`, false},
		{`trigger.body.rows.map(r, r.name).filter(n, n.endsWith("99"))`, false},
		{`trigger.body.rows.map(r, r.id).exists(x, x == 2999.0)`, false},
		{`"customer-7" in trigger.body.rows.map(r, r.name)`, false},
		{`trigger.body.rows.map(r, r.id) == trigger.body.rows.map(r, r.id)`, false},
		{`sum(trigger.body.rows.map(r, r.v))`, false},
		{`trigger.body.rows.map(r, r.id) + [1.0]`, false},
		{`trigger.body.rows.map(r, r.id).map(x, x * 2.0)`, true},
		{`trigger.body.rows.map(r, [r.id, r.name])`, true},
		{`trigger.body.rows.map(r, r.nope)`, false},
		{`trigger.body.rows.map(r, r.id < 2000.0 ? r.id : r.nope)`, false},
		{`{"rows": trigger.body.rows.map(r, r.v), "n": 1}`, true},
	}
	for _, c := range cases {
		e, err := CompileExpr(c.src, "test")
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		checked, iss := ref.Compile(c.src)
		if iss.Err() != nil {
			t.Fatal(iss.Err())
		}
		prg, err := ref.Program(checked)
		if err != nil {
			t.Fatal(err)
		}
		for bi, body := range []any{dec, raw} {
			sc := &Scope{Trigger: map[string]any{"body": body}, Steps: map[string]any{}}
			got, gotErr := e.Eval(sc)
			wantVal, _, wantErr := prg.Eval(map[string]any{"trigger": sc.Trigger, "steps": sc.Steps, "run": map[string]any{}, "item": nil, "index": -1})
			var want any
			if wantErr == nil {
				want, wantErr = toNative(wantVal)
			}
			if (gotErr != nil) != (wantErr != nil) {
				t.Fatalf("%s (%T body): got error %.300s, CEL's macros %.300s", c.src, body, fmt.Sprint(gotErr), fmt.Sprint(wantErr))
			}
			if gotErr != nil {
				continue
			}
			if jsonenc.HasRaw(got) != c.raw && bi == 0 {
				t.Fatalf("%s: result %T kept encoded: %v, want %v", c.src, got, !c.raw, c.raw)
			}
			g, err := jsonenc.Resolve(got)
			if err != nil {
				t.Fatal(err)
			}
			w, err := jsonenc.Resolve(want)
			if err != nil {
				t.Fatal(err)
			}
			if gl, ok := g.([]any); ok && !reflect.DeepEqual(g, w) {
				wl, _ := w.([]any)
				for i := range gl {
					if i >= len(wl) || !reflect.DeepEqual(gl[i], wl[i]) {
						t.Logf("first difference at %d of %d/%d elements: %.200s vs %.200s", i, len(gl), len(wl), fmt.Sprint(gl[i]), fmt.Sprint(wl[min(i, len(wl)-1)]))
						break
					}
				}
			}
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("%s (%T body): got %.300s, CEL's macros %.300s", c.src, body, fmt.Sprint(g), fmt.Sprint(w))
			}
		}
	}
}

// TestOneListReadsAsCELList: the one-element list appendElem adds answers
// every question as CEL's own list of that element does.
func TestOneListReadsAsCELList(t *testing.T) {
	if _, err := Env(); err != nil { // sets flowAdapter
		t.Fatal(err)
	}
	for _, e := range []ref.Val{types.String("a"), types.Double(1.5), types.Int(3), types.NullValue,
		types.NewStringInterfaceMap(flowAdapter, map[string]any{"k": "v"})} {
		one, want := &oneList{e}, types.NewRefValList(flowAdapter, []ref.Val{e})
		if one.Size() != want.Size() || one.Get(types.IntZero).Equal(want.Get(types.IntZero)) != types.True ||
			one.Equal(want) != types.True || want.Equal(one) != types.True || one.Contains(e) != types.True ||
			one.Type() != want.Type() {
			t.Errorf("%v: oneList differs from CEL's list", e)
		}
		if !types.IsError(one.Get(types.IntOne)) || !types.IsError(one.Get(types.Int(-1))) {
			t.Errorf("%v: an index past the element read no error", e)
		}
		it := one.Iterator()
		if it.HasNext() != types.True || it.Next().Equal(e) != types.True || it.HasNext() != types.False {
			t.Errorf("%v: iterator", e)
		}
		l := types.NewMutableList(flowAdapter)
		l.Add(one)
		l.Add(&oneList{e})
		if l.Size() != types.Int(2) || l.(traits.Lister).Get(types.IntOne).Equal(e) != types.True {
			t.Errorf("%v: appended to a mutable list", e)
		}
	}
}
