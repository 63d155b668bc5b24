package gateway_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	"github.com/weftio/weft/internal/seal"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/postgres"
	"github.com/weftio/weft/store/sqlite"
	"github.com/weftio/weft/store/storetest"
)

// The markers of one test payload: the redacted ones must never be kept
// (nor logged); plain is kept, sealed at rest, and shown by the API.
const (
	mkEmail = "mk-email-5d1e@example.com"
	mkCard  = "mk-card-4111-1111"
	mkSSN   = "mk-ssn-078-05-1120"
	mkPlain = "mk-plain-9c7b"
)

var sealPayload = fmt.Sprintf(`{"customer":{"email":%q,"name":"Ann"},"items":[{"card":%q,"qty":2}],"ssn":%q,"note":%q}`, mkEmail, mkCard, mkSSN, mkPlain)

const sealFlow = `name: %s
trigger: {webhook: {mode: sync}}
capture: full
redact: ["$.customer.email", "$.body.customer.email", "$.items[*].card", "$.body.items[*].card", "$..ssn"]
%s
steps:
  - id: shape
    set:
      customer: {email: =trigger.body.customer.email}
      n: =size(trigger.body.items)
  - id: post
    call: http.request
    connection: local
    with: {method: POST, url: "%s/deliver", body: =trigger.body}
    retry: {max_attempts: 2, backoff: 10ms}
  - respond:
      status: 200
      body: {customer: {email: =steps.shape.customer.email}, n: =steps.shape.n}
`

const checkFlow = `name: check
trigger: {webhook: {mode: sync}}
capture: full
redact: ["$..ssn"]
steps:
  - fail: {message: ="no customer with ssn " + trigger.body.ssn, code: invalid}
`

// sink is the downstream: it fails (503) while failing is set and records
// every body it was sent.
type sealSink struct {
	*httptest.Server
	failing atomic.Bool
	mu      sync.Mutex
	bodies  []string
}

func newSealSink(t *testing.T) *sealSink {
	s := &sealSink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, string(b))
		s.mu.Unlock()
		if s.failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sealSink) received() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.bodies, "\n")
}

