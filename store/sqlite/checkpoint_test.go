package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
	"github.com/weftio/weft/store/storetest"
)

// The group committer checkpoints the WAL itself: after every 128th
// commit a backfill copies it on a connection of its own while commits go
// on, then the writer, once the callers of its next commit are answered,
// copies the frames committed meanwhile, and the commit after starts the
// WAL over. 560 commits of a run and three attempts (~7 frames each,
// ~3,900 frames in all, short of the writer's 4,000-frame backstop) leave
// a WAL file (which keeps the size of its longest stretch between two
// restarts) of 128 commits' frames and those of the commits during one
// backfill (~900; a backfill still copying at the next 128th commit is
// waited for, so at most two cycles' ~1,800); without the committer's
// checkpoints it would hold every frame since the first commit. Every run
// is still there.
func TestCommitterCheckpointsTheWAL(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now().UTC()
	const runs = 560 // below the backstop by itself: ~3,900 frames
	for i := range runs {
		id := storetest.IDAt(now, i)
		r := &store.Run{ID: id, Flow: "wal", Version: 1, Status: store.RunSucceeded, TriggerKind: "webhook", Sync: true, CreatedAt: now, StartedAt: now, FinishedAt: &now}
		var as []store.Attempt
		for _, st := range []string{"a", "b", "c"} {
			as = append(as, store.Attempt{RunID: id, Flow: "wal", Version: 1, StepID: st, StepKey: st, Kind: "set", Attempt: 1, TriggerKind: "webhook",
				Status: store.AttemptOK, StartedAt: now, FinishedAt: now})
		}
		if err := s.InsertRun(ctx, r, as); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "weft.db-wal"))
	if err != nil {
		t.Fatal(err)
	}
	// 4 KiB pages and a 24-byte header per frame: 1,000 frames ~ 4.1 MB.
	frames := fi.Size() / (4096 + 24)
	t.Logf("WAL after %d commits: %d bytes (~%d frames)", runs, fi.Size(), frames)
	if frames > 2500 {
		t.Fatalf("the WAL holds ~%d frames after %d commits: it was not checkpointed and started over", frames, runs)
	}
	n, err := s.CountRuns(ctx, "wal")
	if err != nil {
		t.Fatal(err)
	}
	if n[store.RunSucceeded] != runs {
		t.Fatalf("runs after the checkpoints: %v, want %d succeeded", n, runs)
	}
}
