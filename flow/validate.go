package flow

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/weftio/weft"
)

// Operations is what validation needs from the connector catalog: the
// names (connector.operation) callable from a flow.
type Operations interface {
	HasOperation(name string) bool
	OperationNames() []string
}

// Load parses and validates in one go.
func Load(file string, src []byte, ops Operations) (*Flow, error) {
	f, err := Parse(file, src)
	if err != nil {
		return nil, err
	}
	if err := Validate(f, ops); err != nil {
		return nil, err
	}
	return f, nil
}

// Validate checks references between steps, expression field paths against
// what is known of trigger and step outputs, and operations against ops (nil
// skips the catalog check). It assigns ids to steps that have none.
func Validate(f *Flow, ops Operations) error {
	v := &validator{f: f, ops: ops, ids: map[string]*Step{}}
	n := 0
	Walk(f.Steps, func(s *Step) {
		n++
		if s.ID == "" {
			s.ID = fmt.Sprintf("%s_%d", s.Kind, n)
		}
		if prev, dup := v.ids[s.ID]; dup {
			v.errf(s.Pos, "step id %q is already used by the step at %s", s.ID, prev.Pos)
			return
		}
		v.ids[s.ID] = s
	})
	if pt := f.Trigger.Poll; pt != nil && v.ops != nil && pt.Operation != "" && !v.ops.HasOperation(pt.Operation) {
		msg := fmt.Sprintf("poll trigger: unknown operation %q", pt.Operation)
		if sg := Suggest(pt.Operation, v.ops.OperationNames()); sg != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", sg)
		}
		v.errf(pt.Pos, "%s", msg)
	}
	v.block(f.Steps, scope{})
	if len(v.probs) > 0 {
		return &weft.Error{Code: weft.EUnprocessable, Message: fmt.Sprintf("flow %q has %d problem(s)", f.Name, len(v.probs)), Problems: v.probs}
	}
	return nil
}

type validator struct {
	f     *Flow
	ops   Operations
	ids   map[string]*Step
	probs []weft.Problem
}

func (v *validator) errf(pos, format string, args ...any) {
	v.probs = append(v.probs, weft.Problem{Pos: pos, Message: fmt.Sprintf(format, args...)})
}

// scope maps visible step ids to their known output keys (nil = unknown).
type scope map[string][]string

func (s scope) with(id string, keys []string) scope {
	out := make(scope, len(s)+1)
	for k, v := range s {
		out[k] = v
	}
	out[id] = keys
	return out
}

func (v *validator) block(steps []*Step, sc scope) scope {
	for _, s := range steps {
		v.step(s, sc)
		sc = sc.with(s.ID, outputKeys(s))
		// Steps inside branches stay visible after the branch (they may be null).
		if s.Kind == KindIf || s.Kind == KindSwitch {
			Walk(append(append([]*Step{}, s.Then...), s.Else...), func(in *Step) { sc = sc.with(in.ID, outputKeys(in)) })
			for _, c := range s.Cases {
				Walk(c.Steps, func(in *Step) { sc = sc.with(in.ID, outputKeys(in)) })
			}
			Walk(s.Default, func(in *Step) { sc = sc.with(in.ID, outputKeys(in)) })
		}
	}
	return sc
}

func outputKeys(s *Step) []string {
	switch s.Kind {
	case KindSet:
		return s.Set.MapKeys()
	case KindCall:
		if strings.HasPrefix(s.Call, "http.") {
			return []string{"body", "body_encoding", "headers", "job", "long_running", "pages", "status", "truncated"}
		}
	}
	return nil
}

func (v *validator) step(s *Step, sc scope) {
	var exprs []*Expr
	exprs = append(exprs, s.With.exprs()...)
	exprs = append(exprs, s.Set.exprs()...)
	exprs = append(exprs, s.Body.exprs()...)
	exprs = append(exprs, s.FailMessage.exprs()...)
	for _, e := range []*Expr{s.Cond, s.Items, s.WaitUntil} {
		if e != nil {
			exprs = append(exprs, e)
		}
	}
	for _, c := range s.Cases {
		if c.When != nil {
			exprs = append(exprs, c.When)
		}
	}
	for _, e := range exprs {
		v.checkRefs(e, s, sc)
	}
	switch s.Kind {
	case KindCall:
		if v.ops != nil && s.Call != "" && !v.ops.HasOperation(s.Call) {
			msg := fmt.Sprintf("step %q: unknown operation %q", s.ID, s.Call)
			if sg := Suggest(s.Call, v.ops.OperationNames()); sg != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sg)
			}
			v.errf(s.Pos, "%s", msg)
		}
	case KindIf:
		v.block(s.Then, sc)
		v.block(s.Else, sc)
	case KindSwitch:
		for _, c := range s.Cases {
			v.block(c.Steps, sc)
		}
		v.block(s.Default, sc)
	case KindForeach:
		v.block(s.Do, sc)
	case KindSubflow:
		if s.Subflow == v.f.Name {
			v.errf(s.Pos, "step %q: flow %q calls itself as a subflow (cycle)", s.ID, s.Subflow)
		}
	}
}

