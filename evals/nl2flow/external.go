package main

// The external set: requests whose wording comes from other people (public
// automation templates and help-centre pages), mapped onto the example
// catalog, in evals/nl2flow/data/external (dev.jsonl; heldout/heldout.jsonl,
// never tuned on). See data/external/README.md for the format and sources.

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/nl2flow"
)

// extRecord is one line of an external data file.
type extRecord struct {
	ID      string   `json:"id"`
	Text    string   `json:"text"`    // as the source wrote it (light trimming, see note)
	Trigger string   `json:"trigger"` // poll OP | schedule CLASS or CRON | webhook | manual | any | unavailable
	Steps   string   `json:"steps"`   // same syntax as the own set: OP, if( ... ) else( ... ), each( ... )
	Params  string   `json:"params,omitempty"`
	Writes  []string `json:"writes"`  // connectors the request asks to change (conn, or conn:delete)
	Clauses []string `json:"clauses"` // kind:words, kind in cond wait loop fmt miss
	Source  string   `json:"source"`
	Kind    string   `json:"kind"`
	Licence string   `json:"licence"`
	Note    string   `json:"note,omitempty"`
}

// extItem is a record ready to compile: the request is the text with the
// system names mapped onto the catalog's (systems.tsv).
type extItem struct {
	rec     extRecord
	request string
	gold    item
}

const maxExtLine = 16 << 10

var clauseKinds = map[string]bool{"cond": true, "wait": true, "loop": true, "fmt": true, "miss": true}

// needsMissing says whether the request also asks for a system or
// capability the catalog lacks (a miss: clause).
func (it extItem) needsMissing() bool {
	for _, c := range it.rec.Clauses {
		if strings.HasPrefix(c, "miss:") {
			return true
		}
	}
	return false
}

// loadExternal reads one JSONL file of the external set and maps each text
// onto the catalog with the rules in systems.tsv.
func loadExternal(path string, sys *systemMap) ([]extItem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []extItem
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), maxExtLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r extRecord
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		if r.ID == "" || strings.TrimSpace(r.Text) == "" || r.Trigger == "" || r.Source == "" || r.Licence == "" {
			return nil, fmt.Errorf("%s:%d: id, text, trigger, source and licence are required", path, n)
		}
		for _, c := range r.Clauses {
			k, w, ok := strings.Cut(c, ":")
			if !ok || !clauseKinds[k] || strings.TrimSpace(w) == "" {
				return nil, fmt.Errorf("%s:%d: clause %q: want KIND:WORDS, KIND one of cond wait loop fmt miss", path, n, c)
			}
		}
		it := extItem{rec: r, request: sys.apply(r.Text)}
		it.gold = item{line: n, style: r.Kind, text: it.request, trigger: strings.Join(strings.Fields(r.Trigger), " "),
			steps: skeletonTokens(r.Steps), params: map[string]string{}}
		for _, p := range strings.Split(r.Params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok {
				it.gold.params[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		out = append(out, it)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return out, nil
}

// splitOf is the split an item belongs to, fixed by the SHA-256 of its
// source page (without a #fragment) before the compiler saw any item: the
// first byte scaled to 0..99, below 60 dev, else heldout. Two wordings from
// one page always land together.
func splitOf(source string) string {
	page, _, _ := strings.Cut(source, "#")
	h := sha256.Sum256([]byte(page))
	if int(h[0])*100/256 < 60 {
		return "dev"
	}
	return "heldout"
}

// systemMap maps system names as people write them onto the example
// catalog's names.
type systemMap struct {
	res  []*regexp.Regexp
	with []string
}

func loadSystems(path string) (*systemMap, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	type pair struct{ from, to string }
	var ps []pair
	for i, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		from, to, ok := strings.Cut(l, "\t")
		if !ok || strings.TrimSpace(from) == "" || strings.TrimSpace(to) == "" {
			return nil, fmt.Errorf("%s:%d: want NAME<TAB>CATALOG NAME", path, i+1)
		}
		ps = append(ps, pair{strings.TrimSpace(from), strings.TrimSpace(to)})
	}
	sort.SliceStable(ps, func(i, j int) bool { return len(ps[i].from) > len(ps[j].from) })
	m := &systemMap{}
	for _, p := range ps {
		m.res = append(m.res, regexp.MustCompile(`(?i)\b`+regexp.QuoteMeta(p.from)+`\b`))
		m.with = append(m.with, p.to)
	}
	return m, nil
}

// apply replaces every listed name, longest first; a replaced span is not
// matched again by a shorter name.
func (m *systemMap) apply(s string) string {
	type span struct {
		a, b int
		to   string
	}
	var spans []span
	taken := func(a, b int) bool {
		for _, sp := range spans {
			if a < sp.b && b > sp.a {
				return true
			}
		}
		return false
	}
	for i, re := range m.res {
		for _, loc := range re.FindAllStringIndex(s, -1) {
			if !taken(loc[0], loc[1]) {
				spans = append(spans, span{loc[0], loc[1], m.with[i]})
			}
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].a < spans[j].a })
	var b strings.Builder
	at := 0
	for _, sp := range spans {
		b.WriteString(s[at:sp.a])
		b.WriteString(sp.to)
		at = sp.b
	}
	b.WriteString(s[at:])
	return b.String()
}

