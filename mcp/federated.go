package mcp

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/weftio/weft/connectors/mcpconn"
)

// Federated prompts: the prompts of every federated MCP server are served
// by each toolset that has one of its connector's tools, named like its
// tools (<connector>__<prompt>), to the keys that may call one of them.
// They are listed again every fedPromptsEvery, and at once when a
// connector is added or removed.

const (
	fedPromptsEvery   = 15 * time.Second
	fedPromptsTimeout = 5 * time.Second
)

type fedPrompt struct {
	conn   string
	prompt mcpconn.Prompt
}

type fedResource struct {
	conn string
	res  mcpconn.Resource
}

// fedResourceURI is the weft:// URI that reads an upstream's resource.
func fedResourceURI(conn, uri string) string {
	return "weft://mcp/" + conn + "/resource?uri=" + url.QueryEscape(uri)
}

// fedResourceHooks keeps a federated resource out of resources/list for a
// key that may call none of its connector's tools (mcp-go has no resource
// filter; the read is checked by the handler).
func fedResourceHooks(g *Gateway, s *served) *server.Hooks {
	h := &server.Hooks{}
	h.AddOnRequestInitialization(g.fedSubscribeHook(s))
	h.AddAfterListResourceTemplates(g.fedTemplateHook(s))
	h.AddOnUnregisterSession(func(_ context.Context, sess server.ClientSession) { g.fedSessionEnded(sess.SessionID()) })
	h.AddAfterListResources(func(ctx context.Context, _ any, _ *mcpgo.ListResourcesRequest, res *mcpgo.ListResourcesResult) {
		if res == nil {
			return
		}
		s.mu.Lock()
		fr := s.fedRes
		s.mu.Unlock()
		if len(fr) == 0 {
			return
		}
		out := res.Resources[:0]
		for _, r := range res.Resources {
			if f, ok := fr[r.URI]; !ok || g.connectorVisible(ctx, s, f.conn) {
				out = append(out, r)
			}
		}
		res.Resources = out
	})
	return h
}

// fedPrompts is the gateway's view of the upstreams' prompts.
type fedPrompts struct {
	busy  atomic.Bool
	force atomic.Bool // an upstream announced a change: list again now
	mu    sync.Mutex
	key   string // the connector names last listed
	at    time.Time
	last  map[string]fedPrompt   // by Weft name
	res   map[string]fedResource // by weft:// URI
	tpl   map[string]fedTemplate // by weft:// template
}

// refreshFedPrompts starts a listing pass when one is due (never two at
// once; a slow upstream does not hold up the tool refresh).
func (g *Gateway) refreshFedPrompts(ctx context.Context) {
	fed := g.cfg.Federation
	if fed == nil {
		return
	}
	names := fed.Names()
	key := strings.Join(names, "\x00")
	g.fedp.mu.Lock()
	due := key != g.fedp.key || time.Since(g.fedp.at) >= fedPromptsEvery || g.fedp.force.Load()
	g.fedp.mu.Unlock()
	if !due || !g.fedp.busy.CompareAndSwap(false, true) {
		return // a pass in progress; a forced one runs after it
	}
	g.fedp.force.Store(false)
	go func() {
		defer func() {
			g.fedp.busy.Store(false)
			if g.fedp.force.Load() { // announced while listing
				g.refreshFedPrompts(ctx)
			}
		}()
		g.fedp.mu.Lock()
		prev, prevRes, prevTpl := g.fedp.last, g.fedp.res, g.fedp.tpl
		g.fedp.mu.Unlock()
		all := map[string]fedPrompt{}
		allRes := map[string]fedResource{}
		allTpl := map[string]fedTemplate{}
		keepTpl := func(conn string) { // what an upstream that failed to list listed last
			for u, t := range prevTpl {
				if t.conn == conn {
					allTpl[u] = t
				}
			}
		}
		for _, n := range names {
			up, ok := fed.Upstream(n)
			if !ok {
				continue
			}
			c, cancel := context.WithTimeout(ctx, fedPromptsTimeout)
			ps, err := up.ListPrompts(c)
			cancel()
			if err != nil { // keep what it listed last
				g.log.Debug("listing an upstream's prompts", "connector", n, "err", err)
				for wn, p := range prev {
					if p.conn == n {
						all[wn] = p
					}
				}
				for u, r := range prevRes {
					if r.conn == n {
						allRes[u] = r
					}
				}
				keepTpl(n)
				continue
			}
			for _, p := range ps {
				all[toolName(n, p.Name)] = fedPrompt{conn: n, prompt: p}
			}
			c, cancel = context.WithTimeout(ctx, fedPromptsTimeout)
			rs, err := up.ListResources(c)
			cancel()
			if err != nil {
				g.log.Debug("listing an upstream's resources", "connector", n, "err", err)
				for u, r := range prevRes {
					if r.conn == n {
						allRes[u] = r
					}
				}
				keepTpl(n)
				continue
			}
			for _, r := range rs {
				allRes[fedResourceURI(n, r.URI)] = fedResource{conn: n, res: r}
			}
			c, cancel = context.WithTimeout(ctx, fedPromptsTimeout)
			ts, err := up.ListResourceTemplates(c)
			cancel()
			if err != nil {
				g.log.Debug("listing an upstream's resource templates", "connector", n, "err", err)
				keepTpl(n)
				continue
			}
			for _, t := range ts {
				if w, ok := fedTemplateURI(n, t.URITemplate); ok {
					allTpl[w] = fedTemplate{conn: n, tpl: t, weft: w}
				}
			}
		}
		g.fedp.mu.Lock()
		g.fedp.key, g.fedp.at, g.fedp.last, g.fedp.res, g.fedp.tpl = key, time.Now(), all, allRes, allTpl
		g.fedp.mu.Unlock()
		tplChanged := !reflect.DeepEqual(prevTpl, allTpl) && (len(prevTpl) > 0 || len(allTpl) > 0)
		g.mu.RLock()
		sets := make([]*served, 0, len(g.sets))
		for _, s := range g.sets {
			if !s.fixture {
				sets = append(sets, s)
			}
		}
		g.mu.RUnlock()
		for _, s := range sets {
			g.applyFedPrompts(s, all)
			g.applyFedResources(s, allRes)
			if tplChanged {
				s.srv.SendNotificationToAllClients(string(mcpgo.MethodNotificationResourcesListChanged), nil)
			}
		}
	}()
}

