// Package pgtest starts a throwaway PostgreSQL cluster for tests: initdb in
// a temp dir, pg_ctl on a free loopback port, torn down at the end. As root
// it runs the server as the "postgres" user through runuser.
package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var binDirs = []string{"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"}

// BinDir returns the directory holding initdb and pg_ctl, or "".
func BinDir() string {
	if d := os.Getenv("WEFT_PG_BIN"); d != "" {
		return d
	}
	for _, d := range binDirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// Server is a running cluster.
type Server struct {
	dir, bin string
	Port     int
	asUser   string
	n        int
	mu       sync.Mutex
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
)

// Shared returns one cluster for the whole test binary (stopped by Stop in
// TestMain, or left to die with the temp dir). Without PostgreSQL binaries
// it fails the test loudly unless WEFT_ALLOW_NO_PG=1, in which case it skips.
func Shared(t testing.TB) *Server {
	t.Helper()
	needBinaries(t)
	sharedOnce.Do(func() { shared, sharedErr = start() })
	if sharedErr != nil {
		t.Fatalf("start PostgreSQL: %v", sharedErr)
	}
	return shared
}

func needBinaries(t testing.TB) {
	t.Helper()
	if BinDir() == "" {
		if os.Getenv("WEFT_ALLOW_NO_PG") == "1" {
			t.Skip("!!! PostgreSQL binaries not found: skipping PostgreSQL tests (WEFT_ALLOW_NO_PG=1) !!!")
		}
		t.Fatal("PostgreSQL binaries (initdb, pg_ctl) not found; install postgresql or set WEFT_PG_BIN (WEFT_ALLOW_NO_PG=1 skips)")
	}
}

// Start starts a cluster of the test's own, removed when the test ends: for
// tests that stop the server under a running Weft (Shared must never be
// stopped early).
func Start(t testing.TB) *Server {
	t.Helper()
	needBinaries(t)
	return StartWith(t)
}

// StartWith is Start with server settings, each "name=value" (passed as
// -c name=value), e.g. "wal_level=logical" for logical replication tests.
func StartWith(t testing.TB, settings ...string) *Server {
	t.Helper()
	needBinaries(t)
	s, err := start(settings...)
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(s.stop)
	return s
}

// StopFast stops the server as `pg_ctl stop -m fast` does: sessions are
// terminated at once, as when an operator stops the database under load.
func (s *Server) StopFast(t testing.TB) {
	t.Helper()
	if out, err := s.run(filepath.Join(s.bin, "pg_ctl"), "-D", filepath.Join(s.dir, "data"), "-m", "fast", "-w", "stop"); err != nil {
		t.Fatalf("pg_ctl stop: %v: %s", err, out)
	}
}

// StopShared stops the shared cluster, if one was started.
func StopShared() {
	if shared != nil {
		shared.stop()
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start(settings ...string) (*Server, error) {
	s := &Server{bin: BinDir()}
	dir, err := os.MkdirTemp("", "weft-pg-")
	if err != nil {
		return nil, err
	}
	s.dir = dir
	if u, _ := user.Current(); u != nil && u.Uid == "0" {
		s.asUser = "postgres"
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("running as root needs a 'postgres' user for the test cluster: %v", err)
		}
		if out, err := exec.Command("chown", "-R", "postgres", dir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("chown: %v: %s", err, out)
		}
		_ = os.Chmod(dir, 0o755)
	}
	if s.Port, err = freePort(); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run(filepath.Join(s.bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", s.Port, dir)
	for _, kv := range settings {
		if strings.ContainsAny(kv, " '\"\\") || !strings.Contains(kv, "=") {
			return nil, fmt.Errorf("pgtest: bad setting %q (name=value, no spaces or quotes)", kv)
		}
		opts += " -c " + kv
	}
	if out, err := s.run(filepath.Join(s.bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		return nil, fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, log)
	}
	return s, nil
}

func (s *Server) run(name string, args ...string) ([]byte, error) {
	var cmd *exec.Cmd
	if s.asUser != "" {
		cmd = exec.Command("runuser", append([]string{"-u", s.asUser, "--", name}, args...)...)
	} else {
		cmd = exec.Command(name, args...)
	}
	cmd.Dir = s.dir
	return cmd.CombinedOutput()
}

func (s *Server) stop() {
	_, _ = s.run(filepath.Join(s.bin, "pg_ctl"), "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop")
	_ = os.RemoveAll(s.dir)
}

// NewDatabase creates a fresh database and returns its URL.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	s.mu.Lock()
	s.n++
	name := fmt.Sprintf("weft_%d_%d", os.Getpid(), s.n)
	s.mu.Unlock()
	var out []byte
	var err error
	for i := 0; i < 20; i++ {
		out, err = s.run(filepath.Join(s.bin, "createdb"), "-h", "127.0.0.1", "-p", fmt.Sprint(s.Port), "-U", "postgres", name)
		if err == nil || !strings.Contains(string(out), "being accessed") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("createdb: %v: %s", err, out)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, name)
}
