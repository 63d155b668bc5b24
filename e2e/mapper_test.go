package e2e

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// weft map: suggest from a CSV export and a database table, review in the
// CLI, export a set step, deploy it and run it.
func TestMapperCLIEndToEnd(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "crm.db")
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE contacts (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, email_address TEXT, phone TEXT, company TEXT, signed_up DATE)`,
		`INSERT INTO contacts (full_name, email_address, phone, company, signed_up) VALUES ('Ada Lovelace', 'ada@example.com', '+44 20 7946 0018', 'Analytical Ltd', '2024-03-01')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	csv := filepath.Join(dir, "leads.csv")
	os.WriteFile(csv, []byte("First Name,Last Name,E-mail,Tel,Organisation,Created\nGrace,Hopper,grace@example.com,+1 212 555 0100,Navy,03/15/2024\n"), 0o600)
	cfg := filepath.Join(dir, "weft.yaml")
	os.WriteFile(cfg, []byte("connections:\n  crm:\n    connector: sqlite\n    secrets: {dsn: \""+dbPath+"\"}\n"), 0o600)
	srv := startServer(t, "", []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data")}, "--config", cfg)

	out, err := srv.cli("map", "suggest", "--source", csv, "--target", "table:crm.contacts", "--json", "--save")
	if err != nil {
		t.Fatalf("suggest: %v %s", err, out)
	}
	var m struct {
		ID    string `json:"id"`
		Items []struct {
			Target  string   `json:"target"`
			Sources []string `json:"sources"`
			Expr    string   `json:"expr"`
		} `json:"items"`
		Candidates map[string][]struct {
			Target string  `json:"target"`
			Score  float64 `json:"score"`
		} `json:"candidates"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := map[string]string{}
	for _, it := range m.Items {
		got[it.Target] = strings.Join(it.Sources, "+")
	}
	for target, want := range map[string]string{"full_name": "First Name+Last Name", "email_address": "E-mail", "phone": "Tel", "company": "Organisation", "signed_up": "Created"} {
		if got[target] != want {
			t.Fatalf("%s <- %q, want %q (all: %v)", target, got[target], want, got)
		}
	}
	if len(m.Candidates["E-mail"]) == 0 || m.Candidates["E-mail"][0].Target != "email_address" {
		t.Fatalf("ranked candidates: %v", m.Candidates["E-mail"])
	}
	if out, err := srv.cli("map", "accept", m.ID, "--all", "--reviewer", "ana"); err != nil || !strings.Contains(out, "accepted") {
		t.Fatalf("accept: %v %s", err, out)
	}
	if out, err := srv.cli("map", "reject", m.ID, "phone", "--note", "not this one"); err != nil || !strings.Contains(out, "rejected") {
		t.Fatalf("reject: %v %s", err, out)
	}
	step, err := srv.cli("map", "export", m.ID, "--root", "trigger.body")
	if err != nil || !strings.Contains(step, "set:") {
		t.Fatalf("export: %v %s", err, step)
	}
	flow := filepath.Join(dir, "lead.yaml")
	var b strings.Builder
	b.WriteString("name: lead-to-contact\ntrigger: {webhook: {}}\nsteps:\n")
	for _, l := range strings.Split(strings.TrimRight(step, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("  - respond: {body: =steps.mapped}\n")
	os.WriteFile(flow, []byte(b.String()), 0o600)
	if out, err := srv.cli("flow", "deploy", flow); err != nil {
		t.Fatalf("deploy: %v %s\n%s", err, out, b.String())
	}
	var resp map[string]any
	code := srv.do("POST", "/hooks/lead-to-contact", `{"First Name":"Grace","Last Name":"Hopper","E-mail":"grace@example.com","Tel":"+1 212 555 0100","Organisation":"Navy","Created":"03/15/2024"}`, &resp)
	if code != 200 || resp["full_name"] != "Grace Hopper" || resp["email_address"] != "grace@example.com" || resp["signed_up"] != "2024-03-15" || resp["phone"] != nil {
		t.Fatalf("mapped: %d %v\n%s", code, resp, b.String())
	}
	// Bad input: an empty schema and a missing table are clear errors.
	empty := filepath.Join(dir, "empty.json")
	os.WriteFile(empty, []byte(`{"name": "nothing", "fields": []}`), 0o600)
	if out, err := srv.cli("map", "suggest", "--source", empty, "--target", csv); err == nil || !strings.Contains(out, "has no fields") {
		t.Fatalf("empty: %v %s", err, out)
	}
	if out, err := srv.cli("map", "suggest", "--source", csv, "--target", "table:crm.nope"); err == nil || !strings.Contains(out, "no columns") {
		t.Fatalf("missing table: %v %s", err, out)
	}
}
