package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	queueconn "github.com/weftio/weft/connectors/queue"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/natstest"
	"github.com/weftio/weft/internal/rabbittest"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// flakyStore fails CreateRun while failing is set: before the write
// ("down") or after it ("lost": the run is committed, the caller is told
// it was not, as when a process dies between the commit and the ack).
type flakyStore struct {
	store.Store
	mode    atomic.Value // "", "down", "lost"
	creates atomic.Int64
}

func (f *flakyStore) CreateRun(ctx context.Context, r *store.Run, enqueue bool) (*store.Run, bool, error) {
	f.creates.Add(1)
	switch f.mode.Load() {
	case "down":
		return nil, false, errors.New("store down (test)")
	case "lost":
		got, created, err := f.Store.CreateRun(ctx, r, enqueue)
		if err != nil || !created {
			return got, created, err
		}
		return nil, false, errors.New("answer lost after the commit (test)")
	}
	return f.Store.CreateRun(ctx, r, enqueue)
}

// queueEngine is an engine over a flakyStore with the queue connectors and
// a connection "q" of kind to url.
func queueEngine(t testing.TB, kind, url string, cfg engine.Config) (*engine.Engine, *flakyStore) {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, t.TempDir(), quiet, 0)
	if err != nil {
		t.Fatal(err)
	}
	fs := &flakyStore{Store: st}
	fs.mode.Store("")
	cat := connectors.NewCatalog(queueconn.NATS(queueconn.Options{}), queueconn.AMQP(queueconn.Options{}))
	if err := cat.AddConnection(&connectors.Connection{Name: "q", Connector: kind, Secrets: map[string]string{"url": url}}); err != nil {
		t.Fatal(err)
	}
	cfg.LongWait = 500 * time.Millisecond
	lg := quiet
	if os.Getenv("WEFT_TEST_LOG") != "" {
		lg = slog.Default()
	}
	e := engine.New(fs, cat, lg, cfg)
	if err := st.StartQueue(ctx, e.Workers(), store.QueueConfig{Workers: 8, FetchPollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.BeginShutdown()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.StopQueue(c)
		_ = st.Close()
	})
	return e, fs
}

type queueRun struct {
	status, code, msg, key string
	in                     map[string]any
}

func queueRuns(t testing.TB, st store.Store, flowName string) []queueRun {
	t.Helper()
	runs, err := st.ListRuns(context.Background(), store.RunFilter{Flow: flowName, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID < runs[j].ID })
	out := make([]queueRun, 0, len(runs))
	for _, r := range runs {
		var in map[string]any
		if err := json.Unmarshal(r.Input, &in); err != nil {
			t.Fatalf("run %s input: %v", r.ID, err)
		}
		out = append(out, queueRun{status: r.Status, code: r.ErrorCode, msg: r.ErrorMessage, key: r.IdemKey, in: in})
	}
	return out
}

