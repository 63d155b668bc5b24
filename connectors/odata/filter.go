package odata

import (
	"fmt"
	"strconv"
	"strings"
)

// The sandbox's $filter reader: the subset Weft's own operations write
// and most hand-written filters use — comparisons (eq ne gt ge lt le),
// in (...), contains / startswith / endswith / substringof, and, or,
// not, parentheses — over properties and typed literals.

type fexpr interface {
	eval(rec map[string]any) bool
}

type fand struct{ a, b fexpr }
type for_ struct{ a, b fexpr }
type fnot struct{ a fexpr }
type fcmp struct {
	prop, op string
	lit      any
}
type fin struct {
	prop string
	lits []any
}
type ffunc struct {
	name, prop string
	arg        string
}

func (x fand) eval(r map[string]any) bool { return x.a.eval(r) && x.b.eval(r) }
func (x for_) eval(r map[string]any) bool { return x.a.eval(r) || x.b.eval(r) }
func (x fnot) eval(r map[string]any) bool { return !x.a.eval(r) }
func (x fin) eval(r map[string]any) bool {
	for _, l := range x.lits {
		if compare(r[x.prop], l) == 0 {
			return true
		}
	}
	return false
}
func (x ffunc) eval(r map[string]any) bool {
	s, _ := r[x.prop].(string)
	switch x.name {
	case "contains", "substringof":
		return strings.Contains(s, x.arg)
	case "startswith":
		return strings.HasPrefix(s, x.arg)
	case "endswith":
		return strings.HasSuffix(s, x.arg)
	}
	return false
}
func (x fcmp) eval(r map[string]any) bool {
	v := r[x.prop]
	if x.lit == nil || v == nil {
		switch x.op {
		case "eq":
			return v == nil && x.lit == nil
		case "ne":
			return (v == nil) != (x.lit == nil)
		}
		return false
	}
	c := compare(v, x.lit)
	switch x.op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}

// compare orders two values: numerically when both read as numbers,
// else as text.
func compare(a, b any) int {
	fa, oka := number(a)
	fb, okb := number(b)
	if oka && okb {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	sa, sb := fmt.Sprint(a), fmt.Sprint(b)
	return strings.Compare(sa, sb)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

type fparser struct {
	toks []string
	i    int
	t    *EntityType
}

// maxFilterTokens bounds a $filter the sandbox reads.
const maxFilterTokens = 2000

func parseFilter(s string, t *EntityType) (fexpr, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	if len(toks) > maxFilterTokens {
		return nil, fmt.Errorf("$filter has more than %d tokens", maxFilterTokens)
	}
	p := &fparser{toks: toks, t: t}
	e, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("$filter: unexpected %q", p.toks[p.i])
	}
	return e, nil
}

func tokenize(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, string(c))
			i++
		case c == '\'':
			j := i + 1
			var b strings.Builder
			b.WriteByte('\'')
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("$filter: unterminated string")
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			out = append(out, b.String())
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" (),", rune(s[j])) {
				if s[j] == '\'' { // typed literal: guid'...', datetime'...'
					k := strings.IndexByte(s[j+1:], '\'')
					if k < 0 {
						return nil, fmt.Errorf("$filter: unterminated literal")
					}
					j += k + 2
					continue
				}
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out, nil
}

func (p *fparser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *fparser) next() string {
	t := p.peek()
	p.i++
	return t
}

func (p *fparser) expect(s string) error {
	if t := p.next(); t != s {
		return fmt.Errorf("$filter: want %q, got %q", s, t)
	}
	return nil
}

func (p *fparser) or(depth int) (fexpr, error) {
	if depth > 50 {
		return nil, fmt.Errorf("$filter nests too deeply")
	}
	a, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.peek() == "or" {
		p.next()
		b, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		a = for_{a, b}
	}
	return a, nil
}

func (p *fparser) and(depth int) (fexpr, error) {
	a, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.peek() == "and" {
		p.next()
		b, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		a = fand{a, b}
	}
	return a, nil
}

func (p *fparser) prop(name string) error {
	if p.t.Prop(name) == nil {
		return fmt.Errorf("$filter: %q is not a property of %s", name, p.t.Name)
	}
	return nil
}

func (p *fparser) unary(depth int) (fexpr, error) {
	switch t := p.peek(); t {
	case "not":
		p.next()
		a, err := p.unary(depth + 1)
		return fnot{a}, err
	case "(":
		p.next()
		a, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		return a, p.expect(")")
	case "contains", "startswith", "endswith", "substringof":
		p.next()
		if err := p.expect("("); err != nil {
			return nil, err
		}
		x := p.next()
		if err := p.expect(","); err != nil {
			return nil, err
		}
		y := p.next()
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		if t == "substringof" {
			x, y = y, x
		}
		if err := p.prop(x); err != nil {
			return nil, err
		}
		lit, err := readLiteral(y)
		if err != nil {
			return nil, err
		}
		s, _ := lit.(string)
		return ffunc{name: t, prop: x, arg: s}, nil
	}
	name := p.next()
	if err := p.prop(name); err != nil {
		return nil, err
	}
	op := p.next()
	if op == "in" {
		if err := p.expect("("); err != nil {
			return nil, err
		}
		var lits []any
		for {
			l, err := readLiteral(p.next())
			if err != nil {
				return nil, err
			}
			lits = append(lits, l)
			if p.peek() == "," {
				p.next()
				continue
			}
			break
		}
		return fin{prop: name, lits: lits}, p.expect(")")
	}
	switch op {
	case "eq", "ne", "gt", "ge", "lt", "le":
	default:
		return nil, fmt.Errorf("$filter: unknown operator %q", op)
	}
	lit, err := readLiteral(p.next())
	if err != nil {
		return nil, err
	}
	return fcmp{prop: name, op: op, lit: lit}, nil
}

// readLiteral reads one URL literal into a plain value.
func readLiteral(s string) (any, error) {
	switch {
	case s == "":
		return nil, fmt.Errorf("$filter: missing value")
	case s == "null":
		return nil, nil
	case s == "true" || s == "false":
		return s == "true", nil
	case strings.HasPrefix(s, "'"):
		return s[1:], nil // the tokenizer has already unquoted it
	}
	if i := strings.IndexByte(s, '\''); i > 0 && strings.HasSuffix(s, "'") { // guid'..', datetime'..', NS.Enum'..'
		return strings.ReplaceAll(s[i+1:len(s)-1], "''", "'"), nil
	}
	n := strings.TrimRight(s, "LMmdDfF")
	if f, err := strconv.ParseFloat(n, 64); err == nil {
		return f, nil
	}
	if guidRe.MatchString(s) || dtoRe.MatchString(s) || dateRe.MatchString(s) {
		return s, nil
	}
	return nil, fmt.Errorf("$filter: %q is not a literal", cut(s, 40))
}
