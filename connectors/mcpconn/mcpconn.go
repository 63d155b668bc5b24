// Package mcpconn federates other MCP servers as connectors: each tool of
// an upstream MCP server (Streamable HTTP or a stdio child process) is an
// operation with the tool's input and output schemas, so flows call it as
// a `call` step and Weft's own MCP gateway re-exposes it under Weft's keys,
// toolsets and policies.
//
// The client is mcp-go's (github.com/mark3labs/mcp-go/client, in Weft's
// patched copy), on protocol version 2025-11-25 sessions.
// A stdio upstream is a supervised child process: restarted after it
// exits, with exponential backoff, marked unavailable after too many
// failed starts in a row. Every call has a timeout and a bound on the
// result's size; the tools listed when the connector was added are the
// accepted schemas, and a later listing (on list_changed or a refresh)
// that changes one incompatibly is reported as drift.
package mcpconn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mmcp "github.com/mark3labs/mcp-go/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/internal/egress"
	"github.com/weftio/weft/internal/lazy"
)

// Kind is the stored connector kind of MCP upstreams.
const Kind = "mcp"

// Limits on what an upstream may declare.
const (
	MaxTools       = 1000
	MaxSchemaBytes = 256 << 10 // one tool's input or output schema, as JSON
	MaxNameLen     = 128
	maxArgv        = 64
	maxArgLen      = 4096
)

// Defaults of Options.
const (
	DefaultCallTimeout    = 30 * time.Second
	DefaultStartTimeout   = 60 * time.Second
	MaxStartTimeout       = 10 * time.Minute
	DefaultMaxResultBytes = 4 << 20
	MaxResultLimit        = 256 << 20 // the largest max_result_bytes honoured
	DefaultMaxRestarts    = 6
	DefaultBackoffMin     = 200 * time.Millisecond
	DefaultBackoffMax     = 30 * time.Second
)

// Spec is what is stored of an MCP connector: where the upstream is and
// the tools accepted when it was added (or last refreshed with accept).
// The token is not here: it is the connection's bearer credential,
// sealed like every other connection secret.
type Spec struct {
	URL          string    `json:"url,omitempty"`
	Command      []string  `json:"command,omitempty"`
	AllowPrivate bool      `json:"allow_private,omitempty"`
	Server       string    `json:"server,omitempty"` // the upstream's name and version
	Tools        []Tool    `json:"tools"`
	ListedAt     time.Time `json:"listed_at"`
}

// Tool is one upstream tool as listed.
type Tool struct {
	Name        string           `json:"name"`
	Op          string           `json:"operation"` // the operation's name in Weft (Name, cleaned)
	Title       string           `json:"title,omitempty"`
	Description string           `json:"description,omitempty"`
	Input       map[string]any   `json:"input_schema"`
	Output      map[string]any   `json:"output_schema,omitempty"`
	Hints       connectors.Hints `json:"hints"`
}

// Validate checks a spec's shape (not the upstream).
func (s *Spec) Validate() error {
	switch {
	case s.URL == "" && len(s.Command) == 0:
		return fmt.Errorf("an MCP connector needs a url (Streamable HTTP) or a command (stdio)")
	case s.URL != "" && len(s.Command) > 0:
		return fmt.Errorf("an MCP connector has a url or a command, not both")
	}
	if s.URL != "" {
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("url %q: want an absolute http(s) URL", s.URL)
		}
		if u.User != nil {
			return fmt.Errorf("url %q: credentials in the URL are not accepted (use --token)", u.Redacted())
		}
	}
	if len(s.Command) > maxArgv {
		return fmt.Errorf("command: at most %d arguments", maxArgv)
	}
	for _, a := range s.Command {
		if len(a) > maxArgLen || strings.ContainsRune(a, 0) {
			return fmt.Errorf("command: an argument is over %d bytes or holds a NUL", maxArgLen)
		}
	}
	if len(s.Command) > 0 && strings.TrimSpace(s.Command[0]) == "" {
		return fmt.Errorf("command: empty program")
	}
	if len(s.Tools) > MaxTools {
		return fmt.Errorf("%d tools: at most %d", len(s.Tools), MaxTools)
	}
	return nil
}

