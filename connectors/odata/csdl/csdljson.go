package csdl

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/bounded"
)

// parseJSON reads a v4 JSON CSDL document by turning it into the element
// tree the XML reader builds, so one schema reader serves both.
func parseJSON(data []byte, l Limits) (*Model, error) {
	if int64(len(data)) > l.MaxBytes {
		return nil, weft.Errorf(weft.ETooLarge, "$metadata is %d bytes; the limit is %d", len(data), l.MaxBytes)
	}
	if err := bounded.CheckJSON("$metadata", data, bounded.Limits{MaxBytes: l.MaxBytes, MaxDepth: l.MaxDepth, MaxNodes: int64(l.MaxElements) * 4}); err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, weft.Errorf(weft.EInvalid, "$metadata is not JSON CSDL: %v", err)
	}
	v, _ := doc["$Version"].(string)
	if v == "" {
		return nil, weft.Errorf(weft.EInvalid, "not a JSON CSDL document: no $Version")
	}
	root := &node{name: "Edmx", attrs: attrsOf(map[string]string{"Version": v})}
	ds := &node{name: "DataServices", attrs: attrsOf(map[string]string{})}
	root.kids = append(root.kids, ds)
	for _, ns := range sortedKeys(doc) {
		if strings.HasPrefix(ns, "$") || strings.HasPrefix(ns, "@") {
			continue
		}
		body, ok := doc[ns].(map[string]any)
		if !ok {
			continue
		}
		s := &node{name: "Schema", attrs: attrsOf(map[string]string{"Namespace": ns})}
		if a, ok := body["$Alias"].(string); ok {
			s.set("Alias", a)
		}
		for _, name := range sortedKeys(body) {
			if strings.HasPrefix(name, "$") || strings.HasPrefix(name, "@") {
				continue
			}
			switch x := body[name].(type) {
			case []any: // overloads of an action or function
				for _, o := range x {
					if om, ok := o.(map[string]any); ok {
						if n := jsonCallable(name, om); n != nil {
							s.kids = append(s.kids, n)
						}
					}
				}
			case map[string]any:
				if n := jsonMember(name, x); n != nil {
					s.kids = append(s.kids, n)
				}
			}
		}
		if anns, ok := body["$Annotations"].(map[string]any); ok {
			for _, target := range sortedKeys(anns) {
				am, _ := anns[target].(map[string]any)
				n := &node{name: "Annotations", attrs: attrsOf(map[string]string{"Target": target})}
				n.kids = jsonAnnotations(am)
				s.kids = append(s.kids, n)
			}
		}
		ds.kids = append(ds.kids, s)
	}
	m := newModel()
	m.Version = v
	if refs, ok := doc["$Reference"].(map[string]any); ok {
		for _, uri := range sortedKeys(refs) {
			rm, _ := refs[uri].(map[string]any)
			incs, _ := rm["$Include"].([]any)
			for _, x := range incs {
				if im, ok := x.(map[string]any); ok && str(im, "$Namespace", "") != "" && len(m.References) < 100 {
					m.References = append(m.References, str(im, "$Namespace", ""))
				}
			}
		}
	}
	var schemas = ds.children("Schema")
	if len(schemas) == 0 {
		return nil, weft.Errorf(weft.EInvalid, "JSON CSDL declares no schema")
	}
	aliases := map[string]string{}
	for _, s := range schemas {
		m.Namespaces = append(m.Namespaces, s.attr("Namespace"))
		if a := s.attr("Alias"); a != "" {
			aliases[a] = s.attr("Namespace")
		}
	}
	q := func(name string) string { return qualify(name, aliases) }
	for _, s := range schemas {
		m.readSchema(s, q)
	}
	for _, s := range schemas {
		for _, a := range s.children("Annotations") {
			m.applyAnnotations(a, q)
		}
	}
	if err := m.finish(); err != nil {
		return nil, err
	}
	return m, nil
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func str(m map[string]any, k, def string) string {
	if s, ok := m[k].(string); ok {
		return s
	}
	return def
}

func jsonType(m map[string]any) string {
	t := str(m, "$Type", "Edm.String")
	if c, _ := m["$Collection"].(bool); c {
		t = "Collection(" + t + ")"
	}
	return t
}

func jsonNullable(m map[string]any) string {
	if b, _ := m["$Nullable"].(bool); b {
		return "true"
	}
	return "false"
}

// jsonAnnotations turns {"@Term": value} members into Annotation nodes.
func jsonAnnotations(m map[string]any) []*node {
	var out []*node
	for _, k := range sortedKeys(m) {
		if !strings.HasPrefix(k, "@") {
			continue
		}
		a := &node{name: "Annotation", attrs: attrsOf(map[string]string{"Term": strings.TrimPrefix(k, "@")})}
		switch v := m[k].(type) {
		case bool:
			a.set("Bool", fmt.Sprint(v))
		case string:
			a.set("String", v)
		case map[string]any:
			r := &node{name: "Record", attrs: attrsOf(map[string]string{})}
			for _, p := range sortedKeys(v) {
				if b, ok := v[p].(bool); ok {
					r.kids = append(r.kids, &node{name: "PropertyValue", attrs: attrsOf(map[string]string{"Property": p, "Bool": fmt.Sprint(b)})})
				}
			}
			a.kids = append(a.kids, r)
		}
		out = append(out, a)
	}
	return out
}

