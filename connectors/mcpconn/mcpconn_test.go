package mcpconn_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/mcpconn"
	"github.com/weftio/weft/connectors/mcpconn/mcptest"
)

func TestMain(m *testing.M) {
	mcptest.MaybeRunStdio()
	os.Exit(m.Run())
}

func stdio(t *testing.T, opt mcpconn.Options) *mcpconn.Upstream {
	t.Helper()
	opt.Env = mcptest.Env()
	u := mcpconn.New("up", mcpconn.Spec{Command: mcptest.Command()}, opt)
	t.Cleanup(u.Close)
	return u
}

func httpUp(t *testing.T, h http.Handler, opt mcpconn.Options) (*mcpconn.Upstream, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u := mcpconn.New("up", mcpconn.Spec{URL: srv.URL, AllowPrivate: true}, opt)
	t.Cleanup(u.Close)
	return u, srv
}

func class(err error) string {
	c, _ := connectors.Classify(err)
	return c
}

func listAndCall(t *testing.T, u *mcpconn.Upstream) {
	ctx := context.Background()
	tools, err := u.ListTools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]mcpconn.Tool{}
	for _, x := range tools {
		byName[x.Name] = x
	}
	echo, ok := byName["echo"]
	if !ok || len(tools) != 11 {
		t.Fatalf("tools: %+v", tools)
	}
	if echo.Input["type"] != "object" || echo.Output == nil || !echo.Hints.ReadOnly || echo.Hints.Destructive {
		t.Fatalf("echo: %+v", echo)
	}
	if !byName["crash"].Hints.Destructive {
		t.Fatalf("a tool without annotations must count as destructive (MCP's default)")
	}
	out, err := u.Call(ctx, "echo", map[string]any{"text": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := out.(map[string]any); m["text"] != "hi" {
		t.Fatalf("echo: %#v", out)
	}
	_, err = u.Call(ctx, "fail", map[string]any{"why": "no stock"})
	if err == nil || !strings.Contains(err.Error(), "refused: no stock") || class(err) != connectors.Permanent {
		t.Fatalf("tool error: %v (%s)", err, class(err))
	}
	_, err = u.Call(ctx, "nosuch", nil)
	if err == nil || class(err) != connectors.Permanent {
		t.Fatalf("unknown tool: %v (%s)", err, class(err))
	}
	rs, err := u.ListResources(ctx)
	if err != nil || len(rs) != 1 || rs[0].URI != "mem://readme" || rs[0].MIMEType != "text/plain" {
		t.Fatalf("resources: %v %+v", err, rs)
	}
	parts, err := u.ReadResource(ctx, "mem://readme")
	if err != nil || len(parts) != 1 || !strings.HasPrefix(parts[0].Text, "mcptest:") {
		t.Fatalf("read: %v %+v", err, parts)
	}
	if _, err := u.ReadResource(ctx, "mem://nosuch"); err == nil {
		t.Fatalf("an unknown resource was read")
	}
}

func TestStdioListCall(t *testing.T) { listAndCall(t, stdio(t, mcpconn.Options{})) }

// A stdio child gets none of Weft's environment but what is passed.
func TestStdioEnvironment(t *testing.T) {
	t.Setenv("WEFT_MASTER_KEY", "do-not-leak")
	t.Setenv("UPSTREAM_API_KEY", "pass-me")
	u := stdio(t, mcpconn.Options{PassEnv: []string{"UPSTREAM_API_KEY"}})
	for name, want := range map[string]bool{"WEFT_MASTER_KEY": false, "UPSTREAM_API_KEY": true, "PATH": true} {
		out, err := u.Call(context.Background(), "getenv", map[string]any{"name": name})
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := out.(map[string]any); m["set"] != want {
			t.Errorf("%s set in the child: %v, want %v", name, m["set"], want)
		}
	}
}

func TestHTTPListCall(t *testing.T) {
	u, _ := httpUp(t, mcptest.Handler(), mcpconn.Options{})
	listAndCall(t, u)
}

func TestHTTPTokenOnlyToOrigin(t *testing.T) {
	var seen atomic.Value
	seen.Store("")
	h := mcptest.Handler()
	u, _ := httpUp(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("Authorization"))
		h.ServeHTTP(w, r)
	}), mcpconn.Options{Token: func(context.Context, *http.Client) (string, error) { return "s3cret-token", nil }})
	if _, err := u.Call(context.Background(), "echo", map[string]any{"text": "a"}); err != nil {
		t.Fatal(err)
	}
	if seen.Load() != "Bearer s3cret-token" {
		t.Fatalf("upstream saw %q", seen.Load())
	}
}

