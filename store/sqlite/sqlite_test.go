package sqlite_test

import (
	"context"
	"log/slog"
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

// BenchmarkQueue: go test -run '^$' -bench Queue -benchtime 10000x ./store/sqlite
func BenchmarkQueue(b *testing.B) {
	s, err := sqlite.Open(context.Background(), b.TempDir(), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchQueue(b, s, 100)
}
