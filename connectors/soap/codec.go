package soap

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// maxSchemaDepth and maxSchemaNodes bound one JSON Schema made from a type:
// recursive and very large types end in an open schema with a note.
const (
	maxSchemaDepth = 12
	maxSchemaNodes = 2000
)

type schemaWalk struct {
	seen  map[*xtype]bool
	nodes int
}

// jsonSchema converts t into JSON Schema.
func jsonSchema(t *xtype) map[string]any {
	return (&schemaWalk{seen: map[*xtype]bool{}}).of(t, 0)
}

func typeLabel(t *xtype) string {
	if t.Name.Local != "" {
		return strings.TrimSuffix(t.Name.Local, " (element)")
	}
	return "an anonymous type"
}

func (w *schemaWalk) of(t *xtype, depth int) map[string]any {
	if t == nil {
		return map[string]any{}
	}
	if w.seen[t] || depth > maxSchemaDepth {
		return map[string]any{"description": "recursive: " + typeLabel(t)}
	}
	if w.nodes > maxSchemaNodes {
		return map[string]any{"description": "a " + typeLabel(t) + " (not expanded: schema too large)"}
	}
	w.nodes++
	if t.Simple {
		return simpleSchema(t)
	}
	if t.ArrayOf != nil {
		w.seen[t] = true
		defer delete(w.seen, t)
		return map[string]any{"type": "array", "items": w.of(t.ArrayOf, depth+1)}
	}
	if len(t.Fields) == 0 && len(t.Attrs) == 0 {
		if t.Value != nil {
			return simpleSchema(t.Value)
		}
		if t.Open {
			return withDoc(map[string]any{}, t.Doc)
		}
		return withDoc(map[string]any{"type": "object", "properties": map[string]any{}, "additionalProperties": false}, t.Doc)
	}
	w.seen[t] = true
	defer delete(w.seen, t)
	props := map[string]any{}
	var req []any
	var choices []string
	for _, f := range t.Fields {
		var s map[string]any
		item := w.of(f.Type, depth+1)
		if f.Nillable {
			item["nullable"] = true
		}
		if f.many() {
			s = map[string]any{"type": "array", "items": item}
			if f.Min > 1 {
				s["minItems"] = f.Min
			}
			if f.Max > 1 {
				s["maxItems"] = f.Max
			}
		} else {
			s = item
		}
		if f.Doc != "" {
			if _, has := s["description"]; !has {
				s["description"] = f.Doc
			}
		}
		props[f.JSON] = s
		if f.Min > 0 && !f.Choice {
			req = append(req, f.JSON)
		}
		if f.Choice {
			choices = append(choices, f.JSON)
		}
	}
	for _, a := range t.Attrs {
		s := simpleSchema(a.Type)
		if _, has := s["description"]; !has {
			s["description"] = "XML attribute " + a.Name
		}
		props[a.JSON] = s
		if a.Min > 0 {
			req = append(req, a.JSON)
		}
	}
	if t.Value != nil {
		props[valueKey] = withDoc(simpleSchema(t.Value), "the element's text")
	}
	out := map[string]any{"type": "object", "properties": props}
	if len(req) > 0 {
		out["required"] = req
	}
	if !t.Open {
		out["additionalProperties"] = false
	}
	d := t.Doc
	if len(choices) > 1 {
		note := "one of: " + strings.Join(choices, ", ")
		if d != "" {
			d += " (" + note + ")"
		} else {
			d = note
		}
	}
	return withDoc(out, d)
}

func withDoc(m map[string]any, d string) map[string]any {
	if d != "" {
		m["description"] = d
	}
	return m
}

// kind is the JSON kind of a built-in XSD type.
func kind(base string) (typ, format string) {
	switch base {
	case "boolean":
		return "boolean", ""
	case "int", "integer", "long", "short", "byte", "nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger",
		"unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte":
		return "integer", ""
	case "decimal", "float", "double":
		return "number", ""
	case "dateTime":
		return "string", "date-time"
	case "date":
		return "string", "date"
	case "time":
		return "string", "time"
	case "base64Binary":
		return "string", "byte"
	case "anyURI":
		return "string", "uri"
	}
	return "string", ""
}

