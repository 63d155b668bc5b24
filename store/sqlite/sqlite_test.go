package sqlite_test

import (
	"context"
	"testing"

	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
	"github.com/weftio/weft/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), t.TempDir(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
