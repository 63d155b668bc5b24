package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors/queue"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/store"
)

// Queue trigger defaults.
const (
	defaultQueueInFlight = 100
	defaultQueueBytes    = 1 << 20
	queueRetryAfter      = 5 * time.Second
	queueWaitingEvery    = 5 * time.Second // how often a consumer's waiting count is asked for
	maxQueueKey          = 512
	deadBodyKeep         = 64 << 10 // of a dead-lettered message's body, recorded in its run
)

// queueSource serves the nats and amqp triggers: one consumer per flow,
// read during Pull. Each message becomes an event whose idempotency key is
// the message's id (the key: expression, the publisher's message id, the
// JetStream sequence, or for AMQP without one a hash of the message), and
// whose done function acknowledges it once pullOnce has committed its run
// (or returns it to the server when the run could not be created). A
// redelivered message whose run exists already finds it by the key and is
// acknowledged without a second run: at-least-once from the server,
// exactly one run per message in Weft. The cursor is not used.
type queueSource struct {
	e     *Engine
	kind  string
	mu    sync.Mutex
	flows map[string]*queueFlow
}

type queueFlow struct {
	mu      sync.Mutex
	fp      string
	c       queue.Consumer
	retryAt time.Time
	askedAt time.Time // when the waiting count was last asked for (under queueSource.mu)
	// Guarded by queueSource.mu, for QueueStatuses.
	open    bool
	asking  bool
	waiting int64
	err     string
	trouble trouble // for Config.OnQueue (under mu)
}

// QueueTrouble is a queue trigger's failure to consume, or its end
// (Resolved).
type QueueTrouble struct {
	Flow, Kind string
	Message    string
	Resolved   bool
}

// watch raises and resolves Config.OnQueue for one pull's outcome.
func (s *queueSource) watch(ctx context.Context, name string, fl *queueFlow, err error, now time.Time) {
	hook := s.e.cfg.OnQueue
	if hook == nil {
		return
	}
	after := s.e.cfg.QueueAlertAfter
	if after <= 0 {
		after = time.Minute
	}
	if err == nil && fl.c == nil {
		return // waiting to retry: no news
	}
	raise, resolve := fl.trouble.observe(err != nil, now, after)
	switch {
	case raise:
		hook(ctx, QueueTrouble{Flow: name, Kind: s.kind, Message: err.Error()})
	case resolve:
		hook(ctx, QueueTrouble{Flow: name, Kind: s.kind, Message: s.kind + ": the trigger consumes again", Resolved: true})
	}
}

func newQueueSource(e *Engine, kind string) *queueSource {
	return &queueSource{e: e, kind: kind, flows: map[string]*queueFlow{}}
}

// Kind implements Source.
func (s *queueSource) Kind() string { return s.kind }

// QueueConsumerName is the durable NATS consumer (and AMQP consumer tag) of
// a flow: a safe form of its name plus a hash of it.
func QueueConsumerName(flowName string) string { return sourceName(flowName, "-") }

func (s *queueSource) flow(name string) *queueFlow {
	s.mu.Lock()
	defer s.mu.Unlock()
	fl := s.flows[name]
	if fl == nil {
		fl = &queueFlow{}
		s.flows[name] = fl
	}
	return fl
}

func (fl *queueFlow) close() {
	if fl.c != nil {
		fl.c.Close()
	}
	fl.c = nil
}

// Pull implements Source.
func (s *queueSource) Pull(ctx context.Context, f *flow.Flow, cursor string, now time.Time) ([]Event, string, error) {
	qt := f.Trigger.Queue()
	if qt == nil {
		return nil, cursor, nil
	}
	fl := s.flow(f.Name)
	if !fl.mu.TryLock() {
		return nil, cursor, nil // another goroutine of this process is pulling it
	}
	defer fl.mu.Unlock()
	evs, err := s.pull(ctx, fl, f, qt, now)
	if ctx.Err() == nil {
		s.watch(ctx, f.Name, fl, err, now)
		s.report(fl, err, now)
	}
	return evs, cursor, err
}

// report records a flow's consumer state for QueueStatuses and, at most
// every queueWaitingEvery, asks the server in the background how many
// messages wait (the pull itself never waits on that answer).
func (s *queueSource) report(fl *queueFlow, err error, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fl.open = fl.c != nil
	switch {
	case err != nil:
		fl.err = err.Error()
	case fl.c != nil:
		fl.err = ""
	}
	if fl.c == nil || fl.asking || now.Sub(fl.askedAt) < queueWaitingEvery {
		return
	}
	fl.asking, fl.askedAt = true, now
	c := fl.c
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), queueWaitingEvery)
		defer cancel()
		n, err := c.Waiting(ctx)
		s.mu.Lock()
		defer s.mu.Unlock()
		fl.asking = false
		if err == nil {
			fl.waiting = n
		} else {
			s.e.log.Debug(s.kind+": waiting count", "err", err)
		}
	}()
}

// QueueStatus is one queue trigger's consumer in this process.
type QueueStatus struct {
	Flow    string `json:"flow"`
	Kind    string `json:"kind"`    // nats | amqp
	Waiting int64  `json:"waiting"` // messages on the server not yet delivered (as last asked)
	Error   string `json:"error,omitempty"`
}

