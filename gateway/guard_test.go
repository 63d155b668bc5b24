package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/monitor"
)

const tinyFlow = "name: tiny\nsteps:\n  - id: a\n    set: {v: 1}\n"

// send makes a request exactly as given (no default headers) and returns
// the status, the decoded body and the headers.
func send(t *testing.T, method, u, body string, hdr map[string]string, host string) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out, resp.Header
}

// A page on another site must not change anything through a browser on
// the operator's machine: Origin and Sec-Fetch-Site are checked on every
// state-changing request, and bodies must be JSON or YAML (which no form
// and no "simple" cross-site fetch can send). Clients that are not
// browsers, and Weft's own origin, keep working.
func TestIssue16_F04_CrossSiteRequestsRefused(t *testing.T) {
	srv := newServer(t, gateway.Config{})
	self := srv.URL // http://127.0.0.1:PORT
	u, _ := url.Parse(self)
	evil := "http://evil.example"
	yaml := map[string]string{"Content-Type": "application/yaml"}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	refused := []struct {
		name, method, path, body string
		hdr                      map[string]string
		status                   int
	}{
		// The issue's reproduction: a text/plain form-less POST from evil.example.
		{"text/plain from another origin", "POST", "/api/flows", tinyFlow, map[string]string{"Content-Type": "text/plain", "Origin": evil}, 403},
		{"yaml from another origin", "POST", "/api/flows", tinyFlow, with(yaml, "Origin", evil), 403},
		{"cross-site fetch metadata, no origin", "POST", "/api/flows", tinyFlow, with(yaml, "Sec-Fetch-Site", "cross-site"), 403},
		{"same-site is not same-origin", "POST", "/api/flows", tinyFlow, with(yaml, "Sec-Fetch-Site", "same-site", "Origin", "http://other."+u.Hostname()), 403},
		{"cross-site metadata beats a forged same origin", "POST", "/api/flows", tinyFlow, with(yaml, "Sec-Fetch-Site", "cross-site", "Origin", self), 403},
		{"null origin (sandboxed frame, data: URL)", "POST", "/api/flows", tinyFlow, with(yaml, "Origin", "null"), 403},
		{"same host, other port", "POST", "/api/flows", tinyFlow, with(yaml, "Origin", "http://"+u.Hostname()+":1"), 403},
		{"origin that only starts like ours", "POST", "/api/flows", tinyFlow, with(yaml, "Origin", self+".evil.example"), 403},
		{"origin with our host as user info", "POST", "/api/flows", tinyFlow, with(yaml, "Origin", "http://"+u.Host+"@evil.example"), 403},
		{"allow_private on a connection", "PUT", "/api/connections/x", `{"connector":"http","allow_private":true}`, map[string]string{"Content-Type": "text/plain", "Origin": evil}, 403},
		{"create an MCP key", "POST", "/api/mcp/keys", `{"name":"x","scopes":["*"]}`, map[string]string{"Content-Type": "application/json", "Origin": evil}, 403},
		{"empty-bodied POST from another origin", "POST", "/api/secrets/rotate", "", map[string]string{"Origin": evil}, 403},
		{"DELETE from another origin", "DELETE", "/api/connections/x", "", map[string]string{"Origin": evil}, 403},
		{"PATCH from another origin", "PATCH", "/api/flows", "{}", map[string]string{"Content-Type": "application/json", "Origin": evil}, 403},
		// A body must say it is JSON or YAML, even from a non-browser client.
		{"text/plain body", "POST", "/api/flows", tinyFlow, map[string]string{"Content-Type": "text/plain"}, 415},
		{"form body", "POST", "/api/flows", tinyFlow, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"multipart body", "POST", "/api/flows", tinyFlow, map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, 415},
		{"body without a content type (a Blob)", "POST", "/api/flows", tinyFlow, nil, 415},
		{"lookalike type", "POST", "/api/flows", tinyFlow, map[string]string{"Content-Type": "application/jsonp"}, 415},
		{"text/plain naming json as a parameter", "POST", "/api/flows", tinyFlow, map[string]string{"Content-Type": "text/plain; x=application/json"}, 415},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			code, out, _ := send(t, c.method, self+c.path, c.body, c.hdr, "")
			if code != c.status {
				t.Fatalf("%s %s: got %d %v, want %d", c.method, c.path, code, out, c.status)
			}
			if want := map[int]string{403: "forbidden", 415: "invalid"}[c.status]; errCode(out) != want {
				t.Fatalf("error %v, want code %s", out, want)
			}
		})
	}
	if code, out, _ := send(t, "GET", self+"/api/flows", "", nil, ""); code != 200 || len(out["flows"].([]any)) != 0 {
		t.Fatalf("a refused request deployed something: %d %v", code, out)
	}
	accepted := []struct {
		name string
		hdr  map[string]string
	}{
		{"curl (no origin, no fetch metadata)", yaml},
		{"json with a charset", map[string]string{"Content-Type": "application/json; charset=utf-8"}},
		{"x-yaml", map[string]string{"Content-Type": "application/x-yaml"}},
		{"text/yaml", map[string]string{"Content-Type": "text/yaml"}},
		{"a +json type", map[string]string{"Content-Type": "application/vnd.weft+json"}},
		{"same origin", with(yaml, "Origin", self)},
		{"same-origin fetch metadata", with(yaml, "Sec-Fetch-Site", "same-origin", "Origin", self)},
		{"user-initiated (fetch metadata none)", with(yaml, "Sec-Fetch-Site", "none")},
	}
	for _, c := range accepted {
		t.Run(c.name, func(t *testing.T) {
			if code, out, _ := send(t, "POST", self+"/api/flows", tinyFlow, c.hdr, ""); code != 201 {
				t.Fatalf("got %d %v, want 201", code, out)
			}
		})
	}
	// Reading is not state-changing; an empty-bodied POST needs no type.
	if code, _, _ := send(t, "GET", self+"/api/flows", "", map[string]string{"Origin": evil, "Sec-Fetch-Site": "cross-site"}, ""); code != 200 {
		t.Fatalf("cross-site GET: %d", code)
	}
	if code, out, _ := send(t, "POST", self+"/api/flows/tiny/runs", "", nil, ""); code != 200 {
		t.Fatalf("empty-bodied POST from curl: %d %v", code, out)
	}
	// Webhooks are server-to-server by design (signed where configured).
	if code, out, _ := send(t, "POST", self+"/hooks/tiny", "{}", map[string]string{"Content-Type": "text/plain", "Origin": evil}, ""); code == 403 || code == 415 {
		t.Fatalf("webhook refused as cross-site: %d %v", code, out)
	}
}

