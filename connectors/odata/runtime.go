package odata

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/internal/lazy"
)

// Paging bounds for fetch_all.
const (
	defaultMaxItems = 10000
	maxPages        = 200
)

// runtime carries one imported service's calls through the http
// connector, adding what OData needs on top.
type runtime struct {
	m       *Model
	request *connectors.Operation

	mu     sync.Mutex
	tokens map[*connectors.Connection]csrf // SAP x-csrf-token and its session cookies, per connection
}

type csrf struct{ token, cookie string }

func perm(op, f string, a ...any) error {
	return &connectors.Error{Class: connectors.Permanent, Message: op + ": " + fmt.Sprintf(f, a...)}
}

func changing(method string) bool { return method != "GET" && method != "HEAD" }

func (r *runtime) csrfOn(conn *connectors.Connection) bool {
	if conn != nil {
		if v, ok := conn.Config["csrf"].(bool); ok {
			return v
		}
	}
	return r.m.V2()
}

// do sends one request (path relative to the service root, or an
// absolute next link) and returns the http connector's output with the
// body normalised.
func (r *runtime) do(ctx context.Context, call connectors.Call, op, method, path string, query map[string]any, body any, extra map[string]any) (map[string]any, error) {
	if query == nil {
		query = map[string]any{}
	}
	if conn := call.Connection; conn != nil {
		if sc, ok := conn.Config["sap_client"]; ok && sc != nil && !strings.Contains(path, "sap-client=") {
			query["sap-client"] = fmt.Sprint(sc)
		}
	}
	headers := map[string]any{"Accept": "application/json"}
	if r.m.V2() {
		headers["DataServiceVersion"] = "2.0"
		headers["MaxDataServiceVersion"] = "2.0"
	} else {
		headers["OData-Version"] = "4.0"
		headers["OData-MaxVersion"] = "4.0"
	}
	for k, v := range extra { // set by the operation (If-Match)
		headers[k] = v
	}
	wire := method
	if method == "PATCH" && r.m.V2() {
		wire, headers["X-HTTP-Method"] = "POST", "MERGE" // v2 has MERGE, tunnelled through POST
	}
	async := strings.Contains(fmt.Sprint(headers["Prefer"]), respondAsync)
	if got, ok := ctx.Value(captureKey{}).(*[]*captured); ok { // building a $batch: record, do not send
		if async { // a part of a batch is not asynchronous on its own
			delete(headers, "Prefer")
		}
		*got = append(*got, &captured{method: wire, path: path, query: query, headers: headers, body: body})
		return map[string]any{"status": int64(200)}, nil
	}
	// The query string is written here, not by the http connector: OData
	// wants spaces as %20 (a + may be read as a plus) and $ left as it is.
	target := path
	if len(query) > 0 {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + encodeQuery(query)
	}
	send := func(tok csrf) (map[string]any, error) {
		in := map[string]any{"method": wire, "url": target, "headers": copyMap(headers)}
		if tok.token != "" {
			h := in["headers"].(map[string]any)
			h["x-csrf-token"] = tok.token
			if tok.cookie != "" {
				h["Cookie"] = tok.cookie
			}
		}
		if rb, ok := body.(rawBody); ok {
			if rb.base64 {
				in["raw"] = map[string]any{"content_base64": rb.content, "content_type": rb.contentType}
			} else {
				in["raw"] = map[string]any{"content": rb.content, "content_type": rb.contentType}
			}
		} else if body != nil {
			in["body"] = body
		}
		if async {
			// 202 Accepted and a status monitor (Location): the http
			// connector polls it; its final answer is the response as
			// application/http, read below.
			in["long_running"] = map[string]any{"poll": true}
		}
		out, err := r.request.Invoke(ctx, connectors.Call{Input: in, IdempotencyKey: call.IdempotencyKey, Connection: call.Connection, BaseURL: call.BaseURL, Transport: call.Transport})
		if err != nil {
			return nil, err
		}
		m, _ := out.(map[string]any)
		return m, nil
	}
	var tok csrf
	if changing(method) && r.csrfOn(call.Connection) {
		var err error
		if tok, err = r.token(ctx, call, false); err != nil {
			return nil, r.oerror(op, err)
		}
	}
	out, err := send(tok)
	var ce *connectors.Error
	if err != nil && changing(method) && errors.As(err, &ce) && ce.Status == 403 {
		// SAP answers a missing or expired token with 403 and
		// "x-csrf-token: Required": fetch a fresh one and try once more.
		if fresh, ferr := r.token(ctx, call, true); ferr == nil && fresh.token != "" {
			out, err = send(fresh)
		}
	}
	if err != nil {
		return nil, r.oerror(op, err)
	}
	if async && out != nil {
		if out, err = r.monitored(op, out); err != nil {
			return nil, r.oerror(op, err)
		}
	}
	if out != nil {
		out["body"] = r.normalize(out["body"], out["headers"])
		if out["body"] == nil { // 204 after an update: its new ETag, for the next one
			if h, ok := out["headers"].(map[string]any); ok {
				if e, ok := h["etag"].(string); ok && e != "" {
					out["body"] = map[string]any{"@odata.etag": e}
				}
			}
		}
	}
	return out, nil
}

