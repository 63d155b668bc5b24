package mcpconn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Change is one incompatible change of an accepted tool.
type Change struct {
	Tool   string `json:"tool"`
	Kind   string `json:"kind"` // removed, input, output
	Path   string `json:"path,omitempty"`
	Detail string `json:"detail"`
}

// Diff lists the changes from old to cur that can break a caller built
// against old: a tool removed; in the input, a property newly required,
// a property removed, a type or enum narrowed; in the output, a property
// removed or its type changed (a flow may read it).
func Diff(old, cur []Tool) []Change {
	now := map[string]*Tool{}
	for i := range cur {
		now[cur[i].Name] = &cur[i]
	}
	var out []Change
	for _, o := range old {
		n, ok := now[o.Name]
		if !ok {
			out = append(out, Change{Tool: o.Name, Kind: "removed", Detail: fmt.Sprintf("tool %s is no longer listed", o.Name)})
			continue
		}
		for _, c := range diffSchema(o.Input, n.Input, "", true, 0) {
			c.Tool, c.Kind = o.Name, "input"
			c.Detail = fmt.Sprintf("tool %s input: %s", o.Name, c.Detail)
			out = append(out, c)
		}
		if o.Output != nil {
			for _, c := range diffSchema(o.Output, n.Output, "", false, 0) {
				c.Tool, c.Kind = o.Name, "output"
				c.Detail = fmt.Sprintf("tool %s output: %s", o.Name, c.Detail)
				out = append(out, c)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Tool < out[j].Tool })
	return out
}

func diffSchema(old, cur map[string]any, path string, input bool, depth int) []Change {
	if depth > 16 || old == nil {
		return nil
	}
	at := func(p string) string {
		if p == "" {
			return "(root)"
		}
		return p
	}
	if cur == nil {
		if input {
			return nil // no schema: anything goes
		}
		return []Change{{Path: at(path), Detail: fmt.Sprintf("%s: no longer described", at(path))}}
	}
	var out []Change
	if ot, ct := types(old["type"]), types(cur["type"]); len(ot) > 0 && len(ct) > 0 {
		for t := range ot {
			if !ct[t] && !(t == "integer" && ct["number"]) {
				out = append(out, Change{Path: at(path), Detail: fmt.Sprintf("%s: type %s became %s", at(path), keys(ot), keys(ct))})
				break
			}
		}
	}
	if oe, ok := old["enum"].([]any); ok {
		if ce, ok := cur["enum"].([]any); ok {
			for _, v := range oe {
				if !containsJSON(ce, v) {
					out = append(out, Change{Path: at(path), Detail: fmt.Sprintf("%s: enum value %v removed", at(path), v)})
					break
				}
			}
		}
	}
	op, _ := old["properties"].(map[string]any)
	cp, _ := cur["properties"].(map[string]any)
	if input {
		oreq := strSet(old["required"])
		for r := range strSet(cur["required"]) {
			if !oreq[r] {
				out = append(out, Change{Path: join(path, r), Detail: fmt.Sprintf("%s: newly required", join(path, r))})
			}
		}
	}
	names := make([]string, 0, len(op))
	for k := range op {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		om, _ := op[k].(map[string]any)
		cv, ok := cp[k]
		if !ok {
			if input && cur["additionalProperties"] != false {
				continue // still accepted as an extra property
			}
			out = append(out, Change{Path: join(path, k), Detail: fmt.Sprintf("%s: removed", join(path, k))})
			continue
		}
		cm, _ := cv.(map[string]any)
		out = append(out, diffSchema(om, cm, join(path, k), input, depth+1)...)
	}
	return out
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func types(v any) map[string]bool {
	out := map[string]bool{}
	switch x := v.(type) {
	case string:
		out[x] = true
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				out[s] = true
			}
		}
	}
	return out
}

func keys(m map[string]bool) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, "|")
}

func strSet(v any) map[string]bool {
	out := map[string]bool{}
	if l, ok := v.([]any); ok {
		for _, e := range l {
			if s, ok := e.(string); ok {
				out[s] = true
			}
		}
	}
	if l, ok := v.([]string); ok {
		for _, s := range l {
			out[s] = true
		}
	}
	return out
}

func containsJSON(list []any, v any) bool {
	vb, _ := json.Marshal(v)
	for _, e := range list {
		eb, _ := json.Marshal(e)
		if bytes.Equal(eb, vb) {
			return true
		}
	}
	return false
}
