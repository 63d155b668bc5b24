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
// the size goes to the bytes; any other operation (equality, iteration,
// `in`, conversion) decodes the document and asks CEL's own map or list.
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
func (v rawVal) Iterator() traits.Iterator                   { return v.full().(traits.Iterable).Iterator() }

type rawMap struct{ rawVal }

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
