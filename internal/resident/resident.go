// Package resident gives back the resident pages of a long-running
// process's executable that only its start-up needed.
//
// Starting a Go program of Weft's size touches most of its executable:
// some 70 modules' package initialisers, the runtime's walk over every
// interface table, the store's opening, the flows' deployment
// (BENCHMARKS.md §55: 87 % of the text, 81 % of the read-only data resident
// before the first request, each fault mapping a 64 KiB window). Those
// pages are clean copies of the file. They stay in the process's resident
// set although the serving path uses a few MiB of them.
//
// TrimExecutable drops this process's mappings of those pages
// (madvise(MADV_DONTNEED) on the executable's read-only, file-only
// mappings), marks those mappings for random access (no read-ahead), and
// asks the kernel to drop the executable's cached pages that nothing maps
// any longer. Without that last step, a kernel whose page cache holds
// large folios maps a whole folio (up to 2 MiB) on a touch of any of its
// pages, and serving's scattered touches made ~30–46 MiB of the file
// resident again (BENCHMARKS.md §60). With it, a page the process touches
// again is read back alone (a major fault, once) and only what serving
// uses is resident. Writable mappings (data, bss, heap, stacks) and any
// read-only mapping holding a private copy (a page relocated by the
// dynamic loader, then made read-only) are never touched, so no byte the
// process wrote is lost.
package resident

import "errors"

// Region is one of the executable's mappings as TrimExecutable saw it.
type Region struct {
	Start, End uint64
	Perms      string
	RSSBefore  int64 // bytes resident before the trim
	Trimmed    bool  // false: left alone (writable, or holds private copies)
}

// Report is what a trim did.
type Report struct {
	Regions      []Region
	BeforeBytes  int64 // resident bytes of the executable's mappings before
	TrimmedBytes int64 // resident bytes of the mappings trimmed, before
	CacheDropped bool  // the executable's unmapped cached pages were dropped (see dropCache)
}

// ErrUnsupported: the platform has no way to do it (only Linux has).
var ErrUnsupported = errors.New("resident: trimming the executable's pages is supported on Linux only")
