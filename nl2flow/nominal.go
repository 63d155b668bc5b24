package nl2flow

import "strings"

// Action nouns. Titles and descriptions written by others name an action
// with a noun more often than with a verb: "CRM deal stage updates",
// "ERP invoicing", "chat messaging", "email confirmation", "notification
// system with email". A clause with no verb whose noun names an action is
// read as that action, its target the connected system beside the noun:
// before it in the same noun compound ("CRM deal stage updates" → update
// CRM deal stage) or, when none is there, in the list of tools right after
// it ("delivery with email and Google Drive" → send with email …). The
// noun licenses a write only there: the system that does the action is
// named with it, and every write still passes the licence.

// nominalAction is the action a noun names: a lexicon action noun
// (nominal.*, singular or plural: "updates" → update), else an action verb
// the suffix rules lead back to (morph.nominal: "creation" → create;
// morph.gerund: "invoicing" → invoice, "messaging" → message). Only
// actions that send, keep or change records: a read's noun ("contact
// lookup") names no step of its own.
func nominalAction(w string) string {
	a := actionNouns[w]
	if a == "" {
		a = actionNouns[singular(w)]
	}
	if a == "" {
		if base, ok := applySuffix(morphNominal, w); ok {
			a = actionVerbs[base]
		}
	}
	if a == "" {
		for _, suf := range morphGerund {
			stem, ok := strings.CutSuffix(w, suf)
			if !ok || len(stem) < 3 {
				continue
			}
			for _, b := range []string{stem, stem + "e"} {
				if v := actionVerbs[b]; v != "" && a == "" {
					a = v
				}
			}
		}
	}
	if a == "send" || a == "invoice" || keepsOrChanges(a) && a != "delete" {
		return a
	}
	return ""
}

// canDo: a connected system the word names has an operation for the
// action (an invoice is made by the system that creates invoices).
func (s *state) canDo(w, action string) bool {
	conns := s.b.cat.connectorsNamed(w)
	for _, op := range s.b.cat.Ops {
		if !contains(conns, op.Connector) {
			continue
		}
		if op.Verb == action || action == "invoice" && op.Verb == "create" && op.Object == "invoice" {
			return true
		}
	}
	return false
}

// headsPhrase: the noun at i ends its phrase: nothing, a mark, a
// preposition or a clause opener follows it, or a frame noun ("system",
// "workflow") that does.
func headsPhrase(c clause, i int) bool {
	next := func(k int) bool {
		if k >= len(c.toks) {
			return true
		}
		u := c.toks[k]
		return u.kind != tWord || !hasLetter(u.w) || synPreposition.has(u.w) || synClauseOpen.has(u.w) || lxToolList.has(u.w)
	}
	if i+1 < len(c.toks) && c.toks[i+1].kind == tWord && lxActionFrame.has(c.toks[i+1].w) {
		return next(i + 2)
	}
	return next(i + 1)
}

// actionNoun rewrites a clause with no verb whose noun names an action
// into that action's verb before the noun compound that holds its
// system: "CRM deal stage updates with Stripe" → "update CRM deal stage
// with Stripe", "ERP invoicing" → "create ERP invoice" (an action that is
// itself a record kind makes that record). With no system in the
// compound, a list of tools right after the noun (its frame noun between)
// that names a system able to do the action is its target: the verb
// takes the noun's place. A compound after a preposition other than a
// tool-list word ("notifications for CRM deal updates") says what
// something is about, not what to do: not rewritten.
func (s *state) actionNoun(c clause) (clause, bool) {
	for i, t := range c.toks {
		if t.kind != tWord || t.used || !headsPhrase(c, i) {
			continue
		}
		a := nominalAction(t.w)
		if a == "" {
			continue
		}
		k, j := -1, i-1
		for ; j >= 0 && i-j <= maxNominalCompound; j-- {
			u := c.toks[j]
			if u.kind != tWord || u.used || !hasLetter(u.w) || synPreposition.has(u.w) || synClauseOpen.has(u.w) || determiner(u.w) || lxToolListJoin.has(u.w) || c.toks[j+1].gap {
				break
			}
			if s.canDo(u.w, a) {
				k = j
			}
		}
		if j >= 0 && c.toks[j].kind == tWord && synPreposition.has(c.toks[j].w) && !lxToolList.has(c.toks[j].w) {
			continue // "alerts for CRM deal updates": what the alert is about
		}
		verb := token{kind: tWord, w: a, raw: t.raw}
		if k >= 0 {
			var obj []token
			if objectWords[a] != "" && len(s.objectsIn(clause{toks: c.toks[k:i]})) == 0 {
				// "ERP invoicing": the action makes its own record kind
				verb.w = "create"
				obj = []token{{kind: tWord, w: a, raw: t.raw}}
			}
			toks := append(append(append(append(append([]token{}, c.toks[:k]...), verb), c.toks[k:i]...), obj...), c.toks[i+1:]...)
			return clause{toks: toks, sep: c.sep, accompany: c.accompany, nominal: true}, true
		}
		m := i + 1
		if m < len(c.toks) && c.toks[m].kind == tWord && lxActionFrame.has(c.toks[m].w) {
			m++
		}
		if m >= len(c.toks) || c.toks[m].kind != tWord || !lxToolList.has(c.toks[m].w) || !s.toolCanDo(c, m, a) {
			continue
		}
		if objectWords[a] != "" {
			verb.w = "create"
			toks := append(append(append([]token{}, c.toks[:i]...), verb, token{kind: tWord, w: a, raw: t.raw}), c.toks[i+1:]...)
			return clause{toks: toks, sep: c.sep, accompany: c.accompany, nominal: true}, true
		}
		toks := append(append(append([]token{}, c.toks[:i]...), verb), c.toks[i+1:]...)
		return clause{toks: toks, sep: c.sep, accompany: c.accompany, nominal: true}, true
	}
	return c, false
}

