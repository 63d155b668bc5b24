package main

import (
	"encoding/gob"
	"fmt"
	"math"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/weftio/weft/monitor"
)

// The fitting of the per-kind gates (predict.json "kinds"): how sure a
// forecast must be (confidence), whether the newest half of the window
// must agree (recent), how long it must hold (persist) and how near it
// must be (horizon) before it is announced. Each dev case is replayed
// once with every gate open, recording at each evaluation whether a
// forecast of the case's kind stood, its confidences and its predicted
// time; the gates are then applied afterwards to those records over a
// grid, with the same announce/withdraw rules as
// monitor.Predictor.Evaluate, and the grid point chosen per kind by a
// rule fixed before it was run (session 17):
//
//	the highest recall whose precision is at least fitPrecision with
//	95 % confidence (the one-sided Wilson lower bound of hits / firings;
//	since session 18 the lower of it and the case-clustered bound)
//	and whose median lead is at least fitLead (at equal recall the
//	higher precision, then the longer lead); if no grid point gets
//	there, the highest Wilson lower bound.
//
// Session 16 took the point precision (>= 0.85) on 120 cases a kind: the
// grid point that won was the one luckiest on those cases, and held-back
// precision fell 0.85 -> 0.66. A lower bound charges a point chosen on
// few firings for how little it was seen. What the rule is worth is
// estimated by k-fold cross-validation over the dev seeds: the rule
// chooses on k-1 folds and is scored on the fold it did not see; the
// pooled scores are the estimate that should predict held-back.
//
// go run ./evals/predict -fit prints the grid, the cross-validated
// estimate and the choice on all dev seeds; copy the choice into
// monitor/predict.json and run make eval-predict, which scores the real
// predictor with it (the figures must agree).

// fitPrecision: the precision required, as a 95 % lower bound (-min-precision).
var fitPrecision = 0.8

const (
	fitWilsonZ = 1.645
	fitLead    = 12 * time.Minute
	fitFolds   = 5
)

var (
	fitConfidence = []float64{0, 0.5, 1, 1.5, 2, 2.5, 3, 4}
	// Persist and horizon as fractions of the kind's look-ahead (3 hours
	// for flows and rate limits, a week for storage): one grid for every
	// time scale. For flows: 0, 1, 2, 3, 5, 10, 20, 60 minutes; horizons
	// 3h (all), 2h, 1h, 30m.
	fitPersist  = []float64{0, 1.0 / 180, 1.0 / 90, 1.0 / 60, 1.0 / 36, 1.0 / 18, 1.0 / 9, 1.0 / 3}
	fitHorizon  = []float64{0, 2.0 / 3, 1.0 / 3, 1.0 / 6}
	fitFraction = []float64{0.05, 0.075, 0.1, 0.15, 0.2, 0.3}
	// Error rate, latency (session 19): min_progress (0: none) and
	// max_deceleration (0: none).
	fitProgress = []float64{0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85}
	fitDecel    = []float64{0, 1, 1.5, 2, 3}
	// Session 21: max_saturation (0: none), the likelihood-ratio
	// statistic's chi-square(1) points for p = 0.1, 0.05, 0.01, 0.001
	// (set from that meaning, not from the data). With -saturation it
	// takes max_deceleration's place in the grid (the grid keeps its size).
	fitSaturation = []float64{0, 2.71, 3.84, 6.63, 10.83}
	fitWithSat    bool
	// Session 22 (-grid s22): saturation and deceleration together, and
	// a minimum of points the forecast was fitted on (min_points: 0, or
	// half the trend window's 60). Written before the grid was run; to
	// keep the selection charge near the earlier grids' (53,760 points)
	// progress, saturation and approach are cut to the levels the fold
	// choices of sessions 19 and 21 used (progress 0.75-0.85, saturation
	// 2.71 or 3.84, approach 0s):
	// 2 x 8 x 8 x 4 x 4 x 3 x 3 x 2 x 2 = 73,728 points.
	fitGridName = "s19"
	s22Progress = []float64{0, 0.75, 0.8, 0.85}
	s22Decel    = []float64{0, 1, 2}
	s22Sat      = []float64{0, 2.71, 3.84}
	s22Approach = []float64{-1, 0}
	s22Points   = []int{0, 30}
	// approach: off (-1), or the slack as a fraction of the look-ahead
	// (0, 3 minutes for flows).
	fitApproach = []float64{-1, 0, 1.0 / 60}
	fitMargin   = []float64{0.5, 0.75, 1}
)

