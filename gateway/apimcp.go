package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/weftio/weft"
	"github.com/weftio/weft/apim"
	"github.com/weftio/weft/connectors"
)

// An API product with mcp: true offers each served version to agents as
// an MCP toolset at {base}/{product}/{version}/mcp (Streamable HTTP): one
// tool per route (apim.Tools). Every MCP request is authenticated with
// the consumer's own credential (an API key, or a JWT of the product's
// issuer), read from the store and not counted: a revoked key or a
// removed subscription is refused from the next request. A tool call is
// then served as the HTTP call it describes, by apiCall itself: counted
// against the consumer's plan (429 past a limit), validated against the
// route's schemas, observed (metrics and analytics) and run as a logged
// run; only the transport differs. A retired version answers 410 here as
// on its routes.

// maxToolResult bounds the answer a tool call returns to the agent.
const maxToolResult = 1 << 20

// productMCP is one product version's MCP server and the routes its
// tools were last built from.
type productMCP struct {
	routes  *apim.Routes
	instr   string
	srv     *server.MCPServer
	handler http.Handler
}

type productMCPs struct {
	mu sync.Mutex
	m  map[string]*productMCP // product/version
}

// maxProductMCPs bounds the servers kept; past it they are rebuilt on use.
const maxProductMCPs = 512

type toolCallerKey struct{}

// toolCaller is what a tool call's HTTP request carries over from the MCP
// request: the credential headers and the client's address.
type toolCaller struct {
	header     http.Header
	remoteAddr string
}

// credentialHeaders are the request headers a consumer authenticates with.
var credentialHeaders = []string{"Authorization", "X-Api-Key"}

// productMCP serves {base}/{product}/{version}/mcp.
// For a product without mcp: true the path is an ordinary route's.
func (s *Server) productMCP(w http.ResponseWriter, r *http.Request) {
	if p, err := s.apim.Published(r.Context(), chi.URLParam(r, "product")); err == nil && !p.MCP {
		if rctx := chi.RouteContext(r.Context()); rctx != nil {
			rctx.URLParams.Add("*", strings.TrimPrefix(apim.MCPPath, "/"))
		}
		s.apiCall(w, r)
		return
	}
	p, v, ok := s.versionFor(w, r)
	if !ok {
		return // 404, or 410 for a retired version
	}
	if !p.IPAllowed(clientIP(r)) {
		writeErr(w, weft.Errorf(weft.EForbidden, "address %s may not call API product %s", clip(clientIP(r), 60), p.Name))
		return
	}
	if _, err := s.apim.Authenticate(r.Context(), p, v, apim.Call{Header: r.Header, ClientIP: clientIP(r)}, time.Now()); err != nil {
		switch weft.Code(err) {
		case weft.EUnauthorized:
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+s.cfg.APIBasePath+"/"+p.Name+`"`)
		case weft.EUnavailable, weft.EInternal:
			s.log.Error("MCP request of an API product cannot be authenticated", "product", p.Name, "err", err)
			err = weft.Errorf(weft.EUnavailable, "calls of API product %s cannot be authenticated now; try again later", p.Name)
		}
		writeErr(w, err)
		return
	}
	rs, ok := s.routesFor(w, r, p, v)
	if !ok {
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, apim.MaxToolArgBytes)
	}
	tc := &toolCaller{header: http.Header{}, remoteAddr: r.RemoteAddr}
	for _, h := range credentialHeaders {
		for _, x := range r.Header.Values(h) {
			tc.header.Add(h, x)
		}
	}
	r = r.WithContext(context.WithValue(r.Context(), toolCallerKey{}, tc))
	s.productMCPServer(rs).ServeHTTP(w, r)
}

// productMCPServer is the MCP server of a version's routes. When the
// product is saved again its tools are replaced in place: the sessions
// open on it go on, and are told (notifications/tools/list_changed).
func (s *Server) productMCPServer(rs *apim.Routes) http.Handler {
	key := rs.Product.Name + "/" + rs.Version.Name
	s.mcps.mu.Lock()
	defer s.mcps.mu.Unlock()
	cur := s.mcps.m[key]
	if cur != nil && cur.routes == rs {
		return cur.handler
	}
	p, v := rs.Product, rs.Version
	instr := "API product " + p.Name + " version " + v.Name
	if p.Title != "" {
		instr += " (" + p.Title + ")"
	}
	instr += ": each tool calls one route of the API with your consumer's credential; calls count against your plan's rate limit and quotas. A tool's arguments are the request: path, query, headers and body."
	if cur != nil && cur.instr == instr {
		cur.routes = rs
		cur.srv.SetTools(s.routeTools(rs)...)
		return cur.handler
	}
	if s.mcps.m == nil || len(s.mcps.m) >= maxProductMCPs {
		s.mcps.m = map[string]*productMCP{}
	}
	srv := server.NewMCPServer("weft-api-"+p.Name, v.Name,
		server.WithToolCapabilities(true),
		server.WithRecovery(),
		server.WithInstructions(instr),
	)
	srv.SetTools(s.routeTools(rs)...)
	h := server.NewStreamableHTTPServer(srv,
		server.WithEndpointPath(s.cfg.APIBasePath+"/"+p.Name+"/"+v.Name+apim.MCPPath),
		server.WithStreamableHTTPLogger(s.log),
		server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			if tc, ok := r.Context().Value(toolCallerKey{}).(*toolCaller); ok {
				return context.WithValue(ctx, toolCallerKey{}, tc)
			}
			return ctx
		}),
	)
	s.mcps.m[key] = &productMCP{routes: rs, instr: instr, srv: srv, handler: h}
	return h
}

