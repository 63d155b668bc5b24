package e2e

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The air-gapped proof (issue 18). The whole example install runs in a
// network namespace that has nothing but loopback, and the test asserts
// that nothing attempted a connection or a DNS lookup beyond it. It is
// watched at two levels:
//
//   - Weft's egress policy (allow: loopback only): every dial Weft makes
//     through it (connectors, AI backends, traces, key sets) that is not to
//     loopback is refused, counted in weft_egress_refused_total and logged.
//   - The kernel, for anything that bypasses the policy (code that dials
//     without it, cgo, a child process): in a namespace whose only
//     interface is lo there is no route beyond loopback, so every TCP
//     connect and every UDP connect or send to another address fails its
//     route lookup, which the kernel counts per namespace (Ip OutNoRoutes
//     in /proc/net/snmp, Ip6OutNoRoutes in /proc/net/snmp6). DNS goes to
//     the resolver /etc/resolv.conf names; in the test's mount namespace
//     that file names a sink on 127.0.0.1:53 (and Go's default, [::1]:53,
//     is a sink too) that counts every query and answers REFUSED, so a
//     lookup of any name not in /etc/hosts is counted even though it
//     travels over loopback.
//
// Negative controls (sub-tests that expect the detection) prove each level
// trips: a flow calling a TEST-NET address and one calling a host name,
// under the policy and without it (make run's config as it is).
//
// The namespaces need root: the test re-executes its own binary with
// CLONE_NEWNET|CLONE_NEWNS (what `unshare -n -m` does). Not root: it fails
// with the command to run; it is never skipped.

const airgapInner = "WEFT_AIRGAP_INNER"

const airgapHowTo = "sudo env \"PATH=$PATH\" go test -count=1 -run '^TestAirGapped$' -v ./e2e/"

func TestAirGapped(t *testing.T) {
	if os.Getenv(airgapInner) == "1" {
		airgapped(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Fatalf("the air-gapped test creates a network namespace and needs root (CI runs as root); run:\n  %s", airgapHowTo)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run", "^TestAirGapped$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), airgapInner+"=1", "WEFT_E2E_BIN="+weftBin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	t.Logf("inside the namespace:\n%s", out)
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("could not start the test in a new network namespace (%v); it needs root with CAP_SYS_ADMIN; run:\n  %s", err, airgapHowTo)
		}
		t.Fatalf("the air-gapped run failed: %v (output above)", err)
	}
	for _, want := range []string{"--- PASS: TestAirGapped ", "--- PASS: TestAirGapped/policy/refuses_an_address", "--- PASS: TestAirGapped/no_policy/kernel_counts_an_address",
		"--- PASS: TestAirGapped/no_policy/dns_sink_counts_a_name", "airgap: only lo in this namespace"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("the run in the namespace did not report %q (output above)", want)
		}
	}
}

