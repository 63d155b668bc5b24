package flow

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/internal/lazy"
)

// limits bound a flow document before anything walks it: flows are
// written by hand, so these are generous for people and small for a
// machine (an alias bomb or a megabyte of nesting is refused at once).
var limits = bounded.Limits{MaxBytes: 4 << 20, MaxDepth: 100, MaxNodes: 200000, MaxAliasNodes: 10000, MaxAliasBytes: 1 << 20}

// Parse reads a flow from YAML or JSON. file names the source in errors
// (file:line:col). It checks structure only; call Validate for references,
// expressions and catalog checks. Parse returns every problem it finds.
func Parse(file string, src []byte) (*Flow, error) {
	p := &parser{file: file, keys: map[*yaml.Node]*yaml.Node{}}
	doc, err := bounded.YAML(file, src, limits)
	if err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, weft.Errorf(weft.EInvalid, "%s: flow file is empty", file)
	}
	f := p.flow(doc.Content[0])
	if len(p.probs) > 0 {
		return nil, &weft.Error{Code: weft.EUnprocessable, Message: fmt.Sprintf("flow %s has %d problem(s)", file, len(p.probs)), Problems: p.probs}
	}
	return f, nil
}

type parser struct {
	file  string
	probs []weft.Problem
	keys  map[*yaml.Node]*yaml.Node // value node -> its key node, for positions
}

func (p *parser) pos(n *yaml.Node) string {
	return fmt.Sprintf("%s:%d:%d", p.file, n.Line, n.Column)
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) {
	p.probs = append(p.probs, weft.Problem{Pos: p.pos(n), Message: fmt.Sprintf(format, args...)})
}

// fields returns a mapping's keys and values, reporting keys not in allowed.
func (p *parser) fields(n *yaml.Node, what string, allowed ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		p.errf(n, "%s must be a mapping, got %s", what, kindName(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if allowed != nil && !contains(allowed, k.Value) {
			msg := fmt.Sprintf("unknown field %q in %s", k.Value, what)
			if s := suggest(k.Value, allowed); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			p.errf(k, "%s", msg)
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.errf(k, "field %q appears twice in %s", k.Value, what)
		}
		out[k.Value] = v
		p.keys[v] = k
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an alias"
}

func (p *parser) str(n *yaml.Node, what string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		p.errf(n, "%s must be a string, got %s", what, kindName(n))
		return ""
	}
	return n.Value
}

func (p *parser) integer(n *yaml.Node, what string) int {
	if n == nil {
		return 0
	}
	var v int
	if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
		p.errf(n, "%s must be an integer, got %s", what, kindName(n))
	}
	return v
}

func (p *parser) number(n *yaml.Node, what string) float64 {
	if n == nil {
		return 0
	}
	var v float64
	if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
		p.errf(n, "%s must be a number, got %s", what, kindName(n))
	}
	return v
}

func (p *parser) duration(n *yaml.Node, what string) time.Duration {
	if n == nil {
		return 0
	}
	d, err := time.ParseDuration(p.str(n, what))
	if err != nil || d < 0 {
		p.errf(n, "%s must be a duration such as 500ms, 30s or 5m, got %q", what, n.Value)
	}
	return d
}

func (p *parser) expr(n *yaml.Node, what string) *Expr {
	if n == nil {
		return nil
	}
	src := p.str(n, what)
	if src == "" {
		p.errf(n, "%s: expression is empty", what)
		return nil
	}
	src = strings.TrimPrefix(src, "=")
	e, err := CompileExpr(src, p.pos(n))
	if err != nil {
		p.errf(n, "%s: %v", what, err)
		return nil
	}
	return e
}

