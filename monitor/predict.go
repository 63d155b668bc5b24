package monitor

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Error prediction: forecasters that look ahead of the alert rules, per
// flow and per connection, and say what will go wrong, when, and why.
//
//   - error_rate, latency: a flow's per-bucket error rate and p95 latency
//     over a rolling window; a trend is accepted when the Mann–Kendall
//     test finds it (z >= min_z), its slope is the Theil–Sen estimate (the
//     median of pairwise slopes: robust to bursts), and the prediction is
//     the time the fitted line crosses the alert threshold, if within the
//     horizon.
//   - rate_limit: the headroom an upstream reports in its responses
//     (X-RateLimit-*, RateLimit); the pace is the Theil–Sen slope of the
//     remaining calls over the recent pace window, and the prediction is
//     exhaustion before the window resets.
//   - expiry: credentials and certificates with a known end (OAuth access
//     tokens, upstream TLS certificates): predicted when the time left is
//     under a fraction of the lifetime and past the point this subject was
//     usually renewed at, or after consecutive refresh failures.
//   - storage: a size with a configured bound (the database, the
//     dead-letter queue): the same trend test over a longer window.
//
// Every parameter is in predict.json (embedded; a file can replace it).

//go:embed predict.json
var defaultPredictJSON []byte

// Dur is a duration written as a Go duration string in JSON ("10m").
type Dur time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Dur) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string like \"10m\": %v", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Dur(v)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Dur) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// PredictParams are the forecasters' parameters (predict.json).
type PredictParams struct {
	Trend struct {
		Resolution Dur `json:"resolution"` // bucket of a flow's series
		Window     int `json:"window"`     // buckets the trend is fitted on
		MinPoints  int `json:"min_points"` // points needed (non-empty buckets; for error rates, merged buckets of min_runs)
		MinRuns    int `json:"min_runs"`   // runs an error-rate point holds at least
		// Scales: the trend is tested on the last window buckets, and on
		// the last window×s buckets in groups of s for each scale s (slow
		// degradations show on the longer ones).
		Scales     []int   `json:"scales"`
		MinZ       float64 `json:"min_z"`       // Mann–Kendall z a trend needs
		Horizon    Dur     `json:"horizon"`     // crossings further ahead are not predicted
		ClearAfter int     `json:"clear_after"` // evaluations without the prediction before it is withdrawn
		// Latency: what the latency trend is fitted on. "p95": each
		// point's p95 (the median of its buckets' p95s), extrapolated
		// in ms. "shift": the mean log latency of every run in the
		// point — the whole distribution moving, seen with every run
		// rather than the few in its tail — with the p95 taken to move
		// with it (the p95's usual ratio to the geometric mean over the
		// window), extrapolated in log ms (latency growing by a share
		// an hour).
		Latency string `json:"latency,omitempty"`
		// LatencyRuns: a latency point holds at least this many runs,
		// merging groups as error-rate points do, and its p95 is the
		// pooled runs' own (from each bucket's two largest latencies,
		// under 40 runs) — a bucket of one or two runs has the run
		// itself as its "p95", and the median of such is about the
		// median latency, not the p95. 0: each group is a point, its
		// p95 the median of its buckets' p95s (as before session 19).
		LatencyRuns int `json:"latency_runs,omitempty"`
	} `json:"trend"`
	ErrorRate     float64 `json:"error_rate"`     // the error-rate threshold forecast (the failure-spike rule's)
	LatencyFactor float64 `json:"latency_factor"` // latency bound, when none is configured: this times the flow's usual p95
	RateLimit     struct {
		PaceWindow Dur `json:"pace_window"`
		MinPoints  int `json:"min_points"`
		Horizon    Dur `json:"horizon"`
		// Pace: how the pace and its uncertainty are read from the
		// responses. "trend" (unset): the Theil–Sen line through the
		// calls spent, its confidence interval from the pairwise
		// slopes. "increments": the calls spent between responses as
		// independent increments (a compound count): the pace is the
		// calls spent over the span, and the confidence is how many
		// standard deviations the spend forecast until the reset
		// (uncertain in its pace and in the calls still to come) is
		// beyond what is left.
		Pace string `json:"pace,omitempty"`
	} `json:"rate_limit"`
	Expiry struct {
		LifetimeFraction float64 `json:"lifetime_fraction"` // predicted once less than this fraction of the lifetime is left …
		OverdueMargin    float64 `json:"overdue_margin"`    // … and less than this times the fraction left at the earliest renewal seen
		RefreshFailures  int     `json:"refresh_failures"`  // consecutive refresh failures that predict expiry at once
		Horizon          Dur     `json:"horizon"`
	} `json:"expiry"`
	Storage struct {
		Window    Dur     `json:"window"`
		MinPoints int     `json:"min_points"`
		MinZ      float64 `json:"min_z"`
		Horizon   Dur     `json:"horizon"`
	} `json:"storage"`
	// Kinds: when a forecast of each kind is believed (error_rate,
	// latency, rate_limit, storage, expiry).
	Kinds map[string]KindParams `json:"kinds"`
}

// KindParams decide when a forecast of one kind becomes a prediction.
type KindParams struct {
	// Confidence: the forecast stands only when the trend's confidence
	// interval puts the crossing within reach — the one-sided z at which
	// the lower end of the Theil–Sen slope's interval (for rate limits:
	// of the pace) still reaches the bound within the horizon (before the
	// window resets). 0 accepts the point forecast alone.
	Confidence float64 `json:"confidence"`
	// Persist: the forecast must hold over consecutive evaluations for
	// this long before it is announced (a burst that ends is not a trend).
	Persist Dur `json:"persist"`
	// Horizon: announced only when the predicted time is at most this far
	// ahead (0: any time within the kind's look-ahead). A rise that levels
	// off below the bound shows that it does the nearer it gets.
	Horizon Dur `json:"horizon"`
	// Recent (error_rate, latency): the newest half of the fitted points
	// must agree — their own Theil–Sen interval, at the same confidence,
	// still reaches the bound within the look-ahead. A rise that has
	// levelled off, or an old burst the window still holds, fails it; a
	// degradation that goes on passes. Independent of the first half, so
	// the two together are harder to fool than either.
	Recent bool `json:"recent,omitempty"`
	// MinProgress (error_rate, latency): announced only once the level
	// is at least this fraction of the way from the flow's usual level
	// to the bound (evidence.progress; 0: no such gate). A rise is far
	// more often a false alarm while it is still far from the bound: a
	// rise that will recover has told nothing yet that a degradation
	// would not, and waiting until it is most of the way there lets the
	// ones that turn early do so first.
	MinProgress float64 `json:"min_progress,omitempty"`
	// MaxDeceleration (error_rate, latency): not announced while the
	// newest half of the last window rises more slowly than its older
	// half with at least this one-sided z (evidence.deceleration; 0: no
	// such gate). A rise that is levelling off or about to turn back
	// slows first; a degradation that goes on does not.
	MaxDeceleration float64 `json:"max_deceleration,omitempty"`
	// Approach: while a forecast is held (persist), its predicted time
	// must not recede: a forecast whose time is more than ApproachSlack
	// later than when the hold began breaks the hold, which starts again
	// (a degradation's crossing stays put or comes nearer; a rise that
	// slows pushes its own crossing away). Once announced, a prediction
	// is not held to it.
	Approach      bool `json:"approach,omitempty"`
	ApproachSlack Dur  `json:"approach_slack,omitempty"`
	// MaxSaturation (error_rate, latency): not announced while a rise
	// that levels off explains the window's points better than a straight
	// line by at least this likelihood-ratio statistic
	// (evidence.saturation, Saturation; 0: no such gate). A rise that
	// will recover flattens near its peak before it turns; a degradation
	// that goes on is as straight or steeper.
	MaxSaturation float64 `json:"max_saturation,omitempty"`
	// MinPoints (error_rate, latency): announced only when the forecast
	// kept was fitted on at least this many points (evidence.points; 0:
	// no such gate; the trend's own min_points is the least any forecast
	// has). A trend read off a few points — a flow's first hour, a slow
	// flow's merged groups — is the easiest for a passing rise to fake.
	MinPoints int `json:"min_points,omitempty"`
}