// A page whose DNS name rebinds to 127.0.0.1 is same-origin with itself:
// Origin and Host both say evil.example. An open (tokenless) server
// answers only under loopback names or its configured public URL.
func TestIssue16_F04_DNSRebindingRefused(t *testing.T) {
	srv := newServer(t, gateway.Config{Metrics: monitor.NewMetrics().Handler()})
	u, _ := url.Parse(srv.URL)
	port := u.Port()
	rebound := "evil.example:" + port
	for _, c := range []struct {
		method, path, body string
		hdr                map[string]string
	}{
		{"GET", "/api/connections", "", nil},
		{"GET", "/api/runs", "", map[string]string{"Sec-Fetch-Site": "same-origin"}},
		{"POST", "/api/flows", tinyFlow, map[string]string{"Content-Type": "application/yaml", "Origin": "http://" + rebound, "Sec-Fetch-Site": "same-origin"}},
		{"GET", "/metrics", "", nil},
	} {
		if code, out, _ := send(t, c.method, srv.URL+c.path, c.body, c.hdr, rebound); code != 403 || errCode(out) != "forbidden" {
			t.Errorf("%s %s as %s: %d %v, want 403", c.method, c.path, rebound, code, out)
		}
	}
	for _, h := range []string{"localhost:" + port, "LOCALHOST:" + port, "127.0.0.1:" + port, "[::1]:" + port, "127.0.0.1"} {
		if code, out, _ := send(t, "GET", srv.URL+"/api/flows", "", nil, h); code != 200 {
			t.Errorf("Host %s: %d %v", h, code, out)
		}
	}
	for _, h := range []string{"localhost.evil.example:" + port, "127.0.0.1.nip.io:" + port, "0x7f000001:" + port} {
		if code, _, _ := send(t, "GET", srv.URL+"/api/flows", "", nil, h); code != 403 {
			t.Errorf("Host %s: %d, want 403", h, code)
		}
	}

	// The public URL is Weft's own name: its host and origin are trusted.
	pub := newServer(t, gateway.Config{PublicURL: "http://weft.internal:" + port})
	hdr := map[string]string{"Content-Type": "application/yaml", "Origin": "http://weft.internal:" + port}
	if code, out, _ := send(t, "POST", pub.URL+"/api/flows", tinyFlow, hdr, "weft.internal:"+port); code != 201 {
		t.Fatalf("public URL: %d %v", code, out)
	}
	// With an API token, a rebound page gets nothing without the token.
	tok := newServer(t, gateway.Config{APIToken: "0123456789abcdef"})
	if code, _, _ := send(t, "GET", tok.URL+"/api/flows", "", nil, rebound); code != 401 {
		t.Fatalf("token server, rebound host, no token: %d", code)
	}
	if code, _, _ := send(t, "GET", tok.URL+"/api/flows", "", map[string]string{"Authorization": "Bearer 0123456789abcdef"}, "weft.example.com"); code != 200 {
		t.Fatalf("token server under its real name: %d", code)
	}
}

