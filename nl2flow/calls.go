package nl2flow

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/weftio/weft/ai"
)

// send drafts a notification: a chat message or an email, listing records
// first when the message is about several ("post the overdue invoices").
func (s *state) send(ctx context.Context, c clause, objs []objRef) {
	s.sent = &c
	// "notify your team via email and chat": one message per destination
	// (the records it is about are read once).
	if dests := s.messageSystems(c); len(dests) > 1 && !c.oneDest {
		for k, d := range dests {
			if k > 0 {
				objs = nil
			}
			s.send(ctx, s.sendTo(c, c, d), objs)
		}
		s.sent = &c
		return
	}
	// Records the message is about: "the list of open opportunities".
	for _, o := range objs {
		if o.obj == "email" || o.obj == "message" || o.obj == "channel" || o.obj == "line" {
			continue
		}
		if s.foreignRecords(c, o.i) {
			break // "reminders from Google Contacts": another product's records, not ours to list
		}
		if (o.plural || c.hasIn(lxListAll) || s.modifiesMessage(c, o.i)) && (o.obj != s.trigObj || s.p.Trigger.Kind != "poll") && s.loop == nil {
			if list := s.pick("list", o.obj, s.systemsIn(c), c); list != nil && !(s.p.Trigger.Kind == "poll" && s.p.Trigger.Op == list) {
				s.call(list, c, "list")
			}
		}
		break
	}
	// "sprint reports from tracker": a message whose records come from a
	// connected system named after a source word, none named: that
	// system's event records (eventRecord) are read first, unless the
	// trigger or a loop brings them.
	if src := s.messageSource(c); src != "" && s.loop == nil && !(s.p.Trigger.Kind == "poll" && s.p.Trigger.Op != nil && s.p.Trigger.Op.Connector == src) {
		if list := s.b.cat.eventRecord(src); list != nil && !s.listed(list) {
			s.call(list, c, "list")
		}
	}
	email := c.hasIn(lxEmailWord)
	var to []string
	for _, t := range c.toks {
		if t.kind == tEmail {
			to = append(to, t.w)
			email = true
		}
	}
	channel := channelName(c)
	if channel != "" && len(to) == 0 {
		email = false
	}
	// "… to chat with optional email confirmation": the system the
	// message is sent to decides, not another mention of email.
	if dest := s.destinationSystem(c); dest != "" && len(to) == 0 {
		for _, op := range s.b.cat.Ops {
			if op.Connector == dest && op.Verb == "send" {
				email = op.Object == "email"
			}
		}
	}
	// The person the message goes to (resolving it may add a lookup
	// step, so it is resolved once).
	personRef, personDone := "", false
	person := func() string {
		if !personDone {
			personRef, personDone = s.personRef(c), true
		}
		return personRef
	}
	if !email && channel == "" && person() != "" {
		email = true
	}
	var op *Op
	if email {
		op = s.pick("send", "email", nil, c)
	} else {
		op = s.pick("send", "message", nil, c)
	}
	if op == nil {
		s.n.unknown = append(s.n.unknown, fmt.Sprintf("%q: no connected system sends %s", c.text(), map[bool]string{true: "email", false: "chat messages"}[email]))
		return
	}
	if why := s.licence(op, c, "send"); why != "" {
		s.refuse(op, c, why)
		return
	}
	dup := false
	s.p.walk(func(st *StepPlan) { dup = dup || st.Kind == "call" && st.Op == op })
	if c.nominal && dup {
		return // "… email signatures with email delivery": the noun names the send already drafted there
	}
	st := &StepPlan{ID: s.ids.next(map[bool]string{true: "email", false: "notify"}[email]), Kind: "call", Op: op}
	q := quoted(c)
	summary := s.summary()
	props := op.inputProps()
	if email {
		var toV any
		switch {
		case len(to) == 1:
			toV = to[0]
		case len(to) > 1:
			toV = to
		default:
			if ref := person(); ref != "" {
				toV = "=" + ref
			}
		}
		if toV == nil {
			s.n.ask("Who should %s email? The draft has no address: add `to`.", st.ID)
		} else {
			st.With = append(st.With, KV{"to", toV})
		}
		subject, text := summary.subject, summary.text
		if q != "" {
			if c.hasIn(lxSubject) {
				subject = "=" + celQuote(q)
			} else {
				text = "=" + celQuote(q)
				subject = "=" + celQuote(q)
			}
		}
		st.With = append(st.With, KV{"subject", subject}, KV{"text", text})
	} else {
		for _, k := range sortedKeys(props) {
			if isIDParam(k) && idObject(k) == "channel" {
				if channel != "" {
					st.With = append(st.With, KV{k, channel})
				} else if ref, _ := s.idRef("channel", op, k); ref != "" {
					st.With = append(st.With, KV{k, "=" + ref})
				} else {
					s.n.ask("Which chat channel should %s post to? Set %s.", st.ID, k)
				}
			}
		}
		text := summary.text
		if q != "" {
			text = q
		}
		key := "text"
		if _, ok := props["text"]; !ok {
			for _, k := range lex.list("field.text") {
				if _, ok := props[k]; ok {
					key = k
				}
			}
		}
		st.With = append(st.With, KV{key, text})
		if _, ok := props["author"]; ok {
			st.With = append(st.With, KV{"author", "Weft"})
		}
	}
	st.Why = fmt.Sprintf("%s: %s", op.Ref, op.Title)
	s.add(st)
	where := channel
	if email {
		where = fmt.Sprint(valueOf(st.With, "to"))
	}
	s.n.explain = append(s.n.explain, fmt.Sprintf("Step %s: %s (connection %s) → %s.", st.ID, op.Ref, op.Connection, strings.TrimPrefix(where, "=")))
}

