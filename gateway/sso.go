package gateway

// Single sign-on with OpenID Connect: GET /api/session/oidc sends the
// browser to the provider (state, nonce and PKCE verifier in a short-lived,
// sealed, HttpOnly cookie); the provider sends it back to
// /api/session/oidc/callback, where the code is redeemed, the ID token
// verified, the user's groups mapped to roles, the user provisioned in the
// directory and a cookie session started, as a password sign-in does.
// While the session lives, its provider tokens are refreshed when they
// expire and the groups mapped again; a failed refresh ends the session.

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/access/sso"
	"github.com/weftio/weft/internal/seal"
)

// SSO is the OpenID provider behind "Sign in with SSO" (*sso.Provider).
type SSO interface {
	Issuer() string
	AuthURL(ctx context.Context, f sso.Flow) (string, error)
	Exchange(ctx context.Context, f sso.Flow, code string) (sso.Login, error)
	Refresh(ctx context.Context, subject string, t sso.Tokens) (sso.Login, error)
	EndSessionURL(ctx context.Context, idToken string) string
}

// The single-sign-on routes.
const (
	SSOStartPath    = "/api/session/oidc"
	SSOCallbackPath = "/api/session/oidc/callback"
	ssoFlowCookie   = "weft_oidc"
	ssoFlowTTL      = 10 * time.Minute
	maxFlowCookie   = 2048
)

// flowSealer seals the sign-in flow cookie: the master key when the server
// has one (any process of a cluster can finish a flow another started),
// else a key of this process's own.
func (s *Server) flowSealer() Sealer {
	if s.cfg.Keys != nil {
		return s.cfg.Keys
	}
	return s.ownKeys
}

type flowCookie struct {
	sso.Flow
	Expires int64 `json:"exp"`
}

func (s *Server) ssoStart(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.cfg.SSO == nil {
		writeErr(w, weft.Errorf(weft.ENotFound, "single sign-on is not configured (oidc in the config file)"))
		return
	}
	if _, ok := s.memSessions(); !ok {
		writeErr(w, weft.Errorf(weft.EConflict, "this server's sessions are not served by this process"))
		return
	}
	f := sso.NewFlow()
	to, err := s.cfg.SSO.AuthURL(r.Context(), f)
	if err != nil {
		s.log.Error("single sign-on: provider unavailable", "issuer", s.cfg.SSO.Issuer(), "err", err)
		writeErr(w, err)
		return
	}
	plain, _ := json.Marshal(flowCookie{Flow: f, Expires: time.Now().Add(ssoFlowTTL).Unix()})
	keyID, sealed, err := s.flowSealer().Seal(ssoFlowCookie, plain)
	if err != nil {
		writeErr(w, weft.Errorf(weft.EInternal, "sealing the sign-in flow: %v", err))
		return
	}
	// SameSite=Lax: the provider's redirect back is a cross-site top-level
	// navigation, which a Strict cookie would not survive.
	http.SetCookie(w, &http.Cookie{Name: ssoFlowCookie, Value: keyID + "." + base64.RawURLEncoding.EncodeToString(sealed), Path: SSOStartPath,
		MaxAge: int(ssoFlowTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(r)})
	http.Redirect(w, r, to, http.StatusFound)
}

// readFlow opens the flow cookie; any problem is the same refusal.
func (s *Server) readFlow(r *http.Request) (sso.Flow, error) {
	bad := weft.Errorf(weft.EInvalid, "this sign-in was not started here or has expired (no valid sign-in cookie): start again")
	c, err := r.Cookie(ssoFlowCookie)
	if err != nil || len(c.Value) > maxFlowCookie {
		return sso.Flow{}, bad
	}
	keyID, enc, ok := strings.Cut(c.Value, ".")
	if !ok {
		return sso.Flow{}, bad
	}
	sealed, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return sso.Flow{}, bad
	}
	plain, err := s.flowSealer().Open(ssoFlowCookie, keyID, sealed)
	if err != nil {
		return sso.Flow{}, bad
	}
	var fc flowCookie
	if err := json.Unmarshal(plain, &fc); err != nil || time.Now().Unix() > fc.Expires || fc.State == "" || fc.Verifier == "" || fc.Nonce == "" {
		return sso.Flow{}, bad
	}
	return fc.Flow, nil
}

