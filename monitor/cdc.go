package monitor

import "github.com/prometheus/client_golang/prometheus"

// SlotLag is one change-data-capture stream's state in this process.
type SlotLag struct {
	Flow, Slot string
	Bytes      int64 // WAL the source server holds past the slot's confirmed position
	Failing    bool  // the stream's last start failed (the log says why)
}

// SlotLagCollector serves weft_cdc_slot_lag_bytes and weft_cdc_stream_failing
// for the streams read returns at each scrape.
func SlotLagCollector(read func() []SlotLag) prometheus.Collector {
	return &slotLag{read: read,
		lag: prometheus.NewDesc("weft_cdc_slot_lag_bytes",
			"WAL bytes the source PostgreSQL holds past a cdc flow's confirmed slot position (as of the stream's last server message).", []string{"flow", "slot"}, nil),
		failing: prometheus.NewDesc("weft_cdc_stream_failing",
			"1 when a cdc flow's change stream could not start (set-up error, unreachable server).", []string{"flow", "slot"}, nil)}
}

type slotLag struct {
	read         func() []SlotLag
	lag, failing *prometheus.Desc
}

func (c *slotLag) Describe(ch chan<- *prometheus.Desc) { ch <- c.lag; ch <- c.failing }

func (c *slotLag) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.read() {
		f := 0.0
		if s.Failing {
			f = 1
		}
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(s.Bytes), s.Flow, s.Slot)
		ch <- prometheus.MustNewConstMetric(c.failing, prometheus.GaugeValue, f, s.Flow, s.Slot)
	}
}
