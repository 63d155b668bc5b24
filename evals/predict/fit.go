package main

import (
	"encoding/gob"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/weftio/weft/monitor"
)

// The fitting of the per-kind gates (predict.json "kinds"): how sure a
// forecast must be (confidence) and how long it must hold (persist)
// before it is announced. Each dev case is replayed once with every gate
// open, recording at each evaluation whether a forecast of the case's kind
// stood, its confidence and its predicted time; the gates are then
// applied afterwards to those records over a grid, with the same
// announce/withdraw rules as monitor.Predictor.Evaluate, and the grid
// point chosen per kind by a rule fixed before it was run:
//
//	the highest recall with dev precision >= fitPrecision and median lead
//	>= fitLead (at equal recall the higher precision, then the longer
//	lead); if no grid point gets there, the highest F0.5.
//
// go run ./evals/predict -fit prints the grid and the choice; copy the
// choice into monitor/predict.json and run make eval-predict, which
// scores the real predictor with it (the figures must agree).

const (
	fitPrecision = 0.85 // above the target (0.8): room for the held-back seeds
	fitLead      = 12 * time.Minute
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
	fitMargin   = []float64{0.5, 0.75, 1}
)

// rawStep is one evaluation with the gates open.
type rawStep struct {
	Now  time.Time
	OK   bool // a forecast of the case's kind stood
	Conf float64
	When time.Time
	// Expiry: the fraction of the lifetime left, the least fraction left
	// at a renewal seen (-1: none), and whether refreshes were failing.
	Frac, Renewed float64
	Failing       bool
}

// gateParams are the gates applied to raw steps: the kind's, and for
// expiry the lifetime fraction and overdue margin.
type gateParams struct {
	kp           monitor.KindParams
	frac, margin float64 // expiry only (0: not expiry)
}

func (g gateParams) String() string {
	s := fmt.Sprintf("confidence %.1f persist %s horizon %s", g.kp.Confidence, time.Duration(g.kp.Persist), time.Duration(g.kp.Horizon))
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
	var first, when time.Time
	missing := 0
	kp := g.kp
	for _, s := range steps {
		stands := s.OK && s.Conf >= kp.Confidence && (kp.Horizon == 0 || s.When.Sub(s.Now) <= time.Duration(kp.Horizon))
		if stands && g.frac > 0 {
			limit := g.frac
			if s.Renewed >= 0 {
				limit = math.Min(limit, s.Renewed*g.margin)
			}
			stands = s.Failing || s.Frac <= limit
		}
		if stands {
			if active {
				when, missing = s.When, 0
				continue
			}
			if !holding {
				holding, first = true, s.Now
			}
			if s.Now.Sub(first) >= time.Duration(kp.Persist) {
				holding, active, when, missing = false, true, s.When, 0
				fires = append(fires, s.Now)
			}
			continue
		}
		holding = false
		if active {
			missing++
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
	for _, z := range fitConfidence {
		for _, d := range fitPersist {
			for _, h := range fitHorizon {
				out = append(out, gateParams{kp: monitor.KindParams{Confidence: z,
					Persist: monitor.Dur(time.Duration(d * look).Round(time.Minute)), Horizon: monitor.Dur(time.Duration(h * look).Round(time.Minute))}})
			}
		}
	}
	return out
}

func f05(s score) float64 {
	p, r := s.precision(), s.recall()
	if math.IsNaN(p) || math.IsNaN(r) || p+r == 0 {
		return 0
	}
	return 1.25 * p * r / (0.25*p + r)
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

// fit prints the grid per kind and the choice.
func fit(cases []*gcase, raws [][]rawStep, p monitor.PredictParams) {
	var choice []string
	for _, k := range kinds {
		var pts []fitPoint
		for _, g := range grid(k, p) {
			var s score
			for i, c := range cases {
				if c.kind != k {
					continue
				}
				fires := gate(raws[i], g, p.Trend.ClearAfter, time.Duration(p.Trend.Resolution))
				s.add(outcome{incident: c.incident}, judge(c, fires))
			}
			if s.incidents > 0 {
				pts = append(pts, fitPoint{g, s})
			}
		}
		if len(pts) == 0 {
			continue
		}
		fmt.Printf("\n%s: gate | P     R     median lead (fp)\n", k)
		best, bestOK := -1, false
		for i, pt := range pts {
			fmt.Printf("%-10s %-50s | %s\n", k, pt.g, pt.s.String())
			lead, _ := pt.s.median()
			ok := pt.s.precision() >= fitPrecision && lead >= fitLead
			switch {
			case ok && (!bestOK || better(pt.s, pts[best].s)):
				best, bestOK = i, true
			case !ok && !bestOK && (best < 0 || f05(pt.s) > f05(pts[best].s)):
				best = i
			}
		}
		how := "highest recall at precision >= 0.85, lead >= 12m"
		if !bestOK {
			how = "none reaches precision 0.85 at lead >= 12m: highest F0.5"
		}
		b := pts[best]
		fmt.Printf("%s: chosen %s (%s): %s\n", k, b.g, how, b.s.String())
		if b.g.frac > 0 {
			choice = append(choice, fmt.Sprintf("expiry: \"lifetime_fraction\": %g, \"overdue_margin\": %g", b.g.frac, b.g.margin))
			continue
		}
		choice = append(choice, fmt.Sprintf("%q: {\"confidence\": %g, \"persist\": %q, \"horizon\": %q}", k, b.g.kp.Confidence,
			time.Duration(b.g.kp.Persist).String(), time.Duration(b.g.kp.Horizon).String()))
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
