package sqlite_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/weftio/weft/store"
)

// TestCompleteJobsAsRiver: a job completed with its run's final write
// (the store's own UPDATE on SQLite) reads back as one completed by
// River's completer: the same columns, the time in River's format.
func TestCompleteJobsAsRiver(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	withRun := map[string]bool{}
	done := make(chan int64, 2)
	w := river.NewWorkers()
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[store.RunArgs]) error {
		fin := time.Now().UTC()
		if withRun[j.Args.RunID] {
			ctx = store.WithQueueJob(ctx, j.Args.RunID, j.ID)
		}
		err := s.UpdateRun(ctx, &store.Run{ID: j.Args.RunID, Status: store.RunSucceeded, FinishedAt: &fin}, nil)
		done <- j.ID
		return err
	}))
	var ids []string
	for _, own := range []bool{true, false} {
		r := &store.Run{Flow: "f", Version: 1, Status: store.RunQueued, TriggerKind: "manual"}
		if _, _, err := s.CreateRun(ctx, r, false); err != nil { // enqueued by Requeue, once the worker knows it
			t.Fatal(err)
		}
		withRun[r.ID] = own
		ids = append(ids, r.ID)
	}
	if err := s.StartQueue(ctx, w, store.QueueConfig{Workers: 2, FetchPollInterval: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	defer s.StopQueue(ctx)
	for _, id := range ids {
		if err := s.Requeue(ctx, id, []string{store.RunQueued}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for range ids {
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("not worked")
		}
	}
	db := rawDB(t, dir, "&_pragma=query_only(1)")
	const cols = `state, attempt, json(errors), json_remove(metadata, '$."river:unique_nonce"'), typeof(scheduled_at), typeof(finalized_at), finalized_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]', julianday(finalized_at) IS NOT NULL`
	read := func(runID string) []string {
		var out [8]sql.NullString
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := db.QueryRowContext(ctx, `SELECT `+cols+` FROM river_job WHERE json_extract(args, '$.run_id') = ?`, runID).
				Scan(&out[0], &out[1], &out[2], &out[3], &out[4], &out[5], &out[6], &out[7])
			if err != nil {
				t.Fatal(err)
			}
			if out[0].String == "completed" || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond) // River's completer is asynchronous
		}
		var ss []string
		for _, v := range out {
			ss = append(ss, v.String)
		}
		return ss
	}
	own, rivers := read(ids[0]), read(ids[1])
	if own[0] != "completed" || own[6] != "1" || own[7] != "1" {
		t.Fatalf("completed with the run: %q", own)
	}
	for i := range own {
		if own[i] != rivers[i] {
			t.Fatalf("completed with the run %q, by River %q", own, rivers)
		}
	}
}
