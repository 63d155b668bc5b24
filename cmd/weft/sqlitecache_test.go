package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftio/weft/store/sqlite"
)

// The SQLite writer's page cache: sqlite_cache_bytes in the file,
// WEFT_SQLITE_CACHE_BYTES in the environment; a size out of bounds stops
// the store from opening with a clear error.
func TestSQLiteCacheSetting(t *testing.T) {
	p := filepath.Join(t.TempDir(), "weft.yaml")
	os.WriteFile(p, []byte("sqlite_cache_bytes: 8388608\n"), 0o600)
	c, err := loadConfig(p, nil)
	if err != nil || c.SQLiteCache != 8<<20 {
		t.Fatalf("%v %v", c, err)
	}
	if c, err = loadConfig("", []string{"WEFT_SQLITE_CACHE_BYTES=1048576"}); err != nil || c.SQLiteCache != 1<<20 {
		t.Fatalf("%v %v", c, err)
	}
	if _, err = loadConfig("", []string{"WEFT_SQLITE_CACHE_BYTES=big"}); err == nil || !strings.Contains(err.Error(), "WEFT_SQLITE_CACHE_BYTES") {
		t.Fatalf("a bad size: %v", err)
	}
	if _, err := sqlite.OpenOptions(context.Background(), t.TempDir(), nil, sqlite.Options{CacheBytes: 4096}); err == nil || !strings.Contains(err.Error(), "page cache of 4096 bytes") {
		t.Fatalf("a 4 KiB cache: %v", err)
	}
}
