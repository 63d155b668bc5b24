package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/flow"
)

// Poll defaults.
const (
	defaultPollEvery   = 30 * time.Second
	defaultPollMaxRuns = 1000
	pollCallTimeout    = time.Minute
)

// pollSource serves poll triggers: it calls the flow's list operation,
// keeps the records whose cursor field is at or past the stored cursor, and
// fires one event per record, oldest first. The stored cursor is the JSON of
// the highest cursor value fired. A record's idempotency key is its key and
// cursor values, so an updated record (new updated_at) starts a new run and
// a record seen twice (same cursor, another process, a restart) does not.
type pollSource struct {
	e    *Engine
	mu   sync.Mutex
	last map[string]time.Time // flow -> last poll (this process)
}

func newPollSource(e *Engine) *pollSource { return &pollSource{e: e, last: map[string]time.Time{}} }

// Kind implements Source.
func (p *pollSource) Kind() string { return flow.TriggerPoll }

// Pull implements Source.
func (p *pollSource) Pull(ctx context.Context, f *flow.Flow, cursor string, now time.Time) ([]Event, string, error) {
	pt := f.Trigger.Poll
	every := pt.Every
	if every <= 0 {
		every = defaultPollEvery
	}
	p.mu.Lock()
	if last, ok := p.last[f.Name]; ok && now.Sub(last) < every {
		p.mu.Unlock()
		return nil, cursor, nil
	}
	p.last[f.Name] = now
	p.mu.Unlock()

	// As a call step's: the connection must be the flow's namespace's
	// (checked at deploy; again here for one moved since).
	if c, ok := p.e.cat.LookupConnection(pt.Connection); ok && f.Namespace != "" && access.NamespaceOr(c.Namespace) != f.Namespace {
		return nil, cursor, fmt.Errorf("poll: connection %q belongs to namespace %q, not the flow's (%q)", pt.Connection, access.NamespaceOr(c.Namespace), f.Namespace)
	}
	items, cursorField, keyField, err := p.e.PollRecords(ctx, pt, cursor)
	if err != nil {
		return nil, cursor, err
	}
	pc, err := parsePollCursor(cursor)
	if err != nil {
		return nil, cursor, err
	}
	var recs []rec
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, cursor, fmt.Errorf("poll: record %d is %T, not an object", i, it)
		}
		cv, ok := lookupPath(m, cursorField)
		if !ok || cv == nil {
			return nil, cursor, fmt.Errorf("poll: record %d has no cursor field %q (set poll.cursor to a field that increases)", i, cursorField)
		}
		kv, ok := lookupPath(m, keyField)
		if !ok {
			return nil, cursor, fmt.Errorf("poll: record %d has no key field %q", i, keyField)
		}
		if pc.At != nil {
			c := compareCursor(cv, pc.At)
			if c < 0 || c == 0 && pc.has(scalarKey(kv)) {
				continue
			}
		}
		recs = append(recs, rec{m, cv, kv})
	}
	sort.SliceStable(recs, func(i, j int) bool { return compareCursor(recs[i].cur, recs[j].cur) < 0 })
	if len(recs) == 0 {
		if cursor == "" && pt.Start != "all" {
			// A first poll that finds nothing (a filtered list, an empty
			// source) still marks the start: what appears later is new.
			return nil, `{"at":null}`, nil
		}
		return nil, cursor, nil
	}
	fire := recs
	if cursor == "" && pt.Start != "all" {
		// First poll with start: now: remember where the source stands and
		// start runs only for what comes after.
		fire = nil
	} else {
		max := pt.MaxRuns
		if max <= 0 {
			max = defaultPollMaxRuns
		}
		if len(fire) > max {
			fire = fire[:max]
		}
	}
	// The new cursor: the highest value passed, and the keys passed at it
	// (records sharing a timestamp are not lost or repeated).
	seen := recs
	if fire != nil {
		seen = fire
	}
	next := pollCursor{At: seen[len(seen)-1].cur}
	if compareCursor(next.At, pc.At) == 0 && pc.At != nil {
		next.Keys = pc.Keys
	}
	for _, r := range seen {
		if compareCursor(r.cur, next.At) == 0 {
			next.Keys = append(next.Keys, scalarKey(r.key))
		}
	}
	if w := pt.Compiled(); w != nil {
		fire = p.filter(f, w, pt.Edge, fire, seen, pc.Held, &next, now)
	}
	b, _ := json.Marshal(next)
	// Loop protection: a record this flow's own runs wrote starts a run one
	// hop further, and none past the limit (the cursor still moves on).
	hops := make([]int, 0, len(fire))
	kept := fire[:0:0]
	for _, r := range fire {
		hop, ok := p.e.hopFor(f, r.body, keyField)
		if ok {
			kept = append(kept, r)
			hops = append(hops, hop)
		}
	}
	fire = kept
	if pt.Batch {
		if len(fire) == 0 {
			return nil, string(b), nil
		}
		records := make([]any, len(fire))
		for i, r := range fire {
			records[i] = r.body
		}
		first, last := fire[0], fire[len(fire)-1]
		max := 0
		for _, h := range hops {
			if h > max {
				max = h
			}
		}
		return []Event{{Kind: flow.TriggerPoll, Body: map[string]any{"records": records, "count": int64(len(records))}, Headers: hopHeaders(max),
			IdemKey: "poll:" + scalarKey(first.key) + "@" + scalarKey(first.cur) + ".." + scalarKey(last.key) + "@" + scalarKey(last.cur)}}, string(b), nil
	}
	events := make([]Event, 0, len(fire))
	for i, r := range fire {
		events = append(events, Event{Kind: flow.TriggerPoll, Body: r.body, Headers: hopHeaders(hops[i]),
			IdemKey: "poll:" + scalarKey(r.key) + "@" + scalarKey(r.cur)})
	}
	return events, string(b), nil
}

