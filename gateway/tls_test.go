package gateway_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// --- certificates made in the test -------------------------------------------

type testCert struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	keyPEM  []byte
}

var serial int64 = 100

func makeCert(t *testing.T, cn string, parent *testCert, isCA bool, notBefore, notAfter time.Time, usage x509.ExtKeyUsage) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"weft test"}},
		NotBefore: notBefore, NotAfter: notAfter, BasicConstraintsValid: true, IsCA: isCA}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
		if usage == x509.ExtKeyUsageServerAuth {
			tmpl.DNSNames = []string{"localhost"}
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
		}
	}
	signer, signKey := tmpl, key
	if parent != nil {
		signer, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: c, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})}
}

func (c *testCert) tls(t *testing.T) tls.Certificate {
	t.Helper()
	p, err := tls.X509KeyPair(c.certPEM, c.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// present makes a client send c whatever CAs the server asks for (with
// Certificates alone, crypto/tls sends none that the server's CA list
// does not name, and the test would prove nothing about verification).
func (c *testCert) present(t *testing.T) func(*tls.Config) {
	pair := c.tls(t)
	return func(tc *tls.Config) {
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
	}
}

// pki: a CA, a server certificate for 127.0.0.1/localhost, a good client
// certificate, one from another CA and an expired one from the right CA.
type pki struct {
	ca, otherCA, server, client, wrongClient, expiredClient *testCert
	dir, certFile, keyFile, caFile                          string
}

func newPKI(t *testing.T) *pki {
	now := time.Now()
	p := &pki{dir: t.TempDir()}
	p.ca = makeCert(t, "weft test CA", nil, true, now.Add(-time.Hour), now.Add(24*time.Hour), 0)
	p.otherCA = makeCert(t, "another CA", nil, true, now.Add(-time.Hour), now.Add(24*time.Hour), 0)
	p.server = makeCert(t, "localhost", p.ca, false, now.Add(-time.Hour), now.Add(24*time.Hour), x509.ExtKeyUsageServerAuth)
	p.client = makeCert(t, "ada", p.ca, false, now.Add(-time.Hour), now.Add(24*time.Hour), x509.ExtKeyUsageClientAuth)
	p.wrongClient = makeCert(t, "mallory", p.otherCA, false, now.Add(-time.Hour), now.Add(24*time.Hour), x509.ExtKeyUsageClientAuth)
	p.expiredClient = makeCert(t, "bob", p.ca, false, now.Add(-48*time.Hour), now.Add(-24*time.Hour), x509.ExtKeyUsageClientAuth)
	p.certFile, p.keyFile, p.caFile = filepath.Join(p.dir, "server.crt"), filepath.Join(p.dir, "server.key"), filepath.Join(p.dir, "clients-ca.crt")
	p.install(t, p.server)
	writeFile(t, p.caFile, p.ca.certPEM)
	return p
}

// install writes a server pair into the configured files.
func (p *pki) install(t *testing.T, c *testCert) {
	t.Helper()
	writeFile(t, p.certFile, c.certPEM)
	writeFile(t, p.keyFile, c.keyPEM)
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	// Write then rename, as certificate tools do; the new file's mtime
	// differs from the old one's.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func (p *pki) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca.cert)
	return pool
}

// --- servers -------------------------------------------------------------------

// serveTLS serves h over the configured TLS on 127.0.0.1, as weft serve
// does (gateway.NewHTTPServer, ServeTLS), and returns the address.
func serveTLS(t *testing.T, h http.Handler, ts *gateway.TLS) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := gateway.NewHTTPServer(h, gateway.Limits{})
	srv.TLSConfig = ts.Config()
	srv.ErrorLog = nil
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func newGateway(t *testing.T, cfg gateway.Config) http.Handler {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := engine.New(st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), nil, engine.Config{})
	if err := st.StartQueue(ctx, e.Workers(), store.QueueConfig{Workers: 2, FetchPollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.BeginShutdown()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.StopQueue(c)
		_ = st.Close()
	})
	return gateway.New(e, nil, cfg)
}

func mustTLS(t *testing.T, c gateway.TLSConfig, log *slog.Logger) *gateway.TLS {
	t.Helper()
	ts, err := gateway.NewTLS(c, log)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func tlsClient(roots *x509.CertPool, mod func(*tls.Config)) *http.Client {
	c := &tls.Config{RootCAs: roots}
	if mod != nil {
		mod(c)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: c, DisableKeepAlives: true}}
}

func tlsGet(c *http.Client, url string) (*http.Response, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), nil
}

