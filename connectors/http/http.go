// Package http is the built-in generic HTTP connector: one operation,
// http.request (method, URL, headers, query, JSON or form body), returning
// status, headers and the body (parsed as JSON when it is JSON).
//
// Outbound calls to loopback, private, link-local and other non-public
// addresses are refused unless the connection sets allow_private. The check
// runs on the address actually dialled, so DNS tricks do not bypass it.
// The global egress policy (Options.Egress), when configured, applies too.
package http

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/time/rate"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/internal/egress"
	"github.com/weftio/weft/internal/jsonenc"
)

// Options configure the connector.
type Options struct {
	MaxResponseBytes int64 // default 32 MiB
	UserAgent        string
	// Egress is the global egress policy every dial goes through (nil:
	// none configured). It applies on top of the private-address guard.
	Egress *egress.Policy
	// Observe, when set, hears what calls show of an upstream's health
	// (rate-limit headroom, token and certificate expiry): error
	// prediction's input.
	Observe *Observer
}

// New returns the http connector.
func New(o Options) *connectors.Connector {
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 32 << 20
	}
	if o.UserAgent == "" {
		o.UserAgent = "weft/1"
	}
	h := &client{opts: o, userAgent: []string{o.UserAgent}[:1:1], public: newClient(false, o.Egress), private: newClient(true, o.Egress), tokens: map[*connectors.Connection]oauth2.TokenSource{},
		limiters: map[*connectors.Connection]*rate.Limiter{}}
	request := &connectors.Operation{
		Name:        "request",
		Title:       "HTTP request",
		Description: "Send one HTTP request and return status, headers and body. 5xx, 408 and 429 responses are retried by the runtime (Retry-After honoured); other 4xx fail the step.",
		Input:       inputSchema,
		Output:      outputSchema,
		Hints:       connectors.Hints{OpenWorld: true},
		Invoke:      h.invoke,
		RawInputs:   []string{"body"}, // encoded with jsonenc, streamed when large
	}
	return &connectors.Connector{
		Name:        "http",
		Title:       "HTTP",
		Description: "Call any HTTP API: method, URL, headers, query and a JSON or form body; the response's JSON body is parsed.",
		Version:     "1.0.0",
		Operations:  []*connectors.Operation{request},
	}
}

var inputSchema = map[string]any{
	"type":     "object",
	"required": []any{"url"},
	"properties": map[string]any{
		"method":       map[string]any{"type": "string", "enum": []any{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}, "default": "GET"},
		"url":          map[string]any{"type": "string", "description": "absolute URL, or a path relative to the connection's base_url"},
		"headers":      map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
		"query":        map[string]any{"type": "object", "additionalProperties": true},
		"body":         map[string]any{"description": "sent as JSON"},
		"form":         map[string]any{"type": "object", "description": "sent as application/x-www-form-urlencoded"},
		"multipart":    map[string]any{"type": "object", "description": "multipart/form-data fields: a string, or a file {filename, content | content_base64, content_type}"},
		"raw":          map[string]any{"type": "object", "description": "a non-JSON body: {content | content_base64, content_type} (e.g. application/octet-stream)"},
		"paginate":     pagingSchema,
		"long_running": lroSchema,
		"job":          jobSchema,
	},
	"additionalProperties": false,
}

var outputSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"status":        map[string]any{"type": "integer"},
		"headers":       map[string]any{"type": "object"},
		"body":          map[string]any{"description": "parsed JSON, text, or base64 bytes when body_encoding is base64"},
		"body_encoding": map[string]any{"enum": []any{"base64"}, "description": "set when the body is binary (an image, a PDF)"},
		"long_running": map[string]any{"type": "object", "description": "set when a long-running operation was polled", "properties": map[string]any{
			"operation_url": map[string]any{"type": "string"}, "polls": map[string]any{"type": "integer"},
			"status": map[string]any{"type": "string"}, "resumed": map[string]any{"type": "boolean", "description": "a retry resumed polling"}}},
		"job": map[string]any{"type": "object", "description": "set with the job option (status, headers and body are then the answer that created the job)", "properties": map[string]any{
			"state":   map[string]any{"type": "string", "description": "the job's final state, as the API wrote it"},
			"final":   map[string]any{"description": "the last answer of the wait: the job as it ended"},
			"results": map[string]any{"type": "object", "description": "each result request's body by name (text, e.g. CSV, stays text)"},
			"polls":   map[string]any{"type": "integer", "description": "GETs of the job's URL"},
			"resumed": map[string]any{"type": "boolean", "description": "a retry continued the job an earlier attempt created"}}},
	},
}

