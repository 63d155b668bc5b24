package mcpconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	mclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mmcp "github.com/mark3labs/mcp-go/mcp"
)

// upstreamVersion is the protocol version Weft asks its upstreams for: the
// newest with the initialize handshake and sessions, which every MCP server
// in use speaks (2026-07-28 servers keep it for the deprecation window), and
// where list_changed and resource updates come on the session's standalone
// stream (stdio: the pipe) without a subscriptions/listen request.
const upstreamVersion = mmcp.LATEST_LEGACY_PROTOCOL_VERSION

// session is one live MCP session with an upstream: mcp-go's client on a
// Streamable HTTP or stdio transport.
type session struct {
	c    *mclient.Client
	tr   transport.Interface
	init *mmcp.InitializeResult
	// done is closed when the session is closed (by Weft, or lost).
	done chan struct{}
	once sync.Once
}

// Close ends the session (the HTTP session is deleted upstream; a stdio
// child's stdin is closed).
func (s *session) Close() error {
	s.once.Do(func() { close(s.done) })
	return s.c.Close()
}

// rawKey marks a context whose requests' raw JSON-RPC results are kept (the
// tool listing: mcp-go's Tool keeps an input schema's top-level type,
// properties, required, $defs and additionalProperties only, where Weft
// needs the whole schema for arguments, the mapper and drift).
type rawKey struct{}

type rawResults struct {
	mu    sync.Mutex
	pages []json.RawMessage
}

func withRaw(ctx context.Context) (context.Context, *rawResults) {
	r := &rawResults{}
	return context.WithValue(ctx, rawKey{}, r), r
}

func keepRaw(ctx context.Context, resp *transport.JSONRPCResponse) {
	if resp == nil || resp.Error != nil {
		return
	}
	if r, _ := ctx.Value(rawKey{}).(*rawResults); r != nil {
		r.mu.Lock()
		r.pages = append(r.pages, append(json.RawMessage(nil), resp.Result...))
		r.mu.Unlock()
	}
}

// httpTransport and stdioTransport are mcp-go's transports (every method
// and optional interface of theirs promoted) keeping raw results where
// asked (rawKey).
type httpTransport struct{ *transport.StreamableHTTP }

func (t httpTransport) SendRequest(ctx context.Context, req transport.JSONRPCRequest) (*transport.JSONRPCResponse, error) {
	resp, err := t.StreamableHTTP.SendRequest(ctx, req)
	keepRaw(ctx, resp)
	if err != nil && ctx.Err() != nil && req.Method != string(mmcp.MethodInitialize) {
		// A request given up (timed out, cancelled) is cancelled upstream
		// too: on a 2025-11-25 session the server does not take the end
		// of the request's stream as a cancellation, and mcp-go sends the
		// notification on stdio only. Sent before the call returns, so that
		// its error ("cancelled upstream") is so.
		t.cancelled(req.ID, context.Cause(ctx))
	}
	return resp, err
}

func (t httpTransport) cancelled(id mmcp.RequestId, why error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	reason := "cancelled"
	if errors.Is(why, context.DeadlineExceeded) {
		reason = "timed out"
	}
	n := mmcp.JSONRPCNotification{JSONRPC: mmcp.JSONRPC_VERSION, Notification: mmcp.Notification{Method: string(mmcp.MethodNotificationCancelled),
		Params: mmcp.NotificationParams{AdditionalFields: map[string]any{"requestId": id, "reason": reason}}}}
	_ = t.SendNotification(ctx, n)
}

type stdioTransport struct{ *transport.Stdio }

func (t stdioTransport) SendRequest(ctx context.Context, req transport.JSONRPCRequest) (*transport.JSONRPCResponse, error) {
	resp, err := t.Stdio.SendRequest(ctx, req)
	keepRaw(ctx, resp)
	return resp, err
}