// shapeAllows applies min_progress, max_deceleration, max_saturation and
// min_points to a forecast's evidence (a forecast without the reading is
// not held back by it).
func (kp KindParams) shapeAllows(ev map[string]float64) bool {
	if v, ok := ev["progress"]; ok && kp.MinProgress > 0 && v < kp.MinProgress {
		return false
	}
	if v, ok := ev["deceleration"]; ok && kp.MaxDeceleration > 0 && v >= kp.MaxDeceleration {
		return false
	}
	if v, ok := ev["saturation"]; ok && kp.MaxSaturation > 0 && v >= kp.MaxSaturation {
		return false
	}
	if v, ok := ev["points"]; ok && kp.MinPoints > 0 && v < float64(kp.MinPoints) {
		return false
	}
	return true
}

// kind returns the parameters of kind (zero when none are set).
func (p PredictParams) kind(k string) KindParams { return p.Kinds[k] }

// DefaultPredictParams are the embedded predict.json.
func DefaultPredictParams() PredictParams {
	var p PredictParams
	if err := json.Unmarshal(defaultPredictJSON, &p); err != nil {
		panic("monitor/predict.json: " + err.Error()) // embedded, and tested
	}
	return p
}

// LoadPredictParams reads a parameter file over the defaults: fields it
// leaves out keep their default.
func LoadPredictParams(file string) (PredictParams, error) {
	p := DefaultPredictParams()
	b, err := os.ReadFile(file)
	if err != nil {
		return p, err
	}
	if len(b) > 1<<20 {
		return p, fmt.Errorf("%s: larger than 1 MiB", file)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("%s: %v", file, err)
	}
	return p, p.Validate()
}

// Validate reports a parameter out of its range.
func (p PredictParams) Validate() error {
	bad := func(what string) error { return fmt.Errorf("prediction parameters: %s", what) }
	switch {
	case p.Trend.Resolution < Dur(time.Second):
		return bad("trend.resolution must be at least 1s")
	case p.Trend.Window < 4 || p.Trend.Window > 512:
		return bad("trend.window must be 4 to 512 buckets")
	case p.Trend.MinPoints < 3 || p.Trend.MinPoints > p.Trend.Window:
		return bad("trend.min_points must be 3 to trend.window")
	case len(p.Trend.Scales) == 0 || len(p.Trend.Scales) > 4:
		return bad("trend.scales must list 1 to 4 scales")
	case slices.ContainsFunc(p.Trend.Scales, func(s int) bool { return s < 1 || s > 24 }):
		return bad("each of trend.scales must be 1 to 24")
	case p.Trend.MinRuns < 1:
		return bad("trend.min_runs must be at least 1")
	case p.Trend.LatencyRuns < 0 || p.Trend.LatencyRuns > 1000:
		return bad("trend.latency_runs must be 0 to 1000")
	case p.Trend.MinZ <= 0, p.Storage.MinZ <= 0:
		return bad("min_z must be positive")
	case p.Trend.Horizon <= 0, p.RateLimit.Horizon <= 0, p.Expiry.Horizon <= 0, p.Storage.Horizon <= 0:
		return bad("every horizon must be positive")
	case p.Trend.ClearAfter < 1:
		return bad("trend.clear_after must be at least 1")
	case p.Trend.Latency != "" && p.Trend.Latency != LatencyP95 && p.Trend.Latency != LatencyShift:
		return bad(`trend.latency must be "p95" or "shift"`)
	case p.ErrorRate <= 0 || p.ErrorRate > 1:
		return bad("error_rate must be in (0, 1]")
	case p.LatencyFactor <= 1:
		return bad("latency_factor must be above 1")
	case p.RateLimit.Pace != "" && p.RateLimit.Pace != PaceTrend && p.RateLimit.Pace != PaceIncrements:
		return bad(`rate_limit.pace must be "trend" or "increments"`)
	case p.RateLimit.PaceWindow <= 0 || p.RateLimit.MinPoints < 2:
		return bad("rate_limit.pace_window must be positive and min_points at least 2")
	case p.Expiry.LifetimeFraction <= 0 || p.Expiry.LifetimeFraction >= 1 || p.Expiry.OverdueMargin <= 0 || p.Expiry.RefreshFailures < 1:
		return bad("expiry.lifetime_fraction must be in (0, 1), overdue_margin positive, refresh_failures at least 1")
	case p.Storage.Window <= 0 || p.Storage.MinPoints < 3:
		return bad("storage.window must be positive and min_points at least 3")
	}
	for k, kp := range p.Kinds {
		switch k {
		case PredictErrorRate, PredictLatency, PredictRateLimit, PredictExpiry, PredictStorage:
		default:
			return bad(fmt.Sprintf("kinds: unknown kind %q", k))
		}
		if math.IsNaN(kp.Confidence) || kp.Confidence < -10 || kp.Confidence > 10 {
			return bad(fmt.Sprintf("kinds.%s.confidence must be -10 to 10", k))
		}
		if kp.Persist < 0 || kp.Persist > Dur(24*time.Hour) {
			return bad(fmt.Sprintf("kinds.%s.persist must be 0 to 24h", k))
		}
		if kp.Horizon < 0 || kp.ApproachSlack < 0 {
			return bad(fmt.Sprintf("kinds.%s.horizon and approach_slack must not be negative", k))
		}
		if math.IsNaN(kp.MinProgress) || kp.MinProgress < 0 || kp.MinProgress >= 1 {
			return bad(fmt.Sprintf("kinds.%s.min_progress must be 0 to below 1", k))
		}
		if math.IsNaN(kp.MaxDeceleration) || kp.MaxDeceleration < 0 || kp.MaxDeceleration > 10 {
			return bad(fmt.Sprintf("kinds.%s.max_deceleration must be 0 to 10", k))
		}
		if math.IsNaN(kp.MaxSaturation) || kp.MaxSaturation < 0 || kp.MaxSaturation > 100 {
			return bad(fmt.Sprintf("kinds.%s.max_saturation must be 0 to 100", k))
		}
		if kp.MinPoints < 0 || kp.MinPoints > 100000 {
			return bad(fmt.Sprintf("kinds.%s.min_points must be 0 to 100000", k))
		}
	}
	return nil
}

// What a latency trend is fitted on (trend.latency).
const (
	LatencyP95   = "p95"
	LatencyShift = "shift"
)

// How a rate limit's pace is read (rate_limit.pace).
const (
	PaceTrend      = "trend"
	PaceIncrements = "increments"
)

// Prediction kinds.
const (
	PredictErrorRate = "error_rate"
	PredictLatency   = "latency"
	PredictRateLimit = "rate_limit"
	PredictExpiry    = "expiry"
	PredictStorage   = "storage"
)

// Prediction is one forecast: what will go wrong, when, and why.
type Prediction struct {
	Kind    string    `json:"kind"`    // error_rate | latency | rate_limit | expiry | storage
	Subject string    `json:"subject"` // a flow, connection:NAME or store:NAME
	What    string    `json:"what"`
	When    time.Time `json:"when"` // the predicted time it happens
	Why     string    `json:"why"`
	// Evidence holds the numbers behind Why (slope, z, level, threshold …).
	Evidence map[string]float64 `json:"evidence,omitempty"`
	Since    time.Time          `json:"since"` // first predicted (this episode)
}

