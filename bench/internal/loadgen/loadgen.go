// Package loadgen is the closed-loop load the bench commands share: a fixed
// number of callers, each calling again as soon as its last call returns,
// for a fixed window.
package loadgen

import (
	"sync"
	"sync/atomic"
	"time"
)

// Window runs call from conc goroutines until d has passed, and returns
// how many calls succeeded and the first error (a caller stops at its
// first error; the others run on to the end of the window). When lat is
// not nil, each successful call's duration is appended to it.
func Window(conc int, d time.Duration, lat *[]time.Duration, call func() error) (int64, error) {
	var (
		n     atomic.Int64
		mu    sync.Mutex
		first error
		once  sync.Once
		wg    sync.WaitGroup
	)
	stop := time.Now().Add(d)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				t := time.Now()
				if err := call(); err != nil {
					once.Do(func() { first = err })
					return
				}
				if lat != nil {
					took := time.Since(t)
					mu.Lock()
					*lat = append(*lat, took)
					mu.Unlock()
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return n.Load(), first
}
