// Package mapper suggests field mappings between two schemas: it flattens
// each side into fields (from JSON Schema, sample payloads, CSV headers,
// field lists or database tables), scores every pair with several signals
// (embedding similarity of names and descriptions, tokens, types and
// formats, example values, structure), assigns globally (1:1, plus 1:n/n:1
// where the evidence supports it), proposes CEL conversions, and learns
// from reviews.
package mapper

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/weftio/weft"
	"github.com/weftio/weft/ai"
	"github.com/weftio/weft/internal/bounded"
)

// Field is one leaf of a schema.
type Field struct {
	Path        string   `json:"path"` // billing.address.city, lines[].sku
	Name        string   `json:"name"` // the last segment
	Type        string   `json:"type,omitempty"`
	Format      string   `json:"format,omitempty"`
	Description string   `json:"description,omitempty"`
	Examples    []any    `json:"examples,omitempty"`
	Enum        []any    `json:"enum,omitempty"`
	Required    bool     `json:"required,omitempty"`
	Parent      string   `json:"parent,omitempty"`  // the enclosing object's path
	Context     string   `json:"context,omitempty"` // what the field's table or record is (its documentation)
	Siblings    []string `json:"-"`                 // sibling names
}

// Schema is a named, flattened schema.
type Schema struct {
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"` // the schema's documentation
	Fields      []Field `json:"fields"`
}

// Limits bound what is accepted.
const (
	MaxFields = 5000
	MaxDepth  = 12
	maxSample = 32 << 20
)

// inputLimits bound a schema document before it is decoded (MaxDepth
// above bounds the fields read from it, not the document).
var inputLimits = bounded.Limits{MaxBytes: maxSample, MaxDepth: 128}

func invalid(format string, args ...any) error { return weft.Errorf(weft.EInvalid, format, args...) }

// Parse reads a schema document of any supported kind: a field list
// ({"name", "fields": [...]}), a JSON Schema, or a sample JSON payload.
func Parse(name string, data []byte) (*Schema, error) {
	if len(data) > maxSample {
		return nil, invalid("%s is %d bytes; the limit is %d", name, len(data), maxSample)
	}
	var doc any
	if err := bounded.UnmarshalJSON(name, data, &doc, inputLimits); err != nil {
		if strings.Contains(name, ".csv") || looksCSV(data) {
			return FromCSV(name, strings.NewReader(string(data)))
		}
		if c := weft.Code(err); c == weft.ETooLarge || !strings.Contains(weft.Message(err), "not valid JSON") {
			return nil, err // a limit, or bad UTF-8: say so as it is
		}
		return nil, invalid("%s is not JSON (nor a CSV header): %s", name, weft.Message(err))
	}
	m, ok := doc.(map[string]any)
	switch {
	case ok && m["fields"] != nil:
		return FromFieldList(data)
	case ok && (m["$schema"] != nil || m["properties"] != nil || m["type"] == "object"):
		return FromJSONSchema(name, m)
	}
	return FromSample(name, doc)
}

func looksCSV(data []byte) bool {
	line := strings.SplitN(string(data), "\n", 2)[0]
	return strings.Count(line, ",") >= 1 && !strings.ContainsAny(line, "{}[]")
}

// FromFieldList reads {"name": ..., "description": ..., "fields": [{"name",
// "description", "type", "examples", "context"}]}; a field's name may be a
// dotted path; context is the text of the field's table or record.
func FromFieldList(data []byte) (*Schema, error) {
	var doc struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Fields      []struct {
			Name        string `json:"name"`
			Path        string `json:"path"`
			Description string `json:"description"`
			Type        string `json:"type"`
			Format      string `json:"format"`
			Examples    []any  `json:"examples"`
			Enum        []any  `json:"enum"`
			Required    bool   `json:"required"`
			Context     string `json:"context"`
		} `json:"fields"`
	}
	if err := bounded.UnmarshalJSON("field list", data, &doc, inputLimits); err != nil {
		return nil, err
	}
	s := &Schema{Name: doc.Name, Description: doc.Description}
	for i, f := range doc.Fields {
		p := f.Path
		if p == "" {
			p = f.Name
		}
		if strings.TrimSpace(p) == "" {
			return nil, invalid("field list %s: field %d has no name", doc.Name, i)
		}
		if f.Type != "" && !knownType(f.Type) {
			return nil, invalid("field list %s: field %s has unknown type %q (string, integer, number, boolean, array, object, date, datetime)", doc.Name, p, f.Type)
		}
		typ, format := f.Type, f.Format
		if typ == "date" || typ == "datetime" || typ == "date-time" {
			typ, format = "string", map[string]string{"date": "date", "datetime": "date-time", "date-time": "date-time"}[f.Type]
		}
		s.Fields = append(s.Fields, Field{Path: p, Name: lastSegment(p), Type: typ, Format: format, Description: f.Description,
			Examples: f.Examples, Enum: f.Enum, Required: f.Required, Parent: parentOf(p), Context: f.Context})
	}
	return finish(s)
}

