package queue

import (
	"sync"

	"github.com/weftio/weft/connectors"
)

// pool keeps one open client per connection and URL for publishing, and
// dials a new one when the kept one has closed. C is the broker's client
// (an AMQP connection, a NATS connection).
type pool[C interface{ IsClosed() bool }] struct {
	dial  func(url string, dial DialFunc, name string) (C, error)
	mu    sync.Mutex
	conns map[string]C
}

func (p *pool[C]) get(o Options, c *connectors.Connection, url string) (C, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := c.Name + "\x00" + url
	if conn, ok := p.conns[key]; ok && !conn.IsClosed() {
		return conn, nil
	}
	var dial DialFunc
	if o.Egress != nil {
		dial = DialFunc(o.Egress.Dialer("connection "+c.Name, nil))
	}
	conn, err := p.dial(url, dial, "weft publish "+c.Name)
	if err != nil {
		return conn, err
	}
	if p.conns == nil {
		p.conns = map[string]C{}
	}
	p.conns[key] = conn
	return conn, nil
}
