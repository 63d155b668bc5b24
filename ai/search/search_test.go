package search_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/qdrant/go-client/qdrant"

	"github.com/weftio/weft/ai"
	"github.com/weftio/weft/ai/qdranttest"
	"github.com/weftio/weft/ai/search"
)

// counting counts the texts it embeds (builtin vectors underneath).
type counting struct {
	texts atomic.Int64
	fail  atomic.Bool
}

func (c *counting) Name() string { return "counting" }
func (c *counting) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if c.fail.Load() {
		return nil, errors.New("model down")
	}
	c.texts.Add(int64(len(texts)))
	return ai.Builtin{}.Embed(ctx, texts)
}

var crm = []search.Doc{
	{ID: "crm.createContact", Name: "createContact", Description: "Create a contact in the CRM"},
	{ID: "crm.listDeals", Name: "listDeals", Description: "List deals, newest first"},
	{ID: "crm.closeDeal", Name: "closeDeal", Description: "Mark a deal as won or lost"},
	{ID: "crm.lookupPostalArea", Name: "lookupPostalArea", Description: "Find the region of a zip code"},
	{ID: "billing.listInvoices", Name: "listInvoices", Title: "List invoices", Description: "List bills, newest first"},
	{ID: "chat.postMessage", Name: "postMessage", Description: "Send a message to a channel"},
	{ID: "chat.archiveChannel", Name: "archiveChannel", Description: "Archive a channel; its messages stay readable"},
}

func ids(hs []search.Hit) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.ID)
	}
	return out
}

func open(t *testing.T, o search.Options, docs []search.Doc) *search.Index {
	t.Helper()
	x := search.New(o)
	if _, err := x.Set(context.Background(), docs); err != nil {
		t.Fatal(err)
	}
	return x
}