// SplitCommand splits "CMD ARGS" into words: spaces separate, single or
// double quotes group, backslash escapes the next character. No shell is
// involved: no globbing, variables or pipes.
func SplitCommand(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, quote, esc := false, rune(0), false
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc, in = false, true
		case r == '\\' && quote != '\'':
			esc = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 || esc {
		return nil, fmt.Errorf("command %q: unterminated quote or escape", s)
	}
	if in {
		out = append(out, cur.String())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	return out, nil
}

// Options tune an Upstream. Zero values take the defaults.
type Options struct {
	// Token returns the bearer token sent to a URL upstream ("": none),
	// asked before each request, so it may be cached and refreshed (an
	// OAuth token source); hc reaches a token endpoint under the same
	// address rules as the upstream. It is sent to the URL's origin only.
	Token func(ctx context.Context, hc *http.Client) (string, error)
	// Renew is told that the upstream refused access token stale (401,
	// before the token's stated expiry, or it would not have been sent),
	// or, with scope, that it answered 403 insufficient_scope naming the
	// scopes it needs. It returns true when Token may now return another
	// token (an OAuth grant that can issue one): the request is then sent
	// once more with it, never twice. nil: no renewal (a static token).
	Renew       func(stale string, scope []string) bool
	CallTimeout time.Duration
	// StartTimeout bounds a start: the child's launch (stdio) or the
	// connection (HTTP), and the initialize handshake. It is not a call's
	// deadline: a call that gives up sooner leaves the start running, so a
	// slow starter (npx fetching a package, a JVM) comes up even when
	// calls are short. Default 60s, at most MaxStartTimeout.
	StartTimeout   time.Duration
	MaxResultBytes int
	// MaxRestarts is how many failed starts in a row mark the upstream
	// unavailable (calls then fail at once until the backoff has passed).
	MaxRestarts int
	BackoffMin  time.Duration
	BackoffMax  time.Duration
	// HealthInterval is how often a live session is pinged (default 30s;
	// negative: never); two failed pings in a row end the session, which
	// is then restarted (stdio) or reconnected on next use (HTTP).
	HealthInterval time.Duration
	// Egress is the global egress policy every dial goes through.
	Egress *egress.Policy
	// Env is added to a stdio child's environment (KEY=VALUE). The child
	// gets no other variable of Weft's (its master key, database URL,
	// tokens) but those named in PassEnv and a few harmless ones (PATH,
	// HOME, TMPDIR, LANG, LC_ALL, TZ, USER).
	Env     []string
	PassEnv []string
	// OnList is called with every listing after the first connect and on
	// list_changed (for drift tracking); it must not block long.
	OnList func(tools []Tool, err error)
	// OnEvent is called with what the upstream pushes besides its tools:
	// its prompts or resources changed, a subscribed resource was updated.
	// It must not block long.
	OnEvent func(Event)
	Log     *slog.Logger
}

func (o *Options) defaults() {
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	o.StartTimeout = min(o.StartTimeout, MaxStartTimeout)
	if o.MaxResultBytes <= 0 {
		o.MaxResultBytes = DefaultMaxResultBytes
	}
	o.MaxResultBytes = min(o.MaxResultBytes, MaxResultLimit)
	if o.MaxRestarts <= 0 {
		o.MaxRestarts = DefaultMaxRestarts
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = DefaultBackoffMin
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.HealthInterval == 0 {
		o.HealthInterval = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Event kinds.
const (
	EventPromptsChanged   = "prompts/list_changed"
	EventResourcesChanged = "resources/list_changed"
	EventResourceUpdated  = "resources/updated"
)

// Event is a notification an upstream pushed.
type Event struct {
	Kind string
	URI  string // EventResourceUpdated: the upstream's URI
}

// Upstream states.
const (
	StateIdle        = "idle"        // not connected yet (connects on first use)
	StateConnected   = "connected"   // a live session
	StateRestarting  = "restarting"  // lost; a restart is due after the backoff
	StateUnavailable = "unavailable" // too many failed starts in a row
	StateClosed      = "closed"
)

// Status is an upstream's health.
type Status struct {
	State     string    `json:"state"`
	Restarts  int       `json:"restarts"`      // sessions lost and started again
	Failures  int       `json:"failed_starts"` // failed starts in a row
	LastError string    `json:"last_error,omitempty"`
	NextTry   time.Time `json:"next_try,omitempty"`
	Drift     []Change  `json:"drift,omitempty"` // incompatible changes of the accepted tools
	ListedAt  time.Time `json:"listed_at,omitempty"`
}

// Upstream is a connection to one MCP server, shared by every call.
type Upstream struct {
	name string
	spec Spec
	opt  Options

	mu       sync.Mutex
	sess     *session
	proc     *exec.Cmd
	stderr   *tailBuffer
	exited   chan struct{} // closed when proc has exited
	state    string
	restarts int
	failures int
	nextTry  time.Time
	lastErr  string
	closed   bool
	disabled string // why every call is refused ("": it is not)
	accepted []Tool
	drift    []Change
	listedAt time.Time
	oversize atomic.Bool                 // a message over the limit reset the connection
	authErr  atomic.Pointer[authRefusal] // why the upstream last refused a request's token (401/403)
	subs     map[string]bool             // resources subscribed to (renewed on a new session)
	starting *startAttempt               // the start in flight (nil: none)

	progressMu sync.Mutex
	progress   map[string]connectors.Progress // by the progress token sent upstream
	progressN  atomic.Uint64
}

// New returns an upstream for spec (it connects on first use).
func New(name string, spec Spec, opt Options) *Upstream {
	opt.defaults()
	return &Upstream{name: name, spec: spec, opt: opt, state: StateIdle, accepted: spec.Tools}
}

// Accept replaces the accepted tools (the schemas flows are checked
// against) and clears the drift.
func (u *Upstream) Accept(tools []Tool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.accepted, u.drift = tools, nil
}

// disable refuses every call with reason.
func (u *Upstream) disable(reason string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.disabled, u.state, u.lastErr = reason, StateUnavailable, reason
}

// Status reports the upstream's health and drift.
func (u *Upstream) Status() Status {
	u.mu.Lock()
	defer u.mu.Unlock()
	return Status{State: u.state, Restarts: u.restarts, Failures: u.failures, LastError: u.lastErr, NextTry: u.nextTry,
		Drift: append([]Change(nil), u.drift...), ListedAt: u.listedAt}
}

// DriftOf returns the drift of one tool (by its upstream name).
func (u *Upstream) DriftOf(tool string) []Change {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []Change
	for _, c := range u.drift {
		if c.Tool == tool {
			out = append(out, c)
		}
	}
	return out
}

// Close ends the session and stops the child process.
func (u *Upstream) Close() {
	u.mu.Lock()
	u.closed, u.state = true, StateClosed
	s := u.sess
	u.sess = nil
	u.mu.Unlock()
	if s != nil {
		_ = s.Close()
	}
	u.stopProc()
}

func (u *Upstream) backoff(n int) time.Duration {
	d := u.opt.BackoffMin
	for i := 1; i < n && d < u.opt.BackoffMax; i++ {
		d *= 2
	}
	return min(d, u.opt.BackoffMax)
}

// session returns the live session, starting one when there is none and
// the backoff allows. A start runs under its own deadline (StartTimeout),
// not the caller's: a caller whose context ends first (a call's timeout
// shorter than the upstream's start-up, a cancelled run) is told the
// upstream is still starting, its request not sent, and the start goes on,
// so the next call finds the session up. Every caller that waits on the same
// start gets its outcome.
func (u *Upstream) session(ctx context.Context) (*session, error) {
	u.mu.Lock()
	if s := u.sess; s != nil {
		u.mu.Unlock()
		return s, nil
	}
	if u.closed {
		u.mu.Unlock()
		return nil, &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf("MCP upstream %s is closed", u.name)}
	}
	if u.disabled != "" {
		msg := fmt.Sprintf("MCP upstream %s is disabled: %s", u.name, u.disabled)
		u.mu.Unlock()
		return nil, &connectors.Error{Class: connectors.Permanent, Message: msg}
	}
	st := u.starting
	if st == nil {
		if wait := time.Until(u.nextTry); wait > 0 {
			msg := fmt.Sprintf("MCP upstream %s is %s (last error: %s); next start attempt in %s", u.name, u.state, u.lastErr, wait.Round(time.Millisecond))
			u.mu.Unlock()
			return nil, &connectors.Error{Class: connectors.Retryable, RetryAfter: wait, Message: msg}
		}
		st = &startAttempt{done: make(chan struct{}), at: time.Now()}
		u.starting = st
		go u.runStart(st)
	}
	u.mu.Unlock()
	select {
	case <-st.done:
		return st.s, st.err
	case <-ctx.Done():
		return nil, &connectors.Error{Class: connectors.Retryable, RetryAfter: time.Second,
			Message: fmt.Sprintf("MCP upstream %s is still starting (for %s; start_timeout %s): the request was not sent (%v)",
				u.name, time.Since(st.at).Round(time.Millisecond), u.opt.StartTimeout, context.Cause(ctx))}
	}
}

// startAttempt is a start in flight; done is closed when s or err is set.
type startAttempt struct {
	done chan struct{}
	at   time.Time
	s    *session
	err  error
}

// runStart connects (one start at a time: st is u.starting until it ends)
// and records the outcome.
func (u *Upstream) runStart(st *startAttempt) {
	ctx, cancel := context.WithTimeout(context.Background(), u.opt.StartTimeout)
	s, err := u.connect(ctx)
	cancel()
	if r := u.authErr.Swap(nil); err != nil && r != nil {
		err = errors.New(r.msg) // clearer than the client's failed initialize
	}
	u.mu.Lock()
	st.s, st.err = u.started(s, err)
	u.starting = nil
	closed := u.closed
	u.mu.Unlock()
	close(st.done)
	if closed {
		u.stopProc() // closed while it started: its child goes too
	}
}

// started records a start's outcome (u.mu held).
func (u *Upstream) started(s *session, err error) (*session, error) {
	if u.closed {
		if s != nil {
			_ = s.Close()
		}
		return nil, &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf("MCP upstream %s is closed", u.name)}
	}
	if err != nil {
		u.failures++
		u.lastErr = err.Error()
		u.nextTry = time.Now().Add(u.backoff(u.failures))
		u.state = StateRestarting
		if u.failures >= u.opt.MaxRestarts {
			u.state = StateUnavailable
		}
		return nil, &connectors.Error{Class: connectors.Retryable, Message: fmt.Sprintf("MCP upstream %s: %v", u.name, err)}
	}
	u.sess, u.failures, u.state, u.nextTry = s, 0, StateConnected, time.Time{}
	if len(u.spec.Command) > 0 {
		go u.watch(s)
	}
	if u.opt.HealthInterval > 0 {
		go u.health(s)
	}
	if len(u.accepted) > 0 {
		go u.relist() // a health check, and drift since the tools were accepted
	}
	if len(u.subs) > 0 {
		go u.resubscribe(s)
	}
	return s, nil
}

// watch waits for a stdio session's child to exit; the lost session is
// then restarted after the backoff (supervision). A lost HTTP session (a
// failed call or health check) is started again on next use.
func (u *Upstream) watch(s *session) {
	u.mu.Lock()
	exited := u.exited
	u.mu.Unlock()
	if exited == nil {
		return
	}
	select {
	case <-exited:
		u.lost(s)
	case <-s.done:
	}
}

// lost handles the end of session s (once: later calls for s do nothing).
func (u *Upstream) lost(s *session) {
	u.mu.Lock()
	if u.sess != s {
		u.mu.Unlock()
		return
	}
	u.sess = nil
	if u.closed {
		u.mu.Unlock()
		return
	}
	u.restarts++
	u.state = StateRestarting
	if !strings.HasPrefix(u.lastErr, "health check: ") {
		u.lastErr = "session lost"
	}
	if d := u.exitDetail(); d != "" {
		u.lastErr = "session lost: " + d
	}
	stdio := len(u.spec.Command) > 0
	u.mu.Unlock()
	_ = s.Close()
	u.stopProc()
	u.opt.Log.Warn("MCP upstream session lost", "connector", u.name, "restarts", u.restarts)
	if stdio {
		go u.supervise()
	}
}

// health pings session s every HealthInterval while it is the live one;
// two failures in a row end it.
func (u *Upstream) health(s *session) {
	t := time.NewTicker(u.opt.HealthInterval)
	defer t.Stop()
	failed := 0
	for range t.C {
		u.mu.Lock()
		live := u.sess == s && !u.closed
		u.mu.Unlock()
		if !live {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), min(u.opt.CallTimeout, 10*time.Second))
		err := s.c.Ping(ctx)
		cancel()
		if err == nil {
			failed = 0
			continue
		}
		if failed++; failed >= 2 {
			u.mu.Lock()
			u.lastErr = "health check: " + err.Error()
			u.mu.Unlock()
			u.opt.Log.Warn("MCP upstream failed its health check", "connector", u.name, "err", err)
			u.lost(s)
			return
		}
	}
}

// supervise restarts a stdio upstream until it is up, the starts failed
// MaxRestarts times in a row, or it is closed.
func (u *Upstream) supervise() {
	for {
		u.mu.Lock()
		if u.closed || u.sess != nil || u.state == StateUnavailable {
			u.mu.Unlock()
			return
		}
		wait := time.Until(u.nextTry)
		if u.failures == 0 {
			wait = u.backoff(1)
		}
		u.mu.Unlock()
		time.Sleep(max(wait, 0))
		// The start has its own deadline (StartTimeout).
		_, err := u.session(context.Background())
		if err == nil {
			u.opt.Log.Info("MCP upstream restarted", "connector", u.name)
			return
		}
	}
}

func (u *Upstream) exitDetail() string {
	var parts []string
	if u.proc != nil && u.exited != nil {
		select {
		case <-u.exited:
			if st := u.proc.ProcessState; st != nil {
				parts = append(parts, "process "+st.String())
			}
		default:
		}
	}
	if u.stderr != nil {
		if t := strings.TrimSpace(u.stderr.String()); t != "" {
			parts = append(parts, "stderr: "+t)
		}
	}
	return strings.Join(parts, "; ")
}

func (u *Upstream) stopProc() {
	u.mu.Lock()
	p, exited := u.proc, u.exited
	u.mu.Unlock()
	if p == nil || p.Process == nil {
		return
	}
	select {
	case <-exited:
		return
	case <-time.After(2 * time.Second):
	}
	// Its own process group (Setpgid): a wrapper's children (npx, uvx)
	// end with it.
	if err := syscall.Kill(-p.Process.Pid, syscall.SIGKILL); err != nil {
		_ = p.Process.Kill()
	}
	<-exited
}

func (u *Upstream) event(e Event) {
	if u.opt.OnEvent != nil {
		u.opt.OnEvent(e)
	}
}

// slack is what a message may carry beyond the result itself (envelope).
const slack = 64 << 10

func (u *Upstream) exitDetailLocked() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.exitDetail()
}

