package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// auditStore makes a data directory whose audit log has n entries.
func auditStore(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), dir, slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := access.NewLog(st)
	for i := 1; i <= n; i++ {
		action := "flow.deploy"
		if i%2 == 0 {
			action = "connection.update"
		}
		if err := log.Record(context.Background(), access.Entry{Action: action, Resource: fmt.Sprintf("flow:f%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func weftRun(args ...string) (int, string, string) {
	var out, errb strings.Builder
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// weft audit verify reads the store itself (the server may be down): exit
// 0 on an intact chain; exit 1 naming the first bad entry after a row is
// edited or deleted in the database.
func TestIssue18_AuditVerifyCLI(t *testing.T) {
	noServer(t)
	dir := auditStore(t, 4)
	code, out, errOut := weftRun("audit", "verify", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "4 entries, chain intact") {
		t.Fatalf("intact: %d %q %q", code, out, errOut)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "weft.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE audit_log SET outcome = 'denied' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = weftRun("audit", "verify", "--data-dir", dir)
	if code != 1 || !strings.Contains(errOut, "entry 2: hash mismatch") {
		t.Fatalf("edited: %d %q %q", code, out, errOut)
	}
	if _, err := db.Exec(`UPDATE audit_log SET outcome = 'ok' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM audit_log WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = weftRun("audit", "verify", "--data-dir", dir)
	if code != 1 || !strings.Contains(errOut, "entry 4: missing entry") {
		t.Fatalf("deleted: %d %q", code, errOut)
	}
	code, _, errOut = weftRun("audit", "verify", "--data-dir", filepath.Join(dir, "nope"))
	if code != 2 || !strings.Contains(errOut, "no Weft store") {
		t.Fatalf("no store: %d %q", code, errOut)
	}
}

// weft audit list pages through the API; --json is JSON lines, oldest
// first; verify through the server.
func TestIssue18_AuditListCLI(t *testing.T) {
	dir := auditStore(t, 1005)
	st, err := sqlite.Open(context.Background(), dir, slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(gateway.New(engine.New(st, connectors.NewCatalog(), nil, engine.Config{}), nil, gateway.Config{}))
	defer srv.Close()
	code, out, errOut := weftRun("audit", "list", "--server", srv.URL, "--limit", "1003", "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 1003 {
		t.Fatalf("list --json: %d, %d lines, %q", code, len(lines), errOut)
	}
	var first, last access.Entry
	if json.Unmarshal([]byte(lines[0]), &first) != nil || json.Unmarshal([]byte(lines[len(lines)-1]), &last) != nil || first.Seq != 3 || last.Seq != 1005 || last.Hash == "" {
		t.Fatalf("json lines: first %d, last %d", first.Seq, last.Seq)
	}
	code, out, _ = weftRun("audit", "list", "--server", srv.URL, "--action", "connection.update", "--limit", "3")
	if code != 0 || strings.Count(out, "connection.update") != 3 || strings.Contains(out, "flow.deploy") || !strings.Contains(out, "3 entries") {
		t.Fatalf("list --action: %d %q", code, out)
	}
	code, out, errOut = weftRun("audit", "verify", "--server", srv.URL)
	if code != 0 || !strings.Contains(out, "1005 entries, chain intact") {
		t.Fatalf("verify via server: %d %q %q", code, out, errOut)
	}
}

// audit.retention: a year by default, 0 keeps forever, negative and
// unknown keys refused.
func TestIssue18_AuditRetentionConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "weft.yaml")
	load := func(body string) (*Config, error) {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return loadConfig(p, nil)
	}
	if c, err := load(""); err != nil || c.Audit.Retention != 8760*time.Hour {
		t.Fatalf("default: %v %v", c.Audit, err)
	}
	if c, err := load("audit: {retention: 48h}\n"); err != nil || c.Audit.Retention != 48*time.Hour {
		t.Fatalf("48h: %v %v", c.Audit, err)
	}
	if c, err := load("audit: {retention: 0s}\n"); err != nil || c.Audit.Retention != 0 {
		t.Fatalf("0: %v %v", c.Audit, err)
	}
	if _, err := load("audit: {retention: -1h}\n"); err == nil || !strings.Contains(err.Error(), "audit.retention") {
		t.Fatalf("negative: %v", err)
	}
	if _, err := load("audit: {keep: 1h}\n"); err == nil || !strings.Contains(err.Error(), "keep") {
		t.Fatalf("unknown key: %v", err)
	}
}

// Flows the config deploys at start are audited as Weft itself (system).
func TestIssue18_DeployAtStartIsAudited(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir, slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	file := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(file, []byte("name: tiny\nsteps:\n  - id: a\n    set: {v: 1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := engine.New(st, connectors.NewCatalog(), nil, engine.Config{})
	for i := 0; i < 2; i++ { // the second start finds it unchanged: no deploy, no entry
		if err := deployAtStart(ctx, e, []string{file}, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
	}
	es, err := access.NewLog(st).List(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Action != "flow.deploy" || es[0].Actor != "system" || es[0].Resource != "flow:tiny" {
		t.Fatalf("entries: %+v", es)
	}
}
