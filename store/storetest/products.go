package storetest

import (
	"context"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// products: a save bumps the revision; a save naming a stale revision is a
// conflict and changes nothing; an unknown namespace is invalid; list is
// by name; delete once.
func products(t *testing.T, s store.Products) {
	ctx := context.Background()
	p, err := s.SaveProduct(ctx, store.ProductDoc{Name: "orders", Doc: []byte(`{"name":"orders"}`)})
	must(t, err)
	if p.Revision != 1 || p.Namespace != store.DefaultNamespace || p.CreatedAt.IsZero() {
		t.Fatalf("created: %+v", p)
	}
	p2, err := s.SaveProduct(ctx, store.ProductDoc{Name: "orders", Revision: 1, Doc: []byte(`{"name":"orders","v":2}`)})
	must(t, err)
	if p2.Revision != 2 || !p2.CreatedAt.Equal(p.CreatedAt) {
		t.Fatalf("replaced: %+v (first %+v)", p2, p)
	}
	if _, err := s.SaveProduct(ctx, store.ProductDoc{Name: "orders", Revision: 1, Doc: []byte(`{"stale":true}`)}); weft.Code(err) != weft.EConflict {
		t.Fatalf("stale revision: %v", err)
	}
	got, err := s.Product(ctx, "orders")
	must(t, err)
	if got.Revision != 2 || string(got.Doc) != `{"name":"orders","v":2}` || got.Namespace != store.DefaultNamespace {
		t.Fatalf("read back: %+v %s", got, got.Doc)
	}
	// Revision 0: replace whatever is there.
	p3, err := s.SaveProduct(ctx, store.ProductDoc{Name: "orders", Doc: []byte(`{"name":"orders","v":3}`)})
	must(t, err)
	if p3.Revision != 3 {
		t.Fatalf("unconditional save: %+v", p3)
	}
	if _, err := s.SaveProduct(ctx, store.ProductDoc{Name: "other", Namespace: "no-such-ns", Doc: []byte(`{}`)}); weft.Code(err) != weft.EInvalid {
		t.Fatalf("unknown namespace: %v", err)
	}
	if _, err := s.SaveProduct(ctx, store.ProductDoc{Name: "ghost", Revision: 4, Doc: []byte(`{}`)}); weft.Code(err) != weft.EConflict {
		t.Fatalf("a revision of a product that does not exist: %v", err)
	}
	_, err = s.SaveProduct(ctx, store.ProductDoc{Name: "billing", Doc: []byte(`{"name":"billing"}`)})
	must(t, err)
	list, err := s.ProductList(ctx)
	must(t, err)
	if len(list) != 2 || list[0].Name != "billing" || list[1].Name != "orders" || list[1].Revision != 3 {
		t.Fatalf("list: %+v", list)
	}
	if _, err := s.Product(ctx, "nope"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("unknown product: %v", err)
	}
	must(t, s.DeleteProduct(ctx, "orders"))
	if err := s.DeleteProduct(ctx, "orders"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := s.Product(ctx, "orders"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("deleted product: %v", err)
	}
}
