package odata

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/weftio/weft/internal/lazy"
)

var (
	guidRe     = lazy.NewRegexp(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
	dateTimeRe = lazy.NewRegexp(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,12})?)?$`)
	dtoRe      = lazy.NewRegexp(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,12})?)?(Z|[+-]\d{2}:\d{2})$`)
	dateRe     = lazy.NewRegexp(`^\d{4}-\d{2}-\d{2}$`)
	timeRe     = lazy.NewRegexp(`^\d{2}:\d{2}(:\d{2}(\.\d{1,12})?)?$`)
	durationRe = lazy.NewRegexp(`^-?P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$`)
	decimalRe  = lazy.NewRegexp(`^[+-]?\d{1,40}(\.\d{1,40})?$`)
	intRe      = lazy.NewRegexp(`^[+-]?\d{1,20}$`)
	floatRe    = lazy.NewRegexp(`^[+-]?(\d{1,40}(\.\d{1,40})?([eE][+-]?\d{1,4})?|INF|-INF|NaN)$`)
	identRe    = lazy.NewRegexp(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
)

// Literal writes v as an OData URL literal of type t. Every value is
// checked against its type and strings are quoted with ' doubled, so a
// value can never change the shape of a $filter or key predicate.
func (m *Model) Literal(t string, v any) (string, error) {
	if v == nil {
		return "null", nil
	}
	s, isStr := v.(string)
	num := func() (string, error) {
		switch x := v.(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return "", fmt.Errorf("%v is not a finite number", x)
			}
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case int:
			return strconv.Itoa(x), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case json.Number:
			return x.String(), nil
		case string:
			return x, nil
		}
		return "", fmt.Errorf("%v (%T) is not a number", v, v)
	}
	switch t {
	case "Edm.String":
		if !isStr {
			s = fmt.Sprint(v)
		}
		return "'" + strings.ReplaceAll(s, "'", "''") + "'", nil
	case "Edm.Boolean":
		switch x := v.(type) {
		case bool:
			return strconv.FormatBool(x), nil
		case string:
			if x == "true" || x == "false" {
				return x, nil
			}
		}
		return "", fmt.Errorf("%v is not a boolean", v)
	case "Edm.Byte", "Edm.SByte", "Edm.Int16", "Edm.Int32", "Edm.Int64":
		n, err := num()
		if err != nil {
			return "", err
		}
		if !intRe.MatchString(n) {
			return "", fmt.Errorf("%v is not an integer", v)
		}
		if t == "Edm.Int64" && m.V2() {
			n += "L"
		}
		return n, nil
	case "Edm.Decimal":
		n, err := num()
		if err != nil {
			return "", err
		}
		if !decimalRe.MatchString(n) {
			return "", fmt.Errorf("%v is not a decimal", v)
		}
		if m.V2() {
			n += "M"
		}
		return n, nil
	case "Edm.Double", "Edm.Single":
		n, err := num()
		if err != nil {
			return "", err
		}
		if !floatRe.MatchString(n) {
			return "", fmt.Errorf("%v is not a number", v)
		}
		if m.V2() {
			if t == "Edm.Single" {
				n += "f"
			} else {
				n += "d"
			}
		}
		return n, nil
	case "Edm.Guid":
		if !isStr || !guidRe.MatchString(s) {
			return "", fmt.Errorf("%v is not a GUID", v)
		}
		if m.V2() {
			return "guid'" + s + "'", nil
		}
		return s, nil
	case "Edm.DateTime":
		if !isStr || !dateTimeRe.MatchString(strings.TrimSuffix(s, "Z")) {
			return "", fmt.Errorf("%v is not a date-time (yyyy-mm-ddThh:mm[:ss])", v)
		}
		return "datetime'" + strings.TrimSuffix(s, "Z") + "'", nil
	case "Edm.DateTimeOffset":
		if !isStr || !dtoRe.MatchString(s) {
			return "", fmt.Errorf("%v is not a date-time with an offset (RFC 3339)", v)
		}
		if m.V2() {
			return "datetimeoffset'" + s + "'", nil
		}
		return s, nil
	case "Edm.Date":
		if !isStr || !dateRe.MatchString(s) {
			return "", fmt.Errorf("%v is not a date (yyyy-mm-dd)", v)
		}
		return s, nil
	case "Edm.TimeOfDay":
		if !isStr || !timeRe.MatchString(s) {
			return "", fmt.Errorf("%v is not a time of day (hh:mm:ss)", v)
		}
		return s, nil
	case "Edm.Time", "Edm.Duration":
		if !isStr || !durationRe.MatchString(s) {
			return "", fmt.Errorf("%v is not a duration (PnDTnHnMnS)", v)
		}
		if m.V2() {
			return "time'" + s + "'", nil
		}
		return "duration'" + s + "'", nil
	}
	if e, ok := m.EnumTypes[t]; ok {
		if !isStr {
			return "", fmt.Errorf("%v is not a member of %s", v, t)
		}
		for _, mb := range e.Members {
			if mb == s {
				return t + "'" + s + "'", nil
			}
		}
		return "", fmt.Errorf("%q is not a member of %s", s, t)
	}
	return "", fmt.Errorf("values of type %s cannot be written in a URL", t)
}

// Filter operators offered as structured input.
var filterOps = []any{"eq", "ne", "gt", "ge", "lt", "le", "contains", "startswith", "endswith", "in"}

