package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// The writer's page cache is what Options say (SQLite's cache_size in KiB,
// negative), 2 MiB by default; a size out of bounds refuses to open.
func TestWriterPageCache(t *testing.T) {
	registerDriver()
	for _, c := range []struct {
		bytes int64
		want  int64
	}{{DefaultCacheBytes, -2048}, {64 << 20, -65536}, {100 << 10, -100}} {
		db, err := sql.Open(driverName, writerDSN(filepath.Join(t.TempDir(), "weft.db"), c.bytes))
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		if err := db.QueryRow("PRAGMA cache_size").Scan(&got); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if got != c.want {
			t.Fatalf("cache_size for %d bytes: %d, want %d", c.bytes, got, c.want)
		}
	}
	for _, n := range []int64{-1, 1000, MaxCacheBytes + 1} {
		dir := t.TempDir()
		if _, err := OpenOptions(context.Background(), dir, nil, Options{CacheBytes: n}); err == nil || !strings.Contains(err.Error(), "page cache") {
			t.Fatalf("a page cache of %d bytes: %v", n, err)
		}
	}
	s, err := OpenOptions(context.Background(), t.TempDir(), nil, Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}
