// Package nl2flow compiles plain-English integration requests into draft
// flows: retrieve the relevant catalog entries, generate a candidate (the
// builtin compiler, or a language model), compile it with the real flow
// validator and CEL type-checker plus a catalog check, and repair it from
// the errors a bounded number of times. A draft is never deployed here:
// it comes back with an explanation, open questions and a confidence for
// a person to review.
package nl2flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/weftio/weft"
	"github.com/weftio/weft/ai"
	"github.com/weftio/weft/ai/search"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/bounded"
)

// Request is what to compile.
type Request struct {
	Text    string `json:"text"`
	Flow    string `json:"flow,omitempty"`    // an existing flow (YAML) to edit with Text as the instruction
	Backend string `json:"backend,omitempty"` // builtin | llm (default: the configured one)
}

// Draft is a compiled request, for review.
type Draft struct {
	Name          string         `json:"name"`
	YAML          string         `json:"yaml"`
	Valid         bool           `json:"valid"`              // parsed, validated and checked against the catalog
	Problems      []weft.Problem `json:"problems,omitempty"` // when not valid
	Explanation   []string       `json:"explanation"`
	Questions     []string       `json:"questions"`
	NotUnderstood []string       `json:"not_understood"`
	Warnings      []string       `json:"warnings"`
	Corrections   []string       `json:"corrections,omitempty"` // words read as typos: "oportunity→opportunity"
	Confidence    float64        `json:"confidence"`
	Backend       string         `json:"backend"`  // builtin, or the model used
	Attempts      int            `json:"attempts"` // generations (1 + repairs)

	Flow *flow.Flow `json:"-"`

	signals signals // what the coverage stage and the licences counted (builtin)
}

// signals are counts a draft's confidence reads besides its public fields.
type signals struct {
	content, open, products, refused int
	sysNamed, sysUnused              int
	callSteps, callUnnamed           int
	stepless                         bool
	clauses, clausesOpen             int
}

// Compiler drafts flows. The zero value is not usable: set Catalog.
type Compiler struct {
	Catalog  func() *Catalog // the live catalog (connections change)
	Embedder ai.Embedder     // retrieval and tie-breaks (default: builtin)
	// Vectors holds the operations' vectors for retrieval (ai/search;
	// nil: in process). Qdrant when WEFT_QDRANT_URL is set.
	Vectors    ai.VectorIndex
	LLM        Model // nil: builtin only
	MaxRepairs int   // repair rounds after the first generation (default 2)
	Log        *slog.Logger

	idxMu sync.Mutex
	idx   *search.Index // retrieval's index, filled from the catalog on use
}

// Compile drafts a flow from req.
func (c *Compiler) Compile(ctx context.Context, req Request) (*Draft, error) {
	text := strings.TrimSpace(req.Text)
	if text == "" {
		return nil, weft.Errorf(weft.EInvalid, "the request is empty: describe what should happen, e.g. \"When a new opportunity closes in the CRM, notify #sales in chat\"")
	}
	if len(text) > 4000 {
		return nil, weft.Errorf(weft.EInvalid, "the request is %d characters; keep it under 4,000 (one integration at a time)", len(text))
	}
	cat := c.Catalog()
	backend := req.Backend
	if backend == "" {
		backend = "llm"
		if c.LLM == nil {
			backend = "builtin"
		}
	}
	switch backend {
	case "builtin":
		return c.builtin(ctx, cat, text, req.Flow)
	case "llm":
		if c.LLM == nil {
			return nil, weft.Errorf(weft.EInvalid, "no language model is configured (ai.llm); use the builtin backend")
		}
		d, err := c.llm(ctx, cat, text, req.Flow)
		if errors.Is(err, ai.ErrUnreachable) {
			b, berr := c.builtin(ctx, cat, text, req.Flow)
			if berr != nil {
				return nil, berr
			}
			b.Warnings = append(b.Warnings, fmt.Sprintf("the language model (%s) could not be reached (%v); this draft is from the builtin compiler", c.LLM.Name(), err))
			return b, nil
		}
		return d, err
	}
	return nil, weft.Errorf(weft.EInvalid, "backend must be builtin or llm, got %q", backend)
}

