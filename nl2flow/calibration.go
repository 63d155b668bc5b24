package nl2flow

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Confidence is a calibrated probability that a draft is right (the
// request's operations, trigger and nothing dropped or unasked-for), from
// general signals of the draft: whether it is valid, broken or only
// incomplete, how much of the request it left in not_understood, its open
// questions, typo corrections, a trigger it had to default, the share of
// the request's content words none of its parts accounts for, product
// names the catalog lacks, writes a licence left out, the request's length,
// the share of its clauses the draft did not compile whole, a feedback
// loop (the draft writes what its trigger watches). The weights
// are learned (logistic regression) on the development splits and kept in
// calibration.json with how they were made; `go run ./evals/nl2flow
// -calibrate nl2flow/calibration.json` refits them.

//go:embed calibration.json
var calibrationJSON []byte

// Calibration is the learned confidence model.
type Calibration struct {
	Source   string    `json:"source"`
	Features []string  `json:"features"`
	Weights  []float64 `json:"weights"`
	Bias     float64   `json:"bias"`
	// Isotonic maps the logistic score onto the share of right drafts
	// (pool-adjacent-violators on the same drafts): Upper[i] is the highest
	// score of block i, Value[i] its probability. Empty: the score as is.
	Isotonic *Isotonic `json:"isotonic,omitempty"`
}

// Isotonic is a monotone step function.
type Isotonic struct {
	Upper []float64 `json:"upper"`
	Value []float64 `json:"value"`
}

// At is the step function's value at p.
func (m *Isotonic) At(p float64) float64 {
	for i, u := range m.Upper {
		if p <= u {
			return m.Value[i]
		}
	}
	return m.Value[len(m.Value)-1]
}

// Recalibrate fits the isotonic map of the model's scores on drafts that
// compile (a broken draft's confidence is 0 whatever the map says).
func (c *Calibration) Recalibrate(xs [][]float64, ys []bool, minBlock int) {
	c.RecalibrateShrunk(xs, ys, minBlock, 0)
}

// RecalibrateShrunk is Recalibrate with each step's share shrunk towards
// the share of right drafts over all of them, as if strength more drafts
// at that base rate sat in every step (0: the Laplace rule, one right and
// one wrong added). A step fitted on few drafts then says little more than
// the base rate, which transfers better than a share a few drafts set.
func (c *Calibration) RecalibrateShrunk(xs [][]float64, ys []bool, minBlock int, strength float64) {
	var sc []float64
	var y []bool
	for i, x := range xs {
		if x[2] == 1 {
			continue
		}
		sc, y = append(sc, c.Score(x)), append(y, ys[i])
	}
	c.Isotonic = nil
	if minBlock > 0 && len(sc) > 0 {
		c.Isotonic = FitIsotonicShrunk(sc, y, minBlock, strength)
	}
}

// FitIsotonic fits a non-decreasing step function of scores to outcomes by
// pool-adjacent-violators, each block holding at least minBlock drafts so
// that a handful of drafts cannot set a probability alone.
func FitIsotonic(scores []float64, ys []bool, minBlock int) *Isotonic {
	return FitIsotonicShrunk(scores, ys, minBlock, 0)
}

// FitIsotonicShrunk is FitIsotonic with each step's share shrunk towards
// the base rate of ys by strength pseudo-drafts (0: Laplace, towards 1/2
// by two).
func FitIsotonicShrunk(scores []float64, ys []bool, minBlock int, strength float64) *Isotonic {
	// Laplace: one right and one wrong added; with strength, that many
	// drafts at the base rate.
	right, all, weight := 1, 2, float64(2)
	if strength > 0 && len(ys) > 0 {
		right, all, weight = 0, len(ys), strength
		for _, y := range ys {
			if y {
				right++
			}
		}
	}
	prior := float64(right) / float64(all)
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	type block struct {
		sum   float64
		n     int
		upper float64
	}
	var bs []block
	for _, i := range idx {
		var y float64
		if ys[i] {
			y = 1
		}
		bs = append(bs, block{y, 1, scores[i]})
		for len(bs) > 1 {
			a, b := bs[len(bs)-2], bs[len(bs)-1]
			// Merge when out of order, or when the last block is too small
			// or shares its score with the one before.
			if a.sum/float64(a.n) >= b.sum/float64(b.n) || a.n < minBlock || a.upper == b.upper {
				bs = append(bs[:len(bs)-2], block{a.sum + b.sum, a.n + b.n, b.upper})
				continue
			}
			break
		}
	}
	// A short last block joins the one before.
	for len(bs) > 1 && bs[len(bs)-1].n < minBlock {
		a, b := bs[len(bs)-2], bs[len(bs)-1]
		bs = append(bs[:len(bs)-2], block{a.sum + b.sum, a.n + b.n, b.upper})
	}
	m := &Isotonic{}
	for _, b := range bs {
		m.Upper = append(m.Upper, round4(b.upper))
		// The share of right drafts with pseudo-drafts added (Laplace, or
		// the base rate): no step says never or always.
		v := round4((b.sum + prior*weight) / (float64(b.n) + weight))
		if k := len(m.Value); k > 0 && v < m.Value[k-1] {
			v = m.Value[k-1] // shrinking a small step more than a large one must not undo the order
		}
		m.Value = append(m.Value, v)
	}
	return m
}

// FeatureNames name ConfidenceFeatures, in order.
var FeatureNames = []string{"valid", "has_steps", "broken", "missing_args", "not_understood", "questions", "corrections", "default_trigger", "steps",
	"uncovered", "products", "refused", "length", "systems_unused", "steps_unnamed", "stepless_trigger", "clauses_open", "feedback_loop"}

var calibration = func() Calibration {
	var c Calibration
	if err := json.Unmarshal(calibrationJSON, &c); err != nil || len(c.Weights) != len(FeatureNames) || strings.Join(c.Features, ",") != strings.Join(FeatureNames, ",") {
		panic(fmt.Sprintf("nl2flow: calibration.json does not fit the features %v: %v", FeatureNames, err))
	}
	return c
}()

// ConfidenceFeatures are the signals confidence is computed from, each in
// [0, 1].
func ConfidenceFeatures(d *Draft) []float64 {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	capped := func(n, max int) float64 { return math.Min(float64(n), float64(max)) / float64(max) }
	steps := 0
	if d.Flow != nil {
		steps = len(d.Flow.Steps)
	}
	broken, loop, missing := false, false, 0
	for _, p := range d.Problems {
		switch {
		case strings.Contains(p.Message, ", which the draft does not set"):
			missing++
		case strings.HasPrefix(p.Message, loopProblem):
			// The draft writes what its trigger watches: a question of
			// intent (loopQuestion asks it; the engine stops such chains),
			// not a draft that fails to compile. A bot that answers the
			// messages it reads is such a draft and is often what was
			// asked; the fit says how much the loop lowers confidence.
			loop = true
		case strings.HasPrefix(p.Message, "flow has no steps"):
			// Nothing drafted: an abstention, which may be the right
			// answer (has_steps says it), not a draft that fails to compile.
		default:
			broken = true
		}
	}
	defaulted := false
	for _, q := range d.Questions {
		if strings.HasPrefix(q, "What should start this flow?") {
			defaulted = true
		}
	}
	var uncovered float64
	if d.signals.content > 0 {
		uncovered = float64(d.signals.open) / float64(d.signals.content)
	}
	return []float64{b(d.Valid), b(steps > 0), b(broken), capped(missing, 3), capped(len(d.NotUnderstood), 5),
		capped(len(d.Questions), 5), capped(len(d.Corrections), 3), b(defaulted), capped(steps, 5),
		uncovered, capped(d.signals.products, 3), capped(d.signals.refused, 3), capped(d.signals.content, 30),
		share(d.signals.sysUnused, d.signals.sysNamed), share(d.signals.callUnnamed, d.signals.callSteps), b(d.signals.stepless),
		share(d.signals.clausesOpen, d.signals.clauses), b(loop)}
}

// share is n of all, 0 when all is 0.
func share(n, all int) float64 {
	if all == 0 {
		return 0
	}
	return math.Min(1, float64(n)/float64(all))
}

// Score applies the model.
func (c Calibration) Score(x []float64) float64 {
	z := c.Bias
	for i, w := range c.Weights {
		z += w * x[i]
	}
	return 1 / (1 + math.Exp(-z))
}

// Confidence is the draft's confidence from its features: the model's
// probability to two decimals, and 0 for a broken draft (it does not
// compile, whatever else it got right).
func (c Calibration) Confidence(x []float64) float64 {
	if x[2] == 1 {
		return 0
	}
	p := c.Score(x)
	if c.Isotonic != nil && len(c.Isotonic.Value) > 0 {
		p = c.Isotonic.At(p)
	}
	return math.Round(p*100) / 100
}

// FitOptions are the fit's settings, chosen by the training command
// (`go run ./evals/nl2flow -calibrate`), not here.
type FitOptions struct {
	Rate   float64 // gradient step
	Lambda float64 // L2 penalty
	Rounds int     // full-batch steps
}

// FitCalibration fits the logistic regression (L2, batch gradient
// descent) to feature rows and outcomes.
func FitCalibration(xs [][]float64, ys []bool, source string, opt FitOptions) Calibration {
	n := len(FeatureNames)
	w := make([]float64, n)
	var bias float64
	rate, lambda := opt.Rate, opt.Lambda
	for r := 0; r < opt.Rounds; r++ {
		gw := make([]float64, n)
		var gb float64
		for i, x := range xs {
			z := bias
			for j := range w {
				z += w[j] * x[j]
			}
			p := 1 / (1 + math.Exp(-z))
			var y float64
			if ys[i] {
				y = 1
			}
			for j := range w {
				gw[j] += (p - y) * x[j]
			}
			gb += p - y
		}
		m := float64(max(1, len(xs)))
		for j := range w {
			w[j] -= rate * (gw[j]/m + lambda*w[j])
		}
		bias -= rate * gb / m
	}
	for j := range w {
		w[j] = round4(w[j])
	}
	return Calibration{Source: source, Features: append([]string{}, FeatureNames...), Weights: w, Bias: round4(bias)}
}

// round4 keeps four decimals, so the data file stays readable.
func round4(x float64) float64 {
	const scale = 1e4
	return math.Round(x*scale) / scale
}
