// Package mcp is Weft's MCP gateway: every operation of every connection
// and every deployed flow as MCP tools (github.com/mark3labs/mcp-go),
// grouped into toolsets served at /mcp/{toolset} over Streamable HTTP (both
// the stateful 2025-11-25 wire and the stateless 2026-07-28 wire, decided
// per request) and over stdio. Calls go through the engine, so agent
// traffic lands in the same transaction log as flow steps.
package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/ai/search"
	"github.com/weftio/weft/connectors/mcpconn"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/nl2flow"
)

// Toolset is a named subset of the catalog served at /mcp/{name}.
type Toolset struct {
	Name        string   `yaml:"name" json:"name"`
	Namespace   string   `yaml:"namespace" json:"namespace"` // the owner ("": default): who may call it and manage its keys
	Description string   `yaml:"description" json:"description,omitempty"`
	Connections []string `yaml:"connections" json:"connections,omitempty"` // every operation of these connections
	Tools       []string `yaml:"tools" json:"tools,omitempty"`             // tool names or glob patterns (crm__list*, flow__*)
	Flows       []string `yaml:"flows" json:"flows,omitempty"`             // flow names or patterns ("*": all)
	Tags        []string `yaml:"tags" json:"tags,omitempty"`               // operations carrying any of these tags (OpenAPI tags)
	Discovery   bool     `yaml:"discovery" json:"discovery,omitempty"`     // expose search_tools and call_tool instead of the tools
}

// Config configures the gateway.
type Config struct {
	Toolsets       []Toolset
	AllowedOrigins []string            // browser origins allowed besides same-host (DNS-rebinding protection)
	PageSize       int                 // tools/list page size (default 100)
	Refresh        time.Duration       // how often the tool lists are rebuilt from the catalog and flows (default 2s)
	Auth           Authenticator       // nil: no authentication (loopback development)
	Policy         []Rule              // per-tool allow / deny / confirm
	Search         search.Options      // search_tools' embedder and vector index (default: builtin, in process); one collection per toolset
	Composer       *nl2flow.Compiler   // serves compose_flow when set
	Conformance    bool                // mount /mcp/conformance (the conformance suite's fixtures, no authentication); tests only
	Keys           Sealer              // seals confirmation requests (default: the engine's master keyring, else a key of this process)
	MaxBodyBytes   int64               // largest POST body on /mcp (default 4 MiB); larger ones get 413
	MaxArgBytes    int                 // largest tool arguments, as JSON (default 1 MiB)
	Federation     *mcpconn.Federation // federated MCP servers: their resources are served as weft://mcp/… (nil: none)
	Version        string
}

// Default limits.
const (
	DefaultMaxBodyBytes = 4 << 20
	DefaultMaxArgBytes  = 1 << 20
)

// Gateway serves the toolsets.
type Gateway struct {
	e   *engine.Engine
	log *slog.Logger
	cfg Config

	mu   sync.RWMutex
	sets map[string]*served

	confirms *confirmations
	fedp     fedPrompts
	fsubs    fedSubs

	reach atomic.Pointer[Reach] // MCP reach-in to agents' sites (SetReach)
}

// served is one toolset's MCP server and transport.
type served struct {
	def     Toolset
	srv     *server.MCPServer
	http    *server.StreamableHTTPServer
	handler http.Handler // http, possibly wrapped
	mu      sync.Mutex
	print   string // fingerprint of the tools last set
	tools   map[string]*toolDef
	gen     uint64 // bumped when tools change
	fixture bool   // the conformance fixture: no authentication, not refreshed

	fedPrompts map[string]fedPrompt       // federated prompts served (guarded by mu; replaced, never changed)
	fedRes     map[string]fedResource     // federated resources in resources/list, by weft:// URI (likewise)
	fedRead    server.ResourceHandlerFunc // reads weft://mcp/{connector}/resource?uri=… (nil: no federation)

	idxMu  sync.Mutex // guards idx and idxGen
	idx    *search.Index
	idxGen uint64 // gen the index holds
}

// Built-in toolset names.
const (
	ToolsetAll         = "all"         // /mcp: every connection operation and flow
	ToolsetDiscovery   = "discovery"   // /mcp/discovery: search_tools + call_tool over everything
	ToolsetConformance = "conformance" // /mcp/conformance: the MCP conformance suite's fixtures only
)

