package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// agents: one per site; found by credential hash until rotated or revoked;
// reports are kept; a revoked agent stays listed.
func agents(t *testing.T, s store.Agents) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	must(t, s.CreateAgent(ctx, store.AgentRecord{Site: "plant-3", Labels: map[string]string{"region": "eu"}, TokenHash: "h1", CreatedAt: now}))
	must(t, s.CreateAgent(ctx, store.AgentRecord{Site: "plant-1", TokenHash: "h2", CreatedAt: now}))
	if err := s.CreateAgent(ctx, store.AgentRecord{Site: "plant-3", TokenHash: "h3", CreatedAt: now}); weft.Code(err) != weft.EConflict {
		t.Fatalf("second agent for a site: %v", err)
	}
	a, err := s.AgentByTokenHash(ctx, "h1")
	must(t, err)
	if a.Site != "plant-3" || a.Labels["region"] != "eu" || !a.CreatedAt.Equal(now) || a.LastSeen != nil || a.RevokedAt != nil {
		t.Fatalf("by hash: %+v", a)
	}
	seen := now.Add(time.Second)
	must(t, s.AgentSeen(ctx, "plant-3", store.AgentReport{LastSeen: &seen, Version: "v1.2", Running: json.RawMessage(`[{"flow":"orders","version":2}]`), Health: json.RawMessage(`{"connections":[]}`)}))
	a, err = s.Agent(ctx, "plant-3")
	must(t, err)
	if a.LastSeen == nil || !a.LastSeen.Equal(seen) || a.Version != "v1.2" || string(a.Running) != `[{"flow":"orders","version":2}]` || string(a.Health) != `{"connections":[]}` {
		t.Fatalf("after report: %+v", a)
	}
	must(t, s.SetAgentTelemetry(ctx, "plant-3", json.RawMessage(`{"alerts":[],"figures":{"runs_running":2}}`)))
	if a, err = s.Agent(ctx, "plant-3"); err != nil || string(a.Telemetry) != `{"alerts":[],"figures":{"runs_running":2}}` || string(a.Health) != `{"connections":[]}` {
		t.Fatalf("after telemetry: %+v %v", a, err)
	}
	if err := s.SetAgentTelemetry(ctx, "nowhere", nil); weft.Code(err) != weft.ENotFound {
		t.Fatalf("telemetry of an unknown site: %v", err)
	}
	if cs, ok := s.(store.AgentCalls); ok {
		agentCalls(t, cs, now)
	}
	// Rotation: the old hash stops working at once.
	must(t, s.SetAgentToken(ctx, "plant-3", "h4", now))
	if _, err := s.AgentByTokenHash(ctx, "h1"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("old credential after rotation: %v", err)
	}
	if a, err = s.AgentByTokenHash(ctx, "h4"); err != nil || a.RotatedAt == nil {
		t.Fatalf("new credential: %+v %v", a, err)
	}
	// Revocation: the credential stops working, the agent stays listed,
	// nothing more can be done to it.
	must(t, s.RevokeAgent(ctx, "plant-3", now))
	if _, err := s.AgentByTokenHash(ctx, "h4"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("revoked credential: %v", err)
	}
	if err := s.RevokeAgent(ctx, "plant-3", now); weft.Code(err) != weft.ENotFound {
		t.Fatalf("revoke twice: %v", err)
	}
	if err := s.SetAgentToken(ctx, "plant-3", "h5", now); weft.Code(err) != weft.ENotFound {
		t.Fatalf("rotate a revoked agent: %v", err)
	}
	if err := s.AgentSeen(ctx, "plant-3", store.AgentReport{}); weft.Code(err) != weft.ENotFound {
		t.Fatalf("report of a revoked agent: %v", err)
	}
	if _, err := s.Agent(ctx, "nowhere"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("unknown site: %v", err)
	}
	// Shipped runs: recorded once per site and id, updated when shipped again.
	fin := now.Add(2 * time.Second)
	r1 := store.AgentRun{ID: "r1", Flow: "orders", Version: 2, LocalVersion: 1, Status: store.RunRunning, TriggerKind: "webhook", CreatedAt: now, StartedAt: now}
	r2 := store.AgentRun{ID: "r2", Flow: "orders", Version: 2, LocalVersion: 1, Status: store.RunFailed, TriggerKind: "webhook", ErrorCode: "invalid", FailedStep: "post", CreatedAt: now, StartedAt: now, FinishedAt: &fin}
	must(t, s.SaveAgentRuns(ctx, "plant-1", []store.AgentRun{r1, r2}))
	r1.Status, r1.FinishedAt = store.RunSucceeded, &fin
	must(t, s.SaveAgentRuns(ctx, "plant-1", []store.AgentRun{r1, r2}))
	must(t, s.SaveAgentRuns(ctx, "plant-3", []store.AgentRun{r1}))
	runs, err := s.AgentRuns(ctx, "plant-1", "", 10)
	must(t, err)
	if len(runs) != 2 || runs[0].ID != "r2" || runs[1].Status != store.RunSucceeded || runs[1].FinishedAt == nil || !runs[1].FinishedAt.Equal(fin) ||
		runs[0].ErrorCode != "invalid" || runs[0].FailedStep != "post" || runs[0].Version != 2 || runs[0].LocalVersion != 1 {
		t.Fatalf("agent runs: %+v", runs)
	}
	if runs, _ := s.AgentRuns(ctx, "plant-1", "r2", 10); len(runs) != 1 || runs[0].ID != "r1" {
		t.Fatalf("agent runs before r2: %+v", runs)
	}
	// Payloads (shipped under full capture) and the reason one was left out.
	r4 := store.AgentRun{ID: "r4", Flow: "orders", Status: store.RunSucceeded, TriggerKind: "webhook", CreatedAt: now, StartedAt: now, FinishedAt: &fin,
		Input: []byte(`{"body":{"n":1}}`), Output: []byte(`{"body":{"ok":true}}`)}
	r5 := store.AgentRun{ID: "r5", Flow: "orders", Status: store.RunSucceeded, TriggerKind: "webhook", CreatedAt: now, StartedAt: now, FinishedAt: &fin,
		PayloadOmitted: "too large"}
	must(t, s.SaveAgentRuns(ctx, "plant-2", []store.AgentRun{r4, r5}))
	if runs, err := s.AgentRuns(ctx, "plant-2", "", 10); err != nil || len(runs) != 2 || string(runs[1].Input) != `{"body":{"n":1}}` ||
		string(runs[1].Output) != `{"body":{"ok":true}}` || runs[0].Input != nil || runs[0].PayloadOmitted != "too large" {
		t.Fatalf("agent runs with payloads: %+v %v", runs, err)
	}
	counts, err := s.CountAgentRuns(ctx, "plant-1")
	must(t, err)
	if counts[store.RunSucceeded] != 1 || counts[store.RunFailed] != 1 || len(counts) != 2 {
		t.Fatalf("counts: %v", counts)
	}
	// Retention: finished runs before the cut go, unfinished ones stay.
	r3 := store.AgentRun{ID: "r3", Flow: "orders", Status: store.RunRunning, TriggerKind: "webhook", CreatedAt: now, StartedAt: now}
	must(t, s.SaveAgentRuns(ctx, "plant-1", []store.AgentRun{r3}))
	if n, err := s.PurgeAgentRuns(ctx, fin); err != nil || n != 0 {
		t.Fatalf("purge before the finish: %d %v", n, err)
	}
	if n, err := s.PurgeAgentRuns(ctx, fin.Add(time.Microsecond)); err != nil || n != 5 {
		t.Fatalf("purge: %d %v (want plant-1's two, plant-2's two and plant-3's one)", n, err)
	}
	if runs, _ := s.AgentRuns(ctx, "plant-1", "", 10); len(runs) != 1 || runs[0].ID != "r3" {
		t.Fatalf("after the purge: %+v", runs)
	}
	list, err := s.AgentList(ctx)
	must(t, err)
	if len(list) != 2 || list[0].Site != "plant-1" || list[1].Site != "plant-3" || list[1].RevokedAt == nil {
		t.Fatalf("list: %+v", list)
	}
}

