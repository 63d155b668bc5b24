package gateway

// The console's sign-in: a browser that knows the API token exchanges it
// once for a cookie session, so the token is never kept in the page. The
// cookie is HttpOnly and SameSite=Strict; every state-changing request it
// authenticates must also carry the session's CSRF token (csrfToken).

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/access/sso"
	"github.com/weftio/weft/store"
)

// SessionCookie names the console's session cookie.
const SessionCookie = "weft_session"

// Default session and sign-in limits.
const (
	DefaultSessionIdle      = 30 * time.Minute
	DefaultSessionLifetime  = 12 * time.Hour
	DefaultSignInFailures   = 5           // failed sign-ins per client address ...
	DefaultSignInWindow     = time.Minute // ... in this window; then 429
	maxSessions             = 10000       // live sessions kept at most (the oldest go first)
	maxSessionsPerPrincipal = 100         // stored sessions of one user, service account or the API token
)

// MemorySessions keeps cookie sessions: in this process's memory (a
// restart signs everyone out), or, with Store set, in the database (they
// survive a restart and every process on the same database shares them).
// The cookie holds a random 32-byte id; only its SHA-256 is kept, so
// neither a memory dump nor a copy of the database hands out live cookies.
// A single-sign-on session also keeps the provider's tokens (refresh token,
// last ID token), sealed with the master key (Keys) when stored.
type MemorySessions struct {
	Idle     time.Duration // a session unused this long ends (default 30m)
	Lifetime time.Duration // a session ends this long after sign-in, used or not (default 12h)
	Failures int           // failed sign-ins allowed per client address per Window (default 5)
	Window   time.Duration // default 1m
	Now      func() time.Time
	// Store, when set, keeps the sessions in the database; Keys seals
	// their provider tokens there (required with Store for single sign-on).
	Store store.Sessions
	Keys  Sealer

	apiTokenID string // names the api_token that stored api_token sessions signed in with

	mu        sync.Mutex
	sessions  map[[32]byte]*memSession
	failures  map[string][]time.Time // client address -> recent failed sign-ins
	lastPurge time.Time
	refreshMu sync.Map // hash -> *sync.Mutex: one provider refresh per session at a time
}

// Sealer seals provider tokens at rest (the master key's keyring).
type Sealer interface {
	Seal(name string, plain []byte) (keyID string, sealed []byte, err error)
	Open(name, keyID string, sealed []byte) ([]byte, error)
}

type memSession struct {
	key       [32]byte
	principal access.Principal // who signed in (the api_token's admin, or a local or single-sign-on user)
	csrf      string
	created   time.Time
	lastSeen  time.Time
	tokens    *sso.Tokens // a single-sign-on session's provider tokens; nil otherwise
}

func (s *memSession) CSRFToken() string { return s.csrf }

// Principal is who signed in; a user's roles are read again on every request.
func (s *memSession) Principal() access.Principal { return s.principal }

// NewMemorySessions returns a session store with the default limits.
func NewMemorySessions() *MemorySessions {
	return &MemorySessions{}
}

