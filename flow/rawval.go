package flow

import (
	"fmt"
	"reflect"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"

	"github.com/weftio/weft/internal/jsonenc"
)

// rawAdapter is the CEL adapter of every flow expression: the registry's,
// plus jsonenc.Raw documents (a large trigger body kept as its bytes),
// which CEL reads as maps and lists without decoding them whole. Maps and
// lists are wrapped with this adapter so that a Raw nested in a step output
// is read the same way.
type rawAdapter struct{ base types.Adapter }

func (a *rawAdapter) NativeToValue(v any) ref.Val {
	switch x := v.(type) {
	case *jsonenc.Raw:
		if x == nil {
			return types.NullValue
		}
		if x.IsObject() {
			return rawMap{rawVal{x, a}}
		}
		if x.IsArray() {
			return rawList{rawVal{x, a}}
		}
		d, err := x.Decode() // NewRaw and element hand out only objects and arrays as Raw
		if err != nil {
			return types.NewErrFromString(err.Error())
		}
		return a.base.NativeToValue(d)
	case map[string]any:
		return types.NewStringInterfaceMap(a, x)
	case []any:
		return types.NewDynamicList(a, v) // v, not x: no second boxing of the slice
	}
	return a.base.NativeToValue(v)
}

// rawVal is what rawMap and rawList share: reading a field, an element or
// the size goes to the bytes, iterating reads one element (or key) at a
// time; any other operation (equality, `in` on a list, conversion) decodes
// the document and asks CEL's own map or list.
type rawVal struct {
	r *jsonenc.Raw
	a *rawAdapter
}

func (v rawVal) full() ref.Val {
	d, err := v.r.Decode()
	if err != nil {
		return types.NewErrFromString(err.Error())
	}
	return v.a.NativeToValue(d)
}

func (v rawVal) elem(x any, ok bool, err error) (ref.Val, bool) {
	if err != nil {
		return types.NewErrFromString(err.Error()), false
	}
	if !ok {
		return nil, false
	}
	return v.a.NativeToValue(x), true
}

func (v rawVal) ConvertToNative(t reflect.Type) (any, error) { return v.full().ConvertToNative(t) }
func (v rawVal) Equal(o ref.Val) ref.Val                     { return v.full().Equal(o) }
func (v rawVal) Value() any                                  { return v.r }
func (v rawVal) Size() ref.Val                               { return types.Int(v.r.Len()) }
func (v rawVal) Contains(e ref.Val) ref.Val                  { return v.full().(traits.Container).Contains(e) }

type rawMap struct{ rawVal }

// Iterator yields the keys (sorted) without decoding the values.
func (m rawMap) Iterator() traits.Iterator {
	ks := m.r.Keys()
	vs := make([]ref.Val, len(ks))
	for i, k := range ks {
		vs[i] = types.String(k)
	}
	return types.NewRefValList(m.a, vs).Iterator()
}

// Iterator reads the elements one at a time: a comprehension over a large
// list (`rows.map(r, ...)`) holds one decoded element, not all of them.
func (l rawList) Iterator() traits.Iterator { return &rawIter{it: l.r.Elems(), a: l.a} }

type rawIter struct {
	it *jsonenc.ElemIter
	a  *rawAdapter
}

func (i *rawIter) HasNext() ref.Val { return types.Bool(i.it.More()) }

func (i *rawIter) Next() ref.Val {
	if !i.it.More() {
		return types.NewErrFromString("no more elements")
	}
	v, err := i.it.Next()
	if err != nil {
		return types.NewErrFromString(err.Error())
	}
	return i.a.NativeToValue(v)
}

func (i *rawIter) ConvertToNative(reflect.Type) (any, error) {
	return nil, fmt.Errorf("an iterator cannot be converted")
}
func (i *rawIter) ConvertToType(ref.Type) ref.Val {
	return types.NewErrFromString("an iterator cannot be converted")
}
func (i *rawIter) Equal(ref.Val) ref.Val { return types.False }
func (i *rawIter) Type() ref.Type        { return iterType }
func (i *rawIter) Value() any            { return nil }

var iterType = types.NewObjectType("weft.iterator")

func (m rawMap) Type() ref.Type { return types.MapType }

func (m rawMap) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return types.MapType
	}
	return m.full().ConvertToType(t)
}

func (m rawMap) Find(k ref.Val) (ref.Val, bool) {
	s, ok := k.(types.String)
	if !ok {
		return m.full().(traits.Mapper).Find(k)
	}
	return m.elem(m.r.Field(string(s)))
}

func (m rawMap) Get(k ref.Val) ref.Val {
	v, ok := m.Find(k)
	if !ok {
		if v != nil {
			return v
		}
		return types.NewErrFromString(fmt.Sprintf("no such key: %v", k.Value()))
	}
	return v
}

func (m rawMap) Contains(k ref.Val) ref.Val {
	if s, ok := k.(types.String); ok {
		_, found, _ := m.r.Field(string(s))
		return types.Bool(found)
	}
	return m.rawVal.Contains(k)
}

type rawList struct{ rawVal }

func (l rawList) Type() ref.Type { return types.ListType }

func (l rawList) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return types.ListType
	}
	return l.full().ConvertToType(t)
}

func (l rawList) Get(i ref.Val) ref.Val {
	n, err := types.IndexOrError(i)
	if err != nil {
		return types.WrapErr(err)
	}
	v, ok := l.elem(l.r.Index(n))
	if !ok {
		if v != nil {
			return v
		}
		return types.NewErrFromString("index out of range")
	}
	return v
}

func (l rawList) Add(o ref.Val) ref.Val { return l.full().(traits.Adder).Add(o) }
