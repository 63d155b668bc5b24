// Package monitor watches series derived from the transaction log
// (throughput, error rates, latency) with streaming detectors: one pass,
// bounded memory per series, cheap enough for every series at the
// transaction rate.
package monitor

import (
	"math"
	"time"
)

// Config tunes a Detector; one configuration serves every series.
type Config struct {
	Alpha       float64 // EWMA weight of the level (default 0.01)
	Warmup      int     // observations before any score (default 60)
	CusumK      float64 // CUSUM slack, in deviations (default 0.75)
	CusumH      float64 // CUSUM decision level, in deviations (default 8)
	Refractory  int     // observations after a raised score in which only a higher one is reported in full (default 300)
	Sensitivity float64 // scales the z-score and the shape score (default 1)
	// ShapeWarmup is how many observations the shape detector learns
	// before it scores (default 750); replaying a NAB file uses NAB's
	// probationary period instead (NABWarmup).
	ShapeWarmup int
}

func (c *Config) defaults() {
	if c.Alpha <= 0 {
		c.Alpha = 0.01
	}
	if c.Warmup <= 0 {
		c.Warmup = 60
	}
	if c.CusumK <= 0 {
		c.CusumK = 0.75
	}
	if c.CusumH <= 0 {
		c.CusumH = 8
	}
	if c.Refractory <= 0 {
		c.Refractory = 300
	}
	if c.Sensitivity <= 0 {
		c.Sensitivity = 1
	}
	if c.ShapeWarmup <= 0 {
		c.ShapeWarmup = DefaultShapeWarmup
	}
}

// DefaultShapeWarmup is the shape detector's warm-up on live series.
const DefaultShapeWarmup = 750

// NABWarmup is NAB's probationary period for a series of n points (15 %,
// at most 750): the warm-up NAB's runner gives every detector.
func NABWarmup(n int) int { return min(int(0.15*float64(n)), 750) }

// baseWeight is the level detector's weight once the shape detector is
// warm: the shape detector's novelty is the sharper signal on both
// evaluation sets; the level detector still speaks for a sustained shift
// or a burst far beyond anything seen (its scores near 1), and alone
// during the shape detector's warm-up.
const baseWeight = 0.4

// Detector scores one series, observation by observation, with two
// detectors: a level detector (a robust level and spread, hour-of-day and
// hour-of-week profiles, CUSUM for shifts, a Poisson test for small
// counts) and a shape detector (adaptive resonance over the recent shape
// of the series, see shape). The level detector's memory is a fixed set
// of numbers and two profiles (24 and 168 buckets); the shape detector's
// is bounded by maxCategories.
type Detector struct {
	cfg        Config
	shape      *shape
	n          int
	mean, dev  float64 // EW mean and EW mean absolute deviation
	fastMean   float64
	seasonMean [24]float64
	seasonDev  [24]float64
	seasonN    [24]int
	// The hour-of-week profile (day of week x hour), used once the series
	// has seen two weeks and only while it predicts better than the
	// hour-of-day profile (measured online: weekly rhythms, quiet
	// weekends, are common in business traffic and absent from many
	// other series).
	week                         [168]weekBucket
	errDay, errWeek              float64 // EW mean absolute error of each profile's prediction
	sa                           float64 // the hour-of-day profile's weight per observation (from dayWeight)
	cusDir, cusChain, sinceCross int     // the last CUSUM crossing: direction, chain length, observations since
	first, last                  time.Time
	cusumHi, cusLo               float64
	since                        int // observations since the last raised score
	lastScore                    float64
	recentMax                    float64 // the largest deviation seen lately (decaying)
	counts                       bool    // every value so far is a non-negative integer
}

// NewDetector returns a detector with cfg (zero values: defaults).
func NewDetector(cfg Config) *Detector {
	cfg.defaults()
	return &Detector{cfg: cfg, since: math.MaxInt32, counts: true, shape: newShape(cfg.ShapeWarmup)}
}

// Observation is one scored point.
type Observation struct {
	Score    float64 // anomaly score in [0, 1]: the two detectors' combined
	Level    float64 // the level detector's own score
	Shape    float64 // the shape detector's own score (0 during its warm-up)
	Expected float64 // the level the detector expected
	Low      float64 // expected range
	High     float64
}

// maxValue bounds the values a detector takes: beyond it (no metric gets
// there) the differences it works with would overflow to infinity.
const maxValue = 1e100