// Key identifies a prediction's subject and kind.
func (p Prediction) Key() string { return p.Kind + "|" + p.Subject }

// Lead is how far ahead of now the prediction is.
func (p Prediction) Lead(now time.Time) time.Duration { return p.When.Sub(now) }

// Limits on what a predictor keeps.
const (
	maxPredictSubjects = 10000 // flows, connections, stores each
	maxBucketLatencies = 256   // latency samples a bucket keeps
	maxSamples         = 256   // samples a rate-limit series keeps
	maxStorageSamples  = 1024  // samples a storage series keeps (thinning would bias its peaks)
)

// Predictor holds the forecasters' state. Safe for concurrent use.
type Predictor struct {
	p PredictParams

	mu      sync.Mutex
	flows   map[string]*flowTrend
	limits  map[string]*limitState
	creds   map[string]*credState
	stores  map[string]*storeState
	bounds  map[string]float64 // flow glob -> latency bound (ms)
	active  map[string]*Prediction
	missing map[string]int       // key -> evaluations without the prediction
	holding map[string]time.Time // key -> forecast without a break since (not yet announced)
	// holdWhen: key -> the predicted time when the hold began (approach)
	holdWhen map[string]time.Time
}

// NewPredictor returns a predictor with p (Validate it first).
func NewPredictor(p PredictParams) *Predictor {
	return &Predictor{p: p, flows: map[string]*flowTrend{}, limits: map[string]*limitState{}, creds: map[string]*credState{},
		stores: map[string]*storeState{}, bounds: map[string]float64{}, active: map[string]*Prediction{}, missing: map[string]int{},
		holding: map[string]time.Time{}, holdWhen: map[string]time.Time{}}
}

// Params returns the predictor's parameters.
func (pr *Predictor) Params() PredictParams { return pr.p }

// SetLatencyBound sets the latency (ms) that counts as failing for flows
// matching glob (a step timeout, an SLO); other flows use latency_factor
// times their usual p95.
func (pr *Predictor) SetLatencyBound(glob string, ms float64) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if ms > 0 && len(pr.bounds) < maxPredictSubjects {
		pr.bounds[glob] = ms
	}
}

// --- flows: error-rate and latency trends ---

type flowBucket struct {
	n, failed int
	lat       []float64 // samples while open; nil once closed
	seen      int
	p95       float64    // once closed (NaN: no run)
	logSum    float64    // sum of log(ms) of every run (exact: not sampled)
	top       [2]float64 // the two largest latencies of every run (exact), largest first
}

type flowTrend struct {
	start  time.Time // of the open bucket
	open   flowBucket
	closed []flowBucket // oldest first, at most Trend.Window × the largest scale
	base   float64      // EW mean of log p95 (the usual latency)
	baseN  int
	// The usual error rate: exponentially weighted sums of failed runs
	// and runs over the closed buckets (the same memory as base).
	baseFailed, baseRuns float64
	lastRun              time.Time
}

// ObserveRun records a finished run of flow (dur: its duration).
func (pr *Predictor) ObserveRun(flow string, at time.Time, failed bool, dur time.Duration) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	res := time.Duration(pr.p.Trend.Resolution)
	f := pr.flows[flow]
	if f == nil {
		if len(pr.flows) >= maxPredictSubjects {
			return
		}
		f = &flowTrend{start: at.Truncate(res)}
		pr.flows[flow] = f
	}
	if at.Before(f.start) {
		return // older than the open bucket: already judged
	}
	pr.roll(f, at)
	b := &f.open
	b.n++
	if failed {
		b.failed++
	}
	ms := float64(dur.Microseconds()) / 1000
	b.logSum += math.Log(math.Max(ms, 0.001))
	switch {
	case ms > b.top[0]:
		b.top[0], b.top[1] = ms, b.top[0]
	case ms > b.top[1]:
		b.top[1] = ms
	}
	b.seen++
	if len(b.lat) < maxBucketLatencies {
		b.lat = append(b.lat, ms)
	} else {
		// Keep a spread of the bucket's samples: overwrite in turn.
		b.lat[b.seen%maxBucketLatencies] = ms
	}
	f.lastRun = at
}

// roll closes the buckets that ended by now. Called with pr.mu held.
func (pr *Predictor) roll(f *flowTrend, now time.Time) {
	res := time.Duration(pr.p.Trend.Resolution)
	w := pr.p.Trend.Window * pr.maxScale()
	for steps := 0; !f.start.Add(res).After(now); steps++ {
		if steps > w {
			// A long gap: the window holds nothing but empty buckets.
			f.closed = f.closed[:0]
			f.open = flowBucket{}
			f.start = now.Truncate(res)
			return
		}
		p95, ok := bucketP95(f.open)
		f.open.lat, f.open.p95 = nil, math.NaN()
		if ok {
			f.open.p95 = p95
			// The usual latency, learned slowly (about a day of buckets).
			l := math.Log(math.Max(p95, 0.001))
			if f.baseN == 0 {
				f.base = l
			} else {
				f.base += baseRate * (l - f.base)
			}
			f.baseN++
		}
		f.baseFailed = (1-baseRate)*f.baseFailed + float64(f.open.failed)
		f.baseRuns = (1-baseRate)*f.baseRuns + float64(f.open.n)
		f.closed = append(f.closed, f.open)
		if len(f.closed) > w {
			f.closed = f.closed[len(f.closed)-w:]
		}
		f.open = flowBucket{}
		f.start = f.start.Add(res)
	}
}

// baseRate is how fast a flow's usual level is learned, per bucket
// (about a day of one-minute buckets).
const baseRate = 0.002

func bucketP95(b flowBucket) (float64, bool) {
	if len(b.lat) == 0 {
		return 0, false
	}
	s := append([]float64(nil), b.lat...)
	sort.Float64s(s)
	return s[int(math.Ceil(0.95*float64(len(s))))-1], true
}

// Trend is a fitted trend: Theil–Sen slope (per second), the fitted level
// now, and the Mann–Kendall z.
type Trend struct {
	Slope, Level, Z float64
	N               int
	slopes          []float64 // the pairwise slopes, sorted (for Confidence)
	sd              float64   // sqrt of the Mann–Kendall variance of S
}

// Confidence is how surely the true slope is at least s: the largest z at
// which s is still at or below the lower end of the Theil–Sen slope's
// confidence interval (Sen 1968; Gilbert 1987, §16.5: the interval runs
// from the (N−C)/2-th to the (N+C)/2-th ordered pairwise slope, with
// C = z·sqrt(Var S)). Solving for z gives (N − 2·#{slopes below s}) /
// sqrt(Var S); a slope equal to s counts half. At s = 0 it is the
// Mann–Kendall z of the slopes' signs. Negative: s is more likely above
// the slope than below it.
func (t Trend) Confidence(s float64) float64 {
	if len(t.slopes) == 0 || t.sd <= 0 {
		return math.Inf(-1)
	}
	below := sort.SearchFloat64s(t.slopes, s)
	eq := sort.Search(len(t.slopes), func(i int) bool { return t.slopes[i] > s }) - below
	n := float64(len(t.slopes))
	return (n - 2*float64(below) - float64(eq)) / t.sd
}

