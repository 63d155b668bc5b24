package e2e

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// faultProxy is a TCP proxy the test controls, between an agent and its
// control plane: it records every byte both ways, and can cut the link
// (close every connection and refuse new ones) or delay it.
type faultProxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	cut   bool
	hole  bool // half-open: connections are accepted and held, nothing is forwarded
	delay time.Duration
	seen  bytes.Buffer
	// accepted counts the connections clients opened through the proxy.
	accepted int
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{t: t, ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.Cut(true) })
	return p
}

func (p *faultProxy) URL() string { return "http://" + p.ln.Addr().String() }

// Accepted says how many connections clients opened through the proxy,
// and how many of them are open now.
func (p *faultProxy) Accepted() (opened, open int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted, len(p.conns) / 2 // each open one is piped to one upstream
}

func (p *faultProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.accepted++
		hole := p.hole
		p.mu.Unlock()
		if hole {
			continue // held open, never answered (closed by Cut)
		}
		go p.pipe(c)
	}
}

func (p *faultProxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.copy(up, c) }()
	go func() { defer wg.Done(); p.copy(c, up) }()
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

func (p *faultProxy) copy(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			p.seen.Write(buf[:n])
			d, hole, cut := p.delay, p.hole, p.cut
			p.mu.Unlock()
			for hole && !cut { // half-open: the bytes go nowhere until healed or cut
				time.Sleep(20 * time.Millisecond)
				p.mu.Lock()
				hole, cut = p.hole, p.cut
				p.mu.Unlock()
			}
			if cut {
				return
			}
			if d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or closed: the deferred closes end the other side
		}
	}
}

// Cut closes every connection and refuses new ones (on), or lets them
// through again (off).
func (p *faultProxy) Cut(on bool) {
	p.mu.Lock()
	p.cut = on
	var open []net.Conn
	if on {
		for c := range p.conns {
			open = append(open, c)
		}
	}
	p.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

// Drop closes every open connection once (requests in flight on them
// fail); new connections are let through.
func (p *faultProxy) Drop() {
	p.mu.Lock()
	var open []net.Conn
	for c := range p.conns {
		open = append(open, c)
	}
	p.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

// HalfOpen makes the link half-open (on): connections stay up, new ones
// are accepted, and nothing crosses until it is healed or cut.
func (p *faultProxy) HalfOpen(on bool) {
	p.mu.Lock()
	p.hole = on
	p.mu.Unlock()
}

// Delay holds every chunk d before forwarding it.
func (p *faultProxy) Delay(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}

// Seen is every byte that crossed the proxy, both ways.
func (p *faultProxy) Seen() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.seen.Bytes())
}
