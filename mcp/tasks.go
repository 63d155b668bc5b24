package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The tasks extension (io.modelcontextprotocol/tasks, SEP-2663) on the
// 2026-07-28 wire. A tools/call of a task-supporting tool, from a client
// that declared the extension in its request's clientCapabilities, answers
// at once with a flat CreateTaskResult (resultType "task"); the client then
// polls tasks/get (status, and the inlined result or error once terminal),
// answers input requests with tasks/update and stops the work with
// tasks/cancel. tasks/result and tasks/list do not exist in this version.
//
// In Weft a task-supporting tool is a flow whose webhook trigger is
// asynchronous: the task is the run (its ID is the run ID), so its state is
// the run's and survives a restart. The conformance fixture has its own
// in-memory tasks (memTasks).

// TasksExtension is the extension's identifier under capabilities.extensions.
const TasksExtension = "io.modelcontextprotocol/tasks"

// Task statuses.
const (
	taskWorking       = "working"
	taskInputRequired = "input_required"
	taskCompleted     = "completed"
	taskFailed        = "failed"
	taskCancelled     = "cancelled"
)

// Bounds on the tasks surface.
const (
	maxTaskIDBytes   = 256
	taskPollInterval = time.Second
)

var errTaskNotFound = errors.New("no such task")

// taskView is one task as tasks/get shows it.
type taskView struct {
	ID      string
	Status  string
	Message string
	Created time.Time
	Updated time.Time
	TTL     time.Duration // 0: no expiry announced (ttlMs null)
	Result  *mcpgo.CallToolResult
	Err     *taskError
	Input   mcpgo.InputRequests
}

// taskError is a failed task's JSON-RPC-shaped error.
type taskError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func terminal(status string) bool {
	return status == taskCompleted || status == taskFailed || status == taskCancelled
}

func msTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// envelope is the Task base: what a CreateTaskResult carries.
func (v *taskView) envelope() map[string]any {
	m := map[string]any{"taskId": v.ID, "status": v.Status, "createdAt": msTime(v.Created), "lastUpdatedAt": msTime(v.Updated),
		"pollIntervalMs": taskPollInterval.Milliseconds()}
	if v.TTL > 0 {
		m["ttlMs"] = v.TTL.Milliseconds()
	} else {
		m["ttlMs"] = nil
	}
	if v.Message != "" {
		m["statusMessage"] = v.Message
	}
	return m
}

// detailed is the tasks/get answer (DetailedTask): the envelope plus the
// result (completed), the error (failed) or the input requests
// (input_required).
func (v *taskView) detailed() map[string]any {
	m := v.envelope()
	m["resultType"] = mcpgo.ResultTypeComplete
	switch v.Status {
	case taskCompleted:
		if v.Result != nil {
			r := *v.Result
			r.ResultType = ""
			m["result"] = r
		}
	case taskFailed:
		if v.Err != nil {
			m["error"] = v.Err
		}
	case taskInputRequired:
		if len(v.Input) > 0 {
			m["inputRequests"] = v.Input
		}
	}
	return m
}

// createdTask is a tools/call result that announces a task.
func createdTask(v *taskView) *mcpgo.CallToolResult {
	return &mcpgo.CallToolResult{Result: mcpgo.Result{ResultType: mcpgo.ResultTypeTask}, CreatedTask: v.envelope()}
}

// taskSource serves tasks/get, tasks/update and tasks/cancel for one
// endpoint. The request's context carries the caller (its API key).
type taskSource interface {
	getTask(ctx context.Context, id string) (*taskView, error)
	updateTask(ctx context.Context, id string, rs mcpgo.InputResponses) error
	cancelTask(ctx context.Context, id string) error
}

// tasksDeclared reports whether the client of the request being handled
// declared the tasks extension: in its 2026-07-28 request _meta (for the
// session or for this one request, the wire cannot tell them apart). A
// 2025-11-25 session gets no tasks: its calls run as before.
func tasksDeclared(ctx context.Context) bool {
	info := server.RequestProtocolInfoFromContext(ctx)
	if info == nil || !info.Modern || info.ClientCapabilities == nil {
		return false
	}
	_, ok := info.ClientCapabilities.Extensions[TasksExtension]
	return ok
}

// missingTasksCapability is the -32021 error of a call that needs the
// extension from a client that did not declare it.
func missingTasksCapability() map[string]any {
	return map[string]any{"code": mcpgo.MISSING_REQUIRED_CLIENT_CAPABILITY, "message": "missing required client capability: the " + TasksExtension + " extension",
		"data": map[string]any{"requiredCapabilities": map[string]any{"extensions": map[string]any{TasksExtension: map[string]any{}}}}}
}

