package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/internal/natstest"
	"github.com/weftio/weft/internal/rabbittest"
)

// BenchmarkQueueTriggers (issue 24, BENCHMARKS.md): one engine (SQLite
// store, 8 workers, triggers pulled every 500 ms as weft serve does) with a
// nats flow (JetStream started in the test), an amqp flow (RabbitMQ started
// by the test) and, as the baseline, an async webhook flow served by the
// gateway over loopback HTTP. Reported per trigger: paced latency from
// publish (or POST) to run created, 200 messages at 20/s, p50 and p99; and
// a burst of 5,000 messages published at once (webhook: 8 concurrent
// clients), from the first publish until every message has its run.
func BenchmarkQueueTriggers(b *testing.B) {
	const burst, paced = 5000, 200
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		res := queueTriggers(b, burst, paced)
		for _, k := range []string{"nats", "amqp", "webhook"} {
			r := res[k]
			b.ReportMetric(r.rate, k+"_msgs/s")
			b.ReportMetric(r.p50, k+"_p50_ms")
			b.ReportMetric(r.p99, k+"_p99_ms")
			fmt.Printf("%s: burst of %d into runs at %.0f/s; paced publish-to-run latency p50 %.1f ms, p99 %.1f ms\n", k, burst, r.rate, r.p50, r.p99)
		}
	}
}

func queueTriggers(b *testing.B, burst, paced int) map[string]benchResult {
	ctx := context.Background()
	ns := natstest.Start(b)
	rb := rabbittest.Start(b)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		b.Fatal(err)
	}
	ch := amqpSetup(b, rb.URL, "orders")
	if err := ch.Confirm(false); err != nil {
		b.Fatal(err)
	}
	e, _ := queueEngine(b, "nats", ns.ClientURL(), engine.Config{})
	if err := e.Catalog().AddConnection(&connectors.Connection{Name: "rq", Connector: "amqp", Secrets: map[string]string{"url": rb.URL}}); err != nil {
		b.Fatal(err)
	}
	for _, src := range []string{
		"name: b-nats\ntrigger:\n  nats: {connection: q, stream: ORDERS, max_in_flight: 1000}\nsteps:\n  - set: {at: =trigger.body.at}\n",
		"name: b-amqp\ntrigger:\n  amqp: {connection: rq, queue: orders, max_in_flight: 1000}\nsteps:\n  - set: {at: =trigger.body.at}\n",
		"name: b-hook\ntrigger:\n  webhook: {mode: async}\nsteps:\n  - set: {at: =trigger.body.at}\n",
	} {
		deploy(b, e, src)
	}
	srv := httptest.NewServer(gateway.New(e, slog.New(slog.DiscardHandler), gateway.Config{}))
	defer srv.Close()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go e.RunTriggers(rctx, 500*time.Millisecond)

	n := 0
	body := func() []byte {
		n++
		return []byte(fmt.Sprintf(`{"at": %d, "n": %d}`, time.Now().UnixMicro(), n))
	}
	pubNATS := func() {
		if _, err := js.PublishAsync("orders.new", body()); err != nil {
			b.Fatal(err)
		}
	}
	pubAMQP := func() {
		if err := ch.PublishWithContext(ctx, "", "orders", false, false, amqp.Publishing{MessageId: fmt.Sprint(n + 1), DeliveryMode: amqp.Persistent, Body: body()}); err != nil {
			b.Fatal(err)
		}
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	post := func(data []byte) {
		resp, err := hc.Post(srv.URL+"/hooks/b-hook", "application/json", bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 202 {
			b.Fatalf("webhook: %d", resp.StatusCode)
		}
	}
	// Let the consumers start (the first pull opens them).
	time.Sleep(2 * time.Second)

	// Paced: 20 a second on each.
	for i := 0; i < paced; i++ {
		pubNATS()
		pubAMQP()
		post(body())
		time.Sleep(50 * time.Millisecond)
	}
	lat := map[string][]float64{}
	flows := map[string]string{"nats": "b-nats", "amqp": "b-amqp", "webhook": "b-hook"}
	for k, name := range flows {
		for _, r := range waitRunsB(b, e.Store(), name, paced, time.Minute) {
			var in struct {
				Body struct {
					At float64 `json:"at"`
				} `json:"body"`
			}
			_ = json.Unmarshal(r.Input, &in)
			lat[k] = append(lat[k], float64(r.CreatedAt.UnixMicro()-int64(in.Body.At))/1000)
		}
	}
	// Bursts, one trigger after the other.
	out := map[string]benchResult{}
	for _, k := range []string{"nats", "amqp", "webhook"} {
		start := time.Now()
		switch k {
		case "nats":
			for i := 0; i < burst; i++ {
				pubNATS()
			}
		case "amqp":
			for i := 0; i < burst; i++ {
				pubAMQP()
			}
		case "webhook":
			var wg sync.WaitGroup
			next := make(chan []byte)
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for d := range next {
						post(d)
					}
				}()
			}
			for i := 0; i < burst; i++ {
				next <- body()
			}
			close(next)
			wg.Wait()
		}
		deadline := time.Now().Add(20 * time.Second)
		for countRuns(b, e.Store(), flows[k]) < burst+paced {
			if time.Now().After(deadline) {
				_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
				b.Fatalf("%s: burst not done: %d runs; amqp queue holds %d ready", k, countRuns(b, e.Store(), flows[k]), amqpReady(b, ch, "orders"))
			}
			time.Sleep(20 * time.Millisecond)
		}
		l := lat[k]
		sort.Float64s(l)
		out[k] = benchResult{rate: float64(burst) / time.Since(start).Seconds(), p50: l[len(l)/2], p99: l[len(l)*99/100]}
	}
	return out
}
