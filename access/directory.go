package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/lazy"
	"github.com/weftio/weft/store"
)

// Directory manages local users, personal access tokens and service
// accounts, and turns credentials into Principals.
type Directory struct {
	s   store.Identities
	Now func() time.Time
	// CacheTTL is how long a principal resolved from a token or for a
	// signed-in user is reused (cache.go): 0 means DefaultCacheTTL,
	// negative turns the cache off. Changes made through the Directory
	// take effect at once; others (another process) within CacheTTL.
	CacheTTL time.Duration

	cache principalCache

	dummyOnce sync.Once
	dummy     string // a hash to verify against for unknown users (same cost as a real one)
}

// NewDirectory returns a directory over s.
func NewDirectory(s store.Identities) *Directory { return &Directory{s: s} }

func (d *Directory) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

var nameRe = lazy.NewRegexp(`^[a-z0-9][a-z0-9._@-]{0,63}$`)

// CheckName refuses a user, token or namespace name that is not 1-64 of
// a-z 0-9 . _ @ - (starting with a letter or digit).
func CheckName(what, name string) error {
	if !nameRe.MatchString(name) {
		return weft.Errorf(weft.EInvalid, "%s %q: use 1-64 characters a-z 0-9 . _ @ - starting with a letter or digit", what, clip(name, 80))
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func checkBinding(role, namespace string) error {
	if !ValidRole(role) {
		return weft.Errorf(weft.EInvalid, "role %q: use one of %s", clip(role, 40), strings.Join(Roles(), ", "))
	}
	if namespace != AllNamespaces {
		return CheckNamespace(namespace)
	}
	return nil
}

func newID(prefix string) string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	return prefix + hex.EncodeToString(b)
}

// UserInfo is a user with its role bindings.
type UserInfo struct {
	store.User
	Roles map[string]string `json:"roles"`
}

// CreateUser adds a local user with a role in a namespace.
func (d *Directory) CreateUser(ctx context.Context, name, password, role, namespace string) (UserInfo, error) {
	if err := CheckName("user name", name); err != nil {
		return UserInfo{}, err
	}
	if err := checkBinding(role, namespace); err != nil {
		return UserInfo{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return UserInfo{}, err
	}
	u := store.User{ID: newID("u_"), Name: name, PasswordHash: hash, CreatedAt: d.now().UTC()}
	defer d.cache.invalidate() // "no users" ends now
	if err := d.s.CreateUser(ctx, u); err != nil {
		return UserInfo{}, err
	}
	if err := d.s.SetRoleBinding(ctx, store.RoleBinding{Principal: u.ID, Namespace: namespace, Role: role}); err != nil {
		return UserInfo{}, err
	}
	return UserInfo{User: u, Roles: map[string]string{namespace: role}}, nil
}

// SetRole binds (role "" unbinds) a user to a role in a namespace.
func (d *Directory) SetRole(ctx context.Context, name, role, namespace string) error {
	if role != "" {
		if err := checkBinding(role, namespace); err != nil {
			return err
		}
	}
	u, err := d.s.User(ctx, name)
	if err != nil {
		return err
	}
	defer d.cache.invalidate()
	return d.s.SetRoleBinding(ctx, store.RoleBinding{Principal: u.ID, Namespace: namespace, Role: role})
}

// Users lists the local users with their roles.
func (d *Directory) Users(ctx context.Context) ([]UserInfo, error) {
	us, err := d.s.Users(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]UserInfo, 0, len(us))
	for _, u := range us {
		roles, err := d.roles(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, UserInfo{User: u, Roles: roles})
	}
	return out, nil
}

// HasUsers reports whether any local user exists (then the API needs
// authentication, even on loopback).
func (d *Directory) HasUsers(ctx context.Context) (bool, error) {
	ttl := d.ttl()
	var gen uint64
	if ttl > 0 {
		var none bool
		if none, gen = d.cache.noUsers(d.now()); none {
			return false, nil
		}
	}
	us, err := d.s.Users(ctx)
	if err == nil && len(us) == 0 && ttl > 0 {
		d.cache.setNoUsers(d.now().Add(ttl), gen)
	}
	return len(us) > 0, err
}

// DisableUser stops a user from signing in; its sessions and personal
// access tokens stop working at their next request.
func (d *Directory) DisableUser(ctx context.Context, name string) error {
	defer d.cache.invalidate()
	return d.s.SetUserDisabled(ctx, name, true)
}

// ResetPassword sets a user's password.
func (d *Directory) ResetPassword(ctx context.Context, name, password string) error {
	if u, err := d.s.User(ctx, name); err == nil && u.Source == store.UserOIDC {
		return weft.Errorf(weft.EConflict, "user %q signs in with single sign-on: it has no password", name)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	defer d.cache.invalidate()
	return d.s.SetUserPassword(ctx, name, hash)
}

func (d *Directory) roles(ctx context.Context, id string) (map[string]string, error) {
	bs, err := d.s.RoleBindings(ctx, id)
	if err != nil {
		return nil, err
	}
	roles := map[string]string{}
	for _, b := range bs {
		roles[b.Namespace] = b.Role
	}
	return roles, nil
}

var errBadSignIn = weft.Errorf(weft.EUnauthorized, "wrong user name or password")

// SignIn checks a local user's password and returns its principal. An
// unknown user, a wrong password and a disabled user get the same error,
// after the same work.
func (d *Directory) SignIn(ctx context.Context, name, password string) (Principal, error) {
	u, err := d.s.User(ctx, name)
	if err != nil && weft.Code(err) != weft.ENotFound {
		return Principal{}, err
	}
	if u == nil || u.Source == store.UserOIDC { // single-sign-on users have no password
		d.dummyOnce.Do(func() { d.dummy, _ = HashPassword("not-a-password-of-anyone") })
		VerifyPassword(d.dummy, password)
		return Principal{}, errBadSignIn
	}
	if !VerifyPassword(u.PasswordHash, password) || u.Disabled {
		return Principal{}, errBadSignIn
	}
	return d.userPrincipal(ctx, u)
}

func (d *Directory) userPrincipal(ctx context.Context, u *store.User) (Principal, error) {
	roles, err := d.roles(ctx, u.ID)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Kind: KindUser, ID: u.ID, Name: u.Name, Roles: roles}, nil
}

// User returns the current principal of a signed-in user (its roles as
// they are now), or unauthorized once it is disabled or gone.
func (d *Directory) User(ctx context.Context, id string) (Principal, error) {
	ttl := d.ttl()
	key := "u:" + id
	var gen uint64
	if ttl > 0 {
		p, ok, g := d.cache.get(key, d.now())
		if ok {
			return p, nil
		}
		gen = g
	}
	p, err := d.user(ctx, id)
	if err == nil && ttl > 0 {
		now := d.now()
		d.cache.put(key, p, now.Add(ttl), gen, now)
	}
	return p, err
}

func (d *Directory) user(ctx context.Context, id string) (Principal, error) {
	u, err := d.s.UserByID(ctx, id)
	if weft.Code(err) == weft.ENotFound || (err == nil && u.Disabled) {
		return Principal{}, weft.Errorf(weft.EUnauthorized, "the user of this session is disabled or deleted: sign in again")
	}
	if err != nil {
		return Principal{}, err
	}
	return d.userPrincipal(ctx, u)
}

var errBadToken = weft.Errorf(weft.EUnauthorized, "unknown, revoked or expired token")

// Authenticate turns a personal access token or a service account's token
// into its principal. A PAT acts with its scopes, each capped by what its
// user may do now; a disabled user's tokens stop working.
func (d *Directory) Authenticate(ctx context.Context, token string) (Principal, error) {
	if len(token) > MaxTokenLen || !IsWeftToken(token) {
		return Principal{}, errBadToken
	}
	hash := HashToken(token)
	ttl := d.ttl()
	var gen uint64
	if ttl > 0 {
		p, ok, g := d.cache.get("t:"+hash, d.now())
		if ok {
			return p, nil
		}
		gen = g
	}
	p, exp, err := d.authenticate(ctx, token, hash)
	if err == nil && ttl > 0 {
		now := d.now()
		if until := now.Add(ttl); exp == nil || until.Before(*exp) {
			exp = &until
		}
		d.cache.put("t:"+hash, p, *exp, gen, now)
	}
	return p, err
}

// authenticate looks a token up in the store; exp is its expiry.
func (d *Directory) authenticate(ctx context.Context, token, hash string) (Principal, *time.Time, error) {
	t, err := d.s.TokenByHash(ctx, hash)
	if weft.Code(err) == weft.ENotFound {
		return Principal{}, nil, errBadToken
	}
	if err != nil {
		return Principal{}, nil, err
	}
	if t.ExpiresAt != nil && !d.now().Before(*t.ExpiresAt) {
		return Principal{}, nil, errBadToken
	}
	wantSA := strings.HasPrefix(token, ServiceAccountPrefix)
	if wantSA != (t.Kind == store.TokenServiceAccount) {
		return Principal{}, nil, errBadToken
	}
	if t.Kind == store.TokenServiceAccount {
		return Principal{Kind: KindServiceAccount, ID: t.ID, Name: t.Name, Roles: clone(t.Scopes)}, t.ExpiresAt, nil
	}
	owner, err := d.User(ctx, t.Owner)
	if err != nil {
		if weft.Code(err) == weft.EUnauthorized {
			return Principal{}, nil, errBadToken
		}
		return Principal{}, nil, err
	}
	roles := map[string]string{}
	for ns, role := range t.Scopes {
		if within(role, ownerRole(owner, ns)) {
			roles[ns] = role
		}
	}
	return Principal{Kind: KindToken, ID: t.ID, Name: owner.Name + "/" + t.Name, Roles: roles}, t.ExpiresAt, nil
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ownerRole is the owner's role that bounds a scope for ns ("*" is bounded
// by the owner's "*" binding only).
func ownerRole(owner Principal, ns string) string {
	if ns == AllNamespaces {
		return owner.Roles[AllNamespaces]
	}
	return owner.RoleIn(ns)
}

// within reports whether role grants nothing that bound does not.
func within(role, bound string) bool {
	have := rolePerms[bound]
	for _, p := range rolePerms[role] {
		if !slices.Contains(have, p) {
			return false
		}
	}
	return ValidRole(role)
}

// MaxTokenTTL is the longest a token may live; 0 in a request means this.
const MaxTokenTTL = 366 * 24 * time.Hour

// NewTokenRequest describes a token to create.
type NewTokenRequest struct {
	Name   string            `json:"name"`
	Scopes map[string]string `json:"scopes"` // role per namespace; empty: the owner's roles (PAT) / required (service account)
	TTL    time.Duration     `json:"-"`      // 0: MaxTokenTTL
}

// CreatedToken is a token as shown once, at creation.
type CreatedToken struct {
	store.Token
	Secret string `json:"token"`
}

func (d *Directory) createToken(ctx context.Context, kind, owner, prefix string, req NewTokenRequest) (CreatedToken, error) {
	if err := CheckName("token name", req.Name); err != nil {
		return CreatedToken{}, err
	}
	if req.TTL < 0 || req.TTL > MaxTokenTTL {
		return CreatedToken{}, weft.Errorf(weft.EInvalid, "expiry: between now and %d days", int(MaxTokenTTL/(24*time.Hour)))
	}
	if req.TTL == 0 {
		req.TTL = MaxTokenTTL
	}
	if len(req.Scopes) == 0 {
		return CreatedToken{}, weft.Errorf(weft.EInvalid, `scopes: name a role per namespace, e.g. {"default": "viewer"}`)
	}
	for ns, role := range req.Scopes {
		if err := checkBinding(role, ns); err != nil {
			return CreatedToken{}, err
		}
	}
	secret, hash, err := NewToken(prefix)
	if err != nil {
		return CreatedToken{}, err
	}
	now := d.now().UTC()
	exp := now.Add(req.TTL)
	t := store.Token{ID: newID("t_"), Kind: kind, Name: req.Name, Owner: owner, Hash: hash, Scopes: clone(req.Scopes), CreatedAt: now, ExpiresAt: &exp}
	if err := d.s.CreateToken(ctx, t); err != nil {
		return CreatedToken{}, err
	}
	return CreatedToken{Token: t, Secret: secret}, nil
}

// CreatePAT creates a personal access token for a signed-in user. Its
// scopes may not exceed the user's roles; none means the user's roles.
func (d *Directory) CreatePAT(ctx context.Context, owner Principal, req NewTokenRequest) (CreatedToken, error) {
	if owner.Kind != KindUser {
		return CreatedToken{}, weft.Errorf(weft.EForbidden, "only a signed-in user has personal access tokens (this is %s); an admin creates service accounts", owner.Actor())
	}
	cur, err := d.User(ctx, owner.ID)
	if err != nil {
		return CreatedToken{}, err
	}
	if len(req.Scopes) == 0 {
		req.Scopes = clone(cur.Roles)
	}
	for ns, role := range req.Scopes {
		if !within(role, ownerRole(cur, ns)) {
			return CreatedToken{}, weft.Errorf(weft.EForbidden, "scope %s in namespace %q exceeds your role there (%q)", clip(role, 40), clip(ns, 80), ownerRole(cur, ns))
		}
	}
	return d.createToken(ctx, store.TokenPAT, owner.ID, PATPrefix, req)
}

// PATs lists a user's personal access tokens (never their secrets).
func (d *Directory) PATs(ctx context.Context, owner Principal) ([]store.Token, error) {
	if owner.Kind != KindUser {
		return []store.Token{}, nil
	}
	return d.s.Tokens(ctx, store.TokenPAT, owner.ID)
}

// RevokePAT revokes one of the owner's personal access tokens.
func (d *Directory) RevokePAT(ctx context.Context, owner Principal, id string) error {
	if owner.Kind != KindUser {
		return weft.Errorf(weft.ENotFound, "no active token %q", clip(id, 80))
	}
	defer d.cache.invalidate()
	return d.s.RevokeToken(ctx, store.TokenPAT, owner.ID, id)
}

// CreateServiceAccount creates a service account's token.
func (d *Directory) CreateServiceAccount(ctx context.Context, req NewTokenRequest) (CreatedToken, error) {
	return d.createToken(ctx, store.TokenServiceAccount, "", ServiceAccountPrefix, req)
}

// ServiceAccounts lists the service accounts' tokens.
func (d *Directory) ServiceAccounts(ctx context.Context) ([]store.Token, error) {
	return d.s.Tokens(ctx, store.TokenServiceAccount, "")
}

// RevokeServiceAccount revokes a service account's token.
func (d *Directory) RevokeServiceAccount(ctx context.Context, id string) error {
	defer d.cache.invalidate()
	return d.s.RevokeToken(ctx, store.TokenServiceAccount, "", id)
}

// SSOUser is who an OpenID provider says signed in, with the roles its
// groups map to.
type SSOUser struct {
	Issuer, Subject string
	Name            string            // preferred_username or email: the user's name in Weft when free
	Roles           map[string]string // namespace -> role; replaces the user's role bindings
}

// SSOSubject is a single-sign-on user's stored identity: issuer and subject.
func SSOSubject(issuer, subject string) string { return issuer + " " + subject }

// SignInSSO provisions or updates the single-sign-on user that a verified
// provider login names (by issuer and subject, never by name: a local
// user's name is not taken over) and sets its role bindings to roles. A
// disabled user is refused even with a valid provider login.
func (d *Directory) SignInSSO(ctx context.Context, in SSOUser) (Principal, error) {
	if in.Issuer == "" || in.Subject == "" {
		return Principal{}, weft.Errorf(weft.EInvalid, "a single-sign-on user needs an issuer and a subject")
	}
	sub := SSOSubject(in.Issuer, in.Subject)
	u, err := d.s.UserBySubject(ctx, store.UserOIDC, sub)
	switch {
	case weft.Code(err) == weft.ENotFound:
		if u, err = d.createSSOUser(ctx, in, sub); err != nil {
			return Principal{}, err
		}
	case err != nil:
		return Principal{}, err
	}
	if u.Disabled {
		return Principal{}, weft.Errorf(weft.EForbidden, "user %q is disabled", u.Name)
	}
	if err := d.SetSSORoles(ctx, u.ID, in.Roles); err != nil {
		return Principal{}, err
	}
	return d.userPrincipal(ctx, u)
}

// SetSSORoles replaces a single-sign-on user's role bindings with roles
// (what the provider's groups map to now).
func (d *Directory) SetSSORoles(ctx context.Context, id string, roles map[string]string) error {
	for ns, role := range roles {
		if err := checkBinding(role, ns); err != nil {
			return err
		}
	}
	have, err := d.s.RoleBindings(ctx, id)
	if err != nil {
		return err
	}
	same := len(have) == len(roles)
	for _, b := range have {
		if roles[b.Namespace] != b.Role {
			same = false
		}
	}
	if same {
		return nil
	}
	// The cached principals (credential cache) hold the old roles: a
	// demotion applies from the next request on this server.
	defer d.cache.invalidate()
	for _, b := range have {
		if _, keep := roles[b.Namespace]; !keep {
			if err := d.s.SetRoleBinding(ctx, store.RoleBinding{Principal: id, Namespace: b.Namespace}); err != nil {
				return err
			}
		}
	}
	for ns, role := range roles {
		if err := d.s.SetRoleBinding(ctx, store.RoleBinding{Principal: id, Namespace: ns, Role: role}); err != nil {
			return err
		}
	}
	return nil
}

// SSOUserByID returns a single-sign-on user's identity (issuer and
// subject); not_found for a local user.
func (d *Directory) SSOUserByID(ctx context.Context, id string) (*store.User, error) {
	u, err := d.s.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.Source != store.UserOIDC {
		return nil, weft.Errorf(weft.ENotFound, "user %q does not sign in with single sign-on", u.Name)
	}
	return u, nil
}

var nameChars = lazy.NewRegexp(`[^a-z0-9._@-]+`)

// ssoName makes a valid user name of what the provider calls the user.
func ssoName(name, subHash string) string {
	n := nameChars.ReplaceAllString(strings.ToLower(name), "-")
	n = strings.TrimLeft(n, "._@-")
	if len(n) > 55 {
		n = n[:55]
	}
	if n == "" {
		n = "sso-" + subHash
	}
	return n
}

func (d *Directory) createSSOUser(ctx context.Context, in SSOUser, sub string) (*store.User, error) {
	h := sha256.Sum256([]byte(sub))
	subHash := hex.EncodeToString(h[:4])
	name := ssoName(in.Name, subHash)
	for i := 0; ; i++ {
		u := store.User{ID: newID("u_"), Name: name, Source: store.UserOIDC, Subject: sub, CreatedAt: d.now().UTC()}
		err := d.s.CreateUser(ctx, u)
		if err == nil {
			d.cache.invalidate() // "no users" ends now
			return &u, nil
		}
		if weft.Code(err) != weft.EConflict || i > 0 {
			// A race with the same subject's other sign-in: it won.
			if got, gerr := d.s.UserBySubject(ctx, store.UserOIDC, sub); gerr == nil {
				return got, nil
			}
			return nil, err
		}
		// The name is taken (a local user, or another provider's): this
		// user's name gets a suffix derived from its identity.
		if got, gerr := d.s.UserBySubject(ctx, store.UserOIDC, sub); gerr == nil {
			return got, nil
		}
		name = strings.TrimRight(name[:min(len(name), 55)], "._@-") + "-" + subHash
	}
}
