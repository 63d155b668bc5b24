// Package store is the persistence contract of Weft: flows and their
// immutable versions, runs, the transaction log (one row per step attempt),
// schedule state, and the durable run queue (River, on the same database).
//
// store/sqlite (default) and store/postgres meet this contract; the suite in
// store/storetest runs against both. Nothing here knows about HTTP or about
// how a flow executes.
package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/riverqueue/river"
)

// Run statuses.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"   // a fail step, or a permanent error the flow chose not to retry
	RunDead      = "dead"     // retries exhausted: in the dead-letter queue
	RunCanceled  = "canceled" // canceled by a user
)

// Attempt statuses.
const (
	AttemptOK     = "ok"
	AttemptError  = "error"
	AttemptWaited = "waiting"
)

// Store is the whole contract. Implementations are safe for concurrent use.
// LoggedRun is a finished run with its attempts.
type LoggedRun struct {
	Run      *Run
	Attempts []Attempt
}

type Store interface {
	// DeployFlow stores source as version N+1 of name and makes it active.
	// namespace is the flow's owner ("" keeps a deployed flow's namespace
	// and puts a new one in "default"); a namespace that does not exist is
	// invalid.
	DeployFlow(ctx context.Context, name, namespace, file string, source []byte) (FlowVersion, error)
	// ActivateFlow makes an existing version the active one (rollback).
	ActivateFlow(ctx context.Context, name string, version int) error
	// GetFlow returns one version; version 0 means the active one.
	GetFlow(ctx context.Context, name string, version int) (FlowVersion, error)
	ListFlows(ctx context.Context) ([]FlowInfo, error)
	ListFlowVersions(ctx context.Context, name string) ([]FlowVersion, error)
	// FlowActivity returns, for every deployed flow, its newest run and how
	// many runs (and how many of them failed or dead) were created since.
	FlowActivity(ctx context.Context, since time.Time) (map[string]FlowActivity, error)

	// CreateRun records a run. With enqueue, a River job for it is inserted
	// in the same transaction. If the run's (flow, idempotency key) exists,
	// it returns the existing run and created=false.
	CreateRun(ctx context.Context, r *Run, enqueue bool) (run *Run, created bool, err error)
	GetRun(ctx context.Context, id string) (*Run, error)
	ListRuns(ctx context.Context, f RunFilter) ([]*Run, error)
	// CountRuns counts runs by status (of one flow, or all when flow is "").
	CountRuns(ctx context.Context, flow string) (map[string]int64, error)
	// UpdateRun writes status, output, error and times of an existing run
	// (and its input, when r.Input is set: a redacted one), appending
	// attempts in the same transaction. Writes from concurrent
	// callers are group-committed. Under a context from WithQueueJob for
	// r's run, a finished status also completes that River job in the
	// same transaction.
	UpdateRun(ctx context.Context, r *Run, attempts []Attempt) error
	// InsertRun records a run that was not recorded before (a finished
	// synchronous run) with its attempts, in one group-committed write.
	InsertRun(ctx context.Context, r *Run, attempts []Attempt) error
	// InsertRuns records many such runs in one write, all or none: the
	// transaction log of agent tool calls, written behind the calls in
	// batches.
	InsertRuns(ctx context.Context, runs []LoggedRun) error
	// SetRunStatus moves a run from one of from to to; it fails with
	// conflict if the run is in none of from.
	SetRunStatus(ctx context.Context, id string, from []string, to string) error
	// Requeue moves a run back to queued (replay), optionally overriding
	// the input of one step, and enqueues it in the same transaction.
	Requeue(ctx context.Context, id string, from []string, override *Override) error
	// AppendAttempts adds transaction-log rows (group-committed).
	AppendAttempts(ctx context.Context, attempts []Attempt) error
	// Checkpoint appends attempts of a run and moves it from queued to
	// running, in one group-committed write: a worker's durable progress.
	Checkpoint(ctx context.Context, runID string, attempts []Attempt) error
	ListAttempts(ctx context.Context, runID string) ([]Attempt, error)
	// Checkpoints returns the recorded output of every completed step key.
	Checkpoints(ctx context.Context, runID string) (map[string]json.RawMessage, error)
	// RunForWork is GetRun and Checkpoints at once (one read): what a
	// worker needs to run or resume a run.
	RunForWork(ctx context.Context, id string) (*Run, map[string]json.RawMessage, error)
	// ToolCalls lists the transaction log of MCP tool calls (the runs of
	// the pseudo-flows mcp:<toolset>), newest first.
	ToolCalls(ctx context.Context, f ToolCallFilter) ([]ToolCall, error)
	// Purge deletes finished runs and their attempts older than before (it
	// says how many runs), and resolved alerts last changed before it.
	Purge(ctx context.Context, before time.Time) (int64, error)

	// TriggerCursor is a pulled trigger's position (a schedule's last tick,
	// a poll's high-water mark); "" when none is recorded.
	TriggerCursor(ctx context.Context, flow string) (string, error)
	SetTriggerCursor(ctx context.Context, flow, cursor string) error

	// TryLease takes or renews a named lease for holder until ttl from now;
	// it reports whether holder has it (another holder's unexpired lease
	// wins). One process of many does a job, such as evaluating alerts.
	TryLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)

	// SaveConnectorSpec stores (or replaces) an imported connector's source
	// document; ConnectorSpecs returns them all, to rebuild the catalog.
	SaveConnectorSpec(ctx context.Context, c ConnectorSpec) error
	ConnectorSpecs(ctx context.Context) ([]ConnectorSpec, error)
	// DeleteConnectorSpec removes a stored connector; it reports whether
	// one was there.
	DeleteConnectorSpec(ctx context.Context, name string) (bool, error)

	// SaveConnection stores (or replaces) a connection whose configuration
	// and credentials are sealed (encrypted) by the caller; the store never
	// sees them in the clear. DeleteConnection reports not_found for an
	// unknown name. Reseal rewrites every sealed connection in one
	// transaction (key rotation): all or none.
	SaveConnection(ctx context.Context, c SealedConnection) error
	Connections(ctx context.Context) ([]SealedConnection, error)
	DeleteConnection(ctx context.Context, name string) error
	Reseal(ctx context.Context, fn func(SealedConnection) (SealedConnection, error)) (int, error)

	// Data keys of the envelope encryption of payloads (internal/seal's
	// Envelope): each wrapped by the master key keyID names. RewrapDataKeys
	// rewraps (through fn) up to limit data keys not wrapped by current, in
	// one transaction, and says how many; call it until it says 0 (key
	// rotation, in bounded batches). SealPlaintext seals the payload
	// columns of up to limit runs after the cursor, and of their attempts,
	// then those of the runs agents shipped (a control plane's), that were
	// stored in the clear (before sealing was on); it returns the cursor
	// (opaque) for the next batch ("" at the end) and how many columns it
	// sealed.
	SaveDataKey(ctx context.Context, id, keyID string, wrapped []byte) error
	DataKey(ctx context.Context, id string) (keyID string, wrapped []byte, err error)
	RewrapDataKeys(ctx context.Context, current string, limit int, fn func(id, keyID string, wrapped []byte) (string, []byte, error)) (int, error)
	SealPlaintext(ctx context.Context, after string, limit int) (next string, sealed int, err error)

	// API keys for the MCP gateway: only a hash of the secret is stored.
	// APIKeyByHash returns not_found for an unknown or revoked key.
	CreateAPIKey(ctx context.Context, k APIKey) error
	APIKeys(ctx context.Context) ([]APIKey, error)
	APIKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	RevokeAPIKey(ctx context.Context, id string) error

	// Schema mappings (the mapper's review workflow): a JSON document per
	// mapping, replaced on every review. MappingDoc returns not_found.
	SaveMapping(ctx context.Context, m MappingDoc) error
	// SaveAlert stores (or replaces) an alert; AlertDocs returns the newest
	// limit alerts, newest first.
	SaveAlert(ctx context.Context, a AlertDoc) error
	AlertDocs(ctx context.Context, limit int) ([]AlertDoc, error)
	Mapping(ctx context.Context, id string) (*MappingDoc, error)
	Mappings(ctx context.Context) ([]MappingDoc, error)

	// The audit log (access builds and checks the hash chain; the store
	// keeps it). AppendAudit serialises appends, across processes too: in
	// one transaction it takes the chain's lock, reads its last link (the
	// newest entry, else the purge anchor, else the zero link), asks seal
	// for the record that follows it (Seq must be prev.Seq+1) and inserts
	// it. AuditRecords lists entries (newest first, or ascending by seq
	// with Ascending). AuditAnchor is the link the oldest kept entry
	// follows (zero until a purge). PurgeAudit deletes the oldest entries,
	// those before the first one at or after before, and records the last
	// one deleted as the new anchor, in one transaction.
	AppendAudit(ctx context.Context, seal func(prev AuditLink) (AuditRecord, error)) (AuditRecord, error)
	AuditRecords(ctx context.Context, f AuditFilter) ([]AuditRecord, error)
	AuditAnchor(ctx context.Context) (AuditLink, error)
	PurgeAudit(ctx context.Context, before time.Time) (int64, error)

	// Namespaces (owners of flows, connections, mappings and MCP keys).
	// CreateNamespace reports conflict for a taken name; Namespaces lists
	// them by name.
	CreateNamespace(ctx context.Context, n Namespace) error
	Namespaces(ctx context.Context) ([]Namespace, error)

	// StartQueue starts River with these workers (nil: insert only).
	StartQueue(ctx context.Context, workers *river.Workers, q QueueConfig) error
	// StopQueue stops fetching new jobs and waits for running ones up to
	// ctx's deadline; jobs still running are released to other workers.
	StopQueue(ctx context.Context) error
	Close() error
	Dialect() string
}