// rawStep is one evaluation with the gates open.
type rawStep struct {
	Now  time.Time
	OK   bool // a forecast of the case's kind stood
	Conf float64
	// ConfRecent: the least of Conf and the newest half's confidence
	// (monitor.KindParams.Recent), the highest over the scales.
	ConfRecent float64
	When       time.Time
	// Expiry: the fraction of the lifetime left, the least fraction left
	// at a renewal seen (-1: none), and whether refreshes were failing.
	Frac, Renewed float64
	Failing       bool
	// Error rate, latency: the rise's progress and deceleration
	// (evidence of the forecast; HasShape when it carried them).
	Progress, Decel, Sat float64
	HasShape             bool
	// Points: the points the forecast was fitted on (evidence.points;
	// session 22's min_points gate).
	Points float64
	// gap: packRaw's count of evaluations without a forecast that this
	// step stands for (0: itself only); not kept in the raw file.
	gap int
}

// packRaw collapses each run of evaluations without a forecast into its
// last one, counting them (gap). gate gives the same announcements on
// the packed steps: across such a run the hold breaks and an announced
// forecast's missing count and age only grow, so whether it is withdrawn
// by the run's end is all that matters (TestPackRaw). The grid is applied
// tens of thousands of times to each case; most evaluations of most cases
// have no forecast.
func packRaw(steps []rawStep) []rawStep {
	out := make([]rawStep, 0, len(steps)/4)
	for _, s := range steps {
		if !s.OK && len(out) > 0 && !out[len(out)-1].OK {
			last := &out[len(out)-1]
			n := max(1, last.gap) + 1
			*last = s
			last.gap = n
			continue
		}
		out = append(out, s)
	}
	return out
}

// gateParams are the gates applied to raw steps: the kind's, and for
// expiry the lifetime fraction and overdue margin.
type gateParams struct {
	kp           monitor.KindParams
	frac, margin float64 // expiry only (0: not expiry)
}

func (g gateParams) String() string {
	s := fmt.Sprintf("confidence %.1f persist %s horizon %s", g.kp.Confidence, time.Duration(g.kp.Persist), time.Duration(g.kp.Horizon))
	if g.kp.Recent {
		s += " recent"
	}
	if g.kp.MinProgress > 0 {
		s += fmt.Sprintf(" progress %.2f", g.kp.MinProgress)
	}
	if g.kp.MaxDeceleration > 0 {
		s += fmt.Sprintf(" decel %.1f", g.kp.MaxDeceleration)
	}
	if g.kp.MaxSaturation > 0 {
		s += fmt.Sprintf(" sat %.2f", g.kp.MaxSaturation)
	}
	if g.kp.Approach {
		s += fmt.Sprintf(" approach %s", time.Duration(g.kp.ApproachSlack))
	}
	if g.kp.MinPoints > 0 {
		s += fmt.Sprintf(" points %d", g.kp.MinPoints)
	}
	if g.frac > 0 {
		s = fmt.Sprintf("lifetime_fraction %.3f overdue_margin %.2f", g.frac, g.margin)
	}
	return s
}

// openParams are p with every kind's gate open and nothing kept after it
// stops (clear_after 1), so that what Evaluate reports active is what was
// forecast at that evaluation.
func openParams(p monitor.PredictParams) monitor.PredictParams {
	p.Kinds = map[string]monitor.KindParams{}
	for _, k := range kinds {
		p.Kinds[k] = monitor.KindParams{Confidence: -10}
	}
	p.Trend.ClearAfter = 1
	p.Expiry.LifetimeFraction, p.Expiry.OverdueMargin = 0.99, 100
	return p
}