// respondAsync is the preference that asks an OData v4 service to run a
// request in the background (OData 4.01 Part 1, 8.2.8.8 and 11.6).
const respondAsync = "respond-async"

// asyncInput is the input of changing operations and actions that asks
// for respond-async.
const asyncInput = "respond_async"

// monitored turns a status monitor's final answer into the response of
// the request it ran: OData sends that response whole, as
// application/http. A 4xx or 5xx inside it is the operation's error. An
// answer of another type (the service ran the request at once, or
// answered the monitor with the result itself) is returned as it is.
func (r *runtime) monitored(op string, out map[string]any) (map[string]any, error) {
	h, _ := out["headers"].(map[string]any)
	ct, _ := h["content-type"].(string)
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/http") {
		return out, nil
	}
	data, err := bodyBytes(out)
	if err != nil {
		return nil, perm(op, "the status monitor's answer: %v", err)
	}
	inner, err := readHTTPPart(data)
	if err != nil {
		return nil, perm(op, "the status monitor's answer is not an HTTP response: %v", err)
	}
	st, _ := inner["status"].(int)
	if st >= 400 {
		return nil, &connectors.Error{Class: connectors.StatusClass(st), Status: st, Body: r.normalize(inner["body"], inner["headers"]),
			Message: fmt.Sprintf("%s: the asynchronous request failed with HTTP %d", op, st)}
	}
	res := map[string]any{"status": int64(st), "headers": inner["headers"], "body": inner["body"]}
	if lr, ok := out["long_running"]; ok {
		res["long_running"] = lr
	}
	return res, nil
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// token returns the connection's CSRF token, fetching one (GET on the
// service root with x-csrf-token: Fetch) when there is none or fresh is set.
func (r *runtime) token(ctx context.Context, call connectors.Call, fresh bool) (csrf, error) {
	r.mu.Lock()
	if r.tokens == nil {
		r.tokens = map[*connectors.Connection]csrf{}
	}
	t, ok := r.tokens[call.Connection]
	r.mu.Unlock()
	if ok && !fresh {
		return t, nil
	}
	in := map[string]any{"method": "GET", "url": "/", "headers": map[string]any{"x-csrf-token": "Fetch", "Accept": "application/json"}}
	if conn := call.Connection; conn != nil {
		if sc, ok := conn.Config["sap_client"]; ok && sc != nil {
			in["query"] = map[string]any{"sap-client": fmt.Sprint(sc)}
		}
	}
	out, err := r.request.Invoke(ctx, connectors.Call{Input: in, Connection: call.Connection, BaseURL: call.BaseURL, Transport: call.Transport})
	if err != nil {
		return csrf{}, err
	}
	m, _ := out.(map[string]any)
	h, _ := m["headers"].(map[string]any)
	tok, _ := h["x-csrf-token"].(string)
	sc, _ := h["set-cookie"].(string)
	t = csrf{token: tok, cookie: cookies(sc)}
	r.mu.Lock()
	r.tokens[call.Connection] = t
	r.mu.Unlock()
	return t, nil
}

