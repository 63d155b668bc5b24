package gateway

// Namespaces: the list and creation of namespaces, and how a route about
// one resource finds the resource's namespace (its resolver). Runs, step
// attempts and DLQ entries belong to their flow's namespace; MCP tool calls
// to their toolset's.

import (
	"context"
	"net/http"
	"strings"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/store"
)

// listNamespaces answers the namespaces the caller has a role in (every
// namespace for a "*" binding).
func (s *Server) listNamespaces(w http.ResponseWriter, r *http.Request) {
	ns, err := s.e.Store().Namespaces(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	p := access.PrincipalFrom(r.Context())
	out := []map[string]any{}
	for _, n := range ns {
		role := p.RoleIn(n.Name)
		if role == "" {
			continue
		}
		out = append(out, map[string]any{"name": n.Name, "description": n.Description, "created_at": n.CreatedAt, "role": role})
	}
	writeJSON(w, http.StatusOK, map[string]any{"namespaces": out})
}

// createNamespace creates {"name", "description"}.
func (s *Server) createNamespace(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if !s.decode(w, r, &req, `{"name", "description"}`) {
		return
	}
	err := access.CheckNamespace(req.Name)
	if err == nil && len(req.Description) > 1024 {
		err = weft.Errorf(weft.EInvalid, "description: at most 1024 characters")
	}
	if err == nil {
		err = s.e.Store().CreateNamespace(r.Context(), store.Namespace{Name: req.Name, Description: req.Description})
	}
	s.audit(r, access.ActionNamespaceCreate, "namespace:"+clip(req.Name, 80), err, map[string]any{"description": req.Description})
	if err != nil {
		writeErr(w, err)
		return
	}
	s.log.Info("namespace created", "namespace", req.Name, "by", access.PrincipalFrom(r.Context()).Actor())
	writeJSON(w, http.StatusCreated, map[string]any{"name": req.Name, "description": req.Description})
}

// --- resolvers ---------------------------------------------------------------

func (s *Server) flowResolver(param string) resolver {
	return resolver{what: "flow named", param: param, hide: true, namespace: s.flowNamespace}
}

// flowNamespace is a deployed flow's namespace; for the pseudo-flow
// mcp:<toolset> of MCP tool calls, the toolset's.
func (s *Server) flowNamespace(ctx context.Context, name string) (string, error) {
	if ts, ok := strings.CutPrefix(name, "mcp:"); ok && s.cfg.MCP != nil {
		if ns, ok := s.cfg.MCP.ToolsetNamespace(ts); ok {
			return ns, nil
		}
	}
	fv, err := s.e.Store().GetFlow(ctx, name, 0)
	if err != nil {
		return "", err
	}
	return access.NamespaceOr(fv.Namespace), nil
}

func (s *Server) runResolver() resolver {
	return resolver{what: "run", param: "id", hide: true, namespace: func(ctx context.Context, id string) (string, error) {
		run, err := s.e.Store().GetRun(ctx, id)
		if err != nil {
			return "", err
		}
		ns, err := s.flowNamespace(ctx, run.Flow)
		if weft.Code(err) == weft.ENotFound {
			// A run of a flow that is not deployed (any more): the
			// installation's oldest home.
			return access.DefaultNamespace, nil
		}
		return ns, err
	}}
}

func (s *Server) connectionResolver() resolver {
	return resolver{what: "connection named", param: "name", hide: true, namespace: func(_ context.Context, name string) (string, error) {
		c, ok := s.lookupConnection(name)
		if !ok {
			return "", weft.Errorf(weft.ENotFound, "no connection named %q", name)
		}
		return access.NamespaceOr(c.Namespace), nil
	}}
}

func (s *Server) mappingResolver() resolver {
	return resolver{what: "mapping", param: "id", hide: true, namespace: func(ctx context.Context, id string) (string, error) {
		m, err := s.e.Store().Mapping(ctx, id)
		if err != nil {
			return "", err
		}
		return access.NamespaceOr(m.Namespace), nil
	}}
}

func (s *Server) toolsetResolver() resolver {
	return resolver{what: "toolset", param: "name", hide: true, namespace: func(_ context.Context, name string) (string, error) {
		if s.cfg.MCP == nil {
			return "", weft.Errorf(weft.EUnavailable, "the MCP gateway is off")
		}
		ns, ok := s.cfg.MCP.ToolsetNamespace(name)
		if !ok {
			return "", weft.Errorf(weft.ENotFound, "no toolset %q", name)
		}
		return ns, nil
	}}
}

func (s *Server) keyResolver() resolver {
	return resolver{what: "MCP key", param: "id", hide: true, namespace: func(ctx context.Context, id string) (string, error) {
		ks, err := s.e.Store().APIKeys(ctx)
		if err != nil {
			return "", err
		}
		for _, k := range ks {
			if k.ID == id { // a revoked one too: revoking it again is an audited not_found
				return access.NamespaceOr(k.Namespace), nil
			}
		}
		return "", weft.Errorf(weft.ENotFound, "no MCP key %q", id)
	}}
}

// pathNamespace: the namespace is the path's {namespace} (a role binding);
// nothing is hidden.
func pathNamespace() resolver {
	return resolver{what: "namespace", param: "namespace", namespace: func(_ context.Context, ns string) (string, error) {
		if ns == access.AllNamespaces {
			return ns, nil
		}
		return ns, access.CheckNamespace(ns)
	}}
}

// --- lists -------------------------------------------------------------------

// readableFlows is the flows (and MCP pseudo-flows) a list may show, for
// store.RunFilter.Flows; all is true when nothing needs filtering. An
// empty, non-all answer means nothing may be shown.
func (s *Server) readableFlows(r *http.Request, permission string) (all bool, flows []string, err error) {
	f, err := s.listFilter(r, permission)
	if err != nil {
		return false, nil, err
	}
	if f.unrestricted() {
		return true, nil, nil
	}
	fs, err := s.e.Store().ListFlows(r.Context())
	if err != nil {
		return false, nil, err
	}
	for _, fi := range fs {
		if f.keep(fi.Namespace) {
			flows = append(flows, fi.Name)
		}
	}
	if s.cfg.MCP != nil {
		for _, ts := range s.cfg.MCP.Toolsets() {
			name, _ := ts["name"].(string)
			if ns, ok := s.cfg.MCP.ToolsetNamespace(name); ok && f.keep(ns) {
				flows = append(flows, "mcp:"+name)
			}
		}
	}
	return false, flows, nil
}

// runStats counts runs by status (?flow=), over the flows the caller may read.
func (s *Server) runStats(w http.ResponseWriter, r *http.Request) {
	flow := r.URL.Query().Get("flow")
	all, flows, err := s.readableFlows(r, access.RunsRead)
	if err != nil {
		writeErr(w, err)
		return
	}
	if all {
		counts, err := s.e.Store().CountRuns(r.Context(), flow)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"counts": counts})
		return
	}
	counts := map[string]int64{}
	for _, f := range flows {
		if flow != "" && f != flow {
			continue
		}
		c, err := s.e.Store().CountRuns(r.Context(), f)
		if err != nil {
			writeErr(w, err)
			return
		}
		for k, n := range c {
			counts[k] += n
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"counts": counts})
}

// alertResolver: an alert belongs to its flow's namespace (one about no
// flow, or a group of flows, to the installation: "*").
func (s *Server) alertResolver() resolver {
	return resolver{what: "alert", param: "id", hide: true, namespace: func(ctx context.Context, id string) (string, error) {
		for _, a := range s.cfg.Alerts.Alerts() {
			if a.ID == id {
				return s.alertNamespace(ctx, a.Flow), nil
			}
		}
		return "", weft.Errorf(weft.ENotFound, "no alert %q", id)
	}}
}

func (s *Server) alertNamespace(ctx context.Context, flow string) string {
	if flow == "" {
		return access.AllNamespaces
	}
	ns, err := s.flowNamespace(ctx, flow)
	if err != nil {
		return access.DefaultNamespace
	}
	return ns
}
