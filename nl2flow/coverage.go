package nl2flow

import (
	"fmt"
	"strings"
)

// Nothing dropped silently. After the compiler has read the request, the
// coverage stage checks every clause of it against the draft: a clause
// whose words none of the draft's parts account for (a step's system,
// record or action, the trigger, a condition's field or value, a schedule
// word) and that no not_understood entry already names is listed in
// not_understood with its words. Product names the catalog does not know
// ("Typeform", "Google Sheets") are listed too: the draft has no step for
// them.

// segments cuts the request into clauses by structure: punctuation and
// arrows, and before the words that open a clause (when, if, every, then,
// and, for each, unless, only, after, before, once, whenever, so, but).
func segments(toks []token) [][]token {
	var out [][]token
	var cur []token
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	for i, t := range toks {
		switch {
		case t.kind == tPunct || t.kind == tArrow:
			flush()
			continue
		case t.kind == tWord && opensClause(toks, i):
			flush()
		}
		cur = append(cur, t)
	}
	flush()
	return out
}

func opensClause(toks []token, i int) bool {
	switch {
	case synClauseOpen.has(toks[i].w):
		return true
	case lxFor.has(toks[i].w):
		return i+1 < len(toks) && lxStructureLoop.has(toks[i+1].w)
	}
	return false
}

// evidence is every word the draft accounts for; it also keeps apart the
// words its steps alone account for (stepEv).
func (s *state) evidence() map[string]bool {
	s.stepEv, _ = s.evidenceOf(false)
	ev, sysEv := s.evidenceOf(true)
	s.sysEv = sysEv
	return ev
}

// evidenceOf collects the words the draft's steps (and, withTrigger, its
// trigger) account for, and the systems they use.
func (s *state) evidenceOf(withTrigger bool) (map[string]bool, map[string]bool) {
	ev := map[string]bool{}
	sysEv := map[string]bool{}
	addWords := func(text string) {
		for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
		}) {
			ev[w] = true
			ev[singular(w)] = true
		}
	}
	addOp := func(op *Op) {
		if op == nil {
			return
		}
		for _, w := range op.System {
			ev[w] = true
			sysEv[w] = true
		}
		sysEv[op.Connector] = true
		addWords(op.Object)
		addWords(op.Name)
		addWords(op.Title)
		for w, o := range objectWords {
			if o == op.Object {
				ev[w] = true
			}
		}
		for w, v := range actionVerbs {
			if v == op.Verb || op.Verb == "send" && v == "send" {
				ev[w] = true
			}
		}
		if op.Verb == "create" {
			for w := range lxVerbCarry.m {
				ev[w] = true // "sync ERP customers to CRM accounts" creates them there
			}
		}
		if op.Verb == "send" && op.Object == "message" {
			for w := range lxChannelNoun.m {
				ev[w] = true // "the delivery team", "the sales channel": where the message goes
			}
		}
	}
	var walk func([]*StepPlan)
	walk = func(ss []*StepPlan) {
		for _, st := range ss {
			addOp(st.Op)
			addWords(st.Cond)
			addWords(st.Items)
			addWords(st.Why)
			for _, kv := range st.With {
				addWords(fmt.Sprint(kv.Value))
			}
			walk(st.Then)
			walk(st.Else)
			walk(st.Do)
		}
	}
	walk(s.p.Steps)
	var responds func([]*StepPlan) bool
	responds = func(ss []*StepPlan) bool {
		for _, st := range ss {
			if st.Kind == "respond" || responds(st.Then) || responds(st.Else) || responds(st.Do) {
				return true
			}
		}
		return false
	}
	if responds(s.p.Steps) {
		for w, v := range actionVerbs {
			if v == "respond" {
				ev[w] = true
			}
		}
		addWords("ok status body")
	}
	if !withTrigger {
		return ev, sysEv
	}
	tr := s.p.Trigger
	addOp(tr.Op)
	for _, kv := range tr.Input {
		addWords(kv.Key)
		addWords(fmt.Sprint(kv.Value))
	}
	addWords(s.trigDesc)
	if tr.Kind != "" && tr.Kind != "manual" {
		for w := range eventWords.m {
			ev[w] = true
		}
		ev[tr.Kind] = true
	}
	if tr.Kind == "webhook" {
		// What a webhook is called (trigger.webhook and its phrases) and
		// how its request is said to arrive (cue.webhook_arrival).
		for _, set := range []wordSet{lxTriggerWebhook, lxTriggerWebhookPhrase, lxWebhookWord, lxWebhookArrival} {
			for w := range set.m {
				addWords(w)
			}
		}
	}
	return ev, sysEv
}