func (p *parser) template(n *yaml.Node) *Template {
	switch n.Kind {
	case yaml.MappingNode:
		t := &Template{kind: 'm', Map: map[string]*Template{}}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := t.Map[k]; dup {
				p.errf(n.Content[i], "key %q appears twice", k)
				continue
			}
			t.Keys = append(t.Keys, k)
			t.Map[k] = p.template(n.Content[i+1])
		}
		return t
	case yaml.SequenceNode:
		t := &Template{kind: 'a'}
		for _, c := range n.Content {
			t.List = append(t.List, p.template(c))
		}
		return t
	case yaml.AliasNode:
		return p.template(n.Alias)
	}
	if n.Tag == "!!str" || n.Style != 0 {
		if strings.HasPrefix(n.Value, "==") {
			return &Template{kind: 'l', Lit: n.Value[1:]}
		}
		if strings.HasPrefix(n.Value, "=") && n.Tag == "!!str" {
			e, err := CompileExpr(n.Value[1:], p.pos(n))
			if err != nil {
				p.errf(n, "%v", err)
				return &Template{kind: 'l'}
			}
			return &Template{kind: 'e', Expr: e}
		}
	}
	var v any
	if err := n.Decode(&v); err != nil {
		p.errf(n, "bad value: %v", err)
	}
	if i, ok := v.(int); ok {
		v = int64(i)
	}
	return &Template{kind: 'l', Lit: v}
}

