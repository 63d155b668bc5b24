package flow

import (
	"math"
	"reflect"
	"slices"
	"unicode/utf8"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/decls"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	celparser "github.com/google/cel-go/parser"

	"github.com/weftio/weft/internal/jsonenc"
)

// The list that `map` and `filter` build. CEL's own macros append each
// element to a list of CEL values (`@result + [f(x)]`): mapping a 10 MB
// body's rows to new objects holds every new object as a CEL map and then,
// for the step output, as a Go map again (~10× the payload between them).
// Flow expressions expand `map` and `filter` to `@weft_append(@result, f(x))`
// instead: the list is CEL's own until it holds accumulateRawMin elements;
// from there, while every element is plain JSON (null, bool, finite double,
// string, and lists and maps of them), the elements are kept encoded, and
// the result is a jsonenc.Raw that expressions read like any list and a
// step output keeps as its bytes. An element that is not plain JSON (an
// int, a timestamp, bytes…), which reading back from JSON would change,
// turns the list back into CEL values for the rest of the comprehension.

// accumulateRawMin is the length from which a map/filter result is kept
// encoded. Shorter lists (every list of the hot path) are CEL's own.
const accumulateRawMin = 1024

// appendFunc is the step of the map and filter macros.
const appendFunc = "@weft_append"

func accumulateOptions() []cel.EnvOption {
	t := cel.TypeParamType("T")
	return []cel.EnvOption{
		cel.Function(appendFunc,
			cel.Overload("weft_append_list", []*cel.Type{cel.ListType(t), t}, cel.ListType(t),
				cel.BinaryBinding(appendElem)),
			// The guard reads the accumulator's first element on every
			// call; the checker has typed the arguments already.
			decls.DisableTypeGuards(true)),
		cel.Macros(
			cel.ReceiverMacro(operators.Map, 2, makeMap),
			cel.ReceiverMacro(operators.Map, 3, makeMap),
			cel.ReceiverMacro(operators.Filter, 2, makeFilter),
		),
	}
}

// makeMap is parser.MakeMap with appendFunc as its step.
func makeMap(eh celparser.ExprHelper, target ast.Expr, args []ast.Expr) (ast.Expr, *common.Error) {
	v, err := iterVar(eh, args[0])
	if err != nil {
		return nil, err
	}
	fn := args[len(args)-1]
	step := eh.NewCall(appendFunc, eh.NewAccuIdent(), fn)
	if len(args) == 3 {
		step = eh.NewCall(operators.Conditional, args[1], step, eh.NewAccuIdent())
	}
	return eh.NewComprehension(target, v, eh.AccuIdentName(), eh.NewList(), eh.NewLiteral(types.True), step, eh.NewAccuIdent()), nil
}

// makeFilter is parser.MakeFilter with appendFunc as its step.
func makeFilter(eh celparser.ExprHelper, target ast.Expr, args []ast.Expr) (ast.Expr, *common.Error) {
	v, err := iterVar(eh, args[0])
	if err != nil {
		return nil, err
	}
	step := eh.NewCall(operators.Conditional, args[1], eh.NewCall(appendFunc, eh.NewAccuIdent(), args[0]), eh.NewAccuIdent())
	return eh.NewComprehension(target, v, eh.AccuIdentName(), eh.NewList(), eh.NewLiteral(types.True), step, eh.NewAccuIdent()), nil
}

func iterVar(eh celparser.ExprHelper, e ast.Expr) (string, *common.Error) {
	if e.Kind() != ast.IdentKind {
		return "", eh.NewError(e.ID(), "argument is not an identifier")
	}
	v := e.AsIdent()
	if v == eh.AccuIdentName() || v == celparser.AccumulatorName {
		return "", eh.NewError(e.ID(), "iteration variable overwrites accumulator variable")
	}
	return v, nil
}

// appendElem appends e to the accumulator acc and returns the accumulator.
func appendElem(acc, e ref.Val) ref.Val {
	switch a := acc.(type) {
	case *rawAccum:
		if a.add(e) {
			return a
		}
		return a.toValues(e)
	case traits.Adder:
		out := a.Add(&oneList{e})
		if l, ok := out.(traits.MutableLister); ok && l.Size() == types.Int(accumulateRawMin) {
			if r := newRawAccum(l); r != nil {
				return r
			}
		}
		return out
	}
	return types.MaybeNoSuchOverloadErr(acc)
}

// rawAccum is a map/filter result kept as encoded elements.
type rawAccum struct {
	buf  []byte // "[" and the elements so far, comma-separated
	n    int
	done traits.Lister // the result, once read
}

// newRawAccum encodes the elements of l, or returns nil if one of them is
// not plain JSON.
func newRawAccum(l traits.Lister) *rawAccum {
	r := &rawAccum{buf: []byte{'['}}
	for it := l.Iterator(); it.HasNext() == types.True; {
		if !r.add(it.Next()) {
			return nil
		}
	}
	return r
}

// add encodes e, reporting false (and leaving the list as it was) if e is
// not plain JSON.
func (r *rawAccum) add(e ref.Val) bool {
	if !plainJSON(e, 0) {
		return false
	}
	v, err := toNative(e)
	if err != nil {
		return false
	}
	r.done = nil
	n := len(r.buf)
	if r.n > 0 {
		r.buf = append(r.buf, ',')
	}
	if r.buf, err = jsonenc.Append(r.buf, v); err != nil {
		r.buf = r.buf[:n]
		return false
	}
	r.n++
	return true
}

