package queue

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/weftio/weft/connectors"
)

func amqpDial(url string, dial DialFunc, name string) (*amqp.Connection, error) {
	cfg := amqp.Config{Heartbeat: 10 * time.Second, Locale: "en_US", Properties: amqp.Table{"connection_name": name}}
	d := dial
	if d == nil {
		d = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	}
	cfg.Dial = func(network, addr string) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := d(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		// The handshake must not hang on a server that accepts and says nothing.
		if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	conn, err := amqp.DialConfig(url, cfg)
	if err != nil {
		return nil, fmt.Errorf("amqp: connecting to %s: %w", Redact(url), err)
	}
	return conn, nil
}

// AMQPConfig configures an AMQP consumer.
type AMQPConfig struct {
	URL, Queue, Tag string
	Prefetch        int
	Dial            DialFunc
	// Notify, when set, is called when a message arrives.
	Notify func()
}

type amqpConsumer struct {
	conn  *amqp.Connection
	ch    *amqp.Channel
	queue string
	in    chan amqp.Delivery
	done  chan *amqp.Error
}

// OpenAMQP starts consuming a queue with manual acknowledgement and at most
// Prefetch unacknowledged deliveries.
func OpenAMQP(ctx context.Context, c AMQPConfig) (Consumer, error) {
	conn, err := amqpDial(c.URL, c.Dial, "weft trigger "+c.Tag)
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("amqp: opening a channel: %w", err)
	}
	if err := ch.Qos(max(1, c.Prefetch), 0, false); err != nil {
		conn.Close()
		return nil, fmt.Errorf("amqp: setting the prefetch: %w", err)
	}
	in, err := ch.ConsumeWithContext(ctx, c.Queue, c.Tag, false, false, false, false, nil)
	if err != nil {
		conn.Close()
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.NotFound {
			return nil, fmt.Errorf("amqp: queue %q does not exist on %s: declare it (rabbitmqadmin declare queue) or fix amqp.queue", c.Queue, Redact(c.URL))
		}
		if errors.As(err, &ae) && ae.Code == amqp.AccessRefused {
			return nil, fmt.Errorf("amqp: the connection's user may not consume queue %q: %v", c.Queue, ae.Reason)
		}
		return nil, fmt.Errorf("amqp: consuming %q: %w", c.Queue, err)
	}
	done := make(chan *amqp.Error, 1)
	ch.NotifyClose(done)
	// The deliveries move to a buffer of Prefetch (the broker sends no
	// more unacknowledged ones), so that Fetch can take all that arrived
	// at once, and Notify can tell the caller.
	buf := make(chan amqp.Delivery, max(1, c.Prefetch))
	go func() {
		defer close(buf)
		for d := range in {
			buf <- d
			if c.Notify != nil {
				c.Notify()
			}
		}
	}()
	return &amqpConsumer{conn: conn, ch: ch, queue: c.Queue, in: buf, done: done}, nil
}

func (a *amqpConsumer) Fetch(ctx context.Context, max int, wait time.Duration) ([]*Message, error) {
	out, err := drain(ctx, a.in, max, wait, func(d amqp.Delivery) *Message { return amqpMessage(a.queue, d) })
	if errors.Is(err, errClosed) {
		reason := "the connection closed"
		select {
		case e := <-a.done:
			if e != nil {
				reason = e.Error()
			}
		default:
		}
		return nil, fmt.Errorf("amqp: consuming %q: %s", a.queue, reason)
	}
	return out, err
}

func amqpMessage(queue string, d amqp.Delivery) *Message {
	msg := &Message{ID: d.MessageId, Subject: d.RoutingKey, Source: queue, Body: d.Body, Redelivered: d.Redelivered, PublishedAt: d.Timestamp,
		ack: func() error { return d.Ack(false) }, nak: func() error { return d.Nack(false, true) }}
	if len(d.Headers) > 0 || d.ContentType != "" {
		msg.Headers = map[string]string{}
		for k, v := range d.Headers {
			msg.Headers[k] = fmt.Sprint(v)
		}
		if d.ContentType != "" {
			msg.Headers["content-type"] = d.ContentType
		}
	}
	return msg
}

