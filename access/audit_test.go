package access

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/store"
)

// memAudit keeps the chain in memory (the SQL stores are tested by
// store/storetest.RunAudit).
type memAudit struct {
	recs   []store.AuditRecord
	anchor store.AuditLink
}

func (m *memAudit) AppendAudit(_ context.Context, seal func(store.AuditLink) (store.AuditRecord, error)) (store.AuditRecord, error) {
	prev := m.anchor
	if n := len(m.recs); n > 0 {
		prev = store.AuditLink{Seq: m.recs[n-1].Seq, Hash: m.recs[n-1].Hash}
	}
	r, err := seal(prev)
	if err == nil {
		m.recs = append(m.recs, r)
	}
	return r, err
}

func (m *memAudit) AuditRecords(_ context.Context, f store.AuditFilter) ([]store.AuditRecord, error) {
	var out []store.AuditRecord
	for _, r := range m.recs {
		if r.Seq > f.After {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memAudit) AuditAnchor(context.Context) (store.AuditLink, error) { return m.anchor, nil }
func (m *memAudit) PurgeAudit(context.Context, time.Time) (int64, error) { return 0, nil }

func TestRecordFillsDefaultsAndRedactsSecrets(t *testing.T) {
	m := &memAudit{}
	log := NewLog(m)
	ctx := WithPrincipal(context.Background(), Principal{Kind: KindMCPKey, ID: "k1"})
	err := log.Record(ctx, Entry{Action: "connection.update", Resource: "connection:crm", Details: map[string]any{
		"fields": []string{"auth.token"}, "token": "s3cr3t", "auth": map[string]any{"password": "hunter2", "type": "basic"}, "version": 2}})
	if err != nil {
		t.Fatal(err)
	}
	r := m.recs[0]
	if r.Actor != "mcp_key:k1" || r.ActorKind != KindMCPKey || r.Namespace != "default" || r.Outcome != "ok" || r.At.IsZero() || r.Seq != 1 || r.PrevHash != "" {
		t.Fatalf("defaults: %+v", r)
	}
	if strings.Contains(r.Details, "s3cr3t") || strings.Contains(r.Details, "hunter2") || !strings.Contains(r.Details, `"auth.token"`) || !strings.Contains(r.Details, `"type":"basic"`) {
		t.Fatalf("details: %s", r.Details)
	}
	if err := log.Record(ctx, Entry{}); err == nil {
		t.Fatal("an entry without an action was recorded")
	}
}

// The canonical encoding is part of every stored hash: changing it would
// make every existing log fail verification. This pins it.
func TestHashIsStable(t *testing.T) {
	r := store.AuditRecord{Seq: 7, At: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Actor: "user:ada", ActorKind: "user", Action: "flow.deploy",
		Resource: "flow:orders", Namespace: "default", Source: "10.0.0.1", Outcome: "ok", Details: `{"version":3}`, PrevHash: "ab"}
	const want = "eb57e14a379081853ad81ef0f96e8f140294aa871358f030ab8bf867361dd9b0" // sha256 of [7,1767323045000006,"user:ada","user","flow.deploy","flow:orders","default","10.0.0.1","ok","{\"version\":3}","ab"]
	if got := Hash(r); got != want {
		t.Fatalf("Hash = %s, want %s", got, want)
	}
	r.Details = `{"version":4}`
	if Hash(r) == want {
		t.Fatal("details are not hashed")
	}
}

func TestVerifyNamesTheFirstBadEntry(t *testing.T) {
	m := &memAudit{}
	log := NewLog(m)
	for i := 0; i < 4; i++ {
		if err := log.Record(context.Background(), Entry{Action: "run.cancel"}); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := log.Verify(context.Background()); !v.Intact || v.Entries != 4 || v.HeadSeq != 4 {
		t.Fatalf("intact: %+v", v)
	}
	m.recs[1].Source = "elsewhere"
	if v, _ := log.Verify(context.Background()); v.Intact || v.BadSeq != 2 || v.Problem != ProblemHash || v.Entries != 1 {
		t.Fatalf("edited: %+v", v)
	}
	m.recs = append(m.recs[:1], m.recs[2:]...)
	if v, _ := log.Verify(context.Background()); v.Intact || v.BadSeq != 3 || v.Problem != ProblemMissing {
		t.Fatalf("deleted: %+v", v)
	}
}
