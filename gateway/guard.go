package gateway

// Who may reach the server: which listen addresses need authentication,
// the API token, and the checks that keep a browser from being used against
// the API (cross-site requests, DNS rebinding, cookie sessions without a
// CSRF token).

import (
	"context"
	"crypto/subtle"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/weftio/weft"
)

// MinTokenLen is the shortest API token accepted on a non-loopback address.
const MinTokenLen = 16

// Exposure describes what weft serve is about to open to its network.
type Exposure struct {
	Addr        string // the listen address (--addr)
	APIToken    string // protects /api, /metrics and /mcp
	MCPAuthMode string // mcp.auth.mode ("none" opens /mcp)
	DebugAddr   string // pprof: never authenticated
	Conformance bool   // the MCP conformance fixture: never authenticated
	Insecure    bool   // --insecure: the operator accepts an open server
	// ClientCertRequired: the listener is TLS with require_client_cert
	// (mutual TLS): no request reaches the server without a certificate
	// that chains to the configured client CA, so the listen address is
	// authenticated even without an api_token (see docs/security.md).
	ClientCertRequired bool
	// SSO: single sign-on is configured, so every API request needs a
	// credential (a signed-in session or a token) even without an
	// api_token.
	SSO bool
	// Users: local users exist (weft users create), so every API request
	// needs a credential (a signed-in session or a token), and /mcp in
	// auto mode needs one too. Known only once the store is open.
	Users bool
}

// Loopback reports whether a listen address (host:port) is reachable from
// this machine only. An empty host (":8080"), an unspecified address
// (0.0.0.0, ::), any other IP and any host name but "localhost" count as
// exposed: a name may resolve to anything, and the address actually bound
// is checked again once listening.
func Loopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, weft.Errorf(weft.EInvalid, "listen address %q: %v (use host:port, e.g. 127.0.0.1:8080)", addr, err)
	}
	return loopbackHost(host), nil
}

// loopbackHost: "localhost" or a loopback IP (127.0.0.0/8, ::1, and
// IPv4-mapped forms), zone-free.
func loopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.Unmap().IsLoopback()
}

// CheckExposure refuses a configuration that would serve anything without
// authentication beyond loopback, unless Insecure is set; then it returns
// the warnings to log, loudly, for what is open.
func CheckExposure(x Exposure) (warnings []string, err error) {
	var open []string
	loop, err := Loopback(x.Addr)
	if err != nil {
		return nil, err
	}
	// Required mutual TLS authenticates every connection before any byte
	// of HTTP is read: whoever reaches the server holds a client
	// certificate, so nothing on the listen address is open to "anyone who
	// can reach it". TLS without required client certificates is
	// encryption, not authentication, and changes nothing here.
	if !loop && !x.ClientCertRequired {
		switch {
		case x.APIToken == "" && !x.SSO && !x.Users:
			open = append(open, fmt.Sprintf("%s is not a loopback address and no api_token is set: anyone who can reach it can deploy flows, read runs, create MCP keys, change connections and call every MCP tool", x.Addr))
		case x.APIToken != "" && len(x.APIToken) < MinTokenLen:
			open = append(open, fmt.Sprintf("%s is not a loopback address and the api_token is shorter than %d characters (guessable)", x.Addr, MinTokenLen))
		}
		if x.MCPAuthMode == "none" {
			open = append(open, fmt.Sprintf("%s is not a loopback address and mcp.auth.mode is none: anyone who can reach it can call every MCP tool", x.Addr))
		}
		if x.Conformance {
			open = append(open, fmt.Sprintf("%s is not a loopback address and the MCP conformance fixture (/mcp/conformance, no authentication) is mounted", x.Addr))
		}
	}
	if x.DebugAddr != "" {
		dl, err := Loopback(x.DebugAddr)
		if err != nil {
			return nil, weft.Errorf(weft.EInvalid, "debug_addr: %v", err)
		}
		if !dl {
			open = append(open, fmt.Sprintf("debug_addr %s is not a loopback address: pprof has no authentication and its heap profiles hold secrets", x.DebugAddr))
		}
	}
	if len(open) == 0 {
		return nil, nil
	}
	if !x.Insecure {
		return nil, weft.Errorf(weft.EInvalid, "refusing to start: %s. Listen on 127.0.0.1 (--addr 127.0.0.1:8080), or set an api_token of at least %d random characters (WEFT_API_TOKEN; e.g. openssl rand -hex 32), or create a local user first (on 127.0.0.1: weft users create NAME --role admin --namespace '*'; sign-in is then required everywhere); --insecure (config insecure: true) starts it open anyway",
			strings.Join(open, "; "), MinTokenLen)
	}
	for _, o := range open {
		warnings = append(warnings, "INSECURE (--insecure): "+o)
	}
	return warnings, nil
}

// --- authentication -----------------------------------------------------------

// Session is a browser session authenticated by a cookie. A browser
// attaches cookies to requests that other sites make it send, so a
// state-changing request that a Session authenticates must also carry the
// session's CSRF token in the X-CSRF-Token header (a synchronizer token:
// Weft's pages read it from the session and send it back; another site can
// neither read nor set it).
type Session interface {
	CSRFToken() string
}

// Sessions finds the session a request's cookie names (the console's
// sign-in provides it; none is configured yet).
type Sessions interface {
	Session(r *http.Request) (Session, bool)
}