type fakeSession struct{ token string }

func (s fakeSession) CSRFToken() string { return s.token }

// fakeSessions stands in for the console's cookie sign-in.
type fakeSessions map[string]string // cookie value -> CSRF token

func (f fakeSessions) Session(r *http.Request) (gateway.Session, bool) {
	c, err := r.Cookie("weft_session")
	if err != nil {
		return nil, false
	}
	tok, ok := f[c.Value]
	if !ok {
		return nil, false
	}
	return fakeSession{tok}, true
}

// A cookie is ambient: a browser sends it with requests other sites make.
// A state-changing request that a cookie session authenticates must carry
// the session's CSRF token; a bearer token is not ambient and needs none.
func TestIssue16_F04_CookieSessionNeedsCSRFToken(t *testing.T) {
	srv := newServer(t, gateway.Config{APIToken: "0123456789abcdef", Sessions: fakeSessions{"s1": "csrf-one", "s2": ""}})
	yaml := "application/yaml"
	for _, c := range []struct {
		name   string
		hdr    map[string]string
		status int
	}{
		{"cookie, no CSRF token", map[string]string{"Content-Type": yaml, "Cookie": "weft_session=s1"}, 403},
		{"cookie, wrong CSRF token", map[string]string{"Content-Type": yaml, "Cookie": "weft_session=s1", "X-CSRF-Token": "csrf-two"}, 403},
		{"cookie, CSRF token of a longer shape", map[string]string{"Content-Type": yaml, "Cookie": "weft_session=s1", "X-CSRF-Token": "csrf-one1"}, 403},
		{"session without a token fails closed", map[string]string{"Content-Type": yaml, "Cookie": "weft_session=s2", "X-CSRF-Token": ""}, 403},
		{"unknown cookie", map[string]string{"Content-Type": yaml, "Cookie": "weft_session=zz", "X-CSRF-Token": "csrf-one"}, 401},
		{"cookie with its CSRF token", map[string]string{"Content-Type": yaml, "Cookie": "weft_session=s1", "X-CSRF-Token": "csrf-one"}, 201},
		{"bearer token (not ambient), cookie too", map[string]string{"Content-Type": yaml, "Cookie": "weft_session=s1", "Authorization": "Bearer 0123456789abcdef"}, 201},
		{"bearer scheme in lower case", map[string]string{"Content-Type": yaml, "Authorization": "bearer 0123456789abcdef"}, 201},
		{"token without the Bearer scheme", map[string]string{"Content-Type": yaml, "Authorization": "0123456789abcdef"}, 401},
		{"nothing", map[string]string{"Content-Type": yaml}, 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			if code, out, _ := send(t, "POST", srv.URL+"/api/flows", tinyFlow, c.hdr, ""); code != c.status {
				t.Fatalf("got %d %v, want %d", code, out, c.status)
			}
		})
	}
	// Reading needs the session only.
	if code, _, _ := send(t, "GET", srv.URL+"/api/flows", "", map[string]string{"Cookie": "weft_session=s1"}, ""); code != 200 {
		t.Fatalf("GET with a session: %d", code)
	}
}

// /metrics names flows and key ids: with an API token set it needs it.
func TestIssue16_F13_MetricsNeedTheAPIToken(t *testing.T) {
	srv := newServer(t, gateway.Config{APIToken: "0123456789abcdef", Metrics: monitor.NewMetrics().Handler()})
	if code, _, _ := send(t, "GET", srv.URL+"/metrics", "", nil, ""); code != 401 {
		t.Fatalf("/metrics without the token: %d, want 401", code)
	}
	if code, _, _ := send(t, "GET", srv.URL+"/metrics", "", map[string]string{"Authorization": "Bearer wrong"}, ""); code != 401 {
		t.Fatalf("/metrics with a wrong token: %d, want 401", code)
	}
	if code, _, _ := send(t, "GET", srv.URL+"/metrics", "", map[string]string{"Authorization": "Bearer 0123456789abcdef"}, ""); code != 200 {
		t.Fatalf("/metrics with the token: %d", code)
	}
	// Liveness stays open.
	if code, _, _ := send(t, "GET", srv.URL+"/healthz", "", nil, ""); code != 200 {
		t.Fatalf("/healthz: %d", code)
	}
}