// PayloadSealer seals payload columns at rest (internal/seal.Envelope).
// aad names the row and column a value belongs to; Open returns a value
// that is not sealed (stored before sealing was on) as it is.
type PayloadSealer interface {
	Seal(ctx context.Context, aad string, plain []byte) (string, error)
	Open(ctx context.Context, aad, sealed string) ([]byte, error)
}

// QueueConfig tunes River.
type QueueConfig struct {
	Workers           int           // concurrent runs per process
	JobTimeout        time.Duration // a run's whole time budget per attempt
	RescueAfter       time.Duration // River's last resort: reclaim runs stuck this long, whatever their worker
	FetchPollInterval time.Duration
	// WorkerID is this process's identity in the queue, unique to each
	// start (default host:pid:random).
	WorkerID string
	// DeadAfter: a worker whose heartbeat (every DeadAfter/5) is this old
	// is dead, and its running jobs go back to the queue (default 5s). A
	// process that alone works a SQLite file reclaims its dead
	// predecessor's jobs as it starts.
	DeadAfter time.Duration
	// Work, when set, is the worker of store.RunArgs jobs (the one added
	// to the workers given to StartQueue): a store that can works the
	// runs its process enqueues on local slots with it, without a fetch
	// (PostgreSQL; sqlstore's localjobs.go).
	Work func(ctx context.Context, job *river.Job[RunArgs]) error
}

// RunArgs is the River job that executes (or resumes) a run.
type RunArgs struct {
	RunID string `json:"run_id"`
}

// Kind implements river.JobArgs.
func (RunArgs) Kind() string { return "weft_run" }

type queueJobKey struct{}

type queueJob struct {
	runID string
	jobID int64
}

// WithQueueJob returns ctx carrying the River job (jobID) that works run
// runID. UpdateRun under such a context, when it records that run
// finished (succeeded, failed, dead or canceled), completes the job in
// the same transaction: the run's final state and its job's completion
// commit together, and River's own completion of the job is skipped.
func WithQueueJob(ctx context.Context, runID string, jobID int64) context.Context {
	return context.WithValue(ctx, queueJobKey{}, queueJob{runID: runID, jobID: jobID})
}