// New builds the gateway; Run keeps its tool lists current.
func New(e *engine.Engine, log *slog.Logger, cfg Config) *Gateway {
	if log == nil {
		log = slog.Default()
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 2 * time.Second
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxArgBytes <= 0 {
		cfg.MaxArgBytes = DefaultMaxArgBytes
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.Keys == nil {
		if k := e.Keys(); k != nil {
			cfg.Keys = k
		}
	}
	g := &Gateway{e: e, log: log.With("component", "mcp"), cfg: cfg, sets: map[string]*served{}, confirms: newConfirmations(cfg.Keys)}
	defs := []Toolset{
		{Name: ToolsetAll, Description: "every connection operation and every deployed flow", Tools: []string{"*"}, Flows: []string{"*"}},
		{Name: ToolsetDiscovery, Description: "search_tools and call_tool over the whole catalog", Tools: []string{"*"}, Flows: []string{"*"}, Discovery: true},
	}
	defs = append(defs, cfg.Toolsets...)
	for _, d := range defs {
		g.sets[d.Name] = g.newServed(d)
	}
	if cfg.Conformance {
		g.sets[ToolsetConformance] = g.newConformance()
	}
	if a, ok := cfg.Auth.(*Auth); ok {
		a.SetToolsets(g.ToolsetNamespace)
	}
	if cfg.Federation != nil {
		cfg.Federation.OnEvent(g.fedEvent)
	}
	g.Refresh(context.Background())
	return g
}

func (g *Gateway) newServed(d Toolset) *served {
	s := &served{def: d, tools: map[string]*toolDef{}}
	s.srv = server.NewMCPServer("weft", g.cfg.Version,
		server.WithToolCapabilities(true),
		server.WithResourceCapabilities(true, true),
		server.WithPromptCapabilities(true),
		server.WithPaginationLimit(g.cfg.PageSize),
		server.WithRecovery(),
		server.WithInstructions(instructions(d)),
		server.WithExtensions(map[string]any{TasksExtension: map[string]any{}}),
		// A key limited to some tools sees only those (and cannot call the others).
		server.WithToolFilter(func(ctx context.Context, tools []mcpgo.Tool) []mcpgo.Tool {
			k := caller(ctx)
			if k == nil || len(k.Tools) == 0 || d.Discovery {
				return tools // discovery: search_tools and call_tool filter what they return
			}
			out := make([]mcpgo.Tool, 0, len(tools))
			for _, t := range tools {
				if k.allows(t.Name) {
					out = append(out, t)
				}
			}
			return out
		}),
		server.WithHooks(fedResourceHooks(g, s)),
		server.WithPromptFilter(func(ctx context.Context, prompts []mcpgo.Prompt) []mcpgo.Prompt {
			out := make([]mcpgo.Prompt, 0, len(prompts))
			for _, p := range prompts {
				if g.fedPromptVisible(ctx, s, p.Name) {
					out = append(out, p)
				}
			}
			return out
		}),
	)
	g.addResources(s)
	g.addPrompts(s.srv)
	s.http = server.NewStreamableHTTPServer(s.srv,
		server.WithEndpointPath(endpoint(d.Name)),
		server.WithHTTPContextFunc(g.httpContext),
		server.WithStreamableHTTPLogger(g.log),
		server.WithSessionIdManager(newSessionIDs()),
	)
	s.handler = tasksHandler(func(*http.Request) taskSource { return runTasks{g: g, s: s} }, g.cfg.MaxBodyBytes, s.http)
	return s
}

func endpoint(name string) string {
	if name == ToolsetAll {
		return "/mcp"
	}
	return "/mcp/" + name
}

func instructions(d Toolset) string {
	if d.Discovery {
		return "Weft integration gateway. The catalog is large: call search_tools with what you want to do, then call_tool with the tool name it returns and the arguments its input schema asks for."
	}
	return "Weft integration gateway: tools named <connection>__<operation> call a business system through a configured connection; tools named flow__<name> run a deployed integration flow. Read a tool's description for its side effects before calling it."
}

// Run rebuilds tool lists every Refresh until ctx ends; clients are told
// (notifications/tools/list_changed) when a list changes.
func (g *Gateway) Run(ctx context.Context) {
	t := time.NewTicker(g.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.Refresh(ctx)
		}
	}
}

// Refresh rebuilds every toolset's tools from the catalog and the flows now.
func (g *Gateway) Refresh(ctx context.Context) {
	all, err := g.allTools(ctx)
	if err != nil {
		g.log.Warn("building tools", "err", err)
		return
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	for _, s := range g.sets {
		if s.fixture {
			continue
		}
		g.apply(s, all)
	}
	g.refreshFedPrompts(context.WithoutCancel(ctx))
}

// ServeHTTP serves /mcp and /mcp/{toolset}.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.Trim(strings.TrimPrefix(r.URL.Path, "/mcp"), "/")
	if name == "" {
		name = ToolsetAll
	}
	g.mu.RLock()
	s := g.sets[name]
	g.mu.RUnlock()
	if s == nil {
		http.Error(w, `{"error":{"code":"not_found","message":"no toolset named `+strings.ReplaceAll(name, `"`, "")+` (see GET /api/mcp/toolsets)"}}`, http.StatusNotFound)
		return
	}
	if !g.originAllowed(r) {
		http.Error(w, `{"error":{"code":"forbidden","message":"origin not allowed"}}`, http.StatusForbidden)
		return
	}
	if g.cfg.Auth != nil && !s.fixture {
		key, err := g.cfg.Auth.Authenticate(r, name)
		if err != nil {
			g.cfg.Auth.Challenge(w, r, err)
			return
		}
		if key != nil {
			r = r.WithContext(access.WithPrincipal(withCaller(r.Context(), key), key.Principal()))
		}
	}
	if r.Method == http.MethodPost && !g.limitBody(w, r) {
		return
	}
	s.handler.ServeHTTP(w, r)
}

// limitBody reads a POST body up to the limit and hands it on; a larger one
// is answered 413 with a JSON-RPC error, read no further than the limit.
func (g *Gateway) limitBody(w http.ResponseWriter, r *http.Request) bool {
	max := g.cfg.MaxBodyBytes
	if r.ContentLength >= 0 && r.ContentLength <= max {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, max) // net/http stops at Content-Length; this is for other callers
		}
		return true
	}
	if r.ContentLength < 0 && r.Body != nil { // chunked: read up to the limit
		body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
		if err == nil && int64(len(body)) <= max {
			r.Body = io.NopCloser(bytes.NewReader(body))
			return true
		}
		if err != nil && int64(len(body)) <= max {
			writeRPCError(w, http.StatusBadRequest, -32700, "cannot read the request body: "+err.Error(), weft.EInvalid)
			return false
		}
	}
	w.Header().Set("Connection", "close") // the rest of the body is not read
	writeRPCError(w, http.StatusRequestEntityTooLarge, -32600,
		fmt.Sprintf("the request body is larger than this gateway's limit of %d bytes (mcp.max_body_bytes)", max), weft.ETooLarge)
	return false
}

