package jsonenc

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// Raw is a JSON document kept as its bytes and read on demand, instead of
// decoded into map[string]any and []any: a 10 MB body decoded costs ~5-6×
// its size in Go heap (a map per object), held for the whole run. A run
// reads fields and elements of a Raw one at a time (Field, Index); a
// sub-document it passes on to another step stays raw, and is encoded
// (Append, Size, Write, Marshal) straight from the bytes to exactly what
// encoding/json gives its decoded form: keys sorted and de-duplicated (the
// last wins, as json.Unmarshal into a map), strings re-escaped, numbers
// read as float64 and formatted as Marshal formats them. Code that needs
// the decoded form calls Decode or Resolve.
//
// A Raw is never changed; its bytes must not be changed either.
type Raw struct {
	b []byte

	once    sync.Once
	members []member // an object's members, sorted by key, the last of equal keys kept
	n       int      // an array's length

	szOnce sync.Once // Size walks the document once: a run asks it of each step output and call input
	sz     int
	szErr  error
}

type member struct {
	key string // unescaped; for keys without escapes, a view of the document
	val []byte
}

// RawDocMin is the size from which a run's trigger body is kept as a Raw
// (a webhook's body, a queued run's stored body) instead of decoded.
const RawDocMin = 1 << 20

// RawSubMin is the size from which Field and Index hand out an object or
// array inside a Raw as a Raw of its own; smaller ones are decoded.
const RawSubMin = 64 << 10

// NewRaw checks that b is one JSON value that json.Unmarshal would decode
// into an any (valid syntax, every number within float64's range) and
// returns it as a Raw. b is kept, not copied.
func NewRaw(b []byte) (*Raw, error) {
	if !json.Valid(b) {
		return nil, errors.New("jsonenc: not valid JSON")
	}
	r := &Raw{b: trimWS(b)}
	if _, err := r.size(); err != nil {
		return nil, err
	}
	return r, nil
}

// Bytes returns the document as it was given (without surrounding space).
func (r *Raw) Bytes() []byte { return r.doc() }

// doc is the document; a Raw not made by NewRaw (its zero value) is null.
func (r *Raw) doc() []byte {
	if len(r.b) == 0 {
		return null
	}
	return r.b
}

var null = []byte("null")

// IsObject and IsArray report the document's kind.
func (r *Raw) IsObject() bool { return r.doc()[0] == '{' }
func (r *Raw) IsArray() bool  { return r.doc()[0] == '[' }

// Decode returns the document decoded as json.Unmarshal into an any does.
func (r *Raw) Decode() (any, error) {
	var v any
	err := json.Unmarshal(r.doc(), &v)
	return v, err
}

// MarshalJSON encodes the document as Marshal encodes its decoded form.
func (r *Raw) MarshalJSON() ([]byte, error) { return Marshal(r) }

// String is the document, encoded.
func (r *Raw) String() string {
	b, err := Marshal(r)
	if err != nil {
		return fmt.Sprintf("<invalid JSON: %v>", err)
	}
	return string(b)
}

// Len is the number of elements of an array, of distinct keys of an
// object, and 0 for anything else.
func (r *Raw) Len() int {
	switch r.doc()[0] {
	case '{':
		return len(r.objMembers())
	case '[':
		r.once.Do(r.index)
		return r.n
	}
	return 0
}

// Field returns an object's member (the last, if the key repeats), read
// as element reads it.
func (r *Raw) Field(key string) (any, bool, error) {
	if r.doc()[0] != '{' {
		return nil, false, nil
	}
	ms := r.objMembers()
	i, ok := slices.BinarySearchFunc(ms, key, func(m member, k string) int { return strings.Compare(m.key, k) })
	if !ok {
		return nil, false, nil
	}
	v, err := element(ms[i].val)
	return v, true, err
}

// Keys returns an object's distinct keys, sorted.
func (r *Raw) Keys() []string {
	if r.doc()[0] != '{' {
		return nil
	}
	ms := r.objMembers()
	ks := make([]string, len(ms))
	for i, m := range ms {
		ks[i] = strings.Clone(m.key)
	}
	return ks
}

// Index returns an array's element i.
func (r *Raw) Index(i int) (any, bool, error) {
	if r.doc()[0] != '[' || i < 0 {
		return nil, false, nil
	}
	var found []byte
	n := 0
	eachElem(r.doc(), func(v []byte) bool {
		if n == i {
			found = v
			return false
		}
		n++
		return true
	})
	if found == nil {
		return nil, false, nil
	}
	v, err := element(found)
	return v, true, err
}

