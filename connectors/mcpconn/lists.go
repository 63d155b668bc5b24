package mcpconn

import (
	"context"
	"encoding/json"
	"fmt"

	mmcp "github.com/mark3labs/mcp-go/mcp"
)

// listAll reads every page of one of the upstream's lists within the call
// timeout: nothing when the upstream does not offer the capability (has),
// at most MaxTools items, and a list over the result limit said to be so.
// page asks for one page (mcp-go's ...ByPage) and returns its next cursor;
// the items are read from the page as the upstream sent it, under key
// ("prompts"), into T (mcp-go's own types parse some fields strictly, and
// Weft keeps only a few). conv turns an item into Weft's form (false: skip
// it); what names the items in errors ("prompt").
func listAll[T, R any](ctx context.Context, u *Upstream, what, key string, has func(*mmcp.ServerCapabilities) bool,
	page func(*session, context.Context, mmcp.Cursor) (mmcp.Cursor, error), conv func(*T) (R, bool)) ([]R, error) {
	ctx, cancel := context.WithTimeout(ctx, u.opt.CallTimeout)
	defer cancel()
	s, err := u.session(ctx)
	if err != nil {
		return nil, err
	}
	out := []R{}
	if ir := s.init; ir != nil && !has(&ir.Capabilities) {
		return out, nil // the upstream offers none
	}
	ctx, raw := withRaw(ctx)
	var cursor mmcp.Cursor
	seen := map[mmcp.Cursor]bool{}
	for {
		next, err := page(s, ctx, cursor)
		if err != nil {
			if u.oversize.Swap(false) {
				return nil, fmt.Errorf("MCP upstream %s: the %s list is over the limit of %d bytes", u.name, what, u.opt.MaxResultBytes)
			}
			return nil, fmt.Errorf("MCP upstream %s: listing %ss: %v", u.name, what, err)
		}
		raw.mu.Lock()
		pages := raw.pages
		raw.pages = nil
		raw.mu.Unlock()
		if len(pages) != 1 {
			return nil, fmt.Errorf("MCP upstream %s: listing %ss: no answer kept", u.name, what)
		}
		var fields map[string]json.RawMessage
		var items []*T
		if err = json.Unmarshal(pages[0], &fields); err == nil && fields[key] != nil {
			err = json.Unmarshal(fields[key], &items)
		}
		if err != nil {
			return nil, fmt.Errorf("MCP upstream %s: listing %ss: %v", u.name, what, err)
		}
		for _, x := range items {
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
		if next == "" {
			return out, nil
		}
		if seen[next] || len(seen) > MaxTools {
			return nil, fmt.Errorf("MCP upstream %s: listing %ss: the pages do not end (cursor %.64q again)", u.name, what, next)
		}
		seen[next] = true
		cursor = next
	}
}
