package access

// The audit log: who did what, to what, when, from where, with what
// outcome. Each entry carries the SHA-256 of its own fields and of the
// entry before it, so editing or deleting a stored row breaks the chain
// and Verify names the first entry where it breaks.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// Audit outcomes.
const (
	OutcomeOK     = "ok"
	OutcomeDenied = "denied"
	OutcomeFailed = "failed"
)

// Audit actions (role.change and settings.change: for the APIs that will make them).
const (
	ActionFlowDeploy       = "flow.deploy"
	ActionFlowRollback     = "flow.rollback"
	ActionFlowCDCReset     = "flow.cdc_reset"
	ActionConnectionCreate = "connection.create"
	ActionConnectionUpdate = "connection.update"
	ActionConnectionDelete = "connection.delete"
	ActionConnectorImport  = "connector.import"
	ActionConnectorDelete  = "connector.delete"
	ActionSecretsRotate    = "secrets.rotate"
	ActionMCPKeyCreate     = "mcp_key.create"
	ActionMCPKeyRevoke     = "mcp_key.revoke"
	ActionRunReplay        = "run.replay"
	ActionRunCancel        = "run.cancel"
	ActionDLQReplay        = "dlq.replay"
	ActionAlertAck         = "alert.ack"
	ActionSignIn           = "session.sign_in"
	ActionSignInFailed     = "session.sign_in_failed"
	ActionSignInLocked     = "session.sign_in_locked" // a client reached the failed sign-in limit
	ActionSignOut          = "session.sign_out"
	ActionRoleChange       = "role.change"
	ActionSettingsChange   = "settings.change"
	ActionAuditPurge       = "audit.purge"
	ActionNamespaceCreate  = "namespace.create"
	ActionProductCreate    = "product.create"
	ActionProductUpdate    = "product.update" // pins, deprecation, retirement: every change of a product
	ActionProductDelete    = "product.delete"
	ActionAgentCreate      = "agent.create" // a runtime agent's credential issued
	ActionAgentRotate      = "agent.rotate"
	ActionAgentRevoke      = "agent.revoke"

	ActionUserCreate           = "user.create"
	ActionUserDisable          = "user.disable"
	ActionUserPasswordReset    = "user.password_reset"
	ActionTokenCreate          = "token.create" // a personal access token
	ActionTokenRevoke          = "token.revoke"
	ActionServiceAccountCreate = "service_account.create"
	ActionServiceAccountRevoke = "service_account.revoke"
)

// Audit actions of API consumers (apim): plans, consumers, their
// subscriptions and keys (keys by id only, never the key).
const (
	ActionPlanCreate        = "plan.create"
	ActionPlanUpdate        = "plan.update"
	ActionPlanDelete        = "plan.delete"
	ActionConsumerCreate    = "consumer.create"
	ActionConsumerUpdate    = "consumer.update"
	ActionConsumerDelete    = "consumer.delete"
	ActionSubscribe         = "subscription.save" // a subscription created or changed (plan, version)
	ActionUnsubscribe       = "subscription.delete"
	ActionConsumerKeyCreate = "consumer_key.create"
	ActionConsumerKeyRotate = "consumer_key.rotate"
	ActionConsumerKeyRevoke = "consumer_key.revoke"
)

// Actions lists every audit action, in the order above (the console's
// filter offers them; TestActionsListsEveryConstant keeps it whole).
func Actions() []string {
	return []string{ActionFlowDeploy, ActionFlowRollback, ActionFlowCDCReset, ActionConnectionCreate, ActionConnectionUpdate, ActionConnectionDelete,
		ActionConnectorImport, ActionConnectorDelete, ActionSecretsRotate, ActionMCPKeyCreate, ActionMCPKeyRevoke, ActionRunReplay, ActionRunCancel,
		ActionDLQReplay, ActionAlertAck, ActionSignIn, ActionSignInFailed, ActionSignInLocked, ActionSignOut, ActionRoleChange,
		ActionSettingsChange, ActionAuditPurge, ActionNamespaceCreate, ActionUserCreate, ActionUserDisable, ActionUserPasswordReset,
		ActionTokenCreate, ActionTokenRevoke, ActionServiceAccountCreate, ActionServiceAccountRevoke,
		ActionProductCreate, ActionProductUpdate, ActionProductDelete,
		ActionPlanCreate, ActionPlanUpdate, ActionPlanDelete, ActionConsumerCreate, ActionConsumerUpdate, ActionConsumerDelete,
		ActionSubscribe, ActionUnsubscribe, ActionConsumerKeyCreate, ActionConsumerKeyRotate, ActionConsumerKeyRevoke,
		ActionAgentCreate, ActionAgentRotate, ActionAgentRevoke}
}

