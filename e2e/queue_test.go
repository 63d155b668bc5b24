package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/weftio/weft/internal/natstest"
	"github.com/weftio/weft/internal/rabbittest"
)

// Issue 24: a queue trigger with a kill -9 of weft in the middle of a
// stream of messages: every message starts exactly one run — none lost
// (nothing is acknowledged before its run commits), none twice (the
// redelivered ones find their runs by idempotency key).
func queueKill9(t *testing.T, kind, url, trigger string, publish func(i int) error, remaining func() int) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "weft.yaml")
	fp := filepath.Join(dir, "flow.yaml")
	src := fmt.Sprintf("name: q-flow\ntrigger:\n  %s\nsteps:\n  - id: seen\n    set: {id: =trigger.body.id}\n", trigger)
	if err := os.WriteFile(fp, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("connections:\n  bus:\n    connector: %s\n    secrets: {url: \"${secret:BUS_URL}\"}\ndeploy: [%s]\n", kind, fp)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data"), "WEFT_SECRET_BUS_URL=" + url, "WEFT_LOG_LEVEL=warn"}
	srv := startServer(t, "", env, "--config", cfg)

	const total = 5000
	pubErr := make(chan error, 1)
	go func() {
		for i := 1; i <= total; i++ {
			if err := publish(i); err != nil {
				pubErr <- err
				return
			}
		}
		pubErr <- nil
	}()
	count := func(s *server) []map[string]any {
		var all []map[string]any
		before := ""
		for {
			var page struct {
				Runs []map[string]any `json:"runs"`
			}
			q := "/api/runs?flow=q-flow&limit=1000"
			if before != "" {
				q += "&before=" + before
			}
			s.do("GET", q, nil, &page)
			all = append(all, page.Runs...)
			if len(page.Runs) < 1000 {
				return all
			}
			before = page.Runs[len(page.Runs)-1]["id"].(string)
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	atKill := 0
	for atKill < total/8 {
		if time.Now().After(deadline) {
			t.Fatalf("too few runs before the kill deadline (%d):\n%s", atKill, srv.logs())
		}
		time.Sleep(50 * time.Millisecond)
		atKill = len(count(srv))
	}
	srv.kill9()
	t.Logf("killed at %d or more runs", atKill)
	if err := <-pubErr; err != nil {
		t.Fatal(err)
	}
	if atKill >= total {
		t.Fatal("the kill came after every message had its run")
	}
	srv2 := startServer(t, srv.addr, env, "--config", cfg)
	deadline = time.Now().Add(3 * time.Minute)
	var runs []map[string]any
	for {
		runs = count(srv2)
		if len(runs) >= total && remaining() == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // nothing more may come
	runs = count(srv2)
	if left := remaining(); left != 0 {
		t.Fatalf("%d messages never acknowledged\n%s", left, srv2.logs())
	}
	keys := map[string]bool{}
	for _, r := range runs {
		key, _ := r["idempotency_key"].(string)
		if keys[key] {
			t.Fatalf("message %s started two runs", key)
		}
		keys[key] = true
	}
	if len(runs) != total {
		t.Fatalf("%d runs for %d messages\n%s", len(runs), total, srv2.logs())
	}
	// Each message's own key: the ids published.
	for i := 1; i <= total; i++ {
		if !keys[fmt.Sprintf("%s:id:m-%d", kind, i)] {
			t.Fatalf("message m-%d has no run", i)
		}
	}
	t.Logf("%s: %d messages, %d runs, each once", kind, total, len(runs))
}

func TestNATSTriggerKill9ExactlyOneRunPerMessage(t *testing.T) {
	ns := natstest.Start(t)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		t.Fatal(err)
	}
	queueKill9(t, "nats", ns.ClientURL(), "nats: {connection: bus, stream: ORDERS, ack_wait: 2s, max_in_flight: 500}",
		func(i int) error {
			m := nats.NewMsg(fmt.Sprintf("orders.%d", i%7))
			m.Data = []byte(fmt.Sprintf(`{"id": %d}`, i))
			_, err := js.PublishMsg(ctx, m, jetstream.WithMsgID(fmt.Sprintf("m-%d", i)))
			return err
		},
		func() int {
			c, err := js.Consumer(ctx, "ORDERS", consumerName(t, js))
			if err != nil {
				return -1
			}
			info, err := c.Info(ctx)
			if err != nil {
				return -1
			}
			return int(info.NumPending) + info.NumAckPending
		})
}

// consumerName is the one durable consumer on ORDERS (the flow's).
func consumerName(t *testing.T, js jetstream.JetStream) string {
	s, err := js.Stream(context.Background(), "ORDERS")
	if err != nil {
		return ""
	}
	names := s.ConsumerNames(context.Background())
	var out []string
	for n := range names.Name() {
		out = append(out, n)
	}
	if len(out) != 1 || !strings.HasPrefix(out[0], "weft_") {
		return ""
	}
	return out[0]
}

func TestAMQPTriggerKill9ExactlyOneRunPerMessage(t *testing.T) {
	rb := rabbittest.Start(t)
	conn, err := amqp.Dial(rb.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("orders", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	queueKill9(t, "amqp", rb.URL, "amqp: {connection: bus, queue: orders, max_in_flight: 500}",
		func(i int) error {
			dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", "orders", true, false,
				amqp.Publishing{MessageId: fmt.Sprintf("m-%d", i), DeliveryMode: amqp.Persistent, Body: []byte(fmt.Sprintf(`{"id": %d}`, i))})
			if err != nil {
				return err
			}
			if i%100 == 0 { // wait for the broker now and then: bounded outstanding confirms
				if ok, err := dc.WaitContext(ctx); err != nil || !ok {
					return fmt.Errorf("publish %d not confirmed: %v", i, err)
				}
			}
			return nil
		},
		func() int {
			c2, err := conn.Channel()
			if err != nil {
				return -1
			}
			defer c2.Close()
			q, err := c2.QueueDeclarePassive("orders", true, false, false, false, nil)
			if err != nil {
				return -1
			}
			// Ready messages; unacknowledged ones held by weft are not
			// counted here, so the caller waits for the runs too.
			return q.Messages
		})
}
