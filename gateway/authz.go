package gateway

// Who is calling and whether they may: every /api route is registered with
// the permission it needs (route); auth turns the request's credentials
// into an access.Principal, and the route's own middleware asks
// access.Authorize. A route registered any other way has no permission,
// and TestEveryRouteDeclaresAPermission fails.

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
)

// Route is one entry of the API's route table.
type Route struct {
	Method     string `json:"method"`
	Pattern    string `json:"pattern"`              // full path pattern, e.g. /api/flows/{name}
	Permission string `json:"permission,omitempty"` // "" for a public route (sign-in)
	// Scope is where the permission is needed: "resource" (the namespace
	// of the flow, run, connection, mapping, toolset or key the path
	// names), "installation" (a binding to every namespace, "*"), or
	// "namespaces" (some namespace; the handler narrows it to the body's
	// namespace or filters its list).
	Scope string `json:"scope,omitempty"`
}

// Route scopes.
const (
	ScopeResource     = "resource"
	ScopeInstallation = "installation"
	ScopeNamespaces   = "namespaces"
)

// Routes is the route table: every /api route with its permission.
func (s *Server) Routes() []Route { return append([]Route(nil), s.table...) }

// Router is the server's chi router (tests walk it).
func (s *Server) Router() chi.Routes { return s.r.(chi.Routes) }

// route registers an /api route that needs permission in some namespace;
// its handler narrows that: a list keeps what the caller may read
// (s.readable), a create asks for the permission in the namespace it
// creates in (s.allow).
func (s *Server) route(r chi.Router, method, pattern, permission string, h http.HandlerFunc) {
	s.table = append(s.table, Route{Method: method, Pattern: "/api" + pattern, Permission: permission, Scope: ScopeNamespaces})
	r.With(s.authorize(permission)).Method(method, pattern, h)
}

// installation registers an /api route about the whole installation (the
// master key, the audit log, the connector catalog): it needs permission
// in every namespace (a "*" binding).
func (s *Server) installation(r chi.Router, method, pattern, permission string, h http.HandlerFunc) {
	s.table = append(s.table, Route{Method: method, Pattern: "/api" + pattern, Permission: permission, Scope: ScopeInstallation})
	r.With(s.authorize(permission), s.onInstallation(permission)).Method(method, pattern, h)
}

// onInstallation asks for permission on every namespace ("*").
func (s *Server) onInstallation(permission string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := access.Authorize(access.PrincipalFrom(r.Context()), permission, access.AllNamespaces); err != nil {
				writeErr(w, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// resolver names the resource a path is about and finds its namespace.
type resolver struct {
	what  string // "flow", "run", "connection" … (the 404's words)
	param string // the path parameter that names it
	// namespace returns the resource's namespace; not_found when there is none.
	namespace func(ctx context.Context, id string) (string, error)
	// hide: answer 404 to a caller who may not read the resource's
	// namespace (false where the namespace is in the path itself).
	hide bool
}

// resource registers an /api route about one resource: the permission is
// needed in the resource's namespace. A caller who may not even read
// that namespace gets the same 404 as for a resource that does not
// exist; one who may read but not do this gets 403.
func (s *Server) resource(r chi.Router, method, pattern, permission string, res resolver, h http.HandlerFunc) {
	s.table = append(s.table, Route{Method: method, Pattern: "/api" + pattern, Permission: permission, Scope: ScopeResource})
	r.With(s.authorize(permission), func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := chi.URLParam(r, res.param)
			missing := weft.Errorf(weft.ENotFound, "no %s %q", res.what, id)
			ns, err := res.namespace(r.Context(), id)
			if err != nil {
				if weft.Code(err) == weft.ENotFound && res.hide {
					err = missing
				}
				writeErr(w, err)
				return
			}
			p := access.PrincipalFrom(r.Context())
			if err := access.Authorize(p, permission, ns); err != nil {
				if res.hide && access.Authorize(p, readPermission(permission), ns) != nil {
					err = missing
				}
				writeErr(w, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), namespaceKey{}, ns)))
		})
	}).Method(method, pattern, h)
}