// Elems is an iterator over an array's elements, each read as Index
// reads it, in one pass over the bytes (Index from 0 to Len-1 would read
// the array Len times). Of anything but an array it yields nothing.
func (r *Raw) Elems() *ElemIter {
	b := r.doc()
	if b[0] != '[' {
		return &ElemIter{i: -1}
	}
	i := skipWS(b, 1)
	if b[i] == ']' {
		return &ElemIter{i: -1}
	}
	return &ElemIter{b: b, i: i}
}

// ElemIter is what Elems returns.
type ElemIter struct {
	b []byte
	i int // the next element's start; -1 once there are no more
}

// More reports whether Next has an element to return.
func (it *ElemIter) More() bool { return it.i >= 0 }

// Next returns the next element; call it only while More is true.
func (it *ElemIter) Next() (any, error) {
	end := skipValue(it.b, it.i)
	v := it.b[it.i:end]
	j := skipWS(it.b, end)
	if j < len(it.b) && it.b[j] == ',' {
		it.i = skipWS(it.b, j+1)
	} else {
		it.i = -1
	}
	return element(v)
}

func (r *Raw) objMembers() []member {
	r.once.Do(r.index)
	return r.members
}

// index reads, once, an object's members or an array's length.
func (r *Raw) index() {
	switch r.doc()[0] {
	case '{':
		var ms []member
		eachMember(r.doc(), func(k string, v []byte) { ms = append(ms, member{k, v}) })
		r.members = sortMembers(ms)
	case '[':
		eachElem(r.doc(), func([]byte) bool { r.n++; return true })
	}
}

// element is a value inside a Raw as a run sees it: scalars decoded (a
// string copied out of the document), small objects and arrays decoded,
// large ones a Raw.
func element(v []byte) (any, error) {
	switch v[0] {
	case '{', '[':
		if len(v) >= RawSubMin {
			return &Raw{b: v}, nil
		}
		var out any
		err := json.Unmarshal(v, &out)
		return out, err
	case '"':
		s, err := unquote(v)
		return strings.Clone(s), err
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case 'n':
		return nil, nil
	}
	return strconv.ParseFloat(view(v), 64)
}

// Resolve returns v with every Raw in it (at any depth of maps and lists)
// decoded; maps and lists that hold none are returned as they are, and
// the ones that do are copied, never changed.
func Resolve(v any) (any, error) {
	out, _, err := resolve(v)
	return out, err
}

func resolve(v any) (any, bool, error) {
	switch x := v.(type) {
	case *Raw:
		d, err := x.Decode()
		return d, true, err
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			r, changed, err := resolve(e)
			if err != nil {
				return nil, false, err
			}
			if changed && out == nil {
				out = make(map[string]any, len(x))
				for k2, e2 := range x {
					out[k2] = e2
				}
			}
			if out != nil {
				out[k] = r
			}
		}
		if out == nil {
			return x, false, nil
		}
		return out, true, nil
	case []any:
		var out []any
		for i, e := range x {
			r, changed, err := resolve(e)
			if err != nil {
				return nil, false, err
			}
			if changed && out == nil {
				out = slices.Clone(x)
			}
			if out != nil {
				out[i] = r
			}
		}
		if out == nil {
			return x, false, nil
		}
		return out, true, nil
	}
	return v, false, nil
}

