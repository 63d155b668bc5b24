package gateway

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/mcpconn"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/store"
)

// addMCPRequest is the body of POST /api/connectors/mcp.
// It is decoded as YAML (JSON is YAML) so that auth's secrets, which
// never go out as JSON, come in.
type addMCPRequest struct {
	Name         string           `yaml:"name"`
	URL          string           `yaml:"url"`
	Command      string           `yaml:"command"` // "CMD ARGS": split on spaces, quotes group; no shell
	Token        string           `yaml:"token"`   // bearer token to the URL's origin (sealed in the connection)
	Auth         *connectors.Auth `yaml:"auth"`    // or: OAuth (oauth2_client_credentials, oauth2_refresh_token) or bearer
	AllowPrivate bool             `yaml:"allow_private"`
	Namespace    string           `yaml:"namespace"` // the connection's namespace (default: default)
}

// addMCPConnector connects to an MCP server, lists its tools, registers
// them as the operations of connector NAME, stores the connector, and
// saves connection NAME (its token sealed) so the MCP gateway re-exposes
// the tools as NAME__tool.
func (s *Server) addMCPConnector(w http.ResponseWriter, r *http.Request) {
	fed := s.cfg.Federation
	if fed == nil {
		writeErr(w, weft.Errorf(weft.EUnavailable, "MCP federation is off on this server"))
		return
	}
	data, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var req addMCPRequest
	if err := bounded.UnmarshalYAMLStrict("body", data, &req, bodyLimits); err != nil {
		writeErr(w, weft.Errorf(weft.EInvalid, `body must be {"name", "url" or "command", "token"? or "auth"?, "allow_private"?, "namespace"?}: %s`, weft.Message(err)))
		return
	}
	if err := mcpconn.ValidName(req.Name); err != nil {
		writeErr(w, weft.Errorf(weft.EInvalid, "%v", err))
		return
	}
	spec := mcpconn.Spec{URL: req.URL, AllowPrivate: req.AllowPrivate}
	if strings.TrimSpace(req.Command) != "" {
		if spec.Command, err = mcpconn.SplitCommand(req.Command); err != nil {
			writeErr(w, weft.Errorf(weft.EInvalid, "%v", err))
			return
		}
	}
	auth := req.Auth
	if req.Token != "" {
		if auth != nil {
			writeErr(w, weft.Errorf(weft.EInvalid, "give token or auth, not both"))
			return
		}
		auth = &connectors.Auth{Type: connectors.AuthBearer, Token: req.Token}
	}
	if auth != nil && spec.URL == "" {
		writeErr(w, weft.Errorf(weft.EInvalid, "token, auth: only a url upstream takes credentials"))
		return
	}
	if err := mcpconn.CheckAuth(auth); err != nil {
		writeErr(w, weft.Errorf(weft.EInvalid, "auth: %v", err))
		return
	}
	if old, ok := s.e.Catalog().LookupConnection(req.Name); ok && old.Connector != req.Name {
		writeErr(w, weft.Errorf(weft.EConflict, "connection %q exists for connector %s; choose another name", req.Name, old.Connector))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	got, err := fed.Add(ctx, req.Name, spec, auth)
	if err != nil {
		code := weft.EUnprocessable
		if c := weft.Code(err); c != weft.EInternal {
			code = c
		}
		writeErr(w, weft.Wrap(code, err, "add MCP connector %s: %v", req.Name, err))
		return
	}
	enc, err := got.Marshal()
	if err == nil {
		err = s.e.Store().SaveConnectorSpec(r.Context(), store.ConnectorSpec{Name: req.Name, Kind: mcpconn.Kind, Spec: enc})
	}
	if err == nil {
		conn := &connectors.Connection{Name: req.Name, Connector: req.Name, Namespace: req.Namespace, BaseURL: req.URL, AllowPrivate: req.AllowPrivate, Auth: auth}
		err = s.e.SaveConnection(r.Context(), conn)
	}
	s.audit(r, access.ActionConnectorImport, "connector:"+req.Name, err, map[string]any{"kind": mcpconn.Kind, "operations": len(got.Tools)})
	if err != nil {
		writeErr(w, err)
		return
	}
	info, _ := fed.Info(req.Name)
	s.log.Info("MCP connector added", "connector", req.Name, "tools", len(got.Tools), "transport", info.Transport)
	writeJSON(w, http.StatusCreated, map[string]any{"name": req.Name, "mcp": info, "operations": opNames(got)})
}

func opNames(s *mcpconn.Spec) []string {
	out := make([]string, 0, len(s.Tools))
	for _, t := range s.Tools {
		out = append(out, t.Op)
	}
	return out
}

// refreshMCPConnector lists an MCP connector's tools again and reports
// the drift against the accepted schemas; ?accept=true makes the new list
// the accepted one.
func (s *Server) refreshMCPConnector(w http.ResponseWriter, r *http.Request) {
	fed := s.cfg.Federation
	if fed == nil {
		writeErr(w, weft.Errorf(weft.EUnavailable, "MCP federation is off on this server"))
		return
	}
	name := chi.URLParam(r, "name")
	if _, ok := fed.Info(name); !ok {
		writeErr(w, weft.Errorf(weft.ENotFound, "no MCP connector named %q", name))
		return
	}
	accept := r.URL.Query().Get("accept") == "true"
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	spec, drift, err := fed.Refresh(ctx, name, accept)
	if err != nil {
		writeErr(w, weft.Wrap(weft.EUnavailable, err, "refresh %s: %v", name, err))
		return
	}
	if accept {
		enc, err := spec.Marshal()
		if err == nil {
			err = s.e.Store().SaveConnectorSpec(r.Context(), store.ConnectorSpec{Name: name, Kind: mcpconn.Kind, Spec: enc})
		}
		s.audit(r, access.ActionConnectorImport, "connector:"+name, err, map[string]any{"kind": mcpconn.Kind, "accepted": true, "operations": len(spec.Tools), "drift": len(drift)})
		if err != nil {
			writeErr(w, err)
			return
		}
	}
	if drift == nil {
		drift = []mcpconn.Change{}
	}
	affected, err := s.driftedFlows(r.Context(), name, drift)
	if err != nil {
		writeErr(w, err)
		return
	}
	info, _ := fed.Info(name)
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "accepted": accept, "drift": drift, "affected_flows": affected, "mcp": info})
}

