package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tool calls the read loop queued before the input ended were accepted and
// each gets its answer. One worker is held by a call that waits for the end of
// input; twenty more wait in the queue. Before the fix a worker that saw the
// cancelled context returned with calls still queued (a coin toss per call), so
// some of the twenty went unanswered.
func TestStdioServer_QueuedToolCallsAnsweredAfterEOF(t *testing.T) {
	srv := NewMCPServer("test", "1.0.0", WithToolCapabilities(true))
	started := make(chan struct{})
	srv.AddTools(
		ServerTool{
			Tool: mcp.Tool{Name: "wait"},
			Handler: func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				close(started)
				<-ctx.Done()
				return nil, ctx.Err()
			},
		},
		ServerTool{
			Tool: mcp.Tool{Name: "quick"},
			Handler: func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return mcp.NewToolResultText("ok"), nil
			},
		},
	)
	stdio := NewStdioServer(srv)
	WithWorkerPoolSize(1)(stdio)
	WithQueueSize(64)(stdio)

	var in strings.Builder
	in.WriteString(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}` + "\n")
	in.WriteString(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wait","arguments":{}}}` + "\n")
	const quick = 20
	for i := range quick {
		fmt.Fprintf(&in, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"quick","arguments":{}}}`+"\n", 10+i)
	}
	// The input ends only once the waiting call holds the one worker, so the
	// quick calls are in the queue when the context is cancelled.
	r := &eofAfter{r: strings.NewReader(in.String()), gate: started}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, stdio.Listen(ctx, r, &out))

	got := map[float64]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var msg struct {
			ID any `json:"id"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &msg), "output line %q", line)
		if id, ok := msg.ID.(float64); ok {
			got[id] = line
		}
	}
	for i := range quick {
		resp, ok := got[float64(10+i)]
		if assert.True(t, ok, "tool call %d, queued before the input ended, got no answer", 10+i) {
			assert.Contains(t, resp, `"ok"`)
		}
	}
	assert.Contains(t, got, float64(2), "the waiting call is answered too")
}

// eofAfter reads r, and reports the end of input only once gate is closed.
type eofAfter struct {
	r    io.Reader
	gate <-chan struct{}
}

func (e *eofAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		<-e.gate
	}
	return n, err
}
