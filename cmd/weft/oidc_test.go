package main

import (
	"os"

	"path/filepath"
	"strings"
	"testing"

	"github.com/weftio/weft/access/sso"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/mcp"
)

// The oidc section: the client secret comes from the environment or a
// file, never inline; a bad section is refused at load with its key named.
func TestOIDCConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "weft.yaml")
	base := "oidc:\n  issuer: https://login.example.com/realms/acme\n  client_id: weft\n  redirect_url: https://weft.example.com/api/session/oidc/callback\n" +
		"  roles:\n    - {group: weft-admins, role: admin}\n    - {group: team-b, role: editor, namespace: team-b}\n"
	os.WriteFile(p, []byte(base+"  client_secret_env: WEFT_OIDC_SECRET\n"), 0o600)
	c, err := loadConfig(p, []string{"WEFT_OIDC_SECRET=s3cr3t-value"})
	if err != nil {
		t.Fatal(err)
	}
	if c.OIDC.ClientSecret != "s3cr3t-value" || len(c.OIDC.Roles) != 2 || c.OIDC.Roles[1].Namespace != "team-b" {
		t.Fatalf("%+v", c.OIDC)
	}
	secretFile := filepath.Join(dir, "client-secret")
	os.WriteFile(secretFile, []byte("from-a-file\n"), 0o600)
	os.WriteFile(p, []byte(base+"  client_secret_file: "+secretFile+"\n"), 0o600)
	if c, err := loadConfig(p, nil); err != nil || c.OIDC.ClientSecret != "from-a-file" {
		t.Fatalf("%v %+v", err, c)
	}

	for _, bad := range []struct{ file, env, want string }{
		{base + "  client_secret: inline\n", "", "client_secret not found"},
		{base + "  client_secret_env: WEFT_OIDC_SECRET\n", "", "WEFT_OIDC_SECRET is not set"},
		{base + "  client_secret_file: /does/not/exist\n", "", "client_secret_file"},
		{strings.Replace(base, "role: admin", "role: root", 1), "", "oidc.roles[0].role"},
		{strings.Replace(base, "https://login.example.com/realms/acme", "login.example.com", 1), "", "oidc.issuer"},
		{"oidc:\n  issuer: https://idp\n  client_id: weft\n  redirect_url: https://weft/api/session/oidc/callback\n", "", "oidc.roles"},
		{base + "  groups_clam: x\n", "", "groups_clam"},
	} {
		os.WriteFile(p, []byte(bad.file), 0o600)
		_, err := loadConfig(p, []string{bad.env})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want %q", bad.file, err, bad.want)
		}
		if err != nil && strings.Contains(err.Error(), "inline") {
			t.Errorf("an error echoes the secret: %v", err)
		}
	}
}

// With single sign-on and no api_token, /mcp needs MCP keys ("auto" would
// leave it open until the first key), and weft serve may listen beyond
// loopback (sign-in protects /api) unless /mcp is explicitly open.
func TestOIDCClosesMCPAndOpensExposure(t *testing.T) {
	c := defaultConfig()
	if mcpAuthMode(c) != "" {
		t.Fatalf("no SSO: %q", mcpAuthMode(c))
	}
	c.OIDC = &sso.Config{Issuer: "https://idp"}
	if mcpAuthMode(c) != mcp.AuthKeys {
		t.Fatalf("SSO, auto: %q", mcpAuthMode(c))
	}
	c.MCP.Auth.Mode = mcp.AuthOAuth
	if mcpAuthMode(c) != mcp.AuthOAuth {
		t.Fatalf("SSO, oauth: %q", mcpAuthMode(c))
	}
	if _, err := gateway.CheckExposure(gateway.Exposure{Addr: "0.0.0.0:8080", SSO: true, MCPAuthMode: mcp.AuthKeys}); err != nil {
		t.Fatalf("SSO beyond loopback: %v", err)
	}
	if _, err := gateway.CheckExposure(gateway.Exposure{Addr: "0.0.0.0:8080", SSO: true, MCPAuthMode: mcp.AuthNone}); err == nil {
		t.Fatal("SSO beyond loopback with /mcp open was accepted")
	}
	if _, err := gateway.CheckExposure(gateway.Exposure{Addr: "0.0.0.0:8080"}); err == nil {
		t.Fatal("no SSO, no api_token beyond loopback was accepted")
	}
}
