package queue

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/weftio/weft/internal/natstest"
)

// A trigger that cannot start runs (its store is down) naks every message
// it receives; the server redelivers each at once, so messages keep coming
// while the store is down, and when it is back the backlog drains at once.
// The ack wait is an hour: a message held rather than redelivered would
// stall the test. (With jetstream's Consume, a redelivery that arrived
// while the next pull request was being sent left nothing requested: no
// message for 30 s; without the change this test failed so in 5 of 5
// runs, after 3 to 10 s.)
func TestNATSNakedMessagesComeBackAtOnce(t *testing.T) {
	const total = 20
	srv, _ := ordersStream(t, total)
	if err := nakThenAck(srv.ClientURL(), "d", total, time.Now().Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
}

// nakThenAck consumes the stream as durable: naks what it receives until
// down, then acks; an error when no message came for 3 s.
func nakThenAck(url, durable string, total int, down time.Time) error {
	ctx := context.Background()
	wake := make(chan struct{}, 1)
	c, err := OpenNATS(ctx, NATSConfig{URL: url, Stream: "ORDERS", Subject: "orders.>", Durable: durable, MaxAckPending: 2, AckWait: time.Hour,
		Notify: func() {
			select {
			case wake <- struct{}{}:
			default:
			}
		}})
	if err != nil {
		return err
	}
	defer c.Close()
	const maxGap = 3 * time.Second
	start := time.Now()
	last, naks, acked := time.Now(), 0, 0
	for acked < total {
		msgs, err := c.Fetch(ctx, 2, 0)
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			if gap := time.Since(last); gap > maxGap {
				return fmt.Errorf("%s: no message for %v, %v after the start (%d naks, %d of %d acknowledged): a nak'd message was held", durable,
					gap.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), naks, acked, total)
			}
			select {
			case <-wake:
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		last = time.Now()
		for _, m := range msgs {
			if last.Before(down) {
				err = m.Nak()
				naks++
			} else {
				err = m.Ack()
				acked++
			}
			if err != nil {
				return err
			}
		}
	}
	if naks < 100 {
		return fmt.Errorf("%s: %d naks in 10 s: redeliveries were slow", durable, naks)
	}
	return nil
}

// Closing a consumer returns the messages it received and Fetch did not
// take: the next consumer gets them at once, not after the ack wait.
func TestNATSCloseReturnsHeldMessages(t *testing.T) {
	srv, _ := ordersStream(t, 3)
	ctx := context.Background()
	cfg := NATSConfig{URL: srv.ClientURL(), Stream: "ORDERS", Subject: "orders.>", Durable: "d", MaxAckPending: 3, AckWait: time.Hour}
	c, err := OpenNATS(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(c.(*natsConsumer).buf) < 3 { // all three received, none taken
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 messages received", len(c.(*natsConsumer).buf))
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.Close()
	c, err = OpenNATS(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := 0
	for got < 3 && time.Now().Before(deadline) {
		msgs, err := c.Fetch(ctx, 3, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if err := m.Ack(); err != nil {
				t.Fatal(err)
			}
			got++
		}
	}
	if got != 3 {
		t.Fatalf("%d of 3 messages back after the first consumer closed", got)
	}
}

// A consumer deleted on the server makes Fetch fail (the trigger then
// creates it again) rather than wait for messages that cannot come.
func TestNATSDeletedConsumerFailsFetch(t *testing.T) {
	srv, js := ordersStream(t, 0)
	ctx := context.Background()
	c, err := OpenNATS(ctx, NATSConfig{URL: srv.ClientURL(), Stream: "ORDERS", Durable: "d", MaxAckPending: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(100 * time.Millisecond) // its pull request is open
	if err := js.DeleteConsumer(ctx, "ORDERS", "d"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.Fetch(ctx, 2, 0)
		if err != nil {
			if !strings.Contains(err.Error(), "consumer deleted") {
				t.Fatalf("error %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Fetch still waits on a deleted consumer")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ordersStream starts a NATS server with a stream ORDERS on orders.> and
// publishes n messages to orders.new (their bodies 1 to n).
func ordersStream(t *testing.T, n int) (*server.Server, jetstream.JetStream) {
	t.Helper()
	srv := natstest.Start(t)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if _, err := js.Publish(ctx, "orders.new", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	return srv, js
}
