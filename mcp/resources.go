package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/weftio/weft/connectors/mcpconn"
	"github.com/weftio/weft/internal/lazy"
	"github.com/weftio/weft/prompts"
	"github.com/weftio/weft/store"
)

// Resource bounds: a page of weft://runs, how many runs one page may scan
// for visible ones, and the size of one resource's text.
const (
	runsPageSize     = 50
	runsScanLimit    = 1000
	maxResourceBytes = 256 << 10
	maxRunAttempts   = 200
)

var runCursor = lazy.NewRegexp(`^[A-Za-z0-9_-]{1,64}$`)

// Resources follow the caller like tools do: a flow (its definition and its
// runs) is visible to a key that may call the flow's tool in this toolset;
// a tool call (the pseudo-flow mcp:<toolset>) to the key that made it; a
// connector's documentation to a key that may call one of its operations.

func (g *Gateway) callerName(ctx context.Context) string {
	if k := caller(ctx); k != nil {
		return k.ID
	}
	return "anonymous"
}

func (g *Gateway) toolVisible(ctx context.Context, s *served, name string) bool {
	if _, ok := s.lookup(name); !ok {
		return false
	}
	k := caller(ctx)
	return k == nil || k.allows(name)
}

func (g *Gateway) flowVisible(ctx context.Context, s *served, flowName string) bool {
	return g.toolVisible(ctx, s, flowToolName(flowName))
}

func (g *Gateway) runVisible(ctx context.Context, s *served, r *store.Run) bool {
	if strings.HasPrefix(r.Flow, "mcp:") {
		var rec struct {
			Caller string `json:"caller"`
		}
		_ = json.Unmarshal(r.Input, &rec)
		return rec.Caller != "" && rec.Caller == g.callerName(ctx)
	}
	return g.flowVisible(ctx, s, r.Flow)
}

