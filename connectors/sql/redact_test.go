package sql

import (
	"errors"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
)

// A driver message never carries the connection's secrets or a DSN's
// password, whichever way the driver quotes them.
func TestRedactDriverMessage(t *testing.T) {
	conn := &connectors.Connection{Secrets: map[string]string{"password": "hunter2-secret"}}
	msg := redact(errors.New(`dial postgres://app:hunter2-secret@db:5432/x failed; retry postgres://bob:other-pw@db2/y; auth "hunter2-secret"`), conn)
	for _, leak := range []string{"hunter2-secret", "other-pw"} {
		if strings.Contains(msg, leak) {
			t.Fatalf("redacted message still has %q: %s", leak, msg)
		}
	}
	if !strings.Contains(msg, "postgres://bob:[REDACTED]@db2/y") {
		t.Fatalf("DSN password not redacted in place: %s", msg)
	}
}
