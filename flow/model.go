// Package flow is Weft's domain centre: the flow model, its parser (YAML and
// JSON with file:line:col positions), validation, and CEL expressions.
//
// It performs no I/O beyond what a caller hands it and knows nothing about
// storage, HTTP, or how steps are executed; engine/ does that.
package flow

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"
)

// Flow is one parsed flow definition.
type Flow struct {
	Name        string   `json:"name" yaml:"name"`
	Namespace   string   `json:"namespace,omitempty" yaml:"namespace"` // the owner ("" on deploy: the deployed flow's, else default)
	Description string   `json:"description,omitempty" yaml:"description"`
	Trigger     Trigger  `json:"trigger" yaml:"trigger"`
	Steps       []*Step  `json:"steps" yaml:"steps"`
	Capture     string   `json:"capture,omitempty" yaml:"capture"` // none | metadata | full
	Limits      Limits   `json:"limits,omitempty" yaml:"limits"`
	Redact      []string `json:"redact,omitempty" yaml:"redact"` // extra key names, and JSON paths ($...), to redact in captured payloads
	// RedactPaths are the JSON paths of Redact, parsed.
	RedactPaths []JSONPath `json:"-" yaml:"-"`
	// RedactDLQ redacts the kept input of a run that fails or lands in the
	// dead-letter queue too (a replay then sees the redacted values);
	// by default that input is kept whole, sealed, for replay.
	RedactDLQ bool `json:"redact_dlq,omitempty" yaml:"redact_dlq"`
	// Placement, when set, puts the flow on the runtime agents of a site
	// (hybrid deployment): the control plane keeps its versions but runs
	// none of them; the agent whose site matches deploys and runs them.
	Placement *Placement `json:"placement,omitempty" yaml:"placement"`
}

// Placement says where a flow runs: on the agent of one site, or on every
// agent whose labels include all of Labels (a selector). At least one of
// the two is set.
type Placement struct {
	Site   string            `json:"site,omitempty" yaml:"site"`
	Labels map[string]string `json:"labels,omitempty" yaml:"labels"`
}

// Matches reports whether an agent of site with labels takes the flow.
func (p *Placement) Matches(site string, labels map[string]string) bool {
	if p == nil {
		return true
	}
	if site == "" || (p.Site != "" && p.Site != site) {
		return false
	}
	for k, v := range p.Labels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Check refuses a placement a parsed flow could not carry (one set outside
// a flow's YAML: a connection's).
func (p *Placement) Check() error {
	if p == nil {
		return nil
	}
	if p.Site == "" && len(p.Labels) == 0 {
		return fmt.Errorf("placement needs a site (site: plant-3) or labels (labels: {region: eu})")
	}
	if p.Site != "" && !SiteRe.MatchString(p.Site) {
		return fmt.Errorf("placement.site %q must be lower-case letters, digits and '-' (at most 63, starting and ending with a letter or digit)", clipStr(p.Site, 80))
	}
	if len(p.Labels) > MaxPlacementLabels {
		return fmt.Errorf("placement.labels has %d entries; the limit is %d", len(p.Labels), MaxPlacementLabels)
	}
	for k, v := range p.Labels {
		if !SiteRe.MatchString(k) || !SiteRe.MatchString(v) {
			return fmt.Errorf("placement label %s=%s: keys and values are lower-case letters, digits and '-' (at most 63)", clipStr(k, 80), clipStr(v, 80))
		}
	}
	return nil
}

// String names the placement for messages: site=plant-3, or the selector.
func (p *Placement) String() string {
	if p == nil {
		return "anywhere"
	}
	var parts []string
	if p.Site != "" {
		parts = append(parts, "site="+p.Site)
	}
	keys := make([]string, 0, len(p.Labels))
	for k := range p.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+p.Labels[k])
	}
	return strings.Join(parts, ",")
}

// Limits bound a flow's runs.
type Limits struct {
	Concurrency int     `json:"concurrency,omitempty" yaml:"concurrency"` // max runs in flight per process, 0 = unlimited
	RatePerSec  float64 `json:"rate_per_sec,omitempty" yaml:"rate_per_sec"`
	Burst       int     `json:"burst,omitempty" yaml:"burst"`
}

// Trigger kinds.
const (
	TriggerWebhook  = "webhook"
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
	TriggerPoll     = "poll"
	TriggerAPI      = "api"
	TriggerCDC      = "cdc"
	TriggerNATS     = "nats"
	TriggerAMQP     = "amqp"
	TriggerAlert    = "alert"
)

