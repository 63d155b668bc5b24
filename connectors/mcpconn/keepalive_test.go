package mcpconn

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// staleListener stands in for a server's keep-alive timeout racing a
// call: a connection that has been idle for idle or longer is reset when
// the next request arrives on it (what a client sees when the server
// closes the connection just as the request is written).
type staleListener struct {
	net.Listener
	idle time.Duration
}

func (l staleListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &staleConn{Conn: c, idle: l.idle}, nil
}

type staleConn struct {
	net.Conn
	idle time.Duration
	mu   sync.Mutex
	last time.Time // when the last answer was written
}

func (c *staleConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	stale := !c.last.IsZero() && time.Since(c.last) >= c.idle
	c.mu.Unlock()
	if n > 0 && stale {
		if tc, ok := c.Conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset, not an orderly close
		}
		c.Conn.Close()
		return 0, io.ErrUnexpectedEOF
	}
	return n, err
}

func (c *staleConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	c.last = time.Now()
	c.mu.Unlock()
	return n, err
}

// An upstream that says it keeps idle connections 1 s (Keep-Alive:
// timeout=1, as Node's http server says timeout=5) and drops them then:
// a call after 1.2 s of quiet goes out on a fresh connection, not on the
// one the server has dropped (before: the call failed with a reset).
func TestUpstreamConnectionsIdleLessThanTheServerKeepsThem(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Keep-Alive", "timeout=1")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
	}))
	srv.Listener = staleListener{Listener: srv.Listener, idle: time.Second}
	srv.Start()
	defer srv.Close()

	u := New("ka", Spec{URL: srv.URL, AllowPrivate: true}, Options{})
	hc := u.httpClient(1 << 20)
	call := func() error {
		resp, err := hc.Post(srv.URL, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	for i := range 3 {
		if err := call(); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	time.Sleep(1200 * time.Millisecond)
	if err := call(); err != nil {
		t.Fatalf("a call after 1.2 s of quiet, with the server keeping idle connections 1 s: %v", err)
	}
}

func TestKeepAliveTimeout(t *testing.T) {
	for v, want := range map[string]time.Duration{
		"timeout=5":            5 * time.Second,
		"timeout=5, max=1000":  5 * time.Second,
		"max=100, Timeout = 2": 2 * time.Second,
		"max=100":              0,
		"timeout=":             0,
		"timeout=-3":           0,
		"timeout=x":            0,
		"timeout=99999":        0,
		"":                     0,
	} {
		if got := keepAliveTimeout(v); got != want {
			t.Errorf("keepAliveTimeout(%q) = %s, want %s", v, got, want)
		}
	}
}
