package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An agent's link to a control plane over HTTPS is one outbound TCP
// connection: its flows poll, its reach-in calls poll, its run-log
// shipping and its telemetry are requests multiplexed on it (HTTP/2), and
// nothing dials the site. The test counts the connections that cross a
// proxy between them while the agent rolls a flow out, runs it, ships the
// runs and its telemetry.
func TestHybridAgentLinkIsOneConnection(t *testing.T) {
	dir := t.TempDir()
	ca := e2eMakeCert(t, "control plane CA", nil, 1, 0)
	leaf := e2eMakeCert(t, "localhost", ca, 2, x509.ExtKeyUsageServerAuth)
	certFile, keyFile, caFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "ca.crt")
	for p, data := range map[string][]byte{certFile: leaf.certPEM, keyFile: leaf.keyPEM, caFile: ca.certPEM} {
		replaceFile(t, p, data)
	}
	cfg := filepath.Join(dir, "weft.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("tls: {cert_file: %s, key_file: %s}\n", certFile, keyFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cp := startServerTLS(t, addr, addr, hc, nil, "--config", cfg, "--data-dir", filepath.Join(dir, "cp"))
	post := func(path, ctype, body string, out any) {
		t.Helper()
		resp, err := hc.Post(cp.URL+path, ctype, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
		if out != nil {
			_ = json.NewDecoder(resp.Body).Decode(out)
		}
	}
	var created struct {
		Token string `json:"token"`
	}
	post("/api/agents", "application/json", `{"site": "plant-3"}`, &created)
	post("/api/flows?file=answer.yaml", "application/yaml",
		"name: answer\nplacement: {site: plant-3}\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - {id: a, respond: {status: 200, body: {ok: true}}}\n", nil)

	proxy := newFaultProxy(t, addr)
	a := startAgentAt(t, "https://"+strings.TrimPrefix(proxy.URL(), "http://"), fmt.Sprintf("127.0.0.1:%d", freePort(t)), t.TempDir(), "plant-3", created.Token,
		"--ca-file", caFile, "--telemetry-every", "1s")
	deadline := time.Now().Add(30 * time.Second)
	for a.do("GET", "/api/flows/answer", nil, nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("the flow never reached the agent:\n%s", a.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	const runs = 5
	for i := 0; i < runs; i++ {
		resp, err := http.Post(a.URL+"/hooks/answer", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("run %d: %d", i, resp.StatusCode)
		}
	}
	// The runs shipped and the telemetry current on the control plane.
	deadline = time.Now().Add(45 * time.Second)
	for {
		var st struct {
			Counts    map[string]int `json:"counts"`
			Telemetry *struct {
				Figures map[string]float64 `json:"figures"`
			} `json:"telemetry"`
		}
		var shipped struct {
			Counts map[string]int `json:"counts"`
		}
		resp, err := hc.Get(cp.URL + "/api/agents/plant-3/runs")
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&shipped)
			resp.Body.Close()
		}
		resp, err = hc.Get(cp.URL + "/api/agents/plant-3")
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
		}
		if shipped.Counts["succeeded"] == runs && st.Telemetry != nil && st.Telemetry.Figures["runs_succeeded"] == runs {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the runs (%v) or the telemetry (%+v) never reached the control plane:\n%s", shipped.Counts, st.Telemetry, a.logs())
		}
		time.Sleep(300 * time.Millisecond)
	}
	if opened, open := proxy.Accepted(); opened != 1 || open != 1 {
		t.Fatalf("the agent opened %d connections to the control plane (%d open now), want 1 (HTTP/2):\n%s", opened, open, a.logs())
	}
}
