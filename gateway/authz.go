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

	"github.com/go-chi/chi/v5"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
)

// Route is one entry of the API's route table.
type Route struct {
	Method     string `json:"method"`
	Pattern    string `json:"pattern"`              // full path pattern, e.g. /api/flows/{name}
	Permission string `json:"permission,omitempty"` // "" for a public route (sign-in)
}

// Routes is the route table: every /api route with its permission.
func (s *Server) Routes() []Route { return append([]Route(nil), s.table...) }

// Router is the server's chi router (tests walk it).
func (s *Server) Router() chi.Routes { return s.r.(chi.Routes) }

// route registers an /api route that needs permission in the default
// namespace.
func (s *Server) route(r chi.Router, method, pattern, permission string, h http.HandlerFunc) {
	s.table = append(s.table, Route{Method: method, Pattern: "/api" + pattern, Permission: permission})
	r.With(s.authorize(permission)).Method(method, pattern, h)
}

// public registers an /api route that anyone may call (signing in).
func (s *Server) public(r chi.Router, method, pattern string, h http.HandlerFunc) {
	s.table = append(s.table, Route{Method: method, Pattern: "/api" + pattern})
	r.Method(method, pattern, h)
}

// authorize asks access.Authorize for the principal auth found.
func (s *Server) authorize(permission string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := access.Authorize(access.PrincipalFrom(r.Context()), permission, access.DefaultNamespace); err != nil {
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