// Trigger starts runs. Exactly one of the kind blocks is set.
type Trigger struct {
	Kind     string           `json:"kind"`
	Webhook  *WebhookTrigger  `json:"webhook,omitempty"`
	Schedule *ScheduleTrigger `json:"schedule,omitempty"`
	Manual   *ManualTrigger   `json:"manual,omitempty"`
	Poll     *PollTrigger     `json:"poll,omitempty"`
	API      *APITrigger      `json:"api,omitempty"`
	CDC      *CDCTrigger      `json:"cdc,omitempty"`
	NATS     *QueueTrigger    `json:"nats,omitempty"`
	AMQP     *QueueTrigger    `json:"amqp,omitempty"`
	Alert    *AlertTrigger    `json:"alert,omitempty"`
}

// CDC operations.
const (
	CDCInsert = "insert"
	CDCUpdate = "update"
	CDCDelete = "delete"
)

// CDCTrigger starts one run per row change of a PostgreSQL table, read from
// logical replication (pgoutput) through a replication slot and publication
// of the flow's own, or of a MySQL/MariaDB table, read from the binlog.
// Each run's trigger has op, table, new, old, position, commit_time, the
// source's own fields (lsn and xid; gtid, binlog_file and binlog_offset)
// and body: the new row, or the old one for a delete. The stored position
// (and a slot's confirmed one) moves only after the runs of a transaction
// are committed.
type CDCTrigger struct {
	Connection string   `json:"connection"`     // a postgres or mysql connection (its secrets.dsn)
	Table      string   `json:"table"`          // schema.table (schema default: public)
	On         []string `json:"on,omitempty"`   // insert, update, delete (default: all three)
	When       string   `json:"when,omitempty"` // CEL over trigger: start a run only when true
	// Edge, with when: an update starts a run only when the condition
	// holds for the new row and did not for the old one (it crossed).
	Edge    bool `json:"edge,omitempty"`
	MaxRuns int  `json:"max_runs,omitempty"`

	when *Expr
	Pos  string `json:"-"` // file:line:col of the trigger
}

// CDCFields are the trigger fields a cdc change has besides body.
var CDCFields = []string{"op", "table", "new", "old", "lsn", "position", "xid", "commit_time", "gtid", "binlog_file", "binlog_offset"}

// Compiled returns the compiled when condition (nil when none).
func (c *CDCTrigger) Compiled() *Expr { return c.when }

// Watches reports whether the trigger starts runs for op.
func (c *CDCTrigger) Watches(op string) bool {
	if len(c.On) == 0 {
		return true
	}
	for _, o := range c.On {
		if o == op {
			return true
		}
	}
	return false
}

// QueueTrigger starts one run per message of a NATS JetStream stream (nats)
// or an AMQP 0-9-1 queue (amqp). A message is acknowledged only after its
// run is committed; its idempotency key (the message id, or key:) keeps a
// redelivered message from starting a second run. A message that cannot
// become a run (too big, not JSON, a key or when that fails on it) becomes
// a dead run in the DLQ, with the reason, and is acknowledged.
type QueueTrigger struct {
	Connection string `json:"connection"`        // a nats or amqp connection (secrets.url)
	Stream     string `json:"stream,omitempty"`  // nats: the JetStream stream
	Subject    string `json:"subject,omitempty"` // nats: a filter subject within the stream (default: all)
	Consumer   string `json:"consumer,omitempty"`
	// nats: how long the server waits for an acknowledgement before it
	// delivers a message again (default 30s)
	AckWait     time.Duration `json:"ack_wait,omitempty"`      // nats: the durable consumer (default: one of the flow's own)
	Queue       string        `json:"queue,omitempty"`         // amqp: the queue consumed
	Format      string        `json:"format,omitempty"`        // json (default: the body must be JSON) or text
	Key         string        `json:"key,omitempty"`           // CEL over trigger: the idempotency key (default: the message id)
	When        string        `json:"when,omitempty"`          // CEL over trigger: start a run only when true
	MaxInFlight int           `json:"max_in_flight,omitempty"` // messages held unacknowledged at once (default 100)
	MaxBytes    int           `json:"max_bytes,omitempty"`     // a bigger message goes to the DLQ (default 1 MiB)

	when, key *Expr
	Pos       string `json:"-"` // file:line:col of the trigger
}

// QueueFields are the trigger fields a queue message has besides body and
// headers.
var QueueFields = []string{"message_id", "subject", "source", "sequence", "redelivered", "published_at"}

// Compiled returns the compiled when condition and key expression (nil
// when not set).
func (q *QueueTrigger) Compiled() (when, key *Expr) { return q.when, q.key }

