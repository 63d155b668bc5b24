//go:build linux

package resident

import (
	"crypto/sha256"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
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

// The trim also drops the executable's cached pages that nothing maps,
// so a page touched again is read back alone instead of mapping the large
// folio start-up's read-ahead put it in (BENCHMARKS.md §60). Without the
// drop, the whole file stays cached after it was read once.
func TestTrimDropsCachedPages(t *testing.T) {
	exe, err := os.ReadFile("/proc/self/exe") // every page of the file in the cache
	if err != nil {
		t.Fatal(err)
	}
	before := cachedShare(t)
	if before < 0.9 {
		t.Fatalf("%.2f of the executable cached after reading it whole; the test cannot see a drop", before)
	}
	rep, err := TrimExecutable()
	if err != nil {
		t.Fatal(err)
	}
	after := cachedShare(t)
	t.Logf("executable (%d MiB) cached: %.2f before the trim, %.2f after (dropped: %v)", len(exe)>>20, before, after, rep.CacheDropped)
	// What stays is what is still mapped, here or elsewhere (the data
	// segment, pages touched since, and whole large folios holding one of
	// them): 0.6 of this small binary when this test was written, 1.0
	// without the drop.
	if !rep.CacheDropped || after > 0.8 {
		var fs unix.Statfs_t
		_ = unix.Statfs("/proc/self/exe", &fs)
		t.Fatalf("%.2f of the executable still cached after the trim (dropped: %v; file system magic %#x)", after, rep.CacheDropped, fs.Type)
	}
	// Everything still runs: the pages come back from the file.
	if !regexp.MustCompile(`^[a-z]+\d{2,}$`).MatchString("abc12") {
		t.Fatal("regexp after the drop")
	}
}

// cachedShare is the share of the executable's pages in the page cache
// (mincore over a fresh mapping of the file: mapping it reads nothing).
func cachedShare(t *testing.T) float64 {
	t.Helper()
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return float64(n) / float64(len(vec))
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
