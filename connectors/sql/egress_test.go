package sql_test

import (
	"bytes"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/weftio/weft/connectors"
	sqlconn "github.com/weftio/weft/connectors/sql"
	"github.com/weftio/weft/internal/egress"
	"github.com/weftio/weft/internal/mariadbtest"
	"github.com/weftio/weft/internal/pgtest"
)

// PostgreSQL and MySQL dials go through the egress policy: the test
// server on 127.0.0.1 is reached when the policy allows it, by address or
// by a name resolving to it, and refused (a permanent error naming the
// target, no password) when it does not.
func TestEgressPolicy(t *testing.T) {
	for _, c := range []struct {
		dialect string
		dsn     func(t *testing.T) string
		host    func(dsn string) (string, string) // host, port
		rename  func(dsn, host string) string
	}{
		{sqlconn.Postgres, func(t *testing.T) string { return pgtest.Shared(t).NewDatabase(t) },
			func(dsn string) (string, string) { u, _ := url.Parse(dsn); return u.Hostname(), u.Port() },
			func(dsn, host string) string {
				u, _ := url.Parse(dsn)
				u.Host = net.JoinHostPort(host, u.Port())
				return u.String()
			}},
		{sqlconn.MySQL, func(t *testing.T) string { return mariadbtest.Shared(t).NewDatabase(t) },
			func(dsn string) (string, string) {
				c, _ := mysql.ParseDSN(dsn)
				h, p, _ := net.SplitHostPort(c.Addr)
				return h, p
			},
			func(dsn, host string) string {
				c, _ := mysql.ParseDSN(dsn)
				_, p, _ := net.SplitHostPort(c.Addr)
				c.Addr = net.JoinHostPort(host, p)
				return c.FormatDSN()
			}},
	} {
		t.Run(c.dialect, func(t *testing.T) {
			dsn := c.dsn(t)
			host, port := c.host(dsn)
			if host != "127.0.0.1" {
				t.Fatalf("test server on %s, want 127.0.0.1", host)
			}
			query := func(pol *egress.Policy, dsn string) error {
				x := sqlconn.New(c.dialect, sqlconn.Options{Egress: pol})
				conn := &connectors.Connection{Name: "shop", Connector: c.dialect, Secrets: map[string]string{"dsn": dsn}}
				_, err := call(t, x, conn, "query", map[string]any{"sql": "SELECT 1 AS one"})
				return err
			}
			var logs bytes.Buffer
			allow := egress.MustNew("127.0.0.1:" + port)
			allow.Log = slog.New(slog.NewTextHandler(&logs, nil))
			if err := query(allow, dsn); err != nil {
				t.Fatalf("allowed: %v", err)
			}
			// localhost is not listed but resolves to the listed address
			// (its ::1 answer, if any, is skipped).
			if err := query(allow, c.rename(dsn, "localhost")); err != nil {
				t.Fatalf("a name resolving to an allowed address: %v", err)
			}
			if allow.Refused() != 0 {
				t.Fatalf("refused %d: %s", allow.Refused(), logs.String())
			}
			deny := egress.MustNew("127.0.0.1:1", "db.example.com")
			deny.Log = allow.Log
			err := query(deny, dsn)
			ce, ok := err.(*connectors.Error)
			if !ok || ce.Class != connectors.Permanent || !strings.Contains(ce.Message, "egress: dial to 127.0.0.1:"+port+" refused by the egress policy") {
				t.Fatalf("refused: %#v", err)
			}
			if deny.Refused() == 0 || !strings.Contains(logs.String(), `by="connection shop"`) || !strings.Contains(logs.String(), "host=127.0.0.1") {
				t.Fatalf("refusal not counted or logged: %d %s", deny.Refused(), logs.String())
			}
			pw := ""
			if u, err := url.Parse(dsn); c.dialect == sqlconn.Postgres && err == nil && u.User != nil {
				pw, _ = u.User.Password()
			} else if m, err := mysql.ParseDSN(dsn); c.dialect == sqlconn.MySQL && err == nil {
				pw = m.Passwd
			}
			if pw != "" && (strings.Contains(ce.Message, pw) || strings.Contains(logs.String(), pw)) {
				t.Fatal("the password leaked")
			}
		})
	}
}