func (s *Server) ssoCallback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.cfg.SSO == nil {
		writeErr(w, weft.Errorf(weft.ENotFound, "single sign-on is not configured (oidc in the config file)"))
		return
	}
	m, ok := s.memSessions()
	if !ok || s.cfg.Directory == nil {
		writeErr(w, weft.Errorf(weft.EConflict, "single sign-on needs the user directory and this process's sessions"))
		return
	}
	client := clientIP(r)
	// The flow cookie is good for one try, whatever happens.
	http.SetCookie(w, &http.Cookie{Name: ssoFlowCookie, Value: "", Path: SSOStartPath, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(r)})
	fail := func(err error, details map[string]any) {
		if details == nil {
			details = map[string]any{}
		}
		details["method"] = "oidc"
		details["reason"] = weft.Message(err)
		s.log.Warn("single sign-on refused", "client", client, "reason", weft.Message(err))
		s.record(r, access.Entry{Action: access.ActionSignInFailed, Resource: "session", Source: client, Outcome: access.OutcomeDenied, Details: details})
		if r.Header.Get("Sec-Fetch-Mode") == "navigate" {
			// A browser on its way back from the provider: the console's
			// sign-in page shows why (the status stays in the audit log).
			http.Redirect(w, r, "/?sso_error="+url.QueryEscape(clip(weft.Message(err), 300)), http.StatusSeeOther)
			return
		}
		writeErr(w, err)
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		fail(weft.Errorf(weft.EUnauthorized, "the provider refused the sign-in: %s %s", clip(e, 64), clip(q.Get("error_description"), 200)), nil)
		return
	}
	f, err := s.readFlow(r)
	if err != nil {
		fail(err, nil)
		return
	}
	if st := q.Get("state"); st == "" || subtle.ConstantTimeCompare([]byte(st), []byte(f.State)) != 1 {
		fail(weft.Errorf(weft.EInvalid, "the sign-in's state does not match (a forged or replayed callback): start again"), nil)
		return
	}
	code := q.Get("code")
	if code == "" || len(code) > 4096 {
		fail(weft.Errorf(weft.EInvalid, "the callback has no usable code"), nil)
		return
	}
	login, err := s.cfg.SSO.Exchange(r.Context(), f, code)
	if err != nil {
		var details map[string]any
		if login.Identity.Subject != "" {
			details = map[string]any{"user": clip(login.Identity.Name, 64), "subject": clip(login.Identity.Subject, 64)}
		}
		fail(err, details)
		return
	}
	p, err := s.cfg.Directory.SignInSSO(r.Context(), access.SSOUser{Issuer: login.Identity.Issuer, Subject: login.Identity.Subject, Name: login.Identity.Name, Roles: login.Roles})
	if err != nil {
		fail(err, map[string]any{"user": clip(login.Identity.Name, 64), "subject": clip(login.Identity.Subject, 64)})
		return
	}
	m.end(r) // a session this browser had before ends: one sign-in, one session
	id, _, err := m.create(r.Context(), p, &login.Tokens)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.hasUsers.Store(true)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secureCookies(r)})
	s.log.Info("console signed in with single sign-on", "client", client, "principal", p.Actor())
	s.record(r.WithContext(access.WithPrincipal(r.Context(), p)), access.Entry{Action: access.ActionSignIn, Resource: "session", Source: client,
		Details: map[string]any{"method": "oidc", "roles": p.Roles}})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// refreshSSO refreshes a single-sign-on session's provider tokens once they
// have expired and applies the groups' roles as they are now. A failed
// refresh ends the session.
func (s *Server) refreshSSO(r *http.Request, ms *memSession) error {
	m, ok := s.memSessions()
	if !ok {
		return nil
	}
	ctx := r.Context()
	tok := m.tokensOf(ms)
	if tok == nil || m.now().Before(tok.Expiry) {
		return nil
	}
	unlock := m.lockRefresh(ms)
	defer unlock()
	end := func(err error) error {
		m.endSession(ctx, ms)
		s.log.Info("single-sign-on session ended", "principal", ms.principal.Actor(), "reason", weft.Message(err))
		s.record(r.WithContext(access.WithPrincipal(ctx, ms.principal)), access.Entry{Action: access.ActionSignOut, Resource: "session", Source: clientIP(r),
			Outcome: access.OutcomeDenied, Details: map[string]any{"method": "oidc", "reason": weft.Message(err)}})
		return weft.Errorf(weft.EUnauthorized, "your single-sign-on session ended (%s): sign in again", weft.Message(err))
	}
	cur, err := m.currentTokens(ctx, ms)
	if err != nil || cur == nil {
		return end(weft.Errorf(weft.EUnauthorized, "its provider tokens are gone"))
	}
	if m.now().Before(cur.Expiry) { // another request refreshed them meanwhile
		m.mu.Lock()
		ms.tokens = cur
		m.mu.Unlock()
		return nil
	}
	if s.cfg.SSO == nil || s.cfg.Directory == nil {
		return end(weft.Errorf(weft.EUnauthorized, "single sign-on is no longer configured"))
	}
	u, err := s.cfg.Directory.SSOUserByID(ctx, ms.principal.ID)
	if err != nil {
		return end(err)
	}
	subject, ok := strings.CutPrefix(u.Subject, s.cfg.SSO.Issuer()+" ")
	if !ok {
		return end(weft.Errorf(weft.EUnauthorized, "the user signed in with another provider"))
	}
	before, _ := s.cfg.Directory.User(ctx, u.ID)
	login, err := s.cfg.SSO.Refresh(ctx, subject, *cur)
	if err != nil {
		return end(err)
	}
	if err := s.cfg.Directory.SetSSORoles(ctx, u.ID, login.Roles); err != nil {
		return err
	}
	if err := m.setTokens(ctx, ms, login.Tokens); err != nil {
		return end(err)
	}
	if !maps.Equal(before.Roles, login.Roles) {
		s.record(r.WithContext(access.WithPrincipal(ctx, access.Principal{Kind: access.KindSystem, Name: "oidc"})), access.Entry{Action: access.ActionRoleChange,
			Resource: "user:" + u.Name, Source: clientIP(r), Details: map[string]any{"before": before.Roles, "after": login.Roles, "method": "oidc refresh"}})
	}
	return nil
}

// newOwnKeys is a key of this process's own for flow cookies.
func newOwnKeys() Sealer {
	k, _ := seal.New(seal.NewKey())
	return k
}
