package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/weftio/weft/internal/lazy"
)

// Bounds on what one answer may generate: recursive schemas stop at
// maxDepth, arrays at maxItems entries, strings at maxString bytes, and
// a whole answer at maxNodes generated values (past it, the smallest
// value a schema allows).
const (
	maxDepth  = 24
	maxItems  = 64
	maxString = 4096
	maxNodes  = 50000
)

// gen makes JSON values that satisfy a schema: it keeps what a record
// already holds where that is valid, and generates the rest (required
// properties, formats, enums, bounds, oneOf/anyOf/allOf, nullable).
// Generated values depend only on the schema and a seed (the record's
// path and the property's), so reading a record twice shows the same
// values without storing them.
type gen struct {
	opts  []openapi3.SchemaValidationOption
	epoch time.Time // what generated date-times say
	nodes int       // values generated so far in this answer

	// While a record is made (record), optional properties are generated
	// too: all of them on the record, scalars on its nested objects;
	// except, on the record, the fields a client sets (client).
	optional bool
	client   map[string]bool
}

// record shapes a record the sandbox keeps: rec as given, its required
// fields and the optional ones only the server sets (Gitea's issue
// number, html_url ...) generated, the client's optional fields left as
// the client left them.
func (g *gen) record(s *openapi3.Schema, rec map[string]any, seed string, client map[string]bool) any {
	g.optional, g.client = true, client
	defer func() { g.optional, g.client = false, nil }()
	return g.conform(s, rec, true, seed, 0)
}

func newGen(doc31 bool, epoch time.Time) *gen {
	g := &gen{epoch: epoch.UTC().Truncate(time.Second)}
	g.opts = []openapi3.SchemaValidationOption{openapi3.VisitAsResponse()}
	if doc31 {
		g.opts = append(g.opts, openapi3.EnableJSONSchema2020())
	}
	return g
}

// valid reports whether v satisfies s as a response would.
func (g *gen) valid(s *openapi3.Schema, v any) bool {
	return s.VisitJSON(v, g.opts...) == nil
}

// value generates a value for s.
func (g *gen) value(s *openapi3.Schema, seed string) any {
	return g.conform(s, nil, false, seed, 0)
}

// conform returns v made valid for s: kept where it is valid, repaired
// property by property where it is not, generated where absent.
func (g *gen) conform(s *openapi3.Schema, v any, present bool, seed string, depth int) any {
	if m, ok := v.(map[string]any); ok && m == nil {
		v, present = nil, false
	}
	if s == nil {
		if present {
			return v
		}
		return map[string]any{}
	}
	if _, isMap := v.(map[string]any); present && !(g.optional && isMap && depth < 2) && g.valid(s, v) {
		return v
	}
	g.nodes++
	lean := depth > maxDepth || g.nodes > maxNodes
	f := flatten(s)
	if present && v == nil && f.nullable {
		return nil
	}
	if lean {
		// Past the bounds: the smallest value of the type, recursing no further.
		switch {
		case f.nullable:
			return nil
		case len(f.enum) > 0:
			return normalize(f.enum[0])
		}
		switch f.kind(v, present) {
		case "object":
			return map[string]any{}
		case "array":
			return []any{}
		case "string":
			return g.str(f, seed)
		case "integer", "number":
			return f.number(1)
		case "boolean":
			return false
		}
		return nil
	}
	if len(f.oneOf) > 0 || len(f.anyOf) > 0 {
		return g.alternatives(s, f, v, present, seed, depth)
	}
	return g.shape(s, f, v, present, seed, depth)
}

