package agent_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/weftio/weft/agent"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/store"
)

// The site's alerts and key figures go upstream in telemetry batches: the
// control plane shows them (API status) and exports them on its /metrics
// with a site label; a change on the site (an alert resolved, more runs)
// reaches it at the next batch; a credential quoted in an alert's message
// is cut out before it leaves; a batch naming another site, or too large,
// is refused.
func TestSiteTelemetryGoesUpstream(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const secret = "site-cred-5a7e19"
	e, st := newEngine(t, "", nil)
	cp := agent.NewControlPlane(st.(store.Agents), e, quiet)
	var evMu sync.Mutex
	var events []string
	cp.OnSiteAlert = func(_ context.Context, site string, a agent.SiteAlert, firing bool) {
		evMu.Lock()
		events = append(events, fmt.Sprintf("%s %s %s %v", site, a.Rule, a.Severity, firing))
		evMu.Unlock()
	}
	seenEvents := func() string { evMu.Lock(); defer evMu.Unlock(); return strings.Join(events, "; ") }
	mux := http.NewServeMux()
	mux.HandleFunc(agent.SyncPath, cp.ServeSync)
	mux.HandleFunc(agent.TelemetryPath, cp.ServeTelemetry)
	tp := &tap{h: mux}
	srv := httptest.NewServer(tp)
	defer srv.Close()
	_, tok, err := cp.Create(ctx, "plant-3", nil)
	if err != nil {
		t.Fatal(err)
	}
	ae, _ := sealedEngine(t, "plant-3", nil)
	if err := ae.SaveConnection(ctx, &connectors.Connection{Name: "erp", Connector: "http", BaseURL: "https://erp.lan", Auth: &connectors.Auth{Type: "bearer", Token: secret}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ae.Deploy(ctx, "f.yaml", []byte("name: local\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - {id: a, respond: {status: 200, body: {}}}\n")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := ae.Trigger(ctx, engine.Event{Flow: "local", Kind: flow.TriggerWebhook, Body: map[string]any{}}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	started := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	alerts := []agent.SiteAlert{
		{ID: "a2", Rule: "errors", Flow: "orders", Severity: "critical", Status: "firing", Message: "orders is failing: 5 of the last 10 runs failed (auth " + secret + ")", Value: 0.5, Runs: 10, StartedAt: started},
		{ID: "a1", Rule: "silence", Flow: "sync", Severity: "warning", Status: "resolved", Message: "sync is running again", StartedAt: started},
	}
	reg := prometheus.NewRegistry()
	steps := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weft_step_attempts_total"}, []string{"flow", "step", "status", "error_class"})
	reg.MustRegister(steps)
	steps.WithLabelValues("orders", "a", "ok", "").Add(7)
	steps.WithLabelValues("orders", "a", "error", "upstream").Add(2)
	l := &agent.Link{URL: srv.URL, Token: tok, Site: "plant-3", Version: "test", Engine: ae, Log: quiet, Hold: time.Second, NoReach: true,
		TelemetryEvery: 50 * time.Millisecond, Gatherer: reg,
		Alerts: func() []agent.SiteAlert { mu.Lock(); defer mu.Unlock(); return append([]agent.SiteAlert{}, alerts...) }}
	go func() { _ = l.Run(ctx) }()

	var got *agent.Telemetry
	waitFor(t, 10*time.Second, "the site's telemetry on the control plane", func() bool {
		s, err := cp.Get(ctx, "plant-3")
		got = s.Telemetry
		return err == nil && got != nil && len(got.Alerts) == 2
	})
	if got.Firing() != 1 || got.Alerts[0].Rule != "errors" || got.Alerts[0].Severity != "critical" || got.Alerts[1].Status != "resolved" {
		t.Fatalf("alerts upstream: %+v", got.Alerts)
	}
	if strings.Contains(got.Alerts[0].Message, secret) || !strings.Contains(got.Alerts[0].Message, "[redacted]") {
		t.Fatalf("an alert's message left the site with a credential: %q", got.Alerts[0].Message)
	}
	f := got.Figures
	if f["runs_succeeded"] != 3 || f["step_attempts_total"] != 9 || f["step_attempts_errors_total"] != 2 || f["alerts_firing"] != 1 {
		t.Fatalf("figures upstream: %v", f)
	}
	// The control plane's alerting is told once that it fires.
	waitFor(t, 5*time.Second, "the site's alert raised on the control plane", func() bool { return seenEvents() != "" })
	if ev := seenEvents(); ev != "plant-3 errors critical true" {
		t.Fatalf("site alert events: %s", ev)
	}
	// On the control plane's /metrics, with the site's label.
	reg2 := prometheus.NewRegistry()
	reg2.MustRegister(cp.Collector())
	if err := testutil.GatherAndCompare(reg2, strings.NewReader(`# HELP weft_agent_site_alerts_firing Alerts firing on the site's own alerting, by rule and severity (as the agent last shipped them).
# TYPE weft_agent_site_alerts_firing gauge
weft_agent_site_alerts_firing{rule="errors",severity="critical",site="plant-3"} 1
`), "weft_agent_site_alerts_firing"); err != nil {
		t.Fatal(err)
	}
	out, err := testutil.CollectAndFormat(cp.Collector(), expfmt.TypeTextPlain, "weft_agent_site_figure")
	if err != nil || !strings.Contains(string(out), `weft_agent_site_figure{figure="runs_succeeded",site="plant-3"} 3`) ||
		!strings.Contains(string(out), `weft_agent_site_figure{figure="step_attempts_errors_total",site="plant-3"} 2`) {
		t.Fatalf("site figures on /metrics: %v\n%s", err, out)
	}

	// The alert resolves on the site and more runs finish: the next batch.
	mu.Lock()
	res := time.Now().UTC()
	alerts[0].Status, alerts[0].ResolvedAt = "resolved", &res
	mu.Unlock()
	if _, err := ae.Trigger(ctx, engine.Event{Flow: "local", Kind: flow.TriggerWebhook, Body: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the resolution upstream", func() bool {
		s, _ := cp.Get(ctx, "plant-3")
		return s.Telemetry != nil && s.Telemetry.Firing() == 0 && s.Telemetry.Figures["runs_succeeded"] == 4
	})
	waitFor(t, 5*time.Second, "the site's alert resolved on the control plane", func() bool {
		return seenEvents() == "plant-3 errors critical true; plant-3 errors critical false"
	})
	if strings.Contains(tp.String(), secret) {
		t.Fatal("the credential crossed the link")
	}

	// Refused: another site's credential, a batch too large, a bad figure.
	post := func(body string) int {
		req, _ := http.NewRequest("POST", srv.URL+agent.TelemetryPath, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(`{"site":"plant-9","alerts":[],"figures":{}}`); c != http.StatusForbidden {
		t.Fatalf("another site's telemetry: %d", c)
	}
	if c := post(`{"site":"plant-3","alerts":[],"figures":{"Bad Name":1}}`); c != http.StatusBadRequest {
		t.Fatalf("a bad figure: %d", c)
	}
	if c := post(`{"site":"plant-3","alerts":[` + strings.Repeat(`{"status":"firing"},`, agent.MaxSiteAlerts) + `{"status":"firing"}],"figures":{}}`); c != http.StatusRequestEntityTooLarge {
		t.Fatalf("too many alerts: %d", c)
	}
}
