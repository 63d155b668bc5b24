package nl2flow

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/weftio/weft/ai"
)

// state walks the clauses of one request and builds its plan.
type state struct {
	b        *builtin
	n        *notes
	p        *Plan
	ids      ids
	injected bool

	trigObj   string                    // the object the trigger's records are
	noting    bool                      // licence: an activity noted on the flow's records ("records the outreach in CRM"), no record kind as object
	hookObj   string                    // what a webhook is said to be about
	trigDesc  string                    // "opportunity won"
	trigWords []string                  // what the trigger clause said (for the name)
	fields    map[string]map[string]any // the trigger record's fields (nil: unknown)
	always    map[string]bool           // the trigger record's required fields

	steps    []*StepPlan // where actions go now
	cond     *StepPlan   // the open if
	inElse   bool
	loop     *StepPlan // the open foreach
	loopObj  string
	loopF    map[string]map[string]any
	loopReq  map[string]bool
	made     []*StepPlan // call steps so far, in order
	sent     *clause     // the clause the last step (a message) came from, while the next clause may continue its list of destinations
	wrote    *clause     // the clause the last step (a record created) came from, while the next clause may continue its list of records
	acted    *clause     // the clause the last record step came from (a bare verb after it acts on its records)
	pending  []string    // system words from a clause that named only a system
	negated  []neg       // "don't …" clauses
	voc      map[string]bool
	req      []token // the whole request
	ev       map[string]bool
	sysEv    map[string]bool // systems the draft's steps and trigger use
	stepEv   map[string]bool // words the draft's steps alone account for
	manual   bool            // the request asks for a manual trigger
	botReply string          // the connector a bot watches and answers in (botTrigger), "" when none
	botTok   token           // the word that named that bot's system
}

type neg struct{ verb, obj, text string }

// negated: "don't email anyone", "never post", "do not create"; it
// returns the action that is ruled out.
func negated(c clause) string {
	for i, t := range c.toks {
		if t.kind != tWord {
			continue
		}
		if lxNegation.has(t.w) || lxNot.has(t.w) && i > 0 && lxNegationAux.has(c.toks[i-1].w) {
			for j := i + 1; j < len(c.toks) && j <= i+3; j++ {
				if v := actionVerbs[c.toks[j].w]; v != "" {
					return v
				}
			}
		}
	}
	return ""
}

// contradictions drops steps the request also says not to do, and says so.
func (s *state) contradictions() {
	for _, ng := range s.negated {
		var hit []*StepPlan
		for _, st := range s.made {
			if verbFits(ng.verb, st.Op) && (ng.obj == "" || ng.obj == st.Op.Object || ng.verb == "send") {
				hit = append(hit, st)
			}
		}
		if len(hit) == 0 {
			s.n.explain = append(s.n.explain, fmt.Sprintf("Noted: %q (nothing in the draft does that).", ng.text))
			continue
		}
		for _, st := range hit {
			s.remove(st)
			s.n.unknown = append(s.n.unknown, fmt.Sprintf("contradictory: the request asks for %s (%s) and also %q; the step was left out until you say which you mean", st.ID, st.Op.Ref, ng.text))
		}
	}
}

// remove takes a step out of the plan.
func (s *state) remove(x *StepPlan) {
	var drop func([]*StepPlan) []*StepPlan
	drop = func(ss []*StepPlan) []*StepPlan {
		var out []*StepPlan
		for _, st := range ss {
			if st == x {
				continue
			}
			st.Then, st.Else, st.Do = drop(st.Then), drop(st.Else), drop(st.Do)
			out = append(out, st)
		}
		return out
	}
	s.p.Steps = drop(s.p.Steps)
	for i, st := range s.made {
		if st == x {
			s.made = append(s.made[:i], s.made[i+1:]...)
			break
		}
	}
}

// prune removes conditions and loops left with nothing inside.
func (s *state) prune() {
	var rec func([]*StepPlan) []*StepPlan
	rec = func(ss []*StepPlan) []*StepPlan {
		var out []*StepPlan
		for _, st := range ss {
			st.Then, st.Else, st.Do = rec(st.Then), rec(st.Else), rec(st.Do)
			if (st.Kind == "if" && len(st.Then) == 0 && len(st.Else) == 0) || (st.Kind == "foreach" && len(st.Do) == 0) {
				s.n.unknown = append(s.n.unknown, fmt.Sprintf("%s (%s) had no step inside and was left out", st.ID, st.Why))
				continue
			}
			out = append(out, st)
		}
		return out
	}
	s.p.Steps = rec(s.p.Steps)
}

func (s *state) add(st *StepPlan) {
	switch {
	case s.loop != nil:
		s.loop.Do = append(s.loop.Do, st)
	case s.cond != nil && s.inElse:
		s.cond.Else = append(s.cond.Else, st)
	case s.cond != nil:
		s.cond.Then = append(s.cond.Then, st)
	default:
		s.p.Steps = append(s.p.Steps, st)
	}
	if st.Kind == "call" {
		s.made = append(s.made, st)
	}
}

func (s *state) run(ctx context.Context, clauses []clause) {
	// Clauses are split and lent words as they are read; whatever that
	// does, a request is read in a bounded number of steps.
	limit := 8*len(clauses) + 64
	for i := 0; i < len(clauses); i++ {
		if i >= limit {
			s.n.warnings = append(s.n.warnings, "the request was split into too many clauses; the rest of it was not read")
			break
		}
		c := clauses[i]
		if c.empty() {
			continue
		}
		if c.sep == "then" && s.loop != nil {
			s.loop, s.loopObj, s.loopF = nil, "", nil
		}
		if c.sep == "then" && s.cond != nil && !s.inElse && len(s.cond.Then) > 0 && s.p.Trigger.Kind != "poll" {
			// "… if X, email A, then post B": B is unconditional only after an else.
		}
		// "Send the results to chat, email and Google Sheets": a clause of
		// nothing but further destinations continues the message before
		// it; each connected system that sends messages gets it.
		if last := s.sent; last != nil {
			s.sent = nil
			if dests := s.moreDestinations(c); len(dests) > 0 {
				named := s.namesSender(*last)
				for k, d := range dests {
					if k == 0 && !named && s.sentTo(c.toks[d].w) {
						// "alerts with NASA API, chat & Google Calendar": the
						// message named no destination of its own, so the
						// first one here is where it already went.
						continue
					}
					s.action(ctx, s.sendTo(*last, c, d))
				}
				for _, t := range c.toks {
					if t.kind == tWord && !t.used && !s.isSystemWord(t.w) && (knownVendors[t.w] || properName(t)) {
						s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: %s is not connected to Weft; the message goes to the connected destinations only", c.text(), t.raw))
					}
				}
				continue
			}
		}
		// "Sync ERP customers to CRM accounts & contacts": a clause of
		// nothing but further record kinds continues the records created
		// before it, in the same destination.
		if last := s.wrote; last != nil {
			s.wrote = nil
			if more := s.moreRecords(c); len(more) > 0 {
				if di := s.destinationIndex(*last); di >= 0 && di+2 <= len(last.toks) {
					end := di + 2
					for end < len(last.toks) && last.toks[end].kind == tWord && s.isSystemWord(last.toks[end].w) {
						end++
					}
					for _, k := range more {
						s.action(ctx, clause{toks: append(append([]token{}, last.toks[:end]...), c.toks[k]), sep: c.sep})
					}
					continue
				}
				// "create an account and a contact in the CRM": the verb
				// is shared.
				if vi := verbIndex(*last); vi >= 0 {
					s.action(ctx, clause{toks: append(append([]token{}, last.toks[:vi+1]...), c.toks...), sep: c.sep})
					continue
				}
			}
		}
		// A clause that names only a system ("crm:") lends it to the next.
		if sys := s.systemsIn(c); len(sys) > 0 && len(s.objectsIn(c)) == 0 && s.verb(c) == "" && !hasTarget(c) && len(stateIn(c)) == 0 && !c.hasIn(lxWebhookWord) && s.onlySystem(c) {
			s.pending = append(s.pending, sys...)
			continue
		}
		if len(s.pending) > 0 {
			for _, w := range s.pending {
				c.toks = append(c.toks, token{kind: tWord, w: w, raw: w})
			}
			s.pending = nil
		}
		// Coordinated verbs share the object that follows the last of them
		// ("create, update, and get an issue on tracker").
		if shared := s.shareObject(c, clauses[i+1:]); len(shared.toks) != len(c.toks) {
			c = shared
		} else if s.acted != nil && s.bareVerb(c) {
			// "Sync Beex leads to CRM (Create & Update)": a bare verb after
			// an action takes that action's records and destination.
			last := *s.acted
			if vi, lvi := verbIndex(c), verbIndex(last); vi >= 0 && lvi >= 0 {
				c = clause{sep: c.sep, borrowed: true, toks: append(append([]token{}, c.toks[:vi+1]...), last.toks[lvi+1:]...)}
			}
		}
		// "Tickets to tracker with chat alerts": the message the phrase
		// names is a step of its own, after the clause's own.
		if head, msg, ok := s.splitAccompany(c); ok {
			c = head
			clauses = append(append(append([]clause{}, clauses[:i+1]...), msg), clauses[i+1:]...)
		}
		// Trigger keywords may sit mid-clause: "I'd like X every time a
		// contact is added".
		if k := triggerKeyword(c); k >= 0 && !c.borrowed {
			// (A borrowed clause is never split again: its words came from
			// a clause that was already read, trigger and all.)
			end := s.eventEnd(c, k)
			before := clause{toks: c.toks[:k], sep: c.sep}
			trig := clause{toks: c.toks[k:end]}
			after := clause{toks: c.toks[end:], sep: ","}
			s.trigger(trig)
			rest := []clause{}
			if s.verb(before) == "" && !hasTarget(before) && s.messageHead(before) {
				before.accompany = true // "Receive a chat message when …": the action, never the trigger
			}
			if s.verb(before) != "" || hasTarget(before) || s.messageHead(before) {
				rest = append(rest, before)
			}
			if !after.empty() {
				rest = append(rest, split(after.toks)...)
			}
			clauses = append(append(append([]clause{}, clauses[:i+1]...), rest...), clauses[i+1:]...)
			continue
		}
		// "Expose a webhook that creates …", "Create a webhook endpoint:".
		if s.p.Trigger.Kind == "" && c.hasIn(lxWebhookWord) {
			s.trigger(c)
			for j, t := range c.toks {
				if lxRelative.has(t.w) || lxDirection.has(t.w) && j > 0 {
					rest := clause{toks: c.toks[j+1:], sep: ","}
					if !rest.empty() {
						clauses = append(append(append([]clause{}, clauses[:i+1]...), rest), clauses[i+1:]...)
					}
					break
				}
			}
			continue
		}
		// "CRM deal stage updates", "ERP invoicing": a clause with no verb
		// whose noun names an action, beside the system that does it.
		if s.verb(c) == "" && !hasTarget(c) && !s.messageHead(c) {
			if nc, ok := s.actionNoun(c); ok {
				c = nc
			}
		}
		switch {
		case c.hasIn(lxElse) && s.cond != nil:
			s.inElse = true
			c = stripIn(c, lxElse)
			s.action(ctx, c)
		case s.isCondition(c):
			s.condition(c)
		case s.isLoop(c):
			rest := s.foreach(c)
			if !rest.empty() {
				s.action(ctx, rest)
			}
		case s.p.Trigger.Kind == "" && len(s.made) == 0 && s.cond == nil && !c.accompany && !hasTarget(c) && len(s.objectsIn(c)) > 0 && (s.verb(c) == "" || hasEvent(c)) &&
			!(s.verb(c) == "" && !hasEvent(c) && (s.destinationSystem(c) != "" || c.hasIn(lxAll) || s.messageHead(c))) && !s.recordsInProduct(c):
			// (A verbless message — "sprint reports from tracker via
			// email" — is sent, never watched; records placed in a product
			// the catalog lacks — "contacts in Google Contacts" — are that
			// product's, not the catalog's.)
			s.trigger(c) // terse: "new crm contact -> …"
		case s.p.Trigger.Kind == "poll" && s.verb(c) == "" && !hasTarget(c) && len(s.objectsIn(c)) == 0 && len(stateIn(c)) > 0:
			s.filter(c) // "crm opportunity -> negotiation: …"
		default:
			if k := postposedCondition(c); k > 0 {
				// "email X if the amount is over 10k": the test guards this
				// action only.
				outer, outerElse := s.cond, s.inElse
				s.cond = nil
				s.conditionIn(clause{toks: c.toks[k:]}, false)
				s.action(ctx, clause{toks: c.toks[:k], sep: c.sep})
				if s.cond != nil && s.cond != outer {
					s.cond, s.inElse = outer, outerElse
				}
				continue
			}
			s.action(ctx, c)
		}
	}
}

// newRecordTrigger: a request that states no event, schedule or manual
// start but speaks of "new <record>" ("send an email to new CRM
// contacts") is about records as they appear: the trigger polls that
// record (when the catalog can poll it), and the phrase is consumed.
func (s *state) newRecordTrigger(toks []token, clauses []clause) {
	for _, c := range clauses {
		if triggerKeyword(c) >= 0 || hasEvent(c) || c.hasIn(lxTriggerWebhookHint) {
			return
		}
	}
	for i, t := range toks {
		if t.kind != tWord || t.used || !lxNew.has(t.w) {
			continue
		}
		k := i - 1
		for k >= 0 && toks[k].kind == tWord && lxArticle.has(toks[k].w) {
			k--
		}
		if k >= 0 && toks[k].kind == tWord && actionVerbs[toks[k].w] == "create" {
			continue // "create a new issue": what is made, not what happened
		}
		j := i + 1
		for j < len(toks) && j <= i+3 && toks[j].kind == tWord && (s.isSystemWord(toks[j].w) || !stop.has(toks[j].w) && objectWords[singular(toks[j].w)] == "" && s.catalogObject(singular(toks[j].w)) == "" && j == i+1) {
			if !s.isSystemWord(toks[j].w) {
				break
			}
			j++
		}
		if j >= len(toks) || toks[j].kind != tWord {
			continue
		}
		obj := objectWords[singular(toks[j].w)]
		if obj == "" {
			obj = s.catalogObject(singular(toks[j].w))
		}
		if obj == "" || obj == "message" || obj == "email" || obj == "request" || obj == "line" {
			continue
		}
		phrase := clause{toks: append([]token{}, toks[i:j+1]...)}
		pollable := false
		for _, op := range s.b.cat.Ops {
			if op.Trigger != nil && op.Object == obj {
				pollable = true
			}
		}
		if !pollable {
			return
		}
		s.trigger(phrase)
		if s.p.Trigger.Kind == "poll" {
			for k := i; k <= j; k++ {
				toks[k].used = true
			}
		}
		return
	}
}

