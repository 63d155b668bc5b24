package access_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/store/sqlite"
)

func TestAuthorizeFollowsTheRoleTable(t *testing.T) {
	admin := access.Principal{Kind: access.KindAPIToken, Roles: map[string]string{"*": access.RoleAdmin}}
	viewer := access.Principal{Kind: access.KindUser, Name: "v", Roles: map[string]string{"default": access.RoleViewer}}
	agent := access.Principal{Kind: access.KindServiceAccount, Name: "a", Roles: map[string]string{"default": access.RoleAgent}}
	for _, c := range []struct {
		p        access.Principal
		perm, ns string
		want     string // "" ok, else the error code
	}{
		{admin, access.MembersManage, "default", ""},
		{admin, access.SecretsManage, "other", ""},
		{admin, "no.such.permission", "default", weft.EForbidden}, // fail closed
		{viewer, access.FlowsRead, "default", ""},
		{viewer, access.FlowsWrite, "default", weft.EForbidden},
		{viewer, access.FlowsRead, "team-b", weft.EForbidden}, // another namespace
		{agent, access.MCPUse, "default", ""},
		{agent, access.FlowsRead, "default", weft.EForbidden},
		{access.Principal{}, access.FlowsRead, "default", weft.EUnauthorized},
		{access.Principal{Kind: access.KindAnonymous}, access.FlowsRead, "default", weft.EUnauthorized},
	} {
		err := access.Authorize(c.p, c.perm, c.ns)
		if got := weft.Code(err); (c.want == "" && err != nil) || (c.want != "" && got != c.want) {
			t.Errorf("Authorize(%s, %s, %s) = %v, want %q", c.p.Actor(), c.perm, c.ns, err, c.want)
		}
	}
	// Every role's permissions are defined ones; admin has all of them.
	for _, r := range access.Roles() {
		for _, p := range access.RolePermissions(r) {
			if err := access.Authorize(admin, p, "default"); err != nil {
				t.Errorf("role %s: permission %s: %v", r, p, err)
			}
		}
	}
	if len(access.RolePermissions(access.RoleAdmin)) != len(access.Permissions()) {
		t.Errorf("admin has %v, not every permission %v", access.RolePermissions(access.RoleAdmin), access.Permissions())
	}
	if slicesContains(access.RolePermissions(access.RoleEditor), access.SecretsManage) {
		t.Error("editor may manage secrets")
	}
}

func slicesContains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestPasswordsAreArgon2idAndVerifiedExactly(t *testing.T) {
	h, err := access.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=2,p=2$") || strings.Contains(h, "correct") {
		t.Fatalf("hash %q", h)
	}
	h2, _ := access.HashPassword("correct horse battery")
	if h == h2 {
		t.Fatal("same hash twice: no salt")
	}
	if !access.VerifyPassword(h, "correct horse battery") || access.VerifyPassword(h, "correct horse batterz") {
		t.Fatal("verify")
	}
	parts := strings.Split(h, "$")
	for _, bad := range []string{"", "$argon2id$", h[:len(h)-2], strings.Replace(h, "argon2id", "argon2i", 1),
		strings.Join(append(parts[:3:3], "m=99999999999,t=2,p=2", parts[4], parts[5]), "$"),
		strings.Join(append(parts[:3:3], "m=65536,t=0,p=2", parts[4], parts[5]), "$")} {
		if access.VerifyPassword(bad, "correct horse battery") {
			t.Errorf("malformed hash %q verified", bad)
		}
	}
	if _, err := access.HashPassword("short"); weft.Code(err) != weft.EInvalid {
		t.Errorf("short password: %v", err)
	}
}

