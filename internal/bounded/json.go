package bounded

import (
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/jsonenc"
)

// CheckJSON checks data against l (zero fields from DefaultJSON) without
// decoding it: size, valid UTF-8 (encoding/json would silently replace
// bad bytes with U+FFFD), nesting depth and node count. Syntax is left to
// the decoder.
func CheckJSON(name string, data []byte, l Limits) error {
	l = l.With(DefaultJSON)
	if int64(len(data)) > l.MaxBytes {
		return tooLarge(name, len(data), l)
	}
	if !utf8.Valid(data) {
		return weft.Errorf(weft.EInvalid, "%s is not valid UTF-8 at byte %d", name, badUTF8(data))
	}
	depth, nodes := 0, int64(1)
	inStr, esc := false, false
	lowAt := -1 // where the low half of a checked surrogate pair sits
	for i, b := range data {
		if inStr {
			switch {
			case esc:
				esc = false
				if b == 'u' && i != lowAt {
					// encoding/json would turn a lone surrogate into U+FFFD.
					switch r := hex4(data, i+1); {
					case r >= 0xD800 && r < 0xDC00:
						if len(data) < i+11 || data[i+5] != '\\' || data[i+6] != 'u' || hex4(data, i+7) < 0xDC00 || hex4(data, i+7) > 0xDFFF {
							return weft.Errorf(weft.EInvalid, "%s has a lone UTF-16 surrogate (\\u%s) at byte %d", name, data[i+1:i+5], i-1)
						}
						lowAt = i + 6
					case r >= 0xDC00 && r <= 0xDFFF:
						return weft.Errorf(weft.EInvalid, "%s has a lone UTF-16 surrogate (\\u%s) at byte %d", name, data[i+1:i+5], i-1)
					}
				}
			case b == '\\':
				esc = true
			case b == '"':
				inStr = false
			}
			continue
		}
		switch b {
		case '"':
			inStr = true
		case '{', '[':
			depth++
			if depth > l.MaxDepth {
				return weft.Errorf(weft.EInvalid, "%s nests deeper than %d levels at byte %d; the limit is %d", name, l.MaxDepth, i, l.MaxDepth)
			}
		case '}', ']':
			depth--
		case ',', ':':
			// Every value after the first in a collection follows a comma
			// or a colon: counting them counts the nodes.
			nodes++
			if nodes > l.MaxNodes {
				return weft.Errorf(weft.ETooLarge, "%s has more than %d values at byte %d; the limit is %d", name, l.MaxNodes, i, l.MaxNodes)
			}
		}
	}
	return nil
}

// hex4 reads four hex digits at data[i:], or gives -1.
func hex4(data []byte, i int) int {
	if i+4 > len(data) {
		return -1
	}
	r := 0
	for _, c := range data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | int(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | int(c-'A'+10)
		default:
			return -1
		}
	}
	return r
}

// badUTF8 is the offset of the first byte that is not valid UTF-8.
func badUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// UnmarshalJSON checks data as CheckJSON does, then decodes it into v.
// Errors are invalid, with the byte offset of a syntax error.
func UnmarshalJSON(name string, data []byte, v any, l Limits) error {
	if err := CheckJSON(name, data, l); err != nil {
		return err
	}
	return jsonErr(name, json.Unmarshal(data, v))
}

// DecodeJSON is UnmarshalJSON into an any (the same value, the same
// errors), decoded by jsonenc.Decode: without reflection, its strings
// views of one copy of data.
func DecodeJSON(name string, data []byte, l Limits) (any, error) {
	if err := CheckJSON(name, data, l); err != nil {
		return nil, err
	}
	v, err := jsonenc.Decode(data)
	return v, jsonErr(name, err)
}

// ReadJSON reads at most l.MaxBytes from r and decodes them as
// UnmarshalJSON does.
func ReadJSON(name string, r io.Reader, v any, l Limits) error {
	l = l.With(DefaultJSON)
	data, err := io.ReadAll(io.LimitReader(r, l.MaxBytes+1))
	if err != nil {
		return weft.Wrap(weft.EInvalid, err, "reading %s: %v", name, err)
	}
	return UnmarshalJSON(name, data, v, l)
}

func jsonErr(name string, err error) error {
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return weft.Wrap(weft.EInvalid, err, "%s is not valid JSON at byte %d: %v", name, se.Offset, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return weft.Wrap(weft.EInvalid, err, "%s: %v", name, err)
	}
	return weft.Wrap(weft.EInvalid, err, "%s is not valid JSON: %v", name, err)
}