// HasRaw reports whether v holds a Raw at any depth.
func HasRaw(v any) bool {
	switch x := v.(type) {
	case *Raw:
		return true
	case map[string]any:
		for _, e := range x {
			if HasRaw(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if HasRaw(e) {
				return true
			}
		}
	}
	return false
}

// --- scanning (the document is valid JSON: NewRaw checked it) ----------

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimWS(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && isWS(b[i]) {
		i++
	}
	for j > i && isWS(b[j-1]) {
		j--
	}
	return b[i:j]
}

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// skipValue returns the end of the value that starts at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// skipString returns the end of the string whose quote is at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// eachElem calls f with each element of the array b until f returns false.
func eachElem(b []byte, f func([]byte) bool) {
	i := skipWS(b, 1)
	if b[i] == ']' {
		return
	}
	for {
		end := skipValue(b, i)
		if !f(b[i:end]) {
			return
		}
		i = skipWS(b, end)
		if b[i] != ',' {
			return
		}
		i = skipWS(b, i+1)
	}
}

// eachMember calls f with each member of the object b, in document order.
// A key without escapes is a view of b.
func eachMember(b []byte, f func(key string, val []byte)) {
	i := skipWS(b, 1)
	if b[i] == '}' {
		return
	}
	for {
		kend := skipString(b, i)
		key, _ := unquote(b[i:kend]) // valid: NewRaw checked every string
		i = skipWS(b, kend)
		i = skipWS(b, i+1) // ':'
		end := skipValue(b, i)
		f(key, b[i:end])
		i = skipWS(b, end)
		if b[i] != ',' {
			return
		}
		i = skipWS(b, i+1)
	}
}

// sortMembers sorts ms by key and keeps the last of equal keys, as
// json.Unmarshal into a map does.
func sortMembers(ms []member) []member {
	slices.SortStableFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
	out := ms[:0]
	for i := range ms {
		if i+1 < len(ms) && ms[i+1].key == ms[i].key {
			continue
		}
		out = append(out, ms[i])
	}
	return out
}

// view is b as a string without a copy, for reading only.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// unquote returns the string literal q decoded. Without escapes it is a
// view of q; with them, encoding/json decodes it (lone surrogates become
// U+FFFD there as here).
func unquote(q []byte) (string, error) {
	in := q[1 : len(q)-1]
	if !slices.Contains(in, '\\') {
		return view(in), nil
	}
	var s string
	err := json.Unmarshal(q, &s)
	return s, err
}

// --- encoding -----------------------------------------------------------

// rawWriter encodes a document as Marshal encodes its decoded form:
// appending to b, or counting (countOnly), or streaming through s.
type rawWriter struct {
	b         []byte
	countOnly bool
	n         int
	s         *streamer
	scratch   [][]member // per depth, reused
}

// spill keeps the buffer small between members and elements: counted and
// dropped, or flushed to the stream.
func (w *rawWriter) spill() error {
	switch {
	case w.countOnly:
		w.n += len(w.b)
		w.b = w.b[:0]
	case w.s != nil && len(w.b) >= w.s.chunk:
		w.s.b = w.b
		if err := w.s.flush(); err != nil {
			return err
		}
		w.b = w.s.b
	}
	return nil
}

func (w *rawWriter) value(v []byte, depth int) error {
	switch v[0] {
	case '{':
		for len(w.scratch) <= depth {
			w.scratch = append(w.scratch, nil)
		}
		ms := w.scratch[depth][:0]
		eachMember(v, func(k string, val []byte) { ms = append(ms, member{k, val}) })
		ms = sortMembers(ms)
		w.scratch[depth] = ms
		w.b = append(w.b, '{')
		for i, m := range ms {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendString(w.b, m.key)
			w.b = append(w.b, ':')
			if err := w.value(m.val, depth+1); err != nil {
				return err
			}
			if err := w.spill(); err != nil {
				return err
			}
		}
		clear(ms) // keep no views of the document
		w.b = append(w.b, '}')
		return nil
	case '[':
		w.b = append(w.b, '[')
		first := true
		var err error
		eachElem(v, func(e []byte) bool {
			if !first {
				w.b = append(w.b, ',')
			}
			first = false
			if err = w.value(e, depth+1); err != nil {
				return false
			}
			err = w.spill()
			return err == nil
		})
		if err != nil {
			return err
		}
		w.b = append(w.b, ']')
		return nil
	case '"':
		s, err := unquote(v)
		if err != nil {
			return err
		}
		w.b = appendString(w.b, s)
		return nil
	case 't', 'f', 'n':
		w.b = append(w.b, v...)
		return nil
	}
	f, err := strconv.ParseFloat(view(v), 64)
	if err != nil {
		return fmt.Errorf("jsonenc: number %s: %w", v, err)
	}
	w.b, err = appendFloat(w.b, f)
	return err
}

func (r *Raw) size() (int, error) {
	r.szOnce.Do(func() {
		w := rawWriter{countOnly: true}
		if r.szErr = w.value(r.doc(), 0); r.szErr == nil {
			r.sz = w.n + len(w.b)
		}
	})
	return r.sz, r.szErr
}

func (r *Raw) appendTo(b []byte) ([]byte, error) {
	w := rawWriter{b: b}
	err := w.value(r.doc(), 0)
	return w.b, err
}

func (r *Raw) stream(s *streamer) error {
	w := rawWriter{b: s.b, s: s}
	err := w.value(r.doc(), 0)
	s.b = w.b
	return err
}