// triggerMatch compares a draft's trigger with an external gold trigger.
// scored is false for "any" and "unavailable" (the latter is judged as a
// clause: the request must say the catalog cannot observe it).
func triggerMatch(gold string, f *flow.Flow, draftSig string) (ok, scored bool) {
	kind, rest, _ := strings.Cut(gold, " ")
	switch kind {
	case "any", "unavailable":
		return false, false
	case "schedule":
		if f == nil || f.Trigger.Schedule == nil {
			return false, true
		}
		cron := strings.Fields(f.Trigger.Schedule.Cron)
		want := strings.Fields(rest)
		switch {
		case len(want) == 0:
			return true, true
		case len(want) == 1:
			return cronClass(cron) == want[0], true
		case len(want) == 5:
			return strings.Join(cron, " ") == strings.Join(want, " "), true
		}
		return draftSig == gold, true
	}
	return draftSig == gold, true
}

// cronClass is how often a cron expression fires: every (more than hourly),
// hourly, daily (weekdays included), weekly, monthly.
func cronClass(f []string) string {
	if len(f) != 5 {
		return ""
	}
	fixed := func(s string) bool { return s != "*" && !strings.ContainsAny(s, "/,-") }
	switch {
	case !fixed(f[0]):
		return "every"
	case !fixed(f[1]):
		return "hourly"
	case f[2] != "*":
		return "monthly"
	case f[4] != "*" && f[4] != "1-5" && f[4] != "MON-FRI":
		return "weekly"
	}
	return "daily"
}

// extResult is what the external set measures beyond the own set's scores.
type extResult struct {
	trigScored, trigOK bool
	trigStepless       bool     // right only as read from a draft with no steps (no flow: its trigger read from the YAML)
	goldStepless       bool     // the gold outline itself has no step (only the trigger is in the catalog)
	unrequested        []string // draft write steps the request did not ask for
	clauses, dropped   int
	droppedOld         int            // by the session-12 definition (a stepless draft's right trigger dropped)
	kinds, kindsDrop   map[string]int // clauses and silent drops per kind
	droppedWhat        []string
	conf               float64
	right              bool
}

// judgeExternal scores the annotations of one external item.
func judgeExternal(it extItem, d *nl2flow.Draft, r result, cat *nl2flow.Catalog) extResult {
	var x extResult
	var f *flow.Flow
	if d != nil {
		f = d.Flow
		x.conf = d.Confidence
	}
	x.trigOK, x.trigScored = triggerMatch(it.gold.trigger, f, r.trig)
	if tf := steplessTrigger(d); f == nil && tf != nil && !x.trigOK {
		// A draft whose steps were all refused or not understood is no
		// flow, yet its trigger is what the request asked: read it from
		// the YAML, and count it apart.
		x.trigOK, x.trigScored = triggerMatch(it.gold.trigger, tf, triggerSig(tf))
		x.trigStepless = x.trigOK
	}
	x.goldStepless = true
	for _, t := range it.gold.steps {
		if strings.Contains(t, ".") {
			x.goldStepless = false
		}
	}
	x.unrequested = unrequestedWrites(it.rec.Writes, f, cat)
	clauses := it.rec.Clauses
	// Every gold operation and a concrete trigger are clauses too.
	seen := map[string]bool{}
	for _, t := range it.gold.steps {
		if strings.Contains(t, ".") && !seen[t] {
			seen[t] = true
			clauses = append(clauses, "step:"+t)
		}
	}
	if x.trigScored && (strings.HasPrefix(it.gold.trigger, "poll ") || strings.HasPrefix(it.gold.trigger, "schedule") || it.gold.trigger == "webhook") {
		clauses = append(clauses, "trigger:"+it.gold.trigger)
	}
	var unknown []string
	if d != nil {
		unknown = d.NotUnderstood
	}
	x.kinds, x.kindsDrop = map[string]int{}, map[string]int{}
	for _, c := range clauses {
		x.clauses++
		kind, words, _ := strings.Cut(c, ":")
		x.kinds[kind]++
		if compiled(kind, words, f, x.trigOK) || covered(kind, words, unknown, cat) {
			// Before session 13 a right trigger of a draft with no steps
			// counted as dropped: kept apart so figures stay comparable.
			if kind == "trigger" && f == nil && !covered(kind, words, unknown, cat) {
				x.droppedOld++
			}
			continue
		}
		x.droppedOld++
		x.dropped++
		x.kindsDrop[kind]++
		x.droppedWhat = append(x.droppedWhat, c)
	}
	// Right needs a flow: a draft with no steps is not one, whatever its
	// trigger.
	x.right = len(x.unrequested) == 0 && x.dropped == 0 && r.fp == 0 && r.fn == 0 && (!x.trigScored || x.trigOK && !x.trigStepless)
	return x
}

