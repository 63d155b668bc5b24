package sqlite_test

import (
	"bytes"
	"runtime/trace"
	"testing"

	"github.com/weftio/weft/store/storetest"
)

// The group committer marks how long a batch gathers writers and how long
// its commit takes with trace regions, by the names bench/tracetail and
// BENCHMARKS.md §58 read; the checkpoint's two parts keep theirs.
func TestGroupCommitTraceRegions(t *testing.T) {
	s, hold := lockedStore(t)
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatalf("start a trace (is the test run with -trace?): %v", err)
	}
	storetest.ConcurrentInsertRuns(t, s, 16, 0, hold)
	trace.Stop()
	for _, name := range []string{"group commit: gather", "group commit: write"} {
		if !bytes.Contains(buf.Bytes(), []byte(name)) {
			t.Errorf("no %q region in a trace of 17 group-committed writes", name)
		}
	}
}