// foreignRecords: the record noun at i is another product's: a product
// the catalog lacks stands right before it ("Google Contacts") or after a
// source preposition right after it ("leads from Google Sheets").
func (s *state) foreignRecords(c clause, i int) bool {
	product := func(k int) bool {
		if k < 0 || k >= len(c.toks) || c.toks[k].kind != tWord || s.isSystemWord(c.toks[k].w) {
			return false
		}
		t := c.toks[k]
		return knownVendors[t.w] || k > 0 && properName(t) && !s.vocab()[t.w]
	}
	if product(i - 1) {
		return true
	}
	return i+2 < len(c.toks) && lxSource.has(c.toks[i+1].w) && product(i+2)
}

// modifiesMessage: the record noun at i qualifies the message noun after
// it ("CRM lead report", "tracker task summaries"): the message is about
// those records.
func (s *state) modifiesMessage(c clause, i int) bool {
	// The records' system is named right before them ("tracker task"),
	// so they are not another product's ("GLPI ticket", "Google Sheets
	// task"): a connected system that lists that kind.
	if i == 0 || c.toks[i-1].kind != tWord || s.pick("list", s.recordNoun(c.toks[i].w), s.b.cat.connectorsNamed(c.toks[i-1].w), c) == nil || len(s.b.cat.connectorsNamed(c.toks[i-1].w)) == 0 {
		return false
	}
	j := i + 1
	for j < len(c.toks) && c.toks[j].kind == tWord && s.isSystemWord(c.toks[j].w) {
		j++
	}
	if j >= len(c.toks) || c.toks[j].kind != tWord {
		return false
	}
	o := objectWords[singular(c.toks[j].w)]
	return o == "message" || o == "email"
}

func valueOf(kvs []KV, k string) any {
	for _, kv := range kvs {
		if kv.Key == k {
			return kv.Value
		}
	}
	return "?"
}

type summaryText struct{ subject, text string }