func (g *Gateway) connectorVisible(ctx context.Context, s *served, connector string) bool {
	k := caller(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, t := range s.tools {
		if strings.HasPrefix(t.operation, connector+".") && (k == nil || k.allows(n)) {
			return true
		}
	}
	return false
}

// runSummary is a run as weft://runs lists it: no payloads.
func runSummary(r *store.Run) map[string]any {
	m := map[string]any{"id": r.ID, "flow": r.Flow, "version": r.Version, "status": r.Status, "trigger_kind": r.TriggerKind,
		"created_at": r.CreatedAt, "uri": "weft://runs/" + r.ID}
	if r.FinishedAt != nil {
		m["finished_at"] = r.FinishedAt
	}
	if r.ErrorMessage != "" {
		m["error_code"], m["error_message"], m["failed_step"] = r.ErrorCode, truncateText(r.ErrorMessage, 500), r.FailedStep
	}
	return m
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// runsPage lists the runs visible to the caller, newest first, from the
// cursor (a run id, exclusive): at most runsPageSize of them, scanning at
// most runsScanLimit runs; next is the cursor of the following page ("" at
// the end).
func (g *Gateway) runsPage(ctx context.Context, s *served, cursor string) (page []map[string]any, next string, err error) {
	before := cursor
	scanned := 0
	for scanned < runsScanLimit {
		batch, err := g.e.Store().ListRuns(ctx, store.RunFilter{Limit: 200, Before: before})
		if err != nil {
			return nil, "", err
		}
		for _, r := range batch {
			scanned++
			before = r.ID
			if g.runVisible(ctx, s, r) {
				page = append(page, runSummary(r))
				if len(page) == runsPageSize {
					return page, before, nil
				}
			}
			if scanned == runsScanLimit {
				return page, before, nil
			}
		}
		if len(batch) < 200 {
			return page, "", nil
		}
	}
	return page, before, nil
}

// boundRun shapes a run and its attempts to fit maxResourceBytes: payloads
// are left out first, then attempts beyond maxRunAttempts.
func boundRun(run *store.Run, atts []store.Attempt) map[string]any {
	doc := map[string]any{"run": run, "steps": atts}
	if len(mustJSON(doc)) <= maxResourceBytes {
		return doc
	}
	r := *run
	r.Input, r.Output = nil, nil
	slim := make([]store.Attempt, 0, min(len(atts), maxRunAttempts))
	for i, a := range atts {
		if i == maxRunAttempts {
			break
		}
		a.Input, a.Output = nil, nil
		a.ErrorMessage = truncateText(a.ErrorMessage, 500)
		slim = append(slim, a)
	}
	note := "payloads left out: the run is larger than " + strconv.Itoa(maxResourceBytes) + " bytes (see GET /api/runs/" + run.ID + ")"
	if len(atts) > maxRunAttempts {
		note += fmt.Sprintf("; showing the first %d of %d step attempts", maxRunAttempts, len(atts))
	}
	return map[string]any{"run": &r, "steps": slim, "note": note}
}

// addResources serves flow definitions, connector docs and runs, each as
// the caller may see them.
func (g *Gateway) addResources(s *served) {
	srv := s.srv
	text := func(uri, mime string, v any) []mcpgo.ResourceContents {
		var str string
		if x, ok := v.(string); ok {
			str = x
		} else {
			b, _ := json.MarshalIndent(v, "", "  ")
			str = string(b)
		}
		return []mcpgo.ResourceContents{mcpgo.TextResourceContents{URI: uri, MIMEType: mime, Text: str}}
	}
	notFound := func(uri string) error { return fmt.Errorf("%w: %s", server.ErrResourceNotFound, uri) }
	srv.AddResource(mcpgo.NewResource("weft://flows", "flows", mcpgo.WithResourceDescription("Deployed flows you may run: name and active version"), mcpgo.WithMIMEType("application/json")),
		func(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
			fl, err := g.e.Store().ListFlows(ctx)
			if err != nil {
				return nil, err
			}
			mine := make([]store.FlowInfo, 0, len(fl))
			for _, f := range fl {
				if g.flowVisible(ctx, s, f.Name) {
					mine = append(mine, f)
				}
			}
			return text(req.Params.URI, "application/json", mine), nil
		})
	runs := func(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
		cursor := ""
		if _, q, ok := strings.Cut(req.Params.URI, "?"); ok {
			v, err := url.ParseQuery(q)
			if err != nil || !runCursor.MatchString(v.Get("cursor")) {
				return nil, fmt.Errorf("weft://runs takes ?cursor=<the next_cursor of the page before>, got %.80q", req.Params.URI)
			}
			cursor = v.Get("cursor")
		}
		page, next, err := g.runsPage(ctx, s, cursor)
		if err != nil {
			return nil, err
		}
		out := map[string]any{"runs": page}
		if page == nil {
			out["runs"] = []any{}
		}
		if next != "" {
			out["next_cursor"], out["next"] = next, "weft://runs?cursor="+next
		}
		return text(req.Params.URI, "application/json", out), nil
	}
	srv.AddResource(mcpgo.NewResource("weft://runs", "recent runs", mcpgo.WithResourceDescription(
		"Recent runs you may see (of flows you may run, and your own tool calls), newest first, "+strconv.Itoa(runsPageSize)+
			" a page without payloads; read the next page at the URI in next (weft://runs?cursor=...)"), mcpgo.WithMIMEType("application/json")), runs)
	srv.AddResourceTemplate(mcpgo.NewResourceTemplate("weft://runs{?cursor}", "runs page",
		mcpgo.WithTemplateDescription("A page of weft://runs after the cursor"), mcpgo.WithTemplateMIMEType("application/json")), runs)
	srv.AddResourceTemplate(mcpgo.NewResourceTemplate("weft://flows/{name}", "flow definition",
		mcpgo.WithTemplateDescription("A deployed flow's active definition (YAML)"), mcpgo.WithTemplateMIMEType("application/yaml")),
		func(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
			name := strings.TrimPrefix(req.Params.URI, "weft://flows/")
			if !g.flowVisible(ctx, s, name) {
				return nil, notFound(req.Params.URI)
			}
			fv, err := g.e.Store().GetFlow(ctx, name, 0)
			if err != nil {
				return nil, notFound(req.Params.URI)
			}
			return text(req.Params.URI, "application/yaml", string(fv.Source)), nil
		})
	srv.AddResourceTemplate(mcpgo.NewResourceTemplate("weft://runs/{id}", "run",
		mcpgo.WithTemplateDescription("A run and its step timeline from the transaction log"), mcpgo.WithTemplateMIMEType("application/json")),
		func(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
			id := strings.TrimPrefix(req.Params.URI, "weft://runs/")
			if !runCursor.MatchString(id) {
				return nil, notFound(req.Params.URI)
			}
			run, err := g.e.Store().GetRun(ctx, id)
			if err != nil || !g.runVisible(ctx, s, run) {
				return nil, notFound(req.Params.URI) // another's run is as absent as a missing one
			}
			g.e.RedactRun(ctx, run)
			atts, err := g.e.Store().ListAttempts(ctx, id)
			if err != nil {
				return nil, err
			}
			return text(req.Params.URI, "application/json", boundRun(run, atts)), nil
		})
	srv.AddResourceTemplate(mcpgo.NewResourceTemplate("weft://connectors/{name}", "connector",
		mcpgo.WithTemplateDescription("A connector's documentation: its operations with input schemas and side effects"), mcpgo.WithTemplateMIMEType("text/markdown")),
		func(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
			name := strings.TrimPrefix(req.Params.URI, "weft://connectors/")
			x, ok := g.e.Catalog().Connector(name)
			if !ok || !g.connectorVisible(ctx, s, name) {
				return nil, notFound(req.Params.URI)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "# %s (%s)\n\n%s\n\n", x.Title, x.Name, x.Description)
			for _, op := range x.Operations {
				in, _ := json.Marshal(op.Input)
				fmt.Fprintf(&b, "## %s.%s\n\n%s\n\nhints: %+v\n\ninput schema: `%s`\n\n", x.Name, op.Name, op.Description, op.Hints, in)
			}
			return text(req.Params.URI, "text/markdown", b.String()), nil
		})
	g.addFederatedResources(s, text, notFound)
}

// addFederatedResources serves the resources of federated MCP servers:
// weft://mcp/{connector}/resources lists them, each with the URI that
// reads it through Weft, weft://mcp/{connector}/resource?uri=… (the
// caller must see one of the connector's tools).
func (g *Gateway) addFederatedResources(s *served, text func(uri, mime string, v any) []mcpgo.ResourceContents, notFound func(string) error) {
	fed := g.cfg.Federation
	if fed == nil {
		return
	}
	upstream := func(ctx context.Context, uri, want string) (*mcpconn.Upstream, *url.URL, error) {
		u, err := url.Parse(uri)
		if err != nil || u.Host != "mcp" {
			return nil, nil, notFound(uri)
		}
		name, rest, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		up, ok := fed.Upstream(name)
		if !ok || rest != want || !g.connectorVisible(ctx, s, name) {
			return nil, nil, notFound(uri)
		}
		return up, u, nil
	}
	s.srv.AddResourceTemplate(mcpgo.NewResourceTemplate("weft://mcp/{connector}/resources", "federated MCP resources",
		mcpgo.WithTemplateDescription("The resources of a federated MCP server (a connector added with weft connector add-mcp), each with the weft:// URI that reads it"), mcpgo.WithTemplateMIMEType("application/json")),
		func(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
			up, u, err := upstream(ctx, req.Params.URI, "resources")
			if err != nil {
				return nil, err
			}
			list, err := up.ListResources(ctx)
			if err != nil {
				return nil, err
			}
			name := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")[0]
			out := make([]map[string]any, 0, len(list))
			for _, r := range list {
				out = append(out, map[string]any{"uri": "weft://mcp/" + name + "/resource?uri=" + url.QueryEscape(r.URI), "upstream_uri": r.URI,
					"name": r.Name, "title": r.Title, "description": r.Description, "mime_type": r.MIMEType})
			}
			return text(req.Params.URI, "application/json", out), nil
		})
	s.fedRead = func(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
		up, u, err := upstream(ctx, req.Params.URI, "resource")
		if err != nil {
			return nil, err
		}
		target := u.Query().Get("uri")
		if target == "" {
			return nil, notFound(req.Params.URI)
		}
		parts, err := up.ReadResource(ctx, target)
		if err != nil {
			return nil, err
		}
		out := make([]mcpgo.ResourceContents, 0, len(parts))
		for _, p := range parts {
			if p.Blob != "" {
				out = append(out, mcpgo.BlobResourceContents{URI: req.Params.URI, MIMEType: p.MIMEType, Blob: p.Blob})
			} else {
				out = append(out, mcpgo.TextResourceContents{URI: req.Params.URI, MIMEType: p.MIMEType, Text: p.Text})
			}
		}
		return out, nil
	}
	s.srv.AddResourceTemplate(mcpgo.NewResourceTemplate("weft://mcp/{connector}/resource{?uri}", "federated MCP resource",
		mcpgo.WithTemplateDescription("One resource of a federated MCP server, read through Weft (uri: the upstream's URI)")), server.ResourceTemplateHandlerFunc(s.fedRead))
}

// addPrompts serves the prompts/ templates.
func (g *Gateway) addPrompts(srv *server.MCPServer) {
	all, err := prompts.All()
	if err != nil {
		g.log.Error("prompts", "err", err)
		return
	}
	for _, p := range all {
		p := p
		if p.Internal {
			continue
		}
		var opts []mcpgo.PromptOption
		opts = append(opts, mcpgo.WithPromptDescription(p.Description))
		for _, a := range p.Args {
			ao := []mcpgo.ArgumentOption{}
			if p.Required[a] {
				ao = append(ao, mcpgo.RequiredArgument())
			}
			opts = append(opts, mcpgo.WithArgument(a, ao...))
		}
		srv.AddPrompt(mcpgo.NewPrompt(p.Name, opts...), func(ctx context.Context, req mcpgo.GetPromptRequest) (*mcpgo.GetPromptResult, error) {
			args := map[string]any{}
			for k, v := range req.Params.Arguments {
				args[k] = v
			}
			s, err := p.Render(args)
			if err != nil {
				return nil, err
			}
			return mcpgo.NewGetPromptResult(p.Description, []mcpgo.PromptMessage{mcpgo.NewPromptMessage(mcpgo.RoleUser, mcpgo.NewTextContent(s))}), nil
		})
	}
}