func waitQueueRuns(t testing.TB, st store.Store, flowName string, n int, within time.Duration) []queueRun {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := queueRuns(t, st, flowName)
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("%d runs, want %d", len(got), n)
			}
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jsSetup connects to the server and creates the stream ORDERS on orders.>.
func jsSetup(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func jsPublish(t testing.TB, js jetstream.JetStream, subject, id, body string) {
	t.Helper()
	m := nats.NewMsg(subject)
	m.Data = []byte(body)
	var opts []jetstream.PublishOpt
	if id != "" {
		opts = append(opts, jetstream.WithMsgID(id))
	}
	if _, err := js.PublishMsg(context.Background(), m, opts...); err != nil {
		t.Fatal(err)
	}
}

// consumerState is the flow's durable consumer: acknowledged floor,
// pending acks and undelivered messages.
func consumerState(t testing.TB, js jetstream.JetStream, flowName string) *jetstream.ConsumerInfo {
	t.Helper()
	c, err := js.Consumer(context.Background(), "ORDERS", engine.QueueConsumerName(flowName))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

const natsFlow = `name: orders-q
trigger:
  nats: {connection: q, stream: ORDERS, subject: "orders.>"}
steps:
  - id: s
    set: {id: =trigger.body.id, subject: =trigger.subject}
`

func TestNATSTriggerOneRunPerMessageAckedAfterCommit(t *testing.T) {
	srv := natstest.Start(t)
	_, js := jsSetup(t, srv.ClientURL())
	e, fs := queueEngine(t, "nats", srv.ClientURL(), engine.Config{QueueAckWait: time.Second})
	deploy(t, e, natsFlow)

	// The store is down: messages are received, no run can be created,
	// so none is acknowledged.
	fs.mode.Store("down")
	for i := 1; i <= 20; i++ {
		id := ""
		if i%2 == 0 {
			id = fmt.Sprintf("m-%d", i) // half with a publisher id, half without (the stream sequence)
		}
		jsPublish(t, js, fmt.Sprintf("orders.created.%d", i%3), id, fmt.Sprintf(`{"id": %d}`, i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 50*time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for fs.creates.Load() < 5 {
		if time.Now().After(deadline) {
			t.Fatal("the trigger never tried to create a run")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(queueRuns(t, e.Store(), "orders-q")); n != 0 {
		t.Fatalf("%d runs while the store was down", n)
	}
	if info := consumerState(t, js, "orders-q"); info.AckFloor.Stream != 0 {
		t.Fatalf("acknowledged up to %d while no run was committed", info.AckFloor.Stream)
	}

	// The store commits but the answer is lost (a crash between the commit
	// and the ack): the messages come back and must not start second runs.
	fs.mode.Store("lost")
	deadline = time.Now().Add(15 * time.Second)
	for len(queueRuns(t, e.Store(), "orders-q")) < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("%d runs after the lost answers, want 20", len(queueRuns(t, e.Store(), "orders-q")))
		}
		time.Sleep(50 * time.Millisecond)
	}
	fs.mode.Store("")
	deadline = time.Now().Add(15 * time.Second)
	for {
		info := consumerState(t, js, "orders-q")
		if info.AckFloor.Stream == 20 && info.NumAckPending == 0 && info.NumPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer never caught up: %+v", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
	runs := queueRuns(t, e.Store(), "orders-q")
	if len(runs) != 20 {
		t.Fatalf("%d runs for 20 messages (redeliveries started runs)", len(runs))
	}
	seen := map[float64]bool{}
	for _, r := range runs {
		body, _ := r.in["body"].(map[string]any)
		id, _ := body["id"].(float64)
		if seen[id] || id < 1 || id > 20 {
			t.Fatalf("run for message %v twice or unknown: %+v", id, r)
		}
		seen[id] = true
		if !strings.HasPrefix(r.in["subject"].(string), "orders.created.") || r.in["source"] != "ORDERS" || r.in["kind"] != "nats" {
			t.Fatalf("trigger fields: %+v", r.in)
		}
		if int(id)%2 == 0 && (r.in["message_id"] != fmt.Sprintf("m-%d", int(id)) || r.key != fmt.Sprintf("nats:id:m-%d", int(id))) {
			t.Fatalf("message id / key: %v %q", r.in["message_id"], r.key)
		}
		if int(id)%2 == 1 && !strings.HasPrefix(r.key, "nats:seq:ORDERS:") {
			t.Fatalf("key without a message id: %q", r.key)
		}
	}
	// The runs ran.
	deadline = time.Now().Add(15 * time.Second)
	for {
		done := 0
		for _, r := range queueRuns(t, e.Store(), "orders-q") {
			if r.status == store.RunSucceeded {
				done++
			}
		}
		if done == 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 20 runs succeeded", done)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestNATSTriggerBadMessagesToDLQKeyAndWhen(t *testing.T) {
	srv := natstest.Start(t)
	_, js := jsSetup(t, srv.ClientURL())
	e, _ := queueEngine(t, "nats", srv.ClientURL(), engine.Config{})
	deploy(t, e, `name: orders-q
trigger:
  nats:
    connection: q
    stream: ORDERS
    max_bytes: 100
    max_in_flight: 5
    key: =string(trigger.body.order)
    when: "=trigger.body.order != 0"
steps:
  - set: {order: =trigger.body.order}
`)
	jsPublish(t, js, "orders.a", "", `{"order": 1}`)
	jsPublish(t, js, "orders.a", "", `{"order": 1}`)                            // same key: no second run
	jsPublish(t, js, "orders.a", "", `not json`)                                // DLQ
	jsPublish(t, js, "orders.a", "", `{"pad": "`+strings.Repeat("x", 200)+`"}`) // too big: DLQ
	jsPublish(t, js, "orders.a", "", `{"order": 0}`)                            // when: false
	jsPublish(t, js, "orders.a", "", `{"other": true}`)                         // key fails: DLQ
	jsPublish(t, js, "orders.a", "", `{"order": 2}`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 50*time.Millisecond)
	runs := waitQueueRuns(t, e.Store(), "orders-q", 5, 15*time.Second)
	var dead []string
	var orders []string
	for _, r := range runs {
		if r.status == store.RunDead {
			if r.code != "bad_message" {
				t.Fatalf("dead run code %q", r.code)
			}
			dead = append(dead, r.msg)
			continue
		}
		orders = append(orders, r.key)
	}
	sort.Strings(orders)
	if strings.Join(orders, ",") != "nats:key:1,nats:key:2" {
		t.Fatalf("runs by key: %v", orders)
	}
	if len(dead) != 3 || !strings.Contains(dead[0], "not JSON") || !strings.Contains(dead[1], "max_bytes is 100") || !strings.Contains(dead[2], "key") {
		t.Fatalf("dead runs: %q", dead)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info := consumerState(t, js, "orders-q")
		if info.AckFloor.Stream == 7 && info.NumAckPending == 0 {
			if info.Config.MaxAckPending != 5 {
				t.Fatalf("max_in_flight 5, consumer MaxAckPending %d", info.Config.MaxAckPending)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not all messages acknowledged: %+v", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(queueRuns(t, e.Store(), "orders-q")); n != 5 {
		t.Fatalf("%d runs later, want 5", n)
	}
}

func TestNATSTriggerSetUpErrors(t *testing.T) {
	srv := natstest.Start(t)
	jsSetup(t, srv.ClientURL())
	e, _ := queueEngine(t, "nats", srv.ClientURL(), engine.Config{})
	f, err := flow.Parse("f.yaml", []byte(strings.Replace(natsFlow, "stream: ORDERS", "stream: NOPE", 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = engine.QueueSource(e, "nats").Pull(context.Background(), f, "", time.Now())
	if err == nil || !strings.Contains(err.Error(), `stream "NOPE" does not exist`) {
		t.Fatalf("err %v", err)
	}
}

func TestQueueTriggerParse(t *testing.T) {
	cases := []struct{ src, want string }{
		{"nats: {connection: q}", "f.yaml:3:9: nats trigger needs stream"},
		{"nats: {connection: q, stream: a.b}", `nats.stream "a.b" may not contain`},
		{"nats: {stream: S}", "nats trigger needs connection"},
		{"nats: {connection: q, stream: S, queue: x}", "queue"},
		{"amqp: {connection: q}", "amqp trigger needs queue"},
		{"amqp: {connection: q, queue: x, format: xml}", "f.yaml:3:43: amqp.format must be json or text"},
		{"amqp: {connection: q, queue: x, max_in_flight: 0}", "amqp.max_in_flight must be between 1 and 10000"},
		{"amqp: {connection: q, queue: x, max_bytes: 999999999}", "amqp.max_bytes must be between"},
		{"amqp: {connection: q, queue: x, when: '=trigger.body.('}", "amqp.when"},
	}
	for _, c := range cases {
		_, err := flow.Parse("f.yaml", []byte("name: x\ntrigger:\n  "+c.src+"\nsteps:\n  - set: {a: 1}\n"))
		if err == nil || !strings.Contains(fmt.Sprintf("%v %+v", err, err), c.want) {
			t.Errorf("%s: err %+v, want %q", c.src, err, c.want)
		}
	}
	f, err := flow.Parse("f.yaml", []byte("name: x\ntrigger:\n  amqp: {connection: q, queue: orders, key: =trigger.body.id}\nsteps:\n  - set: {a: =trigger.message_id}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if q := f.Trigger.Queue(); q == nil || q.Queue != "orders" || f.Trigger.Kind != flow.TriggerAMQP {
		t.Fatalf("trigger %+v", f.Trigger)
	}
}

func TestNATSPublishConfirmed(t *testing.T) {
	srv := natstest.Start(t)
	_, js := jsSetup(t, srv.ClientURL())
	c := queueconn.NATS(queueconn.Options{})
	conn := &connectors.Connection{Name: "q", Connector: "nats", Secrets: map[string]string{"url": srv.ClientURL()}}
	pub := c.Operations[0]
	ctx := context.Background()
	out, err := pub.Invoke(ctx, connectors.Call{Connection: conn, IdempotencyKey: "run-1/step", Input: map[string]any{"subject": "orders.x", "body": map[string]any{"id": 7}, "headers": map[string]any{"h": "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	o := out.(map[string]any)
	if o["stream"] != "ORDERS" || o["sequence"] != int64(1) || o["duplicate"] != false {
		t.Fatalf("out %v", o)
	}
	// The retried step publishes with the same id: JetStream drops it.
	out, err = pub.Invoke(ctx, connectors.Call{Connection: conn, IdempotencyKey: "run-1/step", Input: map[string]any{"subject": "orders.x", "body": map[string]any{"id": 7}}})
	if err != nil || out.(map[string]any)["duplicate"] != true {
		t.Fatalf("second publish: %v %v", out, err)
	}
	strm, err := js.Stream(ctx, "ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	m, err := strm.GetMsg(ctx, 1)
	if err != nil || string(m.Data) != `{"id":7}` || m.Header.Get("h") != "v" || m.Header.Get(queueconn.NATSMsgID) != "run-1/step" {
		t.Fatalf("stored %+v %v", m, err)
	}
	// No stream for the subject: an error that says so.
	_, err = pub.Invoke(ctx, connectors.Call{Connection: conn, Input: map[string]any{"subject": "nowhere", "body": "x"}})
	if err == nil || !strings.Contains(err.Error(), "no JetStream stream") {
		t.Fatalf("err %v", err)
	}
	_, err = pub.Invoke(ctx, connectors.Call{Connection: conn, Input: map[string]any{"subject": "orders.x"}})
	if err == nil || !strings.Contains(err.Error(), "give body") {
		t.Fatalf("err %v", err)
	}
}

func amqpSetup(t testing.TB, url string, queues ...string) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queues {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	return ch
}

func amqpPublish(t testing.TB, ch *amqp.Channel, queue, id, body string) {
	t.Helper()
	if err := ch.PublishWithContext(context.Background(), "", queue, true, false, amqp.Publishing{MessageId: id, Body: []byte(body), DeliveryMode: amqp.Persistent}); err != nil {
		t.Fatal(err)
	}
}

func amqpReady(t testing.TB, ch *amqp.Channel, queue string) int {
	t.Helper()
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return q.Messages
}

func TestAMQPTriggerOneRunPerMessageAckedAfterCommit(t *testing.T) {
	rb := rabbittest.Start(t)
	ch := amqpSetup(t, rb.URL, "orders")
	e, fs := queueEngine(t, "amqp", rb.URL, engine.Config{})
	deploy(t, e, `name: orders-q
trigger:
  amqp: {connection: q, queue: orders, max_in_flight: 8}
steps:
  - set: {id: =trigger.body.id}
`)
	for i := 1; i <= 20; i++ {
		id := ""
		if i%2 == 0 {
			id = fmt.Sprintf("m-%d", i) // half with a message-id, half without (a hash of the message)
		}
		amqpPublish(t, ch, "orders", id, fmt.Sprintf(`{"id": %d}`, i))
	}
	// The store is down: nothing can be committed, so nothing is
	// acknowledged; when the trigger stops, every message is still queued.
	fs.mode.Store("down")
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { e.RunTriggers(ctx, 50*time.Millisecond); close(stopped) }()
	deadline := time.Now().Add(15 * time.Second)
	for fs.creates.Load() < 10 {
		if time.Now().After(deadline) {
			t.Fatal("the trigger never tried to create a run")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-stopped
	deadline = time.Now().Add(10 * time.Second)
	for amqpReady(t, ch, "orders") != 20 {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages queued after the trigger stopped, want all 20 (one was acknowledged without a run)", amqpReady(t, ch, "orders"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(queueRuns(t, e.Store(), "orders-q")); n != 0 {
		t.Fatalf("%d runs while the store was down", n)
	}
	// Committed but the answer lost: redelivered, and no second run.
	fs.mode.Store("lost")
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 50*time.Millisecond)
	deadline = time.Now().Add(20 * time.Second)
	for len(queueRuns(t, e.Store(), "orders-q")) < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("%d runs, want 20", len(queueRuns(t, e.Store(), "orders-q")))
		}
		time.Sleep(50 * time.Millisecond)
	}
	fs.mode.Store("")
	deadline = time.Now().Add(20 * time.Second)
	for amqpReady(t, ch, "orders") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still queued", amqpReady(t, ch, "orders"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	runs := queueRuns(t, e.Store(), "orders-q")
	if len(runs) != 20 {
		t.Fatalf("%d runs for 20 messages", len(runs))
	}
	seen := map[float64]bool{}
	for _, r := range runs {
		id, _ := r.in["body"].(map[string]any)["id"].(float64)
		if seen[id] {
			t.Fatalf("message %v started two runs", id)
		}
		seen[id] = true
		if r.in["source"] != "orders" || r.in["subject"] != "orders" || r.in["kind"] != "amqp" {
			t.Fatalf("trigger fields %+v", r.in)
		}
		want := "amqp:sha256:"
		if int(id)%2 == 0 {
			want = fmt.Sprintf("amqp:id:m-%d", int(id))
		}
		if !strings.HasPrefix(r.key, want) {
			t.Fatalf("key %q, want %s...", r.key, want)
		}
	}
}

func TestAMQPTriggerBadMessageAndPublishConfirmed(t *testing.T) {
	rb := rabbittest.Start(t)
	ch := amqpSetup(t, rb.URL, "orders", "out")
	e, _ := queueEngine(t, "amqp", rb.URL, engine.Config{})
	deploy(t, e, `name: orders-q
trigger:
  amqp: {connection: q, queue: orders}
steps:
  - id: pub
    call: amqp.publish
    connection: q
    with: {routing_key: out, body: {seen: =trigger.body.id}}
`)
	amqpPublish(t, ch, "orders", "a", `{"id": 1}`)
	amqpPublish(t, ch, "orders", "b", `{"id": 2`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 50*time.Millisecond)
	runs := waitQueueRuns(t, e.Store(), "orders-q", 2, 20*time.Second)
	var dead *queueRun
	for i := range runs {
		if runs[i].status == store.RunDead {
			dead = &runs[i]
		}
	}
	if dead == nil || dead.code != "bad_message" || !strings.Contains(dead.msg, "not JSON") || dead.in["body"] != `{"id": 2` {
		t.Fatalf("dead run %+v", dead)
	}
	// The good one published to "out", with the step's idempotency key as
	// its message-id.
	deadline := time.Now().Add(20 * time.Second)
	var got amqp.Delivery
	for {
		d, ok, err := ch.Get("out", true)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			got = d
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing published: %+v", queueRuns(t, e.Store(), "orders-q"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if string(got.Body) != `{"seen":1}` || got.MessageId == "" || got.DeliveryMode != amqp.Persistent {
		t.Fatalf("published %q id %q mode %d", got.Body, got.MessageId, got.DeliveryMode)
	}
	// Unroutable (mandatory) and missing exchange: clear errors.
	pub := queueconn.AMQP(queueconn.Options{}).Operations[0]
	conn := &connectors.Connection{Name: "q", Connector: "amqp", Secrets: map[string]string{"url": rb.URL}}
	_, err := pub.Invoke(context.Background(), connectors.Call{Connection: conn, Input: map[string]any{"routing_key": "nobody", "body": "x"}})
	if err == nil || !strings.Contains(err.Error(), "no queue took the message") {
		t.Fatalf("unroutable: %v", err)
	}
	c2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	_, err = pub.Invoke(c2, connectors.Call{Connection: conn, Input: map[string]any{"exchange": "nope", "routing_key": "x", "body": "x"}})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("missing exchange: %v", err)
	}
	// A queue that does not exist: the trigger says so.
	f, err := flow.Parse("f.yaml", []byte("name: x\ntrigger:\n  amqp: {connection: q, queue: missing}\nsteps:\n  - set: {a: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = engine.QueueSource(e, "amqp").Pull(context.Background(), f, "", time.Now())
	if err == nil || !strings.Contains(err.Error(), `queue "missing" does not exist`) {
		t.Fatalf("err %v", err)
	}
}

// A trigger that cannot consume (no such stream) raises OnQueue after
// QueueAlertAfter, and resolves it once it consumes.
func TestNATSTriggerTroubleAlertRaisesAndResolves(t *testing.T) {
	srv := natstest.Start(t)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	var mu sync.Mutex
	var got []engine.QueueTrouble
	e, _ := queueEngine(t, "nats", srv.ClientURL(), engine.Config{QueueAlertAfter: 300 * time.Millisecond, OnQueue: func(_ context.Context, tr engine.QueueTrouble) {
		mu.Lock()
		got = append(got, tr)
		mu.Unlock()
	}})
	f, err := flow.Parse("f.yaml", []byte(natsFlow))
	if err != nil {
		t.Fatal(err)
	}
	src := engine.QueueSource(e, "nats")
	ctx := context.Background()
	now := time.Now()
	for i := 0; i < 3; i++ { // fails at 0s, waits, fails again at 6s: over QueueAlertAfter
		_, _, _ = src.Pull(ctx, f, "", now)
		now = now.Add(3 * time.Second)
	}
	mu.Lock()
	if len(got) != 1 || got[0].Resolved || got[0].Flow != "orders-q" || !strings.Contains(got[0].Message, `stream "ORDERS" does not exist`) {
		t.Fatalf("troubles %+v", got)
	}
	mu.Unlock()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		_, _, _ = src.Pull(ctx, f, "", now)
		now = now.Add(3 * time.Second)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || !got[1].Resolved {
		t.Fatalf("troubles %+v", got)
	}
}

// A message whose run keeps failing ends, after the flow's retry policy,
// as a dead run in the DLQ; the message itself was acknowledged when its
// run was created, so the queue does not deliver it again.
func TestNATSPoisonMessageToDLQAfterRetries(t *testing.T) {
	srv := natstest.Start(t)
	_, js := jsSetup(t, srv.ClientURL())
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	e, _ := queueEngine(t, "nats", srv.ClientURL(), engine.Config{})
	e.Catalog().Register(httpconn.New(httpconn.Options{}))
	if err := e.Catalog().AddConnection(&connectors.Connection{Name: "local", Connector: "http", AllowPrivate: true}); err != nil {
		t.Fatal(err)
	}
	deploy(t, e, `name: orders-q
trigger:
  nats: {connection: q, stream: ORDERS}
steps:
  - id: post
    call: http.request
    connection: local
    with: {method: POST, url: "`+down.URL+`", body: =trigger.body}
    retry: {max_attempts: 3, backoff: 10ms}
`)
	jsPublish(t, js, "orders.a", "poison-1", `{"id": 1}`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 50*time.Millisecond)
	deadline := time.Now().Add(20 * time.Second)
	for {
		runs := queueRuns(t, e.Store(), "orders-q")
		if len(runs) == 1 && runs[0].status == store.RunDead {
			if runs[0].code != "retries_exhausted" || runs[0].key != "nats:id:poison-1" {
				t.Fatalf("dead run %+v", runs[0])
			}
			break
		}
		if len(runs) > 1 || time.Now().After(deadline) {
			t.Fatalf("runs %+v", runs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	info := consumerState(t, js, "orders-q")
	if info.AckFloor.Stream != 1 || info.NumAckPending != 0 || info.NumRedelivered != 0 {
		t.Fatalf("consumer %+v", info)
	}
	dead, err := e.Store().ListRuns(context.Background(), store.RunFilter{Flow: "orders-q", Status: store.RunDead, Limit: 10})
	if err != nil || len(dead) != 1 {
		t.Fatalf("DLQ %v %v", dead, err)
	}
}

// The waiting count a consumer reports is what the broker holds for it,
// not yet delivered: with one message in flight, the rest.
func TestQueueConsumersCountWaiting(t *testing.T) {
	ctx := context.Background()
	wait := func(c queueconn.Consumer, want int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			n, err := c.Waiting(ctx)
			if err == nil && n == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting %d (%v), want %d", n, err, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Run("nats", func(t *testing.T) {
		srv := natstest.Start(t)
		_, js := jsSetup(t, srv.ClientURL())
		for i := 0; i < 10; i++ {
			jsPublish(t, js, "orders.new", fmt.Sprint(i), `{}`)
		}
		c, err := queueconn.OpenNATS(ctx, queueconn.NATSConfig{URL: srv.ClientURL(), Stream: "ORDERS", Subject: "orders.>", Durable: "w", MaxAckPending: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wait(c, 9)
		msgs, err := c.Fetch(ctx, 1, 5*time.Second)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("%d messages, %v", len(msgs), err)
		}
		if err := msgs[0].Ack(); err != nil {
			t.Fatal(err)
		}
		wait(c, 8)
	})
	t.Run("amqp", func(t *testing.T) {
		rb := rabbittest.Start(t)
		ch := amqpSetup(t, rb.URL, "orders")
		for i := 0; i < 10; i++ {
			amqpPublish(t, ch, "orders", fmt.Sprint(i), `{}`)
		}
		c, err := queueconn.OpenAMQP(ctx, queueconn.AMQPConfig{URL: rb.URL, Queue: "orders", Tag: "w", Prefetch: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wait(c, 9)
		msgs, err := c.Fetch(ctx, 1, 5*time.Second)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("%d messages, %v", len(msgs), err)
		}
		if err := msgs[0].Ack(); err != nil {
			t.Fatal(err)
		}
		wait(c, 8)
	})
}

// QueueStatuses (weft_queue_trigger_waiting_messages) shows a backlog
// while runs cannot be created, and its drain afterwards.
func TestQueueStatusesShowBacklogAndDrain(t *testing.T) {
	srv := natstest.Start(t)
	_, js := jsSetup(t, srv.ClientURL())
	e, fs := queueEngine(t, "nats", srv.ClientURL(), engine.Config{})
	fs.mode.Store("down")
	// A long ack wait: the messages the trigger nak'd while the store was
	// down come back at once, never by the ack wait (in one CI run only 6
	// of 30 runs arrived within 30 s: the NATS consumer had stopped asking
	// for messages; TestQueueNaksComeBackWhileTheStoreIsDown).
	deploy(t, e, `name: orders-q
trigger:
  nats: {connection: q, stream: ORDERS, subject: "orders.>", max_in_flight: 2, ack_wait: 10m}
steps:
  - set: {id: =trigger.body.id}
`)
	for i := 1; i <= 30; i++ {
		jsPublish(t, js, "orders.new", fmt.Sprint(i), fmt.Sprintf(`{"id": %d}`, i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.RunTriggers(ctx, 50*time.Millisecond)
	status := func() (engine.QueueStatus, bool) {
		for _, s := range e.QueueStatuses() {
			if s.Flow == "orders-q" {
				return s, true
			}
		}
		return engine.QueueStatus{}, false
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, ok := status()
		if ok && s.Kind == "nats" && s.Waiting >= 28 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %+v (listed %v), want a backlog of at least 28", s, ok)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fs.mode.Store("")
	waitQueueRuns(t, fs, "orders-q", 30, 30*time.Second)
	deadline = time.Now().Add(20 * time.Second)
	for {
		if s, _ := status(); s.Waiting == 0 && s.Error == "" {
			break
		}
		if time.Now().After(deadline) {
			s, _ := status()
			t.Fatalf("status %+v after the backlog drained", s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// While the store is down the trigger naks what it receives and the broker
// redelivers it at once: run attempts keep coming, with no pause, and when
// the store is back the backlog drains in seconds. The ack wait (NATS) is
// ten minutes, so a message held instead of nak'd would stall the test.
// (The NATS consumer used to stop asking for messages for 30 s at a time
// under such a stream of redeliveries: a pause of 3 s or more in 5 of 5
// runs of connectors/queue's TestNATSNakedMessagesComeBackAtOnce.)
func TestQueueNaksComeBackWhileTheStoreIsDown(t *testing.T) {
	for _, kind := range []string{"nats", "amqp"} {
		t.Run(kind, func(t *testing.T) {
			var e *engine.Engine
			var fs *flakyStore
			trigger := `nats: {connection: q, stream: ORDERS, subject: "orders.>", max_in_flight: 2, ack_wait: 10m}`
			if kind == "nats" {
				srv := natstest.Start(t)
				_, js := jsSetup(t, srv.ClientURL())
				e, fs = queueEngine(t, kind, srv.ClientURL(), engine.Config{})
				for i := 1; i <= 20; i++ {
					jsPublish(t, js, "orders.new", fmt.Sprint(i), fmt.Sprintf(`{"id": %d}`, i))
				}
			} else {
				rb := rabbittest.Start(t)
				ch := amqpSetup(t, rb.URL, "orders")
				e, fs = queueEngine(t, kind, rb.URL, engine.Config{})
				for i := 1; i <= 20; i++ {
					amqpPublish(t, ch, "orders", fmt.Sprint(i), fmt.Sprintf(`{"id": %d}`, i))
				}
				trigger = `amqp: {connection: q, queue: orders, max_in_flight: 2}`
			}
			fs.mode.Store("down")
			deploy(t, e, "name: orders-q\ntrigger:\n  "+trigger+"\nsteps:\n  - set: {id: =trigger.body.id}\n")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go e.RunTriggers(ctx, 50*time.Millisecond)
			// 8 s down: the attempts to create a run never pause for 3 s.
			start := time.Now()
			last, seen := time.Now(), fs.creates.Load()
			for time.Since(start) < 8*time.Second {
				if n := fs.creates.Load(); n != seen {
					last, seen = time.Now(), n
				} else if gap := time.Since(last); gap > 3*time.Second {
					t.Fatalf("no attempt to create a run for %v while the store was down (%d attempts in %v): the trigger holds messages",
						gap.Round(time.Millisecond), seen, time.Since(start).Round(time.Millisecond))
				}
				time.Sleep(20 * time.Millisecond)
			}
			if seen < 20 {
				t.Fatalf("%d attempts in 8 s while the store was down", seen)
			}
			fs.mode.Store("")
			waitQueueRuns(t, fs, "orders-q", 20, 10*time.Second)
		})
	}
}