// baseEnv is what a stdio child inherits of Weft's environment unasked.
var baseEnv = []string{"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ", "USER"}

func childEnv(pass []string) []string {
	var out []string
	for _, k := range append(append([]string(nil), baseEnv...), pass...) {
		if v, ok := os.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// httpClient dials through the egress policy, refuses non-public
// addresses unless the spec allows them, bounds each response body, and
// sends the token to the URL's origin only.
func (u *Upstream) httpClient(limit int) *http.Client {
	base := guardedTransport(u.spec.AllowPrivate, u.opt.Egress)
	origin, _ := url.Parse(u.spec.URL)
	rt := &upstreamRT{origin: origin, limit: limit, hit: &u.oversize, u: u}
	rt.pool.Store(base)
	if u.opt.Token != nil {
		plain := &http.Client{Transport: base, Timeout: 30 * time.Second}
		rt.token = func(ctx context.Context) (string, error) { return u.opt.Token(ctx, plain) }
		rt.renew = u.opt.Renew
	}
	return &http.Client{Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return fmt.Errorf("stopped after 5 redirects")
			}
			return nil
		}}
}

// guardedTransport dials through the egress policy and, unless
// allowPrivate, refuses non-public addresses.
func guardedTransport(allowPrivate bool, pol *egress.Policy) *http.Transport {
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
			if !httpconn.Public(ip) {
				return fmt.Errorf("refusing to call non-public address %s (add the MCP connector with --allow-private to permit it)", ip)
			}
			return nil
		}
	}
	return &http.Transport{Proxy: nil, DialContext: pol.Dialer("mcp", d), MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second, ForceAttemptHTTP2: true}
}

