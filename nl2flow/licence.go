package nl2flow

import (
	"fmt"
	"strings"
	"unicode"
)

// Precision before recall: a draft writes to a system (creates, updates,
// deletes, sends) only when the request asks for that action on that
// system. licence reads the structure of the clause a write step comes
// from and returns why the step is not asked for ("" when it is):
//
//  1. an action is asked: the clause has an action verb, an explicit
//     destination (#channel, an address), or the terse arrow form; for a
//     send, a noun phrase headed by a message ("invoice alerts in chat");
//  2. the system is the one named: a clause that names systems writes to
//     one of them;
//  3. not the source: a system named after "from", or before "to/into"
//     another destination, is where the records come from;
//  4. the verb's object is a record: for create/update/delete, the words
//     between the verb and the first preposition name a record kind of the
//     catalog (or refer back: it, them);
//  5. not another product's thing: the verb or its object is not
//     qualified by a product name the catalog does not know ("LinkedIn
//     post", "WhatsApp messages").
//
// Reads are never refused: a write may need them.
func (s *state) licence(op *Op, c clause, verb string) string {
	if op == nil || !writes(op) {
		return ""
	}
	vi := verbIndex(c)
	// 1. An action is asked for.
	target := false
	for _, t := range c.toks {
		if t.kind == tChannel || t.kind == tEmail {
			target = true
		}
	}
	if vi < 0 && !target && c.sep != "->" && c.sep != "+" && s.verb(c) == "" && !s.destination(c, op.Connector) && !(op.Verb == "send" && s.messageHead(c)) {
		return "no verb in it asks for a change"
	}
	// 2. The system named.
	sys := s.systemsIn(c)
	if op.Verb == "send" && op.Object == "email" {
		sys = s.exceptPeopleSystems(c, sys)
	}
	if len(sys) > 0 && !contains(sys, op.Connector) && !(op.Verb == "send" && s.sendTarget(c, op)) {
		return fmt.Sprintf("it names %s, not %s", strings.Join(sys, " and "), op.Connector)
	}
	// 2a. A mail named only as what something is for or comes with
	// ("insights for your email", "scheduling from emails with email") is
	// no mail to send.
	if op.Verb == "send" && op.Object == "email" && !s.sendTarget(c, op) && s.mailOnlyQualified(c, op) {
		return "the mail is named only as what it is for or comes with, not as where a message goes"
	}
	// 2b. A message goes where the request says: a channel or the chat
	// system named somewhere in the request (the email path has its own
	// recipient question).
	if op.Verb == "send" && op.Object == "message" && channelName(c) == "" && !s.requestNames(op.Connector) {
		s.n.ask("%q: where should the message go? Name a chat channel (#name) or an email address; nothing was drafted for it.", c.text())
		return "it names no channel and no chat system to post to"
	}
	// 2b'. A store verb ("save", "capture") keeps records where the
	// clause says: this system, after a place word ("save them to CRM");
	// "capture leads" alone may mean a sheet.
	if vi >= 0 && storeVerb(c.toks[vi].w) && op.Verb == "create" && !s.keptIn(c, vi, op.Connector) {
		return fmt.Sprintf("%s says to keep records but not in %s", c.toks[vi].raw, op.Connector)
	}
	// 2c. The destination is another product ("into a Google Sheet").
	if p := s.productDestination(c, vi, op.Connector); p != "" {
		return fmt.Sprintf("it goes to %s, which is not connected to Weft", p)
	}
	// 2c'. A record made, changed or removed "in <product>" lives in that
	// product, whatever catalog system keeps records of its kind ("Create
	// a contact in Drift").
	if op.Verb != "send" {
		if p := s.productAfter(c, vi, op.Connector, lxStorePlace); p != "" {
			return fmt.Sprintf("the record is kept in %s, which is not connected to Weft", p)
		}
	}
	// 3. Not the source.
	if s.isSource(c, op.Connector, op.Verb == "send") {
		return fmt.Sprintf("%s is where the records come from, not where they go", op.Connector)
	}
	// 4. The verb's object is a record kind.
	if vi >= 0 && (op.Verb == "create" || op.Verb == "update" || op.Verb == "delete") && !s.noting {
		if what, ok := s.directObject(c, vi); !ok {
			return fmt.Sprintf("%s %s: %q is not a kind of record the catalog has", c.toks[vi].raw, strings.TrimSpace(what), strings.TrimSpace(what))
		}
	}
	// 5. Another product's thing.
	if vi >= 0 {
		// A verb used as a noun after a product name: "LinkedIn post
		// commenters" (a verb followed by a determiner is a verb).
		if p := productBefore(c, vi, s.vocab()); p != "" && !(vi+1 < len(c.toks) && determiner(c.toks[vi+1].w)) {
			return fmt.Sprintf("%s is not connected to Weft", p)
		}
		// Its object qualified by one ("Send welcome WhatsApp
		// messages", "Create an Onfleet task"), unless the records are
		// carried to this system, the destination ("Google Calendar tasks
		// to tracker").
		di := s.destinationIndex(c)
		for _, o := range s.objectsIn(c) {
			if vi+1 < len(c.toks) && determiner(c.toks[vi+1].w) && s.keptIn(c, vi, op.Connector) {
				break // "create a Kickoff project in the tracker": a name, the place is this system
			}
			if o.i > vi {
				if di > o.i && s.destinationSystem(c) == op.Connector {
					break
				}
				p := productBeforeObject(c, o.i, s.vocab())
				if w := c.toks[o.i-1]; p == "" && w.kind == tWord && knownVendors[w.w] && !s.isSystemWord(w.w) {
					p = w.raw // a product people write, known to the compiler but not connected
				}
				if p != "" && lxFileFormat.has(strings.ToLower(p)) {
					// "email PDF invoices": a document of the record, sent
					// as any message is; "generate PDF invoices" makes
					// a file, no record.
					if op.Verb == "send" {
						p = ""
					} else {
						return fmt.Sprintf("%s %s are documents made from records, not records of %s", p, c.toks[o.i].raw, op.Connector)
					}
				}
				if p != "" {
					return fmt.Sprintf("%s is not connected to Weft", p)
				}
				if di < 0 || o.i > di {
					break
				}
				// "welcome WhatsApp messages to …": every noun of the
				// object, up to the destination
			}
		}
	}
	return ""
}