// Entry is one audit-log entry.
type Entry struct {
	Seq       int64          `json:"seq"`
	At        time.Time      `json:"at"`
	Actor     string         `json:"actor"`      // Principal.Actor(): "api_token", "user:ada", "mcp_key:k1"
	ActorKind string         `json:"actor_kind"` // Principal.Kind
	Action    string         `json:"action"`     // flow.deploy, connection.update, session.sign_in_failed …
	Resource  string         `json:"resource"`   // "flow:orders", "connection:crm", "run:01J…"
	Namespace string         `json:"namespace"`
	Source    string         `json:"source"`  // the client's address
	Outcome   string         `json:"outcome"` // ok | denied | failed
	Details   map[string]any `json:"details,omitempty"`
	PrevHash  string         `json:"prev_hash"`
	Hash      string         `json:"hash"`
}

// Auditor records audit entries. Actor and ActorKind default to the
// principal ctx carries, At to now, Namespace to "default", Outcome to ok.
type Auditor interface {
	Record(ctx context.Context, e Entry) error
}

// AuditStore keeps the chain (store.Store is one).
type AuditStore interface {
	AppendAudit(ctx context.Context, seal func(prev store.AuditLink) (store.AuditRecord, error)) (store.AuditRecord, error)
	AuditRecords(ctx context.Context, f store.AuditFilter) ([]store.AuditRecord, error)
	AuditAnchor(ctx context.Context) (store.AuditLink, error)
	PurgeAudit(ctx context.Context, before time.Time) (int64, error)
}

// Log is the Auditor over a store.
type Log struct {
	st  AuditStore
	Now func() time.Time // default time.Now
}

// NewLog returns the audit log kept in st.
func NewLog(st AuditStore) *Log { return &Log{st: st} }

func (l *Log) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// secretWords: a details key containing one of these has its value
// replaced; details are summaries by name, never values of credentials.
var secretWords = []string{"secret", "password", "passwd", "token", "credential", "authorization", "cookie", "private", "api_key", "apikey"}

func scrub(v any, key string) any {
	lk := strings.ToLower(key)
	for _, w := range secretWords {
		if strings.Contains(lk, w) {
			if _, isList := v.([]string); isList {
				return v // a list of names ("credentials changed: [auth.token]")
			}
			if _, isList := v.([]any); isList {
				return v
			}
			return "[REDACTED]"
		}
	}
	if m, ok := v.(map[string]any); ok {
		out := make(map[string]any, len(m))
		for k, e := range m {
			out[k] = scrub(e, k)
		}
		return out
	}
	return v
}

// Record implements Auditor: it appends e to the chain.
func (l *Log) Record(ctx context.Context, e Entry) error {
	p := PrincipalFrom(ctx)
	if e.Actor == "" {
		e.Actor, e.ActorKind = p.Actor(), p.Kind
	}
	if e.ActorKind == "" {
		e.ActorKind = KindAnonymous
	}
	if e.At.IsZero() {
		e.At = l.now()
	}
	if e.Namespace == "" {
		e.Namespace = DefaultNamespace
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeOK
	}
	if e.Action == "" {
		return weft.Errorf(weft.EInvalid, "audit entry without an action")
	}
	details := "{}"
	if len(e.Details) > 0 {
		b, err := json.Marshal(scrub(e.Details, "").(map[string]any)) // map keys sorted: canonical
		if err != nil {
			return weft.Errorf(weft.EInvalid, "audit details: %v", err)
		}
		details = string(b)
	}
	rec := store.AuditRecord{At: e.At.UTC().Truncate(time.Microsecond), Actor: e.Actor, ActorKind: e.ActorKind, Action: e.Action,
		Resource: e.Resource, Namespace: e.Namespace, Source: e.Source, Outcome: e.Outcome, Details: details}
	_, err := l.st.AppendAudit(ctx, func(prev store.AuditLink) (store.AuditRecord, error) {
		r := rec
		r.Seq, r.PrevHash = prev.Seq+1, prev.Hash
		r.Hash = Hash(r)
		return r, nil
	})
	return err
}