// --- tests ------------------------------------------------------------------------

// HTTPS is served on the listen address and plain HTTP is not: a plain
// request gets 400 from the TLS server, and reaches no route.
func TestTLS_HTTPSServedPlainHTTPRefused(t *testing.T) {
	p := newPKI(t)
	ts := mustTLS(t, gateway.TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile}, nil)
	addr := serveTLS(t, newGateway(t, gateway.Config{}), ts)

	resp, body, err := tlsGet(tlsClient(p.roots(), nil), "https://"+addr+"/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("https /healthz: %v %v %s", resp, err, body)
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("connection state: %+v", resp.TLS)
	}
	if _, _, err := tlsGet(tlsClient(p.roots(), nil), "https://localhost:"+strings.Split(addr, ":")[1]+"/api/flows"); err != nil {
		t.Fatalf("https://localhost: %v", err)
	}
	// An untrusted client (no test CA) refuses the server: it is the CA's certificate.
	if _, _, err := tlsGet(tlsClient(x509.NewCertPool(), nil), "https://"+addr+"/healthz"); err == nil {
		t.Fatal("a client that does not trust the CA connected")
	}
	resp, body, err = tlsGet(&http.Client{Timeout: 5 * time.Second}, "http://"+addr+"/healthz")
	if err == nil && (resp.StatusCode == 200 || !strings.Contains(body, "HTTPS")) {
		t.Fatalf("plain HTTP to the TLS port: %d %q", resp.StatusCode, body)
	}
	resp, body, err = tlsGet(&http.Client{Timeout: 5 * time.Second}, "http://"+addr+"/api/flows")
	if err == nil && resp.StatusCode != 400 {
		t.Fatalf("plain HTTP /api/flows: %d %q", resp.StatusCode, body)
	}
}

// TLS 1.0 and 1.1 are refused; min_version 1.3 refuses 1.2; TLS 1.2
// offers forward-secret AEAD suites only.
func TestTLS_VersionsAndCipherSuites(t *testing.T) {
	p := newPKI(t)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	addr := serveTLS(t, ok, mustTLS(t, gateway.TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile}, nil))
	url := "https://" + addr + "/"
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		_, _, err := tlsGet(tlsClient(p.roots(), func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, v }), url)
		if err == nil || !strings.Contains(err.Error(), "protocol version") {
			t.Fatalf("TLS %x client: %v", v, err)
		}
	}
	if resp, _, err := tlsGet(tlsClient(p.roots(), func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }), url); err != nil || resp.TLS.Version != tls.VersionTLS12 {
		t.Fatalf("TLS 1.2 client: %v", err)
	}
	for _, weak := range []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA} {
		_, _, err := tlsGet(tlsClient(p.roots(), func(c *tls.Config) { c.MaxVersion, c.CipherSuites = tls.VersionTLS12, []uint16{weak} }), url)
		if err == nil {
			t.Fatalf("TLS 1.2 with only %s was accepted", tls.CipherSuiteName(weak))
		}
	}
	resp, _, err := tlsGet(tlsClient(p.roots(), func(c *tls.Config) {
		c.MaxVersion, c.CipherSuites = tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
	}), url)
	if err != nil || resp.TLS.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 {
		t.Fatalf("TLS 1.2 ChaCha20-Poly1305: %v", err)
	}

	addr13 := serveTLS(t, ok, mustTLS(t, gateway.TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile, MinVersion: "1.3"}, nil))
	if _, _, err := tlsGet(tlsClient(p.roots(), func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }), "https://"+addr13+"/"); err == nil {
		t.Fatal("min_version 1.3 accepted a TLS 1.2 client")
	}
	if resp, _, err := tlsGet(tlsClient(p.roots(), nil), "https://"+addr13+"/"); err != nil || resp.TLS.Version != tls.VersionTLS13 {
		t.Fatalf("TLS 1.3 client: %v", err)
	}
}

