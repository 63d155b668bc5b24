package nl2flow

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/weftio/weft"
	"github.com/weftio/weft/ai"
)

// builtin is the deterministic compiler: no model, no network. It reads a
// request as clauses (a trigger, conditions, loops, actions), finds each
// action's operation in the catalog by verb, object and system (the shared
// embedder breaks ties), extracts parameters, and says plainly what it did
// not understand instead of guessing.
type builtin struct {
	cat *Catalog
	emb ai.Embedder
}

// notes collect what a draft needs a human for.
type notes struct {
	questions []string
	unknown   []string
	warnings  []string
	explain   []string
	fixed     []string
	gaps      []string // parts the request asks for that the draft cannot carry: it is not complete, so not valid
	// Signals for confidence (calibration.go), counted by the coverage
	// stage and the licences.
	content, open int    // content words of the request; of them, none of the draft's parts accounts for
	products      int    // product names the catalog lacks
	refused       int    // writes left out by a licence
	backstop      int    // content words the coverage stage's last pass had to name (0 when the passes before it named everything)
	sysNamed      int    // distinct connected systems the request names
	sysUnused     int    // of them, named systems no step or trigger of the draft is on
	stepless      bool   // the draft has no step but a trigger other than manual: it knows when to run, not what to do
	clauses       int    // clauses of the request with a content word
	clausesOpen   int    // of them, clauses with a content word no part of the draft accounts for
	callSteps     int    // call steps of the draft
	callUnnamed   int    // of them, on a system the request does not name (an action inferred from a verb or noun alone)
	cov           *state // the state the coverage stage read (its guarantee is tested over it)
}

func (n *notes) ask(format string, args ...any) {
	q := fmt.Sprintf(format, args...)
	for _, x := range n.questions {
		if x == q {
			return
		}
	}
	n.questions = append(n.questions, q)
}

// clause is a run of tokens between separators.
type clause struct {
	toks []token
	sep  string // what came before it: "" (start), "," "then" "->" "and" "+"
	// accompany: cut from the clause before as its accompanying message
	// ("… with chat alerts"): an action, never the trigger.
	accompany bool
	// personRetry: pick is already trying another person kind.
	personRetry bool
	// borrowed: a bare verb given the records of the action before it
	// ("… (Create & Update)"): a step that action already made is not
	// made twice.
	borrowed bool
	// nominal: rewritten from an action noun ("email delivery" → send
	// email): the noun names a step already made there, not another.
	nominal bool
	// oneDest: rewritten for one destination of a message ("… via email
	// and chat"): never split again.
	oneDest bool
}

func (c clause) text() string {
	var parts []string
	for _, t := range c.toks {
		parts = append(parts, t.raw)
	}
	return strings.Join(parts, " ")
}

func (c clause) words() []string {
	var out []string
	for _, t := range c.toks {
		if t.kind == tWord && !t.used {
			out = append(out, t.w)
		}
	}
	return out
}

func (c clause) has(ws ...string) bool {
	for _, t := range c.toks {
		if t.kind != tWord || t.used {
			continue
		}
		for _, w := range ws {
			if t.w == w {
				return true
			}
		}
	}
	return false
}

// hasIn: the clause has a word of the set.
func (c clause) hasIn(set wordSet) bool {
	for _, t := range c.toks {
		if t.kind == tWord && !t.used && set.has(t.w) {
			return true
		}
	}
	return false
}

// hasSingularIn: a word of the clause, or its singular ("forms"), is in
// the set.
func (c clause) hasSingularIn(set wordSet) bool {
	for _, t := range c.toks {
		if t.kind == tWord && !t.used && (set.has(t.w) || set.has(singular(t.w))) {
			return true
		}
	}
	return false
}

// phraseIn: one of the set's phrases occurs in the clause.
func (c clause) phraseIn(set wordSet) bool {
	for p := range set.m {
		if c.phrase(p) {
			return true
		}
	}
	return false
}

