package mcp

import "sort"

// ToolInfo describes one tool of a toolset (GET /api/mcp/toolsets/{name}/tools):
// what it calls, its hints, and the policy that applies to it.
type ToolInfo struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Kind        string `json:"kind"`                 // operation | flow | local
	Connection  string `json:"connection,omitempty"` // operation tools
	Operation   string `json:"operation,omitempty"`  // connector.operation
	Flow        string `json:"flow,omitempty"`       // flow tools
	ReadOnly    bool   `json:"read_only"`
	Destructive bool   `json:"destructive"`
	Policy      string `json:"policy"` // allow | deny | confirm (the first matching rule; allow when none)
}

// ToolsetTools lists the tools a toolset holds now, by name; false when
// there is no such toolset. A discovery toolset lists the tools its
// search_tools and call_tool reach.
func (g *Gateway) ToolsetTools(name string) ([]ToolInfo, bool) {
	g.mu.RLock()
	s, ok := g.sets[name]
	g.mu.RUnlock()
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	defs := make([]*toolDef, 0, len(s.tools))
	for _, t := range s.tools {
		defs = append(defs, t)
	}
	s.mu.Unlock()
	out := make([]ToolInfo, 0, len(defs))
	for _, t := range defs {
		ti := ToolInfo{Name: t.tool.Name, Description: t.tool.Description, Connection: t.connection, Operation: t.operation, Flow: t.flow,
			Destructive: t.destructive, Policy: g.policy(t)}
		if h := t.tool.Annotations.ReadOnlyHint; h != nil {
			ti.ReadOnly = *h
		}
		switch {
		case t.flow != "":
			ti.Kind = "flow"
		case t.operation != "":
			ti.Kind = "operation"
		default:
			ti.Kind = "local"
		}
		out = append(out, ti)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, true
}
