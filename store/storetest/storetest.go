// Package storetest is the one contract suite every store implementation
// must pass (the River driver-test habit): store/sqlite and store/postgres
// both run it.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlstore"
)

// Run runs the contract suite. open returns a fresh, empty store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("flow versions are immutable and rollback re-activates", func(t *testing.T) {
		s := open(t)
		v1, err := s.DeployFlow(ctx, "orders", "", "orders.yaml", []byte("v1"))
		must(t, err)
		v2, err := s.DeployFlow(ctx, "orders", "", "orders.yaml", []byte("v2"))
		must(t, err)
		if v1.Version != 1 || v2.Version != 2 {
			t.Fatalf("versions %d %d", v1.Version, v2.Version)
		}
		active, err := s.GetFlow(ctx, "orders", 0)
		must(t, err)
		if active.Version != 2 || string(active.Source) != "v2" || !active.Active {
			t.Fatalf("active %+v", active)
		}
		must(t, s.ActivateFlow(ctx, "orders", 1))
		active, _ = s.GetFlow(ctx, "orders", 0)
		if active.Version != 1 || string(active.Source) != "v1" {
			t.Fatalf("after rollback %+v", active)
		}
		old, err := s.GetFlow(ctx, "orders", 2)
		must(t, err)
		if string(old.Source) != "v2" || old.Active {
			t.Fatalf("v2 %+v", old)
		}
		if err := s.ActivateFlow(ctx, "orders", 9); weft.Code(err) != weft.ENotFound {
			t.Fatalf("activate missing: %v", err)
		}
		if _, err := s.GetFlow(ctx, "nope", 0); weft.Code(err) != weft.ENotFound {
			t.Fatalf("get missing: %v", err)
		}
		list, err := s.ListFlows(ctx)
		must(t, err)
		if len(list) != 1 || list[0].ActiveVersion != 1 || list[0].LatestVersion != 2 {
			t.Fatalf("list %+v", list)
		}
		vs, err := s.ListFlowVersions(ctx, "orders")
		must(t, err)
		if len(vs) != 2 || !vs[0].Active || vs[1].Active {
			t.Fatalf("versions %+v", vs)
		}
	})

	t.Run("runs dedupe on idempotency key", func(t *testing.T) {
		s := open(t)
		r := &store.Run{Flow: "f", Version: 1, Status: store.RunRunning, TriggerKind: "webhook", IdemKey: "evt-1", Input: json.RawMessage(`{"body":{}}`)}
		got, created, err := s.CreateRun(ctx, r, false)
		must(t, err)
		if !created || got.ID == "" {
			t.Fatalf("first create: %v %+v", created, got)
		}
		dup, created, err := s.CreateRun(ctx, &store.Run{Flow: "f", Version: 1, Status: store.RunRunning, TriggerKind: "webhook", IdemKey: "evt-1"}, false)
		must(t, err)
		if created || dup.ID != got.ID {
			t.Fatalf("dup: created=%v id=%s want %s", created, dup.ID, got.ID)
		}
		// Same key on another flow is a different event.
		_, created, err = s.CreateRun(ctx, &store.Run{Flow: "g", Version: 1, Status: store.RunRunning, TriggerKind: "webhook", IdemKey: "evt-1"}, false)
		must(t, err)
		if !created {
			t.Fatal("key must be per flow")
		}
	})

	t.Run("attempts, checkpoints, status transitions", func(t *testing.T) {
		s := open(t)
		r, _, err := s.CreateRun(ctx, &store.Run{Flow: "f", Version: 3, Status: store.RunQueued, TriggerKind: "manual"}, false)
		must(t, err)
		must(t, s.SetRunStatus(ctx, r.ID, []string{store.RunQueued}, store.RunRunning))
		if err := s.SetRunStatus(ctx, r.ID, []string{store.RunQueued}, store.RunRunning); weft.Code(err) != weft.EConflict {
			t.Fatalf("CAS from wrong state: %v", err)
		}
		now := time.Now()
		must(t, s.AppendAttempts(ctx, []store.Attempt{
			{RunID: r.ID, Flow: "f", Version: 3, StepID: "a", StepKey: "a", Kind: "call", Attempt: 1, Status: store.AttemptError, Worker: "host:1", ErrorClass: "retryable", ErrorMessage: "503", StartedAt: now, FinishedAt: now},
			{RunID: r.ID, Flow: "f", Version: 3, StepID: "a", StepKey: "a", Kind: "call", Attempt: 2, Status: store.AttemptOK, StartedAt: now, FinishedAt: now, Checkpoint: json.RawMessage(`{"x":1}`), OutputSize: 7},
		}))
		q, _, err := s.CreateRun(ctx, &store.Run{Flow: "f", Version: 1, Status: store.RunQueued, TriggerKind: "manual"}, false)
		must(t, err)
		must(t, s.Checkpoint(ctx, q.ID, []store.Attempt{{RunID: q.ID, Flow: "f", Version: 1, StepID: "a", StepKey: "a", Kind: "call", Attempt: 1, Status: store.AttemptOK, StartedAt: now, FinishedAt: now, Checkpoint: json.RawMessage(`7`)}}))
		if got, _ := s.GetRun(ctx, q.ID); got.Status != store.RunRunning {
			t.Fatalf("checkpoint left the run %s", got.Status)
		}
		must(t, s.SetRunStatus(ctx, q.ID, nil, store.RunCanceled))
		must(t, s.Checkpoint(ctx, q.ID, nil))
		if got, _ := s.GetRun(ctx, q.ID); got.Status != store.RunCanceled {
			t.Fatalf("checkpoint must not revive a canceled run: %s", got.Status)
		}
		if cps, _ := s.Checkpoints(ctx, q.ID); string(cps["a"]) != "7" {
			t.Fatalf("checkpoints %v", cps)
		}
		cps, err := s.Checkpoints(ctx, r.ID)
		must(t, err)
		if len(cps) != 1 || string(cps["a"]) != `{"x":1}` {
			t.Fatalf("checkpoints %v", cps)
		}
		fin := time.Now().UTC()
		r.Status, r.Output, r.FinishedAt = store.RunSucceeded, json.RawMessage(`{"ok":true}`), &fin
		must(t, s.UpdateRun(ctx, r, []store.Attempt{{RunID: r.ID, Flow: "f", Version: 3, StepID: "b", StepKey: "b", Kind: "set", Attempt: 1, Status: store.AttemptOK, StartedAt: now, FinishedAt: now}}))
		got, err := s.GetRun(ctx, r.ID)
		must(t, err)
		if got.Status != store.RunSucceeded || string(got.Output) != `{"ok":true}` || got.Version != 3 || got.FinishedAt == nil {
			t.Fatalf("run %+v", got)
		}
		as, err := s.ListAttempts(ctx, r.ID)
		must(t, err)
		if len(as) != 3 || as[0].ErrorClass != "retryable" || as[0].Worker != "host:1" || as[2].StepID != "b" {
			t.Fatalf("attempts %+v", as)
		}
		if _, err := s.GetRun(ctx, "missing"); weft.Code(err) != weft.ENotFound {
			t.Fatalf("missing run: %v", err)
		}
		// RunForWork: the run as GetRun reads it, with what Checkpoints reads.
		for _, id := range []string{r.ID, q.ID} {
			want, err := s.GetRun(ctx, id)
			must(t, err)
			wantCps, err := s.Checkpoints(ctx, id)
			must(t, err)
			run, cps, err := s.RunForWork(ctx, id)
			must(t, err)
			if fmt.Sprint(*run) != fmt.Sprint(*want) || fmt.Sprint(cps) != fmt.Sprint(wantCps) {
				t.Fatalf("RunForWork %s: %+v %s, want %+v %s", id, *run, cps, *want, wantCps)
			}
		}
		fresh, _, err := s.CreateRun(ctx, &store.Run{Flow: "f", Version: 1, Status: store.RunQueued, TriggerKind: "manual", Input: json.RawMessage(`{"n":1}`)}, false)
		must(t, err)
		if run, cps, err := s.RunForWork(ctx, fresh.ID); err != nil || run.ID != fresh.ID || string(run.Input) != `{"n":1}` || run.Status != store.RunQueued || len(cps) != 0 {
			t.Fatalf("RunForWork of a run without attempts: %+v %v %v", run, cps, err)
		}
		if _, _, err := s.RunForWork(ctx, "missing"); weft.Code(err) != weft.ENotFound {
			t.Fatalf("RunForWork of a missing run: %v", err)
		}
	})

	t.Run("sync fast path inserts run with its attempts", func(t *testing.T) {
		s := open(t)
		now := time.Now().UTC()
		r := &store.Run{ID: "sync-1", Flow: "f", Version: 1, Status: store.RunSucceeded, TriggerKind: "webhook", Sync: true, CreatedAt: now, StartedAt: now, FinishedAt: &now}
		if err := s.UpdateRun(ctx, r, nil); weft.Code(err) != weft.ENotFound {
			t.Fatalf("update of an unrecorded run: %v", err)
		}
		var as []store.Attempt
		for i := 0; i < 40; i++ { // more rows than one multi-row insert takes
			as = append(as, store.Attempt{RunID: r.ID, Flow: "f", Version: 1, StepID: "a", StepKey: fmt.Sprintf("a[%d]", i), Kind: "set", Attempt: 1, Status: store.AttemptOK, StartedAt: now, FinishedAt: now})
		}
		must(t, s.InsertRun(ctx, r, as))
		got, err := s.ListAttempts(ctx, r.ID)
		must(t, err)
		if len(got) != 40 || got[39].StepKey != "a[39]" {
			t.Fatalf("attempts %d", len(got))
		}
		if err := s.InsertRun(ctx, r, nil); err == nil {
			t.Fatal("inserting a run twice must fail")
		}
		run, err := s.GetRun(ctx, "sync-1")
		must(t, err)
		if !run.Sync || run.Status != store.RunSucceeded {
			t.Fatalf("%+v", run)
		}
	})

	t.Run("a finished run's attempts read back the same, packed in its row or not", func(t *testing.T) {
		// Payload-less attempts of a run recorded finished are packed into
		// its row (migration 021); with a payload they are rows. Readers
		// see the same either way.
		s := open(t)
		at := func(sec int) time.Time { return time.Date(2026, 12, 3, 10, 0, sec, 123456000, time.UTC) }
		mk := func(id string, payload bool) (*store.Run, []store.Attempt) {
			fin := at(9)
			r := &store.Run{ID: id, Flow: "order", Version: 4, Status: store.RunSucceeded, TriggerKind: "webhook", Sync: true, CreatedAt: at(0), StartedAt: at(0), FinishedAt: &fin}
			as := []store.Attempt{
				{RunID: id, Flow: "order", Version: 4, StepID: "post", StepKey: "post", Kind: "call", Attempt: 1, TriggerKind: "webhook", Status: store.AttemptError,
					Worker: `host:"7"`, StartedAt: at(1), FinishedAt: at(2), DurationUS: 1000123, InputSize: 77, OutputSize: 0, ErrorClass: "retryable"},
				{RunID: id, Flow: "order", Version: 4, StepID: "post", StepKey: "post", Kind: "call", Attempt: 2, TriggerKind: "webhook", Status: store.AttemptOK,
					Worker: `host:"7"`, StartedAt: at(3), FinishedAt: at(4), DurationUS: 999, InputSize: 77, OutputSize: 11},
				{RunID: id, Flow: "order", Version: 4, StepID: "reply", StepKey: "reply", Kind: "respond", Attempt: 1, TriggerKind: "webhook", Status: store.AttemptOK,
					StartedAt: at(5), FinishedAt: at(5), OutputSize: 40},
			}
			if payload {
				as[1].Output = json.RawMessage(`{"ok":true}`)
			}
			return r, as
		}
		pr, pas := mk("packed-1", false)
		rr, ras := mk("rows-1", true)
		must(t, s.InsertRuns(ctx, []store.LoggedRun{{Run: pr, Attempts: pas}, {Run: rr, Attempts: ras}}))
		for _, c := range []struct {
			id   string
			want []store.Attempt
		}{{pr.ID, pas}, {rr.ID, ras}} {
			got, err := s.ListAttempts(ctx, c.id)
			must(t, err)
			if len(got) != len(c.want) {
				t.Fatalf("%s: %d attempts, want %d", c.id, len(got), len(c.want))
			}
			for i := range got {
				w := c.want[i]
				w.StartedAt, w.FinishedAt = w.StartedAt.Truncate(time.Microsecond), w.FinishedAt.Truncate(time.Microsecond)
				g := got[i]
				g.StartedAt, g.FinishedAt = g.StartedAt.UTC(), g.FinishedAt.UTC()
				gj, _ := json.Marshal(g)
				wj, _ := json.Marshal(w)
				if string(gj) != string(wj) {
					t.Fatalf("%s attempt %d:\n got %s\nwant %s", c.id, i, gj, wj)
				}
			}
			cps, err := s.Checkpoints(ctx, c.id)
			must(t, err)
			if len(cps) != 2 || string(cps["post"]) != "null" || string(cps["reply"]) != "null" {
				t.Fatalf("%s: checkpoints %v", c.id, cps)
			}
		}
		// Attempts added later (a replay's) come after the packed ones.
		more := []store.Attempt{{RunID: pr.ID, Flow: "order", Version: 4, StepID: "reply", StepKey: "reply", Kind: "respond", Attempt: 2, TriggerKind: "manual",
			Status: store.AttemptOK, StartedAt: at(20), FinishedAt: at(20), Checkpoint: json.RawMessage(`{"n":1}`)}}
		must(t, s.AppendAttempts(ctx, more))
		got, err := s.ListAttempts(ctx, pr.ID)
		must(t, err)
		if len(got) != 4 || got[3].Attempt != 2 || got[3].TriggerKind != "manual" || got[0].ErrorClass != "retryable" {
			t.Fatalf("attempts after an append %+v", got)
		}
		cps, err := s.Checkpoints(ctx, pr.ID)
		must(t, err)
		if string(cps["reply"]) != `{"n":1}` || string(cps["post"]) != "null" {
			t.Fatalf("checkpoints after an append %v", cps)
		}
		// Purged with their run.
		n, err := s.Purge(ctx, at(10).Add(time.Hour*24*365))
		must(t, err)
		if n != 2 {
			t.Fatalf("purged %d runs, want 2", n)
		}
		if got, err := s.ListAttempts(ctx, pr.ID); err != nil || len(got) != 0 {
			t.Fatalf("attempts of a purged run: %v %+v", err, got)
		}
	})

	t.Run("a batch of logged runs is written all or none", func(t *testing.T) {
		s := open(t)
		now := time.Now().UTC()
		mk := func(id string) store.LoggedRun {
			r := &store.Run{ID: id, Flow: "mcp:all", Status: store.RunSucceeded, TriggerKind: "mcp", Sync: true, CreatedAt: now, StartedAt: now, FinishedAt: &now}
			return store.LoggedRun{Run: r, Attempts: []store.Attempt{{RunID: id, Flow: r.Flow, StepID: "crm__getCustomer", StepKey: "crm.getCustomer", Kind: "call", Attempt: 1, TriggerKind: "mcp", Status: store.AttemptOK, StartedAt: now, FinishedAt: now}}}
		}
		var batch []store.LoggedRun
		for i := 0; i < 30; i++ {
			batch = append(batch, mk(fmt.Sprintf("log-%02d", i)))
		}
		must(t, s.InsertRuns(ctx, batch))
		must(t, s.InsertRuns(ctx, nil))
		for _, id := range []string{"log-00", "log-29"} {
			as, err := s.ListAttempts(ctx, id)
			must(t, err)
			if len(as) != 1 || as[0].StepKey != "crm.getCustomer" {
				t.Fatalf("%s: attempts %+v", id, as)
			}
		}
		// One run already recorded: the whole batch is refused, nothing of it written.
		err := s.InsertRuns(ctx, []store.LoggedRun{mk("log-new"), mk("log-05")})
		if weft.Code(err) != weft.EConflict {
			t.Fatalf("a batch with a recorded run: %v", err)
		}
		if _, err := s.GetRun(ctx, "log-new"); weft.Code(err) != weft.ENotFound {
			t.Fatalf("a refused batch wrote a run: %v", err)
		}
	})

	t.Run("list filters and purge", func(t *testing.T) {
		s := open(t)
		old := time.Now().Add(-48 * time.Hour).UTC()
		for i, st := range []string{store.RunSucceeded, store.RunDead, store.RunSucceeded} {
			created := time.Now().UTC()
			if i == 0 {
				created = old
			}
			r := &store.Run{Flow: "f", Version: 1, Status: st, TriggerKind: "manual", CreatedAt: created, FinishedAt: &created}
			_, _, err := s.CreateRun(ctx, r, false)
			must(t, err)
			must(t, s.AppendAttempts(ctx, []store.Attempt{{RunID: r.ID, Flow: "f", Version: 1, StepID: "a", StepKey: "a", Kind: "set", Attempt: 1, Status: store.AttemptOK, StartedAt: created, FinishedAt: created}}))
		}
		counts, err := s.CountRuns(ctx, "f")
		must(t, err)
		if counts[store.RunSucceeded] != 2 || counts[store.RunDead] != 1 {
			t.Fatalf("counts %v", counts)
		}
		dead, err := s.ListRuns(ctx, store.RunFilter{Status: store.RunDead})
		must(t, err)
		if len(dead) != 1 {
			t.Fatalf("dead %d", len(dead))
		}
		recent, err := s.ListRuns(ctx, store.RunFilter{Flow: "f", Since: time.Now().Add(-time.Hour)})
		must(t, err)
		if len(recent) != 2 {
			t.Fatalf("recent %d", len(recent))
		}
		fin, err := s.ListRuns(ctx, store.RunFilter{FinishedSince: time.Now().Add(-time.Hour)})
		must(t, err)
		if len(fin) != 2 {
			t.Fatalf("finished in the last hour: %d", len(fin))
		}
		n, err := s.Purge(ctx, time.Now().Add(-24*time.Hour))
		must(t, err)
		if n != 1 {
			t.Fatalf("purged %d", n)
		}
		all, _ := s.ListRuns(ctx, store.RunFilter{})
		if len(all) != 2 {
			t.Fatalf("left %d", len(all))
		}
	})

	t.Run("trigger cursors", func(t *testing.T) {
		s := open(t)
		c, err := s.TriggerCursor(ctx, "f")
		must(t, err)
		if c != "" {
			t.Fatal("want empty cursor")
		}
		must(t, s.SetTriggerCursor(ctx, "f", "2026-01-02T03:04:05Z"))
		must(t, s.SetTriggerCursor(ctx, "f", "2026-01-02T03:05:05Z"))
		c, _ = s.TriggerCursor(ctx, "f")
		if c != "2026-01-02T03:05:05Z" {
			t.Fatalf("cursor %q", c)
		}
	})

	t.Run("leases: one holder at a time, renewable, taken over once expired", func(t *testing.T) {
		s := open(t)
		ok, err := s.TryLease(ctx, "alerts", "p1", 200*time.Millisecond)
		if err != nil || !ok {
			t.Fatalf("first take: %v %v", ok, err)
		}
		if ok, _ := s.TryLease(ctx, "alerts", "p2", time.Second); ok {
			t.Fatal("a second holder took an unexpired lease")
		}
		if ok, _ := s.TryLease(ctx, "alerts", "p1", 200*time.Millisecond); !ok {
			t.Fatal("the holder could not renew")
		}
		if ok, _ := s.TryLease(ctx, "other", "p2", time.Second); !ok {
			t.Fatal("leases are not per name")
		}
		time.Sleep(300 * time.Millisecond)
		if ok, _ := s.TryLease(ctx, "alerts", "p2", time.Second); !ok {
			t.Fatal("an expired lease was not taken over")
		}
		if ok, _ := s.TryLease(ctx, "alerts", "p1", time.Second); ok {
			t.Fatal("the old holder took it back")
		}
		if cur, _ := s.TriggerCursor(ctx, "alerts"); cur != "" {
			t.Fatalf("a lease shows as a flow's cursor: %q", cur)
		}
	})

	t.Run("a closed store refuses writes at once, without waiting for the caller's deadline", func(t *testing.T) {
		s := open(t)
		must(t, s.Close())
		audit := func(ctx context.Context) error {
			_, err := s.AppendAudit(ctx, func(prev store.AuditLink) (store.AuditRecord, error) {
				return store.AuditRecord{Seq: prev.Seq + 1, At: time.Now().UTC(), Actor: "t", Action: "a", Outcome: "ok", Details: "{}"}, nil
			})
			return err
		}
		run := func(ctx context.Context) error {
			return s.InsertRun(ctx, &store.Run{ID: IDAt(time.Now(), 1), Flow: "orders", Version: 1, Status: store.RunSucceeded, Sync: true, CreatedAt: time.Now().UTC()}, nil)
		}
		// The write queue has room after Close: a write must not be left in
		// it, where no committer takes it, until its context ends.
		for i := 0; i < 40; i++ {
			for name, write := range map[string]func(context.Context) error{"audit": audit, "run": run} {
				ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				start := time.Now()
				err := write(ctx)
				cancel()
				if weft.Code(err) != weft.EUnavailable || time.Since(start) > time.Second {
					t.Fatalf("%s write %d to a closed store: %v after %v; want unavailable at once", name, i, err, time.Since(start))
				}
			}
		}
	})

	t.Run("alerts: saved, replaced, newest first", func(t *testing.T) {
		s := open(t)
		t0 := time.Now().Add(-time.Hour).UTC()
		must(t, s.SaveAlert(ctx, store.AlertDoc{ID: "a1", Key: "spike|orders", Status: "firing", Doc: []byte(`{"v":1}`), CreatedAt: t0}))
		must(t, s.SaveAlert(ctx, store.AlertDoc{ID: "a2", Key: "spike|billing", Status: "firing", Doc: []byte(`{"v":2}`), CreatedAt: t0.Add(time.Minute)}))
		must(t, s.SaveAlert(ctx, store.AlertDoc{ID: "a1", Key: "spike|orders", Status: "resolved", Doc: []byte(`{"v":3}`), CreatedAt: t0}))
		got, err := s.AlertDocs(ctx, 10)
		must(t, err)
		if len(got) != 2 || got[0].ID != "a2" || got[1].Status != "resolved" || string(got[1].Doc) != `{"v":3}` || got[1].Key != "spike|orders" {
			t.Fatalf("%+v", got)
		}
		// The retention purge takes resolved alerts last changed before
		// its cutoff with the runs; a firing one stays however old.
		_, err = s.Purge(ctx, time.Now().Add(-time.Hour))
		must(t, err)
		if got, _ := s.AlertDocs(ctx, 10); len(got) != 2 {
			t.Fatalf("a purge before the alerts changed took some: %+v", got)
		}
		_, err = s.Purge(ctx, time.Now().Add(time.Hour))
		must(t, err)
		if got, _ := s.AlertDocs(ctx, 10); len(got) != 1 || got[0].ID != "a2" {
			t.Fatalf("after the purge: %+v", got)
		}
	})

	t.Run("prediction signals: appended once, read since, purged", func(t *testing.T) {
		ps, ok := open(t).(store.PredictSignals)
		if !ok {
			t.Fatal("the store does not keep prediction signals (store.PredictSignals)")
		}
		t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
		sig := func(id string, at time.Time) store.PredictSignal {
			return store.PredictSignal{ID: id, Kind: "rate_limit", Subject: "connection:crm", At: at, Doc: []byte(`{"remaining":` + id[1:] + `}`)}
		}
		// Read in the order written, whenever they were observed: an old
		// observation stored late is not missed by a reader reading on.
		must(t, ps.AppendPredictSignals(ctx, []store.PredictSignal{sig("s1", t0), sig("s2", t0.Add(time.Minute))}))
		time.Sleep(5 * time.Millisecond)
		mid := time.Now()
		time.Sleep(5 * time.Millisecond)
		must(t, ps.AppendPredictSignals(ctx, []store.PredictSignal{sig("s0", t0.Add(-time.Hour)), sig("s2", t0.Add(time.Minute))})) // s2 again: ignored
		got, err := ps.PredictSignalsSince(ctx, mid, 10)
		must(t, err)
		if len(got) != 1 || got[0].ID != "s0" || !got[0].At.Equal(t0.Add(-time.Hour)) || got[0].Written.Before(mid) || string(got[0].Doc) != `{"remaining":0}` ||
			got[0].Kind != "rate_limit" || got[0].Subject != "connection:crm" {
			t.Fatalf("%+v", got)
		}
		all, err := ps.PredictSignalsSince(ctx, time.Time{}, 10)
		must(t, err)
		if len(all) != 3 || all[2].ID != "s0" || string(all[1].Doc) != `{"remaining":2}` {
			t.Fatalf("all: %+v", all)
		}
		if got, _ := ps.PredictSignalsSince(ctx, time.Time{}, 1); len(got) != 1 || got[0].ID != "s1" {
			t.Fatalf("limit 1: %+v", got)
		}
		n, err := ps.PurgePredictSignals(ctx, mid)
		if err != nil || n != 2 {
			t.Fatalf("purged %d %v", n, err)
		}
		if got, _ := ps.PredictSignalsSince(ctx, time.Time{}, 10); len(got) != 1 || got[0].ID != "s0" {
			t.Fatalf("after purge: %+v", got)
		}
		// The database's size, for the storage forecast.
		sz, ok := ps.(store.DatabaseSizer)
		if !ok {
			t.Fatal("the store does not report its size (store.DatabaseSizer)")
		}
		if n, err := sz.DatabaseSize(ctx); err != nil || n < 4096 {
			t.Fatalf("database size %d %v", n, err)
		}
	})

	t.Run("imported connector specs", func(t *testing.T) {
		s := open(t)
		must(t, s.SaveConnectorSpec(ctx, store.ConnectorSpec{Name: "crm", Kind: "openapi", Spec: []byte("v1")}))
		must(t, s.SaveConnectorSpec(ctx, store.ConnectorSpec{Name: "crm", Kind: "openapi", Spec: []byte("v2")}))
		must(t, s.SaveConnectorSpec(ctx, store.ConnectorSpec{Name: "billing", Kind: "openapi", Spec: []byte("b")}))
		cs, err := s.ConnectorSpecs(ctx)
		must(t, err)
		if len(cs) != 2 || cs[0].Name != "billing" || string(cs[1].Spec) != "v2" {
			t.Fatalf("%+v", cs)
		}
		found, err := s.DeleteConnectorSpec(ctx, "crm")
		must(t, err)
		again, err := s.DeleteConnectorSpec(ctx, "crm")
		must(t, err)
		if cs, _ = s.ConnectorSpecs(ctx); !found || again || len(cs) != 1 || cs[0].Name != "billing" {
			t.Fatalf("after delete: %v %v %+v", found, again, cs)
		}
	})

	t.Run("sealed connections: save, replace, delete, reseal all at once", func(t *testing.T) {
		s := open(t)
		must(t, s.SaveConnection(ctx, store.SealedConnection{Name: "crm", Connector: "crm", KeyID: "k1", Sealed: []byte{0, 1, 2}}))
		must(t, s.SaveConnection(ctx, store.SealedConnection{Name: "crm", Connector: "crm", KeyID: "k1", Sealed: []byte{0, 1, 3}}))
		must(t, s.SaveConnection(ctx, store.SealedConnection{Name: "db", Connector: "postgres", KeyID: "k1", Sealed: []byte{9}}))
		cs, err := s.Connections(ctx)
		must(t, err)
		if len(cs) != 2 || cs[0].Name != "crm" || string(cs[0].Sealed) != string([]byte{0, 1, 3}) || cs[1].Connector != "postgres" {
			t.Fatalf("%+v", cs)
		}
		// A failing reseal changes nothing.
		_, err = s.Reseal(ctx, func(c store.SealedConnection) (store.SealedConnection, error) {
			if c.Name == "db" {
				return c, fmt.Errorf("boom")
			}
			c.KeyID = "k2"
			return c, nil
		})
		if err == nil {
			t.Fatal("reseal error swallowed")
		}
		cs, _ = s.Connections(ctx)
		if cs[0].KeyID != "k1" {
			t.Fatalf("partial reseal: %+v", cs)
		}
		n, err := s.Reseal(ctx, func(c store.SealedConnection) (store.SealedConnection, error) {
			c.KeyID, c.Sealed = "k2", append(c.Sealed, 7)
			return c, nil
		})
		must(t, err)
		cs, _ = s.Connections(ctx)
		if n != 2 || cs[0].KeyID != "k2" || cs[1].KeyID != "k2" || len(cs[1].Sealed) != 2 {
			t.Fatalf("%d %+v", n, cs)
		}
		must(t, s.DeleteConnection(ctx, "crm"))
		if err := s.DeleteConnection(ctx, "crm"); weft.Code(err) != weft.ENotFound {
			t.Fatalf("delete twice: %v", err)
		}
	})

	t.Run("namespaces own flows, connections, mappings and MCP keys", func(t *testing.T) {
		namespaces(t, open(t))
	})

	t.Run("identities: users, role bindings, tokens", func(t *testing.T) {
		s, ok := open(t).(store.Identities)
		if !ok {
			t.Fatal("the store does not implement store.Identities")
		}
		identities(t, s)
	})

	t.Run("sessions: stored by hash, touched, tokens replaced, deleted, purged", func(t *testing.T) {
		s, ok := open(t).(store.Sessions)
		if !ok {
			t.Fatal("the store does not implement store.Sessions")
		}
		sessions(t, s)
	})
	t.Run("agents: one per site, credential by hash, rotation, revocation, reports", func(t *testing.T) {
		s, ok := open(t).(store.Agents)
		if !ok {
			t.Fatal("the store does not implement store.Agents")
		}
		agents(t, s)
	})
	t.Run("products: revisions, stale saves refused, list, delete", func(t *testing.T) {
		s, ok := open(t).(store.Products)
		if !ok {
			t.Fatal("the store does not implement store.Products")
		}
		products(t, s)
	})
	t.Run("consumers: plans, consumers, subscriptions, keys", func(t *testing.T) {
		s, ok := open(t).(store.Consumers)
		if !ok {
			t.Fatal("the store does not implement store.Consumers")
		}
		consumers(t, s)
	})
	t.Run("consumers: a rate of N per minute allows N ± 1% per window under 16 clients", func(t *testing.T) {
		admitWindows(t, open(t).(store.Consumers), 600)
	})
	t.Run("consumers: a good key is counted in one call, any other is not", func(t *testing.T) {
		admitKey(t, open(t).(store.Consumers))
	})
	t.Run("consumers: a verified credential is re-checked and counted in one call", func(t *testing.T) {
		admitVerified(t, open(t).(store.Consumers))
	})
	t.Run("consumers: quotas count exactly under 16 clients and reset by UTC day and month", func(t *testing.T) {
		admitQuotas(t, open(t).(store.Consumers))
	})
	t.Run("api usage: rows replaced per minute and process, summed per group and window, pruned", func(t *testing.T) {
		s, ok := open(t).(store.UsageStore)
		if !ok {
			t.Fatal("the store does not implement store.UsageStore")
		}
		apiUsage(t, s)
	})
	t.Run("consumers: a nonce is used once per credential until it expires, under 16 clients", func(t *testing.T) {
		nonces(t, open(t).(store.Consumers))
	})
	t.Run("sessions: capped per principal and in all, the least recently used first", func(t *testing.T) {
		s, ok := open(t).(store.Sessions)
		if !ok {
			t.Fatal("the store does not implement store.Sessions")
		}
		sessionCaps(t, s)
	})

	t.Run("api keys: only active keys authenticate; revoke once", func(t *testing.T) {
		s := open(t)
		now := time.Now().UTC().Truncate(time.Millisecond)
		must(t, s.CreateAPIKey(ctx, store.APIKey{ID: "k1", Name: "claude", Hash: "h1", Scopes: []string{"crm", "tool:flow__*"}, RatePerMin: 60, CreatedAt: now}))
		must(t, s.CreateAPIKey(ctx, store.APIKey{ID: "k2", Name: "ide", Hash: "h2", Scopes: []string{"*"}, CreatedAt: now}))
		if err := s.CreateAPIKey(ctx, store.APIKey{ID: "k3", Name: "dup", Hash: "h1", CreatedAt: now}); err == nil {
			t.Fatal("duplicate hash accepted")
		}
		k, err := s.APIKeyByHash(ctx, "h1")
		must(t, err)
		if k.ID != "k1" || len(k.Scopes) != 2 || k.RatePerMin != 60 || !k.CreatedAt.Equal(now) {
			t.Fatalf("%+v", k)
		}
		must(t, s.RevokeAPIKey(ctx, "k1"))
		if _, err := s.APIKeyByHash(ctx, "h1"); weft.Code(err) != weft.ENotFound {
			t.Fatalf("revoked key still authenticates: %v", err)
		}
		if err := s.RevokeAPIKey(ctx, "k1"); weft.Code(err) != weft.ENotFound {
			t.Fatalf("revoke twice: %v", err)
		}
		ks, err := s.APIKeys(ctx)
		must(t, err)
		if len(ks) != 2 || ks[0].RevokedAt == nil || ks[1].RevokedAt != nil {
			t.Fatalf("%+v", ks)
		}
	})

	t.Run("mappings: save, replace, read back", func(t *testing.T) {
		s := open(t)
		must(t, s.SaveMapping(ctx, store.MappingDoc{ID: "m1", Name: "crm to erp", Doc: []byte(`{"v":1}`)}))
		must(t, s.SaveMapping(ctx, store.MappingDoc{ID: "m1", Name: "crm to erp", Doc: []byte(`{"v":2}`)}))
		m, err := s.Mapping(ctx, "m1")
		must(t, err)
		if string(m.Doc) != `{"v":2}` || m.Name != "crm to erp" {
			t.Fatalf("%+v", m)
		}
		if _, err := s.Mapping(ctx, "nope"); weft.Code(err) != weft.ENotFound {
			t.Fatalf("missing mapping: %v", err)
		}
		ms, err := s.Mappings(ctx)
		must(t, err)
		if len(ms) != 1 {
			t.Fatalf("%d mappings", len(ms))
		}
	})

	t.Run("enqueued runs reach a worker; replay requeues", func(t *testing.T) {
		s := open(t)
		var mu sync.Mutex
		seen := map[string]int{}
		got := make(chan string, 10)
		workers := river.NewWorkers()
		river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[store.RunArgs]) error {
			mu.Lock()
			seen[j.Args.RunID]++
			mu.Unlock()
			got <- j.Args.RunID
			return nil
		}))
		must(t, s.StartQueue(ctx, workers, store.QueueConfig{Workers: 4, FetchPollInterval: 50 * time.Millisecond}))
		defer s.StopQueue(ctx)
		r, _, err := s.CreateRun(ctx, &store.Run{Flow: "f", Version: 1, Status: store.RunQueued, TriggerKind: "manual"}, true)
		must(t, err)
		waitFor(t, got, r.ID)
		must(t, s.SetRunStatus(ctx, r.ID, nil, store.RunDead))
		must(t, s.Requeue(ctx, r.ID, []string{store.RunDead}, &store.Override{StepKey: "a", Input: json.RawMessage(`{"x":2}`)}))
		waitFor(t, got, r.ID)
		rr, _ := s.GetRun(ctx, r.ID)
		if rr.Status != store.RunQueued || rr.Override == nil || string(rr.Override.Input) != `{"x":2}` {
			t.Fatalf("requeued %+v", rr)
		}
		if err := s.Requeue(ctx, r.ID, []string{store.RunDead}, nil); weft.Code(err) != weft.EConflict {
			t.Fatalf("requeue of a queued run: %v", err)
		}
	})

	t.Run("a finished run's final write completes its job in the same transaction", func(t *testing.T) {
		s := open(t)
		js, ok := s.(interface {
			QueueJobState(ctx context.Context, id int64) (string, error)
		})
		if !ok {
			t.Fatalf("%T cannot read a job's state", s)
		}
		// Each run says how its worker ends it: "finish" (its final write
		// under its own job), "checkpoint" (a write that does not finish
		// it), "other" (a final write under another run's job, as a
		// subflow's run is written under its parent's), "finish-then-fail"
		// (the final write, then an error, as a process killed right after
		// its final write committed: River must not work the job again).
		var mu sync.Mutex
		how := map[string]string{}
		worked := map[string]int{}
		inWork := map[string]string{} // the job's state as the worker saw it after its write
		type done struct{ id, err string }
		got := make(chan done, 16)
		workers := river.NewWorkers()
		river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[store.RunArgs]) error {
			id := j.Args.RunID
			mu.Lock()
			h := how[id]
			worked[id]++
			mu.Unlock()
			fin := time.Now().UTC()
			var err error
			switch h {
			case "finish", "finish-then-fail":
				err = s.UpdateRun(store.WithQueueJob(ctx, id, j.ID), &store.Run{ID: id, Status: store.RunSucceeded, FinishedAt: &fin}, nil)
			case "checkpoint":
				err = s.UpdateRun(store.WithQueueJob(ctx, id, j.ID), &store.Run{ID: id, Status: store.RunRunning}, nil)
			case "other":
				err = s.UpdateRun(store.WithQueueJob(ctx, "another-run", j.ID), &store.Run{ID: id, Status: store.RunSucceeded, FinishedAt: &fin}, nil)
			}
			state := "?"
			if err == nil {
				state, err = js.QueueJobState(ctx, j.ID)
			}
			mu.Lock()
			inWork[id] = state
			mu.Unlock()
			e := ""
			if err != nil {
				e = err.Error()
			}
			got <- done{id, e}
			if h == "finish-then-fail" {
				return errors.New("the process died after its final write") // else retried in about a second
			}
			return nil
		}))
		must(t, s.StartQueue(ctx, workers, store.QueueConfig{Workers: 4, FetchPollInterval: 50 * time.Millisecond}))
		defer s.StopQueue(ctx)
		want := map[string]string{"finish": "completed", "finish-then-fail": "completed", "checkpoint": "running", "other": "running"}
		ids := map[string]string{}
		for _, h := range []string{"finish", "checkpoint", "other", "finish-then-fail"} {
			r := &store.Run{ID: sqlstore.NewID(), Flow: "f", Version: 1, Status: store.RunQueued, TriggerKind: "manual"}
			mu.Lock()
			how[r.ID] = h
			mu.Unlock()
			ids[r.ID] = h
			_, _, err := s.CreateRun(ctx, r, true)
			must(t, err)
		}
		for range ids {
			select {
			case d := <-got:
				if d.err != "" {
					t.Fatalf("%s: %s", ids[d.id], d.err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the runs were not worked")
			}
		}
		mu.Lock()
		for id, h := range ids {
			// Before the worker returned, with River's completer not yet
			// involved: the job is completed exactly when the write
			// finished its own run.
			if inWork[id] != want[h] {
				t.Errorf("%s: the job was %q after the write, want %q", h, inWork[id], want[h])
			}
		}
		mu.Unlock()
		// River's completer then completes (checkpoint, other) or leaves
		// (finish, finish-then-fail: already completed) each job; none is
		// worked again.
		time.Sleep(2 * time.Second)
		mu.Lock()
		defer mu.Unlock()
		for id, h := range ids {
			if worked[id] != 1 {
				t.Errorf("%s: worked %d times", h, worked[id])
			}
		}
	})

	t.Run("flow activity counts a window and finds the newest run", func(t *testing.T) {
		s := open(t)
		now := time.Now().UTC()
		for _, n := range []string{"busy", "idle"} {
			_, err := s.DeployFlow(ctx, n, "", n+".yaml", []byte("v1"))
			must(t, err)
		}
		var batch []store.LoggedRun
		add := func(flow, status string, at time.Time, seq int) string {
			r := &store.Run{ID: IDAt(at, seq), Flow: flow, Version: 1, Status: status, TriggerKind: "manual", CreatedAt: at, StartedAt: at}
			batch = append(batch, store.LoggedRun{Run: r})
			return r.ID
		}
		add("busy", store.RunSucceeded, now.Add(-48*time.Hour), 1) // outside the window
		add("busy", store.RunDead, now.Add(-47*time.Hour), 2)
		add("busy", store.RunSucceeded, now.Add(-2*time.Hour), 3)
		add("busy", store.RunFailed, now.Add(-time.Hour), 4)
		add("busy", store.RunDead, now.Add(-30*time.Minute), 5)
		newest := add("busy", store.RunSucceeded, now.Add(-time.Minute), 6)
		add("mcp:all", store.RunSucceeded, now.Add(-time.Minute), 7) // not a flow
		must(t, s.InsertRuns(ctx, batch))
		act, err := s.FlowActivity(ctx, now.Add(-24*time.Hour))
		must(t, err)
		busy, idle := act["busy"], act["idle"]
		if busy.Runs != 4 || busy.Failed != 2 || busy.LastRun == nil || busy.LastRun.ID != newest || busy.LastRun.Status != store.RunSucceeded {
			t.Fatalf("busy: %+v (last %+v)", busy, busy.LastRun)
		}
		if d := busy.LastRun.CreatedAt.Sub(now.Add(-time.Minute)); d > time.Millisecond || d < -time.Millisecond {
			t.Fatalf("last run created_at %v", busy.LastRun.CreatedAt)
		}
		if idle.Runs != 0 || idle.LastRun != nil {
			t.Fatalf("idle: %+v", idle)
		}
		if _, ok := act["mcp:all"]; ok || len(act) != 2 {
			t.Fatalf("activity of flows that are not deployed: %v", act)
		}
	})

	t.Run("tool calls are listed newest first with filters and a cursor", func(t *testing.T) {
		s := open(t)
		now := time.Now().UTC()
		var batch []store.LoggedRun
		call := func(i int, toolset, tool, key string, failed bool) string {
			at := now.Add(time.Duration(i-10) * time.Second)
			r := &store.Run{ID: IDAt(at, i), Flow: "mcp:" + toolset, Status: store.RunSucceeded, TriggerKind: "mcp", Sync: true, CreatedAt: at, StartedAt: at, FinishedAt: &at}
			a := store.Attempt{RunID: r.ID, Flow: r.Flow, StepID: tool, StepKey: tool, Kind: "call", Attempt: 1, TriggerKind: "mcp", Status: store.AttemptOK,
				Worker: "key:" + key, StartedAt: at, FinishedAt: at, DurationUS: 1500}
			if failed {
				r.Status, r.ErrorCode, r.ErrorMessage = store.RunFailed, "permanent", "denied by policy"
				a.Status, a.ErrorMessage = store.AttemptError, "denied by policy"
			}
			batch = append(batch, store.LoggedRun{Run: r, Attempts: []store.Attempt{a}})
			return r.ID
		}
		call(1, "all", "crm__list", "k1", false)
		call(2, "all", "hr__delete", "k2", true)
		call(3, "sales", "crm__list", "k2", false)
		last := call(4, "all", "crm__get", "k1", false)
		// A flow run an agent started is not a tool call of its own.
		at := now
		batch = append(batch, store.LoggedRun{Run: &store.Run{ID: IDAt(at, 5), Flow: "orders", Version: 1, Status: store.RunSucceeded, TriggerKind: "mcp", CreatedAt: at, StartedAt: at}})
		must(t, s.InsertRuns(ctx, batch))

		all, err := s.ToolCalls(ctx, store.ToolCallFilter{})
		must(t, err)
		if len(all) != 4 || all[0].ID != last || all[0].Tool != "crm__get" || all[0].Key != "k1" || all[0].Toolset != "all" || all[0].DurationUS != 1500 {
			t.Fatalf("all calls: %+v", all)
		}
		if all[2].Status != store.RunFailed || all[2].Error != "denied by policy" || all[2].Tool != "hr__delete" {
			t.Fatalf("refused call: %+v", all[2])
		}
		byKey, err := s.ToolCalls(ctx, store.ToolCallFilter{Key: "k2"})
		must(t, err)
		byTool, err := s.ToolCalls(ctx, store.ToolCallFilter{Tool: "crm__list"})
		must(t, err)
		page1, err := s.ToolCalls(ctx, store.ToolCallFilter{Limit: 2})
		must(t, err)
		if len(byKey) != 2 || len(byTool) != 2 || byTool[0].Toolset != "sales" || len(page1) != 2 {
			t.Fatalf("by key %+v, by tool %+v, page %+v", byKey, byTool, page1)
		}
		page2, err := s.ToolCalls(ctx, store.ToolCallFilter{Limit: 2, Before: page1[1].ID})
		must(t, err)
		if len(page2) != 2 || page2[0].ID != all[2].ID || page2[1].ID != all[3].ID {
			t.Fatalf("page 2: %+v", page2)
		}
	})
}

// IDAt returns a time-ordered (UUIDv7) run id for t, unique by seq: the
// ids a run created at t gets.
func IDAt(t time.Time, seq int) string {
	ms := uint64(t.UnixMilli())
	return fmt.Sprintf("%08x-%04x-7000-8000-%012x", ms>>16, ms&0xffff, seq)
}

func waitFor(t *testing.T, ch chan string, id string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != id {
			t.Fatalf("worker got %s want %s", got, id)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("job never reached the worker")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// FinishedRuns returns n succeeded manual runs of flow (version 1), each
// with a new id, finished now: a store's worth of history for tests that
// page or count runs.
func FinishedRuns(flow string, n int) []store.LoggedRun {
	now := time.Now()
	batch := make([]store.LoggedRun, 0, n)
	for i := 0; i < n; i++ {
		fin := now
		batch = append(batch, store.LoggedRun{Run: &store.Run{ID: sqlstore.NewID(), Flow: flow, Version: 1, Status: store.RunSucceeded,
			TriggerKind: "manual", CreatedAt: now, StartedAt: now, FinishedAt: &fin}})
	}
	return batch
}