// Hash is the SHA-256 (hex) of a record's canonical encoding: a JSON array
// of its fields in a fixed order, its time as microseconds since the
// epoch, and the previous entry's hash last.
func Hash(r store.AuditRecord) string {
	b, _ := json.Marshal([]any{r.Seq, r.At.UnixMicro(), r.Actor, r.ActorKind, r.Action, r.Resource, r.Namespace, r.Source, r.Outcome, r.Details, r.PrevHash})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// EntryOf turns a stored record into an Entry.
func EntryOf(r store.AuditRecord) Entry {
	e := Entry{Seq: r.Seq, At: r.At, Actor: r.Actor, ActorKind: r.ActorKind, Action: r.Action, Resource: r.Resource, Namespace: r.Namespace,
		Source: r.Source, Outcome: r.Outcome, PrevHash: r.PrevHash, Hash: r.Hash}
	if r.Details != "" && r.Details != "{}" {
		_ = json.Unmarshal([]byte(r.Details), &e.Details)
	}
	return e
}

// List returns entries as f selects them.
func (l *Log) List(ctx context.Context, f store.AuditFilter) ([]Entry, error) {
	recs, err := l.st.AuditRecords(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(recs))
	for i, r := range recs {
		out[i] = EntryOf(r)
	}
	return out, nil
}

// Problems Verify names.
const (
	ProblemHash    = "hash mismatch" // the entry was edited
	ProblemMissing = "missing entry" // an entry before it was deleted
	ProblemLink    = "broken link"   // its prev_hash is not the previous entry's hash
)

// Verification is what Verify found.
type Verification struct {
	Intact     bool   `json:"intact"`
	Entries    int64  `json:"entries"`     // entries checked
	AnchorSeq  int64  `json:"anchor_seq"`  // the last purged entry (0: none purged)
	AnchorHash string `json:"anchor_hash"` // its hash: the first kept entry's prev_hash
	HeadSeq    int64  `json:"head_seq"`    // the newest entry: keep it elsewhere to detect truncation
	HeadHash   string `json:"head_hash"`
	BadSeq     int64  `json:"bad_seq,omitempty"` // the first entry where the chain breaks
	Problem    string `json:"problem,omitempty"`
	Detail     string `json:"detail,omitempty"`
}

// Verify walks the chain from its anchor and reports the first entry where
// it breaks: a recomputed hash that differs (edited), a gap in seq
// (deleted), or a prev_hash that is not the previous entry's hash.
func (l *Log) Verify(ctx context.Context) (Verification, error) {
	anchor, err := l.st.AuditAnchor(ctx)
	if err != nil {
		return Verification{}, err
	}
	v := Verification{Intact: true, AnchorSeq: anchor.Seq, AnchorHash: anchor.Hash, HeadSeq: anchor.Seq, HeadHash: anchor.Hash}
	prev := anchor
	after := int64(-1) // seq > -1: every row, a forged seq 0 included
	for {
		page, err := l.st.AuditRecords(ctx, store.AuditFilter{After: after, Ascending: true, Limit: store.MaxAuditPage})
		if err != nil {
			return v, err
		}
		for _, r := range page {
			bad := func(problem, detail string) (Verification, error) {
				v.Intact, v.BadSeq, v.Problem, v.Detail = false, r.Seq, problem, detail
				return v, nil
			}
			switch {
			case r.Seq != prev.Seq+1:
				if r.Seq <= prev.Seq {
					return bad(ProblemLink, fmt.Sprintf("entry %d is not after entry %d (the anchor)", r.Seq, prev.Seq))
				}
				return bad(ProblemMissing, fmt.Sprintf("entry %d follows entry %d: entries %d to %d are missing", r.Seq, prev.Seq, prev.Seq+1, r.Seq-1))
			case Hash(r) != r.Hash:
				return bad(ProblemHash, fmt.Sprintf("entry %d's fields do not match its hash: it was changed after it was written", r.Seq))
			case r.PrevHash != prev.Hash:
				return bad(ProblemLink, fmt.Sprintf("entry %d's prev_hash is not entry %d's hash", r.Seq, prev.Seq))
			}
			prev = store.AuditLink{Seq: r.Seq, Hash: r.Hash}
			v.Entries++
			v.HeadSeq, v.HeadHash = r.Seq, r.Hash
		}
		if len(page) < store.MaxAuditPage {
			return v, nil
		}
		after = page[len(page)-1].Seq
	}
}

// Purge deletes the entries older than before (keeping the chain
// verifiable from the new anchor) and records that it did, as Weft itself.
func (l *Log) Purge(ctx context.Context, before time.Time) (int64, error) {
	n, err := l.st.PurgeAudit(ctx, before)
	if err != nil || n == 0 {
		return n, err
	}
	anchor, err := l.st.AuditAnchor(ctx)
	if err != nil {
		return n, err
	}
	return n, l.Record(WithPrincipal(ctx, Principal{Kind: KindSystem}), Entry{Action: ActionAuditPurge, Resource: "audit",
		Details: map[string]any{"purged": n, "before": before.UTC().Format(time.RFC3339), "anchor_seq": anchor.Seq, "anchor_hash": anchor.Hash}})
}
