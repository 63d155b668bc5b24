// Command lockwait reads a Go execution trace and reports, for the
// goroutines that blocked with FUNC on their stack (a lock taken there,
// say), how long each waited and what stack released them: who holds the
// lock the callers queue on (BENCHMARKS.md §68).
// Usage: go run ./lockwait TRACE FUNC   (from bench/tracetail)
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: lockwait TRACE FUNC")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	needle := os.Args[2]
	r, err := trace.NewReader(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	waiting := map[trace.GoID]trace.Time{}
	var durs []time.Duration
	by := map[string]time.Duration{}
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		id := st.Resource.Goroutine()
		from, to := st.Goroutine()
		if to == trace.GoWaiting {
			var b strings.Builder
			for fr := range st.Stack.Frames() {
				b.WriteString(fr.Func)
			}
			if strings.Contains(b.String(), needle) {
				waiting[id] = ev.Time()
			}
		} else if from == trace.GoWaiting && to == trace.GoRunnable {
			if t0, ok := waiting[id]; ok {
				delete(waiting, id)
				d := ev.Time().Sub(t0)
				durs = append(durs, d)
				var fs []string
				for fr := range ev.Stack().Frames() {
					fs = append(fs, fr.Func)
					if len(fs) > 6 {
						break
					}
				}
				by[strings.Join(fs, " < ")] += d
			}
		}
	}
	sort.Slice(durs, func(i, j int) bool { return durs[i] > durs[j] })
	var tot time.Duration
	for _, d := range durs {
		tot += d
	}
	fmt.Printf("%d waits, total %v\n", len(durs), tot)
	for i := 0; i < len(durs) && i < 15; i++ {
		fmt.Println(" ", durs[i])
	}
	type kv struct {
		k string
		v time.Duration
	}
	var kvs []kv
	for k, v := range by {
		kvs = append(kvs, kv{k, v})
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].v > kvs[j].v })
	for i := 0; i < len(kvs) && i < 8; i++ {
		fmt.Printf("%v  unblocked by: %s\n", kvs[i].v, kvs[i].k)
	}
}
