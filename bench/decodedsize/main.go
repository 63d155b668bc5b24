// Command decodedsize prints how much live Go heap the 10 MB-class JSON body of
// engine.BenchmarkLargePayloadBytes takes once decoded into map[string]any and
// []any (encoding/json), as a multiple of its size: the floor under that
// benchmark's peak while a run holds its trigger body decoded (BENCHMARKS.md §14).
//
//	go run ./bench/decodedsize
package main

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/weftio/weft/internal/heappeak"
)

func main() {
	raw := heappeak.Rows(100_000)
	runtime.GC()
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		panic(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&b)
	fmt.Printf("payload %d bytes, decoded live %d bytes = %.2fx\n", len(raw), b.HeapAlloc-a.HeapAlloc, float64(b.HeapAlloc-a.HeapAlloc)/float64(len(raw)))
	runtime.KeepAlive(v)
	runtime.KeepAlive(raw)
}
