package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/weftio/weft/flow"
)

// Alert trigger settings.
const (
	alertPollEvery = time.Second
	alertDocs      = 1000            // newest stored alerts read per pull
	alertLookback  = 2 * time.Minute // transitions saved late (another process, the same instant) are still seen
)

// alertSource serves alert triggers: it reads the stored alerts (the
// monitor saves every alert it raises or resolves) and fires one event per
// transition — an alert's firing, its resolution — that the flow's trigger
// matches. The idempotency key is the alert's id and the transition, so a
// transition starts one run however many times it is read, by however many
// processes. The cursor holds the newest transition time passed and the
// keys passed within the look-back before it.
type alertSource struct {
	e    *Engine
	mu   sync.Mutex
	last map[string]time.Time
}

func newAlertSource(e *Engine) *alertSource {
	return &alertSource{e: e, last: map[string]time.Time{}}
}

// Kind implements Source.
func (s *alertSource) Kind() string { return flow.TriggerAlert }

type alertCursor struct {
	At   time.Time `json:"at"`
	Seen []string  `json:"seen,omitempty"`
}

// alertDoc is the part of a stored alert the trigger reads; the whole
// document is the run's trigger.body.
type alertDoc struct {
	ID         string     `json:"id"`
	Rule       string     `json:"rule"`
	Flow       string     `json:"flow"`
	Severity   string     `json:"severity"`
	Status     string     `json:"status"`
	StartedAt  time.Time  `json:"started_at"`
	ResolvedAt *time.Time `json:"resolved_at"`
}

type alertTransition struct {
	at    time.Time
	event string
	doc   alertDoc
	body  map[string]any
	key   string
}

// Pull implements Source.
func (s *alertSource) Pull(ctx context.Context, f *flow.Flow, cursor string, now time.Time) ([]Event, string, error) {
	at := f.Trigger.Alert
	if at == nil {
		return nil, cursor, nil
	}
	s.mu.Lock()
	if last, ok := s.last[f.Name]; ok && now.Sub(last) < alertPollEvery {
		s.mu.Unlock()
		return nil, cursor, nil
	}
	s.last[f.Name] = now
	s.mu.Unlock()
	if cursor == "" {
		// First sight: alerts from now on start runs, not the history.
		b, _ := json.Marshal(alertCursor{At: now.UTC()})
		return nil, string(b), nil
	}
	var cur alertCursor
	if err := json.Unmarshal([]byte(cursor), &cur); err != nil {
		return nil, cursor, fmt.Errorf("alert: stored cursor %q: %v", cursor, err)
	}
	docs, err := s.e.st.AlertDocs(ctx, alertDocs)
	if err != nil {
		return nil, cursor, fmt.Errorf("alert: reading alerts: %v", err)
	}
	from := cur.At.Add(-alertLookback)
	seen := map[string]bool{}
	for _, k := range cur.Seen {
		seen[k] = true
	}
	var trs []alertTransition
	for _, d := range docs {
		var body map[string]any
		var doc alertDoc
		if json.Unmarshal(d.Doc, &body) != nil || json.Unmarshal(d.Doc, &doc) != nil || doc.ID == "" {
			continue
		}
		add := func(event string, t time.Time) {
			if t.Before(from) {
				return
			}
			trs = append(trs, alertTransition{at: t, event: event, doc: doc, body: body, key: "alert:" + doc.ID + ":" + event})
		}
		add(flow.AlertFired, doc.StartedAt)
		if doc.ResolvedAt != nil {
			add(flow.AlertResolved, *doc.ResolvedAt)
		}
	}
	sort.SliceStable(trs, func(i, j int) bool { return trs[i].at.Before(trs[j].at) })
	next := alertCursor{At: cur.At}
	var events []Event
	for _, tr := range trs {
		if tr.at.After(next.At) {
			next.At = tr.at
		}
		if seen[tr.key] {
			continue
		}
		seen[tr.key] = true
		if tr.doc.Flow == f.Name || !at.Matches(tr.event, tr.doc.Rule, tr.doc.Flow, tr.doc.Severity) {
			continue
		}
		ev := Event{Kind: flow.TriggerAlert, Body: tr.body, Fields: map[string]any{"event": tr.event}, IdemKey: tr.key}
		if w := at.Compiled(); w != nil {
			ok, err := w.EvalBool(&flow.Scope{Trigger: ev.input(), Run: map[string]any{"started_at": now.UTC()}})
			if err != nil {
				s.e.log.Warn("alert: when", "flow", f.Name, "alert", tr.doc.ID, "err", err)
				continue
			}
			if !ok {
				continue
			}
		}
		events = append(events, ev)
	}
	// Keep the keys still inside the look-back of the new position.
	keep := next.At.Add(-alertLookback)
	for _, tr := range trs {
		if !tr.at.Before(keep) && seen[tr.key] {
			next.Seen = append(next.Seen, tr.key)
			seen[tr.key] = false
		}
	}
	b, _ := json.Marshal(next)
	return events, string(b), nil
}
