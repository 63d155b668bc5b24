// Package nab scores anomaly detectors the way the Numenta Anomaly
// Benchmark does (Lavin & Ahmad 2015, and NAB's sweeper): labelled anomaly
// windows; a probationary period at the start of each series that is not
// scored; every detection weighted by a scaled sigmoid of its position
// relative to the nearest preceding window (early in a window is best, far
// after one is a full false positive); only the first detection in a window
// counts; a missed window costs the profile's FN weight; one threshold per
// profile optimised over all series jointly; the total normalised between
// the null detector (0) and the perfect one (100).
package nab

import (
	"math"
	"sort"
)

// Profile weights (NAB's config/profiles.json).
type Profile struct {
	Name           string
	TP, FP, FN, TN float64
}

// Profiles are NAB's three application profiles.
var Profiles = []Profile{
	{"standard", 1.0, 0.11, 1.0, 1.0},
	{"reward_low_FP_rate", 1.0, 0.22, 1.0, 1.0},
	{"reward_low_FN_rate", 1.0, 0.11, 2.0, 1.0},
}

// Series is one scored file: its detector scores and labelled windows
// (inclusive row index ranges).
type Series struct {
	Name    string
	Scores  []float64 // anomaly score per row, in [0, 1]
	Windows [][2]int
}

// ProbationaryRows is NAB's probationary period: 15% of the series, at
// most 750 rows.
func ProbationaryRows(n int) int {
	return int(math.Min(math.Floor(0.15*float64(n)), 0.15*5000))
}

// ScaledSigmoid is NAB's weighting of a detection at relative position y:
// 2·sigmoid(−5y) − 1, and −1 beyond y > 3.
func ScaledSigmoid(y float64) float64 {
	if y > 3 {
		return -1
	}
	return 2/(1+math.Exp(5*y)) - 1
}

// point is a row's unweighted score and window membership.
type point struct {
	score      float64 // detector output
	unweighted float64 // the sigmoid weight of a detection here
	window     int     // window index, -1 outside
	row        int
}

// points computes each scored row's weight (NAB sweeper calcSweepScore).
func points(s Series) []point {
	n := len(s.Scores)
	prob := ProbationaryRows(n)
	out := make([]point, 0, n)
	prevRight, prevWidth := -1, 0
	w := 0
	for i := 0; i < n; i++ {
		p := point{score: s.Scores[i], window: -1, row: i}
		for w < len(s.Windows) && i > s.Windows[w][1] {
			prevRight, prevWidth = s.Windows[w][1], s.Windows[w][1]-s.Windows[w][0]+1
			w++
		}
		switch {
		case w < len(s.Windows) && i >= s.Windows[w][0] && i <= s.Windows[w][1]:
			width := s.Windows[w][1] - s.Windows[w][0] + 1
			pos := -float64(s.Windows[w][1]-i+1) / float64(width)
			p.unweighted, p.window = ScaledSigmoid(pos), w
		case prevRight < 0:
			p.unweighted = -1
		default:
			den := float64(prevWidth - 1)
			if den <= 0 {
				den = 1
			}
			p.unweighted = ScaledSigmoid(math.Abs(float64(prevRight-i)) / den)
		}
		if i >= prob {
			out = append(out, p)
		}
	}
	return out
}

// ScoreAt is the raw NAB score of all series at one threshold.
func ScoreAt(series []Series, prof Profile, threshold float64) float64 {
	total := 0.0
	for _, s := range series {
		total += scoreSeries(points(s), len(s.Windows), prof, threshold)
	}
	return total
}

func scoreSeries(pts []point, windows int, prof Profile, threshold float64) float64 {
	tp, fn, fp := parts(pts, windows, prof, threshold)
	return tp + fn + fp
}

// parts splits a series' raw score at threshold into what the first
// detection in each window earned, what missed windows cost and what
// detections outside windows cost.
func parts(pts []point, windows int, prof Profile, threshold float64) (tp, fn, fp float64) {
	detected := make(map[int]bool)
	for _, p := range pts {
		if p.score < threshold {
			continue
		}
		if p.window >= 0 {
			if !detected[p.window] {
				detected[p.window] = true
				tp += p.unweighted * prof.TP
			}
			continue
		}
		fp += p.unweighted * prof.FP
	}
	fn = -prof.FN * float64(windows-len(detected))
	return tp, fn, fp
}

// Result of scoring a detector under one profile.
type Result struct {
	Profile    string
	Threshold  float64
	Raw        float64
	Null       float64
	Perfect    float64
	Normalized float64 // 0 (null detector) to 100 (perfect)
}

// Score optimises the threshold over all series jointly (every distinct
// score is a candidate, swept from high to low in one pass) and normalises.
func Score(series []Series, prof Profile) Result {
	type ev struct {
		score      float64
		series     int
		window     int // -1: outside any window
		row        int
		unweighted float64
	}
	var evs []ev
	windows := 0
	for si, s := range series {
		windows += len(s.Windows)
		for _, p := range points(s) {
			evs = append(evs, ev{p.score, si, p.window, p.row, p.unweighted})
		}
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].score > evs[j].score })
	// Threshold above every score: no detections at all.
	raw := -prof.FN * float64(windows)
	best := Result{Profile: prof.Name, Raw: raw, Threshold: 1.1}
	type key struct{ s, w int }
	earliest := map[key]ev{} // a window's earliest detection so far
	for i := 0; i < len(evs); {
		j := i
		for ; j < len(evs) && evs[j].score == evs[i].score; j++ {
			e := evs[j]
			if e.window < 0 {
				raw += e.unweighted * prof.FP
				continue
			}
			k := key{e.series, e.window}
			if cur, ok := earliest[k]; !ok {
				earliest[k] = e
				raw += prof.FN + e.unweighted*prof.TP // the window is no longer missed
			} else if e.row < cur.row {
				earliest[k] = e
				raw += (e.unweighted - cur.unweighted) * prof.TP
			}
		}
		if raw > best.Raw+1e-12 {
			best.Raw, best.Threshold = raw, evs[i].score
		}
		i = j
	}
	best.Null = -prof.FN * float64(windows)
	best.Perfect = perfect(series, prof)
	if best.Perfect != best.Null {
		best.Normalized = 100 * (best.Raw - best.Null) / (best.Perfect - best.Null)
	}
	return best
}

// perfect is the score of a detector that fires exactly at the start of
// every window and nowhere else.
func perfect(series []Series, prof Profile) float64 {
	total := 0.0
	for _, s := range series {
		sc := make([]float64, len(s.Scores))
		for _, w := range s.Windows {
			if w[0] < len(sc) {
				sc[w[0]] = 1
			}
		}
		total += scoreSeries(points(Series{Scores: sc, Windows: s.Windows}), len(s.Windows), prof, 0.5)
	}
	return total
}

// Detections counts, at threshold, the windows with at least one
// detection and the detections outside every window (after the
// probationary period).
func Detections(s Series, threshold float64) (found, falseAlarms int) {
	seen := map[int]bool{}
	for _, p := range points(s) {
		if p.score < threshold {
			continue
		}
		if p.window >= 0 {
			seen[p.window] = true
		} else {
			falseAlarms++
		}
	}
	return len(seen), falseAlarms
}

// Parts splits the raw score of s at threshold into what detections in
// windows earned, what missed windows cost and what false alarms cost.
func Parts(s Series, prof Profile, threshold float64) (tp, fn, fp float64) {
	return parts(points(s), len(s.Windows), prof, threshold)
}
