// Command tracetail reads an execution trace of an in-process benchmark
// whose calls are trace regions named "run" (BenchmarkOrderFlowSyncConcurrent
// in ./engine) and says where the time of each call went: running,
// runnable (waiting for a CPU), waiting on the store's commit, waiting on an
// HTTP call, in GC mark assists, stopped by the world; for all calls and
// for the slowest 1%, which is where the p99 comes from. Every other region
// (the store's group commit phases and checkpoint parts) is reported too:
// how much of each call it overlapped, and what its own goroutine did in it
// (running, waiting for a CPU, in a system call), for all of them and for
// their longest 10%.
//
//	cd engine && ../engine.test -test.run '^$' -test.bench 'OrderFlowSyncConcurrent$' \
//	    -test.benchtime 3000x -test.trace /tmp/run.trace
//	cd bench/tracetail && go run . /tmp/run.trace
//
// Its own module: the trace reader (golang.org/x/exp/trace) is needed for
// this measurement only.
package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

type call struct {
	start, end trace.Time
	parts      map[string]time.Duration
}

type gstate struct {
	in    *call
	since trace.Time
	state string // what the goroutine does since `since`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tracetail TRACE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fail(err)
	}
	defer f.Close()
	r, err := trace.NewReader(f)
	if err != nil {
		fail(err)
	}
	gs := map[trace.GoID]*gstate{}
	g := func(id trace.GoID) *gstate {
		if gs[id] == nil {
			gs[id] = &gstate{state: "running"}
		}
		return gs[id]
	}
	var calls []*call
	var stw [][2]trace.Time
	// Other regions (the store's checkpoint on the writer, its backfill):
	// their intervals, to say how much of a call overlapped one.
	others := map[string][][2]trace.Time{}
	otherOpen := map[trace.GoID]map[string]trace.Time{}
	// The same regions split by what their goroutine did (the committer
	// running, waiting for a CPU, in a system call), to say whether a long
	// commit or checkpoint waited for the disk or for the processor.
	oopen := map[trace.GoID]*ocall{}
	ocalls := map[string][]*call{}
	var stwOpen trace.Time
	assist := map[trace.GoID]trace.Time{}
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail(err)
		}
		switch ev.Kind() {
		case trace.EventRegionBegin:
			if ev.Region().Type == "run" {
				s := g(ev.Goroutine())
				s.in = &call{start: ev.Time(), parts: map[string]time.Duration{}}
				s.since, s.state = ev.Time(), "running"
			} else {
				if otherOpen[ev.Goroutine()] == nil {
					otherOpen[ev.Goroutine()] = map[string]trace.Time{}
				}
				otherOpen[ev.Goroutine()][ev.Region().Type] = ev.Time()
				oopen[ev.Goroutine()] = &ocall{ev.Region().Type, &gstate{in: &call{start: ev.Time(), parts: map[string]time.Duration{}}, since: ev.Time(), state: "running"}}
			}
		case trace.EventRegionEnd:
			if t := ev.Region().Type; t != "run" {
				if t0, ok := otherOpen[ev.Goroutine()][t]; ok {
					others[t] = append(others[t], [2]trace.Time{t0, ev.Time()})
					delete(otherOpen[ev.Goroutine()], t)
				}
				if o := oopen[ev.Goroutine()]; o != nil && o.name == t {
					o.in.parts[o.state] += time.Duration(ev.Time() - o.since)
					o.in.end = ev.Time()
					ocalls[t] = append(ocalls[t], o.in)
					delete(oopen, ev.Goroutine())
				}
			} else {
				s := g(ev.Goroutine())
				if s.in != nil {
					s.in.parts[s.state] += time.Duration(ev.Time() - s.since)
					s.in.end = ev.Time()
					calls = append(calls, s.in)
					s.in = nil
				}
			}
		case trace.EventRangeBegin, trace.EventRangeEnd:
			rg := ev.Range()
			switch {
			case strings.HasPrefix(rg.Name, "stop-the-world"):
				if ev.Kind() == trace.EventRangeBegin {
					stwOpen = ev.Time()
				} else if stwOpen != 0 {
					stw = append(stw, [2]trace.Time{stwOpen, ev.Time()})
					stwOpen = 0
				}
			case rg.Name == "GC mark assist" && rg.Scope.Kind == trace.ResourceGoroutine:
				id := rg.Scope.Goroutine()
				if ev.Kind() == trace.EventRangeBegin {
					assist[id] = ev.Time()
				} else if t0, ok := assist[id]; ok {
					if s := gs[id]; s != nil && s.in != nil {
						s.in.parts["gc mark assist (within the above)"] += time.Duration(ev.Time() - t0)
					}
					delete(assist, id)
				}
			}
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			id := st.Resource.Goroutine()
			_, to := st.Goroutine()
			for _, s := range []*gstate{gs[id], oopen[id].open()} {
				if s == nil || s.in == nil {
					continue
				}
				s.in.parts[s.state] += time.Duration(ev.Time() - s.since)
				s.since = ev.Time()
				switch to {
				case trace.GoRunning:
					s.state = "running"
				case trace.GoRunnable:
					s.state = "runnable (waiting for a CPU)"
				case trace.GoSyscall:
					s.state = "in a system call"
				case trace.GoWaiting:
					s.state = "waiting: " + waitingOn(st)
				default:
					s.state = to.String()
				}
			}
		}
	}
	if len(calls) == 0 {
		fail(fmt.Errorf("no \"run\" regions in the trace"))
	}
	for _, c := range calls { // the world stopped during the call
		for _, w := range stw {
			lo, hi := max(w[0], c.start), min(w[1], c.end)
			if hi > lo {
				c.parts["stopped by the GC (stop-the-world, within the above)"] += time.Duration(hi - lo)
			}
		}
	}
	for name, ivs := range others { // e.g. the writer stopped for a checkpoint during the call
		var sum time.Duration
		ds := make([]time.Duration, 0, len(ivs))
		for _, w := range ivs {
			sum += time.Duration(w[1] - w[0])
			ds = append(ds, time.Duration(w[1]-w[0]))
		}
		slices.Sort(ds)
		long := len(ds) - sort.Search(len(ds), func(i int) bool { return ds[i] >= 100*time.Microsecond })
		fmt.Printf("region %q: %d (%d of 100µs or more), %v in all; p50 %v, p90 %v, max %v\n", name, len(ivs), long, sum.Round(time.Millisecond),
			ds[len(ds)/2].Round(10*time.Microsecond), ds[len(ds)*9/10].Round(10*time.Microsecond), ds[len(ds)-1].Round(10*time.Microsecond))
		for _, c := range calls {
			for _, w := range ivs {
				lo, hi := max(w[0], c.start), min(w[1], c.end)
				if hi > lo {
					c.parts["overlapping "+name+" (within the above)"] += time.Duration(hi - lo)
				}
			}
		}
	}
	slices.SortFunc(calls, func(a, b *call) int { return int(a.end-a.start) - int(b.end-b.start) })
	d := func(c *call) time.Duration { return time.Duration(c.end - c.start) }
	fmt.Printf("%d calls; p50 %v, p99 %v, max %v\n", len(calls), d(calls[len(calls)/2]).Round(time.Microsecond),
		d(calls[len(calls)*99/100]).Round(time.Microsecond), d(calls[len(calls)-1]).Round(time.Microsecond))
	report("all calls", calls)
	report("the slowest 1%", calls[len(calls)*99/100:])
	names := make([]string, 0, len(ocalls))
	for name := range ocalls {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names { // the store's regions, by their goroutine's state
		cs := ocalls[name]
		slices.SortFunc(cs, func(a, b *call) int { return int(a.end-a.start) - int(b.end-b.start) })
		report("region "+strconv.Quote(name)+", all", cs)
		report("region "+strconv.Quote(name)+", the longest 10%", cs[len(cs)*9/10:])
	}
}