// cover adds to not_understood what the draft leaves out silently.
func (s *state) cover(toks []token) {
	if s.req == nil {
		return
	}
	ev := s.evidence()
	s.ev = ev
	// What the notes already say; a parenthesised aside (the list of what
	// is connected or pollable) names every system and so says nothing.
	said := strings.ToLower(withoutAsides(strings.Join(s.n.unknown, " ") + " " + strings.Join(s.n.warnings, " ") + " " + strings.Join(s.n.questions, " ")))
	// How much of the request the draft's own parts account for.
	for _, t := range toks {
		if content(t) {
			s.n.content++
			if !s.accounted(t, "") {
				s.n.open++
			}
		}
	}
	// How many of the request's clauses the draft compiled whole: a
	// clause with a content word no part of the draft accounts for was
	// compiled in part or not at all.
	for _, seg := range segments(toks) {
		has, open := false, false
		for _, t := range seg {
			if content(t) {
				has = true
				open = open || !s.accounted(t, "")
			}
		}
		if has {
			s.n.clauses++
			if open {
				s.n.clausesOpen++
			}
		}
	}
	// Connected systems the request names, and those the draft leaves
	// untouched (a step it missed, or a write it refused).
	sysSeen := map[string]bool{}
	for _, t := range toks {
		if t.kind != tWord || !s.isSystemWord(t.w) {
			continue
		}
		conns := s.b.cat.connectorsNamed(t.w)
		key := strings.Join(conns, " ")
		if sysSeen[key] {
			continue
		}
		sysSeen[key] = true
		s.n.sysNamed++
		used := false
		for _, cn := range conns {
			used = used || s.sysEv[cn]
		}
		if !used {
			s.n.sysUnused++
		}
	}
	s.n.stepless = len(s.p.Steps) == 0 && s.p.Trigger.Kind != "" && s.p.Trigger.Kind != "manual"
	s.p.walk(func(st *StepPlan) {
		if st.Kind == "call" && st.Op != nil {
			s.n.callSteps++
			if !s.requestNames(st.Op.Connector) {
				s.n.callUnnamed++
			}
		}
	})
	// Product names the catalog does not know.
	names := s.unknownNames(toks)
	s.n.products = len(names)
	for _, name := range names {
		if !strings.Contains(said, strings.ToLower(name)) {
			s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: not a system connected to Weft; no step uses it", name))
			said += " " + strings.ToLower(name)
		}
	}
	// A trigger the request states but the draft did not compile: the
	// draft runs manually, and the clause that says what should start it
	// is named.
	if s.p.Trigger.Kind == "manual" && !s.manual {
		for _, seg := range segments(toks) {
			if !opensTrigger(seg) {
				continue
			}
			var raw []string
			for _, t := range seg {
				raw = append(raw, t.raw)
			}
			text := strings.Join(raw, " ")
			if !strings.Contains(said, strings.ToLower(text)) {
				s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: read as no trigger (no event a connected system can be polled for, no schedule); the draft runs manually", text))
				said += " " + strings.ToLower(text)
			}
		}
	}
	// Conditions, loops and waits the request states but the draft does
	// not carry are named even when their words appear elsewhere.
	var prev []token
	for _, seg := range segments(toks) {
		kind := structureOf(seg)
		talk := onlyTalk(prev)
		prev = seg
		if kind == "" || s.carries(kind) || onlyTalk(seg[1:]) || kind == "condition" && talk {
			continue // "if that's possible"; "it would be great if …" is the request itself
		}
		var raw []string
		for _, t := range seg {
			raw = append(raw, t.raw)
		}
		text := strings.Join(raw, " ")
		if strings.Contains(said, strings.ToLower(text)) {
			continue
		}
		s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: %s not compiled; the draft does not carry it", text, kind))
		said += " " + strings.ToLower(text)
	}
	// A qualifier on a record ("great leads", "high-budget deals",
	// "pending tickets") is a condition too.
	if !s.carries("condition") {
		for _, q := range s.qualifiers(toks) {
			if !strings.Contains(said, strings.ToLower(q)) {
				s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: condition not compiled; the draft does not test it", q))
				said += " " + strings.ToLower(q)
			}
		}
	}
	for _, seg := range segments(toks) {
		for _, run := range s.unaccounted(seg, said) {
			s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: not compiled: no step, trigger or condition of the draft comes from these words", run))
			said += " " + strings.ToLower(run)
		}
	}
	// The guarantee, whatever the passes above missed: every content word
	// is accounted for by a part of the draft or named, word for word, in
	// what the draft reports.
	for _, seg := range segments(toks) {
		if words := s.silent(seg); len(words) > 0 {
			s.n.backstop += len(words)
			s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: not compiled: no step, trigger or condition of the draft comes from these words", strings.Join(words, " ")))
		}
	}
}

