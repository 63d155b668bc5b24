package main

import (
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/weftio/weft/monitor"
)

// The generator is deterministic per seed, and every incident is labelled
// with the trouble starting before the failure, inside the series.
func TestGenerateLabels(t *testing.T) {
	inc := map[string]int{}
	for s := devSeeds[0]; s < devSeeds[0]+8; s++ {
		for _, k := range kinds {
			a, b := generate(s, k), generate(s, k)
			if a.incident != b.incident || len(a.events) != len(b.events) || !a.fail.Equal(b.fail) {
				t.Fatalf("seed %d %s: not deterministic", s, k)
			}
			if len(a.obs) == 0 || len(a.events) == 0 {
				t.Fatalf("seed %d %s: empty case", s, k)
			}
			if a.incident {
				inc[k]++
				if a.trouble.IsZero() || !a.trouble.Before(a.fail) || a.fail.After(a.end) || a.trouble.Before(a.start) {
					t.Fatalf("seed %d %s: trouble %s fail %s in [%s, %s]", s, k, a.trouble, a.fail, a.start, a.end)
				}
			}
		}
	}
	for _, k := range kinds {
		if inc[k] == 0 || inc[k] == 8 {
			t.Errorf("%s: %d incidents in 8 seeds: the set needs both", k, inc[k])
		}
	}
}

func TestJudge(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &gcase{incident: true, trouble: t0.Add(time.Hour), fail: t0.Add(2 * time.Hour)}
	r := judge(c, []time.Time{t0.Add(30 * time.Minute), t0.Add(70 * time.Minute), t0.Add(90 * time.Minute), t0.Add(3 * time.Hour)})
	if !r.hit || r.lead != 50*time.Minute || r.fp != 1 || !r.late {
		t.Fatalf("%+v", r)
	}
	n := judge(&gcase{}, []time.Time{t0})
	if n.hit || n.fp != 1 {
		t.Fatalf("%+v", n)
	}
	var s score
	s.add(outcome{incident: true}, r)
	s.add(outcome{}, n)
	if s.precision() != 1.0/3 || s.recall() != 1 {
		t.Fatalf("p %v r %v", s.precision(), s.recall())
	}
}

// Every exhaustion of a rate limit is inside a labelled incident: the
// first one is the failure, and the trouble began before it (dev seed 96
// spent its limit in a window before the surge; it was labelled by the
// surge alone, so a correct forecast of it counted as a false alarm).
func TestRateLimitLabelsEveryExhaustion(t *testing.T) {
	for _, s := range []int64{96, 1, 2, 3, 4, 5} {
		c := generate(s, "rate_limit")
		for _, e := range c.events {
			if e.limit == nil || e.limit.Remaining > 0 {
				continue
			}
			if !c.incident || e.at.Before(c.fail) || !c.trouble.Before(c.fail) {
				t.Fatalf("seed %d: spent at %s, labelled incident %v trouble %s fail %s", s, e.at, c.incident, c.trouble, c.fail)
			}
			break
		}
	}
}

func TestWilsonLower(t *testing.T) {
	if v := wilsonLower(0, 0, 1.645); v != 0 {
		t.Fatal(v)
	}
	// 17 of 20 (0.85): the 95 % one-sided lower bound is about 0.67.
	if v := wilsonLower(17, 20, 1.645); v < 0.65 || v > 0.69 {
		t.Fatalf("17/20: %v", v)
	}
	// The same share seen ten times as often is surer.
	if a, b := wilsonLower(17, 20, 1.645), wilsonLower(170, 200, 1.645); b <= a || b >= 0.85 {
		t.Fatalf("17/20 %v, 170/200 %v", a, b)
	}
	if v := wilsonLower(20, 20, 1.645); v <= 0.85 || v >= 1 {
		t.Fatalf("20/20: %v", v)
	}
}

