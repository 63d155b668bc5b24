// Command predict scores Weft's error prediction (monitor.Predictor) on
// the generated transaction-log set with labelled incidents (gen.go): slow
// error-rate and latency degradations, rate-limit exhaustion, expiring
// credentials and certificates, storage growth. Each case is replayed
// through the predictor in time order, evaluated every step as the alerter
// does; a prediction counts when it fires after the trouble began and
// before the bound is crossed, and its lead time is the time left until
// then. A static-threshold baseline (baseline.json) is scored in the same
// run on the same cases.
//
//	go run ./evals/predict [-split dev|heldout] [-params FILE] [-cases]
package main

import (
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/weftio/weft/monitor"
)

//go:embed baseline.json
var baselineJSON []byte

type baselineParams struct {
	WarnFraction float64 `json:"warn_fraction"`
	Smooth       int     `json:"smooth"`
}

func main() {
	split := flag.String("split", "dev", "seed range: dev, or heldout (its figures are reported; count such runs)")
	params := flag.String("params", "", "prediction parameters (default: monitor/predict.json)")
	list := flag.Bool("cases", false, "list every case's outcome (dev only)")
	only := flag.String("kind", "", "score only this kind (quick look)")
	n := flag.Int("n", 0, "use only the first n seeds of the range (quick look; 0: all)")
	fitGates := flag.Bool("fit", false, "fit the per-kind gates (predict.json \"kinds\") on the dev seeds and print the choice")
	workers := flag.Int("j", 2, "cases replayed at once")
	rawFile := flag.String("raw", "", "with -fit: keep the open-gate replay in this file and reuse it when it is there (same code, same kinds; a replay of fewer seeds is extended)")
	flag.BoolVar(&fitWithSat, "saturation", false, "with -fit: grid max_saturation in max_deceleration's place (error_rate, latency); the same as -grid s21")
	flag.StringVar(&fitGridName, "grid", fitGridName, "with -fit: the grid for error_rate and latency: s19 (progress, deceleration, approach), s21 (saturation in deceleration's place), s22 (saturation and deceleration together, min_points)")
	flag.StringVar(&fitCompare, "compare", "", "with -fit: also cross-validate the rule on this grid and print the change to -grid's, paired by case")
	replayOnly := flag.Bool("replay-only", false, "with -fit -raw: replay and keep the open-gate replay, do not fit")
	flag.Float64Var(&fitPrecision, "min-precision", fitPrecision, "with -fit: the precision the rule requires, as a 95 % lower bound")
	flag.Parse()
	p := monitor.DefaultPredictParams()
	if *params != "" {
		var err error
		if p, err = monitor.LoadPredictParams(*params); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	var bp baselineParams
	if err := json.Unmarshal(baselineJSON, &bp); err != nil || bp.WarnFraction <= 0 || bp.WarnFraction >= 1 || bp.Smooth < 1 {
		fmt.Fprintln(os.Stderr, "evals/predict/baseline.json: bad parameters", err)
		os.Exit(1)
	}
	seeds := devSeeds
	switch *split {
	case "dev":
	case "heldout":
		seeds = heldoutSeeds
		if *list {
			fmt.Fprintln(os.Stderr, "-cases lists dev cases only")
			os.Exit(2)
		}
	default:
		fmt.Fprintln(os.Stderr, "-split is dev or heldout")
		os.Exit(2)
	}
	// last is a kind's last seed in this run: on dev a kind may have more
	// seeds than the others (devSeedsTo); -n cuts every kind.
	last := func(k string) int64 {
		l := seeds[1]
		if *split == "dev" {
			l = devLast(k)
		}
		if *n > 0 && seeds[0]+int64(*n)-1 < l {
			l = seeds[0] + int64(*n) - 1
		}
		return l
	}
	top := seeds[0]
	for _, k := range kinds {
		if *only == "" || k == *only {
			top = max(top, last(k))
		}
	}
	seeds[1] = top
	type job struct {
		seed int64
		kind string
	}
	var jobs []job
	for s := seeds[0]; s <= seeds[1]; s++ {
		for _, k := range kinds {
			if (*only != "" && k != *only) || s > last(k) {
				continue
			}
			jobs = append(jobs, job{s, k})
		}
	}
	if fitWithSat {
		fitGridName = "s21"
	}
	switch fitGridName + "/" + fitCompare {
	case "s19/", "s21/", "s22/", "s19/s21", "s19/s22", "s21/s19", "s21/s22", "s22/s19", "s22/s21":
	default:
		fmt.Fprintln(os.Stderr, "-grid and -compare are s19, s21 or s22, and differ")
		os.Exit(2)
	}
	if *replayOnly && (!*fitGates || *rawFile == "") {
		fmt.Fprintln(os.Stderr, "-replay-only needs -fit and -raw")
		os.Exit(2)
	}
	if *fitGates && *split != "dev" {
		fmt.Fprintln(os.Stderr, "-fit fits on the dev seeds only")
		os.Exit(2)
	}
	results := make([]outcome, len(jobs))
	cases := make([]*gcase, len(jobs))
	raws := make([][]rawStep, len(jobs))
	cached := false
	kept := make([]bool, len(jobs)) // replayed from -raw
	if *fitGates && *rawFile != "" {
		// A file kept for more seeds of the same kinds serves a shorter
		// run (-n): the cases are in seed order, so its first ones are
		// this run's.
		// One kept for fewer seeds (a kind's dev range grown) is extended:
		// its cases are replayed from it, the rest replayed now.
		if r, err := loadRaw(*rawFile); err == nil {
			cached = reuseRaw(raws, kept, r)
		}
	}
	open := openParams(p)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < max(1, *workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c := generate(jobs[i].seed, jobs[i].kind)
				if *fitGates {
					if !kept[i] {
						raws[i] = replayRaw(c, open)
					}
					// The fit needs the labels only: what the case fed
					// the predictor is let go (a busy flow's runs are
					// hundreds of thousands of events).
					c.events, c.obs = nil, nil
					cases[i] = c
					continue
				}
				results[i] = replay(c, p, bp)
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	if *fitGates {
		if *rawFile != "" && !cached {
			if err := saveRaw(*rawFile, raws); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}
		fmt.Printf("# fitting the per-kind gates on dev seeds %d-%d (%d cases)\n", seeds[0], seeds[1], len(jobs))
		if *replayOnly {
			return
		}
		fit(cases, raws, p, *workers)
		return
	}
	fmt.Printf("# error prediction, %s seeds %d-%d (%d cases), one predictor configuration (monitor/predict.json) for every case\n",
		*split, seeds[0], seeds[1], len(jobs))
	fmt.Printf("# a prediction counts when it fires after the trouble began and before the bound is crossed; lead = time left until then\n")
	fmt.Printf("%-11s %5s %5s | %-28s | %-28s\n", "kind", "cases", "incid", "weft  P     R     median lead", "baseline P  R     median lead")
	var allW, allB []score
	for _, k := range append(append([]string(nil), kinds...), "all") {
		var w, b score
		cases, inc := 0, 0
		for _, o := range results {
			if k != "all" && o.kind != k {
				continue
			}
			cases++
			if o.incident {
				inc++
			}
			w.add(o, o.weft)
			b.add(o, o.base)
		}
		if k != "all" {
			allW, allB = append(allW, w), append(allB, b)
		}
		fmt.Printf("%-11s %5d %5d | %-28s | %-28s\n", k, cases, inc, w.String(), b.String())
	}
	fmt.Printf("\nmedian lead over the incident kinds: weft %s, baseline %s (the median of the per-kind medians)\n", medOfMed(allW), medOfMed(allB))
	if *list {
		fmt.Printf("\n%-8s %-11s %-8s %-22s %-22s\n", "seed", "kind", "incident", "weft (hit lead / FPs)", "baseline")
		for _, o := range results {
			fmt.Printf("%-8d %-11s %-8v %-22s %-22s\n", o.seed, o.kind, o.incident, o.weft.String(), o.base.String())
		}
	}
}

// reuseRaw fills raws from a kept replay r (cases in seed order): as many
// of its first cases as both hold, marking them kept. It reports whether
// r held them all (nothing left to replay).
func reuseRaw(raws [][]rawStep, kept []bool, r [][]rawStep) bool {
	k := min(len(r), len(raws))
	copy(raws, r[:k])
	for i := range k {
		kept[i] = true
	}
	return k == len(raws)
}

// result is one detector's outcome on one case.
type result struct {
	hit  bool
	lead time.Duration // the first hit's
	late bool          // it fired only after the bound was crossed
	fp   int           // firings outside the trouble
}

func (r result) String() string {
	s := "-"
	switch {
	case r.hit:
		s = "hit " + fmtDur(r.lead)
	case r.late:
		s = "late"
	}
	if r.fp > 0 {
		s += fmt.Sprintf(" fp %d", r.fp)
	}
	return s
}

type outcome struct {
	seed       int64
	kind       string
	incident   bool
	weft, base result
}

// judge scores the firing times of one detector on a case.
func judge(c *gcase, fires []time.Time) result {
	var r result
	for _, f := range fires {
		switch {
		case c.incident && !f.Before(c.trouble) && f.Before(c.fail):
			if !r.hit {
				r.hit, r.lead = true, c.fail.Sub(f)
			}
		case c.incident && !f.Before(c.fail):
			r.late = true
		default:
			r.fp++
		}
	}
	return r
}

// replay feeds a case's events to a fresh predictor, evaluating every
// step, and runs the baseline over the same steps.
func replay(c *gcase, p monitor.PredictParams, bp baselineParams) outcome {
	var fires []time.Time
	replayWith(c, p, func(now time.Time, _, fired []monitor.Prediction) {
		for _, f := range fired {
			if f.Kind == c.kind {
				fires = append(fires, now)
			}
		}
	})
	return outcome{seed: c.seed, kind: c.kind, incident: c.incident, weft: judge(c, fires), base: judge(c, baseline(c, p, bp))}
}

// replayWith feeds a case's events to a fresh predictor, calling eval
// with what each evaluation (one per step) returned.
func replayWith(c *gcase, p monitor.PredictParams, eval func(now time.Time, active, fired []monitor.Prediction)) {
	pr := monitor.NewPredictor(p)
	if c.kind == monitor.PredictLatency {
		pr.SetLatencyBound("*", c.bound)
	}
	ei := 0
	steps := len(c.obs)
	for i := 1; i <= steps; i++ {
		now := c.start.Add(time.Duration(i) * c.every)
		for ; ei < len(c.events) && c.events[ei].at.Before(now); ei++ {
			e := c.events[ei]
			switch {
			case e.run != nil:
				pr.ObserveRun("flow", e.at, e.run.failed, e.run.dur)
			case e.limit != nil:
				pr.ObserveRateLimit("upstream", e.at, *e.limit)
			case e.expiry != nil:
				pr.ObserveExpiry("connection:upstream", "credential", e.at, e.expiry.notBefore, e.expiry.notAfter)
			case e.refresh != nil:
				var err error
				if e.refresh.failed {
					err = fmt.Errorf("token endpoint returned 400 invalid_grant")
				}
				pr.ObserveRefresh("connection:upstream", "credential", err)
			case e.storage != nil:
				pr.ObserveStorage("db", e.at, e.storage.size, e.storage.bound)
			}
		}
		active, fired, _ := pr.Evaluate(now)
		eval(now, active, fired)
	}
}

// baseline warns when the smoothed observation passes the warn level,
// and again only after it has been below it clear_after steps.
func baseline(c *gcase, p monitor.PredictParams, bp baselineParams) []time.Time {
	var fires []time.Time
	on, off := false, 0
	var recent []float64
	for i, v := range c.obs {
		now := c.start.Add(time.Duration(i+1) * c.every)
		if !math.IsNaN(v) {
			recent = append(recent, v)
			if len(recent) > bp.Smooth {
				recent = recent[1:]
			}
		}
		if len(recent) == 0 {
			continue
		}
		m := 0.0
		for _, x := range recent {
			m += x
		}
		m /= float64(len(recent))
		var warn bool
		switch c.kind {
		case monitor.PredictErrorRate:
			warn = m >= bp.WarnFraction*p.ErrorRate
		case monitor.PredictLatency:
			warn = m >= bp.WarnFraction*c.bound
		case monitor.PredictRateLimit, monitor.PredictExpiry:
			warn = v <= 1-bp.WarnFraction && v > 0 // the latest value: these are not noisy
		case monitor.PredictStorage:
			warn = m >= bp.WarnFraction
		}
		switch {
		case warn && !on:
			on, off = true, 0
			fires = append(fires, now)
		case warn:
			off = 0
		case on:
			if off++; off >= p.Trend.ClearAfter {
				on = false
			}
		}
	}
	return fires
}

// score sums results over cases.
type score struct {
	incidents, hits, fp int
	leads               []time.Duration
	// Per case h (1 when it was a hit) and f (its firings, h + fp):
	// the number of cases and the sums of h², h·f and f², for the
	// precision's case-clustered variance (fit.go, precisionLower).
	cases         int
	shh, shf, sff float64
}

func (s *score) add(o outcome, r result) {
	h := 0.0
	if o.incident {
		s.incidents++
		if r.hit {
			s.hits++
			s.leads = append(s.leads, r.lead)
			h = 1
		}
	}
	s.fp += r.fp
	f := h + float64(r.fp)
	s.cases++
	s.shh, s.shf, s.sff = s.shh+h*h, s.shf+h*f, s.sff+f*f
}

func (s score) precision() float64 {
	if s.hits+s.fp == 0 {
		return math.NaN()
	}
	return float64(s.hits) / float64(s.hits+s.fp)
}

func (s score) recall() float64 {
	if s.incidents == 0 {
		return math.NaN()
	}
	return float64(s.hits) / float64(s.incidents)
}

func (s score) median() (time.Duration, bool) {
	if len(s.leads) == 0 {
		return 0, false
	}
	l := append([]time.Duration(nil), s.leads...)
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	if len(l)%2 == 1 {
		return l[len(l)/2], true
	}
	return (l[len(l)/2-1] + l[len(l)/2]) / 2, true
}

func (s score) String() string {
	m := "-"
	if d, ok := s.median(); ok {
		m = fmtDur(d)
	}
	return fmt.Sprintf("%5.3f %5.3f %-10s (fp %d)", s.precision(), s.recall(), m, s.fp)
}

func medOfMed(ss []score) string {
	var ms []float64
	for _, s := range ss {
		if d, ok := s.median(); ok {
			ms = append(ms, float64(d))
		}
	}
	if len(ms) == 0 {
		return "-"
	}
	sort.Float64s(ms)
	v := ms[len(ms)/2]
	if len(ms)%2 == 0 {
		v = (ms[len(ms)/2-1] + ms[len(ms)/2]) / 2
	}
	return fmtDur(time.Duration(v))
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%.1fd", d.Hours()/24)
	case d >= 2*time.Hour:
		return fmt.Sprintf("%.1fh", d.Hours())
	default:
		return strings.Replace(fmt.Sprintf("%.1fm", d.Minutes()), ".0m", "m", 1)
	}
}