// tasksHandler answers the tasks/* methods of 2026-07-28 requests in front
// of mcp-go (which knows only the 2025-11-25 tasks, whose tasks/result and
// tasks/list this version removed); every other message passes through.
func tasksHandler(src func(*http.Request) taskSource, maxBody int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := r.Header.Get(mcpgo.HeaderMethod); r.Method != http.MethodPost || r.Body == nil || (m != "" && !strings.HasPrefix(m, "tasks/")) {
			// A 2026-07-28 request names its method in Mcp-Method (mcp-go
			// rejects a body that disagrees): only tasks/* are read here.
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil || int64(len(body)) > maxBody {
			writeRPCError(w, http.StatusRequestEntityTooLarge, -32600, fmt.Sprintf("the request body is unreadable or larger than %d bytes", maxBody), "too_large")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !bytes.Contains(body, []byte(`"tasks/`)) {
			next.ServeHTTP(w, r)
			return
		}
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		if json.Unmarshal(body, &msg) != nil || !strings.HasPrefix(msg.Method, "tasks/") || len(msg.ID) == 0 || string(msg.ID) == "null" {
			next.ServeHTTP(w, r)
			return
		}
		var p struct {
			TaskID         *string         `json:"taskId"`
			InputResponses json.RawMessage `json:"inputResponses"`
			Meta           struct {
				Version string `json:"io.modelcontextprotocol/protocolVersion"`
				Caps    *struct {
					Extensions map[string]json.RawMessage `json:"extensions"`
				} `json:"io.modelcontextprotocol/clientCapabilities"`
			} `json:"_meta"`
		}
		_ = json.Unmarshal(msg.Params, &p) // a malformed params is answered below as missing fields
		headerVersion := r.Header.Get(mcpgo.HeaderProtocolVersion)
		if !mcpgo.IsModernProtocol(p.Meta.Version) && !mcpgo.IsModernProtocol(headerVersion) {
			next.ServeHTTP(w, r) // 2025-11-25: mcp-go's own tasks methods
			return
		}
		reply := func(status int, key string, v any) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": msg.ID, key: v})
		}
		fail := func(status, code int, message string) {
			reply(status, "error", map[string]any{"code": code, "message": message})
		}
		switch msg.Method {
		case "tasks/get", "tasks/update", "tasks/cancel":
		case "tasks/result", "tasks/list":
			fail(http.StatusNotFound, mcpgo.METHOD_NOT_FOUND, msg.Method+" was removed by the tasks extension of "+mcpgo.ProtocolVersion20260728+": tasks/get returns a task's result, and tasks are not listed")
			return
		default:
			next.ServeHTTP(w, r)
			return
		}
		// The transport checks of 2026-07-28 (SEP-2243), and the task id as
		// Mcp-Name (SEP-2663).
		if headerVersion != p.Meta.Version {
			fail(http.StatusBadRequest, mcpgo.HEADER_MISMATCH, fmt.Sprintf("%s header %q does not match the request's _meta protocol version %q", mcpgo.HeaderProtocolVersion, headerVersion, p.Meta.Version))
			return
		}
		if m := strings.TrimSpace(r.Header.Get(mcpgo.HeaderMethod)); m != msg.Method {
			fail(http.StatusBadRequest, mcpgo.HEADER_MISMATCH, fmt.Sprintf("%s header %q does not match the method %s", mcpgo.HeaderMethod, m, msg.Method))
			return
		}
		if p.Meta.Caps == nil || p.Meta.Caps.Extensions[TasksExtension] == nil {
			reply(http.StatusBadRequest, "error", missingTasksCapability())
			return
		}
		if p.TaskID == nil || *p.TaskID == "" || len(*p.TaskID) > maxTaskIDBytes {
			fail(http.StatusBadRequest, mcpgo.INVALID_PARAMS, fmt.Sprintf("params.taskId is required (a string of at most %d bytes)", maxTaskIDBytes))
			return
		}
		id := *p.TaskID
		if n := strings.TrimSpace(r.Header.Get(mcpgo.HeaderName)); n != id {
			fail(http.StatusBadRequest, mcpgo.HEADER_MISMATCH, fmt.Sprintf("%s header %q does not match params.taskId %q", mcpgo.HeaderName, n, id))
			return
		}
		s := src(r)
		ctx := r.Context()
		answer := func(v any, err error) {
			switch {
			case errors.Is(err, errTaskNotFound):
				fail(http.StatusBadRequest, mcpgo.INVALID_PARAMS, fmt.Sprintf("no task %q here (unknown, expired, or another caller's)", id))
			case err != nil:
				fail(http.StatusOK, mcpgo.INTERNAL_ERROR, err.Error())
			default:
				reply(http.StatusOK, "result", v)
			}
		}
		ack := map[string]any{"resultType": mcpgo.ResultTypeComplete}
		switch msg.Method {
		case "tasks/get":
			v, err := s.getTask(ctx, id)
			if err != nil {
				answer(nil, err)
				return
			}
			answer(v.detailed(), nil)
		case "tasks/update":
			var rs mcpgo.InputResponses
			if len(p.InputResponses) == 0 || json.Unmarshal(p.InputResponses, &rs) != nil || rs == nil {
				fail(http.StatusBadRequest, mcpgo.INVALID_PARAMS, "params.inputResponses must be an object of input responses keyed by the task's inputRequests keys")
				return
			}
			answer(ack, s.updateTask(ctx, id, rs))
		case "tasks/cancel":
			answer(ack, s.cancelTask(ctx, id))
		}
	})
}
