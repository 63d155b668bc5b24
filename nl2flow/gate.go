package nl2flow

import (
	"fmt"
	"strings"
	"sync"
)

// The write licence gate is the last word on writes, whatever produced the
// draft (the builtin compiler's clause reading, a language model, an edit):
// a step that creates, updates, deletes or sends on a system stays only when
// the request as a whole asks for that kind of change on that system. The
// builtin compiler's clause-level licence (licence.go) is stricter; this
// gate is the backstop that holds for every backend. Reads are never
// gated: a write may need them.

// asked is what a request asks to change, read from its words.
type asked struct {
	actions map[string]bool // action classes named by a verb: create, update, delete, send, ...
	systems map[string]bool // connectors the request names
	dest    map[string]bool // connectors named right after a direction word ("to chat", "into the tracker")
	objects map[string]bool // record kinds named
	// objectIn: record kinds named only in a compound after a system
	// ("CRM project"): kind → the connectors so named; objectFree: kinds
	// named without one. A kind named only as another system's record does
	// not license writing that kind elsewhere.
	objectIn   map[string]map[string]bool
	objectFree map[string]bool
	channel    bool // a #channel is given
	address    bool // an email address is given
	arrow      bool // the terse form: "crm deal won => tracker project"
	destroy    bool // asks to delete or overwrite (asksDestructive)
	pronoun    bool // refers back to a record ("them", "it")
	person     bool // names a person to write to ("the customer", "them"): email reaches people
	injection  bool
	receive    bool            // a verb of getting or receiving: "get daily poems in chat" asks for delivery there
	bot        map[string]bool // connectors named right before a bot that answers (cue.bot_reply: "chat bot"): a bot replies there
	tool       map[string]bool // chat systems named in a list of tools ("with Google Sheets & chat"): messages go there
	// toolRecord: systems of nested records named in a list of tools
	// ("with chat and tracker"): one such record is made there
	toolRecord map[string]string
}

func readAsked(toks []token, cat *Catalog) asked {
	a := asked{actions: map[string]bool{}, systems: map[string]bool{}, dest: map[string]bool{}, objects: map[string]bool{}, bot: map[string]bool{}, tool: map[string]bool{}, toolRecord: map[string]string{},
		objectIn: map[string]map[string]bool{}, objectFree: map[string]bool{}}
	a.injection = injection(toks)
	for i, t := range toks {
		switch t.kind {
		case tChannel:
			a.channel = true
			continue
		case tEmail:
			a.address = true
			continue
		case tArrow:
			a.arrow = true
			continue
		case tWord:
		default:
			continue
		}
		placed := placedMessages(toks, i, cat)
		if v := actionOf(t.w); v != "" && !placed {
			// (placed, "in email" and "emails in email" are nouns, not
			// the verb "email")
			a.actions[v] = true
		}
		if v := nominalAction(t.w); v != "" {
			// "ERP invoicing", "CRM deal updates": a noun that names an
			// action asks for it, and an action that is a record kind
			// (invoice) names that record.
			a.actions[v] = true
			if objectWords[v] != "" {
				a.objects[objectWords[v]] = true
			}
		}
		if lxVerbReceive.has(t.w) || actionOf(t.w) == "get" {
			a.receive = true
		}
		if lxPronounObject.has(t.w) || synObjectGeneric.has(t.w) {
			a.pronoun = true
		}
		if lxPersonRef.has(t.w) || lxPersonRef.has(singular(t.w)) || lxPersonOwner.has(t.w) {
			a.person = true
		}
		if o := objectWords[singular(t.w)]; o != "" && !placed {
			a.objects[o] = true
			var in []string
			if i > 0 && toks[i-1].kind == tWord {
				in = cat.connectorsNamed(toks[i-1].w)
			}
			if len(in) == 0 || len(cat.connectorsNamed(t.w)) > 0 {
				a.objectFree[o] = true
			}
			for _, conn := range in {
				if a.objectIn[o] == nil {
					a.objectIn[o] = map[string]bool{}
				}
				a.objectIn[o][conn] = true
			}
		}
		named := cat.connectorsNamed(t.w)
		if head, _, ok := strings.Cut(t.w, "-"); ok && len(named) == 0 && i+1 < len(toks) && toks[i+1].kind == tWord && lxBotReply.has(toks[i+1].w) {
			// "chat-echo bot": a hyphenated compound whose first part is
			// the system, before a bot word, names that system's bot.
			named = cat.connectorsNamed(head)
		}
		for _, conn := range named {
			a.systems[conn] = true
			j := i - 1
			for j >= 0 && toks[j].kind == tWord && determiner(toks[j].w) {
				j--
			}
			if j >= 0 && (toks[j].kind == tArrow || toks[j].kind == tWord && lxDirection.has(toks[j].w)) {
				a.dest[conn] = true
			}
			if i+1 < len(toks) && toks[i+1].kind == tWord && lxBotReply.has(toks[i+1].w) {
				a.bot[conn] = true
			}
		}
		if !a.injection && (actionVerbs[t.w] == "delete" || lxEditDestructive.has(t.w)) {
			a.destroy = true
		}
	}
	for _, i := range toolChat(toks, cat) {
		if !a.objects["message"] && !endsList(toks, i) {
			continue
		}
		for _, conn := range cat.connectorsNamed(toks[i].w) {
			a.tool[conn] = true
		}
	}
	for _, i := range toolRecords(toks, cat) {
		for _, conn := range cat.connectorsNamed(toks[i].w) {
			if op := cat.toolRecordOp(conn); op != nil {
				a.toolRecord[conn] = op.Ref
			}
		}
	}
	return a
}

