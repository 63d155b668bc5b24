package monitor

import (
	"math"
	"sort"
	"time"

	"github.com/weftio/weft/store"
)

// Bucket is one interval of a flow's runs.
type Bucket struct {
	Start     time.Time      `json:"t"`
	Runs      int            `json:"runs"`       // runs created in the interval
	Finished  int            `json:"finished"`   // of those, finished
	Failed    int            `json:"failed"`     // failed or dead
	Dead      int            `json:"dead"`       // dead (retries exhausted: in the DLQ)
	ErrorRate float64        `json:"error_rate"` // failed / finished
	P50MS     *float64       `json:"p50_ms,omitempty"`
	P95MS     *float64       `json:"p95_ms,omitempty"`
	P99MS     *float64       `json:"p99_ms,omitempty"`
	ErrorCode map[string]int `json:"errors_by_class,omitempty"`
}

// FlowSeries is one flow's buckets, oldest first, every interval present.
type FlowSeries struct {
	Flow    string   `json:"flow"`
	Buckets []Bucket `json:"buckets"`
	// Band is the anomaly detector's expected range per bucket, by metric
	// (runs, failures, p95_ms), when asked for (see Bands).
	Band map[string][]BandPoint `json:"band,omitempty"`
}

// Series buckets runs by flow at the given resolution over [since, until):
// throughput, failures and dead runs, error rate and error classes, and
// run latency percentiles (created to finished). Derived from the
// transaction log's run rows only.
func Series(runs []*store.Run, since, until time.Time, res time.Duration) []FlowSeries {
	if res <= 0 {
		res = time.Minute
	}
	since = since.Truncate(res)
	n := int(until.Sub(since) / res)
	if until.Sub(since)%res != 0 {
		n++
	}
	if n <= 0 {
		return []FlowSeries{}
	}
	byFlow := map[string][]*store.Run{}
	for _, r := range runs {
		if r.CreatedAt.Before(since) || !r.CreatedAt.Before(until) {
			continue
		}
		byFlow[r.Flow] = append(byFlow[r.Flow], r)
	}
	out := []FlowSeries{}
	for _, flow := range sortedFlows(byFlow) {
		out = append(out, bucketize(flow, byFlow[flow], since, n, res))
	}
	return out
}

// Overall buckets every run in [since, until) as one series (flow "*"):
// the figures of all flows together, latency percentiles over all their
// runs (which the per-flow series cannot be summed into).
func Overall(runs []*store.Run, since, until time.Time, res time.Duration) FlowSeries {
	if res <= 0 {
		res = time.Minute
	}
	since = since.Truncate(res)
	n := int(until.Sub(since) / res)
	if until.Sub(since)%res != 0 {
		n++
	}
	if n <= 0 {
		return FlowSeries{Flow: "*", Buckets: []Bucket{}}
	}
	in := make([]*store.Run, 0, len(runs))
	for _, r := range runs {
		if !r.CreatedAt.Before(since) && r.CreatedAt.Before(until) {
			in = append(in, r)
		}
	}
	return bucketize("*", in, since, n, res)
}

// bucketize fills n buckets of res from since with runs (all inside them).
func bucketize(flow string, runs []*store.Run, since time.Time, n int, res time.Duration) FlowSeries {
	bs := make([]Bucket, n)
	lat := make([][]float64, n)
	for i := range bs {
		bs[i].Start = since.Add(time.Duration(i) * res).UTC()
	}
	for _, r := range runs {
		i := int(r.CreatedAt.Sub(since) / res)
		b := &bs[i]
		b.Runs++
		if r.FinishedAt == nil {
			continue
		}
		b.Finished++
		switch r.Status {
		case store.RunFailed, store.RunDead:
			b.Failed++
			if r.Status == store.RunDead {
				b.Dead++
			}
			if r.ErrorCode != "" {
				if b.ErrorCode == nil {
					b.ErrorCode = map[string]int{}
				}
				b.ErrorCode[r.ErrorCode]++
			}
		}
		lat[i] = append(lat[i], float64(r.FinishedAt.Sub(r.CreatedAt).Microseconds())/1000)
	}
	for i := range bs {
		if bs[i].Finished > 0 {
			bs[i].ErrorRate = float64(bs[i].Failed) / float64(bs[i].Finished)
		}
		if len(lat[i]) > 0 {
			sort.Float64s(lat[i])
			bs[i].P50MS, bs[i].P95MS, bs[i].P99MS = pct(lat[i], 0.5), pct(lat[i], 0.95), pct(lat[i], 0.99)
		}
	}
	return FlowSeries{Flow: flow, Buckets: bs}
}

func pct(sorted []float64, q float64) *float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	v := math.Round(sorted[i]*1000) / 1000
	return &v
}

func sortedFlows(m map[string][]*store.Run) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