// rec is one polled record.
type rec struct {
	body     map[string]any
	cur, key any
}

// filter keeps the records to fire whose when condition holds; with edge,
// only those for which it did not hold before (next.Held carries the keys
// it holds for, from held and every record seen now).
func (p *pollSource) filter(f *flow.Flow, w *flow.Expr, edge bool, fire, seen []rec, held []string, next *pollCursor, now time.Time) []rec {
	holds := func(r rec) (bool, error) {
		ev := Event{Kind: flow.TriggerPoll, Body: r.body}
		return w.EvalBool(&flow.Scope{Trigger: ev.input(), Run: map[string]any{"started_at": now.UTC()}})
	}
	was := map[string]bool{}
	order := make([]string, 0, len(held))
	for _, k := range held {
		was[k] = true
		order = append(order, k)
	}
	firing := map[string]bool{}
	for _, r := range fire {
		firing[scalarKey(r.key)] = true
	}
	var kept []rec
	for _, r := range seen {
		k := scalarKey(r.key)
		ok, err := holds(r)
		if err != nil {
			p.e.log.Warn("poll: when", "flow", f.Name, "key", k, "err", err)
			ok = false
		}
		if firing[k] && ok && !(edge && was[k]) {
			kept = append(kept, r)
		}
		if edge {
			if ok && !was[k] {
				order = append(order, k)
			}
			was[k] = ok
		}
	}
	if edge {
		next.Held = next.Held[:0]
		for _, k := range order {
			if was[k] {
				next.Held = append(next.Held, k)
				was[k] = false // once
			}
		}
		if len(next.Held) > maxHeld {
			next.Held = next.Held[len(next.Held)-maxHeld:]
		}
	}
	return kept
}

// hopHeaders are a polled run's headers: its hop when a run of the same
// flow caused it, none otherwise.
func hopHeaders(hop int) map[string]string {
	if hop <= 0 {
		return nil
	}
	return map[string]string{HopHeader: strconv.Itoa(hop)}
}

// pollCursor is a poll trigger's stored position: the highest cursor value
// passed and the keys of the records passed at exactly that value.
type pollCursor struct {
	At   any      `json:"at"`
	Keys []string `json:"keys,omitempty"`
	// Held are the keys whose record last met an edge trigger's when
	// condition (the newest maxHeld): they start no run until it fails
	// for them and holds again.
	Held []string `json:"held,omitempty"`
}

// maxHeld bounds an edge poll trigger's remembered keys.
const maxHeld = 10000

