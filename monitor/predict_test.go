package monitor

import (
	"context"
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftio/weft/store"
)

func TestPredictParamsEmbeddedValid(t *testing.T) {
	p := DefaultPredictParams()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "p.json")
	if err := os.WriteFile(f, []byte(`{"error_rate": 0.3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	q, err := LoadPredictParams(f)
	if err != nil || q.ErrorRate != 0.3 || q.Trend.Window != p.Trend.Window {
		t.Fatalf("override: %v %+v", err, q)
	}
	if err := os.WriteFile(f, []byte(`{"error_rate": 3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPredictParams(f); err == nil {
		t.Fatal("error_rate 3 accepted")
	}
	if err := os.WriteFile(f, []byte(`{"trend": {"horizon": 5}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPredictParams(f); err == nil {
		t.Fatal("a number for a duration accepted")
	}
}

// gatedParams are the defaults with fixed gates for error rates and rate
// limits (session 16's fit): the tests check the forecasters' mechanics;
// the gates predict.json holds are fitted by the eval and move with it.
func gatedParams() PredictParams {
	p := DefaultPredictParams()
	p.Kinds = map[string]KindParams{
		PredictErrorRate: {Confidence: 3, Persist: Dur(2 * time.Minute), Horizon: Dur(time.Hour)},
		PredictRateLimit: {Confidence: 2, Persist: Dur(time.Minute)},
		PredictStorage:   p.Kinds[PredictStorage],
	}
	return p
}

func TestFitTrend(t *testing.T) {
	var xs, ys []float64
	for i := 0; i < 40; i++ {
		xs = append(xs, float64(i))
		ys = append(ys, 2*float64(i)+1)
	}
	ys[10] = 500 // an outlier moves neither slope nor level
	tr := FitTrend(xs, ys, 50)
	if math.Abs(tr.Slope-2) > 1e-9 || math.Abs(tr.Level-101) > 1e-9 || tr.Z < 5 {
		t.Fatalf("%+v", tr)
	}
	flat := make([]float64, 40)
	for i := range flat {
		flat[i] = float64(i % 2)
	}
	if tr := FitTrend(xs, flat, 0); tr.Z > 1 {
		t.Fatalf("alternating series found trending: %+v", tr)
	}
	if tr := FitTrend(xs[:2], ys[:2], 0); tr.N != 2 || tr.Slope != 0 {
		t.Fatalf("two points: %+v", tr)
	}
	if c := crossing(Trend{Slope: 1, Level: 0}, 60); c != time.Minute {
		t.Fatal(c)
	}
}

// feed gives pr a flow's runs minute by minute, the failure probability
// from p(minute), 20 runs a minute, and evaluates every minute.
func feed(pr *Predictor, start time.Time, minutes int, p func(int) float64) (fired []Prediction, at []time.Time) {
	r := rand.New(rand.NewSource(1))
	for m := 0; m < minutes; m++ {
		t := start.Add(time.Duration(m) * time.Minute)
		for k := 0; k < 20; k++ {
			pr.ObserveRun("orders", t.Add(time.Duration(k)*time.Second), r.Float64() < p(m), 100*time.Millisecond)
		}
		_, f, _ := pr.Evaluate(t.Add(time.Minute))
		for _, x := range f {
			fired = append(fired, x)
			at = append(at, t.Add(time.Minute))
		}
	}
	return fired, at
}

func TestPredictErrorRateTrend(t *testing.T) {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	pr := NewPredictor(gatedParams())
	fired, _ := feed(pr, start, 180, func(int) float64 { return 0.02 })
	if len(fired) != 0 {
		t.Fatalf("a steady flow predicted: %+v", fired)
	}
	// From minute 60 the failure probability climbs 1 point a minute: 50 % at minute 108.
	pr = NewPredictor(gatedParams())
	fail := start.Add(108 * time.Minute)
	fired, at := feed(pr, start, 108, func(m int) float64 { return 0.02 + math.Max(0, float64(m-60))*0.01 })
	if len(fired) == 0 {
		t.Fatal("a climbing error rate was not predicted")
	}
	p := fired[0]
	if p.Kind != PredictErrorRate || p.Subject != "orders" || p.Why == "" || p.What == "" {
		t.Fatalf("%+v", p)
	}
	if lead := fail.Sub(at[0]); lead < 10*time.Minute {
		t.Fatalf("predicted only %s ahead", lead)
	}
	// The first estimate is conservative (the fitted window still holds
	// the flat part); it closes in as the rise fills the window.
	if p.When.Before(fail.Add(-10 * time.Minute)) {
		t.Fatalf("predicted for %s, the rate reached 50%% at %s", p.When, fail)
	}
	act := pr.Active()
	if len(act) == 0 {
		t.Fatal("not active")
	}
	if d := act[0].When.Sub(fail); d < -15*time.Minute || d > 15*time.Minute {
		t.Fatalf("latest estimate %s, the rate reached 50%% at %s", act[0].When, fail)
	}
}

func TestPredictLatencyBound(t *testing.T) {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	pr := NewPredictor(DefaultPredictParams())
	pr.SetLatencyBound("ord*", 1000)
	var fired []Prediction
	for m := 0; m < 120; m++ {
		tm := start.Add(time.Duration(m) * time.Minute)
		d := 200 + 10*math.Max(0, float64(m-40)) // reaches 1000 ms at minute 120
		for k := 0; k < 10; k++ {
			pr.ObserveRun("orders", tm.Add(time.Duration(k)*time.Second), false, time.Duration(d*float64(time.Millisecond)))
		}
		_, f, _ := pr.Evaluate(tm.Add(time.Minute))
		fired = append(fired, f...)
	}
	if len(fired) == 0 || fired[0].Kind != PredictLatency {
		t.Fatalf("%+v", fired)
	}
}

func TestPredictRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	pr := NewPredictor(gatedParams())
	reset := now.Add(time.Hour)
	// 1000 calls an hour, 10 a minute spent: 400 left after an hour's pace of 60 minutes … gone in 40.
	for m := 0; m < 10; m++ {
		pr.ObserveRateLimit("crm", now.Add(time.Duration(m)*time.Minute), RateLimit{Limit: 1000, Remaining: float64(500 - 10*m), Reset: reset})
	}
	// Announced once the forecast has held for the kind's persist (1m).
	if _, fired, _ := pr.Evaluate(now.Add(10 * time.Minute)); len(fired) != 0 {
		t.Fatalf("announced before it held: %+v", fired)
	}
	_, fired, _ := pr.Evaluate(now.Add(11 * time.Minute))
	if len(fired) != 1 || fired[0].Kind != PredictRateLimit || fired[0].Subject != "connection:crm" || fired[0].Evidence["confidence"] < 2 {
		t.Fatalf("%+v", fired)
	}
	if w := fired[0].When.Sub(now); w < 45*time.Minute || w > 55*time.Minute {
		t.Fatalf("exhaustion predicted %s after start, expected about 50m", w)
	}
	// The same pace with the reset before exhaustion: no prediction.
	pr = NewPredictor(gatedParams())
	for m := 0; m < 10; m++ {
		pr.ObserveRateLimit("crm", now.Add(time.Duration(m)*time.Minute), RateLimit{Limit: 1000, Remaining: float64(500 - 10*m), Reset: now.Add(20 * time.Minute)})
	}
	for _, m := range []time.Duration{10, 11, 12} {
		if _, fired, _ := pr.Evaluate(now.Add(m * time.Minute)); len(fired) != 0 {
			t.Fatalf("%+v", fired)
		}
	}
	// A pace too uncertain to be sure of exhaustion before the reset: a
	// burst of calls between quiet minutes. The point forecast runs out
	// before the reset; the lower end of the pace's interval does not.
	bursty := func(p PredictParams) int {
		pr := NewPredictor(p)
		rem := 500.0
		for m := 0; m < 10; m++ {
			if m%3 == 2 {
				rem -= 45
			} else {
				rem -= 1
			}
			pr.ObserveRateLimit("crm", now.Add(time.Duration(m)*time.Minute), RateLimit{Limit: 1000, Remaining: rem, Reset: now.Add(40 * time.Minute)})
		}
		n := 0
		for _, m := range []time.Duration{10, 11, 12} {
			_, fired, _ := pr.Evaluate(now.Add(m * time.Minute))
			n += len(fired)
		}
		return n
	}
	if n := bursty(gatedParams()); n != 0 {
		t.Fatalf("uncertain pace announced %d times", n)
	}
	point := gatedParams()
	point.Kinds = map[string]KindParams{PredictRateLimit: {Persist: Dur(time.Minute)}}
	if n := bursty(point); n != 1 {
		t.Fatalf("on the point forecast alone: announced %d times, want 1", n)
	}
	pr.ObserveRateLimit("crm", now, RateLimit{Remaining: math.NaN()}) // ignored, no panic
}

func TestPredictExpiry(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	pr := NewPredictor(DefaultPredictParams())
	nb, na := now.Add(-87*24*time.Hour), now.Add(3*24*time.Hour) // 90 days, 3 left: 3.3 %
	pr.ObserveExpiry("connection:crm", "tls certificate crm.example", now, nb, na)
	_, fired, _ := pr.Evaluate(now)
	if len(fired) != 1 || fired[0].Kind != PredictExpiry || !fired[0].When.Equal(na) {
		t.Fatalf("%+v", fired)
	}
	// An OAuth token (no start given) is predicted only after refresh failures.
	pr = NewPredictor(DefaultPredictParams())
	pr.ObserveExpiry("connection:crm", "oauth token", now, time.Time{}, now.Add(time.Hour))
	if _, fired, _ := pr.Evaluate(now.Add(55 * time.Minute)); len(fired) != 0 {
		t.Fatalf("%+v", fired)
	}
	pr.ObserveRefresh("connection:crm", "oauth token", errors.New("invalid_grant"))
	pr.ObserveRefresh("connection:crm", "oauth token", errors.New("invalid_grant"))
	_, fired, _ = pr.Evaluate(now.Add(56 * time.Minute))
	if len(fired) != 1 || fired[0].Evidence["refresh_failures"] != 2 {
		t.Fatalf("%+v", fired)
	}
}

func TestPredictStorage(t *testing.T) {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewSource(2))
	run := func(from int, size func(i int) float64) []Prediction {
		pr := NewPredictor(DefaultPredictParams())
		var out []Prediction
		for i := 0; i < 6*72; i++ {
			at := start.Add(time.Duration(i) * 10 * time.Minute)
			pr.ObserveStorage("dlq", at, size(i)*(1+0.005*r.NormFloat64()), 1000)
			_, f, _ := pr.Evaluate(at)
			if i >= from {
				out = append(out, f...)
			}
		}
		return out
	}
	// The first teeth are growth like any other: judged after two purges.
	if f := run(72, func(i int) float64 { return 200 + 600*float64(i%36)/36 }); len(f) != 0 {
		t.Fatalf("a purged saw-tooth predicted: %+v", f[0])
	}
	f := run(0, func(i int) float64 { return 200 + 2*float64(i) }) // 1000 at step 400: 66h
	if len(f) == 0 || f[0].Kind != PredictStorage || f[0].Subject != "store:dlq" {
		t.Fatalf("%+v", f)
	}
}

func TestAlerterRaisesPredicted(t *testing.T) {
	var got []Alert
	a := NewAlerter(nil, func(_ context.Context, al Alert) error { got = append(got, al); return nil }, nil)
	pr := NewPredictor(DefaultPredictParams())
	a.Predict(pr)
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return now }
	pr.ObserveExpiry("connection:crm", "tls certificate crm.example", now, now.Add(-87*24*time.Hour), now.Add(3*24*time.Hour))
	a.Evaluate(context.Background())
	if len(got) != 1 || got[0].Kind != "predicted" || got[0].Rule != "predicted:expiry" || got[0].Flow != "connection:crm" || got[0].Prediction == nil {
		t.Fatalf("%+v", got)
	}
	a.Evaluate(context.Background())
	if len(got) != 1 {
		t.Fatalf("notified twice: %+v", got)
	}
	// Renewed: the prediction is withdrawn after clear_after evaluations.
	pr.ObserveExpiry("connection:crm", "tls certificate crm.example", now, now, now.Add(90*24*time.Hour))
	for i := 0; i < DefaultPredictParams().Trend.ClearAfter; i++ {
		a.Evaluate(context.Background())
	}
	if len(got) != 2 || got[1].Status != "resolved" {
		t.Fatalf("%+v", got)
	}
	// Finished runs reach the predictor through the alerter.
	fin := now
	a.ObserveRun(&store.Run{ID: "r1", Flow: "f", Status: store.RunFailed, StartedAt: now.Add(-time.Second), FinishedAt: &fin})
	a.Flush() // an evaluation folds them in too
	if _, ok := pr.flows["f"]; !ok {
		t.Fatal("run not seen by the predictor")
	}
}

// Confidence is the z at which s sits at the lower end of the Theil–Sen
// interval: 0 at the median slope, the Mann–Kendall z at 0 for a series
// without ties, rising as s falls below the slopes.
func TestTrendConfidence(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	var xs, ys []float64
	for i := 0; i < 40; i++ {
		xs = append(xs, float64(i))
		ys = append(ys, 2*float64(i)+5*r.NormFloat64())
	}
	tr := FitTrend(xs, ys, 39)
	if c := tr.Confidence(tr.Slope); math.Abs(c) > 0.2 {
		t.Fatalf("confidence at the median slope %v", c)
	}
	if c := tr.Confidence(0); math.Abs(c-tr.Z) > 0.1 {
		t.Fatalf("confidence at 0 %v, Mann–Kendall z %v", c, tr.Z)
	}
	if lo, hi := tr.Confidence(tr.Slope*0.5), tr.Confidence(tr.Slope*1.5); !(lo > 1.5 && hi < -1.5) {
		t.Fatalf("half the slope %v, 1.5× %v", lo, hi)
	}
	if c := (Trend{}).Confidence(1); !math.IsInf(c, -1) {
		t.Fatalf("no slopes: %v", c)
	}
}

// A sliding window (the reset moves on with every response, before it
// comes): the headroom is forecast net of the calls leaving the window.
// Session 16 took every moved reset for a new window and forgot the
// series, so a sliding window was never forecast.
func TestPredictRateLimitSlidingWindow(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	run := func(window time.Duration, remaining func(m int) float64) (fired []Prediction) {
		pr := NewPredictor(gatedParams())
		for m := 0; m <= 12; m++ {
			at := now.Add(time.Duration(m) * time.Minute)
			// The oldest call in the window leaves 40 minutes from now.
			pr.ObserveRateLimit("crm", at, RateLimit{Limit: 1000, Remaining: remaining(m), Reset: at.Add(40 * time.Minute), Window: window})
			_, f, _ := pr.Evaluate(at.Add(time.Second))
			fired = append(fired, f...)
		}
		return fired
	}
	// Net 10 calls a minute more than leave, 300 left: spent in about
	// 30 minutes, within the hour's window.
	f := run(time.Hour, func(m int) float64 { return float64(420 - 10*m) })
	if len(f) != 1 || f[0].Evidence["sliding"] != 1 || f[0].Evidence["window_s"] != 3600 {
		t.Fatalf("sliding window, spent within it: %+v", f)
	}
	if w := f[0].When.Sub(now); w < 38*time.Minute || w > 46*time.Minute {
		t.Fatalf("exhaustion predicted %s after start, expected about 42m", w)
	}
	// The same drain against a 15-minute window: a rise in the pace
	// spends headroom for at most one window, and 30 minutes of it
	// would be needed.
	if f := run(15*time.Minute, func(m int) float64 { return float64(420 - 10*m) }); len(f) != 0 {
		t.Fatalf("drain longer than the window predicted: %+v", f)
	}
	// A steady pace (as many calls leave as come): nothing.
	if f := run(time.Hour, func(m int) float64 { return float64(400 + 5*(m%2)) }); len(f) != 0 {
		t.Fatalf("steady sliding window predicted: %+v", f)
	}
	// Without the policy's window its length is taken from the resets
	// seen (40 minutes or more): still a sliding window.
	if f := run(0, func(m int) float64 { return float64(420 - 10*m) }); len(f) != 1 || f[0].Evidence["window_s"] != 2400 {
		t.Fatalf("sliding window without its length: %+v", f)
	}
}

// The newest half must agree: a rise that goes on passes, a rise that
// levelled off in the newest half fails, though the whole window's
// trend still reaches the bound.
func TestRecentConfidence(t *testing.T) {
	var xs, rising, levelled []float64
	for i := 0; i < 40; i++ {
		x := float64(i-40) * 60
		xs = append(xs, x)
		rising = append(rising, 0.01*float64(i)+0.002*float64(i%3))
		levelled = append(levelled, 0.01*float64(min(i, 20))+0.002*float64(i%3))
	}
	h := 3 * time.Hour
	full := FitTrend(xs, levelled, 0)
	need := (0.5 - full.Level) / h.Seconds()
	if c := full.Confidence(need); c < 2 {
		t.Fatalf("the whole levelled window should still read as rising: %v", c)
	}
	if c := recentConfidence(xs, levelled, 0, 0.5, h); c > 1 {
		t.Fatalf("levelled off, newest half confidence %v", c)
	}
	if c := recentConfidence(xs, rising, 0, 0.5, h); c < 2 {
		t.Fatalf("still rising, newest half confidence %v", c)
	}
	if c := recentConfidence(xs[:5], rising[:5], 0, 0.5, h); !math.IsInf(c, -1) {
		t.Fatalf("too short: %v", c)
	}
	if c := recentConfidence(xs, rising, 0, 0.1, h); !math.IsInf(c, 1) {
		t.Fatalf("newest half at the bound already: %v", c)
	}
	// Through the predictor: a failure rate that rose and levelled off at
	// 40 % (bound 50 %) is forecast without the gate, not with it.
	run := func(recent bool) int {
		p := DefaultPredictParams()
		p.Kinds = map[string]KindParams{PredictErrorRate: {Confidence: 1, Recent: recent}}
		pr := NewPredictor(p)
		start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
		_, at := feed(pr, start, 100, func(m int) float64 { return 0.4 * math.Min(1, float64(m)/60) })
		n := 0
		for _, a := range at {
			if a.After(start.Add(80 * time.Minute)) {
				n++ // announced after 20 minutes level
			}
		}
		active, _, _ := pr.Evaluate(start.Add(100 * time.Minute))
		return n + len(active)
	}
	if n := run(false); n == 0 {
		t.Fatal("without the gate the levelled rise should read as a forecast (else this test shows nothing)")
	}
	if n := run(true); n != 0 {
		t.Fatalf("with the newest half required to agree: %d predictions", n)
	}
}

// An upstream answered every five minutes (a 6-hour window, a slow
// caller): the pace reaches back past pace_window to hold min_points
// responses, so it is forecast; with fewer than min_points in all, not.
func TestPredictRateLimitSparseResponses(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	run := func(n int) (fired []Prediction) {
		pr := NewPredictor(gatedParams())
		for i := 0; i < n; i++ {
			at := now.Add(time.Duration(5*i) * time.Minute)
			// 20 calls a minute, 1200 left at the start: spent in an hour.
			pr.ObserveRateLimit("crm", at, RateLimit{Limit: 5000, Remaining: float64(1200 - 100*i), Reset: now.Add(6 * time.Hour)})
			for s := 1; s <= 5; s++ {
				_, f, _ := pr.Evaluate(at.Add(time.Duration(s) * time.Minute))
				fired = append(fired, f...)
			}
		}
		return fired
	}
	f := run(8)
	if len(f) != 1 {
		t.Fatalf("sparse responses: %d predictions, want 1: %+v", len(f), f)
	}
	if f[0].Evidence["pace_span_s"] < 20*60 || math.Abs(f[0].Evidence["pace_per_min"]-20) > 1e-6 {
		t.Fatalf("pace over the responses there are: %+v", f[0].Evidence)
	}
	if w := f[0].When.Sub(now); w < 59*time.Minute || w > 61*time.Minute {
		t.Fatalf("exhaustion predicted %s after start, expected 60m", w)
	}
	if f := run(gatedParams().RateLimit.MinPoints - 1); len(f) != 0 {
		t.Fatalf("fewer responses than min_points: %+v", f)
	}
	// Samples older than the look-ahead are not reached for.
	ss := appendSampleKeep(nil, sample{now, 1}, time.Minute, 5, time.Hour, 64)
	ss = appendSampleKeep(ss, sample{now.Add(2 * time.Hour), 1}, time.Minute, 5, time.Hour, 64)
	if len(ss) != 1 {
		t.Fatalf("kept a sample beyond reach: %d", len(ss))
	}
}

// trend.latency "shift": the latency trend is fitted on the mean log
// latency of every run, with the p95's usual distance above it. On a
// flow whose whole latency distribution slowly scales up (noisy: a
// lognormal spread, 6 runs a minute) it is announced earlier than the
// p95 fit at the same gates, and it forecasts the crossing near the time
// the true p95 crosses; a steady flow with the same noise is not
// predicted by either.
func TestPredictLatencyShift(t *testing.T) {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	const med, spread, bound = 100.0, 0.5, 500.0
	p95 := med * math.Exp(1.645*spread)
	// The multiplier climbs linearly from minute 120 so that the true p95
	// reaches the bound at minute 300.
	rise := func(m int) float64 { return 1 + math.Max(0, float64(m-120))/180*(bound/p95-1) }
	run := func(model string, mult func(int) float64, minutes int) (first time.Time, when time.Time) {
		p := DefaultPredictParams()
		p.Trend.Latency = model
		p.Kinds = map[string]KindParams{PredictLatency: {Confidence: 2, Horizon: Dur(time.Hour), Recent: true}}
		pr := NewPredictor(p)
		pr.SetLatencyBound("*", bound)
		r := rand.New(rand.NewSource(7))
		for m := 0; m < minutes; m++ {
			tm := start.Add(time.Duration(m) * time.Minute)
			for k := 0; k < 6; k++ {
				d := med * mult(m) * math.Exp(spread*r.NormFloat64())
				pr.ObserveRun("orders", tm.Add(time.Duration(k*10)*time.Second), false, time.Duration(d*float64(time.Millisecond)))
			}
			_, f, _ := pr.Evaluate(tm.Add(time.Minute))
			if len(f) > 0 && first.IsZero() {
				if f[0].Kind != PredictLatency || f[0].Why == "" {
					t.Fatalf("%+v", f[0])
				}
				first, when = tm.Add(time.Minute), f[0].When
			}
		}
		return first, when
	}
	fail := start.Add(300 * time.Minute)
	shift, when := run(LatencyShift, rise, 300)
	old, _ := run(LatencyP95, rise, 300)
	if shift.IsZero() {
		t.Fatal("a latency distribution scaling up was not predicted")
	}
	t.Logf("shift %s (when %s) p95 %s fail %s", shift, when, old, fail)
	if !old.IsZero() && !shift.Before(old) {
		t.Fatalf("shift announced at %s, p95 at %s: not earlier", shift, old)
	}
	if lead := fail.Sub(shift); lead < 20*time.Minute {
		t.Fatalf("shift announced %s ahead only", lead)
	}
	if d := when.Sub(fail); d < -30*time.Minute || d > 30*time.Minute {
		t.Fatalf("predicted crossing %s, true %s", when, fail)
	}
	for _, model := range []string{LatencyShift, LatencyP95} {
		if f, _ := run(model, func(int) float64 { return 1 }, 300); !f.IsZero() {
			t.Fatalf("%s: a steady flow predicted at %s", model, f)
		}
	}
	if ys := shiftPoints([]float64{math.E * 10, math.E * 20}, []float64{math.Log(10), math.Log(20)}); math.Abs(ys[0]-(1+math.Log(10))) > 1e-9 || math.Abs(ys[1]-(1+math.Log(20))) > 1e-9 {
		t.Fatalf("shift points %v", ys)
	}
}

// rate_limit.pace "increments": the calls spent between responses as
// independent increments. A steady pace is sure; the same average spent
// in bursts is less sure; the pace is the calls spent over the span; and
// the confidence grows with the room and falls with what is left.
func TestPredictRateLimitIncrements(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	mk := func(spent func(i int) float64) []sample {
		var ss []sample
		v := 1000.0
		for i := 0; i < 11; i++ {
			if i > 0 {
				v -= spent(i)
			}
			ss = append(ss, sample{now.Add(time.Duration(i) * time.Minute), v})
		}
		return ss
	}
	pace, s2, se2 := increments(mk(func(int) float64 { return 10 }))
	if math.Abs(pace*60-10) > 1e-9 || s2 != 0 || se2 != 0 {
		t.Fatalf("steady: pace %v/min sigma2 %v se2 %v", pace*60, s2, se2)
	}
	if c := spendConfidence(500, pace, s2, se2, 3600); c != 10 {
		t.Fatalf("steady and sure: %v", c)
	}
	bpace, bs2, bse2 := increments(mk(func(i int) float64 {
		if i%2 == 0 {
			return 19
		}
		return 1
	}))
	if math.Abs(bpace*60-10) > 1e-9 || bs2 <= 0 || bse2 <= 0 {
		t.Fatalf("bursts: pace %v/min sigma2 %v se2 %v", bpace*60, bs2, bse2)
	}
	// 500 left; at 10 a minute spent in 50 minutes.
	c60 := spendConfidence(500, bpace, bs2, bse2, 3600)
	c55 := spendConfidence(500, bpace, bs2, bse2, 3300)
	c45 := spendConfidence(500, bpace, bs2, bse2, 2700)
	if !(c60 > c55 && c55 > 0 && c45 < 0 && c60 < 10) {
		t.Fatalf("confidence with 60, 55, 45 minutes of room: %v %v %v", c60, c55, c45)
	}
	if c := spendConfidence(400, bpace, bs2, bse2, 3600); c <= c60 {
		t.Fatalf("less left, not surer: %v <= %v", c, c60)
	}
	if p, _, _ := increments(mk(func(int) float64 { return 10 })[:2]); p != 0 {
		t.Fatal("one increment read as a pace")
	}
	// Through the predictor: a steady drain is announced with the
	// increments' confidence; the bursty one, whose spend is uncertain
	// at the reset, is not.
	run := func(spent func(i int) float64, reset time.Duration) []Prediction {
		p := gatedParams()
		p.RateLimit.Pace = PaceIncrements
		pr := NewPredictor(p)
		var fired []Prediction
		for _, s := range mk(spent) {
			pr.ObserveRateLimit("crm", s.at, RateLimit{Limit: 2000, Remaining: s.v, Reset: now.Add(reset)})
			_, f, _ := pr.Evaluate(s.at.Add(time.Second))
			fired = append(fired, f...)
		}
		return fired
	}
	if f := run(func(int) float64 { return 10 }, 150*time.Minute); len(f) != 1 || f[0].Evidence["confidence"] < 2 {
		t.Fatalf("steady drain: %+v", f)
	}
	wild := func(i int) float64 {
		if i%5 == 0 {
			return 46
		}
		return 1
	}
	if f := run(wild, 150*time.Minute); len(f) != 0 {
		t.Fatalf("bursty drain, uncertain at the reset: %+v", f)
	}
}

func TestDeceleration(t *testing.T) {
	var xs, straight, slowing, speeding []float64
	for i := 0; i < 40; i++ {
		x := float64(i-40) * 60
		xs = append(xs, x)
		noise := 0.002 * float64(i%3)
		straight = append(straight, 0.01*float64(i)+noise)
		// Rising at 1 point a minute, then a tenth of that.
		slowing = append(slowing, 0.01*float64(min(i, 20))+0.001*float64(max(0, i-20))+noise)
		speeding = append(speeding, 0.0005*float64(i*i)+noise)
	}
	if d := Deceleration(xs, straight); math.Abs(d) > 1.5 {
		t.Fatalf("a straight rise: deceleration %v", d)
	}
	if d := Deceleration(xs, slowing); d < 3 {
		t.Fatalf("a rise slowing down: deceleration %v", d)
	}
	if d := Deceleration(xs, speeding); d > -3 {
		t.Fatalf("a rise speeding up: deceleration %v", d)
	}
	if d := Deceleration(xs[:5], straight[:5]); d != 0 {
		t.Fatalf("too short: %v", d)
	}
	// riseSignals: the level's progress from the usual level to the bound.
	tr := FitTrend(xs, straight, 0) // level now about 0.4
	sig := riseSignals(tr, xs, straight, 0.1, 0.5)
	if math.Abs(sig[0]-0.75) > 0.03 {
		t.Fatalf("progress %v, want about (0.4-0.1)/(0.5-0.1) = 0.75", sig[0])
	}
	if sig := riseSignals(tr, xs, straight, 0.6, 0.5); sig[0] != 1 {
		t.Fatalf("a bound below the usual level: progress %v", sig[0])
	}
}

// min_progress and max_deceleration through the predictor: a failure rate
// climbing toward 50 % is announced only once it is far enough along, and
// one that is slowing down is not announced while it slows.
func TestPredictShapeGates(t *testing.T) {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	climb := func(m int) float64 { return 0.02 + math.Max(0, float64(m-60))*0.005 } // 50 % at minute 156
	first := func(kp KindParams, rate func(int) float64, minutes int) (Prediction, time.Time, bool) {
		p := DefaultPredictParams()
		p.Kinds = map[string]KindParams{PredictErrorRate: kp}
		fired, at := feed(NewPredictor(p), start, minutes, rate)
		if len(fired) == 0 {
			return Prediction{}, time.Time{}, false
		}
		return fired[0], at[0], true
	}
	base := KindParams{Confidence: 1, Horizon: Dur(2 * time.Hour)}
	p0, at0, ok := first(base, climb, 156)
	if !ok {
		t.Fatal("not announced without the gates")
	}
	if _, has := p0.Evidence["progress"]; !has {
		t.Fatalf("no progress in the evidence: %v", p0.Evidence)
	}
	gated := base
	gated.MinProgress = 0.6
	p1, at1, ok := first(gated, climb, 156)
	if !ok {
		t.Fatal("not announced with min_progress 0.6")
	}
	if !at1.After(at0) || p1.Evidence["progress"] < 0.6 || p0.Evidence["progress"] >= 0.6 {
		t.Fatalf("min_progress 0.6: announced at %s (progress %.2f), without it at %s (%.2f)", at1, p1.Evidence["progress"], at0, p0.Evidence["progress"])
	}
	// Climbing 1 point a minute for 25 minutes, then a tenth of that:
	// still rising, but slowing. Forecast at the end without the gate; the
	// gate withdraws it once the slowing shows.
	slowing := func(m int) float64 {
		x := float64(max(0, m-60))
		return 0.02 + 0.01*math.Min(x, 25) + 0.001*math.Max(0, x-25)
	}
	activeAtEnd := func(kp KindParams) []Prediction {
		p := DefaultPredictParams()
		p.Kinds = map[string]KindParams{PredictErrorRate: kp}
		pr := NewPredictor(p)
		feed(pr, start, 130, slowing)
		return pr.Active()
	}
	if a := activeAtEnd(base); len(a) == 0 {
		t.Fatal("the slowing rise is not forecast without max_deceleration (this test would show nothing)")
	} else if a[0].Evidence["deceleration"] < 1.5 {
		t.Fatalf("the slowing rise reads deceleration %v", a[0].Evidence["deceleration"])
	}
	dec := base
	dec.MaxDeceleration = 1.5
	if a := activeAtEnd(dec); len(a) != 0 {
		t.Fatalf("max_deceleration 1.5: still forecast with deceleration %v", a[0].Evidence["deceleration"])
	}
	// Validation.
	bad := DefaultPredictParams()
	bad.Kinds = map[string]KindParams{PredictLatency: {MinProgress: 1.2}}
	if bad.Validate() == nil {
		t.Fatal("min_progress 1.2 accepted")
	}
	bad.Kinds = map[string]KindParams{PredictLatency: {MaxDeceleration: -1}}
	if bad.Validate() == nil {
		t.Fatal("max_deceleration -1 accepted")
	}
}

// approach: a forecast whose predicted time recedes while it is held is
// not announced (the hold starts again); one that stays put or comes
// nearer is; once announced, it is not held to it.
func TestPredictApproach(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	p := DefaultPredictParams()
	p.Kinds = map[string]KindParams{PredictErrorRate: {Persist: Dur(3 * time.Minute), Approach: true, ApproachSlack: Dur(time.Minute)}}
	run := func(when func(m int) time.Duration, minutes int) (fired []time.Time, pr *Predictor) {
		pr = NewPredictor(p)
		for m := 0; m < minutes; m++ {
			now := t0.Add(time.Duration(m) * time.Minute)
			cur := []Prediction{{Kind: PredictErrorRate, Subject: "orders", When: now.Add(when(m)), Evidence: map[string]float64{}}}
			pr.mu.Lock()
			_, f, _ := pr.settle(now, cur)
			pr.mu.Unlock()
			if len(f) > 0 {
				fired = append(fired, now)
			}
		}
		return fired, pr
	}
	// Receding 2 minutes a minute (more than the slack): never announced.
	if f, _ := run(func(m int) time.Duration { return 20*time.Minute + time.Duration(3*m)*time.Minute }, 30); len(f) != 0 {
		t.Fatalf("a receding forecast announced at %v", f)
	}
	// Staying put (the same predicted time, nearer each minute): announced after persist.
	if f, _ := run(func(m int) time.Duration { return 40*time.Minute - time.Duration(m)*time.Minute }, 10); len(f) != 1 || !f[0].Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("a steady forecast: announced at %v", f)
	}
	// Within the slack (receding 15 s a minute for 3 minutes): announced.
	if f, _ := run(func(m int) time.Duration { return 40*time.Minute - time.Duration(m)*45*time.Second }, 10); len(f) != 1 {
		t.Fatalf("within the slack: announced at %v", f)
	}
	// Steady for 5 minutes, then receding: announced, and kept.
	f, pr := run(func(m int) time.Duration {
		if m < 5 {
			return 40*time.Minute - time.Duration(m)*time.Minute
		}
		return 40*time.Minute + time.Duration(5*m)*time.Minute
	}, 12)
	if len(f) != 1 || len(pr.Active()) != 1 {
		t.Fatalf("announced at %v, active %v", f, pr.Active())
	}
	// Without approach, the receding forecast is announced.
	p.Kinds[PredictErrorRate] = KindParams{Persist: Dur(3 * time.Minute)}
	if f, _ := run(func(m int) time.Duration { return 20*time.Minute + time.Duration(3*m)*time.Minute }, 30); len(f) != 1 {
		t.Fatalf("without approach: announced at %v", f)
	}
}

// trend.latency_runs: on a flow of one run a minute, a point's "p95" from
// one-run buckets is about the median latency; pooled over 10 or more
// runs it is about the p95.
func TestLatencyPointsPooled(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	const med, spread = 100.0, 0.5 // p95 = 100·e^(1.645·0.5) ≈ 228 ms
	truth := med * math.Exp(1.645*spread)
	p := DefaultPredictParams()
	pr := NewPredictor(p)
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for m := 0; m < 600; m++ {
		pr.ObserveRun("slow", start.Add(time.Duration(m)*time.Minute+time.Second), false, time.Duration(med*math.Exp(spread*r.NormFloat64())*float64(time.Millisecond)))
	}
	f := pr.flows["slow"]
	pr.roll(f, start.Add(600*time.Minute))
	res := time.Duration(p.Trend.Resolution)
	_, _, _, plain, _ := flowPoints(f.closed, 600, 1, res, 5, 0)
	_, _, lx, pooled, lm := flowPoints(f.closed, 600, 1, res, 5, 10)
	if len(pooled) < 20 || len(pooled) != len(lx) || len(lm) != len(lx) {
		t.Fatalf("%d pooled points (%d x, %d mean logs)", len(pooled), len(lx), len(lm))
	}
	if m := median(append([]float64(nil), plain...)); m > 0.6*truth {
		t.Fatalf("one-run buckets: median point %.0f ms, p95 %.0f ms (expected the bias this fixes)", m, truth)
	}
	if m := median(append([]float64(nil), pooled...)); m < 0.8*truth || m > 1.25*truth {
		t.Fatalf("pooled points: median %.0f ms, p95 %.0f ms", m, truth)
	}
	// pooledP95 from the buckets' two largest.
	bs := []flowBucket{{n: 12, top: [2]float64{50, 40}, p95: 50}, {n: 12, top: [2]float64{70, 30}, p95: 70}}
	if v := pooledP95(bs); v != 50 { // 24 runs: the 23rd of 24, the second largest
		t.Fatalf("pooled p95 of 24 runs: %v", v)
	}
	if v := pooledP95(bs[:1]); v != 50 { // 12 runs: the largest
		t.Fatalf("pooled p95 of 12 runs: %v", v)
	}
	bs = append(bs, flowBucket{n: 30, p95: 60})
	if v := pooledP95(bs); v != 60 { // 54 runs: the median of the buckets' p95s
		t.Fatalf("pooled p95 of 54 runs: %v", v)
	}
	bad := DefaultPredictParams()
	bad.Trend.LatencyRuns = -1
	if bad.Validate() == nil {
		t.Fatal("latency_runs -1 accepted")
	}
}

// Saturation on hand-made series: a rise that levels off near its peak
// (as one about to recover does) against one that goes on, straight or
// speeding up.
func TestSaturation(t *testing.T) {
	var xs, straight, levelled, speeding []float64
	for i := 0; i < 40; i++ {
		xs = append(xs, float64(i-40)*60)
		noise := 0.004 * float64((i*7)%5-2)
		straight = append(straight, 0.05+0.01*float64(i)+noise)
		// Climbing a point a minute for 30 minutes, then flat at its peak.
		levelled = append(levelled, 0.05+0.01*float64(min(i, 30))+noise)
		speeding = append(speeding, 0.05+0.0003*float64(i*i)+noise)
	}
	sStraight, sLevelled, sSpeeding := Saturation(xs, straight), Saturation(xs, levelled), Saturation(xs, speeding)
	if sStraight > 2.71 {
		t.Fatalf("a straight rise: saturation %v (want under chi-square(1)'s 0.1 point)", sStraight)
	}
	if sLevelled < 10.83 {
		t.Fatalf("a rise levelled off for its last 10 minutes: saturation %v", sLevelled)
	}
	if sSpeeding > 0.5 {
		t.Fatalf("a rise speeding up: saturation %v", sSpeeding)
	}
	if s := Saturation(xs[:7], levelled[:7]); s != 0 {
		t.Fatalf("too short: %v", s)
	}
	flat := make([]float64, len(xs))
	if s := Saturation(xs, flat); s != 0 {
		t.Fatalf("a flat series: %v", s)
	}
	exact := make([]float64, len(xs))
	for i := range xs {
		exact[i] = 0.01 * float64(min(i, 30))
	}
	if s := Saturation(xs, exact); s != 100 {
		t.Fatalf("an exact levelled rise: %v, want the cap", s)
	}
	nan := append([]float64(nil), straight...)
	nan[3] = math.NaN()
	if s := Saturation(xs, nan); s != 0 || math.IsNaN(s) {
		t.Fatalf("NaN input: %v", s)
	}
	// A line falling from a plateau is not a rise levelling off: the
	// levelled model needs a rising slope.
	var falling []float64
	for i := range xs {
		falling = append(falling, 0.5-0.01*float64(max(0, i-10)))
	}
	if s := Saturation(xs, falling); s != 0 {
		t.Fatalf("a fall: saturation %v", s)
	}
}

// max_saturation through the predictor: a failure rate that climbs and
// then holds below the bound is forecast without the gate and not with it;
// a straight climb is forecast either way.
func TestPredictSaturationGate(t *testing.T) {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	holding := func(m int) float64 {
		x := float64(max(0, m-60))
		return 0.02 + 0.01*math.Min(x, 25) + 0.0005*math.Max(0, x-25)
	}
	climb := func(m int) float64 { return 0.02 + math.Max(0, float64(m-60))*0.004 }
	activeAtEnd := func(kp KindParams, rate func(int) float64) []Prediction {
		p := DefaultPredictParams()
		p.Kinds = map[string]KindParams{PredictErrorRate: kp}
		pr := NewPredictor(p)
		feed(pr, start, 125, rate)
		return pr.Active()
	}
	base := KindParams{Confidence: 1, Horizon: Dur(2 * time.Hour)}
	a := activeAtEnd(base, holding)
	if len(a) == 0 {
		t.Fatal("the holding rise is not forecast without max_saturation (this test would show nothing)")
	}
	if a[0].Evidence["saturation"] < 6.63 {
		t.Fatalf("the holding rise reads saturation %v", a[0].Evidence["saturation"])
	}
	gated := base
	gated.MaxSaturation = 6.63
	if a := activeAtEnd(gated, holding); len(a) != 0 {
		t.Fatalf("max_saturation 6.63: still forecast with saturation %v", a[0].Evidence["saturation"])
	}
	if a := activeAtEnd(gated, climb); len(a) == 0 {
		t.Fatal("max_saturation 6.63 holds back a straight climb")
	}
	bad := DefaultPredictParams()
	bad.Kinds = map[string]KindParams{PredictErrorRate: {MaxSaturation: -1}}
	if bad.Validate() == nil {
		t.Fatal("max_saturation -1 accepted")
	}
	bad.Kinds = map[string]KindParams{PredictErrorRate: {MaxSaturation: math.NaN()}}
	if bad.Validate() == nil {
		t.Fatal("max_saturation NaN accepted")
	}
}

// min_points through the predictor: a forecast fitted on fewer points
// than the gate asks for is not announced; one fitted on as many is.
func TestPredictMinPointsGate(t *testing.T) {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	climb := func(m int) float64 { return 0.02 + math.Max(0, float64(m-60))*0.004 }
	activeAtEnd := func(kp KindParams) []Prediction {
		p := DefaultPredictParams()
		p.Kinds = map[string]KindParams{PredictErrorRate: kp}
		pr := NewPredictor(p)
		feed(pr, start, 125, climb)
		return pr.Active()
	}
	base := KindParams{Confidence: 1, Horizon: Dur(2 * time.Hour)}
	a := activeAtEnd(base)
	if len(a) == 0 {
		t.Fatal("the climb is not forecast without min_points (this test would show nothing)")
	}
	n := int(a[0].Evidence["points"])
	if n < 12 {
		t.Fatalf("the forecast reads %d points", n)
	}
	gated := base
	gated.MinPoints = n
	if a := activeAtEnd(gated); len(a) == 0 {
		t.Fatalf("min_points %d holds back a forecast on %d points", n, n)
	}
	gated.MinPoints = n + 1
	if a := activeAtEnd(gated); len(a) != 0 {
		t.Fatalf("min_points %d: still forecast on %v points", n+1, a[0].Evidence["points"])
	}
	bad := DefaultPredictParams()
	bad.Kinds = map[string]KindParams{PredictErrorRate: {MinPoints: -1}}
	if bad.Validate() == nil {
		t.Fatal("min_points -1 accepted")
	}
}