// pickFederated sets *cur (under s.mu) to the items of all that belong to
// the connectors the toolset has a tool of, and returns what it held
// before, what it holds now and the names that are gone.
func pickFederated[T any](s *served, cur *map[string]T, all map[string]T, conn func(T) string) (old, want map[string]T, gone []string) {
	s.mu.Lock()
	conns := map[string]bool{}
	for _, t := range s.tools {
		if c, _, ok := strings.Cut(t.operation, "."); ok {
			conns[c] = true
		}
	}
	old = *cur
	want = map[string]T{}
	for n, x := range all {
		if conns[conn(x)] {
			want[n] = x
		}
	}
	*cur = want
	s.mu.Unlock()
	for n := range old {
		if _, ok := want[n]; !ok {
			gone = append(gone, n)
		}
	}
	return old, want, gone
}

// applyFedPrompts sets the federated prompts of one toolset: those of the
// connectors it has a tool of.
func (g *Gateway) applyFedPrompts(s *served, all map[string]fedPrompt) {
	old, want, gone := pickFederated(s, &s.fedPrompts, all, func(p fedPrompt) string { return p.conn })
	if len(gone) > 0 {
		s.srv.DeletePrompts(gone...)
	}
	for n, p := range want {
		if o, ok := old[n]; ok && reflect.DeepEqual(o, p) {
			continue
		}
		opts := []mcpgo.PromptOption{mcpgo.WithPromptDescription(p.prompt.Description)}
		if p.prompt.Title != "" {
			opts = append(opts, mcpgo.WithPromptTitle(p.prompt.Title))
		}
		for _, a := range p.prompt.Arguments {
			ao := []mcpgo.ArgumentOption{mcpgo.ArgumentDescription(a.Description)}
			if a.Required {
				ao = append(ao, mcpgo.RequiredArgument())
			}
			opts = append(opts, mcpgo.WithArgument(a.Name, ao...))
		}
		s.srv.AddPrompt(mcpgo.NewPrompt(n, opts...), g.fedPromptHandler(p))
	}
}

// fedPromptVisible: a federated prompt is seen by a key that may call one
// of its connector's tools in the toolset; other prompts by everyone.
func (g *Gateway) fedPromptVisible(ctx context.Context, s *served, name string) bool {
	s.mu.Lock()
	p, ok := s.fedPrompts[name]
	s.mu.Unlock()
	return !ok || g.connectorVisible(ctx, s, p.conn)
}

func (g *Gateway) fedPromptHandler(p fedPrompt) server.PromptHandlerFunc {
	return func(ctx context.Context, req mcpgo.GetPromptRequest) (*mcpgo.GetPromptResult, error) {
		up, ok := g.cfg.Federation.Upstream(p.conn)
		if !ok {
			return nil, fmt.Errorf("prompt %s: the MCP connector %s was removed", req.Params.Name, p.conn)
		}
		n := 0
		for k, v := range req.Params.Arguments {
			n += len(k) + len(v)
		}
		if n > g.cfg.MaxArgBytes {
			return nil, fmt.Errorf("%w: prompt arguments are %d bytes; the limit is %d (mcp.max_argument_bytes)", mcpgo.ErrInvalidParams, n, g.cfg.MaxArgBytes)
		}
		desc, msgs, err := up.GetPrompt(ctx, p.prompt.Name, req.Params.Arguments)
		if err != nil {
			return nil, err
		}
		out := make([]mcpgo.PromptMessage, 0, len(msgs))
		for _, m := range msgs {
			c, err := mcpgo.ParseContent(m.Content)
			if err != nil {
				return nil, fmt.Errorf("prompt %s: the upstream sent content Weft cannot read: %v", req.Params.Name, err)
			}
			out = append(out, mcpgo.NewPromptMessage(mcpgo.Role(m.Role), c))
		}
		return mcpgo.NewGetPromptResult(desc, out), nil
	}
}

// applyFedResources puts the resources of the connectors a toolset has a
// tool of into its resources/list, named like tools, each read through
// its weft://mcp/{connector}/resource?uri=… URI.
func (g *Gateway) applyFedResources(s *served, all map[string]fedResource) {
	if s.fedRead == nil {
		return
	}
	old, want, gone := pickFederated(s, &s.fedRes, all, func(r fedResource) string { return r.conn })
	if len(gone) > 0 {
		s.srv.DeleteResources(gone...)
	}
	var add []server.ServerResource
	for u, r := range want {
		if o, ok := old[u]; ok && o == r {
			continue
		}
		opts := []mcpgo.ResourceOption{mcpgo.WithResourceDescription(r.res.Description)}
		if r.res.MIMEType != "" {
			opts = append(opts, mcpgo.WithMIMEType(r.res.MIMEType))
		}
		res := mcpgo.NewResource(u, toolName(r.conn, r.res.Name), opts...)
		res.Title = r.res.Title
		add = append(add, server.ServerResource{Resource: res, Handler: s.fedRead})
	}
	if len(add) > 0 {
		s.srv.AddResources(add...)
	}
}