// NewStoredSessions returns sessions kept in st, provider tokens sealed
// with keys.
func NewStoredSessions(st store.Sessions, keys Sealer) *MemorySessions {
	return &MemorySessions{Store: st, Keys: keys}
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

// apiTokenID names an api_token without revealing it ("" for none).
func apiTokenID(tok string) string {
	if tok == "" {
		return ""
	}
	h := sha256.Sum256([]byte("weft api_token session\x00" + tok))
	return "api_token:" + hex.EncodeToString(h[:8])
}

// storeTouchEvery: a stored session's last use is written at most this
// often (its idle timeout may end it up to this much early).
const storeTouchEvery = time.Minute

func sealName(key [32]byte) string { return "session:" + hex.EncodeToString(key[:]) }

// create starts a session for p (with a single-sign-on session's provider
// tokens) and returns its cookie value and the session.
func (m *MemorySessions) create(ctx context.Context, p access.Principal, tok *sso.Tokens) (string, *memSession, error) {
	now := m.now()
	id := randomToken()
	s := &memSession{key: hashID(id), principal: p, csrf: randomToken(), created: now, lastSeen: now, tokens: tok}
	if m.Store != nil {
		m.purge(ctx, now)
		pj, _ := json.Marshal(p)
		_, life, _, _ := m.limits()
		row := store.Session{IDHash: hex.EncodeToString(s.key[:]), PrincipalKind: p.Kind, PrincipalID: p.ID, Principal: string(pj), CSRF: s.csrf,
			CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(life)}
		if p.Kind == access.KindAPIToken {
			row.PrincipalID = m.apiTokenID
		}
		if tok != nil {
			var err error
			if row.TokensKey, row.Tokens, err = m.seal(s.key, *tok); err != nil {
				return "", nil, err
			}
			row.TokensExpiry = tok.Expiry
		}
		if err := m.Store.CreateSession(ctx, row, store.SessionCaps{PerPrincipal: maxSessionsPerPrincipal, Total: maxSessions}); err != nil {
			return "", nil, err
		}
		return id, s, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions == nil {
		m.sessions = map[[32]byte]*memSession{}
	}
	m.sweepLocked(now)
	m.evictLocked(maxSessionsPerPrincipal, func(v *memSession) bool { return v.principal.Kind == p.Kind && v.principal.ID == p.ID })
	m.evictLocked(maxSessions, func(*memSession) bool { return true })
	m.sessions[s.key] = s
	return id, s, nil
}

// evictLocked makes room for one more session among those matching: while
// keep or more match, the least recently used of them goes.
func (m *MemorySessions) evictLocked(keep int, match func(*memSession) bool) {
	for {
		n := 0
		var oldest [32]byte
		var at time.Time
		for k, v := range m.sessions {
			if !match(v) {
				continue
			}
			n++
			if at.IsZero() || v.lastSeen.Before(at) {
				oldest, at = k, v.lastSeen
			}
		}
		if n < keep {
			return
		}
		delete(m.sessions, oldest)
	}
}

func (m *MemorySessions) seal(key [32]byte, t sso.Tokens) (string, []byte, error) {
	if m.Keys == nil {
		return "", nil, weft.Errorf(weft.EInternal, "sessions: no master key to seal the provider's tokens with")
	}
	plain, _ := json.Marshal(t)
	return m.Keys.Seal(sealName(key), plain)
}

// purge deletes expired stored sessions, at most once a minute.
func (m *MemorySessions) purge(ctx context.Context, now time.Time) {
	m.mu.Lock()
	due := now.Sub(m.lastPurge) >= time.Minute
	if due {
		m.lastPurge = now
	}
	m.mu.Unlock()
	if due {
		idle, _, _, _ := m.limits()
		_, _ = m.Store.PurgeSessions(ctx, now, now.Add(-idle))
	}
}

// Sweep deletes the sessions past their idle or absolute timeout (they are
// refused anyway; this keeps the table small) and reports how many.
func (m *MemorySessions) Sweep(ctx context.Context) (int64, error) {
	now := m.now()
	if m.Store != nil {
		idle, _, _, _ := m.limits()
		return m.Store.PurgeSessions(ctx, now, now.Add(-idle))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.sessions)
	m.sweepLocked(now)
	return int64(n - len(m.sessions)), nil
}

// RunSweep sweeps every interval until ctx ends.
func (m *MemorySessions) RunSweep(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = m.Sweep(ctx)
		}
	}
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
	k := hashID(c.Value)
	if m.Store != nil {
		return m.stored(r.Context(), k, now)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
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

// stored reads a stored session (an error reads as no session).
func (m *MemorySessions) stored(ctx context.Context, k [32]byte, now time.Time) (Session, bool) {
	h := hex.EncodeToString(k[:])
	row, err := m.Store.SessionByHash(ctx, h)
	if err != nil {
		return nil, false
	}
	s := &memSession{key: k, csrf: row.CSRF, created: row.CreatedAt, lastSeen: row.LastSeen}
	if err := json.Unmarshal([]byte(row.Principal), &s.principal); err != nil || s.principal.Kind != row.PrincipalKind {
		return nil, false
	}
	if row.PrincipalKind != access.KindUser && row.PrincipalKind != access.KindAPIToken {
		return nil, false // only sign-ins make sessions: a user or the api_token
	}
	if row.PrincipalKind == access.KindAPIToken && (m.apiTokenID == "" || row.PrincipalID != m.apiTokenID) {
		// Signed in with an api_token that is no longer the configured one.
		_ = m.Store.DeleteSession(ctx, h)
		return nil, false
	}
	if !now.Before(m.expiresAt(s)) || !now.Before(row.ExpiresAt) {
		_ = m.Store.DeleteSession(ctx, h)
		return nil, false
	}
	if row.Tokens != nil {
		plain, err := m.openTokens(k, row.TokensKey, row.Tokens)
		if err != nil {
			// Sealed under a retired key, or tampered with: sign in again.
			_ = m.Store.DeleteSession(ctx, h)
			return nil, false
		}
		s.tokens = plain
	}
	if now.Sub(row.LastSeen) >= storeTouchEvery {
		if err := m.Store.TouchSession(ctx, h, now); err != nil {
			return nil, false
		}
	}
	s.lastSeen = now
	return s, true
}

func (m *MemorySessions) openTokens(k [32]byte, keyID string, sealed []byte) (*sso.Tokens, error) {
	if m.Keys == nil {
		return nil, weft.Errorf(weft.EInternal, "sessions: no master key")
	}
	plain, err := m.Keys.Open(sealName(k), keyID, sealed)
	if err != nil {
		return nil, err
	}
	var t sso.Tokens
	if err := json.Unmarshal(plain, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// tokensOf is a session's provider tokens (nil: not a single-sign-on session).
func (m *MemorySessions) tokensOf(s *memSession) *sso.Tokens {
	m.mu.Lock()
	defer m.mu.Unlock()
	return s.tokens
}

// setTokens replaces a single-sign-on session's provider tokens after a
// refresh.
func (m *MemorySessions) setTokens(ctx context.Context, s *memSession, t sso.Tokens) error {
	if m.Store != nil {
		keyID, sealed, err := m.seal(s.key, t)
		if err != nil {
			return err
		}
		if err := m.Store.SetSessionTokens(ctx, hex.EncodeToString(s.key[:]), keyID, sealed, t.Expiry); err != nil {
			return err
		}
	}
	m.mu.Lock()
	s.tokens = &t
	m.mu.Unlock()
	return nil
}

// currentTokens re-reads a session's provider tokens (another request, or
// another process, may have refreshed them).
func (m *MemorySessions) currentTokens(ctx context.Context, s *memSession) (*sso.Tokens, error) {
	if m.Store == nil {
		m.mu.Lock()
		defer m.mu.Unlock()
		return s.tokens, nil
	}
	row, err := m.Store.SessionByHash(ctx, hex.EncodeToString(s.key[:]))
	if err != nil {
		return nil, err
	}
	if row.Tokens == nil {
		return nil, weft.Errorf(weft.EUnauthorized, "this session has no provider tokens")
	}
	return m.openTokens(s.key, row.TokensKey, row.Tokens)
}

// lockRefresh serializes provider refreshes of one session in this
// process (a rotated refresh token is good for one use).
func (m *MemorySessions) lockRefresh(s *memSession) func() {
	v, _ := m.refreshMu.LoadOrStore(s.key, &sync.Mutex{})
	mu := v.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// endSession removes a session.
func (m *MemorySessions) endSession(ctx context.Context, s *memSession) {
	m.refreshMu.Delete(s.key)
	if m.Store != nil {
		_ = m.Store.DeleteSession(ctx, hex.EncodeToString(s.key[:]))
		return
	}
	m.mu.Lock()
	delete(m.sessions, s.key)
	m.mu.Unlock()
}

// end removes the session the request's cookie names.
func (m *MemorySessions) end(r *http.Request) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return
	}
	m.endSession(r.Context(), &memSession{key: hashID(c.Value)})
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

// fail counts a failed sign-in from client; locked reports that this
// failure reached the limit (the client waits from now on).
func (m *MemorySessions) fail(client string) (locked bool) {
	_, _, max, window := m.limits()
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
	return len(m.failures[client]) == max
}

// signInFailed counts a failed sign-in; the one that locks the client out
// is audited as such (once per lock-out: the refused attempts during it are
// answered 429 without an entry each, so a flood cannot fill the log).
func (s *Server) signInFailed(r *http.Request, m *MemorySessions, client string) {
	if !m.fail(client) {
		return
	}
	_, _, max, window := m.limits()
	s.log.Warn("console sign-in locked out: too many failures", "client", client, "failures", max, "window", window.String())
	s.record(r, access.Entry{Action: access.ActionSignInLocked, Resource: "session", Source: client, Outcome: access.OutcomeDenied,
		Details: map[string]any{"failures": max, "window_s": int(window / time.Second)}})
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
	s.public(r, http.MethodGet, "/session/oidc", s.ssoStart)
	s.public(r, http.MethodGet, "/session/oidc/callback", s.ssoCallback)
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
	if s.cfg.SSO != nil {
		out["sso"] = map[string]any{"enabled": true, "sign_in_url": SSOStartPath}
	}
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
				s.signInFailed(r, m, client)
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
			s.signInFailed(r, m, client)
			s.log.Warn("console sign-in refused: wrong token", "client", client)
			s.record(r, access.Entry{Action: access.ActionSignInFailed, Resource: "session", Source: client, Outcome: access.OutcomeDenied,
				Details: map[string]any{"reason": "wrong API token"}})
			writeErr(w, weft.Errorf(weft.EUnauthorized, "wrong API token"))
			return
		}
		p = apiTokenPrincipal
	}
	id, sess, err := m.create(r.Context(), p, nil)
	if err != nil {
		writeErr(w, err)
		return
	}
	exp := m.expiresAt(sess)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.secureCookies(r)})
	s.log.Info("console signed in", "client", client, "principal", p.Actor())
	s.record(r.WithContext(access.WithPrincipal(r.Context(), p)), access.Entry{Action: access.ActionSignIn, Resource: "session", Source: client})
	writeJSON(w, http.StatusOK, map[string]any{"csrf_token": sess.csrf, "expires_at": exp.UTC().Format(time.RFC3339), "principal": p})
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	out := map[string]any{"signed_out": true}
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
			// A single-sign-on user is also signed in at the provider:
			// the console offers its sign-out page.
			if ms, ok := sess.(*memSession); ok && s.cfg.SSO != nil {
				if tok := m.tokensOf(ms); tok != nil {
					if u := s.cfg.SSO.EndSessionURL(r.Context(), tok.IDToken); u != "" {
						out["end_session_url"] = u
					}
				}
			}
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.secureCookies(r)})
	writeJSON(w, http.StatusOK, out)
}

// secureCookies: over TLS, or when browsers reach this server over https
// (a TLS-terminating proxy in front).
func (s *Server) secureCookies(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(strings.ToLower(s.cfg.PublicURL), "https://")
}