type client struct {
	opts            Options
	userAgent       []string // {opts.UserAgent}, the header's value
	public, private *http.Client

	mu       sync.Mutex
	tokens   map[*connectors.Connection]oauth2.TokenSource // cached per connection until expiry
	limiters map[*connectors.Connection]*rate.Limiter      // per-connection token buckets

	pending pendingOps // long-running operations being polled, by idempotency key
	jobs    jobRunner  // bulk jobs under way, by idempotency key
}

// wait holds a call until the connection's token bucket allows it, so a
// downstream that cannot take bursts never sees one from this process.
func (c *client) wait(ctx context.Context, conn *connectors.Connection) error {
	if conn == nil || conn.RatePerSec <= 0 {
		return nil
	}
	c.mu.Lock()
	l, ok := c.limiters[conn]
	if !ok {
		b := conn.Burst
		if b <= 0 {
			b = 1
		}
		l = rate.NewLimiter(rate.Limit(conn.RatePerSec), b)
		c.limiters[conn] = l
	}
	c.mu.Unlock()
	return l.Wait(ctx)
}

// authorize applies the connection's auth to req.
func (c *client) authorize(ctx context.Context, req *http.Request, conn *connectors.Connection) error {
	a := conn.Auth
	if a == nil {
		return nil
	}
	switch a.Type {
	case connectors.AuthAPIKey:
		if a.Query != "" {
			q := req.URL.Query()
			q.Set(a.Query, a.Value)
			req.URL.RawQuery = q.Encode()
		} else {
			h := a.Header
			if h == "" {
				h = "X-API-Key"
			}
			req.Header.Set(h, a.Value)
		}
	case connectors.AuthBasic:
		req.SetBasicAuth(a.Username, a.Password)
	case connectors.AuthBearer:
		req.Header.Set("Authorization", "Bearer "+a.Token)
	case connectors.AuthClientCredentials, connectors.AuthRefreshToken:
		c.mu.Lock()
		ts, ok := c.tokens[conn]
		if !ok {
			cl := c.public
			if conn.AllowPrivate {
				cl = c.private
			}
			// The token endpoint goes through the same guarded client as calls.
			tctx := context.WithValue(context.Background(), oauth2.HTTPClient, cl)
			if a.Type == connectors.AuthClientCredentials {
				cc := clientcredentials.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret, TokenURL: a.TokenURL, Scopes: a.Scopes}
				ts = cc.TokenSource(tctx)
			} else {
				// Exchanges the refresh token for access tokens, again
				// whenever one expires; a rotated refresh token is kept.
				oc := oauth2.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret, Endpoint: oauth2.Endpoint{TokenURL: a.TokenURL}, Scopes: a.Scopes}
				ts = oc.TokenSource(tctx, &oauth2.Token{RefreshToken: a.RefreshToken})
			}
			c.tokens[conn] = ts
		}
		c.mu.Unlock()
		tok, err := ts.Token()
		if o := c.opts.Observe; o != nil {
			if o.Refresh != nil {
				o.Refresh(conn.Name, "oauth token", err)
			}
			if err == nil && o.Expiry != nil && !tok.Expiry.IsZero() {
				o.Expiry(conn.Name, "oauth token", time.Now(), time.Time{}, tok.Expiry)
			}
		}
		if err != nil {
			msg := "http.request: getting an OAuth2 token: " + redactSecret(redactSecret(err.Error(), a.ClientSecret), a.RefreshToken)
			var re *oauth2.RetrieveError
			if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 && re.Response.StatusCode != 429 {
				// invalid_client, invalid_grant: a wrong or revoked credential
				// does not get better by retrying.
				c.mu.Lock()
				delete(c.tokens, conn)
				c.mu.Unlock()
				return &connectors.Error{Class: connectors.Permanent, Status: re.Response.StatusCode, Message: msg + " (check the connection's credentials)"}
			}
			return &connectors.Error{Class: connectors.Retryable, Message: msg}
		}
		tok.SetAuthHeader(req)
	}
	return nil
}