// FitTrend fits xs (seconds) and ys: the Mann–Kendall z (no tie
// correction, which makes it conservative on tied values), the Theil–Sen
// slope, and the line's level at x = at. At most 512 points are used (the
// last ones); fewer than 3 give N < 3 and zeros.
func FitTrend(xs, ys []float64, at float64) Trend {
	n := min(len(xs), len(ys))
	if n > 512 {
		xs, ys, n = xs[n-512:n], ys[n-512:n], 512
	}
	if n < 3 {
		return Trend{N: n}
	}
	slopes := make([]float64, 0, n*(n-1)/2)
	s := 0.0
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			d := ys[j] - ys[i]
			switch {
			case d > 0:
				s++
			case d < 0:
				s--
			}
			if dx := xs[j] - xs[i]; dx > 0 {
				slopes = append(slopes, d/dx)
			}
		}
	}
	fn := float64(n)
	v := fn * (fn - 1) * (2*fn + 5) / 18
	z := 0.0
	switch {
	case s > 0:
		z = (s - 1) / math.Sqrt(v)
	case s < 0:
		z = (s + 1) / math.Sqrt(v)
	}
	slope := median(slopes) // sorts slopes
	res := make([]float64, n)
	for i := 0; i < n; i++ {
		res[i] = ys[i] - slope*xs[i]
	}
	return Trend{Slope: slope, Level: median(res) + slope*at, Z: z, N: n, slopes: slopes, sd: math.Sqrt(v)}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	m := len(v) / 2
	if len(v)%2 == 1 {
		return v[m]
	}
	return (v[m-1] + v[m]) / 2
}

// crossing is when a trend reaches thr, counted from at (0: it has; -1:
// it does not rise).
func crossing(t Trend, thr float64) time.Duration {
	if t.Level >= thr {
		return 0
	}
	if t.Slope <= 0 {
		return -1
	}
	secs := (thr - t.Level) / t.Slope
	if secs > 1e9 {
		return -1
	}
	return time.Duration(secs * float64(time.Second))
}

func (pr *Predictor) flowPredictions(now time.Time, out []Prediction) []Prediction {
	res := time.Duration(pr.p.Trend.Resolution)
	for name, f := range pr.flows {
		pr.roll(f, now)
		if len(f.closed) < pr.p.Trend.MinPoints {
			continue
		}
		bound, configured := pr.boundFor(name)
		if !configured && f.baseN >= pr.p.Trend.Window {
			bound = pr.p.LatencyFactor * math.Exp(f.base)
		}
		at := now.Sub(f.start).Seconds() // f.start: the end of the last closed bucket
		var best [2]*Prediction          // error rate, latency: the soonest over the scales
		// The rise's shape (riseSignals), on the first scale with enough
		// points, whichever scale's forecast is kept.
		var sig [2][]float64
		usualErr := 0.0
		if f.baseRuns > 0 {
			usualErr = f.baseFailed / f.baseRuns
		}
		for _, sc := range pr.p.Trend.Scales {
			xs, er, lx, lat, lm := flowPoints(f.closed, pr.p.Trend.Window, sc, res, pr.p.Trend.MinRuns, pr.p.Trend.LatencyRuns)
			span := time.Duration(pr.p.Trend.Window*sc) * res
			if len(xs) >= pr.p.Trend.MinPoints {
				t := FitTrend(xs, er, at)
				if sig[0] == nil {
					sig[0] = riseSignals(t, xs, er, usualErr, pr.p.ErrorRate)
				}
				if p, ok := pr.trendPrediction(t, xs, er, at, pr.p.ErrorRate, now, PredictErrorRate); ok && sooner(best[0], &p) {
					p.Kind, p.Subject = PredictErrorRate, name
					p.What = fmt.Sprintf("%s will be failing: error rate reaching %.0f%%", name, pr.p.ErrorRate*100)
					p.Why = fmt.Sprintf("error rate rising %.2f points an hour over the last %s (%d points, Mann–Kendall z %.1f), now about %.1f%%",
						t.Slope*3600*100, span, len(xs), t.Z, math.Max(0, t.Level)*100)
					best[0] = &p
				}
			}
			if bound <= 0 || len(lat) < pr.p.Trend.MinPoints {
				continue // no bound known yet (the usual latency is still being learned)
			}
			how := "configured"
			if !configured {
				how = fmt.Sprintf("%.1f× its usual p95 of %.0f ms", pr.p.LatencyFactor, math.Exp(f.base))
			}
			if pr.p.Trend.Latency == LatencyShift {
				ys := shiftPoints(lat, lm)
				t := FitTrend(lx, ys, at)
				if sig[1] == nil {
					sig[1] = riseSignals(t, lx, ys, f.base, math.Log(bound))
				}
				if p, ok := pr.trendPrediction(t, lx, ys, at, math.Log(bound), now, PredictLatency); ok && sooner(best[1], &p) {
					p.Kind, p.Subject = PredictLatency, name
					p.What = fmt.Sprintf("%s will be too slow: p95 latency reaching %.0f ms", name, bound)
					p.Evidence["level"], p.Evidence["threshold"] = math.Exp(t.Level), bound
					p.Evidence["slope_per_hour"] = math.Expm1(t.Slope*3600) * math.Exp(t.Level) // ms an hour, now
					p.Evidence["growth_per_hour"] = math.Expm1(t.Slope * 3600)
					p.Why = fmt.Sprintf("latency of every run rising %.0f%% an hour over the last %s (%d points, Mann–Kendall z %.1f), p95 now about %.0f ms; bound %s",
						math.Expm1(t.Slope*3600)*100, span, len(ys), t.Z, math.Exp(t.Level), how)
					best[1] = &p
				}
				continue
			}
			t := FitTrend(lx, lat, at)
			if sig[1] == nil {
				sig[1] = riseSignals(t, lx, lat, math.Exp(f.base), bound)
			}
			if p, ok := pr.trendPrediction(t, lx, lat, at, bound, now, PredictLatency); ok && sooner(best[1], &p) {
				p.Kind, p.Subject = PredictLatency, name
				p.What = fmt.Sprintf("%s will be too slow: p95 latency reaching %.0f ms", name, bound)
				p.Why = fmt.Sprintf("p95 latency rising %.0f ms an hour over the last %s (%d points, Mann–Kendall z %.1f), now about %.0f ms; bound %s",
					t.Slope*3600, span, len(lat), t.Z, t.Level, how)
				best[1] = &p
			}
		}
		for i, p := range best {
			if p != nil {
				if sig[i] != nil {
					p.Evidence["progress"], p.Evidence["deceleration"], p.Evidence["saturation"] = sig[i][0], sig[i][1], sig[i][2]
				}
				out = append(out, *p)
			}
		}
	}
	return out
}

// riseSignals are three readings of a rise's shape on one scale's points
// (xs, ys; t fitted on them, level now): its progress — how far the
// fitted level now is along the way from usual to thr (0: at the usual
// level, 1: at the bound) —, its deceleration (Deceleration) and its
// saturation (Saturation). The kinds' min_progress, max_deceleration and
// max_saturation gate on them.
func riseSignals(t Trend, xs, ys []float64, usual, thr float64) []float64 {
	progress := 1.0
	if thr > usual {
		progress = (t.Level - usual) / (thr - usual)
	}
	return []float64{progress, Deceleration(xs, ys), Saturation(xs, ys)}
}

// saturationMinTail is how many points a levelled-off tail must hold
// for Saturation to consider it.
const saturationMinTail = 3

// Saturation compares two models of a rise on xs, ys by their Gaussian
// likelihood ratio: a straight line, and a line that rises until some
// point c and is flat after it (y = a + b·min(x, c), b > 0, c one of the
// points with at least saturationMinTail points after it and a quarter of
// them before). It returns n·ln(RSS_line / RSS_levelled), the best c's:
// 0 when no levelled-off rise fits better than the line (a straight or
// accelerating rise), large when the newest points have flattened out
// (a rise approaching its peak). The line is the levelled model with c at
// the last point, so the statistic is never negative; it is 0 under 8
// points, and capped at 100 (an exact fit).
func Saturation(xs, ys []float64) float64 {
	n := min(len(xs), len(ys))
	if n < 8 {
		return 0
	}
	xs, ys = xs[:n], ys[:n]
	rssLine, _ := hingeRSS(xs, ys, math.Inf(1))
	if !(rssLine > 0) {
		return 0 // a perfect line (or NaN input): nothing to prefer
	}
	best := rssLine
	for i := n / 4; i < n-saturationMinTail; i++ {
		if rss, b := hingeRSS(xs, ys, xs[i]); b > 0 && rss < best {
			best = rss
		}
	}
	if best <= 0 {
		return 100
	}
	return math.Min(100, float64(n)*math.Log(rssLine/best))
}