func (c *Compiler) embedder() ai.Embedder {
	if c.Embedder != nil {
		return c.Embedder
	}
	return ai.Builtin{}
}

func (c *Compiler) builtin(ctx context.Context, cat *Catalog, text, existing string) (*Draft, error) {
	b := &builtin{cat: cat, emb: c.embedder()}
	var (
		p   *Plan
		n   *notes
		err error
		src string
	)
	if existing != "" {
		src, p, n, err = b.edit(ctx, text, existing)
	} else {
		p, n, err = b.compile(ctx, text)
		if p != nil {
			src = p.YAML()
		}
	}
	if err != nil {
		return nil, err
	}
	d := &Draft{Backend: "builtin", Attempts: 1, Explanation: n.explain, Questions: n.questions, NotUnderstood: n.unknown,
		Warnings: n.warnings, Corrections: n.fixed, signals: signals{content: n.content, open: n.open, products: n.products, refused: n.refused,
			sysNamed: n.sysNamed, sysUnused: n.sysUnused,
			callSteps: n.callSteps, callUnnamed: n.callUnnamed, stepless: n.stepless,
			clauses: n.clauses, clausesOpen: n.clausesOpen}}
	// Repair: the builtin compiler drops what does not compile and asks.
	for attempt := 0; attempt <= c.repairs(); attempt++ {
		f, probs := Check(src, cat, text)
		d.YAML, d.Flow, d.Problems = src, f, probs
		if len(probs) == 0 || existing != "" || attempt == c.repairs() {
			break
		}
		fixed, dropped := dropBroken(p, probs)
		if !fixed {
			break
		}
		d.Attempts++
		d.Questions = append(d.Questions, dropped...)
		src = p.YAML()
	}
	for _, g := range n.gaps {
		d.Problems = append(d.Problems, weft.Problem{Path: "trigger", Message: g})
	}
	loopQuestion(d)
	d.finish()
	return d, nil
}

func (c *Compiler) repairs() int {
	if c.MaxRepairs <= 0 {
		return 2
	}
	return c.MaxRepairs
}

// finish sets what follows from the last check: valid, name, confidence.
func (d *Draft) finish() {
	d.Valid = len(d.Problems) == 0
	if d.Flow != nil {
		d.Name = d.Flow.Name
	}
	d.Confidence = confidence(d)
	norm(d)
}

// norm keeps JSON lists non-null.
func norm(d *Draft) {
	for _, l := range []*[]string{&d.Explanation, &d.Questions, &d.NotUnderstood, &d.Warnings} {
		if *l == nil {
			*l = []string{}
		}
	}
}

// confidence is the calibrated probability that the draft is right
// (calibration.go): lower for each part not understood, each open
// question, a broken or incomplete draft.
func confidence(d *Draft) float64 {
	return calibration.Confidence(ConfidenceFeatures(d))
}

// loopProblem opens the validator's message for a flow whose writes its
// own trigger sees again (flow/loops.go).
const loopProblem = "feedback loop"

// loopQuestion: a draft refused as a feedback loop asks what should start
// it instead.
func loopQuestion(d *Draft) {
	for _, p := range d.Problems {
		if strings.HasPrefix(p.Message, loopProblem) {
			d.Questions = append(d.Questions, "The draft writes the same records its trigger watches, so each run would start another: which records should start this flow, or where should it write instead?")
			return
		}
	}
}

// dropBroken removes the arguments a problem points at (by step id and
// key) and reports them as questions.
func dropBroken(p *Plan, probs []weft.Problem) (bool, []string) {
	changed := false
	var qs []string
	p.walk(func(s *StepPlan) {
		for _, pr := range probs {
			if !strings.Contains(pr.Message, "step "+s.ID+" ") && !strings.Contains(pr.Message, "\""+s.ID+"\"") {
				continue
			}
			for i := 0; i < len(s.With); i++ {
				if strings.Contains(pr.Message, "\""+s.With[i].Key+"\"") || strings.Contains(pr.Message, "."+s.With[i].Key) {
					qs = append(qs, fmt.Sprintf("%s: %s was dropped (%s); what should it be?", s.ID, s.With[i].Key, pr.Message))
					s.With = append(s.With[:i], s.With[i+1:]...)
					i--
					changed = true
				}
			}
		}
	})
	return changed, qs
}