// compiled says whether a draft carries a clause: a condition as an if or
// switch step or a poll trigger's input filter; a wait as a wait step; a loop
// as a foreach; an operation as a call of it; the trigger when it matches.
// Formats and systems the catalog lacks cannot be compiled: they must be
// named in not_understood.
func compiled(kind, words string, f *flow.Flow, trigOK bool) bool {
	if kind == "trigger" {
		// A draft with no steps still shows its trigger (trigOK reads it
		// from the YAML then): it was compiled, not dropped.
		return trigOK
	}
	if f == nil {
		return false
	}
	has := func(k string) bool {
		found := false
		flow.Walk(f.Steps, func(s *flow.Step) {
			if s.Kind == k {
				found = true
			}
		})
		return found
	}
	switch kind {
	case "cond":
		return has(flow.KindIf) || has(flow.KindSwitch) || (f.Trigger.Poll != nil && f.Trigger.Poll.Input != nil && len(f.Trigger.Poll.Input.Map) > 0)
	case "wait":
		return has(flow.KindWait)
	case "loop":
		return has(flow.KindForeach)
	case "step":
		found := false
		flow.Walk(f.Steps, func(s *flow.Step) {
			if s.Kind == flow.KindCall && s.Call == words {
				found = true
			}
		})
		return found
	case "trigger":
		return trigOK
	}
	return false
}

// parenRe matches a parenthesised aside; an aside that lists what is
// connected or pollable names every system and so covers nothing.
var parenRe = regexp.MustCompile(`\([^()]*\)`)

var wordRe = regexp.MustCompile(`[\p{L}\p{N}][\p{L}\p{N}.\-]*`)

var coverStop = map[string]bool{"with": true, "from": true, "that": true, "this": true, "when": true, "into": true,
	"your": true, "then": true, "their": true, "have": true, "been": true, "after": true, "before": true, "data": true}

// covered says whether not_understood names a clause: it contains the
// clause's words, or shares one of its words of four letters or more. For an
// operation, naming its system or its object counts. Parenthesised asides
// are left out (see parenRe).
func covered(kind, words string, unknown []string, cat *nl2flow.Catalog) bool {
	if len(unknown) == 0 {
		return false
	}
	hay := strings.ToLower(parenRe.ReplaceAllString(strings.Join(unknown, " "), " "))
	if kind == "step" || kind == "trigger" {
		ref := strings.TrimPrefix(strings.TrimPrefix(words, "poll "), "schedule ")
		if op, ok := cat.Op(ref); ok {
			cand := append([]string{op.Object, op.Connector}, op.System...)
			for _, w := range cand {
				if len(w) >= 3 && strings.Contains(hay, strings.ToLower(w)) {
					return true
				}
			}
		}
		return false
	}
	w := strings.ToLower(words)
	if strings.Contains(hay, w) {
		return true
	}
	have := map[string]bool{}
	for _, t := range wordRe.FindAllString(hay, -1) {
		have[t] = true
	}
	for _, t := range wordRe.FindAllString(w, -1) {
		if len([]rune(t)) >= 4 && !coverStop[t] && have[t] {
			return true
		}
	}
	return false
}

// unrequestedWrites lists the draft's steps that change a system the
// request did not ask to change: a write to a connector not in writes, or a
// destructive operation without conn:delete. An HTTP GET or HEAD is a read.
func unrequestedWrites(writes []string, f *flow.Flow, cat *nl2flow.Catalog) []string {
	if f == nil {
		return nil
	}
	allowed := map[string]bool{}
	for _, w := range writes {
		allowed[w] = true
		c, _, _ := strings.Cut(w, ":")
		allowed[c] = true // asked to delete there is asked to change it
	}
	var out []string
	flow.Walk(f.Steps, func(s *flow.Step) {
		if s.Kind != flow.KindCall {
			return
		}
		op, ok := cat.Op(s.Call)
		if !ok || op.Hints.ReadOnly || isHTTPRead(s) {
			return
		}
		switch {
		case !allowed[op.Connector]:
			out = append(out, s.Call)
		case op.Hints.Destructive && !allowed[op.Connector+":delete"]:
			out = append(out, s.Call)
		}
	})
	return out
}

