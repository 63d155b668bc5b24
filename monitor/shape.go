package monitor

import (
	"math"
	"sort"
)

// shape is a novelty detector over the shape of a series, built on the
// method of ARTime (Mark Hampton, 2021; adaptive resonance theory after
// Grossberg and Carpenter), written for Weft's streaming path:
//
//   - The series is cut into blocks of `step` observations; each block is
//     kept as its most extreme value (a spike or a dip), or its mean when
//     the extreme is within 10 % of it.
//   - Block values are scaled into a range and quantised to 80 levels;
//     a level close to the running median is snapped to it (noise).
//   - The last 8 block values and the Haar wavelet coefficients of their
//     shape form a feature vector.
//   - A fuzzy adaptive-resonance network with two vigilance levels files
//     each vector: a close match refines a category, a fair one opens a
//     new category of a known kind, a poor one opens a new kind: a
//     novelty. A novelty outside the quiet period that follows the last
//     one is an anomaly, scored by how far it falls below both vigilance
//     levels and how unlike anything known its latest value is.
//   - Both vigilance levels follow how similar the series usually is to
//     itself.
//
// ARTime scales by the whole file's minimum and maximum, which a live
// series cannot know. Here the range is the warm-up's, widened above by
// half its span, and it grows whenever a block falls outside it: the
// network's categories are rescaled with it, so what was learned stays
// comparable.
//
// Memory is bounded: at most maxCategories categories (the one unused
// longest gives way), two fixed windows of recent similarities, and the
// warm-up's features until the warm-up ends.
type shape struct {
	step  int // observations per block
	trend int // blocks in the warm-up
	mask  int // blocks of quiet after a novelty

	lo, hi     float64 // the range block values are scaled by
	seenLo     float64 // the range seen in the warm-up
	seenHi     float64
	ranged     bool
	warmBlocks []float64 // the warm-up's block values, until the range is known

	n                   int // observations in the current block
	sum, bMin, bMax     float64
	blocks              int // blocks seen
	avg                 float64
	hist                [levels + 1]int // quantised levels seen, for the median
	win                 [window]float64 // the last block values, scaled
	early               [][]float64     // the warm-up's feature vectors
	net                 artNet
	k                   int // feature vectors filed
	meanSim             float64
	sims                []float64 // the last trend/2+1 best similarities
	diffs               []float64 // the last trend+1 shortfalls below the upper vigilance
	anomN               int       // anomalies so far
	anomSum, anomLast   float64   // the sum of their matches, and the last one's (lowest in its quiet period)
	lastAnomS           float64   // the last anomaly's match when it was raised
	lastAnom, lastAdapt int
	maskNovel           bool
	quiet               int // feature vectors since the last novelty
	vec                 [2 * window]float64
}

const (
	window         = 8     // blocks in a feature vector
	windowsPerWarm = 13    // feature windows in the warm-up
	levels         = 80    // quantisation levels
	snapToMedian   = 0.075 // levels this close to the median are noise
	initialRho     = 0.80  // the scratch network's vigilance at the end of the warm-up
	maxCategories  = 512
	rangeHeadroom  = 0.5 // the warm-up range is widened above by this much of its span
)

// newShape returns a shape detector that learns for warm observations
// before it scores.
func newShape(warm int) *shape {
	warm = max(warm, 2*window)
	warm -= warm % 2
	s := &shape{step: max(1, warm/(window*windowsPerWarm))}
	s.trend = warm / s.step
	s.mask = window * 3 / 2
	s.sims = make([]float64, s.trend/2+1)
	for i := range s.sims {
		s.sims[i] = 1
	}
	s.diffs = make([]float64, s.trend+1)
	return s
}

// warm reports whether the warm-up is over (scores may follow).
func (s *shape) warm() bool { return s.net.dim != 0 }