// mailOnlyQualified: the clause names op's system, and every mention is
// a prepositional object (prepositionalObject); no message noun heads a
// phrase and the clause's verb is not one of sending ("generate a summary
// for your email" makes something about the mail, it sends nothing).
func (s *state) mailOnlyQualified(c clause, op *Op) bool {
	mentions := 0
	for i, t := range c.toks {
		if t.kind != tWord || !s.namesSystem(t.w, op.Connector) && !lxEmailWord.has(t.w) {
			continue
		}
		mentions++
		if !prepositionalObject(c, i) {
			return false
		}
	}
	vi := verbIndex(c)
	sendVerb := vi >= 0 && (actionVerbs[c.toks[vi].w] == "send" || actionVerbs[thirdPerson(c.toks[vi].w)] == "send")
	return mentions > 0 && !sendVerb && (vi >= 0 || !s.messageHead(c))
}

// writes: the operation changes its system (a send counts; an HTTP call
// is the caller's business and judged by its method elsewhere).
func (s *state) vocab() map[string]bool {
	if s.voc == nil {
		s.voc = s.b.vocab()
	}
	return s.voc
}

func writes(op *Op) bool {
	if op.Hints.ReadOnly || op.Connector == "http" {
		return false
	}
	switch op.Verb {
	case "list", "get", "request":
		return false
	}
	return true
}

// verbIndex is the token index of the clause's first action verb (-1: none).
func verbIndex(c clause) int {
	for i := range c.toks {
		if isVerbAt(c.toks, i) {
			return i
		}
	}
	return -1
}

// sendTarget: a message's destination is given outright (#channel, an
// address), whatever systems the clause also names.
func (s *state) sendTarget(c clause, op *Op) bool {
	for _, t := range c.toks {
		if t.kind == tChannel && op.Object == "message" || t.kind == tEmail && op.Object == "email" {
			return true
		}
	}
	return false
}

// isSource (send: the operation sends a message): every mention of the system in the clause is a source: after
// "from" ("exports customers from ERP"), or before "to"/"into" followed by
// another system or a name ("sync ERP customers to CRM").
func (s *state) isSource(c clause, connector string, send bool) bool {
	mentions, sources := 0, 0
	for i, t := range c.toks {
		if t.kind != tWord || t.used || !s.namesSystem(t.w, connector) {
			continue
		}
		mentions++
		j := i - 1
		for j >= 0 && c.toks[j].kind == tWord && lxSystemBefore.has(c.toks[j].w) {
			j--
		}
		if j >= 0 && lxSource.has(c.toks[j].w) {
			sources++
			continue
		}
		// "email … to new CRM contacts": a message's "to" names its
		// recipients, not a destination system.
		for k := i + 1; !send && k < len(c.toks) && k <= i+6; k++ {
			if c.toks[k].kind != tWord {
				break
			}
			if lxDirection.has(c.toks[k].w) {
				j := k + 1
				for j < len(c.toks) && determiner(c.toks[j].w) {
					j++
				}
				if j < len(c.toks) && c.toks[j].kind == tWord && s.namesOtherSystem(c.toks[j], connector) {
					sources++
				}
				break
			}
		}
	}
	return mentions > 0 && mentions == sources
}

