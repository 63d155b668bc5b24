package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/weftio/weft/internal/pgtest"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/postgres"
	"github.com/weftio/weft/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

func TestContract(t *testing.T) {
	pg := pgtest.Shared(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), pg.NewDatabase(t), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
