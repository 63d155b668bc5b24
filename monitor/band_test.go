package monitor

import (
	"math"
	"testing"
	"time"

	"github.com/weftio/weft/store"
)

// bandRuns makes a flow of about ten runs a minute (9, 10 or 11, each 40-60
// ms) for minutes [0, n), with a surge of 60 runs in minute spike.
func bandRuns(flow string, t0 time.Time, n, spike int) []*store.Run {
	var runs []*store.Run
	for m := 0; m < n; m++ {
		k := 9 + m%3
		if m == spike {
			k = 60
		}
		for i := 0; i < k; i++ {
			at := t0.Add(time.Duration(m)*time.Minute + time.Duration(i)*time.Second)
			fin := at.Add(time.Duration(40+i%3*10) * time.Millisecond)
			status := store.RunSucceeded
			if i == 0 && m%10 == 0 {
				status = store.RunFailed
			}
			runs = append(runs, &store.Run{Flow: flow, CreatedAt: at, FinishedAt: &fin, Status: status})
		}
	}
	return runs
}

// The band is null during the detector's warm-up, then holds the usual
// values and not a surge, and covers only the buckets asked for (the
// earlier ones are history it learns from).
func TestBandsFollowTheDetector(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	runs := bandRuns("orders", t0, 150, 140)
	from := t0.Add(90 * time.Minute)
	until := t0.Add(150 * time.Minute)
	s := Series(runs, t0, until, time.Minute)[0]
	band, err := Bands(s, []string{"runs", "p95_ms"}, from, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	pts := band["runs"]
	if len(pts) != 60 || !pts[0].T.Equal(from) {
		t.Fatalf("%d points from %v, want 60 from %v", len(pts), pts[0].T, from)
	}
	for i, p := range pts {
		if p.Expected == nil || p.Low == nil || p.High == nil || p.Score == nil {
			t.Fatalf("point %d (%v) is empty after %d buckets of history", i, p.T, 90+i)
		}
		if *p.Low > *p.Expected || *p.Expected > *p.High || *p.Low < 0 {
			t.Fatalf("point %d: low %v expected %v high %v", i, *p.Low, *p.Expected, *p.High)
		}
	}
	usual := pts[30] // minute 120: 9 runs
	if math.Abs(*usual.Expected-10) > 1.5 || *usual.Low > 9 || *usual.High < 11 {
		t.Fatalf("a usual minute: expected %v, range %v..%v", *usual.Expected, *usual.Low, *usual.High)
	}
	surge := pts[50] // minute 140: 60 runs
	if *surge.High >= 60 || *surge.Score < 0.5 {
		t.Fatalf("the surge is inside the band: range %v..%v, score %v", *surge.Low, *surge.High, *surge.Score)
	}
	if *usual.Score > 0.3 {
		t.Fatalf("a usual minute scores %v", *usual.Score)
	}
	// p95 latency: 40-60 ms every minute.
	lat := band["p95_ms"][30]
	if lat.Expected == nil || *lat.Low > 60 || *lat.High < 50 {
		t.Fatalf("latency band %+v", lat)
	}

	// Without history before the range, the first BandWarmup buckets are null.
	start := t0.Add(20 * time.Minute)
	s = Series(runs, start, until, time.Minute)[0]
	band, _ = Bands(s, []string{"runs"}, start, time.Minute)
	pts = band["runs"]
	w := BandWarmup()
	if pts[w-1].Expected != nil || pts[w].Expected == nil {
		t.Fatalf("warm-up: point %d %v, point %d %v", w-1, pts[w-1].Expected, w, pts[w].Expected)
	}
	if _, err := Bands(s, []string{"latency"}, from, time.Minute); err == nil {
		t.Fatal("an unknown metric was taken")
	}
}

// A quiet start is not learned as the flow's normal: the detector starts
// with the first run, like an anomaly rule's.
func TestBandsStartAtTheFirstRun(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	runs := bandRuns("orders", t0.Add(30*time.Minute), 100, -1)
	s := Series(runs, t0, t0.Add(130*time.Minute), time.Minute)[0]
	band, _ := Bands(s, []string{"runs"}, t0, time.Minute)
	pts := band["runs"]
	w := BandWarmup()
	if pts[30+w-1].Expected != nil || pts[30+w].Expected == nil {
		t.Fatalf("the detector did not start at the first run: %v %v", pts[30+w-1].Expected, pts[30+w].Expected)
	}
}

// Overall is every run as one series, percentiles over all of them.
func TestOverallSeries(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	fin := func(at time.Time, ms int) *time.Time { f := at.Add(time.Duration(ms) * time.Millisecond); return &f }
	runs := []*store.Run{
		{Flow: "a", CreatedAt: t0, FinishedAt: fin(t0, 10), Status: store.RunSucceeded},
		{Flow: "b", CreatedAt: t0.Add(time.Second), FinishedAt: fin(t0.Add(time.Second), 1000), Status: store.RunDead, ErrorCode: "upstream"},
		{Flow: "b", CreatedAt: t0.Add(2 * time.Second), FinishedAt: fin(t0.Add(2*time.Second), 20), Status: store.RunSucceeded},
		{Flow: "a", CreatedAt: t0.Add(-time.Hour), FinishedAt: fin(t0, 20), Status: store.RunSucceeded}, // outside
	}
	o := Overall(runs, t0, t0.Add(2*time.Minute), time.Minute)
	if o.Flow != "*" || len(o.Buckets) != 2 {
		t.Fatalf("%+v", o)
	}
	b := o.Buckets[0]
	if b.Runs != 3 || b.Failed != 1 || b.Dead != 1 || *b.P99MS < 998 || *b.P50MS > 20 || b.ErrorCode["upstream"] != 1 {
		t.Fatalf("%+v", b)
	}
	if o.Buckets[1].Runs != 0 {
		t.Fatalf("%+v", o.Buckets[1])
	}
}