func isHTTPRead(s *flow.Step) bool {
	if s.Call != "http.request" {
		return false
	}
	m := "GET"
	if s.With != nil && s.With.Map != nil {
		if v, ok := s.With.Map["method"]; ok {
			if v.Expr != nil || v.Map != nil || v.List != nil {
				return false
			}
			m = strings.ToUpper(fmt.Sprint(v.Lit))
		}
	}
	return m == "GET" || m == "HEAD"
}

// extScore sums extResults.
type extScore struct {
	n, trigN, trig      int
	trigStepless        int
	trigGoldN, trigGold int // items whose gold has a step: how many, and how many a draft with steps got the trigger of right
	unreqDrafts, unreq  int
	dropDrafts          int
	clauses, dropped    int
	droppedOld          int
	conf                []float64
	right               []bool
	kinds, kindsDrop    map[string]int
}

func (s *extScore) add(x extResult) {
	s.n++
	if x.trigScored {
		s.trigN++
		s.trig += b2i(x.trigOK)
		s.trigStepless += b2i(x.trigStepless)
		if !x.goldStepless {
			s.trigGoldN++
			s.trigGold += b2i(x.trigOK && !x.trigStepless)
		}
	}
	s.unreq += len(x.unrequested)
	s.unreqDrafts += b2i(len(x.unrequested) > 0)
	s.clauses += x.clauses
	s.dropped += x.dropped
	s.droppedOld += x.droppedOld
	s.dropDrafts += b2i(x.dropped > 0)
	if s.kinds == nil {
		s.kinds, s.kindsDrop = map[string]int{}, map[string]int{}
	}
	for k, n := range x.kinds {
		s.kinds[k] += n
		s.kindsDrop[k] += x.kindsDrop[k]
	}
	s.conf = append(s.conf, x.conf)
	s.right = append(s.right, x.right)
}

// ece is the expected calibration error of confidence against "right" over
// ten equal-width bins.
func ece(conf []float64, right []bool) float64 {
	if len(conf) == 0 {
		return 0
	}
	var n [10]int
	var c, a [10]float64
	for i, p := range conf {
		b := int(math.Floor(p * 10))
		b = max(0, min(9, b))
		n[b]++
		c[b] += p
		if right[i] {
			a[b]++
		}
	}
	e := 0.0
	for b := range n {
		if n[b] > 0 {
			e += math.Abs(a[b]-c[b]) / float64(len(conf))
		}
	}
	return e
}

func (s extScore) String() string {
	drops := "-"
	if s.clauses > 0 {
		var per []string
		for _, k := range []string{"trigger", "step", "cond", "wait", "loop", "fmt", "miss"} {
			if s.kinds[k] > 0 {
				per = append(per, fmt.Sprintf("%s %d/%d", k, s.kindsDrop[k], s.kinds[k]))
			}
		}
		drops = fmt.Sprintf("%d/%d clauses in %d drafts (%s; %d by the session-12 definition)", s.dropped, s.clauses, s.dropDrafts, strings.Join(per, ", "), s.droppedOld)
	}
	return fmt.Sprintf("unrequested writes %d in %d drafts  silent drops %s  ECE %.3f (right %.3f, mean confidence %.3f)",
		s.unreq, s.unreqDrafts, drops, ece(s.conf, s.right), ratio(countTrue(s.right), len(s.right)), mean(s.conf))
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		n += b2i(b)
	}
	return n
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

// externalPath is where a split of the external set lives: dev, dev2 (a
// second dev set drawn at random in session 18, sample_dev2.py), dev3 (a
// third, session 19, sample_dev3.py), dev4 (a fourth, over the catalog's
// systems, session 24, sample_dev4.py) or heldout.
func externalPath(root, split string) string {
	switch split {
	case "heldout":
		return filepath.Join(root, "evals", "nl2flow", "data", "external", "heldout", "heldout.jsonl")
	case "dev2":
		return filepath.Join(root, "evals", "nl2flow", "data", "external", "dev2.jsonl")
	case "dev3":
		return filepath.Join(root, "evals", "nl2flow", "data", "external", "dev3.jsonl")
	case "dev4":
		return filepath.Join(root, "evals", "nl2flow", "data", "external", "dev4.jsonl")
	}
	return filepath.Join(root, "evals", "nl2flow", "data", "external", "dev.jsonl")
}

// steplessTrigger parses the trigger of a draft that is no flow because
// it has no steps ("steps: []"), with a placeholder step; nil otherwise.
func steplessTrigger(d *nl2flow.Draft) *flow.Flow {
	if d == nil || d.Flow != nil || !strings.Contains(d.YAML, "\nsteps: []\n") {
		return nil
	}
	src := strings.Replace(d.YAML, "\nsteps: []\n", "\nsteps:\n  - set: {placeholder: 1}\n", 1)
	f, err := flow.Parse("draft.yaml", []byte(src))
	if err != nil {
		return nil
	}
	return f
}