// Waiting declares the queue passively on a channel of its own (a failed
// declaration closes its channel, and the consuming one must stay open).
func (a *amqpConsumer) Waiting(ctx context.Context) (int64, error) {
	ch, err := a.conn.Channel()
	if err != nil {
		return 0, fmt.Errorf("amqp: opening a channel: %w", err)
	}
	defer ch.Close()
	type res struct {
		q   amqp.Queue
		err error
	}
	done := make(chan res, 1)
	go func() {
		q, err := ch.QueueDeclarePassive(a.queue, false, false, false, false, nil)
		done <- res{q, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return 0, fmt.Errorf("amqp: inspecting queue %q: %w", a.queue, r.err)
		}
		return int64(r.q.Messages), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (a *amqpConsumer) Close() { a.conn.Close() }

// AMQP returns the amqp connector: amqp.publish.
func AMQP(o Options) *connectors.Connector {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 8 << 20
	}
	p := &amqpPub{opts: o, conns: pool[*amqp.Connection]{dial: amqpDial}}
	return &connectors.Connector{
		Name: "amqp", Title: "AMQP 0-9-1 (RabbitMQ)", Version: "1.0.0",
		Description: "Publish to AMQP 0-9-1 exchanges (RabbitMQ) with publisher confirms; flows consume queues with the amqp trigger.",
		Config:      map[string]any{"type": "object", "properties": map[string]any{}},
		Secrets:     []string{"url"},
		Check: func(c *connectors.Connection) error {
			if c.Secrets["url"] == "" {
				return errors.New("an amqp connection needs secrets.url (amqp://user:password@host:5672/vhost)")
			}
			return nil
		},
		Operations: []*connectors.Operation{{
			Name: "publish", Title: "Publish a message",
			Description: "Publish one message to an exchange (\"\": the default exchange, routing_key is the queue) and wait for the broker's confirm. The message is mandatory: one no queue takes fails the step. message_id defaults to the step's idempotency key, which is what an amqp trigger deduplicates by.",
			Input: map[string]any{"type": "object", "required": []any{"routing_key", "body"}, "additionalProperties": false, "properties": map[string]any{
				"exchange":     strSchema("the exchange (default \"\": the default exchange)"),
				"routing_key":  strSchema("the routing key (on the default exchange: the queue)"),
				"body":         map[string]any{"description": "a string is sent as is, anything else as JSON"},
				"headers":      map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
				"message_id":   strSchema("the message-id property (default: the step's idempotency key)"),
				"content_type": strSchema("default: application/json, or text/plain for a string body"),
				"persistent":   map[string]any{"type": "boolean", "default": true, "description": "delivery mode 2: the broker writes the message to disk"},
			}},
			Output: map[string]any{"type": "object", "properties": map[string]any{"confirmed": map[string]any{"type": "boolean"},
				"message_id": map[string]any{"type": "string"}}},
			Hints:  connectors.Hints{OpenWorld: true},
			Invoke: p.publish,
		}},
	}
}

type amqpPub struct {
	opts  Options
	conns pool[*amqp.Connection]
}

func (p *amqpPub) publish(ctx context.Context, call connectors.Call) (any, error) {
	const op = "amqp.publish"
	url, err := connURL(op, call.Connection)
	if err != nil {
		return nil, err
	}
	in := call.Input
	exchange, key := str(in["exchange"]), str(in["routing_key"])
	if len(exchange) > 255 || len(key) > 255 {
		return nil, permanent(op, "exchange and routing_key are at most 255 bytes")
	}
	body, ct, err := payload(op, in, p.opts.MaxBytes)
	if err != nil {
		return nil, err
	}
	if s := str(in["content_type"]); s != "" {
		ct = s
	}
	hs, err := headers(op, in)
	if err != nil {
		return nil, err
	}
	id := str(in["message_id"])
	if id == "" {
		id = call.IdempotencyKey
	}
	mode := amqp.Persistent
	if b, ok := in["persistent"].(bool); ok && !b {
		mode = amqp.Transient
	}
	conn, err := p.conns.get(p.opts, call.Connection, url)
	if err != nil {
		return nil, retryable(op, err)
	}
	ch, err := conn.Channel()
	if err != nil {
		return nil, retryable(op, err)
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		return nil, retryable(op, err)
	}
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	closes := ch.NotifyClose(make(chan *amqp.Error, 1))
	pub := amqp.Publishing{ContentType: ct, DeliveryMode: mode, MessageId: id, Timestamp: time.Now().UTC(), Body: body}
	if len(hs) > 0 {
		pub.Headers = amqp.Table{}
		for k, v := range hs {
			pub.Headers[k] = v
		}
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, true, false, pub)
	if err != nil {
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.NotFound {
			return nil, permanent(op, "exchange %q does not exist: %s", exchange, ae.Reason)
		}
		return nil, retryable(op, err)
	}
	acked, err := dc.WaitContext(ctx)
	if err != nil {
		return nil, retryable(op, err)
	}
	if !acked {
		// A channel the broker closed (no such exchange, no access) nacks
		// what it had pending: say why.
		select {
		case e := <-closes:
			if e != nil && (e.Code == amqp.NotFound || e.Code == amqp.AccessRefused) {
				return nil, permanent(op, "exchange %q: %s", exchange, e.Reason)
			}
			if e != nil {
				return nil, retryable(op, e)
			}
		case <-time.After(200 * time.Millisecond):
		}
		return nil, retryable(op, errors.New("the broker refused the message (nack)"))
	}
	// A mandatory message no queue took comes back before its confirm.
	select {
	case r := <-returns:
		return nil, permanent(op, "no queue took the message (exchange %q, routing key %q): %s", exchange, key, r.ReplyText)
	default:
	}
	return map[string]any{"confirmed": true, "message_id": id}, nil
}