// cookies turns Set-Cookie values (joined by ", " by the http
// connector; an Expires date has a comma of its own) into a Cookie header.
func cookies(setCookie string) string {
	if setCookie == "" {
		return ""
	}
	var out []string
	for _, part := range strings.Split(setCookie, ", ") {
		nv, _, _ := strings.Cut(part, ";")
		name, _, ok := strings.Cut(nv, "=")
		if !ok || strings.ContainsAny(name, " \t") || name == "" {
			continue // the rest of an Expires date
		}
		out = append(out, strings.TrimSpace(nv))
	}
	return strings.Join(out, "; ")
}

// normalize gives v2 and v4 payloads one shape: a collection becomes
// {value, count, next_link}; an entity keeps its properties, with its
// ETag as @odata.etag (v2: __metadata.etag, else the ETag header).
func (r *runtime) normalize(body any, headers any) any {
	bm, ok := body.(map[string]any)
	if !ok {
		return body
	}
	if d, ok := bm["d"]; ok && len(bm) == 1 { // v2 (and v1) JSON
		switch x := d.(type) {
		case []any:
			return map[string]any{"value": x}
		case map[string]any:
			if res, ok := x["results"].([]any); ok {
				out := map[string]any{"value": res}
				if n, ok := x["__count"]; ok {
					out["count"] = toInt(n)
				}
				if nx, ok := x["__next"].(string); ok {
					out["next_link"] = nx
				}
				for _, e := range res {
					v2etag(e)
				}
				return out
			}
			v2etag(x)
			bm = x
		}
	} else if vals, ok := bm["value"].([]any); ok {
		out := map[string]any{"value": vals}
		if n, ok := bm["@odata.count"]; ok {
			out["count"] = toInt(n)
		}
		if nx, ok := bm["@odata.nextLink"].(string); ok {
			out["next_link"] = nx
		}
		return out
	}
	if _, has := bm["@odata.etag"]; !has {
		if h, ok := headers.(map[string]any); ok {
			if e, ok := h["etag"].(string); ok && e != "" {
				bm["@odata.etag"] = e
			}
		}
	}
	return bm
}

func v2etag(e any) {
	m, ok := e.(map[string]any)
	if !ok {
		return
	}
	if md, ok := m["__metadata"].(map[string]any); ok {
		if et, ok := md["etag"].(string); ok {
			m["@odata.etag"] = et
		}
	}
}

func toInt(v any) any {
	switch x := v.(type) {
	case string:
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			return n
		}
	case float64:
		return int64(x)
	}
	return v
}

// oerror turns an upstream failure into a Weft error that says what the
// service said (v4 error.message, v2 error.message.value) and, for
// optimistic-concurrency failures, what to do.
func (r *runtime) oerror(op string, err error) error {
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		return err
	}
	msg := ce.Message
	if code, text := odataError(ce.Body); text != "" {
		msg = fmt.Sprintf("%s: OData error", op)
		if code != "" {
			msg += " " + code
		}
		msg += ": " + text + fmt.Sprintf(" (HTTP %d)", ce.Status)
	}
	switch ce.Status {
	case 412:
		msg = op + ": the entity changed since its ETag was read (412 Precondition Failed): read it again and retry with the new @odata.etag as if_match. " + msg
	case 428:
		msg = op + ": the service requires If-Match (428): read the entity and pass its @odata.etag as if_match. " + msg
	}
	return &connectors.Error{Class: ce.Class, Status: ce.Status, RetryAfter: ce.RetryAfter, Message: msg, Body: ce.Body}
}

func odataError(body any) (code, text string) {
	m, _ := body.(map[string]any)
	if m == nil {
		return "", ""
	}
	e, _ := m["error"].(map[string]any)
	if e == nil {
		if e, _ = m["odata.error"].(map[string]any); e == nil { // v3 JSON light
			return "", ""
		}
	}
	code, _ = e["code"].(string)
	switch x := e["message"].(type) {
	case string:
		text = x
	case map[string]any:
		text, _ = x["value"].(string)
	}
	if len(text) > 1000 {
		text = text[:1000] + "…"
	}
	return code, text
}

