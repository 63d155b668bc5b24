package egress

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMatching(t *testing.T) {
	p := MustNew("api.example.com:443", "*.corp.example", "10.0.0.0/8", "192.168.1.5", "[::1]:5432", "fd00::/8", "db.local:5432", "Upper.Example.ORG.")
	for _, c := range []struct {
		host string
		port int
		want bool
	}{
		{"api.example.com", 443, true},
		{"API.example.com.", 443, true},
		{"api.example.com", 80, false},
		{"example.com", 443, false},
		{"evil-api.example.com", 443, false},
		{"a.corp.example", 80, true},
		{"a.b.corp.example", 1, true},
		{"corp.example", 80, false},
		{"xcorp.example", 80, false},
		{"10.1.2.3", 80, true},
		{"11.1.2.3", 80, false},
		{"192.168.1.5", 9, true},
		{"192.168.1.6", 9, false},
		{"::1", 5432, true},
		{"[::1]", 5432, true},
		{"::1", 5433, false},
		{"fd12::1", 1, true},
		{"fe80::1", 1, false},
		{"::ffff:10.0.0.1", 1, true}, // IPv4-mapped
		{"db.local", 5432, true},
		{"db.local", 3306, false},
		{"upper.example.org", 1, true},
	} {
		if got := p.Allowed(c.host, c.port); got != c.want {
			t.Errorf("Allowed(%s, %d) = %v, want %v", c.host, c.port, got, c.want)
		}
	}
	var nilP *Policy
	if !nilP.Allowed("anything.example", 1) {
		t.Fatal("a nil policy must allow everything (no egress section: today's behaviour)")
	}
	if MustNew().Allowed("127.0.0.1", 80) {
		t.Fatal("an empty allow list must refuse everything")
	}
	if !MustNew("*:443").Allowed("x.example", 443) || MustNew("*:443").Allowed("x.example", 80) {
		t.Fatal("*:443 is any host on port 443")
	}
}

func TestBadEntries(t *testing.T) {
	if !MustNew("[::1]").Allowed("::1", 80) || !MustNew("::ffff:10.0.0.0/104").Allowed("10.1.1.1", 1) {
		t.Fatal("[::1] without a port, or an IPv4-mapped CIDR")
	}
	for _, s := range []string{"", "   ", "10.0.0.0/33", "::ffff:0.0.0.0/64", "host:99999", "host:0", "host:abc", "a*.example.com", "foo.*.com", "exa mple.com", "fe80::1%eth0", "http://x.example"} {
		if _, err := New(&Config{Allow: []string{s}}); err == nil {
			t.Errorf("entry %q accepted", s)
		}
	}
}

// resolver answers from a fixed table (no DNS).
func resolver(table map[string][]string) Resolver {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		ips, ok := table[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		var out []netip.Addr
		for _, s := range ips {
			out = append(out, netip.MustParseAddr(s))
		}
		return out, nil
	}
}

func listen(t *testing.T) (port string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return port
}