// summary is a message about what started the run, referring only to
// fields the record has.
func (s *state) summary() summaryText {
	if s.loop != nil {
		f := firstField(onlyAlways(s.loopF, s.loopReq), "name", "title", "sku", "first_name", "email", "id")
		label := strings.Title(s.loopObj)
		if f == "" {
			return summaryText{"=" + celQuote(label), "=" + celQuote(label)}
		}
		e := fmt.Sprintf("=%q + string_or(item.%s, \"\")", label+": ", f)
		return summaryText{e, e}
	}
	if len(s.made) > 0 {
		last := s.made[len(s.made)-1]
		if last.Op.Verb == "list" {
			e := fmt.Sprintf("=string(size(steps.%s.%s)) + %q", last.ID, last.Op.itemsPath(), " "+plural(last.Op.Object))
			return summaryText{e, e}
		}
	}
	switch s.p.Trigger.Kind {
	case "poll":
		label := strings.Title(s.trigDesc)
		for _, kv := range s.p.Trigger.Input {
			if v, ok := kv.Value.(string); ok && !strings.HasPrefix(v, "=") {
				label += " " + strings.ReplaceAll(v, "_", " ")
			}
		}
		f := firstField(onlyAlways(s.fields, s.always), "name", "title", "first_name", "email", "number", "id")
		if f == "" {
			return summaryText{"=" + celQuote(label), "=" + celQuote(label)}
		}
		e := fmt.Sprintf("=%q + string_or(trigger.body.%s, \"\")", label+": ", f)
		return summaryText{e, e}
	case "webhook":
		return summaryText{"Webhook received", "=\"A webhook started run \" + run.id"}
	case "schedule":
		return summaryText{"Scheduled run", "Scheduled run"}
	}
	return summaryText{"Message from Weft", "Message from Weft"}
}

func plural(w string) string {
	p, _ := applySuffix(morphPlural, w)
	return p
}

// onlyAlways keeps the fields a record always has (when that is known):
// a message must not fail on a record that lacks an optional one.
func onlyAlways(fs map[string]map[string]any, always map[string]bool) map[string]map[string]any {
	if len(always) == 0 {
		return fs
	}
	out := map[string]map[string]any{}
	for k, v := range fs {
		if always[k] {
			out[k] = v
		}
	}
	return out
}

func firstField(fs map[string]map[string]any, names ...string) string {
	for _, n := range names {
		if _, ok := fs[n]; ok {
			return n
		}
	}
	return ""
}

func celQuote(s string) string { return fmt.Sprintf("%q", s) }

// personRef resolves "the owner", "the customer", "them" to an email
// field of the record in scope (or of a record looked up for it).
func (s *state) personRef(c clause) string {
	words := c.words()
	hasIn := func(set wordSet) bool {
		for _, w := range words {
			if set.has(w) || set.has(strings.TrimSuffix(w, "'s")) || set.has(singular(w)) {
				return true
			}
		}
		return false
	}
	has := func(ws ...string) bool {
		for _, w := range words {
			for _, x := range ws {
				if w == x || w == x+"'s" || singular(w) == x {
					return true
				}
			}
		}
		return false
	}
	fs := s.scopeFields()
	root := "trigger.body."
	if s.loop != nil {
		root = "item."
	}
	pick := func(names ...string) string {
		for _, n := range names {
			if _, ok := fs[n]; ok {
				return root + n
			}
		}
		return ""
	}
	switch {
	case hasIn(lxPersonOwner):
		return pick(lex.list("field.recipient.owner")...)
	case hasIn(lxPersonLead) && s.trigObj == "project":
		return pick(lex.list("field.recipient.lead")...)
	case hasIn(lxPersonAssignee):
		return pick(lex.list("field.recipient.assignee")...)
	case hasIn(lxPersonRef):
		if r := pick(lex.list("field.recipient.person")...); r != "" {
			return r
		}
		// The record names its customer/account by id: look it up.
		for _, obj := range lex.list("person.record_kinds") {
			if !has(obj) && !hasIn(lxPersonRecordRef) {
				continue
			}
			if id := s.idField(fs, obj); id != "" {
				get := s.pick("get", obj, nil, c)
				if get == nil {
					continue
				}
				for _, f := range lex.list("field.recipient.looked_up") {
					if _, ok := get.recordFieldsOf()[f]; ok {
						st := s.call(get, clause{}, "get")
						return "steps." + st.ID + ".body." + f
					}
				}
			}
		}
	}
	return ""
}

// recordFieldsOf lists a get operation's output fields.
func (o *Op) recordFieldsOf() map[string]map[string]any {
	out := map[string]map[string]any{}
	collectProps(o.Output, out, 0)
	return out
}