// alternatives satisfies oneOf/anyOf: the discriminator's first mapping
// when there is one, else the first alternative whose value validates
// against the whole schema (exactly one match for oneOf).
func (g *gen) alternatives(s *openapi3.Schema, f *flat, v any, present bool, seed string, depth int) any {
	alts := f.oneOf
	if len(alts) == 0 {
		alts = f.anyOf
	}
	type choice struct {
		ref   *openapi3.SchemaRef
		label string // the discriminator value that selects it
	}
	var order []choice
	if d := f.discriminator; d != nil && len(d.Mapping) > 0 {
		keys := make([]string, 0, len(d.Mapping))
		for k := range d.Mapping {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, a := range alts {
				if a != nil && refMatches(a.Ref, d.Mapping[k].Ref) {
					order = append(order, choice{a, k})
				}
			}
		}
	}
	for _, a := range alts {
		if a != nil {
			order = append(order, choice{ref: a})
		}
	}
	var first any
	for i, c := range order {
		if c.ref.Value == nil {
			continue
		}
		cand := g.conform(c.ref.Value, v, present, seed, depth+1)
		// The object part beside the alternatives (allOf members, own properties).
		cand = g.shape(s, f, cand, true, seed, depth)
		if f.discriminator != nil {
			if m, ok := cand.(map[string]any); ok {
				label := c.label
				if label == "" {
					label = refName(c.ref.Ref)
				}
				if label != "" {
					if _, has := m[f.discriminator.PropertyName]; !has || c.label != "" {
						m[f.discriminator.PropertyName] = label
					}
				}
			}
		}
		if i == 0 {
			first = cand
		}
		if g.valid(s, cand) {
			return cand
		}
	}
	if first == nil {
		return g.shape(s, f, v, present, seed, depth)
	}
	return first
}

func refMatches(a, b string) bool {
	return a != "" && (a == b || refName(a) == b || refName(a) == refName(b))
}