// phrase reports whether the words occur in a row.
func (c clause) phrase(p string) bool {
	ws := strings.Fields(p)
	words := c.words()
	for i := 0; i+len(ws) <= len(words); i++ {
		ok := true
		for j, w := range ws {
			if words[i+j] != w {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (c clause) empty() bool {
	for _, t := range c.toks {
		if !t.used && (t.kind != tWord || !stop.has(t.w)) {
			return false
		}
	}
	return true
}

// compile turns a request into a plan.
func (b *builtin) compile(ctx context.Context, text string) (*Plan, *notes, error) {
	n := &notes{}
	text = strings.TrimSpace(text)
	toks := tokenize(text)
	words := 0
	for _, t := range toks {
		if t.kind == tWord {
			words++
		}
	}
	if words == 0 {
		return nil, n, weft.Errorf(weft.EInvalid, "the request is empty: describe what should happen, e.g. \"When a new opportunity closes in the CRM, notify #sales in chat\"")
	}
	if !english(toks, b.vocab()) || !latin(text) {
		return nil, n, weft.Errorf(weft.EInvalid, "the request does not look like English; the builtin compiler reads English only (configure a language model for other languages)")
	}
	n.fixed = fixTypos(toks, b.vocab())
	toks = oneName(toks, b.cat)
	if cut := correction(toks); cut > 0 {
		n.explain = append(n.explain, "The request corrects itself; only what follows the correction was read.")
		toks = toks[cut:]
	}
	injected := injection(toks)
	if injected {
		n.warnings = append(n.warnings, "the request contains instructions aimed at the compiler (\"ignore previous instructions\" or similar); they were not followed, and no delete step is drafted")
	}

	p := &Plan{Description: text}
	manual := b.markManual(toks)
	cron, tz, dayOnly := parseSchedule(toks)
	periodic := false
	if cron == "" && !manual {
		periodic = unspecifiedSchedule(toks)
	}
	toks = (&state{b: b}).nominalize(toks)
	clauses := split(toks)

	st := &state{b: b, n: n, p: p, ids: ids{}, injected: injected, req: toks, manual: manual}
	switch {
	case cron != "":
		p.Trigger = TriggerPlan{Kind: "schedule", Cron: cron, Timezone: tz}
		if dayOnly {
			n.ask("At what time of day should it run? The draft uses 09:00 (%s).", tz)
		}
	case manual:
		p.Trigger = TriggerPlan{Kind: "manual"}
	case periodic:
		// "on a schedule", "periodically": a schedule, but not when.
		unstatedPeriod(p, n, "The request says it runs on a schedule but not when")
	}
	if p.Trigger.Kind == "" {
		st.newRecordTrigger(toks, clauses)
	}
	if p.Trigger.Kind == "" {
		st.receivedRecordTrigger(clauses)
	}
	if p.Trigger.Kind == "" {
		st.aboutRecordTrigger(toks, clauses)
	}
	if p.Trigger.Kind == "" {
		st.sourceTrigger(clauses)
	}
	if p.Trigger.Kind == "" {
		st.subscribedUpdates(clauses)
	}
	if p.Trigger.Kind == "" {
		st.botTrigger(clauses)
	}
	if p.Trigger.Kind == "" {
		st.channelTrigger(toks, clauses)
	}
	if p.Trigger.Kind == "" && st.monitors(toks) {
		// "Monitor website uptime", "downtime monitoring": a check made
		// again and again, so a schedule (not a webhook for the website).
		unstatedPeriod(p, n, "The request asks for something to be monitored but not how often")
	}
	if p.Trigger.Kind == "" {
		st.hintedWebhook(clauses)
	}
	if p.Trigger.Kind == "" && periodicMessage(toks) && !statesEvent(clauses) {
		// "sprint reports via email", "plant care reminder": messages
		// sent on a clock, so a schedule; not how often.
		unstatedPeriod(p, n, "The request asks for reports, reminders, digests or summaries, which are sent on a clock, but not how often")
	}
	st.webCheck(toks)
	st.run(ctx, clauses)
	st.botAnswer()
	st.toolMessages(ctx)
	st.toolRecords()
	st.contradictions()
	st.prune()
	st.gate(toks)
	st.unreadMonitor(toks, clauses)
	if p.Trigger.Kind == "" {
		p.Trigger = TriggerPlan{Kind: "manual"}
		n.ask("What should start this flow? Nothing in the request names an event or a schedule, so the draft runs manually.")
	}
	p.Name = st.name()
	st.cover(toks)
	n.cov = st
	if len(p.Steps) == 0 && len(n.unknown) == 0 {
		n.unknown = append(n.unknown, "no action: the request names nothing for the flow to do")
	}
	return p, n, nil
}

// oneName: a word that names a connected system written twice in a row
// ("chat chat", as when two product names the catalog maps onto one system
// stand together: "Telegram chat") is one name: the second goes, so that
// the system is read once. Two different words of one system stay ("SMTP
// email alerts": the second says what is sent; "business partner" in a
// catalog whose records those are).
func oneName(toks []token, cat *Catalog) []token {
	out := toks[:0:0]
	for i, t := range toks {
		if i > 0 && t.kind == tWord && toks[i-1].kind == tWord && t.w == toks[i-1].w && len(cat.connectorsNamed(t.w)) > 0 {
			continue
		}
		out = append(out, t)
	}
	return out
}

// unreadMonitor: a request to monitor or track something ("Monitor price
// evolution with email notification") whose draft reads nothing (no list,
// get or HTTP step, no poll) checks nothing: the clause that says what is
// monitored is named in not_understood, with what would read it, rather
// than left as if the message alone carried it.
func (s *state) unreadMonitor(toks []token, clauses []clause) {
	if s.p.Trigger.Kind == "poll" || !s.monitors(toks) {
		return
	}
	read := false
	s.p.walk(func(st *StepPlan) {
		read = read || st.Kind == "call" && st.Op != nil && !writes(st.Op)
	})
	if read {
		return
	}
	for _, c := range clauses {
		for _, t := range c.toks {
			if t.kind == tWord && (lxCueMonitor.has(t.w) || lxCueTrack.has(t.w) || lxCueCheck.has(t.w)) {
				s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: what is monitored is read from no connected system; the draft reads nothing; an HTTP request to the page or API that has it would", c.text()))
				return
			}
		}
	}
}

// unstatedPeriod makes the trigger a schedule whose period the request
// does not give (daily at 09:00 UTC), with the question that says so.
func unstatedPeriod(p *Plan, n *notes, why string) {
	p.Trigger = TriggerPlan{Kind: "schedule", Cron: "0 9 * * *", Timezone: "UTC"}
	n.ask("How often should it run? %s; the draft runs daily at 09:00 UTC.", why)
}

// periodicMessage: a word of the request names a message sent on a clock
// (cue.periodic_message: "report", "reminder", "digest").
func periodicMessage(toks []token) bool {
	for _, t := range toks {
		if t.kind == tWord && lxPeriodicMessage.has(t.w) {
			return true
		}
	}
	return false
}

// statesEvent: a clause opens with a trigger word or names an event
// ("when a new contact is created"), which the clauses' reading makes the
// trigger.
func statesEvent(clauses []clause) bool {
	for _, c := range clauses {
		if triggerKeyword(c) >= 0 || hasEvent(c) || c.hasIn(lxTriggerWebhookHint) {
			return true
		}
	}
	return false
}

// monitors: a word of the request says something is checked again and
// again (cue.monitor: "monitor", "uptime"), or a web page is checked
// (cue.check with cue.web_resource).
func (s *state) monitors(toks []token) bool {
	checks, web := false, false
	for _, t := range toks {
		checks = checks || t.kind == tWord && lxCueCheck.has(t.w)
		web = web || t.kind == tWord && lxWebResource.has(t.w)
	}
	if checks && web {
		// "Health check websites": a page checked is checked again and
		// again, as webCheck reads it (its GET step), so a schedule.
		return true
	}
	for i, t := range toks {
		if t.kind != tWord {
			continue
		}
		if lxCueMonitor.has(t.w) {
			return true
		}
		if lxCueTrack.has(t.w) {
			// "track CRM deals": a connected system's records are
			// watched as records, not checked on a schedule.
			j := i + 1
			for j < len(toks) && toks[j].kind == tWord && determiner(toks[j].w) {
				j++
			}
			if j < len(toks) && toks[j].kind == tWord && (s.isSystemWord(toks[j].w) || s.recordNoun(toks[j].w) != "") {
				continue
			}
			return true
		}
	}
	return false
}

func (b *builtin) vocab() map[string]bool {
	v := map[string]bool{}
	for _, m := range []map[string]bool{stop.m, englishWords.m, eventWords.m, knownVendors} {
		for w := range m {
			v[w] = true
		}
	}
	for w := range actionVerbs {
		v[w] = true
		for _, suf := range lex.list("inflection.known") {
			v[w+suf] = true // "HR adds them" is not a typo for "add"
		}
	}
	for w := range objectWords {
		v[w] = true
		v[w+"s"] = true
	}
	for w := range stateWords {
		v[w] = true
	}
	for w := range weekdays {
		v[w] = true
	}
	for w := range zones {
		for _, x := range strings.Fields(w) {
			v[x] = true
		}
	}
	for w := range knownWords.m {
		v[w] = true
	}
	for w := range productNames.m {
		v[w] = true
	}
	for _, op := range b.cat.Ops {
		// The catalog's own names (connector, connection, the words of an
		// operation's title) are known words, never typos of others.
		for _, n := range []string{op.Connector, op.Connection} {
			for _, w := range ai.Split(n) {
				v[strings.ToLower(w)] = true
			}
		}
		for _, w := range strings.FieldsFunc(strings.ToLower(op.Title), func(r rune) bool { return !unicode.IsLetter(r) }) {
			v[w] = true
		}
		for _, w := range ai.Split(op.Name) {
			v[strings.ToLower(w)] = true
		}
		for _, w := range strings.Fields(op.Object) {
			v[w] = true
			v[w+"s"] = true
		}
		for _, w := range op.System {
			v[w] = true
		}
		for k := range op.inputProps() {
			for _, w := range ai.Split(k) {
				v[strings.ToLower(w)] = true
			}
		}
		if op.Trigger != nil {
			for k, s := range op.recordFields() {
				for _, w := range ai.Split(k) {
					v[strings.ToLower(w)] = true
				}
				for _, e := range enumValues(s) {
					for _, w := range strings.Split(e, "_") {
						v[w] = true
					}
				}
			}
		}
	}
	return v
}

// english: enough of the words are English (the dictionary) or the
// catalog's vocabulary. A capitalised word that neither knows, other than a
// sentence's first, is a name (a product, a company, a place): names are
// written the same in every language, so they count for neither side.
// "Scrape Google Maps leads via Apify" is English with three names in it;
// German capitalises its nouns too, but its other words still fail.
func english(toks []token, vocab map[string]bool) bool {
	total, known := 0, 0
	first := true
	for _, t := range toks {
		if t.kind != tWord {
			first = first || t.kind == tPunct && strings.ContainsAny(t.raw, ".!?:")
			continue
		}
		initial := first
		first = false
		if vocab[t.w] || vocab[singular(t.w)] || dictionaryWord(t.w) || prefixed(t.w, vocab) {
			total++
			known++
			continue
		}
		if !initial && capitalised(t.raw) {
			continue
		}
		total++
	}
	return total < 3 || float64(known)/float64(total) >= englishShare
}

// prefixed: the word is an English prefix (morph.prefix) before a known
// word of four letters or more, written solid or with a hyphen
// ("Multilanguage", "cross-team"): English, though no dictionary lists it.
func prefixed(w string, vocab map[string]bool) bool {
	for _, p := range morphPrefix {
		rest, ok := strings.CutPrefix(w, p)
		if !ok {
			continue
		}
		rest = strings.TrimPrefix(rest, "-")
		if len(rest) >= 4 && (vocab[rest] || vocab[singular(rest)] || dictionaryWord(rest)) {
			return true
		}
	}
	return false
}

// capitalised: the word as written starts with an upper-case letter.
func capitalised(raw string) bool {
	for _, r := range raw {
		return unicode.IsUpper(r)
	}
	return false
}

// latin: most letters are ASCII (English is written so).
func latin(s string) bool {
	ascii, other := 0, 0
	for _, r := range s {
		switch {
		case r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
			ascii++
		case unicode.IsLetter(r):
			other++
		}
	}
	return ascii >= 3*other
}

// correction finds where a request corrects itself ("…, actually, …",
// "scratch that", "no wait", "I mean") and returns the token after it.
func correction(toks []token) int {
	cut := 0
	for i := 1; i < len(toks); i++ {
		w := toks[i].w
		prevPunct := toks[i-1].kind == tPunct
		switch {
		case lxCorrectionCut.has(w) && prevPunct && i+1 < len(toks) && toks[i+1].kind == tPunct:
			cut = i + 2
		case i+1 < len(toks) && lxCorrectionCut.has(w+" "+toks[i+1].w):
			cut = i + 2
		case lxCorrectionCut.has(toks[i-1].w + " " + w):
			cut = i + 1
		}
	}
	if cut >= len(toks) {
		return 0
	}
	return cut
}

// injection spots text that talks to the compiler instead of describing
// an integration.
func injection(toks []token) bool {
	var ws []string
	for _, t := range toks {
		if t.kind == tWord {
			ws = append(ws, t.w)
		}
	}
	s := " " + strings.Join(ws, " ") + " "
	for p := range injectionPhrases.m {
		if strings.Contains(s, " "+p+" ") {
			return true
		}
	}
	return false
}

// markManual finds "on demand", "manually", "when I run this flow" and
// consumes the clause that says it.
func (b *builtin) markManual(toks []token) bool {
	found := false
	start := 0
	hook := false
	for _, t := range toks {
		if lxWebhookWord.has(t.w) {
			hook = true // "when called" is then the webhook's call
		}
	}
	for i := 0; i <= len(toks); i++ {
		if i < len(toks) && toks[i].kind != tPunct && toks[i].kind != tArrow {
			continue
		}
		c := clause{toks: toks[start:i]}
		if c.hasIn(lxManual) || c.phraseIn(lxManualPhrase) || c.phraseIn(lxManualPhraseNoWebhook) && !hook {
			verb := false
			for _, t := range c.toks {
				if t.kind == tWord && actionVerbs[t.w] != "" && !lxManualConsume.has(t.w) {
					verb = true
				}
			}
			found = true
			for j := start; j < i; j++ {
				w := toks[j].w
				if !verb || lxManualConsume.has(w) || (j+1 < len(toks) && lxManualConsumePhrase.has(w+" "+toks[j+1].w)) {
					toks[j].used = true
				}
			}
		}
		start = i + 1
	}
	return found
}

// split cuts the request into clauses at punctuation, arrows, "then",
// and at "and" before a new action or condition.
func split(toks []token) []clause {
	var out []clause
	cur := clause{}
	flush := func(sep string) {
		if len(cur.toks) > 0 {
			out = append(out, cur)
		}
		cur = clause{sep: sep}
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == tPunct:
			if t.w == ":" && len(cur.toks) == 0 {
				continue
			}
			flush(",")
			continue
		case t.kind == tArrow:
			flush(t.w)
			continue
		case t.kind == tWord && !t.used && lxSepThen.has(t.w):
			if cur.sep == "then" && len(cur.toks) == 0 {
				continue
			}
			if len(cur.toks) > 0 || cur.sep != "" {
				flush("then")
			} else {
				cur.sep = "then"
			}
			continue
		case t.kind == tWord && i+1 < len(toks) && lxSepThenPhrase.has(t.w+" "+toks[i+1].w):
			flush("then")
			i++
			continue
		case t.kind == tWord && lxSepAnd.has(t.w) && !t.used:
			j := i + 1
			for j < len(toks) && lxSepAndSkip.has(toks[j].w) {
				j++
			}
			if j < len(toks) && startsAction(toks, j) {
				sep := "and"
				if j > i+1 && lxSepThen.has(toks[j-1].w) {
					sep = "then"
				}
				flush(sep)
				i = j - 1
				continue
			}
			if j < len(toks) && startsCondition(toks, j) {
				flush("and")
				i = j - 1
				continue
			}
		}
		cur.toks = append(cur.toks, t)
	}
	flush("")
	return out
}

// startsAction: the token at i begins an action ("post …", "email …",
// "create …", "let … know").
func startsAction(toks []token, i int) bool {
	t := toks[i]
	if t.kind == tChannel || t.kind == tEmail {
		return true
	}
	if t.kind != tWord {
		return false
	}
	if lxIndefinite.has(t.w) {
		// "and an invoice in the ERP": a new object for the previous verb.
		return i+1 < len(toks) && objectWords[singular(toks[i+1].w)] != ""
	}
	if actionVerbs[t.w] == "" || lxVerbSet.has(t.w) && i+1 < len(toks) && lxParticleUp.has(toks[i+1].w) {
		return lxVerbSet.has(t.w)
	}
	return true
}

// startsCondition: "the amount is over", "its country is", "if …".
func startsCondition(toks []token, i int) bool {
	w := toks[i].w
	if lxConditionStart.has(w) {
		return true
	}
	if lxConditionSubject.has(w) {
		for j := i + 1; j < len(toks) && j <= i+3; j++ {
			if lxConditionCopula.has(toks[j].w) || comparator(toks[j].w) != "" {
				return true
			}
		}
	}
	return false
}

func comparator(w string) string {
	return lxComparator[w]
}

// parseSchedule finds a schedule anywhere in the request ("every weekday
// at 9am Berlin time", "hourly", "on the first of every month at 6") and
// consumes its words. dayOnly reports a daily schedule with no time.
func parseSchedule(toks []token) (cron, tz string, dayOnly bool) {
	anchor := -1
	var used []int
	minuteStep, hourStep := 0, 0
	dow := []string{}
	dom := ""
	hh, mm, hasTime := -1, 0, false
	partOfDay := ""
	w := func(i int) string {
		if i >= 0 && i < len(toks) && toks[i].kind == tWord {
			return toks[i].w
		}
		return ""
	}
	for i, t := range toks {
		switch {
		case t.kind == tWord && lxScheduleEvery.has(t.w):
			nx := w(i + 1)
			if lxScheduleOther.has(nx) {
				nx = w(i + 2)
			}
			if isScheduleNoun(nx) || (i+2 < len(toks) && toks[i+1].kind == tNumber && hasPrefixIn(w(i+2), lxScheduleUnitMinute)) ||
				(i+2 < len(toks) && toks[i+1].kind == tNumber && hasPrefixIn(w(i+2), lxScheduleUnitHour)) {
				anchor = i
				used = append(used, i)
				if toks[i+1].kind == tNumber {
					n := int(toks[i+1].num)
					if hasPrefixIn(w(i+2), lxScheduleUnitMinute) {
						minuteStep = n
					} else {
						hourStep = n
					}
					used = append(used, i+1, i+2)
				}
			}
		case t.kind == tWord && lxScheduleOnce.has(t.w) && lxSchedulePer.has(w(i+1)) &&
			(isScheduleNoun(w(i+2)) || lxSchedulePeriod.has(w(i+2)) || lxScheduleHour.has(w(i+2))):
			// "once a day", "once per week": a frequency is a period, as
			// "every day" is.
			anchor = i
			used = append(used, i, i+1)
			if lxScheduleHour.has(w(i + 2)) {
				hourStep = 1
				used = append(used, i+2)
			}
		case t.kind == tWord && lxScheduleAdverbs[t.w] != "":
			effect := lxScheduleAdverbs[t.w]
			if effect != "weekdays" || anchor >= 0 || lxScheduleOn.has(w(i-1)) {
				anchor = i
			}
			used = append(used, i)
			switch effect {
			case "hour":
				hourStep = 1
			case "night":
				partOfDay = "night"
			case "week":
				if len(dow) == 0 {
					dow = []string{"1"}
				}
			case "month":
				if dom == "" {
					dom = "1"
				}
			case "weekdays":
				dow = []string{"1-5"}
			}
		case t.kind == tWord && lxScheduleHour.has(t.w) && lxScheduleHourBefore.has(w(i-1)):
			hourStep = 1
			used = append(used, i)
		case t.kind == tWord && weekdays[t.w] != "" && (anchor >= 0 || lxScheduleWeekdayBefore.has(w(i-1))):
			dow = append(dow, weekdays[t.w])
			used = append(used, i)
			if anchor < 0 {
				anchor = i
			}
			if lxScheduleWeekdayJoiner.has(w(i - 1)) {
				used = append(used, i-1)
			}
		case t.kind == tWord && lxScheduleWeekend.has(t.w) && anchor >= 0:
			dow = []string{"0", "6"}
			used = append(used, i)
		case t.kind == tWord && lxSchedulePeriod.has(t.w) &&
			(lxScheduleEvery.has(w(i-1)) || lxScheduleOther.has(w(i-1)) || lxSchedulePer.has(w(i-1)) && lxScheduleOnce.has(w(i-2))):
			used = append(used, i)
			switch lxSchedulePeriods[t.w] {
			case "part":
				partOfDay = t.w
			case "month":
				if dom == "" {
					dom = "1"
				}
			case "week":
				if len(dow) == 0 {
					dow = []string{"1"}
				}
			case "minute":
				minuteStep = 1
			}
		case t.kind == tWord && lxClock[t.w] != "":
			hh, mm, hasTime = 0, 0, true
			fmt.Sscan(lxClock[t.w], &hh)
			used = append(used, i)
			if lxTimeIntroNumber.has(w(i - 1)) {
				used = append(used, i-1)
			}
		case t.kind == tTime:
			hh, mm, hasTime = t.hh, t.mm, true
			used = append(used, i)
			if lxTimeIntro.has(w(i - 1)) {
				used = append(used, i-1)
			}
		case t.kind == tNumber && lxTimeIntroNumber.has(w(i-1)) && t.num >= 0 && t.num <= 23 && !strings.Contains(t.raw, ","):
			hh, mm, hasTime = int(t.num), 0, true
			used = append(used, i, i-1)
		case t.kind == tWord && (lxScheduleDomFirst.has(t.w) || lxScheduleDomLast.has(t.w) || ordinal(t.w) > 0) && lxScheduleDomOf.has(w(i+1)) && lxScheduleDomQuant.has(w(i+2)) && lxSchedulePeriods[w(i+3)] == "month":
			// "on the first of every month", "the 15th of each month"
			dom = fmt.Sprint(ordinal(t.w))
			if lxScheduleDomLast.has(t.w) {
				dom = "L"
			}
			used = append(used, i, i+1, i+2, i+3)
			anchor = i
			if lxScheduleDomThe.has(w(i - 1)) {
				used = append(used, i-1)
				if lxScheduleOn.has(w(i - 2)) {
					used = append(used, i-2)
				}
			}
		}
	}
	if anchor < 0 {
		return "", "", false
	}
	// Time zone: a zone name anywhere after the anchor ("Berlin time").
	for i := range toks {
		if toks[i].kind != tWord {
			continue
		}
		two := toks[i].w + " " + w(i+1)
		if z, ok := zones[two]; ok {
			tz = z
			used = append(used, i, i+1)
			if lxZoneSuffix.has(w(i + 2)) {
				used = append(used, i+2)
			}
			break
		}
		if z, ok := zones[toks[i].w]; ok && (!lxZoneNeedsClock.has(toks[i].w) || hasTime) && !(lxZoneNeedsSuffix.has(toks[i].w) && !lxZoneSuffix.has(w(i+1))) {
			tz = z
			used = append(used, i)
			if lxZoneSuffix.has(w(i + 1)) {
				used = append(used, i+1)
			}
			break
		}
	}
	if tz == "" {
		tz = "UTC"
	}
	for _, i := range used {
		if i >= 0 && i < len(toks) {
			toks[i].used = true
		}
	}
	switch {
	case minuteStep > 0:
		if minuteStep == 1 {
			return "* * * * *", tz, false
		}
		return fmt.Sprintf("*/%d * * * *", minuteStep), tz, false
	case hourStep > 0 && !hasTime:
		if hourStep == 1 {
			return "0 * * * *", tz, false
		}
		return fmt.Sprintf("0 */%d * * *", hourStep), tz, false
	}
	if !hasTime {
		if h, ok := partOfDayHour[partOfDay]; ok {
			hh, _ = strconv.Atoi(h)
		} else {
			hh, dayOnly = 9, true
		}
	}
	if lxPartOfDayPM.has(partOfDay) && hh < 12 {
		hh += 12 // "in the evening at 6"
	}
	d := "*"
	if len(dow) > 0 {
		d = strings.Join(dedupe(dow), ",")
	}
	m := "*"
	if dom != "" {
		m = dom
	}
	return fmt.Sprintf("%d %d %s * %s", mm, hh, m, d), tz, dayOnly
}

func isScheduleNoun(w string) bool {
	return synScheduleNoun.has(w) || weekdays[w] != ""
}

// hasPrefixIn: w starts with one of the set's entries.
func hasPrefixIn(w string, set wordSet) bool {
	for p := range set.m {
		if strings.HasPrefix(w, p) {
			return true
		}
	}
	return false
}

func ordinal(w string) int {
	for i, o := range lex.list("ordinal") {
		if w == o {
			return i + 1
		}
	}
	n := 0
	digits := ""
	for _, suf := range lex.list("ordinal.suffix") {
		if d, ok := strings.CutSuffix(w, suf); ok {
			digits = d
			break
		}
	}
	if digits == "" {
		return 0
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return 0
		}
		n = n*10 + int(r-'0')
	}
	if n < 1 || n > 31 {
		return 0
	}
	return n
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

// unspecifiedSchedule finds a phrase that says the flow runs on a
// schedule without saying when ("on a schedule", "periodically") and
// consumes it.
func unspecifiedSchedule(toks []token) bool {
	for i := range toks {
		for p := range lxScheduleUnspecified.m {
			ws := strings.Fields(p)
			if i+len(ws) > len(toks) {
				continue
			}
			ok := true
			for k, w := range ws {
				if toks[i+k].kind != tWord || toks[i+k].used || toks[i+k].w != w {
					ok = false
					break
				}
			}
			if ok {
				for k := range ws {
					toks[i+k].used = true
				}
				return true
			}
		}
	}
	return false
}

// webCheck: a request that checks or monitors something on the web
// ("weekly website link checker", "monitor website uptime") reads it first
// with an HTTP GET (a read, never a write); the URL is asked for. The
// alerts the request also asks for follow as their own steps.
func (s *state) webCheck(toks []token) {
	checks, web := -1, -1
	for i, t := range toks {
		if t.kind != tWord {
			continue
		}
		if lxCueMonitor.has(t.w) || lxCueCheck.has(t.w) {
			checks = i
		}
		if lxWebResource.has(t.w) {
			web = i
		}
	}
	if checks < 0 || web < 0 {
		return
	}
	var op *Op
	for _, o := range s.b.cat.Ops {
		if o.Verb == "request" && o.Connector == "http" {
			op = o
			break
		}
	}
	if op == nil {
		return
	}
	st := &StepPlan{ID: s.ids.next("check"), Kind: "call", Op: op, With: []KV{{"method", "GET"}}}
	s.add(st)
	s.n.ask("Which URL should %s check? Set url.", st.ID)
	s.n.explain = append(s.n.explain, fmt.Sprintf("Step %s: %s (connection %s) reads the page checked with an HTTP GET.", st.ID, op.Ref, op.Connection))
	toks[checks].used, toks[web].used = true, true
}