// toolCanDo: the list of tools opened at m ("with email and Google
// Drive", "using EODHD, chat and TradingView") names a connected system
// able to do the action.
func (s *state) toolCanDo(c clause, m int, action string) bool {
	for j := m + 1; j < len(c.toks); j++ {
		u := c.toks[j]
		if u.kind == tPunct {
			if u.w == "," {
				continue
			}
			return false
		}
		if u.kind == tWord && lxToolListJoin.has(u.w) {
			continue
		}
		if u.kind != tWord || synPreposition.has(u.w) || synClauseOpen.has(u.w) {
			return false
		}
		if s.canDo(u.w, action) {
			return true
		}
	}
	return false
}

// accompanyingAction: after "with" or "&" at k, an action noun heads a
// phrase of its own that actionNoun can read ("… to CRM with chat
// follow-up", "… generation & delivery with email"): a step of its own,
// after the clause's. Only systems and determiners stand between: "with
// optional email confirmation" is a condition the draft cannot test, so
// no step is made for it.
func (s *state) accompanyingAction(c clause, k int) bool {
	j := k + 1
	for j < len(c.toks) && c.toks[j].kind == tWord && nominalAction(c.toks[j].w) == "" && (s.isSystemWord(c.toks[j].w) || determiner(c.toks[j].w)) {
		j++
	}
	if j >= len(c.toks) || c.toks[j].kind != tWord || nominalAction(c.toks[j].w) == "" || !headsPhrase(c, j) {
		return false
	}
	_, ok := s.actionNoun(clause{toks: c.toks[k+1:]})
	return ok
}

// toolProduct: the product the catalog lacks (named v) stands only in a
// list of tools ("… with Stripe & Google Sheets", "using Clearbit") after
// a connected system the clause names for a change it keeps or makes
// ("update CRM deal stages with Stripe"): the product is what the change
// is made with, not where; the step in the connected system stands.
// Nothing is sent to, read from or written in the product.
func (s *state) toolProduct(c clause, v, verb string) bool {
	if verb != "invoice" && !keepsOrChanges(verb) || verb == "delete" || s.productDestination(c, -1, "") != "" {
		return false
	}
	named, inList := false, false
	for i, t := range c.toks {
		switch {
		case t.kind == tWord && lxToolList.has(t.w):
			if !named {
				return false // the tools come before any connected system: "with Stripe, update …"
			}
			inList = true
		case t.raw == v:
			if !inList || i > 0 && lxSource.has(c.toks[i-1].w) {
				return false
			}
		case t.kind == tWord && !inList && s.isSystemWord(t.w) && !(i > 0 && lxSource.has(c.toks[i-1].w)):
			named = true
		case inList && (t.kind == tWord && (synPreposition.has(t.w) || synClauseOpen.has(t.w) && !lxToolListJoin.has(t.w)) || t.kind == tPunct && t.w != ","):
			inList = false // the list ends
		}
	}
	return named
}

// possessiveAfterVerb: the clause's verb is followed by a possessive
// ("updates their status", "set its stage"): its object is a field of
// records named before, not a record of its own.
func (s *state) possessiveAfterVerb(c clause) bool {
	vi := verbIndex(c)
	return vi >= 0 && vi+1 < len(c.toks) && c.toks[vi+1].kind == tWord && lxPronounPossessive.has(c.toks[vi+1].w)
}