// removeMCPConnector removes an MCP connector: its upstream is closed, its
// operations leave the catalog, its stored spec and its own connection
// (NAME) are deleted. Refused while a deployed flow's active version calls
// one of its operations or another connection uses it.
func (s *Server) removeMCPConnector(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	fed := s.cfg.Federation
	if _, ok := s.e.Catalog().Connector(name); !ok {
		writeErr(w, weft.Errorf(weft.ENotFound, "no connector named %q", name))
		return
	}
	if fed == nil {
		writeErr(w, weft.Errorf(weft.EUnavailable, "MCP federation is off on this server"))
		return
	}
	if _, ok := fed.Info(name); !ok {
		writeErr(w, weft.Errorf(weft.EConflict, "connector %s is not an MCP connector: only MCP connectors can be removed", name))
		return
	}
	for _, c := range s.e.Catalog().Connections() {
		if c.Connector == name && c.Name != name {
			writeErr(w, weft.Errorf(weft.EConflict, "connection %s uses connector %s: delete it first", c.Name, name))
			return
		}
	}
	flows, err := s.e.Store().ListFlows(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	var using []string
	for _, fi := range flows {
		f, _, err := s.e.Flow(r.Context(), fi.Name, 0)
		if err != nil {
			continue
		}
		hit := false
		flow.Walk(f.Steps, func(st *flow.Step) { hit = hit || strings.HasPrefix(st.Call, name+".") })
		if hit {
			using = append(using, fi.Name)
		}
	}
	if len(using) > 0 {
		writeErr(w, weft.Errorf(weft.EConflict, "deployed flows call %s: %s (deploy versions without those steps first)", name, strings.Join(using, ", ")))
		return
	}
	if conn, ok := s.e.Catalog().LookupConnection(name); ok && conn.Connector == name {
		if err := s.e.DeleteConnection(r.Context(), name); err != nil {
			s.audit(r, access.ActionConnectorDelete, "connector:"+name, err, nil)
			writeErr(w, err)
			return
		}
	}
	_, err = s.e.Store().DeleteConnectorSpec(r.Context(), name)
	s.audit(r, access.ActionConnectorDelete, "connector:"+name, err, map[string]any{"kind": mcpconn.Kind})
	if err != nil {
		writeErr(w, err)
		return
	}
	fed.Remove(name)
	s.e.Catalog().Unregister(name)
	s.log.Info("MCP connector removed", "connector", name)
	writeJSON(w, http.StatusOK, map[string]any{"deleted": name})
}

// driftedFlows lists the deployed flows (latest versions) that call a
// drifted tool of connector name.
func (s *Server) driftedFlows(ctx context.Context, name string, drift []mcpconn.Change) ([]string, error) {
	if len(drift) == 0 {
		return []string{}, nil
	}
	x, ok := s.e.Catalog().Connector(name)
	if !ok {
		return []string{}, nil
	}
	drifted := map[string]bool{}
	for _, op := range x.Operations {
		if op.Drift != nil && op.Drift() != "" {
			drifted[name+"."+op.Name] = true
		}
	}
	flows, err := s.e.Store().ListFlows(ctx)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, fi := range flows {
		f, _, err := s.e.Flow(ctx, fi.Name, 0)
		if err != nil {
			continue
		}
		hit := false
		flow.Walk(f.Steps, func(st *flow.Step) { hit = hit || drifted[st.Call] })
		if hit {
			out = append(out, fi.Name)
		}
	}
	return out, nil
}