// observe takes one observation and returns an anomaly score in [0, 1],
// non-zero only at the end of a block.
func (s *shape) observe(v float64) float64 {
	if s.n == 0 {
		s.sum, s.bMin, s.bMax = 0, v, v
	}
	s.n++
	s.sum += v
	s.bMin, s.bMax = math.Min(s.bMin, v), math.Max(s.bMax, v)
	if s.blocks == 0 && s.n == 1 {
		s.seenLo, s.seenHi = v, v
	}
	if !s.ranged {
		s.seenLo, s.seenHi = math.Min(s.seenLo, v), math.Max(s.seenHi, v)
	}
	if s.n < s.step {
		return 0
	}
	mean := s.sum / float64(s.n)
	s.n = 0
	s.blocks++
	if s.blocks == 1 {
		s.avg = mean
	}
	s.avg = (s.avg + mean) / 2
	b := s.bMax
	if math.Abs(s.bMax-s.avg) < math.Abs(s.bMin-s.avg) {
		b = s.bMin // a dip below the level
	}
	if math.Abs(b-mean) < 0.1*mean {
		b = mean // the extreme is not a spike
	}
	if !s.ranged {
		// The warm-up's blocks wait until the warm-up has shown the range.
		s.warmBlocks = append(s.warmBlocks, b)
		if len(s.warmBlocks) < s.trend {
			return 0
		}
		s.lo, s.hi = s.seenLo, s.seenHi+rangeHeadroom*(s.seenHi-s.seenLo)
		s.ranged = true
		for _, x := range s.warmBlocks {
			s.block(x)
		}
		s.warmBlocks = nil
		return 0
	}
	return s.block(b)
}

// block files one block value.
func (s *shape) block(b float64) float64 {
	if b < s.lo || b > s.hi {
		s.widen(math.Min(s.lo, b), math.Max(s.hi, b))
	}
	x := b - s.lo
	if s.hi != s.lo {
		x /= s.hi - s.lo
	}
	lvl := min(max(int(math.Round(x*levels)), 0), levels)
	q := float64(lvl) / levels
	s.hist[lvl]++
	if med := s.median(); math.Abs(q-med) < snapToMedian {
		q = med
	}
	copy(s.win[:], s.win[1:])
	s.win[window-1] = q
	f := s.vec[:]
	if s.net.dim == 0 {
		f = make([]float64, 2*window) // kept until the warm-up ends
	}
	clear(f)
	if s.k+1 >= window {
		waveletShape(f[:window], s.win[:])
		copy(f[window:], s.win[:])
	}
	if s.net.dim == 0 {
		// The warm-up: vectors wait until the vigilance is chosen.
		s.early = append(s.early, f)
		if len(s.early) < s.trend {
			s.k++
			return 0
		}
		s.net.dim = len(f)
		rho := s.initialVigilance(s.early[window-1:])
		s.net.lo, s.net.hi = rho, rho
		s.k = 0
		for _, e := range s.early {
			s.k++
			s.file(e)
		}
		s.early = nil
		return 0
	}
	s.k++
	return s.file(f)
}

// widen moves the range to [lo, hi], rescaling everything held in scaled
// units (the recent window, the level histogram, the categories' value
// bounds, the warm-up's vectors).
func (s *shape) widen(lo, hi float64) {
	olo, ospan := s.lo, s.hi-s.lo
	to := func(x float64) float64 {
		v := x*ospan + olo - lo
		if hi != lo {
			v /= hi - lo
		}
		return v
	}
	s.lo, s.hi = lo, hi
	for i := range s.win {
		s.win[i] = to(s.win[i])
	}
	var h [levels + 1]int
	for l, c := range s.hist {
		nl := int(math.Round(to(float64(l)/levels) * levels))
		h[min(max(nl, 0), levels)] += c
	}
	s.hist = h
	d := s.net.dim
	for j := 0; j < s.net.count(); j++ {
		// A category is a box per feature: [w[i], 1-w[d+i]].
		w := s.net.cat(j)
		for i := window; i < d; i++ {
			a, b := to(float64(w[i])/255), to(1-float64(w[d+i])/255)
			w[i], w[d+i] = q8(a), q8(1-b)
		}
		s.net.norm[j] = l1(w)
	}
	for _, f := range s.early {
		for i := window; i < len(f); i++ {
			f[i] = to(f[i])
		}
	}
}

// median is the median quantised level so far.
func (s *shape) median() float64 {
	total := 0
	for _, c := range s.hist {
		total += c
	}
	half, run := total/2, 0
	for i, c := range s.hist {
		run += c
		if run > half {
			return float64(i) / levels
		}
	}
	return 0
}

// waveletShape writes the Haar wavelet coefficients of w's shape (w scaled
// to [0,1] first), themselves scaled to [0,1], into dst: coarsest first.
func waveletShape(dst []float64, w []float64) {
	var buf, tmp [window]float64
	copy(buf[:], w)
	unitScale(buf[:])
	for n := window; n > 1; n /= 2 {
		h := n / 2
		for i := 0; i < h; i++ {
			a, b := buf[2*i], buf[2*i+1]
			tmp[i] = (a + b) / math.Sqrt2
			tmp[h+i] = (a - b) / math.Sqrt2
		}
		copy(buf[:n], tmp[:n])
	}
	unitScale(buf[:])
	copy(dst, buf[:])
}

