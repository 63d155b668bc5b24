package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"testing"
	"time"

	"github.com/weftio/weft/store"
)

// A finished run whose attempts carry no payloads is one row: its
// attempts are packed into it, not written to step_attempts (the pages a
// sync run's commit writes). With a payload, or for a tool call, they are
// rows. (What readers see is the contract suite's.)
func TestFinishedRunAttemptsPackedInTheRunRow(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	now := time.Now().UTC()
	mk := func(id, trigger string, payload bool) store.LoggedRun {
		r := &store.Run{ID: id, Flow: "order", Version: 1, Status: store.RunSucceeded, TriggerKind: trigger, Sync: true, CreatedAt: now, StartedAt: now, FinishedAt: &now}
		as := []store.Attempt{
			{RunID: id, Flow: "order", Version: 1, StepID: "a", StepKey: "a", Kind: "set", Attempt: 1, TriggerKind: trigger, Status: store.AttemptOK, StartedAt: now, FinishedAt: now},
			{RunID: id, Flow: "order", Version: 1, StepID: "b", StepKey: "b", Kind: "call", Attempt: 1, TriggerKind: trigger, Status: store.AttemptOK, StartedAt: now, FinishedAt: now},
		}
		if payload {
			as[1].Output = json.RawMessage(`{"ok":true}`)
		}
		return store.LoggedRun{Run: r, Attempts: as}
	}
	if err := s.InsertRuns(ctx, []store.LoggedRun{mk("p", "webhook", false), mk("q", "webhook", true), mk("m", "mcp", false)}); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, dir, "")
	for id, want := range map[string]struct {
		rows   int
		packed bool
	}{"p": {0, true}, "q": {2, false}, "m": {2, false}} {
		var n int
		var packed sql.NullString
		if err := db.QueryRow(`SELECT COUNT(*) FROM step_attempts WHERE run_id = ?`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`SELECT attempts FROM runs WHERE id = ?`, id).Scan(&packed); err != nil {
			t.Fatal(err)
		}
		if n != want.rows || packed.Valid != want.packed {
			t.Fatalf("run %s: %d attempt rows, packed %v %q; want %d rows, packed %v", id, n, packed.Valid, packed.String, want.rows, want.packed)
		}
		got, err := s.ListAttempts(ctx, id)
		if err != nil || len(got) != 2 || got[1].StepID != "b" {
			t.Fatalf("run %s: attempts %v %+v", id, err, got)
		}
	}
}