// buildFilter turns structured conditions ([{property, op, value}], all
// required to hold) into a $filter expression. Property names must be
// the entity type's filterable properties; values are typed literals.
func (m *Model) buildFilter(t *EntityType, conds any) (string, error) {
	list, ok := conds.([]any)
	if !ok {
		return "", fmt.Errorf("filter must be a list of {property, op, value}")
	}
	if len(list) > 100 {
		return "", fmt.Errorf("filter has %d conditions; at most 100", len(list))
	}
	var parts []string
	for i, c := range list {
		cm, ok := c.(map[string]any)
		if !ok {
			return "", fmt.Errorf("filter[%d] must be an object {property, op, value}", i)
		}
		name, _ := cm["property"].(string)
		p := t.Prop(name)
		if p == nil || !p.Filterable {
			return "", fmt.Errorf("filter[%d]: %q is not a filterable property of %s", i, name, t.Name)
		}
		op, _ := cm["op"].(string)
		if op == "" {
			op = "eq"
		}
		v := cm["value"]
		switch op {
		case "eq", "ne", "gt", "ge", "lt", "le":
			lit, err := m.Literal(p.Type, v)
			if err != nil {
				return "", fmt.Errorf("filter[%d] %s: %v", i, name, err)
			}
			parts = append(parts, name+" "+op+" "+lit)
		case "contains", "startswith", "endswith":
			if p.Type != "Edm.String" {
				return "", fmt.Errorf("filter[%d]: %s works on text; %s is %s", i, op, name, p.Type)
			}
			lit, err := m.Literal("Edm.String", v)
			if err != nil {
				return "", err
			}
			switch {
			case op == "contains" && m.V2():
				parts = append(parts, "substringof("+lit+","+name+")")
			default:
				parts = append(parts, op+"("+name+","+lit+")")
			}
		case "in":
			vs, ok := v.([]any)
			if !ok || len(vs) == 0 || len(vs) > 100 {
				return "", fmt.Errorf("filter[%d]: in needs a list of 1 to 100 values", i)
			}
			lits := make([]string, len(vs))
			for j, x := range vs {
				lit, err := m.Literal(p.Type, x)
				if err != nil {
					return "", fmt.Errorf("filter[%d] %s: %v", i, name, err)
				}
				lits[j] = lit
			}
			if m.V2() {
				ors := make([]string, len(lits))
				for j, l := range lits {
					ors[j] = name + " eq " + l
				}
				parts = append(parts, "("+strings.Join(ors, " or ")+")")
			} else {
				parts = append(parts, name+" in ("+strings.Join(lits, ",")+")")
			}
		default:
			return "", fmt.Errorf("filter[%d]: unknown op %q", i, op)
		}
	}
	return strings.Join(parts, " and "), nil
}

// keyPredicate writes "(lit)" or "(K1=lit,K2=lit)" from the key inputs.
func (m *Model) keyPredicate(t *EntityType, in map[string]any, prefix string) (string, error) {
	if len(t.Key) == 0 {
		return "", fmt.Errorf("%s has no key", t.Name)
	}
	var parts []string
	for _, k := range t.Key {
		v, ok := in[prefix+k]
		if !ok {
			return "", fmt.Errorf("missing key %s", prefix+k)
		}
		typ := "Edm.String"
		if p := t.Prop(k); p != nil {
			typ = p.Type
		}
		lit, err := m.Literal(typ, v)
		if err != nil {
			return "", fmt.Errorf("key %s: %v", k, err)
		}
		if len(t.Key) == 1 {
			return "(" + escapeSegment(lit) + ")", nil
		}
		parts = append(parts, k+"="+escapeSegment(lit))
	}
	return "(" + strings.Join(parts, ",") + ")", nil
}

// escapeSegment percent-encodes what may not stand in a path segment (a
// slash, ?, #, %, spaces) and leaves the literal's quotes readable.
func escapeSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~'!*:@+$,;=", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// orderBy checks "Property [asc|desc]" items against the sortable properties.
func orderBy(t *EntityType, v any) (string, error) {
	list, ok := v.([]any)
	if !ok {
		return "", fmt.Errorf("orderby must be a list like [\"Name desc\"]")
	}
	var out []string
	for _, x := range list {
		s, _ := x.(string)
		name, dir, _ := strings.Cut(strings.TrimSpace(s), " ")
		dir = strings.TrimSpace(dir)
		p := t.Prop(name)
		if p == nil || !p.Sortable || (dir != "" && dir != "asc" && dir != "desc") {
			return "", fmt.Errorf("orderby %q: want a sortable property of %s, then asc or desc", s, t.Name)
		}
		out = append(out, strings.TrimSpace(name+" "+dir))
	}
	return strings.Join(out, ","), nil
}

// nameList checks select/expand items against allowed names.
func nameList(what string, v any, allowed map[string]bool) (string, error) {
	list, ok := v.([]any)
	if !ok {
		return "", fmt.Errorf("%s must be a list of names", what)
	}
	var out []string
	for _, x := range list {
		s, _ := x.(string)
		if !allowed[s] || !identRe.MatchString(s) {
			return "", fmt.Errorf("%s: %q is not one of the allowed names", what, s)
		}
		out = append(out, s)
	}
	return strings.Join(out, ","), nil
}