// replayRaw replays c with the gates open (p from openParams).
func replayRaw(c *gcase, p monitor.PredictParams) []rawStep {
	var steps []rawStep
	replayWith(c, p, func(now time.Time, active, _ []monitor.Prediction) {
		st := rawStep{Now: now, Renewed: -1}
		for _, a := range active {
			if a.Kind == c.kind {
				st.OK, st.When = true, a.When
				st.Conf = 10 // expiry: no interval
				if v, has := a.Evidence["confidence"]; has {
					st.Conf = v
				}
				st.ConfRecent = st.Conf
				if v, has := a.Evidence["confidence_recent"]; has {
					st.ConfRecent = v
				}
				if v, has := a.Evidence["progress"]; has {
					st.Progress, st.Decel, st.Sat, st.HasShape = v, a.Evidence["deceleration"], a.Evidence["saturation"], true
				}
				st.Points = a.Evidence["points"]
				if life := a.Evidence["lifetime_s"]; life > 0 {
					st.Frac = a.Evidence["left_s"] / life
					st.Failing = a.Evidence["refresh_failures"] >= float64(p.Expiry.RefreshFailures)
					if v, has := a.Evidence["renewed_left"]; has {
						st.Renewed = v
					}
				}
			}
		}
		steps = append(steps, st)
	})
	return steps
}

// gate applies a kind's gate to raw steps as Evaluate does: announced once
// it has held persist, withdrawn after clearAfter evaluations without it
// or once its time is res past. It returns the announcement times.
func gate(steps []rawStep, g gateParams, clearAfter int, res time.Duration) []time.Time {
	var fires []time.Time
	active, holding := false, false
	var first, when, firstWhen time.Time
	missing := 0
	kp := g.kp
	for _, s := range steps {
		conf := s.Conf
		if kp.Recent {
			conf = s.ConfRecent
		}
		stands := s.OK && conf >= kp.Confidence && (kp.Horizon == 0 || s.When.Sub(s.Now) <= time.Duration(kp.Horizon))
		if stands && s.HasShape {
			stands = (kp.MinProgress == 0 || s.Progress >= kp.MinProgress) && (kp.MaxDeceleration == 0 || s.Decel < kp.MaxDeceleration) &&
				(kp.MaxSaturation == 0 || s.Sat < kp.MaxSaturation)
		}
		if stands && kp.MinPoints > 0 && s.Points > 0 && s.Points < float64(kp.MinPoints) {
			stands = false
		}
		if stands && g.frac > 0 {
			limit := g.frac
			if s.Renewed >= 0 {
				limit = math.Min(limit, s.Renewed*g.margin)
			}
			stands = s.Failing || s.Frac <= limit
		}
		if stands && !active && holding && kp.Approach && s.When.Sub(firstWhen) > time.Duration(kp.ApproachSlack) {
			stands = false // receding while held
		}
		if stands {
			if active {
				when, missing = s.When, 0
				continue
			}
			if !holding {
				holding, first, firstWhen = true, s.Now, s.When
			}
			if s.Now.Sub(first) >= time.Duration(kp.Persist) {
				holding, active, when, missing = false, true, s.When, 0
				fires = append(fires, s.Now)
			}
			continue
		}
		holding = false
		if active {
			missing += max(1, s.gap)
			if missing >= clearAfter || !when.After(s.Now.Add(-res)) {
				active = false
			}
		}
	}
	return fires
}

type fitPoint struct {
	g gateParams
	s score
}