func jsonMember(name string, m map[string]any) *node {
	switch str(m, "$Kind", "") {
	case "EntityType", "ComplexType":
		n := &node{name: str(m, "$Kind", ""), attrs: attrsOf(map[string]string{"Name": name})}
		if b := str(m, "$BaseType", ""); b != "" {
			n.set("BaseType", b)
		}
		if hs, _ := m["$HasStream"].(bool); hs {
			n.set("HasStream", "true")
		}
		if keys, ok := m["$Key"].([]any); ok {
			k := &node{name: "Key", attrs: attrsOf(map[string]string{})}
			for _, x := range keys {
				switch kv := x.(type) {
				case string:
					k.kids = append(k.kids, &node{name: "PropertyRef", attrs: attrsOf(map[string]string{"Name": kv})})
				case map[string]any: // {"alias": "path"}
					for _, a := range sortedKeys(kv) {
						k.kids = append(k.kids, &node{name: "PropertyRef", attrs: attrsOf(map[string]string{"Name": str(kv, a, a)})})
					}
				}
			}
			n.kids = append(n.kids, k)
		}
		for _, p := range sortedKeys(m) {
			if strings.HasPrefix(p, "$") || strings.HasPrefix(p, "@") {
				continue
			}
			pm, ok := m[p].(map[string]any)
			if !ok {
				continue
			}
			if str(pm, "$Kind", "") == "NavigationProperty" {
				nv := &node{name: "NavigationProperty", attrs: attrsOf(map[string]string{"Name": p, "Type": jsonType(pm)})}
				if ct, _ := pm["$ContainsTarget"].(bool); ct {
					nv.set("ContainsTarget", "true")
				}
				if rc, ok := pm["$ReferentialConstraint"].(map[string]any); ok {
					for _, k := range sortedKeys(rc) {
						nv.kids = append(nv.kids, &node{name: "ReferentialConstraint", attrs: attrsOf(map[string]string{"Property": k, "ReferencedProperty": fmt.Sprint(rc[k])})})
					}
				}
				n.kids = append(n.kids, nv)
				continue
			}
			pn := &node{name: "Property", attrs: attrsOf(map[string]string{"Name": p, "Type": jsonType(pm), "Nullable": jsonNullable(pm)})}
			if ml, ok := pm["$MaxLength"].(float64); ok {
				pn.set("MaxLength", fmt.Sprint(ml))
			}
			pn.kids = jsonAnnotations(pm)
			n.kids = append(n.kids, pn)
		}
		return n
	case "EnumType":
		n := &node{name: "EnumType", attrs: attrsOf(map[string]string{"Name": name})}
		if f, _ := m["$IsFlags"].(bool); f {
			n.set("IsFlags", "true")
		}
		for _, k := range sortedKeys(m) {
			if !strings.HasPrefix(k, "$") && !strings.Contains(k, "@") {
				n.kids = append(n.kids, &node{name: "Member", attrs: attrsOf(map[string]string{"Name": k})})
			}
		}
		return n
	case "EntityContainer":
		n := &node{name: "EntityContainer", attrs: attrsOf(map[string]string{"Name": name})}
		for _, k := range sortedKeys(m) {
			if strings.HasPrefix(k, "$") || strings.HasPrefix(k, "@") {
				continue
			}
			em, ok := m[k].(map[string]any)
			if !ok {
				continue
			}
			var c *node
			switch {
			case em["$Action"] != nil:
				c = &node{name: "ActionImport", attrs: attrsOf(map[string]string{"Name": k, "Action": str(em, "$Action", ""), "EntitySet": str(em, "$EntitySet", "")})}
			case em["$Function"] != nil:
				c = &node{name: "FunctionImport", attrs: attrsOf(map[string]string{"Name": k, "Function": str(em, "$Function", ""), "EntitySet": str(em, "$EntitySet", "")})}
			case em["$Collection"] == true:
				c = &node{name: "EntitySet", attrs: attrsOf(map[string]string{"Name": k, "EntityType": str(em, "$Type", "")})}
			default:
				c = &node{name: "Singleton", attrs: attrsOf(map[string]string{"Name": k, "Type": str(em, "$Type", "")})}
			}
			c.kids = jsonAnnotations(em)
			n.kids = append(n.kids, c)
		}
		return n
	}
	return nil
}

func jsonCallable(name string, m map[string]any) *node {
	kind := str(m, "$Kind", "")
	if kind != "Action" && kind != "Function" {
		return nil
	}
	n := &node{name: kind, attrs: attrsOf(map[string]string{"Name": name})}
	if b, _ := m["$IsBound"].(bool); b {
		n.set("IsBound", "true")
	}
	if b, _ := m["$IsComposable"].(bool); b {
		n.set("IsComposable", "true")
	}
	if ps, ok := m["$Parameter"].([]any); ok {
		for _, p := range ps {
			pm, ok := p.(map[string]any)
			if !ok {
				continue
			}
			n.kids = append(n.kids, &node{name: "Parameter", attrs: attrsOf(map[string]string{"Name": str(pm, "$Name", ""), "Type": jsonType(pm), "Nullable": jsonNullable(pm)})})
		}
	}
	if r, ok := m["$ReturnType"].(map[string]any); ok {
		n.kids = append(n.kids, &node{name: "ReturnType", attrs: attrsOf(map[string]string{"Type": jsonType(r)})})
	}
	return n
}

func attrsOf(m map[string]string) []attr {
	out := make([]attr, 0, len(m))
	for _, k := range sortedKeys(toAny(m)) {
		out = append(out, attr{k, m[k]})
	}
	return out
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
