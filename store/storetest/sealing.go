package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/seal"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlstore"
)

// SealFixture is a fresh store for the payload-sealing suite, with the
// database it writes to opened directly (what an attacker who copies the
// database file or reads a backup sees) and a way to open the same
// database again without a payload sealer (a process started without it).
type SealFixture struct {
	Store store.Store
	DB    *sql.DB
	Other func() store.Store
}

// payloadSealing is the store's setter (sqlstore.Store has it).
type payloadSealing interface {
	SetPayloadSealer(store.PayloadSealer)
}

// DumpRows returns every row of the tables that hold payloads, as text.
func DumpRows(t testing.TB, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"runs", "step_attempts", "data_keys", "agent_runs"} {
		rows, err := db.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("dump %s: %v", table, err)
			}
			for _, v := range vals {
				switch x := v.(type) {
				case []byte:
					b.Write(x)
				default:
					fmt.Fprint(&b, x)
				}
				b.WriteByte('|')
			}
			b.WriteByte('\n')
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		rows.Close()
	}
	return b.String()
}

// RunSealing runs the payload-sealing suite: payload columns are sealed
// at rest and read back in the clear, legacy plaintext rows stay readable
// and are sealed by SealPlaintext, data keys are rewrapped under a new
// master key (after which the old one opens nothing), and a wrong key or a
// sealed value moved to another row is a clear error.
func RunSealing(t *testing.T, open func(t *testing.T) SealFixture) {
	ctx := context.Background()
	const marker = "PII-MARKER-7f3a"

	t.Run("payloads are sealed at rest and read back", func(t *testing.T) {
		fx := open(t)
		s := fx.Store
		// A run written before sealing was on (a legacy row).
		legacy := &store.Run{ID: sqlstore.NewID(), Flow: "orders", Version: 1, Status: store.RunSucceeded, TriggerKind: "webhook",
			Input: json.RawMessage(`{"body":{"note":"LEGACY-` + marker + `"}}`), Sync: true}
		must(t, s.InsertRun(ctx, legacy, []store.Attempt{{RunID: legacy.ID, Flow: "orders", Version: 1, StepID: "a", StepKey: "a", Kind: "set",
			Attempt: 1, TriggerKind: "webhook", Status: store.AttemptOK, Input: json.RawMessage(`{"x":"LEGACY-` + marker + `"}`)}}))

		// A control plane's: runs an agent shipped with their payloads
		// before sealing was on.
		agents, shipping := s.(store.Agents)
		legacyShipped := func() []store.AgentRun {
			var out []store.AgentRun
			for i := 0; i < 3; i++ {
				fin := time.Now()
				out = append(out, store.AgentRun{ID: fmt.Sprintf("shipped-%d", i), Flow: "orders", Version: 1, LocalVersion: 1, Status: store.RunSucceeded,
					TriggerKind: "webhook", CreatedAt: fin, StartedAt: fin, FinishedAt: &fin,
					Input: json.RawMessage(`{"body":"SHIPPED-` + marker + `"}`), Output: json.RawMessage(`{"ok":"SHIPPED-` + marker + `"}`)})
			}
			return out
		}
		if shipping {
			must(t, agents.CreateAgent(ctx, store.AgentRecord{Site: "plant-3", TokenHash: "h1", CreatedAt: time.Now()}))
			must(t, agents.SaveAgentRuns(ctx, "plant-3", legacyShipped()))
		}
		legacyCols := 2
		if shipping {
			legacyCols += 6
		}

		k1key := seal.NewKey()
		k1, err := seal.New(k1key)
		must(t, err)
		s.(payloadSealing).SetPayloadSealer(seal.NewEnvelope(k1, s))

		// An async run: created, then checkpointed, then dead with an error.
		r := &store.Run{Flow: "orders", Version: 1, Status: store.RunQueued, TriggerKind: "webhook",
			Input: json.RawMessage(`{"body":{"email":"` + marker + `@example.com"}}`)}
		_, _, err = s.CreateRun(ctx, r, false)
		must(t, err)
		must(t, s.Checkpoint(ctx, r.ID, []store.Attempt{{RunID: r.ID, Flow: "orders", Version: 1, StepID: "map", StepKey: "map", Kind: "set",
			Attempt: 1, TriggerKind: "webhook", Status: store.AttemptOK, StartedAt: time.Now(), FinishedAt: time.Now(),
			Input: json.RawMessage(`{"in":"` + marker + `"}`), Output: json.RawMessage(`{"out":"` + marker + `"}`), Checkpoint: json.RawMessage(`{"cp":"` + marker + `"}`)}}))
		fin := time.Now()
		r.Status, r.ErrorCode, r.ErrorMessage, r.FailedStep, r.FinishedAt = store.RunDead, "unavailable", "503 for "+marker, "post", &fin
		r.Output = json.RawMessage(`{"status":500,"body":"` + marker + `"}`)
		must(t, s.UpdateRun(ctx, r, []store.Attempt{{RunID: r.ID, Flow: "orders", Version: 1, StepID: "post", StepKey: "post", Kind: "call",
			Attempt: 1, TriggerKind: "webhook", Status: store.AttemptError, ErrorClass: "retryable", ErrorMessage: "503: " + marker,
			StartedAt: time.Now(), FinishedAt: time.Now(), Input: json.RawMessage(`{"body":"` + marker + `"}`)}}))
		// A sync run and an MCP tool call, recorded finished.
		sr := &store.Run{ID: sqlstore.NewID(), Flow: "orders", Version: 1, Status: store.RunSucceeded, TriggerKind: "webhook", Sync: true,
			Input: json.RawMessage(`{"body":"` + marker + `"}`), Output: json.RawMessage(`{"body":"` + marker + `"}`)}
		tc := &store.Run{ID: "zz-tool-call", Flow: "mcp:crm", Version: 0, Status: store.RunFailed, TriggerKind: "mcp", ErrorMessage: "refused " + marker}
		must(t, s.InsertRuns(ctx, []store.LoggedRun{{Run: sr}, {Run: tc, Attempts: []store.Attempt{{RunID: tc.ID, Flow: tc.Flow, StepID: "crm.find", StepKey: "crm.find",
			Kind: "call", Attempt: 1, TriggerKind: "mcp", Status: store.AttemptError, Worker: "key:k1", ErrorMessage: marker}}}}))

		dump := DumpRows(t, fx.DB)
		if n := strings.Count(dump, marker); n != legacyCols || strings.Count(dump, "LEGACY-"+marker) != 2 {
			t.Fatalf("the marker is in the clear in %d places of the raw rows (want only the %d legacy ones):\n%s", n, legacyCols, dump)
		}
		if !strings.Contains(dump, seal.Prefix) {
			t.Fatalf("no sealed value in the raw rows:\n%s", dump)
		}

		// Everything reads back in the clear.
		got, err := s.GetRun(ctx, r.ID)
		must(t, err)
		if !strings.Contains(string(got.Input), marker) || !strings.Contains(string(got.Output), marker) || !strings.Contains(got.ErrorMessage, marker) {
			t.Fatalf("run read back %+v", got)
		}
		as, err := s.ListAttempts(ctx, r.ID)
		must(t, err)
		if len(as) != 2 || !strings.Contains(string(as[0].Input), marker) || !strings.Contains(string(as[0].Output), marker) ||
			!strings.Contains(as[1].ErrorMessage, marker) || !strings.Contains(string(as[1].Input), marker) {
			t.Fatalf("attempts read back %+v", as)
		}
		cps, err := s.Checkpoints(ctx, r.ID)
		must(t, err)
		if string(cps["map"]) != `{"cp":"`+marker+`"}` {
			t.Fatalf("checkpoints %s", cps)
		}
		wr, wcps, err := s.RunForWork(ctx, r.ID)
		must(t, err)
		if string(wr.Input) != string(got.Input) || string(wr.Output) != string(got.Output) || wr.ErrorMessage != got.ErrorMessage || string(wcps["map"]) != string(cps["map"]) {
			t.Fatalf("RunForWork read back %+v %s", wr, wcps)
		}
		runs, err := s.ListRuns(ctx, store.RunFilter{})
		must(t, err)
		if len(runs) != 4 {
			t.Fatalf("list: %d runs", len(runs))
		}
		listed, err := s.ListRuns(ctx, store.RunFilter{NoPayloads: true})
		must(t, err)
		for _, br := range listed {
			if br.Input != nil || br.Output != nil || br.Override != nil {
				t.Fatalf("NoPayloads listed payloads: %+v", br)
			}
			if br.ID == r.ID && !strings.Contains(br.ErrorMessage, marker) {
				t.Fatalf("NoPayloads: error message %q", br.ErrorMessage)
			}
		}
		calls, err := s.ToolCalls(ctx, store.ToolCallFilter{})
		must(t, err)
		if len(calls) != 1 || calls[0].Error != "refused "+marker {
			t.Fatalf("tool calls %+v", calls)
		}
		lg, err := s.GetRun(ctx, legacy.ID)
		must(t, err)
		if !strings.Contains(string(lg.Input), "LEGACY-"+marker) {
			t.Fatalf("legacy run %s", lg.Input)
		}

		// The legacy rows are sealed in bounded batches.
		total, cursor := 0, ""
		for i := 0; ; i++ {
			next, n, err := s.SealPlaintext(ctx, cursor, 1)
			must(t, err)
			total += n
			if next == "" {
				break
			}
			cursor = next
			if i > 20 {
				t.Fatal("SealPlaintext does not end")
			}
		}
		if total != legacyCols {
			t.Fatalf("sealed %d legacy columns, want %d", total, legacyCols)
		}
		if dump := DumpRows(t, fx.DB); strings.Contains(dump, marker) {
			t.Fatalf("the marker is still in the clear after SealPlaintext:\n%s", dump)
		}
		lg, err = s.GetRun(ctx, legacy.ID)
		must(t, err)
		las, err := s.ListAttempts(ctx, legacy.ID)
		must(t, err)
		if !strings.Contains(string(lg.Input), "LEGACY-"+marker) || len(las) != 1 || !strings.Contains(string(las[0].Input), "LEGACY-"+marker) {
			t.Fatalf("legacy run after sealing %s %+v", lg.Input, las)
		}
		shippedReadBack := func(st store.Store) {
			t.Helper()
			if !shipping {
				return
			}
			got, err := st.(store.Agents).AgentRuns(ctx, "plant-3", "", 10)
			must(t, err)
			if len(got) != 3 {
				t.Fatalf("shipped runs: %d", len(got))
			}
			for _, r := range got {
				if !strings.Contains(string(r.Input), "SHIPPED-"+marker) || !strings.Contains(string(r.Output), "SHIPPED-"+marker) {
					t.Fatalf("shipped run read back %s %s", r.Input, r.Output)
				}
			}
		}
		shippedReadBack(s)
		if next, n, err := s.SealPlaintext(ctx, "", 100); err != nil || n != 0 {
			t.Fatalf("sealing again: %q %d %v", next, n, err)
		}

		// A store without a sealer refuses sealed values with a clear error.
		bare := fx.Other()
		if _, err := bare.GetRun(ctx, r.ID); weft.Code(err) != weft.EUnavailable || !strings.Contains(err.Error(), "no master key") {
			t.Fatalf("no sealer: %v", err)
		}

		// Rotation: a new master key in front of the old one; every data
		// key is rewrapped, in batches of one.
		k2key := seal.NewKey()
		both, err := seal.New(k2key, k1key)
		must(t, err)
		env2 := seal.NewEnvelope(both, s)
		rewrapped := 0
		for i := 0; ; i++ {
			n, err := s.RewrapDataKeys(ctx, both.CurrentID(), 1, env2.Rewrap)
			must(t, err)
			if n == 0 {
				break
			}
			rewrapped += n
			if i > 10 {
				t.Fatal("RewrapDataKeys does not end")
			}
		}
		if rewrapped == 0 {
			t.Fatal("no data key rewrapped")
		}
		// The new key alone opens everything; the old key alone nothing.
		onlyNew, _ := seal.New(k2key)
		o := fx.Other()
		o.(payloadSealing).SetPayloadSealer(seal.NewEnvelope(onlyNew, o))
		got, err = o.GetRun(ctx, r.ID)
		must(t, err)
		if !strings.Contains(string(got.Input), marker) {
			t.Fatalf("new key: %s", got.Input)
		}
		shippedReadBack(o)
		old := fx.Other()
		old.(payloadSealing).SetPayloadSealer(seal.NewEnvelope(k1, old))
		if _, err := old.GetRun(ctx, r.ID); err == nil || weft.Code(err) != weft.EUnavailable || !strings.Contains(err.Error(), "not in the keyring") {
			t.Fatalf("old key after rotation: %v", err)
		}
		if shipping {
			if _, err := old.(store.Agents).AgentRuns(ctx, "plant-3", "", 10); err == nil || !strings.Contains(err.Error(), "not in the keyring") {
				t.Fatalf("old key opens a shipped run after rotation: %v", err)
			}
		}
		// A wrong key is a clear error, not garbage.
		wrongKeys, _ := seal.New(seal.NewKey())
		wrong := fx.Other()
		wrong.(payloadSealing).SetPayloadSealer(seal.NewEnvelope(wrongKeys, wrong))
		if _, err := wrong.ListAttempts(ctx, r.ID); err == nil || !strings.Contains(err.Error(), "right master key") {
			t.Fatalf("wrong key: %v", err)
		}

		// A sealed value moved to another row does not open.
		if _, err := fx.DB.Exec(fmt.Sprintf(`UPDATE runs SET input = (SELECT input FROM runs WHERE id = '%s') WHERE id = '%s'`, r.ID, sr.ID)); err != nil {
			t.Fatal(err)
		}
		if _, err := o.GetRun(ctx, sr.ID); err == nil || !strings.Contains(err.Error(), "does not authenticate") {
			t.Fatalf("moved value: %v", err)
		}
	})

	t.Run("an HMAC secret is sealed at rest, opens by KeyGrant, survives a rotation and is refused without the key", func(t *testing.T) {
		fx := open(t)
		s := fx.Store
		cs, ok := s.(store.Consumers)
		if !ok {
			t.Fatal("the store does not implement store.Consumers")
		}
		const secret = "whs_SECRET-MARKER-9c1e"
		now := time.Now().UTC().Truncate(time.Microsecond)
		_, err := cs.SaveConsumer(ctx, store.Consumer{Name: "app"})
		must(t, err)
		hk := store.ConsumerKey{ID: "00000000000000aa", Consumer: "app", Kind: store.KeyHMAC, Secret: secret, CreatedAt: now}
		// No sealer: refused, never written in the clear.
		if err := cs.CreateConsumerKey(ctx, hk); weft.Code(err) != weft.EUnavailable || !strings.Contains(err.Error(), "no master key") {
			t.Fatalf("no sealer: %v", err)
		}
		k1key := seal.NewKey()
		k1, err := seal.New(k1key)
		must(t, err)
		s.(payloadSealing).SetPayloadSealer(seal.NewEnvelope(k1, s))
		if err := cs.CreateConsumerKey(ctx, store.ConsumerKey{ID: "00000000000000ab", Consumer: "app", Kind: store.KeyHMAC, CreatedAt: now}); weft.Code(err) != weft.EInvalid {
			t.Fatalf("no secret: %v", err)
		}
		must(t, cs.CreateConsumerKey(ctx, hk))
		var stored, hash string
		must(t, fx.DB.QueryRow(`SELECT secret, hash FROM api_consumer_keys WHERE id = '00000000000000aa'`).Scan(&stored, &hash))
		if strings.Contains(stored, "MARKER") || !strings.HasPrefix(stored, seal.Prefix) || strings.Contains(hash, "MARKER") {
			t.Fatalf("stored in the clear: %q %q", stored, hash)
		}
		g, err := cs.KeyGrant(ctx, hk.ID, "shop")
		must(t, err)
		if g.Key.Kind != store.KeyHMAC || g.Key.Secret != secret {
			t.Fatalf("grant: kind %q secret %q", g.Key.Kind, g.Key.Secret)
		}
		keys, err := cs.ConsumerKeys(ctx, "app")
		must(t, err)
		b, _ := json.Marshal(keys)
		if len(keys) != 1 || keys[0].Secret != "" || strings.Contains(string(b), "MARKER") || !strings.Contains(string(b), `"kind":"hmac"`) {
			t.Fatalf("listing: %s", b)
		}
		// The master key rotates: the data key is rewrapped; the new key
		// alone opens the secret.
		k2key := seal.NewKey()
		both, err := seal.New(k2key, k1key)
		must(t, err)
		env2 := seal.NewEnvelope(both, s)
		for {
			n, err := s.RewrapDataKeys(ctx, both.CurrentID(), 10, env2.Rewrap)
			must(t, err)
			if n == 0 {
				break
			}
		}
		onlyNew, _ := seal.New(k2key)
		o := fx.Other()
		o.(payloadSealing).SetPayloadSealer(seal.NewEnvelope(onlyNew, o))
		g, err = o.(store.Consumers).KeyGrant(ctx, hk.ID, "shop")
		must(t, err)
		if g.Key.Secret != secret {
			t.Fatalf("after rotation: %q", g.Key.Secret)
		}
		if _, err := fx.Other().(store.Consumers).KeyGrant(ctx, hk.ID, "shop"); weft.Code(err) != weft.EUnavailable {
			t.Fatalf("no sealer reading: %v", err)
		}
		// Moved to another credential's row, it does not open.
		must(t, cs.CreateConsumerKey(ctx, store.ConsumerKey{ID: "00000000000000ac", Consumer: "app", Kind: store.KeyHMAC, Secret: "other", CreatedAt: now}))
		if _, err := fx.DB.Exec(`UPDATE api_consumer_keys SET secret = (SELECT secret FROM api_consumer_keys WHERE id = '00000000000000aa') WHERE id = '00000000000000ac'`); err != nil {
			t.Fatal(err)
		}
		if _, err := o.(store.Consumers).KeyGrant(ctx, "00000000000000ac", "shop"); weft.Code(err) != weft.EUnavailable {
			t.Fatalf("moved secret: %v", err)
		}
		// An HMAC credential is never an API key, even presented with
		// what its hash column holds.
		_, err = cs.SavePlan(ctx, store.Plan{Name: "p", Limits: store.Limits{QuotaDay: 10}})
		must(t, err)
		_, err = cs.Subscribe(ctx, store.Subscription{Consumer: "app", Product: "shop", Plan: "p"})
		must(t, err)
		if g, a, err := cs.AdmitKey(ctx, hk.ID, hash, "shop", "v1", now); err != nil || a != nil || g.Good(hash, "v1", now) {
			t.Fatalf("an HMAC credential as an API key: %v %+v", err, a)
		}
	})
}
