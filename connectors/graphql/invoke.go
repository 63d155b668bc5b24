package graphql

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/weftio/weft/connectors"
)

// Paging bounds for fetch_all.
const (
	defaultPageSize = 50
	maxPages        = 100
	defaultMaxItems = 10000
)

func permanent(f string, a ...any) error {
	return &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf(f, a...)}
}

// invoke runs one call: the query document is built from the operation's
// field and selection, and every argument value travels as a variable
// (never as text in the document).
//
// The result is http.request's {status, headers, body} with body the root
// field's value. Errors: a response with GraphQL errors and no data for
// the field fails the step (permanent: the server has answered); one
// with data and errors (a partial result) fails it too unless the call
// sets allow_partial, when the data is returned with errors beside it and
// partial: true. A mutation's partial result is never retried.
func (o *opSpec) invoke(ctx context.Context, call connectors.Call) (any, error) {
	args := map[string]any{}
	var selection string
	var allowPartial, fetchAll bool
	maxItems := defaultMaxItems
	ctlKey := map[string]string{}
	for k, v := range o.ctl {
		ctlKey[v] = k
	}
	for k, v := range call.Input {
		switch ctlKey[k] {
		case "selection":
			s, ok := v.(string)
			if !ok {
				return nil, permanent("%s: selection must be a string", o.field.Name)
			}
			selection = s
			continue
		case "allow_partial":
			allowPartial, _ = v.(bool)
			continue
		case "fetch_all":
			fetchAll, _ = v.(bool)
			continue
		case "max_items":
			n, ok := toInt(v)
			if !ok || n < 1 {
				return nil, permanent("%s: max_items must be a positive integer", o.field.Name)
			}
			maxItems = n
			continue
		}
		if o.args[k] == nil {
			return nil, permanent("%s: unknown input %q", o.field.Name, k)
		}
		args[k] = v
	}
	for _, a := range o.field.Arguments {
		if a.Type.NonNull && a.DefaultValue == nil {
			if _, ok := args[a.Name]; !ok {
				return nil, permanent("%s: missing required input %q", o.field.Name, a.Name)
			}
		}
	}
	selText, err := o.selectionText(selection)
	if err != nil {
		return nil, err
	}
	if o.conn != nil && args["first"] == nil && args["last"] == nil {
		// Servers that page (GitHub) refuse a connection without a page
		// size; one page of the default size is what the step returns.
		args["first"] = defaultPageSize
	}
	if !fetchAll || o.conn == nil {
		out, err := o.once(ctx, call, args, selText, selection != "", allowPartial)
		if err == nil && o.conn != nil && o.conn.items == "edges" {
			if body, ok := out["body"].(map[string]any); ok {
				if edges, ok := body["edges"].([]any); ok && body["nodes"] == nil {
					nodes := make([]any, 0, len(edges))
					for _, e := range edges {
						if m, ok := e.(map[string]any); ok {
							nodes = append(nodes, m["node"])
						}
					}
					body["nodes"] = nodes
				}
			}
		}
		return out, err
	}
	return o.fetchAll(ctx, call, args, selText, selection != "", allowPartial, maxItems)
}

// selectionText is the selection set sent: the default, or the caller's
// (braces added when missing; checked with the document).
func (o *opSpec) selectionText(custom string) (string, error) {
	if o.leafType {
		if strings.TrimSpace(custom) != "" {
			return "", permanent("%s returns a %s: it takes no selection", o.field.Name, o.field.Type.String())
		}
		return "", nil
	}
	if custom = strings.TrimSpace(custom); custom != "" {
		if len(custom) > maxSelection {
			return "", permanent("%s: selection is longer than %d bytes", o.field.Name, maxSelection)
		}
		if !strings.HasPrefix(custom, "{") {
			custom = "{ " + custom + " }"
		}
		return custom, nil
	}
	var b strings.Builder
	printSel(&b, o.sel)
	return b.String(), nil
}

