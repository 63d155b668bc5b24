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
	flag.Parse()

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	servers := strings.Split(*server, ",")
	*server = servers[0]
	if err := post(client, *server+"/api/flows", []byte(fmt.Sprintf(flowTmpl, *name, *sink)), 201); err != nil {
		log.Fatal("deploy: ", err)
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