// idField finds the field naming a record of obj ("customer_id").
func (s *state) idField(fs map[string]map[string]any, obj string) string {
	k := strings.ReplaceAll(obj, " ", "_") + "_id"
	if _, ok := fs[k]; ok {
		return k
	}
	camel := strings.ReplaceAll(strings.Title(obj), " ", "")
	k = strings.ToLower(camel[:1]) + camel[1:] + "Id"
	if _, ok := fs[k]; ok {
		return k
	}
	return ""
}

// call drafts a call step and fills its arguments.
func (s *state) call(op *Op, c clause, verb string) *StepPlan {
	base := op.Object
	if op.Verb == "list" {
		base = plural(op.Object)
	}
	st := &StepPlan{ID: s.ids.next(base), Kind: "call", Op: op}
	props := op.inputProps()
	required := map[string]bool{}
	for _, r := range op.required() {
		required[r] = true
	}
	var filled, optional []string
	setKV := func(k string, v any, why string) {
		if hasKV(st.With, k) {
			return
		}
		st.With = append(st.With, KV{k, v})
		if why != "" {
			filled = append(filled, k+" "+why)
		}
	}
	// Ids first: path parameters and foreign keys.
	for _, k := range sortedKeys(props) {
		if !isIDParam(k) {
			continue
		}
		obj := idObject(k)
		if obj == "channel" {
			if ch := channelName(c); ch != "" {
				setKV(k, ch, "")
				continue
			}
		}
		if lit := literalID(c, obj); lit != "" {
			setKV(k, lit, "")
			continue
		}
		if ref, why := s.idRef(obj, op, k); ref != "" {
			setKV(k, "="+ref, why)
			continue
		}
		if required[k] {
			s.n.ask("Which %s should %s use? Set %s.", obj, st.ID, k)
		}
	}
	// Filters of list operations: states and "in the Sales department".
	if op.Verb == "list" {
		for _, k := range sortedKeys(props) {
			if hasKV(st.With, k) {
				continue
			}
			if es := enumValues(props[k]); len(es) > 0 {
				if v := matchEnum(es, "", stateIn(c)); v != "" {
					setKV(k, v, "")
				}
				continue
			}
			if v := namedValue(c, k); v != "" {
				setKV(k, v, "")
			}
		}
	}
	// Updates: "mark as paid", "archive", "move to closed_won".
	if op.Verb == "update" {
		for _, k := range sortedKeys(props) {
			if es := enumValues(props[k]); len(es) > 0 {
				states := stateIn(c)
				if c.hasIn(lxArchive) {
					states = append(states, "archived")
				}
				if v := matchEnum(es, "", states); v != "" {
					setKV(k, v, "")
				}
			}
		}
	}
	// Creations: a quoted or named title, then fields from the record in scope.
	if op.Verb == "create" || op.Verb == "update" && strings.HasPrefix(op.Name, "replace") {
		if q := quoted(c); q != "" || named(c) != "" {
			if q == "" {
				q = named(c)
			}
			for _, k := range lex.list("field.title") {
				if _, ok := props[k]; ok {
					setKV(k, q, "")
					break
				}
			}
		}
		src, root := s.scopeFields(), "trigger.body."
		if s.loop != nil {
			root = "item."
		}
		for _, k := range sortedKeys(props) {
			if hasKV(st.With, k) || isIDParam(k) {
				continue
			}
			if f := sourceFor(k, src); f != "" {
				if !required[k] && !s.alwaysHas(f) {
					// An optional field from one the record may lack would
					// fail the step when it is absent: offered, not set.
					optional = append(optional, k+" ← "+f)
					continue
				}
				setKV(k, "="+root+f, "from "+strings.TrimSuffix(root, ".")+"."+f)
				continue
			}
			if required[k] {
				if src == nil && s.p.Trigger.Kind == "webhook" {
					setKV(k, "=trigger.body."+k, "from the webhook body (assumed field name)")
					continue
				}
				if k == "title" || k == "name" {
					setKV(k, s.summary().text, "")
					continue
				}
				if strings.HasSuffix(k, "date") && strings.Contains(typeOf(props[k]), "string") {
					setKV(k, "=run.started_at.substring(0, 10)", "today")
					continue
				}
				s.n.ask("What should %s's %s be? The request does not say and the record in scope has no matching field.", st.ID, k)
			}
		}
	}
	if op.Hints.Destructive {
		st.Why = fmt.Sprintf("%s: %s (destructive: it deletes or overwrites data)", op.Ref, op.Title)
	} else {
		st.Why = fmt.Sprintf("%s: %s", op.Ref, op.Title)
	}
	s.add(st)
	line := fmt.Sprintf("Step %s: %s (connection %s): %s", st.ID, op.Ref, op.Connection, strings.ToLower(op.Title))
	if len(filled) > 0 {
		line += " — " + strings.Join(filled, ", ")
	}
	if len(optional) > 0 {
		line += fmt.Sprintf(" (not set, because the record may lack the source: %s)", strings.Join(optional, ", "))
	}
	s.n.explain = append(s.n.explain, line+".")
	return st
}

