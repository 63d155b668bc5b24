package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftio/weft/flow"
)

// Loop protection. A run carries its hop in trigger.headers["x-weft-hop"]:
// 0 (absent) for a run something else caused, n+1 for a run started by a
// record that a run at hop n of the same flow wrote. When a flow's step
// writes records of the kind its own poll trigger watches, the engine
// remembers the identities of what it wrote (the record's key and id, from
// the call's output and input) with the run's hop; when the poll then
// fires for such a record, the new run gets the next hop. A run past
// Config.LoopHops is not started: the record is passed over, the cursor
// moves on, and Config.OnLoop is told (the monitor raises an alert).
//
// The memory is per process and bounded (loopMarksMax identities, each
// kept loopMarkTTL); a chain whose writes and polls land on different
// processes is not followed.

// HopHeader is the trigger header that carries a run's loop hop.
const HopHeader = "x-weft-hop"

const (
	defaultLoopHops = 2
	loopMarksMax    = 10000
	loopMarkTTL     = 24 * time.Hour
)

// Loop is a chain of self-caused runs the engine stopped.
type Loop struct {
	Flow      string    `json:"flow"`
	Operation string    `json:"operation"` // the step's call that wrote the record
	Step      string    `json:"step"`
	Run       string    `json:"run"` // the run that wrote it
	Record    string    `json:"record"`
	Hop       int       `json:"hop"` // the hop the refused run would have had
	Limit     int       `json:"limit"`
	At        time.Time `json:"at"`
}

func (l Loop) String() string {
	return fmt.Sprintf("flow %s: record %s was written by its own run %s (step %s, %s); a run for it would be self-caused run %d in a chain, over the limit of %d, so it was not started",
		l.Flow, l.Record, l.Run, l.Step, l.Operation, l.Hop, l.Limit)
}

type loopMark struct {
	hop       int
	at        time.Time
	run, step string
	op        string
}

type loopGuard struct {
	mu    sync.Mutex
	marks map[string]loopMark // flow \x00 identity -> mark
	order []string            // insertion order, for the bound
}

func (g *loopGuard) put(flowName, id string, m loopMark) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.marks == nil {
		g.marks = map[string]loopMark{}
	}
	k := flowName + "\x00" + id
	if _, ok := g.marks[k]; !ok {
		g.order = append(g.order, k)
	}
	g.marks[k] = m
	for len(g.order) > loopMarksMax {
		delete(g.marks, g.order[0])
		g.order = g.order[1:]
	}
}

func (g *loopGuard) get(flowName string, ids []string, now time.Time) (loopMark, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	best, found := loopMark{}, false
	for _, id := range ids {
		m, ok := g.marks[flowName+"\x00"+id]
		if !ok || now.Sub(m.at) > loopMarkTTL {
			continue
		}
		if !found || m.hop > best.hop {
			best, found = m, true
		}
	}
	return best, found
}

func (e *Engine) loopLimit() int {
	if e.cfg.LoopHops == 0 {
		return defaultLoopHops
	}
	return e.cfg.LoopHops
}

// runHop is the run's hop from its trigger headers.
func runHop(trigger map[string]any) int {
	h, _ := trigger["headers"].(map[string]any)
	v, _ := h[HopHeader].(string)
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 1<<20 {
		return 0
	}
	return n
}

// noteWrite remembers what a call step that writes the flow's own trigger
// records wrote, with the run's hop.
func (rs *runState) noteWrite(s *flow.Step, in map[string]any, out any) {
	if rs.e.loopLimit() < 0 || !flow.WritesTriggerRecords(rs.f, s, rs.e.cat) {
		return
	}
	_, keyField := rs.e.pollKeyField(rs.f.Trigger.Poll)
	_, _, res := flow.OperationResource(s.Call)
	var ids []string
	add := func(m map[string]any) {
		for _, f := range identityFields(keyField, res) {
			if v, ok := lookupPath(m, f); ok && v != nil {
				if k := scalarKey(v); k != "" && len(k) <= 256 {
					ids = append(ids, k)
				}
			}
		}
	}
	if m, ok := out.(map[string]any); ok {
		add(m)
		for _, v := range m { // a record wrapped in one object ({"data": {...}})
			if inner, ok := v.(map[string]any); ok {
				add(inner)
			}
		}
	}
	add(in)
	mark := loopMark{hop: runHop(rs.trigger), at: rs.e.now(), run: rs.run.ID, step: s.ID, op: s.Call}
	for _, id := range dedupeStrings(ids) {
		rs.e.loops.put(rs.f.Name, id, mark)
	}
}

// identityFields are where a record's identity may sit: the trigger's key
// field, "id", and the record kind's id field (accountId, account_id).
func identityFields(keyField, resource string) []string {
	out := []string{"id"}
	if keyField != "" && keyField != "id" {
		out = append(out, keyField)
	}
	if resource != "" {
		words := strings.Fields(resource)
		camel := words[0]
		for _, w := range words[1:] {
			camel += strings.ToUpper(w[:1]) + w[1:]
		}
		out = append(out, camel+"Id", strings.Join(words, "_")+"_id")
	}
	return out
}

// recordIDs are a polled record's identities, as noteWrite keys them.
func recordIDs(body map[string]any, keyField string) []string {
	var ids []string
	for _, f := range []string{"id", keyField} {
		if f == "" {
			continue
		}
		if v, ok := lookupPath(body, f); ok && v != nil {
			ids = append(ids, scalarKey(v))
		}
	}
	return dedupeStrings(ids)
}

// hopFor decides a polled record's run: its hop (0 when no run of this
// flow wrote it), and whether the run may start.
func (e *Engine) hopFor(f *flow.Flow, body map[string]any, keyField string) (int, bool) {
	limit := e.loopLimit()
	if limit < 0 {
		return 0, true
	}
	m, ok := e.loops.get(f.Name, recordIDs(body, keyField), e.now())
	if !ok {
		return 0, true
	}
	hop := m.hop + 1
	if hop <= limit {
		return hop, true
	}
	l := Loop{Flow: f.Name, Operation: m.op, Step: m.step, Run: m.run, Record: strings.Join(recordIDs(body, keyField), "/"), Hop: hop, Limit: limit, At: e.now().UTC()}
	e.log.Warn("loop protection: run not started", "flow", l.Flow, "record", l.Record, "hop", l.Hop, "limit", l.Limit, "written_by", l.Run)
	if e.cfg.OnLoop != nil {
		e.cfg.OnLoop(context.Background(), l)
	}
	return hop, false
}

// pollKeyField is the poll trigger's record key field (as PollRecords
// resolves it).
func (e *Engine) pollKeyField(pt *flow.PollTrigger) (cursorField, keyField string) {
	if pt == nil {
		return "", ""
	}
	cursorField, keyField = pt.Cursor, pt.Key
	connector := strings.SplitN(pt.Operation, ".", 2)[0]
	if x, ok := e.cat.Connector(connector); ok {
		for _, t := range x.Triggers {
			if connector+"."+t.Operation == pt.Operation || t.Operation == pt.Operation {
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
	if keyField == "" {
		keyField = cursorField
	}
	return cursorField, keyField
}

func dedupeStrings(xs []string) []string {
	seen := map[string]bool{}
	out := xs[:0]
	for _, x := range xs {
		if x != "" && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