type upstreamRT struct {
	// pool is the transport the calls go through; it is replaced once if
	// the upstream keeps idle connections for less time than it would
	// (keepAlive).
	pool    atomic.Pointer[http.Transport]
	adapted atomic.Bool
	adapt   sync.Mutex
	origin  *url.URL
	token   func(context.Context) (string, error)
	renew   func(stale string, scope []string) bool
	limit   int
	hit     *atomic.Bool
	u       *Upstream
}

func (t *upstreamRT) RoundTrip(req *http.Request) (*http.Response, error) {
	sent := ""
	orig := req
	if t.token != nil && req.URL.Scheme == t.origin.Scheme && req.URL.Host == t.origin.Host {
		tok, err := t.token(req.Context())
		if err != nil {
			return nil, fmt.Errorf("getting the upstream's access token: %v", err)
		}
		if tok != "" {
			req = req.Clone(req.Context())
			req.Header.Set("Authorization", "Bearer "+tok)
			sent = tok
		}
	}
	resp, err := t.pool.Load().RoundTrip(req)
	if err == nil && sent != "" && req.Method != http.MethodDelete && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
		// (A DELETE ends a session Weft is done with: a refusal there is no
		// call's business.)
		resp, err = t.refused(orig, resp, sent)
	}
	if err != nil || resp.Body == nil {
		return resp, err
	}
	if ka := resp.Header["Keep-Alive"]; len(ka) > 0 && !t.adapted.Load() {
		t.keepAlive(ka[0])
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{&lineLimit{r: resp.Body, max: t.limit, hit: t.hit}, resp.Body}
	} else {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{&totalLimit{r: resp.Body, left: int64(t.limit), hit: t.hit}, resp.Body}
	}
	return resp, nil
}

