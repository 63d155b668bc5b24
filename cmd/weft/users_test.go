package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/mapper"
	"github.com/weftio/weft/store/sqlite"
)

// weft users: the password comes from stdin (never an argument), the user
// signs in with it, disable stops it, and a service account's token is
// shown once.
func TestUsersCommands(t *testing.T) {
	dir, cli := cliAgainstServer(t, "tok-users-0123456789")
	if out, code := cli("a long password 1\n", "users", "create", "ada", "--role", "editor"); code != 0 {
		t.Fatalf("create: %d %s", code, out)
	}
	if out, code := cli("", "users", "create", "bob"); code == 0 || !strings.Contains(out, "no password on stdin") {
		t.Fatalf("create without a password: %d %s", code, out)
	}
	if out, code := cli("short\n", "users", "create", "bob"); code == 0 || !strings.Contains(out, "too short") {
		t.Fatalf("create with a short password: %d %s", code, out)
	}
	if _, err := dir.SignIn(context.Background(), "ada", "a long password 1"); err != nil {
		t.Fatalf("sign in with the piped password: %v", err)
	}
	if out, code := cli("", "users", "list"); code != 0 || !strings.Contains(out, "ada") || !strings.Contains(out, "default=editor") || !strings.Contains(out, "local") || strings.Contains(out, "argon2") {
		t.Fatalf("list: %d %s", code, out)
	}
	if out, code := cli("another long password\n", "users", "reset-password", "ada"); code != 0 {
		t.Fatalf("reset: %d %s", code, out)
	}
	if _, err := dir.SignIn(context.Background(), "ada", "another long password"); err != nil {
		t.Fatalf("sign in after reset: %v", err)
	}
	if out, code := cli("", "users", "role", "ada", "viewer"); code != 0 {
		t.Fatalf("role: %d %s", code, out)
	}
	if out, code := cli("", "users", "disable", "ada"); code != 0 {
		t.Fatalf("disable: %d %s", code, out)
	}
	if _, err := dir.SignIn(context.Background(), "ada", "another long password"); err == nil {
		t.Fatal("a disabled user signed in")
	}
	out, code := cli("", "service-accounts", "create", "deployer", "--role", "operator", "--days", "30")
	if code != 0 || !strings.Contains(out, access.ServiceAccountPrefix) {
		t.Fatalf("service account: %d %s", code, out)
	}
	if out, code := cli("", "service-accounts", "list"); code != 0 || !strings.Contains(out, "deployer") || strings.Contains(out, access.ServiceAccountPrefix) {
		t.Fatalf("service accounts list: %d %s", code, out)
	}
}

// cliAgainstServer starts a gateway with a user directory on a fresh
// SQLite store, points the CLI at it with the API token, and returns the
// directory and a runner: cli(stdin, args...) → combined output, exit code.
func cliAgainstServer(t *testing.T, token string) (*access.Directory, func(in string, args ...string) (string, int)) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := access.NewDirectory(st)
	maps, err := mapper.NewService(context.Background(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gateway.New(engine.New(st, connectors.NewCatalog(), nil, engine.Config{}), nil,
		gateway.Config{APIToken: token, Directory: dir, Mapper: maps}))
	t.Cleanup(srv.Close)
	t.Setenv("WEFT_SERVER", srv.URL)
	t.Setenv("WEFT_API_TOKEN", token)
	return dir, func(in string, args ...string) (string, int) {
		t.Helper()
		stdin = strings.NewReader(in)
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		return out.String() + errOut.String(), code
	}
}
