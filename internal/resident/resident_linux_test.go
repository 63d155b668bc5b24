//go:build linux

package resident

import (
	"crypto/sha256"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// written is in the executable's writable data (it has an initial value)
// and is changed at run time: a trim must never drop it.
var written = [4096]byte{1, 2, 3}

// The trim gives back most of the executable's resident pages (the test
// binary's start-up and the work below touched them), leaves writable data
// alone, and everything still runs afterwards (pages come back on touch).
func TestTrimExecutable(t *testing.T) {
	// Touch code and read-only data beyond the test's own: JSON, regexp,
	// hashing.
	for i := range written {
		written[i] = byte(i * 7)
	}
	_, _ = json.Marshal(map[string]any{"a": []int{1, 2}, "b": strings.Repeat("x", 100)})
	_ = regexp.MustCompile(`^[a-z]+\d{2,}$`).MatchString("abc12")
	_ = sha256.Sum256([]byte("warm"))

	before, err := executableRSS()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := TrimExecutable()
	if err != nil {
		t.Fatal(err)
	}
	after, err := executableRSS()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("executable resident %d KiB → %d KiB (trimmed %d KiB in %d regions)", before>>10, after>>10, rep.TrimmedBytes>>10, len(rep.Regions))
	// The test binary is small and its own reading of smaps faults part
	// of it back at once (64-KiB windows); weft serve's figure is in
	// BENCHMARKS.md.
	if rep.TrimmedBytes == 0 || after > before*4/5 {
		t.Fatalf("resident %d → %d bytes; want a fifth given back at least", before, after)
	}
	writable := 0
	for _, r := range rep.Regions {
		if r.Perms[1] == 'w' {
			writable++
			if r.Trimmed {
				t.Fatalf("a writable mapping was trimmed: %+v", r)
			}
		}
	}
	if writable == 0 {
		t.Fatal("no writable mapping of the executable seen (its data segment)")
	}
	for i := range written {
		if written[i] != byte(i*7) {
			t.Fatalf("written[%d] = %d after the trim; the data segment lost a write", i, written[i])
		}
	}
	// Code and read-only data come back on their next touch.
	b, err := json.Marshal(map[string]int{"x": 1})
	if err != nil || string(b) != `{"x":1}` {
		t.Fatalf("after the trim: %s %v", b, err)
	}
	if !regexp.MustCompile(`^[a-z]+\d{2,}$`).MatchString("abc12") {
		t.Fatal("regexp after the trim")
	}
}

// smaps lines are read as the kernel writes them.
func TestSmapsLines(t *testing.T) {
	for _, c := range []struct {
		line   string
		header bool
	}{
		{"00400000-00c8a000 r-xp 00000000 fd:01 1234   /usr/bin/weft", true},
		{"7ffd1000-7ffd2000 rw-p 00000000 00:00 0", true},
		{"Rss:                 812 kB", false},
		{"VmFlags: rd ex mr mw me dw sd", false},
		{"THPeligible:    0", false},
	} {
		if got := isHeader([]byte(c.line)); got != c.header {
			t.Errorf("isHeader(%q) = %v", c.line, got)
		}
	}
	if v, ok := field([]byte("Rss:                 812 kB"), "Rss:"); !ok || v != 812<<10 {
		t.Errorf("Rss: %d %v", v, ok)
	}
	if _, ok := field([]byte("Rss: lots"), "Rss:"); ok {
		t.Error("a malformed value parsed")
	}
}

// executableRSS is the resident bytes of the executable's mappings now.
func executableRSS() (int64, error) {
	regions, err := exeRegions()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, r := range regions {
		n += r.RSSBefore
	}
	return n, nil
}
