package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/agent"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

var quiet = slog.New(slog.DiscardHandler)

func newEngine(t *testing.T, site string, labels map[string]string) (*engine.Engine, store.Store) {
	return newEngineTB(t, site, labels)
}

func newBenchEngine(b *testing.B, site string) (*engine.Engine, store.Store) {
	return newEngineTB(b, site, nil)
}

func newEngineTB(t testing.TB, site string, labels map[string]string) (*engine.Engine, store.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), quiet, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return engine.New(st, connectors.NewCatalog(), quiet, engine.Config{Site: site, Labels: labels}), st
}

func placed(name, placement, value string) []byte {
	return []byte("name: " + name + "\nplacement: " + placement + "\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - {id: a, respond: {status: 200, body: {v: " + value + "}}}\n")
}

type fixture struct {
	cp    *agent.ControlPlane
	cpEng *engine.Engine
	srv   *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	e, st := newEngine(t, "", nil)
	cp := agent.NewControlPlane(st.(store.Agents), e, quiet)
	srv := httptest.NewServer(http.HandlerFunc(cp.ServeSync))
	t.Cleanup(srv.Close)
	return &fixture{cp: cp, cpEng: e, srv: srv}
}

func (f *fixture) deploy(t *testing.T, src []byte) {
	t.Helper()
	if _, _, err := f.cpEng.Deploy(context.Background(), "f.yaml", src); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) link(t *testing.T, site, token string, labels map[string]string) (*agent.Link, *engine.Engine) {
	e, _ := newEngine(t, site, labels)
	return &agent.Link{URL: f.srv.URL, Token: token, Site: site, Version: "test", Engine: e, Log: quiet, Hold: time.Second}, e
}

