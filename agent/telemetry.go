package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/lazy"
)

// Site telemetry: the agent ships its site's monitoring upstream in
// batches (TelemetryPath): its latest alerts (firing and recently
// resolved, newest first; from its own alerting, whatever raised them:
// error-rate rules, agent-backlog …) and its key figures (runs by status
// in its store, step and operation calls and errors, the backlog). Each
// batch replaces the last on the control plane (the agent's history holds
// what fired while the link was down, so it arrives with the next batch):
// idempotent, nothing to replay. No payload, message of a run or
// credential is in it.

// TelemetryPath is the control plane's route for an agent's telemetry.
const TelemetryPath = "/agent/v1/telemetry"

// Limits of a telemetry batch.
const (
	MaxSiteAlerts     = 50
	MaxFigures        = 64
	MaxTelemetryBytes = 256 << 10
	// telemetryRefresh: a batch equal to the last one acknowledged is sent
	// again this often anyway (its time says the figures are current).
	telemetryRefresh = time.Minute
)

// Telemetry is one batch of a site's monitoring.
type Telemetry struct {
	Site string    `json:"site"`
	At   time.Time `json:"at"` // when the agent took it
	// Alerts are the site's latest alerts, newest first.
	Alerts []SiteAlert `json:"alerts"`
	// Figures are the site's key figures by name (runs_running,
	// step_errors_total …).
	Figures map[string]float64 `json:"figures"`
}

