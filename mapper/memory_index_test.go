package mapper

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/ai"
	"github.com/weftio/weft/ai/qdranttest"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// aliasEmb is the builtin embedder with some names read as others: a
// stand-in for an embeddings model that knows two words mean one thing
// where the mapper's vocabulary does not (florp is zorb, quax is quix).
type aliasEmb struct{ alias map[string]string }

func (a aliasEmb) Name() string { return "alias-test" }

func (a aliasEmb) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	in := make([]string, len(texts))
	for i, t := range texts {
		if x, ok := a.alias[t]; ok {
			t = x
		}
		in[i] = t
	}
	return ai.Builtin{}.Embed(ctx, in)
}

var aliases = aliasEmb{map[string]string{"florp": "zorb", "quax": "quix", "blep": "blap", "wig": "wug"}}

func schemaOf(t *testing.T, name string, fields ...string) *Schema {
	t.Helper()
	var fs []map[string]string
	for _, f := range fields {
		fs = append(fs, map[string]string{"name": f, "type": "string"})
	}
	doc, _ := json.Marshal(map[string]any{"name": name, "fields": fs})
	sc, err := Parse(name, doc)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func f(name string) *Field { x := field(name); return &x }

// checkNear: the reviewed zorb → quix (accepted) and blap → wug (rejected)
// speak, through the index, for florp → quax and blep → wig, whose names
// share no concept with them; nothing else moves.
func checkNear(t *testing.T, m *Memory) {
	t.Helper()
	ctx := context.Background()
	src, tgt := schemaOf(t, "a", "florp", "blep", "order_total"), schemaOf(t, "b", "quax", "wig", "amount")
	near, err := m.near(ctx, src, tgt)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{1, 0, 0}, {0, -1, 0}, {0, 0, 0}}
	for i := range want {
		for j := range want[i] {
			if near == nil || near[i][j] != want[i][j] {
				t.Fatalf("near evidence %v, want %v", near, want)
			}
		}
	}
	// In the scores: the exact rules say nothing about these pairs (one
	// review is no association); the nearest reviews do.
	o := Options{Embedder: aliases, Top: 5}
	if _, ok := m.adjustKeys(pathKey(f("florp"), f("quax")), conceptsOf(f("florp")), conceptsOf(f("quax")), 0.3); ok {
		t.Fatal("an exact rule spoke for florp -> quax")
	}
	m0, _ := DefaultModel()
	o.Model = m0
	without, err := scoreFields(ctx, src, tgt, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Memory = m
	with, err := scoreFields(ctx, src, tgt, o)
	if err != nil {
		t.Fatal(err)
	}
	if !(with.prob[0][0] > without.prob[0][0]) || !(with.prob[1][1] < without.prob[1][1]) || with.prob[2][2] != without.prob[2][2] || with.prob[0][1] != without.prob[0][1] {
		t.Fatalf("with the memory %v, without %v", with.prob, without.prob)
	}
}

func TestMemoryNearestReviewsInProcess(t *testing.T) {
	m := NewMemoryOn(nil, aliases)
	m.Record(f("zorb"), f("quix"), true)
	m.Record(f("blap"), f("wug"), false)
	checkNear(t, m)
	if m.Collection() != "weft_mapper_reviews_alias-test" || m.Err() != nil {
		t.Fatalf("collection %q, err %v", m.Collection(), m.Err())
	}
	// An empty memory asks the index nothing and moves nothing.
	if near, err := NewMemory().near(context.Background(), schemaOf(t, "a", "x"), schemaOf(t, "b", "y")); near != nil || err != nil {
		t.Fatalf("empty memory: %v %v", near, err)
	}
}

func TestMemoryNearestReviewsQdrant(t *testing.T) {
	srv := qdranttest.Start(t)
	q, err := ai.NewQdrant(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	m := NewMemoryOn(q, aliases)
	m.RecordID("m1/quix", f("zorb"), f("quix"), true)
	m.RecordID("m1/wug", f("blap"), f("wug"), false)
	checkNear(t, m)
	if n := srv.Len(m.Collection()); n != 2 {
		t.Fatalf("%d points in Qdrant", n)
	}
	if srv.Calls("/qdrant.Points/Query") == 0 {
		t.Fatal("the memory did not query Qdrant")
	}
	// The same id reviewed again replaces its point; a forgotten one goes.
	m.RecordID("m1/quix", f("zorb"), f("quix"), false)
	m.Forget("m1/wug")
	if err := m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := srv.Len(m.Collection()); n != 1 {
		t.Fatalf("%d points after a re-review and a forget", n)
	}
	near, _ := m.near(context.Background(), schemaOf(t, "a", "florp"), schemaOf(t, "b", "quax"))
	if near == nil || near[0][0] != -1 {
		t.Fatalf("after the re-review (rejected): %v", near)
	}
}

// An index that fails: the exact rules still apply, Err says why, and
// what was recorded reaches the index once it answers.
func TestMemoryIndexDown(t *testing.T) {
	srv := qdranttest.Start(t)
	url := srv.URL()
	srv.Close()
	q, err := ai.NewQdrant(url)
	if err != nil {
		t.Fatal(err)
	}
	q.Timeout = 300 * time.Millisecond
	m := NewMemoryOn(q, aliases)
	m.Record(f("cust_email"), f("emailAddress"), true)
	if err := m.Sync(context.Background()); err == nil || m.Err() == nil || !strings.Contains(m.Err().Error(), "review memory") {
		t.Fatalf("sync %v, Err %v", err, m.Err())
	}
	src, tgt := schemaOf(t, "a", "cust_email", "zip"), schemaOf(t, "b", "emailAddress", "city")
	m0, _ := DefaultModel()
	o := Options{Embedder: aliases, Model: m0, Top: 5}
	without, _ := scoreFields(context.Background(), src, tgt, o)
	o.Memory = m
	with, err := scoreFields(context.Background(), src, tgt, o)
	if err != nil || !(with.prob[0][0] > without.prob[0][0]) {
		t.Fatalf("the exact rule did not apply with the index down: %v vs %v (%v)", with.prob, without.prob, err)
	}
	m.mu.RLock()
	pending := len(m.pending)
	m.mu.RUnlock()
	if pending != 1 {
		t.Fatalf("%d pending after the failure, want 1", pending)
	}
}

// reviewStores opens a SQLite store and a qdranttest server with a client.
func reviewStores(t *testing.T) (store.Store, *qdranttest.Server, *ai.Qdrant) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	qsrv := qdranttest.Start(t)
	q, err := ai.NewQdrant(qsrv.URL())
	if err != nil {
		t.Fatal(err)
	}
	return st, qsrv, q
}

// The service's memory survives a restart: the reviews are in the store,
// and a new service writes them to its index again (a fresh in-process
// index, a Qdrant that lost them, or one that kept them).
func TestServiceMemorySurvivesRestart(t *testing.T) {
	ctx := context.Background()
	st, qsrv, q := reviewStores(t)
	svc, err := NewServiceOn(ctx, st, aliases, q)
	if err != nil {
		t.Fatal(err)
	}
	src, tgt := schemaOf(t, "a", "zorb", "blap", "id"), schemaOf(t, "b", "quix", "wug", "ident")
	mp, err := svc.Create(ctx, "", src, tgt, 3)
	if err != nil {
		t.Fatal(err)
	}
	reviews := []Review{{Target: "quix", Action: "edit", Expr: "src.zorb", Sources: []string{"zorb"}}, {Target: "wug", Action: "edit", Expr: "src.blap", Sources: []string{"blap"}}}
	if _, err := svc.Apply(ctx, mp.ID, reviews); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Apply(ctx, mp.ID, []Review{{Target: "wug", Action: "reject"}}); err != nil {
		t.Fatal(err)
	}
	if n := qsrv.Len(svc.MemoryIn("").Collection()); n != 2 {
		t.Fatalf("%d points in Qdrant after the reviews", n)
	}
	fresh := qdranttest.Start(t)
	qf, _ := ai.NewQdrant(fresh.URL())
	for name, idx := range map[string]ai.VectorIndex{"in process": nil, "qdrant kept them": q, "qdrant lost them": qf} {
		again, err := NewServiceOn(ctx, st, aliases, idx)
		if err != nil {
			t.Fatal(err)
		}
		checkNear(t, again.MemoryIn(""))
		if name == "qdrant lost them" && fresh.Len(again.MemoryIn("").Collection()) != 2 {
			t.Fatalf("%s: %d points", name, fresh.Len(again.MemoryIn("").Collection()))
		}
	}
	if n := qsrv.Len(svc.MemoryIn("").Collection()); n != 2 {
		t.Fatalf("%d points in the Qdrant that kept them, after the restart", n)
	}
	// An item edited to read two fields is no longer one reviewed pair:
	// its point leaves the index.
	if _, err := svc.Apply(ctx, mp.ID, []Review{{Target: "quix", Action: "edit", Expr: "src.zorb + src.blap", Sources: []string{"zorb", "blap"}}}); err != nil {
		t.Fatal(err)
	}
	if n := qsrv.Len(svc.MemoryIn("").Collection()); n != 1 {
		t.Fatalf("%d points after the two-source edit", n)
	}
	// The Qdrant filled at the restart above still holds that point: the
	// next restart removes it.
	if n := fresh.Len(svc.MemoryIn("").Collection()); n != 2 {
		t.Fatalf("%d points in the other Qdrant before its restart", n)
	}
	again, _ := NewServiceOn(ctx, st, aliases, qf)
	if err := again.MemoryIn("").Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := fresh.Len(svc.MemoryIn("").Collection()); n != 1 {
		t.Fatalf("%d points in the other Qdrant after its restart", n)
	}
}

// The latest word on an id wins within one Sync: recorded after a forget,
// the point is kept; forgotten after a record, it never arrives.
func TestMemoryLatestWordWins(t *testing.T) {
	idx := ai.NewMemoryIndex()
	m := NewMemoryOn(idx, aliases)
	ctx := context.Background()
	m.RecordID("a", f("zorb"), f("quix"), true)
	m.Forget("a")
	m.RecordID("b", f("blap"), f("wug"), true)
	if err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	m.Forget("b")
	m.RecordID("b", f("blap"), f("wug"), false)
	if err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	vs, _ := aliases.Embed(ctx, []string{"blap", "wug"})
	hits, err := idx.Search(ctx, m.Collection(), pairVector(vs[0], vs[1]), 10)
	if err != nil || len(hits) != 1 || hits[0].ID != "b" || hits[0].Payload["verdict"] != Rejected {
		t.Fatalf("%+v %v", hits, err)
	}
}

// One namespace's reviews never move another's suggestions: the reviewed
// pairs of team-a speak for team-a's next mapping (exact rules and the
// nearest reviews), and team-b's memory, counts and index collection stay
// empty. A service restarted on the same store keeps them apart, and a
// Qdrant that kept a point of team-a in the default collection (as every
// review was before namespaces had their own) loses it.
func TestReviewMemoryStaysInItsNamespace(t *testing.T) {
	ctx := context.Background()
	st, qsrv, q := reviewStores(t)
	for _, ns := range []string{"team-a", "team-b"} {
		if err := st.CreateNamespace(ctx, store.Namespace{Name: ns}); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := NewServiceOn(ctx, st, aliases, q)
	if err != nil {
		t.Fatal(err)
	}
	src, tgt := schemaOf(t, "a", "zorb", "blap", "id"), schemaOf(t, "b", "quix", "wug", "ident")
	mp, err := svc.CreateIn(ctx, "team-a", "", src, tgt, 3)
	if err != nil {
		t.Fatal(err)
	}
	reviews := []Review{{Target: "quix", Action: "edit", Expr: "src.zorb", Sources: []string{"zorb"}}, {Target: "wug", Action: "edit", Expr: "src.blap", Sources: []string{"blap"}}}
	if _, err := svc.Apply(ctx, mp.ID, reviews); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Apply(ctx, mp.ID, []Review{{Target: "wug", Action: "reject"}}); err != nil {
		t.Fatal(err)
	}
	a, b, def := svc.MemoryIn("team-a"), svc.MemoryIn("team-b"), svc.MemoryIn("")
	if a == b || a == def || a.Collection() == b.Collection() || a.Collection() == def.Collection() {
		t.Fatalf("namespaces share a memory: %q %q %q", a.Collection(), b.Collection(), def.Collection())
	}
	checkNear(t, a)
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 0 || qsrv.Len(b.Collection()) > 0 || qsrv.Len(def.Collection()) > 0 { // -1: no such collection
		t.Fatalf("team-a's reviews reached another namespace: %d counts, %d points in team-b, %d in default", b.Len(), qsrv.Len(b.Collection()), qsrv.Len(def.Collection()))
	}
	if near, err := b.near(ctx, schemaOf(t, "a", "florp", "blep"), schemaOf(t, "b", "quax", "wig")); err != nil || near != nil {
		t.Fatalf("team-b's nearest reviews: %v %v", near, err)
	}
	// The same exact pair, proposed in each namespace: only team-a's
	// review speaks.
	ma, err := svc.Propose(ctx, "team-a", "", src, tgt, 3)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := svc.Propose(ctx, "team-b", "", src, tgt, 3)
	if err != nil {
		t.Fatal(err)
	}
	conf := func(m *Mapping, target string) float64 {
		for _, it := range m.Items {
			if it.Target == target {
				return it.Confidence
			}
		}
		return 0
	}
	if !(conf(ma, "quix") > conf(mb, "quix")) {
		t.Fatalf("quix: team-a %v, team-b %v (team-a's review should raise only its own)", conf(ma, "quix"), conf(mb, "quix"))
	}

	// Before namespaces: team-a's points sat in the default collection.
	legacy := NewMemoryOn(q, aliases)
	legacy.RecordID(reviewID(mp, &Item{Target: "quix"}), f("zorb"), f("quix"), true)
	if err := legacy.Sync(ctx); err != nil || qsrv.Len(def.Collection()) != 1 {
		t.Fatalf("legacy point: %v %d", err, qsrv.Len(def.Collection()))
	}
	again, err := NewServiceOn(ctx, st, aliases, q)
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := qsrv.Len(def.Collection()); n != 0 {
		t.Fatalf("%d points of team-a left in the default collection after a restart", n)
	}
	if again.MemoryIn("team-b").Len() != 0 || again.MemoryIn("").Len() != 0 {
		t.Fatal("after a restart team-a's reviews reached another namespace")
	}
	checkNear(t, again.MemoryIn("team-a"))
}

// downIndex is a vector index that fails every call, counting them.
type downIndex struct{ calls int }

func (d *downIndex) Upsert(context.Context, string, []ai.Point) error {
	d.calls++
	return errors.New("connection refused")
}
func (d *downIndex) Search(context.Context, string, []float32, int) ([]ai.Hit, error) {
	d.calls++
	return nil, errors.New("connection refused")
}
func (d *downIndex) Delete(context.Context, string, []string) error {
	d.calls++
	return errors.New("connection refused")
}

// A failing index is left alone for a backoff that doubles with each
// failure in a row (a hanging one would otherwise cost every suggestion
// its timeout); suggestions meanwhile use the exact rules, and what was
// recorded reaches the index once it answers.
func TestMemoryIndexBackoff(t *testing.T) {
	ctx := context.Background()
	down := &downIndex{}
	m := NewMemoryOn(down, aliases)
	clock := time.Unix(1_700_000_000, 0)
	m.now = func() time.Time { return clock }
	m.Record(f("cust_email"), f("emailAddress"), true)
	if err := m.Sync(ctx); err == nil || down.calls != 1 {
		t.Fatalf("first sync: %v, %d calls", err, down.calls)
	}
	src, tgt := schemaOf(t, "a", "cust_email", "zip"), schemaOf(t, "b", "emailAddress", "city")
	m0, _ := DefaultModel()
	o := Options{Embedder: aliases, Model: m0, Top: 5, Memory: m}
	for range 20 {
		if _, err := scoreFields(ctx, src, tgt, o); err != nil {
			t.Fatal(err)
		}
		if err := m.Sync(ctx); err == nil {
			t.Fatal("sync succeeded on a failing index")
		}
	}
	if down.calls != 1 {
		t.Fatalf("%d index calls within the first backoff, want 1", down.calls)
	}
	// Each failure in a row doubles the wait: 1 s, 2 s, 4 s …
	for k, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		clock = clock.Add(wait - time.Millisecond)
		m.Sync(ctx)
		if down.calls != k+1 {
			t.Fatalf("retry %d came before %v", k+1, wait)
		}
		clock = clock.Add(time.Millisecond)
		m.Sync(ctx)
		if down.calls != k+2 {
			t.Fatalf("no retry %d after %v (%d calls)", k+1, wait, down.calls)
		}
	}
	// The index answers again: the pending review reaches it at the next
	// try, and the failure is cleared.
	clock = clock.Add(backoffMax)
	m.index = ai.NewMemoryIndex()
	if err := m.Sync(ctx); err != nil || m.Err() != nil {
		t.Fatalf("after the index came back: %v %v", err, m.Err())
	}
	if near, err := m.near(ctx, src, tgt); err != nil || near == nil || near[0][0] != 1 {
		t.Fatalf("the review recorded while the index was down: %v %v", near, err)
	}
}
