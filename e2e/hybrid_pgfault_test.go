package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/weftio/weft/internal/pgtest"
)

// The fault variant: a flow placed on site A polls a sandbox API
// that only A is configured to reach (a separate process standing in for
// the site's system) and writes each record to a PostgreSQL database that
// only A holds the DSN of. Records are created while A's link is delayed,
// dropped, half-open and cut, and while A is killed with kill -9 and restarted on
// its data directory; a second agent, site B, on a healthy link of its
// own, runs a flow of its own throughout. Afterwards the control plane's
// logs of A and of B equal theirs (run ids, count, statuses), neither
// site has the other's flow, the database holds each record once, and
// every step has exactly one ok attempt. The write counts how often each
// record was written (an upsert adding 1 on conflict) and keeps the run
// that first wrote it: a record written more than once must belong to a run
// that was in flight when A was killed (its one step had not completed: it
// ran again after the restart, the at-least-once window of a step whose
// effect committed just before a crash); a completed step never ran twice.
func TestHybridFaultsPollSandboxToPostgres(t *testing.T) {
	n := envInt("WEFT_HYBRID_FAULT_RUNS", 200)
	cut, _ := time.ParseDuration(os.Getenv("WEFT_HYBRID_FAULT_CUT"))
	if cut <= 0 {
		cut = 8 * time.Second
	}
	root, _ := filepath.Abs("..")
	crmSpec := filepath.Join(root, "examples/connectors/crm.yaml")
	dir := t.TempDir()

	// The site's database: only A's configuration holds its DSN.
	dsn := pgtest.Shared(t).NewDatabase(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE accounts_copy (id TEXT PRIMARY KEY, name TEXT NOT NULL, writes INT NOT NULL, run_id TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	// The site's system: a sandbox CRM in a process of its own.
	sbxAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	sbxCfg := filepath.Join(dir, "sandbox.yaml")
	if err := os.WriteFile(sbxCfg, []byte("sandboxes: ["+crmSpec+"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	startServer(t, sbxAddr, []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "sbx")}, "--config", sbxCfg)
	crm := sandboxAPI(t, "http://"+sbxAddr+"/sandbox/")

	// The control plane knows the CRM connector (to validate the flow) but
	// has no connection to the sandbox nor to the database.
	cpCfg := filepath.Join(dir, "cp.yaml")
	if err := os.WriteFile(cpCfg, []byte("imports: {crm: "+crmSpec+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cp := startServer(t, "", nil, "--data-dir", t.TempDir(), "--config", cpCfg)
	out, err := cp.cli("agents", "create", "site-a", "--json")
	if err != nil {
		t.Fatal(err, out)
	}
	var created struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal([]byte(out), &created)
	flowFile := filepath.Join(dir, "copy.yaml")
	if err := os.WriteFile(flowFile, []byte(`name: accounts-copy
placement: {site: site-a}
trigger:
  poll: {operation: crm.listAccounts, connection: crm, every: 1s, input: {fetch_all: true, limit: 100}}
steps:
  - id: store
    call: postgres.execute
    connection: site-db
    with:
      sql: INSERT INTO accounts_copy (id, name, writes, run_id) VALUES ($1, $2, 1, $3) ON CONFLICT (id) DO UPDATE SET writes = accounts_copy.writes + 1
      args: [=trigger.body.id, =trigger.body.name, =run.id]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := cp.cli("flow", "deploy", flowFile); err != nil {
		t.Fatal(err, out)
	}

	proxy := newFaultProxy(t, cp.addr)
	dirA, addrA := t.TempDir(), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	aCfg := filepath.Join(dir, "agent-a.yaml")
	if err := os.WriteFile(aCfg, []byte(fmt.Sprintf(`imports: {crm: %s}
connections:
  crm: {connector: crm, base_url: http://%s/sandbox/crm, allow_private: true, auth: {type: bearer, token: site-token}}
  site-db: {connector: postgres, secrets: {dsn: "${secret:SITE_DSN}"}}
`, crmSpec, sbxAddr)), 0o600); err != nil {
		t.Fatal(err)
	}
	startA := func() *server {
		t.Setenv("WEFT_SECRET_SITE_DSN", dsn)
		return startAgentAt(t, proxy.URL(), addrA, dirA, "site-a", created.Token, "--config", aCfg)
	}
	a := startA()

	// Site B: a second agent on a link of its own that stays healthy, with
	// a flow of its own, run all along while A's link is in trouble.
	out, err = cp.cli("agents", "create", "site-b", "--json")
	if err != nil {
		t.Fatal(err, out)
	}
	var createdB struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal([]byte(out), &createdB)
	bFlow := filepath.Join(dir, "b-echo.yaml")
	if err := os.WriteFile(bFlow, []byte("name: b-echo\nplacement: {site: site-b}\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - {id: a, respond: {status: 200, body: {ok: true}}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := cp.cli("flow", "deploy", bFlow); err != nil {
		t.Fatal(err, out)
	}
	proxyB := newFaultProxy(t, cp.addr)
	b := startAgentAt(t, proxyB.URL(), fmt.Sprintf("127.0.0.1:%d", freePort(t)), t.TempDir(), "site-b", createdB.Token)
	bRuns := 0
	hitB := func(k int) {
		t.Helper()
		for i := 0; i < k; i++ {
			resp, err := http.Post(b.URL+"/hooks/b-echo", "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("site-b's run %d: %d", bRuns, resp.StatusCode)
			}
			bRuns++
		}
	}
	// The flow reaches A and its poll starts (records from now on).
	deadline := time.Now().Add(30 * time.Second)
	for {
		if a.do("GET", "/api/flows/accounts-copy", nil, nil) == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the flow never reached site-a:\n%s", a.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	for b.do("GET", "/api/flows/b-echo", nil, nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("the flow never reached site-b:\n%s", b.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond) // the poll's first look sets its start
	create := func(from, to int) {
		for i := from; i < to; i++ {
			crm("POST", "crm/accounts", fmt.Sprintf(`{"name": "acct-%d"}`, i))
		}
	}
	q := n / 4
	bq := max(q/10, 5)
	proxy.Delay(15 * time.Millisecond)
	create(0, q/2)
	proxy.Drop() // the link's connections dropped mid-request
	create(q/2, q)
	hitB(bq)
	proxy.Delay(0)
	proxy.HalfOpen(true)
	create(q, 2*q)
	hitB(bq)
	time.Sleep(2 * time.Second)
	proxy.Cut(true)
	proxy.HalfOpen(false)
	create(2*q, 3*q)
	hitB(bq)
	time.Sleep(1500 * time.Millisecond) // A is polling and writing
	killedAt := time.Now()
	a.kill9()
	a = startA()
	create(3*q, n)
	hitB(bq)
	if rest := cut - 3500*time.Millisecond; rest > 0 {
		time.Sleep(rest)
	}
	proxy.Cut(false)
	healed := time.Now()

	type runRow struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	var local []runRow
	deadline = time.Now().Add(120 * time.Second)
	for {
		var res struct {
			Runs []runRow `json:"runs"`
		}
		a.do("GET", "/api/runs?flow=accounts-copy&limit=1000", nil, &res)
		local = res.Runs
		done := len(local) == n
		for _, r := range local {
			if r.Status == "queued" || r.Status == "running" {
				done = false
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("site-a has %d runs of %d records, not all finished, after 120s:\n%s", len(local), n, a.logs())
		}
		time.Sleep(250 * time.Millisecond)
	}
	want := map[string]string{}
	for _, r := range local {
		want[r.ID] = r.Status
		if r.Status != "succeeded" {
			t.Errorf("run %s: %s", r.ID, r.Status)
		}
	}
	var up struct {
		Runs []runRow `json:"runs"`
	}
	deadline = time.Now().Add(90 * time.Second)
	for {
		cp.do("GET", "/api/agents/site-a/runs?limit=1000", nil, &up)
		same := len(up.Runs) == len(want)
		for _, r := range up.Runs {
			if want[r.ID] != r.Status {
				same = false
			}
		}
		if same {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the control plane's log of site-a (%d runs) never equalled the agent's (%d)", len(up.Runs), len(want))
		}
		time.Sleep(250 * time.Millisecond)
	}
	caughtUp := time.Since(healed)
	// The database holds each record once.
	var rows int
	if err := db.QueryRow(`SELECT COUNT(*) FROM accounts_copy WHERE name LIKE 'acct-%'`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != n {
		t.Fatalf("the database holds %d records, want %d", rows, n)
	}
	// A record written again belongs to a run in flight at the kill.
	again, err := db.Query(`SELECT id, run_id, writes FROM accounts_copy WHERE writes > 1`)
	if err != nil {
		t.Fatal(err)
	}
	rewritten := 0
	for again.Next() {
		var id, runID string
		var writes int
		if err := again.Scan(&id, &runID, &writes); err != nil {
			t.Fatal(err)
		}
		var got struct {
			Run struct {
				ID         string     `json:"id"`
				CreatedAt  time.Time  `json:"created_at"`
				FinishedAt *time.Time `json:"finished_at"`
			} `json:"run"`
		}
		a.do("GET", "/api/runs/"+runID, nil, &got)
		run := got.Run
		if run.ID != runID {
			t.Fatalf("GET /api/runs/%s on site-a returned run %q", runID, run.ID)
		}
		if writes != 2 || run.FinishedAt == nil || !run.CreatedAt.Before(killedAt) || !run.FinishedAt.After(killedAt) {
			t.Errorf("record %s written %d times by run %s (created %v, finished %v; A killed at %v): a completed step ran again",
				id, writes, runID, run.CreatedAt, run.FinishedAt, killedAt)
		}
		rewritten++
	}
	again.Close()
	for _, r := range local {
		var res struct {
			Steps []struct {
				StepKey string `json:"step_key"`
				Status  string `json:"status"`
			} `json:"steps"`
		}
		a.do("GET", "/api/runs/"+r.ID, nil, &res)
		ok := 0
		for _, s := range res.Steps {
			if s.Status == "ok" && s.StepKey == "store" {
				ok++
			}
		}
		if ok != 1 {
			t.Fatalf("run %s: %d ok attempts of store, want 1", r.ID, ok)
		}
	}
	// Site B ran its own flow throughout, and only its own: the control
	// plane's log of B equals B's, and neither site got the other's flow.
	var localB struct {
		Runs []runRow `json:"runs"`
	}
	b.do("GET", "/api/runs?flow=b-echo&limit=1000", nil, &localB)
	if len(localB.Runs) != bRuns {
		t.Fatalf("site-b logged %d runs, want %d", len(localB.Runs), bRuns)
	}
	wantB := map[string]string{}
	for _, r := range localB.Runs {
		wantB[r.ID] = r.Status
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		var upB struct {
			Runs []runRow `json:"runs"`
		}
		cp.do("GET", "/api/agents/site-b/runs?limit=1000", nil, &upB)
		same := len(upB.Runs) == len(wantB)
		for _, r := range upB.Runs {
			if wantB[r.ID] != r.Status || r.Status != "succeeded" {
				same = false
			}
		}
		if same {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the control plane's log of site-b (%d runs) never equalled site-b's (%d)", len(upB.Runs), len(wantB))
		}
		time.Sleep(250 * time.Millisecond)
	}
	if c := b.do("GET", "/api/flows/accounts-copy", nil, nil); c != http.StatusNotFound {
		t.Fatalf("site-b has site-a's flow: %d", c)
	}
	if c := a.do("GET", "/api/flows/b-echo", nil, nil); c != http.StatusNotFound {
		t.Fatalf("site-a has site-b's flow: %d", c)
	}
	// The control plane never held the database's DSN nor reached the sandbox.
	if strings.Contains(string(proxy.Seen()), dsn) || strings.Contains(cp.logs(), sbxAddr) {
		t.Fatal("the site's DSN crossed the link, or the control plane named the site's system")
	}
	t.Logf("%d records polled on site-a and written to its PostgreSQL across delay, a drop, half-open, a %v cut and kill -9: logs equal %v after the link healed; %d steps in flight at the kill ran again; site-b ran %d runs meanwhile, its log equal upstream",
		n, cut, caughtUp.Round(100*time.Millisecond), rewritten, bRuns)
}
