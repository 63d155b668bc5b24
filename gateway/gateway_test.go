package gateway_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

func newServer(t *testing.T, cfg gateway.Config) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := engine.New(st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), nil, engine.Config{})
	if err := st.StartQueue(ctx, e.Workers(), store.QueueConfig{Workers: 4, FetchPollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gateway.New(e, nil, cfg))
	t.Cleanup(func() {
		srv.Close()
		e.BeginShutdown()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.StopQueue(c)
		_ = st.Close()
	})
	return srv
}

func call(t *testing.T, method, url string, body string, hdr map[string]string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json") // the API takes JSON or YAML (YAML parses either)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out, resp.Header
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

const signed = `
name: signed
trigger:
  webhook:
    signature: {secret: hook_key}
    idempotency: {expr: trigger.body.event_id}
steps:
  - id: r
    respond: {body: {got: =trigger.body.event_id, run: =run.id}}
`

func TestWebhookErrorsAndSignatures(t *testing.T) {
	srv := newServer(t, gateway.Config{MaxBodyBytes: 1024, Secret: func(n string) (string, bool) { return "s3cret", n == "hook_key" }})
	if code, out, _ := call(t, "POST", srv.URL+"/api/flows?file=signed.yaml", signed, nil); code != 201 || out["version"] != 1.0 {
		t.Fatalf("deploy: %d %v", code, out)
	}
	sign := func(body string) string {
		m := hmac.New(sha256.New, []byte("s3cret"))
		m.Write([]byte(body))
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	body := `{"event_id":"e-1"}`
	cases := []struct {
		name, flow, body string
		hdr              map[string]string
		status           int
		code             string
	}{
		{"unknown flow", "nope", body, nil, 404, "not_found"},
		{"no signature", "signed", body, nil, 401, "unauthorized"},
		{"bad signature", "signed", body, map[string]string{"X-Weft-Signature": sign("other")}, 401, "unauthorized"},
		{"invalid json", "signed", `{"event_id":`, map[string]string{"X-Weft-Signature": sign(`{"event_id":`)}, 400, "invalid"},
		{"too large", "signed", `{"x":"` + strings.Repeat("a", 2000) + `"}`, nil, 413, "too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, _ := call(t, "POST", srv.URL+"/hooks/"+c.flow, c.body, c.hdr)
			if code != c.status || errCode(out) != c.code {
				t.Fatalf("got %d %v, want %d %s", code, out, c.status, c.code)
			}
		})
	}
	code, out, h := call(t, "POST", srv.URL+"/hooks/signed", body, map[string]string{"X-Weft-Signature": sign(body)})
	if code != 200 || out["got"] != "e-1" {
		t.Fatalf("signed: %d %v", code, out)
	}
	// Redelivery of the same event: same run, no second execution.
	code, out2, h2 := call(t, "POST", srv.URL+"/hooks/signed", body, map[string]string{"X-Weft-Signature": sign(body)})
	if code != 200 || out2["run"] != out["run"] || h2.Get("X-Weft-Duplicate") != "true" || h.Get("X-Weft-Run-Id") != h2.Get("X-Weft-Run-Id") {
		t.Fatalf("redelivery: %d %v %v", code, out2, h2)
	}
	_, runs, _ := call(t, "GET", srv.URL+"/api/runs?flow=signed", "", nil)
	if n := len(runs["runs"].([]any)); n != 1 {
		t.Fatalf("%d runs for one event", n)
	}
	// Credentials sent with the event are not recorded with the run.
	code, out3, _ := call(t, "POST", srv.URL+"/hooks/signed", `{"event_id":"e-2"}`, map[string]string{
		"X-Weft-Signature": sign(`{"event_id":"e-2"}`), "X-Api-Key": "k-123", "Authorization": "Bearer t-456", "X-Trace": "visible"})
	if code != 200 {
		t.Fatalf("%d %v", code, out3)
	}
	_, detail, _ := call(t, "GET", srv.URL+"/api/runs/"+out3["run"].(string), "", nil)
	rec := toJSON(detail)
	if strings.Contains(rec, "k-123") || strings.Contains(rec, "t-456") || strings.Contains(rec, sign(`{"event_id":"e-2"}`)) || !strings.Contains(rec, "visible") {
		t.Fatalf("recorded run leaks or loses headers: %s", rec)
	}
}

func TestAPIFlowLifecycle(t *testing.T) {
	srv := newServer(t, gateway.Config{APIToken: "tok"})
	auth := map[string]string{"Authorization": "Bearer tok"}
	if code, _, _ := call(t, "GET", srv.URL+"/api/flows", "", nil); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	code, out, _ := call(t, "POST", srv.URL+"/api/flows?file=bad.yaml", "name: x\nsteps:\n  - id: a\n    set: {b: =steps.nope.x}\n", auth)
	if code != 422 || errCode(out) != "unprocessable" || !strings.Contains(toJSON(out), "bad.yaml:4:14") {
		t.Fatalf("bad flow: %d %v", code, out)
	}
	v1 := "name: calc\ntrigger: {webhook: {mode: async}}\nsteps:\n  - id: a\n    set: {v: 1}\n"
	v2 := "name: calc\ntrigger: {webhook: {mode: async}}\nsteps:\n  - id: a\n    set: {v: 2}\n"
	call(t, "POST", srv.URL+"/api/flows", v1, auth)
	if code, out, _ := call(t, "POST", srv.URL+"/api/flows", v2, auth); code != 201 || out["version"] != 2.0 {
		t.Fatalf("v2 %d %v", code, out)
	}
	if code, out, _ := call(t, "POST", srv.URL+"/api/flows/calc/rollback", `{"version": 1}`, auth); code != 200 || out["active_version"] != 1.0 {
		t.Fatalf("rollback %d %v", code, out)
	}
	if code, _, _ := call(t, "POST", srv.URL+"/api/flows/calc/rollback", `{"version": 7}`, auth); code != 404 {
		t.Fatalf("rollback missing %d", code)
	}
	code, out, _ = call(t, "POST", srv.URL+"/hooks/calc", `{}`, nil)
	if code != 202 || out["status"] != "queued" {
		t.Fatalf("async hook %d %v", code, out)
	}
	id := out["run_id"].(string)
	var run map[string]any
	for i := 0; i < 200; i++ {
		_, run, _ = call(t, "GET", srv.URL+"/api/runs/"+id, "", auth)
		if run["run"].(map[string]any)["status"] == "succeeded" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := run["run"].(map[string]any)
	if r["status"] != "succeeded" || r["version"] != 1.0 || len(run["steps"].([]any)) != 1 {
		t.Fatalf("run %v", run)
	}
	if code, _, _ := call(t, "GET", srv.URL+"/api/runs?since=bogus", "", auth); code != 400 {
		t.Fatalf("bad since: %d", code)
	}
	if code, out, _ := call(t, "GET", srv.URL+"/api/runs?status=succeeded&since=1h", "", auth); code != 200 || len(out["runs"].([]any)) != 1 {
		t.Fatalf("filter %d %v", code, out)
	}
	if code, _, _ := call(t, "GET", srv.URL+"/api/dlq", "", auth); code != 200 {
		t.Fatalf("dlq %d", code)
	}
}

func toJSON(v any) string {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	return b.String()
}

// /api/metrics answers per-flow time series from the transaction log.
func TestMetricSeries(t *testing.T) {
	srv := newServer(t, gateway.Config{})
	flow := "name: m\ntrigger: {webhook: {}}\nsteps:\n  - if: =trigger.body.ok\n    then: [{respond: {body: {ok: true}}}]\n    else: [{fail: {message: nope}}]\n"
	if code, out, _ := call(t, "POST", srv.URL+"/api/flows", flow, nil); code != 201 && code != 200 {
		t.Fatalf("%d %v", code, out)
	}
	for i := 0; i < 6; i++ {
		call(t, "POST", srv.URL+"/hooks/m", fmt.Sprintf(`{"ok": %v}`, i%3 != 0), nil)
	}
	code, out, _ := call(t, "GET", srv.URL+"/api/metrics?since=10m&resolution=1h&flow=m", "", nil)
	if code != 200 {
		t.Fatalf("%d %v", code, out)
	}
	series := out["series"].([]any)
	if len(series) != 1 {
		t.Fatalf("%v", out)
	}
	var runs, failed float64
	for _, b := range series[0].(map[string]any)["buckets"].([]any) {
		m := b.(map[string]any)
		runs += m["runs"].(float64)
		failed += m["failed"].(float64)
	}
	if runs != 6 || failed != 2 {
		t.Fatalf("runs %v failed %v: %v", runs, failed, out)
	}
	for _, bad := range []string{"resolution=0s", "resolution=1s&since=7d", "since=yesterday", "since=1m&until=2m"} {
		if code, out, _ := call(t, "GET", srv.URL+"/api/metrics?"+bad, "", nil); code != 400 || errCode(out) != "invalid" {
			t.Errorf("%s: %d %v", bad, code, out)
		}
	}
}