// alwaysHas: the record in scope always carries field f.
func (s *state) alwaysHas(f string) bool {
	if s.loop != nil {
		return s.loopReq[f]
	}
	return s.always[f]
}

func typeOf(s map[string]any) string { t, _ := s["type"].(string); return t }

// idRef finds where an id of obj comes from: an earlier step that made or
// read one, the loop item, or the trigger record.
func (s *state) idRef(obj string, op *Op, key string) (string, string) {
	for i := len(s.made) - 1; i >= 0; i-- {
		st := s.made[i]
		if st.Op.Object == obj && (st.Op.Verb == "create" || st.Op.Verb == "get") {
			return "steps." + st.ID + ".body.id", "from step " + st.ID
		}
	}
	if s.loop != nil {
		if s.loopObj == obj {
			return "item.id", "from the item"
		}
		if f := s.idField(s.loopF, obj); f != "" {
			return "item." + f, "from the item"
		}
	}
	if s.p.Trigger.Kind == "poll" {
		if s.trigObj == obj {
			return "trigger.body.id", "from the trigger record"
		}
		if f := s.idField(s.fields, obj); f != "" {
			return "trigger.body." + f, "from the trigger record"
		}
	}
	if s.p.Trigger.Kind == "webhook" && isRequiredKey(op, key) {
		return "trigger.body." + key, "from the webhook body (assumed field name)"
	}
	return "", ""
}

func isRequiredKey(op *Op, k string) bool {
	for _, r := range op.required() {
		if r == k {
			return true
		}
	}
	return false
}

// sourceFor maps a target field to a field of the record in scope: the
// same name, or a known pairing (budget <- amount, source_ref <- id).
func sourceFor(k string, src map[string]map[string]any) string {
	if src == nil {
		return ""
	}
	if lxFieldNoCopy.has(k) {
		return ""
	}
	if _, ok := src[k]; ok {
		return k
	}
	pairs := lxFieldSources
	for _, f := range pairs[k] {
		if _, ok := src[f]; ok {
			return f
		}
	}
	return ""
}

func isIDParam(k string) bool {
	return strings.HasSuffix(k, "Id") || strings.HasSuffix(k, "_id") || strings.HasSuffix(k, "ID")
}

// idObject: opportunityId -> opportunity, sales_order_id -> sales order,
// orderId -> sales order when the catalog calls it that.
func idObject(k string) string {
	k = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(k, "Id"), "_id"), "ID")
	words := ai.Split(k)
	for i := range words {
		words[i] = strings.ToLower(words[i])
	}
	obj := strings.Join(words, " ")
	if m := objectWords[obj]; m != "" {
		return m
	}
	return obj
}

// channelName finds "#delivery", "the sales channel", "the delivery team",
// "chat channel incidents".
func channelName(c clause) string {
	for _, t := range c.toks {
		if t.kind == tChannel {
			return strings.TrimPrefix(t.raw, "#")
		}
	}
	ws := c.toks
	for i, t := range ws {
		if t.kind != tWord {
			continue
		}
		switch {
		case lxChannelNoun.has(t.w):
			// "the X channel" / "the X team"
			j := i - 1
			if j >= 0 && ws[j].kind == tWord && !stop.has(ws[j].w) && !lxNotChannelName.has(ws[j].w) && actionVerbs[ws[j].w] == "" && objectWords[ws[j].w] == "" {
				if productToken(ws[j]) {
					continue // "a YouTube channel": another product's channel, not one of chat's
				}
				return ws[j].w
			}
			// "channel X"
			if lxChannelWord.has(t.w) && i+1 < len(ws) && ws[i+1].kind == tWord && !stop.has(ws[i+1].w) && !productToken(ws[i+1]) {
				return ws[i+1].w
			}
		}
	}
	return ""
}

