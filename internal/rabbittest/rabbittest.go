// Package rabbittest starts a throwaway RabbitMQ server for tests: its own
// epmd and node on free loopback ports, its own data and log directory in
// the test's temp dir, stopped when the test ends. As root it runs the
// server as the "rabbitmq" user (the Debian package creates it).
//
// It needs the Debian package rabbitmq-server (.ci/deps installs it); set
// WEFT_RABBITMQ_BIN to another directory holding rabbitmq-server.
package rabbittest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a running broker.
type Server struct {
	Port int
	URL  string // amqp://guest:guest@127.0.0.1:port/
	dir  string
	cmds []*exec.Cmd
}

func binDir() string {
	if d := os.Getenv("WEFT_RABBITMQ_BIN"); d != "" {
		return d
	}
	return "/usr/lib/rabbitmq/bin"
}

func erlBin() string {
	for _, p := range []string{"/usr/lib/erlang/bin/epmd", "/usr/local/lib/erlang/bin/epmd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("epmd"); err == nil {
		return p
	}
	return ""
}

// Available reports whether the binaries are installed.
func Available() bool {
	_, err := os.Stat(filepath.Join(binDir(), "rabbitmq-server"))
	return err == nil && erlBin() != ""
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts a broker; it fails the test (never skips) without RabbitMQ.
func Start(t testing.TB) *Server {
	t.Helper()
	if !Available() {
		t.Fatal("RabbitMQ not found (rabbitmq-server and epmd): install it with `sudo apt-get install -y rabbitmq-server` (.ci/deps does), or set WEFT_RABBITMQ_BIN")
	}
	dir, err := os.MkdirTemp("", "weft-rabbit-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{dir: dir}
	t.Cleanup(func() { s.stop(); os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("rabbitmq")
		if err != nil {
			t.Fatal("running as root, the test starts RabbitMQ as the rabbitmq user, which does not exist (the rabbitmq-server package creates it)")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	s.Port = freePort(t)
	dist, epmdPort := freePort(t), freePort(t)
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if cred != nil {
			_ = os.Chown(p, int(cred.Uid), int(cred.Gid))
		}
	}
	write("enabled_plugins", "[].\n")
	write("rabbitmq.conf", fmt.Sprintf("listeners.tcp.default = 127.0.0.1:%d\nloopback_users.guest = true\n", s.Port))
	env := append(os.Environ(),
		"HOME="+dir, "ERL_EPMD_PORT="+strconv.Itoa(epmdPort), "ERL_EPMD_ADDRESS=127.0.0.1",
		"RABBITMQ_NODENAME=weft"+strconv.Itoa(s.Port)+"@localhost", "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+strconv.Itoa(s.Port), "RABBITMQ_DIST_PORT="+strconv.Itoa(dist),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"), "RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_PID_FILE="+filepath.Join(dir, "pid"), "RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq"), "RABBITMQ_ADVANCED_CONFIG_FILE="+filepath.Join(dir, "advanced.config"),
		"RABBITMQ_GENERATED_CONFIG_DIR="+filepath.Join(dir, "gen"), "RABBITMQ_LOGS="+filepath.Join(dir, "rabbit.log"),
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}")
	start := func(name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Env, cmd.Dir = env, dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
		out, err := os.Create(filepath.Join(dir, filepath.Base(name)+".out"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", name, err)
		}
		s.cmds = append(s.cmds, cmd)
	}
	// An epmd of the test's own, so that its node names and ports never
	// meet another test's or a system broker's.
	start(erlBin(), "-port", strconv.Itoa(epmdPort), "-address", "127.0.0.1")
	time.Sleep(200 * time.Millisecond)
	start(filepath.Join(binDir(), "rabbitmq-server"))
	s.URL = fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", s.Port)
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port), time.Second)
		if err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "rabbitmq-server.out"))
			t.Fatalf("RabbitMQ did not listen on %d within 90s:\n%s", s.Port, tail(string(b)))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// stop ends the processes this server started (their process groups).
func (s *Server) stop() {
	for i := len(s.cmds) - 1; i >= 0; i-- {
		c := s.cmds[i]
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	s.cmds = nil
}
