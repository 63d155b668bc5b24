package monitor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReplayDirWritesNABResultsLayout(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(in, "cat"), 0o755)
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for i := 0; i < 200; i++ {
		v := "10"
		if i == 150 {
			v = "500"
		}
		b.WriteString("2026-01-01 00:" + pad(i/60) + ":" + pad(i%60) + "," + v + "\n")
	}
	os.WriteFile(filepath.Join(in, "cat", "s.csv"), []byte(b.String()), 0o644)
	n, err := ReplayDir(in, out, Config{})
	if err != nil || n != 1 {
		t.Fatal(n, err)
	}
	data, _ := os.ReadFile(filepath.Join(out, "cat", "s.csv"))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if lines[0] != "timestamp,value,anomaly_score" || len(lines) != 201 || !strings.HasPrefix(lines[151], "2026-01-01 00:02:30,500,0.99") && !strings.HasPrefix(lines[151], "2026-01-01 00:02:30,500,1.000000") {
		t.Fatalf("%s / %s", lines[0], lines[151])
	}
	if !strings.HasPrefix(lines[100], "2026-01-01 00:01:39,10,0.000000") {
		t.Fatalf("a steady point scored: %s", lines[100])
	}
	if _, err := ReplayDir(t.TempDir(), out, Config{}); err == nil {
		t.Fatal("empty input accepted")
	}
}

func pad(n int) string {
	if n < 10 {
		return "0" + string(rune('0'+n))
	}
	return string(rune('0'+n/10)) + string(rune('0'+n%10))
}
