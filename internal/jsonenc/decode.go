package jsonenc

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// maxDecodeDepth is the nesting past which Decode leaves the document to
// encoding/json (whose own limit is 10,000).
const maxDecodeDepth = 1000

// Decode returns data decoded as json.Unmarshal into an any decodes it:
// the same value (objects as map[string]any with the last of repeated
// keys, arrays as []any, numbers as float64) and, for a document it
// refuses, the same error. It exists for the hot path of a run: a
// webhook's body decoded without reflection, and its strings without an
// allocation each: data is copied once and every string that needs no
// unescaping is a view of that copy (so a string kept by a run keeps the
// copy alive: for bodies, not for arbitrarily large documents).
// Anything it does not decode itself (an escape, a number out of range,
// invalid syntax, deep nesting) it hands whole to encoding/json.
func Decode(data []byte) (any, error) {
	d := decoder{s: string(data)}
	if v, ok := d.value(0); ok {
		if d.ws(); d.i == len(d.s) {
			return v, nil
		}
	}
	var v any
	err := json.Unmarshal(data, &v)
	return v, err
}

type decoder struct {
	s string
	i int
}

func (d *decoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// value decodes the value at d.i; ok false: not decoded here.
func (d *decoder) value(depth int) (any, bool) {
	d.ws()
	if d.i >= len(d.s) || depth > maxDecodeDepth {
		return nil, false
	}
	switch c := d.s[d.i]; c {
	case '{':
		d.i++
		m := map[string]any{}
		d.ws()
		if d.i < len(d.s) && d.s[d.i] == '}' {
			d.i++
			return m, true
		}
		for {
			d.ws()
			if d.i >= len(d.s) || d.s[d.i] != '"' {
				return nil, false
			}
			k, ok := d.str()
			if !ok {
				return nil, false
			}
			if d.ws(); d.i >= len(d.s) || d.s[d.i] != ':' {
				return nil, false
			}
			d.i++
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			m[k] = v
			if d.ws(); d.i >= len(d.s) {
				return nil, false
			}
			switch d.s[d.i] {
			case ',':
				d.i++
			case '}':
				d.i++
				return m, true
			default:
				return nil, false
			}
		}
	case '[':
		d.i++
		l := []any{}
		d.ws()
		if d.i < len(d.s) && d.s[d.i] == ']' {
			d.i++
			return l, true
		}
		for {
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			l = append(l, v)
			if d.ws(); d.i >= len(d.s) {
				return nil, false
			}
			switch d.s[d.i] {
			case ',':
				d.i++
			case ']':
				d.i++
				return l, true
			default:
				return nil, false
			}
		}
	case '"':
		return d.str()
	case 't':
		return true, d.lit("true")
	case 'f':
		return false, d.lit("false")
	case 'n':
		return nil, d.lit("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return d.num()
		}
	}
	return nil, false
}

func (d *decoder) lit(w string) bool {
	if len(d.s)-d.i >= len(w) && d.s[d.i:d.i+len(w)] == w {
		d.i += len(w)
		return true
	}
	return false
}

// str decodes the string whose quote is at d.i.
func (d *decoder) str() (string, bool) {
	start := d.i
	esc, ascii := false, true
	j := d.i + 1
	for ; j < len(d.s); j++ {
		c := d.s[j]
		if c == '"' {
			break
		}
		switch {
		case c == '\\':
			esc = true
			j++
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if j >= len(d.s) {
		return "", false
	}
	d.i = j + 1
	in := d.s[start+1 : j]
	if !esc && (ascii || utf8.ValidString(in)) {
		return in, true
	}
	var out string // escapes, or bytes json replaces with U+FFFD: its own decoding
	if json.Unmarshal([]byte(d.s[start:d.i]), &out) != nil {
		return "", false
	}
	return out, true
}

// num decodes a number in JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) num() (any, bool) {
	start, i := d.i, d.i
	digits := func() bool {
		n := i
		for i < len(d.s) && d.s[i] >= '0' && d.s[i] <= '9' {
			i++
		}
		return i > n
	}
	if d.s[i] == '-' {
		i++
	}
	if i < len(d.s) && d.s[i] == '0' {
		i++
	} else if !digits() {
		return nil, false
	}
	if i < len(d.s) && d.s[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(d.s) && (d.s[i] == 'e' || d.s[i] == 'E') {
		i++
		if i < len(d.s) && (d.s[i] == '+' || d.s[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	f, err := strconv.ParseFloat(d.s[start:i], 64)
	if err != nil {
		return nil, false // out of range: encoding/json's error
	}
	d.i = i
	return f, true
}
