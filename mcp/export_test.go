package mcp

import (
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

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

// ToolErrorTextForTest is the text toolError gives err.
func ToolErrorTextForTest(err error) string {
	res := toolError(&toolDef{}, err)
	return res.Content[0].(mcpgo.TextContent).Text
}
