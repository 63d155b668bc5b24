package engine_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
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
