package gateway

// The HTTP server around the router: how long a client may take to send a
// request, and the answer to a method a route does not take.

import (
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/weftio/weft"
)

// Limits bound what a client may hold of the server: a request's headers
// and body must arrive in time, an idle keep-alive connection is closed.
// Writing is not bounded here: a synchronous flow answers when it is done
// (sync_timeout bounds it) and MCP streams stay open.
type Limits struct {
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"` // default 10s
	BodyTimeout       time.Duration `yaml:"body_timeout"`        // the body, after the headers (the request as a whole: both timeouts); default 60s
	IdleTimeout       time.Duration `yaml:"idle_timeout"`        // default 120s
	MaxHeaderBytes    int           `yaml:"max_header_bytes"`    // default 64 KiB
}

// WithDefaults fills unset limits.
func (l Limits) WithDefaults() Limits {
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = 10 * time.Second
	}
	if l.BodyTimeout <= 0 {
		l.BodyTimeout = 60 * time.Second
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 120 * time.Second
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 64 << 10
	}
	return l
}

// NewHTTPServer returns the server for h under the limits. The body
// timeout is the server's ReadTimeout, counted from the start of the
// request: once a handler has read its body to the end, the server lifts
// the deadline itself (to watch for the client going away), so a long
// synchronous flow still answers with its context intact.
func NewHTTPServer(h http.Handler, l Limits) *http.Server {
	l = l.WithDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadHeaderTimeout + l.BodyTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}

// methodNotAllowed answers 405 in the error shape, with Allow naming the
// methods the path takes.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		if s.r.Match(chi.NewRouteContext(), m, r.URL.Path) {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
	}
	writeJSON(w, http.StatusMethodNotAllowed, errBody{Error: weft.Errorf(weft.EInvalid, "%s is not allowed on %s (allowed: %s)",
		clip(r.Method, 20), clip(r.URL.Path, 200), strings.Join(allow, ", "))})
}
