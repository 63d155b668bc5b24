package mcpconn_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftio/weft/connectors/mcpconn"
	"github.com/weftio/weft/connectors/mcpconn/mcptest"
)

// Calls through an Upstream reuse the upstream's HTTP connections as a
// bare SDK client does: the call's context is not cancelled under the
// SDK's read of the rest of the response stream (which made the transport
// close the connection, a new one every few calls).
func TestCallsReuseConnections(t *testing.T) {
	for _, mode := range []string{"direct", "upstream"} {
		var n atomic.Int64
		srv := httptest.NewUnstartedServer(mcptest.Handler())
		srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
			if s == http.StateNew {
				n.Add(1)
			}
		}
		srv.Start()
		ctx := context.Background()
		var call func() error
		if mode == "direct" {
			s, err := sdk.NewClient(&sdk.Implementation{Name: "b", Version: "1"}, nil).Connect(ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL}, nil)
			if err != nil {
				t.Fatal(err)
			}
			call = func() error {
				_, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "x"}})
				return err
			}
		} else {
			u := mcpconn.New("up", mcpconn.Spec{URL: srv.URL, AllowPrivate: true}, mcpconn.Options{HealthInterval: -1})
			defer u.Close()
			call = func() error { _, err := u.Call(ctx, "echo", map[string]any{"text": "x"}); return err }
		}
		call()
		before := n.Load()
		for i := 0; i < 200; i++ {
			if err := call(); err != nil {
				t.Fatal(err)
			}
		}
		got := n.Load() - before
		t.Logf("%s: %d new connections for 200 sequential calls", mode, got)
		if got > 3 {
			t.Errorf("%s: %d new connections for 200 sequential calls, want at most 3", mode, got)
		}
		srv.CloseClientConnections()
	}
}
