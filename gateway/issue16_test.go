package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/internal/pgtest"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/postgres"
)

// blockingSink answers every call once release is closed, and counts calls.
type blockingSink struct {
	*httptest.Server
	calls   atomic.Int64
	release chan struct{}
	once    sync.Once
}

func newBlockingSink(t *testing.T) *blockingSink {
	s := &blockingSink{release: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.calls.Add(1)
		select {
		case <-s.release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	t.Cleanup(func() { s.Release(); s.Close() })
	return s
}

func (s *blockingSink) Release() { s.once.Do(func() { close(s.release) }) }

func (s *blockingSink) waitCalls(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for s.calls.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the sink saw %d calls, want %d", s.calls.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// serveStore serves st through an engine (with a "local" connection that
// may reach loopback) and the gateway.
func serveStore(t *testing.T, st store.Store) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	if err := cat.AddConnection(&connectors.Connection{Name: "local", Connector: "http", AllowPrivate: true}); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	e := engine.New(st, cat, quiet, engine.Config{})
	if err := st.StartQueue(ctx, e.Workers(), store.QueueConfig{Workers: 4, FetchPollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gateway.New(e, quiet, gateway.Config{}))
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

const slowSync = `name: slow
trigger: {webhook: {mode: sync}}
steps:
  - id: deliver
    call: http.request
    connection: local
    with: {method: POST, url: "%s/deliver", body: =trigger.body}
  - id: reply
    respond: {status: 201, body: {delivered: =trigger.body.n}}
`

type reply struct {
	status int
	header http.Header
	body   string
}

func post(t *testing.T, url, body string) reply {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", url, err)
		return reply{}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(data)}
}

// syncCallsWhileStoreFails sends three synchronous webhook calls, waits
// until their steps are in flight, calls fail (which breaks the store), lets
// the steps finish, and returns the three answers.
func syncCallsWhileStoreFails(t *testing.T, srv *httptest.Server, fail func()) []reply {
	t.Helper()
	sink := newBlockingSink(t)
	req, _ := http.NewRequest("POST", srv.URL+"/api/flows", strings.NewReader(fmt.Sprintf(slowSync, sink.URL)))
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("deploy: %v %v", err, resp)
	}
	resp.Body.Close()
	replies := make([]reply, 3)
	var wg sync.WaitGroup
	for i := range replies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = post(t, srv.URL+"/hooks/slow", fmt.Sprintf(`{"n": %d}`, i))
		}()
	}
	sink.waitCalls(t, 3) // the downstream calls are happening
	fail()
	sink.Release()
	wg.Wait()
	return replies
}

// checkUnavailable asserts a 503 unavailable answer with Retry-After whose
// body names none of the database's internals.
func checkUnavailable(t *testing.T, what string, r reply, secrets ...string) {
	t.Helper()
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, `"code":"unavailable"`) {
		t.Errorf("%s: got %d %s, want 503 unavailable", what, r.status, r.body)
	}
	if r.header.Get("Retry-After") == "" {
		t.Errorf("%s: 503 without Retry-After", what)
	}
	low := strings.ToLower(r.body)
	for _, s := range append([]string{"user=", "database=", "host", "password", "dial ", "sqlstate", "127.0.0.1", "postgres://"}, secrets...) {
		if strings.Contains(low, strings.ToLower(s)) {
			t.Errorf("%s: the answer leaks %q: %s", what, s, r.body)
		}
	}
}

// servePostgres serves a fresh database of a throwaway PostgreSQL server
// (which the test may stop), and names its database and port: the details
// an answer must never show.
func servePostgres(t *testing.T) (pg *pgtest.Server, srv *httptest.Server, dbName, port string) {
	t.Helper()
	pg = pgtest.Start(t)
	dsn := pg.NewDatabase(t)
	st, err := postgres.Open(context.Background(), dsn, slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dsn)
	return pg, serveStore(t, st), strings.TrimPrefix(u.Path, "/"), u.Port()
}

// TestIssue16_F21_SyncRunNotRecordedAnswers503Postgres stops PostgreSQL
// (pg_ctl stop -m fast) under three synchronous runs: every caller must get
// 503 (the run was not recorded), never the 200 of a run nobody can find.
func TestIssue16_F21_SyncRunNotRecordedAnswers503Postgres(t *testing.T) {
	pg, srv, dbName, port := servePostgres(t)

	replies := syncCallsWhileStoreFails(t, srv, func() { pg.StopFast(t) })
	for i, r := range replies {
		if r.status == http.StatusOK || r.status == http.StatusCreated {
			t.Errorf("call %d answered %d for a run that was not recorded: %s", i, r.status, r.body)
		}
		checkUnavailable(t, fmt.Sprintf("call %d", i), r, dbName, port)
	}
}

// TestIssue16_F22_DatabaseDownAnswers503WithoutInternals: with PostgreSQL
// down, an unauthenticated webhook and the API answer 503 unavailable with
// Retry-After, and nothing of the connection (user, database, host, port).
func TestIssue16_F22_DatabaseDownAnswers503WithoutInternals(t *testing.T) {
	pg, srv, dbName, port := servePostgres(t)
	req, _ := http.NewRequest("POST", srv.URL+"/api/flows", strings.NewReader("name: quick\ntrigger: {webhook: {}}\nsteps:\n  - respond: {body: {ok: true}}\n"))
	req.Header.Set("Content-Type", "application/yaml")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 201 {
		t.Fatalf("deploy: %v %v", err, resp)
	}
	if r := post(t, srv.URL+"/hooks/quick", `{}`); r.status != 200 {
		t.Fatalf("before the stop: %d %s", r.status, r.body)
	}
	pg.StopFast(t)
	time.Sleep(1100 * time.Millisecond) // past the engine's cache of the active flow version

	checkUnavailable(t, "webhook", post(t, srv.URL+"/hooks/quick", `{}`), dbName, port)
	checkUnavailable(t, "async webhook of an unknown flow", post(t, srv.URL+"/hooks/other", `{}`), dbName, port)
	resp, err := http.Get(srv.URL + "/api/runs")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	checkUnavailable(t, "GET /api/runs", reply{resp.StatusCode, resp.Header, string(data)}, dbName, port)
}
