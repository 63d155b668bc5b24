//go:build linux

package resident

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxSmaps bounds how much of /proc/self/smaps is read (a process maps a
// few hundred regions of ~25 lines each; the executable's come first, so a
// longer file cut here loses none of them).
const maxSmaps = 32 << 20

// TrimExecutable drops the resident pages of the executable's read-only,
// file-only mappings from this process (see the package comment).
func TrimExecutable() (Report, error) {
	regions, err := exeRegions()
	if err != nil {
		return Report{}, err
	}
	var rep Report
	for _, r := range regions {
		rep.BeforeBytes += r.RSSBefore
		if !r.Trimmed {
			continue
		}
		// RANDOM keeps a later fault in the region to the page it needs
		// (no read-ahead around it). PAGEOUT unmaps and drops each cached
		// folio only this process maps in one step, so a page touched
		// meanwhile cannot keep a large folio cached (kernels before 5.4
		// lack it, and it leaves file pages alone for a process that
		// neither owns nor may write the file: then dropCache does that
		// part). DONTNEED unmaps whatever is left.
		for _, advice := range []int{unix.MADV_RANDOM, unix.MADV_PAGEOUT, unix.MADV_DONTNEED} {
			_, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(r.Start), uintptr(r.End-r.Start), uintptr(advice))
			if errno != 0 && !(advice == unix.MADV_PAGEOUT && (errno == unix.EINVAL || errno == unix.EPERM)) {
				return rep, fmt.Errorf("resident: madvise %x-%x: %w", r.Start, r.End, errno)
			}
		}
		rep.TrimmedBytes += r.RSSBefore
	}
	rep.Regions = regions
	if rep.TrimmedBytes > 0 {
		rep.CacheDropped = dropCache()
	}
	return rep, nil
}

// dropCache asks the kernel to drop the executable's cached pages that no
// process maps any longer (POSIX_FADV_DONTNEED; a page still mapped, here
// or by another process, stays). Start-up read the file with read-ahead,
// and on kernels whose page cache holds large folios (ext4, xfs, tmpfs
// since 6.x) a fault on any page of a folio maps the whole folio, up to 2
// MiB: serving's few touches would make most of the executable resident
// again (BENCHMARKS.md §60). With the cache dropped and the regions
// marked RANDOM, a page serving touches is read back alone, once, and
// only the pages serving uses become resident. The cost is that read, a
// major fault per page the first time serving touches it.
func dropCache() bool {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return false
	}
	defer f.Close()
	// A page not yet written back cannot be dropped: write the file back
	// first (a no-op for an installed binary; a fresh build's pages may
	// still be dirty).
	_ = unix.Fdatasync(int(f.Fd()))
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED) == nil
}

// exeRegions reads /proc/self/smaps for the mappings of the executable
// (by its inode). A region is marked Trimmed when it is neither writable
// nor holds anonymous (privately copied) pages.
func exeRegions() ([]Region, error) {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &st); err != nil {
		return nil, fmt.Errorf("resident: %w", err)
	}
	ino := st.Ino
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return nil, fmt.Errorf("resident: %w", err)
	}
	defer f.Close()
	var (
		out  []Region
		cur  *Region
		anon int64
	)
	finish := func() {
		if cur != nil {
			cur.Trimmed = cur.Perms[1] != 'w' && anon == 0
			out = append(out, *cur)
		}
		cur, anon = nil, 0
	}
	sc := bufio.NewScanner(io.LimitReader(f, maxSmaps))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := sc.Bytes()
		if isHeader(line) {
			finish()
			fs := strings.Fields(string(line))
			if len(fs) < 6 {
				continue // an anonymous mapping
			}
			n, err := strconv.ParseUint(fs[4], 10, 64)
			if err != nil || n != ino || len(fs[1]) < 4 {
				continue
			}
			lo, hi, ok := strings.Cut(fs[0], "-")
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			if !ok || err1 != nil || err2 != nil || end <= start {
				continue
			}
			cur = &Region{Start: start, End: end, Perms: fs[1]}
			continue
		}
		if cur == nil {
			continue
		}
		if v, ok := field(line, "Rss:"); ok {
			cur.RSSBefore = v
		} else if v, ok := field(line, "Anonymous:"); ok {
			anon = v
		}
	}
	finish()
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("resident: reading smaps: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("resident: no mapping of the executable in /proc/self/smaps")
	}
	return out, nil
}

// isHeader: a mapping's first line ("start-end perms offset dev inode
// path"), not a "Key: value" line.
func isHeader(line []byte) bool {
	i := bytes.IndexByte(line, ' ')
	return i > 0 && bytes.IndexByte(line[:i], '-') > 0 && !bytes.HasSuffix(line[:i], []byte(":"))
}

// field parses "Key:   123 kB" into bytes.
func field(line []byte, key string) (int64, bool) {
	rest, ok := bytes.CutPrefix(line, []byte(key))
	if !ok {
		return 0, false
	}
	fs := strings.Fields(string(rest))
	if len(fs) != 2 || fs[1] != "kB" {
		return 0, false
	}
	v, err := strconv.ParseInt(fs[0], 10, 64)
	if err != nil {
		return 0, false
	}
	return v << 10, true
}
