// Command mcpcall measures the MCP gateway's tool-call overhead: the same
// HTTP operation against a local sink, called (a) directly with net/http and
// (b) as an MCP tools/call through weft's gateway (Streamable HTTP, the
// official Go SDK as client, the call written to the transaction log), each
// at the same concurrency for the same time, in one run.
//
//	go run ./bench/mcpcall [-c 16] [-d 10s] [-sink-latency 0]
//
// A bare forwarder (one more HTTP hop, nothing else) is measured in the same
// run: the floor any gateway adds on this machine.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/mcp"
	"github.com/weftio/weft/store/sqlite"
)

func main() {
	conc := flag.Int("c", 16, "concurrent callers")
	dur := flag.Duration("d", 10*time.Second, "duration of each measurement")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the MCP measurement")
	linger := flag.Duration("linger", 0, "the store's group-commit linger (write_linger)")
	work := flag.Duration("sink-latency", 0, "the sink's own service time per request (0: answers at once)")
	flag.Parse()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if *work > 0 {
			time.Sleep(*work) // an upstream that takes its time (a database, a SaaS API)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"id":42}`)
	}))
	defer sink.Close()
	dir, _ := os.MkdirTemp("", "mcpcall-")
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(context.Background(), dir, quiet, *linger)
	if err != nil {
		panic(err)
	}
	defer st.Close()
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	if err := cat.AddConnection(&connectors.Connection{Name: "sink", Connector: "http", BaseURL: sink.URL, AllowPrivate: true}); err != nil {
		panic(err)
	}
	eng := engine.New(st, cat, quiet, engine.Config{})
	gw := mcp.New(eng, quiet, mcp.Config{})
	mcpSrv := httptest.NewServer(gw)
	defer mcpSrv.Close()

	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	direct := func(ctx context.Context) (func() error, func()) {
		cl := &http.Client{Transport: tr}
		return func() error { return drain(cl.Get(sink.URL + "/orders")) }, func() {}
	}
	viaMCP := func(ctx context.Context) (func() error, func()) {
		c := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil)
		s, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: mcpSrv.URL + "/mcp", HTTPClient: &http.Client{Transport: tr}, DisableStandaloneSSE: true}, nil)
		if err != nil {
			panic(err)
		}
		return func() error {
			res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "sink__request", Arguments: map[string]any{"url": "/orders"}})
			if err != nil {
				return err
			}
			if res.IsError {
				return fmt.Errorf("tool error")
			}
			return nil
		}, func() { s.Close() }
	}
	fmt.Printf("# mcpcall: concurrency %d, %s per measurement, sink latency %s, GOMAXPROCS=%d\n", *conc, *dur, *work, runtimeProcs())
	d := measure("direct HTTP", *conc, *dur, direct)
	// The floor for any gateway on this machine: a bare forwarder that reads
	// the request, makes the same GET to the sink and copies the answer back,
	// with no protocol, auth, validation or logging. It shows what the second
	// HTTP exchange alone costs when client, gateway and sink share the cores.
	fwdClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	fwd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		resp, err := fwdClient.Get(sink.URL + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		io.Copy(w, resp.Body)
	}))
	defer fwd.Close()
	proxied := func(ctx context.Context) (func() error, func()) {
		cl := &http.Client{Transport: tr}
		return func() error {
			return drain(cl.Post(fwd.URL+"/orders", "application/json", bytes.NewReader([]byte(`{"url":"/orders"}`))))
		}, func() {}
	}
	f := measure("bare forwarder", *conc, *dur, proxied)
	// A minimal client: one stateless 2026-07-28 tools/call per HTTP POST,
	// as a load generator would send it (no SDK on the client side).
	raw := func(ctx context.Context) (func() error, func()) {
		cl := &http.Client{Transport: tr}
		body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sink__request","arguments":{"url":"/orders"},` +
			`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"}}}}`)
		return func() error {
			req, _ := http.NewRequest("POST", mcpSrv.URL+"/mcp", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
			req.Header.Set("Mcp-Method", "tools/call")
			req.Header.Set("Mcp-Name", "sink__request")
			resp, err := cl.Do(req)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`ok`)) || bytes.Contains(b, []byte(`"isError":true`)) {
				return fmt.Errorf("status %d: %s", resp.StatusCode, b)
			}
			return nil
		}, func() {}
	}
	if *prof != "" {
		f, _ := os.Create(*prof)
		pprof.StartCPUProfile(f)
	}
	r := measure("MCP, raw client", *conc, *dur, raw)
	if *prof != "" {
		pprof.StopCPUProfile()
	}
	m := measure("MCP, Go SDK", *conc, *dur, viaMCP)
	fmt.Printf("MCP/direct throughput: raw client %.2f, Go SDK client %.2f; p50 added latency: raw %s, SDK %s\n",
		r.rate/d.rate, m.rate/d.rate, (r.p50 - d.p50).Round(time.Microsecond), (m.p50 - d.p50).Round(time.Microsecond))
	fmt.Printf("bare forwarder/direct throughput %.2f, p50 added %s; MCP (raw client)/bare forwarder throughput %.2f\n",
		f.rate/d.rate, (f.p50 - d.p50).Round(time.Microsecond), r.rate/f.rate)
}

// drain reads and closes a response, failing on a status other than 200.
func drain(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

type result struct {
	rate          float64
	p50, p90, p99 time.Duration
}

func measure(name string, conc int, dur time.Duration, mk func(context.Context) (func() error, func())) result {
	ctx := context.Background()
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	// Warm up, then measure.
	calls := make([]func() error, conc)
	closers := make([]func(), conc)
	for i := range calls {
		calls[i], closers[i] = mk(ctx)
		for j := 0; j < 20; j++ {
			_ = calls[i]()
		}
	}
	deadline := time.Now().Add(dur)
	start := time.Now()
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func(call func() error) {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				t := time.Now()
				if err := call(); err != nil {
					bad++
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}(calls[i])
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, c := range closers {
		c()
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1))]
	}
	r := result{rate: float64(len(lat)) / elapsed.Seconds(), p50: pct(0.5), p90: pct(0.9), p99: pct(0.99)}
	fmt.Printf("%-15s %9.0f calls/s  p50 %8s  p90 %8s  p99 %8s  errors %d\n", name, r.rate, r.p50.Round(time.Microsecond), r.p90.Round(time.Microsecond), r.p99.Round(time.Microsecond), errs)
	return r
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