type freshRunKey struct{}

// WithFreshRun returns ctx carrying run as its process just created and
// committed it (queued, no checkpoints, no override), for the worker that
// takes its job in that process (store.QueueConfig.Work): the worker
// need not read it back.
func WithFreshRun(ctx context.Context, run *Run) context.Context {
	return context.WithValue(ctx, freshRunKey{}, run)
}

// FreshRun returns the run WithFreshRun put in ctx if it is runID.
func FreshRun(ctx context.Context, runID string) (*Run, bool) {
	r, ok := ctx.Value(freshRunKey{}).(*Run)
	if !ok || r == nil || r.ID != runID {
		return nil, false
	}
	return r, true
}

// QueueJob returns the job WithQueueJob put in ctx for run runID (false
// for any other run, such as a subflow's run under its parent's job).
func QueueJob(ctx context.Context, runID string) (int64, bool) {
	j, ok := ctx.Value(queueJobKey{}).(queueJob)
	if !ok || j.runID != runID {
		return 0, false
	}
	return j.jobID, true
}

// Finished reports whether status is a run's final one.
func Finished(status string) bool {
	switch status {
	case RunSucceeded, RunFailed, RunDead, RunCanceled:
		return true
	}
	return false
}

// FlowVersion is one immutable version of a flow.
type FlowVersion struct {
	Name      string    `json:"name"`
	Version   int       `json:"version"`
	File      string    `json:"file"`
	Source    []byte    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	Active    bool      `json:"active"`
	Namespace string    `json:"namespace,omitempty"` // the flow's (GetFlow fills it)
}

// Namespace is a team's or project's share of the installation: it owns
// flows (and so their runs), connections, mappings and MCP keys.
type Namespace struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
}

// FlowInfo summarises a flow for listings.
type FlowInfo struct {
	Name          string    `json:"name"`
	Namespace     string    `json:"namespace"`
	ActiveVersion int       `json:"active_version"`
	LatestVersion int       `json:"latest_version"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// RunRef names a run and its state.
type RunRef struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

// FlowActivity is a flow's recent activity.
type FlowActivity struct {
	LastRun *RunRef // nil: it never ran
	Runs    int64   // runs created since the time asked for
	Failed  int64   // of those, failed or dead
}

// ToolCallFilter selects MCP tool calls; every field is optional.
type ToolCallFilter struct {
	Key  string // the API key id (or "anonymous")
	Tool string
	// Toolsets, when not empty, keeps only calls to these toolsets.
	Toolsets []string
	Before   string // run id cursor: calls logged before this one
	Limit    int    // 1 to MaxRunsPage; 0: 100
}

// ToolCall is one logged MCP tool call.
type ToolCall struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	Toolset    string    `json:"toolset"`
	Key        string    `json:"key"`
	Tool       string    `json:"tool"`
	Status     string    `json:"status"` // succeeded | failed (refused calls are failed)
	DurationUS int64     `json:"-"`
	Error      string    `json:"error,omitempty"`
}

// Run is one execution of one flow version.
type Run struct {
	ID           string          `json:"id"`
	Flow         string          `json:"flow"`
	Version      int             `json:"version"`
	Status       string          `json:"status"`
	TriggerKind  string          `json:"trigger_kind"`
	IdemKey      string          `json:"idempotency_key,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"` // the trigger event: body, headers, query
	Output       json.RawMessage `json:"output,omitempty"`
	ErrorCode    string          `json:"error_code,omitempty"`
	ErrorMessage string          `json:"error_message,omitempty"`
	FailedStep   string          `json:"failed_step,omitempty"`
	Override     *Override       `json:"override,omitempty"` // replay input for one step
	Sync         bool            `json:"sync"`
	CreatedAt    time.Time       `json:"created_at"`
	StartedAt    time.Time       `json:"started_at"` // recorded once; expressions see it as run.started_at
	FinishedAt   *time.Time      `json:"finished_at,omitempty"`
}

// Override replaces the input of one step key on replay.
type Override struct {
	StepKey string          `json:"step_key"`
	Input   json.RawMessage `json:"input"`
}

// Attempt is one transaction-log row: one attempt of one step of one run.
type Attempt struct {
	RunID        string          `json:"run_id"`
	Flow         string          `json:"flow"`
	Version      int             `json:"version"`
	StepID       string          `json:"step"`
	StepKey      string          `json:"step_key"` // step id plus iteration path, e.g. notify[3]
	Kind         string          `json:"kind"`
	Attempt      int             `json:"attempt"`
	TriggerKind  string          `json:"trigger_kind"`
	Status       string          `json:"status"`
	Worker       string          `json:"worker,omitempty"` // the process that ran the attempt (host:pid)
	StartedAt    time.Time       `json:"started_at"`
	FinishedAt   time.Time       `json:"finished_at"`
	DurationUS   int64           `json:"duration_us"`
	InputSize    int             `json:"input_size"`
	OutputSize   int             `json:"output_size"`
	ErrorClass   string          `json:"error_class,omitempty"` // retryable | permanent | timeout | canceled
	ErrorMessage string          `json:"error_message,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`  // captured per policy, secrets redacted
	Output       json.RawMessage `json:"output,omitempty"` // captured per policy, secrets redacted
	Checkpoint   json.RawMessage `json:"-"`                // the step's output, for resume (ok attempts)
}

// RunFilter selects runs.
type RunFilter struct {
	Flow          string
	Status        string
	Since         time.Time
	Until         time.Time
	FinishedSince time.Time // finished at or after (unfinished runs are left out)
	// FinishedBefore: finished before (unfinished runs are left out).
	FinishedBefore time.Time
	Limit          int    // 1 to MaxRunsPage; 0: 100; above MaxRunsPage: MaxRunsPage
	Before         string // run id cursor: runs created before this one
	// Flows, when not empty, keeps only runs of these flows (the flows of
	// the namespaces a caller may read).
	Flows []string
	// NoPayloads leaves Input, Output and Override out: listings that show
	// no payload neither read nor open (unseal) them.
	NoPayloads bool
}