// Placed flows reach their site's agent, which deploys them, acknowledges
// them, and runs them; the control plane records which version it runs.
func TestPlacedFlowsRollOutWithAcknowledgement(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	st, tok, err := f.cp.Create(ctx, "plant-3", map[string]string{"region": "eu"})
	if err != nil || !strings.HasPrefix(tok, agent.TokenPrefix) || st.Site != "plant-3" {
		t.Fatalf("create: %+v %q %v", st, tok, err)
	}
	f.deploy(t, placed("orders", "{site: plant-3}", "1"))
	f.deploy(t, placed("by-label", "{labels: {region: eu}}", "1"))
	f.deploy(t, placed("elsewhere", "{site: plant-4}", "1"))
	f.deploy(t, []byte("name: central\nsteps:\n  - {id: a, set: {x: 1}}\n"))

	l, e := f.link(t, "plant-3", tok, map[string]string{"region": "eu"})
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s := l.State()
	if len(s.Running) != 2 || len(s.Refused) != 0 {
		t.Fatalf("after the first poll: %+v", s)
	}
	res, err := e.Trigger(ctx, engine.Event{Flow: "orders", Kind: flow.TriggerWebhook, Body: map[string]any{}})
	if err != nil || res.Run.Status != store.RunSucceeded {
		t.Fatalf("run on the agent: %+v %v", res, err)
	}
	if _, err := e.Store().GetFlow(ctx, "elsewhere", 0); weft.Code(err) != weft.ENotFound {
		t.Fatalf("a flow placed on another site reached this agent: %v", err)
	}
	if _, err := e.Store().GetFlow(ctx, "central", 0); weft.Code(err) != weft.ENotFound {
		t.Fatalf("an unplaced flow reached the agent: %v", err)
	}
	// The second poll acknowledges; the control plane shows it.
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := f.cp.Get(ctx, "plant-3")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Connected || !got.InSync || len(got.Running) != 2 || got.Version != "test" || len(got.Placed) != 2 {
		t.Fatalf("status: %+v", got)
	}
	// A new version rolls out.
	f.deploy(t, placed("orders", "{site: plant-3}", "2"))
	if got, _ := f.cp.Get(ctx, "plant-3"); got.InSync {
		t.Fatalf("in sync before the agent has v2: %+v", got)
	}
	start := time.Now()
	if err := l.Sync(ctx); err != nil { // answered at once: it differs
		t.Fatal(err)
	}
	if time.Since(start) > 900*time.Millisecond {
		t.Errorf("a changed placement waited %v for the hold", time.Since(start))
	}
	res, err = e.Trigger(ctx, engine.Event{Flow: "orders", Kind: flow.TriggerWebhook, Body: map[string]any{}})
	if err != nil || res.Response == nil || !strings.Contains(jsonOf(res.Response.Body), `"v":2`) {
		t.Fatalf("v2 on the agent: %+v %v", res, err)
	}
	_ = l.Sync(ctx)
	got, _ = f.cp.Get(ctx, "plant-3")
	if !got.InSync {
		t.Fatalf("not in sync after v2: %+v", got)
	}
	for _, r := range got.Running {
		if r.Flow == "orders" && (r.Version != 2 || r.LocalVersion != 2) {
			t.Fatalf("orders: %+v", r)
		}
	}
	// The control plane itself does not run placed flows.
	if _, err := f.cpEng.Trigger(ctx, engine.Event{Flow: "orders", Kind: flow.TriggerWebhook, Body: map[string]any{}}); weft.Code(err) != weft.EConflict {
		t.Fatalf("control plane ran a placed flow: %v", err)
	}
	// A restarted agent (a new link over the same store) re-acknowledges
	// without deploying again.
	l2 := &agent.Link{URL: f.srv.URL, Token: tok, Site: "plant-3", Engine: e, Log: quiet, Hold: time.Second}
	if err := l2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	vs, _ := e.Store().ListFlowVersions(ctx, "orders")
	if len(vs) != 2 {
		t.Fatalf("a restart deployed again: %d versions", len(vs))
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Wrong, revoked, rotated-away and another site's credentials are refused.
func TestControlPlaneRefusesBadCredentials(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, tok3, err := f.cp.Create(ctx, "plant-3", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, tok4, err := f.cp.Create(ctx, "plant-4", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.cp.Create(ctx, "plant-3", nil); weft.Code(err) != weft.EConflict {
		t.Fatalf("a second agent for a site: %v", err)
	}
	if _, _, err := f.cp.Create(ctx, "Plant_3", nil); weft.Code(err) != weft.EInvalid {
		t.Fatalf("a bad site name: %v", err)
	}
	sync := func(site, tok string) error {
		l, _ := f.link(t, site, tok, nil)
		return l.Sync(ctx)
	}
	if err := sync("plant-3", tok3); err != nil {
		t.Fatal(err)
	}
	if err := sync("plant-3", agent.TokenPrefix+"wrong"); weft.Code(err) != weft.EUnauthorized {
		t.Fatalf("wrong credential: %v", err)
	}
	if err := sync("plant-3", tok4); weft.Code(err) != weft.EForbidden || !strings.Contains(weft.Message(err), "plant-4") {
		t.Fatalf("another site's credential: %v", err)
	}
	// No credential at all, over plain HTTP.
	resp, err := http.Post(f.srv.URL+agent.SyncPath, "application/json", bytes.NewReader([]byte(`{"site":"plant-3"}`)))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credential: %v %v", resp, err)
	}
	resp.Body.Close()
	// Oversized poll.
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+agent.SyncPath, bytes.NewReader(bytes.Repeat([]byte("x"), agent.MaxRequestBytes+1)))
	req.Header.Set("Authorization", "Bearer "+tok3)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized poll: %v %v", resp, err)
	}
	resp.Body.Close()

	tok3b, err := f.cp.Rotate(ctx, "plant-3")
	if err != nil {
		t.Fatal(err)
	}
	if err := sync("plant-3", tok3); weft.Code(err) != weft.EUnauthorized {
		t.Fatalf("rotated-away credential: %v", err)
	}
	if err := sync("plant-3", tok3b); err != nil {
		t.Fatalf("rotated credential: %v", err)
	}
	if err := f.cp.Revoke(ctx, "plant-3"); err != nil {
		t.Fatal(err)
	}
	if err := sync("plant-3", tok3b); weft.Code(err) != weft.EUnauthorized {
		t.Fatalf("revoked agent: %v", err)
	}
	st, _ := f.cp.Get(ctx, "plant-3")
	if st.RevokedAt == nil || st.Connected {
		t.Fatalf("revoked status: %+v", st)
	}
}

// An agent refuses a flow placed on another site, even when a control
// plane sends it, and says so on its next poll.
func TestAgentRefusesAnotherSitesWork(t *testing.T) {
	ctx := context.Background()
	src := placed("theirs", "{site: plant-9}", "1")
	var got agent.SyncRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&got)
		_ = json.NewEncoder(w).Encode(agent.SyncResponse{Site: "plant-3", Flows: []agent.PlacedFlow{
			{Name: "theirs", Namespace: "default", Version: 1, File: "theirs.yaml", Source: string(src), SHA256: agent.Digest(src)}}})
	}))
	defer srv.Close()
	e, _ := newEngine(t, "plant-3", nil)
	l := &agent.Link{URL: srv.URL, Token: agent.TokenPrefix + "x", Site: "plant-3", Engine: e, Log: quiet, Hold: time.Second}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s := l.State()
	if len(s.Running) != 0 || len(s.Refused) != 1 || !strings.Contains(s.Refused[0].Error, "plant-9") {
		t.Fatalf("state: %+v", s)
	}
	if _, err := e.Store().GetFlow(ctx, "theirs", 0); weft.Code(err) != weft.ENotFound {
		t.Fatalf("deployed another site's flow: %v", err)
	}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got.Refused) != 1 || got.Refused[0].Flow != "theirs" {
		t.Fatalf("the refusal was not reported: %+v", got)
	}
	// A control plane answering for another site is refused too.
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(agent.SyncResponse{Site: "plant-9"})
	}))
	defer srv2.Close()
	l2 := &agent.Link{URL: srv2.URL, Token: agent.TokenPrefix + "x", Site: "plant-3", Engine: e, Log: quiet}
	if err := l2.Sync(ctx); weft.Code(err) != weft.EForbidden {
		t.Fatalf("answer for another site: %v", err)
	}
	// A source that does not match its digest is refused.
	srv3 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mine := placed("mine", "{site: plant-3}", "1")
		_ = json.NewEncoder(w).Encode(agent.SyncResponse{Site: "plant-3", Flows: []agent.PlacedFlow{
			{Name: "mine", Version: 1, File: "mine.yaml", Source: string(mine), SHA256: agent.Digest([]byte("other"))}}})
	}))
	defer srv3.Close()
	l3 := &agent.Link{URL: srv3.URL, Token: agent.TokenPrefix + "x", Site: "plant-3", Engine: e, Log: quiet}
	if err := l3.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if s := l3.State(); len(s.Refused) != 1 || !strings.Contains(s.Refused[0].Error, "digest") {
		t.Fatalf("digest mismatch: %+v", s)
	}
}

