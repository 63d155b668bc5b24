package queue

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/weftio/weft/connectors"
)

// NATSMsgID is the header JetStream deduplicates publishes by, and the
// message id a trigger uses.
const NATSMsgID = "Nats-Msg-Id"

// dialer adapts a DialFunc to nats.CustomDialer.
type dialer struct{ dial DialFunc }

func (d dialer) Dial(network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return d.dial(ctx, network, addr)
}

func natsConnect(url string, dial DialFunc, name string) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name(name), nats.Timeout(10 * time.Second), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second)}
	if dial != nil {
		opts = append(opts, nats.SetCustomDialer(dialer{dial}))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connecting to %s: %w", Redact(url), err)
	}
	return nc, nil
}

// NATSConfig configures a JetStream consumer.
type NATSConfig struct {
	URL, Stream, Subject, Durable string
	MaxAckPending                 int
	AckWait                       time.Duration // default 30s
	Dial                          DialFunc
	// Notify, when set, is called when a message arrives (the caller
	// need not wait in Fetch for one).
	Notify func()
}

type natsConsumer struct {
	nc   *nats.Conn
	cons jetstream.Consumer
	buf  chan jetstream.Msg
	strm string
	stop context.CancelFunc
	done chan struct{}
	mu   sync.Mutex
	gone error // why receive stopped by itself: the consumer or stream is no more
}

// natsPollWait is how long one pull request waits on the server for
// messages before the receiver asks again (the server sends a heartbeat
// every 5 s meanwhile, so a lost connection is noticed within 10 s).
const natsPollWait = 30 * time.Second

// OpenNATS creates (or updates) the durable pull consumer and starts
// receiving into a buffer (the server delivers no more than MaxAckPending
// unacknowledged messages). The consumer delivers the stream from its
// first message the first time, and from where its acknowledgements stand
// after that.
func OpenNATS(ctx context.Context, c NATSConfig) (Consumer, error) {
	nc, err := natsConnect(c.URL, c.Dial, "weft trigger "+c.Durable)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: %w", err)
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	c.MaxAckPending = max(1, c.MaxAckPending)
	cons, err := js.CreateOrUpdateConsumer(ctx, c.Stream, jetstream.ConsumerConfig{
		Durable: c.Durable, FilterSubject: c.Subject, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: c.AckWait, MaxAckPending: c.MaxAckPending, DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxDeliver: -1, Description: "weft trigger",
	})
	if err != nil {
		nc.Close()
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
			return nil, fmt.Errorf("nats: stream %q does not exist on %s: create it (nats stream add) or fix nats.stream", c.Stream, Redact(c.URL))
		case errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, nats.ErrJetStreamNotEnabled):
			return nil, fmt.Errorf("nats: JetStream is not enabled on %s (start nats-server with -js)", Redact(c.URL))
		}
		return nil, fmt.Errorf("nats: consumer %q on stream %q: %w", c.Durable, c.Stream, err)
	}
	rctx, stop := context.WithCancel(context.Background())
	// Twice MaxAckPending: room for a message the server redelivers (its
	// ack wait ran out) while the first delivery still waits here.
	n := &natsConsumer{nc: nc, cons: cons, buf: make(chan jetstream.Msg, 2*c.MaxAckPending), strm: c.Stream, stop: stop, done: make(chan struct{})}
	go n.receive(rctx, min(c.MaxAckPending, 500), c.Notify)
	return n, nil
}

// receive keeps one pull request for up to batch messages open on the
// server, and moves what it delivers into the buffer. A request ends when
// its batch is delivered (redeliveries count) or after natsPollWait; the
// next is sent at once. (jetstream's Consume is not used: it asks for more
// only when a delivery lowers its count of requested messages, and skips
// that while its previous request is still being sent; a nak'd message
// redelivered within that window left it with nothing requested and
// nothing arriving until its request expired, 30 s later, so a backlog
// stalled for 30 s at a time while the store was down.)
func (n *natsConsumer) receive(ctx context.Context, batch int, notify func()) {
	defer close(n.done)
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, natsPollWait)
		b, err := n.cons.Fetch(batch, jetstream.FetchContext(pctx))
		if err == nil {
			for m := range b.Messages() {
				select {
				case n.buf <- m:
				case <-ctx.Done():
					_ = m.Nak()
				}
				if notify != nil {
					notify()
				}
			}
			err = b.Error()
		}
		cancel()
		if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, nats.ErrNoResponders) {
			// Deleted on the server (or its stream): Fetch says so, and
			// the trigger opens (creates) it again.
			n.mu.Lock()
			n.gone = err
			n.mu.Unlock()
			return
		}
		if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			// The connection is down or the consumer is gone: the
			// reconnecting client or the trigger's retry takes over.
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (n *natsConsumer) Fetch(ctx context.Context, max int, wait time.Duration) ([]*Message, error) {
	if n.nc.IsClosed() {
		return nil, fmt.Errorf("nats: receiving from %q: the connection is closed", n.strm)
	}
	out, err := drain(ctx, n.buf, max, wait, natsMessage)
	if err == nil && len(out) == 0 {
		n.mu.Lock()
		gone := n.gone
		n.mu.Unlock()
		if gone != nil {
			return nil, fmt.Errorf("nats: receiving from %q: %w", n.strm, gone)
		}
	}
	return out, err
}