func refName(ref string) string {
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// shape conforms v to the flattened schema's type.
func (g *gen) shape(s *openapi3.Schema, f *flat, v any, present bool, seed string, depth int) any {
	if len(f.enum) > 0 {
		if present {
			for _, e := range f.enum {
				if jsonEqual(e, v) {
					return v
				}
			}
		}
		for _, e := range f.enum {
			if e != nil {
				return normalize(e)
			}
		}
		return nil
	}
	if f.constant != nil {
		return normalize(f.constant)
	}
	switch f.kind(v, present) {
	case "object":
		return g.object(f, v, seed, depth)
	case "array":
		return g.array(f, v, seed, depth)
	case "string":
		if str, ok := v.(string); ok && present && f.stringOK(str) && g.valid(s, str) {
			return str
		}
		return g.str(f, seed)
	case "integer", "number":
		if n, ok := v.(float64); ok && present && f.numberOK(n) && g.valid(s, n) {
			return n
		}
		return f.number(1)
	case "boolean":
		if b, ok := v.(bool); ok && present {
			return b
		}
		return false
	case "null":
		return nil
	}
	if present && v != nil {
		return v
	}
	return map[string]any{}
}

func (g *gen) object(f *flat, v any, seed string, depth int) any {
	in, _ := v.(map[string]any)
	out := make(map[string]any, len(f.props))
	for k, val := range in {
		p, declared := f.props[k]
		switch {
		case declared && p != nil && p.WriteOnly:
			// never in a response
		case declared:
			out[k] = g.conform(p, val, true, seed+"/"+k, depth+1)
		case f.additional == nil:
			out[k] = val
		case f.additional.Has != nil && !*f.additional.Has:
			// additionalProperties: false
		case f.additional.Schema != nil && f.additional.Schema.Value != nil:
			out[k] = g.conform(f.additional.Schema.Value, val, true, seed+"/"+k, depth+1)
		default:
			out[k] = val
		}
	}
	for _, k := range f.requiredNames() {
		if _, ok := out[k]; ok {
			continue
		}
		p := f.props[k]
		if p != nil && p.WriteOnly {
			continue
		}
		if p == nil && f.additional != nil && f.additional.Schema != nil {
			p = f.additional.Schema.Value
		}
		out[k] = g.named(p, k, seed+"/"+k, depth+1)
	}
	if g.optional && depth < 2 {
		for _, k := range slices.Sorted(maps.Keys(f.props)) {
			p := f.props[k]
			if _, ok := out[k]; ok || p == nil || p.WriteOnly || depth == 0 && g.client[k] {
				continue
			}
			if kind := flatten(p).kind(nil, false); depth > 0 && (kind == "object" || kind == "array" || kind == "") {
				continue
			}
			out[k] = g.named(p, k, seed+"/"+k, depth+1)
		}
	}
	// minProperties: optional properties first, then made-up keys.
	if uint64(len(out)) < f.minProps {
		for _, k := range slices.Sorted(maps.Keys(f.props)) {
			if uint64(len(out)) >= f.minProps {
				break
			}
			if _, ok := out[k]; !ok && f.props[k] != nil && !f.props[k].WriteOnly {
				out[k] = g.named(f.props[k], k, seed+"/"+k, depth+1)
			}
		}
		var extra *openapi3.Schema
		if f.additional != nil && f.additional.Schema != nil {
			extra = f.additional.Schema.Value
		}
		for i := 1; uint64(len(out)) < f.minProps && i <= maxItems; i++ {
			k := fmt.Sprintf("key%d", i)
			if _, ok := out[k]; !ok {
				out[k] = g.named(extra, k, seed+"/"+k, depth+1)
			}
		}
	}
	if f.maxProps != nil && uint64(len(out)) > *f.maxProps {
		req := f.required
		for _, k := range slices.Sorted(maps.Keys(out)) {
			if uint64(len(out)) <= *f.maxProps {
				break
			}
			if !req[k] {
				delete(out, k)
			}
		}
	}
	return out
}

// named generates a property's value: like value, with the property's
// name as a hint for strings (an "html_url" looks like a URL).
func (g *gen) named(s *openapi3.Schema, name, seed string, depth int) any {
	if s == nil {
		return name
	}
	v := g.conform(s, nil, false, seed, depth)
	if str, ok := v.(string); ok {
		f := flatten(s)
		if f.format == "" && f.pattern == "" && len(f.enum) == 0 {
			hint := ""
			switch {
			case strings.HasSuffix(name, "url"):
				hint = "https://example.com/" + slug(seed)
			case name == "email" || strings.HasSuffix(name, "_email"):
				hint = slug(seed) + "@example.com"
			}
			if hint != "" && f.stringOK(hint) {
				return hint
			}
		}
		return str
	}
	return v
}

func (g *gen) array(f *flat, v any, seed string, depth int) any {
	var items *openapi3.Schema
	if f.items != nil {
		items = f.items
	}
	out := []any{}
	if in, ok := v.([]any); ok {
		for i, x := range in {
			if len(out) >= maxItems || (f.maxItems != nil && uint64(len(out)) >= *f.maxItems) {
				break
			}
			out = append(out, g.conform(items, x, true, fmt.Sprintf("%s/%d", seed, i), depth+1))
		}
	}
	want := min(f.minItems, maxItems)
	for i := len(out); uint64(len(out)) < want && i < maxItems*4; i++ {
		var x any
		if items != nil {
			if fi := flatten(items); len(fi.enum) > 0 {
				x = normalize(fi.enum[i%len(fi.enum)])
			} else {
				x = g.conform(items, nil, false, fmt.Sprintf("%s/%d", seed, i), depth+1)
			}
		} else {
			x = fmt.Sprintf("item-%d", i+1)
		}
		if f.uniqueItems && containsJSON(out, x) {
			continue
		}
		out = append(out, x)
	}
	return out
}

// str generates a string for the schema's format, pattern and lengths.
func (g *gen) str(f *flat, seed string) string {
	var s string
	switch f.format {
	case "date-time":
		s = g.epoch.Format(time.RFC3339)
	case "date":
		s = g.epoch.Format("2006-01-02")
	case "time":
		s = g.epoch.Format("15:04:05Z")
	case "email", "idn-email":
		s = slug(seed) + "@example.com"
	case "uri", "url", "iri", "uri-reference", "iri-reference":
		s = "https://example.com/" + slug(seed)
	case "uri-template":
		s = "https://example.com/{id}"
	case "hostname", "idn-hostname":
		s = "example.com"
	case "ipv4":
		s = "192.0.2.1"
	case "ipv6":
		s = "2001:db8::1"
	case "uuid":
		s = uuid.NewSHA1(uuid.NameSpaceURL, []byte(seed)).String()
	case "byte":
		s = base64.StdEncoding.EncodeToString([]byte(slug(seed)))
	case "duration":
		s = "PT1H"
	case "json-pointer":
		s = "/" + slug(seed)
	case "regex":
		s = ".*"
	default:
		s = slug(seed)
	}
	if f.pattern != "" && !f.patternOK(s) {
		if m, ok := fromPattern(f.pattern, int(min(f.minLength, maxString))); ok {
			s = m
		}
	}
	for uint64(len(s)) < f.minLength && len(s) < maxString {
		s += "x"
	}
	if f.maxLength != nil && uint64(len(s)) > *f.maxLength {
		s = s[:*f.maxLength]
	}
	return s
}

// slug is a short readable string for a seed: its last name and a hash,
// e.g. "login-3fa2".
func slug(seed string) string {
	name := seed
	if i := strings.LastIndex(seed, "/"); i >= 0 {
		name = seed[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 32
		}
		return -1
	}, name)
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		name = "x" + name
	}
	if len(name) > 24 {
		name = name[:24]
	}
	h := fnv.New32a()
	h.Write([]byte(seed))
	return fmt.Sprintf("%s-%04x", name, h.Sum32()&0xffff)
}

