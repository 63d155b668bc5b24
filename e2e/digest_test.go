package e2e

import (
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/weftio/weft/internal/mailpittest"
	"github.com/weftio/weft/internal/pgtest"
)

// A flow polls new rows from a real PostgreSQL, sums them up and emails a
// digest with a CSV attachment through a real Mailpit; rows that existed
// before the flow started are not mailed, each new row is mailed once, and
// a restart mails nothing twice.
func TestPostgresNewRowsDigestByEmail(t *testing.T) {
	pg := pgtest.Shared(t)
	shopDSN := pg.NewDatabase(t)
	db, err := sql.Open("pgx", shopDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE TABLE orders (id BIGSERIAL PRIMARY KEY, customer TEXT NOT NULL, total NUMERIC(10,2) NOT NULL)`)
	exec(`INSERT INTO orders (customer, total) VALUES ('old-1', 1), ('old-2', 2)`)
	mp := mailpittest.Start(t, "", "", "")

	dir := t.TempDir()
	cfg := filepath.Join(dir, "weft.yaml")
	os.WriteFile(cfg, []byte(`connections:
  shop:
    connector: postgres
    secrets: {dsn: "${secret:SHOP_DSN}"}
  mail:
    connector: smtp
    config: {host: 127.0.0.1, port: `+strconv.Itoa(mp.SMTPPort)+`, tls: none, from: weft@example.com}
deploy: [`+filepath.Join(dir, "digest.yaml")+`]
`), 0o600)
	os.WriteFile(filepath.Join(dir, "digest.yaml"), []byte(`name: orders-digest
trigger:
  poll:
    operation: postgres.select
    connection: shop
    input: {table: orders, after_column: id, after: =trigger.cursor, limit: 500}
    cursor: id
    every: 1s
    batch: true
steps:
  - id: summary
    set:
      count: =trigger.body.count
      total: =round(sum(trigger.body.records.map(r, double(r.total))), 2)
      lines: =trigger.body.records.map(r, r.customer + " " + r.total).join("\n")
  - id: mail
    call: smtp.send
    connection: mail
    with:
      to: ops@example.com
      subject: '="New orders: " + string(steps.summary.count) + ", total " + string(steps.summary.total)'
      text: =steps.summary.lines
      attachments:
        - filename: orders.csv
          content_type: text/csv
          content: ="id,customer,total\n" + trigger.body.records.map(r, string(r.id) + "," + r.customer + "," + r.total).join("\n")
`), 0o600)
	env := []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data"), "WEFT_SECRET_SHOP_DSN=" + shopDSN}
	srv := startServer(t, "", env, "--config", cfg)

	waitMails := func(n int) []mailpittest.Message {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			msgs := mp.Messages(t)
			if len(msgs) >= n || time.Now().After(deadline) {
				if len(msgs) != n {
					t.Fatalf("%d messages, want %d: %+v\n%s", len(msgs), n, msgs, srv.logs())
				}
				return msgs
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// The first poll records where the table stands (start: now).
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(cursorOf(t, srv), `"at":2`) {
		if time.Now().After(deadline) {
			t.Fatalf("first poll never happened:\n%s", srv.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	exec(`INSERT INTO orders (customer, total) VALUES ('Ada', 12.50), ('Bob', 7.25), ('Cy', 0.25)`)
	msgs := waitMails(1)
	m := msgs[0]
	if m.Subject != "New orders: 3, total 20" || m.Text != "Ada 12.50\r\nBob 7.25\r\nCy 0.25" && m.Text != "Ada 12.50\nBob 7.25\nCy 0.25" {
		t.Fatalf("digest: %q %q", m.Subject, m.Text)
	}
	if len(m.Attachments) != 1 || string(mp.Part(t, m.ID, m.Attachments[0].PartID)) != "id,customer,total\n3,Ada,12.50\n4,Bob,7.25\n5,Cy,0.25" {
		t.Fatalf("attachment: %+v", m.Attachments)
	}
	// A restart does not mail the same rows again; new rows after it are mailed once.
	srv.stop(syscall.SIGTERM)
	srv2 := startServer(t, srv.addr, env, "--config", cfg)
	exec(`INSERT INTO orders (customer, total) VALUES ('Dee', 100)`)
	msgs = waitMails(2)
	if msgs[0].Subject != "New orders: 1, total 100" {
		t.Fatalf("second digest: %q", msgs[0].Subject)
	}
	time.Sleep(2500 * time.Millisecond)
	waitMails(2)
	out, err := srv2.cli("runs", "list", "--flow", "orders-digest")
	if err != nil || strings.Count(out, "succeeded") != 2 {
		t.Fatalf("runs: %v\n%s", err, out)
	}
	if strings.Contains(srv.logs()+srv2.logs(), shopDSN) {
		t.Fatal("the DSN (a secret) was logged")
	}
}

// cursorOf reads the flow's trigger cursor through the CLI's JSON view.
func cursorOf(t *testing.T, s *server) string {
	var res map[string]any
	s.do("GET", "/api/flows/orders-digest", nil, &res)
	c, _ := res["trigger_cursor"].(string)
	return c
}