// grid lists the gates tried for kind.
func grid(kind string, p monitor.PredictParams) []gateParams {
	var out []gateParams
	if kind == monitor.PredictExpiry {
		// A deadline is known exactly: no interval, nothing to persist;
		// what is fitted is how little of the lifetime is left before it
		// is worth saying, and the margin on the owner's renewal habit.
		for _, f := range fitFraction {
			for _, m := range fitMargin {
				out = append(out, gateParams{frac: f, margin: m})
			}
		}
		return out
	}
	look := float64(p.Trend.Horizon)
	switch kind {
	case monitor.PredictRateLimit:
		look = float64(p.RateLimit.Horizon)
	case monitor.PredictStorage:
		look = float64(p.Storage.Horizon)
	}
	recent := []bool{false}
	progress, decel, approach := []float64{0}, []float64{0}, []float64{-1}
	if kind == monitor.PredictErrorRate || kind == monitor.PredictLatency {
		recent = append(recent, true)
		progress, decel, approach = fitProgress, fitDecel, fitApproach
	}
	sats, points := []float64{0}, []int{0}
	flowKind := kind == monitor.PredictErrorRate || kind == monitor.PredictLatency
	if (fitWithSat || fitGridName == "s21") && flowKind {
		sats, decel = fitSaturation, []float64{0}
	}
	if fitGridName == "s22" && flowKind {
		progress, decel, sats, approach, points = s22Progress, s22Decel, s22Sat, s22Approach, s22Points
	}
	for _, rc := range recent {
		for _, z := range fitConfidence {
			for _, d := range fitPersist {
				for _, h := range fitHorizon {
					for _, mp := range progress {
						for _, md := range decel {
							for _, ms := range sats {
								for _, ap := range approach {
									for _, mn := range points {
										out = append(out, gateParams{kp: monitor.KindParams{Confidence: z, Recent: rc,
											Persist: monitor.Dur(time.Duration(d * look).Round(time.Minute)), Horizon: monitor.Dur(time.Duration(h * look).Round(time.Minute)),
											MinProgress: mp, MaxDeceleration: md, MaxSaturation: ms, Approach: ap >= 0, ApproachSlack: monitor.Dur(max(0, time.Duration(ap*look)).Round(time.Minute)),
											MinPoints: mn}})
									}
								}
							}
						}
					}
				}
			}
		}
	}
	return out
}

// wilsonLower is the one-sided lower confidence bound (z) of a
// proportion of k in n (Wilson 1927); 0 when n is 0.
func wilsonLower(k, n int, z float64) float64 {
	if n <= 0 {
		return 0
	}
	p, fn := float64(k)/float64(n), float64(n)
	c := z * z / fn
	return math.Max(0, (p+c/2-z*math.Sqrt(p*(1-p)/fn+c/(4*fn)))/(1+c))
}

// precisionLower is s's precision as a 95 % lower bound: the lower of
// the Wilson bound, which takes every firing as independent, and the
// case-clustered bound (clusteredLower), which does not — one case that
// fires three times is one draw, not three (session 18).
func precisionLower(s score) float64 {
	return math.Min(wilsonLower(s.hits, s.hits+s.fp, fitWilsonZ), clusteredLower(s, fitWilsonZ))
}

// clusteredLower is the one-sided lower confidence bound (z) of s's
// precision R = Σh / Σf taken as a ratio estimator over its cases (the
// sampled units; Cochran 1977, §6.4): Var R ≈ n/(n−1) · Σ(h − R·f)² /
// (Σf)². 0 without firings or with one case.
func clusteredLower(s score, z float64) float64 {
	f := float64(s.hits + s.fp)
	if f <= 0 || s.cases < 2 {
		return 0
	}
	r := float64(s.hits) / f
	e2 := s.shh - 2*r*s.shf + r*r*s.sff
	n := float64(s.cases)
	v := n / (n - 1) * math.Max(0, e2) / (f * f)
	return math.Max(0, r-z*math.Sqrt(v))
}

// better: higher recall; at equal recall higher precision, then the
// longer median lead.
func better(a, b score) bool {
	if a.recall() != b.recall() {
		return a.recall() > b.recall()
	}
	if a.precision() != b.precision() {
		return a.precision() > b.precision()
	}
	la, _ := a.median()
	lb, _ := b.median()
	return la > lb
}

