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
	must(t, s.AgentSeen(ctx, "plant-3", store.AgentReport{LastSeen: &seen, Version: "v1.2", Running: json.RawMessage(`[{"flow":"orders","version":2}]`)}))
	a, err = s.Agent(ctx, "plant-3")
	must(t, err)
	if a.LastSeen == nil || !a.LastSeen.Equal(seen) || a.Version != "v1.2" || string(a.Running) != `[{"flow":"orders","version":2}]` {
		t.Fatalf("after report: %+v", a)
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
	list, err := s.AgentList(ctx)
	must(t, err)
	if len(list) != 2 || list[0].Site != "plant-1" || list[1].Site != "plant-3" || list[1].RevokedAt == nil {
		t.Fatalf("list: %+v", list)
	}
}
