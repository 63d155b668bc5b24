package mcp

import "time"

// Test hooks.

type SessionIDsForTest struct{ *sessionIDs }

func NewSessionIDsForTest() SessionIDsForTest { return SessionIDsForTest{newSessionIDs()} }

func (s SessionIDsForTest) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ended)
}

// SetConfirmClock sets the clock confirmation requests are issued and
// checked by.
func SetConfirmClock(g *Gateway, now func() time.Time) { g.confirms.now = now }
