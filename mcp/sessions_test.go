package mcp_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftio/weft/mcp"
)

// A 2025-11-25 session ended by its client (DELETE) answers 404 from then
// on; other sessions carry on, and a well-formed id this process did not
// issue (a session begun on another process) is still served.
func TestEndedSessionAnswers404(t *testing.T) {
	gw := mcp.New(newEngine(t), slog.New(slog.DiscardHandler), mcp.Config{})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	post := func(session, body string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
			req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("Mcp-Session-Id")
	}
	initialize := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	ping := `{"jsonrpc":"2.0","id":2,"method":"ping"}`
	_, a := post("", initialize)
	_, b := post("", initialize)
	if a == "" || b == "" || a == b {
		t.Fatalf("session ids %q %q", a, b)
	}
	if code, _ := post(a, ping); code != 200 {
		t.Fatalf("ping in a live session: %d", code)
	}
	req, _ := http.NewRequest("DELETE", srv.URL+"/mcp", nil)
	req.Header.Set("Mcp-Session-Id", a)
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 && resp.StatusCode != 204 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if code, _ := post(a, ping); code != 404 {
		t.Fatalf("ping in an ended session: %d, want 404", code)
	}
	if code, _ := post(b, ping); code != 200 {
		t.Fatalf("ping in the other session: %d", code)
	}
	if code, _ := post("mcp-session-0b7c6f0e-4a51-4c43-9d55-0a3f1f7e2a11", ping); code != 200 {
		t.Fatalf("ping with another process's session id: %d", code)
	}
	if code, _ := post("not-a-session", ping); code != 404 {
		t.Fatalf("ping with a malformed session id: %d, want 404", code)
	}
}

// The ended-session memory is bounded: past maxEnded it forgets expired
// ids first, then a tenth of the rest.
func TestEndedSessionsBounded(t *testing.T) {
	m := mcp.NewSessionIDsForTest()
	for i := 0; i < 100_000+10; i++ {
		m.Terminate(m.Generate())
	}
	if n := m.Len(); n > 100_000 || n < 80_000 {
		t.Fatalf("%d ended ids remembered", n)
	}
}
