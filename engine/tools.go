package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/store"
)

// ToolCall is one call of a connection's operation by an agent (MCP).
type ToolCall struct {
	Toolset    string // recorded as the run's flow: mcp:<toolset>
	Tool       string // the tool name the agent used
	Caller     string // API key id (or "anonymous"); recorded as the attempt's worker
	Connection string
	Operation  string // connector.operation
	Input      map[string]any
	InputSize  int           // the arguments' size in bytes, when known (and when Input is withheld: a refused oversized call)
	Timeout    time.Duration // default 60s
}

// CallOperation runs one operation for an agent and writes it to the
// transaction log like a flow step: a finished run of the pseudo-flow
// mcp:<toolset> with one attempt (tool, caller, sizes, outcome, duration).
// There are no retries: the agent sees the error and decides.
func (e *Engine) CallOperation(ctx context.Context, c ToolCall) (any, error) {
	start := e.now()
	connector := strings.SplitN(c.Operation, ".", 2)[0]
	op, ok := e.cat.Operation(c.Operation)
	var out any
	var err error
	switch {
	case !ok:
		err = weft.Errorf(weft.ENotFound, "operation %q is not installed", c.Operation)
	default:
		var conn *connectors.Connection
		if c.Connection != "" {
			conn, err = e.connection(ctx, c.Connection, connector)
			if err != nil {
				err = weft.Errorf(weft.ENotFound, "%v", err)
			}
		}
		if err == nil {
			timeout := c.Timeout
			if timeout <= 0 {
				timeout = 60 * time.Second
			}
			cctx, cancel := context.WithTimeout(ctx, timeout)
			out, err = op.Invoke(cctx, connectors.Call{Input: c.Input, Connection: conn, IdempotencyKey: newID()})
			if cctx.Err() == context.DeadlineExceeded && ctx.Err() == nil && err != nil {
				err = &connectors.Error{Class: connectors.Retryable, Message: fmt.Sprintf("%s timed out after %s", c.Operation, timeout)}
			}
			cancel()
		}
	}
	e.recordToolCall(c, start, out, err)
	return out, err
}

// RecordToolCall logs a tool call that did not go through CallOperation
// (a refused call, a meta-tool) so agent traffic is all in one log.
func (e *Engine) RecordToolCall(c ToolCall, start time.Time, out any, err error) {
	e.recordToolCall(c, start, out, err)
}

func (e *Engine) recordToolCall(c ToolCall, start time.Time, out any, err error) {
	end := e.now()
	// The log keeps what the capture policy allows: the arguments (redacted)
	// only under full capture, their size under metadata, neither under
	// none. The caller is kept always: it decides who may read the row.
	capture := e.cfg.DefaultCapture
	var body []byte // the arguments as JSON, made once and only when needed
	if c.Input != nil && (capture == "full" || (capture != "none" && c.InputSize == 0)) {
		body, _ = json.Marshal(c.Input)
	}
	size := c.InputSize
	if size == 0 {
		size = len(body)
	}
	// The run's input: {body?, caller, kind, tool}, members in this order
	// (as a map's encoding sorted them).
	rec := struct {
		Body   json.RawMessage `json:"body,omitempty"`
		Caller string          `json:"caller"`
		Kind   string          `json:"kind"`
		Tool   string          `json:"tool"`
	}{Caller: c.Caller, Kind: "mcp", Tool: c.Tool}
	switch capture {
	case "none":
		size = 0
	case "full":
		if body != nil {
			rec.Body = Redact(body, defaultRedactKeys)
		}
	}
	in, _ := json.Marshal(rec)
	run := &store.Run{ID: newID(), Flow: "mcp:" + c.Toolset, TriggerKind: "mcp", Input: in,
		CreatedAt: start.UTC(), StartedAt: start.UTC(), Sync: true, Status: store.RunSucceeded}
	key := c.Tool
	if c.Operation != "" {
		key = c.Operation // what the tool called (connector.operation), for metrics and traces
	}
	att := store.Attempt{RunID: run.ID, Flow: run.Flow, StepID: c.Tool, StepKey: key, Kind: "call", Attempt: 1,
		TriggerKind: "mcp", Status: store.AttemptOK, Worker: "key:" + c.Caller, StartedAt: start.UTC(), FinishedAt: end.UTC(),
		DurationUS: end.Sub(start).Microseconds(), InputSize: size}
	if err != nil {
		class, _ := connectors.Classify(err)
		msg := truncate(connectors.RedactURLs(err.Error()), 1000)
		run.Status, run.ErrorCode, run.ErrorMessage, run.FailedStep = store.RunFailed, class, msg, c.Tool
		att.Status, att.ErrorClass, att.ErrorMessage = store.AttemptError, class, msg
	} else if out != nil && e.cfg.DefaultCapture != "none" {
		if s, ok := out.(interface{ ResultSize() int }); ok {
			att.OutputSize = s.ResultSize() // its size is known: no encoding just to count
		} else {
			b, _ := json.Marshal(out)
			att.OutputSize = len(b)
		}
	}
	run.FinishedAt = &end
	// The log write must not hold the agent's answer, nor fail it.
	e.logToolRun(store.LoggedRun{Run: run, Attempts: []store.Attempt{att}})
}