func redactSecret(msg, secret string) string {
	if secret == "" {
		return msg
	}
	return strings.ReplaceAll(msg, secret, "[REDACTED]")
}

func newClient(allowPrivate bool, pol *egress.Policy) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil {
				return err
			}
			if !Public(ip) {
				return &blockedError{addr: ip.String()}
			}
			return nil
		}
	}
	t := &http.Transport{
		Proxy:               nil,                   // air-gapped by default: no implicit proxy from the environment
		DialContext:         pol.Dialer("http", d), // d's Control guard sees every address dialled
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &http.Client{Transport: t, CheckRedirect: checkRedirect}
}

type blockedError struct{ addr string }

func (b *blockedError) Error() string {
	return fmt.Sprintf("refusing to call non-public address %s (set allow_private on the connection to permit it)", b.addr)
}

// Public reports whether ip is a public unicast address.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	// Carrier-grade NAT and other special-purpose ranges.
	for _, p := range []string{"100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "0.0.0.0/8", "fc00::/7"} {
		if netip.MustParsePrefix(p).Contains(ip) {
			return false
		}
	}
	return true
}

func (c *client) invoke(ctx context.Context, call connectors.Call) (any, error) {
	if j, ok := call.Input["job"]; ok && j != nil {
		return c.jobs.run(ctx, call, j, c.invoke)
	}
	if lr, ok := call.Input["long_running"]; ok {
		in := make(map[string]any, len(call.Input))
		for k, v := range call.Input {
			if k != "long_running" {
				in[k] = v
			}
		}
		call.Input = in
		if lr != nil {
			o, err := parseLRO(lr)
			if err != nil {
				return nil, err
			}
			if o.poll {
				if in["paginate"] != nil {
					return nil, &connectors.Error{Class: connectors.Permanent, Message: "http.request: long_running and paginate cannot be combined"}
				}
				return c.longRunning(ctx, call, o)
			}
		}
	}
	if pg, ok := call.Input["paginate"]; ok && pg != nil {
		m, ok := pg.(map[string]any)
		if !ok {
			return nil, &connectors.Error{Class: connectors.Permanent, Message: "http.request: paginate must be an object"}
		}
		p, err := ParsePaging(m)
		if err != nil {
			return nil, err
		}
		in := make(map[string]any, len(call.Input))
		for k, v := range call.Input {
			if k != "paginate" {
				in[k] = v
			}
		}
		call.Input = in
		return FetchAll(ctx, p, call, c.once)
	}
	return c.once(ctx, call)
}

