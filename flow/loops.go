package flow

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/weftio/weft"
)

// ReadOnlyOperations is optionally implemented by an Operations catalog:
// whether an operation only reads (its connector's hints). Without it the
// operation's leading verb decides (list, get, search… read).
type ReadOnlyOperations interface {
	OperationReadOnly(name string) (readOnly, known bool)
}

// OperationResource splits connector.operation into the connector, the
// leading verb and the record kind it acts on, from the operation's name:
// crm.listAccounts → crm, list, account; erp.createSalesOrder → erp,
// create, sales order; chat.postMessage → chat, post, message. The record
// kind is singular and lower case; it is empty when the name has one word.
func OperationResource(name string) (connector, verb, resource string) {
	connector, op, ok := strings.Cut(name, ".")
	if !ok {
		return "", "", ""
	}
	words := splitName(op)
	if len(words) == 0 {
		return connector, "", ""
	}
	verb = words[0]
	if len(words) > 1 {
		rest := words[1:]
		rest[len(rest)-1] = singularWord(rest[len(rest)-1])
		resource = strings.Join(rest, " ")
	}
	return connector, verb, resource
}

// readVerbs and removeVerbs are the API-naming conventions for operations
// that change no record (read) or only take records away (remove): neither
// can make a poll of that record kind see something new.
var (
	readVerbs   = map[string]bool{"list": true, "get": true, "search": true, "find": true, "query": true, "read": true, "fetch": true, "count": true, "describe": true, "lookup": true, "select": true, "export": true, "download": true}
	removeVerbs = map[string]bool{"delete": true, "remove": true, "destroy": true, "purge": true}
)

// Writes reports whether calling the operation can create or change a
// record of its kind: not read-only (by the catalog's hints when it knows
// the operation, else by the verb) and not a pure removal.
func Writes(name string, ops Operations) bool {
	_, verb, _ := OperationResource(name)
	if removeVerbs[verb] {
		return false
	}
	if ro, ok := ops.(ReadOnlyOperations); ok {
		if readOnly, known := ro.OperationReadOnly(name); known {
			return !readOnly
		}
	}
	return verb != "" && !readVerbs[verb]
}

// Loops lists the steps whose writes a flow's own trigger would see again:
// a poll trigger on connector C's record kind R and a call step that
// creates or updates R on C through the same connection (a step with no
// connection uses the connector's default, as a trigger with none does).
// Each run of such a flow can start another run of itself. The result is
// a warning per step, at the step's file:line:col; it does not make the
// flow invalid (a filter may end the chain), and the engine stops chains
// that go on (see engine loop protection).
func Loops(f *Flow, ops Operations) []weft.Problem {
	if f == nil {
		return nil
	}
	var out []weft.Problem
	if pt := f.Trigger.Poll; pt != nil {
		_, _, tr := OperationResource(pt.Operation)
		Walk(f.Steps, func(s *Step) {
			if !WritesTriggerRecords(f, s, ops) {
				return
			}
			out = append(out, weft.Problem{Pos: s.Pos, Message: fmt.Sprintf(
				"feedback loop: step %s calls %s, which writes the %s records this flow's trigger polls (%s); every run can start another run of this flow. Filter the trigger so the flow's own writes do not match, or write elsewhere (the engine stops chains of self-caused runs and raises an alert)",
				s.ID, s.Call, tr, pt.Operation)})
		})
	}
	if f.Trigger.Webhook != nil && f.Name != "" {
		own := "/hooks/" + f.Name
		Walk(f.Steps, func(s *Step) {
			if s.Kind != KindCall || s.With == nil {
				return
			}
			if c, _, _ := OperationResource(s.Call); c != "http" {
				return
			}
			for _, v := range templateStrings(s.With) {
				if strings.HasSuffix(strings.TrimRight(v, "/"), own) || strings.Contains(v, own+"?") {
					out = append(out, weft.Problem{Pos: s.Pos, Message: fmt.Sprintf(
						"feedback loop: step %s calls this flow's own webhook (%s); every run starts another run (the engine stops chains of self-caused runs and raises an alert)", s.ID, own)})
					return
				}
			}
		})
	}
	return out
}

// WritesTriggerRecords reports whether step s creates or changes records
// of the kind f's poll trigger watches, on the same connector and
// connection.
func WritesTriggerRecords(f *Flow, s *Step, ops Operations) bool {
	if f == nil || s == nil || f.Trigger.Poll == nil || s.Kind != KindCall {
		return false
	}
	pt := f.Trigger.Poll
	tc, _, tr := OperationResource(pt.Operation)
	sc, _, sr := OperationResource(s.Call)
	return tr != "" && sc == tc && sameResource(tr, sr) && sameConnection(pt.Connection, s.Connection) && Writes(s.Call, ops)
}

func sameConnection(a, b string) bool { return a == "" || b == "" || a == b }

// sameResource: the record kinds are equal, or one is the other with
// qualifying words after it ("account" and "account owner" are both
// accounts; "account" and "contact" are not).
func sameResource(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	return strings.HasPrefix(b, a+" ") || strings.HasPrefix(a, b+" ")
}

// templateStrings collects the literal strings of a template.
func templateStrings(t *Template) []string {
	if t == nil {
		return nil
	}
	switch t.kind {
	case 'l':
		if s, ok := t.Lit.(string); ok {
			return []string{s}
		}
	case 'm':
		var out []string
		for _, k := range t.Keys {
			out = append(out, templateStrings(t.Map[k])...)
		}
		return out
	case 'a':
		var out []string
		for _, v := range t.List {
			out = append(out, templateStrings(v)...)
		}
		return out
	}
	return nil
}

// splitName splits camelCase, snake_case and kebab-case into lower-case words.
func splitName(s string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case r == '_' || r == '-' || r == ' ' || r == '.':
			flush()
		case unicode.IsUpper(r) && len(cur) > 0 && (!unicode.IsUpper(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	return out
}

// singularWord is the English plural rule for record kinds: accounts →
// account, opportunities → opportunity, addresses → address.
func singularWord(w string) string {
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses") || strings.HasSuffix(w, "xes") || strings.HasSuffix(w, "ches") || strings.HasSuffix(w, "shes"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "ss") || strings.HasSuffix(w, "us") || strings.HasSuffix(w, "is"):
		return w
	case strings.HasSuffix(w, "s") && len(w) > 3:
		return w[:len(w)-1]
	}
	return w
}