// Queue returns the trigger's queue block (nats or amqp), or nil.
func (t Trigger) Queue() *QueueTrigger {
	if t.NATS != nil {
		return t.NATS
	}
	return t.AMQP
}

// Alert transitions.
const (
	AlertFired    = "fired"
	AlertResolved = "resolved"
)

// AlertTrigger starts one run per transition of a monitoring alert (fired,
// resolved) that matches: edge-triggered, once per transition however
// often the rule is evaluated. trigger.body is the alert (id, rule, flow,
// severity, status, message, run_ids, started_at, resolved_at) and
// trigger.event the transition. Alerts about the flow itself never start
// it.
type AlertTrigger struct {
	Rule     string   `json:"rule,omitempty"`     // glob over rule names (default: all)
	Flow     string   `json:"flow,omitempty"`     // glob over the alert's flow (default: all)
	On       []string `json:"on,omitempty"`       // fired, resolved (default: both)
	Severity []string `json:"severity,omitempty"` // info, warning, critical (default: all)
	When     string   `json:"when,omitempty"`     // CEL over trigger: start a run only when true

	when *Expr
	Pos  string `json:"-"`
}

// AlertFields are the trigger fields an alert transition has besides body.
var AlertFields = []string{"event"}

// Compiled returns the compiled when condition (nil when none).
func (a *AlertTrigger) Compiled() *Expr { return a.when }

// Matches reports whether a transition of an alert of rule, flow and
// severity starts a run (the when condition aside).
func (a *AlertTrigger) Matches(event, rule, flowName, severity string) bool {
	if len(a.On) > 0 && !slices.Contains(a.On, event) {
		return false
	}
	if len(a.Severity) > 0 && !slices.Contains(a.Severity, severity) {
		return false
	}
	if a.Rule != "" {
		if ok, _ := path.Match(a.Rule, rule); !ok {
			return false
		}
	}
	if a.Flow != "" {
		if ok, _ := path.Match(a.Flow, flowName); !ok {
			return false
		}
	}
	return true
}

// PollTrigger polls a list operation for new or updated records; each
// record starts one run with the record as trigger.body. The cursor (the
// highest cursor-field value seen) is kept per flow in the store, and each
// record's identity plus cursor value is the run's idempotency key, so a
// record starts exactly one run across restarts and processes.
type PollTrigger struct {
	Operation  string        `json:"operation"`            // connector.operation, e.g. postgres.query
	Connection string        `json:"connection,omitempty"` // connection the operation uses
	Input      *Template     `json:"input,omitempty"`      // the operation's input; trigger.cursor is the last cursor value (null at first)
	Items      string        `json:"items,omitempty"`      // dotted path to the record list in the output (default: the connector's, or the output itself)
	Cursor     string        `json:"cursor,omitempty"`     // record field that increases: an id or an updated-at timestamp
	Key        string        `json:"key,omitempty"`        // record identity (default: the cursor field)
	Every      time.Duration `json:"every,omitempty"`      // poll interval (default 30s)
	Start      string        `json:"start,omitempty"`      // now (default: only records after the first poll) | all
	MaxRuns    int           `json:"max_runs,omitempty"`   // records started per poll (default 1000); the rest wait for the next poll
	Batch      bool          `json:"batch,omitempty"`      // one run per poll with trigger.body.records (and count) instead of one per record
	When       string        `json:"when,omitempty"`       // CEL over trigger: a record starts a run only when true
	Edge       bool          `json:"edge,omitempty"`       // with when: only when it becomes true for the record's key (not again while it stays true)

	when *Expr
	Pos  string `json:"-"` // file:line:col of the operation
}

// Compiled returns the compiled when condition (nil when none).
func (p *PollTrigger) Compiled() *Expr { return p.when }

// WebhookTrigger is POST /hooks/{flow}.
type WebhookTrigger struct {
	Mode        string         `json:"mode,omitempty"` // sync (default) | async
	Signature   *Signature     `json:"signature,omitempty"`
	Idempotency *Idempotency   `json:"idempotency,omitempty"`
	Schema      map[string]any `json:"schema,omitempty"` // JSON Schema of the body, optional
}

// Signature configures HMAC-SHA256 verification of the raw body. With
// Timestamp set the sender also signs the time: the MAC covers
// "<timestamp>.<raw body>" and a request whose timestamp is more than
// Tolerance from the server's clock is refused, so a captured request
// cannot be replayed later.
type Signature struct {
	Header    string        `json:"header,omitempty"`    // default X-Weft-Signature
	Secret    string        `json:"secret"`              // name of a configured secret, never the secret itself
	Timestamp string        `json:"timestamp,omitempty"` // header carrying the signing time (Unix seconds); empty: body only
	Tolerance time.Duration `json:"tolerance,omitempty"` // replay window either side of now (default 5m)
}