func (s *state) namesSystem(w, connector string) bool {
	for _, op := range s.b.cat.Ops {
		if op.Connector != connector {
			continue
		}
		for _, x := range op.System {
			if x == w {
				return true
			}
		}
		return false
	}
	return false
}

// namesOtherSystem: the word names another catalog system, or is a
// product name (capitalised, unknown).
func (s *state) namesOtherSystem(t token, connector string) bool {
	for _, op := range s.b.cat.Ops {
		if op.Connector == connector {
			continue
		}
		for _, x := range op.System {
			if x == t.w {
				return true
			}
		}
	}
	return properName(t) && !s.vocab()[t.w]
}

// directObject: the words between the verb and the first preposition or
// punctuation must name a record kind (or refer back to one).
func (s *state) directObject(c clause, vi int) (string, bool) {
	var words []string
	for i := vi + 1; i < len(c.toks); i++ {
		t := c.toks[i]
		if t.kind != tWord {
			if t.kind == tQuote || t.kind == tNumber {
				continue
			}
			break
		}
		if len(words) == 0 && lxStorePlace.has(t.w) && i+1 < len(c.toks) && s.isSystemWord(c.toks[i+1].w) {
			break // "record in CRM": no object, the records are the flow's
		}
		if len(words) == 0 && particle(t.w) {
			continue // "shows up as a customer", "spin up a project"
		}
		if lxDirection.has(t.w) && i > vi+1 && i+1 < len(c.toks) && s.isSystemWord(c.toks[i-1].w) && s.isSystemWord(c.toks[i+1].w) {
			continue // "create chat-to-tracker issues": the systems qualify the records
		}
		if preposition(t.w) && len(words) > 0 {
			// "a daily list of todos", "a batch of invoices": the
			// records are the complement.
			if lxOf.has(t.w) {
				j := i + 1
				for j < len(c.toks) && determiner(c.toks[j].w) {
					j++
				}
				if j < len(c.toks) && c.toks[j].kind == tWord && s.recordNoun(c.toks[j].w) != "" {
					return "", true
				}
			}
			break
		}
		if lxObjectEnd.has(t.w) {
			break
		}
		words = append(words, t.raw)
		w := singular(t.w)
		if objectWords[w] != "" || s.catalogObject(w) != "" {
			return "", true
		}
		if synObjectGeneric.has(t.w) {
			return "", true
		}
	}
	if len(words) == 0 {
		return "", true // "create in the CRM …": the object is elsewhere
	}
	return strings.Join(words, " "), false
}

func particle(w string) bool {
	return synParticle.has(w)
}

func determiner(w string) bool {
	return determiners.has(w)
}

// destination: the clause sends something "to"/"into" the system ("Jira
// issues to Slack"): the title form of asking to write there.
func (s *state) destination(c clause, connector string) bool {
	for i := 0; i+1 < len(c.toks); i++ {
		if !lxDirection.has(c.toks[i].w) {
			continue
		}
		j := i + 1
		for j < len(c.toks) && determiner(c.toks[j].w) {
			j++
		}
		if j < len(c.toks) && c.toks[j].kind == tWord && s.namesSystem(c.toks[j].w, connector) {
			return true
		}
	}
	return false
}

// exceptPeopleSystems drops from sys the systems named only as where an
// email's recipients are kept: right before a person record ("ERP
// customer welcome emails", "new CRM contacts"), not as a destination.
func (s *state) exceptPeopleSystems(c clause, sys []string) []string {
	var out []string
	for _, conn := range sys {
		people := false
		for i, t := range c.toks {
			if t.kind != tWord || !s.namesSystem(t.w, conn) {
				continue
			}
			if i+1 < len(c.toks) && c.toks[i+1].kind == tWord && lxKindPerson.has(s.recordNoun(c.toks[i+1].w)) {
				people = true
				continue
			}
			people = false
			break
		}
		if !people {
			out = append(out, conn)
		}
	}
	return out
}

// requestNames: a word of the whole request names the system.
func (s *state) requestNames(connector string) bool {
	for _, t := range s.req {
		if t.kind == tChannel {
			return true
		}
		if t.kind == tWord && s.namesSystem(t.w, connector) {
			return true
		}
	}
	return false
}

// productDestination: the first "to"/"into" after the verb leads to a
// product name the catalog lacks, and the system is not named there.
func (s *state) productDestination(c clause, vi int, connector string) string {
	return s.productAfter(c, vi, connector, lxDirection)
}