// choose applies the rule to the scores of the grid's points: the index
// chosen, and whether it met the precision bound and lead.
func choose(scores []score) (int, bool) {
	best, bestOK := -1, false
	for i, s := range scores {
		if s.incidents == 0 {
			continue
		}
		lead, _ := s.median()
		ok := precisionLower(s) >= fitPrecision && lead >= fitLead
		switch {
		case ok && (!bestOK || better(s, scores[best])):
			best, bestOK = i, true
		case !ok && !bestOK && (best < 0 || precisionLower(s) > precisionLower(scores[best])):
			best = i
		}
	}
	return best, bestOK
}

// merge adds b's counts and leads to a.
func (s *score) merge(b score) {
	s.incidents += b.incidents
	s.hits += b.hits
	s.fp += b.fp
	s.leads = append(s.leads, b.leads...)
	s.cases += b.cases
	s.shh, s.shf, s.sff = s.shh+b.shh, s.shf+b.shf, s.sff+b.sff
}

// fold is the cross-validation fold of a seed.
func fold(seed int64) int { return int((seed - 1) % fitFolds) }

// fit prints, per kind, the grid, the cross-validated estimate of the
// rule and the choice on every dev case.
// fitCompare (-compare): a second grid whose rule's cross-validated
// estimate is compared, case by case, with the main grid's.
var fitCompare string

// scoreGrid scores every grid point of gs on each fold of the cases idx,
// the points shared out among the workers.
func scoreGrid(gs []gateParams, idx []int, cases []*gcase, packed [][]rawStep, p monitor.PredictParams, workers int) [][fitFolds]score {
	per := make([][fitFolds]score, len(gs))
	var wg sync.WaitGroup
	next := make(chan int, 64)
	for w := 0; w < max(1, workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for gi := range next {
				for _, i := range idx {
					c := cases[i]
					fires := gate(packed[i], gs[gi], p.Trend.ClearAfter, time.Duration(p.Trend.Resolution))
					per[gi][fold(c.seed)].add(outcome{incident: c.incident}, judge(c, fires))
				}
			}
		}()
	}
	for gi := range gs {
		next <- gi
	}
	close(next)
	wg.Wait()
	return per
}

// crossValidate applies the rule on every k-1 folds and scores its
// choice on the fold left out; it prints each fold and the pooled
// estimate and returns each case's result under its fold's choice (in
// idx's order).
func crossValidate(k, name string, gs []gateParams, per [][fitFolds]score, idx []int, cases []*gcase, packed [][]rawStep, p monitor.PredictParams) []result {
	var chosen [fitFolds]int
	var cv score
	for f := 0; f < fitFolds; f++ {
		chosen[f] = -1
		train := make([]score, len(gs))
		for gi := range gs {
			for h := 0; h < fitFolds; h++ {
				if h != f {
					train[gi].merge(per[gi][h])
				}
			}
		}
		bi, ok := choose(train)
		if bi < 0 {
			continue
		}
		chosen[f] = bi
		cv.merge(per[bi][f])
		fmt.Printf("%s [grid %s]: fold %d: chose %s (rule met: %v) -> on the fold: %s\n", k, name, f, gs[bi], ok, per[bi][f].String())
	}
	fmt.Printf("%s [grid %s]: cross-validated (%d folds): %s | P lower bound %.3f\n", k, name, fitFolds, cv.String(), precisionLower(cv))
	out := make([]result, len(idx))
	for j, i := range idx {
		c := cases[i]
		if bi := chosen[fold(c.seed)]; bi >= 0 {
			out[j] = judge(c, gate(packed[i], gs[bi], p.Trend.ClearAfter, time.Duration(p.Trend.Resolution)))
		}
	}
	return out
}

