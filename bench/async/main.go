// Command async measures durable async throughput: it deploys a 3-step flow
// (set -> POST to a sink -> set), enqueues N runs over the webhook as fast as
// the enqueuers can, and reports how many runs per second finished, end to
// end, from the first enqueue to the last completion (BENCHMARKS.md).
//
//	go run ./bench/async -server http://127.0.0.1:8080 -n 20000 -sink http://127.0.0.1:9000/orders
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const flowTmpl = `name: %s
trigger:
  webhook: {mode: async}
capture: metadata
steps:
  - id: prepare
    set: {n: =trigger.body.n, doubled: =trigger.body.n * 2.0}
  - id: deliver
    call: http.request
    connection: sink
    with: {method: POST, url: "%s", body: =steps.prepare}
  - id: finish
    set: {ok: =steps.deliver.status == 200}
`

func main() {
	server := flag.String("server", "http://127.0.0.1:8080", "weft servers to enqueue through, comma-separated (round robin)")
	sink := flag.String("sink", "http://127.0.0.1:9000/orders", "downstream URL")
	n := flag.Int("n", 10000, "runs")
	conc := flag.Int("c", 16, "concurrent enqueuers")
	name := flag.String("flow", fmt.Sprintf("async3-%d", time.Now().Unix()), "flow name")
	latency := flag.Int("latency", 0, "instead: this many runs one at a time on an idle queue, each timed from its enqueue to its success (p50, p90, max)")
	flag.Parse()

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	servers := strings.Split(*server, ",")
	*server = servers[0]
	if err := post(client, *server+"/api/flows", []byte(fmt.Sprintf(flowTmpl, *name, *sink)), 201); err != nil {
		log.Fatal("deploy: ", err)
	}
	if *latency > 0 {
		if *latency > 10000 {
			log.Fatal("-latency: at most 10000 runs")
		}
		measureLatency(client, servers, *name, *latency)
		return
	}
	start := time.Now()
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(*n) {
					return
				}
				if err := post(client, servers[int(i)%len(servers)]+"/hooks/"+*name, []byte(fmt.Sprintf(`{"n": %d}`, i)), 202); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	enqueued := time.Since(start)
	if failed.Load() > 0 {
		log.Fatalf("%d enqueues failed", failed.Load())
	}
	for {
		counts, err := stats(client, *server, *name)
		if err != nil {
			log.Fatal(err)
		}
		if counts["succeeded"]+counts["dead"]+counts["failed"] >= int64(*n) {
			total := time.Since(start)
			fmt.Printf("runs=%d enqueue_s=%.2f enqueue_per_s=%.0f total_s=%.2f completed_per_s=%.0f succeeded=%d dead=%d\n",
				*n, enqueued.Seconds(), float64(*n)/enqueued.Seconds(), total.Seconds(), float64(*n)/total.Seconds(), counts["succeeded"], counts["dead"])
			if counts["succeeded"] != int64(*n) {
				os.Exit(1)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func post(c *http.Client, url string, body []byte, want int) error {
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, data)
	}
	return nil
}

func stats(c *http.Client, server, flow string) (map[string]int64, error) {
	resp, err := c.Get(server + "/api/stats/runs?flow=" + flow)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Counts map[string]int64 `json:"counts"`
	}
	return out.Counts, json.NewDecoder(resp.Body).Decode(&out)
}

// measureLatency enqueues n runs one after the other, each once the one
// before has succeeded, polling its status every millisecond.
func measureLatency(c *http.Client, servers []string, flow string, n int) {
	ds := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		server := servers[i%len(servers)]
		t0 := time.Now()
		resp, err := c.Post(server+"/hooks/"+flow, "application/json", strings.NewReader(fmt.Sprintf(`{"n": %d}`, i)))
		if err != nil {
			log.Fatal(err)
		}
		var acc struct {
			RunID string `json:"run_id"`
		}
		err = json.NewDecoder(resp.Body).Decode(&acc)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 202 || acc.RunID == "" {
			log.Fatalf("enqueue: %d %v", resp.StatusCode, err)
		}
		for {
			r, err := c.Get(server + "/api/runs/" + acc.RunID)
			if err != nil {
				log.Fatal(err)
			}
			var got struct {
				Run struct {
					Status string `json:"status"`
				} `json:"run"`
			}
			err = json.NewDecoder(r.Body).Decode(&got)
			run := got.Run
			r.Body.Close()
			if err != nil {
				log.Fatal(err)
			}
			if run.Status == "succeeded" {
				break
			}
			if run.Status == "dead" || run.Status == "failed" || run.Status == "canceled" || time.Since(t0) > 30*time.Second {
				log.Fatalf("run %s: %s after %s", acc.RunID, run.Status, time.Since(t0))
			}
			time.Sleep(time.Millisecond)
		}
		ds = append(ds, time.Since(t0))
		time.Sleep(50 * time.Millisecond) // let the queue go idle
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Printf("runs=%d latency_ms p50=%.1f p90=%.1f max=%.1f\n", n, ms(ds[n/2]), ms(ds[n*9/10]), ms(ds[n-1]))
}