// Mutual TLS: no certificate, another CA's and an expired one are refused
// in the handshake; the CA's certificate is accepted and names the caller.
func TestTLS_MutualTLS(t *testing.T) {
	p := newPKI(t)
	who := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr, ok := gateway.ClientCertPrincipal(r)
		if !ok {
			io.WriteString(w, "none")
			return
		}
		io.WriteString(w, pr.Actor())
	})
	ts := mustTLS(t, gateway.TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile}, nil)
	url := "https://" + serveTLS(t, who, ts) + "/"
	with := func(c *testCert) func(*tls.Config) {
		return func(tc *tls.Config) {
			if c != nil {
				c.present(t)(tc)
			}
		}
	}
	for name, c := range map[string]*testCert{"no certificate": nil, "another CA's certificate": p.wrongClient, "an expired certificate": p.expiredClient} {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			_, _, err := tlsGet(tlsClient(p.roots(), func(tc *tls.Config) { with(c)(tc); tc.MaxVersion = v }), url)
			if err == nil {
				t.Fatalf("mutual TLS (TLS %x) accepted %s", v, name)
			}
		}
	}
	resp, body, err := tlsGet(tlsClient(p.roots(), with(p.client)), url)
	if err != nil || resp.StatusCode != 200 || body != access.KindClientCert+":ada" {
		t.Fatalf("good client certificate: %v %q", err, body)
	}

	// The gateway under required mutual TLS and no api_token: the client
	// certificate is the authentication.
	gw := "https://" + serveTLS(t, newGateway(t, gateway.Config{}), ts)
	if _, _, err := tlsGet(tlsClient(p.roots(), nil), gw+"/api/flows"); err == nil {
		t.Fatal("the gateway answered a client without a certificate")
	}
	if resp, body, err := tlsGet(tlsClient(p.roots(), with(p.client)), gw+"/api/flows"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the gateway with a client certificate: %v %s", err, body)
	}

	// require_client_cert: false verifies a certificate only if offered.
	no := false
	opt := mustTLS(t, gateway.TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile, RequireClientCert: &no}, nil)
	url = "https://" + serveTLS(t, who, opt) + "/"
	if _, body, err := tlsGet(tlsClient(p.roots(), nil), url); err != nil || body != "none" {
		t.Fatalf("optional mutual TLS without a certificate: %v %q", err, body)
	}
	if _, _, err := tlsGet(tlsClient(p.roots(), with(p.wrongClient)), url); err == nil {
		t.Fatal("optional mutual TLS accepted another CA's certificate")
	}
	if _, body, err := tlsGet(tlsClient(p.roots(), with(p.client)), url); err != nil || body != "client_cert:ada" {
		t.Fatalf("optional mutual TLS with a good certificate: %v %q", err, body)
	}
}

// syncBuf is a log sink the server's goroutines write to.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func servedSerial(t *testing.T, roots *x509.CertPool, url string) *big.Int {
	t.Helper()
	resp, _, err := tlsGet(tlsClient(roots, nil), url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.TLS.PeerCertificates[0].SerialNumber
}