// unitScale maps x onto [0,1] by its own minimum and maximum.
func unitScale(x []float64) {
	mn, mx := x[0], x[0]
	for _, v := range x {
		mn, mx = math.Min(mn, v), math.Max(mx, v)
	}
	for i := range x {
		x[i] -= mn
		if mx != mn {
			x[i] /= mx - mn
		}
	}
}

// initialVigilance picks the vigilance at the end of the warm-up: the
// warm-up's vectors, least typical first (by their summed cosine
// similarity to the others), are filed by a scratch network at
// initialRho; the mean best match over the second half is the answer.
func (s *shape) initialVigilance(fs [][]float64) float64 {
	n := len(fs)
	typical := make([]float64, n)
	for i := range fs {
		typical[i]++
		for j := 0; j < i; j++ {
			c := cosine(fs[i], fs[j])
			typical[i] += c
			typical[j] += c
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return typical[order[a]] < typical[order[b]] })
	scratch := artNet{dim: len(fs[0]), lo: initialRho, hi: initialRho}
	sims := make([]float64, 0, n)
	for _, i := range order {
		_, m, _ := scratch.train(fs[i], true)
		sims = append(sims, m)
	}
	from := s.trend/2 - 1
	if from < 0 || from >= len(sims) {
		from = 0
	}
	var sum float64
	for _, m := range sims[from:] {
		sum += m
	}
	return sum / float64(len(sims)-from)
}

// cosine is the cosine similarity of a and b (for a zero vector: one less
// the other's length).
func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	na, nb := math.Sqrt(aa), math.Sqrt(bb)
	switch {
	case na == 0:
		return 1 - nb
	case nb == 0:
		return 1 - na
	}
	return ab / (na * nb)
}

// file files the k-th feature vector and returns its anomaly score.
func (s *shape) file(f []float64) float64 {
	k := s.k
	sinceAnom := k - s.lastAnom
	maskAnom := sinceAnom <= s.mask
	if k > s.trend+s.mask && s.maskNovel && s.quiet >= s.mask {
		s.maskNovel = false
	}
	novel, sim, energy := s.net.train(f, k >= window)
	if k < window {
		novel = true // an incomplete window: not learned
	}
	if novel {
		s.quiet = 0
	} else {
		s.quiet++
	}
	s.meanSim += (sim - s.meanSim) / float64(k)
	copy(s.sims, s.sims[1:])
	s.sims[len(s.sims)-1] = sim
	copy(s.diffs, s.diffs[1:])
	s.diffs[len(s.diffs)-1] = s.net.hi - sim
	if sinceAnom < s.mask && s.anomN > 0 && sim < s.anomLast {
		// An anomaly's match is the least seen in its quiet period.
		s.anomSum += sim - s.anomLast
		s.anomLast = sim
	}
	below := 0.70
	if maskAnom {
		below = 0.90
	}
	score := 0.0
	if k > s.trend && novel && (!(s.maskNovel || maskAnom) || sim < s.lastAnomS*below) {
		score = s.confidence(sim, energy)
		s.anomN++
		s.anomSum += sim
		s.anomLast, s.lastAnomS, s.lastAnom = sim, sim, k
	}
	s.maskNovel = s.maskNovel || novel
	if k > s.trend && (sinceAnom == s.mask || k-s.lastAdapt >= s.trend/2) {
		s.adapt(k)
	}
	return score
}

// adapt moves the vigilance levels: the upper one to the mean best match
// (at most 0.97); the lower one up toward the least match seen lately, or
// down by the usual shortfall, but not below the anomalies' mean match.
func (s *shape) adapt(k int) {
	least := s.sims[0]
	for _, m := range s.sims {
		least = math.Min(least, m)
	}
	hi := math.Min(0.97, s.meanSim)
	lo := s.net.lo
	if lo <= least {
		lo += (least - lo) * 0.19
	} else {
		dec := 0.0
		if k > 2*s.trend {
			var sum float64
			var n int
			for _, d := range s.diffs {
				if d > 0.05 {
					sum += math.Min(0.37, d)
					n++
				}
			}
			if n > 0 {
				dec = sum / float64(n)
			}
		}
		lo -= math.Max(0.01, dec) / 2
		if s.anomN > 0 {
			lo = math.Max(lo, s.anomSum/float64(s.anomN))
		}
	}
	s.net.lo, s.net.hi = math.Min(lo, hi), hi
	s.lastAdapt = k
	s.maskNovel = true
}

