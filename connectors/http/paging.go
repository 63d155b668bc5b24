package http

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/internal/lazy"
)

// Paging styles.
const (
	PageCursor = "cursor" // the response names the next page's cursor; send it as a query parameter
	PageLink   = "link"   // follow the Link header's rel="next" URL (GitHub, many REST APIs)
	PageOffset = "offset" // offset += items received
	PagePage   = "page"   // page number += 1
)

// Paging says how to fetch every page of a list ("fetch all") and when to
// stop: no next page, an empty page, max_pages or max_items.
type Paging struct {
	Style       string `json:"style"`
	Items       string `json:"items,omitempty"`        // dotted path to the list in the body ("" = the body is the list)
	CursorParam string `json:"cursor_param,omitempty"` // cursor: query parameter (default cursor)
	Next        string `json:"next,omitempty"`         // cursor: dotted path to the next cursor in the body (default next_cursor)
	OffsetParam string `json:"offset_param,omitempty"` // offset: default offset
	PageParam   string `json:"page_param,omitempty"`   // page: default page
	FirstPage   int    `json:"first_page,omitempty"`   // page: default 1
	LimitParam  string `json:"limit_param,omitempty"`  // page size parameter, if any
	PageSize    int    `json:"page_size,omitempty"`    // sent as limit_param
	MaxPages    int    `json:"max_pages,omitempty"`    // default 100
	MaxItems    int    `json:"max_items,omitempty"`    // default 10,000
}

var pagingSchema = map[string]any{
	"type": "object", "description": "fetch every page of a list and return the items together", "required": []any{"style"},
	"properties": map[string]any{
		"style":        map[string]any{"enum": []any{PageCursor, PageLink, PageOffset, PagePage}},
		"items":        map[string]any{"type": "string", "description": "dotted path to the list in the body (default: the body)"},
		"cursor_param": map[string]any{"type": "string"}, "next": map[string]any{"type": "string"},
		"offset_param": map[string]any{"type": "string"}, "page_param": map[string]any{"type": "string"}, "first_page": map[string]any{"type": "integer"},
		"limit_param": map[string]any{"type": "string"}, "page_size": map[string]any{"type": "integer"},
		"max_pages": map[string]any{"type": "integer", "minimum": 1}, "max_items": map[string]any{"type": "integer", "minimum": 1},
	},
	"additionalProperties": false,
}

// ParsePaging reads a paginate input object.
func ParsePaging(m map[string]any) (*Paging, error) {
	p := &Paging{}
	bad := func(f string, a ...any) error {
		return &connectors.Error{Class: connectors.Permanent, Message: "paginate: " + fmt.Sprintf(f, a...)}
	}
	for k, v := range m {
		switch k {
		case "style", "items", "cursor_param", "next", "offset_param", "page_param", "limit_param":
			s, ok := v.(string)
			if !ok {
				return nil, bad("%s must be a string", k)
			}
			*map[string]*string{"style": &p.Style, "items": &p.Items, "cursor_param": &p.CursorParam, "next": &p.Next,
				"offset_param": &p.OffsetParam, "page_param": &p.PageParam, "limit_param": &p.LimitParam}[k] = s
		case "first_page", "page_size", "max_pages", "max_items":
			n, ok := toInt(v)
			if !ok || n < 0 {
				return nil, bad("%s must be a positive integer", k)
			}
			*map[string]*int{"first_page": &p.FirstPage, "page_size": &p.PageSize, "max_pages": &p.MaxPages, "max_items": &p.MaxItems}[k] = n
		default:
			return nil, bad("unknown field %q", k)
		}
	}
	switch p.Style {
	case PageCursor, PageLink, PageOffset, PagePage:
	default:
		return nil, bad("style must be cursor, link, offset or page, got %q", p.Style)
	}
	return p, nil
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case float64:
		return int(x), x == float64(int(x))
	case int64:
		return int(x), true
	case int:
		return x, true
	}
	return 0, false
}