// agentCalls: a queued call is taken once; progress and the result are
// recorded only while it is taken; a cancelled queued call goes at once, a
// cancelled taken one is handed to its site once; expired calls purge.
func agentCalls(t *testing.T, s store.AgentCalls, now time.Time) {
	ctx := context.Background()
	must(t, s.SetAgentCallsSeen(ctx, "plant-3", now))
	q := func(id string, created time.Time) {
		must(t, s.QueueAgentCall(ctx, store.AgentCall{ID: id, Site: "plant-3", Call: json.RawMessage(`{"tool":"erp__request"}`), CreatedAt: created, ExpiresAt: now.Add(time.Minute)}))
	}
	q("c1", now)
	q("c2", now.Add(time.Millisecond))
	q("c3", now.Add(2*time.Millisecond))
	if ok, _ := s.FinishAgentCall(ctx, "plant-3", "c1", json.RawMessage(`{}`)); ok {
		t.Fatal("a queued call finished before it was taken")
	}
	if sites, err := s.AgentCallSites(ctx); err != nil || len(sites) != 1 || sites[0] != "plant-3" {
		t.Fatalf("sites with calls: %v %v", sites, err)
	}
	got, err := s.TakeAgentCalls(ctx, "plant-3", 2, now)
	must(t, err)
	if len(got) != 2 || got[0].ID != "c1" || got[1].ID != "c2" || string(got[0].Call) != `{"tool":"erp__request"}` {
		t.Fatalf("taken: %+v", got)
	}
	if again, _ := s.TakeAgentCalls(ctx, "plant-3", 10, now); len(again) != 1 || again[0].ID != "c3" {
		t.Fatalf("taken again: %+v", again)
	}
	if ok, err := s.AgentCallProgress(ctx, "plant-3", "c1", json.RawMessage(`{"progress":1}`)); !ok || err != nil {
		t.Fatalf("progress: %v %v", ok, err)
	}
	if ok, _ := s.FinishAgentCall(ctx, "plant-9", "c1", json.RawMessage(`{}`)); ok {
		t.Fatal("another site finished a call")
	}
	if ok, err := s.FinishAgentCall(ctx, "plant-3", "c1", json.RawMessage(`{"output":1}`)); !ok || err != nil {
		t.Fatalf("finish: %v %v", ok, err)
	}
	c, err := s.GetAgentCall(ctx, "c1")
	must(t, err)
	if c.State != "done" || string(c.Result) != `{"output":1}` || string(c.Progress) != `{"progress":1}` {
		t.Fatalf("call: %+v", c)
	}
	must(t, s.DeleteAgentCall(ctx, "c1"))
	if _, err := s.GetAgentCall(ctx, "c1"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("deleted call: %v", err)
	}
	if was, _ := s.CancelAgentCall(ctx, "c2"); was != "taken" {
		t.Fatalf("cancel a taken call: was %q", was)
	}
	if ids, _ := s.TakeAgentCancels(ctx, "plant-3"); len(ids) != 1 || ids[0] != "c2" {
		t.Fatalf("cancels: %v", ids)
	}
	if ids, _ := s.TakeAgentCancels(ctx, "plant-3"); len(ids) != 0 {
		t.Fatalf("cancels handed twice: %v", ids)
	}
	q("c4", now)
	if was, _ := s.CancelAgentCall(ctx, "c4"); was != "queued" {
		t.Fatalf("cancel a queued call: was %q", was)
	}
	if _, err := s.GetAgentCall(ctx, "c4"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("a cancelled queued call stays: %v", err)
	}
	if n, err := s.PurgeAgentCalls(ctx, now.Add(2*time.Minute)); err != nil || n != 1 {
		t.Fatalf("purge: %d %v", n, err)
	}
}
