package mcp

import (
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

// sessionIDs issues session ids for the 2025-11-25 (stateful) wire and
// answers 404 to one its client has ended (DELETE), as the transport
// requires; any other well-formed id is accepted, so a session begun on
// one weft process carries on on another behind a load balancer.
// Ended ids are remembered for a day, at most maxEnded of them.
type sessionIDs struct {
	server.StatelessGeneratingSessionIdManager
	mu    sync.Mutex
	ended map[string]time.Time
	now   func() time.Time
}

const (
	maxEnded  = 100_000
	keepEnded = 24 * time.Hour
)

func newSessionIDs() *sessionIDs {
	return &sessionIDs{ended: map[string]time.Time{}, now: time.Now}
}

// Validate implements server.SessionIdManager.
func (m *sessionIDs) Validate(id string) (bool, error) {
	if _, err := m.StatelessGeneratingSessionIdManager.Validate(id); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.ended[id]
	return ok && m.now().Sub(at) < keepEnded, nil
}

// Terminate implements server.SessionIdManager.
func (m *sessionIDs) Terminate(id string) (bool, error) {
	if _, err := m.StatelessGeneratingSessionIdManager.Validate(id); err != nil {
		return false, nil // nothing to end
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if len(m.ended) >= maxEnded {
		for k, at := range m.ended {
			if now.Sub(at) >= keepEnded {
				delete(m.ended, k)
			}
		}
		for k := range m.ended { // still full: forget a tenth, arbitrary ones
			if len(m.ended) < maxEnded*9/10 {
				break
			}
			delete(m.ended, k)
		}
	}
	m.ended[id] = now
	return false, nil
}
