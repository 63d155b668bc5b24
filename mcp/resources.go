package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/weftio/weft/prompts"
	"github.com/weftio/weft/store"
)

// addResources serves flow definitions, connector docs and runs.
func (g *Gateway) addResources(srv *server.MCPServer) {
	text := func(uri, mime string, v any) []mcpgo.ResourceContents {
		var s string
		if str, ok := v.(string); ok {
			s = str
		} else {
			b, _ := json.MarshalIndent(v, "", "  ")
			s = string(b)
		}
		return []mcpgo.ResourceContents{mcpgo.TextResourceContents{URI: uri, MIMEType: mime, Text: s}}
	}
	notFound := func(uri string) error { return fmt.Errorf("%w: %s", server.ErrResourceNotFound, uri) }
	srv.AddResource(mcpgo.NewResource("weft://flows", "flows", mcpgo.WithResourceDescription("Deployed flows: name and active version"), mcpgo.WithMIMEType("application/json")),
		func(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
			fl, err := g.e.Store().ListFlows(ctx)
			if err != nil {
				return nil, err
			}
			return text(req.Params.URI, "application/json", fl), nil
		})
	srv.AddResource(mcpgo.NewResource("weft://runs", "recent runs", mcpgo.WithResourceDescription("The 50 most recent runs (flows and agent tool calls), newest first"), mcpgo.WithMIMEType("application/json")),
		func(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
			runs, err := g.e.Store().ListRuns(ctx, store.RunFilter{Limit: 50})
			if err != nil {
				return nil, err
			}
			return text(req.Params.URI, "application/json", runs), nil
		})
	srv.AddResourceTemplate(mcpgo.NewResourceTemplate("weft://flows/{name}", "flow definition",
		mcpgo.WithTemplateDescription("A deployed flow's active definition (YAML)"), mcpgo.WithTemplateMIMEType("application/yaml")),
		func(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
			name := strings.TrimPrefix(req.Params.URI, "weft://flows/")
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
			run, err := g.e.Store().GetRun(ctx, id)
			if err != nil {
				return nil, notFound(req.Params.URI)
			}
			atts, err := g.e.Store().ListAttempts(ctx, id)
			if err != nil {
				return nil, err
			}
			return text(req.Params.URI, "application/json", map[string]any{"run": run, "steps": atts}), nil
		})
	srv.AddResourceTemplate(mcpgo.NewResourceTemplate("weft://connectors/{name}", "connector",
		mcpgo.WithTemplateDescription("A connector's documentation: its operations with input schemas and side effects"), mcpgo.WithTemplateMIMEType("text/markdown")),
		func(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
			name := strings.TrimPrefix(req.Params.URI, "weft://connectors/")
			x, ok := g.e.Catalog().Connector(name)
			if !ok {
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