// fromPattern builds a string that the regular expression matches:
// first alternatives, minimal repetitions, first class members, then
// more repetitions if a minimum length asks for them.
func fromPattern(pattern string, minLen int) (string, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", false
	}
	check, err := regexp.Compile(pattern)
	if err != nil {
		return "", false
	}
	for _, reps := range []int{0, 1, 2, 4, 8, 32} {
		var b strings.Builder
		emit(&b, re, reps)
		s := b.String()
		if len(s) >= minLen && check.MatchString(s) {
			return s, true
		}
	}
	return "", false
}

func emit(b *strings.Builder, re *syntax.Regexp, reps int) {
	if b.Len() > maxString {
		return
	}
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		if len(re.Rune) > 0 {
			r := re.Rune[0]
			// Prefer a letter or digit inside the class when it has one.
			for i := 0; i+1 < len(re.Rune); i += 2 {
				lo, hi := re.Rune[i], re.Rune[i+1]
				for _, c := range []rune{'a', 'A', '0'} {
					if c >= lo && c <= hi {
						r = c
						i = len(re.Rune)
						break
					}
				}
			}
			b.WriteRune(r)
		}
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('a')
	case syntax.OpCapture:
		for _, s := range re.Sub {
			emit(b, s, reps)
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			emit(b, s, reps)
		}
	case syntax.OpAlternate:
		if len(re.Sub) > 0 {
			emit(b, re.Sub[0], reps)
		}
	case syntax.OpStar, syntax.OpQuest:
		n := reps
		if re.Op == syntax.OpQuest {
			n = min(reps, 1)
		}
		for i := 0; i < n; i++ {
			emit(b, re.Sub[0], reps)
		}
	case syntax.OpPlus:
		for i := 0; i < max(1, reps); i++ {
			emit(b, re.Sub[0], reps)
		}
	case syntax.OpRepeat:
		n := max(re.Min, min(reps, re.Max))
		if re.Max < 0 {
			n = max(re.Min, reps)
		}
		for i := 0; i < min(n, maxString); i++ {
			emit(b, re.Sub[0], reps)
		}
	}
}

// flat is a schema with its allOf members merged in: the union of their
// properties and required names, the tightest of their bounds.
type flat struct {
	types            []string
	nullable         bool
	format, pattern  string
	enum             []any
	constant         any
	props            map[string]*openapi3.Schema
	required         map[string]bool
	additional       *openapi3.AdditionalProperties
	items            *openapi3.Schema
	min, max         *float64
	exclMin, exclMax bool
	multipleOf       *float64
	minLength        uint64
	maxLength        *uint64
	minItems         uint64
	maxItems         *uint64
	uniqueItems      bool
	minProps         uint64
	maxProps         *uint64
	oneOf, anyOf     openapi3.SchemaRefs
	discriminator    *openapi3.Discriminator
	patternRE        *regexp.Regexp
	patternBad       bool
}

func flatten(s *openapi3.Schema) *flat {
	f := &flat{props: map[string]*openapi3.Schema{}, required: map[string]bool{}, nullable: allowsNull(s, 0)}
	f.merge(s, 0)
	return f
}

// allowsNull follows the validator: nullable (or type null) on the schema
// itself, or, on an untyped one, on every allOf member, on one of its
// oneOf members or on any of its anyOf members.
func allowsNull(s *openapi3.Schema, depth int) bool {
	if s == nil || depth > 16 {
		return false
	}
	if s.Nullable || s.Type.IncludesNull() {
		return true
	}
	if !s.Type.IsEmpty() {
		return false
	}
	count := func(refs openapi3.SchemaRefs) int {
		n := 0
		for _, r := range refs {
			if r != nil && allowsNull(r.Value, depth+1) {
				n++
			}
		}
		return n
	}
	switch {
	case len(s.OneOf) > 0 && count(s.OneOf) != 1:
		return false
	case len(s.AnyOf) > 0 && count(s.AnyOf) == 0:
		return false
	case len(s.AllOf) > 0 && count(s.AllOf) != len(s.AllOf):
		return false
	}
	return len(s.OneOf)+len(s.AnyOf)+len(s.AllOf) > 0
}