// confidence scores a novelty: how far its match falls short of each
// vigilance level, relative to its own distance from a perfect match,
// plus how unlike anything known its latest value is.
func (s *shape) confidence(sim, energy float64) float64 {
	sim = math.Min(0.999, sim)
	up := ((1 - sim) - (1 - s.net.hi)) / (1 - sim)
	down := ((1 - sim) - (1 - s.net.lo)) / (1 - sim)
	return math.Max(0, math.Min(1, up*0.35+down*0.65+(1-energy)*1.5))
}

// artNet is a fuzzy ART network with two vigilance levels over
// complement-coded vectors: each category is a box, stored as the lower
// corner and one less the upper corner.
type artNet struct {
	dim    int
	lo, hi float64
	w      []uint8   // 2*dim per category, in 255ths (rounded toward a wider box)
	norm   []float32 // L1 norm of each category
	used   []int32   // when each category last matched best or learned
	tick   int32
}

// count is the number of categories.
func (a *artNet) count() int { return len(a.norm) }

// cat is category j's weights.
func (a *artNet) cat(j int) []uint8 { return a.w[j*2*a.dim : (j+1)*2*a.dim] }

// q8 stores x in [0,1] in 255ths, rounded down (a box never narrows).
func q8(x float64) uint8 { return uint8(math.Floor(math.Min(1, math.Max(0, x)) * 255)) }

// train files f: it returns whether f opened a new kind (a novelty), the
// best match and that category's match on the latest value alone. Every
// category that matches at hi or better learns f; when none does, f
// becomes a category of its own, of a known kind when the best match is
// at least lo. With learn false nothing changes.
func (a *artNet) train(f []float64, learn bool) (novel bool, best, bestLast float64) {
	a.tick++
	d := a.dim
	last := d - 1
	// f and its complement in 255ths, side by side like the weights.
	var xs [4 * window]float32
	for i, x := range f {
		xs[i], xs[d+i] = float32(x*255), float32((1-x)*255)
	}
	xs2 := xs[:2*d]
	bestJ := -1
	resonated := false
	for j := 0; j < a.count(); j++ {
		w := a.cat(j)
		var num float32
		for i, x := range xs2 {
			num += min(x, float32(w[i]))
		}
		nw := float64(a.norm[j])
		if nw == 0 {
			nw = 0.001
		}
		fs := float64(num) / 255 / nw
		wl, wc := float32(w[last]), float32(w[d+last])
		es := 0.0
		if wl+wc > 0 {
			es = float64(min(xs[last], wl)+min(xs[d+last], wc)) / float64(wl+wc)
		}
		m := fs * fs * fs * es * es
		if m > best {
			best, bestLast, bestJ = m, es, j
		}
		if learn && m >= a.hi {
			for i, x := range f {
				w[i] = min(w[i], q8(x))
				w[d+i] = min(w[d+i], q8(1-x))
			}
			a.norm[j] = l1(w)
			a.used[j] = a.tick
			resonated = true
		}
	}
	if !learn {
		return true, best, bestLast
	}
	if resonated {
		return false, best, bestLast
	}
	if bestJ >= 0 {
		a.used[bestJ] = a.tick
	}
	a.add(f)
	return bestJ < 0 || best < a.lo, best, bestLast
}

// add makes f a category; when the network is full, the category unused
// longest gives way.
func (a *artNet) add(f []float64) {
	j := a.count()
	if j >= maxCategories {
		j = 0
		for k, u := range a.used {
			if u < a.used[j] {
				j = k
			}
		}
	} else {
		a.w = append(a.w, make([]uint8, 2*a.dim)...)
		a.norm = append(a.norm, 0)
		a.used = append(a.used, 0)
	}
	w := a.cat(j)
	for i, x := range f {
		w[i], w[a.dim+i] = q8(x), q8(1-x)
	}
	a.norm[j], a.used[j] = l1(w), a.tick
}

// l1 is the L1 norm of w.
func l1(w []uint8) float32 {
	var s int
	for _, x := range w {
		s += int(x)
	}
	return float32(s) / 255
}
