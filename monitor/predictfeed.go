package monitor

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/weftio/weft/store"
)

// PredictFeed shares error prediction between the processes of one
// deployment (several weft serve on one database). What a process sees of
// upstreams (rate-limit headers, credential and certificate validity,
// refresh attempts) goes to the store's prediction signals instead of
// straight to its predictor; every process reads back everyone's signals
// and every process's finished runs from the store into its own
// predictor, and evaluates it, so that all processes forecast from the
// same observations and agree (GET /api/predictions, /metrics). The
// alert lease holder raises the predicted alerts (Alerter.PredictFed).
type PredictFeed struct {
	pr  *Predictor
	st  store.Store
	sig store.PredictSignals
	log *slog.Logger

	mu      sync.Mutex
	buf     []store.PredictSignal
	lastBuf map[string]bufAt     // rate-limit key -> its latest signal in buf
	told    map[string]told      // expiry key -> what was last written
	dropped int                  // signals dropped while the store was unreachable
	since   time.Time            // signals read up to here
	seenSig map[string]time.Time // signal id -> at (read overlap)
	runsTo  time.Time            // runs read up to here
	seenRun map[string]time.Time // run id -> finished (read overlap)
	purged  time.Time
}

// bufAt is a buffered signal: its index, and when the second it stands
// for began.
type bufAt struct {
	i     int
	start time.Time
}

type told struct {
	nb, na time.Time
	at     time.Time
}

// Bounds of the feed.
const (
	maxSignalBuffer = 10000          // signals waiting for the store; the oldest go first
	signalLookback  = 48 * time.Hour // a process starting reads this much back (and signals are kept this long)
	feedOverlap     = 10 * time.Second
	expiryRetell    = 10 * time.Minute // a credential's validity is written again this often (for processes starting later)
	maxFeedRuns     = 50000            // runs one read takes at most
)

// NewPredictFeed returns a feed of pr through st, which must keep
// prediction signals (both of Weft's stores do).
func NewPredictFeed(pr *Predictor, st store.Store, log *slog.Logger) (*PredictFeed, bool) {
	sig, ok := st.(store.PredictSignals)
	if !ok || pr == nil {
		return nil, false
	}
	if log == nil {
		log = slog.Default()
	}
	return &PredictFeed{pr: pr, st: st, sig: sig, log: log, lastBuf: map[string]bufAt{}, told: map[string]told{},
		seenSig: map[string]time.Time{}, seenRun: map[string]time.Time{}}, true
}

type rateLimitDoc struct {
	Policy    string    `json:"policy,omitempty"`
	Limit     float64   `json:"limit,omitempty"`
	Remaining float64   `json:"remaining"`
	Reset     time.Time `json:"reset,omitzero"`
	WindowS   float64   `json:"window_s,omitempty"`
}

type expiryDoc struct {
	What      string    `json:"what"`
	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after"`
}

type storageDoc struct {
	Size  float64 `json:"size"`
	Bound float64 `json:"bound"`
}

type refreshDoc struct {
	What  string `json:"what"`
	Error string `json:"error,omitempty"`
}

// add buffers a signal. Called with f.mu held.
func (f *PredictFeed) add(kind, subject string, at time.Time, doc any) {
	b, err := json.Marshal(doc)
	if err != nil {
		return
	}
	if len(f.buf) >= maxSignalBuffer {
		f.buf = f.buf[1:]
		f.dropped++
		for k, b := range f.lastBuf {
			if b.i == 0 {
				delete(f.lastBuf, k)
			} else {
				f.lastBuf[k] = bufAt{b.i - 1, b.start}
			}
		}
	}
	f.buf = append(f.buf, store.PredictSignal{ID: uuid.Must(uuid.NewV7()).String(), Kind: kind, Subject: subject, At: at, Doc: b})
}

// RateLimit records what a response of connection said of its limit.
// Within a second only the latest of a connection's policy is kept.
func (f *PredictFeed) RateLimit(connection string, at time.Time, rl RateLimit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := connection + "#" + rl.Policy
	doc := rateLimitDoc{Policy: rl.Policy, Limit: rl.Limit, Remaining: rl.Remaining, Reset: rl.Reset, WindowS: rl.Window.Seconds()}
	if b, ok := f.lastBuf[key]; ok && b.i < len(f.buf) && at.Sub(b.start) < time.Second && !at.Before(f.buf[b.i].At) {
		if js, err := json.Marshal(doc); err == nil {
			f.buf[b.i].At, f.buf[b.i].Doc = at, js
		}
		return
	}
	f.add(PredictRateLimit, connection, at, doc)
	f.lastBuf[key] = bufAt{len(f.buf) - 1, at}
}

