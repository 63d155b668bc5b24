package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/internal/pgtest"
)

const e2eGetOrder = `
name: get-order
trigger:
  api:
    method: GET
    path: /orders/{id}
    request:
      path: {type: object, properties: {id: {type: string, pattern: "^[0-9]+$"}}}
steps:
  - respond: {status: 200, body: {id: =trigger.params.id, version: 1}}
`

// Two weft serve processes on one PostgreSQL: a product published and
// re-pinned through one process (with the CLI) is served by the other;
// deploying a flow changes no published version until it is re-pinned;
// retirement reaches the other process too; refusals start no run.
func TestAPIProductAcrossProcesses(t *testing.T) {
	p := startAPIMPair(t)
	a, b := p.a, p.b
	if out, err := a.cli("products", "pin", "shop", "v1", "get-order@1"); err != nil {
		t.Fatalf("pin: %v %s", err, out)
	}
	version := func(s *server, v string) (int, any) {
		var out map[string]any
		code := s.do("GET", "/apis/shop/"+v+"/orders/42", nil, &out)
		return code, out["version"]
	}
	// eventually polls b until want holds (a change saved in a is served by
	// b within a second: b reads a product at most once a second).
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5s", what)
			}
		}
	}
	eventually("b serves v1", func() bool { code, v := version(b, "v1"); return code == 200 && v == float64(1) })

	if code := a.do("POST", "/api/flows", strings.Replace(e2eGetOrder, "version: 1}", "version: 2}", 1), nil); code != 201 {
		t.Fatalf("deploy 2: %d", code)
	}
	time.Sleep(1200 * time.Millisecond) // past b's product cache: nothing to pick up
	for _, s := range []*server{a, b} {
		if code, v := version(s, "v1"); code != 200 || v != float64(1) {
			t.Fatalf("deploying get-order 2 changed published v1: %d %v", code, v)
		}
	}
	if out, err := a.cli("products", "pin", "shop", "v1", "get-order@2"); err != nil {
		t.Fatalf("re-pin: %v %s", err, out)
	}
	eventually("b serves the re-pinned v1", func() bool { _, v := version(b, "v1"); return v == float64(2) })

	count := func() int {
		var runs struct {
			Runs []any `json:"runs"`
		}
		b.do("GET", "/api/runs?limit=1000", nil, &runs)
		return len(runs.Runs)
	}
	before := count()
	var refusal map[string]any
	if code := b.do("GET", "/apis/shop/v1/orders/abc", nil, &refusal); code != http.StatusBadRequest || !strings.Contains(toJSON(refusal), `"path":"/path/id"`) {
		t.Fatalf("a bad id: %d %v", code, refusal)
	}
	if code := b.do("DELETE", "/apis/shop/v1/orders/1", nil, &refusal); code != http.StatusMethodNotAllowed {
		t.Fatalf("a wrong method: %d %v", code, refusal)
	}
	if n := count(); n != before {
		t.Fatalf("refusals started %d run(s)", n-before)
	}
	if out, err := a.cli("products", "retire", "shop", "v1"); err != nil {
		t.Fatalf("retire: %v %s", err, out)
	}
	eventually("b answers 410 for the retired v1", func() bool { code, _ := version(b, "v1"); return code == http.StatusGone })
	before = count()
	if code, _ := version(b, "v1"); code != http.StatusGone || count() != before {
		t.Fatalf("a retired version: %d, %d run(s) started", code, count()-before)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// apimPair is two weft serve processes on one PostgreSQL database (with a
// master key, as API credentials need), e2eGetOrder deployed through the
// first; start starts one more process on the same database and data
// directory, as a restart does.
type apimPair struct {
	a, b  *server
	start func() *server
}

func startAPIMPair(t *testing.T) apimPair {
	t.Helper()
	env := []string{"WEFT_DATABASE_URL=" + pgtest.Shared(t).NewDatabase(t), "WEFT_LOG_LEVEL=warn", "WEFT_DATA_DIR=" + t.TempDir(),
		"WEFT_MASTER_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	cfg := writeConfig(t, "")
	p := apimPair{start: func() *server { return startServer(t, "", env, "--config", cfg) }}
	p.a, p.b = p.start(), p.start()
	if code := p.a.do("POST", "/api/flows", e2eGetOrder, nil); code != 201 {
		t.Fatalf("deploy: %d", code)
	}
	return p
}
