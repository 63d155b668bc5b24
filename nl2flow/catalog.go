package nl2flow

import (
	"sort"
	"strings"

	"github.com/weftio/weft/ai"
	"github.com/weftio/weft/connectors"
)

// Op is one operation a draft may call: an operation of a configured
// connection, with what the compilers need to find and fill it.
type Op struct {
	Ref         string         `json:"operation"` // connector.operation
	Connection  string         `json:"connection,omitempty"`
	Connector   string         `json:"connector"`
	Name        string         `json:"-"`
	Title       string         `json:"title,omitempty"`
	Description string         `json:"description,omitempty"`
	Input       map[string]any `json:"input_schema,omitempty"`
	Output      map[string]any `json:"-"`
	Hints       connectors.Hints
	// Trigger is set when the operation can be polled for new or updated
	// records.
	Trigger *connectors.Trigger `json:"trigger,omitempty"`

	Verb   string   `json:"-"` // list get create update delete send request
	Object string   `json:"-"` // singular noun: opportunity, sales order, email
	System []string `json:"-"` // words that name the system: crm, tracker, email
}

// Catalog is what a draft may use: the operations of the configured
// connections.
type Catalog struct {
	Ops  []*Op
	refs map[string]*Op
	cat  *connectors.Catalog
}

// FromConnectors builds the draftable catalog: one entry per operation of
// each connection whose connector is installed.
func FromConnectors(c *connectors.Catalog) *Catalog {
	out := &Catalog{refs: map[string]*Op{}, cat: c}
	seen := map[string]bool{}
	for _, conn := range c.Connections() {
		x, ok := c.Connector(conn.Connector)
		if !ok || seen[x.Name] {
			continue // a second connection of one connector: the first is used
		}
		seen[x.Name] = true
		triggers := map[string]*connectors.Trigger{}
		for i := range x.Triggers {
			triggers[x.Triggers[i].Operation] = &x.Triggers[i]
		}
		for _, o := range x.Operations {
			op := &Op{Ref: x.Name + "." + o.Name, Connection: conn.Name, Connector: x.Name, Name: o.Name,
				Title: o.Title, Description: o.Description, Input: o.Input, Output: o.Output, Hints: o.Hints,
				Trigger: triggers[o.Name]}
			op.Verb, op.Object = verbObject(x, o)
			op.System = systemWords(conn.Name, x)
			out.Ops = append(out.Ops, op)
			out.refs[op.Ref] = op
		}
	}
	sort.Slice(out.Ops, func(i, j int) bool { return out.Ops[i].Ref < out.Ops[j].Ref })
	return out
}

// Op looks up connector.operation.
func (c *Catalog) Op(ref string) (*Op, bool) { op, ok := c.refs[ref]; return op, ok }

// HasOperation implements flow.Operations over the whole connector catalog.
func (c *Catalog) HasOperation(name string) bool {
	if c.cat != nil {
		return c.cat.HasOperation(name)
	}
	_, ok := c.refs[name]
	return ok
}

// OperationReadOnly implements flow.ReadOnlyOperations.
func (c *Catalog) OperationReadOnly(name string) (readOnly, known bool) {
	if c.cat != nil {
		return c.cat.OperationReadOnly(name)
	}
	if op, ok := c.refs[name]; ok {
		return op.Hints.ReadOnly, true
	}
	return false, false
}

