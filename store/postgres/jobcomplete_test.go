package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/weftio/weft/internal/pgtest"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlstore"
)

// TestCompleteJobsAsRiver: a job completed with its run's final write
// (the store's own UPDATE) reads back as one completed by River's
// completer: the same state, attempt, errors, metadata and scheduled
// time, and a finalized time.
func TestCompleteJobsAsRiver(t *testing.T) {
	ctx := context.Background()
	s, _, db := freshDatabase(t, pgtest.Shared(t))
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
	start := time.Now()
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
	const cols = `state::text, attempt::text, coalesce(array_to_json(errors)::text, 'null'), (metadata - 'river:unique_nonce')::text,
		(scheduled_at IS NOT NULL)::text, (finalized_at IS NOT NULL)::text, coalesce((finalized_at BETWEEN $2 AND now())::text, 'false')`
	read := func(runID string) []string {
		var out [7]string
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := db.QueryRowContext(ctx, `SELECT `+cols+` FROM river_job WHERE args->>'run_id' = $1`, runID, start.Add(-time.Second)).
				Scan(&out[0], &out[1], &out[2], &out[3], &out[4], &out[5], &out[6])
			if err != nil {
				t.Fatal(err)
			}
			if out[0] == "completed" || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond) // River's completer is asynchronous
		}
		return out[:]
	}
	own, rivers := read(ids[0]), read(ids[1])
	if own[0] != "completed" || own[5] != "true" || own[6] != "true" {
		t.Fatalf("completed with the run: %q", own)
	}
	for i := range own {
		if own[i] != rivers[i] {
			t.Fatalf("completed with the run %q, by River %q", own, rivers)
		}
	}
}

// TestCompleteJobsPlanByID: the completing UPDATE reaches the jobs it
// names through the primary key, not through River's index on state (which
// reads every running job), on a table the planner has no statistics for.
func TestCompleteJobsPlanByID(t *testing.T) {
	ctx := context.Background()
	_, _, db := freshDatabase(t, pgtest.Shared(t))
	if _, err := db.ExecContext(ctx, `INSERT INTO river_job (args, kind, max_attempts, state)
		SELECT '{}', 'run', 25, (CASE WHEN g % 3 = 0 THEN 'running' ELSE 'available' END)::river_job_state FROM generate_series(1, 4000) g`); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `EXPLAIN `+sqlstore.CompleteJobsPG, time.Now().UTC(), []int64{3, 6, 9, 12, 15})
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if p := plan.String(); !strings.Contains(p, "river_job_pkey") || strings.Contains(p, "fetching") {
		t.Fatalf("the completing UPDATE does not go by id:\n%s", p)
	}
	// It completes exactly the running jobs named.
	var n int
	if err := db.QueryRowContext(ctx, `WITH c AS (`+sqlstore.CompleteJobsPG+`) SELECT count(*) FROM c`, time.Now().UTC(), []int64{3, 4, 6}).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("%d jobs completed, want 2 (3 and 6 run; 4 is available)", n)
	}
}
