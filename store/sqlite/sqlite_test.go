package sqlite_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
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

func TestAuditLog(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T) storetest.AuditFixture {
		dir := t.TempDir()
		open := func() store.Store {
			s, err := sqlite.Open(context.Background(), dir, slog.New(slog.DiscardHandler), 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		s := open()
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "weft.db")+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return storetest.AuditFixture{Store: s, Other: open, Exec: func(q string) error {
			_, err := db.Exec(q)
			return err
		}}
	})
}
