package mcpconn_test

import (
	"context"
	"net/http/httptest"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftio/weft/connectors/mcpconn"
	"github.com/weftio/weft/connectors/mcpconn/mcptest"
)

// The client side of federation alone: echo over Streamable HTTP through
// an Upstream (limits, result conversion) against a bare SDK client.
//
//	go test -run '^$' -bench Echo -cpu 2 ./connectors/mcpconn
func BenchmarkEchoDirect(b *testing.B) {
	srv := httptest.NewServer(mcptest.Handler())
	defer srv.Close()
	ctx := context.Background()
	s, err := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil).Connect(ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "x"}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkEchoUpstream(b *testing.B) {
	srv := httptest.NewServer(mcptest.Handler())
	defer srv.Close()
	u := mcpconn.New("up", mcpconn.Spec{URL: srv.URL, AllowPrivate: true}, mcpconn.Options{HealthInterval: -1})
	defer u.Close()
	ctx := context.Background()
	if _, err := u.Call(ctx, "echo", map[string]any{"text": "x"}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := u.Call(ctx, "echo", map[string]any{"text": "x"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
