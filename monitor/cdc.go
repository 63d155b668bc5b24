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
	lag := prometheus.NewDesc("weft_cdc_slot_lag_bytes",
		"WAL bytes the source PostgreSQL holds past a cdc flow's confirmed slot position (as of the stream's last server message).", []string{"flow", "slot"}, nil)
	failing := prometheus.NewDesc("weft_cdc_stream_failing",
		"1 when a cdc flow's change stream could not start (set-up error, unreachable server).", []string{"flow", "slot"}, nil)
	return &gauges{descs: []*prometheus.Desc{lag, failing}, collect: func(ch chan<- prometheus.Metric) {
		for _, s := range read() {
			ch <- prometheus.MustNewConstMetric(lag, prometheus.GaugeValue, float64(s.Bytes), s.Flow, s.Slot)
			ch <- prometheus.MustNewConstMetric(failing, prometheus.GaugeValue, one(s.Failing), s.Flow, s.Slot)
		}
	}}
}

// QueueState is one queue trigger's consumer in this process.
type QueueState struct {
	Flow, Kind string // kind: nats | amqp
	Waiting    int64  // messages on the server not yet delivered to the consumer (as last asked)
	Failing    bool   // the consumer could not start or lost its connection (the log says why)
}

// QueueCollector serves weft_queue_trigger_waiting_messages and
// weft_queue_trigger_failing for the consumers read returns at each scrape.
func QueueCollector(read func() []QueueState) prometheus.Collector {
	waiting := prometheus.NewDesc("weft_queue_trigger_waiting_messages",
		"Messages waiting on the broker for a nats or amqp flow's consumer, not yet delivered to Weft (JetStream: the consumer's pending count; AMQP: the queue's ready messages), asked every few seconds.", []string{"flow", "kind"}, nil)
	failing := prometheus.NewDesc("weft_queue_trigger_failing",
		"1 when a nats or amqp flow's consumer could not start or lost its connection.", []string{"flow", "kind"}, nil)
	return &gauges{descs: []*prometheus.Desc{waiting, failing}, collect: func(ch chan<- prometheus.Metric) {
		for _, s := range read() {
			ch <- prometheus.MustNewConstMetric(waiting, prometheus.GaugeValue, float64(s.Waiting), s.Flow, s.Kind)
			ch <- prometheus.MustNewConstMetric(failing, prometheus.GaugeValue, one(s.Failing), s.Flow, s.Kind)
		}
	}}
}

// gauges is a collector of gauges read from state at each scrape.
type gauges struct {
	descs   []*prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range g.descs {
		ch <- d
	}
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) { g.collect(ch) }

func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