// A 405 says what went wrong in the error shape and which methods the
// path takes.
func TestIssue16_F30_MethodNotAllowedAnswersJSON(t *testing.T) {
	srv := newServer(t, gateway.Config{})
	for _, c := range []struct{ method, path, allow string }{
		{"PUT", "/api/flows", "GET, POST"},
		{"DELETE", "/healthz", "GET"},
		{"GET", "/api/secrets/rotate", "POST"},
		{"POST", "/api/connections/x", "GET, PUT, DELETE"},
		{"BREW", "/api/flows", "GET, POST"},
	} {
		code, out, h := send(t, c.method, srv.URL+c.path, "", nil, "")
		if code != 405 || errCode(out) != "invalid" || !strings.Contains(toJSON(out), "not allowed") {
			t.Errorf("%s %s: %d %v", c.method, c.path, code, out)
		}
		if h.Get("Allow") != c.allow || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: Allow %q (want %q), Content-Type %q", c.method, c.path, h.Get("Allow"), c.allow, h.Get("Content-Type"))
		}
	}
}

// Binding beyond loopback needs an API token (or --insecure, then loudly).
func TestIssue16_F02_ExposureRules(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "127.1.2.3:8080": true, "localhost:8080": true, "LocalHost:1": true, "[::1]:8080": true,
		"[::ffff:127.0.0.1]:8080": true,
		"0.0.0.0:8080":            false, ":8080": false, "[::]:8080": false, "192.168.1.10:8080": false, "10.0.0.1:80": false,
		"weft.example.com:8080": false, "localhost.evil.example:8080": false, "[fe80::1%eth0]:8080": false, "[::ffff:0.0.0.0]:8080": false,
	} {
		got, err := gateway.Loopback(addr)
		if err != nil || got != want {
			t.Errorf("Loopback(%q) = %v, %v; want %v", addr, got, err, want)
		}
	}
	if _, err := gateway.Loopback("8080"); err == nil {
		t.Error("an address without a port is accepted")
	}
	strong := "0123456789abcdef0123"
	for _, c := range []struct {
		name string
		x    gateway.Exposure
		ok   bool
	}{
		{"loopback, no token", gateway.Exposure{Addr: "127.0.0.1:8080"}, true},
		{"all interfaces, no token", gateway.Exposure{Addr: "0.0.0.0:8080"}, false},
		{"empty host, no token", gateway.Exposure{Addr: ":8080"}, false},
		{"IPv6 any, no token", gateway.Exposure{Addr: "[::]:8080"}, false},
		{"LAN, short token", gateway.Exposure{Addr: "192.168.1.10:8080", APIToken: "secret"}, false},
		{"LAN, token", gateway.Exposure{Addr: "192.168.1.10:8080", APIToken: strong}, true},
		{"token but MCP auth none", gateway.Exposure{Addr: "0.0.0.0:8080", APIToken: strong, MCPAuthMode: "none"}, false},
		{"token but conformance fixture", gateway.Exposure{Addr: "0.0.0.0:8080", APIToken: strong, Conformance: true}, false},
		{"loopback, pprof on all interfaces", gateway.Exposure{Addr: "127.0.0.1:8080", DebugAddr: ":6060"}, false},
		{"loopback, pprof on loopback", gateway.Exposure{Addr: "127.0.0.1:8080", DebugAddr: "127.0.0.1:6060"}, true},
	} {
		warn, err := gateway.CheckExposure(c.x)
		if c.ok != (err == nil) || len(warn) != 0 {
			t.Errorf("%s: err %v, warnings %v", c.name, err, warn)
			continue
		}
		if err != nil && (!strings.Contains(err.Error(), "--insecure") || !strings.Contains(err.Error(), "api_token")) {
			t.Errorf("%s: the refusal does not say what to do: %v", c.name, err)
		}
		if !c.ok {
			c.x.Insecure = true
			warn, err := gateway.CheckExposure(c.x)
			if err != nil || len(warn) == 0 || !strings.Contains(warn[0], "INSECURE") {
				t.Errorf("%s with --insecure: %v %v", c.name, err, warn)
			}
		}
	}
}