// hingeRSS is the least-squares fit of y = a + b·min(x, c): its residual
// sum of squares and slope b (c = +Inf: the straight line).
func hingeRSS(xs, ys []float64, c float64) (rss, b float64) {
	n := float64(len(xs))
	var mx, my float64
	for i := range xs {
		mx += math.Min(xs[i], c)
		my += ys[i]
	}
	mx, my = mx/n, my/n
	var sxx, sxy float64
	for i := range xs {
		dx := math.Min(xs[i], c) - mx
		sxx += dx * dx
		sxy += dx * (ys[i] - my)
	}
	if sxx <= 0 {
		return math.Inf(1), 0
	}
	b = sxy / sxx
	a := my - b*mx
	for i := range xs {
		r := ys[i] - a - b*math.Min(xs[i], c)
		rss += r * r
	}
	return rss, b
}

// Deceleration is how surely the newest half of xs, ys rises more
// slowly than the older half: the one-sided z (Trend.Confidence, Sen's
// interval of the newer half's Theil–Sen slope) at which the newer
// half's slope is below the older half's. Positive: slowing down (a rise
// levelling off, or turning); negative: speeding up; 0 when a half has
// under 3 points.
func Deceleration(xs, ys []float64) float64 {
	n := min(len(xs), len(ys))
	if n < 6 {
		return 0
	}
	older := FitTrend(xs[:n/2], ys[:n/2], 0)
	newer := FitTrend(xs[n/2:n], ys[n/2:n], 0)
	c := newer.Confidence(older.Slope)
	if math.IsInf(c, 0) || math.IsNaN(c) {
		return 0
	}
	return -c
}

// shiftPoints are the latency points of trend.latency "shift": each
// point's mean log latency (lm) plus the p95's usual distance from it in
// log ms (the median over the points of log p95 − mean log), so that the
// level is the log p95 and the slope the whole distribution's.
func shiftPoints(p95s, lm []float64) []float64 {
	d := make([]float64, len(lm))
	for i := range lm {
		d[i] = math.Log(math.Max(p95s[i], 0.001)) - lm[i]
	}
	r := median(d)
	ys := make([]float64, len(lm))
	for i, v := range lm {
		ys[i] = v + r
	}
	return ys
}

// flowPoints are the points a trend is fitted on at scale sc: the last
// window*sc buckets in groups of sc (x: seconds before the end). Error-rate
// points merge groups until each holds minRuns runs (a rate of one or two
// runs is 0 or 1, not a rate); a latency point is the median of its
// group's bucket p95s, and lm its mean log latency over every run of the
// group. With latRuns > 0, latency points merge groups until each holds
// latRuns runs too, and a point's p95 is its pooled runs' (pooledP95).
func flowPoints(closed []flowBucket, window, sc int, res time.Duration, minRuns, latRuns int) (xs, er, lx, lat, lm []float64) {
	from := max(0, len(closed)-window*sc)
	var mn, mf int
	var mx float64
	var p95s []float64
	var pool []flowBucket // latRuns: the buckets of the latency point being merged
	var pn int
	var px, plog float64
	// Groups aligned on the newest bucket.
	first := len(closed) - ((len(closed)-from)/sc)*sc
	for g := first; g+sc <= len(closed); g += sc {
		n, failed, ln := 0, 0, 0
		logSum := 0.0
		p95s = p95s[:0]
		for _, b := range closed[g : g+sc] {
			n += b.n
			failed += b.failed
			if b.n > 0 && !math.IsNaN(b.p95) {
				p95s = append(p95s, b.p95)
				ln += b.n
				logSum += b.logSum
			}
		}
		x := -(float64(len(closed)-g) - float64(sc)/2) * res.Seconds()
		if n > 0 {
			mn, mf, mx = mn+n, mf+failed, mx+x*float64(n)
			if mn >= minRuns {
				xs = append(xs, mx/float64(mn))
				er = append(er, float64(mf)/float64(mn))
				mn, mf, mx = 0, 0, 0
			}
		}
		if latRuns > 0 {
			for _, b := range closed[g : g+sc] {
				if b.n > 0 && !math.IsNaN(b.p95) {
					pool = append(pool, b)
				}
			}
			pn, px, plog = pn+ln, px+x*float64(ln), plog+logSum
			if pn >= latRuns {
				lx = append(lx, px/float64(pn))
				lat = append(lat, pooledP95(pool))
				lm = append(lm, plog/float64(pn))
				pool, pn, px, plog = pool[:0], 0, 0, 0
			}
			continue
		}
		if len(p95s) > 0 {
			lx = append(lx, x)
			lat = append(lat, median(p95s))
			lm = append(lm, logSum/float64(ln))
		}
	}
	return xs, er, lx, lat, lm
}

// pooledP95 is the p95 of the runs of bs taken together: the
// ceil(0.95·m)-th of their m latencies, which for m under 40 is the
// largest (m < 20) or the second largest — read from each bucket's two
// largest; from 40 runs on, the median of the buckets' p95s.
func pooledP95(bs []flowBucket) float64 {
	m := 0
	for _, b := range bs {
		m += b.n
	}
	if m >= 40 {
		p := make([]float64, 0, len(bs))
		for _, b := range bs {
			p = append(p, b.p95)
		}
		return median(p)
	}
	k := m - int(math.Ceil(0.95*float64(m))) // 0: the largest, 1: the second
	var top []float64
	for _, b := range bs {
		top = append(top, b.top[0])
		if b.n > 1 {
			top = append(top, b.top[1])
		}
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(top)))
	return top[min(k, len(top)-1)]
}

func (pr *Predictor) maxScale() int {
	m := 1
	for _, s := range pr.p.Trend.Scales {
		m = max(m, s)
	}
	return m
}

func (pr *Predictor) boundFor(flow string) (float64, bool) {
	best := 0.0
	for g, ms := range pr.bounds {
		if ok, _ := path.Match(g, flow); ok && (best == 0 || ms < best) {
			best = ms
		}
	}
	return best, best > 0
}

// trendPrediction is the forecast of t (fitted on xs, ys, level at at)
// reaching thr, when it stands. Its evidence holds "confidence" (of the
// whole window) and "confidence_recent" (the least of that and the newest
// half's: both halves agreeing).
func (pr *Predictor) trendPrediction(t Trend, xs, ys []float64, at, thr float64, now time.Time, kind string) (Prediction, bool) {
	if t.Z < pr.p.Trend.MinZ || t.Slope <= 0 || t.Level >= thr {
		// No trend, or the level is there already: that is for the
		// alert rules to judge, not a forecast.
		return Prediction{}, false
	}
	eta := crossing(t, thr)
	h := time.Duration(pr.p.Trend.Horizon)
	if eta < 0 || eta > h {
		return Prediction{}, false
	}
	// How surely the slope is steep enough to cross within the horizon.
	kp := pr.p.kind(kind)
	conf := t.Confidence((thr - t.Level) / h.Seconds())
	if conf < kp.Confidence {
		return Prediction{}, false
	}
	recent := math.Min(conf, recentConfidence(xs, ys, at, thr, h))
	if kp.Recent && recent < kp.Confidence {
		return Prediction{}, false
	}
	return Prediction{When: now.Add(eta), Evidence: map[string]float64{"slope_per_hour": t.Slope * 3600, "z": t.Z, "level": t.Level, "threshold": thr,
		"points": float64(t.N), "confidence": conf, "confidence_recent": recent}}, true
}

