package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
)

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "2606:4700::1111": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "169.254.169.254": false,
		"::1": false, "fe80::1": false, "fc00::1": false, "0.0.0.0": false, "100.64.0.1": false, "::ffff:127.0.0.1": false,
	} {
		if got := Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

func invoke(t *testing.T, conn *connectors.Connection, in map[string]any) (map[string]any, error) {
	t.Helper()
	op := New(Options{MaxResponseBytes: 1 << 10}).Operations[0]
	out, err := op.Invoke(context.Background(), connectors.Call{Input: in, IdempotencyKey: "run-1:post", Connection: conn})
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

func TestRequestShapes(t *testing.T) {
	var got *http.Request
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		switch r.URL.Path {
		case "/big":
			fmt.Fprint(w, strings.Repeat("x", 2000))
		case "/text":
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, "hello")
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok":true}`)
		}
	}))
	defer srv.Close()
	conn := &connectors.Connection{Name: "api", Connector: "http", BaseURL: srv.URL + "/v1", AllowPrivate: true, Headers: map[string]string{"Authorization": "Bearer s3cret"}}

	out, err := invoke(t, conn, map[string]any{"method": "post", "url": "orders", "query": map[string]any{"page": 2.0}, "body": map[string]any{"a": 1.0}, "headers": map[string]any{"X-Trace": "t1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != "POST" || got.URL.Path != "/v1/orders" || got.URL.Query().Get("page") != "2" || body != `{"a":1}` ||
		got.Header.Get("Idempotency-Key") != "run-1:post" || got.Header.Get("Authorization") != "Bearer s3cret" || got.Header.Get("X-Trace") != "t1" ||
		got.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request %s %s %v body %s", got.Method, got.URL, got.Header, body)
	}
	if out["status"] != int64(200) || out["body"].(map[string]any)["ok"] != true {
		t.Fatalf("out %v", out)
	}

	if _, err := invoke(t, conn, map[string]any{"method": "PUT", "url": srv.URL + "/form", "form": map[string]any{"name": "ada", "n": 3.0}}); err != nil {
		t.Fatal(err)
	}
	if got.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || (body != "n=3&name=ada") {
		t.Fatalf("form body %q", body)
	}
	out, err = invoke(t, conn, map[string]any{"url": srv.URL + "/text"})
	if err != nil || out["body"] != "hello" {
		t.Fatalf("text: %v %v", out, err)
	}
	if _, err := invoke(t, conn, map[string]any{"url": srv.URL + "/big"}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("size limit: %v", err)
	}
	for _, bad := range []map[string]any{{}, {"url": "ftp://x"}, {"url": "http://"}} {
		_, err := invoke(t, nil, bad)
		var ce *connectors.Error
		if !errors.As(err, &ce) || ce.Class != connectors.Permanent {
			t.Fatalf("%v: %v", bad, err)
		}
	}
}

func TestErrorClassesAndRetryAfter(t *testing.T) {
	status := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status == 429 {
			w.Header().Set("Retry-After", "7")
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": "nope"})
	}))
	defer srv.Close()
	conn := &connectors.Connection{Name: "api", Connector: "http", AllowPrivate: true}
	for _, c := range []struct {
		status int
		class  string
		after  time.Duration
	}{{500, connectors.Retryable, 0}, {503, connectors.Retryable, 0}, {429, connectors.Retryable, 7 * time.Second}, {408, connectors.Retryable, 0},
		{400, connectors.Permanent, 0}, {404, connectors.Permanent, 0}, {422, connectors.Permanent, 0}} {
		status = c.status
		_, err := invoke(t, conn, map[string]any{"url": srv.URL})
		class, after := connectors.Classify(err)
		if class != c.class || after != c.after {
			t.Errorf("%d: class %s after %v, want %s %v (%v)", c.status, class, after, c.class, c.after, err)
		}
	}
	// Without allow_private the loopback sink is refused, permanently.
	_, err := invoke(t, nil, map[string]any{"url": srv.URL})
	if class, _ := connectors.Classify(err); class != connectors.Permanent || !strings.Contains(err.Error(), "non-public address") {
		t.Fatalf("%v", err)
	}
	// A closed port is a retryable network error.
	_, err = invoke(t, conn, map[string]any{"url": "http://127.0.0.1:9/"})
	if class, _ := connectors.Classify(err); class != connectors.Retryable {
		t.Fatalf("%v", err)
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	if d := retryAfter(time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)); d < 28*time.Second || d > 31*time.Second {
		t.Fatalf("got %v", d)
	}
	if retryAfter("soon") != 0 || retryAfter("") != 0 {
		t.Fatal("garbage must give 0")
	}
}