// compareCV prints the change in the cross-validated precision, recall
// and median lead from grid a to grid b with a 90 % interval from a paired
// bootstrap over the cases (2,000 resamples, fixed seed): a change whose
// interval holds 0 does not separate from the noise of this many cases.
func compareCV(k, an, bn string, a, b []result, idx []int, cases []*gcase) (string, [2]float64) {
	sc := func(rs []result, pick []int) score {
		var s score
		for _, j := range pick {
			s.add(outcome{incident: cases[idx[j]].incident}, rs[j])
		}
		return s
	}
	med := func(s score) float64 { m, _ := s.median(); return m.Minutes() }
	all := make([]int, len(idx))
	for j := range all {
		all[j] = j
	}
	sa, sb := sc(a, all), sc(b, all)
	r := rand.New(rand.NewSource(22))
	var dp, dr, dl []float64
	pick := make([]int, len(idx))
	for it := 0; it < 2000; it++ {
		for j := range pick {
			pick[j] = r.Intn(len(idx))
		}
		x, y := sc(a, pick), sc(b, pick)
		dp = append(dp, y.precision()-x.precision())
		dr = append(dr, y.recall()-x.recall())
		dl = append(dl, med(y)-med(x))
	}
	var pci [2]float64
	ci := func(v []float64, keep bool) string {
		w := v[:0:0]
		for _, x := range v {
			if !math.IsNaN(x) {
				w = append(w, x)
			}
		}
		if len(w) == 0 {
			return "[-]"
		}
		sort.Float64s(w)
		lo, hi := w[len(w)*5/100], w[len(w)*95/100]
		if keep {
			pci = [2]float64{lo, hi}
		}
		return fmt.Sprintf("[%+.3f, %+.3f]", lo, hi)
	}
	return fmt.Sprintf("%s: CV %s -> %s, paired over %d cases: precision %.3f -> %.3f (change 90%% %s), recall %.3f -> %.3f (%s), median lead %.1f -> %.1f min (%s)",
		k, an, bn, len(idx), sa.precision(), sb.precision(), ci(dp, true), sa.recall(), sb.recall(), ci(dr, false), med(sa), med(sb), ci(dl, false)), pci
}