// minimum is the lower bound a built-in integer type implies.
func implied(base string) (min, max *float64) {
	f := func(x float64) *float64 { return &x }
	switch base {
	case "nonNegativeInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte":
		min = f(0)
	case "positiveInteger":
		min = f(1)
	case "negativeInteger":
		max = f(-1)
	case "nonPositiveInteger":
		max = f(0)
	case "int":
		min, max = f(math.MinInt32), f(math.MaxInt32)
	case "short":
		min, max = f(math.MinInt16), f(math.MaxInt16)
	case "byte":
		min, max = f(math.MinInt8), f(math.MaxInt8)
	}
	switch base {
	case "unsignedInt":
		max = f(math.MaxUint32)
	case "unsignedShort":
		max = f(math.MaxUint16)
	case "unsignedByte":
		max = f(math.MaxUint8)
	}
	return
}

func simpleSchema(t *xtype) map[string]any {
	if t == nil || !t.Simple {
		return map[string]any{}
	}
	typ, format := kind(t.Base)
	out := map[string]any{"type": typ}
	if format != "" {
		out["format"] = format
	}
	if len(t.Enum) > 0 {
		e := make([]any, 0, len(t.Enum))
		for _, v := range t.Enum {
			if x, ok := scalarOf(typ, v); ok {
				e = append(e, x)
			}
		}
		if len(e) > 0 {
			out["enum"] = e
		}
	}
	if typ == "string" {
		if t.Pattern != "" {
			if _, err := compilePattern(t.Pattern); err == nil {
				out["pattern"] = "^(?:" + t.Pattern + ")$"
			}
		}
		if t.MinLen > 0 {
			out["minLength"] = t.MinLen
		}
		if t.MaxLen >= 0 {
			out["maxLength"] = t.MaxLen
		}
	}
	if typ == "integer" || typ == "number" {
		lo, hi := implied(t.Base)
		if v, err := strconv.ParseFloat(t.Min, 64); err == nil {
			lo = &v
		}
		if v, err := strconv.ParseFloat(t.Max, 64); err == nil {
			hi = &v
		}
		if lo != nil {
			if t.ExclMin && t.Min != "" {
				out["exclusiveMinimum"] = *lo
			} else {
				out["minimum"] = *lo
			}
		}
		if hi != nil {
			if t.ExclMax && t.Max != "" {
				out["exclusiveMaximum"] = *hi
			} else {
				out["maximum"] = *hi
			}
		}
	}
	if t.List {
		return map[string]any{"type": "array", "items": out}
	}
	return withDoc(out, t.Doc)
}

// scalarOf parses XML text as a JSON value of kind typ.
func scalarOf(typ, v string) (any, bool) {
	v = strings.TrimSpace(v)
	switch typ {
	case "boolean":
		switch v {
		case "true", "1":
			return true, true
		case "false", "0":
			return false, true
		}
		return nil, false
	case "integer":
		if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			return i, true
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil && f == math.Trunc(f) {
			return f, true
		}
		return nil, false
	case "number":
		switch v {
		case "INF":
			return nil, false
		case "-INF", "NaN":
			return nil, false
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f, true
		}
		return nil, false
	}
	return v, true
}

// --- JSON to XML -------------------------------------------------------

// encoder writes XML elements from JSON values, declaring each element's
// namespace as the default where it changes (and undeclaring it for
// unqualified elements), so no prefixes need tracking.
type encoder struct {
	b       *strings.Builder
	encoded bool // rpc/encoded: xsi:type on typed values
	nodes   int
	// mtom, when set, collects base64Binary values as MTOM attachments:
	// the element holds an xop:Include naming the part instead.
	mtom *[][]byte
}

const maxEncodeNodes = 1 << 20

func (e *encoder) open(name, ns, parentNS string, attrs string) {
	e.b.WriteByte('<')
	e.b.WriteString(name)
	if ns != parentNS {
		e.b.WriteString(` xmlns="`)
		xmlEscape(e.b, ns)
		e.b.WriteByte('"')
	}
	e.b.WriteString(attrs)
}

