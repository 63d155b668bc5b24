package monitor

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/google/uuid"
)

// watched is an anomaly rule's state for one flow: its detector and the
// last bucket fed to it.
type watched struct {
	det *Detector
	// The expected range when the pending or open anomaly started, the
	// evaluations since (see settleBuckets) and its highest score.
	refLow, refHigh float64
	openFor         int
	peak            float64
	next            time.Time // start of the next bucket to feed
	last            Observation
	lastVal         float64
	ids             []string
}

// settleBuckets: an anomaly alert whose series has stayed at a new level
// this many evaluations resolves once the detector expects that level.
const settleBuckets = 60

// evalKind evaluates a burst or anomaly rule for one flow and returns an
// alert event to send (firing or resolved), if any. Called with a.mu held.
func (a *Alerter) evalKind(r Rule, flow string, evs []runEvent, now time.Time, key string) *Alert {
	var (
		cond  bool
		value float64
		runs  int
		ids   []string
		msg   string
		clear bool // the condition is clearly gone (resolve)
	)
	switch r.Kind {
	case "burst":
		cut, base := now.Add(-r.Window), now.Add(-r.Window-r.Baseline)
		var n, k, hn, hk int
		for i := range evs {
			e := &evs[i]
			switch {
			case !e.at().Before(cut):
				n++
				if e.failed {
					k++
				}
			case !e.at().Before(base):
				hn++
				if e.failed {
					hk++
				}
			}
		}
		// The flow's usual failure rate, with a weak prior (about 2%) so a
		// flow with little history is not judged on a handful of runs.
		p0 := (float64(hk) + 1) / (float64(hn) + 50)
		pv := binomialTail(n, k, p0)
		cond, value, runs = k >= 2 && pv < r.Alpha, pv, n
		clear = pv > math.Sqrt(r.Alpha) || n == 0
		// evs is in time order: the window is its tail.
		ids = lastIDs(evs[sort.Search(len(evs), func(i int) bool { return !evs[i].at().Before(cut) }):], true)
		msg = fmt.Sprintf("%s: %d of the last %d runs failed within %s; at its usual failure rate (%.1f%%) that has probability %.1e", flow, k, n, r.Window, p0*100, pv)
	case "anomaly":
		w := a.series[key]
		if w == nil {
			w = &watched{det: NewDetector(Config{Sensitivity: r.Sensitivity, ShapeWarmup: r.ShapeWarmup})}
			if len(evs) > 0 {
				w.next = evs[0].at().Truncate(r.Resolution)
			} else {
				w.next = now.Truncate(r.Resolution)
			}
			a.series[key] = w
		}
		fed := false
		for !w.next.Add(r.Resolution).After(now) {
			end := w.next.Add(r.Resolution)
			lo := sort.Search(len(evs), func(i int) bool { return !evs[i].at().Before(w.next) })
			hi := sort.Search(len(evs), func(i int) bool { return !evs[i].at().Before(end) })
			v, bids := bucketValue(r.Metric, evs[lo:hi])
			w.last, w.lastVal, w.ids = w.det.Observe(end, v), v, bids
			w.next, fed = end, true
		}
		if !fed {
			return nil // nothing new since the last evaluation
		}
		o := w.last
		// The range expected before an anomaly started is kept while it is
		// pending or open: the anomaly holds while the value stays outside
		// it (a novelty scores once, not for as long as it lasts, so `for`
		// would otherwise never be met), and it is over when the value is
		// back inside — or, after settleBuckets, inside the range the
		// detector expects now (it has learned a new normal).
		_, open := a.open[key]
		_, pend := a.pending[key]
		if !open && !pend {
			w.refLow, w.refHigh, w.openFor, w.peak = o.Low, o.High, 0, 0
		} else {
			w.openFor++
		}
		w.peak = math.Max(w.peak, o.Score)
		within := func(lo, hi float64) bool { return w.lastVal >= lo && w.lastVal <= hi }
		outside := !math.IsNaN(w.lastVal) && !within(w.refLow, w.refHigh)
		cond, value, ids = o.Score >= r.MinScore || (pend && outside), w.peak, w.ids
		clear = o.Score < r.MinScore/2 && (within(w.refLow, w.refHigh) || (w.openFor >= settleBuckets && within(o.Low, o.High)))
		msg = fmt.Sprintf("%s: %s was %.4g in the %s to %s, expected %.4g (range %.4g to %.4g); anomaly score %.2f",
			flow, r.Metric, w.lastVal, r.Resolution, w.next.Format("15:04"), o.Expected, math.Max(0, o.Low), o.High, o.Score)
	}
	if len(ids) > 10 {
		ids = ids[len(ids)-10:]
	}
	if open, ok := a.open[key]; ok {
		if clear {
			t := now
			open.Status, open.ResolvedAt = "resolved", &t
			open.Message = "back to normal: " + msg
			delete(a.open, key)
			a.quiet[key] = now.Add(a.cooldown)
			return open
		}
		return nil
	}
	if !cond {
		delete(a.pending, key)
		return nil
	}
	since, ok := a.pending[key]
	if !ok {
		a.pending[key], since = now, now
	}
	if now.Sub(since) < r.For || now.Before(a.quiet[key]) {
		return nil
	}
	al := &Alert{ID: uuid.Must(uuid.NewV7()).String(), Rule: r.Name, Flow: flow, Severity: r.Severity, Status: "firing",
		Value: value, Runs: runs, RunIDs: ids, StartedAt: now, Message: msg}
	a.open[key] = al
	delete(a.pending, key)
	a.history = append(a.history, al)
	if len(a.history) > 1000 {
		a.history = a.history[len(a.history)-1000:]
	}
	return al
}

// bucketValue is a metric of the runs that finished in one bucket, and
// the runs behind it (failed ones for failures).
func bucketValue(metric string, evs []runEvent) (float64, []string) {
	switch metric {
	case "failures":
		n := 0
		for i := range evs {
			if evs[i].failed {
				n++
			}
		}
		return float64(n), lastIDs(evs, true)
	case "p95_ms":
		if len(evs) == 0 {
			return math.NaN(), nil
		}
		ds := make([]float64, len(evs))
		for i := range evs {
			ds[i] = float64(evs[i].dur.Microseconds()) / 1000
		}
		sort.Float64s(ds)
		return ds[int(math.Ceil(0.95*float64(len(ds))))-1], lastIDs(evs, false)
	}
	return float64(len(evs)), lastIDs(evs, false)
}

// binomialTail is P(X >= k) for X ~ Binomial(n, p), summed in log space.
func binomialTail(n, k int, p float64) float64 {
	if k <= 0 {
		return 1
	}
	if k > n {
		return 0
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	total := 0.0
	for i := k; i <= n; i++ {
		lc, _ := math.Lgamma(float64(n + 1))
		li, _ := math.Lgamma(float64(i + 1))
		lni, _ := math.Lgamma(float64(n - i + 1))
		total += math.Exp(lc - li - lni + float64(i)*lp + float64(n-i)*lq)
	}
	return math.Min(1, total)
}
