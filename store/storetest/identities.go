package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// identities: users are unique by name, disabled and re-passworded in
// place; role bindings upsert per namespace; only unrevoked tokens are found
// by hash, and only their owner revokes them.
func identities(t *testing.T, s store.Identities) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	must(t, s.CreateUser(ctx, store.User{ID: "u1", Name: "ada", PasswordHash: "h1", CreatedAt: now}))
	if err := s.CreateUser(ctx, store.User{ID: "u2", Name: "ada", PasswordHash: "h2", CreatedAt: now}); weft.Code(err) != weft.EConflict {
		t.Fatalf("duplicate name: %v", err)
	}
	must(t, s.CreateUser(ctx, store.User{ID: "u3", Name: "bob", PasswordHash: "h3", CreatedAt: now}))
	must(t, s.SetUserDisabled(ctx, "bob", true))
	must(t, s.SetUserPassword(ctx, "ada", "h9"))
	u, err := s.User(ctx, "ada")
	must(t, err)
	if u.ID != "u1" || u.PasswordHash != "h9" || u.Disabled || !u.CreatedAt.Equal(now) {
		t.Fatalf("%+v", u)
	}
	if u, err := s.UserByID(ctx, "u3"); err != nil || !u.Disabled || u.Name != "bob" {
		t.Fatalf("%+v %v", u, err)
	}
	if _, err := s.User(ctx, "eve"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("unknown user: %v", err)
	}
	if err := s.SetUserDisabled(ctx, "eve", true); weft.Code(err) != weft.ENotFound {
		t.Fatalf("disable unknown user: %v", err)
	}
	if us, err := s.Users(ctx); err != nil || len(us) != 2 || us[0].Name != "ada" || us[0].Source != store.UserLocal {
		t.Fatalf("%+v %v", us, err)
	}
	// Single-sign-on users: found by source and subject, which are unique
	// together; a local user has no subject.
	must(t, s.CreateUser(ctx, store.User{ID: "u4", Name: "ada-sso", Source: store.UserOIDC, Subject: "https://idp 42", CreatedAt: now}))
	if err := s.CreateUser(ctx, store.User{ID: "u5", Name: "other", Source: store.UserOIDC, Subject: "https://idp 42", CreatedAt: now}); err == nil {
		t.Fatal("a second user with the same subject was accepted")
	}
	if u, err := s.UserBySubject(ctx, store.UserOIDC, "https://idp 42"); err != nil || u.ID != "u4" || u.PasswordHash != "" || u.Source != store.UserOIDC {
		t.Fatalf("%+v %v", u, err)
	}
	if _, err := s.UserBySubject(ctx, store.UserLocal, "https://idp 42"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("subject under another source: %v", err)
	}
	must(t, s.SetUserDisabled(ctx, "ada-sso", true))
	if u, err := s.UserBySubject(ctx, store.UserOIDC, "https://idp 42"); err != nil || !u.Disabled {
		t.Fatalf("%+v %v", u, err)
	}

	must(t, s.SetRoleBinding(ctx, store.RoleBinding{Principal: "u1", Namespace: "default", Role: "viewer"}))
	must(t, s.SetRoleBinding(ctx, store.RoleBinding{Principal: "u1", Namespace: "default", Role: "editor"}))
	must(t, s.SetRoleBinding(ctx, store.RoleBinding{Principal: "u1", Namespace: "team-b", Role: "viewer"}))
	must(t, s.SetRoleBinding(ctx, store.RoleBinding{Principal: "u1", Namespace: "team-b", Role: ""}))
	bs, err := s.RoleBindings(ctx, "u1")
	must(t, err)
	if len(bs) != 1 || bs[0] != (store.RoleBinding{Principal: "u1", Namespace: "default", Role: "editor"}) {
		t.Fatalf("%+v", bs)
	}

	exp := now.Add(time.Hour)
	must(t, s.CreateToken(ctx, store.Token{ID: "t1", Kind: store.TokenPAT, Name: "ci", Owner: "u1", Hash: "th1", Scopes: map[string]string{"default": "viewer"}, CreatedAt: now, ExpiresAt: &exp}))
	must(t, s.CreateToken(ctx, store.Token{ID: "t2", Kind: store.TokenServiceAccount, Name: "deployer", Hash: "th2", Scopes: map[string]string{"*": "editor"}, CreatedAt: now}))
	if err := s.CreateToken(ctx, store.Token{ID: "t3", Kind: store.TokenPAT, Owner: "u1", Hash: "th1", CreatedAt: now}); err == nil {
		t.Fatal("duplicate token hash accepted")
	}
	tk, err := s.TokenByHash(ctx, "th1")
	must(t, err)
	if tk.ID != "t1" || tk.Owner != "u1" || tk.Scopes["default"] != "viewer" || tk.ExpiresAt == nil || !tk.ExpiresAt.Equal(exp) {
		t.Fatalf("%+v", tk)
	}
	if err := s.RevokeToken(ctx, store.TokenPAT, "u3", "t1"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("another user revoked a PAT: %v", err)
	}
	must(t, s.RevokeToken(ctx, store.TokenPAT, "u1", "t1"))
	if _, err := s.TokenByHash(ctx, "th1"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("revoked token still found: %v", err)
	}
	if err := s.RevokeToken(ctx, store.TokenPAT, "u1", "t1"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("revoke twice: %v", err)
	}
	if ts, err := s.Tokens(ctx, store.TokenPAT, "u1"); err != nil || len(ts) != 1 || ts[0].RevokedAt == nil {
		t.Fatalf("%+v %v", ts, err)
	}
	if ts, err := s.Tokens(ctx, store.TokenServiceAccount, ""); err != nil || len(ts) != 1 || ts[0].Name != "deployer" || ts[0].ExpiresAt != nil {
		t.Fatalf("%+v %v", ts, err)
	}
}