// keepAlive follows what the upstream says of its keep-alive
// ("Keep-Alive: timeout=N", as Node's http server says, with N = 5): a
// server closes a connection idle for N seconds, and a call written on one
// just as it does is reset, and fails ("may or may not have run": a POST
// is not sent again). The first answer that names a timeout shorter than
// the pool's sets the pool's idle limit to 3/4 of it, so that Weft drops
// such a connection before the server does: a new transport takes the
// calls from then on, and the old one's idle connections are closed (its
// calls and streams in flight run to their end on it).
func (t *upstreamRT) keepAlive(v string) {
	n := keepAliveTimeout(v)
	if n <= 0 {
		return
	}
	t.adapt.Lock()
	defer t.adapt.Unlock()
	if t.adapted.Load() {
		return
	}
	t.adapted.Store(true)
	old := t.pool.Load()
	limit := n * 3 / 4
	if old.IdleConnTimeout > 0 && limit >= old.IdleConnTimeout {
		return
	}
	nt := old.Clone()
	nt.IdleConnTimeout = limit
	t.pool.Store(nt)
	old.CloseIdleConnections()
}

// keepAliveTimeout is the timeout a Keep-Alive header names ("timeout=5,
// max=1000"): 0 when it names none or a bad one; at most an hour.
func keepAliveTimeout(v string) time.Duration {
	for _, p := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "timeout") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || n <= 0 || n > 3600 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	return 0
}

// refused handles a 401 or 403 answered to a request that carried token
// sent: an access token the upstream no longer takes is renewed, and a
// 403 insufficient_scope leads to a token with the scopes named where the
// grant can issue one (client credentials); the request is then sent once
// more. Otherwise, or when the second answer is a refusal too, the reason
// is kept for the call's error (the client sees only a failed request).
func (t *upstreamRT) refused(req *http.Request, resp *http.Response, sent string) (*http.Response, error) {
	var scope []string
	if resp.StatusCode == http.StatusForbidden {
		scope = insufficientScope(resp.Header.Values("WWW-Authenticate"))
		if scope == nil {
			return resp, nil // forbidden for another reason: the upstream's answer stands
		}
	}
	canResend := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	renewed := false
	if canResend && t.renew != nil && t.renew(sent, scope) {
		renewed = true
		tok, err := t.token(req.Context())
		if err == nil && tok != "" && tok != sent {
			var body io.ReadCloser
			if req.GetBody != nil {
				body, err = req.GetBody()
			}
			if err == nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
				r2 := req.Clone(req.Context())
				if body != nil {
					r2.Body = body
				}
				r2.Header.Set("Authorization", "Bearer "+tok)
				resp, err = t.pool.Load().RoundTrip(r2)
				if err != nil {
					return nil, err
				}
				if resp.StatusCode == http.StatusForbidden {
					scope = insufficientScope(resp.Header.Values("WWW-Authenticate"))
				} else if resp.StatusCode != http.StatusUnauthorized {
					return resp, nil
				}
			}
		}
	}
	t.u.refusedBy(resp.StatusCode, scope, renewed)
	return resp, nil
}

// insufficientScope returns the scopes a 403's Bearer challenge names
// with error="insufficient_scope" (RFC 6750 §3.1); nil when it is not one.
func insufficientScope(headers []string) []string {
	challenges, err := oauthex.ParseWWWAuthenticate(headers)
	if err != nil {
		return nil
	}
	for _, c := range challenges {
		if c.Scheme == "bearer" && c.Params["error"] == "insufficient_scope" {
			scope := strings.Fields(c.Params["scope"])
			if len(scope) > 32 {
				scope = scope[:32]
			}
			for i, s := range scope {
				if len(s) > 128 {
					scope[i] = s[:128]
				}
			}
			if scope == nil {
				scope = []string{}
			}
			return scope
		}
	}
	return nil
}

// refusedBy keeps why the upstream refused a request's token, for the
// error of the call it belonged to.
func (u *Upstream) refusedBy(status int, scope []string, renewed bool) {
	var msg string
	switch {
	case status == http.StatusForbidden && len(scope) > 0:
		msg = fmt.Sprintf("the upstream needs OAuth scope %q, which the connection's token lacks (403 insufficient_scope); authorize again with it: weft connector add-mcp %s --url %s --oauth --scopes %q",
			strings.Join(scope, " "), u.name, u.spec.URL, strings.Join(scope, " "))
	case status == http.StatusForbidden:
		msg = "the upstream refused the connection's token as lacking scope (403 insufficient_scope, no scope named)"
	case renewed:
		msg = fmt.Sprintf("the upstream refused the connection's access token (401) even after it was renewed; check the connection's credentials (weft connector add-mcp %s --url %s --oauth to authorize again)", u.name, u.spec.URL)
	default:
		msg = fmt.Sprintf("the upstream refused the connection's token (401), and a static token cannot be renewed: give a new one (weft connector add-mcp %s --url %s --token-file FILE)", u.name, u.spec.URL)
	}
	u.authErr.Store(&authRefusal{status: status, msg: msg})
}

// authRefusal is why the upstream refused a request's token.
type authRefusal struct {
	status int
	msg    string
}

// ErrTooLarge is a message from the upstream over the result limit.
var ErrTooLarge = errors.New("MCP upstream message over the result limit")

// lineLimit fails a stream when one line (a JSON-RPC message on stdio, an
// SSE data line) grows over max bytes.
type lineLimit struct {
	r   io.Reader
	max int
	n   int
	hit *atomic.Bool
}

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == '\n' {
			l.n = 0
			continue
		}
		l.n++
		if l.n > l.max {
			l.hit.Store(true)
			return i, ErrTooLarge
		}
	}
	return n, err
}