// productAfter is the product after the first of the place words (to,
// into; or in, on for where a record is kept) that follows vi, or "" when
// that place is a catalog system or no product.
func (s *state) productAfter(c clause, vi int, connector string, place wordSet) string {
	for i := vi + 1; i+1 < len(c.toks); i++ {
		if i < 0 || !place.has(c.toks[i].w) {
			continue
		}
		j := i + 1
		for j < len(c.toks) && determiner(c.toks[j].w) {
			j++
		}
		if j >= len(c.toks) || c.toks[j].kind != tWord || s.namesSystem(c.toks[j].w, connector) {
			return ""
		}
		// A product: a vendor the lexicon knows that is not connected, or
		// a name the vocabulary does not know.
		if w := c.toks[j].w; !(knownVendors[w] && !s.isSystemWord(w)) && (!properName(c.toks[j]) || s.vocab()[w]) {
			return ""
		}
		for k := j + 1; k < len(c.toks) && k <= j+3; k++ {
			if c.toks[k].kind == tWord && s.namesSystem(c.toks[k].w, connector) {
				return ""
			}
		}
		return c.toks[j].raw
	}
	return ""
}

// destinationSystem is the catalog system a clause sends to ("… to
// chat", "… into the CRM"), or "".
func (s *state) destinationSystem(c clause) string {
	for i := 0; i+1 < len(c.toks); i++ {
		if !lxDirection.has(c.toks[i].w) {
			continue
		}
		j := i + 1
		for j < len(c.toks) && determiner(c.toks[j].w) {
			j++
		}
		if j < len(c.toks) && c.toks[j].kind == tWord {
			for _, op := range s.b.cat.Ops {
				for _, x := range op.System {
					if x == c.toks[j].w {
						return op.Connector
					}
				}
			}
		}
	}
	return ""
}

func preposition(w string) bool {
	return synPreposition.has(w)
}

// productBefore: the word before token i is a product name the compiler
// does not know (written with a capital inside the sentence, not a word of
// the vocabulary or the catalog): "LinkedIn post", "WhatsApp messages".
func productBefore(c clause, i int, vocab map[string]bool) string {
	if i <= 0 {
		return ""
	}
	t := c.toks[i-1]
	if t.kind != tWord || i-1 == 0 || !properName(t) || vocab[t.w] || vocab[singular(t.w)] {
		return ""
	}
	return t.raw
}

// productBeforeObject is productBefore for a record or message noun: in a
// clause that capitalises its words ("Send Automated Recruitment Rejection
// Emails"), an English word capitalised only at its start qualifies the
// noun; it is no product's name. (A verb's own check keeps productBefore:
// "Card Move Alerts" uses "Move" as a noun.)
func productBeforeObject(c clause, i int, vocab map[string]bool) string {
	p := productBefore(c, i, vocab)
	if t := c.toks[max(0, i-1)]; p != "" && titleCase(c) && dictionaryWord(t.w) && t.raw[1:] == strings.ToLower(t.raw[1:]) {
		return ""
	}
	return p
}

// titleCase: most of the clause's content words (not stop words) start
// with a capital, as a title's do.
func titleCase(c clause) bool {
	words, caps := 0, 0
	for _, t := range c.toks {
		if t.kind != tWord || t.raw == "" || stop.has(t.w) {
			continue
		}
		words++
		if unicode.IsUpper([]rune(t.raw)[0]) {
			caps++
		}
	}
	return words >= 3 && 2*caps > words
}

func properName(t token) bool {
	if t.kind != tWord || t.raw == "" {
		return false
	}
	r := []rune(t.raw)
	if !unicode.IsUpper(r[0]) {
		return false
	}
	// Title Case sentences capitalise every word: a product name is then
	// told by an inner capital ("LinkedIn", "WhatsApp") or an all-caps
	// acronym longer than two letters is left to the vocabulary check.
	return true
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// storeVerb: a verb that keeps records somewhere (verb.store), in any
// form ("save", "records").
func storeVerb(w string) bool {
	return lxVerbStore.has(w) || lxVerbStore.has(thirdPerson(w))
}

// keptIn: after the verb at vi, a place word (cue.store_place) leads to a
// word naming the connector ("to CRM", "in the ERP", "on CRM").
func (s *state) keptIn(c clause, vi int, connector string) bool {
	for i := vi + 1; i+1 < len(c.toks); i++ {
		if c.toks[i].kind != tWord || !lxStorePlace.has(c.toks[i].w) {
			continue
		}
		j := i + 1
		for j < len(c.toks) && determiner(c.toks[j].w) {
			j++
		}
		if j < len(c.toks) && s.namesSystem(c.toks[j].w, connector) {
			return true
		}
	}
	return false
}