// literalID finds an identifier written after the object's name ("project
// PRJ-1", "tracker project ONB").
func literalID(c clause, obj string) string {
	for i, t := range c.toks {
		if t.kind != tWord || objectWords[singular(t.w)] != obj && singular(t.w) != obj {
			continue
		}
		if i+1 < len(c.toks) && c.toks[i+1].kind == tWord && looksLikeID(c.toks[i+1].raw) {
			return c.toks[i+1].raw
		}
	}
	return ""
}

func looksLikeID(s string) bool {
	if len(s) < 2 {
		return false
	}
	upper, digit := 0, 0
	for _, r := range s {
		switch {
		case unicode.IsUpper(r):
			upper++
		case unicode.IsDigit(r):
			digit++
		case r == '-' || r == '_':
		case unicode.IsLower(r):
			return false
		}
	}
	return upper+digit >= 2
}

func quoted(c clause) string {
	for _, t := range c.toks {
		if t.kind == tQuote {
			return t.w
		}
	}
	return ""
}

// named finds "called X" / "named X".
func named(c clause) string {
	for i, t := range c.toks {
		if lxNameIntro.has(t.w) && i+1 < len(c.toks) {
			n := c.toks[i+1]
			if n.kind == tQuote {
				return n.w
			}
			return n.raw
		}
	}
	return ""
}

// namedValue finds a value for a filter from "in the Sales department",
// "the software industry", "department Sales".
func namedValue(c clause, key string) string {
	for i, t := range c.toks {
		if t.kind != tWord || t.w != key {
			continue
		}
		if i > 0 && c.toks[i-1].kind == tWord && !stop.has(c.toks[i-1].w) && actionVerbs[c.toks[i-1].w] == "" && !productToken(c.toks[i-1]) {
			return c.toks[i-1].raw
		}
		if i+1 < len(c.toks) && c.toks[i+1].kind == tWord && !stop.has(c.toks[i+1].w) && !productToken(c.toks[i+1]) {
			return c.toks[i+1].raw
		}
	}
	return ""
}

// productToken: the word names a product, not a value of one of the
// catalog's records — a vendor the lexicon knows, or a name written like a
// product's, with a capital inside a word that also has small letters
// ("YouTube", "LinkedIn"). A channel, a department or a filter's value is
// never a product's name.
func productToken(t token) bool {
	if t.kind != tWord {
		return false
	}
	if knownVendors[t.w] {
		return true
	}
	lower := false
	for _, r := range t.raw {
		lower = lower || unicode.IsLower(r)
	}
	return lower && innerCapital(t.raw)
}

// messageSource: the connected system a verbless or sent message's
// content comes from, named after a source word right after the message
// noun ("reports from tracker", "alerts from the CRM"), when the clause
// names no record kind of the catalog; "" otherwise.
func (s *state) messageSource(c clause) string {
	for _, o := range s.objectsIn(c) {
		if o.obj != "message" && o.obj != "email" {
			return ""
		}
	}
	for i, t := range c.toks {
		if t.kind != tWord || !(objectWords[singular(t.w)] == "message" || objectWords[singular(t.w)] == "email") {
			continue
		}
		j := i + 1
		if j >= len(c.toks) || !lxSource.has(c.toks[j].w) {
			continue
		}
		j++
		for j < len(c.toks) && determiner(c.toks[j].w) {
			j++
		}
		if j < len(c.toks) && c.toks[j].kind == tWord {
			if cs := s.b.cat.connectorsNamed(c.toks[j].w); len(cs) == 1 {
				return cs[0]
			}
		}
	}
	return ""
}

// listed: a step already reads that list.
func (s *state) listed(op *Op) bool {
	for _, m := range s.made {
		if m.Op == op {
			return true
		}
	}
	return false
}
