package nl2flow_test

import (
	"math"
	"testing"

	"github.com/weftio/weft/nl2flow"
)

// Confidence falls with each part not understood and each open question,
// and a valid, complete draft scores above an invalid one.
func TestConfidenceOrdersByWhatIsLeftOpen(t *testing.T) {
	full := compile(t, "When a new opportunity closes in the CRM, create a project in the tracker and notify the delivery team in chat")
	if !full.Valid || full.Confidence < 0.5 {
		t.Fatalf("the mission sentence: valid=%v confidence %v", full.Valid, full.Confidence)
	}
	partial := compile(t, "When a new opportunity closes in the CRM, create a project in the tracker, notify the delivery team in chat and translate the weather forecast into Klingon")
	if partial.Confidence >= full.Confidence {
		t.Errorf("a draft with a part not understood (%q) is as confident (%v) as a complete one (%v)", partial.NotUnderstood, partial.Confidence, full.Confidence)
	}
	none := compile(t, "Capture leads in the CRM from Typeform")
	if none.Confidence >= partial.Confidence {
		t.Errorf("a draft with no step is as confident (%v) as a partial one (%v)", none.Confidence, partial.Confidence)
	}
}

// The fit recovers a separable signal and keeps weights finite.
func TestFitCalibration(t *testing.T) {
	var xs [][]float64
	var ys []bool
	for i := 0; i < 200; i++ {
		x := make([]float64, len(nl2flow.FeatureNames))
		x[0] = float64(i % 2) // valid
		x[4] = float64(i%5) / 5
		xs = append(xs, x)
		ys = append(ys, i%2 == 1 && i%5 < 3)
	}
	c := nl2flow.FitCalibration(xs, ys, "test")
	if c.Weights[0] <= 0 || c.Weights[4] >= 0 {
		t.Errorf("weights %v: valid should raise, not_understood lower the score", c.Weights)
	}
	for _, w := range c.Weights {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			t.Fatalf("weights %v", c.Weights)
		}
	}
	lo := c.Score(make([]float64, len(nl2flow.FeatureNames)))
	hi := append([]float64{1}, make([]float64, len(nl2flow.FeatureNames)-1)...)
	if c.Score(hi) <= lo {
		t.Errorf("score(valid) %v <= score(none) %v", c.Score(hi), lo)
	}
}
