package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/weftio/weft/ai/search"
)

// metaTools are the discovery toolset's two tools.
func (g *Gateway) metaTools(s *served) []server.ServerTool {
	search := mcpgo.Tool{Name: "search_tools", Title: "Search tools",
		Description: "Find the tools for a task among every operation of every connected business system and every deployed flow. Give what you want to do in plain words (e.g. 'create a project in the tracker'); returns the best matching tools with their descriptions and input schemas. Then use call_tool.",
		Annotations: mcpgo.ToolAnnotation{ReadOnlyHint: boolp(true), IdempotentHint: boolp(true), OpenWorldHint: boolp(false)}}
	search.RawInputSchema = json.RawMessage(`{"type":"object","required":["query"],"properties":{"query":{"type":"string","description":"what you want to do"},"limit":{"type":"integer","minimum":1,"maximum":50,"default":10}},"additionalProperties":false}`)
	call := mcpgo.Tool{Name: "call_tool", Title: "Call a tool",
		Description: "Call a tool found with search_tools: name is the tool's name, arguments must match its input schema. Returns the tool's result.",
		Annotations: mcpgo.ToolAnnotation{ReadOnlyHint: boolp(false), DestructiveHint: boolp(true), OpenWorldHint: boolp(true)}}
	call.RawInputSchema = json.RawMessage(`{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"arguments":{"type":"object"}},"additionalProperties":false}`)
	return []server.ServerTool{
		{Tool: search, Handler: func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
			q := req.GetString("query", "")
			if strings.TrimSpace(q) == "" {
				return mcpgo.NewToolResultError("query is required: say what you want to do"), nil
			}
			limit := req.GetInt("limit", 10)
			if limit <= 0 || limit > 50 {
				limit = 10
			}
			return g.searchTools(ctx, s, q, limit), nil
		}},
		{Tool: call, Handler: func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
			name := req.GetString("name", "")
			t, ok := s.lookup(name)
			if !ok {
				return mcpgo.NewToolResultError(fmt.Sprintf("no tool named %q: use search_tools to find one", name)), nil
			}
			args := req.GetArguments()
			inner := mcpgo.CallToolRequest{Params: mcpgo.CallToolParams{Name: name, Meta: req.Params.Meta, MultiRoundTripParams: req.Params.MultiRoundTripParams}}
			if a, ok := args["arguments"].(map[string]any); ok {
				inner.Params.Arguments = a
			} else {
				inner.Params.Arguments = map[string]any{}
			}
			return g.call(ctx, s, t, inner)
		}},
	}
}

// SearchTools ranks a toolset's tools for query (used by search_tools and
// benchmarks).
func (g *Gateway) SearchTools(ctx context.Context, toolset, query string, limit int) ([]string, error) {
	g.mu.RLock()
	s := g.sets[toolset]
	g.mu.RUnlock()
	if s == nil {
		return nil, fmt.Errorf("no toolset %q", toolset)
	}
	return g.rank(ctx, s, query, limit), nil
}

// rank ranks a toolset's tools with the shared search (ai/search); a key
// limited to some tools finds only those.
func (g *Gateway) rank(ctx context.Context, s *served, query string, limit int) []string {
	k := caller(ctx)
	var allow func(string) bool
	if k != nil {
		allow = k.allows
	}
	idx, err := g.toolIndex(ctx, s)
	hits, serr := idx.Search(ctx, query, limit, allow)
	if err == nil {
		err = serr
	}
	if err != nil { // the lexical ranking still answers
		g.log.Warn("search_tools: semantic ranking unavailable", "toolset", s.def.Name, "err", err)
	}
	out := make([]string, 0, len(hits))
	for _, h := range hits {
		if k == nil || k.allows(h.ID) {
			out = append(out, h.ID)
		}
	}
	return out
}

// toolIndex brings a toolset's search index up to date with its tools
// (only tools added or changed since are embedded).
func (g *Gateway) toolIndex(ctx context.Context, s *served) (*search.Index, error) {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if s.idx == nil {
		o := g.cfg.Search
		o.Collection = "weft_tools_" + s.def.Name
		s.idx = search.New(o)
	}
	s.mu.Lock()
	gen := s.gen
	if s.idxGen == gen {
		s.mu.Unlock()
		return s.idx, nil
	}
	docs := make([]search.Doc, 0, len(s.tools))
	for n, t := range s.tools {
		d := t.doc
		d.ID = n
		docs = append(docs, d)
	}
	s.mu.Unlock()
	if _, err := s.idx.Set(ctx, docs); err != nil {
		return s.idx, err
	}
	s.idxGen = gen
	return s.idx, nil
}

func (g *Gateway) searchTools(ctx context.Context, s *served, q string, limit int) *mcpgo.CallToolResult {
	start := time.Now()
	names := g.rank(ctx, s, q, limit)
	var found []map[string]any
	for _, n := range names {
		t, ok := s.lookup(n)
		if !ok {
			continue
		}
		var in any
		_ = json.Unmarshal(t.tool.RawInputSchema, &in)
		found = append(found, map[string]any{"name": n, "description": t.tool.Description, "inputSchema": in, "annotations": t.tool.Annotations})
	}
	out := map[string]any{"query": q, "tools": found, "took_ms": time.Since(start).Milliseconds()}
	if len(found) == 0 {
		out["hint"] = "nothing matched: try other words (the system's name, the record type, the action)"
	}
	res := &mcpgo.CallToolResult{Content: []mcpgo.Content{mcpgo.NewTextContent(string(mustJSON(out)))}, StructuredContent: out}
	return res
}
