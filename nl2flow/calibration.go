package nl2flow

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// Confidence is a calibrated probability that a draft is right (the
// request's operations, trigger and nothing dropped or unasked-for), from
// general signals of the draft: whether it is valid, broken or only
// incomplete, how much of the request it left in not_understood, its open
// questions, typo corrections, a trigger it had to default. The weights
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
}

// FeatureNames name ConfidenceFeatures, in order.
var FeatureNames = []string{"valid", "has_steps", "broken", "missing_args", "not_understood", "questions", "corrections", "default_trigger", "steps"}

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
	broken, missing := false, 0
	for _, p := range d.Problems {
		if strings.Contains(p.Message, ", which the draft does not set") {
			missing++
		} else {
			broken = true
		}
	}
	defaulted := false
	for _, q := range d.Questions {
		if strings.HasPrefix(q, "What should start this flow?") {
			defaulted = true
		}
	}
	return []float64{b(d.Valid), b(steps > 0), b(broken), capped(missing, 3), capped(len(d.NotUnderstood), 5),
		capped(len(d.Questions), 5), capped(len(d.Corrections), 3), b(defaulted), capped(steps, 5)}
}

// Score applies the model.
func (c Calibration) Score(x []float64) float64 {
	z := c.Bias
	for i, w := range c.Weights {
		z += w * x[i]
	}
	return 1 / (1 + math.Exp(-z))
}

// FitCalibration fits the logistic regression (L2, batch gradient
// descent) to feature rows and outcomes.
func FitCalibration(xs [][]float64, ys []bool, source string) Calibration {
	n := len(FeatureNames)
	w := make([]float64, n)
	bias := 0.0
	const (
		rate   = 0.5
		lambda = 0.01
		rounds = 4000
	)
	for r := 0; r < rounds; r++ {
		gw := make([]float64, n)
		gb := 0.0
		for i, x := range xs {
			z := bias
			for j := range w {
				z += w[j] * x[j]
			}
			p := 1 / (1 + math.Exp(-z))
			y := 0.0
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
		w[j] = math.Round(w[j]*1e4) / 1e4
	}
	return Calibration{Source: source, Features: append([]string{}, FeatureNames...), Weights: w, Bias: math.Round(bias*1e4) / 1e4}
}