func TestConnectionAuth(t *testing.T) {
	var tokenCalls int
	var last *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			tokenCalls++
			_ = r.ParseForm()
			id, secret, _ := r.BasicAuth()
			if r.Form.Get("grant_type") != "client_credentials" || id != "cid" || secret != "csecret" {
				w.WriteHeader(401)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"access_token":"tok-1","token_type":"Bearer","expires_in":3600}`)
			return
		}
		last = r
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	cases := []struct {
		name  string
		auth  *connectors.Auth
		check func(r *http.Request) bool
	}{
		{"api key header", &connectors.Auth{Type: connectors.AuthAPIKey, Value: "k1"}, func(r *http.Request) bool { return r.Header.Get("X-API-Key") == "k1" }},
		{"api key query", &connectors.Auth{Type: connectors.AuthAPIKey, Query: "key", Value: "k2"}, func(r *http.Request) bool { return r.URL.Query().Get("key") == "k2" }},
		{"basic", &connectors.Auth{Type: connectors.AuthBasic, Username: "u", Password: "p"}, func(r *http.Request) bool { u, p, ok := r.BasicAuth(); return ok && u == "u" && p == "p" }},
		{"bearer", &connectors.Auth{Type: connectors.AuthBearer, Token: "b1"}, func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer b1" }},
		{"client credentials", &connectors.Auth{Type: connectors.AuthClientCredentials, TokenURL: srv.URL + "/token", ClientID: "cid", ClientSecret: "csecret"},
			func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer tok-1" }},
	}
	op := New(Options{}).Operations[0]
	for _, c := range cases {
		conn := &connectors.Connection{Name: "api", Connector: "http", BaseURL: srv.URL, AllowPrivate: true, Auth: c.auth}
		for i := 0; i < 2; i++ {
			if _, err := op.Invoke(context.Background(), connectors.Call{Input: map[string]any{"url": srv.URL + "/x"}, Connection: conn}); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if !c.check(last) {
				t.Fatalf("%s: request %v %v", c.name, last.URL, last.Header)
			}
		}
	}
	if tokenCalls != 1 {
		t.Fatalf("token fetched %d times; it must be cached until it expires", tokenCalls)
	}
	// A refused token request fails the call without echoing the secret.
	bad := &connectors.Connection{Name: "bad", Connector: "http", BaseURL: srv.URL, AllowPrivate: true,
		Auth: &connectors.Auth{Type: connectors.AuthClientCredentials, TokenURL: srv.URL + "/token", ClientID: "cid", ClientSecret: "wrong-secret"}}
	_, err := op.Invoke(context.Background(), connectors.Call{Input: map[string]any{"url": srv.URL + "/x"}, Connection: bad})
	if class, _ := connectors.Classify(err); err == nil || strings.Contains(err.Error(), "wrong-secret") || class != connectors.Permanent {
		t.Fatalf("wrong credential: %v (%s)", err, class)
	}
	if err := (&connectors.Auth{Type: "magic"}).Validate(); err == nil {
		t.Fatal("unknown auth type accepted")
	}
	data, _ := json.Marshal(cases[4].auth)
	if strings.Contains(string(data), "csecret") {
		t.Fatalf("auth JSON leaks the secret: %s", data)
	}
}

// The refresh-token flow trades the refresh token for short-lived access
// tokens, again when each expires, and keeps a rotated refresh token.
func TestRefreshTokenFlow(t *testing.T) {
	var grants []string
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			_ = r.ParseForm()
			rt := r.Form.Get("refresh_token")
			grants = append(grants, r.Form.Get("grant_type")+":"+rt)
			if rt != "rt-1" && rt != "rt-2" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(400)
				fmt.Fprint(w, `{"error":"invalid_grant"}`)
				return
			}
			n++
			w.Header().Set("Content-Type", "application/json")
			// expires_in 1: the oauth2 package refreshes 10s before expiry, so every call refreshes.
			fmt.Fprintf(w, `{"access_token":"at-%d","token_type":"Bearer","expires_in":1,"refresh_token":"rt-2"}`, n)
			return
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer at-") {
			w.WriteHeader(401)
			return
		}
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	op := New(Options{}).Operations[0]
	conn := &connectors.Connection{Name: "crm", Connector: "http", BaseURL: srv.URL, AllowPrivate: true,
		Auth: &connectors.Auth{Type: connectors.AuthRefreshToken, TokenURL: srv.URL + "/token", ClientID: "cid", RefreshToken: "rt-1"}}
	if err := conn.Auth.Validate(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := op.Invoke(context.Background(), connectors.Call{Input: map[string]any{"url": srv.URL + "/x"}, Connection: conn}); err != nil {
			t.Fatal(err)
		}
	}
	if len(grants) != 2 || grants[0] != "refresh_token:rt-1" || grants[1] != "refresh_token:rt-2" {
		t.Fatalf("token requests %v", grants)
	}
	revoked := &connectors.Connection{Name: "revoked", Connector: "http", BaseURL: srv.URL, AllowPrivate: true,
		Auth: &connectors.Auth{Type: connectors.AuthRefreshToken, TokenURL: srv.URL + "/token", ClientID: "cid", RefreshToken: "revoked-RT-secret"}}
	_, err := op.Invoke(context.Background(), connectors.Call{Input: map[string]any{"url": srv.URL + "/x"}, Connection: revoked})
	if class, _ := connectors.Classify(err); err == nil || class != connectors.Permanent || strings.Contains(err.Error(), "revoked-RT-secret") || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("revoked refresh token: %v (%s)", err, class)
	}
}

func TestConnectionRateLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{}`) }))
	defer srv.Close()
	conn := &connectors.Connection{Name: "slow", Connector: "http", AllowPrivate: true, RatePerSec: 20, Burst: 1}
	op := New(Options{}).Operations[0]
	start := time.Now()
	for i := 0; i < 6; i++ {
		if _, err := op.Invoke(context.Background(), connectors.Call{Input: map[string]any{"url": srv.URL}, Connection: conn}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 240*time.Millisecond {
		t.Fatalf("6 calls at 20/s took %v", d)
	}
}

// A connection's timeout bounds each request; a timeout is retryable.
func TestConnectionTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	conn := &connectors.Connection{Name: "slow", Connector: "http", AllowPrivate: true, Timeout: "100ms"}
	start := time.Now()
	_, err := New(Options{}).Operations[0].Invoke(context.Background(), connectors.Call{Input: map[string]any{"url": srv.URL}, Connection: conn})
	class, _ := connectors.Classify(err)
	if err == nil || !strings.Contains(err.Error(), "timed out after 100ms") || class != connectors.Retryable || time.Since(start) > time.Second {
		t.Fatalf("%v (%s) after %v", err, class, time.Since(start))
	}
	conn.Timeout = "soon"
	if _, err := New(Options{}).Operations[0].Invoke(context.Background(), connectors.Call{Input: map[string]any{"url": srv.URL}, Connection: conn}); err == nil || !strings.Contains(err.Error(), "not a duration") {
		t.Fatalf("bad timeout: %v", err)
	}
}

