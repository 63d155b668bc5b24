package mcp

import (
	"context"
	"fmt"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// taskRequired names the fixture tools that only run as tasks: a
// 2026-07-28 call of one from a client without the tasks extension gets
// -32021 naming the extension (capabilityGate answers it at the transport,
// with the error data mcp-go cannot attach).
var taskRequired = map[string]bool{"failing_job": true, "test_tool_with_task": true}

// taskTools are the fixtures of the conformance suite's tasks-* scenarios.
func (f *fixture) taskTools() {
	s := f.srv
	start := func(fn func(ctx context.Context, c taskCtl) (*mcpgo.CallToolResult, error)) (*mcpgo.CallToolResult, error) {
		v, err := f.tasks.start(fn)
		if err != nil {
			return nil, err
		}
		return createdTask(v), nil
	}
	sleep := func(ctx context.Context, d time.Duration) error {
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	required := func(ctx context.Context) error {
		if tasksDeclared(ctx) {
			return nil
		}
		return mcpgo.MissingRequiredClientCapabilityError{Capability: "extensions." + TasksExtension}
	}
	s.AddTool(mcpgo.NewTool("greet", mcpgo.WithDescription("Greets at once (never a task)"), mcpgo.WithString("name", mcpgo.Required())),
		func(_ context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
			return text("Hello, " + req.GetString("name", "") + "!"), nil
		})
	s.AddTool(mcpgo.NewTool("slow_compute", mcpgo.WithDescription("Sleeps for seconds, then answers; a task when the client has the tasks extension"),
		mcpgo.WithNumber("seconds"), mcpgo.WithString("label")),
		func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
			secs := min(max(req.GetFloat("seconds", 1), 0), 600)
			label := req.GetString("label", "")
			work := func(ctx context.Context, _ taskCtl) (*mcpgo.CallToolResult, error) {
				if err := sleep(ctx, time.Duration(secs*float64(time.Second))); err != nil {
					return nil, err
				}
				return text(fmt.Sprintf("computed %s in %gs", label, secs)), nil
			}
			if !tasksDeclared(ctx) {
				return work(ctx, taskCtl{})
			}
			return start(work)
		})
	s.AddTool(noArgs("failing_job", "A task that always ends in a tool error"), func(ctx context.Context, _ mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		if err := required(ctx); err != nil {
			return nil, err
		}
		return start(func(ctx context.Context, _ taskCtl) (*mcpgo.CallToolResult, error) {
			if err := sleep(ctx, time.Second); err != nil {
				return nil, err
			}
			return mcpgo.NewToolResultError("failing_job failed, as it always does"), nil
		})
	})
	s.AddTool(noArgs("protocol_error_job", "A task whose handler crashes"), func(ctx context.Context, _ mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		if !tasksDeclared(ctx) {
			panic("protocol_error_job: simulated crash")
		}
		return start(func(ctx context.Context, _ taskCtl) (*mcpgo.CallToolResult, error) {
			if err := sleep(ctx, 200*time.Millisecond); err != nil {
				return nil, err
			}
			panic("protocol_error_job: simulated crash")
		})
	})
	confirmSchema := map[string]any{"type": "object", "properties": map[string]any{"confirm": map[string]any{"type": "boolean"}}, "required": []any{"confirm"}}
	accepted := func(r *mcpgo.ElicitationResult, field string) (any, bool) {
		if r == nil || r.Action != mcpgo.ElicitationResponseActionAccept {
			return nil, false
		}
		c, _ := r.Content.(map[string]any)
		v, ok := c[field]
		return v, ok
	}
	s.AddTool(mcpgo.NewTool("confirm_delete", mcpgo.WithDescription("A task that asks the user to confirm before it deletes"), mcpgo.WithString("filename", mcpgo.Required())),
		func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
			name := req.GetString("filename", "")
			if !tasksDeclared(ctx) {
				return text("not deleted: " + name + " needs a confirmation, which this client can give only as a task"), nil
			}
			return start(func(ctx context.Context, c taskCtl) (*mcpgo.CallToolResult, error) {
				rs, err := c.ask(ctx, server.NewInputRequestBuilder("").Elicit("confirm", mcpgo.ElicitationParams{Message: "Delete " + name + "?", RequestedSchema: confirmSchema}).ToolResult().InputRequests)
				if err != nil {
					return nil, err
				}
				if v, _ := accepted(server.ElicitationResponse(rs, "confirm"), "confirm"); v == true {
					return text("deleted " + name), nil
				}
				return text("kept " + name), nil
			})
		})
	s.AddTool(noArgs("multi_input", "A task that asks two questions at once"), func(ctx context.Context, _ mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		if err := required(ctx); err != nil {
			return nil, err
		}
		return start(func(ctx context.Context, c taskCtl) (*mcpgo.CallToolResult, error) {
			rs, err := c.ask(ctx, server.NewInputRequestBuilder("").
				Elicit("name", mcpgo.ElicitationParams{Message: "What is your name?", RequestedSchema: nameSchema}).
				Elicit("confirm", mcpgo.ElicitationParams{Message: "Shall I go on?", RequestedSchema: confirmSchema}).ToolResult().InputRequests)
			if err != nil {
				return nil, err
			}
			n, _ := accepted(server.ElicitationResponse(rs, "name"), "name")
			ok, _ := accepted(server.ElicitationResponse(rs, "confirm"), "confirm")
			return text(fmt.Sprintf("name %v, confirmed %v", n, ok)), nil
		})
	})
	s.AddTool(noArgs("test_tool_with_task", "Asks for a name (multi round-trip), then greets as a task"), func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		if err := required(ctx); err != nil {
			return nil, err
		}
		r := server.ElicitationResponse(req.Params.InputResponses, "user_name")
		if r == nil {
			return server.NewInputRequestBuilder("").Elicit("user_name", mcpgo.ElicitationParams{Message: "What is your name?", RequestedSchema: nameSchema}).ToolResult(), nil
		}
		name, _ := accepted(r, "name")
		return start(func(ctx context.Context, _ taskCtl) (*mcpgo.CallToolResult, error) {
			if err := sleep(ctx, 200*time.Millisecond); err != nil {
				return nil, err
			}
			return text(fmt.Sprintf("Hello, %v!", name)), nil
		})
	})
}