// Check compiles a draft: parse (file:line:col), validate (references,
// CEL type-check, operations), and check it against the catalog (each
// call's connection and argument names; no destructive step the request
// did not ask for).
func Check(src string, cat *Catalog, request string) (*flow.Flow, []weft.Problem) {
	f, err := flow.Parse("draft.yaml", []byte(src))
	if err != nil {
		return nil, problems(err)
	}
	var probs []weft.Problem
	if err := flow.Validate(f, cat); err != nil {
		probs = problems(err)
	}
	add := func(pos, format string, args ...any) {
		probs = append(probs, weft.Problem{Pos: pos, Message: fmt.Sprintf(format, args...)})
	}
	checkArgs := func(pos, what, ref, conn string, with *flow.Template) {
		op, ok := cat.Op(ref)
		if !ok {
			if cat.HasOperation(ref) {
				add(pos, "%s: %s has no connection in this catalog (connected operations are listed by `weft connector list`)", what, ref)
			}
			return // an unknown operation: the validator said so
		}
		if conn != "" && conn != op.Connection {
			if other := cat.connectionOf(conn); other == "" {
				add(pos, "%s: unknown connection %q (use %q)", what, conn, op.Connection)
			} else if other != op.Connector {
				add(pos, "%s: connection %q is a %s connection, not %s (use %q)", what, conn, other, op.Connector, op.Connection)
			}
		}
		props := op.inputProps()
		// Complete: every required argument is given (a draft that lacks
		// one is not deployable; the compiler's question says what to set).
		var missing []string
		for _, r := range op.required() {
			if with == nil || with.Map[r] == nil {
				missing = append(missing, r)
			}
		}
		if len(missing) > 0 {
			add(pos, "%s: %s needs %s, which the draft does not set", what, ref, strings.Join(missing, ", "))
		}
		if with == nil || len(props) == 0 {
			return
		}
		for _, k := range with.Keys {
			if _, ok := props[k]; !ok {
				msg := fmt.Sprintf("%s: %s has no argument %q", what, ref, k)
				if sg := flow.Suggest(k, sortedKeys(props)); sg != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", sg)
				} else {
					msg += " (it takes " + strings.Join(sortedKeys(props), ", ") + ")"
				}
				add(pos, "%s", msg)
			}
		}
	}
	if pt := f.Trigger.Poll; pt != nil {
		checkArgs(pt.Pos, "poll trigger", pt.Operation, pt.Connection, pt.Input)
		if op, ok := cat.Op(pt.Operation); ok && op.Trigger == nil {
			add(pt.Pos, "poll trigger: %s is not a list operation that can be polled", pt.Operation)
		}
	}
	// A draft whose own writes would start it again is refused (not
	// valid), whatever the request said: the validator's loop warning is a
	// problem here, and the person is asked which records to watch.
	probs = append(probs, flow.Loops(f, cat)...)
	asked := asksDestructive(request)
	flow.Walk(f.Steps, func(s *flow.Step) {
		if s.Kind != flow.KindCall {
			return
		}
		checkArgs(s.Pos, "step "+s.ID, s.Call, s.Connection, s.With)
		if op, ok := cat.Op(s.Call); ok && op.Hints.Destructive && !asked {
			add(s.Pos, "step %s: %s deletes or overwrites data, and the request did not ask for that", s.ID, s.Call)
		}
	})
	return f, probs
}

// asksDestructive: the request itself asks to delete or overwrite, and is
// not an injection attempt.
func asksDestructive(request string) bool {
	toks := tokenize(request)
	if injection(toks) {
		return false
	}
	for _, t := range toks {
		if t.kind == tWord && (actionVerbs[t.w] == "delete" || lxEditDestructive.has(t.w)) {
			return true
		}
	}
	return false
}

func (c *Catalog) connectionOf(conn string) string {
	for _, op := range c.Ops {
		if op.Connection == conn {
			return op.Connector
		}
	}
	if c.cat != nil {
		if x, ok := c.cat.LookupConnection(conn); ok {
			return x.Connector
		}
	}
	return ""
}