// QueueStatuses lists the queue consumers this process runs (for /metrics).
func (e *Engine) QueueStatuses() []QueueStatus {
	var out []QueueStatus
	for _, kind := range []string{flow.TriggerNATS, flow.TriggerAMQP} {
		e.mu.Lock()
		s, _ := e.sources[kind].(*queueSource)
		e.mu.Unlock()
		if s == nil {
			continue
		}
		s.mu.Lock()
		for name, fl := range s.flows {
			if fl.open || fl.err != "" {
				out = append(out, QueueStatus{Flow: name, Kind: kind, Waiting: fl.waiting, Error: fl.err})
			}
		}
		s.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Flow+out[i].Kind < out[j].Flow+out[j].Kind })
	return out
}

func (s *queueSource) pull(ctx context.Context, fl *queueFlow, f *flow.Flow, qt *flow.QueueTrigger, now time.Time) ([]Event, error) {
	c, ok := s.e.cat.LookupConnection(qt.Connection)
	if ok && f.Namespace != "" && access.NamespaceOr(c.Namespace) != f.Namespace {
		return nil, fmt.Errorf("%s: connection %q belongs to namespace %q, not the flow's (%q)", s.kind, qt.Connection, access.NamespaceOr(c.Namespace), f.Namespace)
	}
	conn, err := s.e.connection(ctx, qt.Connection, s.kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", s.kind, err)
	}
	url := conn.Secrets["url"]
	if url == "" {
		return nil, fmt.Errorf("%s: connection %q has no secrets.url", s.kind, qt.Connection)
	}
	inFlight := qt.MaxInFlight
	if inFlight <= 0 {
		inFlight = defaultQueueInFlight
	}
	ackWait := qt.AckWait
	if ackWait <= 0 {
		ackWait = s.e.cfg.QueueAckWait
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{url, qt.Stream, qt.Subject, qt.Consumer, qt.Queue, fmt.Sprint(inFlight), ackWait.String()}, "\x00")))
	fp := hex.EncodeToString(sum[:8])
	if fl.c != nil && fl.fp != fp {
		fl.close()
	}
	if fl.c == nil {
		if now.Before(fl.retryAt) {
			return nil, nil
		}
		name := qt.Consumer
		if name == "" {
			name = QueueConsumerName(f.Name)
		}
		dial := queue.DialFunc(s.e.dialer("connection " + qt.Connection))
		var cons queue.Consumer
		if s.kind == flow.TriggerNATS {
			cons, err = queue.OpenNATS(ctx, queue.NATSConfig{URL: url, Stream: qt.Stream, Subject: qt.Subject, Durable: name, MaxAckPending: inFlight, AckWait: ackWait, Dial: dial, Notify: s.e.poke})
		} else {
			cons, err = queue.OpenAMQP(ctx, queue.AMQPConfig{URL: url, Queue: qt.Queue, Tag: name, Prefetch: inFlight, Dial: dial, Notify: s.e.poke})
		}
		if err != nil {
			fl.retryAt = now.Add(queueRetryAfter)
			return nil, err
		}
		fl.c, fl.fp = cons, fp
	}
	// The consumers buffer what arrives and wake the trigger loop: take
	// what is there, without waiting.
	msgs, err := fl.c.Fetch(ctx, inFlight, 0)
	if err != nil {
		fl.close()
		if ctx.Err() != nil {
			return nil, nil
		}
		fl.retryAt = now.Add(queueRetryAfter)
		return nil, err
	}
	events := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		ev, bad := s.event(f, qt, m, now)
		if bad != "" {
			s.deadLetter(ctx, f, ev, m, bad)
			continue
		}
		if ev.Kind == "" { // when: false
			if err := m.Ack(); err != nil {
				s.e.log.Warn(s.kind+": ack", "flow", f.Name, "err", err)
			}
			continue
		}
		events = append(events, ev)
	}
	return events, nil
}