type sealEnv struct {
	srv     *httptest.Server
	st      store.Store
	db      *sql.DB
	logs    *lockedBuf
	keyFile string
	sink    *sealSink
	open    func() store.Store // the same database, another process
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newSealEnv serves st with payloads sealed under a file-based master key
// (so the API can rotate it), flows deployed, and the log captured.
func newSealEnv(t *testing.T, st store.Store, db *sql.DB, open func() store.Store) *sealEnv {
	t.Helper()
	ctx := context.Background()
	keyFile := filepath.Join(t.TempDir(), "master.key")
	keys, err := seal.Load("", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	env := seal.NewEnvelope(keys, st)
	st.(interface{ SetPayloadSealer(store.PayloadSealer) }).SetPayloadSealer(env)
	sink := newSealSink(t)
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	if err := cat.AddConnection(&connectors.Connection{Name: "local", Connector: "http", AllowPrivate: true}); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuf{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := engine.New(st, cat, log, engine.Config{Keys: keys, Payloads: env})
	if err := st.StartQueue(ctx, e.Workers(), store.QueueConfig{Workers: 2, FetchPollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{fmt.Sprintf(sealFlow, "orders", "", sink.URL), fmt.Sprintf(sealFlow, "strict", "redact_dlq: true", sink.URL), checkFlow} {
		if _, _, err := e.Deploy(ctx, "f.yaml", []byte(src)); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(gateway.New(e, log, gateway.Config{}))
	t.Cleanup(func() {
		srv.Close()
		e.BeginShutdown()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.StopQueue(c)
		_ = st.Close()
	})
	return &sealEnv{srv: srv, st: st, db: db, logs: logs, keyFile: keyFile, sink: sink, open: open}
}

func (s *sealEnv) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get(s.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// noneIn fails if any of the markers is in text.
func noneIn(t *testing.T, what, text string, markers ...string) {
	t.Helper()
	for _, m := range markers {
		if strings.Contains(text, m) {
			t.Errorf("%s holds %q in the clear:\n%s", what, m, text)
		}
	}
}

func runSealedPayloads(t *testing.T, s *sealEnv) {
	ctx := context.Background()
	redacted := []string{mkEmail, mkCard, mkSSN}
	all := append([]string{mkPlain}, redacted...)

	// 1. A run that succeeds: the caller and the downstream get the real
	// values; the kept log has them redacted, and nothing in the clear.
	r := post(t, s.srv.URL+"/hooks/orders", sealPayload)
	if r.status != 200 || !strings.Contains(r.body, mkEmail) {
		t.Fatalf("sync run: %d %s (the response is computed with the real values)", r.status, r.body)
	}
	if got := s.sink.received(); !strings.Contains(got, mkCard) || !strings.Contains(got, mkSSN) || !strings.Contains(got, mkEmail) {
		t.Fatalf("the downstream did not get the real values: %s", got)
	}
	okID := r.header.Get("Weft-Run-Id")
	if okID == "" {
		var list struct{ Runs []store.Run }
		_ = json.Unmarshal([]byte(s.get(t, "/api/runs?flow=orders")), &list)
		if len(list.Runs) != 1 {
			t.Fatalf("runs %+v", list.Runs)
		}
		okID = list.Runs[0].ID
	}
	if kept, err := s.st.GetRun(ctx, okID); err != nil || strings.Contains(string(kept.Input), mkEmail) || !strings.Contains(string(kept.Input), mkPlain) {
		t.Fatalf("the succeeded run's kept input is not redacted: %v %s", err, kept.Input)
	}
	steps, err := s.st.ListAttempts(ctx, okID)
	if err != nil || len(steps) < 2 {
		t.Fatalf("attempts %v %+v", err, steps)
	}
	for _, a := range steps {
		noneIn(t, "a kept step input or output", string(a.Input)+string(a.Output), redacted...)
	}
	view := s.get(t, "/api/runs/"+okID)
	noneIn(t, "GET /api/runs/{succeeded run}", view, redacted...)
	if !strings.Contains(view, mkPlain) || !strings.Contains(view, `[redacted]`) {
		t.Fatalf("the API does not show the kept payload (unsealed, redacted): %s", view)
	}

	// 2. A run that lands in the DLQ (the downstream is down), and one
	// whose failure message quotes a redacted value.
	s.sink.failing.Store(true)
	if r := post(t, s.srv.URL+"/hooks/orders", sealPayload); r.status < 500 {
		t.Fatalf("dead run: %d %s", r.status, r.body)
	}
	if r := post(t, s.srv.URL+"/hooks/strict", sealPayload); r.status < 500 {
		t.Fatalf("dead run (redact_dlq): %d %s", r.status, r.body)
	}
	if r := post(t, s.srv.URL+"/hooks/check", sealPayload); r.status < 400 {
		t.Fatalf("failed run: %d %s", r.status, r.body)
	}
	var dlq struct{ Runs []store.Run }
	_ = json.Unmarshal([]byte(s.get(t, "/api/dlq?flow=orders")), &dlq)
	if len(dlq.Runs) != 1 {
		t.Fatalf("dlq: %+v", dlq.Runs)
	}
	deadID := dlq.Runs[0].ID
	view = s.get(t, "/api/runs/"+deadID)
	noneIn(t, "GET /api/runs/{dead run}", view, redacted...)
	if !strings.Contains(view, mkPlain) {
		t.Fatalf("dead run view: %s", view)
	}
	var failed struct{ Runs []store.Run }
	_ = json.Unmarshal([]byte(s.get(t, "/api/runs?flow=check")), &failed)
	if len(failed.Runs) != 1 || !strings.Contains(failed.Runs[0].ErrorMessage, "no customer with ssn [redacted]") {
		t.Fatalf("the failure message is not scrubbed: %+v", failed.Runs)
	}

	// Nothing of the payload is in the clear in any row, the log neither
	// (of what was redacted).
	dump := storetest.DumpRows(t, s.db)
	noneIn(t, "the raw database rows", dump, all...)
	if !strings.Contains(dump, seal.Prefix) {
		t.Fatalf("no sealed value in the rows:\n%s", dump)
	}
	noneIn(t, "the log", s.logs.String(), redacted...)
	if !strings.Contains(s.logs.String(), "no customer with ssn [redacted]") {
		t.Fatalf("the log has no scrubbed failure line:\n%s", s.logs.String())
	}

	// The store keeps the dead run's input whole (sealed) for replay,
	// unless the flow says redact_dlq.
	dead, err := s.st.GetRun(ctx, deadID)
	if err != nil || !strings.Contains(string(dead.Input), mkEmail) {
		t.Fatalf("the DLQ input is not kept whole for replay: %v %s", err, dead.Input)
	}
	var strict struct{ Runs []store.Run }
	_ = json.Unmarshal([]byte(s.get(t, "/api/dlq?flow=strict")), &strict)
	if len(strict.Runs) != 1 {
		t.Fatalf("dlq strict: %+v", strict.Runs)
	}
	sr, err := s.st.GetRun(ctx, strict.Runs[0].ID)
	if err != nil || strings.Contains(string(sr.Input), mkEmail) || strings.Contains(string(sr.Input), mkSSN) || !strings.Contains(string(sr.Input), mkPlain) {
		t.Fatalf("redact_dlq: the kept input is not redacted: %v %s", err, sr.Input)
	}

	// 3. Rotation: the old key opens nothing afterwards, the new one all.
	oldKeys, err := os.ReadFile(s.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(s.srv.URL+"/api/secrets/rotate", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var rot struct {
		DataKeys int `json:"data_keys_rewrapped"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&rot)
	resp.Body.Close()
	if resp.StatusCode != 200 || rot.DataKeys == 0 {
		t.Fatalf("rotate: %d %+v", resp.StatusCode, rot)
	}
	oldRing, err := seal.Load(strings.TrimSpace(lastKeyLine(string(oldKeys))), "")
	if err != nil {
		t.Fatal(err)
	}
	old := s.open()
	old.(interface{ SetPayloadSealer(store.PayloadSealer) }).SetPayloadSealer(seal.NewEnvelope(oldRing, old))
	if _, err := old.GetRun(ctx, deadID); err == nil || !strings.Contains(err.Error(), "not in the keyring") {
		t.Fatalf("the old master key still opens a payload after rotation: %v", err)
	}
	newRing, err := seal.Load("", s.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	nw := s.open()
	nw.(interface{ SetPayloadSealer(store.PayloadSealer) }).SetPayloadSealer(seal.NewEnvelope(newRing, nw))
	if got, err := nw.GetRun(ctx, deadID); err != nil || !strings.Contains(string(got.Input), mkEmail) {
		t.Fatalf("the new master key does not open: %v", err)
	}

	// 4. Replay from the DLQ after the rotation: the worker opens the sealed
	// input and checkpoints, the downstream gets the real values again, and
	// the succeeded run's kept input is redacted.
	s.sink.failing.Store(false)
	before := len(s.sink.received())
	resp, err = http.Post(s.srv.URL+"/api/runs/"+deadID+"/replay", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 && resp.StatusCode != 202 {
		t.Fatalf("replay: %d %s", resp.StatusCode, b)
	}
	noneIn(t, "the replay answer", string(b), redacted...)
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := s.st.GetRun(ctx, deadID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == store.RunSucceeded {
			if strings.Contains(string(got.Input), mkEmail) || !strings.Contains(string(got.Input), mkPlain) {
				t.Fatalf("the replayed run's kept input is not redacted: %s", got.Input)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replayed run is %s", got.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := s.sink.received()[before:]; !strings.Contains(got, mkEmail) || !strings.Contains(got, mkSSN) {
		t.Fatalf("the replay did not send the real values: %s", got)
	}
	noneIn(t, "the raw database rows after replay", storetest.DumpRows(t, s.db), all...)
}

// lastKeyLine is the oldest key of a key file (the one before rotation is
// its only key).
func lastKeyLine(file string) string {
	var last string
	for _, l := range strings.Split(file, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			last = l
		}
	}
	return last
}

func TestIssue18_SealedPayloadsAndRedaction_SQLite(t *testing.T) {
	dir := t.TempDir()
	open := func() store.Store {
		st, err := sqlite.Open(context.Background(), dir, slog.New(slog.DiscardHandler), 0)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "weft.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	others := func() store.Store {
		o := open()
		t.Cleanup(func() { o.Close() })
		return o
	}
	runSealedPayloads(t, newSealEnv(t, st, db, others))
}

func TestIssue18_SealedPayloadsAndRedaction_Postgres(t *testing.T) {
	url := pgtest.Start(t).NewDatabase(t) // its own cluster: this package has no TestMain to stop a shared one
	open := func() store.Store {
		st, err := postgres.Open(context.Background(), url, slog.New(slog.DiscardHandler), 0)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	others := func() store.Store {
		o := open()
		t.Cleanup(func() { o.Close() })
		return o
	}
	runSealedPayloads(t, newSealEnv(t, st, db, others))
}
