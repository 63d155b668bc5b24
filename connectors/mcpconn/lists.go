package mcpconn

import (
	"context"
	"fmt"
	"iter"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// listAll reads every page of one of the upstream's lists within the call
// timeout: nothing when the upstream does not offer the capability (has),
// at most MaxTools items, and a list over the result limit said to be so.
// conv turns an item into Weft's form (false: skip it); what names the
// items in errors ("prompt").
func listAll[T, R any](ctx context.Context, u *Upstream, what string, has func(*sdk.ServerCapabilities) bool,
	list func(*sdk.ClientSession, context.Context) iter.Seq2[*T, error], conv func(*T) (R, bool)) ([]R, error) {
	ctx, cancel := context.WithTimeout(ctx, u.opt.CallTimeout)
	defer cancel()
	s, err := u.session(ctx)
	if err != nil {
		return nil, err
	}
	out := []R{}
	if ir := s.InitializeResult(); ir != nil && ir.Capabilities != nil && !has(ir.Capabilities) {
		return out, nil // the upstream offers none
	}
	for x, err := range list(s, ctx) {
		if err != nil {
			if u.oversize.Swap(false) {
				return nil, fmt.Errorf("MCP upstream %s: the %s list is over the limit of %d bytes", u.name, what, u.opt.MaxResultBytes)
			}
			return nil, fmt.Errorf("MCP upstream %s: listing %ss: %v", u.name, what, err)
		}
		if len(out) >= MaxTools {
			return nil, fmt.Errorf("MCP upstream %s lists more than %d %ss", u.name, MaxTools, what)
		}
		if x == nil {
			continue
		}
		if r, ok := conv(x); ok {
			out = append(out, r)
		}
	}
	return out, nil
}
