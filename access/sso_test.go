package access_test

import (
	"context"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
)

// A single-sign-on user is found by issuer and subject, never by name: a
// local user's name is not taken over; its roles follow the provider's
// groups at every sign-in; disabled, it is refused; it has no password.
func TestSignInSSOProvisionsByIdentity(t *testing.T) {
	ctx := context.Background()
	d := newDir(t)
	if _, err := d.CreateUser(ctx, "ada", "a long password 1", access.RoleViewer, "default"); err != nil {
		t.Fatal(err)
	}
	p, err := d.SignInSSO(ctx, access.SSOUser{Issuer: "https://idp", Subject: "s-1", Name: "Ada", Roles: map[string]string{"default": access.RoleAdmin, "team-b": access.RoleViewer}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != access.KindUser || p.Name == "ada" || p.Roles["default"] != access.RoleAdmin || p.Roles["team-b"] != access.RoleViewer {
		t.Fatalf("took over the local user or lost roles: %+v", p)
	}
	local, err := d.SignIn(ctx, "ada", "a long password 1")
	if err != nil || local.Roles["default"] != access.RoleViewer {
		t.Fatalf("the local user changed: %+v %v", local, err)
	}
	// Again: the same user, roles replaced (team-b gone).
	p2, err := d.SignInSSO(ctx, access.SSOUser{Issuer: "https://idp", Subject: "s-1", Name: "someone-else", Roles: map[string]string{"default": access.RoleEditor}})
	if err != nil || p2.ID != p.ID || p2.Name != p.Name || len(p2.Roles) != 1 || p2.Roles["default"] != access.RoleEditor {
		t.Fatalf("%+v %v", p2, err)
	}
	// Another issuer with the same subject is another user.
	p3, err := d.SignInSSO(ctx, access.SSOUser{Issuer: "https://other", Subject: "s-1", Name: "ada", Roles: map[string]string{"default": access.RoleViewer}})
	if err != nil || p3.ID == p.ID {
		t.Fatalf("%+v %v", p3, err)
	}
	// No password sign-in, no password reset for a single-sign-on user.
	if _, err := d.SignIn(ctx, p.Name, ""); weft.Code(err) != weft.EUnauthorized {
		t.Fatalf("password sign-in of an SSO user: %v", err)
	}
	if err := d.ResetPassword(ctx, p.Name, "a long password 2"); weft.Code(err) != weft.EConflict {
		t.Fatalf("password reset of an SSO user: %v", err)
	}
	if err := d.DisableUser(ctx, p.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SignInSSO(ctx, access.SSOUser{Issuer: "https://idp", Subject: "s-1", Roles: map[string]string{"default": access.RoleAdmin}}); weft.Code(err) != weft.EForbidden {
		t.Fatalf("disabled SSO user signed in: %v", err)
	}
	if _, err := d.User(ctx, p.ID); weft.Code(err) != weft.EUnauthorized {
		t.Fatalf("disabled SSO user's session still valid: %v", err)
	}
}