// drain returns up to max buffered items, waiting up to wait for the first.
func drain[T any](ctx context.Context, buf <-chan T, max int, wait time.Duration, conv func(T) *Message) ([]*Message, error) {
	var out []*Message
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case m, ok := <-buf:
			if !ok {
				return nil, errClosed
			}
			out = append(out, conv(m))
		case <-t.C:
			return nil, nil
		case <-ctx.Done():
			return nil, nil
		}
	}
	for len(out) < max {
		select {
		case m, ok := <-buf:
			if !ok {
				if len(out) == 0 {
					return nil, errClosed
				}
				return out, nil
			}
			out = append(out, conv(m))
		default:
			return out, nil
		}
	}
	return out, nil
}

var errClosed = errors.New("the consumer closed")

func natsMessage(m jetstream.Msg) *Message {
	msg := &Message{Subject: m.Subject(), Source: "", Body: m.Data(), ack: m.Ack, nak: m.Nak}
	if h := m.Headers(); len(h) > 0 {
		msg.Headers = make(map[string]string, len(h))
		for k, v := range h {
			if len(v) > 0 {
				msg.Headers[k] = v[0]
			}
		}
		msg.ID = h.Get(NATSMsgID)
	}
	if md, err := m.Metadata(); err == nil {
		msg.Source, msg.Sequence = md.Stream, md.Sequence.Stream
		msg.Redelivered = md.NumDelivered > 1
		msg.PublishedAt = md.Timestamp
	}
	return msg
}

func (n *natsConsumer) Waiting(ctx context.Context) (int64, error) {
	info, err := n.cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("nats: consumer info on %q: %w", n.strm, err)
	}
	return int64(info.NumPending), nil
}

// Close stops receiving and returns the messages it holds that Fetch has
// not taken (nak: the server redelivers them at once, to this flow's next
// consumer, rather than after the ack wait). One still on its way from
// the server at that moment comes back after the ack wait.
func (n *natsConsumer) Close() {
	n.stop()
	<-n.done
	for {
		select {
		case m := <-n.buf:
			_ = m.Nak()
			continue
		default:
		}
		break
	}
	_ = n.nc.Flush()
	n.nc.Close()
}

// NATS returns the nats connector: nats.publish.
func NATS(o Options) *connectors.Connector {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 8 << 20
	}
	p := &natsPub{opts: o, conns: pool[*nats.Conn]{dial: natsConnect}}
	return &connectors.Connector{
		Name: "nats", Title: "NATS JetStream", Version: "1.0.0",
		Description: "Publish to NATS JetStream subjects with the server's acknowledgement; flows consume streams with the nats trigger.",
		Config:      map[string]any{"type": "object", "properties": map[string]any{}},
		Secrets:     []string{"url"},
		Check: func(c *connectors.Connection) error {
			if c.Secrets["url"] == "" {
				return errors.New("a nats connection needs secrets.url (nats://user:password@host:4222)")
			}
			return nil
		},
		Operations: []*connectors.Operation{{
			Name: "publish", Title: "Publish a message",
			Description: "Publish one message to a JetStream subject and wait for the stream's acknowledgement. message_id (default: the step's idempotency key) lets JetStream drop a duplicate publish within its window, and is the message id a nats trigger deduplicates by.",
			Input: map[string]any{"type": "object", "required": []any{"subject", "body"}, "additionalProperties": false, "properties": map[string]any{
				"subject":    strSchema("the subject, e.g. orders.created"),
				"body":       map[string]any{"description": "a string is sent as is, anything else as JSON"},
				"headers":    map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
				"message_id": strSchema("the Nats-Msg-Id header (default: the step's idempotency key)"),
			}},
			Output: map[string]any{"type": "object", "properties": map[string]any{
				"stream": map[string]any{"type": "string"}, "sequence": map[string]any{"type": "integer"},
				"duplicate":  map[string]any{"type": "boolean", "description": "JetStream had this message id already"},
				"message_id": map[string]any{"type": "string"}}},
			Hints:  connectors.Hints{OpenWorld: true, Idempotent: true},
			Invoke: p.publish,
		}},
	}
}

type natsPub struct {
	opts  Options
	conns pool[*nats.Conn]
}

func (p *natsPub) publish(ctx context.Context, call connectors.Call) (any, error) {
	const op = "nats.publish"
	url, err := connURL(op, call.Connection)
	if err != nil {
		return nil, err
	}
	in := call.Input
	subject := str(in["subject"])
	if subject == "" || len(subject) > 255 {
		return nil, permanent(op, "subject must be 1 to 255 bytes")
	}
	body, _, err := payload(op, in, p.opts.MaxBytes)
	if err != nil {
		return nil, err
	}
	hs, err := headers(op, in)
	if err != nil {
		return nil, err
	}
	id := str(in["message_id"])
	if id == "" {
		id = call.IdempotencyKey
	}
	nc, err := p.conns.get(p.opts, call.Connection, url)
	if err != nil {
		return nil, retryable(op, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, retryable(op, err)
	}
	msg := nats.NewMsg(subject)
	msg.Data = body
	for k, v := range hs {
		msg.Header.Set(k, v)
	}
	var popts []jetstream.PublishOpt
	if id != "" {
		popts = append(popts, jetstream.WithMsgID(id))
	}
	ack, err := js.PublishMsg(ctx, msg, popts...)
	if err != nil {
		if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
			return nil, retryable(op, fmt.Errorf("no JetStream stream took subject %q (is there a stream for it?): %w", subject, err))
		}
		return nil, retryable(op, err)
	}
	return map[string]any{"stream": ack.Stream, "sequence": int64(ack.Sequence), "duplicate": ack.Duplicate, "message_id": id}, nil
}
