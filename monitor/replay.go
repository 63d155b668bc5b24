package monitor

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Point is one timestamped value.
type Point struct {
	T time.Time
	V float64
}

var layouts = []string{"2006-01-02 15:04:05", time.RFC3339, "2006-01-02 15:04:05.000000", "2006-01-02T15:04:05"}

func parseTime(s string) (time.Time, error) {
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp %q is not in a known layout", s)
}

// ReadSeries reads NAB's layout: a "timestamp,value" header then rows.
// Unparseable values are kept as NaN (the detector skips them).
func ReadSeries(r io.Reader) ([]Point, error) {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("no header: %v", err)
	}
	if len(head) < 2 || strings.TrimSpace(head[0]) != "timestamp" {
		return nil, fmt.Errorf("header must be timestamp,value (got %v)", head)
	}
	var out []Point
	for line := 2; ; line++ {
		row, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		t, err := parseTime(strings.TrimSpace(row[0]))
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(row[1]), 64)
		if err != nil {
			v = nan()
		}
		out = append(out, Point{t, v})
	}
}

func nan() float64 { return math.NaN() }

// Replay runs a fresh detector over a series in order, the same code path
// as live metrics, and returns one score per point. A zero
// cfg.ShapeWarmup means NAB's probationary period for the series' length
// (what NAB's runner tells every detector); the range is never given: it
// is learned as the series goes.
func Replay(pts []Point, cfg Config) []float64 {
	if cfg.ShapeWarmup <= 0 {
		cfg.ShapeWarmup = NABWarmup(len(pts))
	}
	d := NewDetector(cfg)
	out := make([]float64, len(pts))
	for i, p := range pts {
		out[i] = d.Observe(p.T, p.V).Score
	}
	return out
}

// ReplayDir reads every <category>/<file>.csv under in and writes NAB's
// results layout under out: timestamp,value,anomaly_score.
func ReplayDir(in, out string, cfg Config) (int, error) {
	files, err := filepath.Glob(filepath.Join(in, "*", "*.csv"))
	if err != nil {
		return 0, err
	}
	sort.Strings(files)
	if len(files) == 0 {
		return 0, fmt.Errorf("no <category>/<file>.csv under %s", in)
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return 0, err
		}
		pts, err := ReadSeries(fh)
		fh.Close()
		if err != nil {
			return 0, fmt.Errorf("%s: %v", f, err)
		}
		scores := Replay(pts, cfg)
		rel, _ := filepath.Rel(in, f)
		dst := filepath.Join(out, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return 0, err
		}
		var b strings.Builder
		b.WriteString("timestamp,value,anomaly_score\n")
		for i, p := range pts {
			fmt.Fprintf(&b, "%s,%s,%s\n", p.T.Format("2006-01-02 15:04:05"), strconv.FormatFloat(p.V, 'f', -1, 64), strconv.FormatFloat(scores[i], 'f', 6, 64))
		}
		if err := os.WriteFile(dst, []byte(b.String()), 0o644); err != nil {
			return 0, err
		}
	}
	return len(files), nil
}
