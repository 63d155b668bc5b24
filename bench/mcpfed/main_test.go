package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/bench/internal/loadgen"
)

// opened is how many connections the second of two closed-loop windows of
// 16 callers opens to a server with client c (the first fills the pool;
// its dials race the callers' first calls, so it may open more than 16).
func opened(t *testing.T, c *http.Client) int64 {
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(200 * time.Microsecond)
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	var before int64
	for i := range 2 {
		_, err := loadgen.Window(16, 300*time.Millisecond, nil, func() error {
			resp, err := c.Post(srv.URL, "application/json", nil)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			before = n.Load()
		}
	}
	return n.Load() - before
}

// The callers' client keeps a connection for each caller: a window opens
// about as many connections as there are callers (http.DefaultClient's
// transport, which keeps 2 idle a host, opens one for most calls).
func TestAgentClientKeepsAConnectionACaller(t *testing.T) {
	if got := opened(t, agentClient(16)); got > 4 {
		t.Fatalf("the agent's client opened %d connections in a second window of 16 callers; want next to none (at most 4)", got)
	}
	// The old agent's client (DefaultTransport's idle limits, a transport
	// of its own) fails the same check.
	old := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	if n := opened(t, old); n <= 4 {
		t.Fatalf("a client with DefaultTransport's limits opened only %d connections in the second window; the check above would not tell the two apart", n)
	}
}

func TestPacedWindowHoldsItsRate(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	n, err := pacedWindow(16, 200, 500*time.Millisecond, func() error {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// 200 a second for 0.5 s: about 100 calls (the callers' last turns may
	// fall just past the window's end), never the thousands an unpaced
	// loop of no-op calls makes.
	if n < 80 || n > 120 {
		t.Fatalf("paced at 200/s for 0.5 s: %d calls, want about 100", n)
	}
}