// placedMessages: the word at i names messages that are already in a
// system, not messages to send: the system itself after a place word ("Set
// automated labels in email": the mail system is where the labels go), or
// a message noun placed in a system that sends such messages ("Delete
// promotions emails in email", "customer messages in chat"). Neither asks
// for a message; a verb of sending still does.
func placedMessages(toks []token, i int, cat *Catalog) bool {
	o := objectWords[singular(toks[i].w)]
	sends := func(w string) bool {
		for _, conn := range cat.connectorsNamed(w) {
			for _, op := range cat.Ops {
				if op.Connector == conn && op.Verb == "send" && op.Object == o {
					return true
				}
			}
		}
		return false
	}
	if !sends(toks[i].w) {
		// A message noun: placed when a place word and a system that
		// sends that kind of message follow it, and no verb of receiving
		// comes before it ("receive a message on chat" is a delivery).
		for k := 0; k < i; k++ {
			if toks[k].kind == tWord && (lxSubscribe.has(toks[k].w) || lxVerbReceive.has(toks[k].w)) {
				return false
			}
		}
		j := i + 1
		if j >= len(toks) || toks[j].kind != tWord || !lxRecordPlace.has(toks[j].w) {
			return false
		}
		for j++; j < len(toks) && toks[j].kind == tWord && determiner(toks[j].w); j++ {
		}
		return j < len(toks) && toks[j].kind == tWord && sends(toks[j].w)
	}
	// The system's own word: placed after a place word.
	j := i - 1
	for j >= 0 && toks[j].kind == tWord && determiner(toks[j].w) {
		j--
	}
	return j >= 0 && toks[j].kind == tWord && lxRecordPlace.has(toks[j].w)
}

// toolList: the indexes of the words naming a connected system in a list
// of tools the request names ("… with Google Sheets & chat", "using
// ScrapeGraphAI and chat", "with chat, tracker & email"): after a
// cue.tool_list word (or, in a request with no verb, a direction word),
// over names, "&", "and" and commas, up to a preposition, a clause opener
// or the end of a sentence.
func toolList(toks []token, cat *Catalog) []int {
	var out []int
	verbless := true
	for i := range toks {
		if isVerbAt(toks, i) {
			verbless = false
			break
		}
	}
	for k, t := range toks {
		// A title with no verb lists where its records go after a
		// direction word ("Tally Forms to Google Drive, Notion & chat",
		// "CrunchBase to tracker tracking workflow") as a list of tools
		// does after "with".
		if t.kind != tWord || !lxToolList.has(t.w) && !(verbless && lxDirection.has(t.w) && k > 0 && objectWords[singular(toks[k-1].w)] == "") {
			// (Records of a kind the catalog names carried there —
			// "employee accounts to Google Workspace, chat, tracker" —
			// ask for that kind, not for each system's own records.)
			continue
		}
		for j := k + 1; j < len(toks); j++ {
			u := toks[j]
			if u.kind == tPunct {
				if u.w == "," {
					continue
				}
				break
			}
			if u.kind == tWord && lxToolListJoin.has(u.w) {
				continue
			}
			if u.kind != tWord || synPreposition.has(u.w) || synClauseOpen.has(u.w) {
				break
			}
			if len(cat.connectorsNamed(u.w)) > 0 {
				out = append(out, j)
			}
		}
	}
	return out
}