// onlySystem: every word of the clause that is not a stop word names a
// system ("crm:", "in the tracker") — a clause with other words is not a
// bare system name to lend to the next.
func (s *state) onlySystem(c clause) bool {
	for _, t := range c.toks {
		if t.kind == tWord && !t.used && !stop.has(t.w) && !filler(t.w) && !s.isSystemWord(t.w) {
			return false
		}
	}
	return true
}

// shareObject: a clause that is a bare verb ("Create", "update") takes the
// object of the next clause that has a verb and an object, when only bare
// verbs stand between them.
func (s *state) shareObject(c clause, rest []clause) clause {
	vi := verbIndex(c)
	if vi < 0 || len(s.objectsIn(c)) > 0 || len(s.systemsIn(c)) > 0 || hasTarget(c) || quoted(c) != "" {
		return c
	}
	for _, t := range c.toks[vi+1:] {
		if t.kind == tWord && !stop.has(t.w) && !t.used {
			return c // more than a bare verb
		}
	}
	for _, n := range rest {
		nv := verbIndex(n)
		if nv < 0 {
			return c
		}
		if len(s.objectsIn(n)) == 0 {
			continue // another bare verb
		}
		// The object, not the event after it ("… when …"): that clause
		// reads its own trigger.
		tail := n.toks[nv+1:]
		if k := triggerKeyword(clause{toks: tail}); k >= 0 {
			tail = tail[:k]
		}
		out := clause{sep: c.sep, toks: append(append([]token{}, c.toks[:vi+1]...), tail...)}
		if own, last := actionOf(c.toks[vi].w), actionOf(n.toks[nv].w); keepsOrChanges(own) && (last == "get" || last == "list") {
			// "Create, update, and get a person from CRM": the system the
			// read takes the records from is where the writes before it
			// keep them.
			for k := vi + 1; k+1 < len(out.toks); k++ {
				if t := out.toks[k]; t.kind != tWord || !lxSource.has(t.w) {
					continue
				}
				j := k + 1
				for j < len(out.toks) && determiner(out.toks[j].w) {
					j++
				}
				if j < len(out.toks) && s.isSystemWord(out.toks[j].w) {
					out.toks[k] = token{kind: tWord, w: lxStorePlaceIn, raw: out.toks[k].raw}
				}
			}
		}
		return out
	}
	return c
}

// postposedCondition finds "… if/unless/only if …" after an action verb.
func postposedCondition(c clause) int {
	verb := -1
	for i, t := range c.toks {
		if verb < 0 && isVerbAt(c.toks, i) {
			verb = i
			continue
		}
		if verb >= 0 && t.kind == tWord && lxConditionAfterAction.has(t.w) && i > verb+1 {
			if i > 0 && lxOnly.has(c.toks[i-1].w) {
				return i - 1
			}
			return i
		}
	}
	return -1
}

// onlyWords: every word of the clause is one of ws.
// onlyWordsIn: every token of the clause is a word of the set.
func onlyWordsIn(c clause, set wordSet) bool {
	for _, t := range c.toks {
		if t.kind != tWord || !set.has(t.w) {
			return false
		}
	}
	return true
}

