package sso

import (
	"reflect"
	"strings"
	"testing"

	"github.com/weftio/weft"
)

func TestMapRoles(t *testing.T) {
	m := []RoleMapping{
		{Group: "weft-viewers", Role: "viewer"},
		{Group: "weft-admins", Role: "admin"},
		{Group: "team-b", Role: "editor", Namespace: "team-b"},
		{Group: "ops", Role: "operator", Namespace: "*"},
	}
	for _, c := range []struct {
		groups []string
		def    string
		want   map[string]string
		err    bool
	}{
		{[]string{"weft-viewers"}, "", map[string]string{"default": "viewer"}, false},
		{[]string{"weft-viewers", "weft-admins"}, "", map[string]string{"default": "admin"}, false}, // the most powerful wins
		{[]string{"team-b", "ops"}, "", map[string]string{"team-b": "editor", "*": "operator"}, false},
		{[]string{"unrelated"}, "", nil, true},
		{nil, "viewer", map[string]string{"default": "viewer"}, false},
	} {
		got, err := MapRoles(m, c.def, c.groups)
		if (err != nil) != c.err || (!c.err && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("MapRoles(%v, %q) = %v, %v; want %v", c.groups, c.def, got, err, c.want)
		}
	}
}

func TestGroupsClaimShapes(t *testing.T) {
	if g, err := Groups([]any{"a", "b"}); err != nil || len(g) != 2 {
		t.Fatal(g, err)
	}
	if g, err := Groups("a"); err != nil || len(g) != 1 {
		t.Fatal(g, err)
	}
	if g, err := Groups(nil); err != nil || len(g) != 0 {
		t.Fatal(g, err)
	}
	if g, err := Groups(map[string]any{"b": map[string]any{"org": "x"}, "a": nil}); err != nil || len(g) != 2 || g[0] != "a" {
		t.Fatal(g, err)
	}
	for _, bad := range []any{[]any{1}, 3.0, true, []any{strings.Repeat("x", 300)}, make([]any, 2000)} {
		if _, err := Groups(bad); err == nil {
			t.Errorf("%T accepted", bad)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	good := Config{Issuer: "https://idp.example.com/realms/acme", ClientID: "weft", RedirectURL: "https://weft.example.com/api/session/oidc/callback",
		Roles: []RoleMapping{{Group: "g", Role: "viewer"}}}
	if err := good.Check(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Config){
		"no issuer":       func(c *Config) { c.Issuer = "" },
		"issuer scheme":   func(c *Config) { c.Issuer = "ftp://x" },
		"no client":       func(c *Config) { c.ClientID = "" },
		"both secrets":    func(c *Config) { c.ClientSecretEnv, c.ClientSecretFile = "A", "/f" },
		"no redirect":     func(c *Config) { c.RedirectURL = "/callback" },
		"no openid":       func(c *Config) { c.Scopes = []string{"profile"} },
		"no mapping":      func(c *Config) { c.Roles = nil },
		"bad role":        func(c *Config) { c.Roles[0].Role = "root" },
		"bad namespace":   func(c *Config) { c.Roles[0].Namespace = "Bad NS" },
		"no group":        func(c *Config) { c.Roles[0].Group = "" },
		"bad default":     func(c *Config) { c.DefaultRole = "god" },
		"bad post logout": func(c *Config) { c.PostLogoutRedirectURL = "nope" },
	} {
		c := good
		c.Roles = append([]RoleMapping(nil), good.Roles...)
		mut(&c)
		if err := c.Check(); weft.Code(err) != weft.EInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}