// routeTools are a version's routes as tools (apim.Tools).
func (s *Server) routeTools(rs *apim.Routes) []server.ServerTool {
	p, v := rs.Product, rs.Version
	var out []server.ServerTool
	for _, t := range rs.Tools() {
		t := t
		name := connectors.ShortName(t.Name, p.Name+"\x00"+v.Name+"\x00"+t.Route.API.Method+" "+t.Route.API.Path, 64)
		schema, _ := json.Marshal(t.InputSchema)
		tool := mcpgo.NewToolWithRawSchema(name, t.Description, schema)
		// A route runs a flow, which may reach any system: open world, as
		// the gateway's flow tools are.
		ro, destructive, open := t.ReadOnly, t.Route.API.Method == http.MethodDelete, true
		tool.Annotations = mcpgo.ToolAnnotation{Title: name, ReadOnlyHint: &ro, DestructiveHint: &destructive, OpenWorldHint: &open}
		out = append(out, server.ServerTool{Tool: tool, Handler: func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
			return s.callRoute(ctx, rs, &t, req), nil
		}})
	}
	return out
}

// callRoute serves a tool call as the HTTP call of its route, through
// apiCall, and turns the answer into the tool's result: the response
// body (structured when it is a JSON object), an error result for a
// status of 400 or more, with the status and, past a limit, when to
// retry.
func (s *Server) callRoute(ctx context.Context, rs *apim.Routes, t *apim.Tool, req mcpgo.CallToolRequest) *mcpgo.CallToolResult {
	tc, _ := ctx.Value(toolCallerKey{}).(*toolCaller)
	if tc == nil {
		return mcpgo.NewToolResultError("this tool is called over HTTP with the consumer's credential")
	}
	args, _ := req.Params.Arguments.(map[string]any)
	if req.Params.Arguments != nil && args == nil {
		return mcpgo.NewToolResultError("the arguments must be an object: {path, query, headers, body}")
	}
	tr, err := t.Request(args)
	if err != nil {
		return mcpgo.NewToolResultError(weft.Message(err))
	}
	p, v := rs.Product, rs.Version
	target := s.cfg.APIBasePath + "/" + p.Name + "/" + v.Name + tr.Path
	if q := tr.Query.Encode(); q != "" {
		target += "?" + q
	}
	hr, err := http.NewRequestWithContext(ctx, tr.Method, target, bytes.NewReader(tr.Body))
	if err != nil {
		return mcpgo.NewToolResultError("cannot build the request: " + err.Error())
	}
	hr.RequestURI, hr.RemoteAddr = target, tc.remoteAddr
	hr.Header = tr.Header
	for k, vs := range tc.header {
		hr.Header[k] = vs
	}
	if tr.Body == nil {
		hr.Body, hr.ContentLength = http.NoBody, 0
	}
	rctx := chi.NewRouteContext()
	rctx.URLParams.Add("product", p.Name)
	rctx.URLParams.Add("version", v.Name)
	rctx.URLParams.Add("*", strings.TrimPrefix(tr.Path, "/"))
	hr = hr.WithContext(context.WithValue(hr.Context(), chi.RouteCtxKey, rctx))
	rec := &toolRecorder{header: http.Header{}, status: http.StatusOK}
	s.apiCall(rec, hr)
	return toolResult(rec)
}

// toolResult is an answer as a tool result.
func toolResult(rec *toolRecorder) *mcpgo.CallToolResult {
	body := rec.body.Bytes()
	meta := map[string]any{"status": rec.status}
	for _, h := range []string{"X-Weft-Run-Id", "RateLimit", "RateLimit-Policy", "Retry-After", "Deprecation", "Sunset", "Link"} {
		if x := rec.header.Get(h); x != "" {
			meta[strings.ToLower(h)] = x
		}
	}
	var doc any
	isJSON := json.Unmarshal(body, &doc) == nil
	text := string(body)
	if !utf8.Valid(body) {
		text = "(" + strconv.Itoa(len(body)) + " bytes that are not UTF-8 text)"
	}
	if rec.cut {
		text += "\n(cut: the answer is larger than " + strconv.Itoa(maxToolResult) + " bytes)"
		isJSON = false
	}
	var res *mcpgo.CallToolResult
	if rec.status >= 400 {
		msg := "HTTP " + strconv.Itoa(rec.status) + " " + http.StatusText(rec.status)
		if m, ok := doc.(map[string]any); ok {
			if e, ok := m["error"].(map[string]any); ok {
				if s, ok := e["message"].(string); ok {
					msg += ": " + s
				}
			}
		}
		if ra := rec.header.Get("Retry-After"); ra != "" {
			msg += " (retry after " + ra + " s)"
		}
		res = mcpgo.NewToolResultError(msg + "\n" + text)
	} else {
		res = mcpgo.NewToolResultText(text)
	}
	if m, ok := doc.(map[string]any); ok && isJSON {
		res.StructuredContent = m
	}
	res.Meta = mcpgo.NewMetaFromMap(map[string]any{"weft/http": meta})
	return res
}

// toolRecorder holds apiCall's answer to a tool call, up to
// maxToolResult bytes of body.
type toolRecorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
	cut    bool
}

func (r *toolRecorder) Header() http.Header { return r.header }

func (r *toolRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}

func (r *toolRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	if room := maxToolResult - r.body.Len(); len(b) > room {
		r.body.Write(b[:max(room, 0)])
		r.cut = true
		return len(b), nil
	}
	return r.body.Write(b)
}
