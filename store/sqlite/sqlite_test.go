package sqlite_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/weftio/weft/access"
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
	n0, cpu := sqlite.StatementCounts(), processCPU()
	storetest.BenchQueue(b, s, 100)
	// The whole process's CPU per run (the queue's workers and River's
	// completer; start-up is outside the timer but inside this figure,
	// a few ms in all).
	b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-us/run")
	// The database work per run (River's start-up included: a few
	// statements in all).
	n := sqlite.StatementCounts()
	b.ReportMetric(float64(n.WriterTx-n0.WriterTx)/float64(b.N), "wtx/run")
	b.ReportMetric(float64(n.WriterStmts-n0.WriterStmts)/float64(b.N), "wstmt/run")
	b.ReportMetric(float64(n.ReaderStmts-n0.ReaderStmts)/float64(b.N), "rstmt/run")
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

// BenchmarkAuditAppend is the cost an audited API request adds: one
// hash-chained append (go test -run '^$' -bench AuditAppend ./store/sqlite).
func BenchmarkAuditAppend(b *testing.B) {
	s, err := sqlite.Open(context.Background(), b.TempDir(), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	log := access.NewLog(s)
	e := access.Entry{Action: "flow.deploy", Resource: "flow:orders", Source: "127.0.0.1", Details: map[string]any{"version": 3, "file": "orders.yaml"}}
	b.Run("serial", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := log.Record(context.Background(), e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := log.Record(context.Background(), e); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func TestPayloadSealing(t *testing.T) {
	storetest.RunSealing(t, func(t *testing.T) storetest.SealFixture {
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
		return storetest.SealFixture{Store: s, DB: db, Other: open}
	})
}