// The rule: the highest recall whose precision clears the bound as a
// lower bound (not as a point) with the lead; else the highest bound.
func TestChoose(t *testing.T) {
	lead := func(n int) []time.Duration {
		var l []time.Duration
		for i := 0; i < n; i++ {
			l = append(l, 20*time.Minute)
		}
		return l
	}
	mk := func(hits, fps int, l []time.Duration) score {
		s := firings(hits, fps)
		s.leads = l
		return s
	}
	few := mk(10, 0, lead(10))       // P 1.0 on 10 firings: bound 0.79
	many := mk(60, 5, lead(60))      // P 0.92 on 65: bound 0.85
	most := mk(80, 20, lead(80))     // P 0.80: bound 0.73
	short := mk(70, 2, lead(70)[:0]) // no lead
	if i, ok := choose([]score{few, many, most, short}); i != 1 || !ok {
		t.Fatalf("chose %d (%v), want 1", i, ok)
	}
	if i, ok := choose([]score{few, most}); i != 0 || ok {
		t.Fatalf("none meets the rule: chose %d (%v), want the highest bound (0)", i, ok)
	}
	if i, _ := choose([]score{{}}); i != -1 {
		t.Fatalf("no incidents: %d", i)
	}
}

// False alarms that come from one case count as one draw: the same
// precision is less sure when its false alarms cluster.
func TestClusteredLower(t *testing.T) {
	var spread, clustered score
	for i := 0; i < 60; i++ {
		spread.add(outcome{incident: true}, result{hit: true})
		clustered.add(outcome{incident: true}, result{hit: true})
	}
	for i := 0; i < 12; i++ {
		spread.add(outcome{}, result{fp: 1})
	}
	for i := 0; i < 3; i++ {
		clustered.add(outcome{}, result{fp: 4})
	}
	if spread.precision() != clustered.precision() {
		t.Fatal("not the same precision")
	}
	s, c := clusteredLower(spread, 1.645), clusteredLower(clustered, 1.645)
	if !(c < s && s < spread.precision()) {
		t.Fatalf("spread %.3f, clustered %.3f, precision %.3f", s, c, spread.precision())
	}
	// Spread false alarms: about the Wilson bound; clustered: below it.
	if w := wilsonLower(60, 72, 1.645); math.Abs(s-w) > 0.03 || precisionLower(clustered) != c {
		t.Fatalf("spread %.3f vs Wilson %.3f; clustered lower bound %.3f", s, w, precisionLower(clustered))
	}
	var a score
	a.merge(spread)
	if a.cases != spread.cases || a.sff != spread.sff || clusteredLower(a, 1.645) != s {
		t.Fatal("merge lost the per-case sums")
	}
}

func TestScoreMergeAndFolds(t *testing.T) {
	a := score{incidents: 2, hits: 1, fp: 1, leads: []time.Duration{time.Minute}}
	a.merge(score{incidents: 3, hits: 2, fp: 0, leads: []time.Duration{2 * time.Minute, 3 * time.Minute}})
	if a.incidents != 5 || a.hits != 3 || a.fp != 1 || len(a.leads) != 3 {
		t.Fatalf("%+v", a)
	}
	n := map[int]int{}
	for s := devSeeds[0]; s <= devSeeds[1]; s++ {
		n[fold(s)]++
	}
	if len(n) != fitFolds {
		t.Fatalf("folds %v", n)
	}
	for f, c := range n {
		if c != int(devSeeds[1]-devSeeds[0]+1)/fitFolds {
			t.Fatalf("fold %d holds %d seeds", f, c)
		}
	}
}

// Sliding-window cases: the reset moves on with the responses, the
// window is given in some, and every exhaustion is labelled (the first
// one is the failure, the trouble before it).
func TestSlidingLimitCases(t *testing.T) {
	slid, given, inc := 0, 0, 0
	for s := int64(1); s <= 60; s++ {
		c := &gcase{seed: s, kind: "rate_limit", incident: s%2 == 0, start: t0}
		genSlidingLimit(rand.New(rand.NewSource(s)), c)
		var prev *time.Time
		moved := false
		for _, e := range c.events {
			if e.limit == nil {
				continue
			}
			if e.limit.Window > 0 {
				given++
			}
			if prev != nil && e.limit.Reset.After(prev.Add(time.Second)) && prev.After(e.at) {
				moved = true // moved on before it came
			}
			r := e.limit.Reset
			prev = &r
			if e.limit.Remaining == 0 && (!c.incident || e.at.Before(c.fail) || !c.trouble.Before(c.fail)) {
				t.Fatalf("seed %d: spent at %s, labelled incident %v trouble %s fail %s", s, e.at, c.incident, c.trouble, c.fail)
			}
		}
		if moved {
			slid++
		}
		if c.incident {
			inc++
		}
	}
	if slid < 20 || given == 0 || inc == 0 || inc == 60 {
		t.Fatalf("%d of 60 with a reset moving on before it came, %d responses with the window, %d incidents", slid, given, inc)
	}
}