func TestRanking(t *testing.T) {
	x := open(t, search.Options{}, crm)
	ctx := context.Background()
	for q, want := range map[string]string{
		"close the deal":          "crm.closeDeal",
		"send message to channel": "chat.postMessage",
		"invoice":                 "billing.listInvoices", // plural folded
		"postcode lookup":         "crm.lookupPostalArea", // by meaning and by name
		"zip":                     "crm.lookupPostalArea",
		"archive":                 "chat.archiveChannel",
	} {
		hs, err := x.Search(ctx, q, 3, nil)
		if err != nil || len(hs) == 0 || hs[0].ID != want {
			t.Errorf("%q: %v %v (want %s first)", q, ids(hs), err, want)
		}
		for i := 1; i < len(hs); i++ {
			if hs[i].Score > hs[i-1].Score || hs[i].Score <= 0 || hs[0].Score > 1 {
				t.Errorf("%q: scores not in (0,1] best first: %+v", q, hs)
			}
		}
	}
	// The name weighs more than the description: "message" is in
	// postMessage's name and in archiveChannel's description.
	hs, _ := x.Search(ctx, "message", 5, nil)
	if len(hs) < 2 || hs[0].ID != "chat.postMessage" || !contains(ids(hs), "chat.archiveChannel") {
		t.Errorf("message: %v", ids(hs))
	}
	// Nothing in the index is about this: nothing is found.
	for _, q := range []string{"kubernetes", "", "   ", "?!"} {
		if hs, err := x.Search(ctx, q, 5, nil); len(hs) != 0 || err != nil {
			t.Errorf("%q found %v %v", q, ids(hs), err)
		}
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// Documents are embedded once, when they are added or change; a query
// costs one embedding.
func TestIndexUpdates(t *testing.T) {
	e := &counting{}
	ctx := context.Background()
	x := search.New(search.Options{Embedder: e})
	if n, err := x.Set(ctx, crm); err != nil || n != len(crm) {
		t.Fatalf("%d %v", n, err)
	}
	before := e.texts.Load()
	for i := 0; i < 5; i++ {
		if _, err := x.Search(ctx, "close the deal", 3, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.texts.Load() - before; got != 5 {
		t.Fatalf("5 queries embedded %d texts", got)
	}
	if n, _ := x.Set(ctx, crm); n != 0 {
		t.Fatalf("an unchanged set re-embedded %d documents", n)
	}
	changed := append([]search.Doc(nil), crm...)
	changed[2] = search.Doc{ID: "crm.closeDeal", Name: "closeDeal", Description: "Mark an opportunity as won or lost"}
	changed = append(changed, search.Doc{ID: "crm.deleteContact", Name: "deleteContact", Description: "Delete a contact"})
	before = e.texts.Load()
	if n, err := x.Set(ctx, changed); err != nil || n != 2 || e.texts.Load()-before != 2 {
		t.Fatalf("one changed and one new document: %d embedded (%d texts) %v", n, e.texts.Load()-before, err)
	}
	if hs, _ := x.Search(ctx, "opportunity", 3, nil); len(hs) == 0 || hs[0].ID != "crm.closeDeal" {
		t.Fatalf("the changed description is not searched: %v", ids(hs))
	}
	if hs, _ := x.Search(ctx, "delete contact", 1, nil); len(hs) != 1 || hs[0].ID != "crm.deleteContact" {
		t.Fatalf("the new document is not found: %v", ids(hs))
	}
	if err := x.Upsert(ctx, search.Doc{ID: "crm.mergeContacts", Name: "mergeContacts", Description: "Merge two duplicate contacts"}); err != nil {
		t.Fatal(err)
	}
	if hs, _ := x.Search(ctx, "merge duplicates", 1, nil); len(hs) != 1 || hs[0].ID != "crm.mergeContacts" {
		t.Fatalf("upserted: %v", ids(hs))
	}
}

func TestDeletion(t *testing.T) {
	ctx := context.Background()
	vec := ai.NewMemoryIndex()
	x := open(t, search.Options{Vectors: vec}, crm)
	if err := x.Delete(ctx, "crm.closeDeal"); err != nil {
		t.Fatal(err)
	}
	if hs, _ := x.Search(ctx, "close deal", 10, nil); contains(ids(hs), "crm.closeDeal") {
		t.Fatalf("deleted document found: %v", ids(hs))
	}
	// Set without a document removes it from the words and the vectors.
	if _, err := x.Set(ctx, crm[:1]); err != nil {
		t.Fatal(err)
	}
	if x.Len() != 1 {
		t.Fatalf("%d documents", x.Len())
	}
	hits, err := vec.Search(ctx, x.Collection(), make([]float32, 1024), 100)
	if err != nil || len(hits) != 1 || hits[0].ID != "crm.createContact" {
		t.Fatalf("vectors left behind: %+v %v", hits, err)
	}
	if hs, _ := x.Search(ctx, "send message", 10, nil); len(hs) != 0 {
		t.Fatalf("removed documents found: %v", ids(hs))
	}
}

// allow hides documents: never returned, however well they match.
func TestAllow(t *testing.T) {
	x := open(t, search.Options{}, crm)
	onlyChat := func(id string) bool { return strings.HasPrefix(id, "chat.") }
	for _, q := range []string{"close the deal", "deal", "create contact", "message channel", "zip"} {
		hs, err := x.Search(context.Background(), q, 50, onlyChat)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hs {
			if !onlyChat(h.ID) {
				t.Fatalf("%q: hidden %s returned", q, h.ID)
			}
		}
	}
}

func TestBounds(t *testing.T) {
	ctx := context.Background()
	x := open(t, search.Options{}, crm)
	long := strings.Repeat("deal é ", search.MaxQueryBytes) // multi-byte at the cut
	if hs, err := x.Search(ctx, long, 3, nil); err != nil || len(hs) == 0 || hs[0].ID != "crm.listDeals" && hs[0].ID != "crm.closeDeal" {
		t.Fatalf("long query: %v %v", ids(hs), err)
	}
	if hs, _ := x.Search(ctx, "list", -1, nil); len(hs) == 0 || len(hs) > 10 {
		t.Fatalf("limit -1: %d hits", len(hs))
	}
	if hs, _ := x.Search(ctx, "list", 1<<30, nil); len(hs) > len(crm) {
		t.Fatalf("huge limit: %d hits", len(hs))
	}
	if hs, _ := x.Search(ctx, "list", 1, nil); len(hs) != 1 {
		t.Fatalf("limit 1: %d hits", len(hs))
	}
	if _, err := x.Set(ctx, []search.Doc{{Name: "x"}}); err == nil {
		t.Fatal("a document without an id was accepted")
	}
	if _, err := x.Set(ctx, make([]search.Doc, search.MaxDocs+1)); err == nil {
		t.Fatal("more than MaxDocs documents accepted")
	}
	if x.Len() != len(crm) {
		t.Fatalf("a refused Set changed the index: %d", x.Len())
	}
	empty := search.New(search.Options{})
	if hs, err := empty.Search(ctx, "anything", 5, nil); len(hs) != 0 || err != nil {
		t.Fatalf("empty index: %v %v", hs, err)
	}
}

// When the embedder fails, the lexical ranking still answers, with the
// error.
func TestEmbedderDown(t *testing.T) {
	e := &counting{}
	x := open(t, search.Options{Embedder: e}, crm)
	e.fail.Store(true)
	hs, err := x.Search(context.Background(), "close the deal", 3, nil)
	if err == nil || len(hs) == 0 || hs[0].ID != "crm.closeDeal" {
		t.Fatalf("%v %v", ids(hs), err)
	}
	if _, err := x.Set(context.Background(), append(crm, search.Doc{ID: "x.y", Name: "y"})); err == nil || x.Len() != len(crm) {
		t.Fatalf("a failed embedding changed the index: %v %d", err, x.Len())
	}
}

// With Qdrant as the vector index (the in-process one speaking its gRPC
// API), documents are upserted and queries answered through it, with the
// same ranking as in process.
func TestQdrant(t *testing.T) {
	srv := qdranttest.Start(t)
	q, err := ai.NewQdrant(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	x := open(t, search.Options{Vectors: q, Collection: "weft_tools"}, crm)
	mem := open(t, search.Options{}, crm)
	if srv.Len(x.Collection()) != len(crm) {
		t.Fatalf("%d points in Qdrant", srv.Len(x.Collection()))
	}
	for _, query := range []string{"close the deal", "zip", "send message to channel", "invoices"} {
		a, err := x.Search(ctx, query, 5, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := mem.Search(ctx, query, 5, nil)
		if strings.Join(ids(a), " ") != strings.Join(ids(b), " ") {
			t.Errorf("%q: Qdrant %v, in process %v", query, ids(a), ids(b))
		}
	}
	if srv.Calls("/qdrant.Points/Query") < 4 {
		t.Fatalf("%d queries reached Qdrant", srv.Calls("/qdrant.Points/Query"))
	}
	if _, err := x.Set(ctx, crm[1:]); err != nil || srv.Len(x.Collection()) != len(crm)-1 {
		t.Fatalf("removal did not reach Qdrant: %d points, %v", srv.Len(x.Collection()), err)
	}
	// Qdrant loses the collection (wiped, replaced): the next search
	// writes the documents again and answers through it.
	qc, err := qdrant.NewClient(&qdrant.Config{Host: "127.0.0.1", Port: port(t, srv.URL())})
	if err != nil {
		t.Fatal(err)
	}
	defer qc.Close()
	if err := qc.DeleteCollection(ctx, x.Collection()); err != nil || srv.Len(x.Collection()) != -1 {
		t.Fatal(err)
	}
	if hs, err := x.Search(ctx, "zip", 1, nil); err != nil || len(hs) != 1 || hs[0].ID != "crm.lookupPostalArea" || srv.Len(x.Collection()) != len(crm)-1 {
		t.Fatalf("after the collection was lost: %v %v, %d points", ids(hs), err, srv.Len(x.Collection()))
	}
	// A stale point (left by another process) is never returned.
	x2 := open(t, search.Options{Vectors: q, Collection: "weft_tools"}, crm[3:])
	if hs, _ := x2.Search(ctx, "deal", 10, nil); contains(ids(hs), "crm.listDeals") {
		t.Fatalf("stale point returned: %v", ids(hs))
	}
}

func port(t *testing.T, url string) int {
	t.Helper()
	var p int
	if _, err := fmt.Sscanf(url, "http://127.0.0.1:%d", &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// Searches and updates may run at once.
func TestConcurrent(t *testing.T) {
	x := open(t, search.Options{}, crm)
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 50; i++ {
			if _, err := x.Set(ctx, crm[i%3:]); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 50; i++ {
		if _, err := x.Search(ctx, "deal message", 5, nil); err != nil {
			t.Fatal(err)
		}
	}
	<-done
}
