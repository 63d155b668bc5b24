package agent

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports each active agent's health to Prometheus: connected,
// in sync, seconds since it was last seen, its build version, and the
// runs it shipped by status.
func (c *ControlPlane) Collector() prometheus.Collector { return collector{c} }

type collector struct{ c *ControlPlane }

var (
	descConnected = prometheus.NewDesc("weft_agent_connected", "1 when the site's runtime agent is linked to the control plane.", []string{"site"}, nil)
	descInSync    = prometheus.NewDesc("weft_agent_in_sync", "1 when the agent runs exactly the flow versions placed on its site.", []string{"site"}, nil)
	descLastSeen  = prometheus.NewDesc("weft_agent_last_seen_seconds", "Seconds since the agent's last poll.", []string{"site"}, nil)
	descRuns      = prometheus.NewDesc("weft_agent_runs", "Runs the agent shipped upstream, by status.", []string{"site", "status"}, nil)
	descInfo      = prometheus.NewDesc("weft_agent_info", "1 for each agent that reported its build: its version as a label.", []string{"site", "version"}, nil)
)

func (collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descConnected
	ch <- descInSync
	ch <- descLastSeen
	ch <- descRuns
	ch <- descInfo
	ch <- descSiteAlerts
	ch <- descSiteFigure
	ch <- descSiteAge
}

func (k collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	as, err := k.c.List(ctx)
	if err != nil {
		k.c.log.Warn("agent metrics", "err", err)
		return
	}
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	for _, a := range as {
		if a.RevokedAt != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(descConnected, prometheus.GaugeValue, b(a.Connected), a.Site)
		ch <- prometheus.MustNewConstMetric(descInSync, prometheus.GaugeValue, b(a.InSync), a.Site)
		if a.LastSeen != nil {
			ch <- prometheus.MustNewConstMetric(descLastSeen, prometheus.GaugeValue, k.c.now().Sub(*a.LastSeen).Seconds(), a.Site)
		}
		if a.Version != "" {
			ch <- prometheus.MustNewConstMetric(descInfo, prometheus.GaugeValue, 1, a.Site, a.Version)
		}
		k.collectTelemetry(ch, a.Site, a.Telemetry)
		counts, err := k.c.st.CountAgentRuns(ctx, a.Site)
		if err != nil {
			continue
		}
		for st, n := range counts {
			ch <- prometheus.MustNewConstMetric(descRuns, prometheus.GaugeValue, float64(n), a.Site, st)
		}
	}
}

// Watch looks at the agents every interval until ctx ends and calls silent
// when an agent that was linked stops polling (once, until it is back),
// and back when it polls again. Agents never seen and revoked agents are
// left alone.
func (c *ControlPlane) Watch(ctx context.Context, every time.Duration, silent func(ctx context.Context, site string, lastSeen time.Time), back func(ctx context.Context, site string)) {
	quiet := map[string]bool{}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if as, err := c.List(ctx); err == nil {
			for _, a := range as {
				switch {
				case a.RevokedAt != nil || a.LastSeen == nil:
					delete(quiet, a.Site)
				case !a.Connected && !quiet[a.Site]:
					quiet[a.Site] = true
					silent(ctx, a.Site, *a.LastSeen)
				case a.Connected && quiet[a.Site]:
					delete(quiet, a.Site)
					back(ctx, a.Site)
				}
			}
		} else if ctx.Err() == nil {
			c.log.Warn("agent watch", "err", err)
		}
		c.PurgeCalls(ctx) // reach-in calls through the database whose callers are gone
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Collector exports the agent's side of its link to Prometheus (the
// agent's own /metrics): whether the last poll was answered, polls failed
// in a row, runs shipped by this process, and how far behind shipping is.
func (l *Link) Collector() prometheus.Collector { return linkCollector{l} }

type linkCollector struct{ l *Link }

var (
	descLinkUp       = prometheus.NewDesc("weft_agent_link_up", "1 when the agent's last poll of its control plane was answered.", nil, nil)
	descLinkFailures = prometheus.NewDesc("weft_agent_link_failures", "Polls of the control plane failed in a row.", nil, nil)
	descShipped      = prometheus.NewDesc("weft_agent_shipped_runs_total", "Runs whose metadata this process shipped upstream.", nil, nil)
	descBacklog      = prometheus.NewDesc("weft_agent_backlog_runs", "Finished runs not shipped to the control plane yet (new runs are refused at weft_agent_backlog_max).", nil, nil)
	descBacklogBytes = prometheus.NewDesc("weft_agent_backlog_bytes", "Estimated bytes of the run metadata not shipped yet.", nil, nil)
	descBacklogMax   = prometheus.NewDesc("weft_agent_backlog_max", "The backlog's bound.", nil, nil)
	descShipLag      = prometheus.NewDesc("weft_agent_ship_lag_seconds", "Seconds since the newest finish time shipping has covered (every run finished before it is upstream).", nil, nil)
)

func (linkCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descLinkUp
	ch <- descLinkFailures
	ch <- descShipped
	ch <- descShipLag
	ch <- descBacklog
	ch <- descBacklogBytes
	ch <- descBacklogMax
}

func (k linkCollector) Collect(ch chan<- prometheus.Metric) {
	s := k.l.State()
	up := 0.0
	if s.Connected {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(descLinkUp, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(descLinkFailures, prometheus.GaugeValue, float64(s.Failures))
	ch <- prometheus.MustNewConstMetric(descShipped, prometheus.CounterValue, float64(s.ShippedRuns))
	ch <- prometheus.MustNewConstMetric(descBacklog, prometheus.GaugeValue, float64(s.Backlog))
	ch <- prometheus.MustNewConstMetric(descBacklogBytes, prometheus.GaugeValue, float64(s.BacklogBytes))
	ch <- prometheus.MustNewConstMetric(descBacklogMax, prometheus.GaugeValue, float64(s.BacklogMax))
	if !s.ShippedUntil.IsZero() {
		ch <- prometheus.MustNewConstMetric(descShipLag, prometheus.GaugeValue, time.Since(s.ShippedUntil).Seconds())
	}
}

// RunRetention deletes shipped run metadata older than keep, every
// interval, until ctx ends (keep <= 0: kept forever).
func (c *ControlPlane) RunRetention(ctx context.Context, keep, interval time.Duration) {
	if keep <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := c.st.PurgeAgentRuns(ctx, c.now().Add(-keep))
		if err != nil && ctx.Err() == nil {
			c.log.Error("agent runs retention purge", "err", err)
		} else if n > 0 {
			c.log.Info("agent runs retention purge", "runs", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
