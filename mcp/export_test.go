package mcp

// Test hooks.

type SessionIDsForTest struct{ *sessionIDs }

func NewSessionIDsForTest() SessionIDsForTest { return SessionIDsForTest{newSessionIDs()} }

func (s SessionIDsForTest) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ended)
}