// document builds the query document for args (each a variable).
func (o *opSpec) document(args map[string]any, selText string) string {
	names := sortedKeys(args)
	var defs, uses []string
	for _, n := range names {
		defs = append(defs, "$"+n+": "+o.args[n].Type.String())
		uses = append(uses, n+": $"+n)
	}
	var b strings.Builder
	b.WriteString(o.kind + " " + o.field.Name)
	if len(defs) > 0 {
		b.WriteString("(" + strings.Join(defs, ", ") + ")")
	}
	b.WriteString(" { " + o.field.Name)
	if len(uses) > 0 {
		b.WriteString("(" + strings.Join(uses, ", ") + ")")
	}
	if selText != "" {
		b.WriteString(" " + selText)
	}
	b.WriteString(" }")
	return b.String()
}

// check validates a document against the schema (a custom selection).
func (o *opSpec) check(doc string) error {
	q, err := parser.ParseQuery(&ast.Source{Input: doc})
	if err != nil {
		return permanent("%s: selection: %v", o.field.Name, err)
	}
	if len(q.Operations) != 1 || len(q.Fragments) > 0 {
		return permanent("%s: selection must be one selection set", o.field.Name)
	}
	if errs := validator.Validate(o.schema, q); len(errs) > 0 {
		return permanent("%s: selection does not fit the schema: %v", o.field.Name, errs)
	}
	return nil
}

func (o *opSpec) post(ctx context.Context, call connectors.Call, args map[string]any, selText string, custom bool) (map[string]any, error) {
	doc := o.document(args, selText)
	if custom {
		if err := o.check(doc); err != nil {
			return nil, err
		}
	}
	base := call.BaseURL
	if call.Connection != nil && call.Connection.BaseURL != "" {
		base = call.Connection.BaseURL
	}
	if base == "" {
		return nil, permanent("graphql %s: the connection needs base_url (the GraphQL API's address, e.g. https://api.github.com)", o.field.Name)
	}
	url := "/graphql"
	if call.Connection != nil {
		if p, ok := call.Connection.Config["path"].(string); ok {
			url = p
		}
	}
	if url == "" { // the base URL is the endpoint
		url = base
	}
	vars := args
	if vars == nil {
		vars = map[string]any{}
	}
	in := map[string]any{"method": "POST", "url": url, "headers": map[string]any{"Accept": "application/json"},
		"body": map[string]any{"query": doc, "variables": vars, "operationName": o.field.Name}}
	res, err := o.request.Invoke(ctx, connectors.Call{Input: in, IdempotencyKey: call.IdempotencyKey, Connection: call.Connection, BaseURL: call.BaseURL, Transport: call.Transport})
	if err != nil {
		var ce *connectors.Error
		if errors.As(err, &ce) {
			if body, ok := ce.Body.(map[string]any); ok && body["errors"] != nil {
				msg, _ := errorText(body["errors"])
				return nil, &connectors.Error{Class: ce.Class, Status: ce.Status, RetryAfter: ce.RetryAfter, Body: ce.Body,
					Message: fmt.Sprintf("graphql %s: HTTP %d: %s", o.field.Name, ce.Status, msg)}
			}
		}
		return nil, err
	}
	out, _ := res.(map[string]any)
	if out == nil {
		return nil, permanent("graphql %s: no response", o.field.Name)
	}
	return out, nil
}

// once makes one request and interprets its data and errors.
func (o *opSpec) once(ctx context.Context, call connectors.Call, args map[string]any, selText string, custom, allowPartial bool) (map[string]any, error) {
	out, err := o.post(ctx, call, args, selText, custom)
	if err != nil {
		return nil, err
	}
	body, ok := out["body"].(map[string]any)
	if !ok {
		return nil, &connectors.Error{Class: connectors.Permanent, Body: out["body"], Message: fmt.Sprintf("graphql %s: the response is not a GraphQL result (no JSON object)", o.field.Name)}
	}
	data, _ := body["data"].(map[string]any)
	value, has := data[o.field.Name]
	errs := body["errors"]
	if el, _ := errs.([]any); len(el) == 0 {
		errs = nil
	}
	if errs != nil {
		msg, n := errorText(errs)
		if !has || value == nil {
			return nil, &connectors.Error{Class: connectors.Permanent, Body: body, Message: fmt.Sprintf("graphql %s: %s", o.field.Name, msg)}
		}
		if !allowPartial {
			return nil, &connectors.Error{Class: connectors.Permanent, Body: body,
				Message: fmt.Sprintf("graphql %s: partial result with %d error(s): %s (set allow_partial to accept partial data)", o.field.Name, n, msg)}
		}
		return map[string]any{"status": out["status"], "headers": out["headers"], "body": value, "errors": errs, "partial": true}, nil
	}
	if !has {
		return nil, &connectors.Error{Class: connectors.Permanent, Body: body, Message: fmt.Sprintf("graphql %s: the response has no data for %s", o.field.Name, o.field.Name)}
	}
	return map[string]any{"status": out["status"], "headers": out["headers"], "body": value}, nil
}