// queryOptions reads the query inputs of a list into OData parameters.
func (r *runtime) queryOptions(t *EntityType, in map[string]any) (map[string]any, error) {
	q := map[string]any{}
	for _, k := range sortedInputs(in) {
		v := in[k]
		switch k {
		case "filter":
			f, err := r.m.buildFilter(t, v)
			if err != nil {
				return nil, err
			}
			if f != "" {
				q["$filter"] = f
			}
		case "select":
			allowed := map[string]bool{}
			for _, p := range t.Props {
				allowed[p.Name] = true
			}
			for _, n := range t.Navs {
				allowed[n.Name] = true
			}
			s, err := nameList("select", v, allowed)
			if err != nil {
				return nil, err
			}
			if s != "" {
				q["$select"] = s
			}
		case "expand":
			allowed := map[string]bool{}
			for _, n := range t.Navs {
				allowed[n.Name] = true
			}
			s, err := nameList("expand", v, allowed)
			if err != nil {
				return nil, err
			}
			if s != "" {
				q["$expand"] = s
			}
		case "orderby":
			s, err := orderBy(t, v)
			if err != nil {
				return nil, err
			}
			if s != "" {
				q["$orderby"] = s
			}
		case "top", "skip":
			n, ok := number(v)
			if _, isStr := v.(string); isStr {
				ok = false
			}
			if !ok || n < 0 || n != float64(int64(n)) {
				return nil, fmt.Errorf("%s must be a non-negative integer", k)
			}
			q["$"+k] = strconv.FormatInt(int64(n), 10)
		case "count":
			if b, _ := v.(bool); b {
				if r.m.V2() {
					q["$inlinecount"] = "allpages"
				} else {
					q["$count"] = "true"
				}
			}
		case "search":
			s, _ := v.(string)
			if s == "" {
				continue
			}
			if len(s) > 1000 {
				return nil, fmt.Errorf("search is longer than 1000 characters")
			}
			if r.m.V2() {
				q["search"] = s // SAP's custom search parameter
			} else {
				q["$search"] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
			}
		}
	}
	return q, nil
}

var listKeys = map[string]bool{"include_annotations": true, "filter": true, "select": true, "expand": true, "orderby": true, "top": true, "skip": true, "count": true, "search": true, "fetch_all": true, "max_items": true}

func (r *runtime) list(op string, t *EntityType, set *EntitySet, path func(map[string]any) (string, error)) func(context.Context, connectors.Call) (any, error) {
	return func(ctx context.Context, call connectors.Call) (any, error) {
		opts := map[string]any{}
		keys := map[string]any{}
		for k, v := range call.Input {
			if listKeys[k] {
				opts[k] = v
			} else {
				keys[k] = v
			}
		}
		p, err := path(keys)
		if err != nil {
			return nil, perm(op, "%v", err)
		}
		q, err := r.queryOptions(t, opts)
		if err != nil {
			return nil, perm(op, "%v", err)
		}
		prefer, err := preferAnnotations(opts["include_annotations"])
		if err != nil {
			return nil, perm(op, "%v", err)
		}
		out, err := r.do(ctx, call, op, "GET", p, q, nil, prefer)
		if err != nil {
			return nil, err
		}
		if all, _ := opts["fetch_all"].(bool); !all {
			return out, nil
		}
		max := defaultMaxItems
		if n, ok := number(opts["max_items"]); ok && n >= 1 {
			max = int(n)
		}
		var items []any
		body, _ := out["body"].(map[string]any)
		pages := 0
		for {
			pages++
			vals, _ := body["value"].([]any)
			items = append(items, vals...)
			next, _ := body["next_link"].(string)
			if next == "" || len(items) >= max || len(vals) == 0 {
				break
			}
			if pages >= maxPages {
				return nil, perm(op, "fetch_all stopped after %d pages (%d items); narrow the filter or set max_items", maxPages, len(items))
			}
			u, err := r.nextURL(call, p, next)
			if err != nil {
				return nil, perm(op, "%v", err)
			}
			page, err := r.do(ctx, call, op, "GET", u, nil, nil, prefer)
			if err != nil {
				return nil, err
			}
			body, _ = page["body"].(map[string]any)
		}
		if len(items) > max {
			items = items[:max]
		}
		res := map[string]any{"value": items, "pages": pages}
		if c, ok := out["body"].(map[string]any)["count"]; ok {
			res["count"] = c
		}
		return map[string]any{"status": out["status"], "headers": out["headers"], "body": res}, nil
	}
}