// OperationNames implements flow.Operations.
func (c *Catalog) OperationNames() []string {
	if c.cat != nil {
		return c.cat.OperationNames()
	}
	var out []string
	for k := range c.refs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Text is the retrieval text of an operation.
func (o *Op) Text() string {
	return strings.Join([]string{o.Ref, o.Title, o.Description, o.Verb, o.Object, strings.Join(o.System, " ")}, " ")
}

// verbOf maps the first word of an operation name to its verb
// (lexicon/syntax.json, opverb.*).
var verbOf = lex.values("opverb.")

// verbObject derives an operation's verb and object from its name
// (listOpportunities -> list, opportunity), its title and its connector.
// Leading determiners of the object are dropped (OData's
// list_A_BusinessPartner: business partner). A read-only operation named
// by a noun alone (a GraphQL query `repository`, `issues`) is a read of
// that record kind: list when the noun is plural or the operation returns
// a list, get otherwise.
func verbObject(x *connectors.Connector, o *connectors.Operation) (string, string) {
	words := ai.Split(o.Name)
	if len(words) == 0 {
		return "", ""
	}
	verb, rest := verbOf[strings.ToLower(words[0])], words[1:]
	if verb == "" {
		verb, rest = "", words
	}
	switch {
	case x.Name == "smtp" || titleSays(x.Title, lxEmailWord):
		return "send", "email"
	case x.Name == "http":
		return "request", "request"
	}
	for len(rest) > 1 && determiners.has(strings.ToLower(rest[0])) {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return verb, singular(strings.ToLower(x.Name))
	}
	for i, w := range rest {
		rest[i] = strings.ToLower(w)
	}
	last := rest[len(rest)-1]
	rest[len(rest)-1] = singular(last)
	obj := strings.Join(rest, " ")
	if words[0] == "hire" {
		obj = "employee"
	}
	if verb == "" && o.Hints.ReadOnly {
		verb = "get"
		if rest[len(rest)-1] != last || listOutput(o.Output) {
			verb = "list"
		}
	}
	return verb, obj
}

// listOutput: the operation returns a list (an array body).
func listOutput(s map[string]any) bool {
	return schemaTypes(s)["array"]
}

func systemWords(conn string, x *connectors.Connector) []string {
	set := map[string]bool{strings.ToLower(conn): true, strings.ToLower(x.Name): true}
	for _, w := range ai.Split(x.Title) {
		w = strings.ToLower(w)
		if !stop.has(w) && !lxSystemTitleSkip.has(w) {
			set[w] = true
		}
	}
	for w := range set {
		for _, a := range systemAliases[w] {
			set[a] = true
		}
	}
	var out []string
	for w := range set {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// titleSays: a word of the title is in the set.
func titleSays(title string, set wordSet) bool {
	for _, w := range strings.FieldsFunc(strings.ToLower(title), func(r rune) bool { return !(r >= 'a' && r <= 'z' || r == '-') }) {
		if set.has(w) {
			return true
		}
	}
	return false
}

// singular is a plural-to-singular rule set for resource nouns.
func singular(w string) string {
	s, _ := applySuffix(morphSingular, w)
	return s
}

// recordFields lists the fields of the records a list operation returns
// (at its trigger's items path), with their schemas.
func (o *Op) recordFields() map[string]map[string]any {
	item := o.itemSchema()
	out := map[string]map[string]any{}
	collectProps(item, out, 0)
	return out
}

// requiredOf lists the fields a record schema always has (through allOf).
func requiredOf(s map[string]any, into map[string]bool, depth int) {
	if s == nil || depth > 5 {
		return
	}
	for _, r := range anyStrings(s["required"]) {
		into[r] = true
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			if m, ok := sub.(map[string]any); ok {
				requiredOf(m, into, depth+1)
			}
		}
	}
}

func (o *Op) itemSchema() map[string]any {
	s := o.Output
	path := "body"
	if o.Trigger != nil && o.Trigger.Items != "" {
		path = o.Trigger.Items
	}
	for _, seg := range strings.Split(strings.TrimPrefix(strings.TrimPrefix(path, "body"), "."), ".") {
		if seg == "" {
			continue
		}
		props, _ := s["properties"].(map[string]any)
		s, _ = props[seg].(map[string]any)
	}
	if items, ok := s["items"].(map[string]any); ok {
		return items
	}
	return s
}

// itemsPath is where the records are in the operation's output, as a path
// below the step (body.data).
func (o *Op) itemsPath() string {
	if o.Trigger != nil && o.Trigger.Items != "" {
		return o.Trigger.Items
	}
	return "body"
}

func collectProps(s map[string]any, into map[string]map[string]any, depth int) {
	if s == nil || depth > 5 {
		return
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for k, v := range props {
			if m, ok := v.(map[string]any); ok {
				into[k] = m
			}
		}
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		if all, ok := s[key].([]any); ok {
			for _, sub := range all {
				if m, ok := sub.(map[string]any); ok {
					collectProps(m, into, depth+1)
				}
			}
		}
	}
}

// inputProps lists the operation's input fields.
func (o *Op) inputProps() map[string]map[string]any {
	out := map[string]map[string]any{}
	collectProps(o.Input, out, 0)
	return out
}

func (o *Op) required() []string {
	var out []string
	for _, r := range anyStrings(o.Input["required"]) {
		out = append(out, r)
	}
	return out
}

func anyStrings(v any) []string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = append(out, x...)
	}
	return out
}

// enumValues lists a field schema's enum values (through $ref-resolved
// copies and allOf).
func enumValues(s map[string]any) []string {
	if s == nil {
		return nil
	}
	out := anyStrings(s["enum"])
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		if all, ok := s[key].([]any); ok {
			for _, sub := range all {
				if m, ok := sub.(map[string]any); ok {
					out = append(out, enumValues(m)...)
				}
			}
		}
	}
	return out
}