func knownType(t string) bool {
	switch t {
	case "string", "integer", "number", "boolean", "array", "object", "date", "datetime", "date-time", "null":
		return true
	}
	return false
}

// lastSegment is a field's name: the last path segment, extended with
// its parents while it says nothing on its own ("email[].value" -> "email
// value", "attributes.first_name.value" -> "first_name value"); container
// segments (properties, fields, attributes …) are skipped.
func lastSegment(p string) string {
	segs := strings.Split(strings.ReplaceAll(p, "[]", ""), ".")
	name := segs[len(segs)-1]
	if !generic(name) && !(len(segs) > 1 && generic(strings.Join(ai.Split(name), " ")) && thingWord(segs[len(segs)-2])) {
		// location.displayName is the location's name; a person's
		// displayName stays a display name.
		return name
	}
	// "email[].value" -> "email"; "fields.status.name" -> "status";
	// "attributes.id.value" -> "id"; "partner_id.name" -> "partner name";
	// "salary.base.value" -> "salary base".
	fallback := ""
	for i := len(segs) - 2; i >= 0; i-- {
		seg := segs[i]
		if vocab().container[strings.ToLower(seg)] {
			continue
		}
		if generic(seg) && i > 0 {
			// "department.value.attributes.name": the value says no more
			// than the name; look further up.
			if fallback == "" {
				fallback = seg
			}
			continue
		}
		if low := strings.ToLower(name); (low == "name" || low == "display") && strings.HasSuffix(strings.ToLower(seg), "id") && len(seg) > 2 {
			return strings.TrimRight(seg[:len(seg)-2], "_-") + " name" // a reference's name
		}
		if vocab().modifier[strings.ToLower(seg)] && i > 0 && !vocab().container[strings.ToLower(segs[i-1])] {
			return segs[i-1] + " " + seg
		}
		return seg
	}
	if fallback != "" {
		return fallback
	}
	return name
}

// generic: every word of the name is one that needs a parent to mean anything.
func generic(name string) bool {
	ws := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return r == '_' || r == ' ' || r == '-' })
	if len(ws) == 0 {
		return true
	}
	for _, w := range ws {
		if !vocab().generic[w] {
			return false
		}
	}
	return true
}

func parentOf(p string) string {
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// FromJSONSchema flattens a JSON Schema (objects by path, arrays as []).
// $refs into #/$defs and #/definitions are followed; cycles stop.
func FromJSONSchema(name string, root map[string]any) (*Schema, error) {
	s := &Schema{Name: name}
	if t, ok := root["title"].(string); ok && name == "" {
		s.Name = t
	}
	s.Description, _ = root["description"].(string)
	var walk func(node map[string]any, path string, required bool, depth int, seen map[string]bool) error
	resolve := func(node map[string]any, seen map[string]bool) (map[string]any, string, error) {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node, "", nil
		}
		if seen[ref] {
			return nil, ref, nil // a cycle: stop here
		}
		if ref == "#" {
			return root, ref, nil
		}
		if !strings.HasPrefix(ref, "#/") {
			return nil, ref, invalid("%s: $ref %s points outside the document (only local refs are followed)", name, ref)
		}
		parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
		var cur any = root
		for _, p := range parts {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, ref, invalid("%s: $ref %s does not resolve", name, ref)
			}
			cur = m[p]
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, ref, invalid("%s: $ref %s does not resolve", name, ref)
		}
		return m, ref, nil
	}
	walk = func(node map[string]any, path string, required bool, depth int, seen map[string]bool) error {
		if depth > MaxDepth {
			return nil
		}
		node, ref, err := resolve(node, seen)
		if err != nil {
			return err
		}
		if node == nil {
			return nil
		}
		if ref != "" {
			seen = copySeen(seen)
			seen[ref] = true
		}
		// Merge allOf parts.
		if all, ok := node["allOf"].([]any); ok {
			merged := map[string]any{"type": "object", "properties": map[string]any{}}
			var req []any
			for _, x := range all {
				sub, _ := x.(map[string]any)
				sub, _, err := resolve(sub, seen)
				if err != nil {
					return err
				}
				if sub == nil {
					continue
				}
				if p, ok := sub["properties"].(map[string]any); ok {
					for k, v := range p {
						merged["properties"].(map[string]any)[k] = v
					}
				}
				if r, ok := sub["required"].([]any); ok {
					req = append(req, r...)
				}
			}
			merged["required"] = req
			node = merged
		}
		typ := typeOf(node)
		if props, ok := node["properties"].(map[string]any); ok && len(props) > 0 {
			req := map[string]bool{}
			if r, ok := node["required"].([]any); ok {
				for _, x := range r {
					req[fmt.Sprint(x)] = true
				}
			}
			names := make([]string, 0, len(props))
			for k := range props {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				child, _ := props[k].(map[string]any)
				if child == nil {
					continue
				}
				p := k
				if path != "" {
					p = path + "." + k
				}
				if err := walk(child, p, req[k], depth+1, seen); err != nil {
					return err
				}
			}
			return nil
		}
		if typ == "array" {
			items, _ := node["items"].(map[string]any)
			if items != nil {
				itemsR, _, err := resolve(items, seen)
				if err != nil {
					return err
				}
				if itemsR != nil && (itemsR["properties"] != nil || itemsR["allOf"] != nil) {
					return walk(items, path+"[]", required, depth+1, seen)
				}
			}
		}
		if path == "" {
			return nil
		}
		f := Field{Path: path, Name: lastSegment(path), Type: typ, Required: required, Parent: parentOf(path)}
		f.Format, _ = node["format"].(string)
		f.Description, _ = node["description"].(string)
		if f.Description == "" {
			f.Description, _ = node["title"].(string)
		}
		if e, ok := node["enum"].([]any); ok {
			f.Enum = e
		}
		if ex, ok := node["examples"].([]any); ok {
			f.Examples = ex
		} else if ex, ok := node["example"]; ok {
			f.Examples = []any{ex}
		}
		s.Fields = append(s.Fields, f)
		return nil
	}
	if err := walk(root, "", false, 0, map[string]bool{}); err != nil {
		return nil, err
	}
	return finish(s)
}