// Replacing the files changes the certificate new connections get,
// without a restart; a pair that does not load keeps the last good one
// serving, and the error is logged without key material.
func TestTLS_CertificateReload(t *testing.T) {
	p := newPKI(t)
	logs := &syncBuf{}
	ts := mustTLS(t, gateway.TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile}, slog.New(slog.NewTextHandler(logs, nil)))
	ts.SetReloadInterval(0) // look at the files on every handshake
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	url := "https://" + serveTLS(t, ok, ts) + "/"

	if got := servedSerial(t, p.roots(), url); got.Cmp(p.server.cert.SerialNumber) != 0 {
		t.Fatalf("served serial %v, want %v", got, p.server.cert.SerialNumber)
	}
	now := time.Now()
	next := makeCert(t, "localhost", p.ca, false, now.Add(-time.Hour), now.Add(48*time.Hour), x509.ExtKeyUsageServerAuth)
	p.install(t, next)
	if got := servedSerial(t, p.roots(), url); got.Cmp(next.cert.SerialNumber) != 0 {
		t.Fatalf("after replacing the files: serial %v, want the new %v", got, next.cert.SerialNumber)
	}
	if !strings.Contains(logs.String(), "certificate reloaded") {
		t.Fatalf("no reload logged: %s", logs)
	}

	// A bad pair: a certificate with another certificate's key.
	third := makeCert(t, "localhost", p.ca, false, now.Add(-time.Hour), now.Add(48*time.Hour), x509.ExtKeyUsageServerAuth)
	writeFile(t, p.certFile, third.certPEM)
	writeFile(t, p.keyFile, p.server.keyPEM)
	for range 3 {
		if got := servedSerial(t, p.roots(), url); got.Cmp(next.cert.SerialNumber) != 0 {
			t.Fatalf("after a bad pair: serial %v, want the previous %v", got, next.cert.SerialNumber)
		}
	}
	if err := ts.Reload(); err == nil {
		t.Fatal("Reload of a mismatched pair succeeded")
	}
	// Garbage in the key file: still the previous certificate.
	writeFile(t, p.keyFile, []byte("not a key"))
	if got := servedSerial(t, p.roots(), url); got.Cmp(next.cert.SerialNumber) != 0 {
		t.Fatalf("after a garbage key: serial %v", got)
	}
	out := logs.String()
	if !strings.Contains(out, "still serving the previous certificate") {
		t.Fatalf("the failed reload is not logged: %s", out)
	}
	for _, k := range []*testCert{p.server, next, third} {
		kb := strings.Split(string(k.keyPEM), "\n")[1]
		if strings.Contains(out, kb) || strings.Contains(out, "PRIVATE KEY-----") {
			t.Fatalf("the log holds key material: %s", out)
		}
	}
	if strings.Count(out, "still serving the previous certificate") > 3 {
		t.Fatalf("the same broken files are retried on every handshake: %s", out)
	}
	// Fixed: the third pair, properly.
	p.install(t, third)
	if got := servedSerial(t, p.roots(), url); got.Cmp(third.cert.SerialNumber) != 0 {
		t.Fatalf("after fixing the pair: serial %v, want %v", got, third.cert.SerialNumber)
	}
}

// Between looks at the files, a handshake serves the loaded certificate;
// Reload (weft serve calls it on SIGHUP) reads the files at once.
func TestTLS_ReloadIntervalAndExplicitReload(t *testing.T) {
	p := newPKI(t)
	ts := mustTLS(t, gateway.TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile}, nil)
	ts.SetReloadInterval(time.Hour)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	url := "https://" + serveTLS(t, ok, ts) + "/"
	now := time.Now()
	next := makeCert(t, "localhost", p.ca, false, now.Add(-time.Hour), now.Add(48*time.Hour), x509.ExtKeyUsageServerAuth)
	p.install(t, next)
	if got := servedSerial(t, p.roots(), url); got.Cmp(p.server.cert.SerialNumber) != 0 {
		t.Fatalf("files looked at before the interval: serial %v", got)
	}
	if err := ts.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, p.roots(), url); got.Cmp(next.cert.SerialNumber) != 0 {
		t.Fatalf("after Reload: serial %v, want %v", got, next.cert.SerialNumber)
	}
	if ts.Certificate().SerialNumber.Cmp(next.cert.SerialNumber) != 0 {
		t.Fatal("Certificate() is not the served one")
	}
}

// The client CA file is reloaded with the certificate: a client of a CA
// added to it is accepted without a restart.
func TestTLS_ClientCAReload(t *testing.T) {
	p := newPKI(t)
	ts := mustTLS(t, gateway.TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile}, nil)
	ts.SetReloadInterval(0)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	url := "https://" + serveTLS(t, ok, ts) + "/"
	wrong := tlsClient(p.roots(), p.wrongClient.present(t))
	if _, _, err := tlsGet(wrong, url); err == nil {
		t.Fatal("another CA's client accepted")
	}
	writeFile(t, p.caFile, append(append([]byte{}, p.ca.certPEM...), p.otherCA.certPEM...))
	if _, _, err := tlsGet(wrong, url); err != nil {
		t.Fatalf("after adding its CA: %v", err)
	}

	// Removing a CA shuts its clients out, also one resuming a TLS
	// session it got before (no full handshake, no certificate sent).
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		writeFile(t, p.caFile, p.ca.certPEM)
		resumed := false
		good := tlsClient(p.roots(), func(c *tls.Config) {
			p.client.present(t)(c)
			c.MaxVersion = v
			c.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		})
		for range 2 {
			resp, _, err := tlsGet(good, url)
			if err != nil {
				t.Fatal(err)
			}
			resumed = resumed || resp.TLS.DidResume
		}
		if !resumed {
			t.Fatalf("TLS %x: the session was not resumed: the test proves nothing", v)
		}
		writeFile(t, p.caFile, p.otherCA.certPEM)
		if _, _, err := tlsGet(good, url); err == nil {
			t.Fatalf("TLS %x: a client whose CA was removed was admitted (resuming its session)", v)
		}
	}
}

