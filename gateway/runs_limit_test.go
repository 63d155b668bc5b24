package gateway_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
	"github.com/weftio/weft/store/storetest"
)

// serverWithRuns serves the API over a store holding n finished runs.
func serverWithRuns(t *testing.T, n int) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.InsertRuns(ctx, storetest.FinishedRuns("bulk", n)); err != nil {
		t.Fatal(err)
	}
	e := engine.New(st, connectors.NewCatalog(), nil, engine.Config{})
	srv := httptest.NewServer(gateway.New(e, nil, gateway.Config{}))
	t.Cleanup(srv.Close)
	return srv
}

// F27: a limit above the page maximum is clamped to the maximum (never reset
// to 100), the answer says so, and a full page carries a cursor that walks
// every run exactly once.
func TestIssue16_F27_RunsListLimitClampedWithCursor(t *testing.T) {
	srv := serverWithRuns(t, 2345)
	code, out, _ := call(t, "GET", srv.URL+"/api/runs?limit=5000", "", nil)
	if code != 200 {
		t.Fatalf("limit=5000: %d %v", code, out)
	}
	runs, _ := out["runs"].([]any)
	if len(runs) != store.MaxRunsPage {
		t.Fatalf("limit=5000 returned %d runs, want the maximum page, %d", len(runs), store.MaxRunsPage)
	}
	if note, _ := out["note"].(string); !strings.Contains(note, "maximum of 1000") || out["limit"] != float64(1000) {
		t.Errorf("the clamp is not said: note %q limit %v", note, out["limit"])
	}
	// Follow the cursor: every run once, newest first, then no cursor.
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		u := srv.URL + "/api/runs?flow=bulk&limit=1000"
		if cursor != "" {
			u += "&before=" + cursor
		}
		code, out, _ := call(t, "GET", u, "", nil)
		if code != 200 {
			t.Fatalf("%s: %d %v", u, code, out)
		}
		if _, ok := out["note"]; ok {
			t.Errorf("a note for a limit within the maximum: %v", out["note"])
		}
		pages++
		for _, r := range out["runs"].([]any) {
			id := r.(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("run %s twice", id)
			}
			seen[id] = true
		}
		next, _ := out["next_cursor"].(string)
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("the cursor does not end")
		}
		cursor = next
	}
	if len(seen) != 2345 || pages != 3 {
		t.Fatalf("walked %d runs in %d pages, want 2345 in 3", len(seen), pages)
	}
	// The default stays 100; nonsense limits are refused, not reset.
	if _, out, _ := call(t, "GET", srv.URL+"/api/runs", "", nil); len(out["runs"].([]any)) != 100 {
		t.Errorf("default page: %d runs", len(out["runs"].([]any)))
	}
	for _, bad := range []string{"0", "-5", "abc", "1e9", "99999999999999999999"} {
		if code, out, _ := call(t, "GET", srv.URL+"/api/runs?limit="+bad, "", nil); code != 400 || errCode(out) != "invalid" {
			t.Errorf("limit=%s: %d %v, want 400 invalid", bad, code, out)
		}
	}
}