func (c *client) once(ctx context.Context, call connectors.Call) (map[string]any, error) {
	in := call.Input
	method, _ := in["method"].(string)
	if method == "" {
		method = http.MethodGet
	}
	method = strings.ToUpper(method)
	rawURL, _ := in["url"].(string)
	if rawURL == "" {
		return nil, &connectors.Error{Class: connectors.Permanent, Message: "http.request: url is required"}
	}
	conn := call.Connection
	base := call.BaseURL
	if conn != nil && conn.BaseURL != "" {
		base = conn.BaseURL
	}
	if base != "" && !absolute(rawURL) {
		rawURL = strings.TrimRight(base, "/") + "/" + strings.TrimLeft(rawURL, "/")
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf("http.request: bad url %q", c.redact(rawURL, conn))}
	}
	if hasCredentials(conn) {
		// A connection's credentials go to its own origin only: an
		// absolute url elsewhere is refused, not sent without them, so a
		// flow never silently calls a host anonymously either.
		bu, err := url.Parse(base)
		if base == "" || err != nil || bu.Host == "" {
			return nil, &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf(
				"http.request: connection %s carries credentials but has no base_url: set base_url to the one origin they may be sent to", conn.Name)}
		}
		if !sameOrigin(bu, u) {
			return nil, &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf(
				"http.request: connection %s sends its credentials only to %s; refusing to call %s (another origin). Use a path relative to base_url, or a connection without credentials for other hosts",
				conn.Name, origin(bu), origin(u))}
		}
	}
	if q, ok := in["query"].(map[string]any); ok {
		vals := u.Query()
		for k, v := range q {
			vals.Set(k, scalar(v))
		}
		u.RawQuery = vals.Encode()
	}
	var body io.Reader
	var stream func() (io.ReadCloser, error) // a large JSON body, encoded as it is sent
	streamLen := 0
	contentType := ""
	if b, ok := in["body"]; ok && b != nil {
		if n, err := jsonenc.Size(b); err == nil && n > streamBodyOver {
			stream, streamLen, contentType = jsonStream(b), n, "application/json"
		} else {
			data, err := jsonenc.Marshal(b)
			if err != nil {
				return nil, &connectors.Error{Class: connectors.Permanent, Message: "http.request: body is not JSON-encodable: " + err.Error()}
			}
			body, contentType = bytes.NewReader(data), "application/json"
		}
	} else if f, ok := in["form"].(map[string]any); ok {
		vals := url.Values{}
		for k, v := range f {
			vals.Set(k, scalar(v))
		}
		body, contentType = strings.NewReader(vals.Encode()), "application/x-www-form-urlencoded"
	} else if f, ok := in["multipart"].(map[string]any); ok {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		keys := make([]string, 0, len(f))
		for k := range f {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := writePart(mw, k, f[k]); err != nil {
				return nil, &connectors.Error{Class: connectors.Permanent, Message: "http.request: multipart field " + k + ": " + err.Error()}
			}
		}
		_ = mw.Close()
		body, contentType = &buf, mw.FormDataContentType()
	} else if r, ok := in["raw"].(map[string]any); ok {
		data, ct, err := fileContent(r)
		if err != nil {
			return nil, &connectors.Error{Class: connectors.Permanent, Message: "http.request: raw: " + err.Error()}
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		body, contentType = bytes.NewReader(data), ct
	}
	rctx := ctx // the request's: it names the connection to the egress guard and the credential check
	if conn != nil {
		rctx = egress.WithCaller(withCredentials(ctx, conn), "connection "+conn.Name)
	}
	req, err := newRequest(rctx, method, u, body)
	if err != nil {
		return nil, &connectors.Error{Class: connectors.Permanent, Message: "http.request: " + err.Error()}
	}
	if stream != nil {
		// Its length is known (counted), so it is sent with a
		// Content-Length like any other body; GetBody encodes it again
		// for a redirect that resends it.
		req.Body, _ = stream()
		req.GetBody, req.ContentLength = stream, int64(streamLen)
	}
	// Header values shared by every request (set, never appended to in
	// place: their capacity is their length, so an Add copies).
	if c.userAgent != nil {
		req.Header["User-Agent"] = c.userAgent
	} else {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	switch contentType {
	case "":
	case "application/json":
		req.Header["Content-Type"] = jsonContentType
	default:
		req.Header.Set("Content-Type", contentType)
	}
	if call.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", call.IdempotencyKey)
	}
	if conn != nil {
		for k, v := range conn.Headers {
			req.Header.Set(k, v)
		}
		if err := c.authorize(ctx, req, conn); err != nil {
			return nil, err
		}
	}
	if h, ok := in["headers"].(map[string]any); ok {
		for k, v := range h {
			req.Header.Set(k, scalar(v))
		}
	}
	cl := c.public
	if conn != nil && conn.AllowPrivate {
		cl = c.private
	}
	if call.Transport != nil {
		cl = &http.Client{Transport: call.Transport, CheckRedirect: checkRedirect}
	}
	if err := c.wait(ctx, conn); err != nil {
		return nil, err
	}
	if conn != nil && conn.Timeout != "" {
		d, err := time.ParseDuration(conn.Timeout)
		if err != nil || d <= 0 {
			return nil, &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf("http.request: connection %s: timeout %q is not a duration", conn.Name, conn.Timeout)}
		}
		tctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		req = req.WithContext(tctx)
	}
	resp, err := cl.Do(req)
	if err != nil {
		if rctx := req.Context(); rctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			return nil, &connectors.Error{Class: connectors.Retryable, Message: fmt.Sprintf("http.request: %s %s timed out after %s", method, c.redact(u.String(), conn), conn.Timeout)}
		}
		var be *blockedError
		if errors.As(err, &be) {
			return nil, &connectors.Error{Class: connectors.Permanent, Message: be.Error()}
		}
		var re *egress.RefusedError
		if errors.As(err, &re) {
			return nil, &connectors.Error{Class: connectors.Permanent, Message: "http.request: " + re.Error()}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// A *url.Error quotes the URL sent, API-key query parameter included.
		return nil, &connectors.Error{Class: connectors.Retryable, Message: "http.request: " + c.redact(err.Error(), conn)}
	}
	defer resp.Body.Close()
	if conn != nil {
		c.observe(conn.Name, resp)
	}
	if resp.ContentLength > c.opts.MaxResponseBytes {
		return nil, &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf("http.request: response larger than %d bytes", c.opts.MaxResponseBytes)}
	}
	data, err := readBody(resp.Body, resp.ContentLength, c.opts.MaxResponseBytes)
	if err != nil {
		return nil, &connectors.Error{Class: connectors.Retryable, Message: "http.request: reading response: " + c.redact(err.Error(), conn)}
	}
	if int64(len(data)) > c.opts.MaxResponseBytes {
		return nil, &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf("http.request: response larger than %d bytes", c.opts.MaxResponseBytes)}
	}
	var parsed any
	binary := false
	ct := resp.Header.Get("Content-Type")
	if len(data) > 0 {
		if strings.Contains(ct, "json") || (ct == "" && json.Valid(data)) {
			var err error
			if parsed, err = decodeJSON(data); err != nil {
				parsed = string(data)
			}
		} else if textual(ct, data) {
			parsed = string(data)
		} else {
			// Bytes survive as base64; body_encoding says so.
			parsed, binary = base64.StdEncoding.EncodeToString(data), true
		}
	}
	hdrs := make(map[string]any, len(resp.Header))
	for k, v := range resp.Header {
		hdrs[lowerHeader(k)] = strings.Join(v, ", ")
	}
	out := map[string]any{"status": int64(resp.StatusCode), "headers": hdrs, "body": parsed}
	if binary {
		out["body_encoding"] = "base64"
	}
	if resp.StatusCode >= 400 {
		e := &connectors.Error{Class: connectors.StatusClass(resp.StatusCode), Status: resp.StatusCode, Body: parsed,
			Message: fmt.Sprintf("http.request: %s %s returned %d", method, c.redact(u.String(), conn), resp.StatusCode)}
		if e.Class == connectors.Retryable {
			e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"))
		}
		return nil, e
	}
	return out, nil
}