// event builds a message's trigger event. bad says why the message cannot
// start a run; an event with no Kind is one the when condition passed over.
func (s *queueSource) event(f *flow.Flow, qt *flow.QueueTrigger, m *queue.Message, now time.Time) (ev Event, bad string) {
	fields := map[string]any{"message_id": m.ID, "subject": m.Subject, "source": m.Source,
		"sequence": int64(m.Sequence), "redelivered": m.Redelivered, "published_at": nil}
	if !m.PublishedAt.IsZero() {
		fields["published_at"] = m.PublishedAt.UTC().Format(time.RFC3339Nano)
	}
	ev = Event{Kind: s.kind, Headers: m.Headers, Fields: fields, IdemKey: s.kind + ":" + defaultQueueKey(m)}
	ev.done = func(fired bool) {
		var err error
		if fired {
			err = m.Ack()
		} else {
			err = m.Nak()
		}
		if err != nil {
			s.e.log.Warn(s.kind+": acknowledging", "flow", f.Name, "fired", fired, "err", err)
		}
	}
	max := qt.MaxBytes
	if max <= 0 {
		max = defaultQueueBytes
	}
	if len(m.Body) > max {
		return ev, fmt.Sprintf("the message is %d bytes; the trigger's max_bytes is %d", len(m.Body), max)
	}
	if qt.Format == "text" {
		if !utf8.Valid(m.Body) {
			return ev, "the message is not UTF-8 text (format: text)"
		}
		ev.Body = string(m.Body)
	} else {
		var v any
		if len(strings.TrimSpace(string(m.Body))) == 0 {
			return ev, "the message is empty, not JSON (format: json; use format: text for other messages)"
		}
		if err := bounded.UnmarshalJSON("message", m.Body, &v, bounded.Limits{MaxBytes: int64(max)}); err != nil {
			return ev, fmt.Sprintf("the message is not JSON (format: json; use format: text for other messages): %v", err)
		}
		ev.Body, ev.RawBody = v, m.Body
	}
	when, key := qt.Compiled()
	scope := &flow.Scope{Trigger: ev.input(), Run: map[string]any{"started_at": now.UTC()}}
	if key != nil {
		v, err := key.Eval(scope)
		if err != nil {
			return ev, fmt.Sprintf("key %s: %v", qt.Key, err)
		}
		k := fmt.Sprint(v)
		if s, ok := v.(string); ok {
			k = s
		}
		if v == nil || k == "" || len(k) > maxQueueKey {
			return ev, fmt.Sprintf("key %s gave %q: an idempotency key is 1 to %d bytes", qt.Key, k, maxQueueKey)
		}
		ev.IdemKey = s.kind + ":key:" + k
	}
	if when != nil {
		ok, err := when.EvalBool(scope)
		if err != nil {
			return ev, fmt.Sprintf("when %s: %v", qt.When, err)
		}
		if !ok {
			ev.Kind = ""
		}
	}
	return ev, ""
}

// defaultQueueKey identifies a message without a key expression: the
// publisher's message id; else the JetStream sequence, which a redelivery
// keeps; else (AMQP without message-id) a hash of the routing key, headers
// and body, so that a redelivered message is known again — and two
// identical messages without ids count as one.
func defaultQueueKey(m *queue.Message) string {
	if m.ID != "" {
		if len(m.ID) > maxQueueKey {
			sum := sha256.Sum256([]byte(m.ID))
			return "id-sha256:" + hex.EncodeToString(sum[:])
		}
		return "id:" + m.ID
	}
	if m.Sequence != 0 {
		return fmt.Sprintf("seq:%s:%d", m.Source, m.Sequence)
	}
	h := sha256.New()
	h.Write([]byte(m.Source + "\x00" + m.Subject + "\x00"))
	keys := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h.Write([]byte(k + "\x00" + m.Headers[k] + "\x00"))
	}
	h.Write(m.Body)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// deadLetter records a message that cannot start a run as a dead run (in
// the DLQ, with why), then acknowledges it; a message whose dead run
// cannot be recorded goes back to the server.
func (s *queueSource) deadLetter(ctx context.Context, f *flow.Flow, ev Event, m *queue.Message, why string) {
	body := m.Body
	if len(body) > deadBodyKeep {
		body = body[:deadBodyKeep]
	}
	in := ev.input()
	in["body"] = strings.ToValidUTF8(string(body), "\uFFFD")
	in["body_bytes"] = int64(len(m.Body))
	raw, err := json.Marshal(in)
	if err == nil {
		now := s.e.now().UTC()
		_, fv, ferr := s.e.Flow(ctx, f.Name, 0)
		if ferr != nil {
			err = ferr
		} else {
			run := &store.Run{ID: newID(), Flow: f.Name, Version: fv.Version, TriggerKind: s.kind, IdemKey: ev.IdemKey, Input: raw,
				Status: store.RunDead, ErrorCode: "bad_message", ErrorMessage: s.kind + ": " + why,
				CreatedAt: now, StartedAt: now, FinishedAt: &now}
			_, _, err = s.e.st.CreateRun(ctx, run, false)
		}
	}
	if err != nil {
		s.e.log.Error(s.kind+": recording a bad message", "flow", f.Name, "why", why, "err", err)
		ev.done(false)
		return
	}
	s.e.log.Warn(s.kind+": message to the DLQ", "flow", f.Name, "key", ev.IdemKey, "why", why)
	ev.done(true)
}

func (s *queueSource) closeAll(active map[string]bool) {
	s.mu.Lock()
	var gone []*queueFlow
	for name, fl := range s.flows {
		if active == nil || !active[name] {
			gone = append(gone, fl)
			delete(s.flows, name)
		}
	}
	s.mu.Unlock()
	for _, fl := range gone {
		fl.mu.Lock()
		fl.close()
		fl.mu.Unlock()
	}
}

// sweepQueues closes the consumers of flows that no longer have this
// process's queue trigger (all of them with active nil: stopping).
func (e *Engine) sweepQueues(active map[string]bool) {
	for _, kind := range []string{flow.TriggerNATS, flow.TriggerAMQP} {
		e.mu.Lock()
		s, _ := e.sources[kind].(*queueSource)
		e.mu.Unlock()
		if s != nil {
			s.closeAll(active)
		}
	}
}