func (f *flat) merge(s *openapi3.Schema, depth int) {
	if s == nil || depth > 16 {
		return
	}
	for _, sub := range s.AllOf {
		if sub != nil {
			f.merge(sub.Value, depth+1)
		}
	}
	if len(f.types) == 0 {
		for _, t := range s.Type.Slice() {
			if t != openapi3.TypeNull {
				f.types = append(f.types, t)
			}
		}
	}
	if f.format == "" {
		f.format = s.Format
	}
	if f.pattern == "" {
		f.pattern = s.Pattern
	}
	if len(s.Enum) > 0 && len(f.enum) == 0 {
		f.enum = s.Enum
	}
	if s.Const != nil {
		f.constant = s.Const
	}
	for k, p := range s.Properties {
		if p != nil && p.Value != nil {
			if _, ok := f.props[k]; !ok {
				f.props[k] = p.Value
			}
		}
	}
	for _, k := range s.Required {
		f.required[k] = true
	}
	if s.AdditionalProperties.Has != nil || s.AdditionalProperties.Schema != nil {
		ap := s.AdditionalProperties
		f.additional = &ap
	}
	if s.Items != nil && s.Items.Value != nil && f.items == nil {
		f.items = s.Items.Value
	}
	if s.Min != nil && (f.min == nil || *s.Min > *f.min) {
		f.min, f.exclMin = s.Min, s.ExclusiveMin.IsTrue()
	}
	if v := s.ExclusiveMin.Value; v != nil && (f.min == nil || *v >= *f.min) {
		f.min, f.exclMin = v, true
	}
	if s.Max != nil && (f.max == nil || *s.Max < *f.max) {
		f.max, f.exclMax = s.Max, s.ExclusiveMax.IsTrue()
	}
	if v := s.ExclusiveMax.Value; v != nil && (f.max == nil || *v <= *f.max) {
		f.max, f.exclMax = v, true
	}
	if s.MultipleOf != nil {
		f.multipleOf = s.MultipleOf
	}
	f.minLength = max(f.minLength, s.MinLength)
	if s.MaxLength != nil && (f.maxLength == nil || *s.MaxLength < *f.maxLength) {
		f.maxLength = s.MaxLength
	}
	f.minItems = max(f.minItems, s.MinItems)
	if s.MaxItems != nil && (f.maxItems == nil || *s.MaxItems < *f.maxItems) {
		f.maxItems = s.MaxItems
	}
	f.uniqueItems = f.uniqueItems || s.UniqueItems
	f.minProps = max(f.minProps, s.MinProps)
	if s.MaxProps != nil && (f.maxProps == nil || *s.MaxProps < *f.maxProps) {
		f.maxProps = s.MaxProps
	}
	if len(s.OneOf) > 0 && len(f.oneOf) == 0 {
		f.oneOf = s.OneOf
	}
	if len(s.AnyOf) > 0 && len(f.anyOf) == 0 {
		f.anyOf = s.AnyOf
	}
	if s.Discriminator != nil && f.discriminator == nil {
		f.discriminator = s.Discriminator
	}
}

// kind is the JSON type to produce: the declared one that v already has,
// else the first declared, else what the schema's keywords imply.
func (f *flat) kind(v any, present bool) string {
	have := ""
	if present {
		switch x := v.(type) {
		case map[string]any:
			have = "object"
		case []any:
			have = "array"
		case string:
			have = "string"
		case float64:
			have = "number"
			if x == math.Trunc(x) {
				have = "integer"
			}
		case bool:
			have = "boolean"
		}
	}
	for _, t := range f.types {
		if t == have || t == "number" && have == "integer" {
			return t
		}
	}
	if len(f.types) > 0 {
		return f.types[0]
	}
	switch {
	case len(f.props) > 0 || f.additional != nil || len(f.required) > 0:
		return "object"
	case f.items != nil:
		return "array"
	case f.format != "" || f.pattern != "" || f.minLength > 0 || f.maxLength != nil:
		return "string"
	case f.min != nil || f.max != nil || f.multipleOf != nil:
		return "number"
	}
	return have
}

