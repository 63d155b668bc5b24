package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weftio/weft/internal/pgtest"
)

// startAgent starts weft agent for site with its own data dir and
// listener, linked to the control plane cp with token.
func startAgent(t *testing.T, cp *server, site, token string, args ...string) *server {
	t.Helper()
	return startAgentAt(t, cp.URL, fmt.Sprintf("127.0.0.1:%d", freePort(t)), t.TempDir(), site, token, args...)
}

// startAgentAt starts weft agent listening on addr with data dir dir,
// linked to the control plane at cpURL.
func startAgentAt(t *testing.T, cpURL, addr, dir, site, token string, args ...string) *server {
	t.Helper()
	s := &server{t: t, URL: "http://" + addr, addr: addr, log: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	base := []string{"agent", "--addr", addr, "--data-dir", dir}
	if cpURL != "" {
		base = append(base, "--control-plane", cpURL)
	}
	if site != "" {
		base = append(base, "--site", site)
	}
	s.cmd = exec.Command(weftBin, append(base, args...)...)
	s.cmd.Env = os.Environ()
	if token != "" {
		s.cmd.Env = append(s.cmd.Env, "WEFT_AGENT_TOKEN="+token)
	}
	s.cmd.Stdout = lockedBuf{s.mu, s.log}
	s.cmd.Stderr = lockedBuf{s.mu, s.log}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.stop(syscall.SIGTERM) })
	s.waitHealthy(http.DefaultClient)
	return s
}

// hybridAgent is an agent as GET /api/agents shows it.
type hybridAgent struct {
	Site      string            `json:"site"`
	Labels    map[string]string `json:"labels"`
	Connected bool              `json:"connected"`
	InSync    bool              `json:"in_sync"`
	Version   string            `json:"version"`
	RevokedAt *time.Time        `json:"revoked_at"`
	LastSeen  *time.Time        `json:"last_seen"`
	Running   []struct {
		Flow         string `json:"flow"`
		Version      int    `json:"version"`
		LocalVersion int    `json:"local_version"`
	} `json:"running"`
}

// LastSeenSet reports whether the agent ever polled.
func (a hybridAgent) LastSeenSet() bool { return a.LastSeen != nil }

func (a hybridAgent) runs(flow string, version int) bool {
	for _, r := range a.Running {
		if r.Flow == flow && r.Version == version {
			return true
		}
	}
	return false
}