// recentConfidence is how surely the newest half of xs, ys (fitted on
// its own, level at at) reaches thr within h: the confidence (Trend.
// Confidence) of the slope that needs. -Inf when the half is too short
// to tell (under 3 points); +Inf when its level is at thr already.
func recentConfidence(xs, ys []float64, at, thr float64, h time.Duration) float64 {
	n := min(len(xs), len(ys))
	if n < 6 {
		return math.Inf(-1)
	}
	t := FitTrend(xs[n/2:n], ys[n/2:n], at)
	if t.Level >= thr {
		return math.Inf(1)
	}
	return t.Confidence((thr - t.Level) / h.Seconds())
}

// sooner reports whether p is sooner than *best (or best is nil); the one
// kept carries the higher of the two confidences (of each sort).
func sooner(best, p *Prediction) bool {
	if best == nil {
		return true
	}
	keep, drop := best, p
	if p.When.Before(best.When) {
		keep, drop = p, best
	}
	for _, k := range []string{"confidence", "confidence_recent"} {
		keep.Evidence[k] = math.Max(keep.Evidence[k], drop.Evidence[k])
	}
	return keep == p
}

// --- rate-limit headroom ---

// RateLimit is what an upstream said of its limit in one response.
type RateLimit struct {
	Policy    string    // the policy's name, when the upstream names it
	Limit     float64   // calls allowed in the window (0: not given)
	Remaining float64   // calls left in the window
	Reset     time.Time // when the window resets (zero: not given)
	// Window: the window's length when the upstream gives it
	// (RateLimit-Policy w=); 0: not given.
	Window time.Duration
}

type sample struct {
	at time.Time
	v  float64
}

type limitState struct {
	limit   float64
	reset   time.Time
	samples []sample
	// sliding: the window slides (capacity comes back as old calls leave
	// it, not all at once): the reset moved on, twice, either before it
	// came or without the headroom coming back (slides counts those);
	// window: its length, as given or as the furthest reset seen ahead of
	// a response (a lower bound; some upstreams report when the oldest
	// call leaves, others when the newest does).
	sliding bool
	slides  int
	window  time.Duration
}

