package mcpconn

import (
	"context"
	"encoding/json"
	"fmt"

	mmcp "github.com/mark3labs/mcp-go/mcp"
)

// Prompt is one prompt an upstream lists.
type Prompt struct {
	Name        string      `json:"name"`
	Title       string      `json:"title,omitempty"`
	Description string      `json:"description,omitempty"`
	Arguments   []PromptArg `json:"arguments,omitempty"`
}

// PromptArg is one argument of a prompt.
type PromptArg struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
}

// PromptMessage is one message of a rendered prompt: a role and one
// content block as the MCP wire has it (text, image, audio, resource,
// resource_link).
type PromptMessage struct {
	Role    string         `json:"role"`
	Content map[string]any `json:"content"`
}

// ListPrompts lists the upstream's prompts (every page, at most MaxTools).
func (u *Upstream) ListPrompts(ctx context.Context) ([]Prompt, error) {
	return listAll(ctx, u, "prompt", "prompts", func(c *mmcp.ServerCapabilities) bool { return c.Prompts != nil },
		func(s *session, ctx context.Context, cursor mmcp.Cursor) (mmcp.Cursor, error) {
			var req mmcp.ListPromptsRequest
			req.Params.Cursor = cursor
			res, err := s.c.ListPromptsByPage(ctx, req)
			if err != nil {
				return "", err
			}
			return res.NextCursor, nil
		},
		func(p *wirePrompt) (Prompt, bool) {
			x := Prompt{Name: p.Name, Title: p.Title, Description: p.Description}
			for _, a := range p.Arguments {
				x.Arguments = append(x.Arguments, PromptArg{Name: a.Name, Description: a.Description, Required: a.Required})
			}
			return x, true
		})
}

// GetPrompt renders one prompt of the upstream, within the call timeout
// and the result limit.
func (u *Upstream) GetPrompt(ctx context.Context, name string, args map[string]string) (string, []PromptMessage, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, u.opt.CallTimeout)
	defer cancel()
	s, err := u.session(ctx)
	if err != nil {
		return "", nil, err
	}
	var req mmcp.GetPromptRequest
	req.Params.Name, req.Params.Arguments = name, args
	res, err := s.c.GetPrompt(ctx, req)
	if err != nil {
		return "", nil, u.callError(parent, ctx, s, "prompts/get "+name, err)
	}
	var out []PromptMessage
	size := len(res.Description)
	for _, m := range res.Messages {
		if m.Content == nil {
			continue
		}
		b, err := json.Marshal(m.Content)
		if err != nil {
			return "", nil, fmt.Errorf("MCP upstream %s: prompt %s: %v", u.name, name, err)
		}
		if size += len(b); size > u.opt.MaxResultBytes {
			return "", nil, u.tooLarge("prompts/get " + name)
		}
		var c map[string]any
		if err := json.Unmarshal(b, &c); err != nil {
			return "", nil, fmt.Errorf("MCP upstream %s: prompt %s: %v", u.name, name, err)
		}
		out = append(out, PromptMessage{Role: string(m.Role), Content: c})
	}
	return res.Description, out, nil
}

// wirePrompt is a prompt as listed.
type wirePrompt struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Arguments   []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Required    bool   `json:"required"`
	} `json:"arguments"`
}