// Expiry records a credential's or certificate's validity (see
// Predictor.ObserveExpiry); written when it changes, and again now and
// then for processes that start later.
func (f *PredictFeed) Expiry(subject, what string, at, notBefore, notAfter time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := subject + "#" + what
	if t, ok := f.told[key]; ok && t.na.Equal(notAfter) && t.nb.Equal(notBefore) && at.Sub(t.at) < expiryRetell {
		return
	}
	if len(f.told) >= maxPredictSubjects {
		return
	}
	f.told[key] = told{nb: notBefore, na: notAfter, at: at}
	f.add(PredictExpiry, subject, at, expiryDoc{What: what, NotBefore: notBefore, NotAfter: notAfter})
}

// Refresh records an attempt to renew a credential (nil err: it worked).
func (f *PredictFeed) Refresh(subject, what string, err error) {
	d := refreshDoc{What: what}
	if err != nil {
		d.Error = err.Error()
		if len(d.Error) > 300 {
			d.Error = d.Error[:300] + "…"
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.add("refresh", subject, time.Now(), d)
}

// Storage records a sampled size of name against its bound (see
// Predictor.ObserveStorage), so that a restart does not start its series
// over (the last 48 hours are read back of the 72 fitted).
func (f *PredictFeed) Storage(name string, at time.Time, size, bound float64) {
	if math.IsNaN(size) || math.IsInf(size, 0) || math.IsNaN(bound) || math.IsInf(bound, 0) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.add(PredictStorage, name, at, storageDoc{Size: size, Bound: bound})
}

// Sync writes this process's buffered signals to the store and reads
// every process's signals and finished runs since the last read into the
// predictor, in time order.
func (f *PredictFeed) Sync(ctx context.Context, now time.Time) error {
	if err := f.Flush(ctx, now); err != nil {
		return err
	}
	if err := f.readSignals(ctx, now); err != nil {
		return err
	}
	return f.readRuns(ctx, now)
}

// Flush writes the buffered signals to the store (kept for the next try
// when it cannot take them) and, every ten minutes, purges the ones older
// than the lookback.
func (f *PredictFeed) Flush(ctx context.Context, now time.Time) error {
	f.mu.Lock()
	out := f.buf
	f.buf, f.lastBuf = nil, map[string]bufAt{}
	dropped := f.dropped
	f.dropped = 0
	f.mu.Unlock()
	if dropped > 0 {
		f.log.Warn("prediction: signals dropped while the store could not take them", "dropped", dropped)
	}
	if len(out) > 0 {
		if err := f.sig.AppendPredictSignals(ctx, out); err != nil {
			f.mu.Lock()
			// Keep them for the next try (the newest, within the bound).
			f.buf = append(out, f.buf...)
			if over := len(f.buf) - maxSignalBuffer; over > 0 {
				f.buf, f.dropped = f.buf[over:], f.dropped+over
			}
			f.lastBuf = map[string]bufAt{}
			f.mu.Unlock()
			return err
		}
	}
	if now.Sub(f.purged) > 10*time.Minute {
		f.purged = now
		if _, err := f.sig.PurgePredictSignals(ctx, now.Add(-signalLookback)); err != nil {
			f.log.Warn("prediction: purging old signals", "err", err)
		}
	}
	return nil
}

// Restore reads what the store keeps into the predictor once: the
// signals of the lookback (48 hours) and the finished runs of the trend
// window. For a single process (SQLite) that feeds its predictor itself
// and keeps its signals in the store (Persist) so that a restart does not
// forget them: a rate limit being spent, a credential's validity and its
// renewals, refresh failures, the runs a trend is fitted on.
func (f *PredictFeed) Restore(ctx context.Context, now time.Time) error {
	if err := f.readSignals(ctx, now); err != nil {
		return err
	}
	return f.readRuns(ctx, now)
}

// Persist flushes the buffered signals every interval until ctx ends,
// and once more then (with a second to do it).
func (f *PredictFeed) Persist(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), time.Second)
			if err := f.Flush(fctx, time.Now()); err != nil {
				f.log.Warn("prediction: keeping the signals", "err", err)
			}
			cancel()
			return
		case now := <-t.C:
			if err := f.Flush(ctx, now); err != nil && ctx.Err() == nil {
				f.log.Warn("prediction: keeping the signals", "err", err)
			}
		}
	}
}

