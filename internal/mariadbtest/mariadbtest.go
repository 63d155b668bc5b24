// Package mariadbtest starts a throwaway MariaDB server for tests: the
// system tables installed in a temp dir, mariadbd on a free loopback port
// with grant tables skipped (root, no password), torn down at the end. As
// root it runs the server as the "mysql" user.
package mariadbtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a running MariaDB.
type Server struct {
	dir  string
	Port int
	cmd  *exec.Cmd
	n    int
	mu   sync.Mutex
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
)

func bins() (installDB, server string) {
	installDB, _ = exec.LookPath("mariadb-install-db")
	for _, p := range []string{"/usr/sbin/mariadbd", "/usr/sbin/mysqld"} {
		if _, err := os.Stat(p); err == nil {
			return installDB, p
		}
	}
	server, _ = exec.LookPath("mariadbd")
	return installDB, server
}

// Shared returns one server for the test binary. Without MariaDB it fails
// the test loudly unless WEFT_ALLOW_NO_MARIADB=1, which skips it.
func Shared(t testing.TB) *Server {
	t.Helper()
	if i, s := bins(); i == "" || s == "" {
		if os.Getenv("WEFT_ALLOW_NO_MARIADB") == "1" {
			t.Skip("!!! MariaDB (mariadb-server) not installed: skipping MariaDB tests (WEFT_ALLOW_NO_MARIADB=1) !!!")
		}
		t.Fatal("MariaDB not found: apt-get install -y mariadb-server (WEFT_ALLOW_NO_MARIADB=1 skips)")
	}
	sharedOnce.Do(func() { shared, sharedErr = start(nil, false) })
	if sharedErr != nil {
		t.Fatalf("start MariaDB: %v", sharedErr)
	}
	return shared
}

// StopShared stops the shared server, if one was started.
func StopShared() {
	if shared != nil {
		shared.stop()
	}
}

// BinlogArgs are the mariadbd options of a server set up for change
// capture: the binary log on, row events with whole rows and column names.
var BinlogArgs = []string{"--log-bin=mysql-bin", "--server-id=1", "--binlog-format=ROW", "--binlog-row-image=FULL", "--binlog-row-metadata=FULL"}

// StartWith starts a server of the test's own, stopped when the test ends:
// grant tables in force (root@localhost without a password, reached over
// 127.0.0.1) and the binary log off unless args (mariadbd options such as
// --log-bin=mysql-bin) say otherwise.
func StartWith(t testing.TB, args ...string) *Server {
	t.Helper()
	if i, s := bins(); i == "" || s == "" {
		if os.Getenv("WEFT_ALLOW_NO_MARIADB") == "1" {
			t.Skip("!!! MariaDB (mariadb-server) not installed: skipping MariaDB tests (WEFT_ALLOW_NO_MARIADB=1) !!!")
		}
		t.Fatal("MariaDB not found: apt-get install -y mariadb-server (WEFT_ALLOW_NO_MARIADB=1 skips)")
	}
	s, err := start(args, true)
	if err != nil {
		t.Fatalf("start MariaDB: %v", err)
	}
	t.Cleanup(s.stop)
	return s
}

// Exec runs SQL as root on the server (the mariadb client).
func (s *Server) Exec(t testing.TB, sql string) {
	t.Helper()
	out, err := exec.Command("mariadb", "-h127.0.0.1", "-P"+strconv.Itoa(s.Port), "-uroot", "-e", sql).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", sql, err, strings.TrimSpace(string(out)))
	}
}

func start(extra []string, grants bool) (*Server, error) {
	installDB, server := bins()
	dir, err := os.MkdirTemp("", "weft-mariadb-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	var asUser []string
	if u, _ := user.Current(); u != nil && u.Uid == "0" {
		if _, err := user.Lookup("mysql"); err != nil {
			return nil, fmt.Errorf("running as root needs a 'mysql' user: %v", err)
		}
		asUser = []string{"--user=mysql"}
		if out, err := exec.Command("chown", "-R", "mysql", dir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("chown: %v: %s", err, out)
		}
	}
	data := filepath.Join(dir, "data")
	args := append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal", "--skip-test-db"}, asUser...)
	if out, err := exec.Command(installDB, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadb-install-db: %v: %s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	log, _ := os.Create(filepath.Join(dir, "log"))
	opts := []string{"--no-defaults", "--datadir=" + data, "--port=" + strconv.Itoa(s.Port), "--bind-address=127.0.0.1",
		"--socket=" + filepath.Join(dir, "sock"), "--pid-file=" + filepath.Join(dir, "pid"),
		"--innodb-flush-log-at-trx-commit=0", "--innodb-buffer-pool-size=64M"}
	if !grants {
		opts = append(opts, "--skip-grant-tables")
	}
	if len(extra) == 0 {
		opts = append(opts, "--skip-log-bin")
	}
	opts = append(opts, extra...)
	s.cmd = exec.Command(server, append(opts, asUser...)...)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test binary
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port), time.Second)
		if err == nil {
			c.Close()
			return s, nil
		}
		if time.Now().After(deadline) || s.cmd.ProcessState != nil {
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			s.stop()
			return nil, fmt.Errorf("mariadbd did not start: %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *Server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
		}
	}
	_ = os.RemoveAll(s.dir)
}

// NewDatabase creates a fresh database and returns its DSN
// (go-sql-driver/mysql format).
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	s.mu.Lock()
	s.n++
	name := fmt.Sprintf("weft_%d_%d", os.Getpid(), s.n)
	s.mu.Unlock()
	out, err := exec.Command("mariadb", "-h127.0.0.1", "-P"+strconv.Itoa(s.Port), "-uroot", "-e", "CREATE DATABASE "+name).CombinedOutput()
	if err != nil {
		t.Fatalf("create database: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return fmt.Sprintf("root@tcp(127.0.0.1:%d)/%s", s.Port, name)
}