// allowResource is the resource routes' check for a resource a handler
// meets in a body (a run to borrow input from, a run to replay): nil, the
// 404 of a resource the caller may not read, or 403.
func (s *Server) allowResource(r *http.Request, permission string, res resolver, id string) error {
	missing := weft.Errorf(weft.ENotFound, "no %s %q", res.what, id)
	ns, err := res.namespace(r.Context(), id)
	if err != nil {
		if weft.Code(err) == weft.ENotFound {
			return missing
		}
		return err
	}
	p := access.PrincipalFrom(r.Context())
	if err := access.Authorize(p, permission, ns); err != nil {
		if access.Authorize(p, readPermission(permission), ns) != nil {
			return missing
		}
		return err
	}
	return nil
}

type namespaceKey struct{}

// withNamespace records the namespace a handler acts in (a create's), for
// the audit entry.
func withNamespace(r *http.Request, ns string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), namespaceKey{}, ns))
}

// resourceNamespace is the namespace a resource route resolved.
func resourceNamespace(r *http.Request) string {
	ns, _ := r.Context().Value(namespaceKey{}).(string)
	return ns
}

// readPermission is the read permission of permission's area (flows.write
// -> flows.read; runs.operate -> runs.read; mcp.keys.manage -> mcp.read).
func readPermission(permission string) string {
	area, _, _ := strings.Cut(permission, ".")
	switch area {
	case "runs", "flows", "connections", "mappings", "mcp", "products":
		return area + ".read"
	case "alerts":
		return access.MonitorRead
	}
	return permission
}

// allow asks for permission in namespace (a create, a deploy, a move).
func allow(r *http.Request, permission, namespace string) error {
	return access.Authorize(access.PrincipalFrom(r.Context()), permission, namespace)
}

// readable is the set of namespaces where the caller has permission, or
// nil when it has it in every namespace (a "*" binding).
func readable(r *http.Request, permission string) (all bool, set map[string]bool) {
	p := access.PrincipalFrom(r.Context())
	if access.Authorize(p, permission, access.AllNamespaces) == nil {
		return true, nil
	}
	set = map[string]bool{}
	for ns := range p.Roles {
		if ns != access.AllNamespaces && access.Authorize(p, permission, ns) == nil {
			set[ns] = true
		}
	}
	return false, set
}

// nsFilter is a list's namespace filter: what the caller may read, and
// ?namespace= when given. keep reports whether a resource of namespace
// ns stays in the list.
type nsFilter struct {
	all  bool
	set  map[string]bool
	only string
}

func (s *Server) listFilter(r *http.Request, permission string) (nsFilter, error) {
	all, set := readable(r, permission)
	f := nsFilter{all: all, set: set, only: r.URL.Query().Get("namespace")}
	if f.only != "" {
		if err := access.CheckNamespace(f.only); err != nil {
			return f, err
		}
	}
	return f, nil
}

func (f nsFilter) keep(ns string) bool {
	ns = access.NamespaceOr(ns)
	if f.only != "" && ns != f.only {
		return false
	}
	return f.all || f.set[ns]
}

// unrestricted: every namespace is readable and none is picked.
func (f nsFilter) unrestricted() bool { return f.all && f.only == "" }

// public registers an /api route that anyone may call (signing in).
func (s *Server) public(r chi.Router, method, pattern string, h http.HandlerFunc) {
	s.table = append(s.table, Route{Method: method, Pattern: "/api" + pattern})
	r.Method(method, pattern, h)
}