func (f *flat) requiredNames() []string {
	out := make([]string, 0, len(f.required))
	for k := range f.required {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (f *flat) patternOK(s string) bool {
	if f.pattern == "" {
		return true
	}
	if f.patternBad {
		return true // the validator cannot check it either
	}
	if f.patternRE == nil {
		re, err := regexp.Compile(f.pattern)
		if err != nil {
			f.patternBad = true
			return true
		}
		f.patternRE = re
	}
	return f.patternRE.MatchString(s)
}

func (f *flat) stringOK(s string) bool {
	if uint64(len([]rune(s))) < f.minLength || f.maxLength != nil && uint64(len([]rune(s))) > *f.maxLength {
		return false
	}
	return f.patternOK(s) && formatOK(f.format, s)
}

var (
	dateTimeRE = lazy.NewRegexp(openapi3.FormatOfStringDateTime)
	dateRE     = lazy.NewRegexp(openapi3.FormatOfStringDate)
	uuidRE     = lazy.NewRegexp(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	emailRE    = lazy.NewRegexp(`^[^@\s<>",]+@[^@\s<>",]+\.[^@\s<>",]+$`)
	uriRE      = lazy.NewRegexp(`^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$`)
	byteRE     = lazy.NewRegexp(openapi3.FormatOfStringByte)
)

// formatOK checks the formats the sandbox writes whether or not the
// validator in use checks them: a value kept from a record must be as
// good as a generated one.
func formatOK(format, s string) bool {
	switch format {
	case "date-time":
		return dateTimeRE.MatchString(s)
	case "date":
		return dateRE.MatchString(s)
	case "uuid":
		return uuidRE.MatchString(s)
	case "email":
		return emailRE.MatchString(s)
	case "uri", "url", "iri":
		return uriRE.MatchString(s)
	case "byte":
		return byteRE.MatchString(s)
	case "ipv4":
		ip, err := netip.ParseAddr(s)
		return err == nil && ip.Is4()
	case "ipv6":
		ip, err := netip.ParseAddr(s)
		return err == nil && ip.Is6()
	}
	return true
}

func (f *flat) numberOK(n float64) bool {
	if f.kindIs("integer") && n != math.Trunc(n) {
		return false
	}
	if f.min != nil && (n < *f.min || f.exclMin && n == *f.min) {
		return false
	}
	if f.max != nil && (n > *f.max || f.exclMax && n == *f.max) {
		return false
	}
	if f.multipleOf != nil && *f.multipleOf > 0 {
		q := n / *f.multipleOf
		if math.Abs(q-math.Round(q)) > 1e-9 {
			return false
		}
	}
	if f.format == "int32" && (n < math.MinInt32 || n > math.MaxInt32) {
		return false
	}
	return true
}

func (f *flat) kindIs(t string) bool {
	return len(f.types) > 0 && f.types[0] == t
}

// number is want moved into the schema's bounds (and onto its multipleOf).
func (f *flat) number(want float64) float64 {
	step := 1.0
	if !f.kindIs("integer") {
		step = 0.5
	}
	if f.multipleOf != nil && *f.multipleOf > 0 {
		step = *f.multipleOf
	}
	n := want
	if f.min != nil && (n < *f.min || f.exclMin && n <= *f.min) {
		n = *f.min
		if f.exclMin {
			n += step
		}
	}
	if f.max != nil && (n > *f.max || f.exclMax && n >= *f.max) {
		n = *f.max
		if f.exclMax {
			n -= step
		}
	}
	if f.multipleOf != nil && *f.multipleOf > 0 {
		m := *f.multipleOf
		n = math.Ceil(n/m) * m
		if f.max != nil && n > *f.max {
			n -= m
		}
	}
	if f.kindIs("integer") {
		n = math.Ceil(n)
	}
	return n
}

// normalize turns a spec's literal (an enum value, a default) into what
// JSON decoding would give: float64 numbers, []any, map[string]any.
func normalize(v any) any {
	switch v.(type) {
	case nil, string, bool, float64:
		return v
	}
	data, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(data, &out) != nil {
		return v
	}
	return out
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

func containsJSON(list []any, v any) bool {
	for _, x := range list {
		if jsonEqual(x, v) {
			return true
		}
	}
	return false
}