// silent lists the content words of a clause that no part of the draft
// accounts for and that the draft's notes (not_understood, questions,
// warnings; parenthesised asides left out) do not name as a word, and the
// clause itself when it states a condition, loop or wait the draft does not
// carry and the notes do not name its words.
func (s *state) silent(seg []token) []string {
	named := s.namedWords()
	var out []string
	said := func(t token) bool {
		for _, w := range []string{strings.ToLower(t.w), strings.ToLower(t.raw), singular(strings.ToLower(t.w))} {
			if named[w] {
				return true
			}
		}
		parts := splitWords(strings.ToLower(t.raw))
		for _, p := range parts {
			if !named[p] && !named[singular(p)] {
				return false
			}
		}
		return len(parts) > 0
	}
	for _, t := range seg {
		if content(t) && !s.accounted(t, "") && !said(t) {
			out = append(out, t.raw)
		}
	}
	if kind := structureOf(seg); len(out) == 0 && kind != "" && !s.carries(kind) && !onlyTalk(seg[1:]) {
		any := false
		for _, t := range seg {
			any = any || content(t) && said(t)
		}
		if !any {
			for _, t := range seg {
				out = append(out, t.raw)
			}
		}
	}
	return out
}

// namedWords are the words of the draft's notes, asides left out.
func (s *state) namedWords() map[string]bool {
	m := map[string]bool{}
	for _, l := range [][]string{s.n.unknown, s.n.questions, s.n.warnings} {
		for _, x := range l {
			for _, w := range splitWords(strings.ToLower(withoutAsides(x))) {
				m[w] = true
				m[singular(w)] = true
			}
		}
	}
	return m
}

// splitWords cuts lower-case text into runs of letters and digits.
func splitWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') })
}

