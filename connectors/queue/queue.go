// Package queue holds the message-queue connectors and the consumers behind
// the queue triggers: NATS JetStream (nats.publish, github.com/nats-io/nats.go)
// and AMQP 0-9-1 / RabbitMQ (amqp.publish, github.com/rabbitmq/amqp091-go).
//
// A connection names its server in secrets.url (nats://user:pass@host:4222,
// amqp://user:pass@host:5672/vhost). Publishing waits for the server's
// confirmation (a JetStream publish ack; an AMQP publisher confirm) before
// the step succeeds. Consumers hand out messages that the caller acknowledges
// (Ack) or returns for redelivery (Nak) one by one, after it has done with
// them; nothing is acknowledged on receipt.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/internal/egress"
)

// Options configure the queue connectors.
type Options struct {
	// Egress is the global egress policy the dials go through (nil: none).
	Egress *egress.Policy
	// MaxBytes bounds one published message (default 8 MiB).
	MaxBytes int
}

// DialFunc dials a server (an egress policy's dialer).
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Message is one received message. Exactly one of Ack and Nak should be
// called; a message neither acknowledged nor returned is redelivered when
// the server's ack wait passes or the consumer closes.
type Message struct {
	ID          string // the publisher's message id ("" when none)
	Subject     string // the NATS subject or the AMQP routing key
	Source      string // the stream or the queue
	Sequence    uint64 // the JetStream stream sequence (0 for AMQP)
	Headers     map[string]string
	Body        []byte
	Redelivered bool
	PublishedAt time.Time
	ack, nak    func() error
}

// Ack acknowledges the message: the server will not deliver it again.
func (m *Message) Ack() error { return m.ack() }

// Nak returns the message to the server for redelivery.
func (m *Message) Nak() error { return m.nak() }

// Consumer receives messages.
type Consumer interface {
	// Fetch returns up to max messages, waiting up to wait for the first.
	Fetch(ctx context.Context, max int, wait time.Duration) ([]*Message, error)
	// Waiting asks the server how many messages wait for this consumer,
	// not yet delivered to it (JetStream: the consumer's pending count;
	// AMQP: the queue's ready messages).
	Waiting(ctx context.Context) (int64, error)
	Close()
}

// Redact removes a URL's password for error messages.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(the connection's url)"
	}
	u.User = nil
	return u.Redacted()
}

func permanent(op, format string, args ...any) error {
	return &connectors.Error{Class: connectors.Permanent, Message: op + ": " + fmt.Sprintf(format, args...)}
}

func retryable(op string, err error) error {
	if egress.IsRefused(err) {
		return &connectors.Error{Class: connectors.Permanent, Message: op + ": " + err.Error()}
	}
	return &connectors.Error{Class: connectors.Retryable, Message: op + ": " + connectors.RedactURLs(err.Error())}
}

// payload is a publish input's body as bytes: a string as is, anything
// else as JSON.
func payload(op string, in map[string]any, max int) ([]byte, string, error) {
	var b []byte
	ct := "application/json"
	switch v := in["body"].(type) {
	case nil:
		if _, ok := in["body"]; !ok {
			return nil, "", permanent(op, "give body: the message (a string is sent as is, anything else as JSON)")
		}
		b = []byte("null")
	case string:
		b, ct = []byte(v), "text/plain; charset=utf-8"
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			return nil, "", permanent(op, "body is not JSON-encodable: %v", err)
		}
	}
	if len(b) > max {
		return nil, "", permanent(op, "the message is %d bytes; the limit is %d", len(b), max)
	}
	return b, ct, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// headers reads a publish input's headers (strings only).
func headers(op string, in map[string]any) (map[string]string, error) {
	raw, ok := in["headers"].(map[string]any)
	if !ok {
		if in["headers"] != nil {
			return nil, permanent(op, "headers must be an object of strings")
		}
		return nil, nil
	}
	if len(raw) > 64 {
		return nil, permanent(op, "at most 64 headers, got %d", len(raw))
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		s, ok := v.(string)
		if !ok || k == "" || len(k) > 256 || len(s) > 4096 || strings.ContainsAny(k, "\r\n:") || strings.ContainsAny(s, "\r\n") {
			return nil, permanent(op, "header %q: names and values are single-line strings (name at most 256 bytes, value 4096)", k)
		}
		out[k] = s
	}
	return out, nil
}

var errNoURL = errors.New("the connection has no secrets.url")

func connURL(op string, c *connectors.Connection) (string, error) {
	if c == nil {
		return "", permanent(op, "name a connection (its secrets.url is the server)")
	}
	if c.Secrets["url"] == "" {
		return "", permanent(op, "connection %q: %v", c.Name, errNoURL)
	}
	return c.Secrets["url"], nil
}

func strSchema(desc string) map[string]any {
	return map[string]any{"type": "string", "description": desc}
}