var nameRe = lazy.NewRegexp(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// NamespaceRe is a namespace name: a DNS label (lower-case letters, digits
// and '-', at most 63, starting and ending with a letter or digit).
var NamespaceRe = lazy.NewRegexp(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
var idRe = lazy.NewRegexp(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

func (p *parser) flow(root *yaml.Node) *Flow {
	f := &Flow{}
	m := p.fields(root, "flow", "name", "namespace", "description", "trigger", "steps", "capture", "limits", "redact", "redact_dlq", "placement")
	f.Name = p.str(m["name"], "name")
	if m["name"] == nil {
		p.errf(root, "flow has no name")
	} else if !nameRe.MatchString(f.Name) {
		p.errf(m["name"], "name %q must be lower-case letters, digits, '-' or '_' (at most 64)", f.Name)
	}
	if m["namespace"] != nil {
		f.Namespace = p.str(m["namespace"], "namespace")
		if !NamespaceRe.MatchString(f.Namespace) {
			p.errf(m["namespace"], "namespace %q must be lower-case letters, digits and '-' (at most 63, starting and ending with a letter or digit)", f.Namespace)
		}
	}
	f.Description = p.str(m["description"], "description")
	if n := m["capture"]; n != nil {
		f.Capture = p.str(n, "capture")
		if !contains([]string{"none", "metadata", "full"}, f.Capture) {
			p.errf(n, "capture must be none, metadata or full, got %q", f.Capture)
		}
	}
	if n := m["limits"]; n != nil {
		lm := p.fields(n, "limits", "concurrency", "rate_per_sec", "burst")
		f.Limits.Concurrency = p.integer(lm["concurrency"], "limits.concurrency")
		f.Limits.RatePerSec = p.number(lm["rate_per_sec"], "limits.rate_per_sec")
		f.Limits.Burst = p.integer(lm["burst"], "limits.burst")
	}
	if n := m["redact"]; n != nil {
		switch {
		case n.Kind != yaml.SequenceNode:
			p.errf(n, "redact must be a list of field names and JSON paths ($.customer.email)")
		case len(n.Content) > MaxRedactEntries:
			p.errf(n, "redact has %d entries; the limit is %d", len(n.Content), MaxRedactEntries)
		default:
			for _, c := range n.Content {
				e := p.str(c, "redact entry")
				switch {
				case c.Kind != yaml.ScalarNode:
					continue
				case strings.HasPrefix(e, "$"):
					jp, err := ParseJSONPath(e)
					if err != nil {
						p.errf(c, "redact entry %q: %v", e, err)
						continue
					}
					f.RedactPaths = append(f.RedactPaths, jp)
				case e == "" || len(e) > MaxPathLen:
					p.errf(c, "redact entry %q: a field name (1 to %d characters) or a JSON path starting with $", e, MaxPathLen)
					continue
				}
				f.Redact = append(f.Redact, e)
			}
		}
	}
	if n := m["redact_dlq"]; n != nil {
		switch {
		case n.Kind == yaml.ScalarNode && n.Value == "true":
			f.RedactDLQ = true
		case n.Kind == yaml.ScalarNode && n.Value == "false":
		default:
			p.errf(n, "redact_dlq must be true or false")
		}
	}
	if n := m["placement"]; n != nil {
		f.Placement = p.placement(n)
	}
	if n := m["trigger"]; n != nil {
		f.Trigger = p.trigger(n)
	} else {
		f.Trigger = Trigger{Kind: TriggerManual, Manual: &ManualTrigger{}}
	}
	if n := m["steps"]; n != nil {
		f.Steps = p.steps(n, "steps")
		if len(f.Steps) == 0 && n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
			p.errf(n, "flow has no steps (steps is an empty list)")
		}
	} else {
		p.errf(root, "flow has no steps")
	}
	return f
}

// MaxPlacementLabels bounds a placement's label selector.
const MaxPlacementLabels = 16

// SiteRe is a site name (and a label key or value): a DNS label.
var SiteRe = NamespaceRe

func (p *parser) placement(n *yaml.Node) *Placement {
	pm := p.fields(n, "placement", "site", "labels")
	pl := &Placement{}
	if s := pm["site"]; s != nil {
		pl.Site = p.str(s, "placement.site")
		if !SiteRe.MatchString(pl.Site) {
			p.errf(s, "placement.site %q must be lower-case letters, digits and '-' (at most 63, starting and ending with a letter or digit)", pl.Site)
		}
	}
	if l := pm["labels"]; l != nil {
		switch {
		case l.Kind != yaml.MappingNode:
			p.errf(l, "placement.labels must be a mapping of label to value (region: eu)")
		case len(l.Content)/2 > MaxPlacementLabels:
			p.errf(l, "placement.labels has %d entries; the limit is %d", len(l.Content)/2, MaxPlacementLabels)
		default:
			pl.Labels = map[string]string{}
			for i := 0; i+1 < len(l.Content); i += 2 {
				k, v := l.Content[i].Value, p.str(l.Content[i+1], "placement.labels."+l.Content[i].Value)
				if !SiteRe.MatchString(k) || !SiteRe.MatchString(v) {
					p.errf(l.Content[i], "placement label %s=%s: keys and values are lower-case letters, digits and '-' (at most 63)", k, v)
					continue
				}
				if _, dup := pl.Labels[k]; dup {
					p.errf(l.Content[i], "placement label %q appears twice", k)
				}
				pl.Labels[k] = v
			}
		}
	}
	if pl.Site == "" && len(pl.Labels) == 0 {
		p.errf(n, "placement needs a site (site: plant-3) or labels (labels: {region: eu})")
	}
	return pl
}

func (p *parser) trigger(n *yaml.Node) Trigger {
	m := p.fields(n, "trigger", TriggerWebhook, TriggerSchedule, TriggerManual, TriggerPoll, TriggerAPI, TriggerCDC, TriggerNATS, TriggerAMQP, TriggerAlert)
	if len(m) != 1 {
		if len(m) > 1 {
			p.errf(n, "trigger must have exactly one of webhook, schedule, manual, poll, api, cdc, nats, amqp, alert")
		} else if n.Kind == yaml.MappingNode && len(n.Content) == 0 {
			p.errf(n, "trigger is empty: use webhook, schedule, manual, poll, api, cdc, nats, amqp or alert")
		}
		return Trigger{Kind: TriggerManual, Manual: &ManualTrigger{}}
	}
	var t Trigger
	for kind, v := range m {
		t.Kind = kind
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			v = &yaml.Node{Kind: yaml.MappingNode, Line: v.Line, Column: v.Column}
		}
		switch kind {
		case TriggerWebhook:
			w := &WebhookTrigger{}
			wm := p.fields(v, "webhook trigger", "mode", "signature", "idempotency", "schema")
			w.Mode = p.str(wm["mode"], "mode")
			if w.Mode != "" && w.Mode != "sync" && w.Mode != "async" {
				p.errf(wm["mode"], "webhook mode must be sync or async, got %q", w.Mode)
			}
			if s := wm["signature"]; s != nil {
				sm := p.fields(s, "signature", "header", "secret", "timestamp", "tolerance")
				w.Signature = &Signature{Header: p.str(sm["header"], "signature.header"), Secret: p.str(sm["secret"], "signature.secret"),
					Timestamp: p.str(sm["timestamp"], "signature.timestamp"), Tolerance: p.duration(sm["tolerance"], "signature.tolerance")}
				if w.Signature.Secret == "" {
					p.errf(s, "signature needs secret: the name of a configured secret (WEFT_SECRET_<NAME>)")
				}
				if sm["tolerance"] != nil && w.Signature.Timestamp == "" {
					p.errf(sm["tolerance"], "signature.tolerance needs signature.timestamp: the header that carries the signing time")
				}
				if w.Signature.Tolerance < 0 || w.Signature.Tolerance > 24*time.Hour || (sm["tolerance"] != nil && w.Signature.Tolerance == 0) {
					p.errf(sm["tolerance"], "signature.tolerance must be between 1s and 24h")
				}
			}
			if s := wm["idempotency"]; s != nil {
				im := p.fields(s, "idempotency", "header", "expr")
				w.Idempotency = &Idempotency{Header: p.str(im["header"], "idempotency.header")}
				if e := im["expr"]; e != nil {
					if x := p.expr(e, "idempotency.expr"); x != nil {
						w.Idempotency.Expr, w.Idempotency.expr = x.Source, x
					}
				}
				if w.Idempotency.Header == "" && w.Idempotency.Expr == "" {
					p.errf(s, "idempotency needs header or expr")
				}
			}
			if s := wm["schema"]; s != nil {
				if err := s.Decode(&w.Schema); err != nil {
					p.errf(s, "schema must be a JSON Schema object")
				}
			}
			t.Webhook = w
		case TriggerSchedule:
			s := &ScheduleTrigger{}
			sm := p.fields(v, "schedule trigger", "cron", "timezone", "missed")
			s.Cron = p.str(sm["cron"], "cron")
			s.Timezone = p.str(sm["timezone"], "timezone")
			s.Missed = p.str(sm["missed"], "missed")
			if s.Cron == "" {
				p.errf(v, "schedule trigger needs cron")
			} else if _, err := ParseCron(s.Cron, s.Timezone); err != nil {
				at := sm["cron"]
				if sm["timezone"] != nil && strings.Contains(err.Error(), "time zone") {
					at = sm["timezone"]
				}
				p.errf(at, "%v", err)
			}
			if s.Missed != "" && !contains([]string{"skip", "run_once", "run_all"}, s.Missed) {
				p.errf(sm["missed"], "missed must be skip, run_once or run_all, got %q", s.Missed)
			}
			t.Schedule = s
		case TriggerManual:
			mt := &ManualTrigger{}
			mm := p.fields(v, "manual trigger", "schema")
			if s := mm["schema"]; s != nil {
				if err := s.Decode(&mt.Schema); err != nil {
					p.errf(s, "schema must be a JSON Schema object")
				}
			}
			t.Manual = mt
		case TriggerPoll:
			pt := &PollTrigger{}
			pm := p.fields(v, "poll trigger", "operation", "connection", "input", "items", "cursor", "key", "every", "start", "max_runs", "batch", "when", "edge")
			pt.Operation = p.str(pm["operation"], "poll.operation")
			pt.Pos = p.pos(v)
			if pm["operation"] != nil {
				pt.Pos = p.pos(pm["operation"])
			}
			pt.Connection = p.str(pm["connection"], "poll.connection")
			if n := pm["input"]; n != nil {
				if n.Kind != yaml.MappingNode {
					p.errf(n, "poll.input must be a mapping of the operation's input fields")
				} else {
					pt.Input = p.template(n)
				}
			}
			pt.Items = p.str(pm["items"], "poll.items")
			pt.Cursor = p.str(pm["cursor"], "poll.cursor")
			pt.Key = p.str(pm["key"], "poll.key")
			pt.Every = p.duration(pm["every"], "poll.every")
			pt.Start = p.str(pm["start"], "poll.start")
			pt.MaxRuns = p.integer(pm["max_runs"], "poll.max_runs")
			if w := pm["when"]; w != nil {
				if x := p.expr(w, "poll.when"); x != nil {
					pt.When, pt.when = x.Source, x
				}
			}
			pt.Edge = p.edge(pm["edge"], "poll", pt.When)
			if b := pm["batch"]; b != nil {
				if b.Kind != yaml.ScalarNode || b.Decode(&pt.Batch) != nil {
					p.errf(b, "poll.batch must be true or false")
				}
			}
			if pt.Operation == "" {
				p.errf(v, "poll trigger needs operation: the list operation to poll (e.g. postgres.query)")
			}
			if pt.Start != "" && pt.Start != "now" && pt.Start != "all" {
				p.errf(pm["start"], "poll.start must be now or all, got %q", pt.Start)
			}
			if pm["every"] != nil && pt.Every < time.Second {
				p.errf(pm["every"], "poll.every must be at least 1s")
			}
			if pt.MaxRuns < 0 {
				p.errf(pm["max_runs"], "poll.max_runs must be positive")
			}
			t.Poll = pt
		case TriggerAPI:
			t.API = p.apiTrigger(v)
		case TriggerCDC:
			t.CDC = p.cdcTrigger(v)
		case TriggerNATS:
			t.NATS = p.queueTrigger(v, kind)
		case TriggerAMQP:
			t.AMQP = p.queueTrigger(v, kind)
		case TriggerAlert:
			t.Alert = p.alertTrigger(v)
		}
	}
	return t
}

var stepKinds = []string{KindCall, KindSet, KindIf, KindSwitch, KindForeach, KindWait, KindRespond, KindFail, KindSubflow}

var stepFields = map[string][]string{
	KindCall:    {"connection", "with", "timeout", "retry"},
	KindSet:     {},
	KindIf:      {"then", "else"},
	KindSwitch:  {"cases", "default"},
	KindForeach: {"do", "concurrency"},
	KindWait:    {},
	KindRespond: {},
	KindFail:    {},
	KindSubflow: {"with", "timeout", "retry"},
}

func (p *parser) steps(n *yaml.Node, what string) []*Step {
	if n.Kind != yaml.SequenceNode {
		p.errf(n, "%s must be a list of steps, got %s", what, kindName(n))
		return nil
	}
	var out []*Step
	for _, c := range n.Content {
		if s := p.step(c); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) step(n *yaml.Node) *Step {
	if n.Kind != yaml.MappingNode {
		p.errf(n, "a step must be a mapping, got %s", kindName(n))
		return nil
	}
	s := &Step{Pos: p.pos(n)}
	// Find the kind key first.
	var kindKey, kindVal *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if contains(stepKinds, k.Value) {
			if kindKey != nil {
				p.errf(k, "step has both %q and %q: a step does one thing", kindKey.Value, k.Value)
				return nil
			}
			kindKey, kindVal = k, n.Content[i+1]
		}
	}
	if kindKey == nil {
		var keys []string
		for i := 0; i < len(n.Content); i += 2 {
			keys = append(keys, n.Content[i].Value)
		}
		msg := "step has no kind: add one of " + strings.Join(stepKinds, ", ")
		for _, k := range keys {
			if k == "id" {
				continue
			}
			if sg := suggest(k, stepKinds); sg != "" {
				msg = fmt.Sprintf("unknown step kind %q (did you mean %q?)", k, sg)
				break
			}
			if !contains([]string{"with", "timeout", "retry", "connection", "then", "else", "cases", "default", "do", "concurrency", "until", "status", "headers", "body", "message", "code"}, k) {
				msg = fmt.Sprintf("unknown step kind %q: use one of %s", k, strings.Join(stepKinds, ", "))
				break
			}
		}
		p.errf(n, "%s", msg)
		return nil
	}
	s.Kind = kindKey.Value
	allowed := append([]string{"id", s.Kind}, stepFields[s.Kind]...)
	switch s.Kind {
	case KindWait:
		allowed = append(allowed, "until")
	case KindRespond:
		allowed = append(allowed, "status", "headers", "body")
	case KindFail:
		allowed = append(allowed, "message", "code")
	}
	m := p.fields(n, "step "+s.Kind, allowed...)
	s.ID = p.str(m["id"], "id")
	if m["id"] != nil && !idRe.MatchString(s.ID) {
		p.errf(m["id"], "step id %q must start with a letter or '_' and hold only letters, digits and '_' (it is used in expressions as steps.%s)", s.ID, s.ID)
	}
	switch s.Kind {
	case KindCall:
		s.Call = p.str(kindVal, "call")
		if strings.Count(s.Call, ".") < 1 || strings.HasPrefix(s.Call, ".") || strings.HasSuffix(s.Call, ".") {
			p.errf(kindVal, "call %q must name connector.operation (e.g. http.request)", s.Call)
		}
		s.Connection = p.str(m["connection"], "connection")
		if w := m["with"]; w != nil {
			s.With = p.template(w)
		}
	case KindSet:
		if kindVal.Kind != yaml.MappingNode {
			p.errf(kindVal, "set must be a mapping of names to values, got %s", kindName(kindVal))
		} else {
			s.Set = p.template(kindVal)
		}
	case KindIf:
		s.Cond = p.expr(kindVal, "if")
		if t := m["then"]; t != nil {
			s.Then = p.steps(t, "then")
		} else {
			p.errf(kindKey, "if step needs then: a list of steps")
		}
		if e := m["else"]; e != nil {
			s.Else = p.steps(e, "else")
		}
	case KindSwitch:
		if kindVal.Kind != yaml.SequenceNode && kindVal.Tag != "!!null" {
			p.errf(kindVal, "switch must be a list of cases: - when: <condition>  steps: [...]")
		}
		for _, c := range kindVal.Content {
			cm := p.fields(c, "switch case", "when", "steps")
			cs := &Case{When: p.expr(cm["when"], "when")}
			if cm["when"] == nil {
				p.errf(c, "switch case needs when")
			}
			if st := cm["steps"]; st != nil {
				cs.Steps = p.steps(st, "steps")
			}
			s.Cases = append(s.Cases, cs)
		}
		if d := m["default"]; d != nil {
			s.Default = p.steps(d, "default")
		}
	case KindForeach:
		s.Items = p.expr(kindVal, "foreach")
		s.Concurrency = p.integer(m["concurrency"], "concurrency")
		if s.Concurrency < 0 || s.Concurrency > 1000 {
			p.errf(m["concurrency"], "concurrency must be between 1 and 1000")
		}
		if d := m["do"]; d != nil {
			s.Do = p.steps(d, "do")
		} else {
			p.errf(kindKey, "foreach step needs do: a list of steps")
		}
	case KindWait:
		if kindVal.Kind == yaml.ScalarNode && kindVal.Tag != "!!null" {
			s.WaitFor = p.duration(kindVal, "wait")
		}
		if u := m["until"]; u != nil {
			s.WaitUntil = p.expr(u, "until")
		}
		if s.WaitFor == 0 && s.WaitUntil == nil && kindVal.Tag == "!!null" {
			p.errf(kindKey, "wait needs a duration (wait: 5s) or until: <timestamp expression>")
		}
	case KindRespond:
		if kindVal.Kind == yaml.MappingNode {
			// respond: {status, headers, body}
			rm := p.fields(kindVal, "respond", "status", "headers", "body")
			m["status"], m["headers"], m["body"] = first(rm["status"], m["status"]), first(rm["headers"], m["headers"]), first(rm["body"], m["body"])
		}
		s.Status = p.integer(m["status"], "status")
		if m["status"] != nil && (s.Status < 100 || s.Status > 599) {
			p.errf(m["status"], "status must be an HTTP status between 100 and 599")
		}
		if h := m["headers"]; h != nil {
			if err := h.Decode(&s.Headers); err != nil {
				p.errf(h, "headers must map names to strings")
			}
		}
		if b := m["body"]; b != nil {
			s.Body = p.template(b)
		}
	case KindFail:
		var msgNode *yaml.Node
		if kindVal.Kind == yaml.MappingNode {
			fm := p.fields(kindVal, "fail", "message", "code")
			msgNode, m["code"] = fm["message"], first(fm["code"], m["code"])
		} else if kindVal.Tag != "!!null" {
			msgNode = kindVal
		}
		msgNode = first(msgNode, m["message"])
		if msgNode != nil {
			s.FailMessage = p.template(msgNode)
		}
		s.FailCode = p.str(m["code"], "code")
	case KindSubflow:
		s.Subflow = p.str(kindVal, "subflow")
		if !nameRe.MatchString(s.Subflow) {
			p.errf(kindVal, "subflow must name a flow, got %q", s.Subflow)
		}
		if w := m["with"]; w != nil {
			s.With = p.template(w)
		}
	}
	if t := m["timeout"]; t != nil {
		s.Timeout = p.duration(t, "timeout")
	}
	if r := m["retry"]; r != nil {
		rm := p.fields(r, "retry", "max_attempts", "backoff", "max_backoff")
		s.Retry = &Retry{MaxAttempts: p.integer(rm["max_attempts"], "max_attempts"),
			Backoff: p.duration(rm["backoff"], "backoff"), MaxBackoff: p.duration(rm["max_backoff"], "max_backoff")}
		if s.Retry.MaxAttempts < 1 || s.Retry.MaxAttempts > 100 {
			p.errf(r, "retry.max_attempts must be between 1 and 100")
		}
		if s.Retry.Backoff == 0 {
			s.Retry.Backoff = DefaultRetry.Backoff
		}
		if s.Retry.MaxBackoff == 0 {
			s.Retry.MaxBackoff = DefaultRetry.MaxBackoff
		}
	}
	return s
}

func first(ns ...*yaml.Node) *yaml.Node {
	for _, n := range ns {
		if n != nil {
			return n
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the closest candidate to s within a small edit distance.
func suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(s) > 8 {
		limit = 3
	}
	if bestD <= limit && bestD > 0 {
		return best
	}
	return ""
}

// Suggest is suggest for other packages (did-you-mean for names).
func Suggest(s string, candidates []string) string {
	c := append([]string(nil), candidates...)
	sort.Strings(c)
	return suggest(s, c)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// maxCDCTable bounds a cdc trigger's table name (PostgreSQL identifiers are
// at most 63 bytes each, MySQL's 64).
const maxCDCTable = 2*64 + 1

func (p *parser) cdcTrigger(v *yaml.Node) *CDCTrigger {
	ct := &CDCTrigger{Pos: p.pos(v)}
	cm := p.fields(v, "cdc trigger", "connection", "table", "on", "when", "max_runs", "edge")
	ct.Connection = p.str(cm["connection"], "cdc.connection")
	ct.Table = p.str(cm["table"], "cdc.table")
	if ct.Connection == "" {
		p.errf(v, "cdc trigger needs connection: a postgres or mysql connection whose secrets.dsn names the database")
	}
	switch {
	case ct.Table == "":
		p.errf(v, "cdc trigger needs table: schema.table, e.g. public.orders")
	case len(ct.Table) > maxCDCTable || strings.Count(ct.Table, ".") > 1 || strings.HasPrefix(ct.Table, ".") || strings.HasSuffix(ct.Table, "."):
		p.errf(cm["table"], "cdc.table must be table or schema.table (each at most 64 bytes), got %q", ct.Table)
	}
	if on := cm["on"]; on != nil {
		if on.Kind != yaml.SequenceNode || len(on.Content) == 0 {
			p.errf(on, "cdc.on must be a list of insert, update, delete")
		} else {
			for _, c := range on.Content {
				op := c.Value
				if c.Kind != yaml.ScalarNode || (op != CDCInsert && op != CDCUpdate && op != CDCDelete) {
					p.errf(c, "cdc.on: %q is not insert, update or delete", op)
					continue
				}
				if ct.Watches(op) && len(ct.On) > 0 {
					p.errf(c, "cdc.on lists %s twice", op)
					continue
				}
				ct.On = append(ct.On, op)
			}
		}
	}
	if w := cm["when"]; w != nil {
		if x := p.expr(w, "cdc.when"); x != nil {
			ct.When, ct.when = x.Source, x
		}
	}
	ct.Edge = p.edge(cm["edge"], "cdc", ct.When)
	ct.MaxRuns = p.integer(cm["max_runs"], "cdc.max_runs")
	if ct.MaxRuns < 0 || ct.MaxRuns > 100000 {
		p.errf(cm["max_runs"], "cdc.max_runs must be between 1 and 100000")
	}
	return ct
}

// Queue trigger bounds.
const (
	MaxQueueInFlight = 10000
	MaxQueueBytes    = 64 << 20
	maxQueueName     = 255
)

func (p *parser) queueTrigger(v *yaml.Node, kind string) *QueueTrigger {
	qt := &QueueTrigger{Pos: p.pos(v)}
	fields := []string{"connection", "format", "key", "when", "max_in_flight", "max_bytes"}
	if kind == TriggerNATS {
		fields = append(fields, "stream", "subject", "consumer", "ack_wait")
	} else {
		fields = append(fields, "queue")
	}
	m := p.fields(v, kind+" trigger", fields...)
	qt.Connection = p.str(m["connection"], kind+".connection")
	if qt.Connection == "" {
		p.errf(v, "%s trigger needs connection: a %s connection whose secrets.url names the server", kind, kind)
	}
	name := func(field string, need bool, what string) string {
		s := p.str(m[field], kind+"."+field)
		switch {
		case s == "" && need:
			p.errf(v, "%s trigger needs %s: %s", kind, field, what)
		case len(s) > maxQueueName:
			p.errf(m[field], "%s.%s is longer than %d bytes", kind, field, maxQueueName)
		case strings.ContainsAny(s, " \t\r\n\x00"):
			p.errf(m[field], "%s.%s %q may not contain spaces", kind, field, s)
		case kind == TriggerNATS && field != "subject" && strings.ContainsAny(s, ".*>/\\"):
			p.errf(m[field], "%s.%s %q may not contain . * > / or \\ (NATS names)", kind, field, s)
		}
		return s
	}
	if kind == TriggerNATS {
		qt.Stream = name("stream", true, "the JetStream stream to consume, e.g. ORDERS")
		qt.Subject = name("subject", false, "")
		qt.Consumer = name("consumer", false, "")
		if a := m["ack_wait"]; a != nil {
			qt.AckWait = p.duration(a, kind+".ack_wait")
			if qt.AckWait < time.Second || qt.AckWait > time.Hour {
				p.errf(a, "%s.ack_wait must be between 1s and 1h", kind)
			}
		}
	} else {
		qt.Queue = name("queue", true, "the queue to consume, e.g. orders")
	}
	qt.Format = p.str(m["format"], kind+".format")
	if qt.Format != "" && qt.Format != "json" && qt.Format != "text" {
		p.errf(m["format"], "%s.format must be json or text, got %q", kind, qt.Format)
	}
	if w := m["when"]; w != nil {
		if x := p.expr(w, kind+".when"); x != nil {
			qt.When, qt.when = x.Source, x
		}
	}
	if k := m["key"]; k != nil {
		if x := p.expr(k, kind+".key"); x != nil {
			qt.Key, qt.key = x.Source, x
		}
	}
	qt.MaxInFlight = p.integer(m["max_in_flight"], kind+".max_in_flight")
	if m["max_in_flight"] != nil && (qt.MaxInFlight < 1 || qt.MaxInFlight > MaxQueueInFlight) {
		p.errf(m["max_in_flight"], "%s.max_in_flight must be between 1 and %d", kind, MaxQueueInFlight)
	}
	qt.MaxBytes = p.integer(m["max_bytes"], kind+".max_bytes")
	if m["max_bytes"] != nil && (qt.MaxBytes < 1 || qt.MaxBytes > MaxQueueBytes) {
		p.errf(m["max_bytes"], "%s.max_bytes must be between 1 and %d", kind, MaxQueueBytes)
	}
	return qt
}

func (p *parser) alertTrigger(v *yaml.Node) *AlertTrigger {
	at := &AlertTrigger{Pos: p.pos(v)}
	m := p.fields(v, "alert trigger", "rule", "flow", "on", "severity", "when")
	glob := func(field string) string {
		s := p.str(m[field], "alert."+field)
		if s == "" {
			return ""
		}
		if len(s) > 256 {
			p.errf(m[field], "alert.%s is longer than 256 bytes", field)
		} else if _, err := path.Match(s, ""); err != nil {
			p.errf(m[field], "alert.%s %q is not a glob: %v", field, s, err)
		}
		return s
	}
	at.Rule, at.Flow = glob("rule"), glob("flow")
	list := func(field string, allowed ...string) []string {
		n := m[field]
		if n == nil {
			return nil
		}
		if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
			p.errf(n, "alert.%s must be a list of %s", field, strings.Join(allowed, ", "))
			return nil
		}
		var out []string
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || !slices.Contains(allowed, c.Value) {
				p.errf(c, "alert.%s: %q is not one of %s", field, c.Value, strings.Join(allowed, ", "))
				continue
			}
			if slices.Contains(out, c.Value) {
				p.errf(c, "alert.%s lists %s twice", field, c.Value)
				continue
			}
			out = append(out, c.Value)
		}
		return out
	}
	at.On = list("on", AlertFired, AlertResolved)
	at.Severity = list("severity", "info", "warning", "critical")
	if w := m["when"]; w != nil {
		if x := p.expr(w, "alert.when"); x != nil {
			at.When, at.when = x.Source, x
		}
	}
	return at
}

// edge reads a trigger's edge option, which needs a when condition.
func (p *parser) edge(n *yaml.Node, kind, when string) bool {
	if n == nil {
		return false
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		p.errf(n, "%s.edge must be true or false", kind)
		return false
	}
	if b && when == "" {
		p.errf(n, "%s.edge needs %s.when: the condition whose crossing starts a run", kind, kind)
	}
	return b
}