// endsList: the word at i is the last name of a list of tools ("with
// Straker, Google Drive & chat"): what follows it ends the list (the end,
// a full stop, a preposition, a clause opener), not another name or a
// noun it qualifies ("chat options", "chat & Google Sheets").
func endsList(toks []token, i int) bool {
	if i+1 >= len(toks) {
		return true
	}
	u := toks[i+1]
	if u.kind == tPunct {
		return u.w != ","
	}
	return u.kind == tWord && !lxToolListJoin.has(u.w) && (synPreposition.has(u.w) || synClauseOpen.has(u.w))
}

// toolRecords: of toolList, the words naming a system that sends no
// messages but keeps records nested in others (a tracker's issues in its
// projects: the catalog's eventRecord), so that naming it as a tool asks
// for one such record there ("alert via chat and tracker", "onboard new
// employees with tracker and email").
func toolRecords(toks []token, cat *Catalog) []int {
	var out []int
	for _, j := range toolList(toks, cat) {
		for _, conn := range cat.connectorsNamed(toks[j].w) {
			if cat.toolRecordOp(conn) != nil {
				out = append(out, j)
				break
			}
		}
	}
	return out
}

// toolRecordOp: the operation that creates a connector's event records
// (eventRecord's object), for a connector that has no send operation;
// nil when there is none or more than one.
func (c *Catalog) toolRecordOp(conn string) *Op {
	ev := c.eventRecord(conn)
	if ev == nil {
		return nil
	}
	var found *Op
	for _, op := range c.Ops {
		if op.Connector != conn {
			continue
		}
		if op.Verb == "send" {
			return nil
		}
		if op.Verb == "create" && op.Object == ev.Object {
			if found != nil {
				return nil
			}
			found = op
		}
	}
	return found
}

// toolChat: the indexes of the words naming a connected system whose
// messages are chat messages (not mail) in a list of tools the request
// names ("… with Google Sheets & chat", "using ScrapeGraphAI and chat"):
// after a cue.tool_list word, over names, "&", "and" and commas, up to a
// preposition, a clause opener or the end of a sentence.
func toolChat(toks []token, cat *Catalog) []int {
	var out []int
	for _, j := range toolList(toks, cat) {
		for _, op := range cat.Ops {
			if op.Verb == "send" && op.Object == "message" && contains(cat.connectorsNamed(toks[j].w), op.Connector) {
				out = append(out, j)
				break
			}
		}
	}
	return out
}

// actionOf is the action class of a verb in any inflected form
// ("creates", "created", "adding"), from the lexicon's verbs and its verb
// suffixes (inflection.verb).
func actionOf(w string) string {
	if v := actionVerbs[w]; v != "" {
		return v
	}
	return inflectedVerbs()[w]
}

var inflectedVerbs = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for base, v := range actionVerbs {
		stems := []string{base}
		if b, ok := strings.CutSuffix(base, "e"); ok {
			stems = append(stems, b)
		}
		if b, ok := strings.CutSuffix(base, "y"); ok {
			stems = append(stems, b+"i")
		}
		for _, st := range stems {
			for suf := range lxInflectionVerb.m {
				if f := st + suf; actionVerbs[f] == "" && (m[f] == "" || m[f] > v) {
					m[f] = v // ties broken by name, so the map does not depend on iteration order
				}
			}
		}
	}
	return m
})

// connectorsNamed: the connectors a word names (a system word of theirs).
func (c *Catalog) connectorsNamed(w string) []string {
	var out []string
	seen := map[string]bool{}
	for _, op := range c.Ops {
		if seen[op.Connector] {
			continue
		}
		for _, x := range op.System {
			if x == w {
				seen[op.Connector] = true
				out = append(out, op.Connector)
				break
			}
		}
	}
	return out
}

// personIn: the write is of a kind of person (kind.person) in a system the
// request names, and the request names people of another kind: "a person
// in the CRM" is a contact, as pick reads it.
func (a asked) personIn(op *Op) bool {
	if !lxKindPerson.has(op.Object) || !a.systems[op.Connector] {
		return false
	}
	for o := range a.objects {
		if lxKindPerson.has(o) {
			return true
		}
	}
	return false
}

// names: the request names op's kind of record, other than only as
// another system's ("CRM project" names no tracker project).
func (a asked) names(op *Op) bool {
	return a.objects[op.Object] && (a.objectFree[op.Object] || a.objectIn[op.Object][op.Connector] || len(a.objectIn[op.Object]) == 0)
}