// element writes f's value v as one or more elements.
func (e *encoder) element(f *field, v any, parentNS string, path string) error {
	if f.many() {
		list, ok := v.([]any)
		if !ok {
			list = []any{v} // one value where a list may stand
		}
		if f.Max > 0 && len(list) > f.Max {
			return fmt.Errorf("%s: at most %d items", path, f.Max)
		}
		for i, x := range list {
			if err := e.one(f, x, parentNS, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	return e.one(f, v, parentNS, path)
}

func (e *encoder) one(f *field, v any, parentNS, path string) error {
	e.nodes++
	if e.nodes > maxEncodeNodes {
		return fmt.Errorf("the request has more than %d elements", maxEncodeNodes)
	}
	if v == nil {
		e.open(f.Name, f.NS, parentNS, ` xsi:nil="true"`)
		e.b.WriteString("/>")
		return nil
	}
	return e.value(f.Name, f.NS, parentNS, f.Type, v, path)
}

// value writes <name>…</name> holding v as type t.
func (e *encoder) value(name, ns, parentNS string, t *xtype, v any, path string) error {
	attrs := ""
	if e.encoded && t != nil {
		attrs = xsiType(t)
	}
	switch {
	case t == nil || (t.Open && len(t.Fields) == 0 && len(t.Attrs) == 0 && t.Value == nil && !t.Simple && t.ArrayOf == nil):
		e.open(name, ns, parentNS, attrs)
		e.b.WriteByte('>')
		if err := e.loose(v, ns, path); err != nil {
			return err
		}
	case t.Simple:
		s, err := text(t, v, path)
		if err != nil {
			return err
		}
		e.open(name, ns, parentNS, attrs)
		e.b.WriteByte('>')
		if e.mtom != nil && t.Base == "base64Binary" && !t.List {
			data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("%s: not base64", path)
			}
			if len(*e.mtom) >= maxMTOMParts-1 {
				return fmt.Errorf("%s: more than %d attachments", path, maxMTOMParts-1)
			}
			*e.mtom = append(*e.mtom, data)
			fmt.Fprintf(e.b, `<xop:Include xmlns:xop="%s" href="cid:%s"/>`, nsXOP, partID(len(*e.mtom)))
			break
		}
		xmlEscape(e.b, s)
	case t.ArrayOf != nil:
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want a list", path)
		}
		if e.encoded {
			item := xsiTypeName(t.ArrayOf)
			switch {
			case item == "":
				item = "xsd:anyType"
			case strings.HasPrefix(item, "t:"):
				// The item type's own prefix: the array's xsi:type may
				// bind t: to another namespace, or not at all.
				var nb strings.Builder
				xmlEscape(&nb, t.ArrayOf.Name.Space)
				attrs += ` xmlns:ti="` + nb.String() + `"`
				item = "ti:" + strings.TrimPrefix(item, "t:")
			}
			attrs += fmt.Sprintf(` soapenc:arrayType="%s[%d]"`, item, len(list))
		}
		e.open(name, ns, parentNS, attrs)
		e.b.WriteByte('>')
		for i, x := range list {
			if err := e.value("item", "", ns, t.ArrayOf, x, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	default:
		m, ok := v.(map[string]any)
		if !ok {
			if t.Value != nil && len(t.Attrs) == 0 && len(t.Fields) == 0 {
				m = map[string]any{valueKey: v}
			} else {
				return fmt.Errorf("%s: want an object", path)
			}
		}
		var ab strings.Builder
		ab.WriteString(attrs)
		known := map[string]bool{}
		for _, a := range t.Attrs {
			known[a.JSON] = true
			x, ok := m[a.JSON]
			if !ok || x == nil {
				continue
			}
			s, err := text(a.Type, x, path+"."+a.JSON)
			if err != nil {
				return err
			}
			ab.WriteByte(' ')
			ab.WriteString(a.Name)
			ab.WriteString(`="`)
			xmlEscape(&ab, s)
			ab.WriteByte('"')
		}
		e.open(name, ns, parentNS, ab.String())
		e.b.WriteByte('>')
		if t.Value != nil {
			known[valueKey] = true
			if x, ok := m[valueKey]; ok && x != nil {
				s, err := text(t.Value, x, path+"."+valueKey)
				if err != nil {
					return err
				}
				xmlEscape(e.b, s)
			}
		}
		for _, f := range t.Fields {
			known[f.JSON] = true
			x, ok := m[f.JSON]
			if !ok {
				continue
			}
			if err := e.element(f, x, ns, path+"."+f.JSON); err != nil {
				return err
			}
		}
		var unknown []string
		for k := range m {
			if !known[k] {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			if !t.Open {
				return fmt.Errorf("%s: unknown field %q", path, unknown[0])
			}
			for _, k := range unknown {
				if err := e.value(k, ns, ns, nil, m[k], path+"."+k); err != nil {
					return err
				}
			}
		}
	}
	e.b.WriteString("</")
	e.b.WriteString(name)
	e.b.WriteByte('>')
	return nil
}

// loose writes a value of no declared type: text, or elements named by
// an object's keys (in key order).
func (e *encoder) loose(v any, ns, path string) error {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !validName(k) {
				return fmt.Errorf("%s: %q is not an XML name", path, k)
			}
			items, many := x[k].([]any)
			if !many {
				items = []any{x[k]}
			}
			for _, it := range items {
				if err := e.value(k, ns, ns, nil, it, path+"."+k); err != nil {
					return err
				}
			}
		}
	case []any:
		for _, it := range x {
			if err := e.value("item", ns, ns, nil, it, path); err != nil {
				return err
			}
		}
	default:
		xmlEscape(e.b, plain(v))
	}
	return nil
}

func validName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i, r := range s {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && (r == '-' || r == '.' || (r >= '0' && r <= '9')))
		if !ok {
			return false
		}
	}
	return true
}