// readBody reads a response body of at most limit bytes (limit+1 read
// tells a longer one). With a declared length n (at most limit) it reads
// into one buffer of that size, instead of growing one from 512 bytes,
// and then reads on to the end of the body, so that net/http sees it
// consumed and keeps the connection; a body that ends early is an error
// (net/http says io.ErrUnexpectedEOF), one that goes on past n is
// returned as read so far plus what follows, up to limit+1.
func readBody(r io.Reader, n, limit int64) ([]byte, error) {
	if n < 0 || n > limit {
		return io.ReadAll(io.LimitReader(r, limit+1))
	}
	buf := make([]byte, n, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	for {
		k, err := r.Read(buf[len(buf):cap(buf)])
		if k > 0 { // more than declared: what a reader enforcing no length would give
			rest, err := io.ReadAll(io.LimitReader(r, limit-n))
			return append(buf[:n+1], rest...), err
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// newRequest is http.NewRequestWithContext for a URL already parsed (and
// checked): u is not printed and parsed a second time on every call.
func newRequest(ctx context.Context, method string, u *url.URL, body io.Reader) (*http.Request, error) {
	if strings.HasSuffix(u.Host, ":") { // an empty port: printing and parsing again drops it
		return http.NewRequestWithContext(ctx, method, u.String(), body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "", body) // "" parses to an empty URL, replaced here
	if err != nil {
		return nil, err
	}
	req.URL, req.Host = u, u.Host
	return req, nil
}

// redact hides credentials in text that may quote a URL: credential-named
// query parameters (and the connection's API-key parameter), userinfo
// passwords, and any of the connection's secret values.
func (c *client) redact(text string, conn *connectors.Connection) string {
	if conn == nil {
		return connectors.RedactURLs(text)
	}
	param := ""
	if conn.Auth != nil {
		param = conn.Auth.Query
	}
	return connectors.RedactSecrets(connectors.RedactURLs(text, param), conn.SecretValues()...)
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// fileContent reads {content | content_base64, content_type}.
func fileContent(m map[string]any) ([]byte, string, error) {
	ct, _ := m["content_type"].(string)
	if b64, ok := m["content_base64"].(string); ok {
		data, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, "", fmt.Errorf("content_base64 is not base64")
		}
		return data, ct, nil
	}
	if s, ok := m["content"].(string); ok {
		return []byte(s), ct, nil
	}
	return nil, "", fmt.Errorf("give content or content_base64")
}

// writePart writes a text field, or a file part for {filename, content...}.
func writePart(mw *multipart.Writer, name string, v any) error {
	m, ok := v.(map[string]any)
	if !ok || m["filename"] == nil {
		return mw.WriteField(name, scalar(v))
	}
	data, ct, err := fileContent(m)
	if err != nil {
		return err
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, quoteEscaper.Replace(name), quoteEscaper.Replace(scalar(m["filename"]))))
	h.Set("Content-Type", ct)
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

// textual reports whether a response body is text: a text/*, XML,
// JavaScript or form type, or no type and valid UTF-8.
func textual(ct string, data []byte) bool {
	mt := strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	switch {
	case strings.HasPrefix(mt, "text/"), strings.Contains(mt, "xml"), strings.Contains(mt, "javascript"),
		mt == "application/x-www-form-urlencoded", strings.HasSuffix(mt, "+json"), strings.Contains(mt, "yaml"), mt == "application/csv":
		return true
	case mt == "":
		return utf8.Valid(data)
	}
	return false
}

// decodeJSON decodes a JSON response as json.Unmarshal does; a small one
// (most API answers) with jsonenc.Decode, without reflection and with its
// strings views of one copy: bounded, so that a string a run keeps from a
// large response does not keep all of it alive.
func decodeJSON(data []byte) (any, error) {
	if len(data) > viewDecodeMax {
		var v any
		err := json.Unmarshal(data, &v)
		return v, err
	}
	return jsonenc.Decode(data)
}

const viewDecodeMax = 64 << 10

// jsonContentType is the Content-Type header's value of a JSON body.
var jsonContentType = []string{"application/json"}[:1:1]

// streamBodyOver is the size of JSON body above which a request encodes it
// as it is sent instead of holding the whole encoding first.
const streamBodyOver = 256 << 10

// jsonStream returns GetBody for v: each call encodes v anew into a pipe
// (v is a step's input and is not changed while the request runs). The
// transport closes the body when it is done with it, which ends the
// encoding goroutine, having read it all or not.
func jsonStream(v any) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(jsonenc.Write(pw, v)) }()
		return pr, nil
	}
}

// lowerHeader is strings.ToLower of a response header's (canonical) name;
// the common names come from a table, not a new string per response.
func lowerHeader(k string) string {
	if l, ok := commonHeaders[k]; ok {
		return l
	}
	return strings.ToLower(k)
}

var commonHeaders = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Accept-Ranges", "Access-Control-Allow-Origin", "Age", "Cache-Control", "Connection", "Content-Disposition",
		"Content-Encoding", "Content-Language", "Content-Length", "Content-Type", "Date", "Etag", "Expires", "Keep-Alive", "Last-Modified",
		"Link", "Location", "Pragma", "Ratelimit", "Ratelimit-Limit", "Ratelimit-Policy", "Ratelimit-Remaining", "Ratelimit-Reset",
		"Retry-After", "Server", "Set-Cookie", "Strict-Transport-Security", "Transfer-Encoding", "Vary", "Via", "Www-Authenticate",
		"X-Content-Type-Options", "X-Frame-Options", "X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset", "X-Request-Id"} {
		m[k] = strings.ToLower(k)
	}
	return m
}()