// totalLimit fails a body over left bytes.
type totalLimit struct {
	r    io.Reader
	left int64
	hit  *atomic.Bool
}

func (l *totalLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		l.hit.Store(true)
		return n, ErrTooLarge
	}
	return n, err
}

// tailBuffer keeps the last max bytes written (a child's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// ListTools lists the upstream's tools (every page, at most MaxTools).
func (u *Upstream) ListTools(ctx context.Context) ([]Tool, error) {
	ctx, cancel := context.WithTimeout(ctx, u.opt.CallTimeout)
	defer cancel()
	s, err := u.session(ctx)
	if err != nil {
		return nil, err
	}
	ctx, raw := withRaw(ctx)
	var out []Tool
	var req mmcp.ListToolsRequest
	seen := map[mmcp.Cursor]bool{}
	for {
		res, err := s.c.ListToolsByPage(ctx, req)
		if err != nil {
			if u.oversize.Swap(false) {
				return nil, fmt.Errorf("MCP upstream %s: the tool list is over the limit of %d bytes", u.name, u.opt.MaxResultBytes)
			}
			return nil, fmt.Errorf("MCP upstream %s: listing tools: %v", u.name, err)
		}
		raw.mu.Lock()
		pages := raw.pages
		raw.pages = nil
		raw.mu.Unlock()
		if len(pages) != 1 {
			return nil, fmt.Errorf("MCP upstream %s: listing tools: no answer kept", u.name)
		}
		var page struct {
			Tools []wireTool `json:"tools"`
		}
		if err := json.Unmarshal(pages[0], &page); err != nil {
			return nil, fmt.Errorf("MCP upstream %s: listing tools: %v", u.name, err)
		}
		for i := range page.Tools {
			if len(out) >= MaxTools {
				return nil, fmt.Errorf("MCP upstream %s lists more than %d tools", u.name, MaxTools)
			}
			tool, err := convertTool(&page.Tools[i])
			if err != nil {
				return nil, fmt.Errorf("MCP upstream %s: %v", u.name, err)
			}
			out = append(out, tool)
		}
		if res.NextCursor == "" {
			break
		}
		if seen[res.NextCursor] || len(seen) > MaxTools {
			return nil, fmt.Errorf("MCP upstream %s: listing tools: the pages do not end (cursor %.64q again)", u.name, res.NextCursor)
		}
		seen[res.NextCursor] = true
		req.Params.Cursor = res.NextCursor
	}
	nameOps(out)
	u.mu.Lock()
	u.listedAt = time.Now()
	u.drift = Diff(u.accepted, out)
	u.mu.Unlock()
	return out, nil
}

// wireTool is a tool as listed, its schemas as the upstream sent them.
type wireTool struct {
	Name         string          `json:"name"`
	Title        string          `json:"title"`
	Description  string          `json:"description"`
	InputSchema  json.RawMessage `json:"inputSchema"`
	OutputSchema json.RawMessage `json:"outputSchema"`
	Annotations  *struct {
		Title           string `json:"title"`
		ReadOnlyHint    bool   `json:"readOnlyHint"`
		DestructiveHint *bool  `json:"destructiveHint"`
		IdempotentHint  bool   `json:"idempotentHint"`
		OpenWorldHint   *bool  `json:"openWorldHint"`
	} `json:"annotations"`
}

// relist lists again (on list_changed) and reports it.
func (u *Upstream) relist() {
	ctx, cancel := context.WithTimeout(context.Background(), u.opt.CallTimeout)
	defer cancel()
	tools, err := u.ListTools(ctx)
	if err != nil {
		u.opt.Log.Warn("MCP upstream: listing tools after list_changed failed", "connector", u.name, "err", err)
	} else if d := u.Status().Drift; len(d) > 0 {
		u.opt.Log.Warn("MCP upstream tools drifted from the accepted schemas", "connector", u.name, "changes", len(d))
	}
	if u.opt.OnList != nil {
		u.opt.OnList(tools, err)
	}
}

func convertTool(t *wireTool) (Tool, error) {
	if t == nil || t.Name == "" || len(t.Name) > MaxNameLen {
		return Tool{}, fmt.Errorf("a tool without a name or with a name over %d bytes", MaxNameLen)
	}
	out := Tool{Name: t.Name, Title: t.Title, Description: t.Description}
	var err error
	if out.Input, err = schemaMap(t.InputSchema); err != nil {
		return Tool{}, fmt.Errorf("tool %s: input schema: %v", t.Name, err)
	}
	if out.Input == nil {
		out.Input = map[string]any{"type": "object"}
	}
	if out.Output, err = schemaMap(t.OutputSchema); err != nil {
		return Tool{}, fmt.Errorf("tool %s: output schema: %v", t.Name, err)
	}
	if a := t.Annotations; a != nil {
		if out.Title == "" {
			out.Title = a.Title
		}
		out.Hints.ReadOnly = a.ReadOnlyHint
		out.Hints.Idempotent = a.IdempotentHint
		// MCP's defaults: a tool that is not read-only may be destructive;
		// every tool may reach an open world.
		out.Hints.Destructive = !a.ReadOnlyHint && (a.DestructiveHint == nil || *a.DestructiveHint)
		out.Hints.OpenWorld = a.OpenWorldHint == nil || *a.OpenWorldHint
	} else {
		out.Hints.Destructive, out.Hints.OpenWorld = true, true
	}
	if out.Title == "" {
		out.Title = t.Name
	}
	return out, nil
}

func schemaMap(b json.RawMessage) (map[string]any, error) {
	if len(b) > MaxSchemaBytes {
		return nil, fmt.Errorf("%d bytes, over the limit of %d", len(b), MaxSchemaBytes)
	}
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("not an object schema")
	}
	return m, nil
}