// nextURL resolves a next link against the service root and keeps it
// there: a link to another origin or outside the service is refused
// (the connection's credentials go to its service only).
func (r *runtime) nextURL(call connectors.Call, reqPath, next string) (string, error) {
	base := call.BaseURL
	if call.Connection != nil && call.Connection.BaseURL != "" {
		base = call.Connection.BaseURL
	}
	root, err := url.Parse(strings.TrimRight(base, "/") + "/")
	if err != nil || root.Host == "" {
		return "", fmt.Errorf("next link %q: the connection has no base_url to resolve it against", cut(next, 80))
	}
	ref, err := url.Parse(next)
	if err != nil {
		return "", fmt.Errorf("next link %q is not a URL", cut(next, 80))
	}
	u := root.ResolveReference(ref)
	if u.Scheme != root.Scheme || u.Host != root.Host || !strings.HasPrefix(u.Path, strings.TrimRight(root.Path, "/")) {
		return "", fmt.Errorf("next link %q leaves the service %s; not followed", cut(next, 80), root.Redacted())
	}
	rel := strings.TrimPrefix(u.RequestURI(), strings.TrimRight(root.EscapedPath(), "/"))
	return rel, nil
}

func (r *runtime) get(op string, t *EntityType, path func(map[string]any) (string, error)) func(context.Context, connectors.Call) (any, error) {
	return func(ctx context.Context, call connectors.Call) (any, error) {
		opts := map[string]any{}
		keys := map[string]any{}
		for k, v := range call.Input {
			if k == "select" || k == "expand" || k == "include_annotations" {
				opts[k] = v
			} else {
				keys[k] = v
			}
		}
		p, err := path(keys)
		if err != nil {
			return nil, perm(op, "%v", err)
		}
		q, err := r.queryOptions(t, opts)
		if err != nil {
			return nil, perm(op, "%v", err)
		}
		prefer, err := preferAnnotations(opts["include_annotations"])
		if err != nil {
			return nil, perm(op, "%v", err)
		}
		return r.do(ctx, call, op, "GET", p, q, nil, prefer)
	}
}

var annotationsRe = lazy.NewRegexp(`^[A-Za-z0-9_.*,-]{1,500}$`)

// preferAnnotations asks for instance annotations (a Prefer header).
func preferAnnotations(v any) (map[string]any, error) {
	s, _ := v.(string)
	if s == "" {
		return nil, nil
	}
	if !annotationsRe.MatchString(s) {
		return nil, fmt.Errorf("include_annotations %q: want annotation names or patterns (Namespace.Term, *), comma-separated", cut(s, 60))
	}
	return map[string]any{"Prefer": `odata.include-annotations="` + s + `"`}, nil
}

var bindRe = lazy.NewRegexp(`^/?([A-Za-z_][A-Za-z0-9_]{0,127})\([^()/?#]{1,400}\)$`)

// binds turns a bind input ({Nav: "Set(key)" | ["Set(key)", ...]}) into
// Nav@odata.bind body members, checking the names against the document.
func (r *runtime) binds(t *EntityType, v any, body map[string]any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("bind must be an object {navigation: \"Set(key)\"}")
	}
	check := func(nav string, x any) (string, error) {
		s, _ := x.(string)
		g := bindRe.FindStringSubmatch(s)
		if g == nil {
			return "", fmt.Errorf("bind %s: %q is not Set(key)", nav, cut(s, 60))
		}
		for _, es := range r.m.EntitySets {
			if es.Name == g[1] {
				return s, nil
			}
		}
		return "", fmt.Errorf("bind %s: %q is not an entity set of the service", nav, g[1])
	}
	for nav, x := range m {
		n := t.Nav(nav)
		if n == nil {
			return fmt.Errorf("bind: %q is not a navigation property of %s", nav, t.Name)
		}
		if n.Collection {
			list, ok := x.([]any)
			if !ok {
				return fmt.Errorf("bind %s: want a list of Set(key)", nav)
			}
			var out []any
			for _, e := range list {
				s, err := check(nav, e)
				if err != nil {
					return err
				}
				out = append(out, s)
			}
			body[nav+"@odata.bind"] = out
			continue
		}
		s, err := check(nav, x)
		if err != nil {
			return err
		}
		body[nav+"@odata.bind"] = s
	}
	return nil
}

