package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/gateway"
)

// serveLimited serves h under l on a loopback port and returns its address.
func serveLimited(t *testing.T, h http.Handler, l gateway.Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := gateway.NewHTTPServer(h, l)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// closedWithin writes raw to addr and reports how long the server took to
// close the connection (or fails after limit).
func closedWithin(t *testing.T, addr, raw string, limit time.Duration) time.Duration {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(start.Add(limit))
	_, err = io.Copy(io.Discard, c) // until the server closes (EOF or reset)
	took := time.Since(start)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the connection was still open after %v", limit)
	}
	return took
}

// A client that announces a body and sends it slowly (or never) is cut
// off after the body timeout, as is one that never finishes its headers;
// a handler that has read its body may take as long as it needs.
func TestIssue16_F29_SlowBodyIsCutOff(t *testing.T) {
	l := gateway.Limits{ReadHeaderTimeout: time.Second, BodyTimeout: time.Second}
	read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "slow body", http.StatusRequestTimeout)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	addr := serveLimited(t, read, l)
	for name, raw := range map[string]string{
		"body short of its length": "POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":1}",
		"chunked body never ended": "POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{\"a\":1}\r\n",
		"headers never ended":      "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n",
	} {
		if took := closedWithin(t, addr, raw, 8*time.Second); took > 4*time.Second {
			t.Errorf("%s: closed after %v, want about 1s", name, took)
		}
	}
	// A handler that never reads the body does not keep the connection
	// either: the server's draining of it is bounded too.
	ignore := serveLimited(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }), l)
	if took := closedWithin(t, ignore, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n1234567", 8*time.Second); took > 4*time.Second {
		t.Errorf("unread body: closed after %v", took)
	}

	// Once the body is in, the deadline is lifted: a synchronous flow that
	// runs past it answers, with its context intact.
	slow := serveLimited(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case <-time.After(2500 * time.Millisecond):
		case <-r.Context().Done():
			http.Error(w, "context canceled", 500)
			return
		}
		fmt.Fprintf(w, "done %s", body)
	}), l)
	c, err := net.Dial("tcp", slow)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(got), "done {}") {
		t.Fatalf("long handler after the body: %d %s", resp.StatusCode, got)
	}
}
