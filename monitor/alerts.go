package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/weftio/weft/store"
)

// Rule raises an alert when a flow's failure rate over a window reaches a
// threshold (with enough runs to judge), for a duration.
type Rule struct {
	Name      string        `yaml:"name" json:"name"`
	Flow      string        `yaml:"flow" json:"flow"`             // glob over flow names (default "*"; mcp:* are agent calls)
	ErrorRate float64       `yaml:"error_rate" json:"error_rate"` // failed or dead runs / finished runs
	MinRuns   int           `yaml:"min_runs" json:"min_runs"`
	Window    time.Duration `yaml:"window" json:"window"`
	For       time.Duration `yaml:"for" json:"for"`
	Severity  string        `yaml:"severity" json:"severity"`
	// Silent, when set, makes this a "went silent" rule instead: a flow
	// that finished at least MinRuns runs in the Window before goes this
	// long without finishing any.
	Silent time.Duration `yaml:"silent" json:"silent,omitempty"`
	// Kind picks another test (default: the error-rate threshold above):
	//   burst:   failures in the Window that a binomial test finds too many
	//            for the flow's own failure rate over Baseline (p < Alpha);
	//            made for low-volume flows, where rates jump by chance.
	//   anomaly: the streaming detector on a per-Resolution series of the
	//            flow (Metric: runs | failures | p95_ms), firing at MinScore.
	Kind        string        `yaml:"kind" json:"kind,omitempty"`
	Alpha       float64       `yaml:"alpha" json:"alpha,omitempty"`               // burst: p-value (default 0.001)
	Baseline    time.Duration `yaml:"baseline" json:"baseline,omitempty"`         // burst: history for the usual failure rate (default 24h)
	Metric      string        `yaml:"metric" json:"metric,omitempty"`             // anomaly
	Resolution  time.Duration `yaml:"resolution" json:"resolution,omitempty"`     // anomaly: bucket (default 1m)
	MinScore    float64       `yaml:"min_score" json:"min_score,omitempty"`       // anomaly (default 0.55)
	Sensitivity float64       `yaml:"sensitivity" json:"sensitivity,omitempty"`   // anomaly: detector sensitivity (default 1)
	ShapeWarmup int           `yaml:"shape_warmup" json:"shape_warmup,omitempty"` // anomaly: buckets before the shape detector scores (default 750)
}

// DefaultRules apply when no rules are configured.
var DefaultRules = []Rule{
	{Name: "failure-spike", Flow: "*", ErrorRate: 0.5, MinRuns: 5, Window: time.Minute, Severity: "critical"},
	{Name: "failure-burst", Flow: "*", Kind: "burst", Window: 10 * time.Minute, Severity: "warning"},
}