// DefaultSignatureTolerance is the replay window of a signed timestamp.
const DefaultSignatureTolerance = 5 * time.Minute

// Idempotency derives a dedupe key from the event: a header or a CEL
// expression over the trigger (e.g. trigger.body.id).
type Idempotency struct {
	Header string `json:"header,omitempty"`
	Expr   string `json:"expr,omitempty"`

	expr *Expr // compiled Expr
}

// Compiled returns the compiled key expression (nil with a header key).
func (i *Idempotency) Compiled() *Expr { return i.expr }

// ScheduleTrigger runs on a cron schedule.
type ScheduleTrigger struct {
	Cron     string `json:"cron"`               // 5 or 6 fields (seconds optional) or @every/@daily
	Timezone string `json:"timezone,omitempty"` // IANA name, default UTC
	Missed   string `json:"missed,omitempty"`   // skip (default) | run_once | run_all
}

// ManualTrigger runs from the API or CLI only.
type ManualTrigger struct {
	Schema map[string]any `json:"schema,omitempty"`
}

// Step kinds.
const (
	KindCall    = "call"
	KindSet     = "set"
	KindIf      = "if"
	KindSwitch  = "switch"
	KindForeach = "foreach"
	KindWait    = "wait"
	KindRespond = "respond"
	KindFail    = "fail"
	KindSubflow = "subflow"
)

// Step is one step. Kind says which fields are meaningful.
type Step struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`

	// call
	Call       string    `json:"call,omitempty"`       // connector.operation
	Connection string    `json:"connection,omitempty"` // optional named connection
	With       *Template `json:"with,omitempty"`       // call and subflow arguments

	// set
	Set *Template `json:"set,omitempty"`

	// if
	Cond *Expr   `json:"if,omitempty"`
	Then []*Step `json:"then,omitempty"`
	Else []*Step `json:"else,omitempty"`

	// switch
	Cases   []*Case `json:"cases,omitempty"`
	Default []*Step `json:"default,omitempty"`

	// foreach
	Items       *Expr   `json:"foreach,omitempty"`
	Concurrency int     `json:"concurrency,omitempty"`
	Do          []*Step `json:"do,omitempty"`

	// wait
	WaitFor   time.Duration `json:"wait,omitempty"`
	WaitUntil *Expr         `json:"until,omitempty"`

	// respond
	Status  int               `json:"status,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    *Template         `json:"body,omitempty"`

	// fail
	FailMessage *Template `json:"message,omitempty"`
	FailCode    string    `json:"code,omitempty"`

	// subflow
	Subflow string `json:"subflow,omitempty"`

	// policy (call and subflow)
	Timeout time.Duration `json:"timeout,omitempty"`
	Retry   *Retry        `json:"retry,omitempty"`

	Pos string `json:"-"` // file:line:col of the step
}

// Case is one branch of a switch.
type Case struct {
	When  *Expr   `json:"when"`
	Steps []*Step `json:"steps"`
}

// Retry is a step's retry policy.
type Retry struct {
	MaxAttempts int           `json:"max_attempts"`
	Backoff     time.Duration `json:"backoff"`
	MaxBackoff  time.Duration `json:"max_backoff"`
}

// DefaultRetry applies to call steps that declare no policy.
var DefaultRetry = Retry{MaxAttempts: 3, Backoff: 200 * time.Millisecond, MaxBackoff: 30 * time.Second}

// DefaultTimeout is a call step's timeout when none is declared.
const DefaultTimeout = 30 * time.Second

// Walk visits every step, depth first, in document order.
func Walk(steps []*Step, fn func(s *Step)) {
	for _, s := range steps {
		fn(s)
		Walk(s.Then, fn)
		Walk(s.Else, fn)
		for _, c := range s.Cases {
			Walk(c.Steps, fn)
		}
		Walk(s.Default, fn)
		Walk(s.Do, fn)
	}
}

// Subflows lists the names of flows this flow calls, for cycle detection.
func (f *Flow) Subflows() []string {
	var out []string
	Walk(f.Steps, func(s *Step) {
		if s.Kind == KindSubflow {
			out = append(out, s.Subflow)
		}
	})
	return out
}

// Mode returns the webhook mode, defaulting to sync.
func (t Trigger) Mode() string {
	if t.Webhook != nil && t.Webhook.Mode != "" {
		return t.Webhook.Mode
	}
	return "sync"
}