func newDir(t *testing.T) *access.Directory {
	t.Helper()
	s, err := sqlite.Open(context.Background(), t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return access.NewDirectory(s)
}

func TestUsersSignInAndTokens(t *testing.T) {
	ctx := context.Background()
	d := newDir(t)
	now := time.Now()
	d.Now = func() time.Time { return now }
	if _, err := d.CreateUser(ctx, "ada", "a long password 1", access.RoleEditor, "default"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][4]string{{"Ada!", "a long password 1", "viewer", "default"}, {"bob", "short", "viewer", "default"},
		{"bob", "a long password 1", "root", "default"}, {"bob", "a long password 1", "viewer", "Bad NS"}} {
		if _, err := d.CreateUser(ctx, bad[0], bad[1], bad[2], bad[3]); weft.Code(err) != weft.EInvalid {
			t.Errorf("CreateUser%v: %v", bad, err)
		}
	}
	if _, err := d.CreateUser(ctx, "ada", "a long password 1", access.RoleViewer, "default"); weft.Code(err) != weft.EConflict {
		t.Errorf("duplicate user: %v", err)
	}
	p, err := d.SignIn(ctx, "ada", "a long password 1")
	if err != nil || p.Kind != access.KindUser || p.Name != "ada" || p.RoleIn("default") != access.RoleEditor {
		t.Fatalf("%+v %v", p, err)
	}
	for _, c := range [][2]string{{"ada", "a long password 2"}, {"eve", "a long password 1"}, {"ada", ""}} {
		if _, err := d.SignIn(ctx, c[0], c[1]); weft.Code(err) != weft.EUnauthorized {
			t.Errorf("SignIn%v: %v", c, err)
		}
	}

	// A PAT may not exceed its user's role; it acts with its scope.
	if _, err := d.CreatePAT(ctx, p, access.NewTokenRequest{Name: "ci", Scopes: map[string]string{"default": access.RoleAdmin}}); weft.Code(err) != weft.EForbidden {
		t.Errorf("PAT above the user's role: %v", err)
	}
	pat, err := d.CreatePAT(ctx, p, access.NewTokenRequest{Name: "ci", Scopes: map[string]string{"default": access.RoleViewer}, TTL: time.Hour})
	if err != nil || !strings.HasPrefix(pat.Secret, access.PATPrefix) || pat.Hash != access.HashToken(pat.Secret) {
		t.Fatalf("%+v %v", pat, err)
	}
	tp, err := d.Authenticate(ctx, pat.Secret)
	if err != nil || tp.Kind != access.KindToken || tp.RoleIn("default") != access.RoleViewer {
		t.Fatalf("%+v %v", tp, err)
	}
	// Wrong prefix for the kind, tampered, oversized, expired, revoked: 401.
	for _, bad := range []string{strings.Replace(pat.Secret, access.PATPrefix, access.ServiceAccountPrefix, 1), pat.Secret + "x",
		access.PATPrefix + strings.Repeat("a", 5000), "", "weft_pat_"} {
		if _, err := d.Authenticate(ctx, bad); weft.Code(err) != weft.EUnauthorized {
			t.Errorf("token %.20q…: %v", bad, err)
		}
	}
	now = now.Add(2 * time.Hour)
	if _, err := d.Authenticate(ctx, pat.Secret); weft.Code(err) != weft.EUnauthorized {
		t.Errorf("expired token: %v", err)
	}
	pat2, err := d.CreatePAT(ctx, p, access.NewTokenRequest{Name: "ci2"})
	if err != nil || pat2.Scopes["default"] != access.RoleEditor {
		t.Fatalf("default scopes: %+v %v", pat2, err)
	}
	// The user loses a role: its PAT's scope is capped to what remains.
	if err := d.SetRole(ctx, "ada", access.RoleViewer, "default"); err != nil {
		t.Fatal(err)
	}
	if tp, err := d.Authenticate(ctx, pat2.Secret); err != nil || tp.RoleIn("default") != "" {
		t.Fatalf("capped: %+v %v", tp, err)
	}
	if err := d.SetRole(ctx, "ada", access.RoleEditor, "default"); err != nil {
		t.Fatal(err)
	}
	// Another user cannot revoke it; its owner can.
	if _, err := d.CreateUser(ctx, "bob", "a long password 2", access.RoleAdmin, "*"); err != nil {
		t.Fatal(err)
	}
	bob, _ := d.SignIn(ctx, "bob", "a long password 2")
	if err := d.RevokePAT(ctx, bob, pat2.ID); weft.Code(err) != weft.ENotFound {
		t.Errorf("another user's revoke: %v", err)
	}
	if ts, _ := d.PATs(ctx, bob); len(ts) != 0 {
		t.Errorf("bob sees %+v", ts)
	}
	if err := d.RevokePAT(ctx, p, pat2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, pat2.Secret); weft.Code(err) != weft.EUnauthorized {
		t.Errorf("revoked token: %v", err)
	}
	// A disabled user's sessions and tokens stop.
	pat3, _ := d.CreatePAT(ctx, p, access.NewTokenRequest{Name: "ci3"})
	if err := d.DisableUser(ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, pat3.Secret); weft.Code(err) != weft.EUnauthorized {
		t.Errorf("disabled user's token: %v", err)
	}
	if _, err := d.User(ctx, p.ID); weft.Code(err) != weft.EUnauthorized {
		t.Errorf("disabled user's session: %v", err)
	}
	if _, err := d.SignIn(ctx, "ada", "a long password 1"); weft.Code(err) != weft.EUnauthorized {
		t.Errorf("disabled user's sign-in: %v", err)
	}
	// Service accounts: their own scopes; revocable.
	sa, err := d.CreateServiceAccount(ctx, access.NewTokenRequest{Name: "deployer", Scopes: map[string]string{"default": access.RoleOperator}})
	if err != nil || !strings.HasPrefix(sa.Secret, access.ServiceAccountPrefix) {
		t.Fatal(err)
	}
	sp, err := d.Authenticate(ctx, sa.Secret)
	if err != nil || sp.Kind != access.KindServiceAccount || sp.RoleIn("default") != access.RoleOperator {
		t.Fatalf("%+v %v", sp, err)
	}
	if err := d.RevokeServiceAccount(ctx, sa.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, sa.Secret); weft.Code(err) != weft.EUnauthorized {
		t.Errorf("revoked service account: %v", err)
	}
	if _, err := d.CreateServiceAccount(ctx, access.NewTokenRequest{Name: "x"}); weft.Code(err) != weft.EInvalid {
		t.Errorf("service account without scopes: %v", err)
	}
	if _, err := d.CreatePAT(ctx, access.Principal{Kind: access.KindAPIToken}, access.NewTokenRequest{Name: "x"}); weft.Code(err) != weft.EForbidden {
		t.Errorf("PAT for the api_token: %v", err)
	}
}

func TestCheckNamespace(t *testing.T) {
	for _, ok := range []string{"default", "team-b", "a", "x1", strings.Repeat("a", 63)} {
		if err := access.CheckNamespace(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "*", "Team", "team_b", "-a", "a-", "a.b", "a b", strings.Repeat("a", 64), "ns\x00"} {
		if err := access.CheckNamespace(bad); weft.Code(err) != weft.EInvalid {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}

// access.AuthorizeAny: the permission in some namespace; a principal without it
// anywhere is refused, an anonymous one is unauthorized.
func TestAuthorizeAny(t *testing.T) {
	b := access.Principal{Kind: access.KindToken, ID: "t", Roles: map[string]string{"team-b": access.RoleEditor}}
	if err := access.AuthorizeAny(b, access.FlowsWrite); err != nil {
		t.Fatal(err)
	}
	if err := access.Authorize(b, access.FlowsWrite, access.DefaultNamespace); weft.Code(err) != weft.EForbidden {
		t.Fatalf("editor of team-b in default: %v", err)
	}
	if err := access.AuthorizeAny(b, access.MembersManage); weft.Code(err) != weft.EForbidden {
		t.Fatalf("members.manage nowhere: %v", err)
	}
	if err := access.AuthorizeAny(access.Principal{Kind: access.KindAnonymous}, access.FlowsRead); weft.Code(err) != weft.EUnauthorized {
		t.Fatalf("anonymous: %v", err)
	}
	if err := access.AuthorizeAny(b, "made.up"); weft.Code(err) != weft.EForbidden {
		t.Fatalf("unknown permission: %v", err)
	}
	// A "*" binding is every namespace, and "*" itself.
	all := access.Principal{Kind: access.KindServiceAccount, ID: "s", Roles: map[string]string{access.AllNamespaces: access.RoleViewer}}
	if access.Authorize(all, access.FlowsRead, "anything") != nil || access.Authorize(all, access.FlowsRead, access.AllNamespaces) != nil || access.Authorize(b, access.FlowsRead, access.AllNamespaces) == nil {
		t.Fatal("* bindings")
	}
}

// A refusal everywhere names the roles held: one binding's own refusal, or
// every binding for several (the console turns it into a sentence).
func TestAuthorizeAnyNamesTheRolesHeld(t *testing.T) {
	one := access.Principal{Kind: access.KindUser, Name: "vera", Roles: map[string]string{"default": access.RoleViewer}}
	if err := access.AuthorizeAny(one, access.MembersManage); err == nil || !strings.Contains(err.Error(), `(role viewer in namespace "default") may not members.manage`) {
		t.Fatalf("one binding: %v", err)
	}
	other := access.Principal{Kind: access.KindUser, Name: "tb", Roles: map[string]string{"team-b": access.RoleViewer}}
	if err := access.AuthorizeAny(other, access.MembersManage); err == nil || !strings.Contains(err.Error(), `(role viewer in namespace "team-b")`) {
		t.Fatalf("one binding elsewhere: %v", err)
	}
	two := access.Principal{Kind: access.KindUser, Name: "bo", Roles: map[string]string{"team-b": access.RoleEditor, "default": access.RoleViewer}}
	if err := access.AuthorizeAny(two, access.MembersManage); err == nil || !strings.Contains(err.Error(), `(roles: viewer in "default", editor in "team-b") may not members.manage in any namespace`) {
		t.Fatalf("two bindings: %v", err)
	}
	if err := access.AuthorizeAny(two, access.FlowsWrite); err != nil {
		t.Fatalf("editor in team-b may write flows somewhere: %v", err)
	}
}
