package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The tls: section is read, checked (unknown keys, versions below 1.2, a
// certificate without its key: refused) and makes ${self} https://.
func TestIssue18_TLSConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "w.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := loadConfig(write("addr: 127.0.0.1:8443\ntls: {cert_file: s.crt, key_file: s.key, client_ca_file: ca.crt, min_version: '1.3'}\n"+
		"connections:\n  me: {connector: http, base_url: '${self}/sandbox/x'}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS.CertFile != "s.crt" || c.TLS.KeyFile != "s.key" || c.TLS.ClientCAFile != "ca.crt" || c.TLS.MinVersion != "1.3" || !c.TLS.MutualRequired() {
		t.Fatalf("tls: %+v", c.TLS)
	}
	if err := c.expandSelf(); err != nil {
		t.Fatal(err)
	}
	if got := c.Connections["me"].BaseURL; got != "https://127.0.0.1:8443/sandbox/x" {
		t.Fatalf("${self} under tls: %q", got)
	}
	c, err = loadConfig(write("tls: {cert_file: s.crt, key_file: s.key, client_ca_file: ca.crt, require_client_cert: false}\n"), nil)
	if err != nil || c.TLS.MutualRequired() {
		t.Fatalf("require_client_cert false: %+v %v", c, err)
	}
	for body, want := range map[string]string{
		"tls: {cert_file: s.crt}\n":                                             "cert_file and key_file",
		"tls: {cert_file: s.crt, key_file: s.key, min_version: '1.1'}\n":        "min_version",
		"tls: {cert_file: s.crt, key_file: s.key, min_version: '1.0'}\n":        "min_version",
		"tls: {cert_file: s.crt, key_file: s.key, require_client_cert: true}\n": "client_ca_file",
		"tls: {cert_file: s.crt, key_file: s.key, ciphers: [rc4]}\n":            "ciphers",
	} {
		if _, err := loadConfig(write(body), nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}

// The CLI's TLS variables: files that do not load are a clear error, not
// a silent fall-back to an unauthenticated client.
func TestIssue18_CLITLSFiles(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("nothing"), 0o600)
	for _, c := range []struct{ ca, cert, key, want string }{
		{filepath.Join(dir, "missing.pem"), "", "", "WEFT_CA_FILE"},
		{junk, "", "", "no PEM certificate"},
		{"", junk, "", "go together"},
		{"", "", junk, "go together"},
		{"", junk, junk, "WEFT_CLIENT_CERT"},
	} {
		if _, err := cliHTTPClient(c.ca, c.cert, c.key); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	t.Setenv("WEFT_CA_FILE", junk)
	var out, errb strings.Builder
	if code := run([]string{"flow", "list", "--server", "https://127.0.0.1:1"}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "no PEM certificate") {
		t.Fatalf("%d %s", code, errb.String())
	}
}
