package gateway

// Users, personal access tokens, service accounts and the caller's own
// principal (/api/me). Secrets (passwords, tokens) are taken in bodies and
// never returned, except a new token's value, once, in the response that
// created it.

import (
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/store"
)

func (s *Server) memberRoutes(r chi.Router) {
	s.route(r, http.MethodGet, "/me", access.Self, s.me)
	s.route(r, http.MethodGet, "/users", access.MembersManage, s.listUsers)
	s.route(r, http.MethodPost, "/users", access.MembersManage, s.createUser)
	s.route(r, http.MethodPost, "/users/{name}/disable", access.MembersManage, s.disableUser)
	s.route(r, http.MethodPost, "/users/{name}/password", access.MembersManage, s.setPassword)
	s.resource(r, http.MethodPut, "/users/{name}/roles/{namespace}", access.MembersManage, pathNamespace(), s.setRole)
	s.route(r, http.MethodGet, "/tokens", access.Self, s.listTokens)
	s.route(r, http.MethodPost, "/tokens", access.Self, s.createToken)
	s.route(r, http.MethodDelete, "/tokens/{id}", access.Self, s.revokeToken)
	s.route(r, http.MethodGet, "/service-accounts", access.MembersManage, s.listServiceAccounts)
	s.route(r, http.MethodPost, "/service-accounts", access.MembersManage, s.createServiceAccount)
	s.route(r, http.MethodDelete, "/service-accounts/{id}", access.MembersManage, s.revokeServiceAccount)
}

func (s *Server) directory(w http.ResponseWriter) (*access.Directory, bool) {
	if s.cfg.Directory == nil {
		writeErr(w, weft.Errorf(weft.EUnavailable, "this server has no user directory"))
		return nil, false
	}
	return s.cfg.Directory, true
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p := access.PrincipalFrom(r.Context())
	w.Header().Set("Cache-Control", "no-store")
	ns := r.URL.Query().Get("namespace")
	if ns == "" {
		ns = access.DefaultNamespace
	} else if err := access.CheckNamespace(ns); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"principal": p, "actor": p.Actor(), "namespace": ns,
		"role": p.RoleIn(ns), "permissions": p.PermissionsIn(ns),
		// What a binding to every namespace grants: installation-wide
		// routes (the audit log, key rotation, namespaces) need it.
		"installation_permissions": p.PermissionsIn(access.AllNamespaces)})
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	d, ok := s.directory(w)
	if !ok {
		return
	}
	us, err := d.Users(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	// Those with a role in a namespace whose members the caller manages.
	all, set := readable(r, access.MembersManage)
	if !all {
		us = slices.DeleteFunc(us, func(u access.UserInfo) bool { return !managesAny(set, u.Roles) })
	}
	if us == nil {
		us = []access.UserInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": us})
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	d, ok := s.directory(w)
	if !ok {
		return
	}
	var req struct {
		Name      string `json:"name"`
		Password  string `json:"password"`
		Role      string `json:"role"`
		Namespace string `json:"namespace"`
	}
	if !s.decode(w, r, &req, `{"name", "password", "role", "namespace"}`) {
		return
	}
	if req.Role == "" {
		req.Role = access.RoleViewer
	}
	if req.Namespace == "" {
		req.Namespace = access.DefaultNamespace
	}
	err := allow(r, access.MembersManage, req.Namespace)
	var u access.UserInfo
	if err == nil {
		u, err = d.CreateUser(r.Context(), req.Name, req.Password, req.Role, req.Namespace)
	}
	s.audit(r, access.ActionUserCreate, "user:"+clip(req.Name, 64), err, map[string]any{"role": req.Role, "namespace": clip(req.Namespace, 64)})
	if err != nil {
		writeErr(w, err)
		return
	}
	s.hasUsers.Store(true)
	s.log.Info("user created", "user", u.Name, "by", access.PrincipalFrom(r.Context()).Actor())
	writeJSON(w, http.StatusCreated, u)
}

func (s *Server) disableUser(w http.ResponseWriter, r *http.Request) {
	d, ok := s.directory(w)
	if !ok {
		return
	}
	name := chi.URLParam(r, "name")
	err := s.manageUser(r, d, name)
	if err == nil {
		err = d.DisableUser(r.Context(), name)
	}
	s.audit(r, access.ActionUserDisable, "user:"+clip(name, 64), err, nil)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.log.Info("user disabled", "user", clip(name, 64), "by", access.PrincipalFrom(r.Context()).Actor())
	writeJSON(w, http.StatusOK, map[string]any{"disabled": name})
}

func (s *Server) setPassword(w http.ResponseWriter, r *http.Request) {
	d, ok := s.directory(w)
	if !ok {
		return
	}
	var req struct {
		Password string `json:"password"`
	}
	if !s.decode(w, r, &req, `{"password"}`) {
		return
	}
	name := chi.URLParam(r, "name")
	err := s.manageUser(r, d, name)
	if err == nil {
		err = d.ResetPassword(r.Context(), name, req.Password)
	}
	s.audit(r, access.ActionUserPasswordReset, "user:"+clip(name, 64), err, nil)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.log.Info("user password reset", "user", clip(name, 64), "by", access.PrincipalFrom(r.Context()).Actor())
	writeJSON(w, http.StatusOK, map[string]any{"password_reset": name})
}

func (s *Server) setRole(w http.ResponseWriter, r *http.Request) {
	d, ok := s.directory(w)
	if !ok {
		return
	}
	var req struct {
		Role string `json:"role"`
	}
	if !s.decode(w, r, &req, `{"role": "admin|editor|operator|viewer|agent" or "" to remove}`) {
		return
	}
	name, ns := chi.URLParam(r, "name"), chi.URLParam(r, "namespace")
	before := userRole(r, d, name, ns)
	err := d.SetRole(r.Context(), name, req.Role, ns)
	s.audit(r, access.ActionRoleChange, "user:"+clip(name, 64), err, map[string]any{"namespace": clip(ns, 64),
		"before": map[string]any{"role": before}, "after": map[string]any{"role": clip(req.Role, 40)}})
	if err != nil {
		writeErr(w, err)
		return
	}
	s.log.Info("role set", "user", clip(name, 64), "namespace", clip(ns, 64), "role", req.Role, "by", access.PrincipalFrom(r.Context()).Actor())
	writeJSON(w, http.StatusOK, map[string]any{"user": name, "namespace": ns, "role": req.Role})
}

// tokenRequest is the body of POST /api/tokens and /api/service-accounts.
type tokenRequest struct {
	Name          string            `json:"name"`
	Scopes        map[string]string `json:"scopes"`
	ExpiresInDays int               `json:"expires_in_days"` // 0: the longest (366)
}

func (t tokenRequest) request() (access.NewTokenRequest, error) {
	if t.ExpiresInDays < 0 || t.ExpiresInDays > int(access.MaxTokenTTL/(24*time.Hour)) {
		return access.NewTokenRequest{}, weft.Errorf(weft.EInvalid, "expires_in_days: 1 to %d", int(access.MaxTokenTTL/(24*time.Hour)))
	}
	return access.NewTokenRequest{Name: t.Name, Scopes: t.Scopes, TTL: time.Duration(t.ExpiresInDays) * 24 * time.Hour}, nil
}

const tokenBody = `{"name", "scopes": {"<namespace>": "<role>"}, "expires_in_days"}`

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	d, ok := s.directory(w)
	if !ok {
		return
	}
	ts, err := d.PATs(r.Context(), access.PrincipalFrom(r.Context()))
	s.writeTokens(w, ts, err)
}

