// Package heappeak measures the peak Go heap a piece of work takes: the
// large-payload benchmarks of the engine and the gateway (BENCHMARKS.md,
// issue 20) and bench/decodedsize.
package heappeak

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Sampler samples HeapInuse every millisecond from Start until Stop.
type Sampler struct {
	base uint64
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

// Start collects garbage, notes the heap in use as the base and starts
// sampling.
func Start() *Sampler {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := &Sampler{base: ms.HeapInuse, stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > s.peak.Load() {
				s.peak.Store(ms.HeapInuse)
			}
			select {
			case <-s.stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return s
}

// Stop ends sampling and returns the peak heap in use above the base, in
// bytes (0 if it never rose above it).
func (s *Sampler) Stop() float64 {
	close(s.stop)
	s.wg.Wait()
	return max(0, float64(s.peak.Load())-float64(s.base))
}

// Rows is the benchmarks' 10 MB-class JSON body: {"rows": [n records of
// four fields]} (about 100 bytes a record).
func Rows(n int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"rows":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":%d,"name":"customer-name-padding-xx","email":"someone@example.com","v":12.5}`, i)
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}

// WideRows is {"rows": [n records of five fields]}, ~560 bytes a record:
// the reshaping benchmarks' body (16,000 of them is ~9 MB).
func WideRows(n int) []byte {
	var sb strings.Builder
	note := strings.Repeat("a note that pads the record to a few hundred bytes; ", 9)
	sb.WriteString(`{"rows":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":%d,"name":"customer-name-padding-xx","email":"someone@example.com","v":12.5,"note":%q}`, i, note)
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}

// LargeFlow is one of the large-payload benchmarks' flows: the set step's
// rows expression, the body, and its number of rows.
type LargeFlow struct {
	Name, Rows string
	Payload    []byte
	N          int
}

// LargeFlows are the engine's and the gateway's large-payload flows:
// passthrough passes the rows on (=trigger.body.rows); reshape maps them
// to new objects, with 16,000 wider rows (~9 MB): mapping 100,000 rows
// to new objects would go over an expression's cost limit
// (flow.CostLimit; a map literal costs 30, this row ~49, so ~20,000 rows).
func LargeFlows() []LargeFlow {
	return []LargeFlow{
		{"passthrough", `=trigger.body.rows`, Rows(100_000), 100_000},
		{"reshape", `'=trigger.body.rows.map(r, {"id": r.id, "email": r.email, "total": r.v * 2.0})'`, WideRows(16_000), 16_000},
	}
}
