package monitor

import (
	"fmt"
	"math"
	"time"

	"github.com/weftio/weft"
)

// BandMetrics are the series an expected band can be computed for: the
// ones anomaly rules watch.
var BandMetrics = []string{"runs", "failures", "p95_ms"}

// BandPoint is the anomaly detector's expectation for one bucket: the
// value it expected and the range it would not call anomalous, and the
// score it gave the bucket's value. Null until the detector is warm.
type BandPoint struct {
	T        time.Time `json:"t"`
	Expected *float64  `json:"expected"`
	Low      *float64  `json:"low"`
	High     *float64  `json:"high"`
	Score    *float64  `json:"score,omitempty"` // absent where the bucket has no value (p95_ms of a bucket without runs)
}

// BandHistory is how many buckets before a range GET /api/metrics reads
// for a band (an anomaly rule reads as many at start).
const BandHistory = 120

// BandWarmup is how many buckets a detector observes before its expected
// range is reported (its warm-up, in which it raises nothing either).
func BandWarmup() int {
	c := Config{}
	c.defaults()
	return c.Warmup
}

// CheckBandMetrics refuses a metric a band cannot be computed for.
func CheckBandMetrics(metrics []string) error {
	for _, m := range metrics {
		if m != "runs" && m != "failures" && m != "p95_ms" {
			return weft.Errorf(weft.EInvalid, "band %q: use runs, failures or p95_ms (comma-separated for several)", m)
		}
	}
	return nil
}

// Bands runs a fresh detector, configured as an anomaly rule's by default,
// over each metric of the series (one value per bucket, fed at the
// bucket's end like the rules do, from the first bucket with a run on:
// a rule's detector starts with the flow's first run) and returns its
// expectation for every bucket that starts at or after from. The buckets
// before from are history the detector learns from; points stay null until
// it has seen BandWarmup buckets. Buckets count runs by their creation
// time (the rules count finished runs by when they finished), so the band
// can differ from a live rule's by a bucket's worth of runs in flight.
func Bands(fs FlowSeries, metrics []string, from time.Time, res time.Duration) (map[string][]BandPoint, error) {
	if err := CheckBandMetrics(metrics); err != nil {
		return nil, err
	}
	warm := BandWarmup()
	out := map[string][]BandPoint{}
	for _, metric := range metrics {
		if _, dup := out[metric]; dup {
			continue
		}
		det := NewDetector(Config{})
		started, seen := false, 0
		pts := []BandPoint{}
		for _, b := range fs.Buckets {
			visible := !b.Start.Before(from)
			if !started && b.Runs > 0 {
				started = true
			}
			p := BandPoint{T: b.Start}
			if started {
				v := bandValue(metric, b)
				o := det.Observe(b.Start.Add(res), v)
				if !math.IsNaN(v) {
					seen++
				}
				if seen > warm {
					p.Expected, p.Low, p.High = round3(math.Max(0, o.Expected)), round3(math.Max(0, o.Low)), round3(math.Max(0, o.High))
					if !math.IsNaN(v) {
						p.Score = round3(o.Score)
					}
				}
			}
			if visible {
				pts = append(pts, p)
			}
		}
		out[metric] = pts
	}
	return out, nil
}

func bandValue(metric string, b Bucket) float64 {
	switch metric {
	case "failures":
		return float64(b.Failed)
	case "p95_ms":
		if b.P95MS == nil {
			return math.NaN()
		}
		return *b.P95MS
	case "runs":
		return float64(b.Runs)
	}
	panic(fmt.Sprintf("band metric %q", metric))
}

func round3(v float64) *float64 {
	r := math.Round(v*1000) / 1000
	return &r
}
