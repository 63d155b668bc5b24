package flow

import (
	"fmt"
	"strconv"
	"strings"
)

// Redaction paths: a small, documented subset of JSONPath that names the
// values of a payload to replace with "[redacted]" before it is kept.
//
//	$.customer.email     a member, by name
//	$.items[0].card      an array element, by index
//	$.items[*].card      every element of an array (or member of an object)
//	$.*.card             the same, written as a dot
//	$..ssn               a member named ssn at any depth
//	$['odd key']         a member whose name is not a plain word
//
// Filters, slices, unions and scripts are not part of the subset.

// Bounds on a flow's redaction paths.
const (
	MaxRedactEntries = 64  // entries in a flow's redact list
	MaxPathLen       = 256 // characters in one path
	MaxPathDepth     = 16  // segments in one path
	maxPathIndex     = 1_000_000
)

// Redacted replaces a redacted value.
const Redacted = "[redacted]"

// Segment kinds of a JSONPath.
const (
	segField     = 'f' // .name or ['name']
	segIndex     = 'i' // [n]
	segWild      = 'w' // [*] or .*
	segRecursive = 'r' // ..name
)

type pathSeg struct {
	kind  byte
	name  string
	index int
}

// JSONPath is a parsed redaction path.
type JSONPath struct {
	Text string
	segs []pathSeg
}

func (p JSONPath) String() string { return p.Text }

// ParseJSONPath parses a redaction path. Errors say at which character
// (1-based) the path goes wrong.
func ParseJSONPath(s string) (JSONPath, error) {
	p := JSONPath{Text: s}
	if len(s) > MaxPathLen {
		return p, fmt.Errorf("path is %d characters long; the limit is %d", len(s), MaxPathLen)
	}
	if !strings.HasPrefix(s, "$") {
		return p, fmt.Errorf("a path starts with $")
	}
	at := func(i int, format string, args ...any) (JSONPath, error) {
		return p, fmt.Errorf("at character %d: %s", i+1, fmt.Sprintf(format, args...))
	}
	i := 1
	for i < len(s) {
		if len(p.segs) >= MaxPathDepth {
			return at(i, "path has more than %d segments", MaxPathDepth)
		}
		switch {
		case strings.HasPrefix(s[i:], ".."):
			i += 2
			n := wordLen(s[i:])
			if n == 0 {
				return at(i, "after .. comes a member name ($..ssn)")
			}
			p.segs = append(p.segs, pathSeg{kind: segRecursive, name: s[i : i+n]})
			i += n
		case s[i] == '.':
			i++
			if i < len(s) && s[i] == '*' {
				p.segs = append(p.segs, pathSeg{kind: segWild})
				i++
				continue
			}
			n := wordLen(s[i:])
			if n == 0 {
				return at(i, "after . comes a member name (letters, digits, _ or -) or *")
			}
			p.segs = append(p.segs, pathSeg{kind: segField, name: s[i : i+n]})
			i += n
		case s[i] == '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return at(i, "[ is not closed")
			}
			inner := s[i+1 : i+end]
			switch {
			case inner == "*":
				p.segs = append(p.segs, pathSeg{kind: segWild})
			case len(inner) >= 2 && inner[0] == '\'' && inner[len(inner)-1] == '\'':
				name := inner[1 : len(inner)-1]
				if name == "" || strings.ContainsAny(name, "'\\") {
					return at(i, "a quoted member name is not empty and holds no ' or \\")
				}
				p.segs = append(p.segs, pathSeg{kind: segField, name: name})
			default:
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 || n > maxPathIndex || (len(inner) > 1 && inner[0] == '0') {
					return at(i+1, "[%s] is not an index (0 to %d), * or a quoted name; filters and slices are not supported", inner, maxPathIndex)
				}
				p.segs = append(p.segs, pathSeg{kind: segIndex, index: n})
			}
			i += end + 1
		default:
			return at(i, "unexpected %q (use .name, [n], [*], ['name'] or ..name)", s[i])
		}
	}
	if len(p.segs) == 0 {
		return p, fmt.Errorf("$ alone would redact the whole payload: name what to redact, or use capture: metadata")
	}
	return p, nil
}

func wordLen(s string) int {
	n := 0
	for n < len(s) {
		c := s[n]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			n++
			continue
		}
		break
	}
	return n
}

// Redact replaces, in v (a decoded JSON value, changed in place), every
// value the path names with Redacted, and returns v.
func (p JSONPath) Redact(v any) any {
	return redactAt(v, p.segs, func(any) any { return Redacted })
}

// Visit calls fn with every value the path names in v. It only reads v,
// so v may be shared with readers in other goroutines.
func (p JSONPath) Visit(v any, fn func(any)) { visitAt(v, p.segs, fn, 0) }

func visitAt(v any, segs []pathSeg, fn func(any), depth int) {
	if len(segs) == 0 {
		fn(v)
		return
	}
	if depth > 1000 {
		return
	}
	s, rest := segs[0], segs[1:]
	switch s.kind {
	case segField:
		if m, ok := v.(map[string]any); ok {
			if c, ok := m[s.name]; ok {
				visitAt(c, rest, fn, depth+1)
			}
		}
	case segIndex:
		if a, ok := v.([]any); ok && s.index < len(a) {
			visitAt(a[s.index], rest, fn, depth+1)
		}
	case segWild:
		switch x := v.(type) {
		case map[string]any:
			for _, c := range x {
				visitAt(c, rest, fn, depth+1)
			}
		case []any:
			for _, c := range x {
				visitAt(c, rest, fn, depth+1)
			}
		}
	case segRecursive:
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if k == s.name {
					visitAt(c, rest, fn, depth+1)
				}
				visitAt(c, segs, fn, depth+1)
			}
		case []any:
			for _, c := range x {
				visitAt(c, segs, fn, depth+1)
			}
		}
	}
}

func redactAt(v any, segs []pathSeg, repl func(any) any) any {
	if len(segs) == 0 {
		return repl(v)
	}
	s, rest := segs[0], segs[1:]
	switch s.kind {
	case segField:
		if m, ok := v.(map[string]any); ok {
			if c, ok := m[s.name]; ok {
				m[s.name] = redactAt(c, rest, repl)
			}
		}
	case segIndex:
		if a, ok := v.([]any); ok && s.index < len(a) {
			a[s.index] = redactAt(a[s.index], rest, repl)
		}
	case segWild:
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				x[k] = redactAt(c, rest, repl)
			}
		case []any:
			for i, c := range x {
				x[i] = redactAt(c, rest, repl)
			}
		}
	case segRecursive:
		return redactDeep(v, s.name, rest, repl, 0)
	}
	return v
}

// redactDeep applies rest to every member named name at any depth of v.
// JSON payloads are bounded in depth where they are decoded; depth stops
// a pathological one anyway.
func redactDeep(v any, name string, rest []pathSeg, repl func(any) any, depth int) any {
	if depth > 1000 {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if k == name {
				x[k] = redactAt(c, rest, repl)
				if _, ok := x[k].(string); ok && len(rest) == 0 {
					continue
				}
			}
			x[k] = redactDeep(x[k], name, rest, repl, depth+1)
		}
	case []any:
		for i, c := range x {
			x[i] = redactDeep(c, name, rest, repl, depth+1)
		}
	}
	return v
}
