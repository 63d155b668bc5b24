package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