// Bad configurations are refused with a clear error before serving.
func TestTLS_ConfigRefused(t *testing.T) {
	p := newPKI(t)
	yes := true
	for _, c := range []struct {
		cfg  gateway.TLSConfig
		want string
	}{
		{gateway.TLSConfig{CertFile: p.certFile}, "cert_file and key_file"},
		{gateway.TLSConfig{KeyFile: p.keyFile}, "cert_file and key_file"},
		{gateway.TLSConfig{ClientCAFile: p.caFile}, "cert_file and key_file"},
		{gateway.TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile, MinVersion: "1.1"}, "min_version"},
		{gateway.TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile, MinVersion: "1.0"}, "min_version"},
		{gateway.TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile, MinVersion: "tls1.2"}, "min_version"},
		{gateway.TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile, RequireClientCert: &yes}, "client_ca_file"},
	} {
		if err := c.cfg.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check(%+v) = %v, want %q", c.cfg, err, c.want)
		}
		if _, err := gateway.NewTLS(c.cfg, nil); err == nil {
			t.Errorf("NewTLS(%+v) succeeded", c.cfg)
		}
	}
	// Files that do not load refuse to start.
	other := filepath.Join(p.dir, "other.key")
	os.WriteFile(other, p.client.keyPEM, 0o600)
	notPEM := filepath.Join(p.dir, "ca.txt")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	for _, c := range []gateway.TLSConfig{
		{CertFile: p.certFile, KeyFile: other},
		{CertFile: filepath.Join(p.dir, "missing.crt"), KeyFile: p.keyFile},
		{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: notPEM},
		{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: filepath.Join(p.dir, "missing-ca.crt")},
	} {
		_, err := gateway.NewTLS(c, nil)
		if err == nil {
			t.Errorf("NewTLS(%+v) succeeded", c)
			continue
		}
		if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), strings.Split(string(p.client.keyPEM), "\n")[1]) {
			t.Errorf("the error holds key material: %v", err)
		}
	}
	if (gateway.TLSConfig{}).Enabled() || (gateway.TLSConfig{}).Check() != nil {
		t.Fatal("an empty tls section is not off")
	}
	if !(gateway.TLSConfig{ClientCAFile: "x"}).MutualRequired() {
		t.Fatal("client_ca_file without require_client_cert does not require client certificates")
	}
}

// Under TLS the console's session cookie is Secure.
func TestTLS_SessionCookieSecure(t *testing.T) {
	p := newPKI(t)
	ts := mustTLS(t, gateway.TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile}, nil)
	base := "https://" + serveTLS(t, newGateway(t, gateway.Config{APIToken: consoleToken}), ts)
	req, _ := http.NewRequest("POST", base+"/api/session", strings.NewReader(`{"token":"`+consoleToken+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := tlsClient(p.roots(), nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("sign-in over https: %d", resp.StatusCode)
	}
	if c := cookieOf(t, resp.Header); !c.Secure || !c.HttpOnly {
		t.Fatalf("cookie over https: %+v", c)
	}
}

// Required mutual TLS authenticates the listen address: the exposure check
// lets a non-loopback address without an api_token start; TLS alone does not.
func TestTLS_ExposureWithMutualTLS(t *testing.T) {
	if _, err := gateway.CheckExposure(gateway.Exposure{Addr: "0.0.0.0:8443"}); err == nil {
		t.Fatal("open non-loopback address accepted")
	}
	w, err := gateway.CheckExposure(gateway.Exposure{Addr: "0.0.0.0:8443", ClientCertRequired: true})
	if err != nil || len(w) != 0 {
		t.Fatalf("required mutual TLS: %v %v", w, err)
	}
	// pprof on another listener is not covered by the certificate.
	if _, err := gateway.CheckExposure(gateway.Exposure{Addr: "0.0.0.0:8443", ClientCertRequired: true, DebugAddr: "0.0.0.0:6060"}); err == nil {
		t.Fatal("non-loopback debug_addr accepted under mutual TLS")
	}
}
