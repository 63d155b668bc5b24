package monitor

import (
	"math"
	"math/rand"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// A steady noisy series raises nothing; a level shift and a spike do, at
// once; bad input (NaN, Inf, out-of-order and duplicate timestamps, gaps)
// neither crashes nor alarms.
func TestDetectorShiftsSpikesAndBadInput(t *testing.T) {
	d := NewDetector(Config{})
	rng := rand.New(rand.NewSource(1))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 5 * time.Minute) }
	max := 0.0
	i := 0
	for ; i < 2000; i++ {
		v := 100 + rng.NormFloat64()*5
		var o Observation
		switch i {
		case 700:
			o = d.Observe(at(i), math.NaN())
		case 701:
			o = d.Observe(at(i), math.Inf(1))
		case 702:
			o = d.Observe(at(i-300), 1e9) // far out of order (clock skew): ignored
		case 703:
			o = d.Observe(at(i-1), v) // duplicate timestamp
		case 900:
			o = d.Observe(at(i+500), v) // a gap
			i += 500
		default:
			o = d.Observe(at(i), v)
		}
		if i > 300 && o.Score > max {
			max = o.Score
		}
		if math.IsNaN(o.Score) || o.Score < 0 || o.Score > 1 {
			t.Fatalf("score %v at %d", o.Score, i)
		}
	}
	// An alert threshold just above anything the steady part scored …
	threshold := max + 0.01
	if threshold > 0.9 {
		t.Fatalf("a steady series with bad input scored up to %.2f", max)
	}
	// … is crossed by a 20-sigma spike …
	if spike := d.Observe(at(i), 200).Score; spike < threshold {
		t.Fatalf("a 20-sigma spike scored %.2f (steady max %.2f)", spike, max)
	}
	// … and, on a series that has not just seen a bigger spike (scores are
	// relative to the largest deviation seen lately), by a sustained level
	// shift within a few points.
	d2 := NewDetector(Config{})
	rng = rand.New(rand.NewSource(1))
	max2 := 0.0
	for j := 0; j < 2000; j++ {
		if o := d2.Observe(at(j), 100+rng.NormFloat64()*5); j > 300 && o.Score > max2 {
			max2 = o.Score
		}
	}
	raised := -1
	for k := 0; k < 50; k++ {
		if d2.Observe(at(2000+k), 130+rng.NormFloat64()*5).Score > max2+0.01 && raised < 0 {
			raised = k
		}
	}
	if raised < 0 || raised > 10 {
		t.Fatalf("level shift raised after %d points (steady max %.2f)", raised, max2)
	}
}

func TestReadSeriesErrors(t *testing.T) {
	if _, err := ReadSeries(strings.NewReader("time,val\n")); err == nil {
		t.Fatal("bad header accepted")
	}
	if _, err := ReadSeries(strings.NewReader("timestamp,value\nyesterday,3\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad timestamp: %v", err)
	}
	pts, err := ReadSeries(strings.NewReader("timestamp,value\n2026-01-01 00:00:00,abc\n2026-01-01 00:05:00,4\n"))
	if err != nil || len(pts) != 2 || !math.IsNaN(pts[0].V) {
		t.Fatalf("%v %v", pts, err)
	}
}

// BenchmarkObserve10000Series: detector cost per observation, cycling over
// 10,000 series that are past both warm-ups (1,000 observations each, set
// up once); memory per series is the heap they hold then.
//
//	go test -run '^$' -bench Observe -benchmem ./monitor
func BenchmarkObserve10000Series(b *testing.B) {
	ds, perSeries := warmSeries(b)
	t0 := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewSource(1))
	vals := make([]float64, 4096)
	for i := range vals {
		vals[i] = 100 + rng.NormFloat64()*5
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ds[i%len(ds)].Observe(t0.Add(time.Duration(i/len(ds))*time.Minute), vals[i%len(vals)])
	}
	b.ReportMetric(perSeries, "bytes/series")
}

var (
	warmOnce     sync.Once
	warmDs       []*Detector
	warmPerSerie float64
)

