package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

type e2eCert struct {
	cert            *x509.Certificate
	key             *ecdsa.PrivateKey
	certPEM, keyPEM []byte
}

// e2eMakeCert: a CA (parent nil) or a leaf signed by parent.
func e2eMakeCert(t *testing.T, cn string, parent *e2eCert, serial int64, usage x509.ExtKeyUsage) *e2eCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), BasicConstraintsValid: true}
	signer, signKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.KeyUsage = true, x509.KeyUsageCertSign
	} else {
		signer, signKey = parent.cert, parent.key
		tmpl.KeyUsage, tmpl.ExtKeyUsage = x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{usage}
		tmpl.DNSNames, tmpl.IPAddresses = []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	kder, _ := x509.MarshalECPrivateKey(key)
	return &e2eCert{cert: c, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})}
}

func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// weft serve with tls and required mutual TLS, on every interface and
// without an api_token (the client certificate is the authentication):
// HTTPS with a client certificate works, plain HTTP and a client without a
// certificate are refused, and the certificate is replaced without a
// restart (file change, SIGHUP), keeping the old one when the new pair is
// broken. TLS without client certificates does not authenticate: the same
// address without an api_token is refused.
func TestIssue18_TLSServe(t *testing.T) {
	dir := t.TempDir()
	ca := e2eMakeCert(t, "e2e CA", nil, 1, 0)
	srv1 := e2eMakeCert(t, "localhost", ca, 2, x509.ExtKeyUsageServerAuth)
	cli := e2eMakeCert(t, "ci-robot", ca, 3, x509.ExtKeyUsageClientAuth)
	certFile, keyFile, caFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "ca.crt")
	replaceFile(t, certFile, srv1.certPEM)
	replaceFile(t, keyFile, srv1.keyPEM)
	replaceFile(t, caFile, ca.certPEM)
	cfg := filepath.Join(dir, "weft.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("tls:\n  cert_file: %s\n  key_file: %s\n  client_ca_file: %s\n", certFile, keyFile, caFile)), 0o600)

	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	pair, err := tls.X509KeyPair(cli.certPEM, cli.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(withCert bool) *http.Client {
		tc := &tls.Config{RootCAs: roots}
		if withCert {
			tc.Certificates = []tls.Certificate{pair}
		}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}
	}
	good := mk(true)

	port := freePort(t)
	// Without client certificates, TLS alone on 0.0.0.0 is refused.
	onlyTLS := filepath.Join(dir, "tls-only.yaml")
	os.WriteFile(onlyTLS, []byte(fmt.Sprintf("tls: {cert_file: %s, key_file: %s}\n", certFile, keyFile)), 0o600)
	if code, out := serveOutcome(t, noToken, 20*time.Second, "--addr", fmt.Sprintf("0.0.0.0:%d", port), "--config", onlyTLS, "--data-dir", filepath.Join(dir, "d0")); code <= 0 || !strings.Contains(out, "refusing to start") {
		t.Fatalf("tls without mutual TLS on 0.0.0.0, no api_token: exit %d\n%s", code, out)
	}

	s := startServerTLS(t, fmt.Sprintf("0.0.0.0:%d", port), fmt.Sprintf("127.0.0.1:%d", port), good, noToken, "--config", cfg, "--data-dir", filepath.Join(dir, "data"))
	if logs := s.logs(); !strings.Contains(logs, "transport=https+mutual-tls") || !strings.Contains(logs, "console: https://") || strings.Contains(logs, "INSECURE") {
		t.Fatalf("start-up log:\n%s", logs)
	}
	resp, err := good.Get(s.URL + "/api/flows")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /api/flows with the client certificate: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := mk(false).Get(s.URL + "/api/flows"); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	plain := "http://" + strings.TrimPrefix(s.URL, "https://")
	if resp, err := http.Get(plain + "/api/flows"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("plain HTTP to the TLS port: %d %s", resp.StatusCode, b)
		}
	}

	// The CLI: the CA and the client certificate from the environment.
	clientCrt, clientKey := filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	replaceFile(t, clientCrt, cli.certPEM)
	replaceFile(t, clientKey, cli.keyPEM)
	cliEnv := append(os.Environ(), "WEFT_SERVER="+s.URL, "WEFT_API_TOKEN=", "WEFT_CA_FILE="+caFile)
	cmd := exec.Command(weftBin, "flow", "list")
	cmd.Env = append(cliEnv, "WEFT_CLIENT_CERT="+clientCrt, "WEFT_CLIENT_KEY="+clientKey)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("weft flow list over mutual TLS: %v\n%s", err, out)
	}
	cmd = exec.Command(weftBin, "flow", "list")
	cmd.Env = cliEnv
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "cannot reach") {
		t.Fatalf("weft flow list without a client certificate: %v\n%s", err, out)
	}

	serial := func() int64 {
		resp, err := good.Get(s.URL + "/healthz")
		if err != nil {
			t.Fatalf("healthz: %v\n%s", err, s.logs())
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	waitSerial := func(want int64, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for serial() != want {
			if time.Now().After(deadline) {
				t.Fatalf("still not serving certificate %d after %s:\n%s", want, within, s.logs())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if serial() != 2 {
		t.Fatal("not serving the first certificate")
	}
	// Replaced files are picked up by new connections (the files are
	// looked at every few seconds).
	srv2 := e2eMakeCert(t, "localhost", ca, 4, x509.ExtKeyUsageServerAuth)
	replaceFile(t, certFile, srv2.certPEM)
	replaceFile(t, keyFile, srv2.keyPEM)
	waitSerial(4, 15*time.Second)
	// SIGHUP reads them at once.
	srv3 := e2eMakeCert(t, "localhost", ca, 5, x509.ExtKeyUsageServerAuth)
	replaceFile(t, certFile, srv3.certPEM)
	replaceFile(t, keyFile, srv3.keyPEM)
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitSerial(5, 3*time.Second)
	// A broken pair (another certificate's key) keeps serial 5 serving.
	srv4 := e2eMakeCert(t, "localhost", ca, 6, x509.ExtKeyUsageServerAuth)
	replaceFile(t, certFile, srv4.certPEM)
	replaceFile(t, keyFile, srv3.keyPEM)
	s.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.logs(), "still serving the previous certificate") {
		if time.Now().After(deadline) {
			t.Fatalf("the failed reload is not logged:\n%s", s.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := serial(); got != 5 {
		t.Fatalf("after a broken pair: serving %d, want 5", got)
	}
	if strings.Contains(s.logs(), "PRIVATE KEY") {
		t.Fatal("the log holds key material")
	}
	select {
	case <-s.done:
		t.Fatalf("weft serve exited on SIGHUP:\n%s", s.logs())
	default:
	}
}
