package postgres_test

import (
	"context"
	"database/sql"
	"log/slog"
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

// BenchmarkQueue runs against WEFT_BENCH_PG_URL when set (a server with
// production settings), else against the test cluster (fsync off).
//
//	WEFT_BENCH_PG_URL=postgres://... go test -run '^$' -bench Queue -benchtime 10000x ./store/postgres
func BenchmarkQueue(b *testing.B) {
	url := os.Getenv("WEFT_BENCH_PG_URL")
	if url == "" {
		url = pgtest.Shared(b).NewDatabase(b)
	}
	s, err := postgres.Open(context.Background(), url, slog.New(slog.DiscardHandler), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchQueue(b, s, 100)
}

// freshDatabase makes a new database on the shared cluster and returns a
// store on it, a function opening another store on it (another process),
// and a raw handle for editing rows behind the store's back.
func freshDatabase(t *testing.T, pg *pgtest.Server) (store.Store, func() store.Store, *sql.DB) {
	t.Helper()
	url := pg.NewDatabase(t)
	open := func() store.Store {
		s, err := postgres.Open(context.Background(), url, slog.New(slog.DiscardHandler), 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return open(), open, db
}

func TestAuditLog(t *testing.T) {
	pg := pgtest.Shared(t)
	storetest.RunAudit(t, func(t *testing.T) storetest.AuditFixture {
		s, open, db := freshDatabase(t, pg)
		return storetest.AuditFixture{Store: s, Other: open, Exec: func(q string) error {
			_, err := db.Exec(q)
			return err
		}}
	})
}

func TestPayloadSealing(t *testing.T) {
	pg := pgtest.Shared(t)
	storetest.RunSealing(t, func(t *testing.T) storetest.SealFixture {
		s, open, db := freshDatabase(t, pg)
		return storetest.SealFixture{Store: s, DB: db, Other: open}
	})
}

// Concurrent finished runs, some of them duplicates, through the shared
// group committer (eight of them on PostgreSQL).
func TestGroupCommit(t *testing.T) {
	pg := pgtest.Shared(t)
	s, err := postgres.Open(context.Background(), pg.NewDatabase(t), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for round := 0; round < 3; round++ {
		storetest.ConcurrentInsertRuns(t, s, 64, 4, nil)
	}
	c, w := s.CommitStats()
	t.Logf("%d writes in %d commits", w, c)
}

// Runs created with their jobs and finished by concurrent callers: the
// committers insert them together, enqueue their jobs with one insert and
// update them with one statement per batch.
func TestGroupCommitRunWrites(t *testing.T) {
	pg := pgtest.Shared(t)
	s, err := postgres.Open(context.Background(), pg.NewDatabase(t), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c0, w0 := s.CommitStats()
	storetest.ConcurrentRunWrites(t, s, 64, 0, 0, nil)
	c1, w1 := s.CommitStats()
	t.Logf("%d writes in %d commits", w1-w0, c1-c0)
	if c1 >= w1 {
		t.Fatalf("%d writes in %d commits: no batch", w1-w0, c1-c0)
	}
	if n := s.RetriedBatches(); n != 0 {
		t.Fatalf("%d batches failed and were retried write by write; none should have", n)
	}
	storetest.ConcurrentRunWrites(t, s, 64, 3, 2, nil)
}
