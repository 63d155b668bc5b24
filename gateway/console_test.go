package gateway_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/web"
)

func consoleFS() fstest.MapFS {
	return fstest.MapFS{
		"index.html":       {Data: []byte(`<!doctype html><script type="module" src="/assets/app-1.js"></script>`)},
		"assets/app-1.js":  {Data: []byte(strings.Repeat("console.log('weft');\n", 200))},
		"assets/app-1.css": {Data: []byte("body{}")},
		"favicon.svg":      {Data: []byte("<svg/>")},
	}
}

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableCompression: true}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	b, _ := io.ReadAll(r)
	return resp, string(b)
}

// The console is served at / with its strict CSP on every response, hashed
// assets cached for good, unknown non-API paths answered with index.html, and
// API-shaped paths kept as JSON 404s.
func TestConsoleServedWithStrictCSP(t *testing.T) {
	srv := newServer(t, gateway.Config{Console: consoleFS()})
	for _, p := range []string{"/", "/index.html", "/flows/x", "/assets/app-1.js", "/favicon.svg"} {
		resp, body := get(t, srv.URL+p, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d", p, resp.StatusCode)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if csp != gateway.ConsoleCSP || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
			t.Errorf("GET %s: CSP %q", p, csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: framing/nosniff headers missing: %v", p, resp.Header)
		}
		if (p == "/" || p == "/flows/x") && !strings.Contains(body, `src="/assets/app-1.js"`) {
			t.Errorf("GET %s did not serve index.html: %q", p, body)
		}
	}
	resp, _ := get(t, srv.URL+"/assets/app-1.js", nil)
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("asset Cache-Control = %q", cc)
	}
	resp, _ = get(t, srv.URL+"/", nil)
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("index Cache-Control = %q", cc)
	}
	resp, body := get(t, srv.URL+"/assets/app-1.js", map[string]string{"Accept-Encoding": "gzip"})
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(body, "console.log") {
		t.Errorf("asset not gzipped for a client that accepts it: %v", resp.Header)
	}
	for _, p := range []string{"/assets/missing.js", "/robots.txt"} {
		if resp, _ := get(t, srv.URL+p, nil); resp.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
	for _, p := range []string{"/api/nope", "/hooks/", "/mcp/x/y"} {
		resp, body := get(t, srv.URL+p, nil)
		if resp.StatusCode == 200 || !strings.Contains(body, `"error"`) {
			t.Errorf("GET %s = %d %q, want a JSON error", p, resp.StatusCode, body)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader("x"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %v %v, want 405", resp.StatusCode, err)
	}
}

// Without a token the console, like the API, answers only to loopback host
// names (DNS rebinding).
func TestConsoleRefusesForeignHostWithoutToken(t *testing.T) {
	srv := newServer(t, gateway.Config{Console: consoleFS()})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.Host = "evil.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("GET / with Host evil.example = %d, want 403", resp.StatusCode)
	}
}

// The embedded bundle is a built console: index.html names its assets and
// every asset it names is in the bundle.
func TestEmbeddedConsoleIsBuilt(t *testing.T) {
	srv := newServer(t, gateway.Config{Console: web.Dist()})
	resp, body := get(t, srv.URL+"/", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `<div id="root">`) {
		t.Fatalf("GET / = %d %q", resp.StatusCode, body)
	}
	n, gz := 0, 0
	for _, part := range strings.Split(body, `"/assets/`)[1:] {
		name := part[:strings.IndexByte(part, '"')]
		r, asset := get(t, srv.URL+"/assets/"+name, nil)
		if r.StatusCode != 200 {
			t.Errorf("index.html names /assets/%s: %d", name, r.StatusCode)
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write([]byte(asset))
		_ = zw.Close()
		gz += buf.Len()
		n++
	}
	if n == 0 {
		t.Fatal("index.html names no assets")
	}
	// The budget for the console's first load: under 400 KB gzipped
	// (the builder, editor and charts are chunks loaded on demand).
	if gz >= 400<<10 {
		t.Errorf("the console's first load is %d KB gzipped, over the 400 KB budget", gz>>10)
	}
}