// toValues is the list as CEL values, with e appended: for an element
// that is not plain JSON.
func (r *rawAccum) toValues(e ref.Val) ref.Val {
	l := types.NewMutableList(flowAdapter)
	if rl, ok := r.list().(rawList); ok {
		l.Add(rl.full())
	}
	return l.Add(types.NewRefValList(flowAdapter, []ref.Val{e}))
}

// plainJSON reports whether the CEL value v reads back from its JSON
// encoding as the same value of the same type: null, a bool, a finite
// double, a string, a JSON value we handed to CEL (a Raw, or decoded JSON),
// and lists and maps of those. An int, a timestamp, bytes… are not.
func plainJSON(v ref.Val, depth int) bool {
	if depth > maxPlainDepth {
		return false
	}
	switch x := v.(type) {
	case types.Null, types.Bool:
		return true
	case types.Double:
		return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
	case types.String:
		return utf8.ValidString(string(x))
	case rawMap, rawList:
		return true
	}
	switch nv := v.Value().(type) {
	case map[string]any, []any: // JSON values handed to CEL: a body, a step output, an element of one
		return plainNative(nv, depth)
	}
	switch x := v.(type) {
	case traits.Mapper:
		for it := x.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			if _, ok := k.(types.String); !ok || !plainJSON(k, depth+1) || !plainJSON(x.Get(k), depth+1) {
				return false
			}
		}
		return true
	case traits.Lister:
		for it := x.Iterator(); it.HasNext() == types.True; {
			if !plainJSON(it.Next(), depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// plainNative is plainJSON of a Go value: JSON as json.Unmarshal decodes
// it (our step outputs and bodies hold nothing else, but a connector's
// output might).
func plainNative(v any, depth int) bool {
	if depth > maxPlainDepth {
		return false
	}
	switch x := v.(type) {
	case nil, bool, *jsonenc.Raw:
		return true
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case string:
		return utf8.ValidString(x)
	case []any:
		for _, e := range x {
			if !plainNative(e, depth+1) {
				return false
			}
		}
		return true
	case map[string]any:
		for k, e := range x {
			if !utf8.ValidString(k) || !plainNative(e, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

const maxPlainDepth = 64

// list is the list so far, read as every Raw is. The comprehension may
// still append after a read (the cost tracker asks the size of every
// call's result), so this view is of a copy; ToImmutableList, at the end,
// hands over the buffer itself.
func (r *rawAccum) list() traits.Lister {
	if r.done == nil {
		r.done = r.rawList(append(slices.Clip(r.buf), ']'))
	}
	return r.done
}

func (r *rawAccum) rawList(b []byte) traits.Lister {
	raw, err := jsonenc.NewRaw(b)
	if err != nil { // not reachable: the elements were encoded by jsonenc
		return types.NewRefValList(flowAdapter, []ref.Val{types.WrapErr(err)})
	}
	return rawList{rawVal{raw, flowAdapter}}
}

func (r *rawAccum) ToImmutableList() traits.Lister {
	if r.done != nil {
		return r.done
	}
	l := r.rawList(append(r.buf, ']'))
	r.buf = nil
	return l
}

func (r *rawAccum) Size() ref.Val                               { return types.Int(r.n) }
func (r *rawAccum) Add(o ref.Val) ref.Val                       { return r.list().Add(o) }
func (r *rawAccum) Contains(e ref.Val) ref.Val                  { return r.list().Contains(e) }
func (r *rawAccum) Get(i ref.Val) ref.Val                       { return r.list().Get(i) }
func (r *rawAccum) Iterator() traits.Iterator                   { return r.list().Iterator() }
func (r *rawAccum) ConvertToNative(t reflect.Type) (any, error) { return r.list().ConvertToNative(t) }
func (r *rawAccum) ConvertToType(t ref.Type) ref.Val            { return r.list().ConvertToType(t) }
func (r *rawAccum) Equal(o ref.Val) ref.Val                     { return r.list().Equal(o) }
func (r *rawAccum) Type() ref.Type                              { return types.ListType }
func (r *rawAccum) Value() any                                  { return r.list().Value() }

// flowAdapter is the adapter of every flow expression (set by newEnv, the
// only environment whose programs call appendElem).
var flowAdapter *rawAdapter

// oneList is the one-element list [e] that appendElem adds to the
// accumulator: CEL's mutable list reads its Size and each element (Get),
// which oneList answers without building a list of CEL's (a slice, the
// list and its getter, and an adapter call per element read); anything
// else reads it as CEL's own list.
type oneList struct{ e ref.Val }

var _ traits.Lister = (*oneList)(nil)

func (l *oneList) list() traits.Lister { return types.NewRefValList(flowAdapter, []ref.Val{l.e}) }

func (l *oneList) Size() ref.Val { return types.IntOne }

func (l *oneList) Get(i ref.Val) ref.Val {
	if n, ok := i.(types.Int); ok && n == 0 {
		return l.e
	}
	return l.list().Get(i)
}

func (l *oneList) Add(o ref.Val) ref.Val                       { return l.list().Add(o) }
func (l *oneList) Contains(v ref.Val) ref.Val                  { return l.list().Contains(v) }
func (l *oneList) Iterator() traits.Iterator                   { return l.list().Iterator() }
func (l *oneList) ConvertToNative(t reflect.Type) (any, error) { return l.list().ConvertToNative(t) }
func (l *oneList) ConvertToType(t ref.Type) ref.Val            { return l.list().ConvertToType(t) }
func (l *oneList) Equal(o ref.Val) ref.Val                     { return l.list().Equal(o) }
func (l *oneList) Type() ref.Type                              { return types.ListType }
func (l *oneList) Value() any                                  { return l.list().Value() }
