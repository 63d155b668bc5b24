package weft

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeSystem is a PATH of shims (id, go, gcc, apt-get, useradd) and an empty
// sysroot: a machine with Go and a compiler but no PostgreSQL or MariaDB.
// The shims log their arguments to calls.
func fakeSystem(t *testing.T, uid string) (env []string, calls string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	sys := filepath.Join(dir, "sys")
	calls = filepath.Join(dir, "calls")
	for _, d := range []string{bin, filepath.Join(sys, "etc/ssl/certs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(sys, "etc/ssl/certs/ca-certificates.crt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash not found")
	}
	shims := map[string]string{
		// id: the uid; "id postgres" fails (no such user)
		"id":      `if [ "$1" = -u ]; then echo ` + uid + `; exit 0; fi; exit 1`,
		"go":      `case "$*" in "env CC") echo gcc;; "env GOPROXY") echo https://proxy.golang.org;; esac`,
		"gcc":     `exit 0`,
		"apt-get": `echo "apt-get $*" >> ` + calls,
		"useradd": `echo "useradd $*" >> ` + calls,
	}
	for name, body := range shims {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!"+bash+"\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return []string{"PATH=" + bin, "WEFT_DEPS_SYSROOT=" + sys, "HOME=" + dir}, calls
}

func runDeps(t *testing.T, env []string) (string, error) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash not found")
	}
	cmd := exec.Command(bash, ".ci/deps")
	cmd.Env = env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf(".ci/deps took %v; it must answer at once", d)
	}
	return string(out), err
}

// F24: make test on a fresh machine installs what it needs (as root) or stops
// at once with the exact command (not root); make test and CI share one script.
func TestIssue16_F24_MakeTestInstallsOrStopsWithCommand(t *testing.T) {
	t.Run("not root: stops with the exact command", func(t *testing.T) {
		env, calls := fakeSystem(t, "1000")
		out, err := runDeps(t, env)
		if err == nil {
			t.Fatalf(".ci/deps succeeded without PostgreSQL and MariaDB:\n%s", out)
		}
		if !strings.Contains(out, "sudo apt-get install -y postgresql mariadb-server") {
			t.Errorf("no exact install command in:\n%s", out)
		}
		if b, _ := os.ReadFile(calls); len(b) > 0 {
			t.Errorf("not root, yet it ran: %s", b)
		}
	})
	t.Run("root: installs and creates the postgres user", func(t *testing.T) {
		env, calls := fakeSystem(t, "0")
		out, err := runDeps(t, env)
		if err != nil {
			t.Fatalf(".ci/deps as root: %v\n%s", err, out)
		}
		b, _ := os.ReadFile(calls)
		log := string(b)
		if !strings.Contains(log, "apt-get install") || !strings.Contains(log, "postgresql mariadb-server") {
			t.Errorf("apt-get install postgresql mariadb-server not run; calls:\n%s", log)
		}
		if !strings.Contains(log, "useradd --system") || !strings.HasSuffix(strings.TrimSpace(log), "postgres") {
			t.Errorf("postgres user not created; calls:\n%s", log)
		}
		if !strings.Contains(out, "installing postgresql mariadb-server") {
			t.Errorf("the install does not say what it is doing:\n%s", out)
		}
	})
	t.Run("make test and CI call it", func(t *testing.T) {
		mk, err := os.ReadFile("Makefile")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(mk), "\ntest: deps") || !strings.Contains(string(mk), "bash .ci/deps") {
			t.Error("make test does not run .ci/deps first")
		}
		if !strings.Contains(string(mk), "building Mailpit") {
			t.Error("the Mailpit build does not say what it is doing")
		}
		ci, err := os.ReadFile(".ci/run")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(ci), "bash .ci/deps") || strings.Contains(string(ci), "apt-get") {
			t.Error(".ci/run does not use .ci/deps (or installs packages itself)")
		}
	})
}
