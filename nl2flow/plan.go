package nl2flow

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Plan is the builtin compiler's intermediate form of a draft: a trigger
// and nested steps whose arguments are literals or CEL ("=...").
type Plan struct {
	Name        string
	Description string
	Trigger     TriggerPlan
	Steps       []*StepPlan
}

// TriggerPlan is the draft's trigger.
type TriggerPlan struct {
	Kind     string // poll | schedule | webhook | manual
	Op       *Op    // poll
	Input    []KV   // poll input
	Cron     string // schedule
	Timezone string
	Every    string // poll interval
	Cursor   string // poll: the record field that orders new records ("": the connector's default)
	Key      string // poll: the record identity ("": the connector's default)
}

// KV is one argument, in order.
type KV struct {
	Key   string
	Value any // string ("=expr" is CEL), float64, bool
}

// StepPlan is one draft step.
type StepPlan struct {
	ID    string
	Kind  string // call | if | foreach | respond
	Op    *Op
	With  []KV
	Cond  string // if: CEL
	Items string // foreach: CEL
	Then  []*StepPlan
	Else  []*StepPlan
	Do    []*StepPlan
	Body  []KV // respond
	Why   string
}

func (p *Plan) walk(fn func(s *StepPlan)) {
	var rec func([]*StepPlan)
	rec = func(ss []*StepPlan) {
		for _, s := range ss {
			fn(s)
			rec(s.Then)
			rec(s.Else)
			rec(s.Do)
		}
	}
	rec(p.Steps)
}

// YAML renders the plan as a flow file.
func (p *Plan) YAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\n", scalar(p.Name))
	if p.Description != "" {
		fmt.Fprintf(&b, "description: %s\n", scalar(p.Description))
	}
	b.WriteString("trigger:\n")
	switch p.Trigger.Kind {
	case "poll":
		b.WriteString("  poll:\n")
		fmt.Fprintf(&b, "    operation: %s\n", p.Trigger.Op.Ref)
		if p.Trigger.Op.Connection != "" {
			fmt.Fprintf(&b, "    connection: %s\n", scalar(p.Trigger.Op.Connection))
		}
		if len(p.Trigger.Input) > 0 {
			b.WriteString("    input:\n")
			writeKVs(&b, p.Trigger.Input, 6)
		}
		if p.Trigger.Cursor != "" {
			fmt.Fprintf(&b, "    cursor: %s\n", scalar(p.Trigger.Cursor))
		}
		if p.Trigger.Key != "" {
			fmt.Fprintf(&b, "    key: %s\n", scalar(p.Trigger.Key))
		}
		every := p.Trigger.Every
		if every == "" {
			every = "1m"
		}
		fmt.Fprintf(&b, "    every: %s\n", every)
	case "schedule":
		b.WriteString("  schedule:\n")
		fmt.Fprintf(&b, "    cron: %s\n", scalar(p.Trigger.Cron))
		if p.Trigger.Timezone != "" {
			fmt.Fprintf(&b, "    timezone: %s\n", scalar(p.Trigger.Timezone))
		}
	case "webhook":
		b.WriteString("  webhook:\n")
		mode := "async"
		p.walk(func(s *StepPlan) {
			if s.Kind == "respond" {
				mode = "sync"
			}
		})
		fmt.Fprintf(&b, "    mode: %s\n", mode)
	default:
		b.WriteString("  manual: {}\n")
	}
	if len(p.Steps) == 0 {
		b.WriteString("steps: []\n")
		return b.String()
	}
	b.WriteString("steps:\n")
	writeSteps(&b, p.Steps, 2)
	return b.String()
}

func writeSteps(b *strings.Builder, steps []*StepPlan, ind int) {
	pad := strings.Repeat(" ", ind)
	for _, s := range steps {
		if s.Why != "" {
			for _, line := range strings.Split(s.Why, "\n") {
				fmt.Fprintf(b, "%s# %s\n", pad, line)
			}
		}
		fmt.Fprintf(b, "%s- id: %s\n", pad, s.ID)
		in := pad + "  "
		switch s.Kind {
		case "call":
			fmt.Fprintf(b, "%scall: %s\n", in, s.Op.Ref)
			if s.Op.Connection != "" {
				fmt.Fprintf(b, "%sconnection: %s\n", in, scalar(s.Op.Connection))
			}
			if len(s.With) > 0 {
				fmt.Fprintf(b, "%swith:\n", in)
				writeKVs(b, s.With, ind+4)
			}
		case "if":
			fmt.Fprintf(b, "%sif: %s\n", in, scalar("="+s.Cond))
			fmt.Fprintf(b, "%sthen:\n", in)
			writeSteps(b, s.Then, ind+4)
			if len(s.Else) > 0 {
				fmt.Fprintf(b, "%selse:\n", in)
				writeSteps(b, s.Else, ind+4)
			}
		case "foreach":
			fmt.Fprintf(b, "%sforeach: %s\n", in, scalar("="+s.Items))
			fmt.Fprintf(b, "%sdo:\n", in)
			writeSteps(b, s.Do, ind+4)
		case "respond":
			fmt.Fprintf(b, "%srespond:\n", in)
			fmt.Fprintf(b, "%s  status: 200\n", in)
			if len(s.Body) > 0 {
				fmt.Fprintf(b, "%s  body:\n", in)
				writeKVs(b, s.Body, ind+6)
			}
		}
	}
}

func writeKVs(b *strings.Builder, kvs []KV, ind int) {
	pad := strings.Repeat(" ", ind)
	for _, kv := range kvs {
		fmt.Fprintf(b, "%s%s: %s\n", pad, scalar(kv.Key), value(kv.Value))
	}
}

func value(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case []string:
		var parts []string
		for _, s := range x {
			parts = append(parts, scalar(s))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case string:
		return scalar(x)
	}
	return scalar(fmt.Sprint(v))
}

// scalar quotes a string for YAML when it needs it.
func scalar(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return strconv.Quote(s)
	}
	r := strings.TrimSuffix(string(out), "\n")
	if strings.Contains(r, "\n") {
		return strconv.Quote(s)
	}
	return r
}

// ids hands out unique step ids.
type ids map[string]int

func (m ids) next(base string) string {
	base = slug(base, 40)
	if base == "" {
		base = "step"
	}
	m[base]++
	if m[base] == 1 {
		return base
	}
	return base + "_" + strconv.Itoa(m[base])
}

// slug keeps lower-case letters, digits and '_' (ids) or '-' (names).
func slug(s string, max int) string {
	var b strings.Builder
	lastSep := true
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			lastSep = false
		case !lastSep:
			b.WriteByte('_')
			lastSep = true
		}
	}
	out := strings.Trim(b.String(), "_")
	if len(out) > max {
		cut := out[:max]
		if i := strings.LastIndexByte(cut, '_'); i > max/2 && out[max] != '_' {
			cut = cut[:i] // end on a whole word
		}
		out = strings.Trim(cut, "_")
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
