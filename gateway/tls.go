package gateway

// Encryption in transit: HTTPS on the listen address, TLS 1.2 at least
// with forward-secret AEAD cipher suites only, optional mutual TLS, and the
// certificate (and client CA) reloaded from their files without a restart.

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
)

// TLSConfig is the tls: section of the config.
type TLSConfig struct {
	CertFile     string `yaml:"cert_file"`      // PEM certificate chain (leaf first)
	KeyFile      string `yaml:"key_file"`       // PEM private key
	ClientCAFile string `yaml:"client_ca_file"` // PEM CA certificates client certificates must chain to (mutual TLS)
	MinVersion   string `yaml:"min_version"`    // "1.2" (default) or "1.3"
	// RequireClientCert: every connection must present a certificate that
	// chains to client_ca_file (default true when client_ca_file is set);
	// false verifies one only when the client offers it.
	RequireClientCert *bool `yaml:"require_client_cert"`
}

// Enabled reports whether any of the section is set (then HTTPS is served).
func (c TLSConfig) Enabled() bool {
	return c.CertFile != "" || c.KeyFile != "" || c.ClientCAFile != "" || c.MinVersion != "" || c.RequireClientCert != nil
}

// MutualRequired reports whether every connection must present a client
// certificate signed by client_ca_file.
func (c TLSConfig) MutualRequired() bool {
	return c.ClientCAFile != "" && (c.RequireClientCert == nil || *c.RequireClientCert)
}

// Check validates the section without reading the files.
func (c TLSConfig) Check() error {
	if !c.Enabled() {
		return nil
	}
	if c.CertFile == "" || c.KeyFile == "" {
		return weft.Errorf(weft.EInvalid, "tls: cert_file and key_file are both required")
	}
	if _, err := c.minVersion(); err != nil {
		return err
	}
	if c.RequireClientCert != nil && *c.RequireClientCert && c.ClientCAFile == "" {
		return weft.Errorf(weft.EInvalid, "tls: require_client_cert needs client_ca_file (the CA client certificates must chain to)")
	}
	return nil
}

func (c TLSConfig) minVersion() (uint16, error) {
	switch c.MinVersion {
	case "", "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, weft.Errorf(weft.EInvalid, "tls: min_version %q: use \"1.2\" or \"1.3\" (older versions are refused)", clip(c.MinVersion, 20))
}

// TLSCipherSuites are the TLS 1.2 cipher suites served: ECDHE key
// exchange (forward secrecy) with an AEAD (AES-GCM or ChaCha20-Poly1305).
// No CBC, no RSA key exchange, no 3DES or RC4. TLS 1.3's suites are all
// of this kind and not configurable.
var TLSCipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// TLSReloadInterval is how often, at most, the files are looked at during
// handshakes.
const TLSReloadInterval = 5 * time.Second

// TLS serves the configured certificate and reloads it when its files
// change: a handshake looks at the files at most once per interval
// (Reload does it at once: on SIGHUP). A new pair that does not load is
// logged and the old one keeps serving.
type TLS struct {
	cfg      TLSConfig
	log      *slog.Logger
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	checked time.Time   // last look at the files
	stamp   string      // digest of the files loaded
	conf    *tls.Config // served to each handshake
	base    *tls.Config // the fixed part
	leaf    *x509.Certificate
}

// NewTLS loads the files; an error here (missing file, bad PEM, a key that
// does not match the certificate) refuses to start.
func NewTLS(c TLSConfig, log *slog.Logger) (*TLS, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	if !c.Enabled() {
		return nil, weft.Errorf(weft.EInvalid, "tls: not configured")
	}
	minV, _ := c.minVersion()
	clientAuth := tls.NoClientCert
	if c.ClientCAFile != "" {
		clientAuth = tls.VerifyClientCertIfGiven
		if c.MutualRequired() {
			clientAuth = tls.RequireAndVerifyClientCert
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &TLS{cfg: c, log: log, interval: TLSReloadInterval, now: time.Now,
		base: &tls.Config{MinVersion: minV, CipherSuites: TLSCipherSuites, ClientAuth: clientAuth, NextProtos: []string{"h2", "http/1.1"}}}
	stamp := t.stampFiles()
	conf, leaf, err := t.load()
	if err != nil {
		return nil, err
	}
	t.conf, t.leaf, t.stamp, t.checked = conf, leaf, stamp, t.now()
	return t, nil
}

// SetReloadInterval changes how often handshakes look at the files (tests).
func (t *TLS) SetReloadInterval(d time.Duration) {
	t.mu.Lock()
	t.interval = d
	t.mu.Unlock()
}

// Config is the server side tls.Config: each handshake gets the current
// certificate and client CAs.
func (t *TLS) Config() *tls.Config {
	return &tls.Config{
		MinVersion:   t.base.MinVersion,
		CipherSuites: t.base.CipherSuites,
		NextProtos:   t.base.NextProtos,
		ClientAuth:   t.base.ClientAuth,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return t.current(), nil
		},
	}
}

// Certificate returns the leaf certificate being served.
func (t *TLS) Certificate() *x509.Certificate {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.leaf
}

// Reload re-reads the files now. On error the old certificate keeps
// serving; the error is returned (and logged).
func (t *TLS) Reload() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.checked = t.now()
	return t.reloadLocked(t.stampFiles())
}