func (f *PredictFeed) readSignals(ctx context.Context, now time.Time) error {
	since := f.since.Add(-feedOverlap) // commits in flight
	if f.since.IsZero() {
		since = now.Add(-signalLookback)
	}
	var all []store.PredictSignal
	for len(all) < maxFeedRuns {
		page, err := f.sig.PredictSignalsSince(ctx, since, 1000)
		if err != nil {
			return err
		}
		all = append(all, page...)
		if len(page) < 1000 || page[len(page)-1].Written.Equal(since) {
			break
		}
		since = page[len(page)-1].Written
	}
	// In the order observed (an observation older than what a series
	// holds already is dropped by the predictor).
	sort.SliceStable(all, func(i, j int) bool { return all[i].At.Before(all[j].At) })
	for _, g := range all {
		if _, dup := f.seenSig[g.ID]; dup {
			continue
		}
		f.seenSig[g.ID] = g.Written
		f.apply(g)
	}
	// Read on from the last one written (the store's clock, not now).
	if f.since.IsZero() {
		f.since = now.Add(-signalLookback)
	}
	for _, g := range all {
		if g.Written.After(f.since) {
			f.since = g.Written
		}
	}
	for id, at := range f.seenSig {
		if at.Before(f.since.Add(-2 * feedOverlap)) {
			delete(f.seenSig, id)
		}
	}
	return nil
}

// apply hands one signal to the predictor (one that does not parse is
// skipped: the store holds what a process wrote, of any version).
func (f *PredictFeed) apply(g store.PredictSignal) {
	switch g.Kind {
	case PredictRateLimit:
		var d rateLimitDoc
		if json.Unmarshal(g.Doc, &d) == nil {
			rl := RateLimit{Policy: d.Policy, Limit: d.Limit, Remaining: d.Remaining, Reset: d.Reset}
			if d.WindowS > 0 && d.WindowS <= 366*24*3600 {
				rl.Window = time.Duration(d.WindowS * float64(time.Second))
			}
			f.pr.ObserveRateLimit(g.Subject, g.At, rl)
		}
	case PredictExpiry:
		var d expiryDoc
		if json.Unmarshal(g.Doc, &d) == nil {
			f.pr.ObserveExpiry(g.Subject, d.What, g.At, d.NotBefore, d.NotAfter)
		}
	case PredictStorage:
		var d storageDoc
		if json.Unmarshal(g.Doc, &d) == nil {
			f.pr.ObserveStorage(g.Subject, g.At, d.Size, d.Bound)
		}
	case "refresh":
		var d refreshDoc
		if json.Unmarshal(g.Doc, &d) == nil {
			var err error
			if d.Error != "" {
				err = refreshError(d.Error)
			}
			f.pr.ObserveRefresh(g.Subject, d.What, err)
		}
	}
}

type refreshError string

func (e refreshError) Error() string { return string(e) }

func (f *PredictFeed) readRuns(ctx context.Context, now time.Time) error {
	since := f.runsTo.Add(-feedOverlap)
	if f.runsTo.IsZero() {
		p := f.pr.Params()
		since = now.Add(-time.Duration(p.Trend.Window*f.pr.maxScale()) * time.Duration(p.Trend.Resolution))
	}
	var runs []*store.Run
	rf := store.RunFilter{FinishedSince: since, Since: since.Add(-24 * time.Hour), Limit: store.MaxRunsPage, NoPayloads: true}
	for len(runs) < maxFeedRuns {
		page, err := f.st.ListRuns(ctx, rf)
		if err != nil {
			return err
		}
		runs = append(runs, page...)
		if len(page) < rf.Limit {
			break
		}
		rf.Before = page[len(page)-1].ID
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].FinishedAt.Before(*runs[j].FinishedAt) })
	for _, r := range runs {
		if r.FinishedAt == nil {
			continue
		}
		if _, dup := f.seenRun[r.ID]; dup {
			continue
		}
		f.seenRun[r.ID] = *r.FinishedAt
		var dur time.Duration
		if !r.StartedAt.IsZero() {
			dur = r.FinishedAt.Sub(r.StartedAt)
		}
		f.pr.ObserveRun(r.Flow, *r.FinishedAt, r.Status == store.RunFailed || r.Status == store.RunDead, dur)
	}
	f.runsTo = now
	for id, at := range f.seenRun {
		if at.Before(since.Add(-time.Minute)) {
			delete(f.seenRun, id)
		}
	}
	return nil
}

// Run syncs and evaluates the predictor every interval until ctx ends.
func (f *PredictFeed) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		now := time.Now()
		if err := f.Sync(ctx, now); err != nil && ctx.Err() == nil {
			f.log.Warn("prediction: reading the shared signals", "err", err)
		}
		f.pr.Evaluate(now)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
