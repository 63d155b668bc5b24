package agent_test

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/agent"
	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/seal"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// sealedEngine is an engine with a master key of its own (connections can
// be stored) and the HTTP connector.
func sealedEngine(t testing.TB, site string, labels map[string]string) (*engine.Engine, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), dir, quiet, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := seal.New(seal.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	return engine.New(st, cat, quiet, engine.Config{Site: site, Labels: labels, Keys: keys}), dir
}

// tap is a handler that records every byte of the link's requests and
// answers.
type tap struct {
	h   http.Handler
	mu  sync.Mutex
	buf strings.Builder
}

func (tp *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	rec := httptest.NewRecorder()
	tp.h.ServeHTTP(rec, r)
	tp.mu.Lock()
	tp.buf.Write(body)
	tp.buf.Write(rec.Body.Bytes())
	tp.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (tp *tap) String() string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.buf.String()
}

// A connection placed on a site from the control plane reaches that site's
// agent only, sealed in transit; the agent stores it sealed with its own
// key and its flows use it; the control plane never can. Credentials left
// out on the control plane are set on the site and never go up. A revoked
// agent gets nothing.
func TestPlacedConnectionsReachTheirSiteSealed(t *testing.T) {
	ctx := context.Background()
	const cpSecret, siteSecret = "cp-held-secret-7f3a9c", "site-only-secret-51d2e8"
	var mu sync.Mutex
	var seen []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer target.Close()

	cpEng, cpDir := sealedEngine(t, "", nil)
	cp := agent.NewControlPlane(cpEng.Store().(store.Agents), cpEng, quiet)
	tp := &tap{h: http.HandlerFunc(cp.ServeSync)}
	srv := httptest.NewServer(tp)
	defer srv.Close()
	_, tokA, err := cp.Create(ctx, "plant-3", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, tokB, err := cp.Create(ctx, "plant-4", nil)
	if err != nil {
		t.Fatal(err)
	}
	// erp: the control plane holds its credential; mes: the site sets it.
	erp := &connectors.Connection{Name: "erp", Connector: "http", BaseURL: target.URL, AllowPrivate: true,
		Auth: &connectors.Auth{Type: "bearer", Token: cpSecret}, Placement: &flow.Placement{Site: "plant-3"}}
	mes := &connectors.Connection{Name: "mes", Connector: "http", BaseURL: target.URL, AllowPrivate: true, Placement: &flow.Placement{Site: "plant-3"}}
	for _, c := range []*connectors.Connection{erp, mes} {
		if err := cpEng.SaveConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// The control plane cannot use them: not in its catalog.
	if _, ok := cpEng.Catalog().LookupConnection("erp"); ok {
		t.Fatal("a connection placed on a site is usable on the control plane")
	}
	if len(cpEng.PlacedConnections()) != 2 {
		t.Fatalf("placed connections on the control plane: %d", len(cpEng.PlacedConnections()))
	}
	// A placed flow using erp, deployed on the control plane, runs on the site.
	flowSrc := []byte("name: push\nplacement: {site: plant-3}\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - {id: call, call: http.request, connection: erp, with: {method: GET, url: /erp}}\n  - {id: call2, call: http.request, connection: mes, with: {method: GET, url: /mes}}\n")
	if _, _, err := cpEng.Deploy(ctx, "push.yaml", flowSrc); err != nil {
		t.Fatal(err)
	}

	eA, _ := sealedEngine(t, "plant-3", nil)
	lA := &agent.Link{URL: srv.URL, Token: tokA, Site: "plant-3", Version: "test", Engine: eA, Log: quiet, Hold: time.Second}
	if err := lA.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got, ok := eA.Catalog().LookupConnection("erp")
	if !ok || got.Auth == nil || got.Auth.Token != cpSecret || got.Placement == nil {
		t.Fatalf("erp on the agent: %+v", got)
	}
	// The site sets mes's credential on its own (its API, here the engine).
	if err := eA.SaveConnection(ctx, &connectors.Connection{Name: "mes", Connector: "http", BaseURL: target.URL, AllowPrivate: true,
		Auth: &connectors.Auth{Type: "bearer", Token: siteSecret}}); err != nil {
		t.Fatal(err)
	}
	if c, _ := eA.Catalog().LookupConnection("mes"); c.Placement == nil || c.Placement.Site != "plant-3" {
		t.Fatalf("a credential set on the site unplaced the connection: %+v", c)
	}
	res, err := eA.Trigger(ctx, engine.Event{Flow: "push", Kind: flow.TriggerWebhook, Body: map[string]any{}})
	if err != nil || res.Run.Status != store.RunSucceeded {
		t.Fatalf("run on the agent: %+v %v", res, err)
	}
	mu.Lock()
	calls := strings.Join(seen, "\n")
	mu.Unlock()
	if !strings.Contains(calls, "/erp Bearer "+cpSecret) || !strings.Contains(calls, "/mes Bearer "+siteSecret) {
		t.Fatalf("the target saw:\n%s", calls)
	}
	// Acknowledged: the control plane shows it in sync, with the site's
	// credential set (by name only).
	if err := lA.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := cp.Get(ctx, "plant-3")
	if err != nil || !st.InSync || len(st.PlacedConnections) != 2 || st.Health == nil || len(st.Health.PlacedConnections) != 2 {
		t.Fatalf("status: %+v %v", st, err)
	}
	var mesCreds []string
	for _, c := range st.Health.Connections {
		if c.Name == "mes" {
			mesCreds = c.Credentials
		}
	}
	if strings.Join(mesCreds, ",") != "auth.token" {
		t.Fatalf("the control plane should see mes's site credential as set: %v", mesCreds)
	}
	// A change on the control plane (no credential given) keeps the site's.
	mes.RatePerSec = 50
	mes.Auth = nil
	if err := cpEng.SaveConnection(ctx, mes); err != nil {
		t.Fatal(err)
	}
	if err := lA.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if c, _ := eA.Catalog().LookupConnection("mes"); c.RatePerSec != 50 || c.Auth == nil || c.Auth.Token != siteSecret {
		t.Fatalf("mes after a control-plane change: %+v", c)
	}

	// Another site gets neither.
	eB, _ := sealedEngine(t, "plant-4", nil)
	lB := &agent.Link{URL: srv.URL, Token: tokB, Site: "plant-4", Version: "test", Engine: eB, Log: quiet, Hold: time.Second}
	if err := lB.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(eB.Catalog().Connections()); n != 0 {
		t.Fatalf("site plant-4 got %d connections placed on plant-3", n)
	}
	// Neither credential crossed the link in the clear; the site's never
	// reached the control plane's store.
	if link := tp.String(); strings.Contains(link, cpSecret) || strings.Contains(link, siteSecret) || !strings.Contains(link, `"sealed"`) {
		t.Fatalf("the link carried a credential in the clear (or nothing sealed)")
	}
	if hits := grepDir(t, cpDir, siteSecret); len(hits) > 0 {
		t.Fatalf("the site's credential is in the control plane's files: %v", hits)
	}

	// Withdrawn from the site: removed there.
	erp.Placement = &flow.Placement{Site: "plant-4"}
	if err := cpEng.SaveConnection(ctx, erp); err != nil {
		t.Fatal(err)
	}
	if err := lA.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := eA.Catalog().LookupConnection("erp"); ok {
		t.Fatal("a connection placed elsewhere stayed on plant-3")
	}
	// A revoked agent gets nothing: its poll is refused.
	if err := cp.Revoke(ctx, "plant-4"); err != nil {
		t.Fatal(err)
	}
	err = lB.Sync(ctx)
	if weft.Code(err) != weft.EUnauthorized {
		t.Fatalf("a revoked agent's poll: %v", err)
	}
	if _, ok := eB.Catalog().LookupConnection("erp"); ok {
		t.Fatal("a revoked agent received a connection")
	}
}

// grepDir lists the files under dir that contain s.
func grepDir(t *testing.T, dir, s string) []string {
	t.Helper()
	var hits []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(s)) {
			hits = append(hits, p)
		}
		return nil
	})
	return hits
}
