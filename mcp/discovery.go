package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/weftio/weft/ai"
)

// Searcher ranks tools for a query (the shared embedder when configured).
// The default is lexical.
type Searcher interface {
	Rank(ctx context.Context, query string, docs map[string]string, limit int) []string
}

// lexical ranks by the query words found in a tool's name and text, names
// weighing more.
type lexical struct{}

func (lexical) Rank(_ context.Context, query string, docs map[string]string, limit int) []string {
	words := strings.FieldsFunc(strings.ToLower(query), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
	type hit struct {
		name  string
		score float64
	}
	var hits []hit
	for name, text := range docs {
		var score float64
		lname := strings.ToLower(strings.ReplaceAll(name, "_", " "))
		for _, w := range words {
			if len(w) < 2 {
				continue
			}
			switch {
			case strings.Contains(lname, w):
				score += 3
			case strings.Contains(text, w):
				score++
			}
		}
		if score > 0 {
			hits = append(hits, hit{name, score})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].score != hits[j].score {
			return hits[i].score > hits[j].score
		}
		return hits[i].name < hits[j].name
	})
	var out []string
	for i := 0; i < len(hits) && i < limit; i++ {
		out = append(out, hits[i].name)
	}
	return out
}

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

func (g *Gateway) rank(ctx context.Context, s *served, query string, limit int) []string {
	k := caller(ctx)
	s.mu.Lock()
	docs := make(map[string]string, len(s.tools))
	for n, t := range s.tools {
		if k == nil || k.allows(n) { // a key limited to some tools finds only those
			docs[n] = t.text
		}
	}
	s.mu.Unlock()
	var r Searcher = lexical{}
	if g.cfg.Searcher != nil {
		r = g.cfg.Searcher
	}
	return r.Rank(ctx, query, docs, limit)
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

// Semantic ranks tools by embedding similarity of the query with each
// tool's name and description (the shared ai embedder: builtin or Ollama),
// blended with the lexical score so exact names still win.
type Semantic struct {
	E ai.Embedder
}

// Rank implements Searcher.
func (s Semantic) Rank(ctx context.Context, query string, docs map[string]string, limit int) []string {
	names := make([]string, 0, len(docs))
	texts := []string{query}
	for n, d := range docs {
		names = append(names, n)
		texts = append(texts, n+" "+d)
	}
	vs, err := s.E.Embed(ctx, texts)
	if err != nil {
		return lexical{}.Rank(ctx, query, docs, limit)
	}
	lex := map[string]float64{}
	for i, n := range (lexical{}).Rank(ctx, query, docs, len(docs)) {
		lex[n] = 1 / float64(i+1)
	}
	type hit struct {
		name  string
		score float64
	}
	hits := make([]hit, 0, len(names))
	for i, n := range names {
		sc := 0.7*ai.Cosine(vs[0], vs[i+1]) + 0.3*lex[n]
		if sc > 0.05 {
			hits = append(hits, hit{n, sc})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].score != hits[j].score {
			return hits[i].score > hits[j].score
		}
		return hits[i].name < hits[j].name
	})
	out := make([]string, 0, limit)
	for i := 0; i < len(hits) && i < limit; i++ {
		out = append(out, hits[i].name)
	}
	return out
}