// MaxRunsPage is the most runs one ListRuns call returns.
const MaxRunsPage = 1000

// ConnectorSpec is an imported connector's source document.
type ConnectorSpec struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"` // openapi
	Spec      []byte    `json:"-"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SealedConnection is a connection as stored: name and connector in the
// clear, everything else encrypted under the master key KeyID names.
type SealedConnection struct {
	Name      string
	Connector string
	Namespace string // "" on save: default
	KeyID     string
	Sealed    []byte
	UpdatedAt time.Time
}

// APIKey is an agent's credential for the MCP gateway.
type APIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Hash       string     `json:"-"`         // SHA-256 of the secret
	Namespace  string     `json:"namespace"` // "" on create: default
	Scopes     []string   `json:"scopes"`    // toolset names, "*", or "tool:<glob>" entries
	RatePerMin int        `json:"rate_per_min,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// AlertDoc is a stored alert: its rule|flow key, status and JSON.
type AlertDoc struct {
	ID        string
	Key       string
	Status    string
	Doc       []byte
	CreatedAt time.Time
}

// Products keeps the API products (apim): one JSON document per product,
// owned by a namespace. Every save bumps Revision, so each process can tell
// a changed product from the one it compiled; a save that names the
// revision it read (Revision > 0) fails with conflict if another save came
// between.
type Products interface {
	// SaveProduct creates or replaces a product and returns it as stored
	// (Revision, CreatedAt and UpdatedAt set). A namespace that does not
	// exist is invalid.
	SaveProduct(ctx context.Context, p ProductDoc) (ProductDoc, error)
	// Product returns one product (not_found when there is none).
	Product(ctx context.Context, name string) (*ProductDoc, error)
	// ProductList returns every product, by name.
	ProductList(ctx context.Context) ([]ProductDoc, error)
	// DeleteProduct removes a product (not_found when there is none).
	DeleteProduct(ctx context.Context, name string) error
}