func (u *Upstream) connect(ctx context.Context) (*session, error) {
	limit := u.opt.MaxResultBytes + slack
	var tr transport.Interface
	if u.spec.URL != "" {
		h, err := transport.NewStreamableHTTP(u.spec.URL,
			transport.WithHTTPBasicClient(u.httpClient(limit)),
			// list_changed and resource updates outside a call come on the
			// session's standalone GET stream.
			transport.WithContinuousListening(),
			transport.WithHTTPLogger(u.clientLog()))
		if err != nil {
			return nil, err
		}
		tr = httpTransport{h}
	} else {
		cmd := exec.Command(u.spec.Command[0], u.spec.Command[1:]...)
		cmd.Env = append(childEnv(u.opt.PassEnv), u.opt.Env...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		tail := &tailBuffer{max: 2048}
		cmd.Stderr = tail
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %v", u.spec.Command[0], err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		u.mu.Lock()
		u.proc, u.stderr, u.exited = cmd, tail, exited
		u.mu.Unlock()
		pipe := transport.NewIO(&lineLimit{r: stdout, max: limit, hit: &u.oversize}, stdin, nil)
		transport.WithCommandLogger(u.clientLog())(pipe)
		tr = stdioTransport{pipe}
	}
	s, err := u.start(ctx, tr)
	if err != nil {
		if d := u.exitDetailLocked(); d != "" {
			err = fmt.Errorf("%v (%s)", err, d)
		}
		u.stopProc()
		return nil, err
	}
	if ir := s.init; ir != nil {
		u.mu.Lock()
		u.spec.Server = strings.TrimSpace(ir.ServerInfo.Name + " " + ir.ServerInfo.Version)
		u.mu.Unlock()
	}
	return s, nil
}

// start runs the initialize handshake on tr.
func (u *Upstream) start(ctx context.Context, tr transport.Interface) (*session, error) {
	c := mclient.NewClient(tr, mclient.WithProtocolVersion(upstreamVersion))
	// The transport outlives ctx (the connect's deadline): it ends with
	// Close.
	if err := c.Start(context.Background()); err != nil {
		_ = c.Close()
		return nil, err
	}
	c.OnNotification(u.notified)
	var req mmcp.InitializeRequest
	req.Params.ProtocolVersion = upstreamVersion
	req.Params.ClientInfo = mmcp.Implementation{Name: "weft", Version: "1"}
	ir, err := c.Initialize(ctx, req)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return &session{c: c, tr: tr, init: ir, done: make(chan struct{})}, nil
}

// notified handles what the upstream pushes: list changes, resource
// updates, the progress of a call.
func (u *Upstream) notified(n mmcp.JSONRPCNotification) {
	p := n.Params.AdditionalFields
	switch n.Method {
	case mmcp.MethodNotificationToolsListChanged:
		go u.relist()
	case mmcp.MethodNotificationPromptsListChanged:
		u.event(Event{Kind: EventPromptsChanged})
	case mmcp.MethodNotificationResourcesListChanged:
		u.event(Event{Kind: EventResourcesChanged})
	case mmcp.MethodNotificationResourceUpdated:
		if uri, _ := p["uri"].(string); uri != "" && len(uri) <= maxArgLen {
			u.event(Event{Kind: EventResourceUpdated, URI: uri})
		}
	case string(mmcp.MethodNotificationProgress):
		tok, _ := p["progressToken"].(string)
		if tok == "" {
			return
		}
		u.progressMu.Lock()
		rep := u.progress[tok]
		u.progressMu.Unlock()
		if rep == nil {
			return
		}
		progress, _ := p["progress"].(float64)
		total, _ := p["total"].(float64)
		msg, _ := p["message"].(string)
		rep(progress, total, msg)
	}
}

// isTransport reports whether err is the connection's failure rather than
// the upstream's JSON-RPC error answer.
func isTransport(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) || errors.Is(err, io.ErrUnexpectedEOF)
}

// clientLog is the log mcp-go's transports write to: warnings and errors
// only (its Info lines, "listening to server forever", are noise in
// Weft's log), with the connector named.
func (u *Upstream) clientLog() *slog.Logger {
	return slog.New(minLevel{u.opt.Log.Handler(), slog.LevelWarn}).With("connector", u.name)
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
