package gateway_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// F09: an API key sent as a query parameter must not appear in the tool
// error, the run record served by the API, nor anywhere in the database
// files (main file and WAL).
func TestIssue16_F09_QueryAPIKeyNeverRecorded(t *testing.T) {
	const key = "qk-SECRET-7f3a9c"
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	down := "http://" + closedPort(t)
	for _, c := range []*connectors.Connection{
		{Name: "down", Connector: "http", BaseURL: down, AllowPrivate: true, Auth: &connectors.Auth{Type: connectors.AuthAPIKey, Query: "api_key", Value: key}},
		// A parameter name the redaction does not guess: only the connection knows it.
		{Name: "odd", Connector: "http", BaseURL: down, AllowPrivate: true, Auth: &connectors.Auth{Type: connectors.AuthAPIKey, Query: "q9", Value: key}},
	} {
		if err := cat.AddConnection(c); err != nil {
			t.Fatal(err)
		}
	}
	e := engine.New(st, cat, nil, engine.Config{})
	if err := st.StartQueue(ctx, e.Workers(), store.QueueConfig{Workers: 2, FetchPollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gateway.New(e, nil, gateway.Config{}))
	defer func() {
		srv.Close()
		e.BeginShutdown()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.StopQueue(c)
		_ = st.Close()
	}()

	var seen []string // every text a user or agent can read
	for _, conn := range []string{"down", "odd"} {
		f := "name: leak-" + conn + "\ncapture: full\ntrigger: {webhook: {}}\nsteps:\n  - id: get\n    call: http.request\n    connection: " + conn +
			"\n    retry: {max_attempts: 1}\n    with: {url: /down}\n"
		if code, out, _ := call(t, "POST", srv.URL+"/api/flows", f, nil); code != 201 {
			t.Fatalf("deploy: %d %v", code, out)
		}
		_, out, _ := call(t, "POST", srv.URL+"/hooks/leak-"+conn, `{}`, nil)
		seen = append(seen, toJSON(out))
		_, runs, _ := call(t, "GET", srv.URL+"/api/runs?flow=leak-"+conn, "", nil)
		seen = append(seen, toJSON(runs))
		list, _ := runs["runs"].([]any)
		if len(list) != 1 {
			t.Fatalf("%s: runs %v", conn, runs)
		}
		id := list[0].(map[string]any)["id"].(string)
		_, detail, _ := call(t, "GET", srv.URL+"/api/runs/"+id, "", nil)
		rec := toJSON(detail)
		if !strings.Contains(rec, "/down") || !strings.Contains(rec, "[REDACTED]") {
			t.Fatalf("%s: the recorded error should name the URL with the key redacted: %s", conn, rec)
		}
		seen = append(seen, rec)

		// The same call as an MCP tool (conn__request): the error text and its log row.
		_, err := e.CallOperation(ctx, engine.ToolCall{Toolset: "all", Tool: conn + "__request", Connection: conn, Operation: "http.request",
			Input: map[string]any{"url": "/down?token=agent-SECRET-b2"}})
		if err == nil {
			t.Fatalf("%s: a closed port answered", conn)
		}
		seen = append(seen, err.Error())
	}
	time.Sleep(200 * time.Millisecond) // the tool-call log is written in the background
	_, all, _ := call(t, "GET", srv.URL+"/api/runs", "", nil)
	seen = append(seen, toJSON(all))
	for _, s := range seen {
		if strings.Contains(s, key) || strings.Contains(s, "agent-SECRET") {
			t.Fatalf("a credential leaked: %s", s)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		checked++
		if strings.Contains(string(data), key) || strings.Contains(string(data), "agent-SECRET") {
			t.Fatalf("the database file %s holds the credential in plaintext", filepath.Base(f))
		}
	}
	if checked == 0 {
		t.Fatal("no database file found to check")
	}
}

func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// F12: webhook signatures. An empty secret never verifies anything (and a
// deploy refuses it where it is known); a signed timestamp bounds replays;
// a request carrying the signature (or timestamp) header twice is refused.
func TestIssue16_F12_WebhookSignatureHardening(t *testing.T) {
	secrets := map[string]string{"empty_key": "", "hook_key": "s3cret-hook-key"}
	lookup := func(n string) (string, bool) { v, ok := secrets[n]; return v, ok }
	srv := newServer(t, gateway.Config{Secret: lookup})
	deploy := func(name, sig string) {
		t.Helper()
		f := "name: " + name + "\ntrigger:\n  webhook:\n    signature: " + sig + "\nsteps:\n  - id: r\n    respond: {body: {ok: true}}\n"
		if code, out, _ := call(t, "POST", srv.URL+"/api/flows", f, nil); code != 201 {
			t.Fatalf("deploy %s: %d %v", name, code, out)
		}
	}
	body := `{"event_id":"e-1"}`

	// An empty secret: the HMAC keyed with nothing is refused.
	deploy("empty", "{secret: empty_key}")
	if code, out, _ := call(t, "POST", srv.URL+"/hooks/empty", body, map[string]string{"X-Weft-Signature": "sha256=" + hmacHex("", body)}); code != 401 || errCode(out) != "unauthorized" {
		t.Fatalf("empty secret accepted: %d %v", code, out)
	}

	// Two signature headers: refused whichever one is right.
	deploy("signed", "{secret: hook_key}")
	good := "sha256=" + hmacHex(secrets["hook_key"], body)
	for _, pair := range [][2]string{{good, "sha256=00"}, {"sha256=00", good}, {good, good}} {
		req, _ := http.NewRequest("POST", srv.URL+"/hooks/signed", strings.NewReader(body))
		req.Header.Add("X-Weft-Signature", pair[0])
		req.Header.Add("X-Weft-Signature", pair[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("two signature headers %v: %d, want 401", pair, resp.StatusCode)
		}
	}
	if code, out, _ := call(t, "POST", srv.URL+"/hooks/signed", body, map[string]string{"X-Weft-Signature": good}); code != 200 {
		t.Fatalf("one good signature: %d %v", code, out)
	}

	// A signed timestamp: fresh is accepted; old, future, unsigned or tampered is refused.
	deploy("fresh", "{secret: hook_key, timestamp: X-Weft-Timestamp, tolerance: 5m}")
	now := time.Now().Unix()
	ts := func(d int64) string { return strconv.FormatInt(now+d, 10) }
	signTS := func(stamp string) string { return "sha256=" + hmacHex(secrets["hook_key"], stamp+"."+body) }
	for _, c := range []struct {
		name       string
		stamp, sig string
		want       int
	}{
		{"fresh", ts(0), signTS(ts(0)), 200},
		{"replayed after 10 minutes", ts(-600), signTS(ts(-600)), 401},
		{"from the future", ts(600), signTS(ts(600)), 401},
		{"timestamp not signed", ts(0), good, 401},
		{"timestamp swapped", ts(1), signTS(ts(0)), 401},
		{"no timestamp", "", signTS(""), 401},
		{"not a number", "soon", signTS("soon"), 401},
	} {
		hdr := map[string]string{"X-Weft-Signature": c.sig}
		if c.stamp != "" {
			hdr["X-Weft-Timestamp"] = c.stamp
		}
		if code, out, _ := call(t, "POST", srv.URL+"/hooks/fresh", body, hdr); code != c.want {
			t.Fatalf("%s: %d %v, want %d", c.name, code, out, c.want)
		}
	}

	// Where the server knows the secret is empty, the deploy itself is refused.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := engine.New(st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), nil, engine.Config{Secret: lookup})
	_, _, err = e.Deploy(ctx, "empty.yaml", []byte("name: empty\ntrigger:\n  webhook:\n    signature: {secret: empty_key}\nsteps:\n  - id: r\n    respond: {body: {}}\n"))
	if err == nil || weft.Code(err) != weft.EUnprocessable || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("deploy with an empty secret: %v", err)
	}
}