var opClean = lazy.NewRegexp(`[^A-Za-z0-9_-]+`)

// nameOps gives each tool its operation name: the tool's name with
// characters other than letters, digits, _ and - replaced by _, unique.
func nameOps(tools []Tool) {
	seen := map[string]bool{}
	for i := range tools {
		op := opClean.ReplaceAllString(tools[i].Name, "_")
		if seen[op] || op != tools[i].Name && seenName(tools, op) {
			op = connectors.ShortName(op+"_"+connectors.NameHash(tools[i].Name), tools[i].Name, MaxNameLen)
		}
		seen[op] = true
		tools[i].Op = op
	}
}

func seenName(tools []Tool, name string) bool {
	for _, t := range tools {
		if t.Name == name {
			return true
		}
	}
	return false
}

// Call calls tool with args, within the call timeout; the result is the
// tool's structured content when it has some, else {text, content}.
func (u *Upstream) Call(ctx context.Context, tool string, args map[string]any) (any, error) {
	parent := ctx
	ctx, done := u.callContext(ctx)
	defer done()
	s, err := u.session(ctx)
	if err != nil {
		return nil, err
	}
	if args == nil {
		args = map[string]any{}
	}
	var req mmcp.CallToolRequest
	req.Params.Name, req.Params.Arguments = tool, args
	if p := connectors.ProgressFrom(ctx); p != nil {
		// The upstream's progress notifications for this call go to p.
		tok := fmt.Sprintf("weft-%d", u.progressN.Add(1))
		req.Params.Meta = &mmcp.Meta{ProgressToken: tok}
		u.progressMu.Lock()
		if u.progress == nil {
			u.progress = map[string]connectors.Progress{}
		}
		u.progress[tok] = p
		u.progressMu.Unlock()
		defer func() {
			u.progressMu.Lock()
			delete(u.progress, tok)
			u.progressMu.Unlock()
		}()
	}
	res, err := s.c.CallTool(ctx, req)
	if err != nil {
		return nil, u.callError(parent, ctx, s, tool, err)
	}
	if out, ok, err := u.plainResult(tool, res, ctx.Value(toolResultKey{}) != nil); ok {
		return out, err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf("MCP upstream %s: tool %s: result does not encode: %v", u.name, tool, err)}
	}
	if len(b) > u.opt.MaxResultBytes {
		return nil, u.tooLarge(tool)
	}
	var raw struct {
		Content    []map[string]any `json:"content"`
		Structured any              `json:"structuredContent"`
		IsError    bool             `json:"isError"`
	}
	_ = json.Unmarshal(b, &raw)
	text := contentText(raw.Content)
	if raw.IsError {
		msg := fmt.Sprintf("MCP upstream %s: tool %s failed: %s", u.name, tool, orNone(text))
		if d := u.DriftOf(tool); len(d) > 0 {
			msg += fmt.Sprintf(" (note: the tool's schema changed incompatibly since it was accepted: %s)", d[0].Detail)
		}
		return nil, &connectors.Error{Class: connectors.Permanent, Message: msg, Body: raw.Content}
	}
	if m, ok := raw.Structured.(map[string]any); ok {
		return m, nil
	}
	out := map[string]any{"text": text, "content": raw.Content}
	if raw.Structured != nil {
		out["structured"] = raw.Structured
	}
	return out, nil
}

// toolResultKey marks a context whose caller takes a *ToolResult.
type toolResultKey struct{}

// WithToolResult asks Call for a plain text result as a *ToolResult (the
// upstream's texts as they came) rather than {text, content}: Weft's MCP
// gateway hands those texts to its own caller unchanged, where building
// the map and encoding it as JSON text would be waste (and a wrapper the
// agent did not ask for).
func WithToolResult(ctx context.Context) context.Context {
	return context.WithValue(ctx, toolResultKey{}, true)
}

// ToolResult is a tool's plain result, text content only (no structured
// content, annotations or _meta, not an error), as the upstream sent it.
type ToolResult struct {
	Texts []string
	Size  int // the bytes of the texts and their envelopes, about as encoded
}

// Value is what Call returns for the same result without WithToolResult:
// {text, content}.
func (r *ToolResult) Value() map[string]any {
	content := make([]map[string]any, 0, len(r.Texts))
	var text strings.Builder
	for _, t := range r.Texts {
		content = append(content, map[string]any{"type": "text", "text": t})
		if t != "" {
			if text.Len() > 0 {
				text.WriteByte('\n')
			}
			text.WriteString(t)
		}
	}
	return map[string]any{"text": text.String(), "content": content}
}

// MarshalJSON encodes the result as its Value (how a log or a step sees it).
func (r *ToolResult) MarshalJSON() ([]byte, error) { return json.Marshal(r.Value()) }

// ResultSize is the result's size for the transaction log, without
// encoding it.
func (r *ToolResult) ResultSize() int { return r.Size }

// plainResult converts the common result without a JSON round trip: text
// content only (no annotations or _meta), structured content an object or
// absent, not an error. ok is false for anything else (the general path).
// With asTool, a result without structured content is a *ToolResult.
func (u *Upstream) plainResult(tool string, res *mmcp.CallToolResult, asTool bool) (any, bool, error) {
	if res == nil || res.IsError || res.Meta != nil {
		return nil, false, nil
	}
	size := 0
	texts := make([]string, 0, len(res.Content))
	for _, c := range res.Content {
		tc, ok := c.(mmcp.TextContent)
		if !ok || tc.Meta != nil || tc.Annotations != nil {
			return nil, false, nil
		}
		size += len(tc.Text) + 32
		texts = append(texts, tc.Text)
	}
	if res.StructuredContent != nil {
		m, ok := res.StructuredContent.(map[string]any)
		if !ok {
			return nil, false, nil
		}
		b, err := json.Marshal(m) // its size (the result is the object itself)
		if err != nil {
			return nil, false, nil
		}
		if size+len(b) > u.opt.MaxResultBytes {
			return nil, true, u.tooLarge(tool)
		}
		return m, true, nil
	}
	if size > u.opt.MaxResultBytes {
		return nil, true, u.tooLarge(tool)
	}
	r := &ToolResult{Texts: texts, Size: size}
	if asTool {
		return r, true, nil
	}
	return r.Value(), true, nil
}