func (s *Server) writeTokens(w http.ResponseWriter, ts []store.Token, err error) {
	if err != nil {
		writeErr(w, err)
		return
	}
	if ts == nil {
		ts = []store.Token{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": ts})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	s.newToken(w, r, access.ActionTokenCreate, func(d *access.Directory, req access.NewTokenRequest) (access.CreatedToken, error) {
		return d.CreatePAT(r.Context(), access.PrincipalFrom(r.Context()), req)
	})
}

func (s *Server) createServiceAccount(w http.ResponseWriter, r *http.Request) {
	s.newToken(w, r, access.ActionServiceAccountCreate, func(d *access.Directory, req access.NewTokenRequest) (access.CreatedToken, error) {
		// members.manage in every namespace the account gets a role in.
		for ns := range req.Scopes {
			if err := allow(r, access.MembersManage, ns); err != nil {
				return access.CreatedToken{}, err
			}
		}
		return d.CreateServiceAccount(r.Context(), req)
	})
}

func (s *Server) newToken(w http.ResponseWriter, r *http.Request, action string, create func(*access.Directory, access.NewTokenRequest) (access.CreatedToken, error)) {
	d, ok := s.directory(w)
	if !ok {
		return
	}
	var body tokenRequest
	if !s.decode(w, r, &body, tokenBody) {
		return
	}
	req, err := body.request()
	if err != nil {
		writeErr(w, err)
		return
	}
	t, err := create(d, req)
	details := map[string]any{"name": clip(req.Name, 64), "scopes": req.Scopes, "expires_in_days": body.ExpiresInDays}
	if err != nil {
		s.audit(r, action, kindPrefix(action), err, details)
		writeErr(w, err)
		return
	}
	s.log.Info("token created", "kind", t.Kind, "id", t.ID, "name", t.Name, "by", access.PrincipalFrom(r.Context()).Actor())
	s.audit(r, action, kindPrefix(action)+t.ID, nil, details)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, t) // the only time the token is shown
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	d, ok := s.directory(w)
	if !ok {
		return
	}
	id := chi.URLParam(r, "id")
	err := d.RevokePAT(r.Context(), access.PrincipalFrom(r.Context()), id)
	s.audit(r, access.ActionTokenRevoke, "token:"+clip(id, 64), err, nil)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.log.Info("token revoked", "id", clip(id, 64), "by", access.PrincipalFrom(r.Context()).Actor())
	writeJSON(w, http.StatusOK, map[string]any{"revoked": id})
}