func problems(err error) []weft.Problem {
	var we *weft.Error
	if errors.As(err, &we) {
		if len(we.Problems) > 0 {
			return we.Problems
		}
		return []weft.Problem{{Message: we.Message}}
	}
	return []weft.Problem{{Message: err.Error()}}
}

// edit appends the steps an instruction asks for to an existing flow,
// keeping everything else (comments included).
func (b *builtin) edit(ctx context.Context, text, existing string) (string, *Plan, *notes, error) {
	f, err := flow.Parse("flow.yaml", []byte(existing))
	if err != nil {
		return "", nil, nil, err
	}
	doc, err := bounded.YAML("flow.yaml", []byte(existing), bounded.Limits{})
	if err != nil || len(doc.Content) == 0 {
		return "", nil, nil, weft.Errorf(weft.EInvalid, "the flow to edit is not a YAML document")
	}
	n := &notes{}
	toks := tokenize(text)
	if !english(toks, b.vocab()) {
		return "", nil, nil, weft.Errorf(weft.EInvalid, "the instruction does not look like English; the builtin compiler reads English only")
	}
	n.fixed = fixTypos(toks, b.vocab())
	injected := injection(toks)
	if injected {
		n.warnings = append(n.warnings, "the instruction contains text aimed at the compiler; it was not followed, and no delete step is drafted")
	}
	p := &Plan{Name: f.Name}
	st := &state{b: b, n: n, p: p, ids: ids{}, injected: injected, req: toks}
	switch {
	case f.Trigger.Poll != nil:
		if op, ok := b.cat.Op(f.Trigger.Poll.Operation); ok {
			p.Trigger = TriggerPlan{Kind: "poll", Op: op, Cursor: f.Trigger.Poll.Cursor, Key: f.Trigger.Poll.Key}
			st.trigObj, st.fields, st.trigDesc = op.Object, op.recordFields(), op.Object
			st.always = map[string]bool{}
			requiredOf(op.itemSchema(), st.always, 0)
		}
	case f.Trigger.Schedule != nil:
		p.Trigger = TriggerPlan{Kind: "schedule"}
	case f.Trigger.Webhook != nil:
		p.Trigger = TriggerPlan{Kind: "webhook"}
	default:
		p.Trigger = TriggerPlan{Kind: "manual"}
	}
	flow.Walk(f.Steps, func(s *flow.Step) {
		st.ids[s.ID] = 1
		if s.Kind == flow.KindCall {
			if op, ok := b.cat.Op(s.Call); ok {
				st.made = append(st.made, &StepPlan{ID: s.ID, Kind: "call", Op: op})
			}
		}
	})
	for _, c := range split(toks) {
		c = stripIn(c, lxEditFiller)
		if c.empty() {
			continue
		}
		if st.isCondition(c) {
			st.condition(c)
			continue
		}
		st.action(ctx, c)
	}
	st.contradictions()
	st.prune()
	st.gate(toks)
	if len(p.Steps) == 0 {
		if len(n.unknown) == 0 {
			n.unknown = append(n.unknown, "the instruction names no step to add")
		}
		return existing, p, n, nil
	}
	var sb strings.Builder
	writeSteps(&sb, p.Steps, 0)
	added, err := bounded.YAML("new steps", []byte(sb.String()), bounded.Limits{})
	if err != nil || len(added.Content) == 0 {
		return "", nil, nil, fmt.Errorf("nl2flow: rendering the new steps: %v", err)
	}
	root := doc.Content[0]
	var steps *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "steps" {
			steps = root.Content[i+1]
		}
	}
	if steps == nil {
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "steps"}, &yaml.Node{Kind: yaml.SequenceNode})
		steps = root.Content[len(root.Content)-1]
	}
	steps.Style = 0
	steps.Content = append(steps.Content, added.Content[0].Content...)
	out, err := yaml.Marshal(doc)
	if err != nil {
		return "", nil, nil, err
	}
	n.explain = append([]string{fmt.Sprintf("Edit of flow %s: the steps below are added after its %d existing step(s); nothing else changes.", f.Name, len(f.Steps))}, n.explain...)
	return string(out), p, n, nil
}
