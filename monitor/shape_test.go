package monitor

import (
	"math"
	"math/rand"
	"testing"
	"time"
)

// A noisy steady series, then a spike: once warm, the shape detector
// scores the spike above anything the steady part scored, and scores
// nothing during its warm-up.
func TestShapeFindsASpike(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	s := newShape(750)
	steady := 0.0
	for i := 0; i < 4000; i++ {
		sc := s.observe(100 + rng.NormFloat64()*5)
		if i < 750 && sc != 0 {
			t.Fatalf("scored %.2f at %d, in the warm-up", sc, i)
		}
		steady = math.Max(steady, sc)
	}
	if !s.warm() {
		t.Fatal("not warm after 4000 observations")
	}
	spike := 0.0
	for i := 0; i < 3*s.step; i++ {
		v := 100 + rng.NormFloat64()*5
		if i == s.step {
			v = 400
		}
		spike = math.Max(spike, s.observe(v))
	}
	if spike <= steady || spike < 0.5 {
		t.Fatalf("spike scored %.2f, the steady part up to %.2f", spike, steady)
	}
}

// A value beyond the range widens it, and what was learned is rescaled
// with it: the pattern learned before still resonates afterwards.
func TestShapeWidensItsRangeAndKeepsWhatItLearned(t *testing.T) {
	s := newShape(208)
	saw := func(i int) float64 { return float64(i % 40) } // a sawtooth, 0..39
	i := 0
	for ; i < 2000; i++ {
		s.observe(saw(i))
	}
	lo, hi := s.lo, s.hi
	if lo != 0 || hi <= 39 {
		t.Fatalf("range after the warm-up: %v..%v", lo, hi)
	}
	// Score what the sawtooth matches now.
	probe := func() float64 {
		c := cloneShape(s)
		best := 0.0
		for j := 0; j < 20*c.step; j++ {
			c.observe(saw(i + j))
		}
		for _, m := range c.sims {
			best = math.Max(best, m)
		}
		return best
	}
	before := probe()
	for j := 0; j < s.step; j++ {
		s.observe(500) // far above the range
		i++
	}
	if s.hi < 500 || s.lo != lo {
		t.Fatalf("range after a value of 500: %v..%v", s.lo, s.hi)
	}
	for j := 0; j < 30*s.step; j++ { // back to the sawtooth
		s.observe(saw(i))
		i++
	}
	after := probe()
	if after < 0.9*before {
		t.Fatalf("the sawtooth matched %.3f before the range grew and %.3f after", before, after)
	}
}

// However long a series runs, the network holds at most maxCategories
// categories, and the warm-up's buffers are released.
func TestShapeMemoryIsBounded(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	s := newShape(104)
	for i := 0; i < 30000; i++ {
		s.observe(rng.ExpFloat64() * float64(1+i%97)) // never settles
	}
	if n := s.net.count(); n != maxCategories { // full, and no further
		t.Fatalf("%d categories", n)
	}
	if s.early != nil || s.warmBlocks != nil {
		t.Fatal("warm-up buffers kept")
	}
}

// Business traffic a minute at a time, quiet at weekends: once the
// detectors know the week, an hour at the weekend's level on a Wednesday
// noon is an anomaly, the same hour on a Saturday is not.
func TestQuietWednesdayMinutes(t *testing.T) {
	level := officeWeek
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	sat := t0.Add(5*7*24*time.Hour + 5*24*time.Hour + 12*time.Hour)
	wed := t0.Add(6*7*24*time.Hour + 2*24*time.Hour + 12*time.Hour)
	rng := rand.New(rand.NewSource(3))
	d := NewDetector(Config{})
	var satMax, wedMax float64
	for ts := t0; ts.Before(wed.Add(time.Hour)); ts = ts.Add(time.Minute) {
		v := level(ts)
		inWed := !ts.Before(wed)
		if inWed {
			v = 5
		}
		o := d.Observe(ts, math.Max(0, v+rng.NormFloat64()*math.Sqrt(v)))
		switch {
		case inWed:
			wedMax = math.Max(wedMax, o.Score)
		case !ts.Before(sat) && ts.Before(sat.Add(time.Hour)):
			satMax = math.Max(satMax, o.Score)
		}
	}
	if satMax >= 0.5 || wedMax < 0.8 {
		t.Fatalf("a quiet hour scored %.2f on a Saturday and %.2f on a Wednesday", satMax, wedMax)
	}
}

func cloneShape(s *shape) *shape {
	c := *s
	c.net.w = append([]uint8(nil), s.net.w...)
	c.net.norm = append([]float32(nil), s.net.norm...)
	c.net.used = append([]int32(nil), s.net.used...)
	c.sims = append([]float64(nil), s.sims...)
	c.diffs = append([]float64(nil), s.diffs...)
	return &c
}

// Values at the ends of the float range (a span that overflows to
// infinity), constants and sign flips neither panic nor leave [0, 1].
func TestShapeExtremeValues(t *testing.T) {
	series := map[string]func(i int) float64{
		"huge both ways": func(i int) float64 { return math.Copysign(1e308, float64(i%3-1)) },
		"constant":       func(i int) float64 { return 7 },
		"constant then a jump": func(i int) float64 {
			if i > 500 && i%50 == 0 {
				return 1e300
			}
			return 7
		},
		"tiny":          func(i int) float64 { return float64(i%5) * 1e-320 },
		"negative ramp": func(i int) float64 { return -float64(i) * 1e6 },
	}
	for name, f := range series {
		s := newShape(64)
		for i := 0; i < 3000; i++ {
			if sc := s.observe(f(i)); math.IsNaN(sc) || sc < 0 || sc > 1 {
				t.Fatalf("%s: score %v at %d", name, sc, i)
			}
		}
	}
	// The whole detector: values beyond ±1e100 are bad input, like NaN;
	// up to it, both detectors stay finite.
	for _, big := range []float64{1e308, 1e99} {
		d := NewDetector(Config{ShapeWarmup: 64})
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < 3000; i++ {
			o := d.Observe(t0.Add(time.Duration(i)*time.Minute), math.Copysign(big, float64(i%3-1))*float64(1+i%7))
			if math.IsNaN(o.Score) || o.Score < 0 || o.Score > 1 || math.IsNaN(o.Expected) {
				t.Fatalf("detector, %g: score %v expected %v at %d", big, o.Score, o.Expected, i)
			}
		}
	}
}
