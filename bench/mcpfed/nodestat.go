package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// nodeStat is the -nodestat diagnostic: what the reference server's
// process does in each kind of window, counted per call (and per second in
// an idle window): its syscalls by name (perf stat on its tracepoints,
// which costs the process far less than strace), and what its listening
// port holds (sampled from /proc/net/tcp every 2 ms: established
// connections, and those with request bytes Node has not read yet, the
// backlog a turn of its event loop finds).
type nodeStat struct {
	pid, port int
	events    string
	seq       int
	mu        sync.Mutex
	kinds     map[string]*statSum
}

type statSum struct {
	calls   int64
	secs    float64
	counts  map[string]float64
	samples int
	estab   int // established connections on the port, summed over samples
	queued  int // of those, with unread bytes (rx_queue > 0)
	peers   map[string]bool
}

func newNodeStat(pid, port int, events string) *nodeStat {
	return &nodeStat{pid: pid, port: port, events: events, kinds: map[string]*statSum{}}
}

// window runs f (one window of kind) while counting; f returns its calls.
func (s *nodeStat) window(kind string, d time.Duration, f func() (int64, error)) (int64, error) {
	perf := exec.Command("perf", "stat", "-x", ",", "-e", s.events, "-p", strconv.Itoa(s.pid))
	var errb bytes.Buffer
	perf.Stderr = &errb
	if err := perf.Start(); err != nil {
		return 0, fmt.Errorf("nodestat: perf: %v", err)
	}
	// perf attaches some time after it starts (longer on a busy machine):
	// the window begins once it surely counts. Node idle between windows
	// makes next to no syscalls (the idle window: one epoll_pwait a second).
	time.Sleep(300 * time.Millisecond)
	// MCPFED_NODEPERF=PREFIX: also a perf record of Node's process in each
	// window, PREFIX.KIND.N.data (start Node with
	// NODE_OPTIONS=--perf-basic-prof for its JavaScript's names).
	var rec *exec.Cmd
	if pre := os.Getenv("MCPFED_NODEPERF"); pre != "" {
		s.mu.Lock()
		s.seq++
		out := fmt.Sprintf("%s.%s.%d.data", pre, kind, s.seq)
		s.mu.Unlock()
		rec = exec.Command("perf", "record", "-q", "-F", "1999", "-g", "-p", strconv.Itoa(s.pid), "-o", out)
		if err := rec.Start(); err != nil {
			rec = nil
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	sum := &statSum{counts: map[string]float64{}, peers: map[string]bool{}}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(2 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				e, q := s.sample(sum.peers)
				sum.samples++
				sum.estab += e
				sum.queued += q
			}
		}
	}()
	t0 := time.Now()
	n, err := f()
	sum.secs = time.Since(t0).Seconds()
	close(stop)
	wg.Wait()
	_ = perf.Process.Signal(syscall.SIGINT)
	_ = perf.Wait()
	if rec != nil {
		_ = rec.Process.Signal(syscall.SIGINT)
		_ = rec.Wait()
	}
	sc := bufio.NewScanner(&errb)
	for sc.Scan() {
		// value,unit,event,...
		f := strings.Split(sc.Text(), ",")
		if len(f) < 3 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		sum.counts[strings.TrimPrefix(f[2], "syscalls:sys_enter_")] += v
	}
	sum.calls = n
	per := float64(max(n, 1))
	fmt.Printf("nodestat window %s: %d calls, %.0f calls/s, epoll_pwait %.2f a call, unread %.2f\n", kind, n, float64(n)/sum.secs,
		(sum.counts["epoll_pwait"]+sum.counts["epoll_wait"])/per, float64(sum.queued)/float64(max(sum.samples, 1)))
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.kinds[kind]; old != nil {
		old.calls += sum.calls
		old.secs += sum.secs
		for k, v := range sum.counts {
			old.counts[k] += v
		}
		old.samples += sum.samples
		old.estab += sum.estab
		old.queued += sum.queued
		for p := range sum.peers {
			old.peers[p] = true
		}
	} else {
		s.kinds[kind] = sum
	}
	return n, err
}

// sample reads /proc/net/tcp and tcp6 (Node listens on both families)
// for the port's established connections.
func (s *nodeStat) sample(peers map[string]bool) (estab, queued int) {
	b, _ := os.ReadFile("/proc/net/tcp")
	b6, _ := os.ReadFile("/proc/net/tcp6")
	b = append(b, b6...)
	want := fmt.Sprintf(":%04X", s.port)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || !strings.HasSuffix(f[1], want) || f[3] != "01" {
			continue
		}
		estab++
		peers[f[2]] = true
		if q := strings.SplitN(f[4], ":", 2); len(q) == 2 && strings.Trim(q[1], "0") != "" {
			queued++
		}
	}
	return estab, queued
}

func (s *nodeStat) report(cpu map[string]time.Duration) {
	kinds := make([]string, 0, len(s.kinds))
	for k := range s.kinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	names := map[string]bool{}
	for _, k := range kinds {
		for n, v := range s.kinds[k].counts {
			if v > 0 {
				names[n] = true
			}
		}
	}
	var ns []string
	for n := range names {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	for _, k := range kinds {
		m := s.kinds[k]
		per, unit := float64(m.calls), "a call"
		if m.calls == 0 {
			per, unit = m.secs, "a second"
		}
		fmt.Printf("nodestat %s: %d calls in %.1f s (%.0f calls/s); Node CPU %.0f µs %s (%.0f %% of a core); connections %.1f established, %.2f with unread requests (mean of %d samples), %d peers seen\n",
			k, m.calls, m.secs, float64(m.calls)/m.secs, float64(cpu[k].Microseconds())/per, unit, 100*cpu[k].Seconds()/m.secs,
			float64(m.estab)/float64(max(m.samples, 1)), float64(m.queued)/float64(max(m.samples, 1)), m.samples, len(m.peers))
		var b strings.Builder
		for _, n := range ns {
			fmt.Fprintf(&b, " %s %.2f", n, m.counts[n]/per)
		}
		fmt.Printf("nodestat %s: syscalls %s:%s\n", k, unit, b.String())
	}
}
