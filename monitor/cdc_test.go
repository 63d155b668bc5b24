package monitor_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftio/weft/monitor"
)

func TestSlotLagCollectorServesLagAndFailing(t *testing.T) {
	m := monitor.NewMetrics()
	m.Register(monitor.SlotLagCollector(func() []monitor.SlotLag {
		return []monitor.SlotLag{{Flow: "orders-cdc", Slot: "weft_orders_cdc_1", Bytes: 4096}, {Flow: "b", Slot: "weft_b_2", Failing: true}}
	}))
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`weft_cdc_slot_lag_bytes{flow="orders-cdc",slot="weft_orders_cdc_1"} 4096`,
		`weft_cdc_stream_failing{flow="b",slot="weft_b_2"} 1`,
		`weft_cdc_stream_failing{flow="orders-cdc",slot="weft_orders_cdc_1"} 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %q in\n%s", want, body)
		}
	}
}

func TestQueueCollectorServesWaitingAndFailing(t *testing.T) {
	m := monitor.NewMetrics()
	m.Register(monitor.QueueCollector(func() []monitor.QueueState {
		return []monitor.QueueState{{Flow: "orders-q", Kind: "nats", Waiting: 28}, {Flow: "inbox", Kind: "amqp", Failing: true}}
	}))
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`weft_queue_trigger_waiting_messages{flow="orders-q",kind="nats"} 28`,
		`weft_queue_trigger_failing{flow="orders-q",kind="nats"} 0`,
		`weft_queue_trigger_waiting_messages{flow="inbox",kind="amqp"} 0`,
		`weft_queue_trigger_failing{flow="inbox",kind="amqp"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %q in\n%s", want, body)
		}
	}
}