// Observe scores v at t. NaN, ±Inf and values beyond ±maxValue, and points older than the last one
// (out of order, or a clock skewed between processes), score 0 and do not
// change the state; a duplicate timestamp is treated as a new observation.
func (d *Detector) Observe(t time.Time, v float64) Observation {
	if math.IsNaN(v) || math.Abs(v) > maxValue || (!d.last.IsZero() && t.Before(d.last)) {
		return Observation{Expected: d.mean, Low: d.mean - 3*d.dev, High: d.mean + 3*d.dev}
	}
	if d.first.IsZero() {
		d.first = t
	}
	d.last = t
	d.n++
	c := d.cfg
	if d.n == 1 {
		d.mean, d.fastMean, d.dev = v, v, 0
	}
	// Expected value: the level, corrected by the hour-of-day profile once
	// the series has seen two days and this hour a few times.
	h := t.Hour()
	wb := int(t.Weekday())*24 + h
	expected := d.mean
	age := d.last.Sub(d.first)
	seasonal := age > 24*time.Hour && d.seasonN[h] >= 3
	weekly := age > 14*24*time.Hour && d.week[wb].n >= 3
	dev := d.dev
	if seasonal {
		expected = d.seasonMean[h]
		dev = math.Max(d.seasonDev[h], d.dev*0.5)
		if weekly {
			wm := float64(d.week[wb].mean)
			// Compare the two profiles' errors on the points both predict.
			d.errDay += 0.01 * (math.Abs(v-expected) - d.errDay)
			d.errWeek += 0.01 * (math.Abs(v-wm) - d.errWeek)
			if d.errWeek < d.errDay {
				expected = wm
				dev = math.Max(float64(d.week[wb].dev), d.dev*0.5)
			}
		}
	}
	scale := 1.2533*dev + 1e-9*math.Max(1, math.Abs(expected)) // mean abs dev -> sigma
	if scale < 1e-9 {
		scale = 1e-9
	}
	if v < 0 || v != math.Trunc(v) || v > 1e9 {
		d.counts = false
	}
	z := (v - expected) / scale * c.Sensitivity
	if d.counts && expected < 30 {
		// Small counts (failures a minute, runs of a quiet flow): a Poisson
		// tail test, not a z-score on tiny numbers; and never more
		// surprising than the spread actually seen allows.
		zp := poissonZ(v, math.Max(expected, 0.02))
		zg := (v - expected) / math.Max(scale, math.Sqrt(math.Max(expected, 0.02)))
		if math.Abs(zg) < math.Abs(zp) {
			zp = zg
		}
		z = zp * c.Sensitivity
	}
	// CUSUM on the standardised residual: level shifts show as drift.
	d.cusumHi = math.Max(0, d.cusumHi+z-c.CusumK)
	d.cusLo = math.Max(0, d.cusLo-z-c.CusumK)
	if d.n <= c.Warmup {
		// The scale is not learned yet: what the CUSUM would gather now
		// is noise (and, at first, divisions by a tiny scale).
		d.cusumHi, d.cusLo = 0, 0
	}
	score := 0.0
	az := math.Abs(z)
	cus := math.Max(d.cusumHi, d.cusLo) / c.CusumH * 5 // reaching the decision level counts as a 5-sigma deviation
	dir := 1
	if d.cusLo > d.cusumHi {
		dir = -1
	}
	d.sinceCross++
	if d.sinceCross > chainGap || dir != d.cusDir {
		d.cusChain = 0
	}
	// A shift that keeps crossing the decision level in the same direction
	// (a flow gone silent, an outage, a step up that stays) is more than a
	// one-off: each chained crossing adds 75 % of the base strength.
	cus0 := cus
	cus *= 1 + chainGain*float64(min(d.cusChain, chainMax))
	// A sustained shift: the short-run mean's distance from the level, in
	// units of its own spread (sd / sqrt(effective window)).
	d.fastMean += 0.15 * (v - d.fastMean)
	shiftScale := scale
	if d.counts && expected < 30 {
		// Small counts: the spread is at least Poisson's (a single failure
		// in a quiet night hour is not a shift).
		shiftScale = math.Max(scale, math.Sqrt(math.Max(expected, 0.02)))
	}
	shift := math.Abs(d.fastMean-expected) / (shiftScale / math.Sqrt(12.3)) * 0.5
	strength := math.Max(az, math.Max(cus, shift))
	if d.n > c.Warmup {
		// How this deviation compares with the largest seen lately: a new
		// record (ratio >= 1) is what an operator wants to hear about;
		// the record decays (half-life about 3,500 observations), so a
		// quiet series becomes sensitive again.
		ref := math.Max(d.recentMax, 6)
		r3 := math.Pow(strength/ref, 3)
		score = r3 / (1 + r3) // a new record scores 0.5, twice the record 0.89: never saturates
		if cus0 >= 5 {
			d.cusumHi, d.cusLo = 0, 0
			if d.sinceCross <= chainGap && dir == d.cusDir {
				d.cusChain++
			} else {
				d.cusChain = 1
			}
			d.cusDir, d.sinceCross = dir, 0
		}
	}
	if d.n > c.Warmup { // the first deviations measure a scale not yet learned
		if strength > d.recentMax {
			d.recentMax = math.Min(strength, 50)
		} else {
			d.recentMax *= 0.9998
		}
	}
	d.since++
	// A raised score is reported once: within the refractory period only a
	// clearly higher one (by a fifth) is (NAB, like an operator, counts
	// repeats as noise).
	if score >= 0.5 {
		if d.since <= c.Refractory && score <= 1.2*d.lastScore {
			score *= 0.5
		} else {
			d.since = 0
			d.lastScore = score
		}
	}
	// Learn: a robust update (outliers move the level less).
	r := v - d.mean
	w := c.Alpha
	if d.dev > 0 && math.Abs(r) > 4*1.2533*d.dev {
		w *= 0.25
	}
	d.mean += w * r
	d.dev += c.Alpha * (math.Abs(r) - d.dev)
	if d.n <= 3 {
		d.dev = math.Max(d.dev, math.Abs(r))
	}
	if d.seasonN[h] == 0 {
		d.seasonMean[h] = v
	} else {
		// Each day moves an hour's profile 70 % of the way to that day's
		// values, however many points an hour holds (one an hour, or sixty).
		if d.sa == 0 || d.n%64 == 0 { // the sampling interval changes slowly
			d.sa = 1 - math.Pow(1-dayWeight, 1/d.perHour())
		}
		sa := d.sa
		sr := v - d.seasonMean[h]
		d.seasonMean[h] += sa * sr
		d.seasonDev[h] += sa * (math.Abs(sr) - d.seasonDev[h])
	}
	d.seasonN[h]++
	if wk := &d.week[wb]; wk.n == 0 {
		wk.mean = float32(v)
		wk.n = 1
	} else {
		wr := v - float64(wk.mean)
		wk.mean += float32(0.2 * wr)
		wk.dev += float32(0.2 * (math.Abs(wr) - float64(wk.dev)))
		if wk.n < math.MaxUint16 {
			wk.n++
		}
	}
	o := Observation{Score: score, Level: score, Expected: expected, Low: expected - 3*scale, High: expected + 3*scale}
	if sh := d.shape.observe(v); d.shape.warm() {
		o.Shape = math.Min(1, sh*c.Sensitivity)
		o.Score = math.Max(o.Shape, baseWeight*score)
	}
	return o
}