// FetchAll calls once per page until the list ends or a limit is reached.
// The result is the first page's response with the items of every page at
// the items path, plus pages and truncated (a limit stopped it early).
func FetchAll(ctx context.Context, p *Paging, call connectors.Call, once func(context.Context, connectors.Call) (map[string]any, error)) (map[string]any, error) {
	maxPages, maxItems := p.MaxPages, p.MaxItems
	if maxPages <= 0 {
		maxPages = 100
	}
	if maxItems <= 0 {
		maxItems = 10000
	}
	cursorParam, next := or(p.CursorParam, "cursor"), or(p.Next, "next_cursor")
	offsetParam, pageParam := or(p.OffsetParam, "offset"), or(p.PageParam, "page")
	page := p.FirstPage
	if page == 0 {
		page = 1
	}
	query := map[string]any{}
	if q, ok := call.Input["query"].(map[string]any); ok {
		for k, v := range q {
			query[k] = v
		}
	}
	if p.LimitParam != "" && p.PageSize > 0 {
		query[p.LimitParam] = p.PageSize
	}
	if p.Style == PagePage {
		query[pageParam] = page
	}
	var first map[string]any
	var all []any
	pages, truncated := 0, false
	urlNow, _ := call.Input["url"].(string)
	for {
		in := make(map[string]any, len(call.Input))
		for k, v := range call.Input {
			in[k] = v
		}
		in["url"] = urlNow
		if len(query) > 0 {
			q := make(map[string]any, len(query))
			for k, v := range query {
				q[k] = v
			}
			in["query"] = q
		} else {
			delete(in, "query")
		}
		out, err := once(ctx, connectors.Call{Input: in, IdempotencyKey: call.IdempotencyKey, Connection: call.Connection, BaseURL: call.BaseURL, Transport: call.Transport})
		if err != nil {
			return nil, err
		}
		pages++
		if first == nil {
			first = out
		}
		items, err := itemsAt(out["body"], p.Items)
		if err != nil {
			return nil, err
		}
		if room := maxItems - len(all); len(items) > room {
			items, truncated = items[:room], true
		}
		all = append(all, items...)
		if len(items) == 0 || truncated {
			break
		}
		more := false
		switch p.Style {
		case PageCursor:
			if c, ok := lookup(out["body"], next); ok && c != nil && c != "" && c != false {
				query[cursorParam], more = c, true
			}
		case PageLink:
			h, _ := out["headers"].(map[string]any)
			link, _ := h["link"].(string)
			if n := nextLink(link); n != "" {
				base, _ := url.Parse(urlNow)
				if u, err := url.Parse(n); err == nil && base != nil {
					urlNow, query, more = base.ResolveReference(u).String(), map[string]any{}, true
				}
			}
		case PageOffset:
			off, _ := toInt(query[offsetParam])
			query[offsetParam], more = off+len(items), true
		case PagePage:
			page++
			query[pageParam], more = page, true
		}
		if more && p.PageSize > 0 && len(items) < p.PageSize && (p.Style == PageOffset || p.Style == PagePage) {
			more = false // a short page is the last one
		}
		if !more {
			break
		}
		if pages >= maxPages {
			truncated = true
			break
		}
	}
	if all == nil {
		all = []any{}
	}
	res := map[string]any{"status": first["status"], "headers": first["headers"], "pages": int64(pages), "truncated": truncated}
	if p.Items == "" {
		res["body"] = all
	} else {
		res["body"] = withItems(first["body"], p.Items, all, next)
	}
	return res, nil
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func lookup(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[part]; !ok {
			return nil, false
		}
	}
	return v, true
}

func itemsAt(body any, path string) ([]any, error) {
	v, ok := lookup(body, path)
	if !ok {
		return nil, &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf("paginate: the response has no %q list (set paginate.items)", path)}
	}
	if v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf("paginate: %q in the response is %T, not a list (set paginate.items)", path, v)}
	}
	return l, nil
}

// withItems copies body with the list at path replaced by items and the
// next-cursor field dropped (there is no next page of the whole).
func withItems(body any, path string, items []any, next string) any {
	m, ok := body.(map[string]any)
	if !ok {
		return items
	}
	parts := strings.SplitN(path, ".", 2)
	cp := make(map[string]any, len(m))
	for k, v := range m {
		cp[k] = v
	}
	if len(parts) == 1 {
		cp[parts[0]] = items
		if !strings.Contains(next, ".") {
			delete(cp, next)
		}
		return cp
	}
	cp[parts[0]] = withItems(m[parts[0]], parts[1], items, "")
	return cp
}

var linkRe = lazy.NewRegexp(`<([^>]*)>\s*;[^,]*rel="?next"?`)

// nextLink returns the rel="next" target of a Link header.
func nextLink(h string) string {
	if m := linkRe.FindStringSubmatch(h); m != nil {
		return m[1]
	}
	return ""
}