// ProductDoc is a stored API product.
type ProductDoc struct {
	Name      string
	Namespace string // "" on save: default
	Revision  int64
	Doc       []byte // the product as JSON (apim.Product)
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Consumers keeps API management's consumers (applications), the plans
// they subscribe under, their subscriptions to products, their API keys
// (hashes only) and the rate-limit state every process shares.
type Consumers interface {
	// SavePlan creates or replaces a plan (CreatedAt kept on replace); an
	// unknown namespace is invalid. DeletePlan reports conflict while a
	// subscription uses the plan, not_found for none.
	SavePlan(ctx context.Context, p Plan) (Plan, error)
	Plan(ctx context.Context, name string) (*Plan, error)
	Plans(ctx context.Context) ([]Plan, error)
	DeletePlan(ctx context.Context, name string) error

	// SaveConsumer creates or replaces a consumer. DeleteConsumer removes
	// it with its subscriptions and keys (not_found for none).
	SaveConsumer(ctx context.Context, c Consumer) (Consumer, error)
	Consumer(ctx context.Context, name string) (*Consumer, error)
	ConsumerList(ctx context.Context) ([]Consumer, error)
	DeleteConsumer(ctx context.Context, name string) error

	// Subscribe creates or replaces the consumer's subscription to a
	// product (one per consumer and product); the consumer and the plan
	// must exist (not_found). Unsubscribe reports not_found for none.
	Subscribe(ctx context.Context, s Subscription) (Subscription, error)
	Subscriptions(ctx context.Context, consumer string) ([]Subscription, error)
	Unsubscribe(ctx context.Context, consumer, product string) error

	// CreateConsumerKey stores a key (its hash); the consumer must exist.
	// ConsumerKeys lists a consumer's keys, revoked ones included.
	// ExpireConsumerKey sets when an active key stops working (a rotation's
	// overlap); RevokeConsumerKey stops it now. Both report not_found
	// unless the consumer has an active key with that id.
	CreateConsumerKey(ctx context.Context, k ConsumerKey) error
	ConsumerKeys(ctx context.Context, consumer string) ([]ConsumerKey, error)
	ExpireConsumerKey(ctx context.Context, consumer, id string, at time.Time) error
	RevokeConsumerKey(ctx context.Context, consumer, id string, at time.Time) error

	// KeyGrant reads, in one query and never from a cache, the key with
	// this id, its consumer, the consumer's subscription to product (if
	// any) and that subscription's plan: not_found when there is no such
	// key. Whether it is revoked, expired or matches is the caller's to
	// check.
	KeyGrant(ctx context.Context, keyID, product string) (*KeyGrant, error)
	// ConsumerGrant is KeyGrant for a consumer named by other means (a
	// JWT): the consumer, its subscription to product and the plan (Key
	// left zero); not_found when there is no such consumer.
	ConsumerGrant(ctx context.Context, consumer, product string) (*KeyGrant, error)

	// AdmitKey is KeyGrant and then, when the key is good for the call
	// (KeyGrant.Good) and its plan has limits, Admit in the bucket
	// consumer/product: one statement on PostgreSQL (one round trip), two
	// on SQLite. Admission is nil when nothing was counted; the grant says
	// why.
	AdmitKey(ctx context.Context, keyID, hash, product, version string, now time.Time) (*KeyGrant, *Admission, error)

	// Usage reads a bucket as Admit left it, counting nothing: what
	// remains under limits at now (everything for a bucket never used).
	Usage(ctx context.Context, bucket string, limits Limits, now time.Time) (Admission, error)

	// Admit counts one call against bucket under limits at now, atomically
	// across every process on the database: a GCRA rate limit and day and
	// month quotas (UTC). A refused call changes nothing.
	Admit(ctx context.Context, bucket string, limits Limits, now time.Time) (Admission, error)

	// UseNonce records that credential keyID used nonce, remembered until
	// expires: conflict when it is already remembered (a replay), in every
	// process on the database. A remembered nonce past its expiry may be
	// used again. SweepNonces forgets every nonce expired at now and says
	// how many.
	UseNonce(ctx context.Context, keyID, nonce string, expires, now time.Time) error
	SweepNonces(ctx context.Context, now time.Time) (int64, error)
	// UseNonceAdmit is UseNonce and then, only for a fresh nonce, Admit:
	// one statement on PostgreSQL (one round trip), two on SQLite.
	UseNonceAdmit(ctx context.Context, keyID, nonce string, expires time.Time, bucket string, limits Limits, now time.Time) (Admission, error)

	// AdmitVerified counts a call made with a credential this process has
	// verified before (a key whose hash matched, a signature checked with
	// the credential's secret) under the grant it read then, re-checking
	// in the same statement that the grants' epoch is still the one read
	// with that grant: every change to a plan, consumer, subscription or
	// credential raises it, so a revocation, a disabled consumer, a removed
	// subscription or a changed plan holds from the next call, in every
	// process. Only then is the nonce used (when v.Nonce is set) and, when
	// the nonce was fresh and the limits are not zero, the call counted in
	// bucket consumer/product. held is false when the epoch moved (nothing
	// used or counted: read the grant again); fresh is false for a replayed
	// nonce (nothing counted); a is nil when nothing was counted. One
	// statement (one round trip) on PostgreSQL.
	AdmitVerified(ctx context.Context, v VerifiedCall, now time.Time) (held, fresh bool, a *Admission, err error)
}

// VerifiedCall is what AdmitVerified re-checks and counts: a credential
// verified under the grant read with Epoch.
type VerifiedCall struct {
	KeyID, Consumer, Product string
	Epoch                    int64     // KeyGrant.Epoch of the grant verified
	Limits                   Limits    // its plan's
	Nonce                    string    // a signed call's nonce ("" for none)
	NonceExpires             time.Time // when the nonce may be used again
}

// Limits are a plan's limits; a zero field is no limit.
type Limits struct {
	RatePerSecond float64 `json:"rate_per_second,omitempty"`
	Burst         int64   `json:"burst,omitempty"` // calls allowed at once (at least 1 with a rate)
	QuotaDay      int64   `json:"quota_day,omitempty"`
	QuotaMonth    int64   `json:"quota_month,omitempty"`
}

// Plan is a named set of limits consumers subscribe under.
type Plan struct {
	Name        string    `json:"name"`
	Namespace   string    `json:"namespace"`
	Description string    `json:"description,omitempty"`
	Limits      Limits    `json:"limits"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
}

// Consumer is an application that calls published APIs.
type Consumer struct {
	Name        string `json:"name"`
	Namespace   string `json:"namespace"`
	Description string `json:"description,omitempty"`
	Disabled    bool   `json:"disabled,omitempty"`
	// AllowIPs, when set, are the only client addresses (or CIDR
	// prefixes) its calls are taken from, whatever the product allows.
	AllowIPs  []string  `json:"allow_ips,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Subscription lets a consumer call a product (one version of it when
// Version is set) under a plan.
type Subscription struct {
	ID        string    `json:"id"`
	Consumer  string    `json:"consumer"`
	Product   string    `json:"product"`
	Version   string    `json:"version,omitempty"` // "": every version
	Plan      string    `json:"plan"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// Kinds of consumer credential.
const (
	KeyAPIKey = "api_key" // an API key: only its SHA-256 is kept
	KeyHMAC   = "hmac"    // an HMAC secret: kept sealed (it is needed to verify a signature)
)

// ConsumerKey is a consumer's credential as stored: its id (the public
// part, used for lookup) and, for an API key, the SHA-256 of the whole
// key; for an HMAC credential the secret, which the store seals at rest
// (with the payload sealer: a store without one refuses to keep it) and
// opens when KeyGrant reads it. Neither is ever marshalled.
type ConsumerKey struct {
	ID        string     `json:"id"`
	Consumer  string     `json:"consumer"`
	Kind      string     `json:"kind,omitempty"` // KeyAPIKey ("" reads as one) or KeyHMAC
	Hash      string     `json:"-"`
	Secret    string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"` // set by a rotation: valid until then
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// KeyGrant is what one key may do: the key, its consumer, and the
// consumer's subscription to the asked product with its plan (nil when
// not subscribed).
type KeyGrant struct {
	Key          ConsumerKey
	Consumer     Consumer
	Subscription *Subscription
	Plan         *Plan
	// Epoch is the grants' epoch read with the grant (AdmitVerified).
	Epoch int64
}

// Good reports whether the grant lets a call of product version version
// through at now with a key whose SHA-256 is hash: the hash matches, the
// key is neither revoked nor expired, the consumer is enabled and
// subscribed to this version (or every version). An HMAC credential is
// never good as an API key.
func (g *KeyGrant) Good(hash, version string, now time.Time) bool {
	return g.Key.Kind != KeyHMAC && g.Key.Hash == hash && g.Key.RevokedAt == nil && (g.Key.ExpiresAt == nil || now.Before(*g.Key.ExpiresAt)) &&
		!g.Consumer.Disabled && g.Subscription != nil && g.Plan != nil && (g.Subscription.Version == "" || g.Subscription.Version == version)
}

// Bucket is where a consumer's calls of a product are counted.
func Bucket(consumer, product string) string { return consumer + "/" + product }

// Admission is the outcome of Admit.
type Admission struct {
	Allowed bool
	// Which limit refused the call: "rate", "day" or "month" ("" when allowed).
	Limit string
	// RetryAfter: when a refused call may be tried again.
	RetryAfter time.Duration
	// What is left after this call, and when each resets (the rate's
	// burst is whole again after RateReset).
	RateRemaining, DayRemaining, MonthRemaining int64
	RateReset, DayReset, MonthReset             time.Duration
}

// MappingDoc is a stored mapping.
type MappingDoc struct {
	ID        string
	Name      string
	Namespace string // "" on save: default
	Doc       []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// --- identities (access) ----------------------------------------------------

// Identities stores local users, their role bindings, and personal access
// tokens and service accounts' tokens (hashes only). access decides what
// they may do; this only keeps them.
type Identities interface {
	// CreateUser reports conflict for a taken name; User and UserByID
	// report not_found.
	CreateUser(ctx context.Context, u User) error
	User(ctx context.Context, name string) (*User, error)
	UserByID(ctx context.Context, id string) (*User, error)
	Users(ctx context.Context) ([]User, error)
	SetUserDisabled(ctx context.Context, name string, disabled bool) error
	SetUserPassword(ctx context.Context, name, hash string) error
	// UserBySubject finds a single-sign-on user by its source and subject
	// (not_found when none).
	UserBySubject(ctx context.Context, source, subject string) (*User, error)

	// SetRoleBinding gives principal a role in a namespace (replacing the
	// one it had there); role "" removes the binding.
	SetRoleBinding(ctx context.Context, b RoleBinding) error
	RoleBindings(ctx context.Context, principalID string) ([]RoleBinding, error)

	// CreateToken stores a token; TokenByHash returns not_found for an
	// unknown or revoked one (expiry is the caller's to check). Tokens
	// lists the tokens of a kind and owner (owner "" with kind
	// service_account: all service accounts), revoked ones included.
	// RevokeToken reports not_found unless an active token of that kind and
	// owner has the id.
	CreateToken(ctx context.Context, t Token) error
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	Tokens(ctx context.Context, kind, owner string) ([]Token, error)
	RevokeToken(ctx context.Context, kind, owner, id string) error
}

// User is a local user.
type User struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	PasswordHash string    `json:"-"` // argon2id, PHC string format ("" for a single-sign-on user: no password)
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
	// Source is where the user signs in: "local" (a password; "" reads as
	// local) or "oidc" (the OpenID provider; Subject is its issuer and
	// subject, unique per source).
	Source  string `json:"source,omitempty"`
	Subject string `json:"subject,omitempty"`
}

// User sources.
const (
	UserLocal = "local"
	UserOIDC  = "oidc"
)

// SessionCaps bound the stored sessions, so that a flood of valid sign-ins
// cannot grow the table without limit.
type SessionCaps struct {
	PerPrincipal int // sessions of one principal (kind and id)
	Total        int // sessions in all
}

// Sessions keeps the console's cookie sessions so they survive a restart
// and are shared by every process on the same database. The cookie's value
// is never stored, only its SHA-256 (IDHash); the provider tokens of a
// single-sign-on session only sealed.
type Sessions interface {
	// CreateSession stores a new session, then keeps at most caps.PerPrincipal
	// sessions of its principal and caps.Total in all (the least recently
	// used go first; zero: no cap). SessionByHash reports not_found for an
	// unknown (or deleted) one, expired or not (the caller decides).
	CreateSession(ctx context.Context, s Session, caps SessionCaps) error
	SessionByHash(ctx context.Context, idHash string) (*Session, error)
	// TouchSession records a use; SetSessionTokens replaces the sealed
	// provider tokens after a refresh. Both report not_found for a
	// deleted session.
	TouchSession(ctx context.Context, idHash string, lastSeen time.Time) error
	SetSessionTokens(ctx context.Context, idHash, keyID string, sealed []byte, expiry time.Time) error
	// DeleteSession ends a session (no error when it is gone already).
	DeleteSession(ctx context.Context, idHash string) error
	// PurgeSessions deletes sessions past their absolute expiry (now) or
	// unused since idleBefore, and reports how many.
	PurgeSessions(ctx context.Context, now, idleBefore time.Time) (int64, error)
}

// Session is a stored cookie session.
type Session struct {
	IDHash        string // hex SHA-256 of the cookie's value
	PrincipalKind string
	PrincipalID   string
	Principal     string // the principal as JSON (a user's roles are read again on every request)
	CSRF          string
	CreatedAt     time.Time
	LastSeen      time.Time
	ExpiresAt     time.Time // absolute expiry
	TokensKey     string    // the master key id that sealed Tokens
	Tokens        []byte    // sealed provider tokens (single sign-on), nil otherwise
	TokensExpiry  time.Time // when the provider tokens must be refreshed (zero: none)
}

// RoleBinding gives a principal (a user's id) a role in a namespace ("*":
// every namespace).
type RoleBinding struct {
	Principal string `json:"principal"`
	Namespace string `json:"namespace"`
	Role      string `json:"role"`
}

// Token kinds.
const (
	TokenPAT            = "pat"             // a user's personal access token
	TokenServiceAccount = "service_account" // a service account's token
)

// Token is a personal access token or a service account's token.
type Token struct {
	ID        string            `json:"id"`
	Kind      string            `json:"kind"`
	Name      string            `json:"name"`
	Owner     string            `json:"owner,omitempty"` // the user id of a PAT; "" for a service account
	Hash      string            `json:"-"`               // hex SHA-256 of the token
	Scopes    map[string]string `json:"scopes"`          // role per namespace
	CreatedAt time.Time         `json:"created_at"`
	ExpiresAt *time.Time        `json:"expires_at,omitempty"`
	RevokedAt *time.Time        `json:"revoked_at,omitempty"`
}

// AuditRecord is one audit-log row as stored (access.Entry is its meaning).
type AuditRecord struct {
	Seq       int64
	At        time.Time // microsecond precision
	Actor     string
	ActorKind string
	Action    string
	Resource  string
	Namespace string
	Source    string
	Outcome   string
	Details   string // canonical JSON
	PrevHash  string
	Hash      string
}

// AuditLink is a point of the audit chain: an entry's seq and hash.
type AuditLink struct {
	Seq  int64
	Hash string
}

// AuditFilter selects audit entries; every field is optional.
type AuditFilter struct {
	Since, Until time.Time // at >= Since, at < Until
	Actor        string
	Action       string
	Before       int64 // seq < Before (newest-first paging)
	After        int64 // seq > After (ascending paging)
	Ascending    bool  // by seq ascending (verification); default newest first
	Limit        int   // 1 to MaxAuditPage; 0: 100
}

// MaxAuditPage is the most entries one AuditRecords call returns.
const MaxAuditPage = 1000

// DefaultNamespace owns every resource created without a namespace (and
// every resource of an install from before namespaces).
const DefaultNamespace = "default"

// --- hybrid deployment: runtime agents ---------------------------------------

// Agents keeps the runtime agents of a hybrid deployment: one per site,
// with its labels, the hash of its credential (never the credential), and
// what it last reported over its link.
type Agents interface {
	// CreateAgent stores a new agent (conflict when the site has one,
	// revoked or not).
	CreateAgent(ctx context.Context, a AgentRecord) error
	// Agent returns a site's agent; AgentList all of them, by site.
	Agent(ctx context.Context, site string) (*AgentRecord, error)
	AgentList(ctx context.Context) ([]AgentRecord, error)
	// AgentByTokenHash finds the agent a credential belongs to; not_found
	// for an unknown credential or a revoked agent.
	AgentByTokenHash(ctx context.Context, hash string) (*AgentRecord, error)
	// SetAgentToken replaces an agent's credential (rotation; the old one
	// stops working at once); not_found for an unknown or revoked agent.
	SetAgentToken(ctx context.Context, site, hash string, at time.Time) error
	// RevokeAgent revokes an agent's credential for good; not_found unless
	// an agent of that site is active.
	RevokeAgent(ctx context.Context, site string, at time.Time) error
	// AgentSeen records what an agent reported on its link: when, its
	// version, and the flow versions it runs (JSON).
	AgentSeen(ctx context.Context, site string, seen AgentReport) error
	// SetAgentTelemetry keeps what an agent last shipped of its site's
	// monitoring (JSON: its latest alerts and key figures); not_found
	// unless an agent of that site is active.
	SetAgentTelemetry(ctx context.Context, site string, telemetry json.RawMessage) error
	// SaveAgentRuns records the run metadata an agent shipped, in one
	// transaction: a run already recorded (by site and id) is updated, so
	// shipping a run again changes nothing. AgentRuns lists a site's runs,
	// newest first (Before: a run id cursor; limit 1 to MaxRunsPage), and
	// CountAgentRuns counts them by status.
	SaveAgentRuns(ctx context.Context, site string, runs []AgentRun) error
	AgentRuns(ctx context.Context, site, before string, limit int) ([]AgentRun, error)
	CountAgentRuns(ctx context.Context, site string) (map[string]int64, error)
	// PurgeAgentRuns deletes shipped runs that finished before before (the
	// control plane's retention) and says how many.
	PurgeAgentRuns(ctx context.Context, before time.Time) (int64, error)
}

// PredictSignal is one observation error prediction makes of an upstream
// (a rate-limit header, a credential's validity, a refresh attempt).
type PredictSignal struct {
	ID      string    // unique (the caller's, a UUIDv7)
	Kind    string    // rate_limit | expiry | refresh
	Subject string    // connection:NAME
	At      time.Time // observed
	Written time.Time // stored (set by AppendPredictSignals)
	Doc     []byte    // JSON: the kind's fields; never a secret
}

// DatabaseSizer reports how large the database is, in bytes (SQLite: its
// pages; PostgreSQL: pg_database_size of the current database), for the
// storage forecast.
type DatabaseSizer interface {
	DatabaseSize(ctx context.Context) (int64, error)
}

// PredictSignals keeps the prediction signals of every process of a
// deployment, so that each forecasts from all of them.
type PredictSignals interface {
	// AppendPredictSignals stores signals, written now (an ID seen before
	// is ignored).
	AppendPredictSignals(ctx context.Context, sigs []PredictSignal) error
	// PredictSignalsSince returns up to limit signals written at or after
	// since, in the order written (by Written, then ID): a reader that
	// reads on from the last Written it saw (less a margin for commits in
	// flight) misses none, however old an observation was when it was
	// stored.
	PredictSignalsSince(ctx context.Context, since time.Time, limit int) ([]PredictSignal, error)
	// PurgePredictSignals deletes those written before before.
	PurgePredictSignals(ctx context.Context, before time.Time) (int64, error)
}

// AgentCalls routes MCP reach-in calls through the database, for a control
// plane of many processes: the process an MCP client called queues the
// call; the process that holds the site's agent's calls poll takes it and
// hands it to the agent; the one the agent posts the result (or progress)
// to records it; the first reads it and deletes the row.
type AgentCalls interface {
	// SetAgentCallsSeen records that this process holds (or just held) the
	// site's calls poll.
	SetAgentCallsSeen(ctx context.Context, site string, at time.Time) error
	// QueueAgentCall queues a call (state queued).
	QueueAgentCall(ctx context.Context, c AgentCall) error
	// TakeAgentCalls moves up to limit queued, unexpired calls of a site to
	// taken (each is taken by one process only) and returns them, oldest
	// first.
	TakeAgentCalls(ctx context.Context, site string, limit int, now time.Time) ([]AgentCall, error)
	// AgentCallProgress records a taken call's latest progress; FinishAgentCall
	// its result (taken to done). Both report whether the call was there.
	AgentCallProgress(ctx context.Context, site, id string, progress json.RawMessage) (bool, error)
	FinishAgentCall(ctx context.Context, site, id string, result json.RawMessage) (bool, error)
	// GetAgentCall returns a call (not_found once deleted).
	GetAgentCall(ctx context.Context, id string) (*AgentCall, error)
	// CancelAgentCall marks a call cancelled and says what state it was in
	// ("" when it is gone); a queued one is deleted at once.
	CancelAgentCall(ctx context.Context, id string) (string, error)
	// TakeAgentCancels returns the site's taken calls that were cancelled,
	// and deletes them.
	TakeAgentCancels(ctx context.Context, site string) ([]string, error)
	// AgentCallSites lists the sites with calls queued or cancelled (one
	// cheap look for every site a process holds polls of).
	AgentCallSites(ctx context.Context) ([]string, error)
	// DeleteAgentCall deletes a call; PurgeAgentCalls those that expired
	// before before.
	DeleteAgentCall(ctx context.Context, id string) error
	PurgeAgentCalls(ctx context.Context, before time.Time) (int64, error)
}

// AgentCallEvents wakes the processes of a control plane when a reach-in
// call routed through the database changes, instead of their looking
// (PostgreSQL: LISTEN/NOTIFY on a connection of its own). The writes of
// AgentCalls announce themselves: a call queued or cancelled for a site
// (site set), a call's progress or result recorded (id set).
type AgentCallEvents interface {
	// ListenAgentCalls calls fn with each announcement from any process
	// until ctx ends, reconnecting after a failure; up is called with true
	// each time it listens (announcements before it were missed: look
	// once) and with false when it stops. It fails at once (unavailable)
	// when the store cannot listen (SQLite: one process, nothing to hear).
	ListenAgentCalls(ctx context.Context, up func(bool), fn func(site, id string)) error
}

// AgentCall is a reach-in call routed through the database.
type AgentCall struct {
	ID        string          `json:"id"`
	Site      string          `json:"site"`
	Call      json.RawMessage `json:"call"`
	State     string          `json:"state"` // queued, taken, done, cancelled
	Result    json.RawMessage `json:"result,omitempty"`
	Progress  json.RawMessage `json:"progress,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	ExpiresAt time.Time       `json:"expires_at"`
}

// AgentRun is the metadata of a run on an agent, as shipped upstream: no
// input, output or error message (payloads stay on the site).
type AgentRun struct {
	ID           string     `json:"id"`
	Flow         string     `json:"flow"`
	Version      int        `json:"version"`       // the control plane's version (0: not known to the agent)
	LocalVersion int        `json:"local_version"` // the version in the agent's own store
	Status       string     `json:"status"`
	TriggerKind  string     `json:"trigger_kind"`
	ErrorCode    string     `json:"error_code,omitempty"`
	FailedStep   string     `json:"failed_step,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	StartedAt    time.Time  `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	// Input and Output are the run's trigger event and response, shipped
	// only under the flow's full capture and the site's ship_payloads,
	// redacted on the site. PayloadOmitted says why a payload that the
	// policies allowed was left out (too large).
	Input          json.RawMessage `json:"input,omitempty"`
	Output         json.RawMessage `json:"output,omitempty"`
	PayloadOmitted string          `json:"payload_omitted,omitempty"`
}

// AgentRecord is a stored runtime agent.
type AgentRecord struct {
	Site      string            `json:"site"`
	Labels    map[string]string `json:"labels"`
	TokenHash string            `json:"-"` // hex SHA-256 of the credential
	CreatedAt time.Time         `json:"created_at"`
	RotatedAt *time.Time        `json:"rotated_at,omitempty"`
	RevokedAt *time.Time        `json:"revoked_at,omitempty"`
	AgentReport
	// Telemetry is what the agent last shipped of its site's monitoring.
	Telemetry json.RawMessage `json:"telemetry,omitempty"`
	// CallsSeen is when a control-plane process last held the agent's
	// reach-in calls poll (any process: the site is online for reach-in).
	CallsSeen *time.Time `json:"-"`
}

// AgentReport is what an agent last reported.
type AgentReport struct {
	LastSeen *time.Time      `json:"last_seen,omitempty"`
	Version  string          `json:"version,omitempty"` // the agent's build
	Running  json.RawMessage `json:"running,omitempty"` // the flow versions it runs
	Health   json.RawMessage `json:"health,omitempty"`  // its own account: site connections (names only), shipping
}

// UsageBuckets is how many latency buckets an APIUsage row has
// (apim.UsageBounds are their upper bounds; the last is unbounded).
const UsageBuckets = 33

// APIUsage is the calls of published API product versions, per minute,
// process, product, version, route (its template) and consumer: what
// /api/metrics/api sums.
type APIUsage struct {
	Minute       int64               `json:"minute,omitempty"` // Unix minute (0 in a sum)
	Process      string              `json:"-"`
	Product      string              `json:"product"`
	Version      string              `json:"version"`
	Route        string              `json:"route,omitempty"`
	Consumer     string              `json:"consumer"`
	Calls        int64               `json:"calls"`
	ClientErrors int64               `json:"client_errors"` // 4xx, refusals included
	ServerErrors int64               `json:"server_errors"` // 5xx
	RateLimited  int64               `json:"rate_limited"`  // 429
	DurationUS   int64               `json:"-"`
	Hist         [UsageBuckets]int64 `json:"-"`
}

// UsageQuery selects and groups APIUsage rows: minutes in [Since, Until),
// optionally one product, version or consumer; ByRoute keeps routes apart.
type UsageQuery struct {
	Since, Until               time.Time
	Product, Version, Consumer string
	ByRoute                    bool
}

// UsageStore keeps API usage.
type UsageStore interface {
	// SaveAPIUsage writes rows, each replacing the row of its minute,
	// process, product, version, route and consumer.
	SaveAPIUsage(ctx context.Context, rows []APIUsage) error
	// SumAPIUsage sums the rows q selects per product, version and
	// consumer (and route with ByRoute), at most 10,000 groups.
	SumAPIUsage(ctx context.Context, q UsageQuery) ([]APIUsage, error)
	// PruneAPIUsage deletes the rows of minutes before before.
	PruneAPIUsage(ctx context.Context, before time.Time) (int64, error)
}
