package search_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/weftio/weft/ai/search"
)

// BenchmarkSearch1000: one query over 1,000 operations (builtin embedder,
// in-process vectors).
//
//	go test -run "^$" -bench Search1000 ./ai/search
func BenchmarkSearch1000(b *testing.B) {
	verbs := []string{"list", "get", "create", "update", "delete"}
	things := []string{"account", "contact", "deal", "invoice", "order", "ticket", "project", "employee", "shipment", "payment"}
	var docs []search.Doc
	for i := 0; i < 1000; i++ {
		v, th := verbs[i%5], things[(i/5)%10]
		docs = append(docs, search.Doc{ID: fmt.Sprintf("erp__%s_%s_%d", v, th, i), Name: fmt.Sprintf("erp %s_%s_%d", v, th, i), Title: v + " " + th, Description: fmt.Sprintf("%s a %s record in system area %d", v, th, i/50)})
	}
	ctx := context.Background()
	x := search.New(search.Options{})
	if _, err := x.Set(ctx, docs); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := x.Search(ctx, "create an invoice", 10, nil); err != nil {
			b.Fatal(err)
		}
	}
}
