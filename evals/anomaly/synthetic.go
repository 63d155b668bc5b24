package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"time"

	"github.com/weftio/weft/internal/randx"
	"github.com/weftio/weft/monitor"
)

// labelled is one generated transaction-log series with its anomaly
// windows (rows) and what happened.
type labelled struct {
	name    string // category/file.csv
	pts     []monitor.Point
	windows [][2]int
	what    string
}

// traffic models what a flow's transaction log looks like minute by
// minute: runs per minute with a daily (business hours) and weekly
// (quiet weekends) profile, an error probability, and a latency
// distribution.
type traffic struct {
	rate    float64 // mean runs a minute at the daily peak
	weekend float64 // weekend factor
	errP    float64 // failure probability
	latMS   float64 // median latency
	latSpr  float64 // log-normal spread
}

func (t traffic) load(at time.Time) float64 {
	h := float64(at.Hour()) + float64(at.Minute())/60
	day := 0.15 + 0.85*math.Exp(-math.Pow((h-13)/4, 2)) // business hours around 13:00
	if wd := at.Weekday(); wd == time.Saturday || wd == time.Sunday {
		day *= t.weekend
	}
	return t.rate * day
}

// anomaly kinds.
const (
	aNone = iota
	aOutage
	aSurge
	aSilent
	aCreep
	aShift
	aBurst
	aSpike
)

// scenario: which metric of which traffic, and what goes wrong when.
type scenario struct {
	name    string
	metric  string // runs | failures (a minute) | error_rate | p95_ms | payload_kb
	tr      traffic
	anomaly int
	at      float64 // fraction of the series where it starts
	length  int     // minutes it lasts (0: to the end)
}

var scenarios = []scenario{
	{"throughput_outage", "runs", traffic{rate: 40, weekend: 0.3}, aOutage, 0.62, 45},
	{"throughput_surge_agent", "runs", traffic{rate: 25, weekend: 0.4}, aSurge, 0.7, 30},
	{"throughput_went_silent", "runs", traffic{rate: 12, weekend: 0.5}, aSilent, 0.75, 0},
	{"latency_gradual_degradation", "p95_ms", traffic{rate: 30, weekend: 0.5, latMS: 120, latSpr: 0.35}, aCreep, 0.6, 600},
	{"latency_level_shift", "p95_ms", traffic{rate: 30, weekend: 0.5, latMS: 200, latSpr: 0.3}, aShift, 0.55, 0},
	{"errors_burst_high_volume", "error_rate", traffic{rate: 150, weekend: 0.5, errP: 0.01}, aBurst, 0.65, 20},
	{"errors_burst_low_volume", "failures", traffic{rate: 3, weekend: 0.5, errP: 0.03}, aBurst, 0.58, 25},
	{"throughput_spike", "runs", traffic{rate: 20, weekend: 0.5}, aSpike, 0.8, 3},
	{"payload_size_shift", "payload_kb", traffic{rate: 20, weekend: 0.5}, aShift, 0.5, 0},
	{"noisy_low_volume_normal", "failures", traffic{rate: 1.5, weekend: 0.6, errP: 0.05}, aNone, 0, 0},
	{"seasonal_throughput_normal", "runs", traffic{rate: 60, weekend: 0.25}, aNone, 0, 0},
	{"latency_normal", "p95_ms", traffic{rate: 20, weekend: 0.5, latMS: 90, latSpr: 0.4}, aNone, 0, 0},
}