// wireValue writes a body value as the service's JSON format expects
// (v2 carries Int64, Decimal and Double as strings).
func (r *runtime) wireValue(t *EntityType, name string, v any) any {
	if !r.m.V2() || t == nil {
		return v
	}
	p := t.Prop(name)
	if p == nil {
		return v
	}
	switch p.Type {
	case "Edm.Int64", "Edm.Decimal", "Edm.Double", "Edm.Single":
		if f, ok := v.(float64); ok {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
	case "Edm.DateTime":
		// v2 JSON writes a date-time as /Date(milliseconds since 1970, UTC)/.
		if s, ok := v.(string); ok {
			for _, layout := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
				if t, err := time.Parse(layout, s); err == nil {
					return fmt.Sprintf("/Date(%d)/", t.UnixMilli())
				}
			}
		}
	}
	return v
}

func (r *runtime) write(op, method string, bodyKeys map[string]bool, t *EntityType, path func(map[string]any) (string, error)) func(context.Context, connectors.Call) (any, error) {
	var keyNames []string
	if t != nil {
		keyNames = t.Key
	}
	return r.writeKeys(op, method, bodyKeys, t, keyNames, path)
}

// writeKeys is write whose key inputs are keyNames (a contained entity's
// own key and its parent's).
func (r *runtime) writeKeys(op, method string, bodyKeys map[string]bool, t *EntityType, keyNames []string, path func(map[string]any) (string, error)) func(context.Context, connectors.Call) (any, error) {
	return func(ctx context.Context, call connectors.Call) (any, error) {
		body := map[string]any{}
		keys := map[string]any{}
		var ifMatch string
		var async bool
		for k, v := range call.Input {
			switch {
			case k == "if_match":
				ifMatch, _ = v.(string)
			case k == asyncInput && !bodyKeys[k] && !r.m.V2():
				async, _ = v.(bool)
			case k == "bind" && bodyKeys[k] && t != nil:
				if err := r.binds(t, v, body); err != nil {
					return nil, perm(op, "%v", err)
				}
			case bodyKeys[k]:
				body[k] = r.wireValue(t, k, v)
			default:
				keys[k] = v
			}
		}
		p, err := path(keys)
		if err != nil {
			return nil, perm(op, "%v", err)
		}
		if t != nil {
			// Every input is a key, a body property or if_match.
			for k := range keys {
				known := false
				for _, kk := range keyNames {
					known = known || kk == k
				}
				if !known {
					return nil, perm(op, "unknown input %q", k)
				}
			}
		}
		extra := map[string]any{}
		if ifMatch != "" {
			extra["If-Match"] = ifMatch
		}
		if async {
			extra["Prefer"] = respondAsync
		}
		var b any
		if method != "DELETE" {
			b = body
		}
		return r.do(ctx, call, op, method, p, nil, b, extra)
	}
}

func (r *runtime) call(op string, fn *Callable, path func(map[string]any) (string, error)) func(context.Context, connectors.Call) (any, error) {
	return r.callBound(op, fn, nil, path)
}

// structured: a collection, complex or entity type (a v4 function takes
// it as JSON in a parameter alias).
func (r *runtime) structured(t string) bool {
	if _, coll := collectionOf(t); coll {
		return true
	}
	_, c := r.m.ComplexTypes[t]
	_, e := r.m.EntityTypes[t]
	return c || e
}

