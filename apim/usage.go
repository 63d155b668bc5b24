package apim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// CallRecord is one answered call of a published product version, as
// metrics and analytics see it. Route is the matched route's template
// ("GET /orders/{id}"; "" when the call was answered before a route was
// matched: a refusal, 404, 405), never the raw path, so its values are
// bounded by the product's routes.
type CallRecord struct {
	Product, Version, Route, Consumer string
	Status                            int
	Duration                          time.Duration
	At                                time.Time
	// Limits and Admission: the plan's limits and what the call's
	// admission left (nil when the call was not counted under a plan).
	Limits    store.Limits
	Admission *store.Admission
}

// Analytics limits.
const (
	// UsageFlushEvery is how often a process writes the counts that
	// changed: at most this long after a call, its count is in the store.
	UsageFlushEvery = time.Second
	// UsageRetention is how long usage minutes are kept.
	UsageRetention = 31 * 24 * time.Hour
	// MaxUsageWindow is the longest window one report sums.
	MaxUsageWindow = UsageRetention
	// maxUsageKeys bounds one process's unwritten (minute, product,
	// version, route, consumer) counters; calls past it are counted under
	// route "(overflow)".
	maxUsageKeys = 10000
)

// UsageBounds are the upper bounds of the latency buckets, in
// microseconds: 100 µs × 1.5^i (100 µs to about 19 s); the last bucket
// (store.UsageBuckets-1) has no bound.
var UsageBounds = func() [store.UsageBuckets - 1]float64 {
	var b [store.UsageBuckets - 1]float64
	for i := range b {
		b[i] = 100 * math.Pow(1.5, float64(i))
	}
	return b
}()

func usageBucket(d time.Duration) int {
	us := float64(d.Microseconds())
	for i, b := range UsageBounds {
		if us <= b {
			return i
		}
	}
	return store.UsageBuckets - 1
}

type usageKey struct {
	minute                            int64
	product, version, route, consumer string
}

// Usage counts calls per minute, product, version, route and consumer in
// memory and writes the rows that changed to the store (each process its
// own rows of a minute, rewritten with its cumulative counts) within
// UsageFlushEvery of a call (at most once per UsageFlushEvery), and
// before every report. Reports sum every process's rows.
type Usage struct {
	st      store.UsageStore
	process string
	now     func() time.Time

	mu        sync.Mutex
	acc       map[usageKey]*store.APIUsage
	dirty     map[usageKey]bool // rows changed since they were last written
	lastFlush time.Time
	pending   atomic.Bool // a flush is scheduled
	lastPrune time.Time
	flushing  atomic.Bool
	flushMu   sync.Mutex // one flush at a time
}

// NewUsage returns a recorder writing to st under a process id of its own.
func NewUsage(st store.UsageStore) *Usage {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Usage{st: st, process: hex.EncodeToString(b[:]), now: time.Now, acc: map[usageKey]*store.APIUsage{}, dirty: map[usageKey]bool{}}
}

// Record counts one call, and starts a flush in the background when the
// last one is UsageFlushEvery old, or schedules one for when it will be.
func (u *Usage) Record(c CallRecord) {
	at := c.At
	if at.IsZero() {
		at = u.now()
	}
	k := usageKey{minute: at.Unix() / 60, product: c.Product, version: c.Version, route: c.Route, consumer: c.Consumer}
	u.mu.Lock()
	row := u.acc[k]
	if row == nil {
		if len(u.acc) >= maxUsageKeys {
			k.route, k.consumer = "(overflow)", ""
			row = u.acc[k]
		}
		if row == nil {
			row = &store.APIUsage{Minute: k.minute, Process: u.process, Product: k.product, Version: k.version, Route: k.route, Consumer: k.consumer}
			u.acc[k] = row
		}
	}
	row.Calls++
	switch {
	case c.Status == 429:
		row.RateLimited++
		row.ClientErrors++
	case c.Status >= 500:
		row.ServerErrors++
	case c.Status >= 400:
		row.ClientErrors++
	}
	row.DurationUS += c.Duration.Microseconds()
	row.Hist[usageBucket(c.Duration)]++
	u.dirty[k] = true
	wait := UsageFlushEvery - u.now().Sub(u.lastFlush)
	u.mu.Unlock()
	if wait > 0 {
		// Not due yet: one flush is scheduled for when it is, so a call's
		// count does not wait for the next call.
		if u.pending.CompareAndSwap(false, true) {
			time.AfterFunc(wait, func() {
				u.pending.Store(false)
				u.flushNow()
			})
		}
		return
	}
	u.flushNow()
}