// CUSUM chaining: crossings at most chainGap observations apart (a shift
// of about 1.2 deviations or more) in the same direction chain; each adds
// chainGain of the base strength, up to chainMax.
const (
	chainGap  = 18
	chainGain = 0.75
	chainMax  = 8
)

// dayWeight is how far one day moves the hour-of-day profile.
const dayWeight = 0.7

// perHour is how many observations an hour holds, from the mean interval
// so far (at least one).
func (d *Detector) perHour() float64 {
	if d.n < 2 {
		return 1
	}
	iv := float64(d.last.Sub(d.first)) / float64(d.n-1)
	if iv <= 0 {
		return 1
	}
	return math.Max(1, float64(time.Hour)/iv)
}

// weekBucket is one hour of the week: its level, spread and count, side by
// side (one cache line holds several).
type weekBucket struct {
	mean, dev float32
	n         uint16
}

// poissonZ is the signed normal quantile of v's tail probability under a
// Poisson distribution with mean lambda: positive when v is surprisingly
// high, negative when surprisingly low (an outage), capped at ±10.
func poissonZ(v, lambda float64) float64 {
	k := int(v)
	// P(X <= k) by summing the pmf (k is small when this is used).
	pmf := math.Exp(-lambda)
	cdf := pmf
	for i := 1; i <= k && i < 10000; i++ {
		pmf *= lambda / float64(i)
		cdf += pmf
	}
	var p float64
	sign := 1.0
	if v > lambda {
		p = 1 - (cdf - pmf) // P(X >= k)
	} else {
		p, sign = cdf, -1 // P(X <= k)
	}
	if p >= 0.5 {
		return 0
	}
	if p < 1e-23 {
		return 10 * sign
	}
	return sign * math.Min(10, math.Sqrt2*math.Erfinv(1-2*p))
}
