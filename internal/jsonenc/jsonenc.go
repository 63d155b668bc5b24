// Package jsonenc encodes the JSON-shaped values a run passes between steps
// (map[string]any, []any, string, float64, int64, bool, nil) to exactly the
// bytes encoding/json's Marshal gives them, without reflection: keys sorted,
// HTML-sensitive characters escaped, floats formatted alike. Any other
// value, and anything nested deeper than maxDepth (where Marshal starts
// looking for cycles), is handed to encoding/json itself, so the output
// never differs from json.Marshal's; the package's tests check that.
//
// It exists for the hot path of a run: a step's output is encoded once per
// step for its size and checkpoint, and json.Marshal of a map costs a
// reflect allocation per key and value.
package jsonenc

import (
	"encoding/json"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"
)

// maxDepth is where encoding/json takes over: it detects cycles from
// depth 1000 on, and a cyclic value must fail here as it fails there.
const maxDepth = 500

// Marshal returns v encoded as json.Marshal would encode it.
func Marshal(v any) ([]byte, error) {
	// Count first (Size allocates nothing), then encode into a buffer of
	// exactly that size: a large value costs its size once, not its size
	// plus the buffer's growth and a copy out of it.
	n, err := Size(v)
	if err != nil {
		n = 0 // Append reports the error, as json.Marshal words it
	}
	b, err := Append(make([]byte, 0, n), v)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Append appends v, encoded as json.Marshal would encode it, to b. On an
// error b may hold a partial encoding: use the returned slice only when
// the error is nil.
func Append(b []byte, v any) ([]byte, error) {
	return appendValue(b, v, 0)
}

// Size returns len(Marshal(v)) without encoding v: it counts.
func Size(v any) (int, error) {
	return size(v, 0)
}

func size(v any, depth int) (int, error) {
	var num [40]byte // a number's text, counted, not kept
	switch x := v.(type) {
	case nil:
		return 4, nil
	case string:
		return stringSize(x), nil
	case bool:
		if x {
			return 4, nil
		}
		return 5, nil
	case float64:
		b, err := appendFloat(num[:0], x)
		return len(b), err
	case int64:
		return len(strconv.AppendInt(num[:0], x, 10)), nil
	case int:
		return len(strconv.AppendInt(num[:0], int64(x), 10)), nil
	case uint64:
		return len(strconv.AppendUint(num[:0], x, 10)), nil
	case *Raw:
		if x == nil {
			return 4, nil
		}
		return x.size()
	case map[string]any:
		if x == nil {
			return 4, nil
		}
		if depth >= maxDepth {
			break
		}
		n := 2 + max(len(x)-1, 0) // braces, commas
		for k, e := range x {
			m, err := size(e, depth+1)
			if err != nil {
				return 0, err
			}
			n += stringSize(k) + 1 + m
		}
		return n, nil
	case []any:
		if x == nil {
			return 4, nil
		}
		if depth >= maxDepth {
			break
		}
		n := 2 + max(len(x)-1, 0)
		for _, e := range x {
			m, err := size(e, depth+1)
			if err != nil {
				return 0, err
			}
			n += m
		}
		return n, nil
	}
	data, err := json.Marshal(v)
	return len(data), err
}

// stringSize is len(appendString(nil, s)).
func stringSize(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case safe[c]:
				n++
			case c == '\\', c == '"', c == '\b', c == '\f', c == '\n', c == '\r', c == '\t':
				n += 2
			default:
				n += 6
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w == 1, r == '\u2028', r == '\u2029':
			n += 6
		default:
			n += w
		}
		i += w
	}
	return n
}

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		return appendFloat(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case *Raw:
		if x == nil {
			return append(b, "null"...), nil
		}
		return x.appendTo(b)
	case map[string]any:
		if x == nil {
			return append(b, "null"...), nil
		}
		if depth >= maxDepth {
			return appendStd(b, x)
		}
		return appendMap(b, x, depth)
	case []any:
		if x == nil {
			return append(b, "null"...), nil
		}
		if depth >= maxDepth {
			return appendStd(b, x)
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	}
	return appendStd(b, v)
}

func appendStd(b []byte, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, data...), nil
}

func appendMap(b []byte, m map[string]any, depth int) ([]byte, error) {
	var arr [16]string
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, m[k], depth+1); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendFloat is encoding/json's floatEncoder for 64-bit floats.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, &json.UnsupportedValueError{Value: reflect.ValueOf(f), Str: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hex = "0123456789abcdef"

// safe reports the ASCII bytes encoding/json writes as they are (with
// HTML escaping on, as Marshal has it): printable, not '"', '\\', '<',
// '>' or '&'.
var safe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString is encoding/json's appendString with escapeHTML on.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				// Control characters and <, >, &.
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript string
		// literals; encoding/json escapes them.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Write writes v to w, encoded byte for byte as Marshal encodes it,
// without holding the whole encoding: lists and objects are written
// element by element through a buffer of about streamChunk bytes (a
// string or number is encoded whole). On an error part of v may already
// have been written.
func Write(w io.Writer, v any) error {
	return write(w, v, streamChunk)
}

func write(w io.Writer, v any, chunk int) error {
	s := streamer{w: w, b: make([]byte, 0, chunk+512), chunk: chunk}
	if err := s.value(v, 0); err != nil {
		return err
	}
	return s.flush()
}

// streamChunk is how much Write buffers before it writes.
const streamChunk = 32 << 10

type streamer struct {
	w     io.Writer
	b     []byte
	chunk int
}

func (s *streamer) flush() error {
	if len(s.b) == 0 {
		return nil
	}
	_, err := s.w.Write(s.b)
	s.b = s.b[:0]
	return err
}

func (s *streamer) value(v any, depth int) error {
	if len(s.b) >= s.chunk {
		if err := s.flush(); err != nil {
			return err
		}
	}
	var err error
	switch x := v.(type) {
	case *Raw:
		if x != nil {
			return x.stream(s)
		}
	case map[string]any:
		if x == nil || depth >= maxDepth {
			break // appendValue writes null or defers to encoding/json, as Marshal does
		}
		var arr [16]string
		keys := arr[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		s.b = append(s.b, '{')
		for i, k := range keys {
			if i > 0 {
				s.b = append(s.b, ',')
			}
			s.b = appendString(s.b, k)
			s.b = append(s.b, ':')
			if err := s.value(x[k], depth+1); err != nil {
				return err
			}
		}
		s.b = append(s.b, '}')
		return nil
	case []any:
		if x == nil || depth >= maxDepth {
			break
		}
		s.b = append(s.b, '[')
		for i, e := range x {
			if i > 0 {
				s.b = append(s.b, ',')
			}
			if err := s.value(e, depth+1); err != nil {
				return err
			}
		}
		s.b = append(s.b, ']')
		return nil
	}
	s.b, err = appendValue(s.b, v, depth)
	return err
}

// AppendString appends s as a JSON string, as Marshal writes it.
func AppendString(b []byte, s string) []byte { return appendString(b, s) }
