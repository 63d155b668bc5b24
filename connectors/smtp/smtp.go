// Package smtp is the built-in email connector: smtp.send delivers one
// message (text and/or HTML, cc, bcc, reply-to, attachments) through the
// connection's SMTP server with github.com/wneessen/go-mail.
//
// Connection config: host, port (default 587), tls (starttls — the
// default, required —, opportunistic, tls for implicit TLS on 465, or none),
// from (default sender), username; secrets: password.
package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/internal/egress"
)

// Options bound a message.
type Options struct {
	MaxBytes int64 // attachments and bodies together (default 25 MiB)
	// Egress is the global egress policy the SMTP dial goes through (nil:
	// none configured).
	Egress *egress.Policy
}

// New returns the smtp connector.
func New(o Options) *connectors.Connector {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 25 << 20
	}
	s := &sender{opts: o}
	addrs := map[string]any{"description": "an address or a list of addresses", "anyOf": []any{
		map[string]any{"type": "string"}, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}}
	return &connectors.Connector{
		Name: "smtp", Title: "Email (SMTP)", Version: "1.0.0",
		Description: "Send email through an SMTP server: text and HTML bodies, cc, bcc, reply-to and attachments.",
		Config: map[string]any{"type": "object", "required": []any{"host"}, "properties": map[string]any{
			"host":     map[string]any{"type": "string"},
			"port":     map[string]any{"type": "integer", "default": 587},
			"tls":      map[string]any{"enum": []any{"starttls", "opportunistic", "tls", "none"}, "default": "starttls"},
			"from":     map[string]any{"type": "string", "description": "default sender"},
			"username": map[string]any{"type": "string"},
			"auth":     map[string]any{"enum": []any{"plain", "login", "cram-md5"}, "description": "default: the strongest the server offers (plain without TLS)"},
		}},
		Secrets: []string{"password"},
		Check: func(c *connectors.Connection) error {
			if str(c.Config["host"]) == "" {
				return errors.New("an smtp connection needs config.host")
			}
			switch str(c.Config["tls"]) {
			case "", "starttls", "opportunistic", "tls", "none":
			default:
				return fmt.Errorf("smtp config.tls must be starttls, opportunistic, tls or none, got %q", str(c.Config["tls"]))
			}
			return nil
		},
		Operations: []*connectors.Operation{{
			Name: "send", Title: "Send email",
			Description: "Send one email message. 4xx SMTP replies and connection failures are retried; 5xx replies (bad recipient, rejected) fail the step.",
			Input: map[string]any{"type": "object", "required": []any{"to", "subject"}, "additionalProperties": false, "properties": map[string]any{
				"from": map[string]any{"type": "string"}, "to": addrs, "cc": addrs, "bcc": addrs, "reply_to": map[string]any{"type": "string"},
				"subject": map[string]any{"type": "string"}, "text": map[string]any{"type": "string"}, "html": map[string]any{"type": "string"},
				"headers": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
				"attachments": map[string]any{"type": "array", "items": map[string]any{"type": "object", "required": []any{"filename"}, "additionalProperties": false,
					"properties": map[string]any{"filename": map[string]any{"type": "string"}, "content_type": map[string]any{"type": "string"},
						"content": map[string]any{"type": "string", "description": "text content"}, "content_base64": map[string]any{"type": "string", "description": "binary content, base64"}}}},
			}},
			Output: map[string]any{"type": "object", "properties": map[string]any{"message_id": map[string]any{"type": "string"},
				"recipients": map[string]any{"type": "integer"}}},
			Hints:  connectors.Hints{OpenWorld: true},
			Invoke: s.send,
		}},
	}
}

type sender struct{ opts Options }

