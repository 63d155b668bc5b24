package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/store"
)

// AuditFixture is a fresh store for the audit-log suite, with what the
// suite needs beyond the contract: SQL run on the database directly (the
// tampering an attacker with database access does) and a second store on
// the same database (another process).
type AuditFixture struct {
	Store store.Store
	Exec  func(query string) error
	Other func() store.Store
}

// RunAudit runs the audit-log suite: appends form one verifiable chain
// (under concurrency, from two stores on one database too), an edited or
// deleted row is named by Verify, a purge keeps the rest verifiable.
func RunAudit(t *testing.T, open func(t *testing.T) AuditFixture) {
	ctx := context.Background()
	record := func(t *testing.T, log *access.Log, n int, action string) {
		t.Helper()
		for i := 0; i < n; i++ {
			must(t, log.Record(ctx, access.Entry{Action: action, Resource: fmt.Sprintf("flow:f%d", i), Source: "127.0.0.1",
				Details: map[string]any{"version": i}}))
		}
	}
	verify := func(t *testing.T, log *access.Log) access.Verification {
		t.Helper()
		v, err := log.Verify(ctx)
		must(t, err)
		return v
	}

	t.Run("appends chain and list filters", func(t *testing.T) {
		fx := open(t)
		log := access.NewLog(fx.Store)
		record(t, log, 3, "flow.deploy")
		must(t, log.Record(access.WithPrincipal(ctx, access.Principal{Kind: access.KindUser, Name: "ada"}), access.Entry{Action: "flow.rollback", Resource: "flow:f0"}))
		all, err := log.List(ctx, store.AuditFilter{})
		must(t, err)
		if len(all) != 4 || all[0].Seq != 4 || all[3].Seq != 1 {
			t.Fatalf("list: %+v", all)
		}
		if all[0].Actor != "user:ada" || all[0].ActorKind != access.KindUser || all[1].Actor != "anonymous" || all[0].Namespace != "default" || all[0].Outcome != "ok" {
			t.Fatalf("actor: %+v", all[0])
		}
		if all[0].PrevHash != all[1].Hash || all[3].PrevHash != "" {
			t.Fatal("not chained")
		}
		if all[1].Details["version"] != float64(2) {
			t.Fatalf("details %v", all[1].Details)
		}
		byAction, _ := log.List(ctx, store.AuditFilter{Action: "flow.rollback"})
		byActor, _ := log.List(ctx, store.AuditFilter{Actor: "anonymous"})
		page, _ := log.List(ctx, store.AuditFilter{Before: 3, Limit: 1})
		since, _ := log.List(ctx, store.AuditFilter{Since: time.Now().Add(time.Hour)})
		if len(byAction) != 1 || len(byActor) != 3 || len(page) != 1 || page[0].Seq != 2 || len(since) != 0 {
			t.Fatalf("filters: %d %d %v %d", len(byAction), len(byActor), page, len(since))
		}
		if v := verify(t, log); !v.Intact || v.Entries != 4 || v.HeadSeq != 4 || v.HeadHash != all[0].Hash {
			t.Fatalf("verify: %+v", v)
		}
	})

	t.Run("an edited row is named", func(t *testing.T) {
		for _, edit := range []string{
			`UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 3`,
			`UPDATE audit_log SET details = '{"version":9}' WHERE seq = 3`,
			`UPDATE audit_log SET at = at + 1 WHERE seq = 3`,
		} {
			fx := open(t)
			log := access.NewLog(fx.Store)
			record(t, log, 5, "connection.update")
			must(t, fx.Exec(edit))
			v := verify(t, log)
			if v.Intact || v.BadSeq != 3 || v.Problem != access.ProblemHash {
				t.Fatalf("%s: %+v", edit, v)
			}
		}
		// An edit that recomputes the row's own hash breaks the next link.
		fx := open(t)
		log := access.NewLog(fx.Store)
		record(t, log, 5, "connection.update")
		all, _ := log.List(ctx, store.AuditFilter{Ascending: true})
		r := all[2]
		rec := store.AuditRecord{Seq: r.Seq, At: r.At, Actor: "user:mallory", ActorKind: r.ActorKind, Action: r.Action, Resource: r.Resource,
			Namespace: r.Namespace, Source: r.Source, Outcome: r.Outcome, Details: `{"version":2}`, PrevHash: r.PrevHash}
		must(t, fx.Exec(fmt.Sprintf(`UPDATE audit_log SET actor = 'user:mallory', hash = '%s' WHERE seq = 3`, access.Hash(rec))))
		if v := verify(t, log); v.Intact || v.BadSeq != 4 || v.Problem != access.ProblemLink {
			t.Fatalf("rehashed edit: %+v", v)
		}
	})

	t.Run("a deleted row is named", func(t *testing.T) {
		fx := open(t)
		log := access.NewLog(fx.Store)
		record(t, log, 5, "run.replay")
		must(t, fx.Exec(`DELETE FROM audit_log WHERE seq = 3`))
		if v := verify(t, log); v.Intact || v.BadSeq != 4 || v.Problem != access.ProblemMissing || !strings.Contains(v.Detail, "3") {
			t.Fatalf("deleted middle: %+v", v)
		}
		fx = open(t)
		log = access.NewLog(fx.Store)
		record(t, log, 3, "run.replay")
		must(t, fx.Exec(`DELETE FROM audit_log WHERE seq = 1`))
		if v := verify(t, log); v.Intact || v.BadSeq != 2 || v.Problem != access.ProblemMissing {
			t.Fatalf("deleted first: %+v", v)
		}
	})

	t.Run("purge keeps the chain verifiable and still detects edits", func(t *testing.T) {
		fx := open(t)
		log := access.NewLog(fx.Store)
		old := time.Now().Add(-48 * time.Hour)
		log.Now = func() time.Time { return old }
		record(t, log, 4, "flow.deploy")
		log.Now = nil
		record(t, log, 3, "flow.deploy")
		n, err := log.Purge(ctx, time.Now().Add(-24*time.Hour))
		must(t, err)
		if n != 4 {
			t.Fatalf("purged %d, want 4", n)
		}
		v := verify(t, log)
		if !v.Intact || v.AnchorSeq != 4 || v.Entries != 4 || v.HeadSeq != 8 { // 3 kept + the audit.purge entry
			t.Fatalf("after purge: %+v", v)
		}
		if n, _ := log.Purge(ctx, time.Now().Add(-24*time.Hour)); n != 0 {
			t.Fatalf("second purge removed %d", n)
		}
		last, _ := log.List(ctx, store.AuditFilter{Limit: 1})
		if last[0].Action != "audit.purge" || last[0].ActorKind != access.KindSystem || last[0].Details["anchor_seq"] != float64(4) {
			t.Fatalf("purge not audited: %+v", last)
		}
		record(t, log, 1, "flow.deploy") // appends continue the chain
		if v := verify(t, log); !v.Intact || v.HeadSeq != 9 {
			t.Fatalf("append after purge: %+v", v)
		}
		must(t, fx.Exec(`UPDATE audit_log SET resource = 'flow:other' WHERE seq = 5`))
		if v := verify(t, log); v.Intact || v.BadSeq != 5 {
			t.Fatalf("edit after purge: %+v", v)
		}
		must(t, fx.Exec(`UPDATE audit_log SET resource = 'flow:f0' WHERE seq = 5`))
		if v := verify(t, log); !v.Intact {
			t.Fatalf("restored: %+v", v)
		}
		must(t, fx.Exec(`DELETE FROM audit_log WHERE seq = 5`))
		if v := verify(t, log); v.Intact || v.BadSeq != 6 || v.Problem != access.ProblemMissing {
			t.Fatalf("first kept entry deleted: %+v", v)
		}
		// Purging everything leaves the anchor as the chain's head.
		fx = open(t)
		log = access.NewLog(fx.Store)
		record(t, log, 2, "flow.deploy")
		if _, err := fx.Store.PurgeAudit(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		record(t, log, 1, "flow.deploy")
		if v := verify(t, log); !v.Intact || v.AnchorSeq != 2 || v.HeadSeq != 3 {
			t.Fatalf("purge all: %+v", v)
		}
	})

	t.Run("concurrent appends keep one chain, across stores", func(t *testing.T) {
		fx := open(t)
		logs := []*access.Log{access.NewLog(fx.Store), access.NewLog(fx.Other())}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for i := 0; i < 64; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs <- logs[i%2].Record(ctx, access.Entry{Action: "run.cancel", Resource: fmt.Sprintf("run:%d", i)})
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		v := verify(t, logs[0])
		if !v.Intact || v.Entries != 64 || v.HeadSeq != 64 {
			t.Fatalf("concurrent: %+v", v)
		}
	})
}