// flushNow writes the counters in the background, unless a flush is
// running (what it misses stays dirty for the next).
func (u *Usage) flushNow() {
	if !u.flushing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer u.flushing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := u.Flush(ctx); err != nil && u.pending.CompareAndSwap(false, true) {
			// Kept in memory: tried again a period later.
			time.AfterFunc(UsageFlushEvery, func() {
				u.pending.Store(false)
				u.flushNow()
			})
		}
	}()
}

// Flush writes this process's counters. Counters of minutes before the
// previous one are final once written and are dropped from memory.
func (u *Usage) Flush(ctx context.Context) error {
	u.flushMu.Lock()
	defer u.flushMu.Unlock()
	now := u.now()
	u.mu.Lock()
	rows := make([]store.APIUsage, 0, len(u.dirty))
	keys := make([]usageKey, 0, len(u.dirty))
	for k := range u.dirty {
		if r := u.acc[k]; r != nil {
			rows = append(rows, *r)
			keys = append(keys, k)
		}
	}
	clear(u.dirty)
	u.lastFlush = now
	u.mu.Unlock()
	if len(rows) > 0 {
		if err := u.st.SaveAPIUsage(ctx, rows); err != nil {
			u.mu.Lock()
			for _, k := range keys {
				u.dirty[k] = true // written by the next flush
			}
			u.mu.Unlock()
			return err
		}
	}
	cur := now.Unix() / 60
	u.mu.Lock()
	for k := range u.acc {
		if k.minute < cur-1 && !u.dirty[k] { // a late call may still land in the previous minute
			delete(u.acc, k)
		}
	}
	prune := now.Sub(u.lastPrune) >= time.Hour
	if prune {
		u.lastPrune = now
	}
	u.mu.Unlock()
	if prune {
		_, _ = u.st.PruneAPIUsage(ctx, now.Add(-UsageRetention))
	}
	return nil
}

// UsageReport is one group's calls over a window.
type UsageReport struct {
	Product      string  `json:"product"`
	Version      string  `json:"version"`
	Route        string  `json:"route,omitempty"`
	Consumer     string  `json:"consumer"`
	Calls        int64   `json:"calls"`
	Errors       int64   `json:"errors"`        // 4xx and 5xx
	ClientErrors int64   `json:"client_errors"` // 4xx, refusals included
	ServerErrors int64   `json:"server_errors"` // 5xx
	RateLimited  int64   `json:"rate_limited"`  // 429
	ErrorRate    float64 `json:"error_rate"`
	// Latency in milliseconds: the mean, and percentiles read from the
	// buckets (interpolated within one: within a factor of 1.5).
	LatencyMS map[string]float64 `json:"latency_ms"`
}

// Report writes this process's counters, then sums every process's over
// q's window.
func (u *Usage) Report(ctx context.Context, q store.UsageQuery) ([]UsageReport, error) {
	if !q.Until.After(q.Since) {
		return nil, weft.Errorf(weft.EInvalid, "until must be after since")
	}
	if q.Until.Sub(q.Since) > MaxUsageWindow {
		return nil, weft.Errorf(weft.EInvalid, "a window of at most %s (usage is kept that long)", MaxUsageWindow)
	}
	if err := u.Flush(ctx); err != nil {
		return nil, err
	}
	rows, err := u.st.SumAPIUsage(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]UsageReport, 0, len(rows))
	for _, r := range rows {
		rep := UsageReport{Product: r.Product, Version: r.Version, Route: r.Route, Consumer: r.Consumer, Calls: r.Calls,
			Errors: r.ClientErrors + r.ServerErrors, ClientErrors: r.ClientErrors, ServerErrors: r.ServerErrors, RateLimited: r.RateLimited,
			LatencyMS: map[string]float64{}}
		if r.Calls > 0 {
			rep.ErrorRate = round3(float64(rep.Errors) / float64(r.Calls))
			rep.LatencyMS["mean"] = round3(float64(r.DurationUS) / float64(r.Calls) / 1000)
			for name, p := range map[string]float64{"p50": 0.5, "p95": 0.95, "p99": 0.99} {
				rep.LatencyMS[name] = round3(percentile(r.Hist, r.Calls, p) / 1000)
			}
		}
		out = append(out, rep)
	}
	return out, nil
}

// percentile reads the p-quantile (µs) from bucket counts: the bucket
// holding it, linearly within its bounds (the unbounded last bucket
// answers its lower bound).
func percentile(h [store.UsageBuckets]int64, total int64, p float64) float64 {
	rank := p * float64(total)
	var cum float64
	for i, n := range h {
		if n == 0 {
			continue
		}
		if cum+float64(n) >= rank {
			lo := 0.0
			if i > 0 {
				lo = UsageBounds[i-1]
			}
			if i == len(UsageBounds) {
				return lo
			}
			return lo + (UsageBounds[i]-lo)*(rank-cum)/float64(n)
		}
		cum += float64(n)
	}
	return UsageBounds[len(UsageBounds)-1]
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