// A control plane and two agents on loopback, each with its own data dir:
// agents are created with credentials, dial out, receive the flows placed
// on their sites (and only those), acknowledge them, and run them on their
// own listeners; a new version rolls out; the control plane runs no placed
// flow itself; wrong, another site's and revoked credentials are refused.
func TestHybridAgentsRunPlacedFlows(t *testing.T) {
	cp := startServer(t, "", nil, "--data-dir", t.TempDir())
	dir := t.TempDir()
	cli := func(args ...string) string {
		t.Helper()
		out, err := cp.cli(args...)
		if err != nil {
			t.Fatalf("weft %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	create := func(site string, labels ...string) string {
		args := []string{"agents", "create", site, "--json"}
		for _, l := range labels {
			args = append(args, "--label", l)
		}
		var res struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal([]byte(cli(args...)), &res); err != nil || !strings.HasPrefix(res.Token, "weft_agent_") {
			t.Fatalf("agents create %s: %v %+v", site, err, res)
		}
		return res.Token
	}
	tok3 := create("plant-3", "region=eu")
	tok4 := create("plant-4", "region=us")
	if out, err := cp.cli("agents", "create", "plant-3"); err == nil || !strings.Contains(out, "has an agent already") {
		t.Fatalf("second agent for a site: %v %s", err, out)
	}

	deploy := func(name, placement, value string) {
		t.Helper()
		f := filepath.Join(dir, name+".yaml")
		src := "name: " + name + "\nplacement: " + placement + "\ntrigger: {webhook: {mode: sync}}\nsteps:\n" +
			"  - {id: answer, respond: {status: 200, body: {flow: " + name + ", v: " + value + ", site: =trigger.body.site}}}\n"
		if err := os.WriteFile(f, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		cli("flow", "deploy", f)
	}
	deploy("orders", "{site: plant-3}", "1")
	deploy("eu-only", "{labels: {region: eu}}", "1")
	deploy("far", "{site: plant-4}", "1")

	a3 := startAgent(t, cp, "plant-3", tok3, "--label", "region=eu")
	// plant-4 is configured by its config file's agent section instead.
	tokFile, cfgFile := filepath.Join(dir, "plant-4.token"), filepath.Join(dir, "plant-4.yaml")
	if err := os.WriteFile(tokFile, []byte(tok4+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgFile, []byte("agent:\n  control_plane: "+cp.URL+"\n  site: plant-4\n  labels: {region: us}\n  token_file: "+tokFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a4 := startAgentAt(t, "", fmt.Sprintf("127.0.0.1:%d", freePort(t)), t.TempDir(), "", "", "--config", cfgFile)

	agents := func() map[string]hybridAgent {
		t.Helper()
		var res struct {
			Agents []hybridAgent `json:"agents"`
		}
		if code := cp.do("GET", "/api/agents", nil, &res); code != 200 {
			t.Fatalf("GET /api/agents: %d", code)
		}
		out := map[string]hybridAgent{}
		for _, a := range res.Agents {
			out[a.Site] = a
		}
		return out
	}
	waitFor := func(what string, ok func(map[string]hybridAgent) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			as := agents()
			if ok(as) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30s: %+v\nagent plant-3 log:\n%s", what, as, a3.logs())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("both agents acknowledge their flows", func(as map[string]hybridAgent) bool {
		p3, p4 := as["plant-3"], as["plant-4"]
		return p3.Connected && p3.InSync && p3.runs("orders", 1) && p3.runs("eu-only", 1) && len(p3.Running) == 2 &&
			p4.Connected && p4.InSync && p4.runs("far", 1) && len(p4.Running) == 1
	})
	if v := agents()["plant-3"].Version; v == "" {
		t.Errorf("the agent's version is not recorded")
	}
	metricsOf := func(s *server) string {
		t.Helper()
		resp, err := http.Get(s.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return string(data)
	}
	if m := metricsOf(cp); !strings.Contains(m, `weft_agent_connected{site="plant-3"} 1`) || !strings.Contains(m, `weft_agent_in_sync{site="plant-4"} 1`) {
		t.Errorf("the control plane's /metrics:\n%s", m)
	}
	if m := metricsOf(a3); !strings.Contains(m, "weft_agent_link_up 1") || !strings.Contains(m, "weft_agent_link_failures 0") {
		t.Errorf("the agent's /metrics:\n%s", m)
	}

	hook := func(s *server, flow string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(s.URL+"/hooks/"+flow, "application/json", strings.NewReader(`{"site": "called"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(data, &out)
		return resp.StatusCode, out
	}
	// Each agent runs its own flows on its own listener.
	if code, body := hook(a3, "orders"); code != 200 || body["v"] != float64(1) || body["flow"] != "orders" {
		t.Fatalf("orders on plant-3: %d %v", code, body)
	}
	if code, body := hook(a3, "eu-only"); code != 200 || body["flow"] != "eu-only" {
		t.Fatalf("eu-only on plant-3: %d %v", code, body)
	}
	if code, body := hook(a4, "far"); code != 200 || body["flow"] != "far" {
		t.Fatalf("far on plant-4: %d %v", code, body)
	}
	// ... and not another site's.
	if code, _ := hook(a4, "orders"); code != 404 {
		t.Fatalf("orders on plant-4: %d, want 404 (never sent there)", code)
	}
	// The control plane keeps the versions but runs none of them.
	if code, body := hook(cp, "orders"); code != 409 || !strings.Contains(fmt.Sprint(body), "plant-3") {
		t.Fatalf("orders on the control plane: %d %v, want 409 naming the site", code, body)
	}
	var runs struct {
		Runs []map[string]any `json:"runs"`
	}
	a3.do("GET", "/api/runs?flow=orders", nil, &runs)
	if len(runs.Runs) != 1 || runs.Runs[0]["status"] != "succeeded" {
		t.Fatalf("runs on plant-3's own store: %+v", runs.Runs)
	}

	// A new version rolls out and is acknowledged.
	deploy("orders", "{site: plant-3}", "2")
	waitFor("orders v2 on plant-3", func(as map[string]hybridAgent) bool {
		return as["plant-3"].runs("orders", 2) && as["plant-3"].InSync
	})
	if code, body := hook(a3, "orders"); code != 200 || body["v"] != float64(2) {
		t.Fatalf("orders v2 on plant-3: %d %v", code, body)
	}
	if out := cli("agents", "list"); !strings.Contains(out, "plant-3") || !strings.Contains(out, "orders@2") || !strings.Contains(out, "connected") || !strings.Contains(out, "far@1") {
		t.Fatalf("weft agents list:\n%s", out)
	}

	// Credentials: wrong, another site's, then revoked.
	poll := func(site, token string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", cp.URL+"/agent/v1/sync", strings.NewReader(`{"site": "`+site+`"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := poll("plant-3", "weft_agent_wrong"); code != 401 {
		t.Fatalf("wrong credential: %d", code)
	}
	if code := poll("plant-3", tok4); code != 403 {
		t.Fatalf("plant-4's credential for plant-3: %d", code)
	}
	if code := poll("plant-3", tok3); code != 200 {
		t.Fatalf("the right credential: %d", code)
	}
	if out := cli("agents", "revoke", "plant-3"); !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %s", out)
	}
	if code := poll("plant-3", tok3); code != 401 {
		t.Fatalf("revoked credential: %d", code)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(a3.logs(), "unknown or revoked agent credential") {
		if time.Now().After(deadline) {
			t.Fatalf("the revoked agent was not refused:\n%s", a3.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A revoked agent gets nothing new; what it runs keeps running on site.
	deploy("orders", "{site: plant-3}", "3")
	time.Sleep(2 * time.Second)
	if code, body := hook(a3, "orders"); code != 200 || body["v"] != float64(2) {
		t.Fatalf("orders on the revoked agent: %d %v, want v2 still", code, body)
	}
	as := agents()
	if as["plant-3"].RevokedAt == nil || as["plant-3"].Connected {
		t.Fatalf("revoked agent's status: %+v", as["plant-3"])
	}
	if !as["plant-4"].Connected || !as["plant-4"].InSync {
		t.Fatalf("plant-4 after plant-3's revocation: %+v", as["plant-4"])
	}
	// Every change is in the audit log.
	var audit struct {
		Entries []map[string]any `json:"entries"`
	}
	cp.do("GET", "/api/audit?limit=100", nil, &audit)
	seen := map[string]int{}
	for _, e := range audit.Entries {
		seen[fmt.Sprint(e["action"], " ", e["outcome"])]++
	}
	if seen["agent.create ok"] != 2 || seen["agent.create failed"] != 1 || seen["agent.revoke ok"] != 1 {
		t.Fatalf("audit: %v", seen)
	}
	// The token never appears in the control plane's log.
	if strings.Contains(cp.logs(), tok3) || strings.Contains(cp.logs(), tok4) {
		t.Fatal("an agent token is in the control plane's log")
	}
}

// Run-log shipping across a control-plane outage: runs on the agent while
// the control plane is down (killed with kill -9) reach it after it comes
// back, each once, with the agent's run ids and statuses.
func TestHybridRunLogShippingCatchesUp(t *testing.T) {
	cpDir := t.TempDir()
	cp := startServer(t, "", nil, "--data-dir", cpDir)
	out, err := cp.cli("agents", "create", "plant-3", "--json")
	if err != nil {
		t.Fatal(err, out)
	}
	var created struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err, out)
	}
	f := filepath.Join(t.TempDir(), "orders.yaml")
	src := "name: orders\nplacement: {site: plant-3}\ntrigger: {webhook: {mode: sync}}\nsteps:\n" +
		"  - {id: check, if: '=int(trigger.body.n) % 4 == 3', then: [{id: refuse, fail: {message: fourth, code: refused}}]}\n" +
		"  - {id: answer, respond: {status: 200, body: {n: =trigger.body.n}}}\n"
	if err := os.WriteFile(f, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := cp.cli("flow", "deploy", f); err != nil {
		t.Fatal(err, out)
	}
	a := startAgent(t, cp, "plant-3", created.Token)
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ := http.Post(a.URL+"/hooks/orders", "application/json", strings.NewReader(`{"n": 0}`))
		if code != nil {
			code.Body.Close()
			if code.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("orders never reached the agent:\n%s", a.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	fire := func(from, to int) {
		t.Helper()
		for n := from; n < to; n++ {
			resp, err := http.Post(a.URL+"/hooks/orders", "application/json", strings.NewReader(fmt.Sprintf(`{"n": %d}`, n)))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	fire(1, 40)
	cp.kill9()
	fire(40, 100) // the link is down: these wait in the agent's store
	time.Sleep(time.Second)
	cp = startServer(t, cp.addr, nil, "--data-dir", cpDir)

	var local struct {
		Runs []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"runs"`
	}
	a.do("GET", "/api/runs?flow=orders&limit=1000", nil, &local)
	if len(local.Runs) != 100 {
		t.Fatalf("the agent has %d runs, want 100", len(local.Runs))
	}
	want := map[string]string{}
	for _, r := range local.Runs {
		want[r.ID] = r.Status
	}
	var up struct {
		Runs []struct {
			ID      string `json:"id"`
			Status  string `json:"status"`
			Version int    `json:"version"`
		} `json:"runs"`
		Counts map[string]int `json:"counts"`
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		cp.do("GET", "/api/agents/plant-3/runs?limit=1000", nil, &up)
		if len(up.Runs) == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the control plane has %d of the agent's 100 runs after 60s:\n%s", len(up.Runs), a.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, r := range up.Runs {
		if want[r.ID] != r.Status || r.Version != 1 {
			t.Fatalf("run %s: %s v%d upstream, %q on the agent", r.ID, r.Status, r.Version, want[r.ID])
		}
	}
	if up.Counts["failed"] != 25 || up.Counts["succeeded"] != 75 {
		t.Fatalf("counts upstream: %v", up.Counts)
	}
	// Metadata only: no payload crossed the link.
	data, _ := json.Marshal(up)
	if strings.Contains(string(data), "fourth") || strings.Contains(string(data), `"n"`) {
		t.Fatalf("a payload or error message crossed the link: %s", data)
	}
}

// The agent pins the control plane's CA (--ca-file): over HTTPS it links
// to a control plane whose certificate chains to that CA and refuses one
// that does not (another CA's certificate for the same address). The
// control plane requires mutual TLS: an agent without a client
// certificate does not get through either.
func TestHybridAgentPinsTheControlPlaneCA(t *testing.T) {
	dir := t.TempDir()
	ca := e2eMakeCert(t, "control plane CA", nil, 1, 0)
	other := e2eMakeCert(t, "someone else's CA", nil, 1, 0)
	leaf := e2eMakeCert(t, "localhost", ca, 2, x509.ExtKeyUsageServerAuth)
	client := e2eMakeCert(t, "plant-3 agent", ca, 3, x509.ExtKeyUsageClientAuth)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	caFile, otherFile := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "other.crt")
	clientCert, clientKey := filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	for p, data := range map[string][]byte{certFile: leaf.certPEM, keyFile: leaf.keyPEM, caFile: ca.certPEM, otherFile: other.certPEM,
		clientCert: client.certPEM, clientKey: client.keyPEM} {
		replaceFile(t, p, data)
	}
	cfg := filepath.Join(dir, "weft.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("tls: {cert_file: %s, key_file: %s, client_ca_file: %s}\n", certFile, keyFile, caFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	pair, err := tls.X509KeyPair(client.certPEM, client.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}}}}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cp := startServerTLS(t, addr, addr, hc, nil, "--config", cfg, "--data-dir", filepath.Join(dir, "cp"))
	token := func(site string) string {
		resp, err := hc.Post(cp.URL+"/api/agents", "application/json", strings.NewReader(`{"site": "`+site+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res struct {
			Token string `json:"token"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != 201 {
			t.Fatalf("create %s: %d %v", site, resp.StatusCode, err)
		}
		return res.Token
	}
	status := func(site string) hybridAgent {
		resp, err := hc.Get(cp.URL + "/api/agents/" + site)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a hybridAgent
		_ = json.NewDecoder(resp.Body).Decode(&a)
		return a
	}
	good := startAgent(t, cp, "plant-3", token("plant-3"), "--ca-file", caFile, "--client-cert", clientCert, "--client-key", clientKey)
	bad := startAgent(t, cp, "plant-4", token("plant-4"), "--ca-file", otherFile, "--client-cert", clientCert, "--client-key", clientKey)
	noCert := startAgent(t, cp, "plant-5", token("plant-5"), "--ca-file", caFile)
	deadline := time.Now().Add(30 * time.Second)
	for !status("plant-3").Connected {
		if time.Now().After(deadline) {
			t.Fatalf("the agent trusting the control plane's CA did not link:\n%s", good.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for !strings.Contains(bad.logs(), "certificate signed by unknown authority") {
		if time.Now().After(deadline) {
			t.Fatalf("the agent pinned to another CA did not refuse the control plane:\n%s", bad.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if a := status("plant-4"); a.Connected || a.Version != "" {
		t.Fatalf("the agent pinned to another CA got through: %+v", a)
	}
	for !strings.Contains(noCert.logs(), "control plane unreachable") {
		if time.Now().After(deadline) {
			t.Fatalf("the agent without a client certificate was not refused:\n%s", noCert.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if a := status("plant-5"); a.Connected || a.Version != "" {
		t.Fatalf("the agent without a client certificate got through: %+v", a)
	}
}

// A credential set on the agent and the payloads its runs carry stay on
// the site: through a link that is delayed, cut and re-established, and an
// agent killed with kill -9 and restarted, the control plane ends up with
// every run's metadata (same ids and statuses as the agent's log), while
// neither the secret nor a payload is found in its database files, its
// log, its API answers, or the bytes that crossed the link.
func TestHybridSecretsAndPayloadsStayOnSite(t *testing.T) {
	const secret = "s3cr3t-ERP-token-0d8f7a"
	const marker = "PAYLOAD-MARKER-7c1e"
	var erpMu sync.Mutex
	erpGot := map[string]int{}
	erp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+secret {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		erpMu.Lock()
		erpGot[string(body)]++
		erpMu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"stored": true}`))
	}))
	defer erp.Close()

	cpDir := t.TempDir()
	cp := startServer(t, "", nil, "--data-dir", cpDir)
	out, err := cp.cli("agents", "create", "plant-3", "--json")
	if err != nil {
		t.Fatal(err, out)
	}
	var created struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal([]byte(out), &created)
	proxy := newFaultProxy(t, cp.addr)

	dir := t.TempDir()
	flowFile := filepath.Join(dir, "to-erp.yaml")
	src := "name: to-erp\nplacement: {site: plant-3}\ntrigger: {webhook: {mode: sync}}\nsteps:\n" +
		"  - {id: post, call: http.request, connection: erp, with: {method: POST, url: /orders, body: =trigger.body}}\n" +
		"  - {id: answer, respond: {status: 200, body: {ok: true}}}\n"
	if err := os.WriteFile(flowFile, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := cp.cli("flow", "deploy", flowFile); err != nil {
		t.Fatal(err, out)
	}

	agentDir, agentAddr := t.TempDir(), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	a := startAgentAt(t, proxy.URL(), agentAddr, agentDir, "plant-3", created.Token)
	// The credential is set on the agent only, through the agent's own API.
	connFile := filepath.Join(dir, "erp.yaml")
	if err := os.WriteFile(connFile, []byte("connector: http\nbase_url: "+erp.URL+"\nallow_private: true\nauth: {type: bearer, token: "+secret+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := a.cli("connection", "set", "erp", "--file", connFile); err != nil {
		t.Fatal(err, out)
	}
	fire := func(s *server, from, to int) {
		t.Helper()
		for n := from; n < to; n++ {
			resp, err := http.Post(s.URL+"/hooks/to-erp", "application/json", strings.NewReader(fmt.Sprintf(`{"n": %d, "note": "%s-%d"}`, n, marker, n)))
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("run %d on the agent: %d %s", n, resp.StatusCode, data)
			}
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Post(a.URL+"/hooks/to-erp", "application/json", strings.NewReader(`{"n": -1, "note": "`+marker+`"}`))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("to-erp never ran on the agent:\n%s", a.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	proxy.Delay(20 * time.Millisecond) // a slow link
	fire(a, 0, 40)
	proxy.Delay(0)
	proxy.Cut(true) // the link is down
	fire(a, 40, 80)
	a.kill9() // and the agent dies
	a = startAgentAt(t, proxy.URL(), agentAddr, agentDir, "plant-3", created.Token)
	fire(a, 80, 120)
	time.Sleep(time.Second)
	proxy.Cut(false) // the link is back

	var local struct {
		Runs []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"runs"`
	}
	a.do("GET", "/api/runs?flow=to-erp&limit=1000", nil, &local)
	if len(local.Runs) != 121 {
		t.Fatalf("the agent logged %d runs, want 121", len(local.Runs))
	}
	var up struct {
		Runs []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"runs"`
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		cp.do("GET", "/api/agents/plant-3/runs?limit=1000", nil, &up)
		if len(up.Runs) == len(local.Runs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the control plane has %d of the agent's %d runs:\n%s", len(up.Runs), len(local.Runs), a.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	want := map[string]string{}
	for _, r := range local.Runs {
		want[r.ID] = r.Status
	}
	for _, r := range up.Runs {
		if want[r.ID] != r.Status || r.Status != "succeeded" {
			t.Fatalf("run %s: %q upstream, %q on the agent", r.ID, r.Status, want[r.ID])
		}
	}
	// The control plane sees that the site's connection and its credential
	// are set, and nothing more.
	var st struct {
		Health struct {
			Connections []struct {
				Name        string   `json:"name"`
				Connector   string   `json:"connector"`
				Credentials []string `json:"credentials"`
			} `json:"connections"`
			ShippedUntil *time.Time `json:"shipped_until"`
		} `json:"health"`
	}
	deadline = time.Now().Add(45 * time.Second)
	for {
		cp.do("GET", "/api/agents/plant-3", nil, &st)
		h := st.Health
		if len(h.Connections) == 1 && h.Connections[0].Name == "erp" && h.ShippedUntil != nil {
			if h.Connections[0].Connector != "http" || strings.Join(h.Connections[0].Credentials, ",") != "auth.token" {
				t.Fatalf("the site's connection as the control plane sees it: %+v", h.Connections[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent's health never showed its connection: %+v", st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The target holds each record once.
	erpMu.Lock()
	if len(erpGot) != 121 {
		t.Errorf("the ERP got %d distinct records, want 121", len(erpGot))
	}
	for body, n := range erpGot {
		if n != 1 {
			t.Errorf("the ERP got %s %d times", body, n)
		}
	}
	erpMu.Unlock()

	// Grep the control plane: database files, log, API answers, the wire.
	var answers bytes.Buffer
	for _, path := range []string{"/api/agents", "/api/agents/plant-3", "/api/agents/plant-3/runs?limit=1000", "/api/connections", "/api/runs?limit=1000", "/api/flows/to-erp"} {
		var v any
		cp.do("GET", path, nil, &v)
		b, _ := json.Marshal(v)
		answers.Write(b)
	}
	if !strings.Contains(answers.String(), "to-erp") {
		t.Fatal("the answers grepped do not even name the flow: the grep proves nothing")
	}
	files, _ := filepath.Glob(filepath.Join(cpDir, "*"))
	haystacks := map[string][]byte{"control plane log": []byte(cp.logs()), "API answers": answers.Bytes(), "link traffic": proxy.Seen()}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err == nil {
			haystacks[f] = data
		}
	}
	if !bytes.Contains(proxy.Seen(), []byte("to-erp")) {
		t.Fatal("the recorded link traffic does not name the flow: the recording is broken")
	}
	for where, data := range haystacks {
		for _, needle := range []string{secret, marker} {
			if bytes.Contains(data, []byte(needle)) {
				t.Errorf("%q found in %s", needle, where)
			}
		}
	}
}

// envInt reads a size from the environment (the full figures:
// WEFT_HYBRID_FAULT_RUNS=1000 WEFT_HYBRID_FAULT_CUT=60s), else def.
func envInt(name string, def int) int {
	var v int
	if _, err := fmt.Sscan(os.Getenv(name), &v); err == nil && v > 0 {
		return v
	}
	return def
}

// Two agents, a link with faults the test controls (delay, half-open,
// cut) and the agent of site A killed with kill -9 while asynchronous runs
// are queued and in flight: afterwards the control plane's log of A equals
// A's own (same run ids, count and statuses), the target of A's flow holds
// each record once, and no completed step ran twice. B, on a healthy link,
// keeps running and shipping throughout.
func TestHybridFaultsKeepLogsEqual(t *testing.T) {
	runs := envInt("WEFT_HYBRID_FAULT_RUNS", 300)
	cut, _ := time.ParseDuration(os.Getenv("WEFT_HYBRID_FAULT_CUT"))
	if cut <= 0 {
		cut = 8 * time.Second
	}
	var mu sync.Mutex
	keys := map[string]string{} // Idempotency-Key -> record
	records := map[string]int{} // record -> times stored
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key := r.Header.Get("Idempotency-Key")
		mu.Lock()
		if _, dup := keys[key]; !dup && key != "" {
			keys[key] = string(body)
			records[string(body)]++
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"stored": true}`))
	}))
	defer target.Close()

	cpDir := t.TempDir()
	cp := startServer(t, "", nil, "--data-dir", cpDir)
	token := func(site string) string {
		out, err := cp.cli("agents", "create", site, "--json")
		if err != nil {
			t.Fatal(err, out)
		}
		var res struct {
			Token string `json:"token"`
		}
		_ = json.Unmarshal([]byte(out), &res)
		return res.Token
	}
	tokA, tokB := token("site-a"), token("site-b")
	dir := t.TempDir()
	deploy := func(name, site string, steps string) {
		f := filepath.Join(dir, name+".yaml")
		src := "name: " + name + "\nplacement: {site: " + site + "}\ntrigger: {webhook: {mode: async}}\nsteps:\n" + steps
		if err := os.WriteFile(f, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := cp.cli("flow", "deploy", f); err != nil {
			t.Fatal(err, out)
		}
	}
	deploy("load-a", "site-a", "  - {id: shape, set: {record: '=\"rec-\" + string(int(trigger.body.n))'}}\n"+
		"  - {id: store, call: http.request, connection: target, with: {method: POST, url: /records, body: =steps.shape.record}}\n")
	deploy("tick-b", "site-b", "  - {id: noop, set: {ok: true}}\n")

	proxy := newFaultProxy(t, cp.addr)
	dirA, addrA := t.TempDir(), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	connFile := filepath.Join(dir, "target.yaml")
	if err := os.WriteFile(connFile, []byte("connector: http\nbase_url: "+target.URL+"\nallow_private: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startAgentAt(t, proxy.URL(), addrA, dirA, "site-a", tokA)
	if out, err := a.cli("connection", "set", "target", "--file", connFile); err != nil {
		t.Fatal(err, out)
	}
	b := startAgent(t, cp, "site-b", tokB)

	post := func(s *server, flow string, n int) bool {
		resp, err := http.Post(s.URL+"/hooks/"+flow, "application/json", strings.NewReader(fmt.Sprintf(`{"n": %d}`, n)))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 202
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, ag := range []struct {
		s    *server
		flow string
	}{{a, "load-a"}, {b, "tick-b"}} {
		for !post(ag.s, ag.flow, 0) { // one run of each, once it is there
			if time.Now().After(deadline) {
				t.Fatalf("%s never reached its agent:\n%s", ag.flow, ag.s.logs())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	fire := func(from, to int) {
		t.Helper()
		for n := from; n < to; n++ {
			if !post(a, "load-a", n) {
				t.Fatalf("run %d refused by site-a", n)
			}
			if n%10 == 0 {
				post(b, "tick-b", n)
			}
		}
	}
	quarter := runs / 4
	proxy.Delay(15 * time.Millisecond)
	fire(1, quarter)
	proxy.Delay(0)
	proxy.HalfOpen(true) // packets vanish, connections stay up
	fire(quarter, 2*quarter)
	time.Sleep(2 * time.Second)
	proxy.Cut(true) // then the link is cut outright
	proxy.HalfOpen(false)
	fire(2*quarter, 3*quarter)
	a.kill9() // with runs queued and in flight
	a = startAgentAt(t, proxy.URL(), addrA, dirA, "site-a", tokA)
	fire(3*quarter, runs)
	if rest := cut - 2*time.Second; rest > 0 {
		time.Sleep(rest)
	}
	proxy.Cut(false)
	healed := time.Now()

	// A finishes every run on its own.
	type runRow struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	localRuns := func() []runRow {
		var res struct {
			Runs []runRow `json:"runs"`
		}
		a.do("GET", "/api/runs?flow=load-a&limit=1000", nil, &res)
		return res.Runs
	}
	deadline = time.Now().Add(120 * time.Second)
	var local []runRow
	for {
		local = localRuns()
		done := len(local) == runs
		for _, r := range local {
			if r.Status == "queued" || r.Status == "running" {
				done = false
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("site-a has %d runs, not all finished, after 120s", len(local))
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The control plane's log of A equals A's.
	want := map[string]string{}
	for _, r := range local {
		want[r.ID] = r.Status
	}
	var up struct {
		Runs []runRow `json:"runs"`
	}
	deadline = time.Now().Add(90 * time.Second)
	for {
		cp.do("GET", "/api/agents/site-a/runs?limit=1000", nil, &up)
		same := len(up.Runs) == len(want)
		for _, r := range up.Runs {
			if want[r.ID] != r.Status {
				same = false
			}
		}
		if same {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the control plane's log of site-a (%d runs) never equalled the agent's (%d):\n%s", len(up.Runs), len(want), a.logs())
		}
		time.Sleep(250 * time.Millisecond)
	}
	caughtUp := time.Since(healed)
	for _, r := range local {
		if r.Status != "succeeded" {
			t.Errorf("run %s: %s", r.ID, r.Status)
		}
	}
	// The target holds each record once.
	mu.Lock()
	if len(records) != runs {
		t.Errorf("the target holds %d distinct records, want %d", len(records), runs)
	}
	for rec, n := range records {
		if n != 1 {
			t.Errorf("record %s stored %d times", rec, n)
		}
	}
	mu.Unlock()
	// No completed step ran twice: one ok attempt per step of every run.
	for _, r := range local {
		var res struct {
			Steps []struct {
				StepKey string `json:"step_key"`
				Status  string `json:"status"`
			} `json:"steps"`
		}
		a.do("GET", "/api/runs/"+r.ID, nil, &res)
		ok := map[string]int{}
		for _, s := range res.Steps {
			if s.Status == "ok" {
				ok[s.StepKey]++
			}
		}
		if ok["shape"] != 1 || ok["store"] != 1 {
			t.Fatalf("run %s: ok attempts %v, want one per step", r.ID, ok)
		}
	}
	// B kept going: its runs are upstream too.
	var bUp struct {
		Counts map[string]int `json:"counts"`
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		cp.do("GET", "/api/agents/site-b/runs?limit=1", nil, &bUp)
		if bUp.Counts["succeeded"] >= runs/10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("site-b's runs upstream: %v", bUp.Counts)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("%d runs on site-a across delay, half-open, a %v cut and kill -9: logs equal %v after the link healed, %d records once each",
		runs, cut, caughtUp.Round(100*time.Millisecond), len(records))
}

// A control plane of two processes on one PostgreSQL: an agent linked to
// the first gets a version deployed through the second within seconds, and
// both processes show the same agents and shipped runs.
func TestHybridControlPlaneOnPostgres(t *testing.T) {
	pg := pgtest.Shared(t)
	url := pg.NewDatabase(t)
	env := []string{"WEFT_DATABASE_URL=" + url, "WEFT_DATA_DIR=" + t.TempDir(),
		"WEFT_MASTER_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	p1 := startServer(t, "", env)
	p2 := startServer(t, "", env)
	out, err := p1.cli("agents", "create", "plant-3", "--json")
	if err != nil {
		t.Fatal(err, out)
	}
	var created struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal([]byte(out), &created)
	dir := t.TempDir()
	deploy := func(s *server, v int) {
		t.Helper()
		f := filepath.Join(dir, "orders.yaml")
		src := fmt.Sprintf("name: orders\nplacement: {site: plant-3}\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - {id: answer, respond: {status: 200, body: {v: %d}}}\n", v)
		if err := os.WriteFile(f, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := s.cli("flow", "deploy", f); err != nil {
			t.Fatal(err, out)
		}
	}
	deploy(p2, 1)
	a := startAgent(t, p1, "plant-3", created.Token)
	runsV := func(s *server, v int) bool {
		var st hybridAgent
		s.do("GET", "/api/agents/plant-3", nil, &st)
		return st.InSync && st.runs("orders", v)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !runsV(p1, 1) || !runsV(p2, 1) {
		if time.Now().After(deadline) {
			t.Fatalf("v1 not acknowledged:\n%s", a.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the agent's poll is held by p1 now
	start := time.Now()
	deploy(p2, 2) // through the other process
	for !runsV(p2, 2) {
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("v2 deployed through p2 not acknowledged:\n%s", a.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a deploy through another process took %v to reach the agent", took)
	} else {
		t.Logf("a deploy through another process reached the agent and was acknowledged in %v", took.Round(10*time.Millisecond))
	}
	resp, err := http.Post(a.URL+"/hooks/orders", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"v":2`) {
		t.Fatalf("orders on the agent: %d %s", resp.StatusCode, body)
	}
	var up struct {
		Runs []map[string]any `json:"runs"`
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		p2.do("GET", "/api/agents/plant-3/runs", nil, &up)
		if len(up.Runs) == 1 && up.Runs[0]["version"] == float64(2) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run never reached p2: %+v", up.Runs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The agent's link dials through its egress policy: a control plane the
// policy does not allow is never reached; one it allows is.
func TestHybridAgentLinkFollowsEgressPolicy(t *testing.T) {
	cp := startServer(t, "", nil, "--data-dir", t.TempDir())
	token := func(site string) string {
		out, err := cp.cli("agents", "create", site, "--json")
		if err != nil {
			t.Fatal(err, out)
		}
		var res struct {
			Token string `json:"token"`
		}
		_ = json.Unmarshal([]byte(out), &res)
		return res.Token
	}
	dir := t.TempDir()
	config := func(name, allow string) string {
		p := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(p, []byte("egress:\n  allow: ["+allow+"]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	_, port, _ := strings.Cut(cp.addr, ":")
	denied := startAgent(t, cp, "plant-3", token("plant-3"), "--config", config("deny", `"127.0.0.1:1"`))
	allowed := startAgent(t, cp, "plant-4", token("plant-4"), "--config", config("allow", `"127.0.0.1:`+port+`"`))
	status := func(site string) hybridAgent {
		var a hybridAgent
		cp.do("GET", "/api/agents/"+site, nil, &a)
		return a
	}
	deadline := time.Now().Add(30 * time.Second)
	for !status("plant-4").Connected {
		if time.Now().After(deadline) {
			t.Fatalf("the agent whose policy allows the control plane did not link:\n%s", allowed.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for !strings.Contains(denied.logs(), "refused by the egress policy") {
		if time.Now().After(deadline) {
			t.Fatalf("the agent whose policy does not allow the control plane was not refused:\n%s", denied.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if a := status("plant-3"); a.Connected || a.LastSeenSet() {
		t.Fatalf("the control plane heard from an agent its policy forbids: %+v", a)
	}
}