// synthetic generates 3 series per scenario (36), three weeks at one
// point a minute (so weekly rhythms can be learned), each from its own
// seed. Anomalies come in the third week; an outage or a flow going
// silent starts at 10:00 on a working day, when the flow normally runs.
func synthetic() []labelled {
	var out []labelled
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday
	const n = 21 * 24 * 60
	for si, sc := range scenarios {
		for rep := 0; rep < 3; rep++ {
			r := rand.New(rand.NewSource(int64(1000*si + rep + 1)))
			// Vary each replica: its start day, level and when it breaks.
			offset := time.Duration(rep*2) * 24 * time.Hour
			tr := sc.tr
			tr.rate *= 0.7 + 0.3*float64(rep)
			// The scenario's position (0.45-0.85) placed in the third week,
			// from day 14.5 to day 20.
			f := sc.at + 0.05*float64(rep-1)
			at := int((14.5 + (f-0.45)/0.40*5.5) * 24 * 60)
			if sc.anomaly == aOutage || sc.anomaly == aSilent {
				for t := start.Add(offset + time.Duration(at)*time.Minute); ; t = t.Add(time.Minute) {
					if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday && t.Hour() == 10 && t.Minute() == 0 {
						at = int(t.Sub(start.Add(offset)) / time.Minute)
						break
					}
				}
			}
			pts := make([]monitor.Point, n)
			creep := 1.0
			for i := 0; i < n; i++ {
				t := start.Add(offset + time.Duration(i)*time.Minute)
				in := sc.anomaly != aNone && i >= at && (sc.length == 0 || i < at+sc.length)
				load := tr.load(t)
				errP := tr.errP
				lat := tr.latMS
				switch {
				case in && sc.anomaly == aOutage, in && sc.anomaly == aSilent:
					load = 0
				case in && sc.anomaly == aSurge:
					load *= 3.5
				case in && sc.anomaly == aSpike:
					load *= 6
				case in && sc.anomaly == aBurst:
					errP = math.Min(0.9, tr.errP*15+0.2)
				case in && sc.anomaly == aCreep:
					creep = 1 + 2.5*float64(i-at)/float64(sc.length)
				case in && sc.anomaly == aShift:
					creep = 1.8
				}
				if sc.anomaly == aCreep && i >= at+sc.length {
					creep = 3.5 // stays degraded
				}
				runs := randx.Poisson(r, load)
				var v float64
				switch sc.metric {
				case "runs":
					v = float64(runs)
				case "failures":
					for k := 0; k < runs; k++ {
						if r.Float64() < errP {
							v++
						}
					}
				case "error_rate":
					fails := 0
					for k := 0; k < runs; k++ {
						if r.Float64() < errP {
							fails++
						}
					}
					if runs > 0 {
						v = float64(fails) / float64(runs)
					}
				case "p95_ms":
					// p95 of this minute's runs (at least 5 samples drawn).
					m := max(runs, 5)
					xs := make([]float64, m)
					for k := range xs {
						xs[k] = lat * creep * math.Exp(tr.latSpr*r.NormFloat64())
					}
					v = quantile(xs, 0.95)
				case "payload_kb":
					v = 4 * creep * math.Exp(0.2*r.NormFloat64())
				}
				pts[i] = monitor.Point{T: t, V: math.Round(v*1000) / 1000}
			}
			s := labelled{name: fmt.Sprintf("synthetic%s/%s_%d.csv", sc.metric, sc.name, rep+1), pts: pts, what: sc.name}
			if sc.anomaly != aNone {
				// NAB-style window: 10% of the series, centred on the start.
				half := n / 20
				s.windows = [][2]int{{max(0, at-half), min(n-1, at+half)}}
			}
			out = append(out, s)
		}
	}
	return out
}

func quantile(xs []float64, q float64) float64 {
	s := append([]float64(nil), xs...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[int(math.Ceil(q*float64(len(s))))-1]
}

// writeNAB writes the set in NAB's layout (data/, labels/).
func writeNAB(dir string, set []labelled) error {
	windows := map[string][][2]string{}
	for _, s := range set {
		p := filepath.Join(dir, "data", filepath.FromSlash(s.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		fmt.Fprintln(f, "timestamp,value")
		for _, pt := range s.pts {
			fmt.Fprintf(f, "%s,%g\n", pt.T.Format("2006-01-02 15:04:05"), pt.V)
		}
		if err := f.Close(); err != nil {
			return err
		}
		ws := [][2]string{}
		for _, w := range s.windows {
			ws = append(ws, [2]string{s.pts[w[0]].T.Format("2006-01-02 15:04:05.000000"), s.pts[w[1]].T.Format("2006-01-02 15:04:05.000000")})
		}
		windows[s.name] = ws
	}
	if err := os.MkdirAll(filepath.Join(dir, "labels"), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(windows, "", "  ")
	return os.WriteFile(filepath.Join(dir, "labels", "combined_windows.json"), b, 0o644)
}