// callContext is a call's context: cancelled when the call times out, or
// when parent ends while the call is in flight; done cancels it once the
// call has returned. That no longer cuts the rest of the upstream's response
// stream (which made the HTTP transport close the connection rather than
// reuse it when the official SDK was the client): mcp-go's client stops
// following the caller's context once the response has arrived and reads
// the rest of the stream on its own, for up to two seconds (mcp-go patch 7,
// TestCallsReuseConnections). One timer a call, stopped by done, not a
// timer that always fired two seconds after the call.
func (u *Upstream) callContext(parent context.Context) (context.Context, func()) {
	return context.WithTimeout(parent, u.opt.CallTimeout)
}

func (u *Upstream) tooLarge(tool string) error {
	return &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf("MCP upstream %s: tool %s returned a result over the limit of %d bytes (max_result_bytes); ask the tool for less", u.name, tool, u.opt.MaxResultBytes)}
}

func (u *Upstream) callError(parent, ctx context.Context, s *session, tool string, err error) error {
	if u.oversize.Swap(false) || errors.Is(err, ErrTooLarge) {
		// The stream was cut mid-message: this session is done.
		u.lost(s)
		return u.tooLarge(tool)
	}
	if parent.Err() != nil {
		return parent.Err()
	}
	if r := u.authErr.Swap(nil); r != nil {
		// Refused for its credentials: the call did not run, and retrying
		// with the same connection will not help. The client ends a session
		// on such an answer; the next call starts another.
		u.lost(s)
		return &connectors.Error{Class: connectors.Permanent, Status: r.status, Message: fmt.Sprintf("MCP upstream %s: tool %s: %s", u.name, tool, r.msg)}
	}
	if ctx.Err() == context.DeadlineExceeded || context.Cause(ctx) == context.DeadlineExceeded {
		return &connectors.Error{Class: connectors.Retryable, Message: fmt.Sprintf("MCP upstream %s: tool %s timed out after %s (the call was cancelled upstream)", u.name, tool, u.opt.CallTimeout)}
	}
	if !isTransport(err) {
		// The upstream's JSON-RPC error answer.
		msg := fmt.Sprintf("MCP upstream %s: tool %s: refused: %s", u.name, tool, err)
		if d := u.DriftOf(tool); len(d) > 0 {
			msg += fmt.Sprintf(" (the tool's schema changed incompatibly since it was accepted: %s)", d[0].Detail)
		}
		return &connectors.Error{Class: connectors.Permanent, Message: msg}
	}
	detail := ""
	time.Sleep(10 * time.Millisecond) // let the exit be seen
	if d := u.exitDetailLocked(); d != "" {
		detail = " (" + d + ")"
	}
	u.lost(s)
	return &connectors.Error{Class: connectors.Retryable, Message: fmt.Sprintf("MCP upstream %s: tool %s: the connection failed during the call, so it may or may not have run: %v%s", u.name, tool, err, detail)}
}

func contentText(content []map[string]any) string {
	var parts []string
	for _, c := range content {
		if t, _ := c["type"].(string); t == "text" {
			if s, _ := c["text"].(string); s != "" {
				parts = append(parts, s)
			}
		}
	}
	return strings.Join(parts, "\n")
}

func orNone(s string) string {
	if s == "" {
		return "(no message)"
	}
	return s
}

// Connector builds the connector of an upstream: one operation per
// accepted tool.
func Connector(name string, spec *Spec, u *Upstream) *connectors.Connector {
	title := spec.Server
	if title == "" {
		title = name
	}
	where := spec.URL
	if where == "" {
		where = strings.Join(spec.Command, " ")
	}
	x := &connectors.Connector{Name: name, Title: title, Version: spec.ListedAt.UTC().Format(time.RFC3339),
		Description: fmt.Sprintf("MCP server %s (%s), federated: each tool is an operation.", title, where)}
	for _, t := range spec.Tools {
		tool := t.Name
		desc := t.Description
		if desc == "" {
			desc = t.Title
		}
		x.Operations = append(x.Operations, &connectors.Operation{Name: t.Op, Title: t.Title, Description: desc, Input: t.Input, Output: t.Output, Hints: t.Hints,
			Tags: []string{"mcp"},
			Invoke: func(ctx context.Context, c connectors.Call) (any, error) {
				if c.Transport != nil {
					return nil, &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf("%s.%s is a federated MCP tool: a sandboxed test run cannot call it", name, t.Op)}
				}
				return u.Call(ctx, tool, c.Input)
			},
			Drift: func() string {
				var parts []string
				for _, c := range u.DriftOf(tool) {
					parts = append(parts, c.Detail)
				}
				return strings.Join(parts, "; ")
			}})
	}
	return x
}

// Marshal encodes a spec for the store.
func (s *Spec) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Parse decodes a stored spec.
func Parse(data []byte) (*Spec, error) {
	var s Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("MCP connector spec: %v", err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	nameOps(s.Tools)
	return &s, nil
}

// ValidName reports whether name is a valid connector name.
func ValidName(name string) error { return connectors.ValidName(name) }
