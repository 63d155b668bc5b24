package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/weftio/weft"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/store"
)

// runTasks serves the tasks of one toolset: each task is a run of an
// asynchronous flow started by a tools/call of that toolset, and only the
// caller (API key) that started it sees it. Everything tasks/get says is
// read from the run and its transaction log, so a task outlives the process
// that created it.
type runTasks struct {
	g *Gateway
	s *served
}

// taskMeta is what a flow task records in its run's trigger input
// (trigger.mcp): whose task it is.
type taskMeta struct {
	Toolset string `json:"toolset"`
	Caller  string `json:"caller"`
}

func callerID(ctx context.Context) string {
	if k := caller(ctx); k != nil {
		return k.ID
	}
	return "anonymous"
}

// startFlowTask starts an asynchronous run of the flow and answers with
// the task that is the run. The run is committed (with its queue job)
// before the answer, so tasks/get finds it at once.
func (g *Gateway) startFlowTask(ctx context.Context, s *served, t *toolDef, args map[string]any) (*mcpgo.CallToolResult, error) {
	res, err := g.e.Trigger(ctx, engine.Event{Flow: t.flow, Kind: "mcp", Body: args, Async: true,
		Fields: map[string]any{"mcp": map[string]any{"toolset": s.def.Name, "caller": callerID(ctx)}}})
	if err != nil {
		return mcpgo.NewToolResultError(fmt.Sprintf("flow %s: %v", t.flow, err)), nil
	}
	v, err := runTasks{g: g, s: s}.view(ctx, res.Run)
	if err != nil {
		return nil, err
	}
	return createdTask(v), nil
}

// run is the run behind a task id, if it is a task of this toolset and
// of this caller; anything else is "not found" (never another's).
func (rt runTasks) run(ctx context.Context, id string) (*store.Run, error) {
	r, err := rt.g.e.Store().GetRun(ctx, id)
	if err != nil {
		if weft.Code(err) == weft.ENotFound {
			return nil, errTaskNotFound
		}
		return nil, err
	}
	var in struct {
		MCP taskMeta `json:"mcp"`
	}
	if r.TriggerKind != "mcp" || r.Sync || json.Unmarshal(r.Input, &in) != nil || in.MCP.Toolset != rt.s.def.Name || in.MCP.Caller != callerID(ctx) {
		return nil, errTaskNotFound
	}
	if k := caller(ctx); k != nil && !k.allows(flowToolName(r.Flow)) {
		return nil, errTaskNotFound
	}
	return r, nil
}

func (rt runTasks) getTask(ctx context.Context, id string) (*taskView, error) {
	r, err := rt.run(ctx, id)
	if err != nil {
		return nil, err
	}
	return rt.view(ctx, r)
}

// view maps a run onto a task: queued and running are working (with the
// steps so far as the status message); succeeded is completed with what
// the flow responded; failed and dead are completed with isError (the
// flow ran and reported an error: the message names the step, and a dead
// run is in the dead-letter queue, where an operator can replay it);
// canceled is cancelled.
func (rt runTasks) view(ctx context.Context, r *store.Run) (*taskView, error) {
	v := &taskView{ID: r.ID, Created: r.CreatedAt, Updated: r.StartedAt}
	if r.FinishedAt != nil {
		v.Updated = *r.FinishedAt
	}
	tool := &toolDef{tool: mcpgo.Tool{Name: flowToolName(r.Flow)}}
	switch r.Status {
	case store.RunQueued, store.RunRunning:
		v.Status = taskWorking
		v.Message = fmt.Sprintf("flow %s run %s %s", r.Flow, r.ID, r.Status)
		if steps, last, err := rt.progress(ctx, r.ID); err == nil && steps != "" {
			v.Message += "; " + steps
			if last.After(v.Updated) {
				v.Updated = last
			}
		}
	case store.RunSucceeded:
		v.Status = taskCompleted
		var body any = map[string]any{"run_id": r.ID, "status": r.Status}
		if len(r.Output) > 0 {
			var resp engine.Response
			if json.Unmarshal(r.Output, &resp) == nil && resp.Status != 0 {
				body = resp.Body
			}
		}
		v.Result = rt.g.result(tool, body)
		if m, ok := body.(map[string]any); ok && v.Result.StructuredContent == nil && len(mustJSON(m)) <= MaxTextBytes {
			v.Result.StructuredContent = m
		}
	case store.RunFailed, store.RunDead:
		v.Status = taskCompleted
		msg := fmt.Sprintf("flow %s run %s %s at step %s: %s", r.Flow, r.ID, r.Status, r.FailedStep, r.ErrorMessage)
		if r.Status == store.RunDead {
			msg += " (retries exhausted: the run is in the dead-letter queue; an operator can replay it with POST /api/runs/" + r.ID + "/replay)"
		}
		v.Result = mcpgo.NewToolResultError(msg)
		v.Message = r.Status
	case store.RunCanceled:
		v.Status = taskCancelled
		v.Message = "the run was canceled"
	default:
		v.Status = taskWorking
		v.Message = "run status " + r.Status
	}
	return v, nil
}

// progress sums up a run's transaction log: the steps finished and the
// one running, bounded.
func (rt runTasks) progress(ctx context.Context, id string) (string, time.Time, error) {
	atts, err := rt.g.e.Store().ListAttempts(ctx, id)
	if err != nil {
		return "", time.Time{}, err
	}
	var done []string
	var last time.Time
	waiting := ""
	seen := map[string]bool{}
	for _, a := range atts {
		if a.FinishedAt.After(last) {
			last = a.FinishedAt
		}
		if step, ok := strings.CutSuffix(a.StepKey, "#until"); ok { // a wait's checkpoint: the run waits there
			waiting = step
			continue
		}
		if strings.Contains(a.StepKey, "#") { // other checkpoints
			continue
		}
		if a.Status == store.AttemptOK && !seen[a.StepKey] {
			seen[a.StepKey] = true
			done = append(done, a.StepKey)
		}
	}
	var msg []string
	if len(done) > 0 {
		if len(done) > 10 {
			done = append(done[:5], fmt.Sprintf("… %d more …", len(done)-8), done[len(done)-3], done[len(done)-2], done[len(done)-1])
		}
		msg = append(msg, fmt.Sprintf("%d step(s) done: %s", len(seen), strings.Join(done, ", ")))
	}
	if waiting != "" && !seen[waiting] {
		msg = append(msg, "waiting at "+waiting)
	}
	return strings.Join(msg, "; "), last, nil
}

// updateTask: a flow asks its caller nothing, so there is nothing to
// answer; the update is acknowledged (the extension ignores answers to
// requests a task did not make).
func (rt runTasks) updateTask(ctx context.Context, id string, _ mcpgo.InputResponses) error {
	_, err := rt.run(ctx, id)
	return err
}

// cancelTask cancels the run (queued or running); a run that has ended is
// left as it is and the acknowledgement is the same.
func (rt runTasks) cancelTask(ctx context.Context, id string) error {
	r, err := rt.run(ctx, id)
	if err != nil {
		return err
	}
	if r.Status != store.RunQueued && r.Status != store.RunRunning {
		return nil
	}
	if err := rt.g.e.Cancel(ctx, id); err != nil && weft.Code(err) != weft.EConflict {
		return err
	}
	return nil
}