func fit(cases []*gcase, raws [][]rawStep, p monitor.PredictParams, workers int) {
	packed := make([][]rawStep, len(raws))
	for i := range raws {
		packed[i] = packRaw(raws[i])
	}
	var choice []string
	for _, k := range kinds {
		var idx []int
		for i, c := range cases {
			if c.kind == k {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			continue
		}
		gs := grid(k, p)
		per := scoreGrid(gs, idx, cases, packed, p, workers)
		// predict.json's gates on the same cases: the figure to beat.
		var cur [fitFolds]score
		var curAll score
		curRes := make([]result, len(idx))
		for j, i := range idx {
			c := cases[i]
			curRes[j] = judge(c, gate(packed[i], gateParams{kp: p.Kinds[k]}, p.Trend.ClearAfter, time.Duration(p.Trend.Resolution)))
			cur[fold(c.seed)].add(outcome{incident: c.incident}, curRes[j])
		}
		for f := 0; f < fitFolds; f++ {
			curAll.merge(cur[f])
			fmt.Printf("%s: predict.json's gates on fold %d: %s\n", k, f, cur[f].String())
		}
		fmt.Printf("%s: predict.json's gates (%s) on all: %s | P lower bound %.3f\n", k, gateParams{kp: p.Kinds[k]}, curAll.String(), precisionLower(curAll))
		all := make([]score, len(gs))
		for gi := range gs {
			for f := 0; f < fitFolds; f++ {
				all[gi].merge(per[gi][f])
			}
		}
		fmt.Printf("\n%s: gate | P     R     median lead (fp) | P lower bound\n", k)
		for gi, g := range gs {
			fmt.Printf("%-10s %-56s | %s | %.3f\n", k, g, all[gi].String(), precisionLower(all[gi]))
		}
		cvRes := crossValidate(k, fitGridName, gs, per, idx, cases, packed, p)
		line, _ := compareCV(k, "predict.json", fitGridName, curRes, cvRes, idx, cases)
		fmt.Println(line)
		if fitCompare != "" {
			// The same cases, the same rule, another grid: the change
			// from it, paired by case (compareCV).
			main := fitGridName
			fitGridName = fitCompare
			ogs := grid(k, p)
			fitGridName = main
			oRes := crossValidate(k, fitCompare, ogs, scoreGrid(ogs, idx, cases, packed, p, workers), idx, cases, packed, p)
			line, _ = compareCV(k, fitCompare, fitGridName, oRes, cvRes, idx, cases)
			fmt.Println(line)
		}
		// Session 23: the demand calibrated by cross-validation (calibrate.go),
		// its nested estimate, and the change from the session-17 rule and
		// from predict.json on the same cases.
		cal := newCalibrator(per)
		nest, nChosen, nDemand := cal.nested()
		nRes := make([]result, len(idx))
		for f := 0; f < fitFolds; f++ {
			if nChosen[f] < 0 {
				fmt.Printf("%s [grid %s, session-23 rule]: fold %d: abstains (no demand meets the target in the inner cross-validation) -> on the fold: %s\n", k, fitGridName, f, cal.none(f).String())
				continue
			}
			fmt.Printf("%s [grid %s, session-23 rule]: fold %d: %s; chose %s -> on the fold: %s\n", k, fitGridName, f, nDemand[f], gs[nChosen[f]], per[nChosen[f]][f].String())
		}
		for j, i := range idx {
			if bi := nChosen[fold(cases[i].seed)]; bi >= 0 {
				nRes[j] = judge(cases[i], gate(packed[i], gs[bi], p.Trend.ClearAfter, time.Duration(p.Trend.Resolution)))
			}
		}
		fmt.Printf("%s [grid %s]: predict.json's gates, all dev: %s\n", k, fitGridName, withInterval(curAll))
		var oldCV score
		for j, i := range idx {
			oldCV.add(outcome{incident: cases[i].incident}, cvRes[j])
		}
		fmt.Printf("%s [grid %s]: session-17 rule, cross-validated: %s\n", k, fitGridName, withInterval(oldCV))
		fmt.Printf("%s [grid %s]: session-23 rule, nested cross-validated: %s (target met: %v)\n", k, fitGridName, withInterval(nest), meets(nest))
		line, _ = compareCV(k, "session-17 rule", "session-23 rule", cvRes, nRes, idx, cases)
		fmt.Println(line)
		line, _ = compareCV(k, "predict.json", "session-23 rule", curRes, nRes, idx, cases)
		fmt.Println(line)
		for _, tau := range calTau {
			for _, lam := range calLambda {
				d := demand{fitPrecision + tau, lam}
				s := cal.cv(1<<fitFolds-1, d)
				fmt.Printf("%s [grid %s]: 5-fold CV at demand %s: %s (target met: %v)\n", k, fitGridName, d, withInterval(s), meets(s))
			}
		}
		bi, ok := choose(all)
		how := fmt.Sprintf("session-17 rule: highest recall at precision >= %g (95 %% lower bound), lead >= 12m", fitPrecision)
		if !ok {
			how = fmt.Sprintf("session-17 rule: none reaches precision %g (95 %% lower bound) at lead >= 12m: highest lower bound", fitPrecision)
		}
		fmt.Printf("%s: session-17 rule's choice %s (%s): %s\n", k, gs[bi], how, all[bi].String())
		if nbi, d, nok := cal.choice(1<<fitFolds - 1); nok && nbi >= 0 {
			bi = nbi
			how = fmt.Sprintf("session-23 rule: demand %s, calibrated by 5-fold CV", d)
		} else {
			fmt.Printf("%s: the session-23 rule abstains on all dev (no demand meets the target in 5-fold CV); the session-17 rule's choice is printed\n", k)
		}
		b := gs[bi]
		fmt.Printf("%s: chosen %s (%s): %s\n", k, b, how, all[bi].String())
		breakdown(k, "predict.json", cases, raws, gateParams{kp: p.Kinds[k]}, p)
		breakdown(k, "chosen", cases, raws, b, p)
		if b.frac > 0 {
			choice = append(choice, fmt.Sprintf("expiry: \"lifetime_fraction\": %g, \"overdue_margin\": %g", b.frac, b.margin))
			continue
		}
		choice = append(choice, fmt.Sprintf("%q: {\"confidence\": %g, \"persist\": %q, \"horizon\": %q, \"recent\": %v, \"min_progress\": %g, \"max_deceleration\": %g, \"max_saturation\": %g, \"approach\": %v, \"approach_slack\": %q, \"min_points\": %d}", k, b.kp.Confidence,
			time.Duration(b.kp.Persist).String(), time.Duration(b.kp.Horizon).String(), b.kp.Recent, b.kp.MinProgress, b.kp.MaxDeceleration, b.kp.MaxSaturation,
			b.kp.Approach, time.Duration(b.kp.ApproachSlack).String(), b.kp.MinPoints))
	}
	sort.Strings(choice)
	fmt.Printf("\nchosen (monitor/predict.json):\n%s\n", strings.Join(choice, "\n"))
}

func saveRaw(file string, raws [][]rawStep) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := gob.NewEncoder(f).Encode(raws); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func loadRaw(file string) ([][]rawStep, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var raws [][]rawStep
	return raws, gob.NewDecoder(f).Decode(&raws)
}

// breakdown prints where a kind's gate g fires on the flow cases: the
// recovering rises announced, by their peak (a fraction of the way to the
// bound) and shape; the other normal cases announced; the incidents by
// the lead of their first announcement (session 19).
func breakdown(k, label string, cases []*gcase, raws [][]rawStep, g gateParams, p monitor.PredictParams) {
	if k != monitor.PredictErrorRate && k != monitor.PredictLatency {
		return
	}
	peaks := []float64{0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.951}
	var recN, recFired, recFP [2][]int
	for s := range recN {
		recN[s], recFired[s], recFP[s] = make([]int, len(peaks)-1), make([]int, len(peaks)-1), make([]int, len(peaks)-1)
	}
	leads := []time.Duration{0, 5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute, 60 * time.Minute, 1 << 62}
	hitBy := make([]int, len(leads)-1)
	var otherN, otherFired, otherFP, inc, late, missed, incFP int
	for i, c := range cases {
		if c.kind != k {
			continue
		}
		r := judge(c, gate(raws[i], g, p.Trend.ClearAfter, time.Duration(p.Trend.Resolution)))
		switch {
		case c.incident:
			inc++
			incFP += r.fp
			switch {
			case r.hit:
				for b := range hitBy {
					if r.lead >= leads[b] && r.lead < leads[b+1] {
						hitBy[b]++
					}
				}
			case r.late:
				late++
			default:
				missed++
			}
		case c.recovering:
			for b := 0; b+1 < len(peaks); b++ {
				if c.rise.peak >= peaks[b] && c.rise.peak < peaks[b+1] {
					recN[c.rise.shape][b]++
					recFP[c.rise.shape][b] += r.fp
					if r.fp > 0 {
						recFired[c.rise.shape][b]++
					}
				}
			}
		default:
			otherN++
			otherFP += r.fp
			if r.fp > 0 {
				otherFired++
			}
		}
	}
	fmt.Printf("\n%s breakdown (%s: %s)\n", k, label, g)
	for sh, name := range []string{"linear", "accelerating"} {
		fmt.Printf("  recovering rises, %-12s by peak: ", name)
		for b := 0; b+1 < len(peaks); b++ {
			fmt.Printf(" %.2f-%.2f %d/%d (fp %d)", peaks[b], math.Min(peaks[b+1], 0.95), recFired[sh][b], recN[sh][b], recFP[sh][b])
		}
		fmt.Println()
	}
	fmt.Printf("  other normal cases: %d of %d announced (fp %d)\n", otherFired, otherN, otherFP)
	fmt.Printf("  incidents %d: missed %d, late %d, fp on incidents %d; hits by lead:", inc, missed, late, incFP)
	for b := range hitBy {
		fmt.Printf(" [%s,%s) %d", fmtDur(leads[b]), fmtDur(min(leads[b+1], 24*time.Hour)), hitBy[b])
	}
	fmt.Println()
}
