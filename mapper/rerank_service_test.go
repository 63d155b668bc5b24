package mapper_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/weftio/weft/mapper"
	"github.com/weftio/weft/store/sqlite"
)

// failingChat is a model whose every answer is prose.
type failingChat struct{ calls int }

func (f *failingChat) Name() string { return "fake/prose" }
func (f *failingChat) Generate(context.Context, string) (string, error) {
	f.calls++
	return "I think email goes to customer_email.", nil
}

// The service re-ranks where suggestions are made when a model is set:
// CreateIn stores the proposal with the re-ranker's report and its
// fallback as a warning (and in the log); Propose stores nothing.
func TestServiceRerankerAndPropose(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := mapper.NewService(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	svc.Log = slog.New(slog.NewTextHandler(&logs, nil))
	fc := &failingChat{}
	svc.Reranker = &mapper.Reranker{Model: fc}
	src, _ := mapper.FromFieldList([]byte(shopOrder))
	tgt, _ := mapper.FromFieldList([]byte(erpOrder))
	p, err := svc.Propose(ctx, "", "", src, tgt, 5)
	if err != nil || p.ID != "" || len(p.Items) == 0 {
		t.Fatalf("propose: %v %+v", err, p)
	}
	if list, _ := svc.List(ctx); len(list) != 0 {
		t.Fatalf("Propose stored %d mappings", len(list))
	}
	m, err := svc.CreateIn(ctx, "", "", src, tgt, 5)
	if err != nil || m.ID == "" {
		t.Fatalf("create: %v %+v", err, m)
	}
	got, err := svc.Get(ctx, m.ID)
	if err != nil || got.Rerank == nil || got.Rerank.Backend != "fake/prose" || !strings.Contains(got.Warning, "re-ranker fake/prose: builtin order kept") {
		t.Fatalf("stored: %v %+v %q", err, got.Rerank, got.Warning)
	}
	if fc.calls != 2 || !strings.Contains(logs.String(), "mapper re-ranker fell back to the builtin order") {
		t.Fatalf("%d calls, log %s", fc.calls, logs.String())
	}
	// The builtin proposal is what is stored.
	plain, _ := mapper.Suggest(ctx, src, tgt, mapper.Options{Top: 5})
	if len(plain.Suggestions) != len(got.Items) {
		t.Fatalf("%d items, builtin %d", len(got.Items), len(plain.Suggestions))
	}
	for i, s := range plain.Suggestions {
		if got.Items[i].Target != s.Target || strings.Join(got.Items[i].Sources, "+") != strings.Join(s.Sources, "+") {
			t.Fatalf("item %d: %+v, builtin %+v", i, got.Items[i], s)
		}
	}
}
