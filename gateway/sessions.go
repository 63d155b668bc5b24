package gateway

// The console's sign-in: a browser that knows the API token exchanges it
// once for a cookie session, so the token is never kept in the page. The
// cookie is HttpOnly and SameSite=Strict; every state-changing request it
// authenticates must also carry the session's CSRF token (csrfToken).

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
)

// SessionCookie names the console's session cookie.
const SessionCookie = "weft_session"

// Default session and sign-in limits.
const (
	DefaultSessionIdle     = 30 * time.Minute
	DefaultSessionLifetime = 12 * time.Hour
	DefaultSignInFailures  = 5           // failed sign-ins per client address ...
	DefaultSignInWindow    = time.Minute // ... in this window; then 429
	maxSessions            = 10000       // live sessions kept at most (the oldest go first)
)

// MemorySessions keeps cookie sessions in this process's memory: a restart
// signs everyone out. The cookie holds a random 32-byte id; only its
// SHA-256 is kept, so a memory dump does not hand out live cookies.
type MemorySessions struct {
	Idle     time.Duration // a session unused this long ends (default 30m)
	Lifetime time.Duration // a session ends this long after sign-in, used or not (default 12h)
	Failures int           // failed sign-ins allowed per client address per Window (default 5)
	Window   time.Duration // default 1m
	Now      func() time.Time

	mu       sync.Mutex
	sessions map[[32]byte]*memSession
	failures map[string][]time.Time // client address -> recent failed sign-ins
}

type memSession struct {
	principal access.Principal // who signed in (the api_token's admin, or a local user)
	csrf      string
	created   time.Time
	lastSeen  time.Time
}

func (s *memSession) CSRFToken() string { return s.csrf }

// Principal is who signed in; a user's roles are read again on every request.
func (s *memSession) Principal() access.Principal { return s.principal }

// NewMemorySessions returns a session store with the default limits.
func NewMemorySessions() *MemorySessions {
	return &MemorySessions{}
}

func (m *MemorySessions) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *MemorySessions) limits() (idle, life time.Duration, failures int, window time.Duration) {
	idle, life, failures, window = m.Idle, m.Lifetime, m.Failures, m.Window
	if idle <= 0 {
		idle = DefaultSessionIdle
	}
	if life <= 0 {
		life = DefaultSessionLifetime
	}
	if failures <= 0 {
		failures = DefaultSignInFailures
	}
	if window <= 0 {
		window = DefaultSignInWindow
	}
	return
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashID(id string) [32]byte { return sha256.Sum256([]byte(id)) }

// create starts a session for p and returns its cookie value and the session.
func (m *MemorySessions) create(p access.Principal) (string, *memSession) {
	now := m.now()
	id := randomToken()
	s := &memSession{principal: p, csrf: randomToken(), created: now, lastSeen: now}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions == nil {
		m.sessions = map[[32]byte]*memSession{}
	}
	m.sweepLocked(now)
	if len(m.sessions) >= maxSessions {
		var oldest [32]byte
		var at time.Time
		for k, v := range m.sessions {
			if at.IsZero() || v.lastSeen.Before(at) {
				oldest, at = k, v.lastSeen
			}
		}
		delete(m.sessions, oldest)
	}
	m.sessions[hashID(id)] = s
	return id, s
}

// expiresAt is when s ends if it is not used again.
func (m *MemorySessions) expiresAt(s *memSession) time.Time {
	idle, life, _, _ := m.limits()
	end := s.lastSeen.Add(idle)
	if abs := s.created.Add(life); abs.Before(end) {
		end = abs
	}
	return end
}

func (m *MemorySessions) sweepLocked(now time.Time) {
	for k, v := range m.sessions {
		if !now.Before(m.expiresAt(v)) {
			delete(m.sessions, k)
		}
	}
}

// Session implements Sessions: the live session the request's cookie
// names, which counts as a use of it.
func (m *MemorySessions) Session(r *http.Request) (Session, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return nil, false
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	k := hashID(c.Value)
	s, ok := m.sessions[k]
	if !ok {
		return nil, false
	}
	if !now.Before(m.expiresAt(s)) {
		delete(m.sessions, k)
		return nil, false
	}
	s.lastSeen = now
	return s, true
}

// end removes the session the request's cookie names.
func (m *MemorySessions) end(r *http.Request) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return
	}
	m.mu.Lock()
	delete(m.sessions, hashID(c.Value))
	m.mu.Unlock()
}

// blocked reports how long the client must wait before another sign-in
// attempt (0: it may try now).
func (m *MemorySessions) blocked(client string) time.Duration {
	_, _, max, window := m.limits()
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	recent := m.recentLocked(client, now, window)
	if len(recent) < max {
		return 0
	}
	return recent[len(recent)-max].Add(window).Sub(now)
}

func (m *MemorySessions) recentLocked(client string, now time.Time, window time.Duration) []time.Time {
	var recent []time.Time
	for _, t := range m.failures[client] {
		if now.Sub(t) < window {
			recent = append(recent, t)
		}
	}
	if len(recent) == 0 {
		delete(m.failures, client)
	} else {
		m.failures[client] = recent
	}
	return recent
}

func (m *MemorySessions) fail(client string) {
	_, _, _, window := m.limits()
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failures == nil {
		m.failures = map[string][]time.Time{}
	}
	if len(m.failures) > maxSessions { // bound the table under a spray of addresses
		for k := range m.failures {
			m.recentLocked(k, now, window)
		}
	}
	m.failures[client] = append(m.recentLocked(client, now, window), now)
}

