// Package mailpittest starts a real Mailpit (github.com/axllent/mailpit)
// for tests: SMTP and its HTTP API on free loopback ports, with optional
// SMTP authentication, torn down at the end of the test.
package mailpittest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Server is a running Mailpit.
type Server struct {
	SMTPPort int
	API      string // http://127.0.0.1:port
}

// Binary finds mailpit: WEFT_MAILPIT, then PATH, then .tools/bin of the repository.
func Binary() string {
	if p := os.Getenv("WEFT_MAILPIT"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	dir, _ := os.Getwd()
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		p := filepath.Join(d, ".tools", "bin", "mailpit")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs Mailpit until the test ends. With user set, SMTP requires that
// user and password (over plain connections, as a local relay would).
// allowRcpt, if set, is a regular expression recipients must match.
func Start(t testing.TB, user, password, allowRcpt string) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		if os.Getenv("WEFT_ALLOW_NO_MAILPIT") == "1" {
			t.Skip("!!! mailpit not found: skipping email tests (WEFT_ALLOW_NO_MAILPIT=1) !!!")
		}
		t.Fatal("mailpit not found: run make tools (or set WEFT_MAILPIT); WEFT_ALLOW_NO_MAILPIT=1 skips")
	}
	dir := t.TempDir()
	s := &Server{SMTPPort: freePort(t)}
	apiPort := freePort(t)
	s.API = fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	args := []string{"--smtp", fmt.Sprintf("127.0.0.1:%d", s.SMTPPort), "--listen", fmt.Sprintf("127.0.0.1:%d", apiPort),
		"--database", filepath.Join(dir, "mailpit.db"), "--disable-version-check"}
	if user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		auth := filepath.Join(dir, "auth")
		os.WriteFile(auth, []byte(user+":"+string(hash)+"\n"), 0o600)
		args = append(args, "--smtp-auth-file", auth, "--smtp-auth-allow-insecure")
	} else {
		args = append(args, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
	}
	if allowRcpt != "" {
		args = append(args, "--smtp-allowed-recipients", allowRcpt)
	}
	cmd := exec.Command(bin, args...)
	log, _ := os.Create(filepath.Join(dir, "log"))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.API + "/api/v1/messages")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.SMTPPort)); err == nil {
					c.Close()
					return s
				}
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("mailpit did not start: %s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Get decodes the JSON at path of the Mailpit API into out.
func (s *Server) Get(t testing.TB, path string, out any) {
	t.Helper()
	resp, err := http.Get(s.API + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("mailpit %s: %d %s", path, resp.StatusCode, data)
	}
	if out == nil {
		return
	}
	if b, ok := out.(*[]byte); ok {
		*b = data
		return
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("mailpit %s: %v: %s", path, err, data)
	}
}

// Message is the part of Mailpit's message view the tests read.
type Message struct {
	ID          string
	Subject     string
	From        struct{ Address string }
	To          []struct{ Address string }
	Cc          []struct{ Address string }
	Text        string
	HTML        string
	Attachments []struct {
		PartID      string
		FileName    string
		ContentType string
		Size        int
	}
}

// Messages returns every delivered message, newest first, in full.
func (s *Server) Messages(t testing.TB) []Message {
	t.Helper()
	var list struct {
		Messages []struct{ ID string }
	}
	s.Get(t, "/api/v1/messages", &list)
	var out []Message
	for _, m := range list.Messages {
		var full Message
		s.Get(t, "/api/v1/message/"+m.ID, &full)
		out = append(out, full)
	}
	return out
}

// Part returns an attachment's bytes.
func (s *Server) Part(t testing.TB, id, part string) []byte {
	var b []byte
	s.Get(t, "/api/v1/message/"+id+"/part/"+part, &b)
	return b
}