// callBound invokes a function or action; keys names the inputs that go
// into the bound entity's key predicate rather than the parameters.
func (r *runtime) callBound(op string, fn *Callable, keys map[string]bool, path func(map[string]any) (string, error)) func(context.Context, connectors.Call) (any, error) {
	types := map[string]string{}
	for _, p := range fn.Params {
		types[p.Name] = p.Type
	}
	return func(ctx context.Context, call connectors.Call) (any, error) {
		params := map[string]any{}
		keyIn := map[string]any{}
		var extra map[string]any
		for k, v := range call.Input {
			switch {
			case keys[k]:
				keyIn[k] = v
			case types[k] != "":
				params[k] = v
			case k == asyncInput && fn.Kind == "action" && !r.m.V2():
				if a, _ := v.(bool); a {
					extra = map[string]any{"Prefer": respondAsync}
				}
			default:
				return nil, perm(op, "unknown input %q", k)
			}
		}
		p, err := path(keyIn)
		if err != nil {
			return nil, perm(op, "%v", err)
		}
		switch {
		case r.m.V2(): // function imports: parameters in the query string
			q := map[string]any{}
			for _, k := range sortedInputs(params) {
				lit, err := r.m.Literal(types[k], params[k])
				if err != nil {
					return nil, perm(op, "%s: %v", k, err)
				}
				q[k] = lit
			}
			return r.do(ctx, call, op, fn.Method, p, q, nil, nil)
		case fn.Kind == "function": // v4: inline parameters; structured ones as JSON in aliases
			var parts []string
			q := map[string]any{}
			for _, k := range sortedInputs(params) {
				if r.structured(types[k]) {
					j, err := json.Marshal(params[k])
					if err != nil {
						return nil, perm(op, "%s: %v", k, err)
					}
					parts = append(parts, k+"=@"+k)
					q["@"+k] = string(j)
					continue
				}
				lit, err := r.m.Literal(types[k], params[k])
				if err != nil {
					return nil, perm(op, "%s: %v", k, err)
				}
				parts = append(parts, k+"="+escapeSegment(lit))
			}
			return r.do(ctx, call, op, "GET", p+"("+strings.Join(parts, ",")+")", q, nil, nil)
		default: // v4 action: parameters in a JSON body
			return r.do(ctx, call, op, "POST", p, nil, params, extra)
		}
	}
}

// encodeQuery writes query options in key order, percent-encoding what a
// query component may not hold (space as %20, never +).
func encodeQuery(q map[string]any) string {
	parts := make([]string, 0, len(q))
	for _, k := range sortedInputs(q) {
		parts = append(parts, escapeQuery(k)+"="+escapeQuery(fmt.Sprint(q[k])))
	}
	return strings.Join(parts, "&")
}

func escapeQuery(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~$'()*,:@!/;", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// media reads (GET) or replaces (PUT) a media entity's stream at
// /S(key)/$value: the bytes travel as base64.
func (r *runtime) media(op, method string, t *EntityType, path func(map[string]any) (string, error)) func(context.Context, connectors.Call) (any, error) {
	return func(ctx context.Context, call connectors.Call) (any, error) {
		keys := map[string]any{}
		var content, ctype, ifMatch string
		for k, v := range call.Input {
			switch k {
			case "content_base64":
				content, _ = v.(string)
			case "content_type":
				ctype, _ = v.(string)
			case "if_match":
				ifMatch, _ = v.(string)
			default:
				keys[k] = v
			}
		}
		p, err := path(keys)
		if err != nil {
			return nil, perm(op, "%v", err)
		}
		for k := range keys {
			if !slices.Contains(t.Key, k) {
				return nil, perm(op, "unknown input %q", k)
			}
		}
		extra := map[string]any{"Accept": "*/*"}
		if ifMatch != "" {
			extra["If-Match"] = ifMatch
		}
		var body any
		if method == "PUT" {
			if _, err := base64.StdEncoding.DecodeString(content); err != nil || content == "" {
				return nil, perm(op, "content_base64 must be the stream's bytes in base64")
			}
			if ctype == "" {
				ctype = "application/octet-stream"
			}
			if strings.ContainsAny(ctype, "\r\n") || len(ctype) > 200 {
				return nil, perm(op, "content_type %q is not a media type", cut(ctype, 60))
			}
			body = rawBody{content: content, contentType: ctype, base64: true}
		}
		return r.do(ctx, call, op, method, p+"/$value", nil, body, extra)
	}
}
