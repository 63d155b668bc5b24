// Package indextest is the contract every ai.VectorIndex passes.
package indextest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/weftio/weft/ai"
)

// Run runs the contract against a fresh index.
func Run(t *testing.T, open func(t *testing.T) ai.VectorIndex) {
	ctx := context.Background()
	col := fmt.Sprintf("weft_contract_%d", time.Now().UnixNano())
	t.Run("nearest first, upsert replaces, delete removes", func(t *testing.T) {
		idx := open(t)
		e := ai.Builtin{Dim: 256}
		texts := []string{"customer email", "postal code", "phone number", "invoice total"}
		vs, _ := e.Embed(ctx, texts)
		var pts []ai.Point
		for i, v := range vs {
			pts = append(pts, ai.Point{ID: fmt.Sprintf("f%d", i), Vector: v, Payload: map[string]string{"text": texts[i]}})
		}
		if err := idx.Upsert(ctx, col, pts); err != nil {
			t.Fatal(err)
		}
		q, _ := e.Embed(ctx, []string{"zip"})
		hits, err := idx.Search(ctx, col, q[0], 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 2 || hits[0].ID != "f1" || hits[0].Payload["text"] != "postal code" || hits[0].Score < hits[1].Score {
			t.Fatalf("hits %+v", hits)
		}
		moved, _ := e.Embed(ctx, []string{"zip code"})
		if err := idx.Upsert(ctx, col, []ai.Point{{ID: "f3", Vector: moved[0], Payload: map[string]string{"text": "zip code"}}}); err != nil {
			t.Fatal(err)
		}
		hits, _ = idx.Search(ctx, col, q[0], 4)
		if len(hits) != 4 || hits[0].ID != "f3" {
			t.Fatalf("after upsert %+v", hits)
		}
		if err := idx.Delete(ctx, col, []string{"f3"}); err != nil {
			t.Fatal(err)
		}
		hits, _ = idx.Search(ctx, col, q[0], 10)
		if len(hits) != 3 || hits[0].ID != "f1" {
			t.Fatalf("after delete %+v", hits)
		}
	})
	t.Run("bounds: k over the size, a wrong size, unknown ids", func(t *testing.T) {
		idx := open(t)
		c := col + "_bounds"
		if err := idx.Upsert(ctx, c, []ai.Point{{ID: "a", Vector: []float32{1, 0, 0}}, {ID: "b", Vector: []float32{0, 1, 0}}}); err != nil {
			t.Fatal(err)
		}
		hits, err := idx.Search(ctx, c, []float32{0, 2, 0}, 100)
		if err != nil || len(hits) != 2 || hits[0].ID != "b" || hits[0].Score < 0.999 {
			t.Fatalf("k over the size: %+v %v", hits, err)
		}
		if err := idx.Upsert(ctx, c, []ai.Point{{ID: "c", Vector: []float32{1, 0}}}); err == nil {
			t.Fatal("a vector of another size was accepted")
		}
		if err := idx.Delete(ctx, c, []string{"never-written"}); err != nil {
			t.Fatalf("deleting an unknown id: %v", err)
		}
		if hits, _ := idx.Search(ctx, c, []float32{1, 0, 0}, 10); len(hits) != 2 {
			t.Fatalf("after the refused upsert and the no-op delete: %+v", hits)
		}
	})
	t.Run("unknown collection", func(t *testing.T) {
		idx := open(t)
		if _, err := idx.Search(ctx, col+"_never", make([]float32, 256), 3); !errors.Is(err, ai.ErrNoCollection) {
			t.Fatalf("%v", err)
		}
	})
}
