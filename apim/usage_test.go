package apim

import (
	"context"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/store"
)

// memUsage is a store.UsageStore in memory (rows replaced by key).
type memUsage struct {
	mu   sync.Mutex
	rows map[string]store.APIUsage
}

func (m *memUsage) SaveAPIUsage(_ context.Context, rows []store.APIUsage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rows {
		m.rows[r.Process+"|"+r.Route+"|"+r.Consumer+"|"+strconv.FormatInt(r.Minute, 10)] = r
	}
	return nil
}

func (m *memUsage) SumAPIUsage(_ context.Context, q store.UsageQuery) ([]store.APIUsage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var s store.APIUsage
	for _, r := range m.rows {
		s.Calls += r.Calls
		s.ClientErrors += r.ClientErrors
		s.ServerErrors += r.ServerErrors
		s.RateLimited += r.RateLimited
		s.DurationUS += r.DurationUS
		for i := range r.Hist {
			s.Hist[i] += r.Hist[i]
		}
	}
	return []store.APIUsage{s}, nil
}

func (m *memUsage) PruneAPIUsage(context.Context, time.Time) (int64, error) { return 0, nil }

// TestUsagePercentiles: 1000 calls of known latencies give percentiles
// within one bucket (a factor of 1.5) of the true ones; errors and 429s
// are counted; a flush rewrites a minute's row (cumulative), never adds
// it twice.
func TestUsagePercentiles(t *testing.T) {
	st := &memUsage{rows: map[string]store.APIUsage{}}
	u := NewUsage(st)
	at := time.Date(2026, 12, 3, 12, 0, 30, 0, time.UTC)
	u.now = func() time.Time { return at }
	u.lastFlush = at.Add(time.Hour) // flushed by hand only
	for i := 1; i <= 1000; i++ {
		status := 200
		switch {
		case i%100 == 0:
			status = 503
		case i%10 == 0:
			status = 429
		case i%7 == 0:
			status = 400
		}
		u.Record(CallRecord{Product: "shop", Version: "v1", Route: "GET /x", Status: status, Duration: time.Duration(i) * time.Millisecond, At: at})
		if i == 500 {
			if err := u.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	rep, err := u.Report(context.Background(), store.UsageQuery{Since: at.Add(-time.Hour), Until: at.Add(time.Minute)})
	if err != nil || len(rep) != 1 {
		t.Fatalf("%v %v", rep, err)
	}
	r := rep[0]
	// 10 of 1000 are 503; 90 are 429; the multiples of 7 that are not of 10: 142 - 14 = 128.
	if r.Calls != 1000 || r.ServerErrors != 10 || r.RateLimited != 90 || r.ClientErrors != 90+128 || r.Errors != 228 {
		t.Fatalf("counts: %+v", r)
	}
	for name, want := range map[string]float64{"p50": 500, "p95": 950, "p99": 990, "mean": 500.5} {
		got := r.LatencyMS[name]
		if got < want/1.5 || got > want*1.5 || math.IsNaN(got) {
			t.Errorf("%s = %v ms, want about %v", name, got, want)
		}
	}
	if _, err := u.Report(context.Background(), store.UsageQuery{Since: at, Until: at}); err == nil {
		t.Error("an empty window")
	}
}

func TestUsageBucketsAndOverflow(t *testing.T) {
	if usageBucket(0) != 0 || usageBucket(time.Hour) != store.UsageBuckets-1 || usageBucket(150*time.Microsecond) != 1 {
		t.Fatal("buckets")
	}
	u := NewUsage(&memUsage{rows: map[string]store.APIUsage{}})
	u.lastFlush = time.Now().Add(time.Hour) // no background flush
	for i := range maxUsageKeys + 5 {
		u.Record(CallRecord{Product: "p", Version: "v", Consumer: "c" + strconv.Itoa(i), Status: 200})
	}
	if len(u.acc) > maxUsageKeys+1 {
		t.Fatalf("%d counters kept", len(u.acc))
	}
	var over int64
	for k, r := range u.acc {
		if k.route == "(overflow)" {
			over = r.Calls
		}
	}
	if over != 5 {
		t.Fatalf("overflow counted %d calls", over)
	}
}