func onlyWords(c clause, ws ...string) bool {
	for _, t := range c.toks {
		if t.kind != tWord {
			return false
		}
		ok := false
		for _, w := range ws {
			if t.w == w {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return len(c.toks) > 0
}

// hasEvent: the clause says something happened ("paid", "won", "created").
func hasEvent(c clause) bool {
	for _, t := range c.toks {
		if t.kind == tWord && eventWords.has(t.w) && !lxNew.has(t.w) {
			return true
		}
	}
	return false
}

// triggerKeyword finds where an event clause starts.
func triggerKeyword(c clause) int {
	for i, t := range c.toks {
		if t.kind != tWord || t.used {
			continue
		}
		next := ""
		if i+1 < len(c.toks) {
			next = c.toks[i+1].w
		}
		switch {
		case lxTriggerOpen.has(t.w) || lxTriggerOpenPhrase.has(t.w+" "+next):
			return i
		case lxTriggerIfPhrase.has(t.w + " " + next):
			// "If a new opportunity over 50k is created": an event, not a test.
			for _, u := range c.toks[i:] {
				if u.kind == tWord && eventWords.has(u.w) && !lxNew.has(u.w) {
					return i
				}
			}
		}
	}
	return -1
}

// eventEnd: the event runs until an action verb or a speaker ("we", "I",
// "please") after its event word.
func (s *state) eventEnd(c clause, k int) int {
	seenEvent := false
	for i := k + 1; i < len(c.toks); i++ {
		t := c.toks[i]
		if t.kind == tChannel || t.kind == tEmail || t.kind == tQuote {
			if seenEvent {
				return i
			}
			continue
		}
		if t.kind != tWord {
			continue
		}
		if eventWords.has(t.w) || lxWebhookWord.has(t.w) || objectWords[singular(t.w)] != "" {
			if eventWords.has(t.w) && !lxNew.has(t.w) {
				seenEvent = true
			}
		}
		if lxAutomatic.has(t.w) && i > k+1 {
			return i
		}
		if !seenEvent {
			continue
		}
		switch {
		case synEventEnd.has(t.w):
			if lxSelf.has(t.w) && i > 0 && lxDirection.has(c.toks[i-1].w) {
				continue
			}
			return i
		}
		if isVerbAt(c.toks, i) && !eventWords.has(t.w) {
			return i
		}
	}
	return len(c.toks)
}

// isVerbAt: the word at i is used as a verb (not "an email", "the list").
func isVerbAt(toks []token, i int) bool {
	t := toks[i]
	if base := thirdPerson(t.w); t.kind == tWord && !t.used && base != "" && actionVerbs[t.w] == "" {
		if i == 0 || lxVerbRelative.has(toks[i-1].w) {
			return true // "a webhook that creates a contact … and replies"
		}
		// "It immediately sends an alert", "the workflow creates an
		// issue": a third-person form whose base is only a verb (not also
		// a record noun: "posts", "alerts") and that no determiner
		// introduces is the clause's verb.
		// A named subject ("HR adds them", "Jira creates …") says what
		// another system does: an event, not the flow's action.
		// A verb takes an object: "status updates" at a clause's end
		// is a noun.
		named := toks[i-1].kind != tWord || toks[i-1].raw != toks[i-1].w
		object := i+1 < len(toks) && toks[i+1].kind != tPunct && toks[i+1].kind != tArrow && !synPreposition.has(toks[i+1].w)
		if !named && object && objectWords[base] == "" && !synVerbOrNoun.has(base) && !determiners.has(toks[i-1].w) && !synVerbNotAfter.has(toks[i-1].w) {
			return true
		}
	}
	if t.kind != tWord || t.used || actionVerbs[t.w] == "" {
		return false
	}
	if i > 0 {
		if synVerbNotAfter.has(toks[i-1].w) {
			return false
		}
	}
	switch {
	case lxVerbSet.has(t.w):
		// "set the status", "set up a project"; "set it up so that" is talk.
		return i+1 < len(toks) && (lxVerbSetObject.has(toks[i+1].w) ||
			lxParticleUp.has(toks[i+1].w) && i+2 < len(toks) && (lxArticle.has(toks[i+2].w) || lxNew.has(toks[i+2].w)))
	case synVerbOrNoun.has(t.w):
		if lxVerbLet.has(t.w) {
			for j := i + 1; j < len(toks) && j < i+6; j++ {
				if lxVerbLetKnow.has(toks[j].w) {
					return true
				}
			}
			return false
		}
		if lxVerbDrop.has(t.w) {
			return i+2 < len(toks) && (lxArticle.has(toks[i+1].w) && lxVerbDropObject.has(toks[i+2].w))
		}
		if actionVerbs[t.w] != "send" && i+1 < len(toks) && toks[i+1].kind == tWord {
			// "invoice alerts", "bill reminders": a message noun is no
			// object of a verb that does not send; the word qualifies it.
			if o := objectWords[singular(toks[i+1].w)]; o == "message" || o == "email" {
				return false
			}
		}
		if actionVerbs[t.w] == "send" && i+1 < len(toks) && toks[i+1].kind == tWord {
			n := toks[i+1]
			o := objectWords[singular(n.w)]
			// "Email Lookup with …", "Email List Hygiene": in a title
			// (both words capitalised) a noun that is no record, message,
			// person, pronoun or determiner, nor a form of sending
			// ("Email Sending"), is no recipient: a noun compound.
			if t.raw != t.w && n.raw != n.w && hasLetter(n.w) && o == "" && actionOf(n.w) != "send" && !determiners.has(n.w) && !lxPronounObject.has(n.w) && !lxPersonRef.has(n.w) && !lxPersonOwner.has(n.w) {
				return false
			}
		}
		if i == 0 || toks[i-1].kind == tPunct || toks[i-1].kind == tArrow || toks[i-1].used ||
			toks[i-1].kind == tNumber || toks[i-1].kind == tEmail || toks[i-1].kind == tChannel || toks[i-1].kind == tQuote {
			return true
		}
		return synVerbAfter.has(toks[i-1].w)
	}
	return true
}

// verb is a clause's first action, canonical.
func (s *state) verb(c clause) string {
	for i, t := range c.toks {
		if isVerbAt(c.toks, i) {
			v := actionVerbs[t.w]
			if v == "" {
				v = actionVerbs[thirdPerson(t.w)]
			}
			if lxVerbDrop.has(t.w) {
				return "send"
			}
			if (v == "get" || lxVerbReceive.has(t.w)) && i+2 < len(c.toks) {
				// "get an email at …" is a notification; "get a new project" a creation.
				for _, u := range c.toks[i+1 : min(len(c.toks), i+4)] {
					// Only a verb of receiving: "retrieve emails from
					// providers" reads mail, it asks for none.
					if obj := objectWords[singular(u.w)]; (obj == "email" || obj == "message") && lxVerbReceive.has(t.w) {
						return "send"
					}
					if lxNew.has(u.w) {
						return "create"
					}
				}
			}
			if v == "get" || lxVerbReceive.has(t.w) {
				// "get daily poems in chat": what is got is no record of
				// the catalog and it arrives in a system that sends
				// messages: a message.
				if s.deliveredIn(c, i) {
					return "send"
				}
			}
			return v
		}
	}
	// "… automatically created a matching sales order"
	for i, t := range c.toks {
		if lxAutomatic.has(t.w) && i+1 < len(c.toks) {
			if v := lxAutoVerb[c.toks[i+1].w]; v != "" {
				return v
			}
		}
	}
	// "we get a new project", "have a new issue"
	for i, t := range c.toks {
		if lxVerbReceive.has(t.w) && i+2 < len(c.toks) {
			for _, u := range c.toks[i+1 : min(len(c.toks), i+4)] {
				if lxNew.has(u.w) {
					return "create"
				}
				if obj := objectWords[singular(u.w)]; obj == "email" || obj == "message" {
					return "send"
				}
			}
		}
	}
	return ""
}

func hasTarget(c clause) bool {
	for _, t := range c.toks {
		if t.kind == tChannel || t.kind == tEmail {
			return true
		}
	}
	return c.hasIn(lxChannelWord) && !c.hasIn(lxChannelCreate) && channelName(c) != "" && !c.hasIn(lxNew)
}

type objRef struct {
	obj    string
	i      int
	plural bool
}

// objectsIn lists the catalog objects a clause names, in order.
func (s *state) objectsIn(c clause) []objRef {
	var out []objRef
	for i, t := range c.toks {
		if t.kind != tWord || t.used {
			continue
		}
		w := t.w
		if lxNew.has(w) && i+1 < len(c.toks) && lxNounAfterNew.has(c.toks[i+1].w) {
			continue // "new hire": the noun follows
		}
		sg := singular(w)
		obj := objectWords[sg]
		if obj == "" {
			obj = s.catalogObject(sg)
		}
		if obj == "" {
			continue
		}
		if obj == "line" && !(i+1 < len(c.toks) && lxLineItem.has(c.toks[i+1].w)) && lxLineItem.has(sg) {
			continue
		}
		if lxNotObject.has(sg) {
			continue
		}
		// "post" and "alert" are objects only after an article.
		if lxObjectVerbOrNoun.has(sg) && isVerbAt(c.toks, i) && !(i == 0 && hasEvent(c)) {
			continue
		}
		if obj == "email" && i+1 < len(c.toks) && c.toks[i+1].kind == tEmail {
			continue
		}
		// "the sales channel", "#pm channel": channel names, not objects.
		if obj == "channel" && hasTarget(c) {
			continue
		}
		if len(out) > 0 && out[len(out)-1].obj == obj && out[len(out)-1].i == i-1 {
			continue
		}
		if s.compoundModifier(c, i, obj) {
			continue
		}
		out = append(out, objRef{obj: obj, i: i, plural: w != sg})
	}
	return out
}

// compoundModifier: the record noun at i only qualifies a later record
// noun of another kind in the same noun compound ("client onboarding
// projects": projects are made, not clients). The compound runs over at
// most two more content words, none a stop word, and the later noun is a
// record kind, not a message.
func (s *state) compoundModifier(c clause, i int, obj string) bool {
	for j := i + 1; j < len(c.toks) && j <= i+3; j++ {
		t := c.toks[j]
		if t.kind != tWord || t.used || t.gap || stop.has(t.w) || synPreposition.has(t.w) {
			return false
		}
		sg := singular(t.w)
		o := objectWords[sg]
		if o == "" {
			o = s.catalogObject(sg)
		}
		if o != "" {
			return o != obj && o != "message" && o != "email" && o != "line" && o != "channel" && !lxNotObject.has(sg)
		}
	}
	return false
}

// catalogObject maps a word to an object the catalog has ("invoice").
func (s *state) catalogObject(w string) string {
	for _, op := range s.b.cat.Ops {
		if op.Object == w {
			return w
		}
		if parts := strings.Fields(op.Object); len(parts) > 1 && parts[len(parts)-1] == w {
			return op.Object
		}
	}
	return ""
}

// systemsIn lists the connectors a clause names.
func (s *state) systemsIn(c clause) []string {
	seen := map[string]bool{}
	var out []string
	for i, t := range c.toks {
		if t.kind != tWord || t.used {
			continue
		}
		for _, op := range s.b.cat.Ops {
			if seen[op.Connector] {
				continue
			}
			for _, w := range op.System {
				if w == t.w && !(objectWords[w] != "" && i+1 < len(c.toks) && c.toks[i+1].kind == tEmail) {
					if lxEmailVerb.has(w) && !s.emailSystem(c, i) {
						continue
					}
					seen[op.Connector] = true
					out = append(out, op.Connector)
				}
			}
		}
	}
	return out
}

// emailSystem: "email" names the mail system unless it is a field ("their email").
func (s *state) emailSystem(c clause, i int) bool {
	if i > 0 {
		if lxEmailFieldBefore.has(c.toks[i-1].w) {
			return false
		}
	}
	return true
}

// unknownSystem names a product the request mentions that no connection
// reaches.
func (s *state) unknownSystem(c clause) string {
	for _, t := range c.toks {
		if t.kind == tWord && knownVendors[t.w] {
			known := false
			for _, op := range s.b.cat.Ops {
				for _, w := range op.System {
					if w == t.w {
						known = true
					}
				}
			}
			if !known {
				return t.raw
			}
		}
	}
	return ""
}

func stateIn(c clause) []string {
	var out []string
	for i, t := range c.toks {
		if t.kind != tWord || t.used {
			continue
		}
		if i > 0 && lxStatePhrase.has(c.toks[i-1].w+" "+t.w) {
			out = append(out, stateWords[t.w]...) // "on leave", "in progress"
			continue
		}
		if i+2 < len(c.toks) && lxStateNot.has(t.w+" "+c.toks[i+1].w+" "+c.toks[i+2].w) {
			continue // "closed as lost" is not closed won
		}
		if lxStateOnlyInPhrase.has(t.w) {
			continue
		}
		if vs, ok := stateWords[t.w]; ok {
			out = append(out, vs...)
		}
	}
	return out
}

// stripIn drops the words of the set from the clause.
func stripIn(c clause, set wordSet) clause {
	out := clause{sep: c.sep}
	for _, t := range c.toks {
		if !(t.kind == tWord && set.has(t.w)) {
			out.toks = append(out.toks, t)
		}
	}
	return out
}

func strip(c clause, ws ...string) clause {
	var out clause
	out.sep = c.sep
	for _, t := range c.toks {
		drop := false
		for _, w := range ws {
			if t.kind == tWord && t.w == w {
				drop = true
			}
		}
		if !drop {
			out.toks = append(out.toks, t)
		}
	}
	return out
}

// webhookTrigger makes the trigger a webhook for the clause that asks
// for it.
func (s *state) webhookTrigger(c clause) {
	s.p.Trigger = TriggerPlan{Kind: "webhook"}
	s.trigDesc = "webhook"
	for _, o := range s.objectsIn(c) {
		if o.obj != "request" && o.obj != "message" && o.obj != "email" {
			s.hookObj = o.obj // "a webhook about a new invoice": "create it" means an invoice
			break
		}
	}
	s.n.explain = append(s.n.explain, "Trigger: a webhook (POST /hooks/NAME); each request starts a run with its JSON body as trigger.body. The request names no body fields, so steps read the fields they need from trigger.body by the target's names: check them against what the sender posts.")
	if c.hasIn(lxWebhookSigned) {
		s.n.ask("Which secret signs the webhook? Add trigger.webhook.signature with the name of a configured secret.")
	}
}

// trigger reads an event clause: a webhook, or records of a system.
func (s *state) trigger(c clause) {
	if s.p.Trigger.Kind != "" {
		if onlyWordsIn(c, lxTriggerRestated) {
			return // "when called": the webhook already says so
		}
		if hasEvent(c) || c.hasIn(lxWebhookWord) && s.p.Trigger.Kind != "webhook" {
			s.n.ask("The request names both a %s trigger and an event (%q); the draft uses the %s. Which should start the flow?", s.p.Trigger.Kind, c.text(), s.p.Trigger.Kind)
			return
		}
		s.action(context.Background(), c)
		return
	}
	s.trigWords = c.words()
	if c.hasIn(lxTriggerWebhook) || c.phraseIn(lxTriggerWebhookPhrase) {
		s.webhookTrigger(c)
		return
	}
	// A product the catalog lacks: in an event clause ("when a lead
	// replies to your Lemlist email") the event happens there unless a
	// system the catalog can poll is named; in a clause that only carries
	// records ("ERP invoices to Dropbox") it is where they go, not what is
	// watched.
	event := hasEvent(c) || triggerKeyword(c) >= 0
	scope := c
	if !event {
		for i, t := range c.toks {
			if t.kind == tWord && lxDirection.has(t.w) && i > 0 {
				scope = clause{toks: c.toks[:i]}
				break
			}
		}
	}
	v := s.unknownSystem(scope)
	if v == "" && event && !s.namesPollableSystem(c) {
		v = s.productName(c)
	}
	if v != "" {
		s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: %s is not connected to Weft, so nothing can watch it (connected: %s)", c.text(), v, strings.Join(s.connections(), ", ")))
		return
	}
	objs := s.objectsIn(c)
	sys := s.systemsIn(c)
	var best *Op
	bestScore := 0.0
	for _, op := range s.b.cat.Ops {
		if op.Trigger == nil {
			continue
		}
		score := 0.0
		for _, o := range objs {
			if o.obj == op.Object {
				score += 2
				break
			}
		}
		for _, sy := range sys {
			if sy == op.Connector {
				score += 1
			}
		}
		// On a tie the record named first wins: "deals in CRM … based
		// on company size" is about deals; a later noun qualifies.
		if score > bestScore || score == bestScore && best != nil && score >= 2 && objIndex(objs, op.Object) < objIndex(objs, best.Object) {
			best, bestScore = op, score
		}
	}
	// "new ERP contacts": the named system keeps its people as another
	// kind of record (customers, not the CRM's contacts).
	if best != nil && len(sys) > 0 && !contains(sys, best.Connector) && lxKindPerson.has(best.Object) {
		for _, op := range s.b.cat.Ops {
			if op.Trigger != nil && contains(sys, op.Connector) && lxKindPerson.has(op.Object) {
				best, bestScore = op, 3
				break
			}
		}
	}
	if (best == nil || bestScore < 2) && len(sys) == 1 && !s.namesPollable(objs) {
		// "whenever a tracker card is moved": the event's system is named
		// and its record in words the catalog does not have; the records
		// that system's events are about are watched (its only pollable
		// list, or the one nested in another: messages in channels).
		if op := s.b.cat.eventRecord(sys[0]); op != nil {
			best, bestScore = op, 2
		}
	}
	if best == nil || bestScore < 2 {
		s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: no connected system offers these records as a trigger (pollable: %s)", c.text(), strings.Join(s.pollable(), ", ")))
		return
	}
	kind, deletes := eventKind(c)
	if deletes {
		// A list shows the records that exist: polling it never sees one
		// that was deleted. Say so; never watch another event instead.
		s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: a deletion cannot be watched: %s lists the %s records that exist, so polling it never sees a deleted one; no trigger was drafted for it", c.text(), best.Ref, best.Object))
		s.n.gaps = append(s.n.gaps, fmt.Sprintf("the request's trigger (%s records deleted) cannot be observed by polling %s", best.Object, best.Ref))
		s.n.ask("Deleted %s records cannot be seen by polling %s. Does the system call a webhook when one is deleted (then use a webhook trigger), or should the flow run on a schedule?", best.Object, best.Ref)
		if kind == "" {
			return
		}
	}
	s.p.Trigger = TriggerPlan{Kind: "poll", Op: best}
	s.trigObj = best.Object
	s.fields = best.recordFields()
	s.always = map[string]bool{}
	requiredOf(best.itemSchema(), s.always, 0)
	inputs := best.inputProps()
	for _, k := range sortedKeys(inputs) {
		if lxFieldCursorParam.has(k) {
			s.p.Trigger.Input = append(s.p.Trigger.Input, KV{k, "=trigger.cursor"})
		}
	}
	s.pathParams(best, c, &s.p.Trigger.Input)
	for _, k := range sortedKeys(inputs) {
		if len(enumValues(inputs[k])) > 0 || isIDParam(k) || hasKV(s.p.Trigger.Input, k) || typeOf(inputs[k]) != "string" {
			continue
		}
		if v := namedValue(c, k); v != "" && strings.ToLower(v) != v {
			s.p.Trigger.Input = append(s.p.Trigger.Input, KV{k, v}) // "in the Engineering department"
		}
	}
	desc := "new or updated " + best.Object + " records"
	switch kind {
	case "create":
		// "when a contact is created": new records only, not updates. The
		// cursor is the record's creation field, so an update (same
		// creation time) never starts a run.
		if f := creationField(best); f != "" {
			if best.Trigger == nil || best.Trigger.Cursor != f {
				s.p.Trigger.Cursor = f
				if best.Trigger != nil && best.Trigger.Key != "" {
					s.p.Trigger.Key = best.Trigger.Key
				} else if _, ok := s.fields["id"]; ok {
					s.p.Trigger.Key = "id"
				}
			}
			desc = "new " + best.Object + " records (cursor " + f + ": updates do not start runs)"
		} else {
			s.n.ask("%s records have no creation-time field, so polling %s also starts a run when a record is updated. Is that acceptable, or does the system call a webhook for new records?", best.Object, best.Ref)
		}
	case "update":
		desc = "updated " + best.Object + " records"
	}
	s.filter(c)
	for _, kv := range s.p.Trigger.Input {
		if v, ok := kv.Value.(string); ok && !strings.HasPrefix(v, "=") {
			desc += fmt.Sprintf(" with %s = %s", kv.Key, v)
		}
	}
	s.trigDesc = best.Object
	s.n.explain = append(s.n.explain, fmt.Sprintf("Trigger: polls %s (connection %s) every minute for %s; each record starts one run, once, as trigger.body.", best.Ref, best.Connection, desc))
	// Conditions said inside the event: "a new opportunity over 50k",
	// "unless the department is Contractors", "with an amount above 75,000".
	for i, t := range c.toks {
		if t.kind != tWord || i == 0 {
			continue
		}
		switch {
		case synConditionInEvent.has(t.w):
			s.conditionIn(clause{toks: c.toks[i:]}, true)
			return
		case lxCompareAt.has(t.w):
			if i+1 < len(c.toks) && lxCompareAtBound.has(c.toks[i+1].w) {
				s.conditionIn(clause{toks: c.toks[i:]}, true)
				return
			}
		}
	}
}

// pathParams fills a list operation's required path parameters
// ("channel incidents", "project SUP").
func (s *state) pathParams(op *Op, c clause, into *[]KV) {
	for _, k := range op.required() {
		if !isIDParam(k) {
			continue
		}
		obj := idObject(k)
		if obj == "channel" {
			if ch := channelName(c); ch != "" {
				*into = append(*into, KV{k, ch})
				continue
			}
		}
		if lit := literalID(c, obj); lit != "" {
			*into = append(*into, KV{k, lit})
			continue
		}
		s.n.ask("Which %s should %s read? It needs %s.", obj, op.Ref, k)
	}
}

// filter turns state words ("won", "overdue", "on leave") and equality
// tests the list operation can filter on into the poll input; the rest
// become a condition.
func (s *state) filter(c clause) {
	op := s.p.Trigger.Op
	if op == nil {
		return
	}
	inputs := op.inputProps()
	for _, v := range stateIn(c) {
		field := enumField(s.fields, v)
		if field == "" {
			continue
		}
		if hasKV(s.p.Trigger.Input, field) {
			continue
		}
		if _, ok := inputs[field]; ok {
			s.p.Trigger.Input = append(s.p.Trigger.Input, KV{field, v})
		} else {
			s.openCond(fmt.Sprintf("trigger.body.%s == %q", field, v), fmt.Sprintf("%s is %s", field, v))
		}
		break
	}
}

func hasKV(kvs []KV, k string) bool {
	for _, kv := range kvs {
		if kv.Key == k {
			return true
		}
	}
	return false
}

// enumField finds the record field whose enum has v (status, stage).
func enumField(fields map[string]map[string]any, v string) string {
	for _, k := range sortedKeys(fields) {
		for _, e := range enumValues(fields[k]) {
			if e == v {
				return k
			}
		}
	}
	return ""
}

// isCondition: "if …", "only if …", "unless …", "and the amount is over …".
func (s *state) isCondition(c clause) bool {
	if len(c.toks) == 0 {
		return false
	}
	first := c.toks[0].w
	if lxOnly.has(first) || lxBut.has(first) && len(c.toks) > 1 && (lxOnly.has(c.toks[1].w) || lxIf.has(c.toks[1].w)) {
		return true
	}
	if lxConditionOpen.has(first) && s.verbAfterCond(c) < 0 {
		return true
	}
	if lxConditionTest.has(first) && s.verbAfterCond(c) >= 0 {
		return true
	}
	return c.sep == "and" && startsCondition(c.toks, 0)
}

// verbAfterCond: "if the amount is over 10k email X" has an action too.
func (s *state) verbAfterCond(c clause) int {
	for i := range c.toks {
		if i > 1 && isVerbAt(c.toks, i) {
			return i
		}
	}
	return -1
}

func (s *state) condition(c clause) {
	if k := s.verbAfterCond(c); k > 0 && lxConditionTest.has(c.toks[0].w) {
		cc := clause{toks: c.toks[:k]}
		s.conditionIn(cc, false)
		s.action(context.Background(), clause{toks: c.toks[k:]})
		return
	}
	if k := s.messageAfterCond(c); k > 0 {
		s.conditionIn(clause{toks: c.toks[:k]}, false)
		s.action(context.Background(), clause{toks: c.toks[k:]})
		return
	}
	s.conditionIn(c, false)
}

// messageAfterCond: "if there are any a message will be sent to chat": a
// condition with no verb of its own runs, with no comma, into a message
// sent somewhere (an article whose noun is a message, in a phrase that
// goes to a channel or a system that sends). The index of that article,
// else -1.
func (s *state) messageAfterCond(c clause) int {
	if len(c.toks) == 0 || !lxConditionTest.has(c.toks[0].w) || s.verbAfterCond(c) >= 0 {
		return -1
	}
	for k := 2; k+1 < len(c.toks); k++ {
		if c.toks[k].kind != tWord || !determiner(c.toks[k].w) {
			continue
		}
		rest := clause{toks: c.toks[k:]}
		if objs := s.objectsIn(rest); len(objs) == 0 || objs[0].i != 1 || objs[0].obj != "message" && objs[0].obj != "email" {
			continue // the article's own noun is the message
		}
		if hasTarget(rest) {
			return k
		}
		for _, op := range s.b.cat.Ops {
			if op.Verb == "send" && s.destination(rest, op.Connector) {
				return k
			}
		}
	}
	return -1
}

// conditionIn parses "the amount is over 10,000", "its country is DE",
// "unless the department is Contractors", "over 50k", "with a budget below 1000".
func (s *state) conditionIn(c clause, inEvent bool) {
	neg := c.hasIn(lxConditionNegative)
	op, at, from := "", -1, -1
	ws := c.toks
	for i := 0; i < len(ws); i++ {
		if op != "" && from < 0 {
			from = i - 1
		}
		w := ws[i].w
		if ws[i].kind != tWord {
			continue
		}
		switch o, n := comparePhrase(ws, i); {
		case o != "" && o != "==" && o != "!=":
			op, at = o, i+n
		case o != "" && op == "":
			op, at = o, i+n
			if o == "!=" {
				neg = false
			}
		case lxOf.has(w) && op == "" && i+1 < len(ws) && ws[i+1].kind == tNumber:
			op, at = ">=", i+1
		}
		if op != "" && op != "==" {
			break
		}
	}
	if op == "" || at < 0 || at >= len(ws) {
		return
	}
	// The value.
	vt := ws[at]
	for vt.kind == tWord && lxCompareSkip.has(vt.w) && at+1 < len(ws) {
		at++
		vt = ws[at]
	}
	// The field: a record field named before the comparator.
	field := ""
	cmp := at
	for i := at - 1; i >= 0 && i >= at-3; i-- {
		if ws[i].kind == tWord && (lxComparePart.has(ws[i].w) || comparator(ws[i].w) != "") {
			cmp = i
		}
	}
	for i := 0; i < cmp && i < len(ws); i++ {
		if ws[i].kind != tWord {
			continue
		}
		if f := s.fieldNamed(ws[i].w); f != "" {
			field = f
		}
	}
	var val any
	switch vt.kind {
	case tNumber:
		val = vt.num
		if field == "" {
			field = s.numericField()
		}
	case tQuote, tWord:
		if op != "==" && op != "!=" {
			return
		}
		if field == "" {
			return
		}
		v := vt.raw
		if vt.kind == tQuote {
			v = vt.w
		}
		if es := enumValues(s.fieldSchema(field)); len(es) > 0 {
			v = matchEnum(es, strings.ToLower(v), stateIn(clause{toks: ws[at:]}))
			if v == "" {
				return
			}
		}
		val = v
	default:
		return
	}
	if field == "" {
		s.n.ask("Which field does %q test? The draft could not tell.", c.text())
		return
	}
	if neg && op == "==" {
		op = "!="
	}
	// An equality the poll can filter on goes into its input.
	if op == "==" && s.p.Trigger.Kind == "poll" && s.loop == nil {
		if _, ok := s.p.Trigger.Op.inputProps()[field]; ok {
			if !hasKV(s.p.Trigger.Input, field) {
				s.p.Trigger.Input = append(s.p.Trigger.Input, KV{field, val})
			}
			return
		}
	}
	ref := s.fieldRef(field)
	cel := ""
	switch v := val.(type) {
	case float64:
		cel = fmt.Sprintf("%s %s %s", ref, op, value(v))
	case string:
		cel = fmt.Sprintf("%s %s %q", ref, op, v)
	}
	s.openCond(cel, fmt.Sprintf("%s %s %v", field, op, value(val)))
}

func matchEnum(es []string, v string, states []string) string {
	for _, e := range es {
		if e == v || strings.ReplaceAll(e, "_", " ") == v {
			return e
		}
	}
	for _, st := range states {
		for _, e := range es {
			if e == st {
				return e
			}
		}
	}
	return ""
}

func (s *state) openCond(cel, human string) {
	if s.cond != nil && !s.inElse && len(s.cond.Then) == 0 {
		s.cond.Cond += " && " + cel
		s.cond.Why += " and " + human
		return
	}
	st := &StepPlan{ID: s.ids.next("check"), Kind: "if", Cond: cel, Why: "only when " + human}
	s.add(st)
	s.cond, s.inElse = st, false
	s.n.explain = append(s.n.explain, fmt.Sprintf("Condition %s: the steps below run only when %s.", st.ID, human))
}

// fieldNamed maps a word to a field of the record in scope.
func (s *state) fieldNamed(w string) string {
	fs := s.scopeFields()
	if fs == nil {
		if lxFieldCommon.has(w) {
			return w
		}
		return ""
	}
	if _, ok := fs[w]; ok {
		return w
	}
	if len(w) <= 3 || stop.has(w) {
		return ""
	}
	for _, k := range sortedKeys(fs) {
		parts := strings.Split(k, "_")
		if parts[len(parts)-1] == w && len(parts) <= 2 {
			return k
		}
	}
	return ""
}

func (s *state) scopeFields() map[string]map[string]any {
	if s.loopF != nil {
		return s.loopF
	}
	return s.fields
}

func (s *state) fieldSchema(f string) map[string]any { return s.scopeFields()[f] }

func (s *state) numericField() string {
	fs := s.scopeFields()
	for _, k := range lex.list("field.amount") {
		if fs == nil {
			return "amount"
		}
		if _, ok := fs[k]; ok {
			return k
		}
	}
	return ""
}

// fieldRef is the CEL path to a field of the record in scope.
func (s *state) fieldRef(f string) string {
	if s.loop != nil {
		return "item." + f
	}
	return "trigger.body." + f
}

// isLoop: "for each line item", "for every contact", "loop over its lines".
func (s *state) isLoop(c clause) bool {
	return c.phraseIn(lxLoopPhrase)
}

// foreach opens a loop over the named collection and returns the rest of
// the clause (the action inside).
func (s *state) foreach(c clause) clause {
	start := -1
	for i, t := range c.toks {
		if lxLoopQuant.has(t.w) || lxLoopOver.has(t.w) && !(i+1 < len(c.toks) && lxLoopQuant.has(c.toks[i+1].w)) {
			start = i + 1
			if i+1 < len(c.toks) && lxOf.has(c.toks[i+1].w) {
				start++
			}
			break
		}
	}
	end := len(c.toks)
	for i := start; i < len(c.toks); i++ {
		if isVerbAt(c.toks, i) || i > start && actionVerbs[c.toks[i].w] != "" && !lxVerbNotAfterObject.has(c.toks[i].w) && objectWords[singular(c.toks[i-1].w)] != "" && objectWords[singular(c.toks[i].w)] == "" ||
			i > start && lxLoopVerbOrNoun.has(c.toks[i].w) && objectWords[singular(c.toks[i-1].w)] != "" {
			end = i
			break
		}
	}
	head := clause{toks: c.toks[start:end]}
	rest := clause{toks: c.toks[end:]}
	objs := s.objectsIn(head)
	// A list field of the trigger record: "line items" -> trigger.body.lines.
	for _, t := range head.toks {
		if t.kind != tWord {
			continue
		}
		for _, k := range sortedKeys(s.fields) {
			if typ, _ := s.fields[k]["type"].(string); typ == "array" && (singular(k) == singular(t.w) || objectWords[singular(t.w)] != "" && objectWords[singular(t.w)] == objectWords[singular(k)]) {
				st := &StepPlan{ID: s.ids.next("each_" + singular(k)), Kind: "foreach", Items: "trigger.body." + k, Why: "for each of " + k}
				s.add(st)
				s.loop, s.loopObj = st, singular(k)
				s.loopF, s.loopReq = map[string]map[string]any{}, map[string]bool{}
				if items, ok := s.fields[k]["items"].(map[string]any); ok {
					collectProps(items, s.loopF, 0)
					requiredOf(items, s.loopReq, 0)
				}
				s.n.explain = append(s.n.explain, fmt.Sprintf("Loop %s: the steps inside run once per element of trigger.body.%s (item).", st.ID, k))
				return rest
			}
		}
	}
	if len(objs) == 0 {
		s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: a loop over what? No list in the trigger record or the catalog matches", c.text()))
		return rest
	}
	// Otherwise list the records first ("for each overdue invoice in the ERP").
	obj := objs[0].obj
	list := s.pick("list", obj, s.systemsIn(head), head)
	if list == nil {
		s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: nothing in the catalog lists %s records", c.text(), obj))
		return rest
	}
	ls := s.call(list, head, "list")
	st := &StepPlan{ID: s.ids.next("each_" + strings.ReplaceAll(obj, " ", "_")), Kind: "foreach", Items: "steps." + ls.ID + "." + list.itemsPath(), Why: "for each " + obj}
	s.add(st)
	s.loop, s.loopObj, s.loopF, s.loopReq = st, obj, list.recordFields(), map[string]bool{}
	requiredOf(list.itemSchema(), s.loopReq, 0)
	s.n.explain = append(s.n.explain, fmt.Sprintf("Loop %s: the steps inside run once per %s that %s returned (item).", st.ID, obj, ls.ID))
	return rest
}

// action resolves one action clause to a step.
func (s *state) action(ctx context.Context, c clause) {
	if c.empty() {
		return
	}
	verb := s.verb(c)
	if verb == "" && hasTarget(c) {
		verb = "send"
	}
	objs := objectsAfterVerb(s.objectsIn(c), verbIndex(c))
	if nv := negated(c); nv != "" {
		// "don't post anything": remembered, and checked against the rest.
		obj := ""
		for _, o := range objs {
			if o.obj != "message" && o.obj != "email" {
				obj = o.obj
				break
			}
		}
		s.negated = append(s.negated, neg{nv, obj, c.text()})
		return
	}
	if verb == "" && len(objs) > 0 && (c.sep == "->" || c.sep == "+" || c.sep == "," && (s.p.Trigger.Kind == "schedule" || s.p.Trigger.Kind == "manual")) {
		// terse: "-> erp customer" creates; after a schedule it lists.
		verb = "create"
		if s.p.Trigger.Kind == "schedule" || s.p.Trigger.Kind == "manual" {
			verb = "list"
		}
		if objs[0].obj == "email" || objs[0].obj == "message" {
			verb = "send"
		}
	}
	if verb == "" {
		// The title form "X to chat", "leads to CRM": the destination asks
		// for the write (a message where the system sends them, else a
		// record of the object named).
		if conn := s.destinationSystem(c); conn != "" {
			sends := false
			for _, op := range s.b.cat.Ops {
				if op.Connector == conn && op.Verb == "send" {
					sends = true
				}
			}
			switch {
			case sends:
				verb = "send"
			case recordNamed(objs) || recordNamed(s.objectsIn(clause{toks: s.req})):
				// the records named here, or earlier in the request
				// ("Qualify leads: Typeform to CRM")
				verb = "create"
			default:
				// "Smartlead to CRM performance analytics": the request
				// names no record kind to carry there, so none is made.
			}
		}
	}
	if verb == "" {
		// A verbless noun phrase headed by a message ("invoice alerts in
		// chat", "daily task reminder emails", "one email recap") asks for
		// that message to be sent. The head is the noun the phrase ends
		// on: "email address" is no message.
		if s.messageHead(c) {
			verb = "send"
		}
	}
	if verb == "" && s.productDestination(c, -1, "") != "" {
		switch s.carriedToProduct(c, objs) {
		case carryTrigger:
			return
		case carryRead:
			verb = "list"
		}
	}
	if verb == "" {
		if s.isFiller(c) {
			return
		}
		s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: no action found (try a verb such as create, update, post, email, list)", c.text()))
		return
	}
	if v := s.unknownSystem(c); v != "" {
		// A product the catalog lacks, where the clause also names a
		// connected system as the destination ("notifications for new
		// Shopify orders to chat"): the product is only where the records
		// come from; the step into the connected system is drafted and the
		// product is named as not understood.
		src := s.unknownSource(c, v, verb)
		carry := carryNone
		if src < 0 && s.productDestination(c, -1, "") != "" {
			carry = s.carriedToProduct(c, objs)
		}
		switch carry {
		case carryTrigger:
			// "add new CRM contacts to Mailchimp": the trigger brings
			// them; the write into the product is named.
			s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: %s is not connected to Weft, so the records are not written there", c.text(), v))
			return
		case carryRead:
			// "copy all tracker issues to Dropbox": the records are read;
			// the write into the product is named.
			s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: %s is not connected to Weft; the records are read, not written there", c.text(), v))
			verb = "list"
		default:
			if src < 0 && s.toolProduct(c, v, verb) {
				// "update CRM deal stages with Stripe": the product is a
				// tool of the change, made in the connected system named
				// before it.
				s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: %s is not connected to Weft; the step in the connected system was drafted without it", c.text(), v))
				break
			}
			if src < 0 && s.sentByConnected(c, verb, objs) {
				// "job alerts with Airtable & chat", "send emails to leads
				// using SendGrid": the product is a tool of the message,
				// not where it goes; the connected system the clause names
				// (or the mail its object is) sends it.
				s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: %s is not connected to Weft; the message goes to the connected destinations only", c.text(), v))
				break
			}
			if src < 0 {
				s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: %s is not connected to Weft, so this step was left out (connected: %s)", c.text(), v, strings.Join(s.connections(), ", ")))
				return
			}
			s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: %s is not connected to Weft; the step into the connected destination was drafted without it", v, v))
			// The product's own records ("Shopify orders") are not the
			// catalog's: no step reads them.
			var keep []objRef
			for _, o := range objs {
				if o.i < src || o.i > src+1 || verb != "send" {
					keep = append(keep, o)
				}
			}
			objs = keep
		}
	}
	// "… and updates their status": the records the trigger watches.
	theirs := verb == "update" && s.trigObj != "" && len(objs) == 0 && s.possessiveAfterVerb(c)
	if len(objs) == 0 && len(s.systemsIn(c)) == 0 && !hasTarget(c) && verb != "send" && !c.hasIn(lxPronounObject) && quoted(c) == "" && verb != "respond" && !theirs {
		s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: %s what? The clause names no record, system or recipient", c.text(), verb))
		return
	}
	switch verb {
	case "respond":
		if s.p.Trigger.Kind == "webhook" {
			st := &StepPlan{ID: s.ids.next("reply"), Kind: "respond", Body: []KV{{"status", "ok"}}}
			if q := quoted(c); q != "" {
				st.Body = []KV{{"status", q}}
			} else if c.hasIn(lxRespondOK) {
				st.Body = []KV{{"status", "ok"}}
			}
			s.add(st)
			s.n.explain = append(s.n.explain, "Step "+st.ID+": replies to the webhook caller.")
		}
		return
	case "delete":
		if s.injected || c.hasIn(lxBulk) {
			s.n.warnings = append(s.n.warnings, fmt.Sprintf("%q: not drafted: deleting in bulk is never drafted from a request; write that step by hand if you mean it", c.text()))
			return
		}
	}
	if verb == "send" || verb == "create" && len(objs) > 0 && (objs[0].obj == "message" || objs[0].obj == "email") {
		s.send(ctx, c, objs)
		return
	}
	if verb == "get" && len(objs) > 0 && (objs[0].plural || c.hasIn(lxAll)) {
		verb = "list"
	}
	if verb == "invoice" {
		verb, objs = "create", append([]objRef{{obj: "invoice"}}, objs...)
	}
	obj := ""
	for _, o := range objs {
		if o.obj != "email" && o.obj != "message" && o.obj != "line" {
			obj = o.obj
			break
		}
	}
	// "Sync Shopify customers to your CRM contacts": what is written is
	// the record named at the destination, not the one carried there.
	if verb == "create" || verb == "update" {
		if di := s.destinationIndex(c); di > 0 {
			for _, o := range objs {
				if o.i > di && o.obj != "email" && o.obj != "message" && o.obj != "line" {
					obj = o.obj
					break
				}
			}
		}
	}
	sys := s.systemsIn(c)
	if obj == "" && verb == "update" && s.trigObj != "" && len(sys) == 0 {
		obj = s.trigObj
	}
	if obj == "" && c.hasIn(lxPronounHook) && verb == "create" && s.hookObj != "" {
		obj = s.hookObj // "create it in the ERP"
	}
	noted := false
	if vi := verbIndex(c); verb == "create" && obj == "" && vi >= 0 && storeVerb(c.toks[vi].w) && s.trigObj != "" && len(sys) == 1 {
		// "records the outreach in CRM": what a store verb keeps is an
		// activity, no record kind; kept in the system whose records the
		// flow carries, it is noted on those records.
		if _, ok := s.directObject(c, vi); !ok {
			if up := s.pick("update", s.trigObj, sys, c); up != nil && up.Verb == "update" && s.inScope(up) && s.keptIn(c, vi, up.Connector) {
				verb, obj, noted = "update", s.trigObj, true
			}
		}
	}
	op := s.pick(verb, obj, sys, c)
	if op != nil && verb == "update" && c.hasIn(lxVerbCarry) && !s.inScope(op) {
		// "Sync ERP customers to CRM accounts": records carried into a
		// system where nothing in scope identifies one of its records
		// (no trigger or loop over that kind there) cannot be updated by
		// id; they are created.
		if cr := s.pick("create", op.Object, []string{op.Connector}, c); cr != nil {
			op, verb = cr, "create"
		}
	}
	if op == nil {
		what := obj
		if what == "" {
			what = "records"
		}
		s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: no connected operation can %s %s", c.text(), verb, what))
		return
	}
	s.noting = noted
	why := s.licence(op, c, verb)
	s.noting = false
	if why != "" {
		s.refuse(op, c, why)
		return
	}
	for _, m := range s.made {
		if m.Op == op && (c.borrowed || c.nominal) {
			return // the bare verb repeats a step already made from the clause it refers to
		}
	}
	s.call(op, c, verb)
	s.acted = &c
	if op.Verb == "create" {
		s.wrote = &c
		s.coordinatedRecords(c, op, objs)
	}
}

// coordinatedRecords: "… to CRM accounts & contacts", "create contacts
// and deals": record kinds joined to the one just created (at the
// clause's destination, else after its verb) are created in the same
// system too, each once, each through the write licence.
func (s *state) coordinatedRecords(c clause, op *Op, objs []objRef) {
	di := s.destinationIndex(c)
	if di < 0 {
		di = verbIndex(c) // "create contacts and deals"
	}
	if di < 0 {
		return
	}
	prev, done := -1, map[string]bool{op.Object: true}
	for _, o := range objs {
		if o.i <= di {
			continue
		}
		if prev < 0 {
			if o.obj == op.Object {
				prev = o.i
			}
			continue
		}
		for _, t := range c.toks[prev+1 : o.i] {
			if t.kind == tWord && hasLetter(t.w) && !lxSepAnd.has(t.w) && !determiner(t.w) {
				return // not a list of records: "accounts with contacts"
			}
		}
		prev = o.i
		if n := o.i + 1; n < len(c.toks) && c.toks[n].kind == tWord && hasLetter(c.toks[n].w) && !stop.has(c.toks[n].w) && !lxSepAnd.has(c.toks[n].w) && !preposition(c.toks[n].w) && !hasSuffixIn(c.toks[n].w, morphGerund) {
			return // a modifier, not a record: "customer communication" ("contacts depending on …" is a record)
		}
		if done[o.obj] {
			continue
		}
		done[o.obj] = true
		more := s.pick("create", o.obj, []string{op.Connector}, c)
		if more == nil || more.Connector != op.Connector {
			continue
		}
		if why := s.licence(more, c, "create"); why != "" {
			s.refuse(more, c, why)
			continue
		}
		s.call(more, c, "create")
	}
}

// unknownSource: the index of the product v the catalog lacks when it is
// only where the clause's records come from, else -1: it stands before the connected destination
// ("… Shopify orders to chat", not "… to the email list in Mailchimp"),
// and either the clause sends a message or the product's own records are
// a kind the catalog has ("Shopify customers to CRM contacts", not
// "Stripe payment to ERP …").
func (s *state) unknownSource(c clause, v, verb string) int {
	dest := s.destinationSystem(c)
	if dest == "" && !(verb == "send" && hasTarget(c)) {
		return -1
	}
	pi, di := -1, -1
	for i, t := range c.toks {
		if (t.kind == tChannel || t.kind == tEmail) && di < 0 && verb == "send" {
			di = i // "… to #sales": the message's destination
		}
		if t.kind != tWord {
			continue
		}
		if pi < 0 && t.raw == v {
			pi = i
		}
		if di < 0 && lxDirection.has(t.w) && i+1 < len(c.toks) {
			j := i + 1
			for j < len(c.toks) && determiner(c.toks[j].w) {
				j++
			}
			if j < len(c.toks) && s.namesSystem(c.toks[j].w, dest) {
				di = i
			}
		}
	}
	if pi < 0 || di < 0 || pi > di {
		return -1
	}
	if verb == "send" || pi+1 < di && s.recordNoun(c.toks[pi+1].w) != "" {
		return pi
	}
	return -1
}

// namesSender: the clause names a connected system that sends messages as
// a destination, not only as the kind of its message ("email alerts").
func (s *state) namesSender(c clause) bool {
	for i, t := range c.toks {
		if t.kind != tWord || !s.sendsMessages(t.w) {
			continue
		}
		if i+1 < len(c.toks) && c.toks[i+1].kind == tWord {
			if o := objectWords[singular(c.toks[i+1].w)]; o == "message" || o == "email" {
				continue
			}
		}
		return true
	}
	return false
}

// sentTo: the draft already sends a message with the system w names.
func (s *state) sentTo(w string) bool {
	conns := s.b.cat.connectorsNamed(w)
	found := false
	s.p.walk(func(st *StepPlan) {
		if st.Kind == "call" && st.Op != nil && st.Op.Verb == "send" {
			for _, cn := range conns {
				found = found || st.Op.Connector == cn
			}
		}
	})
	return found
}

// sentByConnected: a message clause that names a connected system that
// sends messages after its verb, or whose object is mail, and whose
// direction word (to, into) leads to no product the catalog lacks: such a
// message is sent by the connected system whatever other products the
// clause names as its tools.
func (s *state) sentByConnected(c clause, verb string, objs []objRef) bool {
	if verb != "send" || s.productDestination(c, -1, "") != "" {
		return false
	}
	for _, o := range objs {
		if o.obj == "email" {
			return true
		}
	}
	vi := verbIndex(c)
	for i, t := range c.toks {
		if i > vi && t.kind == tWord && !t.used && s.sendsMessages(t.w) && !(i > 0 && lxSource.has(c.toks[i-1].w)) {
			return true
		}
	}
	return false
}

// moreDestinations: the indexes of the words of c naming a connected
// system that sends messages, when c (after a comma or "and") holds
// nothing but destinations: such systems, products the catalog lacks
// (named as not understood by the coverage stage) and message nouns
// ("chat, Teams & email notifications").
func (s *state) moreDestinations(c clause) []int {
	if c.sep != "," && c.sep != "and" {
		return nil
	}
	var out []int
	for i, t := range c.toks {
		if t.kind != tWord && t.kind != tPunct {
			return nil // "and email it@acme.example": a verb with its own recipient
		}
		if t.kind != tWord || t.used || stop.has(t.w) || filler(t.w) || !hasLetter(t.w) {
			continue
		}
		o := objectWords[singular(t.w)]
		switch {
		case s.sendsMessages(t.w):
			out = append(out, i)
		case knownVendors[t.w] || properName(t) || o == "message" || o == "email":
		default:
			return nil
		}
	}
	return out
}

// messageSystems: the indexes of the words of a message clause that name
// its destinations, when it names several connected systems that send
// messages ("notify your team via email and chat"): after the verb, not
// after a source preposition ("from"), each the head of its noun phrase or
// before a message noun ("email notifications"), not a modifier ("the
// email address").
func (s *state) messageSystems(c clause) []int {
	vi := verbIndex(c)
	// With a direction word after the verb, the destinations follow it;
	// a system before it names the kind of message ("an email
	// notification to chat").
	for i := max(vi+1, 1); i < len(c.toks); i++ {
		if c.toks[i].kind == tWord && lxDirection.has(c.toks[i].w) {
			vi = i
			break
		}
	}
	var out []int
	seen := map[string]bool{}
	for i, t := range c.toks {
		if t.kind != tWord || t.used || i <= vi || !s.sendsMessages(t.w) {
			continue
		}
		// "via either email or email": one destination said twice.
		conn := ""
		for _, cs := range s.b.cat.connectorsNamed(t.w) {
			conn += cs + " "
		}
		if seen[conn] {
			continue
		}
		seen[conn] = true
		if i > 0 && lxSource.has(c.toks[i-1].w) {
			continue
		}
		if i+1 < len(c.toks) && c.toks[i+1].kind == tEmail {
			continue
		}
		if i+1 < len(c.toks) && c.toks[i+1].kind == tWord {
			n := c.toks[i+1].w
			if o := objectWords[singular(n)]; hasLetter(n) && !stop.has(n) && o != "message" && o != "email" && !s.isSystemWord(n) {
				continue
			}
		}
		out = append(out, i)
	}
	return out
}

// hasLetter: w has a letter ("&" and "+" are no words).
func hasLetter(w string) bool {
	return strings.IndexFunc(w, unicode.IsLetter) >= 0
}

// deliveredIn: after the verb at vi, no record kind of the catalog is
// named and a system that sends messages is named after a preposition
// ("… in chat", "… on email").
func (s *state) deliveredIn(c clause, vi int) bool {
	for j := vi + 1; j < len(c.toks); j++ {
		t := c.toks[j]
		if t.kind != tWord {
			continue
		}
		if s.recordNoun(t.w) != "" {
			return false
		}
		if j > vi+1 && preposition(c.toks[j-1].w) && !lxSource.has(c.toks[j-1].w) && s.sendsMessages(t.w) {
			return true
		}
	}
	return false
}

// bareVerb: the clause is an action verb and nothing else of substance
// ("Update", "and update").
func (s *state) bareVerb(c clause) bool {
	vi := verbIndex(c)
	if vi < 0 || len(s.objectsIn(c)) > 0 || len(s.systemsIn(c)) > 0 || hasTarget(c) || quoted(c) != "" {
		return false
	}
	for _, t := range c.toks[vi+1:] {
		if t.kind == tWord && hasLetter(t.w) && !stop.has(t.w) && !t.used {
			return false
		}
	}
	return true
}

// moreRecords: the indexes of the record nouns of c (after a comma or
// "and") when its words up to the first preposition are nothing but
// record kinds the catalog has ("& contacts with auto upserts"); what
// follows the preposition is left to the coverage stage.
func (s *state) moreRecords(c clause) []int {
	if c.sep != "," && c.sep != "and" {
		return nil
	}
	var out []int
	for i, t := range c.toks {
		if t.kind != tWord && t.kind != tPunct {
			return nil
		}
		if t.kind != tWord || t.used || !hasLetter(t.w) || lxSepAnd.has(t.w) || determiner(t.w) {
			continue
		}
		if preposition(t.w) {
			break
		}
		if s.recordNoun(t.w) == "" {
			return nil
		}
		out = append(out, i)
	}
	return out
}

// sendsMessages: w names a connected system with a send operation.
func (s *state) sendsMessages(w string) bool {
	for _, op := range s.b.cat.Ops {
		if op.Verb == "send" && s.namesSystem(w, op.Connector) {
			return true
		}
	}
	return false
}

// sendTo rewrites the message clause last for the destination at index d
// of c: its words up to where its destination began ("Send the results
// to"), then the new destination ("chat").
func (s *state) sendTo(last, c clause, d int) clause {
	end := len(last.toks)
	for i, t := range last.toks {
		if i > 0 && lxDirection.has(t.w) && t.kind == tWord {
			end = i + 1 // "… from CRM to email": through the last "to"
		}
	}
	if end == len(last.toks) {
		for i, t := range last.toks {
			if i > 0 && i > verbIndex(last) && !lxSource.has(last.toks[i-1].w) && (t.kind == tChannel || t.kind == tEmail || t.kind == tWord && (s.isSystemWord(t.w) || knownVendors[t.w])) {
				end = i
				break
			}
		}
	}
	toks := append(append([]token{}, last.toks[:end]...), c.toks[d])
	return clause{toks: toks, sep: c.sep, oneDest: true}
}

// destinationIndex: the index of the direction word before the clause's
// destination system ("… to your CRM contacts"), else -1.
func (s *state) destinationIndex(c clause) int {
	dest := s.destinationSystem(c)
	if dest == "" {
		return -1
	}
	for i := 0; i+1 < len(c.toks); i++ {
		if !lxDirection.has(c.toks[i].w) {
			continue
		}
		j := i + 1
		for j < len(c.toks) && determiner(c.toks[j].w) {
			j++
		}
		if j < len(c.toks) && c.toks[j].kind == tWord && s.namesSystem(c.toks[j].w, dest) {
			return i
		}
	}
	return -1
}

// inScope: a record of op's kind in op's system is in scope (the poll
// trigger or the loop is over it), so an update of it has its id.
func (s *state) inScope(op *Op) bool {
	if s.p.Trigger.Kind == "poll" && s.p.Trigger.Op != nil && s.p.Trigger.Op.Connector == op.Connector && s.p.Trigger.Op.Object == op.Object {
		return true
	}
	return s.loop != nil && s.loopObj == op.Object
}

// objectsAfterVerb: the records a verb acts on follow it; those before it
// are the subject ("the shared inbox … creates an issue") when any follow.
func objectsAfterVerb(objs []objRef, vi int) []objRef {
	if vi < 0 {
		return objs
	}
	var after []objRef
	for _, o := range objs {
		if o.i > vi {
			after = append(after, o)
		}
	}
	if len(after) == 0 {
		return objs
	}
	return after
}

// refuse leaves a write out that the request did not ask for, and says so
// with the clause's words.
func (s *state) refuse(op *Op, c clause, why string) {
	s.n.refused++
	s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: not drafted as %s: %s", c.text(), op.Ref, why))
}

// isFiller: greetings and thanks carry nothing to draft.
func (s *state) isFiller(c clause) bool {
	for _, w := range c.words() {
		if synGreeting.has(w) {
			continue
		}
		if stop.has(w) {
			continue
		}
		return false
	}
	return true
}

// pick finds the operation for a verb on an object, in the named systems
// when some are named; the embedder breaks ties.
func (s *state) pick(verb, obj string, sys []string, c clause) *Op {
	var cands []*Op
	for _, op := range s.b.cat.Ops {
		if !verbFits(verb, op) {
			continue
		}
		if obj != "" && op.Object != obj {
			continue
		}
		if obj == "" && len(sys) == 0 {
			continue
		}
		if op.Hints.Destructive && verb != "delete" && !strings.HasPrefix(op.Name, "replace") {
			continue
		}
		cands = append(cands, op)
	}
	if len(sys) > 0 {
		var in []*Op
		for _, op := range cands {
			for _, sy := range sys {
				if op.Connector == sy {
					in = append(in, op)
				}
			}
		}
		if len(in) > 0 || obj == "" {
			cands = in
		}
		// "a person in the CRM": the named system keeps its people as
		// another kind of record (contacts, not employees).
		if len(in) == 0 && lxKindPerson.has(obj) && !c.personRetry {
			c.personRetry = true
			for _, other := range lex.list("kind.person") {
				if other == obj {
					continue
				}
				if op := s.pick(verb, other, sys, c); op != nil && contains(sys, op.Connector) {
					return op
				}
			}
		}
	}
	if len(cands) == 0 {
		return nil
	}
	if len(cands) == 1 {
		return cands[0]
	}
	// Prefer the op whose own verb is the word used ("replace"), then the embedder.
	for _, op := range cands {
		for _, w := range c.words() {
			if strings.HasPrefix(strings.ToLower(op.Name), w) && len(w) > 3 {
				return op
			}
		}
	}
	if s.b.emb != nil {
		texts := []string{c.text()}
		for _, op := range cands {
			texts = append(texts, op.Text())
		}
		vs, err := s.b.emb.Embed(context.Background(), texts)
		if err == nil {
			best, bestSim := cands[0], -1.0
			for i, op := range cands {
				if sim := ai.Cosine(vs[0], vs[i+1]); sim > bestSim {
					best, bestSim = op, sim
				}
			}
			return best
		}
	}
	return cands[0]
}

func verbFits(verb string, op *Op) bool {
	switch verb {
	case "create", "update", "delete", "get", "list", "send", "request":
		return op.Verb == verb
	}
	return false
}

func (s *state) connections() []string {
	seen := map[string]bool{}
	var out []string
	for _, op := range s.b.cat.Ops {
		if op.Connection != "" && !seen[op.Connection] {
			seen[op.Connection] = true
			out = append(out, op.Connection)
		}
	}
	sort.Strings(out)
	return out
}

func (s *state) pollable() []string {
	var out []string
	for _, op := range s.b.cat.Ops {
		if op.Trigger != nil {
			out = append(out, op.Ref)
		}
	}
	return out
}

// name derives the flow name from the request's own words: its content
// words in order (no stop words, no filler), at most six, so two drafts
// of different requests get different names. Without content words the
// trigger and first step name it.
func (s *state) name() string {
	var words []string
	for _, t := range s.req {
		if len(words) == 6 {
			break
		}
		if t.kind != tWord || stop.has(t.w) || len(t.w) < 2 {
			continue
		}
		if synNameSkip.has(t.w) {
			continue
		}
		words = append(words, t.w)
	}
	if n := strings.ReplaceAll(slug(strings.Join(words, " "), 60), "_", "-"); len(words) >= 2 && n != "" {
		return n
	}
	parts := []string{}
	switch s.p.Trigger.Kind {
	case "poll":
		parts = append(parts, s.p.Trigger.Op.Connector, s.p.Trigger.Op.Object)
	case "schedule":
		parts = append(parts, "scheduled")
	default:
		parts = append(parts, s.p.Trigger.Kind)
	}
	for i, st := range s.made {
		if i == 2 {
			break
		}
		parts = append(parts, "to", st.Op.Connector, st.Op.Object)
	}
	n := strings.ReplaceAll(slug(strings.Join(parts, " "), 60), "_", "-")
	if n == "" {
		n = "draft"
	}
	return n
}

// eventKind reads what happened to the trigger's records: "create" when
// every event word of the clause says a record came into being ("new",
// "created", "arrives"), "update" when every one says it changed, ""
// for anything else (a state reached, "new or updated"); deletes is set
// when a word says records went away.
func eventKind(c clause) (kind string, deletes bool) {
	n := map[string]int{}
	for _, t := range c.toks {
		if t.kind != tWord {
			continue
		}
		k := eventKinds[t.w]
		switch {
		case k != "":
			n[k]++
		case eventWords.has(t.w) || len(stateWords[t.w]) > 0:
			n["other"]++
		}
	}
	deletes = n["delete"] > 0
	switch {
	case n["other"] > 0 || n["create"] > 0 && n["update"] > 0:
		return "", deletes
	case n["create"] > 0:
		return "create", deletes
	case n["update"] > 0:
		return "update", deletes
	}
	return "", deletes
}

// creationField: the record field that holds its creation time (a name
// part from field.created: created_at, createdAt, CreationDate), else "".
// Among those, the one whose schema best says it is an ordered point in
// time (cursorQuality); free text ("CreatedByUser") never.
func creationField(op *Op) string {
	fields := op.recordFields()
	best, bestQ := "", 0
	for _, k := range sortedKeys(fields) {
		created := false
		for _, part := range ai.Split(k) {
			if createdFieldParts.has(strings.ToLower(part)) {
				created = true
			}
		}
		if !created {
			continue
		}
		if q := cursorQuality(k, fields[k]); q > bestQ {
			best, bestQ = k, q
		}
	}
	return best
}

// cursorQuality says, from a field's schema alone, how well it orders
// records in time: a string with a time format (date-time, date) is best,
// then a number or integer (a timestamp or a sequence), then a string
// without a format whose name parts or description say it holds a date or
// time (more of those words: better, so a date-and-time beats a time of
// day); 0 for anything else: free text, booleans, objects.
func cursorQuality(name string, schema map[string]any) int {
	if schema == nil {
		return 0
	}
	types := schemaTypes(schema)
	format, _ := schema["format"].(string)
	switch {
	case types["string"] && timeFormats.has(strings.ToLower(format)):
		return 30
	case types["integer"] || types["number"]:
		return 20
	case !types["string"] || format != "":
		return 0
	}
	seen := map[string]bool{}
	for _, part := range ai.Split(name) {
		if p := strings.ToLower(part); temporalWords.has(p) {
			seen[p] = true
		}
	}
	desc, _ := schema["description"].(string)
	for _, w := range strings.FieldsFunc(strings.ToLower(desc), func(r rune) bool { return !(r >= 'a' && r <= 'z') }) {
		if temporalWords.has(w) {
			seen[w] = true
		}
	}
	if len(seen) == 0 {
		return 0
	}
	return 10 + len(seen)
}

// schemaTypes: the JSON types a schema allows ("type": "string" or a list).
func schemaTypes(s map[string]any) map[string]bool {
	out := map[string]bool{}
	switch t := s["type"].(type) {
	case string:
		out[t] = true
	case []any:
		for _, x := range t {
			if v, ok := x.(string); ok {
				out[v] = true
			}
		}
	}
	return out
}

// thirdPerson returns the base of a third-person verb form the lexicon
// knows ("sends" → send, "notifies" → notify), else "".
func thirdPerson(w string) string {
	// Each rule that matches is tried ("pushes": push, not pushe).
	for _, r := range morphThirdPerson {
		if b, ok := applySuffix([]suffixRule{r}, w); ok && actionVerbs[b] != "" {
			return b
		}
	}
	return ""
}

// comparePhrase matches the longest comparison phrase of the lexicon
// (compare.phrase.*: "at least", "no more than", "is not", "over") at
// ws[i] and returns its operator and length in words.
func comparePhrase(ws []token, i int) (op string, n int) {
	for k := min(len(ws)-i, lxComparePhraseMax); k >= 1; k-- {
		var p []string
		for _, t := range ws[i : i+k] {
			if t.kind != tWord {
				break
			}
			p = append(p, t.w)
		}
		if len(p) != k {
			continue
		}
		if o := lxComparePhrase[strings.Join(p, " ")]; o != "" {
			return o, k
		}
	}
	return "", 0
}

// recordNoun: the catalog record kind a word names that can start a flow
// (not a message, an email, a request or a line), else "".
func (s *state) recordNoun(w string) string {
	obj := objectWords[singular(w)]
	if obj == "" {
		obj = s.catalogObject(singular(w))
	}
	switch obj {
	case "", "message", "email", "request", "line":
		return ""
	}
	return obj
}

// aboutRecordTrigger: with no stated event or schedule, messages about a
// kind of record ("invoice alerts", "tracker task notifications", "notify
// customers about past-due invoices") are sent as those records appear or
// change: the trigger polls that record (when the catalog can poll it).
// Structure only: a record noun before a message noun (a compound), or
// after an about-word following a send verb or a message noun.
func (s *state) aboutRecordTrigger(toks []token, clauses []clause) {
	for _, c := range clauses {
		if triggerKeyword(c) >= 0 || hasEvent(c) || c.hasIn(lxTriggerWebhookHint) {
			return
		}
	}
	sendSeen := false
	for i, t := range toks {
		if t.kind != tWord || t.used {
			if t.kind == tPunct {
				sendSeen = false
			}
			continue
		}
		at := -1
		switch {
		case objectWords[singular(t.w)] == "message":
			sendSeen = true
			if lxPeriodicMessage.has(t.w) {
				// "task reminders", "deal digest": a message sent on a
				// clock about those records, not as each one changes
				// (periodicMessage makes the trigger a schedule).
				continue
			}
			// "invoice alerts", "tracker task notifications"
			j := i - 1
			for j >= 0 && j >= i-3 && toks[j].kind == tWord && s.isSystemWord(toks[j].w) {
				j--
			}
			if j >= 0 && toks[j].kind == tWord && !toks[j].used && s.recordNoun(toks[j].w) != "" {
				at = j
			}
		case actionVerbs[t.w] == "send" && isVerbAt(toks, i):
			sendSeen = true
		case sendSeen && lxAbout.has(t.w):
			// "about past-due invoices": the record noun within three words
			for j := i + 1; j < len(toks) && j <= i+4 && toks[j].kind == tWord; j++ {
				if s.recordNoun(toks[j].w) != "" {
					at = j
					break
				}
			}
		}
		if at < 0 {
			continue
		}
		obj := s.recordNoun(toks[at].w)
		pollable := false
		for _, op := range s.b.cat.Ops {
			if op.Trigger != nil && op.Object == obj {
				pollable = true
			}
		}
		if !pollable {
			continue
		}
		// The phrase runs from the about-word or the systems before the
		// noun, so the noun is read in place ("past-due invoices").
		start := at
		for start > 0 && toks[start-1].kind == tWord && (s.isSystemWord(toks[start-1].w) || start-1 > i) {
			start--
		}
		if at < i && start > 0 && toks[start-1].kind == tWord {
			start-- // "post invoice alerts": the noun after its verb
		}
		s.trigger(clause{toks: append([]token{}, toks[start:at+1]...)})
		if s.p.Trigger.Kind == "poll" {
			s.n.explain = append(s.n.explain, fmt.Sprintf("The request names no event; messages about %s records are sent as they appear or change.", obj))
			for k := start; k <= at; k++ {
				if k == at || s.isSystemWord(toks[k].w) {
					toks[k].used = true // a qualifier ("high-value") stays to be compiled or listed
				}
			}
		}
		return
	}
}

// splitAccompany cuts a clause at an accompanying message ("… with chat
// alerts", "… with email notifications for high-value ones"): the words
// after the preposition, headed by a message noun (a system may stand
// before it), become a clause of their own, read as a verbless message.
func (s *state) splitAccompany(c clause) (clause, clause, bool) {
	for k := 1; k+1 < len(c.toks); k++ {
		// "with chat alerts"; "… and chat alerts", "… & email
		// notifications": a coordinated message.
		if w := c.toks[k].w; c.toks[k].kind != tWord || !lxAccompany.has(w) && !lxSepAnd.has(w) && (hasLetter(w) || w == "") {
			continue
		}
		j := k + 1
		for j < len(c.toks) && c.toks[j].kind == tWord && (s.isSystemWord(c.toks[j].w) || determiner(c.toks[j].w)) {
			j++
		}
		if j >= len(c.toks) || c.toks[j].kind != tWord || c.toks[j].used {
			continue
		}
		o := objectWords[singular(c.toks[j].w)]
		nominal := o != "message" && o != "email"
		if nominal && !s.accompanyingAction(c, k) {
			continue
		}
		head := clause{toks: c.toks[:k], sep: c.sep}
		if head.empty() {
			return c, clause{}, false
		}
		return head, clause{toks: append([]token{}, c.toks[k+1:]...), sep: "and", accompany: true, nominal: nominal}, true
	}
	return c, clause{}, false
}

// hintedWebhook: with no stated event, schedule or source records, a
// request whose records come in from a form, a website or a webhook
// ("capture website leads", "new form leads") is started by that request
// coming in: a webhook.
func (s *state) hintedWebhook(clauses []clause) {
	for _, c := range clauses {
		if triggerKeyword(c) >= 0 || hasEvent(c) {
			return // a stated event is read where it is stated ("when a new contact …, send the registration link")
		}
	}
	for _, c := range clauses {
		if c.hasSingularIn(lxTriggerWebhookHint) {
			// "consent forms", "a newsletter signup" too.
			s.trigWords = c.words()
			s.webhookTrigger(c)
			return
		}
	}
}

// sourceTrigger: with no stated event or schedule, records carried from
// one connected system to another ("sync ERP customers to the CRM",
// "convert chat messages into tracker issues") are watched where they
// come from: the trigger polls the source system's records.
func (s *state) sourceTrigger(clauses []clause) {
	for _, c := range clauses {
		if triggerKeyword(c) >= 0 || hasEvent(c) || c.hasIn(lxTriggerWebhookHint) {
			return
		}
	}
	for _, c := range clauses {
		dest := s.destinationSystem(c)
		if dest == "" {
			// "save ERP invoice PDFs to Google Drive": a destination the
			// catalog lacks still says where the records go, and so where
			// they come from.
			dest = s.productDestination(c, -1, "")
		}
		if dest == "" || c.hasIn(lxAll) {
			// "all X": the records that exist now, read once, not watched.
			continue
		}
		di := -1
		for i, t := range c.toks {
			if t.kind == tWord && lxDirection.has(t.w) {
				di = i
				break
			}
		}
		for i := 0; i < di; i++ {
			t := c.toks[i]
			obj := objectWords[singular(t.w)]
			if t.kind != tWord || t.used || obj == "" {
				continue
			}
			// The source: the system named right before the records
			// ("ERP customers") or after "from" ("customers from the ERP").
			at, src := -1, ""
			if i > 0 && c.toks[i-1].kind == tWord {
				if cs := s.b.cat.connectorsNamed(c.toks[i-1].w); len(cs) == 1 {
					at, src = i-1, cs[0]
				}
			}
			for j := i + 1; src == "" && j+1 < di; j++ {
				if lxSource.has(c.toks[j].w) {
					k := j + 1
					for k < di && determiner(c.toks[k].w) {
						k++
					}
					if k < di {
						if cs := s.b.cat.connectorsNamed(c.toks[k].w); len(cs) == 1 {
							at, src = k, cs[0]
						}
					}
				}
			}
			if src == "" || src == dest {
				continue
			}
			pollable := false
			for _, op := range s.b.cat.Ops {
				pollable = pollable || op.Trigger != nil && op.Connector == src && op.Object == obj
			}
			if !pollable {
				continue
			}
			s.trigger(clause{toks: []token{c.toks[at], t}})
			if s.p.Trigger.Kind == "poll" {
				s.n.explain = append(s.n.explain, fmt.Sprintf("The request names no event; %s records are carried from %s to %s, so the trigger watches them in %s.", obj, src, dest, src))
				c.toks[at].used, c.toks[i].used = true, true
			}
			return
		}
		// "tracker to chat notifications", "chat-to-tracker issue
		// creation": a system alone before the direction word is where
		// things come from; its records are the ones its events are about
		// (eventRecord), when the catalog tells which.
		if di > 0 && c.toks[di-1].kind == tWord && !c.toks[di-1].used {
			if cs := s.b.cat.connectorsNamed(c.toks[di-1].w); len(cs) == 1 && cs[0] != dest {
				if op := s.b.cat.eventRecord(cs[0]); op != nil {
					s.trigger(clause{toks: []token{c.toks[di-1]}})
					if s.p.Trigger.Kind == "poll" {
						s.n.explain = append(s.n.explain, fmt.Sprintf("The request names no event; what goes from %s to %s starts there, so the trigger watches %s's %s records.", cs[0], dest, cs[0], op.Object))
						c.toks[di-1].used = true
					}
					return
				}
			}
		}
	}
}

// subscribedUpdates: with no stated event or schedule, a request to be
// told of what happens in a connected system ("Receive updates from chat",
// "Receive updates for events in the tracker") watches the records that
// system's events are about, as "whenever something happens in …" does.
// The system is the one named after "from", or after "in"/"on" when it
// sends no messages (a messaging system after "in" is where the updates
// are read: "updates in chat"); a system whose events are about more than
// one kind of record (the CRM) has no event record, so none is guessed.
func (s *state) subscribedUpdates(clauses []clause) {
	for _, c := range clauses {
		if triggerKeyword(c) >= 0 || c.hasIn(lxTriggerWebhookHint) {
			return
		}
	}
	for _, c := range clauses {
		for i := 0; i+1 < len(c.toks); i++ {
			if c.toks[i].kind != tWord || !lxSubscribe.has(c.toks[i].w) {
				continue
			}
			j := i + 1
			for j < len(c.toks) && c.toks[j].kind == tWord && determiner(c.toks[j].w) {
				j++
			}
			if j >= len(c.toks) || c.toks[j].kind != tWord || !lxUpdateNotice.has(c.toks[j].w) {
				continue
			}
			for k := j + 1; k < len(c.toks); k++ {
				t := c.toks[k]
				if t.kind != tWord || t.used {
					continue
				}
				cs := s.b.cat.connectorsNamed(t.w)
				if len(cs) != 1 {
					continue
				}
				p := k - 1
				for p > j && c.toks[p].kind == tWord && determiner(c.toks[p].w) {
					p--
				}
				prep := c.toks[p].w
				if !(lxSource.has(prep) || lxRecordPlace.has(prep) && !s.sendsMessages(t.w)) {
					continue
				}
				op := s.b.cat.eventRecord(cs[0])
				if op == nil {
					return
				}
				s.trigger(clause{toks: []token{t}})
				if s.p.Trigger.Kind == "poll" {
					s.n.explain = append(s.n.explain, fmt.Sprintf("The request asks to be told of what happens in %s, so the trigger watches %s's %s records.", t.raw, cs[0], op.Object))
					c.toks[k].used, c.toks[i].used, c.toks[j].used = true, true, true
				}
				return
			}
		}
	}
}

// botTrigger: with no stated event or schedule, a bot of a system that
// sends messages ("chat bot with menu-driven commands", "using chat
// commands") answers what it is sent: the trigger watches that system's
// event records (its messages), when the catalog tells which.
func (s *state) botTrigger(clauses []clause) {
	for _, c := range clauses {
		if triggerKeyword(c) >= 0 || hasEvent(c) || c.hasIn(lxTriggerWebhookHint) {
			return
		}
	}
	for _, c := range clauses {
		for i := 0; i+1 < len(c.toks); i++ {
			t, next := c.toks[i], c.toks[i+1]
			// "chat as a command center": the system in a role, then the
			// role's articles, then the compound read as below.
			first := i + 1
			if lxRole.has(next.w) && next.kind == tWord {
				for first++; first+1 < len(c.toks) && c.toks[first].kind == tWord && determiner(c.toks[first].w); first++ {
				}
				if first >= len(c.toks) {
					continue
				}
				next = c.toks[first]
			}
			// "chat slash command": the bot word heads a compound whose
			// first word is the system (at most two modifiers between).
			for j := first; j+1 < len(c.toks) && j <= first+1 && !lxBot.has(next.w) && next.kind == tWord && !stop.has(next.w) && objectWords[singular(next.w)] == "" && !isVerbAt(c.toks, j); j++ {
				next = c.toks[j+1]
			}
			if t.kind != tWord || t.used || next.kind != tWord || !lxBot.has(next.w) {
				continue
			}
			cs := s.b.cat.connectorsNamed(t.w)
			if head, _, ok := strings.Cut(t.w, "-"); ok && len(cs) == 0 {
				// "chat-echo bot": a hyphenated compound whose first
				// part is the system is that system's bot.
				cs = s.b.cat.connectorsNamed(head)
				t.w = head
			}
			if len(cs) != 1 {
				continue
			}
			sends := false
			for _, op := range s.b.cat.Ops {
				sends = sends || op.Connector == cs[0] && op.Verb == "send"
			}
			op := s.b.cat.eventRecord(cs[0])
			if !sends || op == nil {
				continue
			}
			s.trigger(clause{toks: []token{t}})
			if s.p.Trigger.Kind == "poll" {
				s.n.explain = append(s.n.explain, fmt.Sprintf("A %s %s answers what it is sent, so the trigger watches %s's %s records.", t.raw, next.raw, cs[0], op.Object))
				c.toks[i].used = true
				if lxBotReply.has(next.w) {
					s.botReply, s.botTok = cs[0], t
				}
			}
			return
		}
	}
}

// toolMessages: a connected chat system named in the request's list of
// tools ("Automated Upwork job alerts with Airtable & chat") where the
// draft sends nothing is where the flow's messages go: one message there.
func (s *state) toolMessages(ctx context.Context) {
	// Where the request asks for messages at all ("alerts",
	// "notifications"), or where the chat system ends the list of tools
	// ("translation with Straker, Google Drive & chat": a list names
	// where things come from before where they go): a chat system earlier
	// in the list may as well be where the records come from ("receipt
	// photos with chat & Google Sheets"), and never when the trigger
	// watches it ("using chat commands").
	asks := false
	for _, t := range s.req {
		asks = asks || t.kind == tWord && objectWords[singular(t.w)] == "message"
	}
	for _, i := range toolChat(s.req, s.b.cat) {
		t := s.req[i]
		if !asks && !endsList(s.req, i) {
			continue
		}
		if s.sentTo(t.w) || s.p.Trigger.Op != nil && contains(s.b.cat.connectorsNamed(t.w), s.p.Trigger.Op.Connector) {
			continue
		}
		s.send(ctx, clause{toks: []token{{kind: tWord, w: "to", raw: "to"}, t}, oneDest: true}, nil)
		s.n.explain = append(s.n.explain, fmt.Sprintf("%s is named among the tools the request uses, so the flow's message goes there.", t.raw))
	}
}

// toolRecords: a connected system of nested records (a tracker's issues)
// named in the request's list of tools ("alert via chat and tracker",
// "onboard new employees with tracker and email") where the draft does
// nothing is where the flow's record goes: one record of the kind its
// events are about. Never when the trigger watches it or a step already
// reads or writes there.
func (s *state) toolRecords() {
	done := map[string]bool{}
	if s.p.Trigger.Op != nil {
		done[s.p.Trigger.Op.Connector] = true
	}
	s.p.walk(func(st *StepPlan) {
		if st.Kind == "call" && st.Op != nil {
			done[st.Op.Connector] = true
		}
	})
	for _, i := range toolRecords(s.req, s.b.cat) {
		t := s.req[i]
		for _, conn := range s.b.cat.connectorsNamed(t.w) {
			op := s.b.cat.toolRecordOp(conn)
			if op == nil || done[conn] {
				continue
			}
			done[conn] = true
			s.call(op, clause{toks: []token{t}}, "create")
			s.n.explain = append(s.n.explain, fmt.Sprintf("%s is named among the tools the request uses, so the flow makes one of its %s records there (%s).", t.raw, op.Object, op.Ref))
		}
	}
}

// botAnswer: a bot answers in its own system (botTrigger): when the draft
// sends nothing there, it replies with that system's send operation ("chat
// bot with menu-driven commands").
func (s *state) botAnswer() {
	if s.botReply == "" || s.p.Trigger.Kind != "poll" {
		return
	}
	found := false
	s.p.walk(func(st *StepPlan) {
		found = found || st.Kind == "call" && st.Op != nil && st.Op.Connector == s.botReply && st.Op.Verb == "send"
	})
	if found {
		return
	}
	for _, op := range s.b.cat.Ops {
		if op.Connector == s.botReply && op.Verb == "send" {
			s.call(op, clause{toks: []token{s.botTok}}, "send")
			s.n.explain = append(s.n.explain, fmt.Sprintf("A %s bot answers the messages it is sent, so the draft replies with %s.", s.botTok.raw, op.Ref))
			return
		}
	}
}

// messageHead: the clause is a noun phrase headed by a message or an
// email ("invoice alerts in chat", "daily task reminder emails", "one
// email recap"): the noun the phrase ends on, before a preposition, a
// clause opener or the end. "email address" is no message.
func (s *state) messageHead(c clause) bool {
	if s.unknownVerbFirst(c) {
		return false // "Verify emails": a verb the compiler lacks and its object, not a message to send
	}
	for _, o := range s.objectsIn(c) {
		if o.obj != "message" && o.obj != "email" {
			continue
		}
		if prepositionalObject(c, o.i) {
			continue // "insights for your email": the email is what it is for, not a message to send
		}
		end := o.i + 1
		if end == len(c.toks) || c.toks[end].kind != tWord || synClauseOpen.has(c.toks[end].w) {
			return true
		}
		switch w := c.toks[end].w; {
		case lxNounComplement.has(w):
			// "email of new contacts": the contacts' address, not a message
		case lxDirection.has(w):
			// "alerts to chat" is sent; "chat messages into tracker
			// issues" go to a system that sends nothing
			for _, op := range s.b.cat.Ops {
				if op.Verb == "send" && s.destination(c, op.Connector) {
					return true
				}
			}
		case synPreposition.has(w):
			return true
		}
	}
	return false
}

// recordNamed: one of the objects is a record kind, not a message.
func recordNamed(objs []objRef) bool {
	for _, o := range objs {
		if o.obj != "email" && o.obj != "message" && o.obj != "line" {
			return true
		}
	}
	return false
}

// prepositionalObject: the noun at i is the object of a preposition
// (articles and possessives between them skipped) that neither says how
// a message goes ("via email") nor where something goes or is kept ("to
// chat", "in the CRM"): "insights for your email", "with email". It heads
// no phrase of its own and is no destination.
func prepositionalObject(c clause, i int) bool {
	j := i - 1
	for j >= 0 && c.toks[j].kind == tWord && (lxSystemBefore.has(c.toks[j].w) || determiners.has(c.toks[j].w)) {
		j--
	}
	if j < 0 || c.toks[j].kind != tWord {
		return false
	}
	w := c.toks[j].w
	return synPreposition.has(w) && !lxChannelPreposition.has(w) && !lxStorePlace.has(w) && !lxDirection.has(w)
}

// nominalize reads an action noun after the record it acts on as that
// action's verb before it: "tracker ticket creation" → create tracker
// ticket, "chat-to-tracker issue creation" → create chat-to-tracker issue.
// The noun's verb comes from the suffix rules (morph.nominal) and must be
// an action verb of the lexicon other than a send (message nouns such as
// "notification" stay messages); the record noun must be a kind the
// catalog has; the systems and compounds before it move with it.
func (s *state) nominalize(toks []token) []token {
	for i := 1; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tWord || objectWords[singular(t.w)] != "" {
			continue
		}
		base, ok := applySuffix(morphNominal, t.w)
		if actionVerbs[t.w] != "" {
			// "lead capture to CRM": a verb's bare form heads a noun
			// compound after a record noun, before a preposition or the
			// end; the record is its object.
			// Only a verb that keeps or changes records: a read's noun
			// ("contact lookup") names no step of its own.
			if i+1 < len(toks) && !(toks[i+1].kind == tWord && synPreposition.has(toks[i+1].w)) || !keepsOrChanges(actionVerbs[t.w]) {
				continue
			}
			base, ok = t.w, true
		}
		if !ok || actionVerbs[base] == "" || actionVerbs[base] == "send" {
			continue
		}
		if toks[i-1].kind != tWord || s.recordNoun(toks[i-1].w) == "" {
			continue
		}
		j := i - 1
		for j > 0 && toks[j-1].kind == tWord {
			switch {
			case s.isSystemWord(toks[j-1].w) || strings.Contains(toks[j-1].w, "-"):
				j--
				continue
			case j > 1 && lxDirection.has(toks[j-1].w) && toks[j-2].kind == tWord && s.isSystemWord(toks[j-2].w):
				j -= 2 // "chat-to-tracker issue creation": the systems move with their direction
				continue
			}
			break
		}
		if k := j - 1; k >= 0 && toks[k].kind == tWord && synPreposition.has(toks[k].w) && !lxStorePlace.has(toks[k].w) && !lxDirection.has(toks[k].w) {
			// "… from Google Maps for lead generation": an action noun
			// after a preposition says what something is for, no action
			// the request asks for.
			continue
		}
		v := t
		v.w = base
		out := append(append(append(append([]token{}, toks[:j]...), v), toks[j:i]...), toks[i+1:]...)
		toks = out
	}
	return toks
}

// namesPollable: one of the record kinds is one the catalog can poll.
func (s *state) namesPollable(objs []objRef) bool {
	for _, o := range objs {
		for _, op := range s.b.cat.Ops {
			if op.Trigger != nil && op.Object == o.obj {
				return true
			}
		}
	}
	return false
}

// eventRecord is the pollable list a connector's events are about when a
// request names the system but not the record: its only pollable list,
// else the one list nested under another of its pollable record kinds (a
// path that takes that record's id: messages in a channel, issues in a
// project) when exactly one is. nil when the catalog does not tell (a CRM
// with accounts, contacts and deals side by side).
func (c *Catalog) eventRecord(connector string) *Op {
	var lists []*Op
	kinds := map[string]bool{}
	for _, op := range c.Ops {
		if op.Connector == connector && op.Trigger != nil {
			lists = append(lists, op)
			kinds[op.Object] = true
		}
	}
	if len(lists) == 1 {
		return lists[0]
	}
	var nested []*Op
	for _, op := range lists {
		for _, k := range op.required() {
			if isIDParam(k) && idObject(k) != op.Object && kinds[idObject(k)] {
				nested = append(nested, op)
				break
			}
		}
	}
	if len(nested) == 1 {
		return nested[0]
	}
	return nil
}

const (
	carryNone = iota
	carryTrigger
	carryRead
)

// carriedToProduct: a clause carries records of a connected system (named
// before the direction word: "tracker tickets to Google Sheets") to a
// product the catalog lacks. The write into the product cannot be
// drafted; the records are the trigger's own (carryTrigger: each run
// brings one) or are read (carryRead).
func (s *state) carriedToProduct(c clause, objs []objRef) int {
	di := 0
	for di < len(c.toks) && !lxDirection.has(c.toks[di].w) {
		di++
	}
	for _, o := range objs {
		if o.obj == "message" || o.obj == "email" || o.obj == "line" {
			continue
		}
		if o.i > di {
			return carryNone
		}
		if s.p.Trigger.Kind == "poll" && s.trigObj == o.obj {
			return carryTrigger
		}
		if len(s.systemsIn(clause{toks: c.toks[:di]})) > 0 {
			return carryRead
		}
		return carryNone
	}
	return carryNone
}

// unknownVerbFirst: the clause opens with a word the compiler does not
// know but the dictionary does, with no modifier ending (morph.modifier:
// "automated", "weekly"), right before a record or message noun: in a title
// or an imperative that word is the clause's verb ("Verify emails",
// "Enrich leads"), so the noun after it is its object, not a message the
// clause asks to send.
func (s *state) unknownVerbFirst(c clause) bool {
	if len(c.toks) < 2 || c.toks[0].kind != tWord || c.toks[1].kind != tWord {
		return false
	}
	w := c.toks[0].w
	if s.vocab()[w] || s.isSystemWord(w) || knownVendors[w] || stop.has(w) || determiner(w) || filler(w) || !dictionaryWord(w) || hasSuffixIn(w, morphModifier) {
		return false
	}
	// Its object is the noun phrase right after it: "Verify emails",
	// "Extract Business Emails from …", "Find domain-based email
	// addresses": words up to a preposition, a stop word or a clause
	// opener, a record or message noun among them.
	for j := 1; j < len(c.toks) && j <= 4; j++ {
		t := c.toks[j]
		if t.kind != tWord || synPreposition.has(t.w) || stop.has(t.w) || synClauseOpen.has(t.w) {
			break
		}
		if objectWords[singular(t.w)] != "" {
			return true
		}
	}
	return false
}

// namesPollableSystem: the clause names a connected system whose records
// can be polled (not only a system that sends: "your email").
func (s *state) namesPollableSystem(c clause) bool {
	for _, sy := range s.systemsIn(c) {
		for _, op := range s.b.cat.Ops {
			if op.Connector == sy && op.Trigger != nil {
				return true
			}
		}
	}
	return false
}

// productName: the first word of the clause that names a product the
// catalog lacks — a vendor the lexicon knows and no system has, or a name
// written with a capital (not the clause's first word) that neither the
// compiler's vocabulary nor the dictionary knows ("Lemlist", "Typeform").
func (s *state) productName(c clause) string {
	for i, t := range c.toks {
		if t.kind != tWord || s.isSystemWord(t.w) {
			continue
		}
		if knownVendors[t.w] || i > 0 && properName(t) && !s.vocab()[t.w] && !s.vocab()[singular(t.w)] && !dictionaryWord(t.w) && !stop.has(t.w) {
			return t.raw
		}
	}
	return ""
}

// receivedRecordTrigger: with no stated event, schedule or carried source,
// a connected system's event records named by the catalog's own word for
// them ("customer messages in chat", "chat transaction messages") are what
// the flow works on as they arrive: the trigger polls them. Records the
// clause sends ("send chat messages") or that accompany it ("with chat
// messages") or go somewhere ("to chat messages") are the flow's output,
// never its input.
func (s *state) receivedRecordTrigger(clauses []clause) {
	for _, c := range clauses {
		if triggerKeyword(c) >= 0 || hasEvent(c) || c.hasIn(lxTriggerWebhookHint) {
			return
		}
	}
	for _, c := range clauses {
		if s.verb(c) == "send" || c.hasIn(lxAll) {
			continue // "all X": the records that exist now, read once, not watched
		}
		for i, t := range c.toks {
			if t.kind != tWord || t.used {
				continue
			}
			// The system: in the noun compound before the record word (at
			// most two modifiers between), or placed after it ("in chat").
			sys := -1
			for j := i - 1; j >= 0 && j >= i-3 && c.toks[j].kind == tWord && !stop.has(c.toks[j].w) && !lxDirection.has(c.toks[j].w); j-- {
				if len(s.b.cat.connectorsNamed(c.toks[j].w)) == 1 {
					sys = j
					break
				}
			}
			start := i
			if sys >= 0 {
				start = sys
			} else if k := i + 1; k+1 < len(c.toks) && lxRecordPlace.has(c.toks[k].w) {
				for k++; k < len(c.toks) && c.toks[k].kind == tWord && determiner(c.toks[k].w); k++ {
				}
				if k < len(c.toks) && c.toks[k].kind == tWord && len(s.b.cat.connectorsNamed(c.toks[k].w)) == 1 {
					sys = k
				}
			}
			if sys < 0 {
				continue
			}
			// Modifiers of the record word stand before it ("specific
			// customer messages"): the phrase starts where they start.
			for start > 0 && c.toks[start-1].kind == tWord && !stop.has(c.toks[start-1].w) && !isVerbAt(c.toks, start-1) && !determiner(c.toks[start-1].w) {
				start--
			}
			cs := s.b.cat.connectorsNamed(c.toks[sys].w)
			op := s.b.cat.eventRecord(cs[0])
			if op == nil || singular(t.w) != op.Object || s.madeOrSent(c, start) {
				continue
			}
			s.trigger(clause{toks: []token{c.toks[sys], t}})
			if s.p.Trigger.Kind == "poll" {
				s.n.explain = append(s.n.explain, fmt.Sprintf("The request names no event; it works on %s's %s records, so the trigger watches them as they arrive.", cs[0], op.Object))
				c.toks[sys].used, c.toks[i].used = true, true
				if sys > 0 && sys < i && c.toks[sys-1].kind == tWord && lxChannelPreposition.has(c.toks[sys-1].w) && s.sendsMessages(c.toks[sys].w) {
					// "conversion via chat messages": the exchange goes
					// through that system, so the flow answers there, as a
					// bot does.
					s.botReply, s.botTok = cs[0], c.toks[sys]
				}
			}
			return
		}
	}
}

// madeOrSent: the words at start are where the clause's records go or
// what it adds, not where they come from: right after a direction word, an
// arrow or "with" ("to the tracker issues", "with chat messages"), in a
// clause after an arrow ("-> tracker issue"), or the first object of a verb
// of the catalog ("create an issue on the tracker").
func (s *state) madeOrSent(c clause, start int) bool {
	if c.sep == "->" {
		return true // the clause after an arrow is where the records go
	}
	k := start - 1
	for k >= 0 && c.toks[k].kind == tWord && determiner(c.toks[k].w) {
		k--
	}
	if k >= 0 && (c.toks[k].kind == tArrow || c.toks[k].kind == tWord && (lxDirection.has(c.toks[k].w) || lxAccompany.has(c.toks[k].w))) {
		return true // "to the tracker issues", "with chat messages"
	}
	vi := verbIndex(c)
	if vi < 0 || vi >= start {
		return false
	}
	// A verb of the catalog acts on its first object ("get an issue on
	// the tracker"); one that carries records elsewhere ("save", "sync")
	// or one the catalog lacks ("parse") reads them.
	if v := actionVerbs[c.toks[vi].w]; v == "" || v == "store" || lxVerbCarry.has(c.toks[vi].w) {
		return false
	}
	for _, t := range c.toks[vi+1 : start] {
		if t.kind == tWord && objectWords[singular(t.w)] != "" {
			return false // "create a ticket on customer messages": the verb has its object
		}
	}
	return true
}

// recordsInProduct: the clause places its records in a product the catalog
// lacks ("manage contacts in Automizy"): a place word after a record word
// that no connected system qualifies, then (after determiners) a product's
// name that names no connected system.
func (s *state) recordsInProduct(c clause) bool {
	seen := false
	for k, t := range c.toks {
		if t.kind != tWord {
			continue
		}
		if objectWords[singular(t.w)] != "" {
			// "CRM deals in Google Sheets": records named with a
			// connected system are its own, wherever they are put.
			seen = !(k > 0 && c.toks[k-1].kind == tWord && s.isSystemWord(c.toks[k-1].w))
			continue
		}
		if !seen || !lxRecordPlace.has(t.w) {
			continue
		}
		j := k + 1
		for j < len(c.toks) && c.toks[j].kind == tWord && determiner(c.toks[j].w) {
			j++
		}
		if j >= len(c.toks) || c.toks[j].kind != tWord || s.isSystemWord(c.toks[j].w) {
			continue
		}
		u := c.toks[j]
		if knownVendors[u.w] || properName(u) && !s.vocab()[u.w] && !s.vocab()[singular(u.w)] && !dictionaryWord(u.w) && !stop.has(u.w) {
			return true
		}
	}
	return false
}

// channelTrigger: with no stated event or schedule, a request that sends
// nothing (no verb of sending, no message or mail noun) and names a
// system that sends messages only as where it comes from or goes through
// ("start a video call from chat", "image generator via chat") is started
// by what is posted there: the trigger watches that system's event records
// (its messages), when the catalog tells which.
func (s *state) channelTrigger(toks []token, clauses []clause) {
	for _, c := range clauses {
		if triggerKeyword(c) >= 0 || hasEvent(c) || c.hasIn(lxTriggerWebhookHint) || s.verb(c) == "send" {
			return
		}
	}
	for _, t := range toks {
		if o := objectWords[singular(t.w)]; t.kind == tWord && (o == "message" || o == "email") {
			return
		}
	}
	for i, t := range toks {
		if t.kind != tWord || t.used || i == 0 || !(lxSource.has(toks[i-1].w) || lxChannelPreposition.has(toks[i-1].w)) {
			continue
		}
		cs := s.b.cat.connectorsNamed(t.w)
		if len(cs) != 1 || !s.sendsMessages(t.w) {
			continue
		}
		if i+1 < len(toks) && toks[i+1].kind == tWord && objectWords[singular(toks[i+1].w)] != "" {
			continue // "from chat channels": records of its own, read as such
		}
		op := s.b.cat.eventRecord(cs[0])
		if op == nil {
			continue
		}
		s.trigger(clause{toks: []token{t}})
		if s.p.Trigger.Kind == "poll" {
			s.n.explain = append(s.n.explain, fmt.Sprintf("The request sends nothing and names %s as where it comes from, so the trigger watches %s's %s records.", t.raw, cs[0], op.Object))
			toks[i].used = true
		}
		return
	}
	// A list of tools names where records come from before where they go
	// (toolMessages): a system that sends messages, named in the list but
	// not at its end ("Ticketing System with chat and tracker", "receipt
	// photos with chat & Google Sheets"), in a request that sends nothing,
	// is where the flow's input is posted.
	for _, i := range toolChat(toks, s.b.cat) {
		t := toks[i]
		cs := s.b.cat.connectorsNamed(t.w)
		if t.used || endsList(toks, i) || len(cs) != 1 {
			continue
		}
		op := s.b.cat.eventRecord(cs[0])
		if op == nil {
			continue
		}
		s.trigger(clause{toks: []token{t}})
		if s.p.Trigger.Kind == "poll" {
			s.n.explain = append(s.n.explain, fmt.Sprintf("The request sends nothing and names %s first among its tools, where a list names where things come from before where they go, so the trigger watches %s's %s records.", t.raw, cs[0], op.Object))
			toks[i].used = true
		}
		return
	}
}

// keepsOrChanges: an action that keeps, makes, changes or removes records.
func keepsOrChanges(v string) bool {
	switch v {
	case "create", "store", "update", "delete":
		return true
	}
	return false
}

// objIndex: the position of the first mention of obj among objs, or
// len(objs) when it is not named.
func objIndex(objs []objRef, obj string) int {
	for k, o := range objs {
		if o.obj == obj {
			return k
		}
	}
	return len(objs)
}
