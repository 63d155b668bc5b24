package nl2flow_test

import (
	"math"
	"strings"
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
	none := compile(t, "Capture leads in Google Sheets from Typeform")
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
	c := nl2flow.FitCalibration(xs, ys, "test", nl2flow.FitOptions{Rate: 0.5, Lambda: 0.01, Rounds: 4000})
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

// The isotonic map is a non-decreasing step function over blocks of at
// least the minimum size, with no step at 0 or 1.
func TestFitIsotonic(t *testing.T) {
	var sc []float64
	var ys []bool
	for i := 0; i < 100; i++ {
		sc = append(sc, float64(i)/100)
		ys = append(ys, i%10 < i/10) // more right as the score rises, with noise
	}
	m := nl2flow.FitIsotonic(sc, ys, 10)
	if len(m.Value) < 2 || len(m.Value) != len(m.Upper) {
		t.Fatalf("map %+v", m)
	}
	for i := 1; i < len(m.Value); i++ {
		if m.Value[i] < m.Value[i-1] || m.Upper[i] <= m.Upper[i-1] {
			t.Fatalf("not monotone: %+v", m)
		}
	}
	for _, v := range m.Value {
		if v <= 0 || v >= 1 {
			t.Fatalf("a step at 0 or 1: %+v", m)
		}
	}
	if m.At(0) != m.Value[0] || m.At(2) != m.Value[len(m.Value)-1] {
		t.Fatalf("At outside the range: %v %v", m.At(0), m.At(2))
	}
	// Blocks hold at least the minimum: with 100 drafts and 30, at most 3.
	if big := nl2flow.FitIsotonic(sc, ys, 30); len(big.Value) > 3 {
		t.Fatalf("blocks under the minimum: %+v", big)
	}
	// All wrong: one step, near 0 but not 0.
	none := nl2flow.FitIsotonic(sc, make([]bool, len(sc)), 10)
	if len(none.Value) != 1 || none.Value[0] >= 0.05 || none.Value[0] <= 0 {
		t.Fatalf("all wrong: %+v", none)
	}
}

// A draft with nothing in it is an abstention, not a broken draft: its
// confidence comes from the model (abstaining can be right), while a
// draft that does not compile scores 0.
func TestAbstentionIsNotBroken(t *testing.T) {
	d := compile(t, "Capture leads in Google Sheets from Typeform")
	if len(calls(d.Flow)) != 0 {
		t.Fatalf("drafted %v", calls(d.Flow))
	}
	x := nl2flow.ConfidenceFeatures(d)
	if x[2] != 0 || x[1] != 0 {
		t.Fatalf("features %v: an empty draft should be has_steps 0, broken 0", x)
	}
	if d.Confidence <= 0 {
		t.Fatalf("confidence %v", d.Confidence)
	}
}

// Shrinking towards the base rate: a small step moves further towards it
// than a large one, and the map stays non-decreasing even then.
func TestFitIsotonicShrunk(t *testing.T) {
	var sc []float64
	var ys []bool
	// 20 drafts at low scores, 30% right; 200 at high scores, 35% right:
	// base rate about 0.345.
	for i := 0; i < 20; i++ {
		sc, ys = append(sc, 0.1+float64(i)/1000), append(ys, i%10 < 3)
	}
	for i := 0; i < 200; i++ {
		sc, ys = append(sc, 0.8+float64(i)/10000), append(ys, i%20 < 7)
	}
	plain := nl2flow.FitIsotonicShrunk(sc, ys, 20, 0)
	shrunk := nl2flow.FitIsotonicShrunk(sc, ys, 20, 40)
	if len(plain.Value) != 2 || len(shrunk.Value) != 2 {
		t.Fatalf("steps %v %v", plain, shrunk)
	}
	for i := 1; i < len(shrunk.Value); i++ {
		if shrunk.Value[i] < shrunk.Value[i-1] {
			t.Errorf("not monotone: %v", shrunk.Value)
		}
	}
	if shrunk.Value[0] <= plain.Value[0] {
		t.Errorf("the small low step did not move up towards the base rate: %v → %v", plain.Value, shrunk.Value)
	}
	if nl2flow.FitIsotonic(sc, ys, 20).Value[0] != plain.Value[0] {
		t.Error("strength 0 is not the Laplace rule")
	}
}

// The share of the request's clauses the draft did not compile whole is a
// signal of its own: 0 for a request every clause of which became a part
// of the draft, more for one with a clause left out, all for one with
// nothing compiled.
func TestClausesOpenFeature(t *testing.T) {
	k := -1
	for i, n := range nl2flow.FeatureNames {
		if n == "clauses_open" {
			k = i
		}
	}
	if k < 0 {
		t.Fatalf("no clauses_open feature in %v", nl2flow.FeatureNames)
	}
	full := nl2flow.ConfidenceFeatures(compile(t, "When a new opportunity closes in the CRM, create a project in the tracker"))
	partial := nl2flow.ConfidenceFeatures(compile(t, "When a new opportunity closes in the CRM, create a project in the tracker, then translate the weather forecast into Klingon"))
	none := nl2flow.ConfidenceFeatures(compile(t, "Translate the weather forecast into Klingon"))
	if !(full[k] == 0 && partial[k] > 0 && partial[k] < 1 && none[k] == 1) {
		t.Errorf("clauses_open: complete %v, one clause left out %v, nothing compiled %v; want 0, between 0 and 1, 1", full[k], partial[k], none[k])
	}
}

// A draft that writes the records its trigger watches (a bot answering the
// messages it reads, a record updated on its own change) compiles: the
// loop is a question of intent the draft asks, not a broken draft, so its
// confidence comes from the model (feedback_loop) and is not forced to 0.
func TestFeedbackLoopIsNotBroken(t *testing.T) {
	idx := -1
	for i, n := range nl2flow.FeatureNames {
		if n == "feedback_loop" {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("no feedback_loop feature in %v", nl2flow.FeatureNames)
	}
	for _, text := range []string{
		"When a new contact is created in the CRM, update the contact in the CRM",
		"A chat bot that answers the messages it receives",
	} {
		d := compile(t, text)
		loop := false
		for _, p := range d.Problems {
			loop = loop || strings.HasPrefix(p.Message, "feedback loop")
		}
		if !loop {
			t.Fatalf("%q: no feedback loop drafted (%v); the test needs one", text, d.Problems)
		}
		x := nl2flow.ConfidenceFeatures(d)
		if x[2] != 0 || x[idx] != 1 {
			t.Errorf("%q: features %v: a feedback loop should be feedback_loop 1, broken 0", text, x)
		}
		if d.Confidence <= 0 {
			t.Errorf("%q: confidence %v: a draft that compiles, with a loop asked about, was scored as broken", text, d.Confidence)
		}
	}
}