// clientIP is the address a request came from (the proxy's, behind one).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// --- routes ---------------------------------------------------------------

// sessionRoutes serves /api/session. They sit behind the host and
// cross-site checks but not behind auth: signing in is how a browser gets
// authenticated.
func (s *Server) sessionRoutes(r chi.Router) {
	s.public(r, http.MethodGet, "/session", s.getSession)
	s.public(r, http.MethodPost, "/session", s.signIn)
	s.public(r, http.MethodDelete, "/session", s.signOut)
}

func (s *Server) memSessions() (*MemorySessions, bool) {
	m, ok := s.cfg.Sessions.(*MemorySessions)
	return m, ok && m != nil
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	required, err := s.authRequired(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	out := map[string]any{"authenticated": false, "required": required}
	p, sess, err := s.authenticate(r)
	if err == nil {
		out["authenticated"] = true
		out["principal"] = p
		if sess != nil {
			out["csrf_token"] = sess.CSRFToken()
			if m, ok := s.memSessions(); ok {
				if ms, ok := sess.(*memSession); ok {
					m.mu.Lock()
					out["expires_at"] = m.expiresAt(ms).UTC().Format(time.RFC3339)
					m.mu.Unlock()
				}
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// signIn exchanges the api_token, or a local user's name and password, for
// a cookie session. Failures count against the client's address either way.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	m, ok := s.memSessions()
	if (s.cfg.APIToken == "" && s.cfg.Directory == nil) || !ok {
		writeErr(w, weft.Errorf(weft.EConflict, "this server has no sign-in: it needs no API token (api_token is not set and there are no users), or its sessions are not served by this process"))
		return
	}
	client := clientIP(r)
	if wait := m.blocked(client); wait > 0 {
		secs := int(wait/time.Second) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusTooManyRequests, errBody{Error: weft.Errorf(weft.EUnavailable, "too many failed sign-ins from this address: try again in %d s", secs)})
		return
	}
	data, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var req struct {
		Token    string `json:"token"`
		User     string `json:"user"`
		Password string `json:"password"`
	}
	if err := decodeJSON(data, &req); err != nil {
		writeErr(w, weft.Errorf(weft.EInvalid, `body must be {"token": "<api_token>"} or {"user": "<name>", "password": "<password>"}: %s`, weft.Message(err)))
		return
	}
	var p access.Principal
	switch {
	case req.User != "":
		if s.cfg.Directory == nil {
			writeErr(w, weft.Errorf(weft.EConflict, "this server has no local users"))
			return
		}
		p, err = s.cfg.Directory.SignIn(r.Context(), req.User, req.Password)
		if err != nil {
			if weft.Code(err) == weft.EUnauthorized {
				m.fail(client)
				s.log.Warn("console sign-in refused: wrong user name or password", "client", client, "user", clip(req.User, 64))
				s.record(r, access.Entry{Action: access.ActionSignInFailed, Resource: "session", Source: client, Outcome: access.OutcomeDenied,
					Details: map[string]any{"reason": "wrong user name or password", "user": clip(req.User, 64)}})
			}
			writeErr(w, err)
			return
		}
	default:
		tok := strings.TrimSpace(req.Token)
		if s.cfg.APIToken == "" || tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.APIToken)) != 1 {
			m.fail(client)
			s.log.Warn("console sign-in refused: wrong token", "client", client)
			s.record(r, access.Entry{Action: access.ActionSignInFailed, Resource: "session", Source: client, Outcome: access.OutcomeDenied,
				Details: map[string]any{"reason": "wrong API token"}})
			writeErr(w, weft.Errorf(weft.EUnauthorized, "wrong API token"))
			return
		}
		p = apiTokenPrincipal
	}
	id, sess := m.create(p)
	exp := m.expiresAt(sess)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.secureCookies(r)})
	s.log.Info("console signed in", "client", client, "principal", p.Actor())
	s.record(r.WithContext(access.WithPrincipal(r.Context(), p)), access.Entry{Action: access.ActionSignIn, Resource: "session", Source: client})
	writeJSON(w, http.StatusOK, map[string]any{"csrf_token": sess.csrf, "expires_at": exp.UTC().Format(time.RFC3339), "principal": p})
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if m, ok := s.memSessions(); ok {
		if sess, ok := m.Session(r); ok {
			// A signed-in browser proves itself like any state change does:
			// another site must not sign the operator out.
			if subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(sess.CSRFToken())) != 1 {
				writeErr(w, weft.Errorf(weft.EForbidden, "signing out needs the session's CSRF token in %s", CSRFHeader))
				return
			}
			m.end(r)
			who := apiTokenPrincipal
			if ps, ok := sess.(principalSession); ok {
				who = ps.Principal()
			}
			s.record(r.WithContext(access.WithPrincipal(r.Context(), who)), access.Entry{Action: access.ActionSignOut, Resource: "session", Source: clientIP(r)})
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.secureCookies(r)})
	writeJSON(w, http.StatusOK, map[string]any{"signed_out": true})
}

// secureCookies: over TLS, or when browsers reach this server over https
// (a TLS-terminating proxy in front).
func (s *Server) secureCookies(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(strings.ToLower(s.cfg.PublicURL), "https://")
}
