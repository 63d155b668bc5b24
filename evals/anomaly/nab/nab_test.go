package nab

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// Hand-computed cases of NAB's scoring rules.
func TestScaledSigmoid(t *testing.T) {
	// Start of a window (y = -1): 2/(1+e^-5) - 1 = 0.98661...
	if v := ScaledSigmoid(-1); !near(v, 2/(1+math.Exp(-5))-1) || v < 0.986 || v > 0.987 {
		t.Fatalf("start %v", v)
	}
	// The last row of a window (y = -1/w) is worth less; just after a window ~0; far after -1.
	if ScaledSigmoid(0) != 0 || ScaledSigmoid(4) != -1 || !near(ScaledSigmoid(3), 2/(1+math.Exp(15))-1) {
		t.Fatal("sigmoid shape")
	}
	if ProbationaryRows(1000) != 150 || ProbationaryRows(10000) != 750 {
		t.Fatal("probation")
	}
}

func TestScoreHandComputed(t *testing.T) {
	std := Profiles[0]
	// 100 rows (probation 15), one window [40, 49] (width 10).
	mk := func(det ...int) Series {
		s := Series{Scores: make([]float64, 100), Windows: [][2]int{{40, 49}}}
		for _, d := range det {
			s.Scores[d] = 1
		}
		return s
	}
	// Nothing detected: -FN.
	if v := ScoreAt([]Series{mk()}, std, 0.5); v != -1 {
		t.Fatalf("null %v", v)
	}
	// A detection at the window's first row: y = -(49-40+1)/10 = -1 -> 0.98661.
	if v := ScoreAt([]Series{mk(40)}, std, 0.5); !near(v, ScaledSigmoid(-1)) {
		t.Fatalf("early TP %v", v)
	}
	// Only the first detection in a window counts.
	if v := ScoreAt([]Series{mk(40, 45)}, std, 0.5); !near(v, ScaledSigmoid(-1)) {
		t.Fatalf("second detection counted: %v", v)
	}
	// A late detection (row 49): y = -(49-49+1)/10 = -0.1.
	if v := ScoreAt([]Series{mk(49)}, std, 0.5); !near(v, ScaledSigmoid(-0.1)) {
		t.Fatalf("late TP %v", v)
	}
	// A false positive before any window: -1 * 0.11, plus the missed window.
	if v := ScoreAt([]Series{mk(20)}, std, 0.5); !near(v, -0.11-1) {
		t.Fatalf("FP before %v", v)
	}
	// A detection 5 rows after the window: y = |49-54|/(10-1) = 0.5556 -> FP weighted by the sigmoid.
	if v := ScoreAt([]Series{mk(40, 54)}, std, 0.5); !near(v, ScaledSigmoid(-1)+0.11*ScaledSigmoid(5.0/9)) {
		t.Fatalf("FP after %v", v)
	}
	// The parts: an early detection, a second in the window (not counted),
	// one false alarm before the window; a series with two windows, one missed.
	two := mk(20, 40, 45)
	two.Windows = append(two.Windows, [2]int{60, 69})
	tp, fn, fp := Parts(two, std, 0.5)
	if !near(tp, ScaledSigmoid(-1)) || fn != -1 || !near(fp, -0.11) || !near(tp+fn+fp, ScoreAt([]Series{two}, std, 0.5)) {
		t.Fatalf("parts %v %v %v", tp, fn, fp)
	}
	if found, fa := Detections(two, 0.5); found != 1 || fa != 1 {
		t.Fatalf("detections: %d windows found, %d false alarms", found, fa)
	}
	// Detections inside the probationary period are not scored.
	if v := ScoreAt([]Series{mk(5, 40)}, std, 0.5); !near(v, ScaledSigmoid(-1)) {
		t.Fatalf("probation %v", v)
	}
	// The low-FN profile doubles the cost of a missed window.
	if v := ScoreAt([]Series{mk()}, Profiles[2], 0.5); v != -2 {
		t.Fatalf("low FN null %v", v)
	}
	// Normalisation: the perfect detector scores 100, the null one 0.
	r := Score([]Series{mk(40)}, std)
	if !near(r.Normalized, 100) || r.Null != -1 {
		t.Fatalf("perfect %+v", r)
	}
	r = Score([]Series{mk()}, std)
	if !near(r.Normalized, 0) {
		t.Fatalf("null %+v", r)
	}
	// Threshold optimisation: scores 0.9 in the window and 0.6 far outside;
	// the best threshold keeps the TP and drops the FP.
	s := mk()
	s.Scores[41], s.Scores[80] = 0.9, 0.6
	r = Score([]Series{s}, std)
	if r.Threshold != 0.9 || !near(r.Raw, ScaledSigmoid(-0.9)) {
		t.Fatalf("threshold %+v", r)
	}
}