func TestResolution(t *testing.T) {
	port := listen(t)
	var logs bytes.Buffer
	p := MustNew("127.0.0.1", "allowed.example")
	p.Log = slog.New(slog.NewTextHandler(&logs, nil))
	p.Resolver = resolver(map[string][]string{
		"loop.example":    {"127.0.0.1"}, // unlisted name, listed address: allowed
		"rebind.example":  {"10.9.9.9"},  // unlisted name, unlisted address: refused
		"allowed.example": {"127.0.0.1"}, // listed name
		"mixed.example":   {"10.9.9.9", "127.0.0.1"},
	})
	ctx := WithCaller(context.Background(), "connection crm")
	for _, h := range []string{"loop.example", "allowed.example", "mixed.example", "127.0.0.1"} {
		c, err := p.DialContext(ctx, "tcp", net.JoinHostPort(h, port))
		if err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		c.Close()
	}
	if p.Refused() != 0 {
		t.Fatalf("refused = %d", p.Refused())
	}
	_, err := p.DialContext(ctx, "tcp", net.JoinHostPort("rebind.example", port))
	if !IsRefused(err) || err.Error() != "egress: dial to rebind.example:"+port+" refused by the egress policy" {
		t.Fatalf("a name resolving to a refused address: %v", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || ne.Timeout() {
		t.Fatal("a refusal is a non-timeout net.Error")
	}
	if _, err := p.DialContext(ctx, "tcp", "10.9.9.9:"+port); !IsRefused(err) {
		t.Fatalf("a refused IP: %v", err)
	}
	if _, err := p.DialContext(ctx, "tcp", "nowhere.example:"+port); !IsRefused(err) {
		t.Fatalf("an unlisted name that does not resolve: %v", err)
	}
	if p.Refused() != 3 {
		t.Fatalf("refused = %d, want 3", p.Refused())
	}
	line := logs.String()
	for _, want := range []string{"host=rebind.example", "port=" + port, `by="connection crm"`, "resolved=10.9.9.9", "egress: dial refused"} {
		if !strings.Contains(line, want) {
			t.Errorf("log lacks %q:\n%s", want, line)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(p.Collector())
	if n := testutil.ToFloat64(p.counter.WithLabelValues("rebind.example:" + port)); n != 1 {
		t.Fatalf("weft_egress_refused_total{target=rebind.example:%s} = %v", port, n)
	}
	if n, err := testutil.GatherAndCount(reg, "weft_egress_refused_total"); err != nil || n != 3 {
		t.Fatalf("series = %d, %v", n, err)
	}
}

func TestNamesOnlyNoLookup(t *testing.T) {
	p := MustNew("localhost")
	p.Resolver = func(context.Context, string) ([]netip.Addr, error) {
		t.Fatal("an unlisted name was looked up though only names are listed")
		return nil, nil
	}
	if _, err := p.DialContext(context.Background(), "tcp", "api.example.com:443"); !IsRefused(err) {
		t.Fatal(err)
	}
}

func TestLogRefusedOff(t *testing.T) {
	off := false
	p, err := New(&Config{Allow: []string{"127.0.0.1"}, LogRefused: &off})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	p.Log = slog.New(slog.NewTextHandler(&logs, nil))
	if _, err := p.DialContext(context.Background(), "tcp", "10.0.0.1:80"); !IsRefused(err) {
		t.Fatal(err)
	}
	if logs.Len() != 0 || p.Refused() != 1 {
		t.Fatalf("log %q, refused %d", logs.String(), p.Refused())
	}
}

// A redirect from an allowed host to a refused one is refused: each hop dials.
func TestRedirect(t *testing.T) {
	refusedHits := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { refusedHits++ }))
	defer target.Close()
	_, tport, _ := net.SplitHostPort(target.Listener.Addr().String())
	start := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://elsewhere.example:"+tport+"/", http.StatusFound)
	}))
	defer start.Close()
	_, sport, _ := net.SplitHostPort(start.Listener.Addr().String())
	p := MustNew("start.example")
	p.Resolver = resolver(map[string][]string{"start.example": {"127.0.0.1"}, "elsewhere.example": {"127.0.0.1"}})
	cl := &http.Client{Transport: &http.Transport{DialContext: p.Dialer("test", nil)}}
	_, err := cl.Get("http://start.example:" + sport + "/")
	if !IsRefused(err) || refusedHits != 0 {
		t.Fatalf("redirect to a refused host: err %v, hits %d", err, refusedHits)
	}
	// Without the policy the redirect is followed (the test is not vacuous).
	var none *Policy
	cl = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, n, a string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(a)
		return none.DialContext(ctx, n, "127.0.0.1:"+port)
	}}}
	resp, err := cl.Get("http://start.example:" + sport + "/")
	if err != nil || refusedHits != 1 {
		t.Fatalf("without a policy: %v, hits %d", err, refusedHits)
	}
	resp.Body.Close()
}
