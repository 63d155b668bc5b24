package odata

import (
	_ "embed"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxSchemaDepth bounds complex-type expansion: a complex type that
// contains itself (directly or not) ends in an open object with a note.
const maxSchemaDepth = 8

// typeSchema maps an Edm or schema type to JSON Schema as the service's
// JSON format writes it (v2 writes Int64 and Decimal as strings).
func (m *Model) typeSchema(t string, depth int, seen map[string]bool) map[string]any {
	if in, ok := collectionOf(t); ok {
		return map[string]any{"type": "array", "items": m.typeSchema(in, depth+1, seen)}
	}
	switch t {
	case "Edm.String":
		return map[string]any{"type": "string"}
	case "Edm.Boolean":
		return map[string]any{"type": "boolean"}
	case "Edm.Byte", "Edm.SByte", "Edm.Int16", "Edm.Int32":
		return map[string]any{"type": "integer"}
	case "Edm.Int64":
		if m.V2() {
			return map[string]any{"type": []any{"string", "integer"}, "format": "int64"}
		}
		return map[string]any{"type": "integer", "format": "int64"}
	case "Edm.Decimal":
		if m.V2() {
			return map[string]any{"type": []any{"string", "number"}, "format": "decimal"}
		}
		return map[string]any{"type": []any{"number", "string"}, "format": "decimal"}
	case "Edm.Double", "Edm.Single":
		return map[string]any{"type": []any{"number", "string"}}
	case "Edm.Guid":
		return map[string]any{"type": "string", "format": "uuid"}
	case "Edm.DateTimeOffset":
		return map[string]any{"type": "string", "format": "date-time"}
	case "Edm.DateTime":
		return map[string]any{"type": "string", "description": "date and time (v2 JSON: /Date(milliseconds)/; as input also yyyy-mm-ddThh:mm:ss)"}
	case "Edm.Date":
		return map[string]any{"type": "string", "format": "date"}
	case "Edm.Time", "Edm.TimeOfDay", "Edm.Duration":
		return map[string]any{"type": "string", "description": t[4:]}
	case "Edm.Binary", "Edm.Stream":
		return map[string]any{"type": "string", "contentEncoding": "base64"}
	}
	if strings.HasPrefix(t, "Edm.Geography") || strings.HasPrefix(t, "Edm.Geometry") {
		return map[string]any{"type": "object", "description": t + " (GeoJSON)"}
	}
	if e, ok := m.EnumTypes[t]; ok {
		ms := make([]any, len(e.Members))
		for i, x := range e.Members {
			ms[i] = x
		}
		if e.Flags {
			return map[string]any{"type": "string", "description": "comma-separated members of " + t}
		}
		return map[string]any{"type": "string", "enum": ms}
	}
	if c, ok := m.ComplexTypes[t]; ok {
		if seen[t] || depth > maxSchemaDepth {
			return map[string]any{"type": "object", "description": "a " + t + " (recursive; not expanded)"}
		}
		seen[t] = true
		defer delete(seen, t)
		props := map[string]any{}
		for _, p := range m.complexProps(c) {
			props[p.Name] = m.propSchema(p, depth+1, seen)
		}
		return map[string]any{"type": "object", "properties": props}
	}
	if et, ok := m.EntityTypes[t]; ok {
		return map[string]any{"type": "object", "description": "a " + et.Name + " entity"}
	}
	return map[string]any{"description": t}
}

// complexProps merges a complex type's base types' properties (bounded).
func (m *Model) complexProps(c *ComplexType) []*Property {
	out := append([]*Property(nil), c.Props...)
	b := c.Base
	for i := 0; b != "" && i < maxInherit; i++ {
		bc, ok := m.ComplexTypes[b]
		if !ok {
			break
		}
		out = append(out, bc.Props...)
		b = bc.Base
	}
	return out
}

func (m *Model) propSchema(p *Property, depth int, seen map[string]bool) map[string]any {
	s := m.typeSchema(p.Type, depth, seen)
	if p.Label != "" {
		s["title"] = p.Label
	}
	if n, err := strconv.Atoi(p.MaxLength); err == nil && n > 0 && p.Type == "Edm.String" {
		s["maxLength"] = n
	}
	return s
}

// EntitySchema is the JSON Schema of an entity type as the service returns
// it: its properties, and its navigation properties (present when expanded).
func (m *Model) EntitySchema(t *EntityType) map[string]any {
	props := map[string]any{}
	for _, p := range t.Props {
		props[p.Name] = m.propSchema(p, 0, map[string]bool{})
	}
	for _, n := range t.Navs {
		target := strings.TrimPrefix(n.Target, t.Namespace+".")
		if n.Collection {
			props[n.Name] = map[string]any{"type": "array", "items": map[string]any{"type": "object"}, "description": "related " + target + " entities (with expand)"}
		} else {
			props[n.Name] = map[string]any{"type": "object", "description": "the related " + target + " (with expand)"}
		}
	}
	props["@odata.etag"] = map[string]any{"type": "string", "description": "the entity's ETag (send it as if_match to update or delete)"}
	m.annotateProps(t, props)
	s := map[string]any{"type": "object", "properties": props}
	if t.Label != "" {
		s["title"] = t.Label
	}
	return s
}

//go:embed annotations.yaml
var annotationsYAML []byte

// instanceAnnotation is a term of annotations.yaml.
type instanceAnnotation struct {
	Term        string   `yaml:"term"`
	Namespace   string   `yaml:"namespace"`
	On          string   `yaml:"on"`
	Types       []string `yaml:"types"`
	Enum        bool     `yaml:"enum"`
	Sandbox     string   `yaml:"sandbox"` // display, target or navigation
	Description string   `yaml:"description"`
}

var instanceAnnotations = func() []instanceAnnotation {
	var out []instanceAnnotation
	if err := yaml.Unmarshal(annotationsYAML, &out); err != nil {
		panic("odata: annotations.yaml: " + err.Error())
	}
	for _, a := range out {
		if a.Term == "" || a.Namespace == "" || (a.On != "types" && a.On != "foreign_key") {
			panic("odata: annotations.yaml: a term needs term, namespace and on: types or foreign_key")
		}
		if a.Sandbox != "display" && a.Sandbox != "target" && a.Sandbox != "navigation" {
			panic("odata: annotations.yaml: sandbox must be display, target or navigation")
		}
	}
	return out
}()

// usedAnnotations are the terms of annotations.yaml whose namespace the
// document references or declares.
func (m *Model) usedAnnotations() []instanceAnnotation {
	uses := map[string]bool{}
	for _, ns := range m.References {
		uses[ns] = true
	}
	for _, ns := range m.Namespaces {
		uses[ns] = true
	}
	var out []instanceAnnotation
	for _, a := range instanceAnnotations {
		if uses[a.Namespace] {
			out = append(out, a)
		}
	}
	return out
}

// annotatedProp is one instance annotation a property may carry.
type annotatedProp struct {
	prop string
	a    instanceAnnotation
	nav  *NavProperty // the navigation whose key prop holds (a lookup), if any
}

// annotatedProps lists the instance annotations t's properties may carry.
func (m *Model) annotatedProps(t *EntityType) []annotatedProp {
	used := m.usedAnnotations()
	if len(used) == 0 {
		return nil
	}
	fk := map[string]*NavProperty{} // property -> the navigation it is the key of
	for _, n := range t.Navs {
		for _, r := range n.Refs {
			if _, ok := fk[r]; !ok {
				fk[r] = n
			}
		}
	}
	var out []annotatedProp
	for _, p := range t.Props {
		_, enum := m.EnumTypes[p.Type]
		nav := fk[p.Name]
		for _, a := range used {
			ok := nav != nil
			if a.On == "types" && !ok {
				ok = (a.Enum && enum) || slices.Contains(a.Types, p.Type)
			}
			if ok {
				out = append(out, annotatedProp{prop: p.Name, a: a, nav: nav})
			}
		}
	}
	return out
}

// annotateProps declares the instance annotations t's properties may
// carry (P@Term) in props.
func (m *Model) annotateProps(t *EntityType, props map[string]any) {
	for _, ap := range m.annotatedProps(t) {
		desc := ap.a.Description
		if ap.nav != nil {
			desc += " (" + ap.prop + " is the key of " + ap.nav.Name + ")"
		}
		props[ap.prop+"@"+ap.a.Term] = map[string]any{"type": "string", "description": desc}
	}
}
