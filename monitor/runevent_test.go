package monitor

import (
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/uuid"
	"github.com/weftio/weft/store"
)

// A run id comes back as it went in, whatever its form; when it is a
// canonical UUID it is held without a string.
func TestRunEventKeepsTheRunID(t *testing.T) {
	at := time.Date(2026, 12, 4, 18, 0, 0, 123456789, time.UTC)
	v7 := uuid.Must(uuid.NewV7()).String()
	for _, id := range []string{v7, strings.ToUpper(v7), "{" + v7 + "}", strings.ReplaceAll(v7, "-", ""),
		uuid.Nil.String(), "", "run-42", "00000000-0000-0000-0000-00000000000g"} {
		e := newRunEvent(at, true, id, 3*time.Millisecond)
		if e.id() != id || !e.at().Equal(at) || !e.failed || e.dur != 3*time.Millisecond {
			t.Errorf("%q: got id %q at %v failed %v dur %v", id, e.id(), e.at(), e.failed, e.dur)
		}
		if wantRaw := id != v7; (e.raw != "") != wantRaw && id != "" {
			t.Errorf("%q: held as a string: %v, want %v", id, e.raw != "", wantRaw)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = newRunEvent(at, false, v7, 0) }); n != 0 {
		t.Errorf("an event of a UUID run id allocates %v times", n)
	}
}

// The alerter's window of 10,000 runs a flow holds no allocation per run
// beyond its slice (BENCHMARKS.md §55: a string per run id was ~0.5 MB a
// busy flow, ~1.5 MB of peak RSS at GOGC=200).
func TestAlerterEventsHoldNoAllocationPerRun(t *testing.T) {
	a := NewAlerter(nil, nil, nil)
	at := time.Now()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 20000 {
		a.ObserveRun(&store.Run{ID: uuid.Must(uuid.NewV7()).String(), Flow: "busy", Status: store.RunSucceeded, StartedAt: at, FinishedAt: ptr(at.Add(time.Duration(i) * time.Millisecond))})
	}
	a.Flush()
	runtime.GC()
	runtime.ReadMemStats(&after)
	evs := a.events["busy"]
	if len(evs) != 10000 || evs[len(evs)-1].id() == "" {
		t.Fatalf("%d events", len(evs))
	}
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	slice := int64(cap(evs)) * int64(unsafe.Sizeof(runEvent{}))
	if held > slice+256<<10 {
		t.Errorf("10,000 runs hold %d bytes of heap; the slice is %d: more than a slice's worth", held, slice)
	}
	runtime.KeepAlive(a)
}

func ptr[T any](v T) *T { return &v }
