package monitor

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft/internal/egress"
	"github.com/weftio/weft/store"
)

// OTLP export dials through the egress policy: spans reach an allowed
// collector and never a refused one (the refusal is counted).
func TestOTLPExportThroughEgress(t *testing.T) {
	var hits atomic.Int32
	col := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer col.Close()
	_, port, _ := net.SplitHostPort(col.Listener.Addr().String())
	export := func(pol *egress.Policy) {
		ctx := context.Background()
		tr, err := NewOTLPTracer(ctx, col.URL+"/v1/traces", "t", pol.HTTPClient("traces", 5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		end := time.Now()
		tr.Run(&store.Run{ID: "0194f3a2-7c1e-7b3a-9d2e-1f2a3b4c5d6e", Flow: "orders", Status: store.RunSucceeded, CreatedAt: end.Add(-time.Second), FinishedAt: &end})
		sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_ = tr.Shutdown(sctx) // flushes
	}
	deny := egress.MustNew("10.0.0.0/8")
	deny.Log = slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	export(deny)
	if hits.Load() != 0 || deny.Refused() == 0 {
		t.Fatalf("refused policy: %d hits, %d refused", hits.Load(), deny.Refused())
	}
	export(egress.MustNew("127.0.0.1:" + port))
	if hits.Load() == 0 {
		t.Fatal("allowed policy: the collector got nothing")
	}
}
