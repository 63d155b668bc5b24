package http

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/internal/egress"
)

// The egress policy is enforced on the connector's dials, on every
// redirect hop, on top of allow_private; refusals are permanent errors
// that name the target and never the URL's secrets.
func TestEgressPolicy(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hop" {
			http.Redirect(w, r, "http://other.test:"+r.URL.Query().Get("port")+"/x", http.StatusFound)
			return
		}
		hits++
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	var logs bytes.Buffer
	pol := egress.MustNew("127.0.0.1", "api.test")
	pol.Log = slog.New(slog.NewTextHandler(&logs, nil))
	pol.Resolver = func(_ context.Context, host string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil // every name is loopback here
	}
	// A second policy allowing nothing on loopback: the same calls are refused.
	deny := egress.MustNew("203.0.113.0/24")
	deny.Log = slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	call := func(pol *egress.Policy, conn *connectors.Connection, url string) (any, error) {
		op := New(Options{Egress: pol}).Operations[0]
		return op.Invoke(context.Background(), connectors.Call{Connection: conn, Input: map[string]any{"url": url}})
	}
	conn := &connectors.Connection{Name: "crm", Connector: "http", AllowPrivate: true}
	if _, err := call(pol, conn, srv.URL+"/a?api_key=s3cret"); err != nil || hits != 1 {
		t.Fatalf("allowed: %v (hits %d)", err, hits)
	}
	_, err := call(deny, conn, srv.URL+"/a?api_key=s3cret")
	ce, ok := err.(*connectors.Error)
	if !ok || ce.Class != connectors.Permanent || !strings.Contains(ce.Message, "egress: dial to 127.0.0.1:"+port+" refused by the egress policy") || strings.Contains(ce.Message, "s3cret") {
		t.Fatalf("refused: %#v", err)
	}
	if hits != 1 || deny.Refused() != 1 {
		t.Fatalf("hits %d refused %d", hits, deny.Refused())
	}
	// A name resolving to an allowed address is allowed, an allowed name too.
	if _, err := call(pol, conn, "http://api.test:"+port+"/b"); err != nil || hits != 2 {
		t.Fatalf("allowed name: %v", err)
	}
	// A redirect from an allowed host to an unlisted name that resolves to
	// an allowed address is allowed; to a refused one it is refused.
	if _, err := call(pol, conn, "http://api.test:"+port+"/hop?port="+port); err != nil || hits != 3 {
		t.Fatalf("redirect to an allowed address: %v", err)
	}
	strict := egress.MustNew("api.test")
	strict.Log = pol.Log
	strict.Resolver = pol.Resolver
	if _, err := call(strict, conn, "http://api.test:"+port+"/hop?port="+port); (err == nil || !strings.Contains(err.Error(), "egress: dial to other.test:"+port+" refused")) || hits != 3 {
		t.Fatalf("redirect to a refused host: %v (hits %d)", err, hits)
	}
	if !strings.Contains(logs.String(), "host=other.test") || !strings.Contains(logs.String(), `by="connection crm"`) {
		t.Fatalf("log: %s", logs.String())
	}
	// The private-address guard still applies under an allowing policy.
	if _, err := call(pol, &connectors.Connection{Name: "pub", Connector: "http"}, srv.URL+"/c"); err == nil || !strings.Contains(err.Error(), "non-public") {
		t.Fatalf("private guard: %v", err)
	}
}
