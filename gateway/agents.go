package gateway

// The control plane of a hybrid deployment: its agents' link
// (agent.SyncPath, authenticated by the agent's own credential) and the
// admin API over them (/api/agents).

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/agent"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/store"
)

func (s *Server) agentRoutes(r chi.Router) {
	s.installation(r, http.MethodGet, "/agents", access.AgentsRead, func(w http.ResponseWriter, r *http.Request) {
		as, err := s.agents.List(r.Context())
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"agents": as})
	})
	s.installation(r, http.MethodPost, "/agents", access.AgentsManage, func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Site   string            `json:"site"`
			Labels map[string]string `json:"labels"`
		}
		if !s.decode(w, r, &req, `{"site", "labels"}`) {
			return
		}
		st, tok, err := s.agents.Create(r.Context(), req.Site, req.Labels)
		s.audit(r, access.ActionAgentCreate, "agent:"+clip(req.Site, 80), err, map[string]any{"labels": req.Labels})
		if err != nil {
			writeErr(w, err)
			return
		}
		s.log.Info("agent created", "site", req.Site, "by", access.PrincipalFrom(r.Context()).Actor())
		writeJSON(w, http.StatusCreated, map[string]any{"agent": st, "token": tok,
			"note": "the token is shown once: give it to the agent (weft agent --token); only its hash is kept"})
	})
	s.installation(r, http.MethodGet, "/agents/{site}", access.AgentsRead, func(w http.ResponseWriter, r *http.Request) {
		st, err := s.agents.Get(r.Context(), chi.URLParam(r, "site"))
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	s.installation(r, http.MethodGet, "/agents/{site}/runs", access.AgentsRead, func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		runs, counts, err := s.agents.Runs(r.Context(), chi.URLParam(r, "site"), r.URL.Query().Get("before"), limit)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"runs": runs, "counts": counts})
	})
	s.installation(r, http.MethodPost, "/agents/{site}/rotate", access.AgentsManage, func(w http.ResponseWriter, r *http.Request) {
		site := chi.URLParam(r, "site")
		tok, err := s.agents.Rotate(r.Context(), site)
		s.audit(r, access.ActionAgentRotate, "agent:"+clip(site, 80), err, nil)
		if err != nil {
			writeErr(w, err)
			return
		}
		s.log.Info("agent credential rotated", "site", site, "by", access.PrincipalFrom(r.Context()).Actor())
		writeJSON(w, http.StatusOK, map[string]any{"site": site, "token": tok,
			"note": "the old token stopped working; the token is shown once"})
	})
	s.installation(r, http.MethodDelete, "/agents/{site}", access.AgentsManage, func(w http.ResponseWriter, r *http.Request) {
		site := chi.URLParam(r, "site")
		err := s.agents.Revoke(r.Context(), site)
		s.audit(r, access.ActionAgentRevoke, "agent:"+clip(site, 80), err, nil)
		if err != nil {
			writeErr(w, err)
			return
		}
		s.log.Info("agent revoked", "site", site, "by", access.PrincipalFrom(r.Context()).Actor())
		writeJSON(w, http.StatusOK, map[string]any{"revoked": site})
	})
}

// agentControlPlane is the configured control plane, else one over the
// engine's store when it keeps agents and the engine is not itself an
// agent (a site's engine has no agents of its own).
func agentControlPlane(s *Server, e *engine.Engine) *agent.ControlPlane {
	if s.cfg.Agents != nil {
		return s.cfg.Agents
	}
	if e.Site() != "" {
		return nil
	}
	st := e.Store()
	for {
		if as, ok := st.(store.Agents); ok {
			return agent.NewControlPlane(as, e, s.log)
		}
		u, ok := st.(interface{ Unwrap() store.Store })
		if !ok {
			return nil
		}
		st = u.Unwrap()
	}
}