// SiteAlert is an alert of the site's own alerting.
type SiteAlert struct {
	ID         string     `json:"id"`
	Rule       string     `json:"rule"`
	Flow       string     `json:"flow,omitempty"` // the flow (or what the rule keys on, such as agent:SITE)
	Severity   string     `json:"severity"`
	Status     string     `json:"status"` // firing | resolved
	Message    string     `json:"message"`
	Value      float64    `json:"value,omitempty"`
	Runs       int        `json:"runs,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
}

// Firing counts the alerts still firing.
func (t *Telemetry) Firing() int {
	n := 0
	for _, a := range t.Alerts {
		if a.Status == "firing" {
			n++
		}
	}
	return n
}

var figureRe = lazy.NewRegexp(`^[a-z][a-z0-9_]{0,63}$`)

// check bounds a batch the control plane received and clips its text.
func (t *Telemetry) check() error {
	if len(t.Alerts) > MaxSiteAlerts {
		return weft.Errorf(weft.ETooLarge, "a batch carries at most %d alerts", MaxSiteAlerts)
	}
	if len(t.Figures) > MaxFigures {
		return weft.Errorf(weft.ETooLarge, "a batch carries at most %d figures", MaxFigures)
	}
	for k, v := range t.Figures {
		if !figureRe.MatchString(k) || math.IsNaN(v) || math.IsInf(v, 0) {
			return weft.Errorf(weft.EInvalid, "figure %q: a name of a-z 0-9 _ and a finite value", clip(k, 80))
		}
	}
	for i := range t.Alerts {
		a := &t.Alerts[i]
		if a.Status != "firing" && a.Status != "resolved" {
			return weft.Errorf(weft.EInvalid, "alerts[%d]: status %q is neither firing nor resolved", i, clip(a.Status, 40))
		}
		if math.IsNaN(a.Value) || math.IsInf(a.Value, 0) {
			a.Value = 0
		}
		a.ID, a.Rule, a.Flow, a.Severity, a.Message = clip(a.ID, 64), clip(a.Rule, 80), clip(a.Flow, 200), clip(a.Severity, 20), clip(a.Message, 500)
	}
	if t.Figures == nil {
		t.Figures = map[string]float64{}
	}
	if t.Alerts == nil {
		t.Alerts = []SiteAlert{}
	}
	return nil
}

// ServeTelemetry keeps a batch of an agent's telemetry (POST TelemetryPath).
func (c *ControlPlane) ServeTelemetry(w http.ResponseWriter, r *http.Request) {
	var t Telemetry
	a, ok := c.readPoll(w, r, MaxTelemetryBytes, &t, func() string { return t.Site })
	if !ok {
		return
	}
	if err := t.check(); err != nil {
		writeErr(w, err)
		return
	}
	if t.At.IsZero() || t.At.After(c.now().Add(time.Hour)) {
		t.At = c.now().UTC()
	}
	data, _ := json.Marshal(t)
	if err := c.st.SetAgentTelemetry(r.Context(), a.Site, data); err != nil {
		writeErr(w, err)
		return
	}
	if c.OnSiteAlert != nil {
		// What changed since the batch before (the stored one): alerts
		// that fire now and did not, and those that stopped.
		var prev Telemetry
		if len(a.Telemetry) > 2 {
			_ = json.Unmarshal(a.Telemetry, &prev)
		}
		was, known := map[string]bool{}, map[string]bool{}
		for _, al := range prev.Alerts {
			known[al.ID] = true
			if al.Status == "firing" {
				was[al.ID] = true
			}
		}
		now := map[string]bool{}
		for _, al := range t.Alerts {
			if al.Status == "firing" {
				now[al.ID] = true
				if !was[al.ID] {
					c.OnSiteAlert(r.Context(), a.Site, al, true)
				}
			} else if !known[al.ID] && !prev.At.IsZero() && al.StartedAt.After(prev.At) {
				// It fired and resolved between two batches (the link was
				// down meanwhile): raised and resolved, so it is not lost.
				c.OnSiteAlert(r.Context(), a.Site, al, true)
				c.OnSiteAlert(r.Context(), a.Site, al, false)
			}
		}
		for _, al := range prev.Alerts {
			if al.Status == "firing" && !now[al.ID] {
				for _, cur := range t.Alerts {
					if cur.ID == al.ID {
						al = cur // its resolution, with its message
					}
				}
				c.OnSiteAlert(r.Context(), a.Site, al, false)
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"accepted": true})
}

// telemetry takes the site's batch now.
func (l *Link) telemetry(ctx context.Context) Telemetry {
	t := Telemetry{Site: l.Site, At: time.Now().UTC(), Alerts: []SiteAlert{}, Figures: map[string]float64{}}
	if l.Alerts != nil {
		// An alert's message may quote an error (a trigger's): every
		// credential the site holds is cut out of it before it leaves.
		var secrets []string
		for _, c := range l.Engine.Catalog().Connections() {
			secrets = append(secrets, c.SecretValues()...)
		}
		for _, a := range l.Alerts() {
			if len(t.Alerts) == MaxSiteAlerts {
				break
			}
			for _, v := range secrets {
				a.Message = strings.ReplaceAll(a.Message, v, "[redacted]")
			}
			t.Alerts = append(t.Alerts, a)
		}
	}
	if counts, err := l.Engine.Store().CountRuns(ctx, ""); err == nil {
		for _, st := range runStatuses {
			t.Figures["runs_"+st] = float64(counts[st])
		}
	}
	if l.Gatherer != nil {
		if mfs, err := l.Gatherer.Gather(); err == nil {
			for _, mf := range mfs {
				name, ok := gatheredFigures[mf.GetName()]
				if !ok {
					continue
				}
				total, errs := 0.0, 0.0
				for _, m := range mf.GetMetric() {
					v := m.GetCounter().GetValue()
					total += v
					for _, lp := range m.GetLabel() {
						if lp.GetName() == "status" && lp.GetValue() != "ok" {
							errs += v
						}
					}
				}
				t.Figures[name+"_total"] = total
				t.Figures[name+"_errors_total"] = errs
			}
		}
	}
	s := l.State()
	t.Figures["backlog_runs"] = float64(s.Backlog)
	t.Figures["backlog_bytes"] = float64(s.BacklogBytes)
	t.Figures["link_failures"] = float64(s.Failures)
	if !s.ShippedUntil.IsZero() {
		t.Figures["ship_lag_seconds"] = math.Round(time.Since(s.ShippedUntil).Seconds()*10) / 10
	}
	t.Figures["alerts_firing"] = float64(t.Firing())
	return t
}

// gatheredFigures are the counters of the agent's own /metrics summed into
// figures (NAME_total, and NAME_errors_total for a status other than ok),
// since the agent process started.
var gatheredFigures = map[string]string{
	"weft_step_attempts_total":   "step_attempts",
	"weft_operation_calls_total": "operation_calls",
	"weft_mcp_tool_calls_total":  "mcp_tool_calls",
}

// telemetryLoop ships a batch every TelemetryEvery when it changed (the
// figures' time aside), and at least every telemetryRefresh.
func (l *Link) telemetryLoop(ctx context.Context) {
	t := time.NewTicker(l.TelemetryEvery)
	defer t.Stop()
	var last []byte
	var lastSent time.Time
	for {
		batch := l.telemetry(ctx)
		at := batch.At
		batch.At = time.Time{}
		same, _ := json.Marshal(batch)
		if !bytes.Equal(same, last) || time.Since(lastSent) >= telemetryRefresh {
			batch.At = at
			if err := l.post(ctx, TelemetryPath, batch, nil); err == nil {
				last, lastSent = same, time.Now()
				l.mu.Lock()
				l.state.TelemetryAt = at
				l.mu.Unlock()
			} else if ctx.Err() == nil {
				l.Log.Debug("agent: shipping telemetry failed; the next batch carries it", "err", weft.Message(err))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Collector part: the control plane's /metrics carries each site's
// telemetry with a site label.
var (
	descSiteAlerts = prometheus.NewDesc("weft_agent_site_alerts_firing", "Alerts firing on the site's own alerting, by rule and severity (as the agent last shipped them).", []string{"site", "rule", "severity"}, nil)
	descSiteFigure = prometheus.NewDesc("weft_agent_site_figure", "A key figure of the site as its agent last shipped it (runs by status in its store, step and operation calls and errors since the agent started, the backlog).", []string{"site", "figure"}, nil)
	descSiteAge    = prometheus.NewDesc("weft_agent_site_telemetry_age_seconds", "Seconds since the agent took the telemetry the control plane holds.", []string{"site"}, nil)
)

func (k collector) collectTelemetry(ch chan<- prometheus.Metric, site string, t *Telemetry) {
	if t == nil {
		return
	}
	firing := map[[2]string]int{}
	for _, a := range t.Alerts {
		if a.Status == "firing" {
			firing[[2]string{a.Rule, a.Severity}]++
		}
	}
	for rs, n := range firing {
		ch <- prometheus.MustNewConstMetric(descSiteAlerts, prometheus.GaugeValue, float64(n), site, rs[0], rs[1])
	}
	names := make([]string, 0, len(t.Figures))
	for n := range t.Figures {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ch <- prometheus.MustNewConstMetric(descSiteFigure, prometheus.GaugeValue, t.Figures[n], site, n)
	}
	ch <- prometheus.MustNewConstMetric(descSiteAge, prometheus.GaugeValue, k.c.now().Sub(t.At).Seconds(), site)
}