// waitingOn names what a goroutine blocks on: the store's commit, an
// HTTP call, or the first frame of Weft or the standard library it is in.
func waitingOn(st trace.StateTransition) string {
	var frames []string
	for fr := range st.Stack.Frames() {
		frames = append(frames, fr.Func)
	}
	for _, fn := range frames {
		switch {
		case strings.Contains(fn, "sqlstore.(*Store).writeReq"):
			return "the store's group commit"
		case strings.Contains(fn, "net/http.(*persistConn).roundTrip"), strings.Contains(fn, "net/http.(*Transport)"):
			return "the HTTP call (sink)"
		}
	}
	for _, fn := range frames {
		if strings.Contains(fn, "weftio") || strings.HasPrefix(fn, "net/") || strings.HasPrefix(fn, "database/") {
			return fn
		}
	}
	if len(frames) > 0 {
		return frames[0]
	}
	return st.Reason
}

func report(title string, calls []*call) {
	sum := map[string]time.Duration{}
	var total time.Duration
	for _, c := range calls {
		total += time.Duration(c.end - c.start)
		for k, v := range c.parts {
			sum[k] += v
		}
	}
	keys := make([]string, 0, len(sum))
	for k := range sum {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return sum[keys[i]] > sum[keys[j]] })
	n := time.Duration(len(calls))
	fmt.Printf("\n%s (%d): mean %v per call\n", title, len(calls), (total / n).Round(time.Microsecond))
	for _, k := range keys {
		fmt.Printf("  %-58s %10v  %5.1f%%\n", k, (sum[k] / n).Round(time.Microsecond), 100*float64(sum[k])/float64(total))
	}
}

// ocall is an open region of the store's on a goroutine.
type ocall struct {
	name string
	*gstate
}

// open is the region's goroutine state, nil for no open region.
func (o *ocall) open() *gstate {
	if o == nil {
		return nil
	}
	return o.gstate
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "tracetail:", err)
	os.Exit(1)
}