// Recovering rises: drawn in about recoveringShare of the normal flow
// cases, each climbing to 40–95 % of the way to the bound and back to
// normal, never crossing it; incidents are as before.
func TestRecoveringRises(t *testing.T) {
	drawn := 0
	for s := int64(1); s <= 200; s++ {
		x := rand.New(rand.NewSource(s))
		level := make([]float64, 12*60)
		info, ok := recoveringRise(x, level)
		if !ok {
			continue
		}
		peak, last := 0.0, level[len(level)-1]
		for _, v := range level {
			peak = math.Max(peak, v)
		}
		drawn++
		if peak < 0.3 || peak > 0.95 || last != 0 { // sampled by the minute: near its peak
			t.Fatalf("seed %d: peak %.3f, last %.3f", s, peak, last)
		}
		if peak > info.peak+1e-9 || info.peak < 0.4 || info.peak > 0.95 || info.up < 15 || info.up > 240 {
			t.Fatalf("seed %d: drew %+v, reached %.3f", s, info, peak)
		}
	}
	if drawn < 190 {
		t.Fatalf("%d of 200 drawn", drawn)
	}
	normal, with := 0, 0
	for s := devSeeds[0]; s < devSeeds[0]+100; s++ {
		for _, k := range []string{"error_rate", "latency"} {
			c := generate(s, k)
			if c.incident {
				if c.recovering {
					t.Fatalf("seed %d %s: an incident with a recovering rise", s, k)
				}
				continue
			}
			normal++
			if c.recovering {
				with++
			}
		}
	}
	if share := float64(with) / float64(normal); share < 0.25 || share > 0.55 {
		t.Fatalf("%d of %d normal cases with a recovering rise", with, normal)
	}
}

// The fit applies min_progress and max_deceleration as Evaluate does: a
// step stands only when far enough along and not slowing.
func TestGateShape(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var steps []rawStep
	for i := 0; i < 20; i++ {
		now := t0.Add(time.Duration(i) * time.Minute)
		steps = append(steps, rawStep{Now: now, OK: true, Conf: 5, ConfRecent: 5, When: now.Add(20 * time.Minute),
			Progress: float64(i) / 20, Decel: map[bool]float64{true: 3, false: 0}[i >= 12 && i < 15], HasShape: true})
	}
	at := func(kp monitor.KindParams) []time.Time { return gate(steps, gateParams{kp: kp}, 1, time.Minute) }
	if f := at(monitor.KindParams{}); len(f) != 1 || !f[0].Equal(t0) {
		t.Fatalf("open gate: %v", f)
	}
	if f := at(monitor.KindParams{MinProgress: 0.5}); len(f) != 1 || !f[0].Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("min_progress 0.5: %v", f)
	}
	// Progress 0.6 reached at step 12, where it slows for three steps:
	// announced at 15.
	if f := at(monitor.KindParams{MinProgress: 0.6, MaxDeceleration: 2}); len(f) != 1 || !f[0].Equal(t0.Add(15*time.Minute)) {
		t.Fatalf("min_progress 0.6, max_deceleration 2: %v", f)
	}
	// A step without the readings (another kind) is not held back.
	steps[0].HasShape = false
	steps[0].Progress = 0
	if f := at(monitor.KindParams{MinProgress: 0.5}); len(f) != 2 || !f[0].Equal(t0) || !f[1].Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("no readings: %v", f)
	}
}