func (t *TLS) current() *tls.Config {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now := t.now(); now.Sub(t.checked) >= t.interval {
		t.checked = now
		if stamp := t.stampFiles(); stamp != t.stamp {
			_ = t.reloadLocked(stamp)
		}
	}
	return t.conf
}

func (t *TLS) reloadLocked(stamp string) error {
	conf, leaf, err := t.load()
	if err != nil {
		// Remember the stamp: the same broken files are not retried on
		// every handshake, only once they change again (or on SIGHUP).
		t.stamp = stamp
		t.log.Error("tls: the new certificate files do not load; still serving the previous certificate", "err", err)
		return err
	}
	t.conf, t.leaf, t.stamp = conf, leaf, stamp
	t.log.Info("tls: certificate reloaded", "subject", leaf.Subject.String(), "not_after", leaf.NotAfter.UTC().Format(time.RFC3339),
		"serial", hex.EncodeToString(leaf.SerialNumber.Bytes()))
	return nil
}

// stampFiles: a digest of the files' contents ("-" for a file that cannot
// be read: load reports it). Contents, not modification times: an edit
// within the file system's timestamp resolution, or a file renamed into
// place with an older time, is still seen. The files are small and read
// at most once per interval.
func (t *TLS) stampFiles() string {
	h := sha256.New()
	for _, f := range []string{t.cfg.CertFile, t.cfg.KeyFile, t.cfg.ClientCAFile} {
		if f == "" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			h.Write([]byte("-"))
			continue
		}
		d := sha256.Sum256(data)
		h.Write(d[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// load reads the files into a fresh config. Errors name the file and the
// problem, never the key's content.
func (t *TLS) load() (*tls.Config, *x509.Certificate, error) {
	certPEM, err := os.ReadFile(t.cfg.CertFile)
	if err != nil {
		return nil, nil, weft.Errorf(weft.EInvalid, "tls: cert_file: %v", err)
	}
	keyPEM, err := os.ReadFile(t.cfg.KeyFile)
	if err != nil {
		return nil, nil, weft.Errorf(weft.EInvalid, "tls: key_file: %v", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, weft.Errorf(weft.EInvalid, "tls: cert_file %s and key_file %s: %v", t.cfg.CertFile, t.cfg.KeyFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, nil, weft.Errorf(weft.EInvalid, "tls: cert_file %s: %v", t.cfg.CertFile, err)
		}
	}
	conf := t.base.Clone()
	conf.Certificates = []tls.Certificate{cert}
	if t.cfg.ClientCAFile != "" {
		caPEM, err := os.ReadFile(t.cfg.ClientCAFile)
		if err != nil {
			return nil, nil, weft.Errorf(weft.EInvalid, "tls: client_ca_file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, nil, weft.Errorf(weft.EInvalid, "tls: client_ca_file %s holds no PEM certificate", t.cfg.ClientCAFile)
		}
		conf.ClientCAs = pool
	}
	return conf, leaf, nil
}

// ClientCertPrincipal is the principal a verified client certificate
// stands for: Kind client_cert, Name the subject's common name, ID its
// serial number (hex). ok is false when the connection carries no
// certificate verified against client_ca_file.
func ClientCertPrincipal(r *http.Request) (access.Principal, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return access.Principal{}, false
	}
	leaf := r.TLS.VerifiedChains[0][0]
	name := leaf.Subject.CommonName
	if name == "" {
		name = leaf.Subject.String()
	}
	return access.Principal{Kind: access.KindClientCert, ID: hex.EncodeToString(leaf.SerialNumber.Bytes()), Name: name,
		Roles: map[string]string{"*": "admin"}}, true
}
