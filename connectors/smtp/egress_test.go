package smtp_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/smtp"
	"github.com/weftio/weft/internal/egress"
)

// fakeSMTP is a minimal SMTP server on 127.0.0.1 (implicit TLS when cert
// is set): it accepts one message and reports its DATA.
func fakeSMTP(t *testing.T, cert *tls.Certificate) (int, <-chan string) {
	t.Helper()
	var ln net.Listener
	var err error
	if cert != nil {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{*cert}})
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		say := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
		say("220 test ESMTP")
		var data strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			cmd := strings.ToUpper(strings.TrimSpace(line))
			switch {
			case strings.HasPrefix(cmd, "EHLO"):
				say("250-test\r\n250 AUTH PLAIN")
			case strings.HasPrefix(cmd, "AUTH PLAIN"):
				say("235 ok")
			case cmd == "DATA":
				say("354 go")
				for {
					l, err := r.ReadString('\n')
					if err != nil || l == ".\r\n" {
						break
					}
					data.WriteString(l)
				}
				say("250 queued")
			case cmd == "QUIT":
				say("221 bye")
				got <- data.String()
				return
			default:
				say("250 ok")
			}
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, got
}

// The SMTP dial goes through the egress policy: a server on 127.0.0.1 is
// reached when allowed and refused (permanent, logged, counted, nothing
// sent) when not.
func TestEgressPolicy(t *testing.T) {
	port, got := fakeSMTP(t, nil)
	conn := &connectors.Connection{Name: "mail", Connector: "smtp",
		Config:  map[string]any{"host": "127.0.0.1", "port": float64(port), "tls": "none", "from": "weft@example.com", "username": "weft"},
		Secrets: map[string]string{"password": password}}
	msg := map[string]any{"to": "ops@example.com", "subject": "egress", "text": "hello"}
	var logs bytes.Buffer
	deny := egress.MustNew("mail.example.com:587", "127.0.0.1:25")
	deny.Log = slog.New(slog.NewTextHandler(&logs, nil))
	_, err := send(smtp.New(smtp.Options{Egress: deny}), conn, msg)
	if class, _ := connectors.Classify(err); err == nil || class != connectors.Permanent ||
		!strings.Contains(err.Error(), "egress: dial to 127.0.0.1:"+strconv.Itoa(port)+" refused by the egress policy") {
		t.Fatalf("refused: %v (%s)", err, class)
	}
	if deny.Refused() != 1 || !strings.Contains(logs.String(), `by="connection mail"`) || strings.Contains(logs.String(), password) {
		t.Fatalf("refused %d, log %s", deny.Refused(), logs.String())
	}
	allow := egress.MustNew("127.0.0.1:" + strconv.Itoa(port))
	if _, err := send(smtp.New(smtp.Options{Egress: allow}), conn, msg); err != nil {
		t.Fatalf("allowed: %v", err)
	}
	if data := <-got; !strings.Contains(data, "hello") {
		t.Fatalf("message not delivered: %q", data)
	}
}

// Implicit TLS (tls: tls) under a policy: the policy dials and the
// connector still does a verified TLS handshake (the test server's
// self-signed certificate is refused), or the policy refuses first.
func TestEgressImplicitTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil) // for its test certificate
	srv.StartTLS()
	cert := srv.TLS.Certificates[0]
	srv.Close()
	port, _ := fakeSMTP(t, &cert)
	conn := &connectors.Connection{Name: "mail", Connector: "smtp",
		Config:  map[string]any{"host": "127.0.0.1", "port": float64(port), "tls": "tls", "from": "weft@example.com", "username": "weft"},
		Secrets: map[string]string{"password": password}}
	msg := map[string]any{"to": "ops@example.com", "subject": "x", "text": "x"}
	_, err := send(smtp.New(smtp.Options{Egress: egress.MustNew("127.0.0.1")}), conn, msg)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("self-signed certificate accepted: %v", err)
	}
	deny := egress.MustNew("10.0.0.0/8")
	deny.Log = slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	if _, err := send(smtp.New(smtp.Options{Egress: deny}), conn, msg); err == nil || !strings.Contains(err.Error(), "refused by the egress policy") {
		t.Fatalf("refused: %v", err)
	}
}