func (c pollCursor) has(key string) bool {
	for _, k := range c.Keys {
		if k == key {
			return true
		}
	}
	return false
}

func parsePollCursor(s string) (pollCursor, error) {
	var c pollCursor
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("poll: stored cursor %q is not a poll cursor: %v", s, err)
	}
	return c, nil
}

// PollRecords calls a poll trigger's operation once with the given stored
// cursor and returns the records and the cursor and key fields in effect
// (the flow's, else the connector's declared trigger defaults).
func (e *Engine) PollRecords(ctx context.Context, pt *flow.PollTrigger, cursor string) (items []any, cursorField, keyField string, err error) {
	op, ok := e.cat.Operation(pt.Operation)
	if !ok {
		return nil, "", "", fmt.Errorf("poll: operation %q is not installed", pt.Operation)
	}
	connector := strings.SplitN(pt.Operation, ".", 2)[0]
	itemsPath, cursorField, keyField := pt.Items, pt.Cursor, pt.Key
	if x, ok := e.cat.Connector(connector); ok {
		for _, t := range x.Triggers {
			if connector+"."+t.Operation == pt.Operation || t.Operation == pt.Operation {
				if itemsPath == "" {
					itemsPath = t.Items
				}
				if cursorField == "" {
					cursorField = t.Cursor
				}
				if keyField == "" {
					keyField = t.Key
				}
				break
			}
		}
	}
	if cursorField == "" {
		return nil, "", "", fmt.Errorf("poll: set poll.cursor, the record field that increases (an id or updated_at)")
	}
	if keyField == "" {
		keyField = cursorField
	}
	var conn *connectors.Connection
	if pt.Connection != "" {
		if conn, err = e.connection(ctx, pt.Connection, connector); err != nil {
			return nil, "", "", fmt.Errorf("poll: %v", err)
		}
	}
	pc, err := parsePollCursor(cursor)
	if err != nil {
		return nil, "", "", err
	}
	cur := pc.At
	in := map[string]any{}
	if pt.Input != nil {
		v, err := pt.Input.Eval(&flow.Scope{Trigger: map[string]any{"cursor": cur, "kind": flow.TriggerPoll}, Run: map[string]any{"started_at": e.now().UTC()}})
		if err != nil {
			return nil, "", "", fmt.Errorf("poll: input: %v", err)
		}
		if m, ok := v.(map[string]any); ok {
			in = m
		}
	}
	cctx, cancel := context.WithTimeout(ctx, pollCallTimeout)
	defer cancel()
	out, err := op.Invoke(cctx, connectors.Call{Input: in, Connection: conn})
	if err != nil {
		return nil, "", "", fmt.Errorf("poll: %s: %v", pt.Operation, err)
	}
	var list any = out
	if itemsPath != "" {
		m, _ := out.(map[string]any)
		v, ok := lookupPath(m, itemsPath)
		if !ok {
			return nil, "", "", fmt.Errorf("poll: the output of %s has no %q", pt.Operation, itemsPath)
		}
		list = v
	}
	items, ok = list.([]any)
	if !ok {
		if ms, ok2 := list.([]map[string]any); ok2 {
			for _, m := range ms {
				items = append(items, m)
			}
			return items, cursorField, keyField, nil
		}
		if list == nil {
			return nil, cursorField, keyField, nil
		}
		return nil, "", "", fmt.Errorf("poll: %s returned %T at %q, not a list (set poll.items)", pt.Operation, list, itemsPath)
	}
	return items, cursorField, keyField, nil
}

// lookupPath follows a dotted path through nested objects.
func lookupPath(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, part := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// compareCursor orders cursor values: numbers numerically (numeric strings
// too), times chronologically, other strings lexically.
func compareCursor(a, b any) int {
	fa, aok := cursorNumber(a)
	fb, bok := cursorNumber(b)
	if aok && bok {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	sa, sb := scalarKey(a), scalarKey(b)
	if ta, err := time.Parse(time.RFC3339Nano, sa); err == nil {
		if tb, err := time.Parse(time.RFC3339Nano, sb); err == nil {
			return ta.Compare(tb)
		}
	}
	return strings.Compare(sa, sb)
}

func cursorNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	}
	return 0, false
}

func scalarKey(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