func permanent(format string, args ...any) error {
	return &connectors.Error{Class: connectors.Permanent, Message: "smtp.send: " + fmt.Sprintf(format, args...)}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func list(v any) []string {
	switch x := v.(type) {
	case string:
		var out []string
		for _, p := range strings.Split(x, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	case []any:
		var out []string
		for _, p := range x {
			if s, ok := p.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func (s *sender) send(ctx context.Context, c connectors.Call) (any, error) {
	conn := c.Connection
	if conn == nil {
		return nil, permanent("name an smtp connection (config.host says which server)")
	}
	in := c.Input
	m := mail.NewMsg()
	from := str(in["from"])
	if from == "" {
		from = str(conn.Config["from"])
	}
	if from == "" {
		return nil, permanent("no sender: give from, or config.from on the connection")
	}
	if err := m.From(from); err != nil {
		return nil, permanent("from %q: %v", from, err)
	}
	to, cc, bcc := list(in["to"]), list(in["cc"]), list(in["bcc"])
	if len(to)+len(cc)+len(bcc) == 0 {
		return nil, permanent("no recipients: give to")
	}
	for _, set := range []struct {
		name  string
		addrs []string
		fn    func(...string) error
	}{{"to", to, m.To}, {"cc", cc, m.Cc}, {"bcc", bcc, m.Bcc}} {
		if len(set.addrs) > 0 {
			if err := set.fn(set.addrs...); err != nil {
				return nil, permanent("%s: %v", set.name, err)
			}
		}
	}
	if rt := str(in["reply_to"]); rt != "" {
		if err := m.ReplyTo(rt); err != nil {
			return nil, permanent("reply_to %q: %v", rt, err)
		}
	}
	m.Subject(str(in["subject"]))
	text, html := str(in["text"]), str(in["html"])
	size := int64(len(text) + len(html))
	switch {
	case text != "" && html != "":
		m.SetBodyString(mail.TypeTextPlain, text)
		m.AddAlternativeString(mail.TypeTextHTML, html)
	case html != "":
		m.SetBodyString(mail.TypeTextHTML, html)
	default:
		m.SetBodyString(mail.TypeTextPlain, text)
	}
	if h, ok := in["headers"].(map[string]any); ok {
		for k, v := range h {
			m.SetGenHeader(mail.Header(k), str(v))
		}
	}
	atts, _ := in["attachments"].([]any)
	for i, a := range atts {
		am, ok := a.(map[string]any)
		if !ok || str(am["filename"]) == "" {
			return nil, permanent("attachments[%d] needs a filename", i)
		}
		var data []byte
		if b64 := str(am["content_base64"]); b64 != "" {
			var err error
			if data, err = base64.StdEncoding.DecodeString(b64); err != nil {
				return nil, permanent("attachments[%d] (%s): content_base64 is not base64", i, am["filename"])
			}
		} else {
			data = []byte(str(am["content"]))
		}
		size += int64(len(data))
		var opts []mail.FileOption
		if ct := str(am["content_type"]); ct != "" {
			opts = append(opts, mail.WithFileContentType(mail.ContentType(ct)))
		}
		m.AttachReadSeeker(str(am["filename"]), bytes.NewReader(data), opts...)
	}
	if size > s.opts.MaxBytes {
		return nil, permanent("message is %d bytes; the limit is %d", size, s.opts.MaxBytes)
	}
	m.SetMessageID()
	m.SetDate()
	if c.IdempotencyKey != "" {
		// Receivers and archives can drop a redelivered duplicate by this.
		m.SetGenHeader("X-Weft-Idempotency-Key", c.IdempotencyKey)
	}
	client, err := newClient(conn, s.opts.Egress)
	if err != nil {
		return nil, err
	}
	if err := client.DialAndSendWithContext(ctx, m); err != nil {
		return nil, classify(err, conn)
	}
	return map[string]any{"message_id": m.GetMessageID(), "recipients": int64(len(to) + len(cc) + len(bcc))}, nil
}

func newClient(conn *connectors.Connection, pol *egress.Policy) (*mail.Client, error) {
	host := str(conn.Config["host"])
	port := 587
	switch p := conn.Config["port"].(type) {
	case int:
		port = p
	case float64:
		port = int(p)
	case int64:
		port = int(p)
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTimeout(30 * time.Second)}
	switch str(conn.Config["tls"]) {
	case "", "starttls":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case "opportunistic":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case "tls":
		if pol != nil {
			// Implicit TLS over the policy's dial: the handshake is done
			// here, and go-mail sees an encrypted connection (it would
			// skip its own TLS with a custom dialer and WithSSL).
			dial := pol.Dialer("connection "+conn.Name, &net.Dialer{})
			opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic), mail.WithDialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := dial(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				tc := tls.Client(c, &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12})
				if err := tc.HandshakeContext(ctx); err != nil {
					c.Close()
					return nil, err
				}
				return tc, nil
			}))
		} else {
			opts = append(opts, mail.WithSSL())
		}
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if u := str(conn.Config["username"]); u != "" {
		mech := mail.SMTPAuthAutoDiscover // the strongest the server offers
		switch str(conn.Config["auth"]) {
		case "plain":
			mech = mail.SMTPAuthPlain
		case "login":
			mech = mail.SMTPAuthLogin
		case "cram-md5":
			mech = mail.SMTPAuthCramMD5
		case "":
			if str(conn.Config["tls"]) == "none" {
				// Discovery skips PLAIN without TLS; a local relay without TLS offers little else.
				mech = mail.SMTPAuthPlain
			}
		}
		opts = append(opts, mail.WithSMTPAuth(mech), mail.WithUsername(u), mail.WithPassword(conn.Secrets["password"]))
	}
	if pol != nil && str(conn.Config["tls"]) != "tls" {
		opts = append(opts, mail.WithDialContextFunc(mail.DialContextFunc(pol.Dialer("connection "+conn.Name, &net.Dialer{}))))
	}
	cl, err := mail.NewClient(host, opts...)
	if err != nil {
		return nil, permanent("connection %s: %v", conn.Name, err)
	}
	return cl, nil
}

// classify: SMTP 4xx and network failures are retryable, 5xx permanent.
func classify(err error, conn *connectors.Connection) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := err.Error()
	for _, s := range conn.SecretValues() {
		msg = strings.ReplaceAll(msg, s, "[REDACTED]")
	}
	if egress.IsRefused(err) {
		return &connectors.Error{Class: connectors.Permanent, Message: "smtp.send: " + msg}
	}
	var se *mail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code >= 500 && code < 600 {
			return &connectors.Error{Class: connectors.Permanent, Message: "smtp.send: " + msg}
		}
		if se.IsTemp() {
			return &connectors.Error{Class: connectors.Retryable, Message: "smtp.send: " + msg}
		}
	}
	var ne net.Error
	if errors.As(err, &ne) || strings.Contains(msg, "connection refused") || strings.Contains(msg, "dial") {
		return &connectors.Error{Class: connectors.Retryable, Message: "smtp.send: " + msg}
	}
	if strings.Contains(msg, " 5") && (strings.Contains(msg, "550") || strings.Contains(msg, "553") || strings.Contains(msg, "554") || strings.Contains(msg, "535")) {
		return &connectors.Error{Class: connectors.Permanent, Message: "smtp.send: " + msg}
	}
	return &connectors.Error{Class: connectors.Retryable, Message: "smtp.send: " + msg}
}