func copySeen(m map[string]bool) map[string]bool {
	c := make(map[string]bool, len(m)+1)
	for k, v := range m {
		c[k] = v
	}
	return c
}

func typeOf(node map[string]any) string {
	switch t := node["type"].(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok && s != "null" {
				return s
			}
		}
	}
	if node["properties"] != nil {
		return "object"
	}
	return ""
}

// FromSample infers fields from a sample JSON payload; values become
// examples (an array of objects merges its items' fields).
func FromSample(name string, doc any) (*Schema, error) {
	s := &Schema{Name: name}
	byPath := map[string]*Field{}
	var order []string
	var walk func(v any, path string, depth int)
	walk = func(v any, path string, depth int) {
		if depth > MaxDepth || len(byPath) > MaxFields {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(x[k], p, depth+1)
			}
		case []any:
			for i, it := range x {
				if i >= 50 {
					break
				}
				switch it.(type) {
				case map[string]any, []any:
					walk(it, path+"[]", depth+1)
				default:
					walk(it, path, depth+1)
				}
			}
		default:
			if path == "" {
				return
			}
			f, ok := byPath[path]
			if !ok {
				f = &Field{Path: path, Name: lastSegment(path), Parent: parentOf(path)}
				byPath[path] = f
				order = append(order, path)
			}
			if t := jsonType(x); f.Type == "" || f.Type == "null" || (f.Type == "integer" && t == "number") {
				f.Type = t
			}
			if x != nil && len(f.Examples) < 5 {
				f.Examples = append(f.Examples, x)
			}
		}
	}
	walk(doc, "", 0)
	if len(byPath) > MaxFields {
		return nil, invalid("%s has more than %d fields", name, MaxFields)
	}
	for _, p := range order {
		f := byPath[p]
		if f.Format == "" {
			f.Format = valueFormat(f.Examples)
		}
		s.Fields = append(s.Fields, *f)
	}
	return finish(s)
}

func jsonType(v any) string {
	switch x := v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case nil:
		return "null"
	}
	return "string"
}

// FromCSV reads a header row and up to 20 sample rows.
func FromCSV(name string, r io.Reader) (*Schema, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, invalid("%s: no CSV header: %v", name, err)
	}
	s := &Schema{Name: name}
	cols := make([]*Field, len(header))
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if h == "" {
			return nil, invalid("%s: column %d of the CSV header has no name", name, i+1)
		}
		cols[i] = &Field{Path: h, Name: h}
	}
	for n := 0; n < 20; n++ {
		row, err := cr.Read()
		if err != nil {
			break
		}
		for i, v := range row {
			if i < len(cols) && v != "" {
				cols[i].Examples = append(cols[i].Examples, v)
			}
		}
	}
	for _, c := range cols {
		c.Type, c.Format = csvType(c.Examples)
		s.Fields = append(s.Fields, *c)
	}
	return finish(s)
}

// finish checks a schema: not empty, no duplicate paths, and fills context.
func finish(s *Schema) (*Schema, error) {
	if len(s.Fields) == 0 {
		return nil, invalid("schema %q has no fields", s.Name)
	}
	if len(s.Fields) > MaxFields {
		return nil, invalid("schema %q has %d fields; the limit is %d", s.Name, len(s.Fields), MaxFields)
	}
	seen := map[string]bool{}
	byParent := map[string][]string{}
	for _, f := range s.Fields {
		if seen[f.Path] {
			return nil, invalid("schema %q has the field %q twice", s.Name, f.Path)
		}
		seen[f.Path] = true
		byParent[f.Parent] = append(byParent[f.Parent], f.Name)
	}
	for i := range s.Fields {
		s.Fields[i].Siblings = byParent[s.Fields[i].Parent]
		if s.Fields[i].Format == "" {
			s.Fields[i].Format = valueFormat(s.Fields[i].Examples)
		}
	}
	return s, nil
}