// fetchAll pages a Relay connection (first/after) until hasNextPage is
// false, a cursor repeats, or maxPages/maxItems is reached; the result is
// the first page's connection with every page's items.
func (o *opSpec) fetchAll(ctx context.Context, call connectors.Call, args map[string]any, selText string, custom, allowPartial bool, maxItems int) (map[string]any, error) {
	page := map[string]any{}
	for k, v := range args {
		page[k] = v
	}
	if page["first"] == nil {
		page["first"] = defaultPageSize
	}
	var first map[string]any
	var items []any
	var errs []any
	seen := map[string]bool{}
	pages, truncated := 0, false
	for {
		out, err := o.once(ctx, call, page, selText, custom, allowPartial)
		if err != nil {
			return nil, err
		}
		pages++
		conn, ok := out["body"].(map[string]any)
		if !ok {
			return nil, permanent("graphql %s: fetch_all: the result is not a connection object", o.field.Name)
		}
		if e, ok := out["errors"].([]any); ok {
			errs = append(errs, e...)
		}
		list, isList := conn[o.conn.items].([]any)
		if !isList && conn[o.conn.items] != nil {
			return nil, permanent("graphql %s: fetch_all: %s is not a list", o.field.Name, o.conn.items)
		}
		if o.conn.items == "edges" {
			// The items are the edges' nodes.
			nodes := make([]any, 0, len(list))
			for _, e := range list {
				if m, ok := e.(map[string]any); ok {
					nodes = append(nodes, m["node"])
				}
			}
			list = nodes
		}
		if first == nil {
			first = out
		}
		for _, it := range list {
			if len(items) >= maxItems {
				truncated = true
				break
			}
			items = append(items, it)
		}
		pi, ok := conn["pageInfo"].(map[string]any)
		if !ok {
			return nil, permanent("graphql %s: fetch_all needs pageInfo { hasNextPage endCursor } in the selection", o.field.Name)
		}
		more, _ := pi["hasNextPage"].(bool)
		cursor, _ := pi["endCursor"].(string)
		if !more || truncated {
			break
		}
		if cursor == "" || seen[cursor] {
			truncated = true // the server says there is more but gives no new cursor
			break
		}
		if pages >= maxPages {
			truncated = true
			break
		}
		seen[cursor] = true
		page["after"] = cursor
	}
	body := map[string]any{}
	for k, v := range first["body"].(map[string]any) {
		body[k] = v
	}
	if items == nil {
		items = []any{}
	}
	if o.conn.items == "edges" {
		delete(body, "edges") // the nodes of every page's edges
	}
	body["nodes"] = items
	res := map[string]any{"status": first["status"], "headers": first["headers"], "body": body, "pages": int64(pages), "truncated": truncated}
	if len(errs) > 0 {
		res["errors"], res["partial"] = errs, true
	}
	return res, nil
}

// errorText summarises GraphQL errors: the first three messages (with
// their paths) and how many there are.
func errorText(v any) (string, int) {
	list, ok := v.([]any)
	if !ok {
		return fmt.Sprint(v), 1
	}
	var parts []string
	for i, e := range list {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(list)-3))
			break
		}
		m, _ := e.(map[string]any)
		msg, _ := m["message"].(string)
		if msg == "" {
			msg = "error without a message"
		}
		if p, ok := m["path"].([]any); ok && len(p) > 0 {
			var ps []string
			for _, x := range p {
				ps = append(ps, fmt.Sprint(x))
			}
			msg += " (at " + strings.Join(ps, ".") + ")"
		}
		parts = append(parts, msg)
	}
	return strings.Join(parts, "; "), len(list)
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