func xsiTypeName(t *xtype) string {
	if t.Name.Local == "" || strings.Contains(t.Name.Local, " ") {
		return ""
	}
	if isXSD(t.Name.Space) {
		return "xsd:" + t.Name.Local
	}
	return "t:" + t.Name.Local
}

// xsiType is rpc/encoded's xsi:type attribute for a named type.
func xsiType(t *xtype) string {
	n := xsiTypeName(t)
	if n == "" {
		return ""
	}
	if strings.HasPrefix(n, "t:") {
		var b strings.Builder
		b.WriteString(` xmlns:t="`)
		xmlEscape(&b, t.Name.Space)
		b.WriteString(`" xsi:type="`)
		b.WriteString(n)
		b.WriteByte('"')
		return b.String()
	}
	return ` xsi:type="` + n + `"`
}

// text formats a JSON value as the XML text of simple type t.
func text(t *xtype, v any, path string) (string, error) {
	if t == nil {
		return plain(v), nil
	}
	if t.List {
		list, ok := v.([]any)
		if !ok {
			list = []any{v}
		}
		parts := make([]string, len(list))
		for i, x := range list {
			s, err := text(&xtype{Simple: true, Base: t.Base}, x, path)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return strings.Join(parts, " "), nil
	}
	typ, _ := kind(t.Base)
	switch x := v.(type) {
	case map[string]any, []any:
		return "", fmt.Errorf("%s: want a %s, got %s", path, typ, jsonKind(v))
	case bool:
		if typ != "boolean" && typ != "string" {
			return "", fmt.Errorf("%s: want a %s, got a boolean", path, typ)
		}
		return strconv.FormatBool(x), nil
	case string:
		if typ != "string" {
			if _, ok := scalarOf(typ, x); !ok {
				return "", fmt.Errorf("%s: %q is not a %s", path, clip(x, 40), typ)
			}
		}
		return x, nil
	}
	s := plain(v)
	if typ == "boolean" {
		return "", fmt.Errorf("%s: want a boolean, got a number", path)
	}
	if typ == "integer" {
		if f, err := strconv.ParseFloat(s, 64); err != nil || f != math.Trunc(f) {
			return "", fmt.Errorf("%s: want an integer, got %s", path, s)
		}
	}
	return s, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%T", v)
}

func plain(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case int, int64, int32, uint64, bool, float32:
		return fmt.Sprint(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func xmlEscape(b *strings.Builder, s string) {
	_ = xml.EscapeText(b, []byte(s))
}

// --- XML to JSON -------------------------------------------------------

// decoder turns response elements into JSON by their types.
type decoder struct {
	s     *schemas
	ids   map[string]*node // rpc/encoded multi-ref: id -> element
	depth int
}

const maxDecodeDepth = 128

// deref follows an rpc/encoded href="#id".
func (d *decoder) deref(n *node) *node {
	for i := 0; i < 8; i++ {
		h, ok := n.attr("href")
		if !ok || !strings.HasPrefix(h, "#") || d.ids == nil {
			return n
		}
		m, ok := d.ids[h[1:]]
		if !ok {
			return n
		}
		n = m
	}
	return n
}

func nilled(n *node) bool {
	v, ok := n.attrNS(nsXSI, "nil")
	return ok && (v == "true" || v == "1")
}

// value decodes element n as type t.
func (d *decoder) value(n *node, t *xtype) any {
	n = d.deref(n)
	if nilled(n) {
		return nil
	}
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxDecodeDepth {
		return strings.TrimSpace(n.Text)
	}
	if xt, ok := n.attrNS(nsXSI, "type"); ok && d.s != nil {
		if q, err := n.qname(xt); err == nil {
			if isXSD(q.Space) || q.Space == nsSoapEnc {
				if q.Local != "anyType" && q.Local != "Array" {
					t = builtin(q.Local)
				}
			} else if _, known := d.s.types[q]; known {
				t = d.s.typeOf(q)
			}
		}
	}
	switch {
	case t == nil || (t.Open && len(t.Fields) == 0 && len(t.Attrs) == 0 && t.Value == nil && !t.Simple && t.ArrayOf == nil):
		return d.loose(n)
	case t.Simple:
		return simpleValue(t, n.Text)
	case t.ArrayOf != nil:
		out := make([]any, 0, len(n.Kids))
		for _, k := range n.Kids {
			out = append(out, d.value(k, t.ArrayOf))
		}
		return out
	}
	out := map[string]any{}
	for _, a := range t.Attrs {
		for _, x := range n.Attr {
			if x.Name.Local == a.Name {
				out[a.JSON] = simpleValue(a.Type, x.Value)
			}
		}
	}
	if t.Value != nil {
		v := simpleValue(t.Value, n.Text)
		if len(t.Attrs) == 0 && len(t.Fields) == 0 {
			return v
		}
		out[valueKey] = v
	}
	byName := make(map[string]*field, len(t.Fields))
	for _, f := range t.Fields {
		byName[f.Name] = f
	}
	for _, k := range n.Kids {
		f, ok := byName[k.Name.Local]
		if !ok {
			// Not declared (a newer server, xsd:any): kept, typed loosely.
			addValue(out, k.Name.Local, d.loose(d.deref(k)), false)
			continue
		}
		addValue(out, f.JSON, d.value(k, f.Type), f.many())
	}
	return out
}

func addValue(out map[string]any, key string, v any, many bool) {
	prev, has := out[key]
	switch {
	case many:
		list, _ := prev.([]any)
		out[key] = append(list, v)
	case has:
		if list, ok := prev.([]any); ok {
			out[key] = append(list, v)
		} else {
			out[key] = []any{prev, v}
		}
	default:
		out[key] = v
	}
}

// loose decodes an element of unknown type: its text, or an object of its
// children (repeated names become lists).
func (d *decoder) loose(n *node) any {
	d.depth++
	defer func() { d.depth-- }()
	if len(n.Kids) == 0 || d.depth > maxDecodeDepth {
		if nilled(n) {
			return nil
		}
		return strings.TrimSpace(n.Text)
	}
	out := map[string]any{}
	for _, k := range n.Kids {
		addValue(out, k.Name.Local, d.loose(d.deref(k)), false)
	}
	return out
}

func simpleValue(t *xtype, s string) any {
	typ, _ := kind(t.Base)
	if t.List {
		var out []any
		for _, p := range strings.Fields(s) {
			out = append(out, simpleValue(&xtype{Simple: true, Base: t.Base}, p))
		}
		if out == nil {
			out = []any{}
		}
		return out
	}
	if typ == "string" {
		return s
	}
	if v, ok := scalarOf(typ, s); ok {
		return v
	}
	return strings.TrimSpace(s) // not what the schema says: the text as sent
}