// The fit applies approach as Evaluate does: a receding forecast breaks
// the hold; once announced it is not held to it.
func TestGateApproach(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(when func(i int) time.Duration) []rawStep {
		var steps []rawStep
		for i := 0; i < 12; i++ {
			now := t0.Add(time.Duration(i) * time.Minute)
			steps = append(steps, rawStep{Now: now, OK: true, Conf: 5, ConfRecent: 5, When: now.Add(when(i))})
		}
		return steps
	}
	kp := monitor.KindParams{Persist: monitor.Dur(3 * time.Minute), Approach: true, ApproachSlack: monitor.Dur(time.Minute)}
	receding := mk(func(i int) time.Duration { return 20*time.Minute + time.Duration(2*i)*time.Minute })
	if f := gate(receding, gateParams{kp: kp}, 1, time.Minute); len(f) != 0 {
		t.Fatalf("receding: %v", f)
	}
	steady := mk(func(i int) time.Duration { return 30*time.Minute - time.Duration(i)*time.Minute })
	if f := gate(steady, gateParams{kp: kp}, 1, time.Minute); len(f) != 1 || !f[0].Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("steady: %v", f)
	}
	kp.Approach = false
	if f := gate(receding, gateParams{kp: kp}, 1, time.Minute); len(f) != 1 {
		t.Fatalf("receding without approach: %v", f)
	}
}

// The fit applies max_saturation as the predictor does (shapeAllows): a
// step whose saturation reaches the gate does not stand; the grid with
// -saturation tries it in max_deceleration's place.
func TestGateSaturation(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var steps []rawStep
	for i := 0; i < 12; i++ {
		now := t0.Add(time.Duration(i) * time.Minute)
		sat := 1.0
		if i < 6 {
			sat = 20 // levelled off until minute 6
		}
		steps = append(steps, rawStep{Now: now, OK: true, Conf: 5, ConfRecent: 5, When: now.Add(20 * time.Minute), HasShape: true, Sat: sat})
	}
	kp := monitor.KindParams{MaxSaturation: 6.63}
	if f := gate(steps, gateParams{kp: kp}, 1, time.Minute); len(f) != 1 || !f[0].Equal(t0.Add(6*time.Minute)) {
		t.Fatalf("max_saturation: %v, want one announcement at minute 6", f)
	}
	kp.MaxSaturation = 0
	if f := gate(steps, gateParams{kp: kp}, 1, time.Minute); len(f) != 1 || !f[0].Equal(t0) {
		t.Fatalf("no gate: %v", f)
	}
	p := monitor.DefaultPredictParams()
	n := len(grid(monitor.PredictErrorRate, p))
	fitWithSat = true
	defer func() { fitWithSat = false }()
	gs := grid(monitor.PredictErrorRate, p)
	if len(gs) != n {
		t.Fatalf("-saturation grid: %d points, want %d", len(gs), n)
	}
	seen := map[float64]bool{}
	for _, g := range gs {
		if g.kp.MaxDeceleration != 0 {
			t.Fatalf("-saturation grid tries max_deceleration: %s", g)
		}
		seen[g.kp.MaxSaturation] = true
	}
	if len(seen) != len(fitSaturation) {
		t.Fatalf("-saturation grid: saturation levels %v", seen)
	}
}