// ObserveRateLimit records the headroom a response of connection reported.
func (pr *Predictor) ObserveRateLimit(connection string, at time.Time, rl RateLimit) {
	if math.IsNaN(rl.Remaining) || rl.Remaining < 0 || math.IsInf(rl.Remaining, 0) {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	key := "connection:" + connection
	if rl.Policy != "" {
		key += "#" + rl.Policy
	}
	s := pr.limits[key]
	if s == nil {
		if len(pr.limits) >= maxPredictSubjects {
			return
		}
		s = &limitState{}
		pr.limits[key] = s
	}
	if n := len(s.samples); n > 0 {
		last := s.samples[n-1]
		if at.Before(last.at) {
			return
		}
		moved := !rl.Reset.IsZero() && !s.reset.IsZero() && rl.Reset.Sub(s.reset) > time.Second
		if moved && (s.reset.Sub(at) > time.Second || rl.Remaining <= last.v) {
			// The reset moved on while the one given before was still
			// ahead, or a fresh window brought no headroom back: twice,
			// and the window slides.
			if s.slides++; s.slides >= 2 {
				s.sliding = true
			}
		}
		if !s.sliding && (rl.Remaining > last.v || moved) {
			s.samples = s.samples[:0] // a new window
		}
	}
	s.window = max(s.window, rl.Window)
	if rl.Window <= 0 && !rl.Reset.IsZero() {
		s.window = max(s.window, rl.Reset.Sub(at))
	}
	s.limit, s.reset = rl.Limit, rl.Reset
	// The pace is fitted on the last pace_window, reaching further back
	// (at most the look-ahead) to hold min_points responses: an upstream
	// answered every few minutes (a long window, a slow caller) is still
	// forecast, on the responses there are.
	s.samples = appendSampleKeep(s.samples, sample{at, rl.Remaining}, time.Duration(pr.p.RateLimit.PaceWindow),
		pr.p.RateLimit.MinPoints, time.Duration(pr.p.RateLimit.Horizon), maxSamples)
}

// appendSample adds one sample, keeps the ones within window of it, and
// at most most (thinning the older half when full).
func appendSample(ss []sample, s sample, window time.Duration, most int) []sample {
	return appendSampleKeep(ss, s, window, 0, window, most)
}

// appendSampleKeep is appendSample keeping, besides, the newest keep
// samples (s included) that are within reach of s, when fewer than keep
// are within window.
func appendSampleKeep(ss []sample, s sample, window time.Duration, keep int, reach time.Duration, most int) []sample {
	cut := s.at.Add(-window)
	i := sort.Search(len(ss), func(i int) bool { return !ss[i].at.Before(cut) })
	if j := len(ss) - (keep - 1); keep > 1 && j < i {
		far := s.at.Add(-max(reach, window))
		i = max(j, sort.Search(len(ss), func(i int) bool { return !ss[i].at.Before(far) }))
	}
	ss = append(ss[:0], ss[i:]...)
	if len(ss) >= most {
		half := len(ss) / 2
		k := 0
		for j := 0; j < half; j += 2 {
			ss[k] = ss[j]
			k++
		}
		k += copy(ss[k:], ss[half:])
		ss = ss[:k]
	}
	return append(ss, s)
}

func (pr *Predictor) limitPredictions(now time.Time, out []Prediction) []Prediction {
	for key, s := range pr.limits {
		if len(s.samples) < pr.p.RateLimit.MinPoints {
			continue
		}
		last := s.samples[len(s.samples)-1]
		if !s.sliding && !s.reset.IsZero() && !now.Before(s.reset) {
			continue // the window has reset since
		}
		if last.v <= 0 {
			continue // exhausted already: the calls say so
		}
		xs := make([]float64, len(s.samples))
		ys := make([]float64, len(s.samples))
		for i, p := range s.samples {
			xs[i], ys[i] = p.at.Sub(now).Seconds(), -p.v // calls spent (negated headroom)
		}
		t := FitTrend(xs, ys, 0)
		pace := t.Slope // calls a second
		incr := pr.p.RateLimit.Pace == PaceIncrements
		var sigma2, se2 float64
		if incr {
			pace, sigma2, se2 = increments(s.samples)
		}
		if pace <= 0 {
			continue
		}
		// At this pace, spent from the last response on (responses may
		// be minutes apart).
		eta := max(0, last.at.Add(time.Duration(last.v/pace*float64(time.Second))).Sub(now))
		// The time there is: until the window resets (the headers say
		// when), at most the horizon.
		room := time.Duration(pr.p.RateLimit.Horizon)
		switch {
		case s.sliding && s.window >= time.Duration(pr.p.RateLimit.PaceWindow):
			// A sliding window: the pace is net of the calls leaving it,
			// and a rise in the pace spends the headroom for at most one
			// window's length before as many leave as come.
			room = min(room, s.window)
		case !s.sliding && !s.reset.IsZero() && s.reset.Sub(now) < room:
			room = s.reset.Sub(now)
		}
		if room <= 0 {
			continue
		}
		if eta > room {
			continue // the window resets first at this pace
		}
		// How surely the pace (its Theil–Sen interval: the variance of
		// the consumption) spends what is left before then.
		var conf float64
		if incr {
			conf = spendConfidence(last.v, pace, sigma2, se2, (room + now.Sub(last.at)).Seconds())
		} else {
			conf = t.Confidence(last.v / room.Seconds())
		}
		if conf < pr.p.kind(PredictRateLimit).Confidence {
			continue
		}
		ev := map[string]float64{"remaining": last.v, "pace_per_min": pace * 60, "confidence": conf}
		why := fmt.Sprintf("%.0f calls left", last.v)
		if s.limit > 0 {
			ev["limit"] = s.limit
			why += fmt.Sprintf(" of %.0f", s.limit)
		}
		span := max(time.Duration(pr.p.RateLimit.PaceWindow), now.Sub(s.samples[0].at)).Round(time.Minute)
		ev["pace_span_s"] = span.Seconds()
		why += fmt.Sprintf(", spent at %.1f a minute over the last %s", pace*60, span)
		switch {
		case s.sliding:
			ev["sliding"], ev["window_s"] = 1, s.window.Seconds()
			why += fmt.Sprintf(" net of the calls leaving its sliding window of %s or more", s.window.Round(time.Second))
		case !s.reset.IsZero():
			ev["reset_in_s"] = s.reset.Sub(now).Seconds()
			why += fmt.Sprintf("; the window resets at %s, after that", s.reset.UTC().Format(time.RFC3339))
		default:
			why += "; the upstream gave no reset time"
		}
		out = append(out, Prediction{Kind: PredictRateLimit, Subject: key, When: now.Add(eta), Evidence: ev, Why: why,
			What: fmt.Sprintf("%s will run out of its upstream rate limit (calls refused with 429)", key)})
	}
	return out
}

// increments reads samples of the headroom as the calls spent between
// responses, independent increments of a compound count: the pace (calls
// a second: spent over the span), sigma2 (the increments' variance per
// second, from their scatter around the pace) and se2 (the pace's
// variance: sigma2 over the span). Zeros when under two increments.
func increments(ss []sample) (pace, sigma2, se2 float64) {
	if len(ss) < 3 {
		return 0, 0, 0
	}
	span := ss[len(ss)-1].at.Sub(ss[0].at).Seconds()
	if span <= 0 {
		return 0, 0, 0
	}
	pace = (ss[0].v - ss[len(ss)-1].v) / span
	k := 0
	for i := 1; i < len(ss); i++ {
		dt := ss[i].at.Sub(ss[i-1].at).Seconds()
		if dt <= 0 {
			continue
		}
		d := ss[i-1].v - ss[i].v
		sigma2 += (d - pace*dt) * (d - pace*dt) / dt
		k++
	}
	if k < 2 {
		return 0, 0, 0
	}
	sigma2 /= float64(k - 1)
	return pace, sigma2, sigma2 / span
}

// spendConfidence is how surely left is spent within room seconds at
// pace: the forecast spend pace·room less left, in standard deviations
// of the forecast (the pace's own, se2·room², and the calls still to
// come, sigma2·room), capped at ±10.
func spendConfidence(left, pace, sigma2, se2, room float64) float64 {
	m := pace*room - left
	sd := math.Sqrt(se2*room*room + sigma2*room)
	if sd <= 0 || math.IsNaN(sd) {
		if m >= 0 {
			return 10
		}
		return -10
	}
	return math.Max(-10, math.Min(10, m/sd))
}

// --- credentials and certificates ---

type credState struct {
	what                string
	notBefore, notAfter time.Time
	renewedAt           []float64 // fraction of the lifetime left at each renewal seen
	failures            int
	lastErr             string
	// refreshed: its start was not given (an OAuth access token Weft
	// refreshes itself when it ends): only refresh failures predict it.
	refreshed bool
}

// ObserveExpiry records a credential or certificate of subject (e.g.
// connection:crm) and what it is ("oauth token", "tls certificate
// api.example.com") valid from notBefore until notAfter. A zero notBefore
// marks a credential Weft refreshes itself when it ends (an OAuth access
// token): its end is predicted only after refresh failures.
func (pr *Predictor) ObserveExpiry(subject, what string, at, notBefore, notAfter time.Time) {
	if notAfter.IsZero() {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	key := subject + "#" + what
	c := pr.creds[key]
	if c == nil {
		if len(pr.creds) >= maxPredictSubjects {
			return
		}
		c = &credState{what: what}
		pr.creds[key] = c
	}
	c.refreshed = notBefore.IsZero()
	if notBefore.IsZero() {
		notBefore = at
		if !c.notAfter.IsZero() && c.notAfter.Equal(notAfter) {
			notBefore = c.notBefore
		}
	}
	if !c.notAfter.IsZero() && notAfter.After(c.notAfter) {
		// Renewed: remember how much was left when it was.
		if life := c.notAfter.Sub(c.notBefore); life > 0 {
			left := math.Max(0, float64(c.notAfter.Sub(at))/float64(life))
			c.renewedAt = append(c.renewedAt, left)
			if len(c.renewedAt) > 16 {
				c.renewedAt = c.renewedAt[1:]
			}
		}
		c.failures, c.lastErr = 0, ""
	}
	if c.notAfter.IsZero() || !notAfter.Before(c.notAfter) {
		c.notBefore, c.notAfter = notBefore, notAfter
	}
}

// ObserveRefresh records an attempt to renew a credential of subject
// (nil err: it worked, which ObserveExpiry then shows).
func (pr *Predictor) ObserveRefresh(subject, what string, err error) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	c := pr.creds[subject+"#"+what]
	if c == nil {
		return // nothing known of its expiry
	}
	if err == nil {
		c.failures, c.lastErr = 0, ""
		return
	}
	c.failures++
	c.lastErr = err.Error()
	if len(c.lastErr) > 300 {
		c.lastErr = c.lastErr[:300] + "…"
	}
}

func (pr *Predictor) credPredictions(now time.Time, out []Prediction) []Prediction {
	for key, c := range pr.creds {
		left := c.notAfter.Sub(now)
		life := c.notAfter.Sub(c.notBefore)
		if left <= 0 || life <= 0 || left > time.Duration(pr.p.Expiry.Horizon) {
			continue
		}
		frac := float64(left) / float64(life)
		limit := pr.p.Expiry.LifetimeFraction
		earliest := -1.0
		for _, r := range c.renewedAt {
			if earliest < 0 || r < earliest {
				earliest = r
			}
		}
		if earliest >= 0 {
			limit = math.Min(limit, earliest*pr.p.Expiry.OverdueMargin)
		}
		failing := c.failures >= pr.p.Expiry.RefreshFailures
		if (frac > limit || c.refreshed) && !failing {
			continue
		}
		subject := key[:len(key)-len(c.what)-1]
		why := fmt.Sprintf("%s left of a %s lifetime (%.0f%%)", left.Round(time.Second), life.Round(time.Second), frac*100)
		if earliest >= 0 {
			why += fmt.Sprintf("; it was renewed with %.0f%% left at the latest before", earliest*100)
		}
		if failing {
			why += fmt.Sprintf("; %d refresh attempts in a row failed (last: %s)", c.failures, c.lastErr)
		}
		ev := map[string]float64{"left_s": left.Seconds(), "lifetime_s": life.Seconds(), "refresh_failures": float64(c.failures)}
		if earliest >= 0 {
			ev["renewed_left"] = earliest
		}
		out = append(out, Prediction{Kind: PredictExpiry, Subject: subject, When: c.notAfter, Why: why, Evidence: ev,
			What: fmt.Sprintf("%s of %s expires at %s; calls will fail from then", c.what, subject, c.notAfter.UTC().Format(time.RFC3339))})
	}
	return out
}

// --- storage growth ---

type storeState struct {
	bound   float64
	samples []sample
}

// ObserveStorage records a size (bytes, rows) of name ("database",
// "dlq") and its configured bound (0: none; then nothing is predicted).
func (pr *Predictor) ObserveStorage(name string, at time.Time, size, bound float64) {
	if math.IsNaN(size) || math.IsInf(size, 0) {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	key := "store:" + name
	s := pr.stores[key]
	if s == nil {
		if len(pr.stores) >= maxPredictSubjects {
			return
		}
		s = &storeState{}
		pr.stores[key] = s
	}
	if n := len(s.samples); n > 0 && at.Before(s.samples[n-1].at) {
		return
	}
	s.bound = bound
	s.samples = appendSample(s.samples, sample{at, size}, time.Duration(pr.p.Storage.Window), maxStorageSamples)
}

func (pr *Predictor) storePredictions(now time.Time, out []Prediction) []Prediction {
	for key, s := range pr.stores {
		if s.bound <= 0 || len(s.samples) < pr.p.Storage.MinPoints {
			continue
		}
		xs := make([]float64, len(s.samples))
		ys := make([]float64, len(s.samples))
		for i, p := range s.samples {
			xs[i], ys[i] = p.at.Sub(now).Seconds(), p.v
		}
		how := ""
		if px, py := peaks(xs, ys); px != nil {
			// Purged now and then (retention, a drained queue): what
			// grows, if anything, is the peaks.
			if len(px) < 3 {
				continue
			}
			xs, ys, how = px, py, fmt.Sprintf(" of its %d peaks between purges", len(px))
		}
		xs, ys = even(xs, 128), even(ys, 128)
		t := FitTrend(xs, ys, 0)
		last := s.samples[len(s.samples)-1].v
		if t.Z < pr.p.Storage.MinZ || t.Slope <= 0 || last >= s.bound {
			continue
		}
		t.Level = math.Min(t.Level, last) // never ahead of what was measured
		eta := crossing(t, s.bound)
		h := time.Duration(pr.p.Storage.Horizon)
		if eta < 0 || eta > h {
			continue
		}
		conf := t.Confidence((s.bound - t.Level) / h.Seconds())
		if conf < pr.p.kind(PredictStorage).Confidence {
			continue
		}
		out = append(out, Prediction{Kind: PredictStorage, Subject: key, When: now.Add(eta),
			What: fmt.Sprintf("%s will reach its bound of %.4g", key, s.bound),
			Why: fmt.Sprintf("%.4g now, growing %.4g an hour over the last %s%s (Mann–Kendall z %.1f)",
				last, t.Slope*3600, time.Duration(pr.p.Storage.Window), how, t.Z),
			Evidence: map[string]float64{"size": last, "bound": s.bound, "slope_per_hour": t.Slope * 3600, "z": t.Z, "confidence": conf}})
	}
	return out
}

// even keeps at most n of v, evenly spread, the last always.
func even(v []float64, n int) []float64 {
	if len(v) <= n {
		return v
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = v[len(v)-1-(n-1-i)*(len(v)-1)/(n-1)]
	}
	return out
}

// peaks splits a series at its drops — a fall far beyond the usual
// step-to-step change (over 6 robust deviations of the differences) — and
// returns each segment's highest point; nil when nothing dropped.
func peaks(xs, ys []float64) (px, py []float64) {
	if len(ys) < 3 {
		return nil, nil
	}
	d := make([]float64, len(ys)-1)
	for i := range d {
		d[i] = ys[i+1] - ys[i]
	}
	med := median(append([]float64(nil), d...))
	ad := make([]float64, len(d))
	for i, v := range d {
		ad[i] = math.Abs(v - med)
	}
	mad := 1.4826 * median(ad)
	if mad <= 0 {
		mad = 1e-12
	}
	bi := 0
	dropped := false
	for i, v := range d {
		if v-med < -6*mad {
			dropped = true
			px, py = append(px, xs[bi]), append(py, ys[bi])
			bi = i + 1
			continue
		}
		if ys[i+1] >= ys[bi] {
			bi = i + 1
		}
	}
	if !dropped {
		return nil, nil
	}
	return append(px, xs[bi]), append(py, ys[bi])
}

// --- evaluation ---

// Evaluate forecasts now: the predictions in force (each announced once
// its forecast has held over consecutive evaluations for its kind's
// persist, and kept until it has been absent clear_after evaluations in a
// row), the ones new this time and the ones withdrawn.
func (pr *Predictor) Evaluate(now time.Time) (active, fired, cleared []Prediction) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	var cur []Prediction
	cur = pr.flowPredictions(now, cur)
	cur = pr.limitPredictions(now, cur)
	cur = pr.credPredictions(now, cur)
	cur = pr.storePredictions(now, cur)
	return pr.settle(now, cur)
}

// settle applies the kinds' gates to the forecasts of now (cur): what
// Evaluate returns. Called with pr.mu held.
func (pr *Predictor) settle(now time.Time, cur []Prediction) (active, fired, cleared []Prediction) {
	seen := map[string]bool{}
	for _, p := range cur {
		if h := pr.p.kind(p.Kind).Horizon; h > 0 && p.When.Sub(now) > time.Duration(h) {
			continue // not near enough yet
		}
		if !pr.p.kind(p.Kind).shapeAllows(p.Evidence) {
			continue // not far enough along yet, or slowing down
		}
		k := p.Key()
		kp := pr.p.kind(p.Kind)
		if _, act := pr.active[k]; !act && kp.Approach {
			if w, ok := pr.holdWhen[k]; ok && p.When.Sub(w) > time.Duration(kp.ApproachSlack) {
				continue // receding while held: the hold starts again
			}
		}
		seen[k] = true
		delete(pr.missing, k)
		if old, ok := pr.active[k]; ok {
			p.Since = old.Since
			*old = p
			continue
		}
		first, ok := pr.holding[k]
		if !ok {
			first = now
			pr.holding[k], pr.holdWhen[k] = now, p.When
		}
		if now.Sub(first) < time.Duration(pr.p.kind(p.Kind).Persist) {
			continue // not held long enough yet
		}
		delete(pr.holding, k)
		delete(pr.holdWhen, k)
		p.Since = first
		cp := p
		pr.active[k] = &cp
		fired = append(fired, p)
	}
	for k := range pr.holding {
		if !seen[k] {
			delete(pr.holding, k) // broken off: start again
			delete(pr.holdWhen, k)
		}
	}
	for k, p := range pr.active {
		if seen[k] {
			continue
		}
		pr.missing[k]++
		if pr.missing[k] >= pr.p.Trend.ClearAfter || !p.When.After(now.Add(-time.Duration(pr.p.Trend.Resolution))) {
			cleared = append(cleared, *p)
			delete(pr.active, k)
			delete(pr.missing, k)
		}
	}
	for _, p := range pr.active {
		active = append(active, *p)
	}
	sortPredictions(active)
	sortPredictions(fired)
	sortPredictions(cleared)
	return active, fired, cleared
}

// Active lists the predictions in force after the last evaluation,
// soonest first.
func (pr *Predictor) Active() []Prediction {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	out := make([]Prediction, 0, len(pr.active))
	for _, p := range pr.active {
		out = append(out, *p)
	}
	sortPredictions(out)
	return out
}

func sortPredictions(ps []Prediction) {
	sort.Slice(ps, func(i, j int) bool {
		if !ps[i].When.Equal(ps[j].When) {
			return ps[i].When.Before(ps[j].When)
		}
		return ps[i].Key() < ps[j].Key()
	})
}

// predictionDesc is the /metrics series of the predictions in force.
var predictionDesc = prometheus.NewDesc("weft_prediction_seconds",
	"Predictions in force (error prediction): seconds from now until the predicted trouble, by kind (error_rate, latency, rate_limit, expiry, storage) and subject (a flow, connection:NAME, store:NAME); negative once the predicted time has passed.",
	[]string{"kind", "subject"}, nil)

// Describe implements prometheus.Collector.
func (pr *Predictor) Describe(ch chan<- *prometheus.Desc) { ch <- predictionDesc }

// Collect implements prometheus.Collector.
func (pr *Predictor) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	for _, p := range pr.Active() {
		ch <- prometheus.MustNewConstMetric(predictionDesc, prometheus.GaugeValue, p.When.Sub(now).Seconds(), p.Kind, p.Subject)
	}
}