// writeRPCError answers a request the MCP server never saw.
func writeRPCError(w http.ResponseWriter, status, code int, msg, weftCode string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": nil,
		"error": map[string]any{"code": code, "message": msg, "data": map[string]any{"code": weftCode}}})
}

// Toolsets lists the toolsets with their tool counts.
func (g *Gateway) Toolsets() []map[string]any {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var out []map[string]any
	for _, s := range g.sets {
		s.mu.Lock()
		n := len(s.tools)
		s.mu.Unlock()
		out = append(out, map[string]any{"name": s.def.Name, "namespace": access.NamespaceOr(s.def.Namespace), "description": s.def.Description, "path": endpoint(s.def.Name), "tools": n, "discovery": s.def.Discovery})
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["name"].(string) < out[j]["name"].(string) })
	return out
}

// ToolsetNamespace is a toolset's namespace; false for an unknown toolset.
func (g *Gateway) ToolsetNamespace(name string) (string, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	s, ok := g.sets[name]
	if !ok {
		return "", false
	}
	return access.NamespaceOr(s.def.Namespace), true
}

// Server returns a toolset's MCP server (for stdio).
func (g *Gateway) Server(name string) (*server.MCPServer, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	s, ok := g.sets[name]
	if !ok {
		return nil, false
	}
	return s.srv, true
}

// originAllowed: requests without an Origin (non-browser clients) pass;
// browser requests must come from the same host or an allowed origin.
func (g *Gateway) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	for _, a := range g.cfg.AllowedOrigins {
		if a == "*" || strings.EqualFold(a, o) {
			return true
		}
	}
	host := strings.TrimPrefix(strings.TrimPrefix(o, "http://"), "https://")
	return strings.EqualFold(host, r.Host)
}

type callerKey struct{}

func withCaller(ctx context.Context, k *Key) context.Context {
	return context.WithValue(ctx, callerKey{}, k)
}

// caller returns the authenticated key of a request, if any.
func caller(ctx context.Context) *Key {
	k, _ := ctx.Value(callerKey{}).(*Key)
	return k
}

// httpContext carries the authenticated key from the HTTP request into
// tool handlers.
func (g *Gateway) httpContext(ctx context.Context, r *http.Request) context.Context {
	if k := caller(r.Context()); k != nil {
		return withCaller(ctx, k)
	}
	return ctx
}