// withoutAsides drops parenthesised asides (not nested).
func withoutAsides(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// accounted: a token of the request is accounted for by the draft (its
// evidence), by what the notes already say, or carries no request of its
// own (a stop word, filler, a word the parser consumed, a short word).
func (s *state) accounted(t token, said string) bool {
	switch t.kind {
	case tWord:
	case tChannel, tEmail, tQuote:
		w := strings.ToLower(t.w)
		if s.ev[w] || strings.Contains(said, w) {
			return true
		}
		// "#us-sales" is accounted for when each of its parts is (the
		// evidence is split into words).
		parts := strings.FieldsFunc(w, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') })
		for _, p := range parts {
			if !s.ev[p] {
				return false
			}
		}
		return len(parts) > 0
	default:
		return true
	}
	if t.used || stop.has(t.w) || filler(t.w) || len(t.w) < 3 {
		return true
	}
	if s.isSystemWord(t.w) {
		// A system named is accounted for only by a step or trigger on
		// it: another system's step does not do what was asked there.
		return s.sysEv[t.w] || strings.Contains(said, t.w)
	}
	if a := nominalAction(t.w); a != "" && s.ev[a] {
		return true // "invoicing", "updates": the noun of an action a step does
	}
	return s.ev[t.w] || s.ev[singular(t.w)] || s.ev[strings.ToLower(t.raw)] || strings.Contains(said, t.w)
}

// content: the token asks for something by itself (not a stop word,
// filler or a short word).
func content(t token) bool {
	switch t.kind {
	case tChannel, tEmail, tQuote:
		return true
	case tWord:
		return !stop.has(t.w) && !filler(t.w) && len(t.w) >= 3
	}
	return false
}

// unaccounted returns, for one clause, the phrases the draft does not
// account for: a clause none of whose content words the draft uses whole,
// otherwise each run of unaccounted content words (joined across the stop
// words between them), so "weekly CRM lead report to chat" with only a
// chat step names "CRM lead report".
func (s *state) unaccounted(seg []token, said string) []string {
	nContent, nOpen := 0, 0
	for _, t := range seg {
		if content(t) {
			nContent++
			if !s.accounted(t, said) {
				nOpen++
			}
		}
	}
	if nContent == 0 || nOpen == 0 {
		return nil
	}
	if nOpen == nContent || !opensTrigger(seg) && !s.stepUses(seg) {
		// Nothing of the clause was done, or what of it is accounted for
		// is only named elsewhere (the trigger's system, a note): no step
		// comes from it, so the clause is listed whole.
		var raw []string
		for _, t := range seg {
			raw = append(raw, t.raw)
		}
		return []string{strings.Join(raw, " ")}
	}
	var out []string
	var run []string
	pending := 0 // stop words after the last open word of the run
	verbRun := false
	flush := func() {
		if len(run) > 0 {
			out = append(out, strings.Join(run[:len(run)-pending], " "))
		}
		run, pending, verbRun = nil, 0, false
	}
	head := -1 // the clause's first content word: its verb in a title or an imperative
	for i, t := range seg {
		if content(t) {
			head = i
			break
		}
	}
	headRun := false
	for i, t := range seg {
		if len(run) > 0 && verbRun {
			// An action verb the draft does not carry: what follows it in
			// the clause (its object, its destination) is not done either.
			run, pending = append(run, t.raw), 0
			continue
		}
		if headRun && content(t) {
			// The clause's head was not understood: the words right after
			// it (what it acts on: "Upload leads", "close cold CRM deals")
			// go with it, even where the draft uses them for something else.
			verbRun = actionVerbs[t.w] != "" && isVerbAt(seg, i) && !s.accounted(t, said)
			run, pending = append(run, t.raw), 0
			continue
		}
		headRun = false
		switch {
		case content(t) && !s.accounted(t, said):
			verbRun = verbRun || actionVerbs[t.w] != "" && isVerbAt(seg, i)
			headRun = i == head
			run, pending = append(run, t.raw), 0
		case len(run) > 0 && t.kind == tWord && !content(t) && !t.used:
			run, pending = append(run, t.raw), pending+1
		default:
			flush()
		}
	}
	flush()
	return out
}

// stepUses: a step of the draft accounts for one of the clause's content
// words (its system, record, action, a condition or argument value).
func (s *state) stepUses(seg []token) bool {
	for _, t := range seg {
		if !content(t) {
			continue
		}
		w := strings.ToLower(t.w)
		if s.stepEv[w] || s.stepEv[singular(w)] || s.stepEv[strings.ToLower(t.raw)] {
			return true
		}
	}
	return false
}

// structureOf: the clause states a condition ("if …", "unless …", "only
// …"), a loop ("for each …") or a wait ("… later", "wait …", "after two
// hours").
func structureOf(seg []token) string {
	if len(seg) < 2 || seg[0].kind != tWord {
		return ""
	}
	switch w := seg[0].w; {
	case lxStructureCondition.has(w):
		return "condition"
	case lxFor.has(w):
		if lxStructureLoop.has(seg[1].w) {
			return "loop"
		}
	case lxStructureWait.has(w):
		return "wait"
	}
	for i, t := range seg {
		if t.kind == tWord && lxStructureWaitLater.has(t.w) && i > 0 {
			return "wait"
		}
	}
	return ""
}

// carries: the draft has that structure (a condition may also be the
// poll trigger's filter).
func (s *state) carries(kind string) bool {
	found := false
	var walk func([]*StepPlan)
	walk = func(ss []*StepPlan) {
		for _, st := range ss {
			switch {
			case kind == "condition" && st.Kind == "if", kind == "loop" && st.Kind == "foreach", kind == "wait" && st.Kind == "wait":
				found = true
			}
			walk(st.Then)
			walk(st.Else)
			walk(st.Do)
		}
	}
	walk(s.p.Steps)
	if kind == "condition" && s.p.Trigger.Kind == "poll" {
		for _, kv := range s.p.Trigger.Input {
			if v, ok := kv.Value.(string); !ok || !strings.Contains(v, "trigger.cursor") {
				found = true
			}
		}
	}
	return found
}

// onlyTalk: no word of the clause asks for anything (stop words, filler).
func onlyTalk(seg []token) bool {
	for _, t := range seg {
		if t.kind != tWord && t.kind != tPunct {
			return false
		}
		if t.kind == tWord && !stop.has(t.w) && !filler(t.w) && len(t.w) > 2 {
			return false
		}
	}
	return true
}

// fieldWord: the word names a field of some record ("stage", "status").
func (s *state) fieldWord(w string) bool {
	for _, op := range s.b.cat.Ops {
		for k := range op.recordFields() {
			for _, x := range strings.Split(strings.ToLower(k), "_") {
				if x == w {
					return true
				}
			}
		}
	}
	return false
}

// qualifiers are words right before a record noun that narrow it: not a
// determiner, number, system, record or event word, nor a word of the
// request's own talk ("new" is the trigger's).
func (s *state) qualifiers(toks []token) []string {
	var out []string
	for i := 1; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tWord {
			continue
		}
		obj := objectWords[singular(t.w)]
		if obj == "" || obj == "message" || obj == "email" || obj == "channel" || obj == "line" || obj == "request" {
			continue
		}
		j := i - 1
		if j > 0 && toks[j].kind == tWord && s.isSystemWord(toks[j].w) {
			j-- // "great CRM leads"
		}
		q := toks[j]
		if j == 0 || toks[j-1].kind == tPunct || toks[j-1].kind == tArrow || toks[j-1].kind == tWord && opensClause(toks, j-1) {
			continue // the clause's first word ("Capture leads in CRM"): its verb, not a qualifier; the clause is covered as a whole
		}
		if q.kind != tWord || q.used || stop.has(q.w) || determiner(q.w) || filler(q.w) || s.isSystemWord(q.w) ||
			objectWords[singular(q.w)] != "" || eventWords.has(q.w) || actionVerbs[q.w] != "" || properName(q) && j > 0 || len(q.w) < 3 {
			continue
		}
		if s.ev[q.w] || s.fieldWord(q.w) || hasSuffixIn(q.w, morphGerund) && stateWords[q.w] == nil {
			continue // the draft uses it; a field; a compound noun ("onboarding project")
		}
		out = append(out, q.raw+" "+t.raw)
	}
	return out
}

// opensTrigger: the clause states what starts the flow ("when …",
// "whenever …", "once …", "on new …", "each time …").
func opensTrigger(seg []token) bool {
	if len(seg) < 2 || seg[0].kind != tWord {
		return false
	}
	return lxStructureTrigger.has(seg[0].w) || lxStructureTriggerPhrase.has(seg[0].w+" "+seg[1].w)
}

// filler words carry no request of their own.
func filler(w string) bool {
	return fillerWords.has(w)
}

// unknownNames are product names in the request the catalog and the
// vocabulary do not know: words written with a capital (not only the
// first of the request) that are not English here, runs of them joined
// ("Google Sheets").
func (s *state) unknownNames(toks []token) []string {
	voc := s.vocab()
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(toks); i++ {
		if !s.productWord(toks, i, voc) {
			continue
		}
		j := i
		parts := []string{toks[i].raw}
		for j+1 < len(toks) && toks[j+1].kind == tWord && properName(toks[j+1]) && !s.isSystemWord(toks[j+1].w) {
			j++
			parts = append(parts, toks[j].raw)
		}
		name := strings.Join(parts, " ")
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
		i = j
	}
	return out
}

func (s *state) productWord(toks []token, i int, voc map[string]bool) bool {
	t := toks[i]
	if t.kind != tWord || !properName(t) {
		return false
	}
	lw := strings.ToLower(t.raw)
	if knownVendors[lw] && !s.isSystemWord(lw) {
		return true
	}
	if voc[lw] || voc[singular(lw)] || stop.has(lw) || s.isSystemWord(lw) || englishWords.has(lw) || filler(lw) || len(lw) < 3 {
		return false
	}
	// A value the draft uses (a project key, a department, a currency).
	for _, part := range strings.FieldsFunc(lw, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) {
		if s.ev[part] {
			return false
		}
	}
	// A sentence's first word is capitalised anyway: a name only when it
	// is written like one (an inner capital: "LinkedIn", "WhatsApp").
	if i == 0 || toks[i-1].kind == tPunct {
		return innerCapital(t.raw)
	}
	return true
}

func innerCapital(s string) bool {
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			return true
		}
	}
	return false
}

func (s *state) isSystemWord(w string) bool {
	for _, op := range s.b.cat.Ops {
		for _, x := range op.System {
			if x == w {
				return true
			}
		}
	}
	return false
}
