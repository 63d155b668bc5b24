package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/internal/bounded/boundedtest"
)

func TestIssue16_F01_ConfigAliasBombRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("addr: 127.0.0.1:9999\n" + boundedtest.AliasAnchors() + "deploy: *x9\n")
	p := filepath.Join(t.TempDir(), "weft.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := loadConfig(p, nil)
	if err == nil || !strings.Contains(err.Error(), "weft.yaml:5:38: YAML aliases expand to more than 10000 nodes") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
	// Anchors within the limits still work.
	os.WriteFile(p, []byte("deploy: &d [a.yaml, b.yaml]\nsandboxes: *d\n"), 0o600)
	c, err := loadConfig(p, nil)
	if err != nil || len(c.Sandboxes) != 2 {
		t.Fatalf("%v %v", c, err)
	}
}

func TestIssue16_F20_MaxImportBytesSetting(t *testing.T) {
	p := filepath.Join(t.TempDir(), "weft.yaml")
	os.WriteFile(p, []byte("max_import_bytes: 1000\n"), 0o600)
	c, err := loadConfig(p, nil)
	if err != nil || c.MaxImport != 1000 {
		t.Fatalf("%v %v", c, err)
	}
	if c, err = loadConfig("", []string{"WEFT_MAX_IMPORT_BYTES=134217728"}); err != nil || c.MaxImport != 128<<20 {
		t.Fatalf("%v %v", c, err)
	}
}