// packRaw changes no announcement: gate on the packed steps fires at the
// same times as on the raw ones, for random step sequences (forecasts
// that come and go, long stretches without one) and gates across the
// grid, with short and long clear_after.
func TestPackRaw(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := monitor.DefaultPredictParams()
	fitGridName = "s22"
	defer func() { fitGridName = "s19" }()
	gs := grid(monitor.PredictErrorRate, p)
	packedSome := false
	for trial := 0; trial < 200; trial++ {
		var steps []rawStep
		on := false
		for i := 0; i < 300; i++ {
			if r.Float64() < 0.08 {
				on = !on
			}
			now := t0.Add(time.Duration(i) * time.Minute)
			s := rawStep{Now: now, Renewed: -1}
			if on {
				s.OK, s.Conf = true, r.Float64()*5
				s.ConfRecent = s.Conf * r.Float64()
				s.When = now.Add(time.Duration(r.Intn(200)) * time.Minute)
				s.HasShape, s.Progress, s.Decel, s.Sat, s.Points = true, r.Float64(), r.Float64()*3, r.Float64()*8, float64(12+r.Intn(49))
			}
			steps = append(steps, s)
		}
		packed := packRaw(steps)
		if len(packed) < len(steps) {
			packedSome = true
		}
		for k := 0; k < 30; k++ {
			g := gs[r.Intn(len(gs))]
			for _, clear := range []int{1, 10} {
				a, b := gate(steps, g, clear, time.Minute), gate(packed, g, clear, time.Minute)
				if len(a) != len(b) {
					t.Fatalf("trial %d, %s, clear_after %d: %d announcements raw, %d packed", trial, g, clear, len(a), len(b))
				}
				for i := range a {
					if !a[i].Equal(b[i]) {
						t.Fatalf("trial %d, %s: announcement %d at %v raw, %v packed", trial, g, i, a[i], b[i])
					}
				}
			}
		}
	}
	if !packedSome {
		t.Fatal("nothing was packed (this test would show nothing)")
	}
}

// The fit applies min_points as the predictor does; the s22 grid tries
// saturation and deceleration together, and min_points.
func TestGateMinPointsAndGridS22(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var steps []rawStep
	for i := 0; i < 12; i++ {
		now := t0.Add(time.Duration(i) * time.Minute)
		steps = append(steps, rawStep{Now: now, OK: true, Conf: 5, ConfRecent: 5, When: now.Add(20 * time.Minute), HasShape: true, Points: float64(20 + 2*i)})
	}
	kp := monitor.KindParams{MinPoints: 30}
	if f := gate(steps, gateParams{kp: kp}, 1, time.Minute); len(f) != 1 || !f[0].Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("min_points 30: %v, want one announcement at minute 5", f)
	}
	p := monitor.DefaultPredictParams()
	fitGridName = "s22"
	defer func() { fitGridName = "s19" }()
	gs := grid(monitor.PredictLatency, p)
	if len(gs) != 73728 {
		t.Fatalf("s22 grid: %d points", len(gs))
	}
	both, points := false, false
	for _, g := range gs {
		both = both || (g.kp.MaxDeceleration > 0 && g.kp.MaxSaturation > 0)
		points = points || g.kp.MinPoints > 0
	}
	if !both || !points {
		t.Fatalf("s22 grid: deceleration with saturation %v, min_points %v", both, points)
	}
	if n := len(grid(monitor.PredictRateLimit, p)); n != 256 {
		t.Fatalf("s22 grid for rate limits: %d points, want the 256 of before", n)
	}
}

// compareCV's paired interval: the same results change nothing; adding
// false alarms to a third of the cases lowers precision beyond the noise.
func TestCompareCV(t *testing.T) {
	var cases []*gcase
	var idx []int
	var a, b []result
	for i := 0; i < 300; i++ {
		inc := i%2 == 0
		cases = append(cases, &gcase{incident: inc})
		idx = append(idx, i)
		r := result{hit: inc && i%4 == 0, lead: 15 * time.Minute}
		if !r.hit {
			r.lead = 0
		}
		if i%10 == 1 {
			r.fp = 1
		}
		a = append(a, r)
		if i%3 == 0 {
			r.fp++
		}
		b = append(b, r)
	}
	if _, ci := compareCV("error_rate", "a", "a", a, a, idx, cases); ci != [2]float64{0, 0} {
		t.Fatalf("a against itself: %v", ci)
	}
	line, ci := compareCV("error_rate", "a", "b", a, b, idx, cases)
	if !(ci[1] < 0) {
		t.Fatalf("100 more false alarms: precision change %v (%s)", ci, line)
	}
}

// firings is a score of 100 incidents, hits of them announced with 20
// minutes to go, and fps false alarms, each in a case of its own.
func firings(hits, fps int) score {
	var s score
	for i := 0; i < 100; i++ {
		r := result{}
		if i < hits {
			r = result{hit: true, lead: 20 * time.Minute}
		}
		s.add(outcome{incident: true}, r)
	}
	for i := 0; i < fps; i++ {
		s.add(outcome{}, result{fp: 1})
	}
	return s
}