// airgapped runs inside the namespaces.
func airgapped(t *testing.T) {
	dns := enterAirGap(t)
	root, _ := filepath.Abs("..")
	base, err := os.ReadFile(filepath.Join(root, "examples/weft.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	leaks := writeLeakFlows(t, dir)
	start := func(name, config string) *server {
		cfg := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		return startServerIn(t, root, addr, nil, "--config", cfg, "--data-dir", filepath.Join(dir, name+"-data"))
	}

	// 1. make run's config with an egress policy allowing loopback only.
	srv := start("policy", string(base)+"\negress:\n  allow: [\"127.0.0.1\", \"::1\", \"localhost\"]\n")
	if !strings.Contains(srv.logs(), "egress policy enforced") {
		t.Fatalf("the policy is not on:\n%s", srv.logs())
	}
	before := snapshot(t, nil, dns)
	exampleInstall(t, srv, dir)
	time.Sleep(3 * time.Second) // pollers, the alerter and retention get their turn
	if a := snapshot(t, srv, dns).since(before).attempts(); len(a) > 0 {
		t.Fatalf("the example install attempted to leave loopback: %s\nDNS names asked: %v\n%s", strings.Join(a, "; "), dns.names(), srv.logs())
	}
	t.Run("policy", func(t *testing.T) {
		t.Run("refuses an address", func(t *testing.T) {
			d := leak(t, srv, dns, leaks[0])
			if d.PolicyRefused < 1 || d.PolicyLogLines < 1 || d.NoRoutes4 != 0 {
				t.Fatalf("want a refusal by the policy, counted and logged, and nothing reaching the kernel: %+v", d)
			}
		})
		t.Run("refuses a name", func(t *testing.T) {
			// With IP entries in the allow list the policy resolves an
			// unlisted name to judge its addresses: the lookup is an
			// attempt, and the DNS sink sees it.
			d := leak(t, srv, dns, leaks[1])
			if d.PolicyRefused < 1 || d.DNS < 1 {
				t.Fatalf("want a refusal and a DNS query: %+v", d)
			}
		})
	})
	pre := snapshot(t, nil, dns)
	srv.stop(syscall.SIGTERM)
	if a := snapshot(t, nil, dns).since(pre).attempts(); len(a) > 0 {
		t.Fatalf("shutting down attempted to leave loopback: %s\n%s", strings.Join(a, "; "), srv.logs())
	}

	// 2. make run's config exactly as it is (no egress section): nothing
	// dials out either, and only the kernel and the DNS sink can tell.
	plain := start("plain", string(base))
	before = snapshot(t, nil, dns)
	var resp map[string]any
	if code := plain.do("POST", "/hooks/order-flow", orderJSON, &resp); code != 200 {
		t.Fatalf("order flow: %d %v\n%s", code, resp, plain.logs())
	}
	time.Sleep(2500 * time.Millisecond)
	if a := snapshot(t, plain, dns).since(before).attempts(); len(a) > 0 {
		t.Fatalf("make run's config attempted to leave loopback: %s\n%s", strings.Join(a, "; "), plain.logs())
	}
	t.Run("no policy", func(t *testing.T) {
		t.Run("kernel counts an address", func(t *testing.T) {
			if d := leak(t, plain, dns, leaks[0]); d.NoRoutes4 < 1 || d.PolicyRefused != 0 {
				t.Fatalf("want an IPv4 dial without a route, seen by the kernel only: %+v", d)
			}
		})
		if dns.ipv6 {
			t.Run("kernel counts an IPv6 address", func(t *testing.T) {
				if d := leak(t, plain, dns, leaks[2]); d.NoRoutes6 < 1 {
					t.Fatalf("want an IPv6 dial without a route: %+v", d)
				}
			})
		} else {
			t.Log("IPv6 is off on this host: there is no IPv6 route to leave by, and no IPv6 control to run")
		}
		t.Run("dns sink counts a name", func(t *testing.T) {
			if d := leak(t, plain, dns, leaks[1]); d.DNS < 1 {
				t.Fatalf("want a DNS query at the sink: %+v (names %v)", d, dns.names())
			}
		})
	})
}

// exampleInstall does what the README's quickstart does, then an nl2flow
// request, a mapping and MCP calls with a key.
func exampleInstall(t *testing.T, srv *server, dir string) {
	t.Helper()
	cli := func(args ...string) string {
		t.Helper()
		out, err := srv.cli(args...)
		if err != nil {
			t.Fatalf("weft %s: %v\n%s\n%s", strings.Join(args, " "), err, out, srv.logs())
		}
		return out
	}
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// The order flow: webhook, transform, POST to the orders API flow, respond.
	var resp map[string]any
	if code := srv.do("POST", "/hooks/order-flow", orderJSON, &resp); code != 200 {
		t.Fatalf("order flow: %d %v\n%s", code, resp, srv.logs())
	}
	if d, _ := resp["downstream"].(map[string]any); d["ok"] != true || d["total"] != 48.23 {
		t.Fatalf("order flow answer: %v", resp)
	}
	if out := cli("runs", "list", "--flow", "order-flow"); !strings.Contains(out, "succeeded") {
		t.Fatalf("runs list: %s", out)
	}

	// A flow of one's own: validate, deploy, run, a mistake, a new version, rollback.
	hello := "name: hello\ntrigger:\n  webhook: {mode: sync}\nsteps:\n  - id: greet\n    set:\n      message: ='Hello, ' + trigger.body.name.upperAscii() + '!'\n  - id: reply\n    respond:\n      body: {message: =steps.greet.message}\n"
	h := file("hello.yaml", hello)
	cli("flow", "validate", h)
	cli("flow", "deploy", h)
	if srv.do("POST", "/hooks/hello", `{"name":"ada"}`, &resp); resp["message"] != "Hello, ADA!" {
		t.Fatalf("hello: %v", resp)
	}
	bad := file("hello-bad.yaml", strings.Replace(hello, "steps.greet.message", "steps.gret.message", 1))
	if out, err := srv.cli("flow", "validate", bad); err == nil || !strings.Contains(out, `unknown step "gret"`) {
		t.Fatalf("validate a mistake: %v %s", err, out)
	}
	cli("flow", "deploy", file("hello.yaml", strings.Replace(hello, "Hello, ", "Hi, ", 1)))
	cli("flow", "list")
	cli("flow", "rollback", "hello", "1")
	if srv.do("POST", "/hooks/hello", `{"name":"ada"}`, &resp); resp["message"] != "Hello, ADA!" {
		t.Fatalf("hello after rollback: %v", resp)
	}

	// The sandboxed CRM, tracker and chat: a won deal becomes a project and a message.
	if out := cli("connector", "list"); !strings.Contains(out, "tracker") {
		t.Fatalf("connector list: %s", out)
	}
	api := sandboxAPI(t, srv.URL+"/sandbox/")
	api("PATCH", "crm/opportunities/opp_1", `{"stage":"closed_won"}`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		projects := api("GET", "tracker/projects", "")["items"].([]any)
		messages := api("GET", "chat/channels/cha_1/messages", "")["messages"].([]any)
		if len(projects) == 1 && len(messages) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no project and message\n%s\n%s", cli("runs", "list"), srv.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// nl2flow: the builtin compiler, from the CLI (printed, then one deployed) and the API.
	if out := cli("nl2flow", "When an invoice is paid in the ERP, post in #general and email the customer"); !strings.Contains(out, "valid)") {
		t.Fatalf("nl2flow: %s", out)
	}
	if out := cli("nl2flow", "When a deal is won in the CRM, create a project in the tracker", "--deploy"); !strings.Contains(out, "valid)") {
		t.Fatalf("nl2flow --deploy: %s", out)
	}
	var draft map[string]any
	if code := srv.do("POST", "/api/nl2flow", map[string]any{"text": missionRequest}, &draft); code != 200 || draft["valid"] != true {
		t.Fatalf("POST /api/nl2flow: %d %v", code, draft)
	}

	// A stored credential, sealed, and the master key rotated.
	cli("connection", "set", "crm2", "--file", file("crm2.yaml", "connector: crm\nbase_url: "+srv.URL+"/sandbox/crm\nallow_private: true\nauth: {type: bearer, token: s3cret}\n"))
	cli("connection", "list")
	cli("secrets", "rotate")

	// Failures: retried, dead-lettered, replayed with a new input.
	cli("flow", "deploy", file("flaky.yaml", "name: flaky\ntrigger:\n  webhook: {mode: async}\nsteps:\n  - id: post\n    call: http.request\n    connection: local\n    with: {method: POST, url: http://127.0.0.1:9/orders, body: =trigger.body}\n    retry: {max_attempts: 3, backoff: 100ms}\n"))
	if code := srv.do("POST", "/hooks/flaky", `{"n":1}`, &resp); code != 202 {
		t.Fatalf("flaky: %d %v", code, resp)
	}
	var dead struct {
		Runs []struct{ ID, Status string } `json:"runs"`
	}
	for deadline := time.Now().Add(20 * time.Second); len(dead.Runs) == 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("flaky never reached the DLQ\n%s", srv.logs())
		}
		srv.do("GET", "/api/dlq?flow=flaky", nil, &dead)
	}
	cli("dlq", "replay", dead.Runs[0].ID, "--input", `{"method":"POST","url":"`+srv.URL+`/hooks/orders-api","body":{"id":"X","total":1.5}}`)
	var run struct{ Run struct{ Status string } }
	for deadline := time.Now().Add(20 * time.Second); run.Run.Status != "succeeded"; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the replay did not succeed: %+v\n%s", run, srv.logs())
		}
		srv.do("GET", "/api/runs/"+dead.Runs[0].ID, nil, &run)
	}

	// A mapping: suggested from two sample payloads, reviewed.
	src := file("lead.json", `{"First Name":"Grace","Last Name":"Hopper","E-mail":"grace@example.com","Organisation":"Navy"}`)
	dst := file("contact.json", `{"full_name":"Ada Lovelace","email_address":"ada@example.com","company":"Analytical Ltd"}`)
	out := cli("map", "suggest", "--source", src, "--target", dst, "--json", "--save")
	id := jsonField(t, out, "id")
	cli("map", "accept", id, "--all", "--reviewer", "airgap")
	if step := cli("map", "export", id); !strings.Contains(step, "email_address") {
		t.Fatalf("map export: %s", step)
	}

	// MCP with a key: initialize, tools/list, tools/call (a connector tool and compose_flow).
	keyOut := cli("mcp", "keys", "create", "airgap-agent", "--scopes", "all,discovery")
	secret := strings.TrimSpace(keyOut[strings.LastIndex(strings.TrimSpace(keyOut), "\n")+1:])
	if !strings.HasPrefix(secret, "weft_") {
		t.Fatalf("no key in %q", keyOut)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := connect(t, ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{secret}}}, nil)
	if tools := toolNames(t, ctx, s); tools["crm__listOpportunities"] == nil || tools["flow__order-flow"] == nil {
		t.Fatalf("tools/list: %d tools, lacks crm__listOpportunities or flow__order-flow", len(tools))
	}
	res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "crm__listOpportunities", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("tools/call crm__listOpportunities: %v %s", err, textOf(res))
	}
	res, err = s.CallTool(ctx, &sdk.CallToolParams{Name: "compose_flow", Arguments: map[string]any{"text": missionRequest}})
	if err != nil || res.IsError {
		t.Fatalf("tools/call compose_flow: %v %s", err, textOf(res))
	}
	s.Close()

	// The console and the metrics.
	for _, p := range []string{"/", "/metrics", "/api/audit"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, err, resp)
		}
		resp.Body.Close()
	}
}

