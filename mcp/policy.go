package mcp

import (
	"context"
	"path"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Tool policies.
const (
	PolicyAllow   = "allow"
	PolicyDeny    = "deny"
	PolicyConfirm = "confirm" // ask the user (elicitation); denied when the client cannot ask
)

// Rule sets the policy of the tools matching Tool (a glob). The first
// matching rule wins; "destructive" as Tool matches every destructive tool.
type Rule struct {
	Tool   string `yaml:"tool" json:"tool"`
	Action string `yaml:"action" json:"action"`
}

// Policies returns the configured tool policy rules, in order.
func (g *Gateway) Policies() []Rule {
	return append([]Rule{}, g.cfg.Policy...)
}

// policy returns the action for a tool: the first matching rule, else
// allow (the operator chooses to confirm destructive tools with a rule).
func (g *Gateway) policy(t *toolDef) string {
	for _, r := range g.cfg.Policy {
		if r.Tool == "destructive" && t.destructive {
			return r.Action
		}
		if ok, _ := path.Match(r.Tool, t.tool.Name); ok {
			return r.Action
		}
	}
	return PolicyAllow
}

// confirm asks the user to confirm a call. It returns (nil, true) when
// confirmed; (result, false) when the client must be asked first (an
// input-required result, 2026-07-28 clients; earlier clients are asked by
// mcp-go's bridge and the handler runs again); (non-nil, true) when the user
// declined or the answer is not one to a request issued for this call;
// (nil, false) when this client cannot be asked.
func (g *Gateway) confirm(ctx context.Context, req mcpgo.CallToolRequest, toolset, who string, t *toolDef, args map[string]any) (*mcpgo.CallToolResult, bool) {
	era, session := "legacy", ""
	if mcpgo.IsModernProtocol(server.RequestProtocolVersion(ctx)) {
		era = "modern"
	} else if s := server.ClientSessionFromContext(ctx); s != nil {
		session = s.SessionID()
	}
	call := callBinding(era, session, toolset, who, t.tool.Name, args)
	if len(req.Params.InputResponses) > 0 || req.Params.RequestState != "" {
		// An answer: only to a request this gateway issued for this call.
		if err := g.confirms.redeem(req.Params.RequestState, call); err != nil {
			return mcpgo.NewToolResultError(t.tool.Name + ": confirmation refused: " + err.Error()), true
		}
		r := server.ElicitationResponse(req.Params.InputResponses, "confirm")
		if r != nil && r.Action == mcpgo.ElicitationResponseActionAccept {
			if c, ok := r.Content.(map[string]any); ok && c["confirm"] == true {
				return nil, true
			}
		}
		return mcpgo.NewToolResultError("the user declined " + t.tool.Name), true
	}
	if !clientCanElicit(ctx) {
		return nil, false
	}
	state, err := g.confirms.issue(call)
	if err != nil {
		return mcpgo.NewToolResultError(t.tool.Name + ": cannot ask for confirmation now: " + err.Error()), true
	}
	b := server.NewInputRequestBuilder(state).Elicit("confirm", mcpgo.ElicitationParams{
		Message: "Allow the agent to run " + t.tool.Name + "? " + t.tool.Description,
		RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{
			"confirm": map[string]any{"type": "boolean", "title": "Run it", "default": false}}, "required": []any{"confirm"}},
	})
	return b.ToolResult(), false
}

// clientCanElicit reports whether the calling client declared elicitation.
func clientCanElicit(ctx context.Context) bool {
	if mcpgo.IsModernProtocol(server.RequestProtocolVersion(ctx)) {
		return true // 2026-07-28: input-required results; the client answers or gives up
	}
	sess := server.ClientSessionFromContext(ctx)
	if sess == nil {
		return false
	}
	if ci, ok := sess.(server.SessionWithClientInfo); ok {
		return ci.GetClientCapabilities().Elicitation != nil
	}
	return false
}