// why returns why the request does not license the write ("" when it does).
func (a asked) why(op *Op) string {
	if op == nil || !writes(op) {
		return ""
	}
	if op.Hints.Destructive && !a.destroy {
		return "it deletes or overwrites data, and the request does not ask for that"
	}
	send := op.Verb == "send"
	// The system: named, given as a destination (#channel, an address),
	// or the request names the kind of record the step writes.
	system := a.systems[op.Connector] || a.names(op) ||
		send && (op.Object == "message" && a.channel || op.Object == "email" && (a.address || a.person))
	if !system {
		return fmt.Sprintf("the request does not name %s or its %s records", op.Connector, op.Object)
	}
	// The action: a verb of that kind (a create and an update are both a
	// change to the records), a message asked for, or the system named as
	// the destination.
	action := a.actions[op.Verb] || a.dest[op.Connector] || a.arrow && a.systems[op.Connector]
	toolRecord := a.toolRecord[op.Connector] == op.Ref
	action = action || toolRecord
	switch {
	case op.Verb == "create" || op.Verb == "update":
		// "invoice the order": a verb whose action is the record kind.
		action = action || a.actions["create"] || a.actions["update"] || a.actions[op.Object]
	case send:
		action = action || a.objects["message"] || a.objects["email"] || a.channel || a.address || a.receive && a.systems[op.Connector] || a.bot[op.Connector] || a.tool[op.Connector]
	}
	if !action {
		return fmt.Sprintf("no word of the request asks to %s on %s", op.Verb, op.Connector)
	}
	// The record: a create, update or delete changes records of a kind
	// the request names, or refers back to ("them", "it"), or carries
	// records to the system named as the destination ("new CRM accounts
	// to the ERP").
	if !send && !toolRecord && !a.names(op) && !a.pronoun && !a.dest[op.Connector] && !(a.arrow && a.systems[op.Connector]) && !a.personIn(op) {
		return fmt.Sprintf("the request names no %s record to %s", op.Object, op.Verb)
	}
	return ""
}

// gate removes the plan's writes the request does not license and says so
// in not_understood; an if or a loop left empty goes too.
func (s *state) gate(toks []token) {
	a := readAsked(toks, s.b.cat)
	var rec func([]*StepPlan) []*StepPlan
	rec = func(ss []*StepPlan) []*StepPlan {
		var out []*StepPlan
		for _, st := range ss {
			if st.Kind == "call" {
				if why := a.why(st.Op); why != "" {
					s.n.unknown = append(s.n.unknown, fmt.Sprintf("step %s (%s) removed by the write licence: %s", st.ID, st.Op.Ref, why))
					s.n.refused++
					continue
				}
			}
			hadInner := len(st.Then)+len(st.Else)+len(st.Do) > 0
			st.Then, st.Else, st.Do = rec(st.Then), rec(st.Else), rec(st.Do)
			if hadInner && len(st.Then)+len(st.Else)+len(st.Do) == 0 {
				s.n.unknown = append(s.n.unknown, fmt.Sprintf("%s (%s) had no step inside after the write licence and was left out", st.ID, st.Why))
				continue
			}
			out = append(out, st)
		}
		return out
	}
	s.p.Steps = rec(s.p.Steps)
}

// gateAnswer removes a model's call steps the request does not license
// (nested in then/else/do/default too) and returns what it removed, with
// why.
func gateAnswer(steps any, a asked, cat *Catalog, removed *[]string) any {
	list, ok := steps.([]any)
	if !ok {
		return steps
	}
	var out []any
	for _, s := range list {
		m, ok := s.(map[string]any)
		if !ok {
			out = append(out, s)
			continue
		}
		if ref, _ := m["call"].(string); ref != "" {
			if op, ok := cat.Op(ref); ok {
				if why := a.why(op); why != "" {
					*removed = append(*removed, fmt.Sprintf("step %v (%s) removed by the write licence: %s", m["id"], ref, why))
					continue
				}
			}
		}
		for _, k := range []string{"then", "else", "do", "default"} {
			if v, ok := m[k]; ok {
				m[k] = gateAnswer(v, a, cat, removed)
			}
		}
		out = append(out, m)
	}
	return out
}

// licensedText is readAsked for a request's text.
func licensedText(text string, cat *Catalog) asked {
	return readAsked(tokenize(strings.TrimSpace(text)), cat)
}
