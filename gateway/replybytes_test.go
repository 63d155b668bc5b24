package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/weftio/weft/gateway"
)

// TestSyncReplyBytes: a sync run's reply is byte for byte what encoding
// the respond step's body with writeJSON gives (HTML characters unescaped,
// json's numbers and escapes), whether the reply reuses the run's recorded
// output or encodes the body itself.
func TestSyncReplyBytes(t *testing.T) {
	srv := newServer(t, gateway.Config{})
	src := "name: echo\ntrigger: {webhook: {}}\nsteps:\n  - respond: {status: 201, body: {got: =trigger.body, n: =size(trigger.body)}}\n"
	if code, out, _ := call(t, "POST", srv.URL+"/api/flows?file=echo.yaml", src, nil); code != 201 {
		t.Fatalf("deploy: %d %v", code, out)
	}
	for _, body := range []string{
		`{"a":1,"b":"x"}`,
		`{"z":[1.5,0.1,1e21,123456789012,-0,true,null],"a":{"k":"é ü 日本"}}`,
		`{"html":"<a href=\"x\">&amp;</a>"}`,
		`{"sep":"line\u2028para\u2029end","ctl":"\u0001\t\n"}`,
		`{"lit":"\\u003c not an escape"}`,
	} {
		resp, err := http.Post(srv.URL+"/hooks/echo", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var in map[string]any
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(map[string]any{"got": in, "n": int64(len(in))})
		if resp.StatusCode != 201 || resp.Header.Get("Content-Type") != "application/json" || !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: %d %q\n got %q\nwant %q", body, resp.StatusCode, resp.Header.Get("Content-Type"), got, want.Bytes())
		}
	}
}