// A federation with OAuth client credentials: the token endpoint is asked
// for an access token, which goes to the upstream; the tools land in the
// catalog as operations that call it.
func TestFederationOAuthClientCredentials(t *testing.T) {
	var grants atomic.Int32
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		id, secret, _ := r.BasicAuth()
		if r.Form.Get("grant_type") != "client_credentials" || id != "weft" || secret != "cs3cret" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		grants.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"cc-token","token_type":"Bearer","expires_in":3600}`))
	}))
	defer tokens.Close()
	h := mcptest.Handler()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer cc-token" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer up.Close()
	cat := connectors.NewCatalog()
	fed := mcpconn.NewFederation(cat, mcpconn.Options{})
	defer fed.Close()
	ctx := context.Background()
	auth := &connectors.Auth{Type: connectors.AuthClientCredentials, TokenURL: tokens.URL, ClientID: "weft", ClientSecret: "cs3cret"}
	spec, err := fed.Add(ctx, "up", mcpconn.Spec{URL: up.URL, AllowPrivate: true}, auth)
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Tools) != 11 || spec.Server != "mcptest 1.0.0" {
		t.Fatalf("spec: %d tools, server %q", len(spec.Tools), spec.Server)
	}
	op, ok := cat.Operation("up.echo")
	if !ok || op.Output == nil || !op.Hints.ReadOnly {
		t.Fatalf("up.echo: %+v", op)
	}
	out, err := op.Invoke(ctx, connectors.Call{Input: map[string]any{"text": "via oauth"}})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := out.(map[string]any); m["text"] != "via oauth" || grants.Load() != 1 {
		t.Fatalf("out %#v, %d grants (the token is cached)", out, grants.Load())
	}
	// Wrong credentials: the add fails, saying why, without the secret.
	bad := &connectors.Auth{Type: connectors.AuthClientCredentials, TokenURL: tokens.URL, ClientID: "weft", ClientSecret: "wrong-secret"}
	if _, err := fed.Add(ctx, "up2", mcpconn.Spec{URL: up.URL, AllowPrivate: true}, bad); err == nil || !strings.Contains(err.Error(), "OAuth token from") || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("bad credentials: %v", err)
	}
	// Stdio upstreams are off unless the operator lists the program.
	if _, err := fed.Add(ctx, "local", mcpconn.Spec{Command: mcptest.Command()}, nil); err == nil || !strings.Contains(err.Error(), "mcp.upstream") {
		t.Fatalf("stdio without commands: %v", err)
	}
	if _, err := fed.Add(ctx, "up3", mcpconn.Spec{URL: up.URL, AllowPrivate: true}, &connectors.Auth{Type: connectors.AuthBasic, Username: "u"}); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("basic auth: %v", err)
	}
}

// A stored stdio upstream whose program the operator no longer allows
// keeps its operations, and refuses every call saying why.
func TestLoadDisallowedCommand(t *testing.T) {
	cat := connectors.NewCatalog()
	fed := mcpconn.NewFederation(cat, mcpconn.Options{})
	defer fed.Close()
	spec := mcpconn.Spec{Command: mcptest.Command(), Tools: []mcpconn.Tool{{Name: "echo", Input: map[string]any{"type": "object"}}}}
	data, _ := spec.Marshal()
	if err := fed.Load("local", data); err != nil {
		t.Fatal(err)
	}
	op, ok := cat.Operation("local.echo")
	if !ok {
		t.Fatal("no operation")
	}
	_, err := op.Invoke(context.Background(), connectors.Call{Input: map[string]any{}})
	if err == nil || !strings.Contains(err.Error(), "disabled: stdio MCP upstreams are off") || class(err) != connectors.Permanent {
		t.Fatalf("%v", err)
	}
	if info, _ := fed.Info("local"); info.Status.State != mcpconn.StateUnavailable {
		t.Fatalf("info: %+v", info)
	}
}

func TestHTTPPrivateRefused(t *testing.T) {
	srv := httptest.NewServer(mcptest.Handler())
	defer srv.Close()
	u := mcpconn.New("up", mcpconn.Spec{URL: srv.URL}, mcpconn.Options{MaxRestarts: 1})
	defer u.Close()
	_, err := u.ListTools(context.Background())
	if err == nil || !strings.Contains(err.Error(), "non-public address") {
		t.Fatalf("want a refusal, got %v", err)
	}
}

func TestStdioCrashRestart(t *testing.T) {
	u := stdio(t, mcpconn.Options{BackoffMin: 20 * time.Millisecond})
	ctx := context.Background()
	if _, err := u.Call(ctx, "echo", map[string]any{"text": "before"}); err != nil {
		t.Fatal(err)
	}
	// A call in flight when the process dies fails clearly, at once.
	inflight := make(chan error, 1)
	go func() {
		_, err := u.Call(ctx, "hang", nil)
		inflight <- err
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	_, err := u.Call(ctx, "crash", nil)
	if err == nil || !strings.Contains(err.Error(), "may or may not have run") || class(err) != connectors.Retryable {
		t.Fatalf("the crashing call: %v", err)
	}
	select {
	case err := <-inflight:
		if err == nil || !strings.Contains(err.Error(), "tool hang: the connection failed during the call") {
			t.Fatalf("the call in flight: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the call in flight did not fail")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("failing took %s", d)
	}
	// The supervisor restarts the process; calls work again.
	deadline := time.Now().Add(10 * time.Second)
	for u.Status().State != mcpconn.StateConnected {
		if time.Now().After(deadline) {
			t.Fatalf("not restarted: %+v", u.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, err := u.Call(ctx, "count", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := out.(map[string]any); m["calls"] != float64(1) { // a fresh process
		t.Fatalf("count after restart: %#v", out)
	}
	st := u.Status()
	if st.Restarts != 1 || !strings.Contains(st.LastError, "mcptest: crashing on request") {
		t.Fatalf("status: %+v", st)
	}
}

// An HTTP upstream that goes away is noticed by the health check, not
// only on the next call.
func TestHTTPHealthCheck(t *testing.T) {
	var down atomic.Bool
	h := mcptest.Handler()
	u, _ := httpUp(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "gone", http.StatusBadGateway)
			return
		}
		h.ServeHTTP(w, r)
	}), mcpconn.Options{HealthInterval: 50 * time.Millisecond})
	if _, err := u.Call(context.Background(), "echo", map[string]any{"text": "up"}); err != nil {
		t.Fatal(err)
	}
	down.Store(true)
	deadline := time.Now().Add(5 * time.Second)
	for u.Status().State == mcpconn.StateConnected {
		if time.Now().After(deadline) {
			t.Fatalf("still connected: %+v", u.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := u.Status(); !strings.Contains(st.LastError, "health check") || st.Restarts != 1 {
		t.Fatalf("status: %+v", st)
	}
	down.Store(false)
	if _, err := u.Call(context.Background(), "echo", map[string]any{"text": "back"}); err != nil {
		t.Fatal(err)
	}
}

func TestStdioStartFailsBackoffBounded(t *testing.T) {
	u := mcpconn.New("up", mcpconn.Spec{Command: []string{"/nonexistent/mcp-server"}}, mcpconn.Options{MaxRestarts: 2, BackoffMin: 30 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	defer u.Close()
	ctx := context.Background()
	_, err := u.Call(ctx, "echo", nil)
	if err == nil || !strings.Contains(err.Error(), "start /nonexistent/mcp-server") {
		t.Fatalf("first: %v", err)
	}
	// Within the backoff: refused at once, saying when the next try is.
	_, err = u.Call(ctx, "echo", nil)
	if err == nil || !strings.Contains(err.Error(), "next start attempt in") {
		t.Fatalf("second: %v", err)
	}
	time.Sleep(60 * time.Millisecond)
	_, _ = u.Call(ctx, "echo", nil)
	if st := u.Status(); st.State != mcpconn.StateUnavailable || st.Failures != 2 {
		t.Fatalf("status: %+v", st)
	}
}

// warm starts u's session before a timed call: a session starts within
// the call's timeout or cancellation, and a child process under -race on a
// loaded machine may need longer than the test's short timeout.
func warm(t *testing.T, name string, u *mcpconn.Upstream) {
	t.Helper()
	for i := 0; ; i++ {
		if _, err := u.ListTools(context.Background()); err == nil {
			return
		} else if i == 20 {
			t.Fatalf("%s: the upstream did not start: %v", name, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func TestHangTimesOut(t *testing.T) {
	for name, u := range map[string]*mcpconn.Upstream{
		"stdio": stdio(t, mcpconn.Options{CallTimeout: 300 * time.Millisecond}),
		"http": func() *mcpconn.Upstream {
			u, _ := httpUp(t, mcptest.Handler(), mcpconn.Options{CallTimeout: 300 * time.Millisecond})
			return u
		}(),
	} {
		warm(t, name, u)
		start := time.Now()
		_, err := u.Call(context.Background(), "hang", nil)
		if err == nil || !strings.Contains(err.Error(), "timed out after 300ms") || class(err) != connectors.Retryable {
			t.Fatalf("%s: %v", name, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("%s: took %s", name, d)
		}
		// The session survives a timed-out call.
		if _, err := u.Call(context.Background(), "echo", map[string]any{"text": "after"}); err != nil {
			t.Fatalf("%s after a timeout: %v", name, err)
		}
	}
}

// A start slower than the call timeout (npx fetching a package, a JVM)
// still comes up: the start runs under StartTimeout, not under the call's
// deadline. A call that gives up first is told the upstream is still
// starting, at its own timeout, and the start goes on; no start fails.
// Before, every start was cut at the call timeout and the upstream never
// came up (TestHangTimesOut failed that way under -race).
func TestSlowStartOutlivesShortCalls(t *testing.T) {
	u := mcpconn.New("up", mcpconn.Spec{Command: mcptest.Command()}, mcpconn.Options{
		CallTimeout: 200 * time.Millisecond,
		Env:         append(mcptest.Env(), mcptest.StartDelayEnv+"=1500ms"),
	})
	t.Cleanup(u.Close)
	start := time.Now()
	_, err := u.ListTools(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is still starting") || class(err) != connectors.Retryable {
		t.Fatalf("first call during the start: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the call waited %s, past its own timeout", d)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := u.Call(context.Background(), "echo", map[string]any{"text": "up"})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slow starter never came up: %v (status %+v)", err, u.Status())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st := u.Status(); st.State != mcpconn.StateConnected || st.Failures != 0 || st.Restarts != 0 {
		t.Fatalf("status after a slow start: %+v", st)
	}
}

// A start is bounded by StartTimeout: an upstream that never answers
// initialize fails its start (and counts a failed start) at that deadline,
// and every caller waiting on it gets that outcome.
func TestStartTimeoutBoundsAStart(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	u := mcpconn.New("up", mcpconn.Spec{URL: srv.URL, AllowPrivate: true}, mcpconn.Options{
		CallTimeout: 5 * time.Second, StartTimeout: 400 * time.Millisecond})
	t.Cleanup(u.Close)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = u.ListTools(context.Background()) }()
	}
	wg.Wait()
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("the start took %s, past StartTimeout", d)
	}
	for i, err := range errs {
		if err == nil || strings.Contains(err.Error(), "still starting") || class(err) != connectors.Retryable {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if st := u.Status(); st.Failures != 1 || st.State != mcpconn.StateRestarting {
		t.Fatalf("one start failed, so one failure: %+v", st)
	}
}

// Cancelling a call (a flow run cancelled, an agent's call cancelled)
// returns at once (the SDK tells the upstream with notifications/cancelled),
// and the session stays usable.
func TestCancel(t *testing.T) {
	u := stdio(t, mcpconn.Options{})
	warm(t, "stdio", u)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := u.Call(ctx, "hang", nil)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 3*time.Second {
		t.Fatalf("cancelled call: %v after %s", err, time.Since(start))
	}
	if _, err := u.Call(context.Background(), "echo", map[string]any{"text": "still up"}); err != nil {
		t.Fatal(err)
	}
}

// The upstream's progress notifications reach the caller's reporter.
func TestProgress(t *testing.T) {
	for name, u := range map[string]*mcpconn.Upstream{
		"stdio": stdio(t, mcpconn.Options{}),
		"http":  func() *mcpconn.Upstream { u, _ := httpUp(t, mcptest.Handler(), mcpconn.Options{}); return u }(),
	} {
		var mu sync.Mutex
		var got []float64
		ctx := connectors.WithProgress(context.Background(), func(p, total float64, msg string) {
			mu.Lock()
			got = append(got, p)
			mu.Unlock()
			if total != 3 || msg != "step" {
				t.Errorf("%s: total %v, message %q", name, total, msg)
			}
		})
		if _, err := u.Call(ctx, "slow", map[string]any{"steps": 3}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // notifications are asynchronous
		mu.Lock()
		if len(got) != 3 || got[2] != 3 {
			t.Errorf("%s: progress %v", name, got)
		}
		mu.Unlock()
	}
}

func TestOversizedResult(t *testing.T) {
	for name, u := range map[string]*mcpconn.Upstream{
		// A generous call timeout (both transports): the upstream builds the
		// 50 MB answer before sending it, which under -race on a loaded box
		// can take long (the http one timed out at the default 30 s).
		"stdio": stdio(t, mcpconn.Options{MaxResultBytes: 256 << 10, BackoffMin: 10 * time.Millisecond, CallTimeout: 3 * time.Minute}),
		"http": func() *mcpconn.Upstream {
			u, _ := httpUp(t, mcptest.Handler(), mcpconn.Options{MaxResultBytes: 256 << 10, CallTimeout: 3 * time.Minute})
			return u
		}(),
	} {
		ctx := context.Background()
		// Just under: fine.
		if _, err := u.Call(ctx, "big", map[string]any{"bytes": 100 << 10}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// 50 MB: refused with the limit named, not buffered.
		_, err := u.Call(ctx, "big", map[string]any{"bytes": 50 << 20})
		if err == nil || !strings.Contains(err.Error(), "over the limit of 262144 bytes") || class(err) != connectors.Permanent {
			t.Fatalf("%s: %v", name, err)
		}
		// Between the limit and the limit plus the envelope slack.
		_, err = u.Call(ctx, "big", map[string]any{"bytes": 270 << 10})
		if err == nil || !strings.Contains(err.Error(), "over the limit") {
			t.Fatalf("%s (just over): %v", name, err)
		}
		// Later calls work (after a reconnect where the stream was cut).
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := u.Call(ctx, "echo", map[string]any{"text": "ok"})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no recovery: %v", name, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func TestDriftOnListChanged(t *testing.T) {
	for name, mk := range map[string]func(mcpconn.Options) *mcpconn.Upstream{
		"stdio": func(o mcpconn.Options) *mcpconn.Upstream { return stdio(t, o) },
		"http":  func(o mcpconn.Options) *mcpconn.Upstream { u, _ := httpUp(t, mcptest.Handler(), o); return u },
	} {
		lists := make(chan []mcpconn.Tool, 4)
		u := mk(mcpconn.Options{OnList: func(tools []mcpconn.Tool, err error) {
			if err == nil {
				lists <- tools
			}
		}})
		ctx := context.Background()
		tools, err := u.ListTools(ctx)
		if err != nil {
			t.Fatal(err)
		}
		u.Accept(tools)
		if _, err := u.Call(ctx, "evolve", nil); err != nil {
			t.Fatal(err)
		}
		select {
		case <-lists:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no list_changed", name)
		}
		d := u.Status().Drift
		if len(d) != 1 || d[0].Tool != "echo" || d[0].Path != "lang" || !strings.Contains(d[0].Detail, "newly required") {
			t.Fatalf("%s: drift %+v", name, d)
		}
		_, err = u.Call(ctx, "echo", map[string]any{"text": "x"})
		if err == nil || !strings.Contains(err.Error(), "schema changed incompatibly") {
			t.Fatalf("%s: a call broken by drift must say so: %v", name, err)
		}
	}
}

func TestDiff(t *testing.T) {
	obj := func(req []any, props map[string]any) map[string]any {
		return map[string]any{"type": "object", "required": req, "properties": props, "additionalProperties": false}
	}
	str := map[string]any{"type": "string"}
	num := map[string]any{"type": "number"}
	old := []mcpconn.Tool{
		{Name: "a", Input: obj([]any{"x"}, map[string]any{"x": str, "y": num, "mode": map[string]any{"type": "string", "enum": []any{"fast", "slow"}}}), Output: obj(nil, map[string]any{"id": str})},
		{Name: "gone", Input: obj(nil, nil)},
		{Name: "same", Input: obj([]any{"x"}, map[string]any{"x": str})},
	}
	cur := []mcpconn.Tool{
		{Name: "a", Input: obj([]any{"x", "z"}, map[string]any{"x": num, "z": str, "mode": map[string]any{"type": "string", "enum": []any{"fast"}}}), Output: obj(nil, map[string]any{"id2": str})},
		{Name: "same", Input: obj([]any{"x"}, map[string]any{"x": str, "extra": str})}, // an optional property added: compatible
	}
	got := map[string]bool{}
	for _, c := range mcpconn.Diff(old, cur) {
		got[c.Kind+" "+c.Path] = true
	}
	for _, want := range []string{"input x", "input z", "input y", "input mode", "output id", "removed "} {
		if !got[want] {
			t.Errorf("missing %q in %v", want, got)
		}
	}
	if len(got) != 6 {
		t.Errorf("changes: %v", got)
	}
	if d := mcpconn.Diff(cur, cur); len(d) != 0 {
		t.Errorf("no change: %v", d)
	}
}

func TestSplitCommand(t *testing.T) {
	got, err := mcpconn.SplitCommand(`npx -y "@scope/server everything" 'a b' c\ d`)
	if err != nil || strings.Join(got, "|") != "npx|-y|@scope/server everything|a b|c d" {
		t.Fatalf("%q %v", got, err)
	}
	for _, bad := range []string{"", "  ", `a "b`, `a \`} {
		if _, err := mcpconn.SplitCommand(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	for _, s := range []mcpconn.Spec{{}, {URL: "ftp://x"}, {URL: "http://u:p@x/"}, {URL: "http://x", Command: []string{"a"}}} {
		if err := s.Validate(); err == nil {
			t.Errorf("%+v: want an error", s)
		}
	}
}
