package apim

import "strings"

// hoist makes a route's schema fit in an OpenAPI document, where a "$ref"
// is resolved against the whole document, not the schema: the schema's
// $defs (and definitions) become components named name_<def>, and its
// references are rewritten to point there ("#" to the component name
// itself, which the caller registers). The input is not changed.
func hoist(doc map[string]any, name string, components map[string]any) map[string]any {
	defs := map[string]any{}
	for _, k := range []string{"$defs", "definitions"} {
		if m, ok := doc[k].(map[string]any); ok {
			for d, v := range m {
				defs[k+"/"+d] = v
			}
		}
	}
	rewrite := func(ref string) string {
		switch {
		case ref == "#":
			return "#/components/schemas/" + name
		case strings.HasPrefix(ref, "#/$defs/"), strings.HasPrefix(ref, "#/definitions/"):
			rest := strings.TrimPrefix(strings.TrimPrefix(ref, "#/$defs/"), "#/definitions/")
			def, tail, _ := strings.Cut(rest, "/")
			out := "#/components/schemas/" + componentName(name+"_"+def)
			if tail != "" {
				out += "/" + tail
			}
			return out
		case strings.HasPrefix(ref, "#/"):
			return "#/components/schemas/" + name + ref[1:]
		}
		return ref
	}
	for key, v := range defs {
		d := key[strings.Index(key, "/")+1:]
		if m, ok := v.(map[string]any); ok {
			components[componentName(name+"_"+d)] = rewriteRefs(m, rewrite).(map[string]any)
		}
	}
	out := rewriteRefs(doc, rewrite).(map[string]any)
	delete(out, "$defs")
	delete(out, "definitions")
	delete(out, "$schema") // the document's dialect is OpenAPI 3.1's
	delete(out, "$id")
	return out
}

// rewriteRefs copies v, changing every "$ref" string with fn.
func rewriteRefs(v any, fn func(string) string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" {
				out[k] = fn(s)
				continue
			}
			out[k] = rewriteRefs(e, fn)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = rewriteRefs(e, fn)
		}
		return out
	}
	return v
}

// componentName keeps to the characters OpenAPI allows in a component's
// name (letters, digits, '.', '-', '_').
func componentName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
