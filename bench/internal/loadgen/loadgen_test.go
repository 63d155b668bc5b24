package loadgen

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestWindowCountsCallsAndLatencies(t *testing.T) {
	var calls atomic.Int64
	var lat []time.Duration
	n, err := Window(3, 300*time.Millisecond, &lat, func() error {
		calls.Add(1)
		time.Sleep(time.Millisecond)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != calls.Load() || int64(len(lat)) != n {
		t.Fatalf("n=%d calls=%d latencies=%d: want all equal and > 0", n, calls.Load(), len(lat))
	}
	for _, d := range lat {
		if d < time.Millisecond {
			t.Fatalf("latency %s below the call's 1ms sleep", d)
		}
	}
}

func TestWindowStopsACallerAtItsFirstError(t *testing.T) {
	boom := errors.New("boom")
	var calls atomic.Int64
	n, err := Window(2, 2*time.Second, nil, func() error {
		calls.Add(1)
		return boom
	})
	if !errors.Is(err, boom) || n != 0 || calls.Load() != 2 {
		t.Fatalf("n=%d err=%v calls=%d: want 0, boom, one call per caller", n, err, calls.Load())
	}
}