// authorize is every route's first, cheap check: the principal auth found
// has permission in some namespace (access.AuthorizeAny). The route's
// scope narrows it after.
func (s *Server) authorize(permission string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := access.AuthorizeAny(access.PrincipalFrom(r.Context()), permission); err != nil {
				writeErr(w, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// The principals of the bootstrap credentials.
var (
	apiTokenPrincipal  = access.Principal{Kind: access.KindAPIToken, Roles: map[string]string{access.AllNamespaces: access.RoleAdmin}}
	openLoopbackAdmin  = access.Principal{Kind: access.KindAnonymous, Roles: map[string]string{access.AllNamespaces: access.RoleAdmin}}
	errNeedCredentials = weft.Errorf(weft.EUnauthorized, "authentication required: Authorization: Bearer <api_token | weft_pat_… | weft_sa_…>, or sign in (POST /api/session)")
)

// maxBearer bounds a bearer token before it is compared or hashed.
const maxBearer = 1024

// principalSession is a cookie session that carries who signed in.
type principalSession interface {
	Session
	Principal() access.Principal
}

// authRequired: an api_token is set, single sign-on is configured, or a
// local user exists. Without
// either, the server is open on loopback (CheckExposure refuses anything
// else) and every request is an anonymous admin.
func (s *Server) authRequired(ctx context.Context) (bool, error) {
	if s.cfg.APIToken != "" || s.cfg.SSO != nil || s.hasUsers.Load() {
		return true, nil
	}
	if s.cfg.Directory == nil {
		return false, nil
	}
	has, err := s.cfg.Directory.HasUsers(ctx)
	if err != nil {
		return false, err
	}
	if has {
		s.hasUsers.Store(true) // users are never deleted, only disabled
	}
	return has, nil
}

// authenticate finds the request's principal: a bearer token (api_token,
// personal access token, service account), else a cookie session, else an
// anonymous admin on an open server. ok is false with the error to send.
func (s *Server) authenticate(r *http.Request) (p access.Principal, sess Session, err error) {
	ctx := r.Context()
	if r.Header.Get("Authorization") != "" {
		tok := bearer(r)
		if tok != "" && len(tok) <= maxBearer {
			if access.IsWeftToken(tok) {
				if s.cfg.Directory == nil {
					return access.Principal{}, nil, weft.Errorf(weft.EUnauthorized, "this server has no user directory: tokens are not accepted")
				}
				p, err := s.cfg.Directory.Authenticate(ctx, tok)
				return p, nil, err
			}
			if s.cfg.APIToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.APIToken)) == 1 {
				return apiTokenPrincipal, nil, nil
			}
		}
		// A wrong, malformed or oversized bearer is refused wherever
		// authentication is required (an open server ignores it, as before).
		req, err := s.authRequired(ctx)
		if err != nil {
			return access.Principal{}, nil, err
		}
		if req {
			return access.Principal{}, nil, weft.Errorf(weft.EUnauthorized, "wrong, malformed or expired bearer token")
		}
	}
	if s.cfg.Sessions != nil {
		if ss, ok := s.cfg.Sessions.Session(r); ok && ss != nil {
			ps, ok := ss.(principalSession)
			if !ok {
				return apiTokenPrincipal, ss, nil // a session store that predates principals: api_token sign-ins only
			}
			if ms, ok := ss.(*memSession); ok {
				if err := s.refreshSSO(r, ms); err != nil {
					return access.Principal{}, nil, err
				}
			}
			p := ps.Principal()
			if p.Kind == access.KindUser {
				if s.cfg.Directory == nil {
					return access.Principal{}, nil, errNeedCredentials
				}
				cur, err := s.cfg.Directory.User(ctx, p.ID) // disabled since sign-in: refused now
				if err != nil {
					return access.Principal{}, nil, err
				}
				p = cur
			}
			return p, ss, nil
		}
	}
	req, err := s.authRequired(ctx)
	if err != nil {
		return access.Principal{}, nil, err
	}
	if req {
		return access.Principal{}, nil, errNeedCredentials
	}
	// No credentials needed: a certificate verified by mutual TLS names who
	// is calling (the listener refused everyone else when client
	// certificates are required).
	if p, ok := ClientCertPrincipal(r); ok {
		return p, nil, nil
	}
	return openLoopbackAdmin, nil, nil
}

// auth puts the request's principal (and its cookie session, for the CSRF
// check) in the context, or answers 401.
func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, sess, err := s.authenticate(r)
		if err != nil {
			writeErr(w, err)
			return
		}
		ctx := access.WithPrincipal(r.Context(), p)
		if sess != nil {
			ctx = context.WithValue(ctx, sessionKey{}, sess)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