func jsonField(t *testing.T, doc, key string) string {
	t.Helper()
	i := strings.Index(doc, `"`+key+`":`)
	if i < 0 {
		t.Fatalf("no %q in %s", key, doc)
	}
	rest := strings.TrimSpace(doc[i+len(key)+3:])
	v, err := strconv.QuotedPrefix(rest)
	if err != nil {
		t.Fatalf("%q in %s: %v", key, doc, err)
	}
	s, _ := strconv.Unquote(v)
	return s
}

// writeLeakFlows writes the negative controls' flows: each calls
// somewhere beyond loopback once (no retries) and answers anyway.
func writeLeakFlows(t *testing.T, dir string) []string {
	var files []string
	for name, url := range map[string]string{"leak-ip": "http://192.0.2.10:8443/leak", "leak-name": "http://airgap-probe.example.com/leak", "leak-ip6": "http://[2001:db8::10]:8443/leak"} {
		p := filepath.Join(dir, name+".yaml")
		src := fmt.Sprintf("name: %s\ntrigger:\n  webhook: {mode: sync}\nsteps:\n  - id: call\n    call: http.request\n    connection: local\n    with: {method: GET, url: %q}\n    timeout: 3s\n    retry: {max_attempts: 1}\n  - respond: {body: {done: true}}\n", name, url)
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	// Fixed order: address, name, IPv6 address.
	order := map[string]int{"leak-ip.yaml": 0, "leak-name.yaml": 1, "leak-ip6.yaml": 2}
	out := make([]string, 3)
	for _, f := range files {
		out[order[filepath.Base(f)]] = f
	}
	return out
}

// leak deploys flow on srv, calls it, and returns what the watchers saw.
func leak(t *testing.T, srv *server, dns *dnsSink, flow string) egressCounts {
	t.Helper()
	if out, err := srv.cli("flow", "deploy", flow); err != nil {
		t.Fatalf("deploy %s: %v %s", flow, err, out)
	}
	before := snapshot(t, srv, dns)
	name := strings.TrimSuffix(filepath.Base(flow), ".yaml")
	req, _ := http.NewRequest("POST", srv.URL+"/hooks/"+name, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	d := snapshot(t, srv, dns).since(before)
	if len(d.attempts()) == 0 {
		t.Fatalf("%s dialled beyond loopback and the air-gap assertion did not trip: %+v\n%s", name, d, srv.logs())
	}
	t.Logf("%s detected: %s", name, strings.Join(d.attempts(), "; "))
	return d
}

// egressCounts is what the watchers have counted.
type egressCounts struct {
	NoRoutes4, NoRoutes6 int64 // the kernel: connects and sends with no route (beyond loopback)
	DNS                  int64 // queries at the DNS sink
	PolicyRefused        int64 // weft_egress_refused_total, all targets
	PolicyLogLines       int64 // "egress: dial refused" log lines
}

func (c egressCounts) since(b egressCounts) egressCounts {
	return egressCounts{c.NoRoutes4 - b.NoRoutes4, c.NoRoutes6 - b.NoRoutes6, c.DNS - b.DNS, c.PolicyRefused - b.PolicyRefused, c.PolicyLogLines - b.PolicyLogLines}
}

// attempts describes every non-zero count: the assertion is that there are none.
func (c egressCounts) attempts() []string {
	var out []string
	add := func(n int64, what string) {
		if n != 0 {
			out = append(out, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(c.PolicyRefused, "dials refused by the egress policy (weft_egress_refused_total)")
	add(c.PolicyLogLines, "refusals logged by the egress policy")
	add(c.NoRoutes4, "IPv4 connects or sends beyond loopback (kernel Ip OutNoRoutes)")
	add(c.NoRoutes6, "IPv6 connects or sends beyond loopback (kernel Ip6OutNoRoutes)")
	add(c.DNS, "DNS queries")
	return out
}

// snapshot reads the counters now; srv nil: the kernel's and the sink's only.
func snapshot(t *testing.T, srv *server, dns *dnsSink) egressCounts {
	t.Helper()
	var c egressCounts
	c.NoRoutes4 = snmpCounter(t, "/proc/net/snmp", "Ip:", "OutNoRoutes")
	c.NoRoutes6 = snmpCounter(t, "/proc/net/snmp6", "", "Ip6OutNoRoutes")
	c.DNS = dns.count.Load()
	if srv != nil {
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "weft_egress_refused_total{") {
				n, _ := strconv.ParseFloat(l[strings.LastIndex(l, " ")+1:], 64)
				c.PolicyRefused += int64(n)
			}
		}
		resp.Body.Close()
		c.PolicyLogLines = int64(strings.Count(srv.logs(), "egress: dial refused by the egress policy"))
	}
	return c
}

// snmpCounter reads one counter of the current network namespace: in
// /proc/net/snmp a header line and a value line share a prefix ("Ip:"); in
// /proc/net/snmp6 each line is "name value" (prefix "").
func snmpCounter(t *testing.T, path, prefix, name string) int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) && prefix == "" {
		return 0 // IPv6 is off: nothing can be sent over it
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		if prefix == "" && len(f) == 2 && f[0] == name {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
		if prefix != "" && len(f) > 0 && f[0] == prefix && i+1 < len(lines) {
			vals := strings.Fields(lines[i+1])
			for j, h := range f {
				if h == name && j < len(vals) {
					n, _ := strconv.ParseInt(vals[j], 10, 64)
					return n
				}
			}
		}
	}
	t.Fatalf("no %s in %s", name, path)
	return 0
}

// enterAirGap checks that this process is in a namespace with only lo,
// brings lo up, and points DNS at a counting sink.
func enterAirGap(t *testing.T) *dnsSink {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(ifs) != 1 || ifs[0].Name != "lo" {
		t.Fatalf("not in a network namespace with only lo: %v", ifs)
	}
	if err := linkUp("lo"); err != nil {
		t.Fatalf("bringing lo up: %v", err)
	}
	if n := snmpCounter(t, "/proc/net/snmp", "Ip:", "OutNoRoutes"); n != 0 {
		t.Fatalf("a fresh namespace with OutNoRoutes %d", n)
	}
	t.Log("airgap: only lo in this namespace, lo up")
	// resolv.conf for this mount namespace only: the sink on loopback.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		t.Fatalf("making mounts private: %v", err)
	}
	rc := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(rc, []byte("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"), 0o644)
	if _, err := os.Stat("/etc/resolv.conf"); err == nil {
		if err := syscall.Mount(rc, "/etc/resolv.conf", "", syscall.MS_BIND, ""); err != nil {
			t.Fatalf("bind-mounting resolv.conf: %v", err)
		}
		t.Cleanup(func() { _ = syscall.Unmount("/etc/resolv.conf", syscall.MNT_DETACH) })
	} // else resolvers default to localhost:53, where the sink listens too
	d := &dnsSink{}
	d.listen(t, "127.0.0.1:53")
	d.listen(t, "[::1]:53")
	return d
}

// linkUp sets IFF_UP on an interface (what `ip link set lo up` does),
// without needing the ip command.
func linkUp(name string) error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr [40]byte // struct ifreq: name[16], then a union (flags: short)
	copy(ifr[:15], name)
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	flags := binary.NativeEndian.Uint16(ifr[16:18]) | syscall.IFF_UP | syscall.IFF_RUNNING
	binary.NativeEndian.PutUint16(ifr[16:18], flags)
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	return nil
}