func (s *Server) listServiceAccounts(w http.ResponseWriter, r *http.Request) {
	d, ok := s.directory(w)
	if !ok {
		return
	}
	ts, err := d.ServiceAccounts(r.Context())
	if all, set := readable(r, access.MembersManage); !all {
		ts = slices.DeleteFunc(ts, func(t store.Token) bool { return !managesAny(set, t.Scopes) })
	}
	s.writeTokens(w, ts, err)
}

func (s *Server) revokeServiceAccount(w http.ResponseWriter, r *http.Request) {
	d, ok := s.directory(w)
	if !ok {
		return
	}
	id := chi.URLParam(r, "id")
	err := s.manageServiceAccount(r, d, id)
	if err == nil {
		err = d.RevokeServiceAccount(r.Context(), id)
	}
	s.audit(r, access.ActionServiceAccountRevoke, "service_account:"+clip(id, 64), err, nil)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.log.Info("service account revoked", "id", clip(id, 64), "by", access.PrincipalFrom(r.Context()).Actor())
	writeJSON(w, http.StatusOK, map[string]any{"revoked": id})
}

// kindPrefix is the audit resource's prefix for a token action.
func kindPrefix(action string) string {
	if action == access.ActionServiceAccountCreate {
		return "service_account:"
	}
	return "token:"
}

// userRole is name's role in namespace before a change ("" for none or
// when it cannot be read: the audit entry then says so by its absence).
func userRole(r *http.Request, d *access.Directory, name, namespace string) string {
	us, err := d.Users(r.Context())
	if err != nil {
		return ""
	}
	for _, u := range us {
		if u.Name == name {
			return u.Roles[namespace]
		}
	}
	return ""
}

// decode reads a JSON body into v, or answers 400 naming the expected shape.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any, shape string) bool {
	data, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return false
	}
	if err := decodeJSON(data, v); err != nil {
		writeErr(w, weft.Errorf(weft.EInvalid, "body must be %s: %s", shape, weft.Message(err)))
		return false
	}
	return true
}

// managesAny: one of roles' namespaces is in set (the namespaces whose
// members a caller manages).
func managesAny(set map[string]bool, roles map[string]string) bool {
	for ns := range roles {
		if set[ns] {
			return true
		}
	}
	return false
}

// manageAll: members.manage in every namespace of roles (a principal with
// no role anywhere: in every namespace, "*"). A caller who manages none of
// them gets notFound, as if the member did not exist; some but not all, 403.
func manageAll(r *http.Request, roles map[string]string, notFound error) error {
	if len(roles) == 0 {
		return allow(r, access.MembersManage, access.AllNamespaces)
	}
	var denied error
	some := false
	for ns := range roles {
		if err := allow(r, access.MembersManage, ns); err != nil {
			denied = err
		} else {
			some = true
		}
	}
	if denied != nil && !some && allow(r, access.MembersManage, access.AllNamespaces) != nil {
		return notFound
	}
	return denied
}

// manageUser: may the caller disable the user or set its password? It
// must manage members in every namespace where the user has a role.
func (s *Server) manageUser(r *http.Request, d *access.Directory, name string) error {
	us, err := d.Users(r.Context())
	if err != nil {
		return err
	}
	for _, u := range us {
		if u.Name == name {
			return manageAll(r, u.Roles, weft.Errorf(weft.ENotFound, "no user %q", name))
		}
	}
	return weft.Errorf(weft.ENotFound, "no user %q", name)
}

// manageServiceAccount: may the caller revoke the service account? As
// manageUser, over the account's scopes.
func (s *Server) manageServiceAccount(r *http.Request, d *access.Directory, id string) error {
	ts, err := d.ServiceAccounts(r.Context())
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.ID == id && t.RevokedAt == nil {
			return manageAll(r, t.Scopes, weft.Errorf(weft.ENotFound, "no active token %q", clip(id, 80)))
		}
	}
	return weft.Errorf(weft.ENotFound, "no active token %q", clip(id, 80))
}
