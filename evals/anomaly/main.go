// Command anomaly scores Weft's streaming detectors on NAB-layout data with
// NAB's scoring (evals/anomaly/nab): each series is replayed through the
// same detector code path that watches live metrics (monitor.Replay), with
// one configuration for every series, next to a static-threshold baseline
// measured in the same run.
//
// A second set, generated here, models transaction-log series (runs a
// minute, error rate, p95 latency, payload size with daily and weekly
// seasonality) with labelled outages, surges, silent flows, gradual
// degradation, level shifts and error bursts on high- and low-volume
// flows, scored the same way.
//
//	go run ./evals/anomaly [-data ../shared/data/nab-dev] [-write-synthetic DIR]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/weftio/weft/evals/anomaly/nab"
	"github.com/weftio/weft/monitor"
)

func main() {
	data := flag.String("data", defaultData(), "NAB layout: data/<category>/<file>.csv and labels/combined_windows.json")
	write := flag.String("write-synthetic", "", "also write the generated transaction-log set in NAB's layout here")
	perFile := flag.Bool("files", false, "also list, per NAB series, the windows found and the false alarms at the standard profile's threshold")
	warmup := flag.Int("warmup", 0, "the shape detector's warm-up in observations (0: NAB's probationary period for each series, what NAB's runner gives every detector)")
	flag.Parse()
	cfg := monitor.Config{ShapeWarmup: *warmup}
	set := synthetic()
	if *write != "" {
		if err := writeNAB(*write, set); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	defer func() {
		var weft, base []nab.Series
		windows := 0
		for _, s := range set {
			weft = append(weft, nab.Series{Name: s.name, Scores: monitor.Replay(s.pts, cfg), Windows: s.windows})
			base = append(base, nab.Series{Name: s.name, Scores: staticThreshold(s.pts), Windows: s.windows})
			windows += len(s.windows)
		}
		fmt.Printf("\n# generated transaction-log series: %d series, %d labelled windows (outage, surge, silent, gradual degradation, shifts, error bursts; 12 normal)\n", len(set), windows)
		fmt.Printf("%-22s %10s %10s\n", "profile", "weft", "baseline")
		for _, p := range nab.Profiles {
			w, b := nab.Score(weft, p), nab.Score(base, p)
			fmt.Printf("%-22s %10.1f %10.1f   (weft threshold %.3f)\n", p.Name, w.Normalized, b.Normalized, w.Threshold)
		}
	}()
	windows := map[string][][2]string{}
	raw, err := os.ReadFile(filepath.Join(*data, "labels", "combined_windows.json"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "anomaly eval: NAB data not scored: %v (set -data to a NAB-layout directory, e.g. ../shared/data/nab-dev)\n", err)
		return
	}
	if err := json.Unmarshal(raw, &windows); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	files, _ := filepath.Glob(filepath.Join(*data, "data", "*", "*.csv"))
	sort.Strings(files)
	var weft, base, fixed []nab.Series
	for _, f := range files {
		rel, _ := filepath.Rel(filepath.Join(*data, "data"), f)
		fh, err := os.Open(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pts, err := monitor.ReadSeries(fh)
		fh.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, f, err)
			os.Exit(1)
		}
		ws := rowWindows(pts, windows[filepath.ToSlash(rel)])
		weft = append(weft, nab.Series{Name: rel, Scores: monitor.Replay(pts, cfg), Windows: ws})
		if *warmup == 0 {
			fixed = append(fixed, nab.Series{Name: rel, Scores: monitor.Replay(pts, monitor.Config{ShapeWarmup: monitor.DefaultShapeWarmup}), Windows: ws})
		}
		base = append(base, nab.Series{Name: rel, Scores: staticThreshold(pts), Windows: ws})
	}
	how := "NAB's probationary period"
	if *warmup > 0 {
		how = fmt.Sprintf("%d observations", *warmup)
	}
	fmt.Printf("# NAB scoring, %d series from %s; shape warm-up: %s; range learned online\n", len(files), *data, how)
	fmt.Printf("%-22s %10s %10s\n", "profile", "weft", "baseline")
	for _, p := range nab.Profiles {
		w, b := nab.Score(weft, p), nab.Score(base, p)
		fmt.Printf("%-22s %10.1f %10.1f   (weft threshold %.3f)\n", p.Name, w.Normalized, b.Normalized, w.Threshold)
	}
	if len(fixed) > 0 {
		fmt.Printf("\n# the same, shape warm-up fixed at %d observations (the live default: nothing known of the file)\n", monitor.DefaultShapeWarmup)
		fmt.Printf("%-22s %10s %10s\n", "profile", "weft", "baseline")
		for _, p := range nab.Profiles {
			w, b := nab.Score(fixed, p), nab.Score(base, p)
			fmt.Printf("%-22s %10.1f %10.1f   (weft threshold %.3f)\n", p.Name, w.Normalized, b.Normalized, w.Threshold)
		}
	}
	if *perFile {
		th := nab.Score(weft, nab.Profiles[0]).Threshold
		fmt.Printf("\n%-55s %8s %4s\n", "series (standard threshold)", "found", "FP")
		for _, s := range weft {
			found, fp := nab.Detections(s, th)
			a, b, c := nab.Parts(s, nab.Profiles[0], th)
			fmt.Printf("%-55s %4d/%-3d %4d   tp %5.2f fn %5.2f fp %6.2f\n", s.Name, found, len(s.Windows), fp, a, b, c)
		}
	}
}

func defaultData() string {
	for _, d := range []string{"../shared/data/nab-dev", "/work/shared/data/nab-dev"} {
		if _, err := os.Stat(d); err == nil {
			return d
		}
	}
	return "../shared/data/nab-dev"
}

// rowWindows maps labelled windows (timestamps) to row ranges.
func rowWindows(pts []monitor.Point, ws [][2]string) [][2]int {
	var out [][2]int
	for _, w := range ws {
		s, e := strings.TrimSuffix(w[0], ".000000"), strings.TrimSuffix(w[1], ".000000")
		lo, hi := -1, -1
		for i, p := range pts {
			ts := p.T.Format("2006-01-02 15:04:05")
			if lo < 0 && ts >= s {
				lo = i
			}
			if ts <= e {
				hi = i
			}
		}
		if lo >= 0 && hi >= lo {
			out = append(out, [2]int{lo, hi})
		}
	}
	return out
}

// staticThreshold is the baseline: a fixed band around the probationary
// period's mean; the score is the distance in standard deviations (/10),
// so the sweep picks the best static band (k·σ) for all series.
func staticThreshold(pts []monitor.Point) []float64 {
	n := nab.ProbationaryRows(len(pts))
	var sum, sq float64
	c := 0
	for _, p := range pts[:n] {
		if !math.IsNaN(p.V) {
			sum += p.V
			sq += p.V * p.V
			c++
		}
	}
	mean := sum / math.Max(1, float64(c))
	sd := math.Sqrt(math.Max(0, sq/math.Max(1, float64(c))-mean*mean))
	out := make([]float64, len(pts))
	for i, p := range pts {
		if sd > 0 && !math.IsNaN(p.V) {
			out[i] = math.Min(1, math.Abs(p.V-mean)/sd/10)
		}
	}
	return out
}