func (v *validator) checkRefs(e *Expr, s *Step, sc scope) {
	before := len(v.probs)
	defer func() {
		// steps.a.b also yields the chain steps.a: report each finding once.
		seen := map[string]bool{}
		kept := v.probs[:before]
		for _, p := range v.probs[before:] {
			if !seen[p.Pos+p.Message] {
				seen[p.Pos+p.Message] = true
				kept = append(kept, p)
			}
		}
		v.probs = kept
	}()
	for _, ch := range e.chains {
		if len(ch) < 2 {
			continue
		}
		switch ch[0] {
		case "steps":
			id := ch[1]
			keys, visible := sc[id]
			if !visible {
				if _, exists := v.ids[id]; exists {
					if id == s.ID {
						v.errf(e.Pos, "step %q refers to its own output steps.%s", s.ID, id)
					} else {
						v.errf(e.Pos, "steps.%s is not available here: step %q runs later or in another branch", id, id)
					}
				} else {
					msg := fmt.Sprintf("unknown step %q in steps.%s", id, id)
					var known []string
					for k := range sc {
						known = append(known, k)
					}
					if sg := Suggest(id, known); sg != "" {
						msg += fmt.Sprintf(" (did you mean %q?)", sg)
					}
					v.errf(e.Pos, "%s", msg)
				}
				continue
			}
			if len(ch) >= 3 && keys != nil && !contains(keys, ch[2]) {
				msg := fmt.Sprintf("step %q has no output field %q", id, ch[2])
				if sg := Suggest(ch[2], keys); sg != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", sg)
				} else {
					msg += " (it has " + strings.Join(keys, ", ") + ")"
				}
				v.errf(e.Pos, "%s", msg)
			}
		case "trigger":
			fields := []string{"body", "headers", "query", "kind", "scheduled_at", "params"}
			if v.f.Trigger.CDC != nil {
				fields = append(fields, CDCFields...)
			}
			if v.f.Trigger.Queue() != nil {
				fields = append(fields, QueueFields...)
			}
			if v.f.Trigger.Alert != nil {
				fields = append(fields, AlertFields...)
			}
			if !contains(fields, ch[1]) {
				v.errf(e.Pos, "trigger has no field %q (it has %s)", ch[1], strings.Join(fields, ", "))
				continue
			}
			if ch[1] == "params" && len(ch) >= 3 {
				if a := v.f.Trigger.API; a == nil {
					v.errf(e.Pos, "trigger.params are an api trigger's path parameters; this flow's trigger is %s", v.f.Trigger.Kind)
				} else if !contains(a.Params, ch[2]) {
					msg := fmt.Sprintf("trigger.params has no %q: the path %s has parameters %s", ch[2], a.Path, strings.Join(a.Params, ", "))
					if sg := Suggest(ch[2], a.Params); sg != "" {
						msg = fmt.Sprintf("trigger.params has no %q (did you mean %q?)", ch[2], sg)
					}
					v.errf(e.Pos, "%s", msg)
				}
			}
			if ch[1] == "body" && len(ch) >= 3 {
				props := v.triggerProps()
				if props != nil && !contains(props, ch[2]) {
					msg := fmt.Sprintf("trigger.body has no field %q in the trigger schema", ch[2])
					if sg := Suggest(ch[2], props); sg != "" {
						msg += fmt.Sprintf(" (did you mean %q?)", sg)
					}
					v.errf(e.Pos, "%s", msg)
				}
			}
		}
	}
}

// triggerProps returns the declared top-level body properties, or nil if
// the trigger has no closed schema.
func (v *validator) triggerProps() []string {
	var schema map[string]any
	switch {
	case v.f.Trigger.Webhook != nil:
		schema = v.f.Trigger.Webhook.Schema
	case v.f.Trigger.Manual != nil:
		schema = v.f.Trigger.Manual.Schema
	case v.f.Trigger.API != nil && v.f.Trigger.API.Request.Body != nil:
		schema = v.f.Trigger.API.Request.Body.Doc
	}
	props, ok := schema["properties"].(map[string]any)
	if !ok {
		return nil
	}
	if ap, ok := schema["additionalProperties"].(bool); !ok || ap {
		return nil // open schema: other fields may exist
	}
	var out []string
	for k := range props {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ParseCron parses a cron spec with optional seconds (5 or 6 fields, or
// descriptors such as @hourly and @every 10s) in a time zone.
func ParseCron(spec, tz string) (cron.Schedule, error) {
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("unknown time zone %q", tz)
		}
		loc = l
	}
	p := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	sched, err := p.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("cron %q: %v", spec, err)
	}
	return locSchedule{sched, loc}, nil
}

type locSchedule struct {
	s   cron.Schedule
	loc *time.Location
}

func (l locSchedule) Next(t time.Time) time.Time { return l.s.Next(t.In(l.loc)) }
