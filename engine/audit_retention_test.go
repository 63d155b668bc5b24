package engine_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/internal/seal"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// The retention loop purges audit entries past their own retention and
// leaves a chain that still verifies (from the new anchor).
func TestAuditRetentionKeepsTheChainVerifiable(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := access.NewLog(st)
	log.Now = func() time.Time { return time.Now().Add(-48 * time.Hour) }
	for i := 0; i < 3; i++ {
		if err := log.Record(ctx, access.Entry{Action: "flow.deploy", Resource: "flow:old"}); err != nil {
			t.Fatal(err)
		}
	}
	log.Now = nil
	if err := log.Record(ctx, access.Entry{Action: "flow.deploy", Resource: "flow:new"}); err != nil {
		t.Fatal(err)
	}
	e := engine.New(st, connectors.NewCatalog(), slog.New(slog.DiscardHandler), engine.Config{AuditRetention: 24 * time.Hour})
	bg, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.RunRetention(bg, 0, time.Hour); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := log.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v.HeadSeq == 5 {
			if !v.Intact || v.Entries != 2 || v.AnchorSeq != 3 { // the kept entry and the purge's own
				t.Fatalf("after purge: %+v", v)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not purged: %+v", v)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
}

// A master key rotated by configuration (NEW,OLD) reseals the stored
// credentials at start: audited as Weft itself.
func TestResealAtStartIsAudited(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	oldKey, newKey := seal.NewKey(), seal.NewKey()
	k1, _ := seal.New(oldKey)
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	e1 := engine.New(st, cat, slog.New(slog.DiscardHandler), engine.Config{Keys: k1})
	if err := e1.SaveConnection(ctx, &connectors.Connection{Name: "crm", Connector: "http", BaseURL: "https://crm.example.com",
		Auth: &connectors.Auth{Type: connectors.AuthBearer, Token: "tok-3f9a"}}); err != nil {
		t.Fatal(err)
	}
	k2, _ := seal.New(newKey, oldKey)
	e2 := engine.New(st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), slog.New(slog.DiscardHandler), engine.Config{Keys: k2})
	if err := e2.LoadConnections(ctx); err != nil {
		t.Fatal(err)
	}
	es, err := access.NewLog(st).List(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Action != "secrets.rotate" || es[0].Actor != "system" || es[0].Details["resealed"] != float64(1) {
		t.Fatalf("entries: %+v", es)
	}
}