// A JSON body larger than streamBodyOver is encoded as it is sent: the
// server gets the same bytes json.Marshal gives, with their exact length
// as Content-Length, also when a 307 redirect makes the client send it
// again; a server that stops reading early does not hang the call.
func TestLargeBodyStreamed(t *testing.T) {
	rows := make([]any, 0, 20_000)
	for i := range 20_000 {
		rows = append(rows, map[string]any{"id": float64(i), "name": "row <name> & \u2028", "ok": i%2 == 0})
	}
	payload := map[string]any{"rows": rows, "n": int64(len(rows))}
	want, _ := json.Marshal(payload)
	if len(want) <= streamBodyOver {
		t.Fatalf("payload of %d bytes is not above the streaming threshold %d", len(want), streamBodyOver)
	}
	var gets int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/early" {
			_, _ = io.CopyN(io.Discard, r.Body, 1000)
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/in", http.StatusTemporaryRedirect)
			return
		}
		gets++
		if string(b) != string(want) || r.ContentLength != int64(len(want)) || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"len":%d,"cl":%d}`, len(b), r.ContentLength)
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer srv.Close()
	conn := &connectors.Connection{Name: "local", AllowPrivate: true}
	for _, path := range []string{"/in", "/moved"} {
		out, err := invoke(t, conn, map[string]any{"method": "POST", "url": srv.URL + path, "body": payload})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if out["status"] != int64(200) {
			t.Fatalf("%s: %v", path, out)
		}
	}
	if gets != 2 {
		t.Fatalf("server got %d complete bodies, want 2", gets)
	}
	done := make(chan error, 1)
	go func() {
		_, err := invoke(t, conn, map[string]any{"method": "POST", "url": srv.URL + "/early", "body": payload})
		done <- err
	}()
	select {
	case <-done: // a 413 or a broken pipe, either way it returned
	case <-time.After(20 * time.Second):
		t.Fatal("a server that stopped reading hung the call")
	}
}

// TestSharedHeaderValues: the User-Agent and JSON Content-Type values every
// request shares are sent, and a flow's own value for them replaces them
// for its request only.
func TestSharedHeaderValues(t *testing.T) {
	var mu sync.Mutex
	var uas, cts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uas, cts = append(uas, r.Header.Get("User-Agent")), append(cts, r.Header.Get("Content-Type"))
		mu.Unlock()
	}))
	defer srv.Close()
	op := New(Options{UserAgent: "weft-test/2"}).Operations[0]
	conn := &connectors.Connection{Name: "api", Connector: "http", AllowPrivate: true}
	call := func(in map[string]any) {
		t.Helper()
		if _, err := op.Invoke(context.Background(), connectors.Call{Input: in, Connection: conn}); err != nil {
			t.Fatal(err)
		}
	}
	call(map[string]any{"method": "POST", "url": srv.URL, "body": map[string]any{"a": 1.0}})
	call(map[string]any{"method": "POST", "url": srv.URL, "body": map[string]any{"a": 1.0},
		"headers": map[string]any{"User-Agent": "mine/1", "Content-Type": "application/vnd.x+json"}})
	call(map[string]any{"method": "POST", "url": srv.URL, "body": map[string]any{"a": 1.0}})
	want := []string{"weft-test/2", "mine/1", "weft-test/2"}
	wantCT := []string{"application/json", "application/vnd.x+json", "application/json"}
	if !slices.Equal(uas, want) || !slices.Equal(cts, wantCT) {
		t.Fatalf("user agents %q, content types %q; want %q, %q", uas, cts, want, wantCT)
	}
}

// A response body is read whole, and only once past the limit: with a
// declared length into one buffer of that size (and on to its end, so the
// connection is kept for the next call: one connection for all calls),
// without one as it comes; a declared length over the limit is refused
// unread, a body shorter than declared is an error, a reader that gives
// more than declared is still cut at the limit.
func TestResponseBodyRead(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Header().Set("Content-Type", "text/plain")
			w.(http.Flusher).Flush() // no Content-Length: chunked
			fmt.Fprint(w, "hello, ")
			w.(http.Flusher).Flush()
			fmt.Fprint(w, "world")
		case "/over":
			w.Header().Set("Content-Length", "1025")
			fmt.Fprint(w, strings.Repeat("x", 1025))
		case "/short":
			w.Header().Set("Content-Length", "100")
			fmt.Fprint(w, "only this")
		case "/empty":
			w.WriteHeader(204)
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok":true,"n":[1,2,3]}`)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	conn := &connectors.Connection{Name: "api", Connector: "http", BaseURL: srv.URL, AllowPrivate: true}
	op := New(Options{MaxResponseBytes: 1 << 10}).Operations[0]
	call := func(path string) (map[string]any, error) {
		out, err := op.Invoke(context.Background(), connectors.Call{Input: map[string]any{"url": path}, Connection: conn})
		if err != nil {
			return nil, err
		}
		return out.(map[string]any), nil
	}
	for i := 0; i < 5; i++ {
		out, err := call("/json")
		if err != nil || out["body"].(map[string]any)["ok"] != true || len(out["body"].(map[string]any)["n"].([]any)) != 3 {
			t.Fatalf("json: %v %v", out, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 sequential calls with a declared length used %d connections, want 1", n)
	}
	if out, err := call("/chunked"); err != nil || out["body"] != "hello, world" {
		t.Errorf("chunked: %v %v", out, err)
	}
	if out, err := call("/empty"); err != nil || out["status"] != int64(204) || out["body"] != nil {
		t.Errorf("empty: %v %v", out, err)
	}
	if _, err := call("/over"); err == nil || !strings.Contains(err.Error(), "larger than 1024 bytes") {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := call("/short"); err == nil || !strings.Contains(err.Error(), "reading response") {
		t.Errorf("shorter than declared: %v", err)
	}

	for _, c := range []struct {
		body     string
		n, limit int64
		want     int
	}{
		{"abc", 3, 10, 3}, {"", 0, 10, 0}, {"abcdef", 3, 10, 6}, {strings.Repeat("x", 50), 3, 10, 11}, {"abcdef", -1, 4, 5},
	} {
		got, err := readBody(strings.NewReader(c.body), c.n, c.limit)
		if err != nil || len(got) != c.want || string(got) != c.body[:c.want] {
			t.Errorf("readBody(%q, %d, %d) = %q, %v; want %d bytes", c.body, c.n, c.limit, got, err, c.want)
		}
	}
}