// Alert is one raised condition.
type Alert struct {
	ID         string     `json:"id"`
	Rule       string     `json:"rule"`
	Flow       string     `json:"flow"`
	Severity   string     `json:"severity"`
	Status     string     `json:"status"` // firing | resolved
	Value      float64    `json:"value"`  // the error rate that raised it
	Runs       int        `json:"runs"`   // finished runs in the window
	Message    string     `json:"message"`
	RunIDs     []string   `json:"run_ids,omitempty"` // the failed runs behind it (latest 10)
	StartedAt  time.Time  `json:"started_at"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	AckedBy    string     `json:"acked_by,omitempty"`
	// Kind is "predicted" for an alert the predictor raised (its rule is
	// predicted:<kind>, e.g. predicted:rate_limit); empty for rules.
	Kind string `json:"kind,omitempty"`
	// Prediction is what a predicted alert forecasts: what, when, why.
	Prediction *Prediction `json:"prediction,omitempty"`
	// Group lists the alerts one notification stands for, when a rule
	// fired (or resolved) for several flows in the same evaluation (a
	// shared upstream failing takes many flows down at once).
	Group []GroupedAlert `json:"group,omitempty"`
}

// GroupedAlert is one member of a grouped notification.
type GroupedAlert struct {
	ID      string `json:"id"`
	Flow    string `json:"flow"`
	Message string `json:"message"`
}

// group merges events of one rule and status into one notification each.
func group(events []Alert) []Alert {
	type key struct{ rule, status string }
	idx := map[key]int{}
	var out []Alert
	for _, al := range events {
		k := key{al.Rule, al.Status}
		i, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			out = append(out, al)
			continue
		}
		g := &out[i]
		if len(g.Group) == 0 {
			g.Group = []GroupedAlert{{g.ID, g.Flow, g.Message}}
		}
		g.Group = append(g.Group, GroupedAlert{al.ID, al.Flow, al.Message})
		if severityRank(al.Severity) > severityRank(g.Severity) {
			g.Severity = al.Severity
		}
	}
	for i := range out {
		if n := len(out[i].Group); n > 0 {
			flows := make([]string, n)
			for j, m := range out[i].Group {
				flows[j] = m.Flow
			}
			verb := "firing"
			if out[i].Status == "resolved" {
				verb = "resolved"
			}
			out[i].Flow = strings.Join(flows, ", ")
			out[i].Message = fmt.Sprintf("%s %s for %d flows (%s); first: %s", out[i].Rule, verb, n, out[i].Flow, out[i].Group[0].Message)
		}
	}
	return out
}

func severityRank(s string) int {
	switch s {
	case "critical":
		return 3
	case "warning":
		return 2
	case "info":
		return 1
	}
	return 0
}

// Notifier delivers alert events (firing, resolved).
type Notifier func(ctx context.Context, a Alert) error

// runEvent is one finished run as the rules see it. An alerter keeps up to
// 10,000 a flow, so it is kept small and holds no pointer for a run id that
// is a UUID (the engine's): 56 bytes, where a time.Time and the id's string
// took 56 and another 48 on the heap (BENCHMARKS.md §55).
type runEvent struct {
	atNS   int64 // finished, Unix nanoseconds
	dur    time.Duration
	uid    uuid.UUID // the run id when it is a canonical UUID
	raw    string    // the run id otherwise
	failed bool
}

func newRunEvent(at time.Time, failed bool, id string, dur time.Duration) runEvent {
	e := runEvent{atNS: at.UnixNano(), failed: failed, dur: dur}
	if canonicalUUID(id) {
		if u, err := uuid.Parse(id); err == nil && u != uuid.Nil {
			e.uid = u
			return e
		}
	}
	e.raw = id
	return e
}

// canonicalUUID reports whether id is a UUID as uuid.UUID.String writes
// it (lower-case hex, hyphenated), so that id() gives back the same string.
func canonicalUUID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// lastIDs is the ids of the last 10 runs of evs (failed ones only if
// failedOnly), oldest first: what an alert names.
func lastIDs(evs []runEvent, failedOnly bool) []string {
	var ids []string
	for i := len(evs) - 1; i >= 0 && len(ids) < 10; i-- {
		if !failedOnly || evs[i].failed {
			ids = append(ids, evs[i].id())
		}
	}
	slices.Reverse(ids)
	return ids
}

// at is when the run finished.
func (e *runEvent) at() time.Time { return time.Unix(0, e.atNS) }

// id is the run's id.
func (e *runEvent) id() string {
	if e.uid == uuid.Nil {
		return e.raw
	}
	return e.uid.String()
}

// Alerter evaluates rules over finished runs and notifies, deduplicating
// (one open alert per rule and flow), resolving, with a cooldown.
type Alerter struct {
	rules    []Rule
	notify   Notifier
	log      *slog.Logger
	cooldown time.Duration
	now      func() time.Time

	mu      sync.Mutex
	events  map[string][]runEvent // flow -> recent finished runs
	pending map[string]time.Time  // rule|flow -> condition true since
	open    map[string]*Alert     // rule|flow -> firing alert
	quiet   map[string]time.Time  // rule|flow -> no new alert before
	history []*Alert
	series  map[string]*watched // rule|flow -> anomaly rule state
	predict *Predictor          // optional: error prediction (predicted alerts)
	fed     *PredictFeed        // feeds and evaluates predict (several processes on one store)

	// Shared mode (several processes on one store): runs are read from the
	// store, and only the lease holder evaluates and notifies.
	st     store.Store
	holder string
	leader bool
	pulled time.Time            // finished runs up to here are in events
	db     store.Store          // where alerts are kept (nil: in memory only)
	seen   map[string]time.Time // run id -> finished, for the read overlap

	// Finished runs not yet folded into events (and the predictor), under
	// their own lock: a sync request's ObserveRun only appends here, so it
	// never queues behind an evaluation, nor, all sixteen callers at
	// once, behind a holder of mu that the OS took off its CPU
	// (BENCHMARKS.md §68). The caller that fills it, and every reader of
	// events, folds it in (flush); it holds at most inboxMax runs.
	inMu   sync.Mutex
	inbox  []inRun
	spare  []inRun     // the inbox's other buffer (under mu)
	shared atomic.Bool // st is set: ObserveRun ignores runs
}

// inRun is one finished run waiting in the inbox.
type inRun struct {
	flow string
	ev   runEvent
}

// inboxMax is how many finished runs wait at most: the next caller
// folds them into the windows before it adds its own.
const inboxMax = 256

// Persist keeps alerts in st (they survive restarts, and a process that
// takes over evaluation can resolve what another raised) and loads the
// ones stored.
func (a *Alerter) Persist(ctx context.Context, st store.Store) error {
	a.mu.Lock()
	a.db = st
	a.mu.Unlock()
	return a.load(ctx)
}

// load reads the stored alerts: the history, and the firing ones as open.
func (a *Alerter) load(ctx context.Context) error {
	docs, err := a.db.AlertDocs(ctx, 1000)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.history, a.open = nil, map[string]*Alert{}
	for i := len(docs) - 1; i >= 0; i-- { // oldest first
		var al Alert
		if json.Unmarshal(docs[i].Doc, &al) != nil {
			continue
		}
		a.history = append(a.history, &al)
		if al.Status == "firing" {
			a.open[docs[i].Key] = &al
		}
	}
	return nil
}

// save stores one alert's current state.
func (a *Alerter) save(ctx context.Context, al Alert) {
	a.mu.Lock()
	db := a.db
	a.mu.Unlock()
	if db == nil {
		return
	}
	doc, _ := json.Marshal(al)
	if err := db.SaveAlert(ctx, store.AlertDoc{ID: al.ID, Key: al.Rule + "|" + al.Flow, Status: al.Status, Doc: doc, CreatedAt: al.StartedAt}); err != nil {
		a.log.Error("alerts: saving", "alert", al.ID, "err", err)
	}
}

// leaseName is the store lease the evaluating process holds.
const leaseName = "alerts"

// Shared makes the alerter read finished runs from st (every process's
// runs count, not only this one's) and evaluate only while this process,
// named holder, holds the store's "alerts" lease, so one notification goes
// out per alert however many processes run.
func (a *Alerter) Shared(st store.Store, holder string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.st, a.holder, a.seen = st, holder, map[string]time.Time{}
	a.shared.Store(true)
}

// horizon is how much history the rules need.
func (a *Alerter) horizon() time.Duration {
	h := time.Hour
	for _, r := range a.rules {
		need := r.Window + r.Silent
		switch r.Kind {
		case "burst":
			need += r.Baseline
		case "anomaly":
			need = 120 * r.Resolution
		}
		if need > h {
			h = need
		}
	}
	if h > 48*time.Hour {
		h = 48 * time.Hour
	}
	return h
}

// sync takes or renews the lease and reads the runs finished since the
// last read (with an overlap for runs committed late), the newest 50,000
// at most. It reports whether this process evaluates now.
func (a *Alerter) sync(ctx context.Context, now time.Time, every time.Duration) bool {
	ok, err := a.st.TryLease(ctx, leaseName, a.holder, 3*every+time.Second)
	if err != nil {
		a.log.Warn("alerts: lease", "err", err)
		return false
	}
	a.mu.Lock()
	if !ok {
		a.leader = false
		a.mu.Unlock()
		return false
	}
	since := a.pulled.Add(-10 * time.Second)
	takeover := !a.leader || a.pulled.IsZero()
	if takeover {
		// Newly in charge: rebuild what the rules look back on.
		since = now.Add(-a.horizon())
		a.events, a.seen = map[string][]runEvent{}, map[string]time.Time{}
	}
	a.leader = true
	db := a.db
	a.mu.Unlock()
	if takeover && db != nil {
		// … and pick up the alerts the previous evaluator left open.
		if err := a.load(ctx); err != nil {
			a.log.Warn("alerts: loading", "err", err)
		}
	}
	var runs []*store.Run
	f := store.RunFilter{FinishedSince: since, Since: since.Add(-24 * time.Hour), Limit: 1000}
	for len(runs) < 50000 {
		page, err := a.st.ListRuns(ctx, f)
		if err != nil {
			a.log.Warn("alerts: reading finished runs", "err", err)
			return false
		}
		runs = append(runs, page...)
		if len(page) < f.Limit {
			break
		}
		f.Before = page[len(page)-1].ID
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].FinishedAt.Before(*runs[j].FinishedAt) })
	a.mu.Lock()
	defer a.mu.Unlock()
	touched := map[string]bool{}
	for _, r := range runs {
		if r.FinishedAt == nil {
			continue
		}
		if _, dup := a.seen[r.ID]; dup {
			continue
		}
		a.seen[r.ID] = *r.FinishedAt
		a.observe(r)
		touched[r.Flow] = true
	}
	for flow := range touched {
		evs := a.events[flow]
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].atNS < evs[j].atNS })
	}
	for id, at := range a.seen {
		if at.Before(since.Add(-time.Minute)) {
			delete(a.seen, id)
		}
	}
	a.pulled = now
	return true
}

// NewAlerter returns an alerter; with no rules it uses DefaultRules.
func NewAlerter(rules []Rule, notify Notifier, log *slog.Logger) *Alerter {
	if len(rules) == 0 {
		rules = DefaultRules
	}
	for i := range rules {
		if rules[i].Flow == "" {
			rules[i].Flow = "*"
		}
		if rules[i].Window <= 0 {
			rules[i].Window = time.Minute
		}
		if rules[i].MinRuns <= 0 {
			rules[i].MinRuns = 5
		}
		if rules[i].ErrorRate <= 0 {
			rules[i].ErrorRate = 0.5
		}
		if rules[i].Severity == "" {
			rules[i].Severity = "warning"
		}
		if rules[i].Alpha <= 0 {
			rules[i].Alpha = 0.001
		}
		if rules[i].Baseline <= 0 {
			rules[i].Baseline = 24 * time.Hour
		}
		if rules[i].Resolution <= 0 {
			rules[i].Resolution = time.Minute
		}
		if rules[i].MinScore <= 0 {
			rules[i].MinScore = 0.55 // near the detector's best thresholds on both evals (EVALS.md)
		}
		if rules[i].Metric == "" {
			rules[i].Metric = "runs"
		}
	}
	if log == nil {
		log = slog.Default()
	}
	return &Alerter{rules: rules, notify: notify, log: log, cooldown: time.Minute, now: time.Now,
		events: map[string][]runEvent{}, pending: map[string]time.Time{}, open: map[string]*Alert{}, quiet: map[string]time.Time{}, series: map[string]*watched{}}
}

// ObserveRun records a finished run (in shared mode the store is read
// instead).
func (a *Alerter) ObserveRun(r *store.Run) {
	if r == nil || r.FinishedAt == nil || a.shared.Load() {
		return
	}
	in := inRun{r.Flow, runEventOf(r)}
	a.inMu.Lock()
	for len(a.inbox) >= inboxMax {
		// Full: fold it in first (in order; flush takes the inbox under
		// inMu), then add this run.
		a.inMu.Unlock()
		a.mu.Lock()
		a.flush()
		a.mu.Unlock()
		a.inMu.Lock()
	}
	a.inbox = append(a.inbox, in)
	a.inMu.Unlock()
}

// flush folds the inbox into events and the predictor, in the order the
// runs came. Called with a.mu held.
func (a *Alerter) flush() {
	a.inMu.Lock()
	in := a.inbox
	a.inbox = a.spare[:0] // the two buffers take turns: no garbage a flush
	a.inMu.Unlock()
	if a.st == nil { // shared mode: the runs are read from the store
		for i := range in {
			a.add(in[i].flow, in[i].ev)
		}
	}
	clear(in)
	a.spare = in[:0]
}

// Flush folds the finished runs observed so far into the alert windows
// and the predictor now (evaluations do it themselves).
func (a *Alerter) Flush() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.flush()
}

func runEventOf(r *store.Run) runEvent {
	var dur time.Duration
	if !r.StartedAt.IsZero() {
		dur = r.FinishedAt.Sub(r.StartedAt)
	}
	return newRunEvent(*r.FinishedAt, r.Status == store.RunFailed || r.Status == store.RunDead, r.ID, dur)
}

func (a *Alerter) observe(r *store.Run) { a.add(r.Flow, runEventOf(r)) }

// add appends one finished run to its flow's window. Called with a.mu held.
func (a *Alerter) add(flow string, e runEvent) {
	ev := append(a.events[flow], e)
	if len(ev) > 10000 {
		ev = ev[len(ev)-10000:]
	}
	a.events[flow] = ev
	if a.predict != nil && a.fed == nil {
		a.predict.ObserveRun(flow, e.at(), e.failed, e.dur)
	}
}

// Predict makes the alerter evaluate pr with its rules: every finished
// run it sees goes to pr, and each new prediction raises an alert of kind
// "predicted" (rule predicted:<kind>, flow the subject), resolved when the
// prediction is withdrawn. Alert triggers match them like any alert.
func (a *Alerter) Predict(pr *Predictor) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.predict = pr
}

// PredictFed is Predict for a predictor that a PredictFeed feeds and
// evaluates (several processes on one store): the alerter neither feeds it
// runs nor evaluates it, and raises and resolves predicted alerts from the
// predictions in force.
func (a *Alerter) PredictFed(f *PredictFeed) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.predict, a.fed = f.pr, f
}

// Feed returns the feed set by PredictFed (nil: none).
func (a *Alerter) Feed() *PredictFeed {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fed
}

// Predictor returns the predictor set by Predict (nil: none).
func (a *Alerter) Predictor() *Predictor {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.predict
}

// predicted turns the predictor's new and withdrawn predictions into
// alert events. Called with a.mu held.
func (a *Alerter) predicted(now time.Time) []Alert {
	if a.predict == nil {
		return nil
	}
	var active []Prediction
	if a.fed != nil {
		active = a.predict.Active()
	} else {
		active, _, _ = a.predict.Evaluate(now)
	}
	// Raise what is predicted and not raised yet; resolve what is raised
	// and no longer predicted (also the ones a previous evaluator left).
	var send []Alert
	inForce := map[string]bool{}
	for _, p := range active {
		key := "predicted:" + p.Kind + "|" + p.Subject
		inForce[key] = true
		if open, ok := a.open[key]; ok {
			if open.Prediction != nil {
				cp := p
				open.Prediction = &cp // the latest forecast
			}
			continue
		}
		cp := p
		al := &Alert{ID: uuid.Must(uuid.NewV7()).String(), Rule: "predicted:" + p.Kind, Kind: "predicted", Flow: p.Subject, Severity: "warning", Status: "firing",
			Value: p.When.Sub(now).Seconds(), StartedAt: now, Prediction: &cp,
			Message: fmt.Sprintf("predicted: %s, in %s (at %s): %s", p.What, p.When.Sub(now).Round(time.Second), p.When.UTC().Format(time.RFC3339), p.Why)}
		a.open[key] = al
		a.history = append(a.history, al)
		if len(a.history) > 1000 {
			a.history = a.history[len(a.history)-1000:]
		}
		send = append(send, *al)
	}
	for key, open := range a.open {
		if open.Kind != "predicted" || inForce[key] || !strings.HasPrefix(key, "predicted:") {
			continue
		}
		var p Prediction
		if open.Prediction != nil {
			p = *open.Prediction
		}
		t := now
		open.Status, open.ResolvedAt = "resolved", &t
		if p.When.After(now) {
			open.Message = fmt.Sprintf("no longer predicted: %s", p.What)
		} else {
			open.Message = fmt.Sprintf("predicted time passed: %s (the alert rules judge what happened)", p.What)
		}
		delete(a.open, key)
		send = append(send, *open)
	}
	return send
}

// Evaluate checks every rule now and sends notifications.
func (a *Alerter) Evaluate(ctx context.Context) {
	a.evaluate(ctx, 5*time.Second)
}

func (a *Alerter) evaluate(ctx context.Context, every time.Duration) {
	now := a.now()
	if a.st != nil && !a.sync(ctx, now, every) {
		return
	}
	var send []Alert
	a.mu.Lock()
	a.flush()
	for _, r := range a.rules {
		for flow, evs := range a.events {
			if ok, _ := path.Match(r.Flow, flow); !ok {
				continue
			}
			// Drop what fell out of the longest window we need.
			cut := now.Add(-r.Window)
			i := sort.Search(len(evs), func(i int) bool { return !evs[i].at().Before(cut) })
			recent := evs[i:]
			failed := 0
			for i := range recent {
				if recent[i].failed {
					failed++
				}
			}
			ids := lastIDs(recent, true)
			rate := 0.0
			if len(recent) > 0 {
				rate = float64(failed) / float64(len(recent))
			}
			key := r.Name + "|" + flow
			switch r.Kind {
			case "burst", "anomaly":
				if al := a.evalKind(r, flow, evs, now, key); al != nil {
					send = append(send, *al)
				}
				continue
			}
			cond := len(recent) >= r.MinRuns && rate >= r.ErrorRate
			if r.Silent > 0 {
				// Went silent: busy in the window before the silence, nothing since.
				lastAt := time.Time{}
				if len(evs) > 0 {
					lastAt = evs[len(evs)-1].at()
				}
				before := 0
				for _, e := range evs {
					if e.at().After(lastAt.Add(-r.Window)) {
						before++
					}
				}
				cond = !lastAt.IsZero() && now.Sub(lastAt) >= r.Silent && before >= r.MinRuns
				if open, ok := a.open[key]; ok && !cond {
					t := now
					open.Status, open.ResolvedAt = "resolved", &t
					open.Message = fmt.Sprintf("%s is running again", flow)
					delete(a.open, key)
					send = append(send, *open)
					continue
				}
				if _, ok := a.open[key]; ok || !cond {
					continue
				}
				al := &Alert{ID: uuid.Must(uuid.NewV7()).String(), Rule: r.Name, Flow: flow, Severity: r.Severity, Status: "firing", Runs: before, StartedAt: now,
					Message: fmt.Sprintf("%s went silent: no run finished for %s (it finished %d in the %s before)", flow, now.Sub(lastAt).Round(time.Second), before, r.Window)}
				a.open[key] = al
				a.history = append(a.history, al)
				send = append(send, *al)
				continue
			}
			if open, ok := a.open[key]; ok {
				// Resolve once the condition is gone (for as long as it took to raise).
				if !cond && len(recent) > 0 && rate < r.ErrorRate/2 || len(recent) == 0 {
					t := now
					open.Status, open.ResolvedAt = "resolved", &t
					open.Message = fmt.Sprintf("%s recovered: error rate %.0f%% over the last %s (%d runs)", flow, rate*100, r.Window, len(recent))
					delete(a.open, key)
					a.quiet[key] = now.Add(a.cooldown)
					send = append(send, *open)
				}
				continue
			}
			if !cond {
				delete(a.pending, key)
				continue
			}
			since, ok := a.pending[key]
			if !ok {
				a.pending[key], since = now, now
			}
			if now.Sub(since) < r.For || now.Before(a.quiet[key]) {
				continue
			}
			al := &Alert{ID: uuid.Must(uuid.NewV7()).String(), Rule: r.Name, Flow: flow, Severity: r.Severity, Status: "firing",
				Value: rate, Runs: len(recent), RunIDs: ids, StartedAt: now,
				Message: fmt.Sprintf("%s is failing: %d of the last %d runs failed (%.0f%%, threshold %.0f%%) within %s", flow, failed, len(recent), rate*100, r.ErrorRate*100, r.Window)}
			a.open[key] = al
			delete(a.pending, key)
			a.history = append(a.history, al)
			if len(a.history) > 1000 {
				a.history = a.history[len(a.history)-1000:]
			}
			send = append(send, *al)
		}
	}
	send = append(send, a.predicted(now)...)
	a.mu.Unlock()
	for _, al := range send {
		a.save(ctx, al)
	}
	for _, al := range group(send) {
		if a.notify == nil {
			continue
		}
		if err := a.notify(ctx, al); err != nil {
			a.log.Error("alert notification failed", "alert", al.ID, "flow", al.Flow, "status", al.Status, "err", err)
		} else {
			a.log.Warn("alert", "status", al.Status, "flow", al.Flow, "rule", al.Rule, "message", al.Message)
		}
	}
}

// Raise records an alert that something other than a rule found (the
// engine's loop protection), stores it and notifies, once per rule and
// flow while it is open: a repeat updates the open alert's message and
// count without a second notification. It stays firing until acknowledged
// or resolved by Resolve.
func (a *Alerter) Raise(ctx context.Context, rule, flowName, severity, message string, runIDs []string) Alert {
	now := a.now()
	key := rule + "|" + flowName
	a.mu.Lock()
	if open, ok := a.open[key]; ok {
		open.Runs++
		open.Message = message
		open.RunIDs = append(open.RunIDs, runIDs...)
		if len(open.RunIDs) > 10 {
			open.RunIDs = open.RunIDs[len(open.RunIDs)-10:]
		}
		cp := *open
		a.mu.Unlock()
		a.save(ctx, cp)
		return cp
	}
	al := &Alert{ID: uuid.Must(uuid.NewV7()).String(), Rule: rule, Flow: flowName, Severity: severity, Status: "firing",
		Runs: 1, RunIDs: runIDs, StartedAt: now, Message: message}
	a.open[key] = al
	a.history = append(a.history, al)
	if len(a.history) > 1000 {
		a.history = a.history[len(a.history)-1000:]
	}
	cp := *al
	notify := a.notify
	a.mu.Unlock()
	a.save(ctx, cp)
	if notify != nil {
		if err := notify(ctx, cp); err != nil {
			a.log.Error("alert notification failed", "alert", cp.ID, "flow", cp.Flow, "err", err)
		} else {
			a.log.Warn("alert", "status", cp.Status, "flow", cp.Flow, "rule", cp.Rule, "message", cp.Message)
		}
	}
	return cp
}

// Resolve closes an open alert Raise made (a redeployed flow, a person
// who fixed it); false when none is open.
func (a *Alerter) Resolve(ctx context.Context, rule, flowName, message string) bool {
	now := a.now()
	a.mu.Lock()
	al, ok := a.open[rule+"|"+flowName]
	if !ok {
		a.mu.Unlock()
		return false
	}
	al.Status, al.ResolvedAt, al.Message = "resolved", &now, message
	delete(a.open, rule+"|"+flowName)
	cp := *al
	a.mu.Unlock()
	a.save(ctx, cp)
	return true
}

// Run evaluates every interval until ctx ends.
func (a *Alerter) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.evaluate(ctx, every)
		}
	}
}

// Alerts lists alerts, newest first.
func (a *Alerter) Alerts() []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Alert, 0, len(a.history))
	for i := len(a.history) - 1; i >= 0; i-- {
		out = append(out, *a.history[i])
	}
	return out
}

// Ack marks an alert acknowledged.
func (a *Alerter) Ack(id, who string) bool {
	a.mu.Lock()
	var acked *Alert
	for _, al := range a.history {
		if al.ID == id {
			al.AckedBy = who
			acked = al
		}
	}
	var cp Alert
	if acked != nil {
		cp = *acked
	}
	a.mu.Unlock()
	if acked == nil {
		return false
	}
	a.save(context.Background(), cp)
	return true
}
