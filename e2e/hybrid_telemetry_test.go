package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The site's monitoring reaches the control plane: an agent whose run-log
// backlog reaches its bound while its link is cut raises agent-backlog-full
// through its own alerting; the firing is shipped upstream once the link is
// back (the agent's alert history holds it meanwhile), then its
// resolution, with the site's key figures; the control plane shows both in
// GET /api/agents/{site} and on /metrics with the site's label, and its own
// alerting raised and resolved the site's alert (GET /api/alerts).
func TestHybridSiteAlertsAndFiguresReachTheControlPlane(t *testing.T) {
	cpDir, dir := t.TempDir(), t.TempDir()
	cp := startServer(t, "", nil, "--data-dir", cpDir)
	out, err := cp.cli("agents", "create", "plant-3", "--json")
	if err != nil {
		t.Fatal(err, out)
	}
	var created struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal([]byte(out), &created)
	f := filepath.Join(dir, "answer.yaml")
	if err := os.WriteFile(f, []byte("name: answer\nplacement: {site: plant-3}\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - {id: a, respond: {status: 200, body: {ok: true}}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := cp.cli("flow", "deploy", f); err != nil {
		t.Fatal(err, out)
	}
	proxy := newFaultProxy(t, cp.addr)
	aAddr, aDir := fmt.Sprintf("127.0.0.1:%d", freePort(t)), t.TempDir()
	a := startAgentAt(t, proxy.URL(), aAddr, aDir, "plant-3", created.Token,
		"--backlog-max", "2", "--telemetry-every", "1s")
	deadline := time.Now().Add(30 * time.Second)
	for a.do("GET", "/api/flows/answer", nil, nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("the flow never reached the agent:\n%s", a.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	proxy.Cut(true)
	for i := 0; i < 2; i++ { // the bound is looked at every second: a few more may pass
		resp, err := http.Post(a.URL+"/hooks/answer", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("run %d: %d", i, resp.StatusCode)
		}
	}
	// The bound is reached on the site (new runs refused), the link down.
	deadline = time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Post(a.URL+"/hooks/answer", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the backlog never reached its bound on the site:\n%s", a.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	proxy.Cut(false)

	type tele struct {
		Telemetry *struct {
			At     time.Time `json:"at"`
			Alerts []struct {
				Rule     string `json:"rule"`
				Severity string `json:"severity"`
				Status   string `json:"status"`
				Message  string `json:"message"`
			} `json:"alerts"`
			Figures map[string]float64 `json:"figures"`
		} `json:"telemetry"`
	}
	state := func(rule string) string {
		var st tele
		cp.do("GET", "/api/agents/plant-3", nil, &st)
		if st.Telemetry == nil {
			return ""
		}
		for _, al := range st.Telemetry.Alerts {
			if al.Rule == rule {
				return al.Status
			}
		}
		return "none"
	}
	// The firing (or, if shipping drained the backlog first, its
	// resolution) arrives; then it is resolved upstream too.
	deadline = time.Now().Add(45 * time.Second)
	for s := state("agent-backlog-full"); s != "firing" && s != "resolved"; s = state("agent-backlog-full") {
		if time.Now().After(deadline) {
			t.Fatalf("the site's agent-backlog-full alert never reached the control plane (%q):\n%s", s, a.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	var local struct {
		Runs []struct {
			Status string `json:"status"`
		} `json:"runs"`
	}
	a.do("GET", "/api/runs?flow=answer&limit=1000", nil, &local)
	succeeded := 0
	for _, r := range local.Runs {
		if r.Status == "succeeded" {
			succeeded++
		}
	}
	if succeeded < 2 {
		t.Fatalf("the agent ran %d runs", succeeded)
	}
	deadline = time.Now().Add(45 * time.Second)
	for {
		var st tele
		cp.do("GET", "/api/agents/plant-3", nil, &st)
		if state("agent-backlog-full") == "resolved" && st.Telemetry.Figures["runs_succeeded"] == float64(succeeded) && st.Telemetry.Figures["backlog_runs"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the resolution and the figures never reached the control plane: %+v\n%s", st.Telemetry, a.logs())
		}
		time.Sleep(300 * time.Millisecond)
	}
	// The control plane's own alerting raised it (and resolved it): its
	// notifications cover the site.
	var alerts struct {
		Alerts []struct {
			Rule   string `json:"rule"`
			Flow   string `json:"flow"`
			Status string `json:"status"`
		} `json:"alerts"`
	}
	has := func(s *server, rule, key string) bool {
		alerts.Alerts = nil
		s.do("GET", "/api/alerts", nil, &alerts)
		for _, al := range alerts.Alerts {
			if al.Rule == rule && al.Flow == key && al.Status == "resolved" {
				return true
			}
		}
		return false
	}
	if !has(cp, "site:agent-backlog-full", "site:plant-3/agent:plant-3") {
		t.Fatalf("the control plane's alerts lack the site's agent-backlog-full, resolved: %+v", alerts.Alerts)
	}
	if !has(a, "agent-backlog-full", "agent:plant-3") {
		t.Fatalf("the site's alerts lack agent-backlog-full, resolved: %+v", alerts.Alerts)
	}
	resp, err := http.Get(cp.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), fmt.Sprintf(`weft_agent_site_figure{figure="runs_succeeded",site="plant-3"} %d`, succeeded)) {
		t.Fatalf("the control plane's /metrics lacks the site's figures:\n%s", metrics)
	}

	// Neither configures alert rules, yet both keep their alert history
	// across a restart (kill -9): the agent's is what it ships after an
	// outage, the control plane's what its notifications covered.
	a.kill9()
	cp.kill9()
	cp = startServer(t, cp.addr, nil, "--data-dir", cpDir)
	a = startAgentAt(t, proxy.URL(), aAddr, aDir, "plant-3", created.Token, "--backlog-max", "2", "--telemetry-every", "1s")
	if !has(cp, "site:agent-backlog-full", "site:plant-3/agent:plant-3") {
		t.Fatalf("the control plane lost the site's alert history in a restart: %+v", alerts.Alerts)
	}
	if !has(a, "agent-backlog-full", "agent:plant-3") {
		t.Fatalf("the agent lost its alert history in a restart: %+v\n%s", alerts.Alerts, a.logs())
	}
	// The restarted agent's first batch carries it again.
	restarted := time.Now()
	deadline = restarted.Add(30 * time.Second)
	for {
		var st tele
		cp.do("GET", "/api/agents/plant-3", nil, &st)
		if st.Telemetry != nil && st.Telemetry.At.After(restarted) {
			if s := state("agent-backlog-full"); s != "resolved" {
				t.Fatalf("the restarted agent's telemetry: agent-backlog-full %q, want resolved: %+v", s, st.Telemetry)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no telemetry from the restarted agent:\n%s", a.logs())
		}
		time.Sleep(300 * time.Millisecond)
	}
}