// dnsSink counts DNS queries (UDP and TCP) and answers each REFUSED.
type dnsSink struct {
	ipv6  bool // [::1] is up: IPv6 is on in this namespace
	count atomic.Int64
	mu    sync.Mutex
	asked []string
}

func (d *dnsSink) names() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.asked...)
}

func (d *dnsSink) listen(t *testing.T, addr string) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		if strings.HasPrefix(addr, "[::1]") {
			t.Logf("no IPv6 loopback (%v): the IPv4 sink only", err)
			return
		}
		t.Fatalf("DNS sink on %s: %v", addr, err)
	}
	if strings.HasPrefix(addr, "[::1]") {
		d.ipv6 = true
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("DNS sink on %s: %v", addr, err)
	}
	t.Cleanup(func() { pc.Close(); ln.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if r := d.answer(buf[:n]); r != nil {
				pc.WriteTo(r, from)
			}
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var l [2]byte
				for {
					c.SetDeadline(time.Now().Add(5 * time.Second))
					if _, err := io.ReadFull(c, l[:]); err != nil {
						return
					}
					q := make([]byte, binary.BigEndian.Uint16(l[:]))
					if _, err := io.ReadFull(c, q); err != nil {
						return
					}
					if r := d.answer(q); r != nil {
						c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(r))), r...))
					}
				}
			}()
		}
	}()
}

// answer counts query q and returns a REFUSED reply with its question.
func (d *dnsSink) answer(q []byte) []byte {
	d.count.Add(1)
	if len(q) < 12 {
		return nil
	}
	// The question: QNAME labels, then QTYPE and QCLASS.
	i, name := 12, []string{}
	for i < len(q) && q[i] != 0 && q[i] < 64 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		name = append(name, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	end := i + 5
	if end > len(q) {
		return nil
	}
	d.mu.Lock()
	if len(d.asked) < 50 {
		d.asked = append(d.asked, strings.Join(name, "."))
	}
	d.mu.Unlock()
	r := append([]byte(nil), q[:end]...)
	r[2] = 0x80 | (q[2] & 0x79)          // QR, the query's opcode and RD
	r[3] = 5                             // REFUSED
	binary.BigEndian.PutUint16(r[4:], 1) // QDCOUNT
	clear(r[6:12])                       // no answers, authorities, additionals
	return r
}
