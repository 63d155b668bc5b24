package mcp_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftio/weft/mcp"
)

// The server's API token is an MCP credential too: with it set, auto mode
// is never open, whether or not keys exist, and keys keep working beside
// it.
func TestIssue16_F03_AdminTokenOnMCP(t *testing.T) {
	const admin = "0123456789abcdef-admin"
	ping := func(srv *httptest.Server, path, token string) int {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, mode := range []string{"", mcp.AuthAuto, mcp.AuthKeys} {
		e := newEngine(t)
		auth, err := mcp.NewAuth(e.Store(), mcp.AuthConfig{Mode: mode, AdminToken: admin})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Auth: auth, Toolsets: []mcp.Toolset{{Name: "sales"}}}))
		for _, c := range []struct {
			path, token string
			want        int
		}{
			{"/mcp", "", 401},
			{"/mcp", admin[:len(admin)-1], 401},
			{"/mcp", admin + "x", 401},
			{"/mcp", admin, 200},
			{"/mcp/sales", admin, 200},
			{"/mcp/conformance", "", 404}, // not mounted unless asked
		} {
			if got := ping(srv, c.path, c.token); got != c.want {
				t.Errorf("mode %q, %s, token %q: %d, want %d", mode, c.path, c.token, got, c.want)
			}
		}
		_, key, err := mcp.CreateKey(context.Background(), e.Store(), "agent", []string{"sales"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		auth.Forget()
		if got := ping(srv, "/mcp/sales", key); got != 200 {
			t.Errorf("mode %q: a key beside the token: %d", mode, got)
		}
		if got := ping(srv, "/mcp", key); got != 403 {
			t.Errorf("mode %q: a key outside its toolset: %d", mode, got)
		}
		srv.Close()
	}
	// Without a token, a fresh install in auto mode is open (loopback
	// development; weft serve refuses this off loopback).
	e := newEngine(t)
	auth, _ := mcp.NewAuth(e.Store(), mcp.AuthConfig{})
	srv := httptest.NewServer(mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Auth: auth}))
	defer srv.Close()
	if got := ping(srv, "/mcp", ""); got != 200 {
		t.Fatalf("fresh auto install: %d", got)
	}
}
