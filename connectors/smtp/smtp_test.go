package smtp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/smtp"
	"github.com/weftio/weft/internal/mailpittest"
)

const password = "mail-pa55-SECRET-91"

func send(x *connectors.Connector, conn *connectors.Connection, in map[string]any) (any, error) {
	return x.Operations[0].Invoke(context.Background(), connectors.Call{Input: in, Connection: conn, IdempotencyKey: "run-1:mail"})
}

// Against a real Mailpit: the message, its HTML alternative and both
// attachments arrive byte for byte, read back through Mailpit's API.
func TestSendThroughMailpit(t *testing.T) {
	mp := mailpittest.Start(t, "weft", password, `@example\.com$`)
	x := smtp.New(smtp.Options{MaxBytes: 1 << 20})
	conn := &connectors.Connection{Name: "mail", Connector: "smtp",
		Config:  map[string]any{"host": "127.0.0.1", "port": float64(mp.SMTPPort), "tls": "none", "from": "weft@example.com", "username": "weft"},
		Secrets: map[string]string{"password": password}}
	if err := x.Check(conn); err != nil {
		t.Fatal(err)
	}
	png := []byte{0x89, 'P', 'N', 'G', 0, 1, 2, 3, 0xff, 0xfe}
	out, err := send(x, conn, map[string]any{
		"to": []any{"ops@example.com"}, "cc": "lead@example.com", "subject": "Daily orders: 3",
		"text": "3 new orders", "html": "<p><b>3</b> new orders</p>",
		"attachments": []any{
			map[string]any{"filename": "orders.csv", "content_type": "text/csv", "content": "id,total\n1,10\n"},
			map[string]any{"filename": "chart.png", "content_type": "image/png", "content_base64": base64.StdEncoding.EncodeToString(png)},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if out.(map[string]any)["recipients"] != int64(2) {
		t.Fatalf("%v", out)
	}
	msgs := mp.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if m.Subject != "Daily orders: 3" || m.From.Address != "weft@example.com" || m.To[0].Address != "ops@example.com" || m.Cc[0].Address != "lead@example.com" ||
		!strings.Contains(m.Text, "3 new orders") || !strings.Contains(m.HTML, "<b>3</b>") || len(m.Attachments) != 2 {
		t.Fatalf("%+v", m)
	}
	for _, a := range m.Attachments {
		got := mp.Part(t, m.ID, a.PartID)
		switch a.FileName {
		case "orders.csv":
			if string(got) != "id,total\n1,10\n" {
				t.Fatalf("csv: %q", got)
			}
		case "chart.png":
			if !bytes.Equal(got, png) || a.ContentType != "image/png" {
				t.Fatalf("png: %v %s", got, a.ContentType)
			}
		default:
			t.Fatalf("attachment %s", a.FileName)
		}
	}

	// A rejected recipient (5xx) fails permanently.
	_, err = send(x, conn, map[string]any{"to": "someone@elsewhere.org", "subject": "x", "text": "x"})
	if class, _ := connectors.Classify(err); err == nil || class != connectors.Permanent {
		t.Fatalf("rejected recipient: %v (%s)", err, class)
	}
	// A wrong password fails, and the error holds no password.
	wrong := *conn
	wrong.Secrets = map[string]string{"password": "not-the-Right-one"}
	_, err = send(x, &wrong, map[string]any{"to": "ops@example.com", "subject": "x", "text": "x"})
	if err == nil || strings.Contains(err.Error(), "not-the-Right-one") {
		t.Fatalf("wrong password: %v", err)
	}
	// Nobody listening: retryable.
	down := *conn
	down.Config = map[string]any{"host": "127.0.0.1", "port": float64(1), "tls": "none", "from": "weft@example.com"}
	_, err = send(x, &down, map[string]any{"to": "ops@example.com", "subject": "x", "text": "x"})
	if class, _ := connectors.Classify(err); err == nil || class != connectors.Retryable {
		t.Fatalf("server down: %v (%s)", err, class)
	}
	// Bad input: clear permanent errors, nothing sent.
	for _, c := range []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"subject": "x"}, "no recipients"},
		{map[string]any{"to": "not an address", "subject": "x"}, "to"},
		{map[string]any{"to": "a@example.com", "subject": "x", "attachments": []any{map[string]any{"filename": "a.bin", "content_base64": "%%%"}}}, "not base64"},
		{map[string]any{"to": "a@example.com", "subject": "x", "text": strings.Repeat("x", 2<<20)}, "the limit is"},
	} {
		_, err := send(x, conn, c.in)
		if class, _ := connectors.Classify(err); err == nil || !strings.Contains(err.Error(), c.want) || class != connectors.Permanent {
			t.Errorf("%v: %v", c.want, err)
		}
	}
	if n := len(mp.Messages(t)); n != 1 {
		t.Fatalf("%d messages after the failures", n)
	}
}