// The link reconnects with backoff after the control plane goes away.
func TestLinkReconnects(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFixture(t)
	_, tok, err := f.cp.Create(ctx, "plant-3", nil)
	if err != nil {
		t.Fatal(err)
	}
	f.deploy(t, placed("orders", "{site: plant-3}", "1"))
	var down atomic.Bool
	down.Store(true)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		f.cp.ServeSync(w, r)
	}))
	defer proxy.Close()
	e, _ := newEngine(t, "plant-3", nil)
	l := &agent.Link{URL: proxy.URL, Token: tok, Site: "plant-3", Engine: e, Log: quiet, Hold: time.Second, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
	done := make(chan struct{})
	go func() { _ = l.Run(ctx); close(done) }()
	time.Sleep(300 * time.Millisecond)
	if s := l.State(); s.Connected || s.Failures < 2 {
		t.Fatalf("while down: %+v", s)
	}
	down.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if s := l.State(); s.Connected && len(s.Running) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("did not reconnect: %+v", l.State())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
}

// A flow placed elsewhere after it ran here is withdrawn: it stays deployed
// on the agent and runs no more, also after a restart before the link is
// back; placed here again, it runs again.
func TestWithdrawnFlowStopsOnTheAgent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, tok, err := f.cp.Create(ctx, "plant-3", nil)
	if err != nil {
		t.Fatal(err)
	}
	f.deploy(t, placed("orders", "{site: plant-3}", "1"))
	e, _ := newEngine(t, "plant-3", nil)
	dir := t.TempDir()
	l := &agent.Link{URL: f.srv.URL, Token: tok, Site: "plant-3", Engine: e, Log: quiet, Hold: time.Second, StateDir: dir}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	run := func() error {
		_, err := e.Trigger(ctx, engine.Event{Flow: "orders", Kind: flow.TriggerWebhook, Body: map[string]any{}})
		return err
	}
	if err := run(); err != nil {
		t.Fatal(err)
	}
	f.deploy(t, placed("orders", "{site: plant-4}", "1"))
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := run(); weft.Code(err) != weft.EConflict || !strings.Contains(weft.Message(err), "withdrawn") {
		t.Fatalf("a withdrawn flow ran: %v", err)
	}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ := f.cp.Get(ctx, "plant-3")
	if st.Health == nil || strings.Join(st.Health.Withdrawn, ",") != "orders" || len(st.Running) != 0 || !st.InSync {
		t.Fatalf("status after the withdrawal: %+v %+v", st, st.Health)
	}
	// A restarted agent, its control plane unreachable: still withdrawn.
	e2 := engine.New(e.Store(), connectors.NewCatalog(), quiet, engine.Config{Site: "plant-3"})
	l2 := &agent.Link{URL: "http://127.0.0.1:1", Token: tok, Site: "plant-3", Engine: e2, Log: quiet, StateDir: dir}
	if err := l2.Sync(ctx); err == nil {
		t.Fatal("an unreachable control plane answered")
	}
	if _, err := e2.Trigger(ctx, engine.Event{Flow: "orders", Kind: flow.TriggerWebhook, Body: map[string]any{}}); weft.Code(err) != weft.EConflict {
		t.Fatalf("a withdrawn flow ran after a restart: %v", err)
	}
	// Placed here again: it runs again.
	f.deploy(t, placed("orders", "{site: plant-3}", "1"))
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := run(); err != nil {
		t.Fatalf("placed here again: %v", err)
	}
}