type sessionKey struct{}

// SessionFrom returns the cookie session that authenticated the request.
func SessionFrom(ctx context.Context) (Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(Session)
	return s, ok
}

// CSRFHeader carries a cookie session's CSRF token.
const CSRFHeader = "X-CSRF-Token"

// bearer returns the token of an "Authorization: Bearer <token>" header
// (the scheme is case-insensitive), or "".
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// csrfToken requires the session's CSRF token on every state-changing
// request a cookie session authenticated.
func (s *Server) csrfToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sess, ok := SessionFrom(r.Context()); ok && !safeMethod(r.Method) {
			want, got := sess.CSRFToken(), r.Header.Get(CSRFHeader)
			if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
				writeErr(w, weft.Errorf(weft.EForbidden, "a request authenticated by a session cookie needs the session's CSRF token in %s", CSRFHeader))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// --- browsers ------------------------------------------------------------------

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// guard keeps browsers from being used against the API: a page on another
// site must not change anything (Origin and Sec-Fetch-Site, through the
// standard library's CrossOriginProtection), must not get a body past the
// content-type check (only JSON and YAML, which a cross-site form or a
// "simple" fetch cannot send), and must not reach an open loopback server
// under its own rebound host name.
type guard struct {
	cop        *http.CrossOriginProtection
	publicHost string // host[:port] of the configured public URL, lowercase
	open       bool   // no API token: the DNS-rebinding check applies
}

func newGuard(cfg Config) (*guard, error) {
	g := &guard{cop: http.NewCrossOriginProtection(), open: cfg.APIToken == ""}
	if cfg.PublicURL != "" {
		origin, host, err := PublicOrigin(cfg.PublicURL)
		if err != nil {
			return nil, err
		}
		if err := g.cop.AddTrustedOrigin(origin); err != nil {
			return nil, weft.Errorf(weft.EInvalid, "public_url: %v", err)
		}
		g.publicHost = host
	}
	g.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, weft.Errorf(weft.EForbidden, "cross-origin request refused: %s %s comes from another site (Origin %q, Sec-Fetch-Site %q); set public_url if this is Weft's own address",
			r.Method, r.URL.Path, clip(r.Header.Get("Origin"), 100), clip(r.Header.Get("Sec-Fetch-Site"), 30)))
	}))
	return g, nil
}

// PublicOrigin checks a public URL (https://weft.example.com) and returns
// its origin and its host (host[:port], lowercase).
func PublicOrigin(raw string) (origin, host string, err error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", "", weft.Errorf(weft.EInvalid, "public_url %q: use scheme://host[:port], e.g. https://weft.example.com", clip(raw, 200))
	}
	host = strings.ToLower(u.Host)
	// Browsers leave the default port out of Origin and Host.
	if h, port, err := net.SplitHostPort(host); err == nil && (u.Scheme == "https" && port == "443" || u.Scheme == "http" && port == "80") {
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	}
	return u.Scheme + "://" + host, host, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// hosts refuses, on a server without an API token, a request that came in
// over loopback under a host name that is not loopback or the public URL's:
// that is how a page on evil.example reaches 127.0.0.1 once its DNS name
// rebinds there, with Origin and Host both evil.example.
func (g *guard) hosts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.open && !g.hostAllowed(r) {
			writeErr(w, weft.Errorf(weft.EForbidden, "host %q refused: this server has no API token and answers only as localhost or a loopback address (or set public_url)", clip(r.Host, 100)))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (g *guard) hostAllowed(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if ok && local != nil {
		if ap, err := netip.ParseAddrPort(local.String()); err == nil && !ap.Addr().Unmap().IsLoopback() {
			return true // not reached over loopback: rebinding to us cannot have happened
		}
	}
	host := strings.ToLower(r.Host)
	if g.publicHost != "" && host == g.publicHost {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return loopbackHost(host)
}

// crossSite refuses state-changing requests from other sites and bodies
// that are not JSON or YAML.
func (g *guard) crossSite(next http.Handler) http.Handler {
	protected := g.cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !safeMethod(r.Method) && r.ContentLength != 0 && !apiMediaType(r.Header.Get("Content-Type")) && !importXML(r) {
			w.Header().Set("Accept", "application/json, application/yaml")
			writeJSON(w, http.StatusUnsupportedMediaType, errBody{Error: weft.Errorf(weft.EInvalid,
				"Content-Type %q: the API takes application/json or application/yaml bodies", clip(r.Header.Get("Content-Type"), 100))})
			return
		}
		next.ServeHTTP(w, r)
	}))
	return protected
}

// apiMediaType: JSON (application/json, application/*+json) or YAML
// (application/yaml, application/x-yaml, text/yaml, text/x-yaml).
func apiMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
		return true
	}
	return strings.HasPrefix(mt, "application/") && (strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+yaml"))
}

// importXML: a WSDL posted to the connector import as XML (text/xml,
// application/xml, application/wsdl+xml). None is a type a cross-site
// form can send without a preflight.
func importXML(r *http.Request) bool {
	if !strings.HasSuffix(r.URL.Path, "/api/connectors/import") {
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && (mt == "text/xml" || mt == "application/xml" || mt == "application/wsdl+xml")
}