func warmSeries(b *testing.B) ([]*Detector, float64) {
	warmOnce.Do(func() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ds := make([]*Detector, 10000)
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		rng := rand.New(rand.NewSource(2))
		for i := range ds {
			ds[i] = NewDetector(Config{})
			for j := 0; j < 1000; j++ {
				ds[i].Observe(t0.Add(time.Duration(j)*time.Second), 100+rng.NormFloat64()*5)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		warmDs, warmPerSerie = ds, float64(after.HeapAlloc-before.HeapAlloc)/float64(len(ds))
	})
	return warmDs, warmPerSerie
}

// BenchmarkObserveFullShape: the worst case, a series whose shape
// detector holds maxCategories categories (its memory bound, reported).
func BenchmarkObserveFullShape(b *testing.B) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rng := rand.New(rand.NewSource(5))
	d := NewDetector(Config{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	i := 0
	for ; d.shape.net.count() < maxCategories; i++ {
		d.Observe(t0.Add(time.Duration(i)*time.Minute), rng.ExpFloat64()*float64(1+i%97))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ResetTimer()
	for j := 0; j < b.N; j++ {
		d.Observe(t0.Add(time.Duration(i+j)*time.Minute), rng.ExpFloat64()*float64(1+(i+j)%97))
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc), "bytes/series")
}

// officeWeek is business traffic's usual level: busy office hours on
// working days, a quieter evening and night, quiet weekends.
func officeWeek(ts time.Time) float64 {
	if wd := ts.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return 5
	}
	if h := ts.Hour(); h >= 8 && h < 18 {
		return 200
	}
	return 40
}

// Business traffic with quiet weekends: after a few weeks the hour-of-week
// profile has taken over, so a quiet Saturday is normal while the same
// quiet level on a Wednesday is an anomaly.
func TestWeeklyProfileQuietWeekends(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	level := officeWeek
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	d := NewDetector(Config{})
	ts := t0
	for ; ts.Before(t0.Add(5 * 7 * 24 * time.Hour)); ts = ts.Add(10 * time.Minute) {
		d.Observe(ts, math.Max(0, level(ts)+rng.NormFloat64()*math.Sqrt(level(ts))))
	}
	if d.errWeek >= d.errDay {
		t.Fatalf("the weekly profile does not predict better on a weekly series: week %.1f, day %.1f", d.errWeek, d.errDay)
	}
	// Week 6: a normal Saturday noon, then a Wednesday noon at the weekend's level.
	sat := t0.Add(5*7*24*time.Hour + 5*24*time.Hour + 12*time.Hour)
	weekend := d
	copyD := *d
	// The level detector's own score: an hour is too short for the shape
	// detector's blocks at this resolution (TestQuietWednesdayMinutes covers
	// the combined score at a minute's resolution).
	if s := weekend.Observe(sat, 5).Level; s >= 0.5 {
		t.Fatalf("a normal Saturday scored %.2f", s)
	}
	wed := t0.Add(5*7*24*time.Hour + 2*24*time.Hour + 12*time.Hour)
	var max float64
	for i := 0; i < 6; i++ { // an hour at the weekend's level
		max = math.Max(max, copyD.Observe(wed.Add(time.Duration(i)*10*time.Minute), 5).Level)
	}
	if max < 0.5 {
		t.Fatalf("a Wednesday noon at the weekend's level scored only %.2f", max)
	}
}

// A step that stays keeps crossing the CUSUM's decision level in the same
// direction; the chained crossings make it a record within a few dozen
// points, where a single crossing would not be.
func TestCusumChainsOnASustainedStep(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	d := NewDetector(Config{})
	i := 0
	maxChain := 0
	for ; i < 3000; i++ {
		d.Observe(t0.Add(time.Duration(i)*time.Minute), 100+rng.NormFloat64()*5)
		maxChain = max(maxChain, d.cusChain)
	}
	if maxChain > 2 {
		t.Fatalf("a stationary series chained %d crossings", maxChain)
	}
	best, chain := 0.0, 0
	for j := 0; j < 40; j++ { // a step of about 2.4 deviations, down
		best = math.Max(best, d.Observe(t0.Add(time.Duration(i+j)*time.Minute), 88+rng.NormFloat64()*5).Level)
		chain = max(chain, d.cusChain)
	}
	if chain < 2 {
		t.Fatalf("a sustained step chained only %d crossings", chain)
	}
	if best < 0.5 {
		t.Fatalf("a sustained step scored at most %.2f in 40 points", best)
	}
}
