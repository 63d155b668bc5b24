package monitor

import (
	"math"
	"testing"
	"time"
)

// FuzzDetector: any sequence of times and values (NaN, ±Inf, huge,
// negative, out of order) scores within [0, 1], never NaN, never a panic.
//
//	go test ./monitor -run '^$' -fuzz FuzzDetector -fuzztime 60s
func FuzzDetector(f *testing.F) {
	f.Add([]byte{1, 2, 3, 250, 0, 0, 7}, int64(300))
	f.Add([]byte{0, 0, 0, 0}, int64(-5))
	f.Fuzz(func(t *testing.T, data []byte, step int64) {
		d := NewDetector(Config{})
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i+1 < len(data); i += 2 {
			v := float64(int8(data[i])) * math.Pow(10, float64(data[i+1]%12))
			switch data[i+1] % 17 {
			case 3:
				v = math.NaN()
			case 5:
				v = math.Inf(1)
			case 7:
				v = math.Inf(-1)
			}
			at := t0.Add(time.Duration(int64(i)*step) * time.Second)
			o := d.Observe(at, v)
			if math.IsNaN(o.Score) || o.Score < 0 || o.Score > 1 {
				t.Fatalf("score %v at %d (v=%v)", o.Score, i, v)
			}
		}
	})
}

// FuzzShape: the shape detector with a short warm-up, so a fuzzed input
// reaches its network: any finite values (huge, tiny, negative, constant,
// jumping across the float range) score within [0, 1], never a panic.
//
//	go test ./monitor -run '^$' -fuzz FuzzShape -fuzztime 60s
func FuzzShape(f *testing.F) {
	f.Add([]byte{1, 2, 3, 250, 0, 0, 7, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 200, 200, 1, 1})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{127, 255, 128, 255, 127, 255, 128, 255, 127, 255, 128, 255, 127, 255, 128, 255, 127, 255, 128, 255, 127, 255, 128, 255, 127, 255, 128, 255, 127, 255, 128, 255, 127, 255, 128, 255, 127, 255, 128, 255, 127, 255, 128, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 2048 {
			data = data[:2048] // longer inputs only take longer
		}
		s := newShape(16)
		for rep := 0; rep < 4; rep++ {
			for i := 0; i+1 < len(data); i += 2 {
				v := float64(int8(data[i])) * math.Pow(10, float64(int(data[i+1])*616/255-308))
				if math.IsInf(v, 0) || math.IsNaN(v) {
					continue // the Detector never passes these on
				}
				if sc := s.observe(v); math.IsNaN(sc) || sc < 0 || sc > 1 {
					t.Fatalf("score %v (v=%v)", sc, v)
				}
			}
		}
	})
}
